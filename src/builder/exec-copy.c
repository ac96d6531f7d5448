/* SPDX-License-Identifier: GPL-2.0-or-later */
/* COPY and ADD from the build context: expand the sources, hash them for
   the cache key, copy them into a staging directory that becomes a layer.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/internal.h"
#include "layer/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct copy_ctx
{
  const struct sbx_build_ignore *ig;
  struct sbx_sha256 *hash;
  bool copy;
  long uid, gid; /* -1: keep */
  int chmod;     /* -1: keep */
  bool extract;  /* ADD: unpack local tar archives */
  bool apply_owners;
};

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char **
sorted_entries (int dirfd, const char *rel, struct sbx_error **err)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  char **names;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        (void) close (fd);
      return sbx_err_errno (err, "read `%s`", *rel ? rel : "."), NULL;
    }
  names = sbx_strv_dup (NULL);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      sbx_strv_push (&names, de->d_name);
  qsort (names, sbx_strv_len (names), sizeof (char *), cmp_names);
  return names;
}

static int
apply_meta (struct copy_ctx *c, int dstdir, const char *name, bool is_link, struct sbx_error **err)
{
  /* Single-uid mode maps only 0: an id outside the map (EINVAL) leaves
     the file the caller's, as unpacking a layer does there.  */
  if ((c->uid >= 0 || c->gid >= 0)
      && fchownat (dstdir, name, (uid_t) c->uid, (gid_t) c->gid, AT_SYMLINK_NOFOLLOW) < 0
      && (errno != EINVAL || c->apply_owners))
    return sbx_err_errno (err, "chown `%s`", name);
  if (c->chmod >= 0 && ! is_link && fchmodat (dstdir, name, (mode_t) c->chmod, 0) < 0)
    return sbx_err_errno (err, "chmod `%s`", name);
  return 0;
}

static int copy_entry (struct copy_ctx *c, int srcdir, const char *name, const char *rel,
                       int dstdir, const char *dstname, struct sbx_error **err);

static int
copy_dir_contents (struct copy_ctx *c, int src, const char *rel, int dst, struct sbx_error **err)
{
  cleanup_strv char **names = sorted_entries (src, rel, err);
  size_t i;

  if (names == NULL)
    return -1;
  for (i = 0; names[i]; i++)
    {
      cleanup_free char *sub = *rel ? xasprintf ("%s/%s", rel, names[i]) : xstrdup (names[i]);

      if (copy_entry (c, src, names[i], sub, dst, names[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
copy_file (struct copy_ctx *c, int srcdir, const char *name, const struct stat *st, int dstdir,
           const char *dstname, struct sbx_error **err)
{
  cleanup_close int in = openat (srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int out = -1;
  char buf[65536];
  ssize_t n;

  if (in < 0)
    return sbx_err_errno (err, "open `%s`", name);
  if (c->copy)
    {
      (void) unlinkat (dstdir, dstname, 0);
      out = openat (dstdir, dstname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    st->st_mode & 07777);
      if (out < 0)
        return sbx_err_errno (err, "create `%s`", dstname);
    }
  while ((n = read (in, buf, sizeof buf)) > 0)
    {
      if (c->hash)
        sbx_sha256_update (c->hash, buf, (size_t) n);
      for (ssize_t off = 0; out >= 0 && off < n;)
        {
          ssize_t w = write (out, buf + off, (size_t) (n - off));

          if (w < 0 && errno != EINTR)
            return sbx_err_errno (err, "write `%s`", dstname);
          off += w > 0 ? w : 0;
        }
    }
  if (n < 0)
    return sbx_err_errno (err, "read `%s`", name);
  if (out >= 0 && fchmod (out, st->st_mode & 07777) < 0)
    return sbx_err_errno (err, "chmod `%s`", dstname);
  return c->copy ? apply_meta (c, dstdir, dstname, false, err) : 0;
}

static int
copy_dir (struct copy_ctx *c, int srcdir, const char *name, const char *rel, const struct stat *st,
          int dstdir, const char *dstname, struct sbx_error **err)
{
  cleanup_close int src = openat (srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int dst = -1;

  if (src < 0)
    return sbx_err_errno (err, "open `%s`", rel);
  if (c->copy)
    {
      if (mkdirat (dstdir, dstname, st->st_mode & 07777) < 0 && errno != EEXIST)
        return sbx_err_errno (err, "mkdir `%s`", dstname);
      if (apply_meta (c, dstdir, dstname, false, err) < 0)
        return -1;
      dst = openat (dstdir, dstname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dst < 0)
        return sbx_err_errno (err, "open `%s`", dstname);
    }
  return copy_dir_contents (c, src, rel, dst, err);
}

static int
copy_entry (struct copy_ctx *c, int srcdir, const char *name, const char *rel, int dstdir,
            const char *dstname, struct sbx_error **err)
{
  struct stat st;

  if (fstatat (srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return sbx_err_errno (err, "stat `%s`", rel);
  if (*rel && sbx_build_ignore_is_excluded (c->ig, rel)
      && ! (S_ISDIR (st.st_mode) && sbx_build_ignore_may_reinclude (c->ig, rel)))
    return 0;
  if (c->hash)
    {
      cleanup_free char *h = xasprintf ("%s%c%o%c", rel, 0, (unsigned) st.st_mode, 0);

      sbx_sha256_update (c->hash, h, strlen (rel) + 1 + strlen (h + strlen (rel) + 1) + 1);
    }
  if (S_ISDIR (st.st_mode))
    return copy_dir (c, srcdir, name, rel, &st, dstdir, dstname, err);
  if (S_ISREG (st.st_mode))
    return copy_file (c, srcdir, name, &st, dstdir, dstname, err);
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (srcdir, name, target, sizeof target - 1);

      if (n < 0)
        return sbx_err_errno (err, "readlink `%s`", rel);
      target[n] = '\0';
      if (c->hash)
        sbx_sha256_update (c->hash, target, (size_t) n + 1);
      if (! c->copy)
        return 0;
      (void) unlinkat (dstdir, dstname, 0);
      if (symlinkat (target, dstdir, dstname) < 0)
        return sbx_err_errno (err, "symlink `%s`", dstname);
      return apply_meta (c, dstdir, dstname, true, err);
    }
  return 0; /* sockets, fifos, devices: not copied */
}

/* Make the directories of PATH (absolute, in the stage) and open the last
   one.  */
static int
open_dest_dir (int stagefd, const char *path, struct sbx_error **err)
{
  const char *rel = path + strspn (path, "/");

  if (*rel == '\0')
    return openat (stagefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sbx_fs_mkdir_p_in_root (stagefd, rel, 0755, err) < 0)
    return -1;
  return sbx_fs_open_in_root (stagefd, rel, O_RDONLY | O_DIRECTORY, 0, err);
}

int
build_parse_chown_ids (const char *spec, long *uid, long *gid)
{
  cleanup_free char *u = xstrdup (spec);
  char *colon = strchr (u, ':');
  char *end;

  if (colon)
    *colon = '\0';
  errno = 0;
  *uid = strtol (u, &end, 10);
  if (*u == '\0' || *end || *uid < 0 || errno)
    return -1;
  *gid = *uid;
  if (colon)
    {
      *gid = strtol (colon + 1, &end, 10);
      if (colon[1] == '\0' || *end || *gid < 0 || errno)
        return -1;
    }
  return 0;
}

bool
build_is_url (const char *src)
{
  return strncmp (src, "http://", 7) == 0 || strncmp (src, "https://", 8) == 0;
}

char *
build_url_basename (const char *url)
{
  const char *p = strstr (url, "://");
  const char *path;
  size_t n;

  p = p ? p + 3 : url;
  path = p + strcspn (p, "/?#");
  n = strcspn (path, "?#");
  while (n > 0 && path[n - 1] == '/')
    n--;
  if (n == 0)
    return xstrdup ("index.html");
  for (p = path + n; p > path && p[-1] != '/'; p--)
    ;
  return xstrndup (p, (size_t) (path + n - p));
}

/* A context path that stays inside the context.  */
static bool
is_inside (const char *rel)
{
  const char *p = rel;

  while (*p)
    {
      size_t n = strcspn (p, "/");

      if (n == 2 && p[0] == '.' && p[1] == '.')
        return false;
      p += n;
      p += strspn (p, "/");
    }
  return true;
}

static int
copy_heredoc (struct copy_ctx *c, const struct sbx_build_source *src, int dstfd,
              const char *dstname, struct sbx_error **err)
{
  size_t len = strlen (src->content);

  if (c->hash)
    sbx_sha256_update (c->hash, src->content, len + 1);
  if (! c->copy)
    return 0;
  if (sbx_fs_write_file_at (dstfd, dstname, src->content, len, 0644, err) < 0)
    return -1;
  return apply_meta (c, dstfd, dstname, false, err);
}

/* Stat REL of the context with every symlink on the way resolved inside
   the context (openat2 RESOLVE_IN_ROOT, or the verified walk): a link in
   the context never makes COPY read outside it.  The last component is not
   followed (a symlink is copied as one).  */
static int
stat_in_context (int ctxfd, const char *rel, struct stat *st)
{
  struct sbx_error *ignored = NULL;
  cleanup_close int fd = sbx_fs_open_in_root (ctxfd, rel, O_PATH | O_NOFOLLOW, 0, &ignored);

  sbx_error_clear (&ignored);
  return fd < 0 ? -1 : fstat (fd, st);
}

/* Whether the regular file FD looks like a tar archive: compressed with
   gzip, bzip2, xz or zstd (taken on trust: a compressed file that is no tar
   is copied after a failed unpack), or a plain ustar/GNU tar.  */
static bool
is_archive (int fd)
{
  unsigned char b[512];
  ssize_t n = pread (fd, b, sizeof b, 0);

  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
    return true;
  if (n >= 3 && memcmp (b, "BZh", 3) == 0)
    return true;
  if (n >= 6
      && memcmp (b,
                 "\xfd"
                 "7zXZ\0",
                 6)
             == 0)
    return true;
  if (n >= 4 && memcmp (b, "\x28\xb5\x2f\xfd", 4) == 0)
    return true;
  return n == 512 && memcmp (b + 257, "ustar", 5) == 0;
}

static bool
is_archive_at (int dirfd, const char *rel)
{
  struct sbx_error *ignored = NULL;
  cleanup_close int fd = sbx_fs_open_in_root (dirfd, rel, O_RDONLY | O_NOFOLLOW, 0, &ignored);
  struct stat st;

  sbx_error_clear (&ignored);
  return fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && is_archive (fd);
}

/* ADD: unpack the archive REL into DSTFD.  1 when done, 0 when REL turned
   out to be no archive (nothing was written), -1 on error.  */
static int
extract_source (struct copy_ctx *c, int ctxfd, const char *rel, int dstfd, struct sbx_error **err)
{
  struct sbx_layer_unpack_opts o = { .apply_owners = c->apply_owners };
  struct sbx_layer_stats stats = { 0 };
  cleanup_close int fd = sbx_fs_open_in_root (ctxfd, rel, O_RDONLY | O_NOFOLLOW, 0, err);

  if (fd < 0)
    return sbx_err_prefix (err, "`%s`", rel);
  if (! is_archive (fd))
    return 0;
  if (sbx_layer_unpack (fd, dstfd, &o, &stats, err) < 0)
    {
      if (stats.entries > 0)
        return sbx_err_prefix (err, "extract `%s`", rel);
      sbx_error_clear (err);
      return 0;
    }
  return 1;
}

static int
copy_source (struct copy_ctx *c, int ctxfd, const char *rel, int dstfd, const char *dstname,
             struct sbx_error **err)
{
  cleanup_close int src = -1;
  cleanup_close int parent = -1;
  cleanup_free char *dir = NULL;
  const char *slash = strrchr (rel, '/');
  struct stat st;

  /* Open it, or for a non-directory its parent, resolved inside the
     context; then work relative to that fd only.  */
  src = sbx_fs_open_in_root (ctxfd, rel, O_PATH | O_NOFOLLOW, 0, err);
  if (src < 0)
    return sbx_err_prefix (err, "`%s`", rel);
  if (fstat (src, &st) < 0)
    return sbx_err_errno (err, "`%s`", rel);
  if (S_ISDIR (st.st_mode))
    {
      cleanup_close int dirfd = openat (src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      cleanup_close int dst = -1;

      if (dirfd < 0)
        return sbx_err_errno (err, "open `%s`", rel);
      if (c->copy)
        {
          dst = dstname ? openat (dstfd, dstname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                        : openat (dstfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (dst < 0)
            return sbx_err_errno (err, "open the destination of `%s`", rel);
        }
      return copy_dir_contents (c, dirfd, strcmp (rel, ".") == 0 ? "" : rel, dst, err);
    }
  dir = slash ? xstrndup (rel, (size_t) (slash - rel)) : xstrdup (".");
  parent = sbx_fs_open_in_root (ctxfd, dir, O_PATH | O_DIRECTORY, 0, err);
  if (parent < 0)
    return sbx_err_prefix (err, "`%s`", rel);
  return copy_entry (c, parent, slash ? slash + 1 : rel, rel, dstfd, dstname, err);
}

/* Expand the local sources of S into MATCHES (sorted).  */
static int
expand_sources (const struct build_copy_req *r, int ctxfd, char ***matches, struct sbx_error **err)
{
  const struct sbx_build_step *s = r->s;
  size_t i;

  for (i = 0; i < s->n_sources; i++)
    {
      const char *p = s->sources[i].path;
      cleanup_free char *pat = NULL;
      glob_t g = { 0 };
      size_t k, n0 = sbx_strv_len (*matches);

      if (p == NULL || (s->kw == SBX_BUILD_ADD && build_is_url (p)))
        continue;
      p += strspn (p, "/");
      if (! is_inside (p))
        return sbx_err (err, EPERM, "`%s` is outside the build context", s->sources[i].path);
      if (strpbrk (p, "*?[\\") == NULL)
        {
          /* A plain path: no host glob(3), which would follow the
             context's symlinks on the host; copy_source resolves it inside
             the context.  */
          struct stat st;

          if (stat_in_context (ctxfd, *p ? p : ".", &st) == 0
              && (*p == '\0' || ! sbx_build_ignore_is_excluded (r->ig, p)))
            sbx_strv_push (matches, *p ? p : ".");
        }
      else if ((pat = xasprintf ("%s/%s", r->context, p)) != NULL
               && glob (pat, GLOB_NOSORT, NULL, &g) == 0)
        for (k = 0; k < g.gl_pathc; k++)
          {
            const char *m = g.gl_pathv[k] + strlen (r->context) + 1;

            if (*m == '\0' || strcmp (m, ".") == 0 || ! sbx_build_ignore_is_excluded (r->ig, m))
              sbx_strv_push (matches, *m ? m : ".");
          }
      globfree (&g);
      if (sbx_strv_len (*matches) == n0)
        return sbx_err (err, ENOENT, "`%s`: no such file or directory in %s", s->sources[i].path,
                        r->ig || s->from_stage < 0 ? "the build context" : "the --from image");
    }
  qsort (*matches, sbx_strv_len (*matches), sizeof (char *), cmp_names);
  return 0;
}

/* The name of the destination file for a source whose own name is NAME.  */
static const char *
dest_name (const struct sbx_build_step *s, bool dest_is_dir, const char *name)
{
  return dest_is_dir ? name : strrchr (s->dest, '/') + 1;
}

static int
copy_urls (struct copy_ctx *c, const struct build_copy_req *r, int destdir, bool dest_is_dir,
           struct sbx_error **err)
{
  const struct sbx_build_step *s = r->s;
  cleanup_close int dl = -1;
  size_t i;

  for (i = 0; i < s->n_sources; i++)
    {
      cleanup_free char *base = NULL;
      char idx[32];

      if (s->kw != SBX_BUILD_ADD || s->sources[i].path == NULL
          || ! build_is_url (s->sources[i].path))
        continue;
      if (dl < 0
          && (r->downloads == NULL
              || (dl = open (r->downloads, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0))
        return sbx_err (err, EIO, "`%s` was not downloaded", s->sources[i].path);
      base = build_url_basename (s->sources[i].path);
      snprintf (idx, sizeof idx, "%zu", i);
      if (copy_entry (c, dl, idx, s->sources[i].path, destdir, dest_name (s, dest_is_dir, base),
                      err)
          < 0)
        return -1;
    }
  return 0;
}

int
build_copy_walk (const struct build_copy_req *r, struct sbx_error **err)
{
  const struct sbx_build_step *s = r->s;
  struct copy_ctx c = { .ig = r->ig,
                        .hash = r->hash,
                        .copy = r->stagefd >= 0,
                        .uid = r->uid,
                        .gid = r->gid,
                        .chmod = s->chmod,
                        .extract = r->extract,
                        .apply_owners = r->apply_owners };
  cleanup_close int ctxfd = open (r->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int destdir = -1;
  size_t dlen = strlen (s->dest);
  bool dest_is_dir = dlen > 0 && s->dest[dlen - 1] == '/';
  cleanup_strv char **matches = sbx_strv_dup (NULL);
  size_t i;

  if (ctxfd < 0)
    return sbx_err_errno (err, "open the build context `%s`", r->context);
  if (expand_sources (r, ctxfd, &matches, err) < 0)
    return -1;
  if (s->n_sources > 1)
    dest_is_dir = true;
  for (i = 0; matches[i]; i++)
    {
      struct stat st;

      if (stat_in_context (ctxfd, matches[i], &st) == 0 && S_ISDIR (st.st_mode))
        dest_is_dir = true;
      else if (c.extract && is_archive_at (ctxfd, matches[i]))
        dest_is_dir = true;
    }
  if (c.copy)
    {
      cleanup_free char *dir = xstrdup (s->dest);

      if (! dest_is_dir)
        strrchr (dir, '/')[1] = '\0';
      destdir = open_dest_dir (r->stagefd, dir, err);
      if (destdir < 0)
        return -1;
    }
  for (i = 0; i < s->n_sources; i++)
    if (s->sources[i].path == NULL
        && copy_heredoc (&c, &s->sources[i], destdir,
                         dest_name (s, dest_is_dir, s->sources[i].name), err)
               < 0)
      return -1;
  if (copy_urls (&c, r, destdir, dest_is_dir, err) < 0)
    return -1;
  for (i = 0; matches[i]; i++)
    {
      const char *base = strrchr (matches[i], '/');
      const char *name = dest_name (s, dest_is_dir, base ? base + 1 : matches[i]);
      struct stat st;

      if (c.copy && c.extract)
        {
          int x = extract_source (&c, ctxfd, matches[i], destdir, err);

          if (x < 0)
            return -1;
          if (x > 0)
            continue;
        }
      if (stat_in_context (ctxfd, matches[i], &st) == 0 && S_ISDIR (st.st_mode))
        name = NULL; /* its contents go into the destination itself */
      if (copy_source (&c, ctxfd, matches[i], destdir, name, err) < 0)
        return -1;
    }
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing a tree as a layer tar stream: pax (ustar headers, pax extensions
   only where needed), entries sorted by name within each directory, no
   root entry, owners and modes as stored, whiteouts and opaque directories
   translated back to OCI entries (whiteout.c), sockets skipped.

   The DiffID is the sha256 of the uncompressed tar, so compression happens
   after hashing (gzip-write.c, deflate on every CPU):

     tree ──▶ TAR: pax ──▶ tar_sink() ──sha256──▶ layer_gz ──▶ fd
                                        └──(uncompressed)───────▶ fd  */
#define SBX_LOG_MODULE "layer"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/internal.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DATA_CHUNK (1024 * 1024)
/* A file with more than one link, by the path it was first written at.  */
struct link_seen
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct tar_out
{
  int fd;
  struct archive *tar;
  struct layer_gz *gz; /* NULL: uncompressed */
  struct sbx_sha256 *hash;
  struct sbx_error *io_err; /* the first failure of a sink */
  int64_t clamp;
  bool discard;   /* failed: the sinks drop what libarchive flushes on free */
  bool err_named; /* *err already names the path */
  void *links;    /* tsearch() tree of struct link_seen */
  struct sbx_strbuf path;
  char *buf;
};

static void
free_link_seen (void *p)
{
  struct link_seen *l = p;

  free (l->path);
  free (l);
}

static void
tar_out_release (struct tar_out *t)
{
  /* Nothing more reaches the fd.  */
  t->discard = true;
  if (t->tar)
    archive_write_free (t->tar);
  layer_gz_free (t->gz);
  sbx_sha256_free (t->hash);
  sbx_error_free (t->io_err);
  tdestroy (t->links, free_link_seen);
  sbx_strbuf_release (&t->path);
  free (t->buf);
}
#define cleanup_tar_out __attribute__ ((cleanup (tar_out_release)))

static int
archive_code (struct archive *a)
{
  int code = archive_errno (a);

  return code > 0 ? code : EIO;
}

/* Turn a failed libarchive write into *ERR: the sink's own error when it
   was the cause.  */
static int
write_error (struct tar_out *t, struct archive *a, const char *what, struct sbx_error **err)
{
  const char *msg;

  if (t->io_err)
    {
      *err = steal_ptr (&t->io_err);
      return sbx_err_prefix (err, "%s", what);
    }
  msg = archive_error_string (a);
  return sbx_err (err, archive_code (a), "%s: %s", what, msg ? msg : "unknown error");
}

static la_ssize_t
fd_sink (struct archive *a, void *data, const void *buf, size_t len)
{
  struct tar_out *t = data;

  if (t->discard)
    return (la_ssize_t) len;
  if (t->io_err == NULL && sbx_write_all (t->fd, buf, len, &t->io_err) == 0)
    return (la_ssize_t) len;
  archive_set_error (a, t->io_err ? t->io_err->code : EIO, "%s",
                     t->io_err ? t->io_err->msg : "write");
  return -1;
}

static la_ssize_t
tar_sink (struct archive *a, void *data, const void *buf, size_t len)
{
  struct tar_out *t = data;
  la_ssize_t n;

  if (t->discard)
    return (la_ssize_t) len;
  sbx_sha256_update (t->hash, buf, len);
  if (t->gz == NULL)
    return fd_sink (a, data, buf, len);
  n = t->io_err == NULL && layer_gz_write (t->gz, buf, len, &t->io_err) == 0 ? (la_ssize_t) len
                                                                             : -1;
  if (n < 0)
    archive_set_error (a, t->io_err ? t->io_err->code : EIO, "%s",
                       t->io_err ? t->io_err->msg : "compress");
  return n;
}

static int
open_tar (struct tar_out *t, const char *compress, struct sbx_error **err)
{
  if (compress && strcmp (compress, "gzip") != 0)
    return sbx_err (err, EINVAL, "unsupported layer compression `%s`", compress);
  if (compress && (t->gz = layer_gz_new (t->fd, err)) == NULL)
    return -1;
  t->tar = archive_write_new ();
  if (t->tar == NULL)
    xoom ();
  if (archive_write_set_format_pax_restricted (t->tar) != ARCHIVE_OK
      || archive_write_set_format_option (t->tar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (t->tar, 1) != ARCHIVE_OK
      || archive_write_open (t->tar, t, NULL, tar_sink, NULL) != ARCHIVE_OK)
    return write_error (t, t->tar, "set up tar", err);
  return 0;
}

/* ---- entries ---- */

static struct archive_entry *
new_entry (struct tar_out *t, const char *path, const struct stat *st, mode_t type)
{
  struct archive_entry *e = archive_entry_new ();
  time_t mtime = st->st_mtime;

  if (e == NULL)
    xoom ();
  if (t->clamp >= 0 && mtime > t->clamp)
    mtime = (time_t) t->clamp;
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, st->st_mode & 07777);
  archive_entry_set_uid (e, st->st_uid);
  archive_entry_set_gid (e, st->st_gid);
  archive_entry_set_mtime (e, mtime, 0);
  archive_entry_set_size (e, 0);
  return e;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The user.* xattrs of FD in name order, overlay and sbx metadata
   excepted.  */
static int
add_xattrs (struct archive_entry *e, int fd, struct sbx_error **err)
{
  cleanup_free char *names = NULL;
  cleanup_free char **list = NULL;
  ssize_t len = flistxattr (fd, NULL, 0);
  size_t n = 0, i;
  char *name;

  if (len < 0 && (errno == ENOTSUP || errno == EPERM))
    return 0;
  if (len < 0)
    return sbx_err_errno (err, "list xattrs");
  if (len == 0)
    return 0;
  names = xmalloc ((size_t) len);
  len = flistxattr (fd, names, (size_t) len);
  if (len < 0)
    return sbx_err_errno (err, "list xattrs");
  list = xcalloc ((size_t) len, sizeof *list);
  for (name = names; name < names + len; name += strlen (name) + 1)
    if (strncmp (name, "user.", 5) == 0 && ! layer_is_private_xattr (name))
      list[n++] = name;
  qsort (list, n, sizeof *list, cmp_str);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *value = NULL;
      ssize_t size = fgetxattr (fd, list[i], NULL, 0);

      if (size < 0)
        return sbx_err_errno (err, "get xattr `%s`", list[i]);
      value = xmalloc ((size_t) size + 1);
      size = fgetxattr (fd, list[i], value, (size_t) size);
      if (size < 0)
        return sbx_err_errno (err, "get xattr `%s`", list[i]);
      archive_entry_xattr_add_entry (e, list[i], value, (size_t) size);
    }
  return 0;
}

static int
write_header (struct tar_out *t, struct archive_entry *e, struct sbx_error **err)
{
  int ret = archive_write_header (t->tar, e);

  if (ret == ARCHIVE_WARN)
    sbx_debug ("tar entry `%s`: %s", archive_entry_pathname (e), archive_error_string (t->tar));
  else if (ret != ARCHIVE_OK)
    return write_error (t, t->tar, "write header", err);
  return 0;
}

/* An empty regular file entry PATH (whiteouts and opaque markers).  */
static int
write_marker (struct tar_out *t, const char *path, const struct stat *st, struct sbx_error **err)
{
  struct archive_entry *e = new_entry (t, path, st, AE_IFREG);
  int ret;

  archive_entry_set_perm (e, st->st_mode & 0777);
  ret = write_header (t, e, err);
  archive_entry_free (e);
  return ret;
}

/* Path of the whiteout entry for the file at T->path.  */
static char *
whiteout_name (const struct sbx_strbuf *path)
{
  const char *slash = strrchr (path->buf, '/');

  if (slash == NULL)
    return xasprintf (LAYER_WH_PREFIX "%s", path->buf);
  return xasprintf ("%.*s/" LAYER_WH_PREFIX "%s", (int) (slash - path->buf), path->buf, slash + 1);
}

static int
write_data (struct tar_out *t, int fd, off_t size, struct sbx_error **err)
{
  while (size > 0)
    {
      size_t want = size < DATA_CHUNK ? (size_t) size : DATA_CHUNK;
      ssize_t n = read (fd, t->buf, want);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "read");
      if (n == 0)
        break; /* shrank meanwhile: libarchive pads with zeros */
      if (archive_write_data (t->tar, t->buf, (size_t) n) < 0)
        return write_error (t, t->tar, "write data", err);
      size -= n;
    }
  return 0;
}

static int
cmp_link_seen (const void *pa, const void *pb)
{
  const struct link_seen *a = pa, *b = pb;

  if (a->dev != b->dev)
    return a->dev < b->dev ? -1 : 1;
  if (a->ino != b->ino)
    return a->ino < b->ino ? -1 : 1;
  return 0;
}

/* true when ST was seen before at another path: E becomes a hardlink.  */
static bool
link_to_seen (struct tar_out *t, const struct stat *st, struct archive_entry *e)
{
  struct link_seen key = { .dev = st->st_dev, .ino = st->st_ino };
  struct link_seen *l, **found;

  if (st->st_nlink < 2)
    return false;
  found = tfind (&key, &t->links, cmp_link_seen);
  if (found)
    {
      archive_entry_set_hardlink (e, (*found)->path);
      return true;
    }
  l = xzalloc (sizeof *l);
  *l = key;
  l->path = xstrdup (t->path.buf);
  if (tsearch (l, &t->links, cmp_link_seen) == NULL)
    xoom ();
  return false;
}

static int write_children (struct tar_out *t, int dirfd, struct sbx_error **err);

static int
write_dir (struct tar_out *t, int dirfd, const char *name, const struct stat *st,
           struct sbx_error **err)
{
  cleanup_close int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *dirname = NULL;
  struct archive_entry *e = NULL;
  int ret;

  if (fd < 0)
    return sbx_err_errno (err, "open");
  dirname = xasprintf ("%s/", t->path.buf);
  e = new_entry (t, dirname, st, AE_IFDIR);
  ret = add_xattrs (e, fd, err);
  if (ret == 0)
    ret = write_header (t, e, err);
  archive_entry_free (e);
  if (ret < 0)
    return -1;
  if (layer_is_opaque (fd))
    {
      cleanup_free char *marker = xasprintf ("%s%s", dirname, LAYER_WH_OPAQUE);

      if (write_marker (t, marker, st, err) < 0)
        return -1;
    }
  return write_children (t, fd, err);
}

static int
write_file (struct tar_out *t, int dirfd, const char *name, const struct stat *st,
            struct sbx_error **err)
{
  struct archive_entry *e = new_entry (t, t->path.buf, st, AE_IFREG);
  cleanup_close int fd = -1;
  struct stat now;
  int ret;

  if (link_to_seen (t, st, e))
    {
      ret = write_header (t, e, err);
      archive_entry_free (e);
      return ret;
    }
  /* O_NONBLOCK: should a fifo have taken its place, do not hang on it */
  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &now) < 0)
    ret = sbx_err_errno (err, "open");
  else if (now.st_ino != st->st_ino || now.st_dev != st->st_dev)
    ret = sbx_err (err, EAGAIN, "replaced while being read");
  else
    ret = add_xattrs (e, fd, err);
  if (ret == 0)
    {
      archive_entry_set_size (e, st->st_size);
      ret = write_header (t, e, err);
    }
  archive_entry_free (e);
  if (ret < 0)
    return -1;
  return write_data (t, fd, st->st_size, err);
}

static int
write_other (struct tar_out *t, int dirfd, const char *name, const struct stat *st,
             struct sbx_error **err)
{
  struct archive_entry *e = new_entry (t, t->path.buf, st, st->st_mode & S_IFMT);
  int ret;

  if (S_ISLNK (st->st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dirfd, name, target, sizeof target);

      if (n < 0 || (size_t) n >= sizeof target)
        {
          archive_entry_free (e);
          return n < 0 ? sbx_err_errno (err, "readlink")
                       : sbx_err (err, ENAMETOOLONG, "readlink: target too long");
        }
      target[n] = '\0';
      archive_entry_set_symlink (e, target);
    }
  else if (S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode))
    {
      archive_entry_set_rdevmajor (e, major (st->st_rdev));
      archive_entry_set_rdevminor (e, minor (st->st_rdev));
    }
  ret = write_header (t, e, err);
  archive_entry_free (e);
  return ret;
}

static int
write_node (struct tar_out *t, int dirfd, const char *name, struct sbx_error **err)
{
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return sbx_err_errno (err, "stat");
  if (layer_is_whiteout (&st))
    {
      cleanup_free char *wh = whiteout_name (&t->path);

      return write_marker (t, wh, &st, err);
    }
  if (S_ISDIR (st.st_mode))
    return write_dir (t, dirfd, name, &st, err);
  if (S_ISREG (st.st_mode))
    return write_file (t, dirfd, name, &st, err);
  if (S_ISSOCK (st.st_mode))
    {
      sbx_debug ("`%s`: socket not written to the layer", t->path.buf);
      return 0;
    }
  return write_other (t, dirfd, name, &st, err);
}

/* The names in DIRFD, sorted bytewise.  */
static char **
list_dir (int dirfd, size_t *n_out, struct sbx_error **err)
{
  cleanup_dir DIR *d = NULL;
  cleanup_strv char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      sbx_err_errno (err, "open directory");
      if (fd >= 0)
        (void) close (fd);
      return NULL;
    }
  names = xcalloc (1, sizeof *names);
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n + 1 >= cap)
        {
          cap = cap ? xmul (cap, 2) : 16;
          names = xrealloc (names, xmul (cap, sizeof *names));
        }
      names[n++] = xstrdup (de->d_name);
      names[n] = NULL;
    }
  if (errno != 0)
    {
      sbx_err_errno (err, "read directory");
      return NULL;
    }
  qsort (names, n, sizeof *names, cmp_str);
  *n_out = n;
  return steal_ptr (&names);
}

static int
write_children (struct tar_out *t, int dirfd, struct sbx_error **err)
{
  size_t n = 0, i;
  cleanup_strv char **names = list_dir (dirfd, &n, err);

  if (names == NULL)
    {
      t->err_named = true;
      return sbx_err_prefix (err, "`%s`", *t->path.buf ? t->path.buf : "/");
    }
  for (i = 0; i < n; i++)
    {
      size_t saved = t->path.len;
      int ret;

      if (saved)
        sbx_strbuf_addch (&t->path, '/');
      sbx_strbuf_addstr (&t->path, names[i]);
      ret = write_node (t, dirfd, names[i], err);
      if (ret < 0 && t->err_named)
        return -1;
      if (ret < 0)
        {
          t->err_named = true;
          return sbx_err_prefix (err, "`%s`", t->path.buf);
        }
      t->path.len = saved;
      t->path.buf[saved] = '\0';
    }
  return 0;
}

int
sbx_layer_write_tar (int dirfd, int fd, const char *compress, int64_t mtime,
                     struct sbx_digest *diff_id, struct sbx_error **err)
{
  cleanup_tar_out struct tar_out t = { .fd = fd, .clamp = mtime, .path = SBX_STRBUF_INIT };
  cleanup_close int rootfd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;

  if (rootfd < 0 || fstat (rootfd, &st) < 0)
    return sbx_err_errno (err, "write layer tar: open the tree");
  t.hash = sbx_sha256_new ();
  t.buf = xmalloc (DATA_CHUNK);
  if (open_tar (&t, compress, err) < 0)
    return sbx_err_prefix (err, "write layer tar");
  if (layer_is_opaque (rootfd) && write_marker (&t, LAYER_WH_OPAQUE, &st, err) < 0)
    return sbx_err_prefix (err, "write layer tar");
  if (write_children (&t, rootfd, err) < 0)
    return sbx_err_prefix (err, "write layer tar");
  if (archive_write_close (t.tar) != ARCHIVE_OK)
    return write_error (&t, t.tar, "write layer tar", err);
  if (t.gz && layer_gz_finish (t.gz, err) < 0)
    return sbx_err_prefix (err, "write layer tar: compress");
  sbx_sha256_final (t.hash, diff_id);
  sbx_sha256_free (t.hash);
  t.hash = NULL;
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Safe extraction of a layer's tar stream into a directory fd.

   Every entry's parent directory is resolved in root (openat2
   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, or the verified walk of
   util/fs.c), and the entry itself is made with an *at() call on that fd
   and its last component, which never follows a symlink there (mkdirat,
   symlinkat, mknodat, linkat without AT_SYMLINK_FOLLOW, openat with
   O_CREAT | O_EXCL | O_NOFOLLOW).  So "../x", "/abs", a symlink planted by
   an earlier entry or a hardlink to outside never reach outside the layer.

   An existing entry is replaced by one of another type, as tar --overwrite
   and Docker's applyLayer do: a directory over a directory merges, anything
   else is removed first.  Directories are made 0700 and get their mode and
   times only after every entry is written (deepest first), so that a 0555
   directory can still be filled by an unprivileged caller and its mtime is
   not changed by its children.  */
#define SBX_LOG_MODULE "layer"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* A directory whose mode and times are applied at the end.  */
struct dir_meta
{
  char *path;
  dev_t dev;
  ino_t ino;
  mode_t mode;
  struct timespec times[2]; /* atime, mtime */
  size_t depth;
  size_t seq;
};

struct unpack
{
  int rootfd;
  bool apply_owners;
  const int *lowers;
  size_t n_lowers;
  struct sbx_layer_stats *stats;
  struct layer_tar_reader *reader;
  struct dir_meta *dirs;
  size_t n_dirs;
  size_t dirs_cap;
  /* The parent directory of the last entry (O_PATH), reused by the next
     entry in the same directory.  PARENT_PATH is NULL once an entry was
     removed (the path might resolve elsewhere now); the fd stays valid
     until it is replaced.  */
  char *parent_path;
  int parent_fd;
  uint64_t xattr_failures;
};

static void
unpack_release (struct unpack *u)
{
  size_t i;

  for (i = 0; i < u->n_dirs; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  free (u->parent_path);
  if (u->parent_fd >= 0)
    (void) close (u->parent_fd);
}
#define cleanup_unpack __attribute__ ((cleanup (unpack_release)))

char *
layer_normalize_path (const char *name)
{
  cleanup_strbuf struct sbx_strbuf out = SBX_STRBUF_INIT;
  const char *p = name;

  for (;;)
    {
      const char *e;
      size_t len;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      e = strchrnul (p, '/');
      len = (size_t) (e - p);
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          char *slash;

          if (out.len == 0)
            return NULL;
          slash = strrchr (out.buf, '/');
          out.len = slash ? (size_t) (slash - out.buf) : 0;
          out.buf[out.len] = '\0';
        }
      else if (! (len == 1 && p[0] == '.'))
        {
          if (out.len)
            sbx_strbuf_addch (&out, '/');
          sbx_strbuf_add (&out, p, len);
        }
      p = e;
    }
  return sbx_strbuf_detach (&out);
}

/* Split the normalised PATH into its directory (malloc'ed, "" at the root)
   and its last component (pointing into PATH).  */
static char *
split_path (const char *path, const char **base)
{
  const char *slash = strrchr (path, '/');

  *base = slash ? slash + 1 : path;
  return slash ? xstrndup (path, (size_t) (slash - path)) : xstrdup ("");
}

/* An O_PATH fd of the directory DIR ("" for the root), created with its
   missing parents (0755, as Docker does) when needed.  Borrowed: owned by
   U until the next call.  */
static void add_dir_meta_raw (struct unpack *u, const char *path, const struct stat *st,
                              mode_t mode, const struct timespec times[2]);

/* The first lower layer's directory PATH, opened for reading, or -1.  */
static int
open_lower_dir (struct unpack *u, const char *path)
{
  size_t i;

  for (i = 0; i < u->n_lowers; i++)
    {
      cleanup_error struct sbx_error *ignored = NULL;
      int fd = sbx_fs_open_in_root (u->lowers[i], path, O_RDONLY | O_DIRECTORY, 0, &ignored);

      if (fd >= 0)
        return fd;
    }
  return -1;
}

/* Whether some lower layer has PATH (not following a final symlink).  */
static bool
lower_has (struct unpack *u, const char *path)
{
  size_t i;

  for (i = 0; i < u->n_lowers; i++)
    {
      cleanup_error struct sbx_error *ignored = NULL;
      cleanup_close int fd
          = sbx_fs_open_in_root (u->lowers[i], path, O_PATH | O_NOFOLLOW, 0, &ignored);

      if (fd >= 0)
        return true;
    }
  return false;
}

/* A parent directory the tar does not list (a layer may omit directories
   that exist below it): create it with the lower layer's metadata (mode,
   owner, times, user xattrs), or 0755 when no lower layer has it, so the
   overlay's top-most copy does not change the directory users see.  */
static int
make_implicit_dir (struct unpack *u, const char *path, struct sbx_error **err)
{
  cleanup_free char *parent = NULL;
  cleanup_close int pfd = -1;
  cleanup_close int fd = -1;
  cleanup_close int lower = -1;
  const char *base;
  struct stat lst, st;

  parent = split_path (path, &base);
  pfd = sbx_fs_open_in_root (u->rootfd, *parent ? parent : ".", O_PATH | O_DIRECTORY, 0, err);
  if (pfd < 0)
    return -1;
  if (mkdirat (pfd, base, 0700) < 0)
    {
      cleanup_close int made = -1;

      if (errno != EEXIST)
        return sbx_err_errno (err, "mkdir `%s`", path);
      /* A dangling symlink of this layer: create its target, in root.  */
      made = sbx_fs_mkdir_p_in_root (u->rootfd, path, 0755, err);
      return made < 0 ? -1 : 0;
    }
  fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0)
    return sbx_err_errno (err, "open directory `%s`", path);
  lower = open_lower_dir (u, path);
  if (lower < 0 || fstat (lower, &lst) < 0)
    {
      struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

      add_dir_meta_raw (u, path, &st, 0755, now);
      return 0;
    }
  if (layer_copy_xattrs (lower, fd, err) < 0)
    return -1;
  if (u->apply_owners && fchown (fd, lst.st_uid, lst.st_gid) < 0)
    return sbx_err_errno (err, "chown directory `%s`", path);
  {
    struct timespec times[2] = { lst.st_atim, lst.st_mtim };

    add_dir_meta_raw (u, path, &st, lst.st_mode, times);
  }
  return 0;
}

static int
make_parents (struct unpack *u, const char *dir, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf prefix = SBX_STRBUF_INIT;
  const char *p = dir;

  while (*p)
    {
      const char *e = strchrnul (p, '/');
      cleanup_error struct sbx_error *missing = NULL;
      int fd;

      if (prefix.len)
        sbx_strbuf_addch (&prefix, '/');
      sbx_strbuf_add (&prefix, p, (size_t) (e - p));
      p = *e ? e + 1 : e;
      fd = sbx_fs_open_in_root (u->rootfd, prefix.buf, O_PATH | O_DIRECTORY, 0, &missing);
      if (fd >= 0)
        {
          (void) close (fd);
          continue;
        }
      if (sbx_error_code (missing) != ENOENT)
        {
          *err = steal_ptr (&missing);
          return -1;
        }
      if (make_implicit_dir (u, prefix.buf, err) < 0)
        return -1;
    }
  return 0;
}

static int
open_parent (struct unpack *u, const char *dir, struct sbx_error **err)
{
  int fd;

  if (u->parent_path && strcmp (u->parent_path, dir) == 0)
    return u->parent_fd;
  fd = sbx_fs_open_in_root (u->rootfd, *dir ? dir : ".", O_PATH | O_DIRECTORY, 0, err);
  if (fd < 0)
    {
      if (sbx_error_code (*err) != ENOENT)
        return -1;
      sbx_error_clear (err);
      if (make_parents (u, dir, err) < 0)
        return -1;
      fd = sbx_fs_open_in_root (u->rootfd, dir, O_PATH | O_DIRECTORY, 0, err);
      if (fd < 0)
        return -1;
    }
  if (u->parent_fd >= 0)
    (void) close (u->parent_fd);
  free (u->parent_path);
  u->parent_fd = fd;
  u->parent_path = xstrdup (dir);
  return fd;
}

/* Make room for a new entry BASE in PARENTFD.  Returns 1 when a directory
   is there and KEEP_DIR (merge), 0 when the name is free (now).  */
static int
make_room (struct unpack *u, int parentfd, const char *base, bool keep_dir, struct sbx_error **err)
{
  struct stat st;

  if (fstatat (parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return sbx_err_errno (err, "stat");
    }
  if (keep_dir && S_ISDIR (st.st_mode))
    return 1;
  free (u->parent_path);
  u->parent_path = NULL;
  if (S_ISDIR (st.st_mode))
    return sbx_fs_rm_rf_at (parentfd, base, err) < 0 ? sbx_err_prefix (err, "replace") : 0;
  if (unlinkat (parentfd, base, 0) < 0)
    return sbx_err_errno (err, "replace");
  return 0;
}

/* ---- metadata ---- */

static void
entry_times (struct archive_entry *e, struct timespec times[2])
{
  times[1].tv_sec = archive_entry_mtime (e);
  times[1].tv_nsec = archive_entry_mtime_nsec (e);
  if (! archive_entry_mtime_is_set (e) || times[1].tv_nsec < 0 || times[1].tv_nsec >= 1000000000)
    {
      times[1].tv_sec = 0;
      times[1].tv_nsec = UTIME_OMIT;
    }
  times[0] = times[1];
  if (archive_entry_atime_is_set (e) && archive_entry_atime_nsec (e) >= 0
      && archive_entry_atime_nsec (e) < 1000000000)
    {
      times[0].tv_sec = archive_entry_atime (e);
      times[0].tv_nsec = archive_entry_atime_nsec (e);
    }
}

/* The tar's owners for FD, or for NAME in DIRFD when FD is -1 (a symlink). */
static int
apply_owners (struct unpack *u, struct archive_entry *e, int fd, int dirfd, const char *name,
              struct sbx_error **err)
{
  la_int64_t uid = archive_entry_uid (e);
  la_int64_t gid = archive_entry_gid (e);
  int ret;

  if (! u->apply_owners)
    return 0;
  if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
    return sbx_err (err, EINVAL, "owner %" PRId64 ":%" PRId64 " out of range", (int64_t) uid,
                    (int64_t) gid);
  if (fd >= 0)
    ret = fchown (fd, (uid_t) uid, (gid_t) gid);
  else
    ret = fchownat (dirfd, name, (uid_t) uid, (gid_t) gid, AT_SYMLINK_NOFOLLOW);
  if (ret < 0 && errno == EINVAL)
    return sbx_err (err, EINVAL,
                    "chown to %" PRId64 ":%" PRId64 ": %s (hint: the user namespace maps no "
                    "such id: give the user a larger range in /etc/subuid and /etc/subgid)",
                    (int64_t) uid, (int64_t) gid, strerror (EINVAL));
  if (ret < 0)
    return sbx_err_errno (err, "chown to %" PRId64 ":%" PRId64, (int64_t) uid, (int64_t) gid);
  return 0;
}

static bool
is_soft_xattr_error (int code)
{
  return code == ENOTSUP || code == EPERM || code == ERANGE || code == E2BIG || code == EINVAL;
}

/* The entry's user.* xattrs on FD; others are dropped, as are overlay and
   sbx metadata (a layer must not plant user.overlay.redirect & co).  */
static int
apply_xattrs (struct unpack *u, struct archive_entry *e, int fd, const char *path,
              struct sbx_error **err)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      if (strncmp (name, "user.", 5) != 0 || layer_is_private_xattr (name))
        {
          sbx_debug ("tar entry `%s`: xattr `%s` dropped", path, name);
          continue;
        }
      if (fd < 0)
        {
          sbx_debug ("tar entry `%s`: xattr `%s` dropped (a symlink)", path, name);
          continue;
        }
      if (fsetxattr (fd, name, value, size, 0) < 0)
        {
          if (! is_soft_xattr_error (errno))
            return sbx_err_errno (err, "set xattr `%s`", name);
          sbx_debug ("tar entry `%s`: set xattr `%s`: %s", path, name, strerror (errno));
          u->xattr_failures++;
        }
    }
  return 0;
}

/* Xattrs, owners, mode and times of a file or fifo open as FD.  */
static int
apply_file_meta (struct unpack *u, struct archive_entry *e, int fd, const char *path,
                 struct sbx_error **err)
{
  struct timespec times[2];

  if (apply_xattrs (u, e, fd, path, err) < 0 || apply_owners (u, e, fd, -1, NULL, err) < 0)
    return -1;
  /* After chown, which clears the set-id bits.  */
  if (fchmod (fd, archive_entry_perm (e) & 07777) < 0)
    return sbx_err_errno (err, "chmod");
  entry_times (e, times);
  if (futimens (fd, times) < 0)
    return sbx_err_errno (err, "set times");
  return 0;
}

/* ---- directories ---- */

static void
add_dir_meta_raw (struct unpack *u, const char *path, const struct stat *st, mode_t mode,
                  const struct timespec times[2])
{
  struct dir_meta *d;
  const char *p;

  if (u->n_dirs == u->dirs_cap)
    {
      u->dirs_cap = u->dirs_cap ? xmul (u->dirs_cap, 2) : 64;
      u->dirs = xrealloc (u->dirs, xmul (u->dirs_cap, sizeof *u->dirs));
    }
  d = &u->dirs[u->n_dirs];
  *d = (struct dir_meta){ .path = xstrdup (path),
                          .dev = st->st_dev,
                          .ino = st->st_ino,
                          .mode = mode & 07777,
                          .depth = *path ? 1 : 0,
                          .seq = u->n_dirs };
  for (p = path; *p; p++)
    d->depth += *p == '/';
  d->times[0] = times[0];
  d->times[1] = times[1];
  u->n_dirs++;
}

static void
add_dir_meta (struct unpack *u, struct archive_entry *e, const char *path, const struct stat *st)
{
  struct timespec times[2];

  entry_times (e, times);
  add_dir_meta_raw (u, path, st, archive_entry_perm (e), times);
}

/* Deepest first; for one path, the last entry first (it wins).  */
static int
cmp_dir_meta (const void *pa, const void *pb)
{
  const struct dir_meta *a = pa, *b = pb;
  int c;

  if (a->depth != b->depth)
    return a->depth > b->depth ? -1 : 1;
  c = strcmp (a->path, b->path);
  if (c)
    return c;
  return a->seq > b->seq ? -1 : a->seq < b->seq;
}

static int
apply_dir_meta (struct unpack *u, struct sbx_error **err)
{
  const char *done = NULL;
  size_t i;

  if (u->n_dirs > 1)
    qsort (u->dirs, u->n_dirs, sizeof *u->dirs, cmp_dir_meta);
  for (i = 0; i < u->n_dirs; i++)
    {
      struct dir_meta *d = &u->dirs[i];
      cleanup_error struct sbx_error *e = NULL;
      cleanup_close int fd = -1;
      struct stat st;

      if (done && strcmp (done, d->path) == 0)
        continue;
      done = d->path;
      fd = sbx_fs_open_in_root (u->rootfd, *d->path ? d->path : ".",
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &e);
      if (fd < 0 || fstat (fd, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino)
        {
          sbx_debug ("directory `%s` was replaced by a later entry", d->path);
          continue;
        }
      if (fchmod (fd, d->mode) < 0)
        return sbx_err_errno (err, "chmod directory `%s`", d->path);
      if (futimens (fd, d->times) < 0)
        return sbx_err_errno (err, "set times of directory `%s`", d->path);
    }
  return 0;
}

/* Xattrs and owners now, mode and times at the end.  */
static int
finish_dir (struct unpack *u, struct archive_entry *e, int fd, const char *path,
            struct sbx_error **err)
{
  struct stat st;

  if (apply_xattrs (u, e, fd, path, err) < 0 || apply_owners (u, e, fd, -1, NULL, err) < 0)
    return -1;
  if (fstat (fd, &st) < 0)
    return sbx_err_errno (err, "stat");
  add_dir_meta (u, e, path, &st);
  return 0;
}

static int
unpack_dir (struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
            const char *path, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  int r = make_room (u, parentfd, base, true, err);

  if (r < 0)
    return -1;
  if (r == 0 && mkdirat (parentfd, base, 0700) < 0)
    return sbx_err_errno (err, "mkdir");
  fd = openat (parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open directory");
  return finish_dir (u, e, fd, path, err);
}

/* "./" or "/": the layer's directory itself.  */
static int
unpack_root (struct unpack *u, struct archive_entry *e, struct sbx_error **err)
{
  cleanup_close int fd = -1;

  if (archive_entry_filetype (e) != AE_IFDIR || archive_entry_hardlink (e))
    {
      sbx_warn ("tar entry for the layer's root is not a directory: skipped");
      u->stats->skipped++;
      return 0;
    }
  fd = openat (u->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open the layer directory");
  return finish_dir (u, e, fd, "", err);
}

/* ---- files, symlinks, fifos ---- */

static int
pwrite_all (int fd, const char *buf, size_t len, off_t off)
{
  while (len > 0)
    {
      ssize_t n = pwrite (fd, buf, len, off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= (size_t) n;
      off += n;
    }
  return 0;
}

/* Copy the entry's data (sparse files keep their holes) into FD.  */
static int
write_data (struct unpack *u, struct archive_entry *e, int fd, struct sbx_error **err)
{
  struct archive *a = layer_tar_reader_archive (u->reader);
  la_int64_t end = 0;

  for (;;)
    {
      const void *buf;
      size_t size;
      la_int64_t off;
      int ret = archive_read_data_block (a, &buf, &size, &off);

      if (ret == ARCHIVE_EOF)
        break;
      if (ret < ARCHIVE_WARN)
        return layer_tar_reader_error (u->reader, "read data", NULL, err);
      if (off < 0 || (la_int64_t) size > INT64_MAX - off)
        return sbx_err (err, EINVAL, "read data: bad offset %" PRId64, (int64_t) off);
      if (pwrite_all (fd, buf, size, (off_t) off) < 0)
        return sbx_err_errno (err, "write");
      u->stats->bytes += size;
      if (off + (la_int64_t) size > end)
        end = off + (la_int64_t) size;
    }
  if (archive_entry_size_is_set (e) && archive_entry_size (e) > end
      && ftruncate (fd, (off_t) archive_entry_size (e)) < 0)
    return sbx_err_errno (err, "extend to %" PRId64 " bytes", (int64_t) archive_entry_size (e));
  return 0;
}

static int
unpack_file (struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
             const char *path, struct sbx_error **err)
{
  cleanup_close int fd = -1;

  if (make_room (u, parentfd, base, false, err) < 0)
    return -1;
  fd = openat (parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return sbx_err_errno (err, "create");
  if (write_data (u, e, fd, err) < 0)
    return -1;
  return apply_file_meta (u, e, fd, path, err);
}

static int
unpack_symlink (struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
                const char *path, struct sbx_error **err)
{
  const char *target = archive_entry_symlink (e);
  struct timespec times[2];

  if (target == NULL || *target == '\0')
    return sbx_err (err, EINVAL, "symlink without a target");
  if (make_room (u, parentfd, base, false, err) < 0)
    return -1;
  if (symlinkat (target, parentfd, base) < 0)
    return sbx_err_errno (err, "symlink to `%s`", target);
  if (apply_xattrs (u, e, -1, path, err) < 0 || apply_owners (u, e, -1, parentfd, base, err) < 0)
    return -1;
  entry_times (e, times);
  if (utimensat (parentfd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
    return sbx_err_errno (err, "set times");
  return 0;
}

static int
unpack_fifo (struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
             const char *path, struct sbx_error **err)
{
  cleanup_close int fd = -1;

  if (make_room (u, parentfd, base, false, err) < 0)
    return -1;
  if (mknodat (parentfd, base, S_IFIFO | 0600, 0) < 0)
    return sbx_err_errno (err, "mkfifo");
  /* Non-blocking: a fifo opens at once for reading.  */
  fd = openat (parentfd, base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open fifo");
  return apply_file_meta (u, e, fd, path, err);
}

/* ---- hardlinks ---- */

/* Find TARGET (normalised) in this layer, copied up from a lower layer if
   needed.  Returns an O_PATH fd of its directory; *ST gets its stat.  */
static int
find_link_target (struct unpack *u, const char *target, struct stat *st, struct sbx_error **err)
{
  const char *tbase;
  cleanup_free char *tdir = split_path (target, &tbase);
  cleanup_close int tdirfd = -1;
  bool copied = false;

  for (;;)
    {
      cleanup_error struct sbx_error *e = NULL;

      tdirfd = sbx_fs_open_in_root (u->rootfd, *tdir ? tdir : ".", O_PATH | O_DIRECTORY, 0, &e);
      if (tdirfd >= 0 && fstatat (tdirfd, tbase, st, AT_SYMLINK_NOFOLLOW) == 0)
        return steal_fd (&tdirfd);
      if (tdirfd >= 0 && errno != ENOENT)
        return sbx_err_errno (err, "stat link target `%s`", target);
      if (tdirfd < 0 && sbx_error_code (e) != ENOENT && sbx_error_code (e) != ENOTDIR)
        {
          *err = steal_ptr (&e);
          return sbx_err_prefix (err, "link target");
        }
      if (copied)
        return sbx_err (err, ENOENT, "link target `%s` vanished", target);
      /* The copy's parents first, with the lower layers' metadata.  */
      if (*tdir && lower_has (u, target) && make_parents (u, tdir, err) < 0)
        return -1;
      if (layer_copy_up (u->rootfd, u->lowers, u->n_lowers, target, u->apply_owners, err) < 0)
        {
          if (sbx_error_code (*err) != ENOENT)
            return sbx_err_prefix (err, "copy up link target");
          sbx_error_clear (err);
          return sbx_err (err, ENOENT, "link target `%s` is not in this layer or below", target);
        }
      sbx_debug ("copied up `%s` from a lower layer for a hardlink", target);
      copied = true;
      if (tdirfd >= 0)
        (void) close (steal_fd (&tdirfd));
    }
}

static int
unpack_hardlink (struct unpack *u, int parentfd, const char *base, const char *path,
                 const char *linkname, struct sbx_error **err)
{
  cleanup_free char *target = layer_normalize_path (linkname);
  cleanup_close int tdirfd = -1;
  const char *tbase;
  struct stat st, here;

  if (target == NULL || *target == '\0')
    return sbx_err (err, EINVAL, "hardlink to `%s`: outside the layer", linkname);
  if (strcmp (target, path) == 0)
    return 0;
  tbase = strrchr (target, '/');
  tbase = tbase ? tbase + 1 : target;
  tdirfd = find_link_target (u, target, &st, err);
  if (tdirfd < 0)
    return -1;
  if (S_ISDIR (st.st_mode))
    return sbx_err (err, EPERM, "hardlink to the directory `%s`", target);
  if (layer_is_whiteout (&st))
    return sbx_err (err, ENOENT, "hardlink to `%s`, which this layer deletes", target);
  if (fstatat (parentfd, base, &here, AT_SYMLINK_NOFOLLOW) == 0 && here.st_dev == st.st_dev
      && here.st_ino == st.st_ino)
    return 0;
  if (make_room (u, parentfd, base, false, err) < 0)
    return -1;
  if (linkat (tdirfd, tbase, parentfd, base, 0) < 0)
    return sbx_err_errno (err, "hardlink to `%s`", target);
  return 0;
}

/* ---- entries ---- */

static int
unpack_node (struct unpack *u, struct archive_entry *e, const char *path, struct sbx_error **err)
{
  const char *base;
  cleanup_free char *dir = split_path (path, &base);
  const char *linkname = archive_entry_hardlink (e);
  int parentfd = open_parent (u, dir, err);

  if (parentfd < 0)
    return -1;
  if (linkname)
    return unpack_hardlink (u, parentfd, base, path, linkname, err);
  switch (archive_entry_filetype (e))
    {
    case AE_IFDIR:
      return unpack_dir (u, e, parentfd, base, path, err);
    case AE_IFREG:
      return unpack_file (u, e, parentfd, base, path, err);
    case AE_IFLNK:
      return unpack_symlink (u, e, parentfd, base, path, err);
    case AE_IFIFO:
      return unpack_fifo (u, e, parentfd, base, path, err);
    case AE_IFCHR:
    case AE_IFBLK:
      sbx_warn ("tar entry `%s`: device node skipped", path);
      break;
    default:
      sbx_warn ("tar entry `%s`: unsupported file type 0%o skipped", path,
                (unsigned) archive_entry_filetype (e));
      break;
    }
  u->stats->skipped++;
  return 0;
}

static int
unpack_whiteout (struct unpack *u, const char *target, struct sbx_error **err)
{
  const char *base;
  cleanup_free char *dir = split_path (target, &base);
  int parentfd = open_parent (u, dir, err);

  if (parentfd < 0)
    return -1;
  return layer_make_whiteout (parentfd, base, target, err);
}

static int
unpack_opaque (struct unpack *u, const char *target, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  int pathfd = open_parent (u, target, err);

  if (pathfd < 0)
    return -1;
  fd = openat (pathfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", *target ? target : "/");
  return layer_set_opaque (fd, target, err);
}

static int
unpack_entry (struct unpack *u, struct archive_entry *e, const char *path, struct sbx_error **err)
{
  cleanup_free char *target = NULL;

  if (*path == '\0')
    return unpack_root (u, e, err);
  switch (sbx_layer_classify_entry (path, &target))
    {
    case SBX_LAYER_ENTRY_WHITEOUT:
      return unpack_whiteout (u, target, err);
    case SBX_LAYER_ENTRY_OPAQUE:
      return unpack_opaque (u, target, err);
    case SBX_LAYER_ENTRY_INVALID:
      /* ".wh..wh.*" other than the opaque marker: aufs metadata (old
         Docker images), to be ignored without a fuss */
      if (strstr (path, LAYER_WH_PREFIX LAYER_WH_PREFIX))
        sbx_debug ("tar entry `%s`: aufs metadata, skipped", path);
      else
        sbx_warn ("tar entry `%s`: not a valid whiteout, skipped", path);
      u->stats->skipped++;
      return 0;
    case SBX_LAYER_ENTRY_NORMAL:
      break;
    }
  return unpack_node (u, e, path, err);
}

int
sbx_layer_unpack (int fd, int dirfd, const struct sbx_layer_unpack_opts *opts,
                  struct sbx_layer_stats *stats, struct sbx_error **err)
{
  static const struct sbx_layer_unpack_opts no_opts = { .apply_owners = false };
  cleanup_tar_reader struct layer_tar_reader *reader = NULL;
  cleanup_free char *prev = NULL;
  struct sbx_layer_stats local;
  cleanup_unpack struct unpack u = { .rootfd = dirfd, .parent_fd = -1 };

  if (opts == NULL)
    opts = &no_opts;
  if (stats == NULL)
    stats = &local;
  memset (stats, 0, sizeof *stats);
  u.apply_owners = opts->apply_owners;
  u.lowers = opts->lower_dirfds;
  u.n_lowers = opts->lower_dirfds ? opts->n_lowers : 0;
  u.stats = stats;
  if (layer_tar_reader_open (fd, &reader, err) < 0)
    return -1;
  u.reader = reader;
  for (;;)
    {
      struct archive_entry *e = NULL;
      cleanup_free char *path = NULL;
      const char *name;
      int r = layer_tar_reader_next (reader, &e, prev, err);

      if (r < 0)
        return -1;
      if (r == 0)
        break;
      stats->entries++;
      name = archive_entry_pathname (e);
      if (name == NULL)
        return sbx_err (err, EINVAL, "tar entry after `%s` has no name", prev ? prev : "");
      path = layer_normalize_path (name);
      if (path == NULL)
        return sbx_err (err, EINVAL, "tar entry `%s`: outside the layer", name);
      if (unpack_entry (&u, e, path, err) < 0)
        return sbx_err_prefix (err, "tar entry `%s`", name);
      free (prev);
      prev = xstrdup (name);
    }
  if (apply_dir_meta (&u, err) < 0)
    return -1;
  if (layer_tar_reader_finish (reader, &stats->diff_id, err) < 0)
    return -1;
  if (u.xattr_failures)
    sbx_warn ("%" PRIu64 " extended attribute(s) of the layer could not be set (the filesystem "
              "refused them; --log-level=debug names them)",
              u.xattr_failures);
  return 0;
}

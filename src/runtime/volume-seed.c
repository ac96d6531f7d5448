/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker's volume copy: an empty volume mounted at a path where the image
   has content gets a copy of that content first, with owners, modes and
   times.

   It runs in the setup child, after the root filesystem is mounted and
   before the volume is bound over it and before pivot_root: the child is
   root of the container's user namespace with its full id map, so owners
   copy faithfully in subuid mode, and the root (an overlay that may exist
   only in this mount namespace, or the FUSE driver's mount) is at hand
   without mounting it a second time.  The image side is reached only by
   fds opened in root (no symlink in the image can point the copy at host
   files); symlinks are copied as symlinks.  */
#define SBX_LOG_MODULE "volumes"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SEED_MAX_DEPTH 128

/* Owners that are not mapped (single mode: only 0 is) stay the caller's.  */
static int
copy_owner (int fd, const char *name, const struct stat *st, struct sbx_error **err)
{
  int r = name ? fchownat (fd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW)
               : fchown (fd, st->st_uid, st->st_gid);

  if (r < 0 && errno != EINVAL && errno != EPERM)
    return sbx_err_errno (err, "chown `%s`", name ? name : ".");
  return 0;
}

static int
copy_meta (int fd, const struct stat *st, struct sbx_error **err)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };

  if (copy_owner (fd, NULL, st, err) < 0)
    return -1;
  if (fchmod (fd, st->st_mode & 07777) < 0)
    return sbx_err_errno (err, "chmod");
  if (futimens (fd, ts) < 0)
    return sbx_err_errno (err, "set times");
  return 0;
}

static int
copy_data (int in, int out, struct sbx_error **err)
{
  char buf[65536];

  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);

      if (n == 0)
        return 0;
      if (n > 0)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return sbx_err_errno (err, "copy");
      break;
    }
  for (;;)
    {
      ssize_t n = read (in, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "read");
      if (n == 0)
        return 0;
      if (sbx_write_all (out, buf, (size_t) n, err) < 0)
        return -1;
    }
}

static int copy_dir (int src, int dst, int depth, struct sbx_error **err);

static int
copy_entry (int src, int dst, const char *name, int depth, struct sbx_error **err)
{
  struct stat st;

  if (fstatat (src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return sbx_err_errno (err, "stat `%s`", name);
  if (S_ISDIR (st.st_mode))
    {
      cleanup_close int in = -1;
      cleanup_close int out = -1;

      if (mkdirat (dst, name, 0700) < 0)
        return sbx_err_errno (err, "mkdir `%s`", name);
      in = openat (src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      out = openat (dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (in < 0 || out < 0)
        return sbx_err_errno (err, "open `%s`", name);
      if (copy_dir (in, out, depth + 1, err) < 0)
        return sbx_err_prefix (err, "%s", name);
      return copy_meta (out, &st, err);
    }
  if (S_ISREG (st.st_mode))
    {
      cleanup_close int in = openat (src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_close int out = -1;

      if (in < 0)
        return sbx_err_errno (err, "open `%s`", name);
      out = openat (dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0)
        return sbx_err_errno (err, "create `%s`", name);
      if (copy_data (in, out, err) < 0)
        return sbx_err_prefix (err, "`%s`", name);
      return copy_meta (out, &st, err);
    }
  if (S_ISLNK (st.st_mode))
    {
      struct timespec ts[2] = { st.st_atim, st.st_mtim };
      cleanup_free char *target = xmalloc ((size_t) st.st_size + 1);
      ssize_t n = readlinkat (src, name, target, (size_t) st.st_size + 1);

      if (n < 0 || n > st.st_size)
        return sbx_err_errno (err, "readlink `%s`", name);
      target[n] = '\0';
      if (symlinkat (target, dst, name) < 0)
        return sbx_err_errno (err, "symlink `%s`", name);
      if (copy_owner (dst, name, &st, err) < 0)
        return -1;
      (void) utimensat (dst, name, ts, AT_SYMLINK_NOFOLLOW);
      return 0;
    }
  if (S_ISFIFO (st.st_mode))
    {
      if (mkfifoat (dst, name, st.st_mode & 07777) < 0)
        return sbx_err_errno (err, "mkfifo `%s`", name);
      return copy_owner (dst, name, &st, err);
    }
  /* Device nodes cannot be made in a user namespace; sockets are not data.  */
  sbx_debug ("volume copy: skip `%s` (mode %o)", name, (unsigned) st.st_mode);
  return 0;
}

static int
copy_dir (int src, int dst, int depth, struct sbx_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *e;
  int fd;

  if (depth > SEED_MAX_DEPTH)
    return sbx_err (err, ELOOP, "more than %d levels of directories", SEED_MAX_DEPTH);
  fd = openat (src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open directory");
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return sbx_err_errno (err, "read directory");
    }
  while ((errno = 0, e = readdir (d)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      if (copy_entry (src, dst, e->d_name, depth, err) < 0)
        return -1;
    }
  if (errno)
    return sbx_err_errno (err, "read directory");
  return 0;
}

static bool
is_empty_dir (int fd)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *e;
  int dup = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dup < 0 || (d = fdopendir (dup)) == NULL)
    {
      if (dup >= 0)
        close (dup);
      return false;
    }
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      return false;
  return true;
}

int
volume_seed (int rootfd, const char *dest, const char *voldir, struct sbx_error **err)
{
  cleanup_close int vfd = open (voldir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int src = -1;
  struct sbx_error *local = NULL;
  struct stat st;

  if (vfd < 0)
    return sbx_err_errno (err, "open volume `%s`", voldir);
  if (! is_empty_dir (vfd))
    return 0;
  src = sbx_fs_open_in_root (rootfd, dest, O_RDONLY | O_DIRECTORY, 0, &local);
  if (src < 0)
    {
      int code = sbx_error_code (local);

      sbx_error_clear (&local);
      if (code == ENOENT || code == ENOTDIR)
        return 0; /* nothing there to copy */
      return sbx_err_code (err, code, "open `%s`", dest);
    }
  if (fstat (src, &st) < 0)
    return sbx_err_errno (err, "stat `%s`", dest);
  sbx_debug ("volume copy: `%s` into `%s`", dest, voldir);
  if (copy_dir (src, vfd, 0, err) < 0)
    return sbx_err_prefix (err, "copy `%s` into the volume", dest);
  /* The volume's root takes the owner and mode of the image's directory.  */
  return copy_meta (vfd, &st, err);
}

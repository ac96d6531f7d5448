/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A hardlink whose target lives in a lower layer: the target is copied into
   the layer being unpacked (at the same path) and the link made to the copy,
   as the overlay would show it.  Lower layers are read resolved in their own
   root, never followed out of it.  */
#define SBX_LOG_MODULE "layer"
#include <errno.h>
#include <fcntl.h>
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
#include "util/xalloc.h"

#define COPY_CHUNK (1024 * 1024)

static int
copy_data (int in, int out, struct sbx_error **err)
{
  cleanup_free char *buf = NULL;
  ssize_t n;

  for (;;)
    {
      n = copy_file_range (in, NULL, out, NULL, COPY_CHUNK, 0);
      if (n == 0)
        return 0;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
    }
  if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    return sbx_err_errno (err, "copy data");
  /* No copy_file_range between these filesystems: read and write.  */
  buf = xmalloc (COPY_CHUNK);
  for (;;)
    {
      char *p = buf;

      n = read (in, buf, COPY_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "read");
      if (n == 0)
        return 0;
      while (n > 0)
        {
          ssize_t w = write (out, p, (size_t) n);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return sbx_err_errno (err, "write");
          p += w;
          n -= w;
        }
    }
}

int
layer_copy_xattrs (int in, int out, struct sbx_error **err)
{
  cleanup_free char *names = NULL;
  ssize_t len = flistxattr (in, NULL, 0);
  const char *name;

  if (len <= 0)
    return 0;
  names = xmalloc ((size_t) len);
  len = flistxattr (in, names, (size_t) len);
  if (len < 0)
    return 0; /* grew meanwhile: best effort, like tar */
  for (name = names; name < names + len; name += strlen (name) + 1)
    {
      cleanup_free char *value = NULL;
      ssize_t size;

      if (strncmp (name, "user.", 5) != 0 || layer_is_private_xattr (name))
        continue;
      size = fgetxattr (in, name, NULL, 0);
      if (size < 0)
        continue;
      value = xmalloc ((size_t) size + 1);
      size = fgetxattr (in, name, value, (size_t) size);
      if (size < 0)
        continue;
      if (fsetxattr (out, name, value, (size_t) size, 0) < 0 && errno != ENOTSUP)
        return sbx_err_errno (err, "set xattr `%s`", name);
    }
  return 0;
}

static int
copy_file (int rootfd, int lowerfd, const char *path, const struct stat *st, bool apply_owners,
           struct sbx_error **err)
{
  /* O_NONBLOCK: should a fifo have taken its place, do not hang on it */
  cleanup_close int in
      = sbx_fs_open_in_root (lowerfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, err);
  cleanup_free char *dir = NULL;
  cleanup_close int parentfd = -1;
  cleanup_close int out = -1;
  struct stat now;
  const char *base = strrchr (path, '/');
  struct timespec times[2];

  if (in < 0)
    return -1;
  if (fstat (in, &now) < 0)
    return sbx_err_errno (err, "stat `%s`", path);
  if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
    return sbx_err (err, EAGAIN, "`%s` changed while being copied up", path);
  dir = base ? xstrndup (path, (size_t) (base - path)) : xstrdup ("/");
  base = base ? base + 1 : path;
  parentfd = sbx_fs_mkdir_p_in_root (rootfd, dir, 0755, err);
  if (parentfd < 0)
    return -1;
  out = openat (parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return sbx_err_errno (err, "create `%s`", path);
  if (copy_data (in, out, err) < 0 || layer_copy_xattrs (in, out, err) < 0)
    return sbx_err_prefix (err, "`%s`", path);
  if (apply_owners && fchown (out, st->st_uid, st->st_gid) < 0)
    return sbx_err_errno (err, "chown `%s`", path);
  if (fchmod (out, st->st_mode & 07777) < 0)
    return sbx_err_errno (err, "chmod `%s`", path);
  times[0] = st->st_atim;
  times[1] = st->st_mtim;
  if (futimens (out, times) < 0)
    return sbx_err_errno (err, "set times of `%s`", path);
  return 0;
}

static int
copy_symlink (int rootfd, int linkfd, const char *path, struct sbx_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_close int parentfd = -1;
  const char *base = strrchr (path, '/');
  char target[4096];
  ssize_t n = readlinkat (linkfd, "", target, sizeof target);

  if (n < 0)
    return sbx_err_errno (err, "readlink `%s`", path);
  if ((size_t) n >= sizeof target)
    return sbx_err (err, ENAMETOOLONG, "readlink `%s`: target too long", path);
  target[n] = '\0';
  dir = base ? xstrndup (path, (size_t) (base - path)) : xstrdup ("/");
  base = base ? base + 1 : path;
  parentfd = sbx_fs_mkdir_p_in_root (rootfd, dir, 0755, err);
  if (parentfd < 0)
    return -1;
  if (symlinkat (target, parentfd, base) < 0)
    return sbx_err_errno (err, "symlink `%s`", path);
  return 0;
}

int
layer_copy_up (int rootfd, const int *lowers, size_t n_lowers, const char *path, bool apply_owners,
               struct sbx_error **err)
{
  size_t i;

  for (i = 0; i < n_lowers; i++)
    {
      cleanup_close int fd = -1;
      struct stat st;

      if (lowers[i] < 0) /* a layer the caller could not open */
        continue;
      fd = sbx_fs_open_in_root (lowers[i], path, O_PATH | O_NOFOLLOW, 0, err);
      if (fd < 0)
        {
          if (sbx_error_code (*err) != ENOENT && sbx_error_code (*err) != ENOTDIR)
            return -1;
          sbx_error_clear (err);
          continue;
        }
      if (fstat (fd, &st) < 0)
        return sbx_err_errno (err, "stat `%s`", path);
      if (layer_is_whiteout (&st))
        break; /* deleted there: nothing below counts */
      if (S_ISREG (st.st_mode))
        return copy_file (rootfd, lowers[i], path, &st, apply_owners, err);
      if (S_ISLNK (st.st_mode))
        return copy_symlink (rootfd, fd, path, err);
      return sbx_err (err, EPERM, "`%s` in a lower layer is not a file or a symlink", path);
    }
  return sbx_err (err, ENOENT, "`%s` not found", path);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The on-disk overlay format, read and written by the FUSE overlay: the
   kernel overlay's with userxattr (DESIGN.md §4), the same that
   layer/whiteout.c writes when it unpacks an OCI layer, so an upper layer
   written by either driver is read by the other.

     a whiteout        NAME as a 0/0 character device (mode 0)
     an opaque dir     xattr user.overlay.opaque = "y"

   Unprivileged users may create 0/0 character devices since Linux 5.8.
   This file is the only place in fusefs that knows these encodings.  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "overlay/fusefs/internal.h"

#define OPAQUE_XATTR "user.overlay.opaque"

bool
fs_is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

int
fs_make_whiteout (int dirfd, const char *name)
{
  if (mknodat (dirfd, name, S_IFCHR, makedev (0, 0)) < 0)
    return -errno;
  return 0;
}

static int
xattr_path (char *buf, size_t len, int dirfd, const char *name)
{
  int n = *name ? snprintf (buf, len, "/proc/self/fd/%d/%s", dirfd, name)
                : snprintf (buf, len, "/proc/self/fd/%d", dirfd);

  return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

int
fs_is_opaque_at (int dirfd, const char *name)
{
  char path[320];
  char val[8];
  ssize_t n;
  int r = xattr_path (path, sizeof path, dirfd, name);

  if (r < 0)
    return r;
  /* A directory: l* does not follow NAME itself, and "/proc/self/fd/N" is
     resolved to the directory by both.  */
  if (*name)
    n = lgetxattr (path, OPAQUE_XATTR, val, sizeof val);
  else
    n = getxattr (path, OPAQUE_XATTR, val, sizeof val);
  if (n < 0)
    {
      if (errno == ENODATA || errno == ENOTSUP || errno == ERANGE)
        return 0;
      return -errno;
    }
  return n == 1 && val[0] == 'y';
}

int
fs_set_opaque_at (int dirfd, const char *name)
{
  char path[320];
  int r = xattr_path (path, sizeof path, dirfd, name);

  if (r < 0)
    return r;
  if ((*name ? lsetxattr (path, OPAQUE_XATTR, "y", 1, 0) : setxattr (path, OPAQUE_XATTR, "y", 1, 0))
      < 0)
    return -errno;
  return 0;
}

bool
fs_xattr_is_private (const char *name)
{
  /* Our own marks, the kernel overlay's trusted ones, and fuse-overlayfs's
     ownership override (user.containers.override_stat).  */
  return strncmp (name, "user.overlay.", 13) == 0 || strncmp (name, "trusted.overlay.", 16) == 0
         || strncmp (name, "user.containers.", 16) == 0;
}

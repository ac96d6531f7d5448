/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Extended attributes.  The container reads user.* and security.* and
   writes user.* (setting one copies the file up); the overlay's own marks
   (user.overlay.*, trusted.overlay.*) and fuse-overlayfs's
   user.containers.* are neither shown nor writable.  POSIX ACLs (system.*)
   are not supported: permissions are the kernel's default_permissions.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static bool
has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

/* -errno when NAME may not be written by the container.  */
static int
check_writable (const char *name)
{
  if (fs_xattr_is_private (name))
    return -EPERM;
  if (! has_prefix (name, "user."))
    return -EOPNOTSUPP;
  return 0;
}

int
fs_getxattr (struct fusefs *fs, struct fs_node *n, const char *name, char *buf, size_t size)
{
  char path[320];
  bool follow;
  ssize_t len;
  int r;

  if (fs_xattr_is_private (name))
    return -ENODATA;
  if (has_prefix (name, "system."))
    return -EOPNOTSUPP;
  r = node_proc_path (fs, n, path, sizeof path, &follow);
  if (r < 0)
    return r;
  len = follow ? getxattr (path, name, buf, size) : lgetxattr (path, name, buf, size);
  if (len < 0)
    return -errno;
  return len > INT32_MAX ? -E2BIG : (int) len;
}

int
fs_listxattr (struct fusefs *fs, struct fs_node *n, char *buf, size_t size)
{
  cleanup_free char *all = NULL;
  char path[320];
  bool follow;
  ssize_t len = 0, got;
  size_t out = 0;
  char *p;
  int r, tries;

  r = node_proc_path (fs, n, path, sizeof path, &follow);
  if (r < 0)
    return r;
  for (tries = 0;; tries++)
    {
      len = follow ? listxattr (path, NULL, 0) : llistxattr (path, NULL, 0);
      if (len < 0)
        return errno == ENOTSUP ? 0 : -errno;
      if (len == 0)
        return 0;
      all = xrealloc (all, (size_t) len);
      got = follow ? listxattr (path, all, (size_t) len) : llistxattr (path, all, (size_t) len);
      if (got >= 0)
        {
          len = got;
          break;
        }
      if (errno != ERANGE || tries == 3)
        return -errno;
    }
  for (p = all; p < all + len; p += strlen (p) + 1)
    {
      size_t l = strlen (p) + 1;

      if (fs_xattr_is_private (p))
        continue;
      if (size > 0)
        {
          if (out + l > size)
            return -ERANGE;
          memcpy (buf + out, p, l);
        }
      out += l;
    }
  return (int) out;
}

int
fs_setxattr (struct fusefs *fs, struct fs_node *n, const char *name, const char *value, size_t size,
             int flags)
{
  char path[320];
  bool follow;
  int r = check_writable (name);

  if (r < 0)
    return r;
  r = fs_copy_up (fs, n, false);
  if (r < 0)
    return r;
  r = node_proc_path (fs, n, path, sizeof path, &follow);
  if (r < 0)
    return r;
  if ((follow ? setxattr (path, name, value, size, flags)
              : lsetxattr (path, name, value, size, flags))
      < 0)
    return -errno;
  return 0;
}

int
fs_removexattr (struct fusefs *fs, struct fs_node *n, const char *name)
{
  char path[320];
  bool follow;
  int r = check_writable (name);

  if (r < 0)
    return r;
  r = fs_copy_up (fs, n, false);
  if (r < 0)
    return r;
  r = node_proc_path (fs, n, path, sizeof path, &follow);
  if (r < 0)
    return r;
  if ((follow ? removexattr (path, name) : lremovexattr (path, name)) < 0)
    return -errno;
  return 0;
}

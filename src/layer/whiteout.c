/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one translation between OCI whiteouts and the on-disk overlay format
   (DESIGN.md §4, STYLE.md B7 "Overlay"):

     OCI tar entry              on disk (kernel overlay with userxattr)
     dir/.wh.name          ↔    dir/name as a 0/0 character device
     dir/.wh..wh..opq      ↔    xattr user.overlay.opaque="y" on dir

   Unprivileged users may create 0/0 character devices since Linux 5.8.  */
#define SBX_LOG_MODULE "layer"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "layer/internal.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

static bool
has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

/* A valid component: not empty, ".", or "..".  */
static bool
is_valid_component (const char *s, size_t len)
{
  if (len == 0)
    return false;
  if (len == 1 && s[0] == '.')
    return false;
  if (len == 2 && s[0] == '.' && s[1] == '.')
    return false;
  return true;
}

/* Every component of PATH is valid (so the path is normalised).  */
static bool
is_normal_path (const char *path)
{
  const char *p = path;

  for (;;)
    {
      const char *e = strchrnul (p, '/');

      if (! is_valid_component (p, (size_t) (e - p)))
        return false;
      if (*e == '\0')
        return true;
      p = e + 1;
    }
}

enum sbx_layer_entry_kind
sbx_layer_classify_entry (const char *path, char **target)
{
  const char *base, *name;
  size_t dirlen;

  if (target)
    *target = NULL;
  if (path == NULL || *path == '\0' || ! is_normal_path (path))
    return SBX_LAYER_ENTRY_INVALID;
  base = strrchr (path, '/');
  base = base ? base + 1 : path;
  if (! has_prefix (base, LAYER_WH_PREFIX))
    return SBX_LAYER_ENTRY_NORMAL;
  /* "dir/" without its slash, or "" at the root.  */
  dirlen = base > path ? (size_t) (base - path - 1) : 0;
  if (strcmp (base, LAYER_WH_OPAQUE) == 0)
    {
      if (target)
        *target = xstrndup (path, dirlen);
      return SBX_LAYER_ENTRY_OPAQUE;
    }
  /* Other ".wh..wh." names are aufs metadata (hardlink dirs and the like),
     never a whiteout of a file.  */
  if (has_prefix (base, LAYER_WH_PREFIX LAYER_WH_PREFIX))
    return SBX_LAYER_ENTRY_INVALID;
  name = base + strlen (LAYER_WH_PREFIX);
  if (! is_valid_component (name, strlen (name)))
    return SBX_LAYER_ENTRY_INVALID;
  if (target)
    *target = dirlen ? xasprintf ("%.*s/%s", (int) dirlen, path, name) : xstrdup (name);
  return SBX_LAYER_ENTRY_WHITEOUT;
}

bool
layer_is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

int
layer_make_whiteout (int parentfd, const char *name, const char *path, struct sbx_error **err)
{
  struct stat st;

  if (fstatat (parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (! layer_is_whiteout (&st))
        sbx_debug ("whiteout of `%s` ignored: the layer itself has it", path);
      return 0;
    }
  if (errno != ENOENT)
    return sbx_err_errno (err, "stat `%s`", path);
  /* Mode 0, as the kernel's own whiteouts (vfs_whiteout).  */
  if (mknodat (parentfd, name, S_IFCHR, makedev (0, 0)) < 0)
    {
      if (errno == EPERM)
        return sbx_err (err, EPERM,
                        "create whiteout `%s`: %s (hint: unprivileged overlay whiteouts, 0/0 "
                        "character devices, need Linux >= 5.8)",
                        path, strerror (EPERM));
      return sbx_err_errno (err, "create whiteout `%s`", path);
    }
  return 0;
}

int
layer_set_opaque (int dirfd, const char *path, struct sbx_error **err)
{
  if (fsetxattr (dirfd, LAYER_OPAQUE_XATTR, "y", 1, 0) < 0)
    {
      if (errno == ENOTSUP)
        return sbx_err (err, ENOTSUP,
                        "mark `%s` opaque: %s (hint: the filesystem of the layer store must "
                        "support user.* extended attributes)",
                        *path ? path : "/", strerror (ENOTSUP));
      return sbx_err_errno (err, "mark `%s` opaque", *path ? path : "/");
    }
  return 0;
}

bool
layer_is_opaque (int dirfd)
{
  char v[2];

  return fgetxattr (dirfd, LAYER_OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

bool
layer_is_private_xattr (const char *name)
{
  return has_prefix (name, "user.overlay.") || has_prefix (name, "user.containers.");
}

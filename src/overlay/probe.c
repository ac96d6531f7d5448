/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/overlay.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hints.h"
#include "util/xalloc.h"

static int
write_self (const char *file, const char *text)
{
  int fd = open (file, O_WRONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = write (fd, text, strlen (text));
  (void) close (fd);
  return n < 0 ? -1 : 0;
}

/* In the forked child: become root of a new user namespace and mount.  */
static int
try_overlay_mount (const char *dir, uid_t uid, gid_t gid)
{
  char map[64];
  cleanup_free char *opts = NULL;
  cleanup_free char *merged = xasprintf ("%s/merged", dir);

  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return errno;
  snprintf (map, sizeof map, "0 %u 1", (unsigned) uid);
  if (write_self ("/proc/self/setgroups", "deny") < 0 || write_self ("/proc/self/uid_map", map) < 0)
    return errno;
  snprintf (map, sizeof map, "0 %u 1", (unsigned) gid);
  if (write_self ("/proc/self/gid_map", map) < 0)
    return errno;
  opts = xasprintf ("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,userxattr", dir, dir, dir);
  if (mount ("overlay", merged, "overlay", 0, opts) < 0)
    return errno;
  return 0;
}

int
sbx_overlay_probe_native (const char *tmpdir_base, struct sbx_error **err)
{
  static const char *const subdirs[] = { "lower", "upper", "work", "merged" };
  cleanup_free char *dir = xasprintf ("%s/sbx-probe-XXXXXX", tmpdir_base);
  struct sbx_error *ignored = NULL;
  int status = 0;
  size_t i;
  pid_t pid;
  int code;

  if (mkdtemp (dir) == NULL)
    return sbx_err_errno (err, "create probe directory in `%s`", tmpdir_base);
  for (i = 0; i < SBX_N_ELEMENTS (subdirs); i++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", dir, subdirs[i]);
      (void) mkdir (p, 0700);
    }
  pid = fork ();
  if (pid == 0)
    _exit (try_overlay_mount (dir, getuid (), getgid ()) & 0xff);
  if (pid > 0)
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
  code = pid < 0 ? errno : (WIFEXITED (status) ? WEXITSTATUS (status) : EIO);
  if (sbx_fs_rm_rf_at (AT_FDCWD, dir, &ignored) < 0)
    sbx_error_clear (&ignored);
  if (code == 0)
    return 0;
  sbx_err_code (err, code, "mount overlay in a user namespace");
  return sbx_err_hint (err, SBX_HINT_OVERLAY);
}

int
sbx_overlay_probe_fuse (struct sbx_error **err)
{
  int fd = open ("/dev/fuse", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    {
      sbx_err_errno (err, "open /dev/fuse");
      return sbx_err_hint (err, SBX_HINT_FUSE);
    }
  (void) close (fd);
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "runtime/runtime.h"
#include "util/error.h"
#include "util/hints.h"

int
sbx_runtime_probe_userns (struct sbx_error **err)
{
  int status = 0;
  pid_t pid = fork ();

  if (pid == 0)
    _exit (unshare (CLONE_NEWUSER) < 0 ? (errno & 0xff) : 0);
  if (pid < 0)
    return sbx_err_errno (err, "fork");
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  sbx_err_code (err, WIFEXITED (status) ? WEXITSTATUS (status) : EIO, "create a user namespace");
  return sbx_err_hint (err, SBX_HINT_USERNS);
}

const char *
sbx_runtime_cgroup_mode (void)
{
  struct statfs sf;
  struct stat st;

  if (statfs ("/sys/fs/cgroup", &sf) < 0)
    return "none";
  if (sf.f_type == CGROUP2_SUPER_MAGIC)
    return "v2";
  if (stat ("/sys/fs/cgroup/unified", &st) == 0)
    return "hybrid";
  return "v1";
}

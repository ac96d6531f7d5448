/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The net helper's lockdown (STYLE.md B7, slirp4netns --enable-sandbox):
   once the tap is made and handed over, the helper only turns requests into
   connected sockets.  It is root of the container's user namespace, with
   every capability there; drop them all and set no_new_privs, so that a
   bug in its request loop cannot reconfigure the container's network or
   gain anything through an exec.  Raw capset: libcap belongs to
   runtime/caps.c, and "no capabilities at all" needs none of it.  */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/error.h"

int
net_lockdown (struct sbx_error **err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sbx_err_errno (err, "set no_new_privs");
  for (unsigned long cap = 0; cap <= CAP_LAST_CAP; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return sbx_err_errno (err, "drop capability %lu from the bounding set", cap);
  if (syscall (SYS_capset, &hdr, data) < 0)
    return sbx_err_errno (err, "drop capabilities");
  return 0;
}

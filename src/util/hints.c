/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>

#include "util/error.h"
#include "util/hints.h"
#include "util/xalloc.h"

const char *
sbx_hint (enum sbx_hint_topic topic, int code)
{
  switch (topic)
    {
    case SBX_HINT_USERNS:
      if (code == ENOSPC)
        return "the user namespace limit is reached: raise the sysctl user.max_user_namespaces";
      return "unprivileged user namespaces are disabled: set the sysctl "
             "kernel.unprivileged_userns_clone=1 (Debian) or user.max_user_namespaces>0, or on "
             "Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0";
    case SBX_HINT_SUBUID:
      return "for full multi-user images ask an admin to add a range to /etc/subuid and "
             "/etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER); "
             "single-uid mode works without one";
    case SBX_HINT_NEWUIDMAP:
      return "install the `uidmap` package (newuidmap/newgidmap, setuid or with file capabilities)";
    case SBX_HINT_FUSE:
      return "install `fuse3` and make /dev/fuse mode 0666 (as distributions ship it)";
    case SBX_HINT_TUN:
      return "make /dev/net/tun mode 0666 (as distributions ship it), or use --network host|none";
    case SBX_HINT_OVERLAY:
      return "unprivileged overlay mounts need Linux >= 5.11 and a local filesystem for the upper "
             "layer; sbx falls back to its FUSE overlay";
    case SBX_HINT_MOUNT_MAX:
      return "the mount limit is reached: raise the sysctl fs.mount-max";
    case SBX_HINT_PROC:
      return "/proc on this host is partly hidden (e.g. inside another container); run sbx on the "
             "host or in a container started with an unmasked /proc";
    case SBX_HINT_CGROUP:
      return "resource limits need cgroup v2 with a delegated subtree (systemd user session); "
             "on this host --memory/--cpus are unavailable";
    }
  return NULL;
}

int
sbx_err_hint (struct sbx_error **err, enum sbx_hint_topic topic)
{
  const char *h;
  char *msg;

  if (err == NULL || *err == NULL)
    return -1;
  h = sbx_hint (topic, (*err)->code);
  if (h == NULL)
    return -1;
  msg = xasprintf ("%s (hint: %s)", (*err)->msg, h);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

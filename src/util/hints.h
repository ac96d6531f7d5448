/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

struct sbx_error;

/* Host-configuration problems, each with the fix a user can apply
   (bubblewrap's teaching errors).  */
enum sbx_hint_topic
{
  SBX_HINT_USERNS,    /* creating a user namespace refused */
  SBX_HINT_SUBUID,    /* no /etc/subuid range */
  SBX_HINT_NEWUIDMAP, /* newuidmap/newgidmap missing or failing */
  SBX_HINT_FUSE,      /* /dev/fuse unusable */
  SBX_HINT_TUN,       /* /dev/net/tun unusable */
  SBX_HINT_OVERLAY,   /* overlay mount in a user namespace refused */
  SBX_HINT_MOUNT_MAX, /* ENOSPC from mount */
  SBX_HINT_PROC,      /* mounting /proc refused (a masked /proc on the host) */
  SBX_HINT_CGROUP,    /* no delegated cgroup v2: resource limits unavailable */
};

/* The hint text for TOPIC given errno CODE (0: any), or NULL.  */
const char *sbx_hint (enum sbx_hint_topic topic, int code);
/* Append " (hint: …)" to the message in *ERR when a hint applies; returns -1.  */
int sbx_err_hint (struct sbx_error **err, enum sbx_hint_topic topic);

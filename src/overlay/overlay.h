/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Root filesystem drivers (DESIGN.md §5).  Today: the host probes that
   `sbx info` and the driver choice rely on.  The mount backends (native
   kernel overlay, sbx's FUSE overlay) come with the root filesystems issue
   behind struct sbx_overlay_ops.  */

struct sbx_error;

/* 0 when the kernel's overlay can be mounted in a new user namespace by
   this user (userxattr, Linux >= 5.11), with the upper layer under
   TMPDIR_BASE; else -1 and *ERR says why.  Forks a short-lived child.  */
int sbx_overlay_probe_native (const char *tmpdir_base, struct sbx_error **err);

/* 0 when /dev/fuse can be opened for reading and writing.  */
int sbx_overlay_probe_fuse (struct sbx_error **err);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Root filesystem drivers (DESIGN.md §5): the host probes that `sbx info`
   and the driver choice rely on, and sbx's own FUSE overlay (the `fuse`
   driver; the `overlay` driver is the kernel's, mounted by the runtime).  */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sbx_error;

/* 0 when the kernel's overlay can be mounted in a new user namespace by
   this user (userxattr, Linux >= 5.11), with the upper layer under
   TMPDIR_BASE; else -1 and *ERR says why.  Forks a short-lived child.  */
int sbx_overlay_probe_native (const char *tmpdir_base, struct sbx_error **err);

/* 0 when /dev/fuse can be opened for reading and writing.  */
int sbx_overlay_probe_fuse (struct sbx_error **err);

/* What to mount: an overlay of LOWERS (absolute host paths of unpacked
   layers, top-most first) under UPPER (the writable layer; NULL for a
   read-only root), with WORK on the same filesystem as UPPER, at TARGET.
   The on-disk format is the kernel overlay's (DESIGN.md §4): whiteouts are
   0/0 character devices, opaque directories carry user.overlay.opaque="y",
   so one container's upper layer can be used by either driver.  */
struct sbx_overlay_req
{
  char *const *lowers;
  size_t n_lowers;
  const char *upper;
  const char *work;
  const char *target;
  bool volatile_upper; /* fsync and syncfs need not reach the disk */
};

/* Start sbx's FUSE overlay for REQ inside the user and mount namespaces of
   process PID (the container's setup child, whose id maps are written):
   fork a server that joins those namespaces (setns: user first, then
   mount), opens /dev/fuse, mounts the overlay at REQ->target and serves it
   until it is unmounted or the namespace goes away.  Returns once the mount
   is in place (ready-fd handshake).  *SERVER gets the server's pid; the
   caller reaps it (it exits by itself when the container's mount namespace
   is gone, and dies with the caller: PR_SET_PDEATHSIG).  The server never
   aborts: an internal error fails one request with EIO and is logged.  */
int sbx_overlay_fuse_start (pid_t pid, const struct sbx_overlay_req *req, pid_t *server,
                            struct sbx_error **err);

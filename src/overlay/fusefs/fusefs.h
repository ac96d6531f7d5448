/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* sbx's FUSE overlay filesystem (DESIGN.md §5, STYLE.md B7): the entry
   points overlay/fuse.c calls.  This header must not include libfuse3's
   headers (STYLE.md B1: they stay inside src/overlay/fusefs/).  */

#include <stdbool.h>
#include <stddef.h>

struct sbx_error;

struct fusefs_config
{
  /* Directory fds of the layers, any open mode (O_PATH is enough): the
     lowers top-most first; UPPER_FD and WORK_FD -1 for a read-only root.
     The server takes them over: they are closed when it ends.  */
  const int *lower_fds;
  size_t n_lowers;
  int upper_fd;
  int work_fd;
  /* Entry and attribute cache timeout in seconds (0: the default, one day;
     see ops.c for why long timeouts are safe).  */
  double timeout;
  /* fsync need not reach the disk (sbx_run_config.volatile_upper): answer
     it at once, as fuse-overlayfs's `volatile` option.  */
  bool volatile_upper;
};

/* Load libfuse3 (it is not linked: src/util/lazylib.h).  Call it before
   forking the server so that a missing library is reported to the user.  */
int fusefs_load_libfuse (struct sbx_error **err);

struct fusefs_server;

/* Set up a server for the /dev/fuse connection FUSEFD (already mounted, or
   to be mounted before fusefs_server_run): builds the layer stack and the
   libfuse session.  FUSEFD and the fds in CFG belong to the server from
   here on, even on failure.  */
struct fusefs_server *fusefs_server_new (int fusefd, const struct fusefs_config *cfg,
                                         struct sbx_error **err);

/* Serve requests until the filesystem is unmounted (or its mount namespace
   goes away): one thread receives and handles them, a pool of workers takes
   those that wait on the disk (serve.c).  0 when it ended normally.  */
int fusefs_server_run (struct fusefs_server *s);

/* Free S and close every fd it holds; NULL is a no-op.  */
void fusefs_server_free (struct fusefs_server *s);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The filesystem object's making and unmaking, and its big lock: for the
   request handlers (io.c, ops.c, prefetch.c, serve.c) that take it.  The
   core's functions below them (internal.h) run with it held and neither
   take nor release it.  */

#include "overlay/fusefs/internal.h"

/* Build the layer stack from CFG (its fds are taken over, also on failure)
   and the root node.  */
struct fusefs *fs_new (const struct fusefs_config *cfg, struct sbx_error **err);
void fs_free (struct fusefs *fs);
void fs_lock (struct fusefs *fs);
/* Release the lock, first closing directory fds over the budget.  */
void fs_unlock (struct fusefs *fs);
static inline void
fs_unlock_cleanup (struct fusefs **fsp)
{
  if (*fsp)
    fs_unlock (*fsp);
}
/* `cleanup_lock struct fusefs *locked = fs_locked (fs);` holds the big
   lock until the end of the block.  */
#define cleanup_lock __attribute__ ((cleanup (fs_unlock_cleanup), unused))
static inline struct fusefs *
fs_locked (struct fusefs *fs)
{
  fs_lock (fs);
  return fs;
}

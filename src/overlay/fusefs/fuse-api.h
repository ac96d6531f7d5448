/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The one place that includes libfuse3 (STYLE.md B1: only in
   src/overlay/fusefs/) and pins its API version, for every build (the
   fuzz build too): FUSE_USE_VERSION 35 as vendor-notes/libfuse3.md says,
   so fuse_session_loop_mt() is fuse_session_loop_mt_32 with the v1 struct
   fuse_loop_config.  Its pool keeps at most 10 threads with libfuse 3.14
   (libfuse PR #1490), which is plenty here: the metadata ops serialise on
   the big lock anyway and data I/O is spliced.  */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

/* ops.c */
extern const struct fuse_lowlevel_ops fusefs_ops;

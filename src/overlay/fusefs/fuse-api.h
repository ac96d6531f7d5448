/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The one place that includes libfuse3 (STYLE.md B1: only in
   src/overlay/fusefs/) and pins its API version, for every build (the
   fuzz build too): FUSE_USE_VERSION 35 as vendor-notes/libfuse3.md says.
   The request loop is our own (serve.c), on fuse_session_receive_buf and
   fuse_session_process_buf, so the fuse_session_loop_mt variants and their
   thread-pool limits (libfuse PR #1490) do not matter.  */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "overlay/fusefs/internal.h"

/* ops.c: the table, and helpers io.c shares.  */
extern const struct fuse_lowlevel_ops fusefs_ops;
struct fusefs *fs_of (fuse_req_t req);
/* Reply to REQ with the core's result R (0 or -errno).  */
void reply_status (fuse_req_t req, int r);
/* The node of INO (big lock held), or NULL after logging a bug.  */
struct fs_node *get_node (struct fusefs *fs, fuse_ino_t ino);
void fill_entry (struct fusefs *fs, struct fs_node *n, const struct stat *st,
                 struct fuse_entry_param *e);
/* Reply with N's entry (dropping the core's reference), or with R < 0.  */
void reply_node (fuse_req_t req, struct fusefs *fs, struct fs_node *n, int r);
struct fs_ctx ctx_of (fuse_req_t req);

/* serve.c: is this the thread that receives requests?  Then FN (ARG) may
   be deferred to a worker thread: true when it was (FN then replies).  */
bool fs_in_receiver (void);
bool fs_defer (struct fusefs *fs, void (*fn) (void *arg), void *arg);

/* io.c: files and directories.  */
void io_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void io_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                struct fuse_file_info *fi);
void io_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void io_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
                   struct fuse_file_info *fi);
void io_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void io_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void io_fsync (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void io_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                   struct fuse_file_info *fi);
void io_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi);
void io_copy_file_range (fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                         struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                         struct fuse_file_info *fi_out, size_t len, int flags);
void io_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void io_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void io_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi);
void io_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void io_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

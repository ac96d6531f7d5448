/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct sbx_error;

/* Write all of BUF, retrying on EINTR and short writes.  */
int sbx_write_all (int fd, const void *buf, size_t len, struct sbx_error **err);

/* Send the LEN bytes of BUF over the unix socket SOCK as one message, with
   FD attached (SCM_RIGHTS) unless FD is -1.  */
int sbx_send_msg_fd (int sock, const void *buf, size_t len, int fd, struct sbx_error **err);

/* Receive one message of at most LEN bytes into BUF with MSG_CMSG_CLOEXEC
   and FLAGS (e.g. MSG_DONTWAIT).  An attached fd goes to FD_OUT (-1 when
   none; closed when FD_OUT is NULL).  Returns the message's length (0: the
   peer closed the socket), or -1 with *ERR set; EAGAIN is reported as an
   error with that code.  */
ssize_t sbx_recv_msg_fd (int sock, void *buf, size_t len, int flags, int *fd_out,
                         struct sbx_error **err);

/* Wait up to TIMEOUT_MS for FD to become readable.  0 when it is, -1 with
   ETIMEDOUT in *ERR when the deadline passes.  */
int sbx_wait_readable (int fd, int timeout_ms, struct sbx_error **err);

/* Move FD to a number >= MIN_FD (close-on-exec); closes the original.  */
int sbx_fd_move_above (int fd, int min_fd, struct sbx_error **err);

/* Close every descriptor from 3 up except the N in KEEP (any order; KEEP
   is sorted in place).  For forked helpers that must hold nothing of their
   parent's but what they use (close_range(2)).  */
void sbx_close_fds_except (int *keep, size_t n);

/* Grow this process's descriptor table to hold at least N descriptors
   (at most RLIMIT_NOFILE's soft limit; the kernel may round up).  Call it
   while the process has one thread: the kernel grows the table of a
   process with several threads only after an RCU grace period
   (expand_fdtable), milliseconds that the thread needing the descriptor
   waits, at every doubling.  */
void sbx_fd_table_reserve (unsigned n);

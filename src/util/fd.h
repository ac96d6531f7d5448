/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct sbx_error;

/* Write all of BUF, retrying on EINTR and short writes.  */
int sbx_write_all (int fd, const void *buf, size_t len, struct sbx_error **err);

/* Send FD over the unix socket SOCK with a one-byte payload TAG.  */
int sbx_send_fd (int sock, int fd, char tag, struct sbx_error **err);
/* Receive one fd sent with sbx_send_fd (MSG_CMSG_CLOEXEC).  Returns the fd;
   *TAG gets the payload byte.  */
int sbx_recv_fd (int sock, char *tag, struct sbx_error **err);

/* Wait up to TIMEOUT_MS for FD to become readable.  0 when it is, -1 with
   ETIMEDOUT in *ERR when the deadline passes.  */
int sbx_wait_readable (int fd, int timeout_ms, struct sbx_error **err);

/* Move FD to a number >= MIN_FD (close-on-exec); closes the original.  */
int sbx_fd_move_above (int fd, int min_fd, struct sbx_error **err);

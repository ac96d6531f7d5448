/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/error.h"

int
sync_send (int sock, enum sync_kind kind, struct sbx_error **err)
{
  struct sync_msg m = { .kind = kind };
  ssize_t n;

  do
    n = send (sock, &m, sizeof m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return sbx_err_errno (err, "sync with the container");
  return 0;
}

void
sync_report_and_exit (int sock, enum sync_kind kind, const struct sbx_error *e, int status)
{
  struct sync_msg m = { .kind = kind, .code = e && e->code ? e->code : EIO };

  snprintf (m.text, sizeof m.text, "%s", e && e->msg ? e->msg : "unknown failure");
  (void) send (sock, &m, sizeof m, MSG_NOSIGNAL);
  _exit (status);
}

int
sync_send_fd (int sock, enum sync_kind kind, int fd, struct sbx_error **err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct sync_msg m = { .kind = kind };
  struct iovec iov = { .iov_base = &m, .iov_len = sizeof m };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  struct cmsghdr *cmsg;
  ssize_t n;

  memset (&u, 0, sizeof u);
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
  do
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return sbx_err_errno (err, "send fd to the monitor");
  return 0;
}

int
sync_recv (int sock, struct sync_msg *out, int *fd_out, struct sbx_error **err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = out, .iov_len = sizeof *out };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  struct cmsghdr *cmsg;
  ssize_t n;

  if (fd_out)
    *fd_out = -1;
  memset (&u, 0, sizeof u);
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return 2;
  if (n < 0)
    return sbx_err_errno (err, "read from the container's setup");
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS
      && cmsg->cmsg_len == CMSG_LEN (sizeof (int)))
    {
      int fd;

      memcpy (&fd, CMSG_DATA (cmsg), sizeof (int));
      if (fd_out)
        *fd_out = fd;
      else
        (void) close (fd);
    }
  if (n == 0)
    return 1;
  if ((size_t) n != sizeof *out)
    return sbx_err (err, EPROTO, "short message from the container's setup (%zd bytes)", n);
  out->text[sizeof out->text - 1] = '\0';
  return 0;
}

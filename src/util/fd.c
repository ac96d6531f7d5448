/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"

int
sbx_write_all (int fd, const void *buf, size_t len, struct sbx_error **err)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "write");
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
sbx_send_msg_fd (int sock, const void *buf, size_t len, int fd, struct sbx_error **err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t n;

  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&u, 0, sizeof u);
      msg.msg_control = u.buf;
      msg.msg_controllen = sizeof u.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
    }
  do
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return sbx_err_errno (err, "sendmsg");
  return 0;
}

ssize_t
sbx_recv_msg_fd (int sock, void *buf, size_t len, int flags, int *fd_out, struct sbx_error **err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = buf, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  struct cmsghdr *cmsg;
  ssize_t n;

  if (fd_out)
    *fd_out = -1;
  memset (&u, 0, sizeof u);
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC | flags);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return sbx_err_errno (err, "recvmsg");
  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS
        && cmsg->cmsg_len == CMSG_LEN (sizeof (int)))
      {
        int fd;

        memcpy (&fd, CMSG_DATA (cmsg), sizeof (int));
        if (fd_out)
          *fd_out = fd;
        else
          (void) close (fd);
      }
  return n;
}

int
sbx_wait_readable (int fd, int timeout_ms, struct sbx_error **err)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  int n;

  do
    n = poll (&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return sbx_err_errno (err, "poll");
  if (n == 0)
    return sbx_err (err, ETIMEDOUT, "no answer after %d ms", timeout_ms);
  return 0;
}

int
sbx_fd_move_above (int fd, int min_fd, struct sbx_error **err)
{
  int nfd;

  if (fd >= min_fd)
    return fd;
  nfd = fcntl (fd, F_DUPFD_CLOEXEC, min_fd);
  if (nfd < 0)
    return sbx_err_errno (err, "dup fd %d", fd);
  (void) close (fd);
  return nfd;
}

static int
cmp_fd (const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;

  return (x > y) - (x < y);
}

void
sbx_close_fds_except (int *keep, size_t n)
{
  unsigned next = 3;

  qsort (keep, n, sizeof *keep, cmp_fd);
  for (size_t i = 0; i < n; i++)
    {
      if (keep[i] < 0 || (unsigned) keep[i] < next)
        continue;
      if ((unsigned) keep[i] > next)
        (void) syscall (SYS_close_range, next, (unsigned) keep[i] - 1, 0);
      next = (unsigned) keep[i] + 1;
    }
  (void) syscall (SYS_close_range, next, ~0U, 0);
}

void
sbx_fd_table_reserve (unsigned n)
{
  struct rlimit rl;
  int probe, top;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n)
    n = (unsigned) rl.rlim_cur;
  if (n < 2 || n > (unsigned) INT_MAX)
    return;
  probe = open ("/", O_PATH | O_CLOEXEC);
  if (probe < 0)
    return;
  /* The lowest free number from N - 1 up: the table grows to hold it, and
     keeps its size after the close.  */
  top = fcntl (probe, F_DUPFD_CLOEXEC, (int) n - 1);
  if (top >= 0)
    (void) close (top);
  (void) close (probe);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"

int
sync_send (int sock, enum sync_kind kind, struct sbx_error **err)
{
  struct sync_msg m = { .kind = kind };

  if (sbx_send_msg_fd (sock, &m, sizeof m, -1, err) < 0)
    return sbx_err_prefix (err, "sync with the container");
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
  struct sync_msg m = { .kind = kind };

  if (sbx_send_msg_fd (sock, &m, sizeof m, fd, err) < 0)
    return sbx_err_prefix (err, "send fd to the monitor");
  return 0;
}

int
sync_recv (int sock, struct sync_msg *out, int *fd_out, struct sbx_error **err)
{
  ssize_t n = sbx_recv_msg_fd (sock, out, sizeof *out, MSG_DONTWAIT, fd_out, err);

  if (n < 0 && sbx_error_code (*err) == EAGAIN)
    {
      sbx_error_clear (err);
      return 2;
    }
  if (n < 0)
    return sbx_err_prefix (err, "read from the container's setup");
  if (n == 0)
    return 1;
  if ((size_t) n != sizeof *out)
    {
      if (fd_out && *fd_out >= 0)
        (void) close (steal_fd (fd_out));
      return sbx_err (err, EPROTO, "short message from the container's setup (%zd bytes)", n);
    }
  out->text[sizeof out->text - 1] = '\0';
  return 0;
}

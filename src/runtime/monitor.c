/* SPDX-License-Identifier: GPL-2.0-or-later */
#define SBX_LOG_MODULE "monitor"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/pollv.h"
#include "util/strbuf.h"

/* The monitor's loop (DESIGN.md §2): one poll() over the sync socket, a
   signalfd, with -t the terminal and the pty master, and with --network
   slirp what the network waits for (libslirp's sockets, the tap, published
   ports).  Without -t the
   container holds the caller's stdio itself and nothing is copied.  */

struct raw_tty
{
  bool active;
  struct termios saved;
};

static void
raw_tty_restore (struct raw_tty *t)
{
  if (t->active)
    (void) tcsetattr (STDIN_FILENO, TCSADRAIN, &t->saved);
}

static void
copy_winsize (int master)
{
  struct winsize ws;

  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    (void) ioctl (master, TIOCSWINSZ, &ws);
}

/* Copy what is available from IN to OUT; false at end of input.  */
static bool
relay (int in, int out)
{
  char buf[65536];
  ssize_t n = read (in, buf, sizeof buf);
  struct sbx_error *err = NULL;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false; /* EIO from a master whose slave side is all closed */
  if (sbx_write_all (out, buf, (size_t) n, &err) < 0)
    {
      sbx_error_clear (&err);
      return false;
    }
  return true;
}

/* Append BUF to the log as k8s-file lines (podman's format, which
   `sbx logs` reads): "TIME STREAM F text" for a complete line, "P" for a
   partial one (its end comes in a later line).  */
static void
log_chunk (int logfd, const char *stream, const char *buf, size_t n)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  struct sbx_error *ignored = NULL;
  struct timespec ts;
  struct tm tm;
  char stamp[64];

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  while (n > 0)
    {
      const char *nl = memchr (buf, '\n', n);
      size_t len = nl ? (size_t) (nl - buf) : n;

      sbx_strbuf_addf (&sb, "%s.%09ldZ %s %c ", stamp, ts.tv_nsec, stream, nl ? 'F' : 'P');
      sbx_strbuf_add (&sb, buf, len);
      sbx_strbuf_addch (&sb, '\n');
      len += nl ? 1 : 0;
      buf += len;
      n -= len;
    }
  if (sb.len && sbx_write_all (logfd, sb.buf, sb.len, &ignored) < 0)
    sbx_error_clear (&ignored);
}

/* Read what is available from IN into the log; false at end of input.  */
static bool
relay_to_log (int in, int logfd, const char *stream)
{
  char buf[65536];
  ssize_t n = read (in, buf, sizeof buf);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  log_chunk (logfd, stream, buf, (size_t) n);
  return true;
}

/* The pty master (-t) or a log pipe: copy what it has; false at its end.  */
static bool
relay_output (const struct monitor_ctx *m, int in, const char *stream)
{
  if (m->log_fd >= 0)
    return relay_to_log (in, m->log_fd, stream);
  return relay (in, STDOUT_FILENO);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    (void) close (*fd);
  *fd = -1;
}

struct monitor_state
{
  struct sbx_error *report; /* what the setup child said went wrong */
  int report_status;        /* 125, or 126/127 for exec failures */
  int master;
  bool sync_open;
  bool exited;
  int wait_status;
  int out; /* detached: the container's stdout and stderr pipes */
  int err;
  bool ready_sent;
};

static int
handle_sync (struct monitor_ctx *m, struct monitor_state *st, struct sbx_error **err)
{
  for (;;)
    {
      struct sync_msg msg;
      int fd = -1;
      int r = sync_recv (m->sync_fd, &msg, &fd, err);

      if (r < 0)
        return -1;
      if (r == 2)
        return 0;
      if (r == 1)
        {
          st->sync_open = false; /* the command was exec'd, or setup died */
          return 0;
        }
      switch (msg.kind)
        {
        case SYNC_PTY:
          if (fd < 0)
            return sbx_err (err, EPROTO, "pty message without an fd");
          st->master = fd;
          (void) fcntl (fd, F_SETFL, O_NONBLOCK);
          copy_winsize (fd);
          break;
        case SYNC_ERROR:
        case SYNC_EXEC_ERROR:
          if (st->report == NULL)
            {
              sbx_err_raw (&st->report, msg.code, msg.text);
              /* After a failed execve the child exits 126 or 127 (exec.c):
                 its status is ours.  */
              st->report_status = msg.kind == SYNC_EXEC_ERROR ? -1 : 125;
            }
          if (fd >= 0)
            (void) close (fd);
          break;
        default:
          if (fd >= 0)
            (void) close (fd);
          return sbx_err (err, EPROTO, "unexpected message %u from the container", msg.kind);
        }
    }
}

static int
handle_signal (struct monitor_ctx *m, struct monitor_state *st, struct sbx_error **err)
{
  struct signalfd_siginfo si;
  ssize_t n = read (m->sigfd, &si, sizeof si);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n != (ssize_t) sizeof si)
    return sbx_err_errno (err, "read signalfd");
  if (si.ssi_signo == SIGCHLD)
    {
      int status;
      pid_t p;

      while ((p = waitpid (-1, &status, WNOHANG)) > 0)
        if (p == m->child)
          {
            st->exited = true;
            st->wait_status = status;
          }
        else
          (void) sbx_net_reaped (m->net, p);
      return 0;
    }
  if (si.ssi_signo == SIGWINCH && st->master >= 0)
    {
      copy_winsize (st->master);
      return 0;
    }
  sbx_debug ("forward signal %u to %d", si.ssi_signo, (int) m->child);
  (void) kill (m->child, (int) si.ssi_signo);
  return 0;
}

/* After the container's end: what is still in *FD (processes of the
   container may hold it a moment longer), then close it.  */
static void
drain (const struct monitor_ctx *m, int *fd, const char *stream)
{
  while (*fd >= 0)
    {
      struct pollfd p = { .fd = *fd, .events = POLLIN };

      if (poll (&p, 1, 100) <= 0 || ! relay_output (m, *fd, stream))
        break;
    }
  close_fd (fd);
}

int
monitor_block_signals (sigset_t *old, struct sbx_error **err)
{
  sigset_t all, before;
  int fd;

  sigfillset (&all);
  sigdelset (&all, SIGKILL);
  sigdelset (&all, SIGSTOP);
  sigdelset (&all, SIGTSTP);
  sigdelset (&all, SIGTTIN);
  sigdelset (&all, SIGTTOU);
  sigdelset (&all, SIGSEGV);
  sigdelset (&all, SIGBUS);
  sigdelset (&all, SIGFPE);
  sigdelset (&all, SIGILL);
  sigdelset (&all, SIGABRT);
  if (sigprocmask (SIG_BLOCK, &all, &before) < 0)
    return sbx_err_errno (err, "block signals");
  sigdelset (&all, SIGPIPE);
  fd = signalfd (-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    {
      sbx_err_errno (err, "signalfd");
      (void) sigprocmask (SIG_SETMASK, &before, NULL);
      return -1;
    }
  if (old)
    *old = before;
  return fd;
}

int
monitor_run (struct monitor_ctx *m, int *exit_code, struct sbx_error **err)
{
  struct monitor_state st = {
    .master = -1, .sync_open = true, .report_status = 125, .out = m->out_fd, .err = m->err_fd
  };
  __attribute__ ((cleanup (raw_tty_restore))) struct raw_tty raw = { 0 };
  __attribute__ ((cleanup (sbx_pollv_release))) struct sbx_pollv pv = SBX_POLLV_INIT;
  bool stdin_open = m->tty && m->interactive;

  while (! st.exited)
    {
      long sig_i, sync_i = -1, master_i = -1, stdin_i = -1, out_i = -1, err_i = -1;
      int timeout = -1;
      int r;

      sbx_pollv_reset (&pv);
      sig_i = (long) sbx_pollv_add (&pv, m->sigfd, POLLIN);
      if (st.sync_open)
        sync_i = (long) sbx_pollv_add (&pv, m->sync_fd, POLLIN);
      if (st.master >= 0)
        master_i = (long) sbx_pollv_add (&pv, st.master, POLLIN);
      if (st.master >= 0 && stdin_open)
        stdin_i = (long) sbx_pollv_add (&pv, STDIN_FILENO, POLLIN);
      if (st.out >= 0)
        out_i = (long) sbx_pollv_add (&pv, st.out, POLLIN);
      if (st.err >= 0)
        err_i = (long) sbx_pollv_add (&pv, st.err, POLLIN);
      if (m->net)
        sbx_net_poll_fill (m->net, &pv, &timeout);

      r = poll (pv.fds, pv.n, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return sbx_err_errno (err, "poll");

      if (sbx_pollv_revents (&pv, sig_i) && handle_signal (m, &st, err) < 0)
        return -1;
      if (sbx_pollv_revents (&pv, sync_i) && st.sync_open)
        {
          if (handle_sync (m, &st, err) < 0)
            return -1;
          if (! st.sync_open && st.report == NULL && m->ready_fd >= 0 && ! st.ready_sent)
            {
              /* The command runs: a detached `sbx run` may return.  */
              struct sbx_error *ignored = NULL;

              st.ready_sent = true;
              if (sbx_write_all (m->ready_fd, "", 1, &ignored) < 0)
                sbx_error_clear (&ignored);
            }
          if (st.master >= 0 && stdin_open && ! raw.active && isatty (STDIN_FILENO)
              && tcgetattr (STDIN_FILENO, &raw.saved) == 0)
            {
              struct termios t = raw.saved;

              cfmakeraw (&t);
              raw.active = tcsetattr (STDIN_FILENO, TCSADRAIN, &t) == 0;
            }
        }
      if (sbx_pollv_revents (&pv, master_i) && st.master >= 0
          && ! relay_output (m, st.master, "stdout"))
        close_fd (&st.master);
      if (sbx_pollv_revents (&pv, out_i) && ! relay_output (m, st.out, "stdout"))
        close_fd (&st.out);
      if (sbx_pollv_revents (&pv, err_i) && ! relay_output (m, st.err, "stderr"))
        close_fd (&st.err);
      if (sbx_pollv_revents (&pv, stdin_i) && st.master >= 0 && ! relay (STDIN_FILENO, st.master))
        stdin_open = false;
      /* The network last: its indexes come after ours, and it never fails
         the container (a broken connection is that connection's end).  */
      if (m->net)
        sbx_net_poll_dispatch (m->net, &pv);
    }

  /* Drain what the container wrote before it ended, and a last report.  */
  drain (m, &st.master, "stdout");
  drain (m, &st.out, "stdout");
  drain (m, &st.err, "stderr");
  if (st.sync_open && handle_sync (m, &st, err) < 0)
    return -1;

  if (st.report)
    {
      *exit_code = st.report_status;
      if (*exit_code < 0)
        *exit_code = WIFEXITED (st.wait_status) && WEXITSTATUS (st.wait_status) >= 126
                         ? WEXITSTATUS (st.wait_status)
                         : 127;
      *err = st.report;
      return -1;
    }
  if (WIFEXITED (st.wait_status))
    *exit_code = WEXITSTATUS (st.wait_status);
  else if (WIFSIGNALED (st.wait_status))
    *exit_code = 128 + WTERMSIG (st.wait_status);
  else
    *exit_code = 125;
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run a function, or exec a command, as root of a fresh user namespace
   (like `podman unshare`): the store's layers hold files owned by
   subordinate ids, which only such a process can create, chown or remove.  */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/hints.h"

static int
wait_child (pid_t pid, int *status)
{
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

int
sbx_runtime_in_userns (const struct sbx_userns_plan *plan,
                       int (*fn) (void *arg, struct sbx_error **err), void *arg,
                       struct sbx_error **err)
{
  cleanup_close int mon = -1;
  cleanup_close int kid = -1;
  struct sync_msg m;
  int socks[2];
  int status = 0;
  long pid;
  int r;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0)
    return sbx_err_errno (err, "socketpair");
  mon = socks[0];
  kid = socks[1];
  /* The child would print our unflushed output a second time.  */
  fflush (NULL);
  pid = syscall (SYS_clone, (unsigned long) (CLONE_NEWUSER | CLONE_NEWNS) | SIGCHLD, NULL, NULL,
                 NULL, NULL);
  if (pid < 0)
    {
      sbx_err_errno (err, "create a user namespace");
      return sbx_err_hint (err, SBX_HINT_USERNS);
    }
  if (pid == 0)
    {
      struct sbx_error *e = NULL;

      (void) close (mon);
      (void) prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (sbx_wait_readable (kid, 30000, &e) < 0 || sync_recv (kid, &m, NULL, &e) != 0
          || m.kind != SYNC_GO)
        _exit (125);
      if (fn (arg, &e) < 0)
        {
          fflush (NULL);
          sync_report_and_exit (kid, SYNC_ERROR, e, 1);
        }
      fflush (NULL); /* what FN printed; _exit() would drop it */
      _exit (0);
    }
  (void) close (steal_fd (&kid));
  if (sbx_userns_write_maps ((pid_t) pid, plan, false, err) < 0
      || sync_send (mon, SYNC_GO, err) < 0)
    {
      (void) kill ((pid_t) pid, SIGKILL);
      (void) wait_child ((pid_t) pid, &status);
      return -1;
    }
  if (wait_child ((pid_t) pid, &status) < 0)
    return sbx_err_errno (err, "wait for the user-namespace helper");
  r = sync_recv (mon, &m, NULL, err);
  if (r < 0)
    return -1;
  if (r == 0 && m.kind == SYNC_ERROR)
    return sbx_err_raw (err, m.code, m.text);
  if (! WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return sbx_err (err, EIO, "the user-namespace helper died (status %d)", status);
  return 0;
}

/* The helper of sbx_runtime_exec_in_userns(): still in the caller's user
   namespace, it writes the id maps of PARENT once PARENT has unshared.  */
__attribute__ ((noreturn)) static void
map_writer_main (pid_t parent, const struct sbx_userns_plan *plan, int sock)
{
  struct sbx_error *e = NULL;
  struct sync_msg m;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (125);
  if (sbx_wait_readable (sock, 30000, &e) < 0 || sync_recv (sock, &m, NULL, &e) != 0
      || m.kind != SYNC_GO)
    _exit (125);
  if (sbx_userns_write_maps (parent, plan, false, &e) < 0)
    sync_report_and_exit (sock, SYNC_ERROR, e, 125);
  _exit (0);
}

int
sbx_runtime_exec_in_userns (const struct sbx_userns_plan *plan, char *const *argv, bool fakeroot,
                            int *exit_code, struct sbx_error **err)
{
  cleanup_close int mon = -1;
  cleanup_close int kid = -1;
  pid_t self = getpid ();
  struct sync_msg m;
  int socks[2];
  int status = 0;
  pid_t pid;
  int r;

  *exit_code = 125;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0)
    return sbx_err_errno (err, "socketpair");
  mon = socks[0];
  kid = socks[1];
  fflush (NULL);
  /* This process becomes the command, so that its pid, terminal, signals
     and exit status are the command's own, as with unshare(1): a helper
     forked first writes its maps from outside.  */
  pid = fork ();
  if (pid < 0)
    return sbx_err_errno (err, "fork");
  if (pid == 0)
    {
      (void) close (mon);
      map_writer_main (self, plan, kid);
    }
  (void) close (steal_fd (&kid));
  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    {
      sbx_err_errno (err, "create a user namespace");
      (void) kill (pid, SIGKILL);
      (void) wait_child (pid, &status);
      return sbx_err_hint (err, SBX_HINT_USERNS);
    }
  if (sync_send (mon, SYNC_GO, err) < 0)
    {
      (void) kill (pid, SIGKILL);
      (void) wait_child (pid, &status);
      return -1;
    }
  if (wait_child (pid, &status) < 0)
    return sbx_err_errno (err, "wait for the id-map helper");
  r = sync_recv (mon, &m, NULL, err);
  if (r < 0)
    return -1;
  if (r == 0 && m.kind == SYNC_ERROR)
    return sbx_err_raw (err, m.code, m.text);
  if (! WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return sbx_err (err, EIO, "the id-map helper failed (status %d)", status);
  (void) close (steal_fd (&mon));
  if (fakeroot && plan->mode == SBX_USERNS_SINGLE
      && (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || fakeroot_install (err) < 0))
    {
      if (*err == NULL)
        sbx_err_errno (err, "set no_new_privs");
      return -1;
    }
  exec_command (argv, environ, exit_code, err);
  return -1;
}

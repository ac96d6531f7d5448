/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"

/* PID 1 for --init (bubblewrap's do_init, tini's job): the kernel gives PID 1
   no default signal actions, so without it `kill -TERM` of a shell that
   never installed a handler does nothing.  Every catchable signal goes to
   the command; orphans are reaped; the command's status is ours.  */
void
init_reaper_main (pid_t child)
{
  sigset_t all;
  int sfd;

  sigfillset (&all);
  sigdelset (&all, SIGKILL);
  sigdelset (&all, SIGSTOP);
  /* The signals are already blocked (inherited from the monitor).  */
  sfd = signalfd (-1, &all, SFD_CLOEXEC);
  if (sfd < 0)
    _exit (125);

  for (;;)
    {
      struct signalfd_siginfo si;
      ssize_t n = read (sfd, &si, sizeof si);

      if (n < 0 && errno == EINTR)
        continue;
      if (n != (ssize_t) sizeof si)
        _exit (125);
      if (si.ssi_signo != SIGCHLD)
        {
          (void) kill (child, (int) si.ssi_signo);
          continue;
        }
      for (;;)
        {
          int status;
          pid_t p = waitpid (-1, &status, WNOHANG);

          if (p <= 0)
            break;
          if (p != child)
            continue;
          if (WIFEXITED (status))
            _exit (WEXITSTATUS (status));
          if (WIFSIGNALED (status))
            _exit (128 + WTERMSIG (status));
        }
    }
}

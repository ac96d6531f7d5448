/* SPDX-License-Identifier: GPL-2.0-or-later */
#define SBX_LOG_MODULE "setup"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "net/net.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/hints.h"
#include "util/strv.h"
#include "util/log.h"

/* The setup child, in the order of STYLE.md B7: wait for the id maps, build
   the root filesystem, pivot, then the terminal, identity, capabilities and
   no_new_privs, and exec last.  It reports any failure to the monitor over
   the sync socket and _exits; nothing here returns.  */

#define FAIL(stage_err) sync_report_and_exit (ctx->sync_fd, SYNC_ERROR, (stage_err), 125)

static int
wait_for_go (int sync_fd, struct sbx_error **err)
{
  struct sync_msg m;
  int r;

  if (sbx_wait_readable (sync_fd, 30000, err) < 0)
    return sbx_err_prefix (err, "wait for the id maps");
  r = sync_recv (sync_fd, &m, NULL, err);
  if (r < 0)
    return -1;
  if (r == 2)
    return sbx_err (err, EAGAIN, "wait for the id maps: spurious wake-up");
  if (r == 1) /* the monitor is gone: nothing to report to */
    _exit (125);
  if (m.kind != SYNC_GO)
    return sbx_err (err, EPROTO, "unexpected message %u from the monitor", m.kind);
  return 0;
}

int
setup_tty (int sync_fd, bool console, struct sbx_error **err)
{
  cleanup_close int master = -1;
  cleanup_close int slave = -1;
  char name[64];
  int unlock = 0;
  int fd;

  /* Open the pty in the container's own devpts, so that ttyname() and
     /dev/console inside name it; the monitor gets the master.  */
  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return sbx_err_errno (err, "open /dev/ptmx");
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return sbx_err_errno (err, "unlock pty");
  if (ptsname_r (master, name, sizeof name) != 0)
    return sbx_err_errno (err, "ptsname");
  slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return sbx_err_errno (err, "open `%s`", name);
  if (console && mount (name, "/dev/console", NULL, MS_BIND, NULL) < 0)
    return sbx_err_errno (err, "bind `%s` on /dev/console", name);
  if (sync_send_fd (sync_fd, SYNC_PTY, master, err) < 0)
    return -1;
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return sbx_err_errno (err, "set controlling terminal");
  for (fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return sbx_err_errno (err, "dup2 pty");
  return 0;
}

/* Resolve -u in the container's own /etc/passwd and /etc/group (the root
   is pivoted already, so an image's merged layers are what is read), and
   give the command a HOME when it has none.  */
static int
resolve_user (const struct setup_ctx *ctx, struct sbx_user *u, char ***env, struct sbx_error **err)
{
  const struct sbx_run_config *cfg = ctx->cfg;
  cleanup_close int rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *spec = cfg->user;
  char uidbuf[16];

  if (rootfd < 0)
    return sbx_err_errno (err, "open /");
  snprintf (uidbuf, sizeof uidbuf, "%u", (unsigned) ctx->inside_uid);
  if (spec == NULL && cfg->keep_id)
    spec = uidbuf; /* HOME from the user's own entry */
  if (sbx_user_resolve (rootfd, spec, u, err) < 0)
    return -1;
  if (cfg->user == NULL)
    {
      /* No -u: stay who we are inside (root, or the user with keep-id).  */
      u->uid = ctx->inside_uid;
      u->gid = ctx->inside_gid;
      u->n_groups = 0;
    }
  if (ctx->single_mode && (u->uid != ctx->inside_uid || u->gid != ctx->inside_gid))
    {
      sbx_err (err, EINVAL,
               "user %u:%u is not mapped in the user namespace (single-uid mode: only %u is)",
               (unsigned) u->uid, (unsigned) u->gid, (unsigned) ctx->inside_uid);
      return sbx_err_hint (err, SBX_HINT_SUBUID);
    }
  *env = sbx_strv_dup (cfg->env);
  if (sbx_env_get (*env, "HOME") == NULL)
    sbx_env_set (env, "HOME", u->home ? u->home : "/");
  return 0;
}

int
setup_switch_user (const struct sbx_user *u, uid_t inside_uid, gid_t inside_gid, bool single_mode,
                   struct sbx_error **err)
{
  if (u->uid == inside_uid && u->gid == inside_gid && u->n_groups == 0)
    return 0;
  if (! single_mode && setgroups (u->n_groups, u->groups) < 0)
    return sbx_err_errno (err, "setgroups");
  if (setresgid (u->gid, u->gid, u->gid) < 0)
    return sbx_err_errno (err, "setgid %u", (unsigned) u->gid);
  if (setresuid (u->uid, u->uid, u->uid) < 0)
    return sbx_err_errno (err, "setuid %u", (unsigned) u->uid);
  return 0;
}

void
setup_reset_signals (void)
{
  sigset_t none;
  int s;

  for (s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      (void) signal (s, SIG_DFL);
  sigemptyset (&none);
  (void) sigprocmask (SIG_SETMASK, &none, NULL);
}

/* PR_SET_PDEATHSIG is cleared by a change of credentials, so set it again
   last, then make sure the monitor did not die in between: getppid() says
   nothing in a new pid namespace, but the monitor's end of the sync socket
   closes when it dies.  */
static int
tie_to_monitor (int sync_fd, struct sbx_error **err)
{
  struct pollfd p = { .fd = sync_fd, .events = POLLRDHUP };

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    return sbx_err_errno (err, "set parent death signal");
  if (poll (&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP)))
    _exit (125);
  return 0;
}

void
setup_child_main (const struct setup_ctx *ctx)
{
  const struct sbx_run_config *cfg = ctx->cfg;
  struct sbx_error *err = NULL;
  struct sbx_user user = { 0 };
  char **env = NULL;
  int status = 125;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || wait_for_go (ctx->sync_fd, &err) < 0)
    {
      if (err == NULL)
        sbx_err_errno (&err, "set parent death signal");
      FAIL (err);
    }
  if (mounts_setup_rootfs (ctx, &err) < 0 || resolve_user (ctx, &user, &env, &err) < 0)
    FAIL (err);
  if (sethostname (ctx->hostname, strlen (ctx->hostname)) < 0)
    {
      sbx_err_errno (&err, "sethostname `%s`", ctx->hostname);
      FAIL (err);
    }
  if (cfg->network != SBX_NETWORK_HOST && sbx_net_loopback_up (&err) < 0)
    FAIL (err);
  /* A session of its own: terminal signals reach the monitor only, which
     forwards them once (no double delivery), and a tty for -t can become
     the controlling terminal.  */
  if (setsid () < 0)
    {
      sbx_err_errno (&err, "setsid");
      FAIL (err);
    }
  if (cfg->tty && setup_tty (ctx->sync_fd, true, &err) < 0)
    FAIL (err);
  if (caps_apply (cfg->caps, &err) < 0
      || setup_switch_user (&user, ctx->inside_uid, ctx->inside_gid, ctx->single_mode, &err) < 0)
    FAIL (err);
  if (chdir (cfg->workdir ? cfg->workdir : "/") < 0)
    {
      sbx_err_errno (&err, "chdir to working directory `%s`", cfg->workdir);
      FAIL (err);
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      sbx_err_errno (&err, "set no_new_privs");
      FAIL (err);
    }
  if (tie_to_monitor (ctx->sync_fd, &err) < 0)
    FAIL (err);
  /* Seccomp last (STYLE.md B7): only root emulation for now, and only where
     real ids are missing.  */
  if (cfg->fakeroot && ctx->single_mode)
    {
      fakeroot_apt_config (&env);
      if (fakeroot_install (&err) < 0)
        FAIL (err);
    }
  /* Only the sync socket (close-on-exec) and stdio survive into the
     command; everything else sbx inherited is marked close-on-exec.  */
  (void) syscall (SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

  if (cfg->init)
    {
      pid_t pid = fork ();

      if (pid < 0)
        {
          sbx_err_errno (&err, "fork the command under --init");
          FAIL (err);
        }
      if (pid > 0)
        {
          /* The reaper never execs: drop what close-on-exec would have
             closed (the monitor's sockets, published ports among them).  */
          (void) syscall (SYS_close_range, 3, ~0U, 0);
          init_reaper_main (pid);
        }
    }
  setup_reset_signals ();
  exec_command (cfg->argv, env, &status, &err);
  sync_report_and_exit (ctx->sync_fd, SYNC_EXEC_ERROR, err, status);
}

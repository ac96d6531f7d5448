/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fuse storage driver (DESIGN.md §2, §5): start sbx's FUSE overlay
   (overlay/fusefs) for a container.

     monitor ── fork ──► server: setns(user) → open /dev/fuse → session
                            └─ fork ──► mounter: setns(mnt) → mount → exit
     monitor ◄── ready pipe ── server: "ready", then serve until unmounted

   Why the mount is made by a short-lived child: a process that is a member
   of a mount namespace keeps it alive.  The server joins only the
   container's user namespace (so that it is root there and creates files
   with the container's ids); the mounter joins the mount namespace, mounts
   and exits.  When the container's last process exits, its mount
   namespace goes away, the kernel tears the FUSE mount down and aborts the
   connection, and the server's loop ends by itself.  The server also keeps
   the monitor's root, so the container's pivot_root does not concern it;
   it reaches the layers only through the fds opened here, before the
   fork.  */
#define SBX_LOG_MODULE "overlay"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/fusefs/fusefs.h"
#include "overlay/overlay.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/hints.h"
#include "util/log.h"
#include "util/xalloc.h"

#define READY_TIMEOUT_MS 10000

/* One message on the ready pipe: code 0 means the mount is in place.  */
struct ready_msg
{
  int32_t code;
  char text[480];
};

/* What the server needs, all opened before the fork.  */
struct server_fds
{
  int userns;
  int mntns;
  int *lowers;
  size_t n_lowers;
  int upper;
  int work;
  int ready; /* write end */
};

static void
server_fds_release (struct server_fds *f)
{
  size_t i;

  sbx_cleanup_close (&f->userns);
  sbx_cleanup_close (&f->mntns);
  for (i = 0; f->lowers && i < f->n_lowers; i++)
    sbx_cleanup_close (&f->lowers[i]);
  free (f->lowers);
  sbx_cleanup_close (&f->upper);
  sbx_cleanup_close (&f->work);
  sbx_cleanup_close (&f->ready);
}

/* ---- in the server and the mounter ---- */

__attribute__ ((noreturn, format (printf, 3, 4))) static void
report_and_exit (int fd, int code, const char *fmt, ...)
{
  struct ready_msg m = { .code = code ? code : EIO };
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (m.text, sizeof m.text, fmt, ap);
  va_end (ap);
  (void) ! write (fd, &m, sizeof m);
  _exit (1);
}

__attribute__ ((noreturn)) static void
report_error_and_exit (int fd, struct sbx_error *e)
{
  report_and_exit (fd, sbx_error_code (e), "%s", e && e->msg ? e->msg : "unknown failure");
}

/* Close every fd but stderr and those in F: the monitor's sockets and
   pipes must not stay open in a process that lives as long as this one.  */
static void
close_other_fds (const struct server_fds *f)
{
  size_t n = 0, i;
  int *keep = xcalloc (f->n_lowers + 8, sizeof (int));

  keep[n++] = f->userns;
  keep[n++] = f->mntns;
  keep[n++] = f->upper;
  keep[n++] = f->work;
  keep[n++] = f->ready;
  for (i = 0; i < f->n_lowers; i++)
    keep[n++] = f->lowers[i];
  sbx_close_fds_except (keep, n);
  free (keep);
}

static void
detach_from_monitor (const struct server_fds *f, pid_t monitor)
{
  sigset_t none;
  int null;

  /* Die with the monitor; leave its session so that a ^C on its terminal
     does not take the root filesystem away under the container.  */
  (void) prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != monitor)
    _exit (1);
  (void) setsid ();
  sigemptyset (&none);
  (void) sigprocmask (SIG_SETMASK, &none, NULL);
  (void) signal (SIGPIPE, SIG_IGN);
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      (void) dup2 (null, STDIN_FILENO);
      (void) dup2 (null, STDOUT_FILENO);
      if (null > STDERR_FILENO)
        (void) close (null);
    }
  close_other_fds (f);
}

/* Descriptor slots grown at the start: a walk of a Debian /usr leaves the
   server 850 fds open, an untar of 5,900 entries 4,000; beyond, the table
   still grows as needed.  64 KiB of the kernel's memory.  */
#define FD_TABLE_SLOTS 8192

static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      (void) setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* The mounter: join the container's mount namespace and mount the
   connection FUSEFD at TARGET.  Reports its own failure on the pipe.  */
__attribute__ ((noreturn)) static void
run_mounter (const struct server_fds *f, int fusefd, const char *target, bool rdonly)
{
  char opts[160];
  unsigned long flags = MS_NOSUID | MS_NODEV;

  if (setns (f->mntns, CLONE_NEWNS) < 0)
    report_and_exit (f->ready, errno, "join the container's mount namespace: %s", strerror (errno));
  /* The kernel checks permissions (default_permissions): the server is
     root in the user namespace and could otherwise do anything for
     anyone.  allow_other: the container's users are not the mounter.  */
  snprintf (opts, sizeof opts,
            "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fusefd);
  if (rdonly)
    flags |= MS_RDONLY;
  if (mount ("sbx-overlay", target, "fuse.sbx-overlay", flags, opts) < 0)
    {
      struct sbx_error *e = NULL;

      int code = errno;

      sbx_err_errno (&e, "mount the FUSE overlay on `%s`", target);
      if (code == EPERM || code == EACCES || code == ENODEV)
        sbx_err_hint (&e, SBX_HINT_FUSE);
      report_error_and_exit (f->ready, e);
    }
  _exit (0);
}

static void
mount_in_container (const struct server_fds *f, int fusefd, const char *target, bool rdonly)
{
  int status = 0;
  pid_t pid = fork ();

  if (pid < 0)
    report_and_exit (f->ready, errno, "fork the FUSE mounter: %s", strerror (errno));
  if (pid == 0)
    run_mounter (f, fusefd, target, rdonly);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      report_and_exit (f->ready, errno, "wait for the FUSE mounter: %s", strerror (errno));
  if (! WIFEXITED (status) || WEXITSTATUS (status) != 0)
    _exit (1); /* it said why */
}

__attribute__ ((noreturn)) static void
run_server (struct server_fds *f, const struct sbx_overlay_req *req, pid_t monitor)
{
  struct sbx_error *e = NULL;
  struct fusefs_config cfg = { 0 };
  struct fusefs_server *s;
  struct ready_msg ok = { .code = 0 };
  bool rdonly = f->upper < 0;
  int fusefd;

  detach_from_monitor (f, monitor);
  if (setns (f->userns, CLONE_NEWUSER) < 0)
    report_and_exit (f->ready, errno, "join the container's user namespace: %s", strerror (errno));
  sbx_cleanup_close (&f->userns);
  /* Opened in the container's user namespace, as the kernel requires of
     the fd a FUSE mount there uses.  */
  fusefd = open ("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fusefd < 0)
    {
      sbx_err_errno (&e, "open /dev/fuse");
      sbx_err_hint (&e, SBX_HINT_FUSE);
      report_error_and_exit (f->ready, e);
    }
  raise_fd_limit ();
  /* The server keeps directory and data fds open (up to half the limit,
     fusefs/fs.c) and opens them from several threads, where each doubling
     of the descriptor table waits for an RCU grace period, 8-20 ms here
     with a request stalled behind it: three times in a walk of /usr, five
     in an untar.  Grown now, with one thread, it costs nothing but its memory.  */
  sbx_fd_table_reserve (FD_TABLE_SLOTS);
  cfg.lower_fds = f->lowers;
  cfg.n_lowers = f->n_lowers;
  cfg.upper_fd = steal_fd (&f->upper);
  cfg.work_fd = steal_fd (&f->work);
  cfg.volatile_upper = req->volatile_upper;
  s = fusefs_server_new (fusefd, &cfg, &e);
  f->n_lowers = 0; /* taken over */
  if (s == NULL)
    report_error_and_exit (f->ready, e);
  mount_in_container (f, fusefd, req->target, rdonly);
  sbx_cleanup_close (&f->mntns);
  if (write (f->ready, &ok, sizeof ok) != (ssize_t) sizeof ok)
    _exit (1);
  sbx_cleanup_close (&f->ready);
  _exit (fusefs_server_run (s) == 0 ? 0 : 1);
}

/* ---- in the monitor ---- */

static int
open_dir (const char *path, const char *what, struct sbx_error **err)
{
  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return sbx_err_errno (err, "open %s `%s`", what, path);
  return fd;
}

static int
open_ns (pid_t pid, const char *ns, struct sbx_error **err)
{
  char path[64];
  int fd;

  snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) pid, ns);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", path);
  return fd;
}

static int
acquire (pid_t pid, const struct sbx_overlay_req *req, struct server_fds *f, struct sbx_error **err)
{
  size_t i;

  f->userns = open_ns (pid, "user", err);
  if (f->userns < 0)
    return -1;
  f->mntns = open_ns (pid, "mnt", err);
  if (f->mntns < 0)
    return -1;
  f->lowers = xcalloc (req->n_lowers ? req->n_lowers : 1, sizeof (int));
  for (i = 0; i < req->n_lowers; i++)
    {
      f->lowers[i] = open_dir (req->lowers[i], "layer", err);
      if (f->lowers[i] < 0)
        return -1;
      f->n_lowers++;
    }
  if (req->upper)
    {
      f->upper = open_dir (req->upper, "upper layer", err);
      if (f->upper < 0)
        return -1;
      f->work = open_dir (req->work, "work directory", err);
      if (f->work < 0)
        return -1;
    }
  return 0;
}

/* Wait for the server's report.  On failure kill and reap it.  */
static int
await_ready (pid_t server, int readfd, struct sbx_error **err)
{
  struct ready_msg m;
  ssize_t n = -1;

  if (sbx_wait_readable (readfd, READY_TIMEOUT_MS, err) == 0)
    {
      do
        n = read (readfd, &m, sizeof m);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        sbx_err_errno (err, "read from the FUSE server");
      else if (n != (ssize_t) sizeof m)
        sbx_err (err, ECHILD, "the FUSE server exited without reporting");
      else if (m.code != 0)
        {
          m.text[sizeof m.text - 1] = '\0';
          sbx_err (err, m.code > 0 ? m.code : EIO, "%s", m.text);
        }
      else
        return 0;
    }
  (void) kill (server, SIGKILL);
  while (waitpid (server, NULL, 0) < 0 && errno == EINTR)
    ;
  return -1;
}

int
sbx_overlay_fuse_start (pid_t pid, const struct sbx_overlay_req *req, pid_t *server,
                        struct sbx_error **err)
{
  __attribute__ ((cleanup (server_fds_release))) struct server_fds f
      = { .userns = -1, .mntns = -1, .upper = -1, .work = -1, .ready = -1 };
  cleanup_close int readfd = -1;
  int p[2];
  pid_t self = getpid ();
  pid_t child;

  *server = 0;
  if (req->target == NULL || (req->n_lowers == 0 && req->upper == NULL)
      || (req->upper && req->work == NULL))
    return sbx_err (err, EINVAL, "fuse overlay: incomplete request");
  if (fusefs_load_libfuse (err) < 0 || acquire (pid, req, &f, err) < 0)
    return sbx_err_prefix (err, "fuse overlay");
  if (pipe2 (p, O_CLOEXEC) < 0)
    return sbx_err_errno (err, "fuse overlay: pipe");
  readfd = p[0];
  f.ready = p[1];
  (void) fflush (NULL);
  child = fork ();
  if (child < 0)
    return sbx_err_errno (err, "fuse overlay: fork");
  if (child == 0)
    {
      (void) close (steal_fd (&readfd));
      run_server (&f, req, self);
    }
  sbx_cleanup_close (&f.ready);
  if (await_ready (child, readfd, err) < 0)
    return sbx_err_prefix (err, "fuse overlay");
  sbx_debug ("FUSE overlay server %d serves `%s`%s", (int) child, req->target,
             req->volatile_upper ? " (volatile: fsync answered at once)" : "");
  *server = child;
  return 0;
}

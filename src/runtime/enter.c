/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `sbx exec`: a new process in a running container.  This process joins
   the container's namespaces (setns on a pidfd: the user namespace first,
   then the others it does not share with us) and forks the command, which
   lands in the container's pid namespace; from then on it is the command's
   monitor, with the same loop as `sbx run`'s (signals forwarded, the pty
   relayed, exec failures reported over the sync socket).  The command gets
   what the container's first process got (runtime/spawn.c writes it to
   exec.json): its environment, capabilities, working directory, user, and
   root emulation filter; and no_new_privs.  */
#define SBX_LOG_MODULE "exec"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/lsan_interface.h>
#endif

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct exec_info
{
  char **env;
  uint64_t caps;
  char *workdir;
  char *user;
  bool fakeroot;
  bool single;
  uid_t uid;
  gid_t gid;
};

static void
exec_info_release (struct exec_info *e)
{
  sbx_strv_free (e->env);
  free (e->workdir);
  free (e->user);
}

static int
read_exec_info (const char *id, struct exec_info *e, struct sbx_error **err)
{
  cleanup_free char *state = sbx_runtime_state_dir (err);
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_json struct sbx_json *o = NULL;
  const struct sbx_json *env;
  const char *s;
  int64_t v;
  size_t len;

  if (state == NULL)
    return -1;
  path = xasprintf ("%s/%s/exec.json", state, id);
  text = sbx_fs_read_file_at (AT_FDCWD, path, 1 << 24, &len, err);
  if (text == NULL)
    return -1;
  o = sbx_json_parse_strict (text, len, err);
  if (o == NULL)
    return sbx_err_prefix (err, "`%s`", path);
  env = sbx_json_get (o, "env");
  for (size_t i = 0; i < sbx_json_array_size (env); i++)
    if ((s = sbx_json_string (sbx_json_array_get (env, i))))
      sbx_strv_push (&e->env, s);
  if ((s = sbx_json_string (sbx_json_get (o, "caps"))))
    e->caps = strtoull (s, NULL, 16);
  if ((s = sbx_json_string (sbx_json_get (o, "workdir"))))
    e->workdir = xstrdup (s);
  if ((s = sbx_json_string (sbx_json_get (o, "user"))))
    e->user = xstrdup (s);
  e->fakeroot = sbx_json_integer (sbx_json_get (o, "fakeroot"), &v) == 0 && v;
  e->single = sbx_json_integer (sbx_json_get (o, "single"), &v) == 0 && v;
  e->uid = sbx_json_integer (sbx_json_get (o, "uid"), &v) == 0 ? (uid_t) v : 0;
  e->gid = sbx_json_integer (sbx_json_get (o, "gid"), &v) == 0 ? (gid_t) v : 0;
  return 0;
}

/* The namespaces of PID we are not in already (joining one's own fails for
   the host's network namespace with --network host, and means nothing).  */
static int
namespaces_to_join (pid_t pid)
{
  static const struct
  {
    const char *name;
    int flag;
  } ns[] = {
    { "user", CLONE_NEWUSER },     { "mnt", CLONE_NEWNS },  { "pid", CLONE_NEWPID },
    { "uts", CLONE_NEWUTS },       { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET },
    { "cgroup", CLONE_NEWCGROUP },
  };
  int flags = 0;

  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    {
      cleanup_free char *theirs = xasprintf ("/proc/%d/ns/%s", (int) pid, ns[i].name);
      cleanup_free char *mine = xasprintf ("/proc/self/ns/%s", ns[i].name);
      struct stat a, b;

      if (stat (theirs, &a) < 0 || stat (mine, &b) < 0 || a.st_ino != b.st_ino
          || a.st_dev != b.st_dev)
        flags |= ns[i].flag;
    }
  return flags;
}

struct child_args
{
  const struct sbx_exec_config *cfg;
  const struct exec_info *info;
  int sync_fd;
};

#define CHILD_FAIL(e) sync_report_and_exit (a->sync_fd, SYNC_ERROR, (e), 125)

__attribute__ ((noreturn)) static void
child_main (const struct child_args *a)
{
  const struct sbx_exec_config *cfg = a->cfg;
  const struct exec_info *info = a->info;
  struct sbx_error *err = NULL;
  struct sbx_user user = { 0 };
  cleanup_close int rootfd = -1;
  const char *spec = cfg->user ? cfg->user : info->user;
  const char *workdir = cfg->workdir ? cfg->workdir : info->workdir;
  char **env = sbx_strv_dup (info->env);
  int status = 125;

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    {
      sbx_err_errno (&err, "set parent death signal");
      CHILD_FAIL (err);
    }
  for (size_t i = 0; cfg->env && cfg->env[i]; i++)
    {
      const char *eq = strchr (cfg->env[i], '=');
      cleanup_free char *k = eq ? xstrndup (cfg->env[i], (size_t) (eq - cfg->env[i])) : NULL;

      if (k)
        sbx_env_set (&env, k, eq + 1);
    }
  rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || sbx_user_resolve (rootfd, spec, &user, &err) < 0)
    {
      if (err == NULL)
        sbx_err_errno (&err, "open /");
      CHILD_FAIL (err);
    }
  if (spec == NULL)
    {
      user.uid = info->uid;
      user.gid = info->gid;
      user.n_groups = 0;
    }
  if (cfg->user && sbx_env_get (cfg->env, "HOME") == NULL)
    sbx_env_set (&env, "HOME", user.home ? user.home : "/");
  if (setsid () < 0)
    {
      sbx_err_errno (&err, "setsid");
      CHILD_FAIL (err);
    }
  if (cfg->tty && setup_tty (a->sync_fd, false, &err) < 0)
    CHILD_FAIL (err);
  if (caps_apply (info->caps, &err) < 0
      || setup_switch_user (&user, info->uid, info->gid, info->single, &err) < 0)
    CHILD_FAIL (err);
  if (chdir (workdir ? workdir : "/") < 0)
    {
      sbx_err_errno (&err, "chdir to working directory `%s`", workdir);
      CHILD_FAIL (err);
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      sbx_err_errno (&err, "set no_new_privs");
      CHILD_FAIL (err);
    }
  if (info->fakeroot && info->single)
    {
      fakeroot_apt_config (&env);
      if (fakeroot_install (&err) < 0)
        CHILD_FAIL (err);
    }
  setup_reset_signals ();
  exec_command (cfg->argv, env, &status, &err);
  sync_report_and_exit (a->sync_fd, SYNC_EXEC_ERROR, err, status);
}

int
sbx_runtime_exec (const struct sbx_exec_config *cfg, int *exit_code, struct sbx_error **err)
{
  __attribute__ ((cleanup (exec_info_release))) struct exec_info info = { 0 };
  cleanup_close int pidfd = -1;
  cleanup_close int sigfd = -1;
  cleanup_close int mon_sock = -1;
  cleanup_close int child_sock = -1;
  struct monitor_ctx m;
  pid_t ctr, pid;
  int socks[2];
  int r;

  *exit_code = 125;
  ctr = sbx_runtime_container_pid (cfg->id);
  if (ctr <= 0)
    return sbx_err (err, ESRCH, "the container is not running");
  if (read_exec_info (cfg->id, &info, err) < 0)
    return -1;
  pidfd = (int) syscall (SYS_pidfd_open, ctr, 0);
  if (pidfd < 0)
    return sbx_err_errno (err, "open the container's process %d", (int) ctr);
#if defined(__SANITIZE_ADDRESS__)
  /* In the sanitizer build (make check-asan): LeakSanitizer's exit-time
     check stops the world with a ptrace()ing thread, which cannot attach
     once this process is in the container's user namespace, and then
     spins in sched_yield() for ever.  Check for leaks here instead.  */
  __lsan_do_leak_check ();
#endif
  if (setns (pidfd, namespaces_to_join (ctr)) < 0)
    return sbx_err_errno (err, "join the container's namespaces");
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0)
    return sbx_err_errno (err, "socketpair");
  mon_sock = socks[0];
  child_sock = socks[1];

  sigfd = monitor_block_signals (NULL, err);
  if (sigfd < 0)
    return -1;

  pid = fork ();
  if (pid < 0)
    return sbx_err_errno (err, "fork");
  if (pid == 0)
    {
      struct child_args a = { .cfg = cfg, .info = &info, .sync_fd = child_sock };

      (void) close (mon_sock);
      child_main (&a);
    }
  (void) close (steal_fd (&child_sock));
  m = (struct monitor_ctx){ .child = pid,
                            .sync_fd = mon_sock,
                            .sigfd = sigfd,
                            .tty = cfg->tty,
                            .interactive = cfg->interactive,
                            .log_fd = -1,
                            .out_fd = -1,
                            .err_fd = -1,
                            .ready_fd = -1 };
  r = monitor_run (&m, exit_code, err);
  if (r < 0 && *exit_code == 125)
    {
      (void) kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#define SBX_LOG_MODULE "spawn"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay/overlay.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hints.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char *
sbx_runtime_new_id (void)
{
  unsigned char raw[32];
  char *hex = xmalloc (65);
  size_t i;

  if (getrandom (raw, sizeof raw, 0) != (ssize_t) sizeof raw)
    {
      /* getrandom on Linux >= 3.17 cannot fail for 32 bytes; be safe.  */
      for (i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char) (rand () ^ getpid ());
    }
  for (i = 0; i < sizeof raw; i++)
    {
      static const char digits[] = "0123456789abcdef";
      hex[2 * i] = digits[raw[i] >> 4];
      hex[2 * i + 1] = digits[raw[i] & 15];
    }
  hex[64] = '\0';
  return hex;
}

/* A directory we may keep private state in: ours, not a symlink, and not
   writable by anyone else.  */
static bool
is_private_dir (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == getuid ()
         && (st.st_mode & 0022) == 0;
}

char *
sbx_runtime_state_dir (struct sbx_error **err)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  const char *tmp = getenv ("TMPDIR");
  cleanup_free char *dir = NULL;

  if (xdg && *xdg == '/' && is_private_dir (xdg) && access (xdg, W_OK) == 0)
    {
      dir = xasprintf ("%s/sbx", xdg);
      if (mkdir (dir, 0700) == 0 || (errno == EEXIST && is_private_dir (dir)))
        return steal_ptr (&dir);
      sbx_debug ("runtime dir `%s` unusable; falling back to TMPDIR", dir);
      free (steal_ptr (&dir));
    }
  dir = xasprintf ("%s/sbx-%u", tmp && *tmp == '/' ? tmp : "/tmp", (unsigned) getuid ());
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return sbx_err_errno (err, "create state directory `%s`", dir), NULL;
  if (! is_private_dir (dir))
    {
      sbx_err (err, EPERM,
               "state directory `%s` is not a private directory of this user (hint: remove it, "
               "or set XDG_RUNTIME_DIR or TMPDIR)",
               dir);
      return NULL;
    }
  return steal_ptr (&dir);
}

/* Remove the state of containers whose monitor is gone (e.g. SIGKILLed):
   a live monitor holds an flock on its directory's `lock` file.  */
static void
sweep_stale (int statefd)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (statefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        (void) close (fd);
      return;
    }
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *lock = NULL;
      cleanup_close int lfd = -1;
      struct sbx_error *err = NULL;

      if (strlen (de->d_name) != 64 || strspn (de->d_name, "0123456789abcdef") != 64)
        continue;
      lock = xasprintf ("%s/lock", de->d_name);
      lfd = openat (statefd, lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (lfd >= 0 && flock (lfd, LOCK_EX | LOCK_NB) < 0)
        continue; /* in use */
      sbx_debug ("removing stale state of %.12s", de->d_name);
      if (sbx_fs_rm_rf_at (statefd, de->d_name, &err) < 0)
        sbx_error_clear (&err);
    }
}

/* The container's state directory, removed when the run ends.  */
struct state_guard
{
  int statefd;
  char *name;
  int lockfd;
};

static void
state_guard_release (struct state_guard *g)
{
  struct sbx_error *err = NULL;

  if (g->name && g->statefd >= 0 && sbx_fs_rm_rf_at (g->statefd, g->name, &err) < 0)
    {
      sbx_debug ("remove state: %s", err->msg);
      sbx_error_clear (&err);
    }
  if (g->lockfd >= 0)
    (void) close (g->lockfd);
  if (g->statefd >= 0)
    (void) close (g->statefd);
  free (g->name);
}

/* `sbx port` reads these: one line per published port, Docker's format.  */
static char *
ports_content (const struct sbx_run_config *cfg)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  for (size_t i = 0; i < cfg->n_ports; i++)
    {
      cleanup_free char *line = sbx_net_port_format (&cfg->ports[i]);

      sbx_strbuf_addf (&sb, "%s\n", line);
    }
  return sbx_strbuf_detach (&sb);
}

static int
write_state_files (struct state_guard *g, const char *hostname, const struct sbx_run_config *cfg,
                   struct sbx_error **err)
{
  struct etc_net net = { .mode = cfg->network, .opts = cfg->net, .add_hosts = cfg->add_hosts };
  cleanup_free char *ports = ports_content (cfg);
  cleanup_close int dfd = -1;
  cleanup_free char *host_hosts = NULL;
  cleanup_free char *host_resolv = NULL;
  cleanup_free char *hosts = NULL;
  cleanup_free char *resolv = NULL;
  cleanup_free char *hn = xasprintf ("%s\n", hostname);
  struct sbx_error *ignored = NULL;

  if (mkdirat (g->statefd, g->name, 0700) < 0)
    return sbx_err_errno (err, "create container state `%s`", g->name);
  dfd = openat (g->statefd, g->name, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sbx_err_errno (err, "open container state `%s`", g->name);
  g->lockfd = openat (dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (g->lockfd < 0 || flock (g->lockfd, LOCK_EX) < 0)
    return sbx_err_errno (err, "lock container state");
  {
    char pid[24];

    snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (sbx_fs_write_file_at (dfd, "pid", pid, strlen (pid), 0600, err) < 0)
      return -1;
  }

  host_hosts = sbx_fs_read_file_at (AT_FDCWD, "/etc/hosts", 1 << 20, NULL, &ignored);
  sbx_error_clear (&ignored);
  host_resolv = sbx_fs_read_file_at (AT_FDCWD, "/etc/resolv.conf", 1 << 20, NULL, &ignored);
  sbx_error_clear (&ignored);
  hosts = etc_hosts_content (hostname, &net, host_hosts);
  resolv = etc_resolv_content (&net, host_resolv);
  if (sbx_fs_write_file_at (dfd, "hosts", hosts, strlen (hosts), 0644, err) < 0
      || sbx_fs_write_file_at (dfd, "hostname", hn, strlen (hn), 0644, err) < 0
      || sbx_fs_write_file_at (dfd, "resolv.conf", resolv, strlen (resolv), 0644, err) < 0
      || sbx_fs_write_file_at (dfd, "ports", ports, strlen (ports), 0600, err) < 0)
    return -1;
  if (cfg->name && sbx_fs_write_file_at (dfd, "name", cfg->name, strlen (cfg->name), 0600, err) < 0)
    return -1;
  return 0;
}

/* The container's environment: Docker's defaults under the image's and the
   user's variables (HOME is added by the setup child, from the rootfs's
   /etc/passwd, when none of these sets it).  */
static char **
build_env (const struct sbx_run_config *cfg, const char *hostname)
{
  char **env = NULL;
  size_t i;

  sbx_env_set (&env, "PATH", DEFAULT_PATH);
  sbx_env_set (&env, "HOSTNAME", hostname);
  sbx_env_set (&env, "container", "sbx");
  if (cfg->tty)
    sbx_env_set (&env, "TERM", "xterm");
  for (i = 0; cfg->env && cfg->env[i]; i++)
    {
      const char *eq = strchr (cfg->env[i], '=');
      cleanup_free char *k = eq ? xstrndup (cfg->env[i], (size_t) (eq - cfg->env[i])) : NULL;

      if (k)
        sbx_env_set (&env, k, eq + 1);
    }
  return env;
}

struct child_guard
{
  pid_t pid;
};

static void
child_guard_release (struct child_guard *g)
{
  if (g->pid > 0)
    {
      (void) kill (g->pid, SIGKILL);
      while (waitpid (g->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
}

struct sigmask_guard
{
  bool armed;
  sigset_t old;
};

static void
sigmask_guard_release (struct sigmask_guard *g)
{
  if (g->armed)
    (void) sigprocmask (SIG_SETMASK, &g->old, NULL);
}

static void
net_release (struct sbx_net **net)
{
  sbx_net_close (*net);
}

/* While the monitor carries a network, writes to sockets whose peer went
   away (libslirp's, the published ports') must fail with EPIPE, not kill
   it: SIGPIPE is ignored from the moment the container is cloned (the
   child keeps its own dispositions) until the network is closed.  Merely
   blocking it is not enough: a SIGPIPE left pending would be delivered
   when the mask is restored, and sbx would die with 141 after its
   container ended.  Setting SIG_IGN also discards a pending one.  */
struct sigpipe_guard
{
  bool armed;
  struct sigaction old;
};

static void
sigpipe_guard_arm (struct sigpipe_guard *g)
{
  struct sigaction ign = { .sa_handler = SIG_IGN };

  g->armed = sigaction (SIGPIPE, &ign, &g->old) == 0;
}

static void
sigpipe_guard_release (struct sigpipe_guard *g)
{
  if (g->armed)
    (void) sigaction (SIGPIPE, &g->old, NULL);
}

/* One line per published port on stderr (stdout is the container's), and
   with SSH_CONNECTION the tunnel a user runs on their own computer to reach
   a loopback-bound port of this (remote) host.  */
static void
announce_ports (const struct sbx_run_config *cfg)
{
  const char *ssh = getenv ("SSH_CONNECTION");
  char host[256] = "";
  const char *user = getenv ("USER");
  unsigned long ssh_port = 22;

  for (size_t i = 0; i < cfg->n_ports; i++)
    {
      cleanup_free char *addr = sbx_net_port_host_address (&cfg->ports[i]);

      fprintf (stderr, "sbx: %s -> %u/%s\n", addr, cfg->ports[i].ctr_port,
               cfg->ports[i].proto == SBX_PORT_UDP ? "udp" : "tcp");
    }
  if (ssh == NULL || *ssh == '\0')
    return;
  /* "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT" */
  {
    const char *p = ssh;

    for (int field = 0; field < 3 && p; field++)
      {
        p = strchr (p, ' ');
        p = p ? p + 1 : NULL;
      }
    if (p)
      ssh_port = strtoul (p, NULL, 10);
  }
  (void) gethostname (host, sizeof host - 1);
  for (size_t i = 0; i < cfg->n_ports; i++)
    if (cfg->ports[i].proto == SBX_PORT_TCP)
      {
        char port_opt[32] = "";

        if (ssh_port != 22 && ssh_port != 0)
          snprintf (port_opt, sizeof port_opt, "-p %lu ", ssh_port);
        fprintf (stderr, "sbx: from your computer: ssh -N -L %u:127.0.0.1:%u %s%s%s%s\n",
                 cfg->ports[i].host_port, cfg->ports[i].host_port, port_opt, user ? user : "",
                 user ? "@" : "", host);
      }
}

/* Detached: the container's stdout and stderr are pipes the monitor reads
   and writes, with timestamps, to the log file.  */
struct log_pipes
{
  int out[2];
  int err[2];
  int log;
};

static int
log_pipes_open (struct log_pipes *l, const char *path, struct sbx_error **err)
{
  l->log = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (l->log < 0)
    return sbx_err_errno (err, "open the log `%s`", path);
  if (pipe2 (l->out, O_CLOEXEC) < 0 || pipe2 (l->err, O_CLOEXEC) < 0)
    return sbx_err_errno (err, "pipe");
  return 0;
}

/* In the container's first process: stdin from /dev/null, stdout and
   stderr into the pipes (dup2 clears close-on-exec).  */
static void
log_pipes_child (struct log_pipes *l)
{
  int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  if (null >= 0)
    (void) dup2 (null, STDIN_FILENO);
  (void) dup2 (l->out[1], STDOUT_FILENO);
  (void) dup2 (l->err[1], STDERR_FILENO);
}

static void
log_pipes_parent (struct log_pipes *l)
{
  for (int i = 0; i < 2; i++)
    {
      int *p = i ? l->err : l->out;

      if (p[1] >= 0)
        (void) close (p[1]);
      p[1] = -1;
      if (p[0] >= 0)
        (void) fcntl (p[0], F_SETFL, O_NONBLOCK);
    }
}

static void
log_pipes_close (struct log_pipes *l)
{
  int *fds[] = { &l->out[0], &l->out[1], &l->err[0], &l->err[1], &l->log };

  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (*fds[i] >= 0)
      {
        (void) close (*fds[i]);
        *fds[i] = -1;
      }
}

/* For `sbx stop`, `kill`, `exec` and `top`: the container's first process,
   as the host sees it.  */
static void
write_container_pid (const char *state_dir, pid_t pid)
{
  cleanup_free char *path = xasprintf ("%s/ctrpid", state_dir);
  struct sbx_error *ignored = NULL;
  char buf[24];

  snprintf (buf, sizeof buf, "%d\n", (int) pid);
  if (sbx_fs_write_file_at (AT_FDCWD, path, buf, strlen (buf), 0600, &ignored) < 0)
    {
      sbx_debug ("%s", ignored->msg);
      sbx_error_clear (&ignored);
    }
}

static int
start_container (const struct setup_ctx *ctx, const struct sbx_userns_plan *plan,
                 struct sbx_net *net, int *exit_code, struct sbx_error **err)
{
  const struct sbx_run_config *cfg = ctx->cfg;
  /* Declared first, released last: the FUSE server outlives the container.  */
  __attribute__ ((cleanup (child_guard_release))) struct child_guard fuse = { 0 };
  __attribute__ ((cleanup (child_guard_release))) struct child_guard child = { 0 };
  __attribute__ ((cleanup (sigmask_guard_release))) struct sigmask_guard mask = { 0 };
  cleanup_close int sigfd = -1;
  cleanup_close int mon_sock = -1;
  cleanup_close int child_sock = -1;
  __attribute__ ((cleanup (log_pipes_close))) struct log_pipes logs
      = { { -1, -1 }, { -1, -1 }, -1 };
  struct monitor_ctx m;
  int flags
      = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  int socks[2];
  long pid;
  int r;

  if (cfg->network != SBX_NETWORK_HOST)
    flags |= CLONE_NEWNET;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0)
    return sbx_err_errno (err, "socketpair");
  mon_sock = socks[0];
  child_sock = socks[1];
  if (cfg->detached && log_pipes_open (&logs, cfg->log_path, err) < 0)
    return -1;

  sigfd = monitor_block_signals (&mask.old, err);
  if (sigfd < 0)
    return -1;
  mask.armed = true;

  pid = syscall (SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      sbx_err_errno (err, "create the container's namespaces");
      if (errno == EPERM || errno == ENOSPC || errno == EINVAL || errno == EUSERS)
        sbx_err_hint (err, SBX_HINT_USERNS);
      return -1;
    }
  if (pid == 0)
    {
      struct setup_ctx c = *ctx;

      (void) close (mon_sock);
      c.sync_fd = child_sock;
      if (cfg->detached)
        log_pipes_child (&logs);
      setup_child_main (&c);
    }
  child.pid = (pid_t) pid;
  (void) close (steal_fd (&child_sock));
  log_pipes_parent (&logs);
  write_container_pid (ctx->state_dir, child.pid);

  if (sbx_userns_write_maps (child.pid, plan, cfg->keep_id, err) < 0)
    return -1;
  if (cfg->driver == SBX_DRIVER_FUSE && cfg->n_lowers > 0)
    {
      struct sbx_overlay_req req = { .lowers = cfg->lowers,
                                     .n_lowers = cfg->n_lowers,
                                     .upper = cfg->upper,
                                     .work = cfg->work,
                                     .target = cfg->rootfs,
                                     .volatile_upper = cfg->volatile_upper };

      /* The server joins the container's namespaces now that the maps are
         written, and mounts the root before the setup child goes on.  */
      if (sbx_overlay_fuse_start (child.pid, &req, &fuse.pid, err) < 0)
        return -1;
    }
  if (net)
    {
      if (sbx_net_attach (net, child.pid, err) < 0)
        return -1;
      announce_ports (cfg);
    }
  if (sync_send (mon_sock, SYNC_GO, err) < 0)
    return -1;

  m = (struct monitor_ctx){ .child = child.pid,
                            .sync_fd = mon_sock,
                            .sigfd = sigfd,
                            .tty = cfg->tty,
                            .interactive = cfg->interactive,
                            .net = net,
                            .log_fd = logs.log,
                            .out_fd = logs.out[0],
                            .err_fd = logs.err[0],
                            .ready_fd = cfg->detached ? cfg->ready_fd : -1 };
  r = monitor_run (&m, exit_code, err);
  if (r == 0 || *exit_code != 125)
    child.pid = 0; /* reaped by the monitor */
  return r;
}

/* Image mode: the overlay's mount point and the tmpfs for its writable
   layer, created empty in the container's state directory.  */
static int
make_image_dirs (struct state_guard *g, struct sbx_error **err)
{
  cleanup_close int dfd = openat (g->statefd, g->name, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (dfd < 0)
    return sbx_err_errno (err, "open container state");
  if (mkdirat (dfd, "rootfs", 0755) < 0 || mkdirat (dfd, "scratch", 0700) < 0)
    return sbx_err_errno (err, "create the container's mount points");
  return 0;
}

/* What `sbx exec` needs to make a process like the container's first one
   (enter.c reads it).  */
static int
write_exec_info (const char *state_dir, const struct setup_ctx *ctx, struct sbx_error **err)
{
  cleanup_json struct sbx_json *o = sbx_json_object ();
  struct sbx_json *env = sbx_json_array ();
  cleanup_free char *path = xasprintf ("%s/exec.json", state_dir);
  cleanup_free char *text = NULL;
  char caps[24];

  for (size_t i = 0; ctx->cfg->env && ctx->cfg->env[i]; i++)
    sbx_json_append_str (env, ctx->cfg->env[i]);
  sbx_json_set (o, "env", env);
  snprintf (caps, sizeof caps, "%llx", (unsigned long long) ctx->cfg->caps);
  sbx_json_set_str (o, "caps", caps);
  sbx_json_set_str (o, "workdir", ctx->cfg->workdir);
  sbx_json_set_str (o, "user", ctx->cfg->user);
  sbx_json_set_int (o, "fakeroot", ctx->cfg->fakeroot);
  sbx_json_set_int (o, "single", ctx->single_mode);
  sbx_json_set_int (o, "uid", ctx->inside_uid);
  sbx_json_set_int (o, "gid", ctx->inside_gid);
  text = sbx_json_dump (o);
  return sbx_fs_write_file_at (AT_FDCWD, path, text, strlen (text), 0600, err);
}

static int
record_image (struct state_guard *g, const char *image, struct sbx_error **err)
{
  cleanup_free char *path = xasprintf ("%s/image", g->name);

  return sbx_fs_write_file_at (g->statefd, path, image, strlen (image), 0600, err);
}

int
sbx_runtime_run (const struct sbx_run_config *cfg, const struct sbx_userns_plan *plan,
                 int *exit_code, struct sbx_error **err)
{
  /* Declared first, released last: SIGPIPE is ignored until the network
     is closed, and the network outlives the container and its state.  */
  __attribute__ ((cleanup (sigpipe_guard_release))) struct sigpipe_guard pipe_guard = { 0 };
  __attribute__ ((cleanup (net_release))) struct sbx_net *net = NULL;
  __attribute__ ((cleanup (state_guard_release))) struct state_guard state
      = { .statefd = -1, .lockfd = -1 };
  cleanup_free char *state_dir = NULL;
  cleanup_free char *container_dir = NULL;
  cleanup_free char *image_root = NULL;
  cleanup_free char *hostname = NULL;
  cleanup_strv char **env = NULL;
  struct sbx_run_config c = *cfg;
  struct setup_ctx ctx;
  struct stat st;

  *exit_code = 125;
  /* Validate and acquire everything before any namespace exists.  */
  if (cfg->n_lowers == 0 && (stat (cfg->rootfs, &st) < 0 || ! S_ISDIR (st.st_mode)))
    return sbx_err_code (err, errno ? errno : ENOTDIR, "rootfs `%s`", cfg->rootfs);
  for (size_t i = 0; i < cfg->n_mounts; i++)
    if (stat (cfg->mounts[i].source, &st) < 0)
      return sbx_err_errno (err, "volume source `%s`", cfg->mounts[i].source);

  if (cfg->hostname)
    hostname = xstrdup (cfg->hostname);
  else if (cfg->network == SBX_NETWORK_HOST)
    {
      char buf[256] = "";
      (void) gethostname (buf, sizeof buf - 1);
      hostname = xstrdup (buf);
    }
  else
    hostname = xstrndup (cfg->id, 12);
  env = build_env (cfg, hostname);
  c.env = env;

  state_dir = sbx_runtime_state_dir (err);
  if (state_dir == NULL)
    return -1;
  state.statefd = open (state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state.statefd < 0)
    return sbx_err_errno (err, "open `%s`", state_dir);
  sweep_stale (state.statefd);
  state.name = xstrdup (cfg->id);
  container_dir = xasprintf ("%s/%s", state_dir, cfg->id);
  if (cfg->network == SBX_NETWORK_SLIRP)
    {
      /* Before anything else exists: a port in use fails the run here.  */
      if (sbx_net_open (cfg->net, cfg->ports, cfg->n_ports, &net, err) < 0)
        return -1;
    }
  if (write_state_files (&state, hostname, cfg, err) < 0)
    return -1;
  if (cfg->n_lowers > 0)
    {
      if (make_image_dirs (&state, err) < 0)
        return -1;
      image_root = xasprintf ("%s/rootfs", container_dir);
      c.rootfs = image_root;
    }
  if (cfg->image && record_image (&state, cfg->image, err) < 0)
    return -1;

  ctx = (struct setup_ctx){
    .cfg = &c,
    .hostname = hostname,
    .state_dir = container_dir,
    .sync_fd = -1,
    .inside_uid = cfg->keep_id ? plan->uid : 0,
    .inside_gid = cfg->keep_id ? plan->gid : 0,
    .single_mode = plan->mode == SBX_USERNS_SINGLE,
  };
  if (write_exec_info (container_dir, &ctx, err) < 0)
    return -1;
  if (net)
    sigpipe_guard_arm (&pipe_guard);
  return start_container (&ctx, plan, net, exit_code, err);
}

char **
sbx_runtime_images_in_use (struct sbx_error **err)
{
  cleanup_free char *state_dir = sbx_runtime_state_dir (err);
  cleanup_close int statefd = -1;
  cleanup_dir DIR *d = NULL;
  char **out = NULL;
  struct dirent *de;
  int fd;

  if (state_dir == NULL)
    return NULL;
  statefd = open (state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (statefd < 0)
    return sbx_err_errno (err, "open `%s`", state_dir), NULL;
  fd = fcntl (statefd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        (void) close (fd);
      return sbx_err_errno (err, "read `%s`", state_dir), NULL;
    }
  out = xcalloc (1, sizeof (char *));
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *lock = xasprintf ("%s/lock", de->d_name);
      cleanup_free char *img = xasprintf ("%s/image", de->d_name);
      cleanup_close int lfd = openat (statefd, lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      struct sbx_error *ignored = NULL;
      char *content;

      if (lfd < 0 || flock (lfd, LOCK_SH | LOCK_NB) == 0)
        continue; /* not running */
      content = sbx_fs_read_file_at (statefd, img, 256, NULL, &ignored);
      sbx_error_clear (&ignored);
      if (content)
        sbx_strv_push_take (&out, content);
    }
  return out;
}

pid_t
sbx_runtime_container_pid (const char *id)
{
  struct sbx_error *ignored = NULL;
  cleanup_free char *state = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  long pid;

  if (sbx_runtime_monitor_pid (id) <= 0)
    return 0;
  state = sbx_runtime_state_dir (&ignored);
  sbx_error_clear (&ignored);
  if (state == NULL)
    return 0;
  path = xasprintf ("%s/%s/ctrpid", state, id);
  text = sbx_fs_read_file_at (AT_FDCWD, path, 64, NULL, &ignored);
  sbx_error_clear (&ignored);
  pid = text ? strtol (text, NULL, 10) : 0;
  return pid > 0 ? (pid_t) pid : 0;
}

pid_t
sbx_runtime_monitor_pid (const char *id)
{
  struct sbx_error *ignored = NULL;
  cleanup_free char *state = sbx_runtime_state_dir (&ignored);
  cleanup_free char *lock = NULL;
  cleanup_free char *pidfile = NULL;
  cleanup_free char *text = NULL;
  cleanup_close int lfd = -1;
  long pid;

  sbx_error_clear (&ignored);
  if (state == NULL)
    return 0;
  lock = xasprintf ("%s/%s/lock", state, id);
  lfd = open (lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (lfd < 0 || flock (lfd, LOCK_SH | LOCK_NB) == 0)
    return 0; /* no state, or nobody holds it: not running */
  pidfile = xasprintf ("%s/%s/pid", state, id);
  text = sbx_fs_read_file_at (AT_FDCWD, pidfile, 64, NULL, &ignored);
  sbx_error_clear (&ignored);
  pid = text ? strtol (text, NULL, 10) : 0;
  if (pid <= 0)
    return 0;
  /* The lock can outlive the monitor a moment (a FUSE server inherited it),
     and a pid can be reused: make sure it is still an sbx of ours.  */
  {
    cleanup_free char *comm_path = xasprintf ("/proc/%ld/comm", pid);
    cleanup_free char *comm = sbx_fs_read_file_at (AT_FDCWD, comm_path, 64, NULL, &ignored);
    struct stat st;

    sbx_error_clear (&ignored);
    if (comm == NULL || strncmp (comm, "sbx", 3) != 0 || stat (comm_path, &st) < 0
        || st.st_uid != getuid ())
      return 0;
  }
  return (pid_t) pid;
}

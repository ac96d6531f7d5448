/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kept containers: running one (shared by run and start), ps, rm, start,
   commit, diff.  */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "layer/layer.h"
#include "overlay/overlay.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* ---- names and placement ---- */

char *
cli_container_name (void)
{
  static const char *const adj[]
      = { "brave", "calm",  "eager", "fancy", "gentle", "happy", "jolly",  "keen",  "lucid",
          "merry", "nifty", "proud", "quiet", "sharp",  "swift", "tender", "vivid", "witty" };
  static const char *const noun[]
      = { "turing",   "hopper", "lovelace", "noether", "curie", "dijkstra", "knuth",   "ritchie",
          "thompson", "liskov", "shannon",  "goedel",  "euler", "gauss",    "hypatia", "kepler" };
  uint32_t r = 0;

  if (getrandom (&r, sizeof r, 0) != (ssize_t) sizeof r)
    r = (uint32_t) time (NULL);
  return xasprintf ("%s_%s", adj[r % SBX_N_ELEMENTS (adj)],
                    noun[(r / SBX_N_ELEMENTS (adj)) % SBX_N_ELEMENTS (noun)]);
}

/* Network filesystems break overlay upper layers (DESIGN.md §4).  */
static bool
is_network_fs (const char *path)
{
  struct statfs sf;

  if (statfs (path, &sf) < 0)
    return false;
  switch ((unsigned long) sf.f_type)
    {
    case 0x6969:     /* NFS */
    case 0x0BD00BD0: /* Lustre */
    case 0x47504653: /* GPFS */
    case 0xFF534D42: /* CIFS */
    case 0xFE534D42: /* SMB2 */
    case 0x65735546: /* FUSE (sshfs, …) */
    case 0x6B414653: /* AFS */
    case 0x013111A8: /* IBRIX */
    case 0x19830326: /* BeeGFS */
      return true;
    default:
      return false;
    }
}

bool
cli_store_is_remote (const struct cli_globals *g)
{
  cleanup_free char *root = cli_store_root (g);
  cleanup_free char *probe = xstrdup (root);

  /* The store may not exist yet: look at the nearest existing parent.  */
  while (access (probe, F_OK) < 0 && strrchr (probe, '/') && strrchr (probe, '/') != probe)
    *strrchr (probe, '/') = '\0';
  return is_network_fs (probe);
}

int
cli_container_layer_dirs (struct sbx_store *s, const char *id, char **upper, char **work)
{
  cleanup_free char *dir = sbx_container_dir (s, id);
  cleanup_free char *parent = xasprintf ("%s/containers", sbx_store_root (s));

  (void) sbx_fs_mkdir_p (parent, 0700, NULL);
  if (is_network_fs (parent))
    {
      const char *tmp = getenv ("TMPDIR");
      cleanup_free char *local
          = xasprintf ("%s/sbx-%u/containers/%s", tmp && *tmp == '/' ? tmp : "/var/tmp",
                       (unsigned) getuid (), id);

      sbx_info ("the store is on a network filesystem: the writable layer goes to `%s`", local);
      *upper = xasprintf ("%s/upper", local);
      *work = xasprintf ("%s/work", local);
      return 1;
    }
  *upper = xasprintf ("%s/upper", dir);
  *work = xasprintf ("%s/work", dir);
  return 0;
}

/* overlay, or fuse when the kernel refuses an unprivileged overlay mount
   (probed once per kernel; the answer is cached in the state directory).  */
int
cli_pick_driver (const char *want, enum sbx_storage_driver *out, struct sbx_error **err)
{
  cleanup_free char *state = NULL;
  cleanup_free char *cache = NULL;
  cleanup_free char *seen = NULL;
  struct sbx_error *probe = NULL;
  struct utsname u;
  const char *tmp = getenv ("TMPDIR");
  char line[128];

  if (want == NULL) /* $SBX_STORAGE_DRIVER, config.json, auto (config.c) */
    want = cli_config_get ()->storage_driver.value;
  if (strcmp (want, "overlay") == 0 || strcmp (want, "fuse") == 0)
    {
      *out = strcmp (want, "fuse") == 0 ? SBX_DRIVER_FUSE : SBX_DRIVER_OVERLAY;
      return 0;
    }
  if (strcmp (want, "auto") != 0)
    return sbx_err (err, EINVAL, "invalid storage driver `%s`: expected auto, overlay or fuse",
                    want);
  (void) uname (&u);
  state = sbx_runtime_state_dir (err);
  if (state == NULL)
    return -1;
  cache = xasprintf ("%s/driver-probe", state);
  seen = sbx_fs_read_file_at (AT_FDCWD, cache, 256, NULL, &probe);
  sbx_error_clear (&probe);
  if (seen && strncmp (seen, u.release, strlen (u.release)) == 0 && seen[strlen (u.release)] == ' ')
    {
      *out = strstr (seen, " overlay") ? SBX_DRIVER_OVERLAY : SBX_DRIVER_FUSE;
      return 0;
    }
  *out = sbx_overlay_probe_native (tmp && *tmp == '/' ? tmp : "/tmp", &probe) == 0
             ? SBX_DRIVER_OVERLAY
             : SBX_DRIVER_FUSE;
  if (probe)
    sbx_debug ("native overlay unusable (%s): using the fuse driver", probe->msg);
  sbx_error_clear (&probe);
  snprintf (line, sizeof line, "%s %s\n", u.release,
            *out == SBX_DRIVER_OVERLAY ? "overlay" : "fuse");
  if (sbx_fs_write_file_at (AT_FDCWD, cache, line, strlen (line), 0600, &probe) < 0)
    sbx_error_clear (&probe);
  return 0;
}

const char *
cli_driver_name (enum sbx_storage_driver d)
{
  return d == SBX_DRIVER_FUSE ? "fuse" : "overlay";
}

/* ---- running a kept container ---- */

struct run_holder
{
  struct sbx_image *img;
  char **lowers;
  char **env;
  struct sbx_mount_spec *mounts;
  size_t n_mounts;
  struct cli_net net;
  char image_id[SBX_DIGEST_STR_MAX];
};

static void
run_holder_release (struct run_holder *h)
{
  size_t i;

  sbx_image_free (h->img);
  sbx_strv_free (h->lowers);
  sbx_strv_free (h->env);
  for (i = 0; i < h->n_mounts; i++)
    sbx_mount_spec_release (&h->mounts[i]);
  free (h->mounts);
  cli_net_release (&h->net);
}

/* The runtime's view of container C: its image's layers and config under
   what was given to run.  */
static int
container_config (struct sbx_store *s, const struct sbx_container *c, struct run_holder *h,
                  struct sbx_run_config *cfg, struct sbx_error **err)
{
  struct sbx_userns_plan plan;
  size_t i;

  sbx_userns_detect (&plan);
  if (cli_unpack_image (s, &c->image, &plan, err) < 0
      || sbx_image_load (s, &c->image, &h->img, err) < 0)
    return sbx_err_prefix (err, "container `%s`", c->name);
  for (i = h->img->config->n_diff_ids; i > 0; i--)
    sbx_strv_push_take (&h->lowers, sbx_store_layer_path (s, &h->img->config->diff_ids[i - 1]));
  h->env = sbx_strv_dup (h->img->config->env);
  for (i = 0; c->env && c->env[i]; i++)
    sbx_strv_push (&h->env, c->env[i]);
  for (i = 0; c->volumes && c->volumes[i]; i++)
    {
      h->mounts = xrealloc (h->mounts, xmul (h->n_mounts + 1, sizeof *h->mounts));
      memset (&h->mounts[h->n_mounts], 0, sizeof *h->mounts);
      if (sbx_spec_parse_volume (c->volumes[i], "/", &h->mounts[h->n_mounts], err) < 0)
        return -1;
      h->n_mounts++;
    }
  if (cli_volumes_prepare (s, h->mounts, h->n_mounts, err) < 0)
    return sbx_err_prefix (err, "container `%s`", c->name);
  *cfg = (struct sbx_run_config){
    .id = c->id,
    .lowers = h->lowers,
    .n_lowers = sbx_strv_len (h->lowers),
    .image = sbx_digest_format (&c->image, h->image_id),
    .upper = c->upper,
    .work = c->work,
    .volatile_upper = c->autoremove,
    .driver = c->driver && strcmp (c->driver, "fuse") == 0 ? SBX_DRIVER_FUSE : SBX_DRIVER_OVERLAY,
    .tmpfs = c->tmpfs,
    .argv = c->argv,
    .env = h->env,
    .workdir
    = c->workdir
          ? c->workdir
          : (h->img->config->workdir && *h->img->config->workdir ? h->img->config->workdir : NULL),
    .user = c->user ? c->user
                    : (h->img->config->user && *h->img->config->user ? h->img->config->user : NULL),
    .hostname = c->hostname,
    .mounts = h->mounts,
    .n_mounts = h->n_mounts,
    .add_hosts = c->add_hosts,
    .name = c->name,
    .tty = c->tty,
    .interactive = c->interactive,
    .init = c->init,
    .read_only = c->read_only,
    .keep_id = c->keep_id,
    .fakeroot = c->fakeroot,
  };
  if (cli_net_parse_mode (c->network ? c->network : "slirp", &h->net, err) < 0
      || cli_net_resolve (&h->net, cli_config_get ()->publish_address.value, c->publish,
                          c->publish_all, h->img->config->exposed_ports, c->dns, c->network != NULL,
                          err)
             < 0)
    return sbx_err_prefix (err, "container `%s`", c->name);
  cli_net_apply (&h->net, cfg);
  return sbx_caps_resolve (c->cap_add, c->cap_drop, &cfg->caps, err);
}

struct remove_arg
{
  struct sbx_store *store;
  const struct sbx_container *c;
};

static int
remove_fn (void *arg, struct sbx_error **err)
{
  struct remove_arg *a = arg;

  return sbx_container_remove (a->store, a->c, err);
}

int
cli_remove_container (struct sbx_store *s, const struct sbx_container *c, struct sbx_error **err)
{
  struct remove_arg a = { s, c };
  struct sbx_userns_plan plan;
  struct sbx_error *direct = NULL;

  /* Most writable layers hold only files of the user (root inside) in
     directories they may write: remove them directly, and start a user
     namespace (two setuid helpers in subuid mode, ~3 ms of every
     `run --rm`) only for what that could not remove, e.g. a directory of
     a subordinate id.  */
  if (sbx_container_remove (s, c, &direct) == 0)
    return 0;
  sbx_error_clear (&direct);
  sbx_userns_detect (&plan);
  return cli_store_op (&plan, remove_fn, &a, err);
}

/* The detached monitor's end of the start-up report: one NUL byte when the
   command runs, or "CODE MESSAGE" when the container could not start.  */
static void
report_start (int fd, int code, const struct sbx_error *e)
{
  cleanup_free char *msg = e ? xasprintf ("%d %s", code, e->msg) : NULL;
  struct sbx_error *ignored = NULL;

  if (sbx_write_all (fd, msg ? msg : "", msg ? strlen (msg) : 1, &ignored) < 0)
    sbx_error_clear (&ignored);
}

/* The mark cli_container_mark_restart() leaves in the container's
   directory DIR (free() it).  */
static char *
restart_mark (const char *dir)
{
  return xasprintf ("%s/restarting", dir);
}

/* Whether the restart mark was in DIR (it is gone after).  */
static bool
take_restart_mark (const char *dir)
{
  cleanup_free char *mark = restart_mark (dir);

  return unlink (mark) == 0;
}

int
cli_container_mark_restart (struct sbx_store *s, const char *id, struct sbx_error **err)
{
  cleanup_free char *dir = sbx_container_dir (s, id);
  cleanup_free char *mark = restart_mark (dir);
  cleanup_close int fd = open (mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    return sbx_err_errno (err, "mark container `%s` for restart", id);
  return 0;
}

static int
run_attached (struct sbx_store *s, struct sbx_container *c, int ready_fd, struct sbx_error **err)
{
  __attribute__ ((cleanup (run_holder_release))) struct run_holder h = { 0 };
  cleanup_free char *log = NULL;
  struct sbx_run_config cfg;
  struct sbx_userns_plan plan;
  struct sbx_error *local = NULL;
  int exit_code = SBX_EXIT_FAILURE;
  int r;

  cleanup_free char *dir = sbx_container_dir (s, c->id);
  cleanup_free char *lock = xasprintf ("%s/monitor.lock", dir);
  /* Held until the exit is recorded: `sbx wait` waits on it.  (The
     runtime's state lock goes earlier, with the state directory.)  */
  cleanup_close int lockfd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (lockfd >= 0)
    (void) flock (lockfd, LOCK_EX);
  if (container_config (s, c, &h, &cfg, err) < 0)
    return -1;
  if (ready_fd >= 0)
    {
      log = xasprintf ("%s/ctr.log", dir);
      cfg.detached = true;
      cfg.log_path = log;
      cfg.ready_fd = ready_fd;
    }
  c->started = time (NULL);
  c->finished = 0;
  if (sbx_container_save (s, c, err) < 0)
    return -1;
  sbx_userns_detect (&plan);
  r = sbx_runtime_run (&cfg, &plan, &exit_code, err);
  c->finished = time (NULL);
  c->exit_code = exit_code;
  if (c->autoremove && ! take_restart_mark (dir))
    {
      if (cli_remove_container (s, c, &local) < 0
          || cli_volumes_remove_anonymous (s, c, &local) < 0)
        {
          sbx_warn ("remove container `%s`: %s", c->name, local->msg);
          sbx_error_clear (&local);
        }
    }
  else if (sbx_container_save (s, c, &local) < 0)
    {
      sbx_warn ("%s", local->msg);
      sbx_error_clear (&local);
    }
  if (lockfd >= 0)
    (void) close (steal_fd (&lockfd));
  if (r < 0)
    {
      /* The exit code travels with the error for 126/127.  */
      c->exit_code = exit_code;
      return -1;
    }
  return exit_code;
}

/* `run -d`, `start`: the monitor goes on alone — a grandchild in a session
   of its own (no controlling terminal: logout and the death of the
   starting shell's process group do not reach it), its own output to
   monitor.log, the container's to ctr.log — and this process returns once
   the command runs, or with the reason it could not start.  */
static int
run_detached (struct sbx_store *s, struct sbx_container *c, struct sbx_error **err)
{
  cleanup_close int rd = -1;
  cleanup_close int wr = -1;
  char buf[512];
  ssize_t n;
  int fds[2], status;
  pid_t pid;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return sbx_err_errno (err, "pipe");
  rd = fds[0];
  wr = fds[1];
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    return sbx_err_errno (err, "fork");
  if (pid == 0)
    {
      struct sbx_error *e = NULL;
      cleanup_free char *dir = sbx_container_dir (s, c->id);
      cleanup_free char *mlog = xasprintf ("%s/monitor.log", dir);
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      int out = open (mlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      int r;

      (void) close (rd);
      if (setsid () < 0 || (pid = fork ()) < 0)
        _exit (125);
      if (pid > 0)
        _exit (0);
      (void) dup2 (null, STDIN_FILENO);
      (void) dup2 (null, STDOUT_FILENO);
      (void) dup2 (out >= 0 ? out : null, STDERR_FILENO);
      r = run_attached (s, c, wr, &e);
      if (r < 0)
        {
          sbx_error_log ("%s", e->msg);
          report_start (wr, c->exit_code >= 126 ? c->exit_code : SBX_EXIT_FAILURE, e);
        }
      else
        report_start (wr, 0, NULL); /* it ran (and maybe ended already) */
      _exit (r < 0 ? SBX_EXIT_FAILURE : r);
    }
  (void) close (steal_fd (&wr));
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  do
    n = read (rd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  if (n > 0 && buf[0] == '\0')
    return 0;
  if (n <= 0)
    return sbx_err (err, EIO,
                    "the container's monitor ended before the container started (see "
                    "monitor.log in its directory)");
  buf[n] = '\0';
  {
    char *sp = strchr (buf, ' ');
    long code = strtol (buf, NULL, 10);

    c->exit_code = code == 126 || code == 127 ? (int) code : SBX_EXIT_FAILURE;
    return sbx_err_raw (err, EIO, sp ? sp + 1 : buf);
  }
}

int
cli_wait_container (struct sbx_store *s, const char *id)
{
  cleanup_free char *dir = sbx_container_dir (s, id);
  cleanup_free char *lock = xasprintf ("%s/monitor.lock", dir);
  cleanup_close int fd = open (lock, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return 0;
  while (flock (fd, LOCK_SH) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

int
cli_run_container (struct sbx_store *s, struct sbx_container *c, bool detach,
                   struct sbx_error **err)
{
  if (detach)
    return run_detached (s, c, err);
  return run_attached (s, c, -1, err);
}

/* ---- ps ---- */

static void
human_ago (int64_t t, char *buf, size_t len)
{
  int64_t d = (int64_t) time (NULL) - t;

  if (t <= 0)
    snprintf (buf, len, "-");
  else if (d < 60)
    snprintf (buf, len, "%lld seconds ago", (long long) d);
  else if (d < 3600)
    snprintf (buf, len, "%lld minutes ago", (long long) (d / 60));
  else if (d < 86400)
    snprintf (buf, len, "%lld hours ago", (long long) (d / 3600));
  else
    snprintf (buf, len, "%lld days ago", (long long) (d / 86400));
}

static char *
joined_argv (char *const *argv)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  size_t i;

  for (i = 0; argv && argv[i]; i++)
    sbx_strbuf_addf (&sb, "%s%s", i ? " " : "", argv[i]);
  return sbx_strbuf_detach (&sb);
}

static void
status_text (const struct sbx_container *c, bool running, char *buf, size_t len)
{
  char ago[64];

  if (running)
    {
      human_ago (c->started, ago, sizeof ago);
      snprintf (buf, len, "Up (since %s)", ago);
    }
  else if (c->exit_code < 0 || c->finished <= 0)
    snprintf (buf, len, c->started > 0 ? "Exited (unknown)" : "Created");
  else
    {
      human_ago (c->finished, ago, sizeof ago);
      snprintf (buf, len, "Exited (%d) %s", c->exit_code, ago);
    }
}

int
cli_ps (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "all", no_argument, NULL, 'a' },          { "quiet", no_argument, NULL, 'q' },
    { "format", required_argument, NULL, 'f' }, { "no-trunc", no_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
  };
  cleanup_json struct sbx_json *arr = sbx_json_array ();
  struct sbx_container **list = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  bool all = false, quiet = false, json = false, notrunc = false;
  const char *tmpl = NULL;
  size_t n = 0, i;
  int c;

  while ((c = getopt_long (argc, argv, "+:aqf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'q':
        quiet = true;
        break;
      case 'n':
        notrunc = true;
        break;
      case 'f':
        if (strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0)
          json = true;
        else if (cli_format_is_template (optarg))
          tmpl = optarg;
        else if (strcmp (optarg, "table") != 0)
          return cli_usage_error ("ps",
                                  "invalid --format `%s`: expected table, json or a template "
                                  "such as '{{.Names}}'",
                                  optarg);
        break;
      case 'h':
        printf ("Usage: sbx ps [-a] [-q] [--format table|json|TEMPLATE] [--no-trunc]\n\n"
                "List running containers (-a: all kept ones too). TEMPLATE fields: .ID .Names\n"
                ".Image .Command .CreatedAt .Status .Ports .State\n");
        return 0;
      default:
        return cli_getopt_error ("ps", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("ps", "unexpected argument `%s`", argv[optind]);
  if (cli_open_store (g, &store, &err) < 0 || sbx_container_list (store, &list, &n, &err) < 0)
    {
      sbx_store_close (store);
      return cli_report ("ps", err, SBX_EXIT_FAILURE);
    }
  if (! quiet && ! json && ! tmpl)
    printf ("%-12s  %-28s  %-24s  %-16s  %-28s  %-28s  %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
            "CREATED", "STATUS", "PORTS", "NAMES");
  for (i = 0; i < n; i++)
    {
      struct sbx_container *k = list[i];
      bool running = sbx_runtime_monitor_pid (k->id) > 0;
      cleanup_free char *cmd = joined_argv (k->argv);
      cleanup_free char *ports = running ? cli_ports_summary (k->id) : xstrdup ("");
      char created[64], status[96];

      /* A --rm container whose sbx was killed: finish its removal now.  */
      if (! running && k->autoremove)
        {
          if (cli_remove_container (store, k, &err) < 0)
            sbx_error_clear (&err);
          continue;
        }
      if (! running && ! all)
        continue;
      human_ago (k->created, created, sizeof created);
      status_text (k, running, status, sizeof status);
      if (json)
        {
          struct sbx_json *o = sbx_json_object ();
          struct sbx_json *names = sbx_json_array ();
          struct sbx_json *command = sbx_json_array ();

          sbx_json_append_str (names, k->name);
          for (size_t a = 0; k->argv && k->argv[a]; a++)
            sbx_json_append_str (command, k->argv[a]);
          sbx_json_set_str (o, "Id", k->id);
          sbx_json_set (o, "Names", names);
          sbx_json_set_str (o, "Image", k->image_name);
          sbx_json_set (o, "Command", command);
          sbx_json_set_int (o, "Created", k->created);
          sbx_json_set_str (o, "State", running ? "running" : k->started ? "exited" : "created");
          sbx_json_set_str (o, "Status", status);
          sbx_json_set_int (o, "ExitCode", k->exit_code);
          sbx_json_set_str (o, "StorageDriver", k->driver);
          sbx_json_set_str (o, "Ports", ports);
          sbx_json_append (arr, o);
        }
      else if (quiet)
        printf ("%.*s\n", notrunc ? 64 : 12, k->id);
      else if (tmpl)
        {
          char shortid[13];
          const struct cli_field fields[] = {
            { "ID", notrunc ? k->id : shortid },
            { "Names", k->name },
            { "Image", k->image_name },
            { "Command", cmd },
            { "CreatedAt", created },
            { "Status", status },
            { "Ports", ports },
            { "State", running ? "running" : "exited" },
          };
          cleanup_free char *line = NULL;

          snprintf (shortid, sizeof shortid, "%.12s", k->id);
          line = cli_format_expand (tmpl, fields, sizeof fields / sizeof fields[0], &err);
          if (line == NULL)
            {
              sbx_container_list_free (list, n);
              sbx_store_close (store);
              return cli_report ("ps", err, SBX_EXIT_FAILURE);
            }
          fputs (line, stdout);
        }
      else
        printf ("%-12.12s  %-28.28s  %-24.24s  %-16s  %-28s  %-28s  %s\n", k->id,
                k->image_name ? k->image_name : "", cmd, created, status, ports, k->name);
    }
  if (json)
    {
      cleanup_free char *out = sbx_json_dump (arr);
      fputs (out, stdout);
    }
  sbx_container_list_free (list, n);
  sbx_store_close (store);
  return 0;
}

/* ---- rm ---- */

static int
parse_rm_flags (int argc, char **argv, bool *force, bool *volumes)
{
  static const struct option opts[] = {
    { "force", no_argument, NULL, 'f' },
    { "volumes", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  while ((c = getopt_long (argc, argv, "+:fv", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        *force = true;
        break;
      case 'v':
        *volumes = true;
        break;
      case 'h':
        fputs ("Usage: sbx rm [-f] [-v] CONTAINER...\n\nRemove stopped containers and their "
               "writable layers (-f: stop running ones\nfirst; -v: also their anonymous "
               "volumes).\n",
               stdout);
        return -1;
      default:
        return cli_getopt_error ("rm", c, argv);
      }
  return 0;
}

int
cli_rm (const struct cli_globals *g, int argc, char **argv)
{
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  bool force = false, volumes = false;
  int status = 0;
  int i, r;

  r = parse_rm_flags (argc, argv, &force, &volumes);
  if (r != 0)
    return r < 0 ? 0 : r;
  if (optind >= argc)
    return cli_usage_error ("rm", "no container given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("rm", err, SBX_EXIT_FAILURE);
  for (i = optind; i < argc; i++)
    {
      struct sbx_container *k = NULL;
      pid_t pid;
      r = sbx_container_load (store, argv[i], &k, &err);

      if (r == 0 && (pid = sbx_runtime_monitor_pid (k->id)) > 0)
        {
          if (! force)
            r = sbx_err (&err, EBUSY, "container `%s` is running (stop it, or use -f)", k->name);
          else
            {
              /* The container dies with its monitor (PR_SET_PDEATHSIG).  */
              (void) kill (pid, SIGKILL);
              for (int t = 0; t < 100 && sbx_runtime_monitor_pid (k->id) > 0; t++)
                usleep (20000);
            }
        }
      if (r == 0)
        r = cli_remove_container (store, k, &err);
      if (r == 0 && volumes)
        r = cli_volumes_remove_anonymous (store, k, &err);
      if (r == 0)
        printf ("%s\n", argv[i]);
      else
        {
          cli_report ("rm", err, 0);
          err = NULL;
          status = 1;
        }
      sbx_container_free (k);
    }
  sbx_store_close (store);
  return status;
}

/* ---- start ---- */

int
cli_start (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "attach", no_argument, NULL, 'a' },
    { "interactive", no_argument, NULL, 'i' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct sbx_container *k = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  bool interactive = false, attach = false;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:ai", opts, NULL)) != -1)
    switch (c)
      {
      case 'a':
        attach = true;
        break;
      case 'i':
        interactive = true;
        break;
      case 'h':
        printf ("Usage: sbx start [-a] [-i] CONTAINER\n\nRun a stopped container again, with "
                "the changes in its writable layer:\nin the background (its output goes to "
                "`sbx logs`), or attached to this\nterminal with -a, exiting with its status.\n"
                "\nExamples:\n  sbx start web\n  sbx start -a -i shell\n");
        return 0;
      default:
        return cli_getopt_error ("start", c, argv);
      }
  if (optind + 1 != argc)
    return cli_usage_error ("start", optind >= argc ? "no container given" : "too many arguments");
  if (cli_open_store (g, &store, &err) < 0
      || sbx_container_load (store, argv[optind], &k, &err) < 0)
    {
      sbx_store_close (store);
      return cli_report ("start", err, SBX_EXIT_FAILURE);
    }
  if (sbx_runtime_monitor_pid (k->id) > 0)
    r = sbx_err (&err, EBUSY, "container `%s` is already running", k->name);
  else
    {
      k->interactive |= interactive;
      k->autoremove = false;
      r = cli_run_container (store, k, ! attach, &err);
      if (r == 0 && ! attach)
        printf ("%s\n", argv[optind]);
    }
  if (r < 0)
    r = cli_report (NULL, err, k->exit_code >= 126 ? k->exit_code : SBX_EXIT_FAILURE);
  sbx_container_free (k);
  sbx_store_close (store);
  return r;
}

/* ---- commit ---- */

struct commit_arg
{
  struct sbx_store *store;
  const struct sbx_container *c;
  const char *name;
  struct sbx_digest manifest;
};

/* Runs as root of the user namespace: the upper layer may hold files of
   any mapped id and mode.  Everything it makes lands in the store.  */
static int
commit_fn (void *arg, struct sbx_error **err)
{
  struct commit_arg *a = arg;
  cleanup_free char *tmp
      = xasprintf ("%s/tmp/commit-%d-layer", sbx_store_root (a->store), (int) getpid ());
  cleanup_free char *config = NULL;
  cleanup_free char *manifest = NULL;
  cleanup_free struct sbx_descriptor *layers = NULL;
  cleanup_close int upper = -1;
  cleanup_close int fd = -1;
  struct sbx_image *img = NULL;
  struct sbx_descriptor cfgd = { 0 };
  struct sbx_digest diff_id, blob;
  char created[32];
  time_t now = time (NULL);
  size_t i, n;
  int r = -1;

  strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime (&now));
  upper = open (a->c->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upper < 0)
    return sbx_err_errno (err, "open the writable layer `%s`", a->c->upper);
  fd = open (tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return sbx_err_errno (err, "create `%s`", tmp);
  if (sbx_layer_write_tar (upper, fd, "gzip", -1, &diff_id, err) < 0 || lseek (fd, 0, SEEK_SET) < 0
      || sbx_store_put_blob_fd (a->store, fd, NULL, -1, &blob, err) < 0)
    {
      (void) unlink (tmp);
      return -1;
    }
  (void) unlink (tmp);
  if (sbx_image_load (a->store, &a->c->image, &img, err) < 0)
    return -1;
  n = img->manifest->n_layers;
  layers = xcalloc (n + 1, sizeof *layers);
  memcpy (layers, img->manifest->layers, n * sizeof *layers);
  layers[n] = (struct sbx_descriptor){ .media_type = (char *) SBX_MT_OCI_LAYER_GZIP,
                                       .digest = blob,
                                       .size = sbx_store_blob_size (a->store, &blob) };
  config = sbx_image_config_add_layer (img->config_json, &diff_id, a->c->argv, "sbx commit",
                                       created, err);
  if (config && sbx_store_put_blob (a->store, config, strlen (config), &cfgd.digest, err) == 0)
    {
      cfgd.media_type = (char *) SBX_MT_OCI_CONFIG;
      cfgd.size = (int64_t) strlen (config);
      manifest = sbx_manifest_build (&cfgd, layers, n + 1);
      r = sbx_store_put_blob (a->store, manifest, strlen (manifest), &a->manifest, err);
    }
  for (i = 0; i < n + 1; i++)
    layers[i].media_type = NULL; /* borrowed */
  sbx_image_free (img);
  if (r < 0)
    return -1;
  return sbx_store_set_ref (a->store, a->name, &a->manifest, err);
}

int
cli_commit (const struct cli_globals *g, int argc, char **argv)
{
  struct sbx_container *k = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  struct sbx_userns_plan plan;
  cleanup_free char *name = NULL;
  struct commit_arg a = { 0 };
  int r;

  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sbx commit CONTAINER NAME\n\nMake an image from a container's image and "
              "the changes in its writable layer\n(one more layer; the container's command "
              "becomes the image's Cmd).\n");
      return 0;
    }
  if (argc != 3)
    return cli_usage_error ("commit", "expected CONTAINER and NAME");
  name = cli_normalize_ref (argv[2], &err);
  if (name == NULL)
    return cli_report ("commit", err, SBX_EXIT_FAILURE);
  if (cli_open_store (g, &store, &err) < 0 || sbx_container_load (store, argv[1], &k, &err) < 0)
    {
      sbx_store_close (store);
      return cli_report ("commit", err, SBX_EXIT_FAILURE);
    }
  a = (struct commit_arg){ .store = store, .c = k, .name = name };
  sbx_userns_detect (&plan);
  if (! sbx_digest_is_set (&k->image))
    r = sbx_err (&err, EINVAL, "container `%s` runs a --rootfs tree, not an image", k->name);
  else if (k->upper == NULL || *k->upper == '\0')
    r = sbx_err (&err, EINVAL, "container `%s` has no writable layer (--read-only)", k->name);
  else
    r = cli_store_op (&plan, commit_fn, &a, &err);
  if (r == 0)
    {
      struct sbx_digest m;

      /* The name is recorded by the helper; read it back for the digest.  */
      if (sbx_store_lookup_ref (store, name, &m, &err) == 1
          && cli_unpack_image (store, &m, &plan, &err) == 0)
        {
          struct sbx_image *img = NULL;

          if (sbx_image_load (store, &m, &img, &err) == 0)
            {
              char id[SBX_DIGEST_STR_MAX];
              printf ("%s\n", sbx_digest_format (&img->config_digest, id));
              sbx_image_free (img);
            }
        }
      r = err ? -1 : 0;
    }
  sbx_container_free (k);
  sbx_store_close (store);
  return r < 0 ? cli_report ("commit", err, SBX_EXIT_FAILURE) : 0;
}

/* ---- diff ---- */

struct diff_arg
{
  const struct sbx_container *c;
  char **lowers;
  int *lowerfds;
  size_t n_lowers;
};

static bool
in_lowers (struct diff_arg *a, const char *path)
{
  size_t i;

  for (i = 0; i < a->n_lowers; i++)
    {
      cleanup_error struct sbx_error *ignored = NULL;
      cleanup_close int fd
          = sbx_fs_open_in_root (a->lowerfds[i], path, O_PATH | O_NOFOLLOW, 0, &ignored);
      if (fd >= 0)
        return true;
    }
  return false;
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
diff_walk (struct diff_arg *a, int dirfd, const char *prefix, bool parent_new,
           struct sbx_error **err)
{
  cleanup_dir DIR *d = NULL;
  char **names = NULL;
  struct dirent *de;
  size_t n = 0, i;
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        (void) close (fd);
      return sbx_err_errno (err, "read `%s`", *prefix ? prefix : "/");
    }
  names = sbx_strv_dup (NULL);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      sbx_strv_push (&names, de->d_name);
  n = sbx_strv_len (names);
  qsort (names, n, sizeof (char *), cmp_names);
  for (i = 0; i < n; i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", prefix, names[i]);
      struct stat st;
      bool added;

      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISCHR (st.st_mode) && st.st_rdev == 0)
        {
          printf ("D %s\n", path);
          continue;
        }
      added = parent_new || ! in_lowers (a, path);
      printf ("%c %s\n", added ? 'A' : 'C', path);
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int sub
              = openat (dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          if (sub < 0 || diff_walk (a, sub, path, added, err) < 0)
            {
              sbx_strv_free (names);
              return sub < 0 ? sbx_err_errno (err, "open `%s`", path) : -1;
            }
        }
    }
  sbx_strv_free (names);
  return 0;
}

static int
diff_fn (void *arg, struct sbx_error **err)
{
  struct diff_arg *a = arg;
  cleanup_close int upper = open (a->c->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (upper < 0)
    return sbx_err_errno (err, "open the writable layer `%s`", a->c->upper);
  return diff_walk (a, upper, "", false, err);
}

int
cli_diff (const struct cli_globals *g, int argc, char **argv)
{
  struct sbx_container *k = NULL;
  struct sbx_store *store = NULL;
  struct sbx_image *img = NULL;
  struct sbx_error *err = NULL;
  struct sbx_userns_plan plan;
  struct diff_arg a = { 0 };
  size_t i;
  int r;

  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sbx diff CONTAINER\n\nList what a container changed: A added, C changed, "
              "D deleted.\n");
      return 0;
    }
  if (argc != 2)
    return cli_usage_error ("diff", "expected one CONTAINER");
  if (cli_open_store (g, &store, &err) < 0 || sbx_container_load (store, argv[1], &k, &err) < 0
      || sbx_image_load (store, &k->image, &img, &err) < 0)
    {
      sbx_container_free (k);
      sbx_store_close (store);
      return cli_report ("diff", err, SBX_EXIT_FAILURE);
    }
  a.c = k;
  a.n_lowers = img->config->n_diff_ids;
  a.lowerfds = xcalloc (a.n_lowers + 1, sizeof (int));
  for (i = 0; i < a.n_lowers; i++)
    {
      cleanup_free char *p
          = sbx_store_layer_path (store, &img->config->diff_ids[a.n_lowers - 1 - i]);
      a.lowerfds[i] = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  sbx_userns_detect (&plan);
  fflush (stdout);
  r = (k->upper && *k->upper) ? cli_store_op (&plan, diff_fn, &a, &err) : 0;
  for (i = 0; i < a.n_lowers; i++)
    if (a.lowerfds[i] >= 0)
      (void) close (a.lowerfds[i]);
  free (a.lowerfds);
  sbx_image_free (img);
  sbx_container_free (k);
  sbx_store_close (store);
  return r < 0 ? cli_report ("diff", err, SBX_EXIT_FAILURE) : 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The commands that act on a running (often detached) container from
   another shell: logs, stop, kill, restart, wait, exec, top, and the
   container half of inspect.  No daemon: each finds the container's
   monitor through the state directory (runtime/spawn.c) and its record in
   the store.  */
#define SBX_LOG_MODULE "cli"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Docker's default grace period of `stop`.  */
#define STOP_TIMEOUT_S 10

static void
container_free_cleanup (struct sbx_container **c)
{
  sbx_container_free (*c);
}

static void
store_close_cleanup (struct sbx_store **s)
{
  sbx_store_close (*s);
}

#define cleanup_container __attribute__ ((cleanup (container_free_cleanup)))
#define cleanup_store __attribute__ ((cleanup (store_close_cleanup)))

/* Wait up to TIMEOUT_MS (-1: for ever) for process PID to end; true when it
   has (or never was).  A pidfd, so a reused pid cannot fool us.  */
static bool
wait_pid_gone (pid_t pid, int timeout_ms)
{
  struct pollfd p = { .events = POLLIN };
  int r;

  if (pid <= 0)
    return true;
  p.fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (p.fd < 0)
    return errno == ESRCH;
  do
    r = poll (&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  (void) close (p.fd);
  return r > 0;
}

static int
load (const struct cli_globals *g, const char *what, struct sbx_store **store,
      struct sbx_container **out, struct sbx_error **err)
{
  if (cli_open_store (g, store, err) < 0)
    return -1;
  return sbx_container_load (*store, what, out, err);
}

/* ---- logs ---- */

static const char logs_help[]
    = "Usage: sbx logs [-f] [--tail N] [-t] CONTAINER\n"
      "\n"
      "Show what a container's command wrote to stdout and stderr (containers run\n"
      "with -d, or started without -a), each on its own stream.\n"
      "\n"
      "Options:\n"
      "  -f, --follow        keep printing new output until the container ends\n"
      "  -n, --tail N        only the last N lines (all: every line)\n"
      "  -t, --timestamps    prefix each line with its RFC 3339 time\n"
      "\n"
      "Examples:\n"
      "  sbx logs lab | grep token\n"
      "  sbx logs -f --tail 20 web\n";

/* Print the k8s-file lines of TEXT[0..LEN) ("TIME STREAM F|P text"),
   skipping the first SKIP.  */
static void
print_log_lines (const char *text, size_t len, size_t skip, bool stamps)
{
  const char *p = text, *end = text + len;

  for (size_t i = 0; p < end; i++)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      const char *e = nl ? nl : end;
      const char *s1 = memchr (p, ' ', (size_t) (e - p));
      const char *s2 = s1 ? memchr (s1 + 1, ' ', (size_t) (e - s1 - 1)) : NULL;
      const char *s3 = s2 ? memchr (s2 + 1, ' ', (size_t) (e - s2 - 1)) : NULL;

      if (i >= skip && s3)
        {
          FILE *out = strncmp (s1 + 1, "stderr", 6) == 0 ? stderr : stdout;
          bool full = s2[1] == 'F';

          if (stamps)
            fprintf (out, "%.*s ", (int) (s1 - p), p);
          fwrite (s3 + 1, 1, (size_t) (e - s3 - 1), out);
          if (full)
            fputc ('\n', out);
        }
      p = nl ? nl + 1 : end;
    }
  fflush (stdout);
  fflush (stderr);
}

static size_t
count_lines (const char *text, size_t len)
{
  size_t n = 0;

  for (size_t i = 0; i < len; i++)
    n += text[i] == '\n';
  return n;
}

int
cli_logs (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "follow", no_argument, NULL, 'f' },
    { "tail", required_argument, NULL, 'n' },
    { "timestamps", no_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_store struct sbx_store *store = NULL;
  cleanup_container struct sbx_container *k = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  struct sbx_error *err = NULL;
  bool follow = false, stamps = false;
  long tail = -1;
  off_t off = 0;
  int c;

  while ((c = getopt_long (argc, argv, "+:fn:t", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        follow = true;
        break;
      case 'n':
        {
          uint64_t v;

          if (strcmp (optarg, "all") == 0)
            tail = -1;
          else if (sbx_parse_u64 (optarg, 1u << 30, &v, "--tail", &err) < 0)
            return cli_report ("logs", err, SBX_EXIT_FAILURE);
          else
            tail = (long) v;
        }
        break;
      case 't':
        stamps = true;
        break;
      case 'h':
        fputs (logs_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("logs", c, argv);
      }
  if (optind + 1 != argc)
    return cli_usage_error ("logs", optind >= argc ? "no container given" : "too many arguments");
  if (load (g, argv[optind], &store, &k, &err) < 0)
    return cli_report ("logs", err, SBX_EXIT_FAILURE);
  dir = sbx_container_dir (store, k->id);
  path = xasprintf ("%s/ctr.log", dir);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    {
      sbx_err_errno (&err, "open `%s`", path);
      return cli_report ("logs", err, SBX_EXIT_FAILURE);
    }
  for (bool first = true;; first = false)
    {
      bool running = follow && sbx_runtime_monitor_pid (k->id) > 0;
      struct stat st;

      if (fd < 0)
        fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && fstat (fd, &st) == 0 && st.st_size > off)
        {
          size_t len = (size_t) (st.st_size - off);
          cleanup_free char *buf = xmalloc (len);
          ssize_t n = pread (fd, buf, len, off);
          size_t complete, lines, skip = 0;

          if (n <= 0)
            break;
          /* Only whole lines: a line being written is printed next time.  */
          for (complete = (size_t) n; complete > 0 && buf[complete - 1] != '\n'; complete--)
            ;
          lines = count_lines (buf, complete);
          if (first && tail >= 0 && lines > (size_t) tail)
            skip = lines - (size_t) tail;
          print_log_lines (buf, complete, skip, stamps);
          off += (off_t) complete;
        }
      if (! running)
        break;
      usleep (100000);
    }
  return 0;
}

/* ---- stop, kill, restart ---- */

static int
stop_signal (struct sbx_store *store, const struct sbx_container *k)
{
  struct sbx_image *img = NULL;
  struct sbx_error *err = NULL;
  int sig = SIGTERM;

  if (sbx_digest_is_set (&k->image) && sbx_image_load (store, &k->image, &img, &err) == 0)
    {
      if (img->config->stop_signal && *img->config->stop_signal)
        {
          int s = sbx_parse_signal (img->config->stop_signal, &err);

          if (s > 0)
            sig = s;
        }
      sbx_image_free (img);
    }
  sbx_error_clear (&err);
  return sig;
}

/* Signal SIG to the container's first process, then, unless it ends
   within TIMEOUT_S, SIGKILL (which ends its pid namespace); and wait for
   its monitor to record the exit.  */
static int
stop_one (struct sbx_store *store, const struct sbx_container *k, int sig, long timeout_s,
          struct sbx_error **err)
{
  pid_t monitor = sbx_runtime_monitor_pid (k->id);
  pid_t ctr = sbx_runtime_container_pid (k->id);

  if (monitor <= 0)
    return 0; /* already stopped: as Docker, not an error */
  if (ctr > 0 && kill (ctr, sig) < 0 && errno != ESRCH)
    return sbx_err_errno (err, "signal container `%s`", k->name);
  if (wait_pid_gone (monitor, (int) (timeout_s * 1000)))
    return cli_wait_container (store, k->id);
  sbx_info ("container `%s` did not stop within %lds: killing it", k->name, timeout_s);
  if (ctr > 0)
    (void) kill (ctr, SIGKILL);
  if (! wait_pid_gone (monitor, 10000))
    {
      (void) kill (monitor, SIGKILL);
      (void) wait_pid_gone (monitor, 5000);
    }
  return cli_wait_container (store, k->id);
}

static int
stop_or_restart (const struct cli_globals *g, int argc, char **argv, bool restart)
{
  static const struct option opts[] = {
    { "time", required_argument, NULL, 't' },
    { "timeout", required_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *cmd = restart ? "restart" : "stop";
  cleanup_store struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  long timeout = STOP_TIMEOUT_S;
  int status = 0, c;

  while ((c = getopt_long (argc, argv, "+:t:", opts, NULL)) != -1)
    switch (c)
      {
      case 't':
        {
          uint64_t v;

          if (sbx_parse_u64 (optarg, 86400, &v, "--time", &err) < 0)
            return cli_report (cmd, err, SBX_EXIT_FAILURE);
          timeout = (long) v;
        }
        break;
      case 'h':
        printf ("Usage: sbx %s [-t SECONDS] CONTAINER...\n\n"
                "%s: send the image's STOPSIGNAL (SIGTERM by default) to the container's\n"
                "first process and, if it has not ended after SECONDS (default %d), SIGKILL.%s\n"
                "\nExamples:\n  sbx %s web\n  sbx %s -t 2 lab\n",
                cmd,
                restart ? "Stop containers, then start them again in the background"
                        : "Stop running containers",
                STOP_TIMEOUT_S,
                restart ? ""
                        : "\nA command that runs as PID 1 ignores "
                          "signals it has no handler for (use --init).",
                cmd, cmd);
        return 0;
      default:
        return cli_getopt_error (cmd, c, argv);
      }
  if (optind >= argc)
    return cli_usage_error (cmd, "no container given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report (cmd, err, SBX_EXIT_FAILURE);
  for (int i = optind; i < argc; i++)
    {
      cleanup_container struct sbx_container *k = NULL;
      int r = sbx_container_load (store, argv[i], &k, &err);

      /* A --rm container that restarts is kept over the restart, and
         still removed when it ends for good (as Docker).  */
      if (r == 0 && restart && k->autoremove && sbx_runtime_monitor_pid (k->id) > 0)
        r = cli_container_mark_restart (store, k->id, &err);
      if (r == 0)
        r = stop_one (store, k, stop_signal (store, k), timeout, &err);
      if (r == 0 && restart)
        {
          sbx_container_free (k);
          k = NULL;
          /* Reload: the monitor has recorded the exit.  */
          r = sbx_container_load (store, argv[i], &k, &err);
          if (r == 0)
            r = cli_run_container (store, k, true, &err);
        }
      if (r == 0)
        printf ("%s\n", argv[i]);
      else
        {
          cli_report (cmd, err, 0);
          err = NULL;
          status = 1;
        }
    }
  return status;
}

int
cli_stop (const struct cli_globals *g, int argc, char **argv)
{
  return stop_or_restart (g, argc, argv, false);
}

int
cli_restart (const struct cli_globals *g, int argc, char **argv)
{
  return stop_or_restart (g, argc, argv, true);
}

int
cli_kill (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "signal", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_store struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  int sig = SIGKILL, status = 0, c;

  while ((c = getopt_long (argc, argv, "+:s:", opts, NULL)) != -1)
    switch (c)
      {
      case 's':
        sig = sbx_parse_signal (optarg, &err);
        if (sig < 0)
          return cli_report ("kill", err, SBX_EXIT_FAILURE);
        break;
      case 'h':
        printf ("Usage: sbx kill [-s SIGNAL] CONTAINER...\n\nSend SIGNAL (default KILL) to "
                "the first process of running containers.\n\nExamples:\n  sbx kill web\n"
                "  sbx kill -s HUP web\n");
        return 0;
      default:
        return cli_getopt_error ("kill", c, argv);
      }
  if (optind >= argc)
    return cli_usage_error ("kill", "no container given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("kill", err, SBX_EXIT_FAILURE);
  for (int i = optind; i < argc; i++)
    {
      cleanup_container struct sbx_container *k = NULL;
      int r = sbx_container_load (store, argv[i], &k, &err);
      pid_t ctr = r == 0 ? sbx_runtime_container_pid (k->id) : 0;

      if (r == 0 && ctr <= 0)
        r = sbx_err (&err, ESRCH, "container `%s` is not running", k->name);
      if (r == 0 && kill (ctr, sig) < 0)
        r = sbx_err_errno (&err, "signal container `%s`", k->name);
      if (r == 0)
        printf ("%s\n", argv[i]);
      else
        {
          cli_report ("kill", err, 0);
          err = NULL;
          status = 1;
        }
    }
  return status;
}

/* ---- wait ---- */

int
cli_wait (const struct cli_globals *g, int argc, char **argv)
{
  cleanup_store struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  int status = 0;

  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sbx wait CONTAINER...\n\nWait until containers stop, then print their "
              "exit codes.\n\nExamples:\n  sbx wait job1 job2\n");
      return 0;
    }
  if (argc < 2)
    return cli_usage_error ("wait", "no container given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("wait", err, SBX_EXIT_FAILURE);
  for (int i = 1; i < argc; i++)
    {
      cleanup_container struct sbx_container *k = NULL;
      int r = sbx_container_load (store, argv[i], &k, &err);

      if (r == 0)
        {
          (void) cli_wait_container (store, k->id);
          sbx_container_free (k);
          k = NULL;
          r = sbx_container_load (store, argv[i], &k, &err);
        }
      if (r == 0)
        printf ("%d\n", k->exit_code);
      else
        {
          cli_report ("wait", err, 0);
          err = NULL;
          status = 1;
        }
    }
  return status;
}

/* ---- exec ---- */

static const char exec_help[]
    = "Usage: sbx exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
      "\n"
      "Run a command in a running container: in its namespaces, with its\n"
      "environment, capabilities and working directory. Exit status: the command's\n"
      "(125 when sbx fails, 126/127 when it cannot be executed or found).\n"
      "\n"
      "Options:\n"
      "  -i, --interactive      with -t: relay stdin to the terminal\n"
      "  -t, --tty              allocate a pseudo-terminal\n"
      "  -u, --user USER[:GROUP] run as this user of the container\n"
      "  -e, --env K=V          set an environment variable\n"
      "  -w, --workdir DIR      working directory inside\n"
      "\n"
      "Examples:\n"
      "  sbx exec -it lab bash\n"
      "  sbx exec web cat /etc/os-release\n";

int
cli_exec (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "interactive", no_argument, NULL, 'i' },
    { "tty", no_argument, NULL, 't' },
    { "user", required_argument, NULL, 'u' },
    { "env", required_argument, NULL, 'e' },
    { "workdir", required_argument, NULL, 'w' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  extern char **environ;
  cleanup_store struct sbx_store *store = NULL;
  cleanup_container struct sbx_container *k = NULL;
  cleanup_strv char **env = NULL;
  cleanup_strv char **cmd = NULL;
  struct sbx_exec_config cfg = { 0 };
  struct sbx_error *err = NULL;
  int exit_code = SBX_EXIT_FAILURE, c;

  while ((c = getopt_long (argc, argv, "+:itu:e:w:", opts, NULL)) != -1)
    switch (c)
      {
      case 'i':
        cfg.interactive = true;
        break;
      case 't':
        cfg.tty = true;
        break;
      case 'u':
        cfg.user = optarg;
        break;
      case 'e':
        if (sbx_spec_parse_env (optarg, environ, &env, &err) < 0)
          return cli_report ("exec", err, SBX_EXIT_FAILURE);
        break;
      case 'w':
        if (optarg[0] != '/')
          return cli_usage_error ("exec", "invalid --workdir `%s`: not an absolute path", optarg);
        cfg.workdir = optarg;
        break;
      case 'h':
        fputs (exec_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("exec", c, argv);
      }
  if (optind + 2 > argc)
    return cli_usage_error ("exec", optind >= argc ? "no container given" : "no command given");
  if (cfg.tty && cfg.interactive && ! isatty (STDIN_FILENO))
    return cli_usage_error ("exec",
                            "the input device is not a TTY (drop -t, or run from a terminal)");
  if (load (g, argv[optind], &store, &k, &err) < 0)
    return cli_report ("exec", err, SBX_EXIT_FAILURE);
  if (sbx_runtime_container_pid (k->id) <= 0)
    {
      sbx_err (&err, ESRCH, "container `%s` is not running", k->name);
      return cli_report ("exec", err, SBX_EXIT_FAILURE);
    }
  for (int i = optind + 1; i < argc; i++)
    sbx_strv_push (&cmd, argv[i]);
  cfg.id = k->id;
  cfg.argv = cmd;
  cfg.env = env;
  if (sbx_runtime_exec (&cfg, &exit_code, &err) < 0)
    return cli_report ("exec", err, exit_code);
  return exit_code;
}

/* ---- top ---- */

int
cli_top (const struct cli_globals *g, int argc, char **argv)
{
  cleanup_store struct sbx_store *store = NULL;
  cleanup_container struct sbx_container *k = NULL;
  cleanup_dir DIR *d = NULL;
  cleanup_free char *ns = NULL;
  struct sbx_error *err = NULL;
  struct dirent *de;
  struct stat want;
  long hz = sysconf (_SC_CLK_TCK);
  pid_t ctr;

  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sbx top CONTAINER\n\nList the processes of a running container (host "
              "pids).\n\nExamples:\n  sbx top lab\n");
      return 0;
    }
  if (argc != 2)
    return cli_usage_error ("top", "expected one CONTAINER");
  if (load (g, argv[1], &store, &k, &err) < 0)
    return cli_report ("top", err, SBX_EXIT_FAILURE);
  ctr = sbx_runtime_container_pid (k->id);
  ns = xasprintf ("/proc/%d/ns/pid", (int) ctr);
  if (ctr <= 0 || stat (ns, &want) < 0)
    {
      sbx_err (&err, ESRCH, "container `%s` is not running", k->name);
      return cli_report ("top", err, SBX_EXIT_FAILURE);
    }
  d = opendir ("/proc");
  if (d == NULL)
    {
      sbx_err_errno (&err, "read /proc");
      return cli_report ("top", err, SBX_EXIT_FAILURE);
    }
  printf ("%-8s %-8s %-10s %s\n", "PID", "UID", "TIME", "CMD");
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *p = NULL;
      cleanup_free char *stat_text = NULL;
      cleanup_free char *cmdline = NULL;
      struct sbx_error *ignored = NULL;
      struct stat st, pst;
      unsigned long ut = 0, stt = 0;
      size_t len = 0;
      const char *rp;

      if (! isdigit ((unsigned char) de->d_name[0]))
        continue;
      p = xasprintf ("/proc/%s/ns/pid", de->d_name);
      if (stat (p, &st) < 0 || st.st_ino != want.st_ino || st.st_dev != want.st_dev)
        continue;
      free (p);
      p = xasprintf ("/proc/%s", de->d_name);
      if (stat (p, &pst) < 0)
        continue;
      free (p);
      p = xasprintf ("/proc/%s/stat", de->d_name);
      stat_text = sbx_fs_read_file_at (AT_FDCWD, p, 4096, NULL, &ignored);
      sbx_error_clear (&ignored);
      rp = stat_text ? strrchr (stat_text, ')') : NULL;
      if (rp)
        (void) sscanf (rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt);
      free (p);
      p = xasprintf ("/proc/%s/cmdline", de->d_name);
      cmdline = sbx_fs_read_file_at (AT_FDCWD, p, 4096, &len, &ignored);
      sbx_error_clear (&ignored);
      for (size_t i = 0; cmdline && i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      {
        unsigned long secs = hz > 0 ? (ut + stt) / (unsigned long) hz : 0;

        printf ("%-8s %-8u %02lu:%02lu:%02lu %s\n", de->d_name, (unsigned) pst.st_uid, secs / 3600,
                secs / 60 % 60, secs % 60, cmdline && *cmdline ? cmdline : "?");
      }
    }
  return 0;
}

/* ---- inspect (containers) ---- */

struct sbx_json *
cli_container_inspect (struct sbx_store *store, const char *what)
{
  cleanup_container struct sbx_container *k = NULL;
  struct sbx_error *err = NULL;
  struct sbx_json *o, *state, *config, *cmd, *env, *host;
  cleanup_free char *dir = NULL;
  pid_t monitor;
  char dig[SBX_DIGEST_STR_MAX];

  if (sbx_container_load (store, what, &k, &err) < 0)
    {
      sbx_error_clear (&err);
      return NULL;
    }
  monitor = sbx_runtime_monitor_pid (k->id);
  dir = sbx_container_dir (store, k->id);
  o = sbx_json_object ();
  sbx_json_set_str (o, "Id", k->id);
  sbx_json_set_str (o, "Name", k->name);
  sbx_json_set_int (o, "Created", k->created);
  sbx_json_set_str (o, "ImageName", k->image_name);
  sbx_json_set_str (o, "Image",
                    sbx_digest_is_set (&k->image) ? sbx_digest_format (&k->image, dig) : NULL);
  sbx_json_set_str (o, "Driver", k->driver);
  {
    cleanup_free char *log = xasprintf ("%s/ctr.log", dir);

    sbx_json_set_str (o, "LogPath", log);
  }
  state = sbx_json_object ();
  sbx_json_set_str (state, "Status", monitor > 0 ? "running" : k->started ? "exited" : "created");
  sbx_json_set_bool (state, "Running", monitor > 0);
  sbx_json_set_int (state, "Pid", monitor > 0 ? sbx_runtime_container_pid (k->id) : 0);
  sbx_json_set_int (state, "MonitorPid", monitor > 0 ? monitor : 0);
  sbx_json_set_int (state, "ExitCode", k->exit_code);
  sbx_json_set_int (state, "StartedAt", k->started);
  sbx_json_set_int (state, "FinishedAt", k->finished);
  sbx_json_set (o, "State", state);
  config = sbx_json_object ();
  cmd = sbx_json_array ();
  env = sbx_json_array ();
  for (size_t i = 0; k->argv && k->argv[i]; i++)
    sbx_json_append_str (cmd, k->argv[i]);
  for (size_t i = 0; k->env && k->env[i]; i++)
    sbx_json_append_str (env, k->env[i]);
  sbx_json_set (config, "Cmd", cmd);
  sbx_json_set (config, "Env", env);
  sbx_json_set_str (config, "WorkingDir", k->workdir);
  sbx_json_set_str (config, "User", k->user);
  sbx_json_set_str (config, "Hostname", k->hostname);
  sbx_json_set_bool (config, "Tty", k->tty);
  sbx_json_set (o, "Config", config);
  host = sbx_json_object ();
  sbx_json_set_str (host, "NetworkMode", k->network ? k->network : "slirp");
  {
    struct sbx_json *ports = sbx_json_array ();

    for (size_t i = 0; k->publish && k->publish[i]; i++)
      sbx_json_append_str (ports, k->publish[i]);
    sbx_json_set (host, "Publish", ports);
  }
  sbx_json_set_bool (host, "AutoRemove", k->autoremove);
  sbx_json_set_bool (host, "ReadonlyRootfs", k->read_only);
  sbx_json_set (o, "HostConfig", host);
  return o;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern char **environ;

static const char run_help[]
    = "Usage: sbx run [OPTIONS] --rootfs DIR COMMAND [ARG...]\n"
      "\n"
      "Run a command in a new container.\n"
      "\n"
      "Without -t, stdin, stdout and stderr are the caller's own, so pipes and shell\n"
      "aliases behave as with a native command. Exit status: the command's; 125 when\n"
      "sbx fails, 126 when the command cannot be executed, 127 when it is not found,\n"
      "128+N when it is killed by signal N.\n"
      "\n"
      "Options:\n"
      "      --rootfs DIR           use the unpacked tree DIR as the root filesystem\n"
      "  -e, --env K=V              set an environment variable (K alone: take it from\n"
      "                             the caller's environment when set)\n"
      "      --env-file FILE        read K=V lines from FILE\n"
      "  -v, --volume HOST:CTR[:ro] bind-mount a host path (absolute or ./relative)\n"
      "  -w, --workdir DIR          working directory inside (created if missing)\n"
      "  -u, --user USER[:GROUP]    run as a uid, uid:gid or a name from the rootfs's\n"
      "                             /etc/passwd\n"
      "  -h, --hostname NAME        container host name\n"
      "      --entrypoint CMD       run CMD with COMMAND as its arguments\n"
      "  -t, --tty                  allocate a pseudo-terminal\n"
      "  -i, --interactive          with -t: relay stdin to the terminal\n"
      "      --init                 run a small reaper as PID 1 that forwards signals\n"
      "      --cap-add CAP          add a capability to Docker's default set (or ALL)\n"
      "      --cap-drop CAP         drop a capability (or ALL)\n"
      "      --network MODE         none (default until slirp lands) or host\n"
      "      --userns MODE          keep-id: map your uid to itself instead of root\n"
      "      --read-only            mount the root filesystem read-only\n"
      "      --rm                   remove the container when it exits (the default:\n"
      "                             --rootfs containers are never kept)\n"
      "      --help                 show this help\n"
      "\n"
      "Examples:\n"
      "  echo hello | sbx run --rootfs ./rootfs cat\n"
      "  sbx run --rootfs ./rootfs -v \"$PWD:$PWD\" -w \"$PWD\" sh -c 'ls'\n"
      "  sbx run --rootfs ./rootfs -it sh\n";

struct run_opts
{
  const char *rootfs;
  const char *entrypoint;
  bool entrypoint_set;
  char **env;
  char **cap_add;
  char **cap_drop;
  struct sbx_mount_spec *mounts;
  size_t n_mounts;
  struct sbx_run_config cfg;
};

static void
run_opts_release (struct run_opts *o)
{
  size_t i;

  sbx_strv_free (o->env);
  sbx_strv_free (o->cap_add);
  sbx_strv_free (o->cap_drop);
  for (i = 0; i < o->n_mounts; i++)
    sbx_mount_spec_release (&o->mounts[i]);
  free (o->mounts);
  sbx_strv_free (o->cfg.argv);
  free ((char *) o->cfg.id);
}

static int
report (const char *cmd, struct sbx_error *err, int code)
{
  fprintf (stderr, "sbx: %s%s%s\n", cmd ? cmd : "", cmd ? ": " : "", err->msg);
  sbx_error_free (err);
  return code;
}

static int
add_volume (struct run_opts *o, const char *spec)
{
  cleanup_free char *cwd = getcwd (NULL, 0);
  struct sbx_error *err = NULL;
  struct sbx_mount_spec m = { 0 };

  if (sbx_spec_parse_volume (spec, cwd ? cwd : "/", &m, &err) < 0)
    return report ("run", err, SBX_EXIT_FAILURE);
  o->mounts = xrealloc (o->mounts, xmul (o->n_mounts + 1, sizeof *o->mounts));
  o->mounts[o->n_mounts++] = m;
  return 0;
}

static int
add_env_file (struct run_opts *o, const char *path)
{
  struct sbx_error *err = NULL;
  cleanup_free char *content = sbx_fs_read_file_at (AT_FDCWD, path, 16 << 20, NULL, &err);

  if (content == NULL)
    {
      sbx_err_prefix (&err, "--env-file");
      return report ("run", err, SBX_EXIT_FAILURE);
    }
  if (sbx_spec_parse_env_file (content, path, environ, &o->env, &err) < 0)
    return report ("run", err, SBX_EXIT_FAILURE);
  return 0;
}

enum
{
  OPT_ROOTFS = 256,
  OPT_ENV_FILE,
  OPT_ENTRYPOINT,
  OPT_INIT,
  OPT_CAP_ADD,
  OPT_CAP_DROP,
  OPT_NETWORK,
  OPT_USERNS,
  OPT_READ_ONLY,
  OPT_RM,
  OPT_HELP,
};

static int
parse_flags (struct run_opts *o, int argc, char **argv)
{
  static const struct option opts[] = {
    { "rootfs", required_argument, NULL, OPT_ROOTFS },
    { "env", required_argument, NULL, 'e' },
    { "env-file", required_argument, NULL, OPT_ENV_FILE },
    { "volume", required_argument, NULL, 'v' },
    { "workdir", required_argument, NULL, 'w' },
    { "user", required_argument, NULL, 'u' },
    { "hostname", required_argument, NULL, 'h' },
    { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
    { "tty", no_argument, NULL, 't' },
    { "interactive", no_argument, NULL, 'i' },
    { "init", no_argument, NULL, OPT_INIT },
    { "cap-add", required_argument, NULL, OPT_CAP_ADD },
    { "cap-drop", required_argument, NULL, OPT_CAP_DROP },
    { "network", required_argument, NULL, OPT_NETWORK },
    { "net", required_argument, NULL, OPT_NETWORK },
    { "userns", required_argument, NULL, OPT_USERNS },
    { "read-only", no_argument, NULL, OPT_READ_ONLY },
    { "rm", no_argument, NULL, OPT_RM },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:e:v:w:u:h:ti", opts, NULL)) != -1)
    switch (c)
      {
      case OPT_ROOTFS:
        o->rootfs = optarg;
        break;
      case 'e':
        if (sbx_spec_parse_env (optarg, environ, &o->env, &err) < 0)
          return report ("run", err, SBX_EXIT_FAILURE);
        break;
      case OPT_ENV_FILE:
        if ((r = add_env_file (o, optarg)) != 0)
          return r;
        break;
      case 'v':
        if ((r = add_volume (o, optarg)) != 0)
          return r;
        break;
      case 'w':
        if (optarg[0] != '/')
          return cli_usage_error ("run", "invalid --workdir `%s`: not an absolute path", optarg);
        o->cfg.workdir = optarg;
        break;
      case 'u':
        if (*optarg == '\0')
          return cli_usage_error ("run", "invalid --user: empty");
        o->cfg.user = optarg;
        break;
      case 'h':
        if (*optarg == '\0' || strlen (optarg) > 64)
          return cli_usage_error ("run", "invalid --hostname `%s`: 1 to 64 characters", optarg);
        o->cfg.hostname = optarg;
        break;
      case OPT_ENTRYPOINT:
        o->entrypoint = optarg;
        o->entrypoint_set = true;
        break;
      case 't':
        o->cfg.tty = true;
        break;
      case 'i':
        o->cfg.interactive = true;
        break;
      case OPT_INIT:
        o->cfg.init = true;
        break;
      case OPT_CAP_ADD:
        sbx_strv_push (&o->cap_add, optarg);
        break;
      case OPT_CAP_DROP:
        sbx_strv_push (&o->cap_drop, optarg);
        break;
      case OPT_NETWORK:
        if (strcmp (optarg, "none") == 0)
          o->cfg.network = SBX_NETWORK_NONE;
        else if (strcmp (optarg, "host") == 0)
          o->cfg.network = SBX_NETWORK_HOST;
        else
          return cli_usage_error ("run", "invalid --network `%s`: expected none or host", optarg);
        break;
      case OPT_USERNS:
        if (strcmp (optarg, "keep-id") == 0)
          o->cfg.keep_id = true;
        else if (strcmp (optarg, "") == 0 || strcmp (optarg, "auto") == 0)
          o->cfg.keep_id = false;
        else
          return cli_usage_error ("run", "invalid --userns `%s`: expected keep-id or auto", optarg);
        break;
      case OPT_READ_ONLY:
        o->cfg.read_only = true;
        break;
      case OPT_RM:
        break;
      case OPT_HELP:
        fputs (run_help, stdout);
        return -1;
      default:
        return cli_getopt_error ("run", c, argv);
      }
  return 0;
}

static int
build_argv (struct run_opts *o, int argc, char **argv)
{
  int i;

  if (o->entrypoint_set && *o->entrypoint)
    sbx_strv_push (&o->cfg.argv, o->entrypoint);
  for (i = optind; i < argc; i++)
    sbx_strv_push (&o->cfg.argv, argv[i]);
  if (sbx_strv_len (o->cfg.argv) == 0)
    return cli_usage_error ("run", "no command given");
  return 0;
}

int
cli_run (const struct cli_globals *g, int argc, char **argv)
{
  __attribute__ ((cleanup (run_opts_release))) struct run_opts o = { 0 };
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  int exit_code = SBX_EXIT_FAILURE;
  int r;

  (void) g;
  o.cfg.network = SBX_NETWORK_NONE;
  r = parse_flags (&o, argc, argv);
  if (r < 0)
    return 0; /* --help */
  if (r > 0)
    return r;
  if (o.rootfs == NULL)
    {
      if (optind < argc)
        return cli_usage_error ("run",
                                "image `%s`: running images is not supported yet; use --rootfs DIR",
                                argv[optind]);
      return cli_usage_error ("run", "--rootfs DIR is required");
    }
  if ((r = build_argv (&o, argc, argv)) != 0)
    return r;
  if (o.cfg.interactive && o.cfg.tty && ! isatty (STDIN_FILENO))
    return cli_usage_error ("run",
                            "the input device is not a TTY (drop -t, or run from a terminal)");
  if (sbx_caps_resolve (o.cap_add, o.cap_drop, &o.cfg.caps, &err) < 0)
    return report ("run", err, SBX_EXIT_FAILURE);

  o.cfg.rootfs = o.rootfs;
  o.cfg.env = o.env;
  o.cfg.mounts = o.mounts;
  o.cfg.n_mounts = o.n_mounts;
  o.cfg.id = sbx_runtime_new_id ();
  sbx_userns_detect (&plan);
  if (sbx_runtime_run (&o.cfg, &plan, &exit_code, &err) < 0)
    return report (NULL, err, exit_code);
  return exit_code;
}

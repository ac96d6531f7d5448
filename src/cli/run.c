/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include <time.h>
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern char **environ;

static const char run_help[]
    = "Usage: sbx run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
      "       sbx run [OPTIONS] --rootfs DIR COMMAND [ARG...]\n"
      "\n"
      "Run a command in a new container, over an image's layers (pulled first when\n"
      "missing) or over an unpacked tree.\n"
      "\n"
      "Without -t, stdin, stdout and stderr are the caller's own, so pipes and shell\n"
      "aliases behave as with a native command. Exit status: the command's; 125 when\n"
      "sbx fails, 126 when the command cannot be executed, 127 when it is not found,\n"
      "128+N when it is killed by signal N.\n"
      "\n"
      "Options:\n"
      "      --rootfs DIR           use the unpacked tree DIR as the root filesystem\n"
      "      --pull POLICY          missing (default), always or never\n"
      "      --tls-verify=false     do not verify TLS certificates when pulling\n"
      "  -e, --env K=V              set an environment variable (K alone: take it from\n"
      "                             the caller's environment when set)\n"
      "      --env-file FILE        read K=V lines from FILE\n"
      "  -v, --volume SRC:CTR[:ro]  bind-mount a host path (absolute, ./relative or\n"
      "                             dir/relative) or mount the volume named SRC\n"
      "                             (created on first use, filled from the image's\n"
      "                             CTR when empty; nocopy: not); -v CTR alone: an\n"
      "                             anonymous volume\n"
      "      --mount SPEC           type=bind|volume|tmpfs,source=…,target=…[,readonly]\n"
      "                             (tmpfs: tmpfs-size=, tmpfs-mode=)\n"
      "  -w, --workdir DIR          working directory inside (created if missing)\n"
      "  -u, --user USER[:GROUP]    run as a uid, uid:gid or a name from the rootfs's\n"
      "                             /etc/passwd\n"
      "  -h, --hostname NAME        container host name\n"
      "      --entrypoint CMD       run CMD with COMMAND as its arguments\n"
      "  -d, --detach               run in the background: print the container's id\n"
      "                             once its command runs (see sbx logs, stop, exec)\n"
      "  -t, --tty                  allocate a pseudo-terminal\n"
      "  -i, --interactive          with -t: relay stdin to the terminal\n"
      "      --init                 run a small reaper as PID 1 that forwards signals\n"
      "      --cap-add CAP          add a capability to Docker's default set (or ALL)\n"
      "      --cap-drop CAP         drop a capability (or ALL)\n"
      "      --network MODE         slirp (default: a private network with the host's\n"
      "                             internet through libslirp), none or host;\n"
      "                             slirp:OPT=V,... sets mtu=N, cidr=A.B.C.D/N,\n"
      "                             allow_host_loopback=true (reach the host's\n"
      "                             127.0.0.1 as 10.0.2.2), enable_ipv6=true|false\n"
      "  -p, --publish SPEC         publish a port: [IP:][HOSTPORT:]CTRPORT[/tcp|/udp],\n"
      "                             ranges as 8000-8010:8000-8010; the host address is\n"
      "                             127.0.0.1 unless IP is given (0.0.0.0: all)\n"
      "  -P, --publish-all          publish the image's exposed ports on free ports\n"
      "      --add-host NAME:IP     add a line to /etc/hosts (IP host-gateway: the host)\n"
      "      --dns IP               use this name server instead of slirp's forwarder\n"
      "      --userns MODE          keep-id: map your uid to itself instead of root\n"
      "      --fakeroot             root emulation for package managers: in single-uid\n"
      "                             mode (no /etc/subuid range) chown, set*id,\n"
      "                             setgroups and mknod of devices succeed without\n"
      "                             effect; in subuid mode ids are real and this\n"
      "                             does nothing\n"
      "      --read-only            mount the root filesystem read-only\n"
      "      --name NAME            name the container (kept until `sbx rm` unless --rm)\n"
      "      --rm                   remove the container when it exits (--rootfs\n"
      "                             containers are never kept); its writable layer\n"
      "                             is volatile: fsync inside skips the disk\n"
      "      --storage-driver D     auto (default), overlay (the kernel's) or fuse\n"
      "      --tmpfs PATH[:OPTS]    mount a tmpfs at PATH (size=, mode=, …)\n"
      "      --help                 show this help\n"
      "\n"
      "Examples:\n"
      "  sbx run --rm busybox echo hello\n"
      "  echo hello | sbx run --rootfs ./rootfs cat\n"
      "  sbx run --rootfs ./rootfs -v \"$PWD:$PWD\" -w \"$PWD\" sh -c 'ls'\n"
      "  sbx run --rootfs ./rootfs -it sh\n"
      "  sbx run --rm -p 8888:8888 jupyterlab\n"
      "  sbx run -d --name lab -p 8888:8888 jupyterlab && sbx logs -f lab\n";

struct run_opts
{
  const char *rootfs;
  const char *name;
  const char *driver;
  bool autoremove;
  bool workdir_set;
  bool user_set;
  char **tmpfs;
  char **volume_specs;
  const char *pull;
  bool tls_verify;
  char **image_env;
  char **lowers;
  char *image_id;
  const char *entrypoint;
  bool entrypoint_set;
  char **env;
  char **cap_add;
  char **cap_drop;
  struct sbx_mount_spec *mounts;
  size_t n_mounts;
  const char *network; /* --network as given, or NULL: slirp */
  char **publish;      /* -p as given */
  bool publish_all;    /* -P */
  bool detach;         /* -d */
  char **add_hosts;
  char **dns;
  struct cli_net net;
  struct sbx_run_config cfg;
};

static void
run_opts_release (struct run_opts *o)
{
  size_t i;

  sbx_strv_free (o->env);
  sbx_strv_free (o->tmpfs);
  sbx_strv_free (o->volume_specs);
  sbx_strv_free (o->image_env);
  sbx_strv_free (o->lowers);
  free (o->image_id);
  sbx_strv_free (o->cap_add);
  sbx_strv_free (o->cap_drop);
  sbx_strv_free (o->publish);
  sbx_strv_free (o->add_hosts);
  sbx_strv_free (o->dns);
  cli_net_release (&o->net);
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
add_volume (struct run_opts *o, const char *spec, bool is_mount)
{
  cleanup_free char *cwd = getcwd (NULL, 0);
  cleanup_free char *tmpfs = NULL;
  struct sbx_error *err = NULL;
  struct sbx_mount_spec m = { 0 };
  size_t i;
  int r;

  r = is_mount ? sbx_spec_parse_mount (spec, cwd ? cwd : "/", &m, &tmpfs, &err)
               : sbx_spec_parse_volume (spec, cwd ? cwd : "/", &m, &err);
  if (r < 0)
    return report ("run", err, SBX_EXIT_FAILURE);
  if (tmpfs)
    {
      sbx_strv_push_take (&o->tmpfs, steal_ptr (&tmpfs));
      return 0;
    }
  if (m.volume && ! sbx_volume_name_is_valid (m.volume))
    r = cli_usage_error ("run",
                         "invalid volume `%s`: `%s` is not a valid volume name (two or more of "
                         "[a-zA-Z0-9_.-]); a host path must contain a `/`",
                         spec, m.volume);
  else if (is_mount && m.source && access (m.source, F_OK) < 0)
    r = cli_usage_error ("run", "invalid --mount `%s`: bind source path `%s` does not exist", spec,
                         m.source);
  for (i = 0; r == 0 && i < o->n_mounts; i++)
    if (strcmp (o->mounts[i].dest, m.dest) == 0)
      r = cli_usage_error ("run", "duplicate mount point `%s`", m.dest);
  if (r != 0)
    {
      sbx_mount_spec_release (&m);
      return r;
    }
  o->mounts = xrealloc (o->mounts, xmul (o->n_mounts + 1, sizeof *o->mounts));
  o->mounts[o->n_mounts++] = m;
  return 0;
}

/* The image's VOLUME paths that no -v, --mount or --tmpfs covers get
   anonymous volumes, as in Docker.  */
static void
add_image_volumes (struct run_opts *o, char *const *paths)
{
  size_t i, j;

  for (i = 0; paths && paths[i]; i++)
    {
      struct sbx_mount_spec m = { 0 };
      struct sbx_error *err = NULL;
      bool covered = false;

      if (sbx_spec_parse_volume (paths[i], "/", &m, &err) < 0)
        {
          sbx_error_clear (&err); /* not a path we could mount: ignored */
          continue;
        }
      for (j = 0; j < o->n_mounts; j++)
        covered |= strcmp (o->mounts[j].dest, m.dest) == 0;
      for (j = 0; o->tmpfs && o->tmpfs[j]; j++)
        covered |= strncmp (o->tmpfs[j], m.dest, strlen (m.dest)) == 0
                   && (o->tmpfs[j][strlen (m.dest)] == '\0' || o->tmpfs[j][strlen (m.dest)] == ':');
      if (covered)
        {
          sbx_mount_spec_release (&m);
          continue;
        }
      o->mounts = xrealloc (o->mounts, xmul (o->n_mounts + 1, sizeof *o->mounts));
      o->mounts[o->n_mounts++] = m;
    }
}

/* Create the volumes the mounts name (and name the anonymous ones), then
   keep every mount as a -v value for the container record: absolute
   paths and volume names, to run again from anywhere.  */
static int
prepare_volumes (const struct cli_globals *g, struct run_opts *o, struct sbx_error **err)
{
  struct sbx_store *store = NULL;
  size_t i;
  int r;

  if (o->n_mounts == 0)
    return 0;
  r = cli_open_store (g, &store, err);
  if (r == 0)
    r = cli_volumes_prepare (store, o->mounts, o->n_mounts, err);
  sbx_store_close (store);
  for (i = 0; r == 0 && i < o->n_mounts; i++)
    sbx_strv_push_take (&o->volume_specs, sbx_mount_spec_format (&o->mounts[i]));
  return r;
}

/* A --rootfs container is never kept: its anonymous volumes go with it.  */
static void
remove_anonymous_volumes (const struct cli_globals *g, struct run_opts *o)
{
  struct sbx_container c = { .id = (char *) o->cfg.id, .volumes = o->volume_specs };
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  size_t i;
  bool any = false;

  for (i = 0; i < o->n_mounts; i++)
    any |= o->mounts[i].anonymous;
  if (! any)
    return;
  if (cli_open_store (g, &store, &err) < 0 || cli_volumes_remove_anonymous (store, &c, &err) < 0)
    {
      fprintf (stderr, "sbx: run: remove anonymous volumes: %s\n", err->msg);
      sbx_error_free (err);
    }
  sbx_store_close (store);
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

/* Docker's container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*  */
static bool
is_valid_name (const char *s)
{
  return isalnum ((unsigned char) s[0])
         && strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
                == strlen (s);
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
  OPT_FAKEROOT,
  OPT_READ_ONLY,
  OPT_RM,
  OPT_PULL,
  OPT_TLS_VERIFY,
  OPT_NAME,
  OPT_DRIVER,
  OPT_TMPFS,
  OPT_ADD_HOST,
  OPT_DNS,
  OPT_MOUNT,
  OPT_HELP,
};

/* Flags whose value is one of a few words or a name (exit code, 0: fine).  */
static int
parse_choice_flag (struct run_opts *o, int c, const char *arg)
{
  switch (c)
    {
    case OPT_USERNS:
      if (strcmp (arg, "keep-id") == 0)
        o->cfg.keep_id = true;
      else if (strcmp (arg, "") == 0 || strcmp (arg, "auto") == 0)
        o->cfg.keep_id = false;
      else
        return cli_usage_error ("run", "invalid --userns `%s`: expected keep-id or auto", arg);
      return 0;
    case OPT_NAME:
      if (! is_valid_name (arg))
        return cli_usage_error ("run",
                                "invalid --name `%s`: letters, digits, _ . - (starting "
                                "with a letter or digit)",
                                arg);
      o->name = arg;
      return 0;
    case OPT_DRIVER:
      if (strcmp (arg, "auto") != 0 && strcmp (arg, "overlay") != 0 && strcmp (arg, "fuse") != 0)
        return cli_usage_error ("run",
                                "invalid --storage-driver `%s`: expected auto, overlay "
                                "or fuse",
                                arg);
      o->driver = arg;
      return 0;
    case OPT_PULL:
      if (strcmp (arg, "missing") != 0 && strcmp (arg, "always") != 0 && strcmp (arg, "never") != 0)
        return cli_usage_error ("run", "invalid --pull `%s`: expected missing, always or never",
                                arg);
      o->pull = arg;
      return 0;
    default:
      return 0;
    }
}

/* The network flags of run (validated here, applied by cli_net_*).  */
static int
parse_net_flag (struct run_opts *o, int c, const char *arg, struct sbx_error **err)
{
  switch (c)
    {
    case OPT_NETWORK:
      {
        struct cli_net probe = { 0 };
        int r = cli_net_parse_mode (arg, &probe, err);

        cli_net_release (&probe);
        if (r < 0)
          return -1;
        o->network = arg;
        return 0;
      }
    case 'p':
      {
        struct sbx_port *ports = NULL;
        size_t n = 0;
        int r = sbx_net_parse_publish (arg, &ports, &n, err);

        free (ports);
        if (r < 0)
          return -1;
        sbx_strv_push (&o->publish, arg);
        return 0;
      }
    case 'P':
      o->publish_all = true;
      return 0;
    case OPT_ADD_HOST:
      if (cli_net_check_add_host (arg, err) < 0)
        return -1;
      sbx_strv_push (&o->add_hosts, arg);
      return 0;
    default: /* OPT_DNS */
      if (cli_net_check_ip ("--dns", arg, err) < 0)
        return -1;
      sbx_strv_push (&o->dns, arg);
      return 0;
    }
}

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
    { "fakeroot", no_argument, NULL, OPT_FAKEROOT },
    { "read-only", no_argument, NULL, OPT_READ_ONLY },
    { "rm", no_argument, NULL, OPT_RM },
    { "pull", required_argument, NULL, OPT_PULL },
    { "name", required_argument, NULL, OPT_NAME },
    { "storage-driver", required_argument, NULL, OPT_DRIVER },
    { "tmpfs", required_argument, NULL, OPT_TMPFS },
    { "publish", required_argument, NULL, 'p' },
    { "publish-all", no_argument, NULL, 'P' },
    { "detach", no_argument, NULL, 'd' },
    { "add-host", required_argument, NULL, OPT_ADD_HOST },
    { "dns", required_argument, NULL, OPT_DNS },
    { "mount", required_argument, NULL, OPT_MOUNT },
    { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:e:v:w:u:h:tip:Pd", opts, NULL)) != -1)
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
      case OPT_MOUNT:
        if ((r = add_volume (o, optarg, c == OPT_MOUNT)) != 0)
          return r;
        break;
      case 'w':
        if (optarg[0] != '/')
          return cli_usage_error ("run", "invalid --workdir `%s`: not an absolute path", optarg);
        o->cfg.workdir = optarg;
        o->workdir_set = true;
        break;
      case 'u':
        if (*optarg == '\0')
          return cli_usage_error ("run", "invalid --user: empty");
        o->cfg.user = optarg;
        o->user_set = true;
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
      case 'p':
      case 'P':
      case OPT_ADD_HOST:
      case OPT_DNS:
        if (parse_net_flag (o, c, optarg, &err) < 0)
          return report ("run", err, SBX_EXIT_FAILURE);
        break;
      case 'd':
        o->detach = true;
        break;
      case OPT_USERNS:
      case OPT_NAME:
      case OPT_DRIVER:
      case OPT_PULL:
        if ((r = parse_choice_flag (o, c, optarg)) != 0)
          return r;
        break;
      case OPT_READ_ONLY:
        o->cfg.read_only = true;
        break;
      case OPT_FAKEROOT:
        o->cfg.fakeroot = true;
        break;
      case OPT_RM:
        o->autoremove = true;
        break;
      case OPT_TMPFS:
        if (optarg[0] != '/')
          return cli_usage_error ("run", "invalid --tmpfs `%s`: not an absolute path", optarg);
        sbx_strv_push (&o->tmpfs, optarg);
        break;
      case OPT_TLS_VERIFY:
        if ((r = cli_parse_bool ("run", "--tls-verify", optarg, &o->tls_verify)) != 0)
          return r;
        break;
      case OPT_HELP:
        fputs (run_help, stdout);
        return -1;
      default:
        return cli_getopt_error ("run", c, argv);
      }
  return 0;
}

/* The command: --entrypoint (which clears the image's Cmd, as in Docker) or
   the image's Entrypoint, then the arguments given or the image's Cmd.  */
static int
build_argv (struct run_opts *o, const struct sbx_image_config *img, int first, int argc,
            char **argv)
{
  int i;

  if (o->entrypoint_set)
    {
      if (*o->entrypoint)
        sbx_strv_push (&o->cfg.argv, o->entrypoint);
    }
  else
    for (i = 0; img && img->entrypoint && img->entrypoint[i]; i++)
      sbx_strv_push (&o->cfg.argv, img->entrypoint[i]);
  for (i = first; i < argc; i++)
    sbx_strv_push (&o->cfg.argv, argv[i]);
  if (first >= argc && ! o->entrypoint_set)
    for (i = 0; img && img->cmd && img->cmd[i]; i++)
      sbx_strv_push (&o->cfg.argv, img->cmd[i]);
  if (sbx_strv_len (o->cfg.argv) == 0)
    return cli_usage_error ("run", "no command given");
  return 0;
}

/* Find (pulling per --pull) and unpack the image NAME; fill the parts of
   the config that come from it.  */
static int
use_image (const struct cli_globals *g, struct run_opts *o, const char *what,
           struct sbx_image **out, struct sbx_error **err)
{
  struct cli_pull_opts po = { .quiet = false, .tls_verify = o->tls_verify };
  struct sbx_store *store = NULL;
  struct sbx_userns_plan plan;
  struct sbx_digest manifest;
  struct sbx_image *img = NULL;
  const char *pull = o->pull ? o->pull : "missing";
  char buf[SBX_DIGEST_STR_MAX];
  int r = 0;
  size_t i;

  if (cli_open_store (g, &store, err) < 0)
    return -1;
  if (strcmp (pull, "always") != 0)
    r = cli_find_image (store, what, &manifest, err);
  if (strcmp (pull, "always") == 0
      || (r < 0 && sbx_error_code (*err) == ENOENT && strcmp (pull, "never") != 0))
    {
      cleanup_free char *name = NULL;

      sbx_error_clear (err);
      name = cli_normalize_ref (what, err);
      r = name ? cli_pull_image (g, store, name, &po, &manifest, err) : -1;
    }
  sbx_userns_detect (&plan);
  if (r == 0)
    r = cli_unpack_image (store, &manifest, &plan, err);
  if (r == 0)
    r = sbx_image_load (store, &manifest, &img, err);
  for (i = 0; r == 0 && i < img->config->n_diff_ids; i++)
    {
      /* top-most first */
      const struct sbx_digest *d = &img->config->diff_ids[img->config->n_diff_ids - 1 - i];
      sbx_strv_push_take (&o->lowers, sbx_store_layer_path (store, d));
    }
  if (r == 0)
    o->image_id = xstrdup (sbx_digest_format (&manifest, buf));
  sbx_store_close (store);
  if (r < 0)
    {
      sbx_image_free (img);
      return -1;
    }
  *out = img;
  return 0;
}

static void
container_free_cleanup (struct sbx_container **c)
{
  sbx_container_free (*c);
}

/* An image container is kept in the store (DESIGN.md §4): create its
   record and writable layer, then run it like `sbx start` does.  */
static int
run_kept (const struct cli_globals *g, struct run_opts *o, const char *image_name)
{
  __attribute__ ((cleanup (container_free_cleanup))) struct sbx_container *c = NULL;
  enum sbx_storage_driver driver;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  int r;

  if (cli_pick_driver (o->driver, &driver, &err) < 0)
    return cli_report ("run", err, SBX_EXIT_FAILURE);
  c = xzalloc (sizeof *c);
  c->id = sbx_runtime_new_id ();
  c->name = o->name ? xstrdup (o->name) : cli_container_name ();
  c->image_name = xstrdup (image_name);
  if (sbx_digest_parse (o->image_id, &c->image, &err) < 0)
    return cli_report ("run", err, SBX_EXIT_FAILURE);
  c->argv = sbx_strv_dup (o->cfg.argv);
  c->env = sbx_strv_dup (o->env);
  c->workdir = o->cfg.workdir && o->workdir_set ? xstrdup (o->cfg.workdir) : NULL;
  c->user = o->user_set ? xstrdup (o->cfg.user) : NULL;
  c->hostname = o->cfg.hostname ? xstrdup (o->cfg.hostname) : NULL;
  c->volumes = sbx_strv_dup (o->volume_specs);
  c->tmpfs = sbx_strv_dup (o->tmpfs);
  c->cap_add = sbx_strv_dup (o->cap_add);
  c->cap_drop = sbx_strv_dup (o->cap_drop);
  c->network = o->network ? xstrdup (o->network) : NULL;
  c->publish = sbx_strv_dup (o->publish);
  c->publish_all = o->publish_all;
  c->add_hosts = sbx_strv_dup (o->add_hosts);
  c->dns = sbx_strv_dup (o->dns);
  c->driver = xstrdup (cli_driver_name (driver));
  c->tty = o->cfg.tty;
  c->interactive = o->cfg.interactive;
  c->init = o->cfg.init;
  c->read_only = o->cfg.read_only;
  c->keep_id = o->cfg.keep_id;
  c->fakeroot = o->cfg.fakeroot;
  c->autoremove = o->autoremove;
  c->created = time (NULL);
  c->exit_code = -1;
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("run", err, SBX_EXIT_FAILURE);
  (void) cli_container_layer_dirs (store, c->id, &c->upper, &c->work);
  r = sbx_container_create (store, c, &err);
  if (r == 0)
    r = cli_run_container (store, c, o->detach, &err);
  if (r == 0 && o->detach)
    printf ("%s\n", c->id);
  sbx_store_close (store);
  if (r < 0)
    return cli_report (NULL, err, c->exit_code >= 126 ? c->exit_code : SBX_EXIT_FAILURE);
  return r;
}

static void
image_free_cleanup (struct sbx_image **img)
{
  sbx_image_free (*img);
}

int
cli_run (const struct cli_globals *g, int argc, char **argv)
{
  __attribute__ ((cleanup (run_opts_release))) struct run_opts o = { .tls_verify = true };
  __attribute__ ((cleanup (image_free_cleanup))) struct sbx_image *img = NULL;
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  int exit_code = SBX_EXIT_FAILURE;
  int first;
  size_t i;
  int r;

  r = parse_flags (&o, argc, argv);
  if (r < 0)
    return 0; /* --help */
  if (r > 0)
    return r;
  if (o.network == NULL && cli_config_get ()->network.source != CLI_CONFIG_DEFAULT)
    o.network = cli_config_get ()->network.value; /* $SBX_NETWORK or config.json */
  first = optind;
  if (o.rootfs == NULL)
    {
      if (optind >= argc)
        return cli_usage_error ("run", "no image given (or use --rootfs DIR)");
      if (use_image (g, &o, argv[optind], &img, &err) < 0)
        return cli_report (NULL, err, SBX_EXIT_FAILURE);
      first = optind + 1;
      /* The image's environment first; -e and --env-file override it.  */
      for (i = 0; img->config->env && img->config->env[i]; i++)
        sbx_strv_push (&o.image_env, img->config->env[i]);
      for (i = 0; o.env && o.env[i]; i++)
        sbx_strv_push (&o.image_env, o.env[i]);
      if (o.cfg.workdir == NULL && img->config->workdir && *img->config->workdir)
        o.cfg.workdir = img->config->workdir;
      if (o.cfg.user == NULL && img->config->user && *img->config->user)
        o.cfg.user = img->config->user;
      add_image_volumes (&o, img->config->volumes);
      o.cfg.lowers = o.lowers;
      o.cfg.n_lowers = sbx_strv_len (o.lowers);
      o.cfg.image = o.image_id;
    }
  if ((r = build_argv (&o, img ? img->config : NULL, first, argc, argv)) != 0)
    return r;
  if (! o.detach && o.cfg.interactive && o.cfg.tty && ! isatty (STDIN_FILENO))
    return cli_usage_error ("run",
                            "the input device is not a TTY (drop -t, or run from a terminal)");
  if (sbx_caps_resolve (o.cap_add, o.cap_drop, &o.cfg.caps, &err) < 0)
    return report ("run", err, SBX_EXIT_FAILURE);

  if (prepare_volumes (g, &o, &err) < 0)
    return report ("run", err, SBX_EXIT_FAILURE);
  if (img)
    return run_kept (g, &o, argv[optind]);
  if (o.detach)
    return cli_usage_error ("run", "-d needs an image: a --rootfs container is not kept, so "
                                   "nothing could show its logs or stop it");

  if (cli_net_parse_mode (o.network ? o.network : "slirp", &o.net, &err) < 0
      || cli_net_resolve (&o.net, cli_config_get ()->publish_address.value, o.publish,
                          o.publish_all, NULL, o.dns, o.network != NULL, &err)
             < 0)
    return report ("run", err, SBX_EXIT_FAILURE);
  cli_net_apply (&o.net, &o.cfg);
  o.cfg.add_hosts = o.add_hosts;
  o.cfg.name = o.name;
  o.cfg.rootfs = o.rootfs;
  o.cfg.tmpfs = o.tmpfs;
  o.cfg.env = img ? o.image_env : o.env;
  o.cfg.mounts = o.mounts;
  o.cfg.n_mounts = o.n_mounts;
  o.cfg.id = sbx_runtime_new_id ();
  sbx_userns_detect (&plan);
  r = sbx_runtime_run (&o.cfg, &plan, &exit_code, &err);
  remove_anonymous_volumes (g, &o);
  if (r < 0)
    return report (NULL, err, exit_code);
  return exit_code;
}

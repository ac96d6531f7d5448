/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: the global flags, the settings, and the command table
   that hands each command its arguments.  */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"
#include "util/cleanup.h"

static const struct cli_command commands[] = {
  { "run", "Run a command in a new container", cli_run, NULL },
  { "ps", "List containers", cli_ps,
    "  sbx ps\n  sbx ps -a\n  sbx ps -a -q\n  sbx ps --format json\n" },
  { "start", "Run a stopped container again, with its changes", cli_start, NULL },
  { "rm", "Remove containers", cli_rm, "  sbx rm web\n  sbx rm -f $(sbx ps -a -q)\n" },
  { "commit", "Make an image from a container's changes", cli_commit,
    "  sbx commit web myimage:v2\n" },
  { "diff", "List the files a container changed", cli_diff, "  sbx diff web\n" },
  { "port", "List the published ports of a running container", cli_port, NULL },
  { "exec", "Run a command in a running container", cli_exec, NULL },
  { "logs", "Show a container's output", cli_logs, NULL },
  { "stop", "Stop running containers", cli_stop, NULL },
  { "restart", "Stop containers and start them again", cli_restart, NULL },
  { "kill", "Send a signal to running containers", cli_kill, NULL },
  { "wait", "Wait for containers to stop and print their exit codes", cli_wait, NULL },
  { "top", "List a container's processes", cli_top, NULL },
  { "volume", "Manage volumes (create, ls, inspect, rm, prune)", cli_volume, NULL },
  { "build", "Build an image from a Dockerfile", cli_build, NULL },
  { "pull", "Pull an image from a registry", cli_pull, NULL },
  { "images", "List images", cli_images,
    "  sbx images\n  sbx images -q\n  sbx images --format json\n  sbx images --format "
    "'{{.Repository}}:{{.Tag}}'\n" },
  { "rmi", "Remove images", cli_rmi, "  sbx rmi busybox\n  sbx rmi -f 728c94b21aa7\n" },
  { "tag", "Give an image another name", cli_tag,
    "  sbx tag busybox localhost:5000/tools/busybox:1.36\n" },
  { "inspect", "Show a container's or an image's details", cli_inspect, NULL },
  { "image", "Manage images (ls, rm, tag, inspect, pull, prune)", cli_image,
    "  sbx image ls\n  sbx image prune -a\n" },
  { "push", "Push an image to a registry", cli_push,
    "  sbx push localhost:5000/tools/busybox:1.36\n  sbx push myimage "
    "registry.example.org/me/myimage:v1\n" },
  { "login", "Store credentials for a registry", cli_login,
    "  sbx login -u me registry.example.org\n  echo \"$TOKEN\" | sbx login -u me --password-stdin "
    "ghcr.io\n" },
  { "logout", "Forget the credentials for a registry", cli_logout,
    "  sbx logout registry.example.org\n" },
  { "system", "Manage the store (df, prune, check)", cli_system, NULL },
  { "save", "Write images to a tar archive", cli_save, NULL },
  { "load", "Load images from a tar archive", cli_load,
    "  sbx load -i busybox.tar\n  sbx load < busybox.tar\n" },
  { "import", "Make an image from a root filesystem tarball", cli_import,
    "  sbx import rootfs.tar mybase:1\n  tar -C rootfs -c . | sbx import - mybase:1\n" },
  { "info", "Show what this host allows and the paths sbx uses", cli_info, NULL },
  { "unshare", "Run a command as root of sbx's user namespace", cli_unshare, NULL },
  { "completion", "Print the bash or zsh completion script", cli_completion, NULL },
  { "version", "Show the sbx version", cli_version, "  sbx version\n  sbx --version\n" },
};

static void
print_help (FILE *out)
{
  size_t i;

  fprintf (out, "Usage: sbx [OPTIONS] COMMAND [ARG...]\n\n"
                "Rootless, daemonless containers.\n\n"
                "Commands:\n");
  for (i = 0; i < SBX_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nOptions:\n"
                "      --log-level LEVEL   error, warn (default), info or debug (also $SBX_LOG)\n"
                "      --log-format FMT    text (default) or json\n"
                "      --root DIR          image store (default $SBX_ROOT or\n"
                "                          ${XDG_DATA_HOME:-~/.local/share}/sbx)\n"
                "  -h, --help              show this help\n"
                "  -v, --version           show the version\n\n"
                "Environment:\n"
                "  SBX_ROOT, SBX_STORAGE_DRIVER, SBX_NETWORK, SBX_LOG override the settings of\n"
                "  ${XDG_CONFIG_HOME:-~/.config}/sbx/config.json (see 'sbx info --help');\n"
                "  NO_COLOR turns off progress bars.\n\n"
                "Examples:\n"
                "  sbx run --rm -it busybox sh\n"
                "  sbx --log-level debug pull alpine\n"
                "  source <(sbx completion bash)\n\n"
                "Run 'sbx COMMAND --help' for more information on a command.\n");
}

/* The settings file and environment; after the global flags (--root wins)
   and before the command.  The config's log_level applies unless
   --log-level or $SBX_LOG gave one.  */
static int
load_config (struct cli_globals *g, const char *level, enum cli_config_source level_src,
             enum sbx_log_format format)
{
  struct sbx_error *err = NULL;
  struct cli_config *c;
  size_t i;

  if (cli_config_load (&err) < 0)
    return cli_report (NULL, err, -1);
  c = cli_config_mutable ();
  if (g->root)
    cli_config_set (&c->root, g->root, CLI_CONFIG_FLAG);
  if (level_src != CLI_CONFIG_DEFAULT)
    cli_config_set (&c->log_level, level, level_src);
  else if (c->log_level.value)
    sbx_log_init ((enum sbx_log_level) sbx_log_level_from_string (c->log_level.value), format);
  else
    cli_config_set (&c->log_level, "warn", CLI_CONFIG_DEFAULT);
  sbx_debug ("settings from `%s`%s", c->path, c->file_exists ? "" : " (absent: defaults)");
  for (i = 0; c->unknown_keys && c->unknown_keys[i]; i++)
    sbx_warn ("config `%s`: unknown key `%s` (ignored)", c->path, c->unknown_keys[i]);
  return 0;
}

int
cli_main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "log-level", required_argument, NULL, 'l' }, { "log-format", required_argument, NULL, 'F' },
    { "root", required_argument, NULL, 'r' },      { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'v' },         { NULL, 0, NULL, 0 },
  };
  struct cli_globals g = { 0 };
  const char *level = getenv ("SBX_LOG");
  enum cli_config_source level_src = level && *level ? CLI_CONFIG_ENV : CLI_CONFIG_DEFAULT;
  enum sbx_log_format format = SBX_LOG_FORMAT_TEXT;
  int lvl = SBX_LOG_WARN;
  size_t i;
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:hv", opts, NULL)) != -1)
    switch (c)
      {
      case 'l':
        level = optarg;
        level_src = CLI_CONFIG_FLAG;
        break;
      case 'F':
        if (strcmp (optarg, "json") == 0)
          format = SBX_LOG_FORMAT_JSON;
        else if (strcmp (optarg, "text") != 0)
          return cli_usage_error (NULL, "invalid --log-format `%s`: expected text or json", optarg);
        break;
      case 'r':
        g.root = optarg;
        break;
      case 'h':
        print_help (stdout);
        return 0;
      case 'v':
        return cli_version (&g, 0, NULL);
      default:
        return cli_getopt_error (NULL, c, argv);
      }
  if (level && *level)
    {
      lvl = sbx_log_level_from_string (level);
      if (lvl < 0)
        return cli_usage_error (NULL, "invalid log level `%s`: expected error, warn, info or debug",
                                level);
    }
  sbx_log_init ((enum sbx_log_level) lvl, format);
  if (load_config (&g, level, level_src, format) < 0)
    return SBX_EXIT_FAILURE;

  if (optind >= argc)
    {
      print_help (stderr);
      return SBX_EXIT_FAILURE;
    }
  for (i = 0; i < SBX_N_ELEMENTS (commands); i++)
    if (strcmp (argv[optind], commands[i].name) == 0)
      {
        char **sub = argv + optind;
        int subc = argc - optind;

        bool help = subc == 2 && (strcmp (sub[1], "--help") == 0 || strcmp (sub[1], "-h") == 0);
        int r;

        optind = 0; /* getopt: restart for the subcommand's own flags */
        r = commands[i].run (&g, subc, sub);
        if (help && r == 0 && commands[i].examples)
          printf ("\nExamples:\n%s", commands[i].examples);
        return r;
      }
  return cli_usage_error (NULL, "unknown command `%s`", argv[optind]);
}

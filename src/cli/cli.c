/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static const struct cli_command commands[] = {
  { "run", "Run a command in a new container", cli_run },
  { "ps", "List containers", cli_ps },
  { "start", "Run a stopped container again, with its changes", cli_start },
  { "rm", "Remove containers", cli_rm },
  { "commit", "Make an image from a container's changes", cli_commit },
  { "diff", "List the files a container changed", cli_diff },
  { "port", "List the published ports of a running container", cli_port },
  { "volume", "Manage volumes (create, ls, inspect, rm, prune)", cli_volume },
  { "build", "Build an image from a Dockerfile", cli_build },
  { "pull", "Pull an image from a registry", cli_pull },
  { "images", "List images", cli_images },
  { "rmi", "Remove images", cli_rmi },
  { "tag", "Give an image another name", cli_tag },
  { "inspect", "Show an image's manifest and config", cli_inspect },
  { "image", "Manage images (ls, rm, tag, inspect, pull, prune)", cli_image },
  { "push", "Push an image to a registry", cli_push },
  { "login", "Store credentials for a registry", cli_login },
  { "logout", "Forget the credentials for a registry", cli_logout },
  { "system", "Manage the store (check, prune)", cli_system },
  { "save", "Write images to a tar archive", cli_save },
  { "load", "Load images from a tar archive", cli_load },
  { "import", "Make an image from a root filesystem tarball", cli_import },
  { "info", "Show what this host allows and the paths sbx uses", cli_info },
  { "unshare", "Run a command as root of sbx's user namespace", cli_unshare },
  { "version", "Show the sbx version", cli_version },
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
                "Run 'sbx COMMAND --help' for more information on a command.\n");
}

int
cli_usage_error (const char *cmd, const char *fmt, ...)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  va_list ap;

  va_start (ap, fmt);
  sbx_strbuf_vaddf (&sb, fmt, ap);
  va_end (ap);
  if (cmd)
    fprintf (stderr, "sbx: %s: %s (see 'sbx %s --help')\n", cmd, sb.buf, cmd);
  else
    fprintf (stderr, "sbx: %s (see 'sbx --help')\n", sb.buf);
  return SBX_EXIT_FAILURE;
}

int
cli_getopt_error (const char *cmd, int opt, char **argv)
{
  const char *arg = argv[optind - 1];

  if (opt == ':')
    return cli_usage_error (cmd, "flag `%s` needs an argument", arg);
  if (optopt && strncmp (arg, "--", 2) != 0)
    return cli_usage_error (cmd, "unknown flag `-%c`", optopt);
  return cli_usage_error (cmd, "unknown flag `%s`", arg);
}

int
cli_parse_force (const char *cmd, const char *help, int argc, char **argv, bool *force)
{
  static const struct option opts[] = {
    { "force", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  while ((c = getopt_long (argc, argv, "+:f", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        *force = true;
        break;
      case 'h':
        fputs (help, stdout);
        return -1;
      default:
        return cli_getopt_error (cmd, c, argv);
      }
  return 0;
}

char *
cli_store_root (const struct cli_globals *g)
{
  const char *env = getenv ("SBX_ROOT");
  const char *xdg = getenv ("XDG_DATA_HOME");
  const char *home = getenv ("HOME");

  if (g->root)
    return xstrdup (g->root);
  if (env && *env)
    return xstrdup (env);
  if (xdg && *xdg == '/')
    return xasprintf ("%s/sbx", xdg);
  return xasprintf ("%s/.local/share/sbx", home && *home ? home : "/tmp");
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

        optind = 0; /* getopt: restart for the subcommand's own flags */
        return commands[i].run (&g, subc, sub);
      }
  return cli_usage_error (NULL, "unknown command `%s`", argv[optind]);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "runtime/runtime.h"
#include "util/error.h"

static const char unshare_help[]
    = "Usage: sbx unshare [COMMAND [ARG...]]\n"
      "\n"
      "Run COMMAND (default: $SHELL, else /bin/sh) in a new user namespace with\n"
      "the id mapping of sbx's containers, and a private mount namespace, like\n"
      "`podman unshare`. Your files, working directory and environment are\n"
      "kept; you are root inside. In subuid mode 1..65536 inside are your\n"
      "/etc/subuid range, so files that images and containers created for\n"
      "other ids can be read, changed or removed; in single-uid mode only\n"
      "you are mapped (as 0). Exit status: COMMAND's; 125 when sbx fails,\n"
      "126 when COMMAND cannot be executed, 127 when it is not found.\n"
      "\n"
      "Options:\n"
      "      --fakeroot             root emulation as with `sbx run --fakeroot`: in\n"
      "                             single-uid mode chown, set*id, setgroups and\n"
      "                             mknod of devices succeed without effect (and\n"
      "                             no_new_privs is set); nothing in subuid mode\n"
      "      --help                 show this help\n"
      "\n"
      "Examples:\n"
      "  sbx unshare id\n"
      "  sbx unshare rm -rf ~/.local/share/sbx\n"
      "  sbx unshare tar -C rootfs -xpf rootfs.tar\n";

int
cli_unshare (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "fakeroot", no_argument, NULL, 'f' },
    { NULL, 0, NULL, 0 },
  };
  const char *shell = getenv ("SHELL");
  char *default_argv[] = { (char *) (shell && *shell ? shell : "/bin/sh"), NULL };
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  int exit_code = SBX_EXIT_FAILURE;
  bool fakeroot = false;
  int c;

  (void) g;
  while ((c = getopt_long (argc, argv, "+", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        fakeroot = true;
        break;
      case 'h':
        fputs (unshare_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("unshare", c, argv);
      }
  sbx_userns_detect (&plan);
  sbx_runtime_exec_in_userns (&plan, optind < argc ? argv + optind : default_argv, fakeroot,
                              &exit_code, &err);
  return cli_report ("unshare", err, exit_code);
}

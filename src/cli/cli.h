/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>

/* The command-line front end: one file per command; each parses its flags
   into a typed request, calls the library and prints the result.  */

#define SBX_EXIT_FAILURE 125 /* sbx itself failed (Docker/Podman convention) */

struct cli_globals
{
  const char *root; /* --root, or NULL for the default store */
};

struct cli_command
{
  const char *name;
  const char *summary;
  int (*run) (const struct cli_globals *g, int argc, char **argv);
};

int cli_main (int argc, char **argv);

int cli_run (const struct cli_globals *g, int argc, char **argv);
int cli_info (const struct cli_globals *g, int argc, char **argv);
int cli_version (const struct cli_globals *g, int argc, char **argv);

/* Print "sbx: CMD: MSG" for a bad flag and return 125.  */
int cli_usage_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* The unknown or incomplete option at argv[optind-1] after getopt_long.  */
int cli_getopt_error (const char *cmd, int opt, char **argv);
/* The store root in force: --root, $SBX_ROOT, ${XDG_DATA_HOME:-~/.local/share}/sbx.  */
char *cli_store_root (const struct cli_globals *g);

#ifndef SBX_VERSION
#  define SBX_VERSION "0.1.0"
#endif

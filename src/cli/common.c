/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every command shares: usage errors, error reports, the common flag
   parsing, the terminal's colour setting.  */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"

int
cli_report (const char *cmd, struct sbx_error *err, int code)
{
  fprintf (stderr, "sbx: %s%s%s\n", cmd ? cmd : "", cmd ? ": " : "", err->msg);
  sbx_error_free (err);
  return code;
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

bool
cli_no_color (void)
{
  const char *nc = getenv ("NO_COLOR");
  const char *term = getenv ("TERM");

  return (nc && *nc) || (term && strcmp (term, "dumb") == 0);
}

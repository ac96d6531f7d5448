/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int
cli_version (const struct cli_globals *g, int argc, char **argv)
{
  (void) g;
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sbx version\n\nShow the sbx version.\n");
      return 0;
    }
  if (argc > 1)
    return cli_usage_error ("version", "unexpected argument `%s`", argv[1]);
  printf ("sbx version %s\n", SBX_VERSION);
  return 0;
}

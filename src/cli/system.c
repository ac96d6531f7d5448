/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"

static void
print_problem (const char *what, void *arg)
{
  (void) arg;
  printf ("%s\n", what);
}

struct check_arg
{
  struct sbx_store *store;
  bool repair;
  struct sbx_check_report rep;
};

static int
check_fn (void *arg, struct sbx_error **err)
{
  struct check_arg *a = arg;
  int r = sbx_store_check (a->store, a->repair, print_problem, NULL, &a->rep, err);

  /* The report travels back to the parent as the output below.  */
  if (r == 0)
    {
      printf ("blobs: %zu ok, %zu damaged; layers: %zu ok, %zu damaged; images: %zu "
              "incomplete; staging leftovers: %zu",
              a->rep.blobs_ok, a->rep.blobs_bad, a->rep.layers_ok, a->rep.layers_bad,
              a->rep.refs_dangling, a->rep.staging);
      if (a->repair)
        printf ("; removed: %zu", a->rep.removed);
      printf ("\n");
      fflush (stdout);
      /* Damage (not leftovers, which are harmless) is a failure unless repaired.  */
      if (! a->repair && (a->rep.blobs_bad || a->rep.layers_bad || a->rep.refs_dangling))
        return sbx_err (err, 0, "the store has damaged entries (run `sbx system check --repair`)");
    }
  return r;
}

static int
system_check (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "repair", no_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct check_arg a = { 0 };
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    switch (c)
      {
      case 'r':
        a.repair = true;
        break;
      case 'h':
        printf ("Usage: sbx system check [--repair]\n\nVerify every blob against its digest, "
                "every unpacked layer and every image\nname; report what is damaged or "
                "half-written, and with --repair remove it.\nExits 1 when damage remains.\n");
        return 0;
      default:
        return cli_getopt_error ("system check", c, argv);
      }
  if (cli_open_store (g, &a.store, &err) < 0)
    return cli_report ("system check", err, SBX_EXIT_FAILURE);
  sbx_userns_detect (&plan);
  fflush (stdout);
  r = cli_store_op (&plan, check_fn, &a, &err);
  sbx_store_close (a.store);
  if (r < 0)
    return cli_report ("system check", err, 1);
  return 0;
}

int
cli_system (const struct cli_globals *g, int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      printf ("Usage: sbx system COMMAND\n\nCommands:\n  check [--repair]   verify the store\n"
              "  prune [-a]         remove what no image refers to (same as image prune)\n");
      return argc < 2 ? SBX_EXIT_FAILURE : 0;
    }
  optind = 0;
  if (strcmp (argv[1], "check") == 0)
    return system_check (g, argc - 1, argv + 1);
  if (strcmp (argv[1], "prune") == 0)
    {
      char *sub[] = { (char *) "image", (char *) "prune", NULL };
      int i;
      char **args = NULL;
      int r;

      /* "system prune ARGS" is "image prune ARGS".  */
      args = calloc ((size_t) argc + 2, sizeof (char *));
      if (args == NULL)
        return SBX_EXIT_FAILURE;
      args[0] = sub[0];
      args[1] = sub[1];
      for (i = 2; i < argc; i++)
        args[i] = argv[i];
      r = cli_image (g, argc, args);
      free (args);
      return r;
    }
  return cli_usage_error ("system", "unknown command `%s`", argv[1]);
}

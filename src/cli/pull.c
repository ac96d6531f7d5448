/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/error.h"

static const char pull_help[]
    = "Usage: sbx pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
      "\n"
      "Pull an image from a registry into the store and unpack its layers.\n"
      "\n"
      "Options:\n"
      "  -q, --quiet               print only the image digest\n"
      "      --platform OS/ARCH    pick this platform from a multi-platform image\n"
      "      --tls-verify=false    do not verify TLS certificates (plain http is always\n"
      "                            allowed for localhost and 127.0.0.1)\n"
      "      --help                show this help\n"
      "\n"
      "Examples:\n"
      "  sbx pull busybox\n"
      "  sbx pull 127.0.0.1:5000/team/tool:1.2\n";

enum
{
  OPT_PLATFORM = 256,
  OPT_TLS_VERIFY,
  OPT_HELP,
};

int
cli_parse_bool (const char *cmd, const char *flag, const char *v, bool *out)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return cli_usage_error (cmd, "invalid %s `%s`: expected true or false", flag, v);
  return 0;
}

int
cli_pull (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "quiet", no_argument, NULL, 'q' },
    { "platform", required_argument, NULL, OPT_PLATFORM },
    { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct cli_pull_opts o = { .tls_verify = true };
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  cleanup_free char *name = NULL;
  struct sbx_digest manifest;
  char buf[SBX_DIGEST_STR_MAX];
  int c, r;

  while ((c = getopt_long (argc, argv, "+:q", opts, NULL)) != -1)
    switch (c)
      {
      case 'q':
        o.quiet = true;
        break;
      case OPT_PLATFORM:
        o.platform = optarg;
        break;
      case OPT_TLS_VERIFY:
        if ((r = cli_parse_bool ("pull", "--tls-verify", optarg, &o.tls_verify)) != 0)
          return r;
        break;
      case OPT_HELP:
        fputs (pull_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("pull", c, argv);
      }
  if (optind + 1 != argc)
    return cli_usage_error ("pull", optind >= argc ? "no image given" : "too many arguments");
  name = cli_normalize_ref (argv[optind], &err);
  if (name == NULL)
    return cli_report ("pull", err, SBX_EXIT_FAILURE);
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("pull", err, SBX_EXIT_FAILURE);
  r = cli_pull_image (g, store, name, &o, &manifest, &err);
  sbx_store_close (store);
  if (r < 0)
    return cli_report (NULL, err, SBX_EXIT_FAILURE);
  if (o.quiet)
    printf ("%s\n", sbx_digest_format (&manifest, buf));
  return 0;
}

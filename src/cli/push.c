/* SPDX-License-Identifier: GPL-2.0-or-later */
/* push, login, logout: the commands that write to a registry or its
   credentials.  */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

enum
{
  OPT_TLS_VERIFY = 256,
  OPT_PASSWORD_STDIN,
  OPT_HELP,
};

int
cli_push (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "quiet", no_argument, NULL, 'q' },
    { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct cli_pull_opts o = { .tls_verify = true };
  struct sbx_reference dest = { 0 };
  struct sbx_registry *reg = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  struct sbx_digest manifest;
  const char *src, *dst;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:q", opts, NULL)) != -1)
    switch (c)
      {
      case 'q':
        o.quiet = true;
        break;
      case OPT_TLS_VERIFY:
        if ((r = cli_parse_bool ("push", "--tls-verify", optarg, &o.tls_verify)) != 0)
          return r;
        break;
      case OPT_HELP:
        printf ("Usage: sbx push [OPTIONS] IMAGE [DESTINATION]\n\n"
                "Upload an image to a registry (to DESTINATION, a reference, when given).\n"
                "Blobs the registry already has are not uploaded again.\n\n"
                "Options:\n  -q, --quiet             no progress output\n"
                "      --tls-verify=false  do not verify TLS certificates\n");
        return 0;
      default:
        return cli_getopt_error ("push", c, argv);
      }
  if (optind >= argc || argc - optind > 2)
    return cli_usage_error ("push", optind >= argc ? "no image given" : "too many arguments");
  src = argv[optind];
  dst = argc - optind == 2 ? argv[optind + 1] : src;
  if (sbx_reference_parse (dst, &dest, &err) < 0)
    return cli_report ("push", err, SBX_EXIT_FAILURE);
  r = cli_open_store (g, &store, &err);
  if (r == 0)
    r = cli_find_image (store, src, &manifest, &err);
  if (r == 0)
    r = cli_registry_open (&o, &reg, &err);
  if (r == 0)
    r = sbx_registry_push (reg, store, &manifest, &dest, &err);
  sbx_registry_free (reg);
  sbx_store_close (store);
  sbx_reference_release (&dest);
  return r < 0 ? cli_report ("push", err, SBX_EXIT_FAILURE) : 0;
}

/* Read a line from stdin (the password), without echo on a terminal.  */
static char *
read_secret (const char *prompt, bool echo)
{
  struct termios saved, t;
  bool tty = isatty (STDIN_FILENO);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  if (tty)
    {
      fputs (prompt, stderr);
      fflush (stderr);
    }
  if (tty && ! echo && tcgetattr (STDIN_FILENO, &saved) == 0)
    {
      t = saved;
      t.c_lflag &= ~(tcflag_t) ECHO;
      (void) tcsetattr (STDIN_FILENO, TCSAFLUSH, &t);
      n = getline (&line, &cap, stdin);
      (void) tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
      fputc ('\n', stderr);
    }
  else
    n = getline (&line, &cap, stdin);
  if (n < 0)
    {
      free (line);
      return NULL;
    }
  line[strcspn (line, "\r\n")] = '\0';
  return line;
}

int
cli_login (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "username", required_argument, NULL, 'u' },
    { "password", required_argument, NULL, 'p' },
    { "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
    { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct cli_pull_opts o = { .tls_verify = true, .quiet = true };
  cleanup_free char *user = NULL;
  cleanup_free char *pass = NULL;
  struct sbx_registry *reg = NULL;
  struct sbx_error *err = NULL;
  bool from_stdin = false;
  int c, r;

  (void) g;
  while ((c = getopt_long (argc, argv, "+:u:p:", opts, NULL)) != -1)
    switch (c)
      {
      case 'u':
        free (user);
        user = xstrdup (optarg);
        break;
      case 'p':
        free (pass);
        pass = xstrdup (optarg);
        break;
      case OPT_PASSWORD_STDIN:
        from_stdin = true;
        break;
      case OPT_TLS_VERIFY:
        if ((r = cli_parse_bool ("login", "--tls-verify", optarg, &o.tls_verify)) != 0)
          return r;
        break;
      case OPT_HELP:
        printf ("Usage: sbx login [OPTIONS] REGISTRY\n\n"
                "Check credentials against REGISTRY and store them (0600) in\n"
                "${XDG_CONFIG_HOME:-~/.config}/sbx/auth.json. ~/.docker/config.json is also read\n"
                "when pulling.\n\nOptions:\n  -u, --username USER\n  -p, --password PASS\n"
                "      --password-stdin    read the password from stdin\n"
                "      --tls-verify=false\n");
        return 0;
      default:
        return cli_getopt_error ("login", c, argv);
      }
  if (optind + 1 != argc)
    return cli_usage_error ("login", optind >= argc ? "no registry given" : "too many arguments");
  if (user == NULL && (user = read_secret ("Username: ", true)) == NULL)
    return cli_usage_error ("login", "no username given");
  if (pass == NULL && (pass = read_secret (from_stdin ? "" : "Password: ", false)) == NULL)
    return cli_usage_error ("login", "no password given");
  r = cli_registry_open (&o, &reg, &err);
  if (r == 0)
    r = sbx_registry_login (reg, argv[optind], user, pass, &err);
  sbx_registry_free (reg);
  if (r < 0)
    return cli_report ("login", err, SBX_EXIT_FAILURE);
  printf ("Login Succeeded!\n");
  return 0;
}

int
cli_logout (const struct cli_globals *g, int argc, char **argv)
{
  struct cli_pull_opts o = { .tls_verify = true, .quiet = true };
  struct sbx_registry *reg = NULL;
  struct sbx_error *err = NULL;
  int r;

  (void) g;
  if (argc == 2 && strcmp (argv[1], "--help") == 0)
    {
      printf ("Usage: sbx logout REGISTRY\n\nForget the stored credentials for REGISTRY.\n");
      return 0;
    }
  if (argc != 2)
    return cli_usage_error ("logout", "expected one REGISTRY");
  r = cli_registry_open (&o, &reg, &err);
  if (r == 0)
    r = sbx_registry_logout (reg, argv[1], &err);
  sbx_registry_free (reg);
  if (r < 0)
    return cli_report ("logout", err, SBX_EXIT_FAILURE);
  printf ("Removed login credentials for %s\n", argv[1]);
  return 0;
}

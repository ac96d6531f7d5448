/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The network flags of `run` (and of kept containers at `start`) turned
   into the runtime's view, and `sbx port`.  */
#define SBX_LOG_MODULE "cli"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/net.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

void
cli_net_release (struct cli_net *n)
{
  sbx_net_options_release (&n->opts);
  free (n->ports);
  n->ports = NULL;
  n->n_ports = 0;
}

int
cli_net_parse_mode (const char *spec, struct cli_net *n, struct sbx_error **err)
{
  sbx_net_options_init (&n->opts);
  if (strcmp (spec, "none") == 0)
    n->mode = SBX_NETWORK_NONE;
  else if (strcmp (spec, "host") == 0)
    n->mode = SBX_NETWORK_HOST;
  else if (strcmp (spec, "slirp") == 0 || strcmp (spec, "slirp4netns") == 0)
    n->mode = SBX_NETWORK_SLIRP;
  else if (strncmp (spec, "slirp:", 6) == 0 || strncmp (spec, "slirp4netns:", 12) == 0)
    {
      n->mode = SBX_NETWORK_SLIRP;
      if (sbx_net_options_parse (strchr (spec, ':') + 1, &n->opts, err) < 0)
        return sbx_err_prefix (err, "invalid --network `%s`", spec);
    }
  else
    return sbx_err (err, EINVAL, "invalid --network `%s`: expected slirp[:OPTIONS], none or host",
                    spec);
  return 0;
}

int
cli_net_check_ip (const char *what, const char *ip, struct sbx_error **err)
{
  unsigned char buf[sizeof (struct in6_addr)];

  if (inet_pton (AF_INET, ip, buf) != 1 && inet_pton (AF_INET6, ip, buf) != 1)
    return sbx_err (err, EINVAL, "invalid %s `%s`: not a numeric IP address", what, ip);
  return 0;
}

int
cli_net_check_add_host (const char *spec, struct sbx_error **err)
{
  size_t nlen = strcspn (spec, ":=");

  if (nlen == 0 || spec[nlen] == '\0')
    return sbx_err (err, EINVAL, "invalid --add-host `%s`: expected NAME:IP", spec);
  for (size_t i = 0; i < nlen; i++)
    if (! (spec[i] == '-' || spec[i] == '.' || spec[i] == '_' || (spec[i] >= '0' && spec[i] <= '9')
           || ((spec[i] | 0x20) >= 'a' && (spec[i] | 0x20) <= 'z')))
      return sbx_err (err, EINVAL, "invalid --add-host `%s`: `%.*s` is not a host name", spec,
                      (int) nlen, spec);
  if (strcmp (spec + nlen + 1, "host-gateway") == 0)
    return 0;
  return cli_net_check_ip ("--add-host address", spec + nlen + 1, err);
}

int
cli_net_resolve (struct cli_net *n, const char *address, char *const *publish, bool publish_all,
                 char *const *exposed, char *const *dns, bool explicit_mode, struct sbx_error **err)
{
  size_t i;

  for (i = 0; publish && publish[i]; i++)
    if (sbx_net_parse_publish_at (publish[i], address, &n->ports, &n->n_ports, err) < 0)
      return -1;
  for (i = 0; publish_all && exposed && exposed[i]; i++)
    {
      struct sbx_port p;
      bool dup = false;

      if (sbx_net_parse_exposed (exposed[i], &p, err) < 0)
        return -1;
      snprintf (p.host_ip, sizeof p.host_ip, "%s", address);
      for (size_t j = 0; j < n->n_ports; j++)
        dup |= n->ports[j].ctr_port == p.ctr_port && n->ports[j].proto == p.proto;
      if (dup)
        continue; /* -p for the same port wins */
      n->ports = xrealloc (n->ports, (n->n_ports + 1) * sizeof *n->ports);
      n->ports[n->n_ports++] = p;
    }
  for (i = 0; dns && dns[i]; i++)
    {
      if (cli_net_check_ip ("--dns", dns[i], err) < 0)
        return -1;
      sbx_strv_push (&n->opts.dns, dns[i]);
    }
  if (n->n_ports > 0 && n->mode != SBX_NETWORK_SLIRP)
    return sbx_err (err, EINVAL,
                    "-p needs --network slirp (the container has no network of its "
                    "own with --network %s)",
                    n->mode == SBX_NETWORK_HOST ? "host" : "none");
  if (n->mode == SBX_NETWORK_SLIRP)
    {
      struct sbx_error *tun = NULL;

      if (sbx_net_probe_tun (&tun) < 0)
        {
          /* The default network degrades to none on a host without a usable
             /dev/net/tun; asking for it (or for ports) is an error.  */
          if (explicit_mode || n->n_ports > 0)
            {
              *err = tun;
              return sbx_err_prefix (err, "--network slirp");
            }
          sbx_warn ("no network for the container: %s", tun->msg);
          sbx_error_clear (&tun);
          n->mode = SBX_NETWORK_NONE;
        }
    }
  return 0;
}

void
cli_net_apply (struct cli_net *n, struct sbx_run_config *cfg)
{
  cfg->network = n->mode;
  cfg->net = &n->opts;
  cfg->ports = n->ports;
  cfg->n_ports = n->n_ports;
}

/* "127.0.0.1:8888->8888/tcp, …" for `ps`, from the running container's
   state (Docker's PORTS column); "" when it publishes nothing.  */
char *
cli_ports_summary (const char *id)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  struct sbx_error *ignored = NULL;
  cleanup_free char *state = sbx_runtime_state_dir (&ignored);
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  const char *line;

  sbx_error_clear (&ignored);
  if (state == NULL)
    return xstrdup ("");
  path = xasprintf ("%s/%s/ports", state, id);
  text = sbx_fs_read_file_at (AT_FDCWD, path, 1 << 20, NULL, &ignored);
  sbx_error_clear (&ignored);
  /* Lines "8888/tcp -> 127.0.0.1:8888".  */
  for (line = text ? text : ""; *line;)
    {
      const char *end = strchrnul (line, '\n');
      const char *arrow = strstr (line, " -> ");

      if (arrow && arrow < end)
        sbx_strbuf_addf (&sb, "%s%.*s->%.*s", sb.len ? ", " : "", (int) (end - arrow - 4),
                         arrow + 4, (int) (arrow - line), line);
      line = *end ? end + 1 : end;
    }
  return sbx_strbuf_detach (&sb);
}

/* ---- sbx port ---- */

static const char port_help[]
    = "Usage: sbx port CONTAINER [PORT[/PROTO]]\n"
      "\n"
      "List the published ports of a running container, or the host address of\n"
      "one of them, as `CTRPORT/PROTO -> HOSTIP:HOSTPORT`.\n"
      "\n"
      "CONTAINER is a name (--name), an id or an id prefix.\n"
      "\n"
      "Examples:\n"
      "  sbx run --rm --name lab -p 8888 jupyterlab &\n"
      "  sbx port lab            # 8888/tcp -> 127.0.0.1:40123\n"
      "  sbx port lab 8888/tcp   # 127.0.0.1:40123\n";

/* The state directory entry of the running container WHAT (name, id or id
   prefix); NULL when none is running.  */
static char *
find_running (int statefd, const char *what)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  char *found = NULL;
  int fd = fcntl (statefd, F_DUPFD_CLOEXEC, 3);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        (void) close (fd);
      return NULL;
    }
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *namepath = xasprintf ("%s/name", de->d_name);
      cleanup_free char *name = NULL;
      struct sbx_error *ignored = NULL;
      bool match;

      if (strlen (de->d_name) != 64)
        continue;
      name = sbx_fs_read_file_at (statefd, namepath, 256, NULL, &ignored);
      sbx_error_clear (&ignored);
      match = (name && strcmp (name, what) == 0)
              || (strlen (what) >= 4 && strncmp (de->d_name, what, strlen (what)) == 0);
      if (match && sbx_runtime_monitor_pid (de->d_name) > 0)
        {
          free (found);
          found = xstrdup (de->d_name);
          if (name && strcmp (name, what) == 0)
            break;
        }
    }
  return found;
}

int
cli_port (const struct cli_globals *g, int argc, char **argv)
{
  cleanup_free char *state = NULL;
  cleanup_free char *id = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_close int statefd = -1;
  struct sbx_error *err = NULL;
  const char *filter = NULL;
  cleanup_free char *want = NULL;
  const char *line;
  bool any = false;

  (void) g;
  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      fputs (port_help, stdout);
      return 0;
    }
  if (argc < 2 || argc > 3 || argv[1][0] == '-')
    return cli_usage_error ("port", "expected CONTAINER [PORT[/PROTO]]");
  if (argc == 3)
    {
      filter = argv[2];
      want = strchr (filter, '/') ? xasprintf ("%s ->", filter) : xasprintf ("%s/tcp ->", filter);
    }
  state = sbx_runtime_state_dir (&err);
  if (state == NULL)
    return cli_report ("port", err, 1);
  statefd = open (state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  id = statefd >= 0 ? find_running (statefd, argv[1]) : NULL;
  if (id == NULL)
    {
      sbx_err (&err, ENOENT, "no running container `%s`", argv[1]);
      return cli_report ("port", err, 1);
    }
  path = xasprintf ("%s/ports", id);
  text = sbx_fs_read_file_at (statefd, path, 1 << 20, NULL, &err);
  if (text == NULL)
    return cli_report ("port", err, 1);
  for (line = text; *line;)
    {
      const char *end = strchrnul (line, '\n');
      size_t len = (size_t) (end - line);

      if (want == NULL)
        printf ("%.*s\n", (int) len, line);
      else if (len > strlen (want) && strncmp (line, want, strlen (want)) == 0)
        printf ("%.*s\n", (int) (len - strlen (want) - 1), line + strlen (want) + 1);
      any |= want == NULL || strncmp (line, want, strlen (want)) == 0;
      line = *end ? end + 1 : end;
    }
  if (filter && ! any)
    {
      sbx_err (&err, ENOENT, "container `%s` does not publish port %s", argv[1], filter);
      return cli_report ("port", err, 1);
    }
  return 0;
}

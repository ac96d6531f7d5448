/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/net.h"
#include "overlay/overlay.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hints.h"
#include "util/json.h"
#include "util/xalloc.h"

static const char info_help[]
    = "Usage: sbx info [--format text|json]\n"
      "\n"
      "Show what this host allows (user namespaces and their mode, overlay, FUSE,\n"
      "TUN, cgroups) and the paths sbx uses, with a hint for each missing feature.\n";

/* One host feature: usable or not, with the reason and the fix.  */
struct feature
{
  const char *name;
  bool ok;
  char *detail;
  char *hint;
};

static void
feature_from (struct feature *f, const char *name, int r, struct sbx_error *err, const char *okmsg)
{
  f->name = name;
  f->ok = r == 0;
  f->detail = xstrdup (r == 0 ? okmsg : err->msg);
  f->hint = NULL;
  if (r < 0)
    {
      /* The hint is part of the message "(hint: …)"; split it out.  */
      char *h = strstr (f->detail, " (hint: ");

      if (h)
        {
          f->hint = xstrndup (h + 8, strlen (h + 8) - 1);
          *h = '\0';
        }
    }
  sbx_error_free (err);
}

static const char *
tmp_base (void)
{
  const char *t = getenv ("TMPDIR");
  return t && *t == '/' ? t : "/tmp";
}

/* What `sbx info` reports.  */
struct host_facts
{
  struct utsname un;
  struct sbx_userns_plan plan;
  struct feature feats[4];
  const char *cgroup;
  const char *driver;
  const char *driver_why;
  const char *network; /* what `run` uses by default: slirp or none */
  const char *network_why;
  const char *slirp_version; /* NULL when libslirp cannot be loaded */
  bool ipv6;
  bool store_remote;
  const char *store;
  const char *state;
  const char *state_err;
};

static void
print_json (const struct host_facts *f)
{
  size_t i;
  cleanup_json struct sbx_json *root = sbx_json_object ();
  struct sbx_json *host = sbx_json_object ();
  struct sbx_json *userns = sbx_json_object ();
  struct sbx_json *features = sbx_json_object ();
  struct sbx_json *paths = sbx_json_object ();
  cleanup_free char *out = NULL;

  sbx_json_set_str (root, "version", SBX_VERSION);
  sbx_json_set_str (host, "kernel", f->un.release);
  sbx_json_set_str (host, "arch", f->un.machine);
  sbx_json_set_str (host, "cgroups", f->cgroup);
  sbx_json_set_bool (host, "resourceLimits", false);
  sbx_json_set (root, "host", host);
  sbx_json_set_str (userns, "mode", f->plan.mode == SBX_USERNS_SUBUID ? "subuid" : "single");
  sbx_json_set_str (userns, "reason", f->plan.reason);
  sbx_json_set_int (userns, "uid", f->plan.uid);
  sbx_json_set_int (userns, "gid", f->plan.gid);
  sbx_json_set (root, "userns", userns);
  for (i = 0; i < SBX_N_ELEMENTS (f->feats); i++)
    {
      struct sbx_json *one = sbx_json_object ();

      sbx_json_set_bool (one, "usable", f->feats[i].ok);
      sbx_json_set_str (one, "detail", f->feats[i].detail);
      sbx_json_set_str (one, "hint", f->feats[i].hint);
      sbx_json_set (features, f->feats[i].name, one);
    }
  sbx_json_set (root, "features", features);
  sbx_json_set_str (paths, "store", f->store);
  sbx_json_set_bool (paths, "storeOnNetworkFilesystem", f->store_remote);
  sbx_json_set_str (root, "storageDriver", f->driver);
  sbx_json_set_str (root, "storageDriverReason", f->driver_why);
  {
    struct sbx_json *net = sbx_json_object ();

    sbx_json_set_str (net, "default", f->network);
    sbx_json_set_str (net, "reason", f->network_why);
    sbx_json_set_str (net, "libslirp", f->slirp_version);
    sbx_json_set_bool (net, "ipv6", f->ipv6);
    sbx_json_set_str (net, "publishAddress", SBX_PORT_DEFAULT_IP);
    sbx_json_set (root, "network", net);
  }
  sbx_json_set_str (paths, "state", f->state);
  sbx_json_set (root, "paths", paths);
  out = sbx_json_dump (root);
  fputs (out, stdout);
}

static void
print_text (const struct host_facts *f)
{
  size_t i;

  printf ("version:          %s\n", SBX_VERSION);
  printf ("kernel:           %s %s\n", f->un.release, f->un.machine);
  printf ("userns mode:      %s (%s)\n", f->plan.mode == SBX_USERNS_SUBUID ? "subuid" : "single",
          f->plan.reason);
  if (f->plan.mode == SBX_USERNS_SINGLE)
    printf ("hint: %s\n", sbx_hint (SBX_HINT_SUBUID, 0));
  for (i = 0; i < SBX_N_ELEMENTS (f->feats); i++)
    {
      printf ("%-17s %s%s\n", f->feats[i].name,
              f->feats[i].ok ? "yes: " : "no: ", f->feats[i].detail);
      if (f->feats[i].hint)
        printf ("hint: %s\n", f->feats[i].hint);
    }
  printf ("cgroups:          %s; resource limits: unavailable\n", f->cgroup);
  printf ("hint: %s\n", sbx_hint (SBX_HINT_CGROUP, 0));
  printf ("network:          %s (%s)\n", f->network, f->network_why);
  printf ("storage driver:   %s (%s)\n", f->driver, f->driver_why);
  printf ("store:            %s%s\n", f->store,
          f->store_remote ? " (a network filesystem: writable layers go to node-local storage)"
                          : "");
  printf ("state:            %s\n", f->state ? f->state : f->state_err);
}

int
cli_info (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct feature feats[4];
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  cleanup_free char *store = cli_store_root (g);
  cleanup_free char *state = NULL;
  cleanup_free char *state_err = NULL;
  struct utsname un;
  bool json = false;
  const char *cgroup;
  const char *driver = NULL;
  const char *driver_why = NULL;
  bool store_remote = false;
  const char *network, *network_why, *slirp_version;
  cleanup_free char *slirp_why = NULL;
  bool ipv6;
  size_t i;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:f:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0)
          json = true;
        else if (strcmp (optarg, "text") != 0)
          return cli_usage_error ("info", "invalid --format `%s`: expected text or json", optarg);
        break;
      case 'h':
        fputs (info_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("info", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("info", "unexpected argument `%s`", argv[optind]);

  (void) uname (&un);
  sbx_userns_detect (&plan);
  r = sbx_runtime_probe_userns (&err);
  feature_from (&feats[0], "user namespaces", r, err, "usable");
  err = NULL;
  r = sbx_overlay_probe_native (tmp_base (), &err);
  feature_from (&feats[1], "native overlay", r, err, "usable in a user namespace (userxattr)");
  err = NULL;
  r = sbx_overlay_probe_fuse (&err);
  feature_from (&feats[2], "fuse", r, err, "/dev/fuse usable");
  err = NULL;
  r = sbx_net_probe_tun (&err);
  feature_from (&feats[3], "tun", r, err, "/dev/net/tun usable");
  err = NULL;
  cgroup = sbx_runtime_cgroup_mode ();
  {
    /* What `run` would use: --storage-driver / $SBX_STORAGE_DRIVER / auto.  */
    enum sbx_storage_driver d;
    const char *env = getenv ("SBX_STORAGE_DRIVER");

    if (cli_pick_driver (NULL, &d, &err) < 0)
      {
        driver = "overlay";
        driver_why = "cannot tell";
        sbx_error_clear (&err);
      }
    else
      {
        driver = cli_driver_name (d);
        driver_why = env && *env   ? "set by SBX_STORAGE_DRIVER"
                     : feats[1].ok ? "auto: the kernel overlay works in a user namespace"
                                   : "auto: the kernel refuses an unprivileged overlay mount";
      }
    store_remote = cli_store_is_remote (g);
  }
  {
    struct sbx_error *e = NULL;

    slirp_version = sbx_net_slirp_version (&e);
    ipv6 = sbx_net_host_has_ipv6 ();
    if (! feats[3].ok)
      {
        network = "none";
        network_why = "slirp needs /dev/net/tun; -p is unavailable";
      }
    else if (slirp_version == NULL)
      {
        network = "none";
        network_why = slirp_why = xasprintf ("slirp unavailable: %s", e->msg);
      }
    else
      {
        network = "slirp";
        network_why = slirp_why
            = xasprintf ("libslirp %s, 10.0.2.0/24, MTU 65520, IPv6 %s; -p binds %s unless an "
                         "address is given",
                         slirp_version, ipv6 ? "on" : "off", SBX_PORT_DEFAULT_IP);
      }
    sbx_error_clear (&e);
  }
  state = sbx_runtime_state_dir (&err);
  if (state == NULL)
    {
      state_err = xstrdup (err->msg);
      sbx_error_clear (&err);
    }

  {
    struct host_facts f = { .un = un,
                            .plan = plan,
                            .cgroup = cgroup,
                            .driver = driver,
                            .driver_why = driver_why,
                            .network = network,
                            .network_why = network_why,
                            .slirp_version = slirp_version,
                            .ipv6 = ipv6,
                            .store_remote = store_remote,
                            .store = store,
                            .state = state,
                            .state_err = state_err };

    memcpy (f.feats, feats, sizeof feats);
    if (json)
      print_json (&f);
    else
      print_text (&f);
  }
  for (i = 0; i < SBX_N_ELEMENTS (feats); i++)
    {
      free (feats[i].detail);
      free (feats[i].hint);
    }
  return 0;
}

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
      "TUN, cgroups) and the paths sbx uses, with a hint for each missing feature,\n"
      "and every setting with where it came from (flag, env, config or default).\n"
      "\n"
      "Settings live in ${XDG_CONFIG_HOME:-~/.config}/sbx/config.json:\n"
      "  root, storage_driver, network, publish_address, log_level,\n"
      "  registry_mirrors ({\"docker.io\": [\"http://mirror:5000\"]}), insecure_registries;\n"
      "$SBX_ROOT, $SBX_STORAGE_DRIVER, $SBX_NETWORK and $SBX_LOG override them.\n"
      "\n"
      "Options:\n"
      "      --format FMT   text (default) or json\n"
      "  -h, --help         show this help\n"
      "\n"
      "Examples:\n"
      "  sbx info\n"
      "  sbx info --format json\n";

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
setting_json (struct sbx_json *obj, const char *key, const struct cli_setting *st)
{
  struct sbx_json *one = sbx_json_object ();

  sbx_json_set_str (one, "value", st->value);
  sbx_json_set_str (one, "source", cli_config_source_name (st->source));
  sbx_json_set (obj, key, one);
}

/* Each setting with where it came from.  */
static struct sbx_json *
settings_json (void)
{
  const struct cli_config *c = cli_config_get ();
  struct sbx_json *out = sbx_json_object ();
  struct sbx_json *one, *arr, *mirrors;
  size_t i, j;

  sbx_json_set_str (out, "configFile", c->path);
  sbx_json_set_bool (out, "configFileExists", c->file_exists);
  setting_json (out, "root", &c->root);
  setting_json (out, "storage_driver", &c->storage_driver);
  setting_json (out, "network", &c->network);
  setting_json (out, "publish_address", &c->publish_address);
  setting_json (out, "log_level", &c->log_level);
  one = sbx_json_object ();
  arr = sbx_json_array ();
  for (i = 0; c->insecure_registries[i]; i++)
    sbx_json_append_str (arr, c->insecure_registries[i]);
  sbx_json_set (one, "value", arr);
  sbx_json_set_str (one, "source", c->insecure_registries[0] ? "config" : "default");
  sbx_json_set (out, "insecure_registries", one);
  one = sbx_json_object ();
  mirrors = sbx_json_object ();
  for (i = 0; i < c->n_mirrors; i++)
    {
      arr = sbx_json_array ();
      for (j = 0; j < c->mirrors[i].n_urls; j++)
        sbx_json_append_str (arr, c->mirrors[i].urls[j].url);
      sbx_json_set (mirrors, c->mirrors[i].registry, arr);
    }
  sbx_json_set (one, "value", mirrors);
  sbx_json_set_str (one, "source", c->n_mirrors ? "config" : "default");
  sbx_json_set (out, "registry_mirrors", one);
  return out;
}

static void
print_settings (void)
{
  const struct cli_config *c = cli_config_get ();
  const struct
  {
    const char *name;
    const struct cli_setting *st;
  } rows[] = {
    { "root", &c->root },           { "storage_driver", &c->storage_driver },
    { "network", &c->network },     { "publish_address", &c->publish_address },
    { "log_level", &c->log_level },
  };
  size_t i, j;

  printf ("config file:      %s%s\n", c->path, c->file_exists ? "" : " (absent)");
  for (i = 0; i < SBX_N_ELEMENTS (rows); i++)
    printf ("  %-21s %s (%s)\n", rows[i].name, rows[i].st->value,
            cli_config_source_name (rows[i].st->source));
  printf ("  %-21s", "insecure_registries");
  for (i = 0; c->insecure_registries[i]; i++)
    printf (" %s", c->insecure_registries[i]);
  printf ("%s (%s)\n", c->insecure_registries[0] ? "" : " -",
          c->insecure_registries[0] ? "config" : "default");
  printf ("  %-21s", "registry_mirrors");
  for (i = 0; i < c->n_mirrors; i++)
    for (j = 0; j < c->mirrors[i].n_urls; j++)
      printf (" %s=%s", c->mirrors[i].registry, c->mirrors[i].urls[j].url);
  printf ("%s (%s)\n", c->n_mirrors ? "" : " -", c->n_mirrors ? "config" : "default");
}

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
    sbx_json_set_str (net, "publishAddress", cli_config_get ()->publish_address.value);
    sbx_json_set (root, "network", net);
  }
  sbx_json_set_str (paths, "state", f->state);
  sbx_json_set (root, "paths", paths);
  sbx_json_set (root, "settings", settings_json ());
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
  print_settings ();
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
    const struct cli_setting *want = &cli_config_get ()->storage_driver;

    if (cli_pick_driver (NULL, &d, &err) < 0)
      {
        driver = "overlay";
        driver_why = "cannot tell";
        sbx_error_clear (&err);
      }
    else
      {
        driver = cli_driver_name (d);
        driver_why = want->source == CLI_CONFIG_ENV    ? "set by SBX_STORAGE_DRIVER"
                     : want->source == CLI_CONFIG_FILE ? "set in config.json"
                     : feats[1].ok ? "auto: the kernel overlay works in a user namespace"
                                   : "auto: the kernel refuses an unprivileged overlay mount";
      }
    store_remote = cli_store_is_remote (g);
  }
  {
    struct sbx_error *e = NULL;

    slirp_version = sbx_net_slirp_version (&e);
    ipv6 = sbx_net_host_has_ipv6 ();
    const struct cli_setting *nw = &cli_config_get ()->network;

    if (nw->source != CLI_CONFIG_DEFAULT)
      {
        network = nw->value;
        network_why = nw->source == CLI_CONFIG_ENV ? "set by SBX_NETWORK" : "set in config.json";
      }
    else if (! feats[3].ok)
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
        network_why = slirp_why = xasprintf (
            "libslirp %s, 10.0.2.0/24, MTU 65520, IPv6 %s; -p binds %s unless an "
            "address is given",
            slirp_version, ipv6 ? "on" : "off", cli_config_get ()->publish_address.value);
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

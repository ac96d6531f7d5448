/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The user's settings: ${XDG_CONFIG_HOME:-~/.config}/sbx/config.json, then
   the environment, loaded once by cli_main before the command runs.  Each
   setting remembers where its value came from, for `sbx info`.  A flag of
   the command itself (--root, --storage-driver, --network) still wins:
   flag > environment > config file > default.  */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define CONFIG_MAX (1u << 20)

/* Set once by cli_config_load (cli_main), read-only afterwards.  */
static struct cli_config config;
static bool config_loaded;

const char *
cli_config_source_name (enum cli_config_source s)
{
  static const char *const names[] = { "default", "config", "env", "flag" };

  return names[s];
}

static void
setting_set (struct cli_setting *st, const char *value, enum cli_config_source src)
{
  free (st->value);
  st->value = xstrdup (value);
  st->source = src;
}

/* Fill from the environment variable NAME when it is set and not empty.  */
static void
setting_env (struct cli_setting *st, const char *name)
{
  const char *v = getenv (name);

  if (v && *v)
    setting_set (st, v, CLI_CONFIG_ENV);
}

struct parse_ctx
{
  struct cli_config *c;
  const char *path;
};

static int
bad_type (const struct parse_ctx *p, const char *key, const char *want, struct sbx_error **err)
{
  return sbx_err (err, EINVAL, "config `%s`: `%s` must be %s", p->path, key, want);
}

static int
take_string (const struct parse_ctx *p, const char *key, const struct sbx_json *v,
             struct cli_setting *st, struct sbx_error **err)
{
  const char *s = sbx_json_string (v);

  if (s == NULL)
    return bad_type (p, key, "a string", err);
  setting_set (st, s, CLI_CONFIG_FILE);
  return 0;
}

static int
take_strv (const struct parse_ctx *p, const char *key, const struct sbx_json *v, char ***out,
           struct sbx_error **err)
{
  size_t i;

  if (! sbx_json_is_array (v))
    return bad_type (p, key, "an array of strings", err);
  for (i = 0; i < sbx_json_array_size (v); i++)
    {
      const char *s = sbx_json_string (sbx_json_array_get (v, i));

      if (s == NULL)
        return bad_type (p, key, "an array of strings", err);
      sbx_strv_push (out, s);
    }
  return 0;
}

/* "http://host:5000", "https://host" or "host:5000" → host[:port] and
   whether it is plain http.  */
static int
parse_mirror_url (const char *url, struct cli_mirror_url *out, struct sbx_error **err)
{
  const char *p = url;
  size_t n;

  out->insecure = false;
  if (strncmp (p, "http://", 7) == 0)
    {
      out->insecure = true;
      p += 7;
    }
  else if (strncmp (p, "https://", 8) == 0)
    p += 8;
  n = strcspn (p, "/");
  if (n == 0 || (p[n] == '/' && p[n + 1] != '\0') || strpbrk (p, "?#@ \t") != NULL)
    return sbx_err (err, EINVAL, "`%s`: expected [http[s]://]HOST[:PORT]", url);
  out->url = xstrdup (url);
  out->domain = xstrndup (p, n);
  return 0;
}

static int
take_mirror (const char *registry, const struct sbx_json *v, void *arg, struct sbx_error **err)
{
  const struct parse_ctx *p = arg;
  struct cli_config *c = p->c;
  struct cli_mirror *m;
  size_t i;

  if (! sbx_json_is_array (v))
    return bad_type (p, "registry_mirrors", "an object of arrays of URLs", err);
  c->mirrors = xrealloc (c->mirrors, (c->n_mirrors + 1) * sizeof *c->mirrors);
  m = &c->mirrors[c->n_mirrors++];
  memset (m, 0, sizeof *m);
  m->registry = xstrdup (registry);
  m->urls = xcalloc (sbx_json_array_size (v) + 1, sizeof *m->urls);
  for (i = 0; i < sbx_json_array_size (v); i++)
    {
      const char *s = sbx_json_string (sbx_json_array_get (v, i));

      if (s == NULL)
        return bad_type (p, "registry_mirrors", "an object of arrays of URLs", err);
      if (parse_mirror_url (s, &m->urls[i], err) < 0)
        return sbx_err_prefix (err, "config `%s`: registry_mirrors", p->path);
      m->n_urls++;
    }
  return 0;
}

static int
take_member (const char *key, const struct sbx_json *v, void *arg, struct sbx_error **err)
{
  const struct parse_ctx *p = arg;
  struct cli_config *c = p->c;

  if (strcmp (key, "root") == 0)
    return take_string (p, key, v, &c->root, err);
  if (strcmp (key, "storage_driver") == 0)
    return take_string (p, key, v, &c->storage_driver, err);
  if (strcmp (key, "network") == 0)
    return take_string (p, key, v, &c->network, err);
  if (strcmp (key, "publish_address") == 0)
    return take_string (p, key, v, &c->publish_address, err);
  if (strcmp (key, "log_level") == 0)
    return take_string (p, key, v, &c->log_level, err);
  if (strcmp (key, "insecure_registries") == 0)
    return take_strv (p, key, v, &c->insecure_registries, err);
  if (strcmp (key, "registry_mirrors") == 0)
    {
      if (! sbx_json_is_object (v))
        return bad_type (p, key, "an object of arrays of URLs", err);
      return sbx_json_object_foreach (v, take_mirror, arg, err);
    }
  sbx_strv_push (&c->unknown_keys, key);
  return 0;
}

static int
read_file (struct cli_config *c, struct sbx_error **err)
{
  cleanup_free char *text = NULL;
  cleanup_json struct sbx_json *doc = NULL;
  struct sbx_error *rerr = NULL;
  struct parse_ctx p = { c, c->path };
  size_t len = 0;

  text = sbx_fs_read_file_at (AT_FDCWD, c->path, CONFIG_MAX, &len, &rerr);
  if (text == NULL)
    {
      if (sbx_error_code (rerr) == ENOENT)
        {
          sbx_error_clear (&rerr);
          return 0;
        }
      *err = rerr;
      return sbx_err_prefix (err, "config `%s`", c->path);
    }
  c->file_exists = true;
  doc = sbx_json_parse_strict (text, len, err);
  if (doc == NULL)
    return sbx_err_prefix (err, "config `%s`", c->path);
  if (! sbx_json_is_object (doc))
    return sbx_err (err, EINVAL, "config `%s`: expected a JSON object", c->path);
  return sbx_json_object_foreach (doc, take_member, &p, err);
}

/* "config `PATH`" or "$VAR": where the value of ST came from (free() it).  */
static char *
where (const struct cli_config *c, const struct cli_setting *st, const char *var)
{
  if (st->source == CLI_CONFIG_ENV)
    return xasprintf ("$%s", var);
  return xasprintf ("config `%s`", c->path);
}

static int
check_values (struct cli_config *c, struct sbx_error **err)
{
  const char *d = c->storage_driver.value;
  const char *a = c->publish_address.value;
  unsigned char buf[sizeof (struct in6_addr)];
  struct cli_net probe = { 0 };
  cleanup_free char *w = NULL;
  int r;

  if (strcmp (d, "auto") != 0 && strcmp (d, "overlay") != 0 && strcmp (d, "fuse") != 0)
    {
      w = where (c, &c->storage_driver, "SBX_STORAGE_DRIVER");
      return sbx_err (err, EINVAL, "%s: storage_driver `%s`: expected auto, overlay or fuse", w, d);
    }
  if (inet_pton (AF_INET, a, buf) != 1 && inet_pton (AF_INET6, a, buf) != 1)
    return sbx_err (err, EINVAL, "config `%s`: publish_address `%s` is not a numeric IP address",
                    c->path, a);
  if (c->root.source == CLI_CONFIG_FILE && c->root.value[0] != '/')
    return sbx_err (err, EINVAL, "config `%s`: root `%s` is not an absolute path", c->path,
                    c->root.value);
  if (c->log_level.value && sbx_log_level_from_string (c->log_level.value) < 0)
    return sbx_err (err, EINVAL, "config `%s`: log_level `%s`: expected error, warn, info or debug",
                    c->path, c->log_level.value);
  r = cli_net_parse_mode (c->network.value, &probe, err);
  cli_net_release (&probe);
  if (r < 0)
    {
      w = where (c, &c->network, "SBX_NETWORK");
      return sbx_err_prefix (err, "%s: network", w);
    }
  return 0;
}

/* ${VAR}/sbx when $VAR is an absolute path (XDG base directories), else
   ~/FALLBACK/sbx (free() it).  */
static char *
xdg_sbx_dir (const char *var, const char *fallback)
{
  const char *xdg = getenv (var);
  const char *home = getenv ("HOME");

  if (xdg && *xdg == '/')
    return xasprintf ("%s/sbx", xdg);
  return xasprintf ("%s/%s/sbx", home && *home ? home : "/tmp", fallback);
}

static char *
default_root (void)
{
  return xdg_sbx_dir ("XDG_DATA_HOME", ".local/share");
}

int
cli_config_load (struct sbx_error **err)
{
  struct cli_config *c = &config;
  cleanup_free char *dir = cli_config_dir ();
  cleanup_free char *root = default_root ();

  config_loaded = true;
  c->path = xasprintf ("%s/config.json", dir);
  setting_set (&c->root, root, CLI_CONFIG_DEFAULT);
  setting_set (&c->storage_driver, "auto", CLI_CONFIG_DEFAULT);
  setting_set (&c->network, "slirp", CLI_CONFIG_DEFAULT);
  setting_set (&c->publish_address, SBX_PORT_DEFAULT_IP, CLI_CONFIG_DEFAULT);
  c->insecure_registries = sbx_strv_dup (NULL);
  if (read_file (c, err) < 0)
    return -1;
  setting_env (&c->root, "SBX_ROOT");
  setting_env (&c->storage_driver, "SBX_STORAGE_DRIVER");
  setting_env (&c->network, "SBX_NETWORK");
  return check_values (c, err);
}

const struct cli_config *
cli_config_get (void)
{
  struct sbx_error *err = NULL;

  /* Commands reached without cli_main (unit tests) load it on first use.  */
  if (! config_loaded && cli_config_load (&err) < 0)
    {
      sbx_warn ("%s", err->msg);
      sbx_error_clear (&err);
    }
  return &config;
}

void
cli_config_set (struct cli_setting *st, const char *value, enum cli_config_source src)
{
  setting_set (st, value, src);
}

struct cli_config *
cli_config_mutable (void)
{
  return &config;
}

const struct cli_mirror *
cli_config_mirrors (const char *registry)
{
  const struct cli_config *c = cli_config_get ();
  size_t i;

  for (i = 0; i < c->n_mirrors; i++)
    if (strcmp (c->mirrors[i].registry, registry) == 0)
      return &c->mirrors[i];
  return NULL;
}

char *
cli_config_dir (void)
{
  return xdg_sbx_dir ("XDG_CONFIG_HOME", ".config");
}

char *
cli_store_root (const struct cli_globals *g)
{
  /* --root, else $SBX_ROOT, config.json's "root", ${XDG_DATA_HOME:-~/.local/share}/sbx.  */
  if (g->root)
    return xstrdup (g->root);
  return xstrdup (cli_config_get ()->root.value);
}

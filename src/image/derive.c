/* SPDX-License-Identifier: GPL-2.0-or-later */
/* New images from old ones: one more layer, a new config and manifest.  */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

char *
sbx_image_config_add_layer (const char *config_json, const struct sbx_digest *diff_id,
                            char *const *cmd, const char *created_by, const char *created,
                            struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  json_error_t jerr;
  json_t *rootfs, *ids, *history, *cfg;
  char dig[SBX_DIGEST_STR_MAX];
  char *out;
  size_t i;

  doc = json_loads (config_json, 0, &jerr);
  if (doc == NULL || ! json_is_object (doc))
    return sbx_err (err, EINVAL, "image config: %s", doc ? "not an object" : jerr.text), NULL;
  rootfs = json_object_get (doc, "rootfs");
  ids = json_object_get (rootfs, "diff_ids");
  if (! json_is_array (ids))
    return sbx_err (err, EINVAL, "image config: no rootfs.diff_ids"), NULL;
  json_array_append_new (ids, json_string (sbx_digest_format (diff_id, dig)));
  history = json_object_get (doc, "history");
  if (! json_is_array (history))
    {
      history = json_array ();
      json_object_set_new (doc, "history", history);
    }
  json_array_append_new (history,
                         json_pack ("{s:s, s:s}", "created", created, "created_by", created_by));
  json_object_set_new (doc, "created", json_string (created));
  if (cmd)
    {
      json_t *arr = json_array ();

      cfg = json_object_get (doc, "config");
      if (! json_is_object (cfg))
        {
          cfg = json_object ();
          json_object_set_new (doc, "config", cfg);
        }
      for (i = 0; cmd[i]; i++)
        json_array_append_new (arr, json_string (cmd[i]));
      json_object_set_new (cfg, "Cmd", arr);
    }
  out = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (out == NULL)
    xoom ();
  return out;
}

static json_t *
descriptor_json (const struct sbx_descriptor *d)
{
  char dig[SBX_DIGEST_STR_MAX];

  return json_pack ("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest",
                    sbx_digest_format (&d->digest, dig), "size", (json_int_t) d->size);
}

char *
sbx_manifest_build (const struct sbx_descriptor *config, const struct sbx_descriptor *layers,
                    size_t n_layers)
{
  json_auto_t *doc = json_object ();
  json_t *arr = json_array ();
  char *out;
  size_t i;

  json_object_set_new (doc, "schemaVersion", json_integer (2));
  json_object_set_new (doc, "mediaType", json_string (SBX_MT_OCI_MANIFEST));
  json_object_set_new (doc, "config", descriptor_json (config));
  for (i = 0; i < n_layers; i++)
    json_array_append_new (arr, descriptor_json (&layers[i]));
  json_object_set_new (doc, "layers", arr);
  out = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (out == NULL)
    xoom ();
  return out;
}

char *
sbx_image_config_scratch (void)
{
  json_auto_t *doc = NULL;
  const char *os, *arch, *variant;
  char *out;

  sbx_platform_host (&os, &arch, &variant);
  doc = json_pack ("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", arch, "os", os,
                   "config", "rootfs", "type", "layers", "diff_ids", "history");
  if (variant)
    json_object_set_new (doc, "variant", json_string (variant));
  out = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (out == NULL)
    xoom ();
  return out;
}

static json_t *
strv_json (char *const *v)
{
  json_t *arr = json_array ();
  size_t i;

  for (i = 0; v && v[i]; i++)
    json_array_append_new (arr, json_string (v[i]));
  return arr;
}

/* Set "K=V" in the array ENV (a JSON array of "K=V" strings), replacing K.  */
static void
env_array_set (json_t *env, const char *kv)
{
  size_t klen = strcspn (kv, "=");
  size_t i;
  json_t *it;

  json_array_foreach (env, i, it)
  {
    const char *s = json_string_value (it);

    if (s && strncmp (s, kv, klen) == 0 && (s[klen] == '=' || s[klen] == '\0'))
      {
        json_array_set_new (env, i, json_string (kv));
        return;
      }
  }
  json_array_append_new (env, json_string (kv));
}

static json_t *
object_member (json_t *parent, const char *key)
{
  json_t *o = json_object_get (parent, key);

  if (! json_is_object (o))
    {
      o = json_object ();
      json_object_set_new (parent, key, o);
    }
  return o;
}

static void
apply_kv_list (json_t *cfg, const char *key, char *const *kvs)
{
  json_t *o = object_member (cfg, key);
  size_t i;

  for (i = 0; kvs && kvs[i]; i++)
    {
      const char *eq = strchr (kvs[i], '=');
      cleanup_free char *k = xstrndup (kvs[i], eq ? (size_t) (eq - kvs[i]) : strlen (kvs[i]));

      json_object_set_new (o, k, json_string (eq ? eq + 1 : ""));
    }
}

static void
apply_set_list (json_t *cfg, const char *key, char *const *words)
{
  json_t *o = words && words[0] ? object_member (cfg, key) : NULL;
  size_t i;

  for (i = 0; words && words[i]; i++)
    json_object_set_new (o, words[i], json_object ());
}

static void
apply_health (json_t *cfg, const struct sbx_image_config_edit *e)
{
  json_t *h = json_object ();

  json_object_set_new (h, "Test", strv_json (e->health_test));
  if (e->health_interval_ns)
    json_object_set_new (h, "Interval", json_integer (e->health_interval_ns));
  if (e->health_timeout_ns)
    json_object_set_new (h, "Timeout", json_integer (e->health_timeout_ns));
  if (e->health_start_period_ns)
    json_object_set_new (h, "StartPeriod", json_integer (e->health_start_period_ns));
  if (e->health_retries)
    json_object_set_new (h, "Retries", json_integer (e->health_retries));
  json_object_set_new (cfg, "Healthcheck", h);
}

static void
apply_edit (json_t *cfg, const struct sbx_image_config_edit *e)
{
  size_t i;

  if (e->env)
    {
      json_t *env = json_object_get (cfg, "Env");

      if (! json_is_array (env))
        {
          env = json_array ();
          json_object_set_new (cfg, "Env", env);
        }
      for (i = 0; e->env[i]; i++)
        env_array_set (env, e->env[i]);
    }
  apply_kv_list (cfg, "Labels", e->labels);
  apply_set_list (cfg, "ExposedPorts", e->exposed_ports);
  apply_set_list (cfg, "Volumes", e->volumes);
  if (e->workdir)
    json_object_set_new (cfg, "WorkingDir", json_string (e->workdir));
  if (e->user)
    json_object_set_new (cfg, "User", json_string (e->user));
  if (e->stop_signal)
    json_object_set_new (cfg, "StopSignal", json_string (e->stop_signal));
  if (e->shell)
    json_object_set_new (cfg, "Shell", strv_json (e->shell));
  if (e->entrypoint)
    {
      json_object_set_new (cfg, "Entrypoint", strv_json (e->entrypoint));
      /* Docker: an ENTRYPOINT resets the CMD inherited from the base.  */
      json_object_set_new (cfg, "Cmd", json_null ());
    }
  if (e->cmd)
    json_object_set_new (cfg, "Cmd", strv_json (e->cmd));
  if (e->health_test)
    apply_health (cfg, e);
  if (e->onbuild)
    {
      json_t *ob = json_object_get (cfg, "OnBuild");

      if (! json_is_array (ob))
        {
          ob = json_array ();
          json_object_set_new (cfg, "OnBuild", ob);
        }
      json_array_append_new (ob, json_string (e->onbuild));
    }
}

char *
sbx_image_config_edit (const char *config_json, const struct sbx_image_config_edit *e,
                       struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  json_error_t jerr;
  json_t *history;
  char *out;

  doc = json_loads (config_json, 0, &jerr);
  if (doc == NULL || ! json_is_object (doc))
    return sbx_err (err, EINVAL, "image config: %s", doc ? "not an object" : jerr.text), NULL;
  apply_edit (object_member (doc, "config"), e);
  history = json_object_get (doc, "history");
  if (! json_is_array (history))
    {
      history = json_array ();
      json_object_set_new (doc, "history", history);
    }
  if (e->created_by)
    json_array_append_new (history, json_pack ("{s:s, s:s, s:b}", "created", e->created,
                                               "created_by", e->created_by, "empty_layer", 1));
  if (e->created)
    json_object_set_new (doc, "created", json_string (e->created));
  out = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (out == NULL)
    xoom ();
  return out;
}

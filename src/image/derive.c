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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OCI image manifest / index / config and Docker schema 2 manifest / list.  */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static char *
dup_str (json_t *obj, const char *key)
{
  const char *v = json_string_value (json_object_get (obj, key));

  return v ? xstrdup (v) : NULL;
}

static void
descriptor_release (struct sbx_descriptor *d)
{
  free (d->media_type);
  free (d->os);
  free (d->arch);
  free (d->variant);
  memset (d, 0, sizeof *d);
}

static int
parse_descriptor (json_t *j, const char *where, struct sbx_descriptor *d, struct sbx_error **err)
{
  const char *digest = json_string_value (json_object_get (j, "digest"));
  json_t *size = json_object_get (j, "size");
  json_t *platform = json_object_get (j, "platform");
  json_t *ann = json_object_get (j, "annotations");
  const char *reftype;

  if (! json_is_object (j))
    return sbx_err (err, EINVAL, "%s: not an object", where);
  if (digest == NULL)
    return sbx_err (err, EINVAL, "%s: no digest", where);
  if (sbx_digest_parse (digest, &d->digest, err) < 0)
    return sbx_err_prefix (err, "%s", where);
  if (! json_is_integer (size) || json_integer_value (size) < 0)
    return sbx_err (err, EINVAL, "%s: missing or negative size", where);
  d->size = json_integer_value (size);
  d->media_type = dup_str (j, "mediaType");
  if (json_is_object (platform))
    {
      d->os = dup_str (platform, "os");
      d->arch = dup_str (platform, "architecture");
      d->variant = dup_str (platform, "variant");
    }
  reftype = json_string_value (json_object_get (ann, "vnd.docker.reference.type"));
  d->is_attestation = (reftype && strcmp (reftype, "attestation-manifest") == 0)
                      || (d->os && strcmp (d->os, "unknown") == 0);
  return 0;
}

static int
parse_descriptor_array (json_t *arr, const char *what, struct sbx_descriptor **out, size_t *n,
                        struct sbx_error **err)
{
  size_t i;
  json_t *v;

  if (! json_is_array (arr))
    return sbx_err (err, EINVAL, "no \"%s\" array", what);
  *out = xcalloc (json_array_size (arr) + 1, sizeof **out);
  json_array_foreach (arr, i, v)
  {
    char where[64];

    snprintf (where, sizeof where, "%s[%zu]", what, i);
    if (parse_descriptor (v, where, &(*out)[i], err) < 0)
      return -1;
    *n = i + 1;
  }
  return 0;
}

static bool
mt_is (const char *mt, const char *a, const char *b)
{
  return mt && (strcmp (mt, a) == 0 || (b && strcmp (mt, b) == 0));
}

int
sbx_manifest_parse (const char *json, size_t len, const char *media_type, struct sbx_manifest **out,
                    struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  struct sbx_manifest *m;
  json_error_t jerr;
  json_t *schema;
  const char *mt;
  int r;

  doc = json_loadb (json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    return sbx_err (err, EINVAL, "manifest: invalid JSON at line %d: %s", jerr.line, jerr.text);
  if (! json_is_object (doc))
    return sbx_err (err, EINVAL, "manifest: not a JSON object");
  schema = json_object_get (doc, "schemaVersion");
  mt = json_string_value (json_object_get (doc, "mediaType"));
  if (mt == NULL || (media_type && *media_type && strcmp (media_type, "application/json") != 0))
    mt = media_type && *media_type ? media_type : mt;
  if ((json_is_integer (schema) && json_integer_value (schema) == 1)
      || mt_is (mt, SBX_MT_DOCKER_SCHEMA1, SBX_MT_DOCKER_SCHEMA1_SIGNED))
    return sbx_err (err, ENOTSUP,
                    "schema 1 manifests are not supported (the image is too old: push it again "
                    "with a current client)");
  if (! json_is_integer (schema) || json_integer_value (schema) != 2)
    return sbx_err (err, EINVAL, "manifest: unsupported schemaVersion");

  m = xzalloc (sizeof *m);
  /* Without a media type, the shape decides (OCI allows omitting it).  */
  if (mt_is (mt, SBX_MT_OCI_INDEX, SBX_MT_DOCKER_LIST)
      || (mt == NULL && json_object_get (doc, "manifests")))
    {
      m->kind = SBX_MANIFEST_INDEX;
      m->media_type = xstrdup (mt ? mt : SBX_MT_OCI_INDEX);
      r = parse_descriptor_array (json_object_get (doc, "manifests"), "manifests", &m->entries,
                                  &m->n_entries, err);
    }
  else if (mt_is (mt, SBX_MT_OCI_MANIFEST, SBX_MT_DOCKER_MANIFEST)
           || (mt == NULL && json_object_get (doc, "layers")))
    {
      m->kind = SBX_MANIFEST_IMAGE;
      m->media_type = xstrdup (mt ? mt : SBX_MT_OCI_MANIFEST);
      r = parse_descriptor (json_object_get (doc, "config"), "config", &m->config, err);
      if (r == 0)
        r = parse_descriptor_array (json_object_get (doc, "layers"), "layers", &m->layers,
                                    &m->n_layers, err);
      for (size_t i = 0; r == 0 && i < m->n_layers; i++)
        if (m->layers[i].media_type && ! sbx_media_type_is_layer (m->layers[i].media_type))
          r = sbx_err (err, ENOTSUP, "layers[%zu]: unsupported media type `%s`", i,
                       m->layers[i].media_type);
    }
  else
    r = sbx_err (err, ENOTSUP, "unsupported manifest media type `%s`", mt ? mt : "(none)");
  if (r < 0)
    {
      sbx_manifest_free (m);
      return sbx_err_prefix (err, "manifest");
    }
  *out = m;
  return 0;
}

void
sbx_manifest_free (struct sbx_manifest *m)
{
  size_t i;

  if (m == NULL)
    return;
  free (m->media_type);
  descriptor_release (&m->config);
  for (i = 0; i < m->n_layers; i++)
    descriptor_release (&m->layers[i]);
  for (i = 0; i < m->n_entries; i++)
    descriptor_release (&m->entries[i]);
  free (m->layers);
  free (m->entries);
  free (m);
}

void
sbx_platform_host (const char **os, const char **arch, const char **variant)
{
  struct utsname u;

  *os = "linux";
  *variant = NULL;
  if (uname (&u) < 0)
    {
      *arch = "amd64";
      return;
    }
  if (strcmp (u.machine, "x86_64") == 0)
    *arch = "amd64";
  else if (strcmp (u.machine, "aarch64") == 0)
    {
      *arch = "arm64";
      *variant = "v8";
    }
  else if (strncmp (u.machine, "armv7", 5) == 0)
    {
      *arch = "arm";
      *variant = "v7";
    }
  else if (strcmp (u.machine, "i686") == 0 || strcmp (u.machine, "i386") == 0)
    *arch = "386";
  else if (strcmp (u.machine, "ppc64le") == 0)
    *arch = "ppc64le";
  else if (strcmp (u.machine, "s390x") == 0)
    *arch = "s390x";
  else if (strcmp (u.machine, "riscv64") == 0)
    *arch = "riscv64";
  else
    *arch = "amd64";
}

const struct sbx_descriptor *
sbx_manifest_pick (const struct sbx_manifest *idx, const char *os, const char *arch,
                   const char *variant, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf have = SBX_STRBUF_INIT;
  const struct sbx_descriptor *fallback = NULL;
  size_t i;

  for (i = 0; i < idx->n_entries; i++)
    {
      const struct sbx_descriptor *d = &idx->entries[i];

      if (d->is_attestation || d->os == NULL || d->arch == NULL)
        continue;
      if (strcmp (d->os, os) != 0 || strcmp (d->arch, arch) != 0)
        continue;
      if (variant == NULL || d->variant == NULL || strcmp (d->variant, variant) == 0)
        {
          /* An exact variant match wins over one without a variant.  */
          if (variant && d->variant && strcmp (d->variant, variant) == 0)
            return d;
          if (fallback == NULL)
            fallback = d;
        }
    }
  if (fallback)
    return fallback;
  for (i = 0; i < idx->n_entries; i++)
    {
      const struct sbx_descriptor *d = &idx->entries[i];

      if (d->is_attestation || d->os == NULL || d->arch == NULL)
        continue;
      sbx_strbuf_addf (&have, "%s%s/%s%s%s", have.len ? ", " : "", d->os, d->arch,
                       d->variant ? "/" : "", d->variant ? d->variant : "");
    }
  sbx_err (err, ENOENT, "no image for platform %s/%s%s%s in the index (it has: %s)", os, arch,
           variant ? "/" : "", variant ? variant : "", have.len ? have.buf : "nothing");
  return NULL;
}

bool
sbx_media_type_is_layer (const char *mt)
{
  static const char *const ok[] = {
    SBX_MT_OCI_LAYER,
    SBX_MT_OCI_LAYER_GZIP,
    SBX_MT_OCI_LAYER_ZSTD,
    SBX_MT_DOCKER_LAYER,
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (ok); i++)
    if (strcmp (mt, ok[i]) == 0)
      return true;
  return false;
}

/* ---- config ---- */

static char **
str_array (json_t *arr)
{
  char **v = NULL;
  size_t i;
  json_t *e;

  if (! json_is_array (arr))
    return NULL;
  v = xcalloc (json_array_size (arr) + 1, sizeof (char *));
  json_array_foreach (arr, i, e) v[i] = xstrdup (json_is_string (e) ? json_string_value (e) : "");
  return v;
}

static char **
object_keys (json_t *obj)
{
  char **v = NULL;
  const char *k;
  json_t *e;

  if (! json_is_object (obj))
    return NULL;
  json_object_foreach (obj, k, e) sbx_strv_push (&v, k);
  return v;
}

static char **
labels (json_t *obj)
{
  char **v = NULL;
  const char *k;
  json_t *e;

  if (! json_is_object (obj))
    return NULL;
  json_object_foreach (obj, k, e) sbx_strv_push_take (
      &v, xasprintf ("%s=%s", k, json_is_string (e) ? json_string_value (e) : ""));
  return v;
}

int
sbx_image_config_parse (const char *json, size_t len, struct sbx_image_config **out,
                        struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  struct sbx_image_config *c;
  json_error_t jerr;
  json_t *cfg, *rootfs, *ids, *v;
  size_t i;

  doc = json_loadb (json, len, 0, &jerr);
  if (doc == NULL || ! json_is_object (doc))
    return sbx_err (err, EINVAL, "image config: invalid JSON at line %d: %s", doc ? 0 : jerr.line,
                    doc ? "not an object" : jerr.text);
  rootfs = json_object_get (doc, "rootfs");
  ids = json_object_get (rootfs, "diff_ids");
  if (! json_is_array (ids))
    return sbx_err (err, EINVAL, "image config: no rootfs.diff_ids");

  c = xzalloc (sizeof *c);
  c->os = dup_str (doc, "os");
  c->arch = dup_str (doc, "architecture");
  c->created = dup_str (doc, "created");
  c->diff_ids = xcalloc (json_array_size (ids) + 1, sizeof *c->diff_ids);
  json_array_foreach (ids, i, v)
  {
    if (sbx_digest_parse (json_string_value (v) ? json_string_value (v) : "", &c->diff_ids[i], err)
        < 0)
      {
        sbx_image_config_free (c);
        return sbx_err_prefix (err, "image config: rootfs.diff_ids[%zu]", i);
      }
    c->n_diff_ids = i + 1;
  }
  cfg = json_object_get (doc, "config");
  if (json_is_object (cfg))
    {
      c->entrypoint = str_array (json_object_get (cfg, "Entrypoint"));
      c->cmd = str_array (json_object_get (cfg, "Cmd"));
      c->env = str_array (json_object_get (cfg, "Env"));
      c->workdir = dup_str (cfg, "WorkingDir");
      c->user = dup_str (cfg, "User");
      c->stop_signal = dup_str (cfg, "StopSignal");
      c->exposed_ports = object_keys (json_object_get (cfg, "ExposedPorts"));
      c->volumes = object_keys (json_object_get (cfg, "Volumes"));
      c->labels = labels (json_object_get (cfg, "Labels"));
    }
  *out = c;
  return 0;
}

void
sbx_image_config_free (struct sbx_image_config *c)
{
  if (c == NULL)
    return;
  free (c->os);
  free (c->arch);
  free (c->created);
  sbx_strv_free (c->entrypoint);
  sbx_strv_free (c->cmd);
  sbx_strv_free (c->env);
  free (c->workdir);
  free (c->user);
  free (c->stop_signal);
  sbx_strv_free (c->exposed_ports);
  sbx_strv_free (c->volumes);
  sbx_strv_free (c->labels);
  free (c->diff_ids);
  free (c);
}

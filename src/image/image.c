/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

#define MAX_JSON (4 << 20)

static int
load_into (struct sbx_store *s, struct sbx_image *img, struct sbx_error **err)
{
  size_t len = 0;

  img->manifest_json = sbx_store_read_blob (s, &img->manifest_digest, MAX_JSON, &len, err);
  if (img->manifest_json == NULL
      || sbx_manifest_parse (img->manifest_json, len, NULL, &img->manifest, err) < 0)
    return -1;
  if (img->manifest->kind != SBX_MANIFEST_IMAGE)
    return sbx_err (err, EINVAL, "an index, not an image manifest");
  img->config_digest = img->manifest->config.digest;
  img->config_json = sbx_store_read_blob (s, &img->config_digest, MAX_JSON, &len, err);
  if (img->config_json == NULL
      || sbx_image_config_parse (img->config_json, len, &img->config, err) < 0)
    return -1;
  if (img->config->n_diff_ids != img->manifest->n_layers)
    return sbx_err (err, EINVAL, "image config lists %zu layers, the manifest %zu",
                    img->config->n_diff_ids, img->manifest->n_layers);
  return 0;
}

int
sbx_image_load (struct sbx_store *s, const struct sbx_digest *manifest, struct sbx_image **out,
                struct sbx_error **err)
{
  struct sbx_image *img = xzalloc (sizeof *img);

  img->manifest_digest = *manifest;
  if (load_into (s, img, err) < 0)
    {
      sbx_image_free (img);
      return sbx_err_prefix (err, "image sha256:%.12s", manifest->hex);
    }
  *out = img;
  return 0;
}

void
sbx_image_free (struct sbx_image *img)
{
  if (img == NULL)
    return;
  sbx_manifest_free (img->manifest);
  sbx_image_config_free (img->config);
  free (img->manifest_json);
  free (img->config_json);
  free (img);
}

int64_t
sbx_image_size (const struct sbx_image *img)
{
  int64_t sum = img->manifest->config.size;
  size_t i;

  for (i = 0; i < img->manifest->n_layers; i++)
    sum += img->manifest->layers[i].size;
  return sum;
}

static bool
is_hex (const char *s)
{
  return *s && strspn (s, "0123456789abcdef") == strlen (s);
}

int
sbx_store_find_image (struct sbx_store *s, const char *what, struct sbx_digest *manifest,
                      struct sbx_error **err)
{
  struct sbx_store_ref *refs = NULL;
  const char *id = what;
  size_t n = 0, i;
  int found = 0;
  int r;

  r = sbx_store_lookup_ref (s, what, manifest, err);
  if (r != 0)
    return r;
  if (strncmp (id, "sha256:", 7) == 0)
    id += 7;
  if (strlen (id) < 4 || strlen (id) > SBX_DIGEST_HEX_LEN || ! is_hex (id))
    return 0;
  if (sbx_store_list_refs (s, &refs, &n, err) < 0)
    return -1;
  /* An id (prefix) names the config digest, as in Docker, or the manifest.  */
  for (i = 0; i < n; i++)
    {
      struct sbx_image *img = NULL;
      struct sbx_error *ignored = NULL;
      bool match = strncmp (refs[i].manifest.hex, id, strlen (id)) == 0;

      if (! match && sbx_image_load (s, &refs[i].manifest, &img, &ignored) == 0)
        match = strncmp (img->config_digest.hex, id, strlen (id)) == 0;
      sbx_error_clear (&ignored);
      sbx_image_free (img);
      if (! match)
        continue;
      if (found && ! sbx_digest_equal (manifest, &refs[i].manifest))
        {
          sbx_store_refs_free (refs, n);
          return sbx_err (err, EINVAL, "image id `%s` is ambiguous: give more digits", what);
        }
      *manifest = refs[i].manifest;
      found = 1;
    }
  sbx_store_refs_free (refs, n);
  return found;
}

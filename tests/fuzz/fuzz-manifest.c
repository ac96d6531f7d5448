/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for sbx_manifest_parse(), sbx_manifest_pick() and
   sbx_image_config_parse(): what a registry (or a tampered store) hands us.

   The first byte picks the Content-Type passed to sbx_manifest_parse() (its
   value modulo 5, so the seeds use a letter):
     'A' none (NULL)      'B' OCI manifest      'C' OCI index
     'D' Docker schema 2  'E' Docker manifest list
   and the rest is the document, also fed to sbx_image_config_parse().

   Checks, beyond "no crash, no leak, no UB":
   - a failure sets an error with a message and leaves the output NULL;
   - a parsed image manifest has a config and no index entries, an index
     has no layers; every descriptor has a digest and a size >= 0;
   - sbx_manifest_pick() on an index returns one of its entries, for the
     platform asked, never an attestation, or an error with a message;
   - a parsed config has as many set diff_ids as it says.
   abort() on a violation, which libFuzzer reports as a crash.
   See tests/fuzz/README.md.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_INPUT (256 << 10)

static void
fail (const char *what)
{
  fprintf (stderr, "fuzz-manifest: %s\n", what);
  abort ();
}

static void
check_error (struct sbx_error **err, const char *what)
{
  if (*err == NULL || (*err)->msg == NULL || (*err)->msg[0] == '\0')
    fail (what);
  sbx_error_clear (err);
}

static void
check_descriptor (const struct sbx_descriptor *d)
{
  if (! sbx_digest_is_set (&d->digest) || strlen (d->digest.hex) != SBX_DIGEST_HEX_LEN)
    fail ("descriptor without a digest");
  if (d->size < 0)
    fail ("descriptor with a negative size");
}

static void
check_pick (const struct sbx_manifest *m, const char *os, const char *arch, const char *variant)
{
  struct sbx_error *err = NULL;
  const struct sbx_descriptor *d = sbx_manifest_pick (m, os, arch, variant, &err);

  if (d == NULL)
    {
      check_error (&err, "pick failed without a message");
      return;
    }
  if (err != NULL)
    fail ("pick succeeded with an error set");
  if (d < m->entries || d >= m->entries + m->n_entries)
    fail ("pick returned something that is not an entry");
  if (d->is_attestation)
    fail ("pick returned an attestation");
  if (d->os == NULL || d->arch == NULL || strcmp (d->os, os) != 0 || strcmp (d->arch, arch) != 0)
    fail ("pick returned another platform");
  if (variant && d->variant && strcmp (d->variant, variant) != 0)
    fail ("pick returned another variant");
}

static void
fuzz_manifest (const char *json, size_t len, const char *mt)
{
  struct sbx_error *err = NULL;
  struct sbx_manifest *m = NULL;
  size_t i;

  if (sbx_manifest_parse (json, len, mt, &m, &err) < 0)
    {
      if (m != NULL)
        fail ("failed parse left a manifest");
      check_error (&err, "failed parse without a message");
      return;
    }
  if (m == NULL || err != NULL)
    fail ("parse succeeded without a manifest, or with an error");
  if (m->media_type == NULL)
    fail ("manifest without a media type");
  if (m->kind == SBX_MANIFEST_IMAGE)
    {
      if (m->n_entries != 0)
        fail ("image manifest with index entries");
      check_descriptor (&m->config);
      for (i = 0; i < m->n_layers; i++)
        {
          check_descriptor (&m->layers[i]);
          if (m->layers[i].media_type && ! sbx_media_type_is_layer (m->layers[i].media_type))
            fail ("accepted a layer of an unsupported media type");
        }
    }
  else if (m->kind == SBX_MANIFEST_INDEX)
    {
      if (m->n_layers != 0)
        fail ("index with layers");
      for (i = 0; i < m->n_entries; i++)
        check_descriptor (&m->entries[i]);
      check_pick (m, "linux", "amd64", NULL);
      check_pick (m, "linux", "arm64", "v8");
    }
  else
    fail ("manifest of an unknown kind");
  sbx_manifest_free (m);
}

static void
fuzz_config (const char *json, size_t len)
{
  struct sbx_error *err = NULL;
  struct sbx_image_config *c = NULL;
  size_t i;

  if (sbx_image_config_parse (json, len, &c, &err) < 0)
    {
      if (c != NULL)
        fail ("failed config parse left a config");
      check_error (&err, "failed config parse without a message");
      return;
    }
  if (c == NULL || err != NULL)
    fail ("config parse succeeded without a config, or with an error");
  for (i = 0; i < c->n_diff_ids; i++)
    if (! sbx_digest_is_set (&c->diff_ids[i]))
      fail ("config with an unset diff_id");
  sbx_image_config_free (c);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const types[] = {
    NULL, SBX_MT_OCI_MANIFEST, SBX_MT_OCI_INDEX, SBX_MT_DOCKER_MANIFEST, SBX_MT_DOCKER_LIST,
  };
  const char *json = (const char *) data + 1;

  if (size == 0 || size > MAX_INPUT)
    return 0;
  fuzz_manifest (json, size - 1, types[data[0] % 5]);
  fuzz_config (json, size - 1);
  return 0;
}

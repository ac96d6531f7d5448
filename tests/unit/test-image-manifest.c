/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Manifests, indexes and image configs (src/image/manifest.c).  */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

#define HEX_A "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
#define HEX_B "b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
#define HEX_C "c1e7a2c5c8e9bd7ec1a4f95b16ba6bb5f6b5ff2b1e4e4d5ef9a1a5fa3b1c5e3d"
#define HEX_D "d4f3b0e1c2a59687f0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f7a8b"
#define HEX_E "e0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"
#define HEX_F "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"

#define MANIFEST_BODY(layer1)                                    \
  "\"config\": {\"mediaType\": \"" SBX_MT_OCI_CONFIG "\","       \
  " \"digest\": \"sha256:" HEX_A "\", \"size\": 1469},"          \
  " \"layers\": [{\"mediaType\": \"" SBX_MT_OCI_LAYER_GZIP "\"," \
  " \"digest\": \"sha256:" HEX_B "\", \"size\": 3370706}, " layer1 "]"

#define GOOD_LAYER1                                             \
  "{\"mediaType\": \"" SBX_MT_OCI_LAYER_ZSTD "\", \"digest\": " \
  "\"sha256:" HEX_C "\", \"size\": 0}"

#define OCI_MANIFEST                                             \
  "{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_MANIFEST \
  "\", " MANIFEST_BODY (GOOD_LAYER1) "}"

#define BARE_MANIFEST "{\"schemaVersion\": 2, " MANIFEST_BODY (GOOD_LAYER1) "}"

#define DOCKER_MANIFEST                                                                    \
  "{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_DOCKER_MANIFEST "\", "                 \
  "\"config\": {\"mediaType\": \"" SBX_MT_DOCKER_CONFIG "\", \"size\": 7023, "             \
  "\"digest\": \"sha256:" HEX_D "\"}, \"layers\": [{\"mediaType\": \"" SBX_MT_DOCKER_LAYER \
  "\", \"size\": 32654, \"digest\": \"sha256:" HEX_E "\"}]}"

#define ENTRY(hex, plat)                                                   \
  "{\"mediaType\": \"" SBX_MT_OCI_MANIFEST "\", \"digest\": \"sha256:" hex \
  "\", \"size\": 7143" plat "}"
#define PLAT(os, arch) ", \"platform\": {\"os\": \"" os "\", \"architecture\": \"" arch "\"}"
#define PLATV(os, arch, v) \
  ", \"platform\": {\"os\": \"" os "\", \"architecture\": \"" arch "\", \"variant\": \"" v "\"}"
#define ATTESTATION_ANN                                                           \
  ", \"annotations\": {\"vnd.docker.reference.type\": \"attestation-manifest\", " \
  "\"vnd.docker.reference.digest\": \"sha256:" HEX_A "\"}"

#define INDEX_OF(mt, entries) "{\"schemaVersion\": 2" mt ", \"manifests\": [" entries "]}"
/* OCI indexes of two and three entries.  */
#define INDEX2(a, b) INDEX_OF (OCI_INDEX_MT, a ", " b)
#define INDEX3(a, b, c) INDEX_OF (OCI_INDEX_MT, a ", " b ", " c)
#define OCI_INDEX_MT ", \"mediaType\": \"" SBX_MT_OCI_INDEX "\""
#define DOCKER_LIST_MT ", \"mediaType\": \"" SBX_MT_DOCKER_LIST "\""

static void
manifest_cleanup (struct sbx_manifest **m)
{
  sbx_manifest_free (*m);
}
#define cleanup_manifest __attribute__ ((cleanup (manifest_cleanup)))

static void
config_cleanup (struct sbx_image_config **c)
{
  sbx_image_config_free (*c);
}
#define cleanup_config __attribute__ ((cleanup (config_cleanup)))

/* Parse JSON with content type MT, which must succeed.  */
static struct sbx_manifest *
parse_ok (const char *json, const char *mt)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_manifest *m = NULL;
  int r = sbx_manifest_parse (json, strlen (json), mt, &m, &err);

  if (r < 0)
    printf ("# parse failed: %s\n", err->msg);
  ASSERT_EQ (r, 0);
  ASSERT_NULL (err);
  ASSERT_NOT_NULL (m);
  return m;
}

/* JSON with content type MT must be rejected with CODE and a message that
   contains WHY.  */
static void
parse_fails (const char *json, const char *mt, int code, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_manifest *m = NULL;
  int r = sbx_manifest_parse (json, strlen (json), mt, &m, &err);

  if (r == 0)
    printf ("# accepted: %s\n", json);
  ASSERT_EQ (r, -1);
  ASSERT_NULL (m);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), code);
  EXPECT_STRSTR (err->msg, why);
}

/* ---- image manifests ---- */

TEST (oci_manifest)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (OCI_MANIFEST, NULL);

  EXPECT_EQ (m->kind, SBX_MANIFEST_IMAGE);
  EXPECT_STREQ (m->media_type, SBX_MT_OCI_MANIFEST);
  EXPECT_STREQ (m->config.media_type, SBX_MT_OCI_CONFIG);
  EXPECT_STREQ (m->config.digest.hex, HEX_A);
  EXPECT_EQ (m->config.size, 1469);
  ASSERT_EQ (m->n_layers, 2u);
  EXPECT_STREQ (m->layers[0].media_type, SBX_MT_OCI_LAYER_GZIP);
  EXPECT_STREQ (m->layers[0].digest.hex, HEX_B);
  EXPECT_EQ (m->layers[0].size, 3370706);
  EXPECT_STREQ (m->layers[1].media_type, SBX_MT_OCI_LAYER_ZSTD);
  EXPECT_STREQ (m->layers[1].digest.hex, HEX_C);
  EXPECT_EQ (m->layers[1].size, 0);
  EXPECT_NULL (m->layers[0].os);
  EXPECT_FALSE (m->layers[0].is_attestation);
  EXPECT_EQ (m->n_entries, 0u);
  EXPECT_NULL (m->entries);
}

TEST (oci_manifest_without_media_type_is_guessed_from_its_shape)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (BARE_MANIFEST, NULL);

  EXPECT_EQ (m->kind, SBX_MANIFEST_IMAGE);
  EXPECT_STREQ (m->media_type, SBX_MT_OCI_MANIFEST);
  EXPECT_EQ (m->n_layers, 2u);
}

TEST (empty_or_generic_content_type_defers_to_the_document)
{
  cleanup_manifest struct sbx_manifest *a = parse_ok (DOCKER_MANIFEST, "");
  cleanup_manifest struct sbx_manifest *b = parse_ok (DOCKER_MANIFEST, "application/json");

  EXPECT_STREQ (a->media_type, SBX_MT_DOCKER_MANIFEST);
  EXPECT_STREQ (b->media_type, SBX_MT_DOCKER_MANIFEST);
}

TEST (docker_schema2_manifest)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (DOCKER_MANIFEST, NULL);

  EXPECT_EQ (m->kind, SBX_MANIFEST_IMAGE);
  EXPECT_STREQ (m->media_type, SBX_MT_DOCKER_MANIFEST);
  EXPECT_STREQ (m->config.media_type, SBX_MT_DOCKER_CONFIG);
  EXPECT_STREQ (m->config.digest.hex, HEX_D);
  EXPECT_EQ (m->config.size, 7023);
  ASSERT_EQ (m->n_layers, 1u);
  EXPECT_STREQ (m->layers[0].media_type, SBX_MT_DOCKER_LAYER);
  EXPECT_STREQ (m->layers[0].digest.hex, HEX_E);
  EXPECT_EQ (m->layers[0].size, 32654);
}

TEST (docker_schema2_manifest_typed_by_content_type)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (
      "{\"schemaVersion\": 2, " MANIFEST_BODY (GOOD_LAYER1) "}", SBX_MT_DOCKER_MANIFEST);

  EXPECT_EQ (m->kind, SBX_MANIFEST_IMAGE);
  EXPECT_STREQ (m->media_type, SBX_MT_DOCKER_MANIFEST);
}

TEST (content_type_wins_over_the_document)
{
  /* The registry's Content-Type is what the digest was negotiated for.  */
  cleanup_manifest struct sbx_manifest *a = parse_ok (OCI_MANIFEST, SBX_MT_DOCKER_MANIFEST);
  cleanup_manifest struct sbx_manifest *b
      = parse_ok ("{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_INDEX
                  "\", " MANIFEST_BODY (GOOD_LAYER1) "}",
                  SBX_MT_OCI_MANIFEST);

  EXPECT_STREQ (a->media_type, SBX_MT_DOCKER_MANIFEST);
  EXPECT_EQ (a->kind, SBX_MANIFEST_IMAGE);
  EXPECT_STREQ (b->media_type, SBX_MT_OCI_MANIFEST);
  EXPECT_EQ (b->kind, SBX_MANIFEST_IMAGE);
  EXPECT_EQ (b->n_layers, 2u);
  /* ... and a Content-Type of an index makes an image manifest unparsable.  */
  parse_fails (OCI_MANIFEST, SBX_MT_OCI_INDEX, EINVAL, "no \"manifests\" array");
}

TEST (layer_without_media_type_is_accepted)
{
  cleanup_manifest struct sbx_manifest *m
      = parse_ok ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:" HEX_C
                                                           "\", \"size\": 5}") "}",
                  NULL);

  ASSERT_EQ (m->n_layers, 2u);
  EXPECT_NULL (m->layers[1].media_type);
  EXPECT_EQ (m->layers[1].size, 5);
}

TEST (schema1_is_rejected_with_an_explanation)
{
  parse_fails ("{\"schemaVersion\": 1, \"name\": \"library/busybox\", \"tag\": \"latest\", "
               "\"architecture\": \"amd64\", \"fsLayers\": [], \"history\": []}",
               NULL, ENOTSUP, "schema 1");
  parse_fails ("{\"schemaVersion\": 1, \"fsLayers\": []}", SBX_MT_DOCKER_SCHEMA1_SIGNED, ENOTSUP,
               "schema 1");
  /* By media type alone, whatever the document says.  */
  parse_fails (OCI_MANIFEST, SBX_MT_DOCKER_SCHEMA1, ENOTSUP, "schema 1");
  parse_fails (OCI_MANIFEST, SBX_MT_DOCKER_SCHEMA1_SIGNED, ENOTSUP, "schema 1");
  parse_fails ("{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_DOCKER_SCHEMA1_SIGNED "\"}", NULL,
               ENOTSUP, "schema 1");
}

TEST (bad_schema_version)
{
  parse_fails ("{\"schemaVersion\": 3, " MANIFEST_BODY (GOOD_LAYER1) "}", NULL, EINVAL,
               "schemaVersion");
  parse_fails ("{" MANIFEST_BODY (GOOD_LAYER1) "}", NULL, EINVAL, "schemaVersion");
  parse_fails ("{\"schemaVersion\": \"2\", " MANIFEST_BODY (GOOD_LAYER1) "}", NULL, EINVAL,
               "schemaVersion");
}

TEST (not_json_or_not_an_object)
{
  parse_fails ("", NULL, EINVAL, "invalid JSON");
  parse_fails ("{\"schemaVersion\": 2,", NULL, EINVAL, "invalid JSON");
  parse_fails ("[1, 2]", NULL, EINVAL, "not a JSON object");
  parse_fails ("\"manifest\"", NULL, EINVAL, "manifest");
  /* Two keys with the same name could be read differently by someone else.  */
  parse_fails ("{\"schemaVersion\": 2, \"schemaVersion\": 2, " MANIFEST_BODY (GOOD_LAYER1) "}",
               NULL, EINVAL, "invalid JSON");
}

TEST (bad_digests_name_the_field)
{
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:" HEX_C
                                                        "0\", \"size\": 1}") "}",
               NULL, EINVAL, "layers[1]");
  parse_fails (
      "{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:xyz\", \"size\": 1}") "}",
      NULL, EINVAL, "layers[1]: invalid digest");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha512:" HEX_C HEX_C
                                                        "\", \"size\": 1}") "}",
               NULL, EINVAL, "unsupported digest algorithm");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"SHA256:" HEX_C
                                                        "\", \"size\": 1}") "}",
               NULL, EINVAL, "layers[1]");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": 12, \"size\": 1}") "}", NULL,
               EINVAL, "layers[1]: no digest");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"size\": 1}") "}", NULL, EINVAL,
               "layers[1]: no digest");
  parse_fails ("{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:abc\", \"size\": 2}, "
               "\"layers\": []}",
               NULL, EINVAL, "config: invalid digest");
}

TEST (bad_sizes_name_the_field)
{
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:" HEX_C "\"}") "}",
               NULL, EINVAL, "layers[1]: missing or negative size");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:" HEX_C
                                                        "\", \"size\": -1}") "}",
               NULL, EINVAL, "layers[1]: missing or negative size");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:" HEX_C
                                                        "\", \"size\": \"12\"}") "}",
               NULL, EINVAL, "layers[1]");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("{\"digest\": \"sha256:" HEX_C
                                                        "\", \"size\": 1.5}") "}",
               NULL, EINVAL, "layers[1]");
  parse_fails ("{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:" HEX_A "\"}, "
               "\"layers\": []}",
               NULL, EINVAL, "config: missing or negative size");
}

TEST (non_object_descriptors_name_the_field)
{
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("\"sha256:" HEX_C "\"") "}", NULL, EINVAL,
               "layers[1]: not an object");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("null") "}", NULL, EINVAL,
               "layers[1]: not an object");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY ("[]") "}", NULL, EINVAL,
               "layers[1]: not an object");
  parse_fails ("{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_MANIFEST "\", "
               "\"layers\": []}",
               NULL, EINVAL, "config: not an object");
  parse_fails ("{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_MANIFEST "\", "
               "\"config\": {\"digest\": \"sha256:" HEX_A "\", \"size\": 2}, \"layers\": {}}",
               NULL, EINVAL, "no \"layers\" array");
}

TEST (unsupported_layer_media_type)
{
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY (
                   "{\"mediaType\": \"application/vnd.cncf.helm.chart.content.v1.tar+gzip\", "
                   "\"digest\": \"sha256:" HEX_C "\", \"size\": 1}") "}",
               NULL, ENOTSUP, "layers[1]: unsupported media type");
  parse_fails ("{\"schemaVersion\": 2, " MANIFEST_BODY (
                   "{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+bzip2\", "
                   "\"digest\": \"sha256:" HEX_C "\", \"size\": 1}") "}",
               NULL, ENOTSUP, "tar+bzip2");
}

TEST (unsupported_manifest_media_type)
{
  parse_fails (OCI_MANIFEST, "text/html", ENOTSUP, "unsupported manifest media type `text/html`");
  parse_fails ("{\"schemaVersion\": 2}", NULL, ENOTSUP, "unsupported manifest media type");
  parse_fails ("{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_CONFIG "\"}", NULL, ENOTSUP,
               SBX_MT_OCI_CONFIG);
}

/* ---- indexes ---- */

#define AMD64 ENTRY (HEX_A, PLAT ("linux", "amd64"))
#define ARM64_V8 ENTRY (HEX_B, PLATV ("linux", "arm64", "v8"))
#define ARM_V7 ENTRY (HEX_C, PLATV ("linux", "arm", "v7"))
#define WINDOWS ENTRY (HEX_D, PLAT ("windows", "amd64"))
#define FOUR_ENTRIES AMD64 ", " ARM64_V8 ", " ARM_V7 ", " WINDOWS

TEST (oci_index)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (INDEX_OF (OCI_INDEX_MT, FOUR_ENTRIES), NULL);

  EXPECT_EQ (m->kind, SBX_MANIFEST_INDEX);
  EXPECT_STREQ (m->media_type, SBX_MT_OCI_INDEX);
  ASSERT_EQ (m->n_entries, 4u);
  EXPECT_STREQ (m->entries[0].digest.hex, HEX_A);
  EXPECT_STREQ (m->entries[0].media_type, SBX_MT_OCI_MANIFEST);
  EXPECT_EQ (m->entries[0].size, 7143);
  EXPECT_STREQ (m->entries[0].os, "linux");
  EXPECT_STREQ (m->entries[0].arch, "amd64");
  EXPECT_NULL (m->entries[0].variant);
  EXPECT_STREQ (m->entries[1].arch, "arm64");
  EXPECT_STREQ (m->entries[1].variant, "v8");
  EXPECT_STREQ (m->entries[3].os, "windows");
  EXPECT_FALSE (m->entries[3].is_attestation);
  EXPECT_EQ (m->n_layers, 0u);
  EXPECT_NULL (m->layers);
}

TEST (oci_index_without_media_type_is_guessed_from_its_shape)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (INDEX_OF ("", FOUR_ENTRIES), NULL);

  EXPECT_EQ (m->kind, SBX_MANIFEST_INDEX);
  EXPECT_STREQ (m->media_type, SBX_MT_OCI_INDEX);
  EXPECT_EQ (m->n_entries, 4u);
}

TEST (docker_manifest_list)
{
  cleanup_manifest struct sbx_manifest *a
      = parse_ok (INDEX_OF (DOCKER_LIST_MT, FOUR_ENTRIES), NULL);
  cleanup_manifest struct sbx_manifest *b
      = parse_ok (INDEX_OF ("", FOUR_ENTRIES), SBX_MT_DOCKER_LIST);
  cleanup_manifest struct sbx_manifest *c
      = parse_ok (INDEX_OF (OCI_INDEX_MT, FOUR_ENTRIES), SBX_MT_DOCKER_LIST);

  EXPECT_EQ (a->kind, SBX_MANIFEST_INDEX);
  EXPECT_STREQ (a->media_type, SBX_MT_DOCKER_LIST);
  EXPECT_EQ (a->n_entries, 4u);
  EXPECT_EQ (b->kind, SBX_MANIFEST_INDEX);
  EXPECT_STREQ (b->media_type, SBX_MT_DOCKER_LIST);
  EXPECT_STREQ (c->media_type, SBX_MT_DOCKER_LIST);
}

TEST (empty_index)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (INDEX_OF (OCI_INDEX_MT, ""), NULL);

  EXPECT_EQ (m->kind, SBX_MANIFEST_INDEX);
  EXPECT_EQ (m->n_entries, 0u);
}

TEST (bad_index_entries_name_the_field)
{
  parse_fails (INDEX_OF (OCI_INDEX_MT, ENTRY (HEX_A, PLAT ("linux", "amd64")) ", 7"), NULL, EINVAL,
               "manifests[1]: not an object");
  parse_fails (INDEX_OF (OCI_INDEX_MT, "{\"digest\": \"sha256:" HEX_A "\", \"size\": -7}"), NULL,
               EINVAL, "manifests[0]: missing or negative size");
  parse_fails (INDEX_OF (OCI_INDEX_MT, "{\"digest\": \"md5:abc\", \"size\": 7}"), NULL, EINVAL,
               "manifests[0]");
  parse_fails ("{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_INDEX "\"}", NULL, EINVAL,
               "no \"manifests\" array");
}

TEST (attestations_are_marked)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (
      INDEX3 (ENTRY (HEX_A, PLAT ("linux", "amd64")), ENTRY (HEX_B, PLAT ("unknown", "unknown")),
              ENTRY (HEX_C, PLAT ("linux", "amd64") ATTESTATION_ANN)),
      NULL);

  ASSERT_EQ (m->n_entries, 3u);
  EXPECT_FALSE (m->entries[0].is_attestation);
  EXPECT_TRUE (m->entries[1].is_attestation);
  EXPECT_TRUE (m->entries[2].is_attestation);
}

/* ---- picking a platform ---- */

/* Pick OS/ARCH/VARIANT from the index JSON; the digest hex picked.  */
static const char *
pick_ok (struct sbx_manifest *m, const char *os, const char *arch, const char *variant)
{
  cleanup_error struct sbx_error *err = NULL;
  const struct sbx_descriptor *d = sbx_manifest_pick (m, os, arch, variant, &err);

  if (d == NULL)
    printf ("# pick %s/%s/%s: %s\n", os, arch, variant ? variant : "-", err->msg);
  ASSERT_NOT_NULL (d);
  ASSERT_NULL (err);
  return d->digest.hex;
}

TEST (pick_exact_platform)
{
  cleanup_manifest struct sbx_manifest *m = parse_ok (INDEX_OF (OCI_INDEX_MT, FOUR_ENTRIES), NULL);

  EXPECT_STREQ (pick_ok (m, "linux", "amd64", NULL), HEX_A);
  EXPECT_STREQ (pick_ok (m, "windows", "amd64", NULL), HEX_D);
  EXPECT_STREQ (pick_ok (m, "linux", "arm64", "v8"), HEX_B);
  EXPECT_STREQ (pick_ok (m, "linux", "arm", "v7"), HEX_C);
  /* No variant asked: any variant will do.  */
  EXPECT_STREQ (pick_ok (m, "linux", "arm64", NULL), HEX_B);
  /* A variant asked, none in the index entry: it will do.  */
  EXPECT_STREQ (pick_ok (m, "linux", "amd64", "v3"), HEX_A);
}

TEST (pick_prefers_the_exact_variant)
{
  /* arm64 without a variant listed first, arm64/v8 second.  */
  cleanup_manifest struct sbx_manifest *m
      = parse_ok (INDEX2 (ENTRY (HEX_A, PLAT ("linux", "arm64")),
                          ENTRY (HEX_B, PLATV ("linux", "arm64", "v8"))),
                  NULL);
  cleanup_manifest struct sbx_manifest *arm
      = parse_ok (INDEX2 (ENTRY (HEX_A, PLATV ("linux", "arm", "v6")),
                          ENTRY (HEX_B, PLATV ("linux", "arm", "v7"))),
                  NULL);
  cleanup_error struct sbx_error *err = NULL;

  EXPECT_STREQ (pick_ok (m, "linux", "arm64", "v8"), HEX_B);
  EXPECT_STREQ (pick_ok (m, "linux", "arm64", NULL), HEX_A);
  EXPECT_STREQ (pick_ok (m, "linux", "arm64", "v9"), HEX_A);
  EXPECT_STREQ (pick_ok (arm, "linux", "arm", "v7"), HEX_B);
  EXPECT_STREQ (pick_ok (arm, "linux", "arm", "v6"), HEX_A);
  /* A different variant is not a match.  */
  EXPECT_NULL (sbx_manifest_pick (arm, "linux", "arm", "v5", &err));
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "linux/arm/v5");
  EXPECT_STRSTR (err->msg, "linux/arm/v6, linux/arm/v7");
}

TEST (pick_skips_attestations)
{
  /* buildx puts attestation manifests next to the images: with the
     annotation and platform unknown/unknown; here one also claims to be
     linux/amd64, and comes first.  */
  cleanup_manifest struct sbx_manifest *m = parse_ok (
      INDEX3 (ENTRY (HEX_A, PLAT ("linux", "amd64") ATTESTATION_ANN),
              ENTRY (HEX_B, PLAT ("unknown", "unknown")), ENTRY (HEX_C, PLAT ("linux", "amd64"))),
      NULL);
  cleanup_manifest struct sbx_manifest *only
      = parse_ok (INDEX2 (ENTRY (HEX_A, PLAT ("linux", "amd64") ATTESTATION_ANN),
                          ENTRY (HEX_B, PLAT ("unknown", "unknown"))),
                  NULL);
  cleanup_error struct sbx_error *err = NULL;

  EXPECT_STREQ (pick_ok (m, "linux", "amd64", NULL), HEX_C);
  EXPECT_NULL (sbx_manifest_pick (m, "unknown", "unknown", NULL, &err));
  sbx_error_clear (&err);
  EXPECT_NULL (sbx_manifest_pick (only, "linux", "amd64", NULL, &err));
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_STRSTR (err->msg, "it has: nothing");
}

TEST (pick_without_a_match_lists_the_platforms)
{
  /* Four platforms, an attestation and an entry without a platform.  */
  cleanup_manifest struct sbx_manifest *m
      = parse_ok (INDEX3 (FOUR_ENTRIES, ENTRY (HEX_E, PLAT ("unknown", "unknown") ATTESTATION_ANN),
                          ENTRY (HEX_F, "")),
                  NULL);
  cleanup_error struct sbx_error *err = NULL;

  EXPECT_NULL (sbx_manifest_pick (m, "linux", "s390x", NULL, &err));
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_STRSTR (err->msg, "no image for platform linux/s390x");
  EXPECT_STRSTR (err->msg, "linux/amd64, linux/arm64/v8, linux/arm/v7, windows/amd64");
  EXPECT_TRUE (strstr (err->msg, "unknown") == NULL);
  sbx_error_clear (&err);
  EXPECT_NULL (sbx_manifest_pick (m, "freebsd", "amd64", NULL, &err));
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "freebsd/amd64");
}

TEST (host_platform)
{
  const char *os = NULL, *arch = NULL, *variant = "unset";

  sbx_platform_host (&os, &arch, &variant);
  EXPECT_STREQ (os, "linux");
  ASSERT_NOT_NULL (arch);
#if defined(__x86_64__)
  EXPECT_STREQ (arch, "amd64");
  EXPECT_NULL (variant);
#elif defined(__aarch64__)
  EXPECT_STREQ (arch, "arm64");
  EXPECT_STREQ (variant, "v8");
#endif
}

/* ---- layer media types ---- */

TEST (media_type_is_layer)
{
  EXPECT_TRUE (sbx_media_type_is_layer (SBX_MT_OCI_LAYER));
  EXPECT_TRUE (sbx_media_type_is_layer (SBX_MT_OCI_LAYER_GZIP));
  EXPECT_TRUE (sbx_media_type_is_layer (SBX_MT_OCI_LAYER_ZSTD));
  EXPECT_TRUE (sbx_media_type_is_layer (SBX_MT_DOCKER_LAYER));
  EXPECT_TRUE (
      sbx_media_type_is_layer ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"));
  EXPECT_TRUE (
      sbx_media_type_is_layer ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
  EXPECT_FALSE (sbx_media_type_is_layer (SBX_MT_OCI_CONFIG));
  EXPECT_FALSE (sbx_media_type_is_layer (SBX_MT_OCI_MANIFEST));
  EXPECT_FALSE (sbx_media_type_is_layer (SBX_MT_DOCKER_CONFIG));
  EXPECT_FALSE (sbx_media_type_is_layer ("application/vnd.oci.image.layer.v1.tar+bzip2"));
  EXPECT_FALSE (sbx_media_type_is_layer ("application/vnd.oci.image.layer.v1.tar+gzip "));
  EXPECT_FALSE (sbx_media_type_is_layer ("APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR"));
  EXPECT_FALSE (sbx_media_type_is_layer (""));
}

/* ---- image configs ---- */

#define FULL_CONFIG                                                                           \
  "{\"architecture\": \"amd64\", \"os\": \"linux\", \"created\": \"2024-01-02T03:04:05Z\","   \
  " \"config\": {\"Entrypoint\": [\"/bin/tini\", \"--\"], \"Cmd\": [\"nginx\", \"-g\", "      \
  "\"daemon off;\"], \"Env\": [\"PATH=/usr/local/sbin:/usr/bin\", \"NGINX_VERSION=1.25.3\"]," \
  " \"WorkingDir\": \"/srv/www\", \"User\": \"101:101\", \"ExposedPorts\": {\"80/tcp\": {},"  \
  " \"443/tcp\": {}, \"443/udp\": {}}, \"Volumes\": {\"/var/cache/nginx\": {}},"              \
  " \"Labels\": {\"maintainer\": \"NGINX <docker-maint@nginx.com>\", \"empty\": \"\"},"       \
  " \"StopSignal\": \"SIGQUIT\"}, \"rootfs\": {\"type\": \"layers\", \"diff_ids\": "          \
  "[\"sha256:" HEX_E "\", \"sha256:" HEX_F "\"]}, \"history\": [{\"created_by\": \"x\"}]}"

static struct sbx_image_config *
config_ok (const char *json)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_image_config *c = NULL;
  int r = sbx_image_config_parse (json, strlen (json), &c, &err);

  if (r < 0)
    printf ("# config parse failed: %s\n", err->msg);
  ASSERT_EQ (r, 0);
  ASSERT_NOT_NULL (c);
  return c;
}

static void
config_fails (const char *json, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_image_config *c = NULL;

  ASSERT_EQ (sbx_image_config_parse (json, strlen (json), &c, &err), -1);
  ASSERT_NULL (c);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EINVAL);
  EXPECT_STRSTR (err->msg, why);
}

TEST (config_full)
{
  cleanup_config struct sbx_image_config *c = config_ok (FULL_CONFIG);

  EXPECT_STREQ (c->os, "linux");
  EXPECT_STREQ (c->arch, "amd64");
  EXPECT_STREQ (c->created, "2024-01-02T03:04:05Z");
  ASSERT_EQ (sbx_strv_len (c->entrypoint), 2u);
  EXPECT_STREQ (c->entrypoint[0], "/bin/tini");
  EXPECT_STREQ (c->entrypoint[1], "--");
  ASSERT_EQ (sbx_strv_len (c->cmd), 3u);
  EXPECT_STREQ (c->cmd[0], "nginx");
  EXPECT_STREQ (c->cmd[2], "daemon off;");
  ASSERT_EQ (sbx_strv_len (c->env), 2u);
  EXPECT_STREQ (c->env[0], "PATH=/usr/local/sbin:/usr/bin");
  EXPECT_STREQ (sbx_env_get (c->env, "NGINX_VERSION"), "1.25.3");
  EXPECT_STREQ (c->workdir, "/srv/www");
  EXPECT_STREQ (c->user, "101:101");
  EXPECT_STREQ (c->stop_signal, "SIGQUIT");
  EXPECT_EQ (sbx_strv_len (c->exposed_ports), 3u);
  EXPECT_TRUE (sbx_strv_contains (c->exposed_ports, "80/tcp"));
  EXPECT_TRUE (sbx_strv_contains (c->exposed_ports, "443/tcp"));
  EXPECT_TRUE (sbx_strv_contains (c->exposed_ports, "443/udp"));
  ASSERT_EQ (sbx_strv_len (c->volumes), 1u);
  EXPECT_STREQ (c->volumes[0], "/var/cache/nginx");
  EXPECT_EQ (sbx_strv_len (c->labels), 2u);
  EXPECT_TRUE (sbx_strv_contains (c->labels, "maintainer=NGINX <docker-maint@nginx.com>"));
  EXPECT_TRUE (sbx_strv_contains (c->labels, "empty="));
  ASSERT_EQ (c->n_diff_ids, 2u);
  EXPECT_STREQ (c->diff_ids[0].hex, HEX_E);
  EXPECT_STREQ (c->diff_ids[1].hex, HEX_F);
}

TEST (config_minimal)
{
  cleanup_config struct sbx_image_config *c
      = config_ok ("{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}");

  EXPECT_EQ (c->n_diff_ids, 0u);
  EXPECT_NULL (c->os);
  EXPECT_NULL (c->arch);
  EXPECT_NULL (c->entrypoint);
  EXPECT_NULL (c->cmd);
  EXPECT_NULL (c->env);
  EXPECT_NULL (c->workdir);
  EXPECT_NULL (c->user);
  EXPECT_NULL (c->exposed_ports);
  EXPECT_NULL (c->volumes);
  EXPECT_NULL (c->labels);
  EXPECT_NULL (c->stop_signal);
}

TEST (config_null_and_empty_fields)
{
  /* Docker writes null for unset fields; an empty Cmd is set and empty.  */
  cleanup_config struct sbx_image_config *c
      = config_ok ("{\"config\": {\"Entrypoint\": null, \"Cmd\": [], \"Env\": null, "
                   "\"WorkingDir\": \"\", \"Labels\": null, \"ExposedPorts\": {}}, "
                   "\"rootfs\": {\"diff_ids\": [\"sha256:" HEX_A "\"]}}");

  EXPECT_NULL (c->entrypoint);
  ASSERT_NOT_NULL (c->cmd);
  EXPECT_EQ (sbx_strv_len (c->cmd), 0u);
  EXPECT_NULL (c->env);
  EXPECT_STREQ (c->workdir, "");
  EXPECT_NULL (c->labels);
  EXPECT_EQ (sbx_strv_len (c->exposed_ports), 0u);
  ASSERT_EQ (c->n_diff_ids, 1u);
  EXPECT_STREQ (c->diff_ids[0].hex, HEX_A);
}

TEST (config_without_diff_ids_is_rejected)
{
  config_fails ("{\"config\": {\"Cmd\": [\"sh\"]}}", "rootfs.diff_ids");
  config_fails ("{\"rootfs\": {\"type\": \"layers\"}}", "rootfs.diff_ids");
  config_fails ("{\"rootfs\": {\"diff_ids\": {}}}", "rootfs.diff_ids");
  config_fails ("{\"rootfs\": [\"sha256:" HEX_A "\"]}", "rootfs.diff_ids");
}

TEST (config_bad_diff_ids_name_the_entry)
{
  config_fails ("{\"rootfs\": {\"diff_ids\": [\"sha256:" HEX_A "\", \"sha256:nope\"]}}",
                "rootfs.diff_ids[1]");
  config_fails ("{\"rootfs\": {\"diff_ids\": [42]}}", "rootfs.diff_ids[0]");
  config_fails ("{\"rootfs\": {\"diff_ids\": [null]}}", "rootfs.diff_ids[0]");
}

TEST (config_not_json)
{
  config_fails ("", "invalid JSON");
  config_fails ("{\"rootfs\": ", "invalid JSON");
  config_fails ("[]", "not an object");
}

TEST_MAIN

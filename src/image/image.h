/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The image store (DESIGN.md §4): content-addressed blobs, unpacked layers
   keyed by DiffID, and the name → manifest table; plus the OCI/Docker
   manifest, index and config formats.

     $SBX_ROOT/blobs/sha256/<hex>   manifests, configs, compressed layers
     $SBX_ROOT/layers/<diffid-hex>/ one unpacked layer (a complete directory;
                                    it appears only by rename())
     $SBX_ROOT/images.json          name → manifest digest
     $SBX_ROOT/tmp/                 staging; anything here is half-written
     $SBX_ROOT/lock                 flock: writers of images.json and GC

   Everything is written under tmp/ and published with rename(), so a
   reader never sees a partial object and sbx may be killed at any moment:
   what is left in tmp/ is garbage that `sbx system check --repair` and the
   next GC remove.  Blobs are verified against their digest and size before
   they are published.  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/digest.h"

struct sbx_error;

/* ---- media types ---- */

#define SBX_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define SBX_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define SBX_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define SBX_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define SBX_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define SBX_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define SBX_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define SBX_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define SBX_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define SBX_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define SBX_MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define SBX_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* ---- descriptors, manifests, indexes, configs (manifest.c) ---- */

struct sbx_descriptor
{
  char *media_type;
  struct sbx_digest digest;
  int64_t size;
  /* index entries only */
  char *os;
  char *arch;
  char *variant;
  bool
      is_attestation; /* annotation vnd.docker.reference.type=attestation-manifest, or os unknown */
};

enum sbx_manifest_kind
{
  SBX_MANIFEST_IMAGE, /* OCI manifest or Docker schema 2 */
  SBX_MANIFEST_INDEX, /* OCI index or Docker manifest list */
};

struct sbx_manifest
{
  enum sbx_manifest_kind kind;
  char *media_type;
  struct sbx_descriptor config;  /* IMAGE */
  struct sbx_descriptor *layers; /* IMAGE */
  size_t n_layers;
  struct sbx_descriptor *entries; /* INDEX */
  size_t n_entries;
};

/* Parse a manifest or index.  MEDIA_TYPE is the Content-Type it came with
   (may be NULL: taken from the document's mediaType, else guessed from its
   shape).  Schema 1 is rejected with a message that says so.  */
int sbx_manifest_parse (const char *json, size_t len, const char *media_type,
                        struct sbx_manifest **out, struct sbx_error **err);
void sbx_manifest_free (struct sbx_manifest *m);
/* Pick the entry of an index for OS/ARCH/VARIANT (VARIANT may be NULL),
   skipping attestations; NULL with *ERR listing what is there.  */
const struct sbx_descriptor *sbx_manifest_pick (const struct sbx_manifest *idx, const char *os,
                                                const char *arch, const char *variant,
                                                struct sbx_error **err);
/* This host's platform in OCI terms: "linux", "amd64"/"arm64"/…, variant or NULL.  */
void sbx_platform_host (const char **os, const char **arch, const char **variant);
/* true for the layer media types we can unpack (tar, gzip, zstd; OCI or Docker).  */
bool sbx_media_type_is_layer (const char *mt);

struct sbx_image_config
{
  char *os;
  char *arch;
  char **entrypoint; /* NULL-terminated; NULL when unset */
  char **cmd;
  char **env;
  char *workdir;
  char *user;
  char **exposed_ports; /* "8888/tcp" */
  char **volumes;
  char *stop_signal;
  char **labels; /* "key=value" */
  struct sbx_digest *diff_ids;
  size_t n_diff_ids;
  char *created;
};

int sbx_image_config_parse (const char *json, size_t len, struct sbx_image_config **out,
                            struct sbx_error **err);
void sbx_image_config_free (struct sbx_image_config *c);

/* ---- the store (store.c, blob.c, refs.c) ---- */

struct sbx_store;

/* Open (creating if needed) the store at ROOT.  */
int sbx_store_open (const char *root, struct sbx_store **out, struct sbx_error **err);
void sbx_store_close (struct sbx_store *s);
const char *sbx_store_root (const struct sbx_store *s);
/* An O_PATH fd of the root, layers/ and tmp/ (owned by the store).  */
int sbx_store_rootfd (const struct sbx_store *s);

/* The exclusive store lock (flock on ROOT/lock), for writers of images.json
   and for GC.  Blocks; readers never take it.  */
struct sbx_store_lock
{
  int fd;
};
int sbx_store_lock (struct sbx_store *s, struct sbx_store_lock *l, struct sbx_error **err);
/* The GC lock (flock on ROOT/gc.lock): shared while adding an image (from
   the first blob written to the name recorded), exclusive for prune, so a
   prune never removes the blobs of a pull in progress.  */
int sbx_store_gc_lock (struct sbx_store *s, bool exclusive, struct sbx_store_lock *l,
                       struct sbx_error **err);
void sbx_store_unlock (struct sbx_store_lock *l);
#define cleanup_store_lock __attribute__ ((cleanup (sbx_store_unlock)))

/* blobs */
bool sbx_store_has_blob (struct sbx_store *s, const struct sbx_digest *d);
/* Size of a stored blob, -1 when absent.  */
int64_t sbx_store_blob_size (struct sbx_store *s, const struct sbx_digest *d);
int sbx_store_open_blob (struct sbx_store *s, const struct sbx_digest *d, struct sbx_error **err);
/* Whole blob, NUL-terminated, at most MAX bytes.  */
char *sbx_store_read_blob (struct sbx_store *s, const struct sbx_digest *d, size_t max, size_t *len,
                           struct sbx_error **err);

/* Writing a blob: data goes to a temp file under tmp/ while its sha256 is
   computed; commit verifies digest and size, then renames it into place
   (an existing identical blob is kept).  Freeing an uncommitted writer
   removes the temp file.  */
struct sbx_blob_writer;
int sbx_blob_writer_new (struct sbx_store *s, struct sbx_blob_writer **out, struct sbx_error **err);
int sbx_blob_writer_write (struct sbx_blob_writer *w, const void *data, size_t len,
                           struct sbx_error **err);
/* Bytes written so far.  */
uint64_t sbx_blob_writer_size (const struct sbx_blob_writer *w);
/* EXPECTED may be NULL (accept any digest), EXPECTED_SIZE -1 (any size).
   *ACTUAL (may be NULL) gets the digest.  A mismatch fails with EBADMSG and
   removes the data.  */
int sbx_blob_writer_commit (struct sbx_blob_writer *w, const struct sbx_digest *expected,
                            int64_t expected_size, struct sbx_digest *actual,
                            struct sbx_error **err);
void sbx_blob_writer_free (struct sbx_blob_writer *w);
/* Convenience: store DATA, *OUT gets its digest.  */
int sbx_store_put_blob (struct sbx_store *s, const void *data, size_t len, struct sbx_digest *out,
                        struct sbx_error **err);
/* Copy FD (to its end) into the store, verifying EXPECTED when non-NULL.  */
int sbx_store_put_blob_fd (struct sbx_store *s, int fd, const struct sbx_digest *expected,
                           int64_t expected_size, struct sbx_digest *out, struct sbx_error **err);

/* unpacked layers */
bool sbx_store_has_layer (struct sbx_store *s, const struct sbx_digest *diff_id);
/* Absolute path of layers/<hex> (free() it).  */
char *sbx_store_layer_path (struct sbx_store *s, const struct sbx_digest *diff_id);
/* Make an empty staging directory under tmp/; *PATH gets its absolute path.  */
int sbx_store_stage_dir (struct sbx_store *s, const char *prefix, char **path,
                         struct sbx_error **err);
/* Publish a staged, complete layer directory as layers/<hex> (rename).  If
   another process won the race the staged copy is removed.  */
int sbx_store_publish_layer (struct sbx_store *s, const char *staged,
                             const struct sbx_digest *diff_id, struct sbx_error **err);

/* names (images.json): "docker.io/library/busybox:latest" → manifest digest.
   Setting and removing take the store lock themselves.  */
int sbx_store_set_ref (struct sbx_store *s, const char *name, const struct sbx_digest *manifest,
                       struct sbx_error **err);
int sbx_store_remove_ref (struct sbx_store *s, const char *name, struct sbx_error **err);
/* 1 and *OUT when NAME is known, 0 when not, -1 on error.  */
int sbx_store_lookup_ref (struct sbx_store *s, const char *name, struct sbx_digest *out,
                          struct sbx_error **err);
struct sbx_store_ref
{
  char *name;
  struct sbx_digest manifest;
};
/* All names, sorted.  */
int sbx_store_list_refs (struct sbx_store *s, struct sbx_store_ref **out, size_t *n,
                         struct sbx_error **err);
void sbx_store_refs_free (struct sbx_store_ref *refs, size_t n);

/* ---- images (image.c) ---- */

/* A stored image: its manifest, config and layers (which must all be in
   the store for it to be complete).  */
struct sbx_image
{
  struct sbx_digest manifest_digest;
  struct sbx_digest config_digest; /* the image id */
  struct sbx_manifest *manifest;
  struct sbx_image_config *config;
  char *manifest_json;
  char *config_json;
};

int sbx_image_load (struct sbx_store *s, const struct sbx_digest *manifest, struct sbx_image **out,
                    struct sbx_error **err);
void sbx_image_free (struct sbx_image *img);
/* Sum of the compressed layer sizes plus config.  */
int64_t sbx_image_size (const struct sbx_image *img);

/* Find an image by name, full or short id (config digest hex prefix, at
   least 4 digits), or manifest digest; NAME_OUT gets the matched name when
   by name.  1 found, 0 not, -1 error (e.g. an ambiguous prefix).  */
int sbx_store_find_image (struct sbx_store *s, const char *what, struct sbx_digest *manifest,
                          struct sbx_error **err);

/* ---- deriving images (derive.c) ---- */

/* A new config from CONFIG_JSON with one more layer (DIFF_ID) on top, a
   history entry saying CREATED_BY, and CMD (NULL: unchanged) — what
   `sbx commit` (and later `sbx build`) writes.  CREATED: RFC 3339 time.  */
char *sbx_image_config_add_layer (const char *config_json, const struct sbx_digest *diff_id,
                                  char *const *cmd, const char *created_by, const char *created,
                                  struct sbx_error **err);
/* The config of an empty image (FROM scratch) for this host's platform.  */
char *sbx_image_config_scratch (void);

/* Changes to an image config's "config" object (what a Dockerfile's
   metadata instructions do).  NULL / 0 members change nothing.  */
struct sbx_image_config_edit
{
  char *const *env;           /* "K=V": set K, replacing an earlier K */
  char *const *labels;        /* "K=V": set label K */
  char *const *exposed_ports; /* "8888/tcp": added */
  char *const *volumes;       /* added */
  const char *workdir;
  const char *user;
  const char *stop_signal;
  char *const *shell;
  char *const *entrypoint; /* also resets Cmd, as Docker does */
  char *const *cmd;
  char *const *health_test; /* Docker's Test: "NONE" | "CMD" args… | "CMD-SHELL" text */
  int64_t health_interval_ns, health_timeout_ns, health_start_period_ns;
  int health_retries;
  const char *onbuild;    /* appended to OnBuild */
  const char *created_by; /* non-NULL: a history entry with empty_layer */
  const char *created;    /* RFC 3339, for the history entry and "created" */
};

/* A new config: CONFIG_JSON with E applied.  */
char *sbx_image_config_edit (const char *config_json, const struct sbx_image_config_edit *e,
                             struct sbx_error **err);
/* An OCI image manifest for CONFIG and LAYERS (media types, digests, sizes).  */
char *sbx_manifest_build (const struct sbx_descriptor *config, const struct sbx_descriptor *layers,
                          size_t n_layers);

/* ---- containers (containers.c): $SBX_ROOT/containers/<id>/ ---- */

/* A container kept in the store: what it runs and over which image, its
   writable layer (UPPER, WORK) and its last state.  The record is
   config.json in its directory, rewritten atomically.  */
struct sbx_container
{
  char *id; /* 64 hex digits */
  char *name;
  char *image_name;        /* as given to run, for ps */
  struct sbx_digest image; /* manifest digest; unset for --rootfs */
  char *rootfs;            /* --rootfs DIR, or NULL */
  char **argv;
  char **env; /* -e/--env-file only; the image's env is added at start */
  char *workdir;
  char *user;
  char *hostname;
  char **volumes; /* -v as given, made absolute: "HOST:CTR[:ro]" */
  char **tmpfs;   /* --tmpfs PATH[:OPTS] */
  char **cap_add;
  char **cap_drop;
  char *network;    /* --network as given ("slirp:mtu=1500", "host", …), NULL: default */
  char **publish;   /* -p as given */
  bool publish_all; /* -P */
  char **add_hosts; /* --add-host */
  char **dns;       /* --dns */
  char *driver;     /* "overlay" | "fuse" */
  char *upper;      /* absolute path of the writable layer ("" with read_only) */
  char *work;
  bool tty, interactive, init, read_only, keep_id, autoremove;
  bool fakeroot;   /* --fakeroot */
  int64_t created; /* unix seconds */
  int64_t started;
  int64_t finished;
  int exit_code; /* -1 while never finished */
};

void sbx_container_free (struct sbx_container *c);
/* Absolute path of containers/<id> (free() it).  */
char *sbx_container_dir (struct sbx_store *s, const char *id);
/* Create C's directory, upper/ and work/ (in C->upper's parent when that is
   set elsewhere, e.g. node-local storage) and write its record.  Fails with
   EEXIST when the name is taken.  */
int sbx_container_create (struct sbx_store *s, const struct sbx_container *c,
                          struct sbx_error **err);
/* Rewrite C's record (state changes).  */
int sbx_container_save (struct sbx_store *s, const struct sbx_container *c, struct sbx_error **err);
/* Find a container by name, full id or id prefix (>= 4 hex digits).  */
int sbx_container_load (struct sbx_store *s, const char *what, struct sbx_container **out,
                        struct sbx_error **err);
/* All containers, oldest first.  */
int sbx_container_list (struct sbx_store *s, struct sbx_container ***out, size_t *n,
                        struct sbx_error **err);
void sbx_container_list_free (struct sbx_container **list, size_t n);
/* Remove C's directory (and its writable layer elsewhere).  Run it as root
   of the user namespace: the layer holds files of subordinate ids.  */
int sbx_container_remove (struct sbx_store *s, const struct sbx_container *c,
                          struct sbx_error **err);

/* ---- volumes (volumes.c): $SBX_ROOT/volumes/<name>/ ---- */

/* A volume is a directory, volumes/<name>/_data, mounted into containers,
   and its record volumes/<name>/volume.json (created time, labels, whether
   it is anonymous).  Names are Docker's: [a-zA-Z0-9][a-zA-Z0-9_.-]+.  Its
   files may belong to subordinate ids: remove it as root of the user
   namespace.  */
struct sbx_volume
{
  char *name;
  char *mountpoint; /* absolute path of its _data directory */
  int64_t created;  /* unix seconds */
  char **labels;    /* "key=value", NULL-terminated (never NULL) */
  bool anonymous;   /* made for a container (random name), removed with it */
};

bool sbx_volume_name_is_valid (const char *name);
/* Create volume NAME (with LABELS, "k=v", may be NULL) unless it exists;
   *OUT gets it either way.  Returns 1 when it was created, 0 when it
   existed (its labels and ANONYMOUS are then left as they were).  */
int sbx_volume_create (struct sbx_store *s, const char *name, char *const *labels, bool anonymous,
                       struct sbx_volume **out, struct sbx_error **err);
/* Load volume NAME; ENOENT "no such volume" when absent.  */
int sbx_volume_load (struct sbx_store *s, const char *name, struct sbx_volume **out,
                     struct sbx_error **err);
/* All volumes, sorted by name.  */
int sbx_volume_list (struct sbx_store *s, struct sbx_volume ***out, size_t *n,
                     struct sbx_error **err);
/* Remove volume NAME and its data (ENOENT when absent).  FREED (may be NULL)
   gets the size of its files.  It does not look for containers using it.  */
int sbx_volume_remove (struct sbx_store *s, const char *name, uint64_t *freed,
                       struct sbx_error **err);
void sbx_volume_free (struct sbx_volume *v);
void sbx_volume_list_free (struct sbx_volume **list, size_t n);

/* ---- integrity and GC (check.c) ---- */

struct sbx_check_report
{
  size_t blobs_ok;
  size_t blobs_bad; /* digest mismatch or unreadable */
  size_t layers_ok;
  size_t layers_bad;    /* not a directory, unreadable */
  size_t staging;       /* leftovers in tmp/ */
  size_t refs_dangling; /* names whose manifest is missing */
  size_t removed;       /* with REPAIR */
};

/* Verify every blob against its digest, every layer directory, and every
   name; with REPAIR remove what is damaged or half-written.  Each problem
   is reported through PROBLEM (may be NULL).  */
int sbx_store_check (struct sbx_store *s, bool repair,
                     void (*problem) (const char *what, void *arg), void *arg,
                     struct sbx_check_report *rep, struct sbx_error **err);

/* Remove blobs and layers no name refers to (and tmp/ leftovers older than a
   minute).  KEEP_LAYERS lists DiffIDs in use by running containers.  */
int sbx_store_prune (struct sbx_store *s, const struct sbx_digest *keep_layers, size_t n_keep,
                     uint64_t *freed_bytes, size_t *removed, struct sbx_error **err);

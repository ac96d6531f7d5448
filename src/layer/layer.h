/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Layer tar streams: reading (libarchive: ustar, pax, GNU; gzip, zstd or
   uncompressed, detected from the data), safe extraction into a directory
   fd, and the one translation between OCI whiteouts and the on-disk
   overlay format (DESIGN.md §4):

     OCI tar entry              on disk (kernel overlay, userxattr)
     dir/.wh.name          →    dir/name as a 0/0 character device
     dir/.wh..wh..opq      →    xattr user.overlay.opaque="y" on dir

   Every path is resolved relative to the layer's directory fd with
   openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), falling back to the
   verified walk of util/fs.h: no entry ("../x", "/abs", a symlink planted
   by an earlier entry, a hardlink to outside) ever writes outside it.  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/digest.h"

struct sbx_error;

enum sbx_layer_entry_kind
{
  SBX_LAYER_ENTRY_NORMAL,
  SBX_LAYER_ENTRY_WHITEOUT, /* .wh.NAME: *TARGET gets "dir/NAME" */
  SBX_LAYER_ENTRY_OPAQUE,   /* .wh..wh..opq: *TARGET gets "dir" ("" for the root) */
  SBX_LAYER_ENTRY_INVALID,  /* empty, or a whiteout with no valid target */
};

/* Classify a tar entry path (already stripped of "./" and leading "/").
   TARGET may be NULL; else it receives a malloc'ed string to free().  */
enum sbx_layer_entry_kind sbx_layer_classify_entry (const char *path, char **target);

struct sbx_layer_unpack_opts
{
  /* Owners from the tar are applied with fchownat when true (the caller runs
     inside a user namespace that maps them: subuid mode); when false every
     file is left owned by the caller (single-uid mode).  */
  bool apply_owners;
  /* Directory fds of the layers below, top-most first (for hardlinks to
     files of lower layers, which are copied up); may be empty.  */
  const int *lower_dirfds;
  size_t n_lowers;
};

struct sbx_layer_stats
{
  uint64_t entries;
  uint64_t bytes;            /* uncompressed payload written */
  uint64_t skipped;          /* device nodes and the like, with a warning */
  struct sbx_digest diff_id; /* sha256 of the uncompressed tar stream */
};

/* Unpack the layer tar read from FD (any supported compression) into the
   directory DIRFD, which should be empty.  Computes the DiffID of the
   uncompressed stream on the way.  A truncated or malformed stream fails
   with a message naming the entry.  */
int sbx_layer_unpack (int fd, int dirfd, const struct sbx_layer_unpack_opts *opts,
                      struct sbx_layer_stats *stats, struct sbx_error **err);

/* Write a tar stream of the tree DIRFD to FD: sorted entries, owners and
   modes as stored, whiteouts/opaque dirs translated back to OCI entries.
   COMPRESS: "gzip" or NULL.  MTIME >= 0 clamps all mtimes (reproducible
   builds, SOURCE_DATE_EPOCH); -1 keeps them.  *DIFF_ID gets the sha256 of
   the uncompressed tar.  */
int sbx_layer_write_tar (int dirfd, int fd, const char *compress, int64_t mtime,
                         struct sbx_digest *diff_id, struct sbx_error **err);

/* ---- image archives (archive.c) ---- */

struct sbx_store;

/* Write the stored image MANIFEST (all of its blobs must be in S) to FD as a
   tar archive.  FORMAT "docker-archive" (NULL means it) is what `docker
   save` writes: manifest.json, the config as <hex>.json, every layer
   uncompressed as <diffid-hex>/layer.tar (checked against its DiffID on the
   way) and the legacy `repositories`; "oci-archive" is an OCI image layout
   (oci-layout, index.json, blobs/sha256/<hex>) with the blobs as stored.
   NAMES (NULL-terminated, may be NULL) are the image's full names
   ("docker.io/library/busybox:latest"): RepoTags, or one index.json entry
   each.  Entries come in a fixed order with fixed owners and times, so the
   same image gives the same bytes.  FD is not closed.  */
int sbx_archive_save (struct sbx_store *s, const struct sbx_digest *manifest, char *const *names,
                      const char *format, int fd, struct sbx_error **err);

/* Read a docker-archive or an OCI-layout tar (either gzip- or
   zstd-compressed, or not) from FD and store its images: every blob is
   verified against its digest (a docker-archive's layers against the
   config's diff_ids) and an OCI manifest is made for docker-archive images;
   from an OCI index the host's platform is picked.  Nothing from the
   archive is created on disk but regular files under the store's tmp/,
   removed before returning; absolute names and ".." are refused.
   On success *N_OUT >= 1 and *MANIFESTS_OUT[i] is an image's manifest
   digest, *NAMES_OUT[i] the name the archive gives it as written there
   ("busybox:latest": normalise before use; a bare OCI tag T becomes
   "localhost/loaded:T"), or "" when it gives none; an image with several
   names comes once per name.  *NAMES_OUT is NULL-terminated (sbx_strv_free
   it), free() *MANIFESTS_OUT.  Names are not recorded: the caller does
   that (sbx_store_set_ref) once the layers are unpacked.  */
int sbx_archive_load (struct sbx_store *s, int fd, char ***names_out,
                      struct sbx_digest **manifests_out, size_t *n_out, struct sbx_error **err);

/* Make a one-layer image of the root filesystem tarball read from FD (to
   its end; gzip, zstd or uncompressed): the tarball is stored as it is as
   the layer, with a config for this host's platform (Env PATH, history
   "sbx import") and an OCI manifest, whose digest goes to *MANIFEST.  */
int sbx_archive_import (struct sbx_store *s, int fd, struct sbx_digest *manifest,
                        struct sbx_error **err);

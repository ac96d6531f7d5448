/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the files of src/layer/ and its unit tests, nobody else.  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "layer/layer.h"

struct sbx_error;
struct archive;
struct archive_entry;

/* ---- whiteout.c: the one translation between OCI and on-disk whiteouts ---- */

#define LAYER_WH_PREFIX ".wh."
#define LAYER_WH_OPAQUE ".wh..wh..opq"
#define LAYER_OPAQUE_XATTR "user.overlay.opaque"

/* true for the on-disk whiteout: a 0/0 character device.  */
bool layer_is_whiteout (const struct stat *st);

/* Create NAME (no slash) in the directory PARENTFD as a whiteout.  An
   existing entry is left alone (OCI: a whiteout only hides lower layers).  */
int layer_make_whiteout (int parentfd, const char *name, const char *path, struct sbx_error **err);

/* Mark the directory open as DIRFD (not O_PATH) opaque; PATH for messages.  */
int layer_set_opaque (int dirfd, const char *path, struct sbx_error **err);

/* true when the directory open as DIRFD (not O_PATH) is marked opaque.  */
bool layer_is_opaque (int dirfd);

/* true for xattrs that carry overlay or sbx metadata, never taken from or
   written to a tar stream.  */
bool layer_is_private_xattr (const char *name);

/* ---- unpack.c ---- */

/* Normalise a tar entry name: drop leading "/", "." components, empty
   components and a trailing "/"; ".." pops a component.  Returns a
   malloc'ed string ("" for the root), or NULL when ".." would rise above
   the root.  */
char *layer_normalize_path (const char *name);

/* ---- tar-read.c: a tar stream and the sha256 of its uncompressed bytes ----

   Two libarchive handles in a pipe: RAW reads FD through the decompression
   filters (gzip, zstd or none) with the "raw" format, and TAR parses the
   uncompressed bytes it hands over, which are hashed on the way.  */
struct layer_tar_reader;

int layer_tar_reader_open (int fd, struct layer_tar_reader **out, struct sbx_error **err);
/* 1 and *ENTRY (owned by the reader) for the next entry, 0 at the end of
   the archive, -1 on error (AFTER names the previous entry, or NULL).  */
int layer_tar_reader_next (struct layer_tar_reader *r, struct archive_entry **entry,
                           const char *after, struct sbx_error **err);
/* The libarchive handle of the tar format, for archive_read_data_block().  */
struct archive *layer_tar_reader_archive (struct layer_tar_reader *r);
/* Set *ERR from a failed libarchive read of entry PATH (WHAT: the step).  */
int layer_tar_reader_error (struct layer_tar_reader *r, const char *what, const char *path,
                            struct sbx_error **err);
/* Hash the rest of the stream (the padding after the end marker) and give
   the DiffID.  */
int layer_tar_reader_finish (struct layer_tar_reader *r, struct sbx_digest *diff_id,
                             struct sbx_error **err);
void layer_tar_reader_free (struct layer_tar_reader *r);

static inline void
layer_tar_reader_cleanup (struct layer_tar_reader **r)
{
  layer_tar_reader_free (*r);
}
#define cleanup_tar_reader __attribute__ ((cleanup (layer_tar_reader_cleanup)))

/* ---- copy-up.c: hardlinks to files of lower layers ---- */

/* Copy PATH (normalised) from the first of LOWERS that has it into ROOTFD
   at the same path: a regular file (data, mode, mtime, user xattrs and,
   with APPLY_OWNERS, owners) or a symlink.  ENOENT in *ERR when no lower
   layer has it.  */
/* The user.* xattrs of IN (sbx and overlay metadata excepted) onto OUT
   (fds of any kind but O_PATH).  */
int layer_copy_xattrs (int in, int out, struct sbx_error **err);

int layer_copy_up (int rootfd, const int *lowers, size_t n_lowers, const char *path,
                   bool apply_owners, struct sbx_error **err);

/* ---- gzip-write.c: a gzip stream compressed on every CPU ---- */

struct layer_gz;

/* A gzip writer to FD (deflate level 1, no name, mtime 0): the same input
   gives the same bytes whatever the number of threads.  */
struct layer_gz *layer_gz_new (int fd, struct sbx_error **err);
int layer_gz_write (struct layer_gz *g, const void *buf, size_t len, struct sbx_error **err);
/* Write what is left and the gzip trailer.  */
int layer_gz_finish (struct layer_gz *g, struct sbx_error **err);
/* Stop the threads and free G (after finish, or instead of it on failure:
   the stream is then incomplete); NULL is a no-op.  */
void layer_gz_free (struct layer_gz *g);

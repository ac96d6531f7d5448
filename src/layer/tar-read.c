/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading a layer's tar stream in one pass while hashing the uncompressed
   bytes (the DiffID).  libarchive does not expose the output of its
   decompression filters to the format reader's caller, so the work is split
   over two handles:

     fd ──▶ RAW: filters gzip/zstd/none, format "raw" ──▶ pipe_read() ──▶ TAR: format tar
                                                         └─ sha256 ─┘

   pipe_read() hands TAR every block RAW decompresses, exactly once, and
   hashes it on the way; after TAR has seen the end-of-archive marker,
   layer_tar_reader_finish() drains and hashes what is left (the padding to
   the record size), so the digest covers the whole uncompressed stream.
   Only built-in decoders are enabled: no external program ever runs on a
   layer.  */
#define SBX_LOG_MODULE "layer"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>

#include "layer/internal.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Read size for an uncompressed layer.  */
#define RAW_BLOCK_SIZE (1024 * 1024)

struct layer_tar_reader
{
  struct archive *raw;
  struct archive *tar;
  struct sbx_sha256 *hash;
  char *raw_error; /* RAW's error, kept when it made TAR fail */
  int raw_errno;
  bool raw_eof;
};

static int
archive_code (struct archive *a)
{
  int code = archive_errno (a);

  return code > 0 ? code : EIO;
}

static la_ssize_t
pipe_read (struct archive *tar, void *data, const void **buf)
{
  struct layer_tar_reader *r = data;

  while (! r->raw_eof)
    {
      size_t size = 0;
      la_int64_t offset;
      int ret = archive_read_data_block (r->raw, buf, &size, &offset);

      if (ret == ARCHIVE_EOF)
        break;
      if (ret < ARCHIVE_WARN)
        {
          const char *msg = archive_error_string (r->raw);

          free (r->raw_error);
          r->raw_error = xstrdup (msg ? msg : "read error");
          r->raw_errno = archive_code (r->raw);
          archive_set_error (tar, r->raw_errno, "%s", r->raw_error);
          return ARCHIVE_FATAL;
        }
      if (size == 0)
        continue;
      sbx_sha256_update (r->hash, *buf, size);
      return (la_ssize_t) size;
    }
  r->raw_eof = true;
  return 0;
}

/* Enable one decompression filter if libarchive has it built in (VERSION
   is NULL otherwise): its fallback would run an external program on the
   layer.  */
static int
enable_filter (struct archive *a, int (*enable) (struct archive *), const char *version,
               const char *name, struct sbx_error **err)
{
  if (version == NULL)
    {
      sbx_debug ("libarchive has no built-in %s decoder: %s layers are refused", name, name);
      return 0;
    }
  if (enable (a) != ARCHIVE_OK)
    return sbx_err (err, archive_code (a), "enable %s decoding: %s", name,
                    archive_error_string (a));
  return 0;
}

static int
open_raw (struct layer_tar_reader *r, int fd, struct sbx_error **err)
{
  struct archive_entry *entry = NULL;
  int ret;

  r->raw = archive_read_new ();
  if (r->raw == NULL)
    xoom ();
  if (enable_filter (r->raw, archive_read_support_filter_gzip, archive_zlib_version (), "gzip", err)
          < 0
      || enable_filter (r->raw, archive_read_support_filter_zstd, archive_libzstd_version (),
                        "zstd", err)
             < 0)
    return -1;
  /* "empty" takes a stream with no data, "raw" any other.  */
  if (archive_read_support_format_raw (r->raw) != ARCHIVE_OK
      || archive_read_support_format_empty (r->raw) != ARCHIVE_OK)
    return sbx_err (err, archive_code (r->raw), "libarchive: %s", archive_error_string (r->raw));
  if (archive_read_open_fd (r->raw, fd, RAW_BLOCK_SIZE) != ARCHIVE_OK)
    return sbx_err (err, archive_code (r->raw), "open layer stream: %s",
                    archive_error_string (r->raw));
  ret = archive_read_next_header (r->raw, &entry);
  if (ret == ARCHIVE_EOF || archive_format (r->raw) == ARCHIVE_FORMAT_EMPTY)
    return sbx_err (err, EINVAL, "layer stream is empty");
  if (ret < ARCHIVE_WARN)
    return sbx_err (err, archive_code (r->raw), "read layer stream: %s",
                    archive_error_string (r->raw));
  return 0;
}

int
layer_tar_reader_open (int fd, struct layer_tar_reader **out, struct sbx_error **err)
{
  struct layer_tar_reader *r = xzalloc (sizeof *r);
  cleanup_tar_reader struct layer_tar_reader *guard = r;

  r->hash = sbx_sha256_new ();
  if (open_raw (r, fd, err) < 0)
    return -1;
  r->tar = archive_read_new ();
  if (r->tar == NULL)
    xoom ();
  if (archive_read_support_format_tar (r->tar) != ARCHIVE_OK)
    return sbx_err (err, archive_code (r->tar), "libarchive: %s", archive_error_string (r->tar));
  if (archive_read_open (r->tar, r, NULL, pipe_read, NULL) != ARCHIVE_OK)
    return layer_tar_reader_error (r, "read tar stream", NULL, err);
  *out = steal_ptr (&guard);
  return 0;
}

struct archive *
layer_tar_reader_archive (struct layer_tar_reader *r)
{
  return r->tar;
}

int
layer_tar_reader_error (struct layer_tar_reader *r, const char *what, const char *path,
                        struct sbx_error **err)
{
  const char *msg = r->raw_error ? r->raw_error : archive_error_string (r->tar);
  int code = r->raw_error ? r->raw_errno : archive_code (r->tar);

  if (msg == NULL)
    msg = "unknown error";
  if (path)
    return sbx_err (err, code, "%s `%s`: %s", what, path, msg);
  return sbx_err (err, code, "%s: %s", what, msg);
}

int
layer_tar_reader_next (struct layer_tar_reader *r, struct archive_entry **entry, const char *after,
                       struct sbx_error **err)
{
  int ret = archive_read_next_header (r->tar, entry);

  if (ret == ARCHIVE_EOF)
    return 0;
  if (ret == ARCHIVE_OK)
    return 1;
  if (ret == ARCHIVE_WARN)
    {
      const char *name = archive_entry_pathname (*entry);
      const char *msg = archive_error_string (r->tar);

      sbx_debug ("tar entry `%s`: %s", name ? name : "", msg ? msg : "warning");
      return 1;
    }
  if (after)
    return layer_tar_reader_error (r, "read tar header after entry", after, err);
  return layer_tar_reader_error (r, "read first tar header", NULL, err);
}

int
layer_tar_reader_finish (struct layer_tar_reader *r, struct sbx_digest *diff_id,
                         struct sbx_error **err)
{
  while (! r->raw_eof)
    {
      const void *buf;

      if (pipe_read (r->tar, r, &buf) < 0)
        return sbx_err (err, r->raw_errno, "read layer stream after the tar end: %s", r->raw_error);
    }
  sbx_sha256_final (r->hash, diff_id);
  sbx_sha256_free (r->hash);
  r->hash = NULL;
  return 0;
}

void
layer_tar_reader_free (struct layer_tar_reader *r)
{
  if (r == NULL)
    return;
  if (r->tar)
    archive_read_free (r->tar);
  if (r->raw)
    archive_read_free (r->raw);
  sbx_sha256_free (r->hash);
  free (r->raw_error);
  free (r);
}

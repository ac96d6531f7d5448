/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/xalloc.h"

bool
sbx_store_has_blob (struct sbx_store *s, const struct sbx_digest *d)
{
  return sbx_store_blob_size (s, d) >= 0;
}

int64_t
sbx_store_blob_size (struct sbx_store *s, const struct sbx_digest *d)
{
  struct stat st;

  if (! sbx_digest_is_set (d) || fstatat (s->blobsfd, d->hex, &st, AT_SYMLINK_NOFOLLOW) < 0
      || ! S_ISREG (st.st_mode))
    return -1;
  return st.st_size;
}

int
sbx_store_open_blob (struct sbx_store *s, const struct sbx_digest *d, struct sbx_error **err)
{
  int fd = openat (s->blobsfd, d->hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    return sbx_err_errno (err, "open blob sha256:%.12s", d->hex);
  return fd;
}

char *
sbx_store_read_blob (struct sbx_store *s, const struct sbx_digest *d, size_t max, size_t *len,
                     struct sbx_error **err)
{
  cleanup_close int fd = sbx_store_open_blob (s, d, err);
  char *r;

  if (fd < 0)
    return NULL;
  r = sbx_fs_read_fd (fd, max, len, err);
  if (r == NULL)
    sbx_err_prefix (err, "read blob sha256:%.12s", d->hex);
  return r;
}

struct sbx_blob_writer
{
  struct sbx_store *store;
  char *tmpname;
  int fd;
  uint64_t size;
  struct sbx_sha256 *hash;
  bool done;
};

int
sbx_blob_writer_new (struct sbx_store *s, struct sbx_blob_writer **out, struct sbx_error **err)
{
  struct sbx_blob_writer *w = xzalloc (sizeof *w);

  w->store = s;
  w->tmpname = store_tmp_name ("blob");
  w->fd = openat (s->tmpfd, w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd < 0)
    {
      sbx_err_errno (err, "create `tmp/%s`", w->tmpname);
      free (w->tmpname);
      free (w);
      return -1;
    }
  w->hash = sbx_sha256_new ();
  *out = w;
  return 0;
}

int
sbx_blob_writer_write (struct sbx_blob_writer *w, const void *data, size_t len,
                       struct sbx_error **err)
{
  if (sbx_write_all (w->fd, data, len, err) < 0)
    return sbx_err_prefix (err, "write `tmp/%s`", w->tmpname);
  sbx_sha256_update (w->hash, data, len);
  w->size += len;
  return 0;
}

uint64_t
sbx_blob_writer_size (const struct sbx_blob_writer *w)
{
  return w->size;
}

/* Drop the data of a blob that failed verification (image.h: "a mismatch
   ... removes the data"), not only when the writer is freed.  */
static void
discard (struct sbx_blob_writer *w)
{
  (void) unlinkat (w->store->tmpfd, w->tmpname, 0);
  w->done = true;
}

int
sbx_blob_writer_commit (struct sbx_blob_writer *w, const struct sbx_digest *expected,
                        int64_t expected_size, struct sbx_digest *actual, struct sbx_error **err)
{
  struct sbx_digest got;

  sbx_sha256_final (w->hash, &got);
  sbx_sha256_free (steal_ptr (&w->hash));
  if (actual)
    *actual = got;
  if (expected_size >= 0 && (uint64_t) expected_size != w->size)
    {
      discard (w);
      return sbx_err (err, EBADMSG, "blob sha256:%.12s: size %ju does not match the expected %jd",
                      expected ? expected->hex : got.hex, (uintmax_t) w->size,
                      (intmax_t) expected_size);
    }
  if (expected && ! sbx_digest_equal (expected, &got))
    {
      discard (w);
      return sbx_err (err, EBADMSG,
                      "blob sha256:%.12s does not match its digest (got sha256:%.12s)",
                      expected->hex, got.hex);
    }
  /* Durable before it becomes visible: a crash never publishes a torn blob.  */
  if (fsync (w->fd) < 0)
    return sbx_err_errno (err, "fsync `tmp/%s`", w->tmpname);
  if (renameat2 (w->store->tmpfd, w->tmpname, w->store->blobsfd, got.hex, RENAME_NOREPLACE) < 0
      && errno != EEXIST)
    return sbx_err_errno (err, "publish blob sha256:%.12s", got.hex);
  /* EEXIST: the same content is already there; ours is dropped below.  */
  (void) unlinkat (w->store->tmpfd, w->tmpname, 0);
  w->done = true;
  return 0;
}

void
sbx_blob_writer_free (struct sbx_blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    (void) close (w->fd);
  if (! w->done)
    (void) unlinkat (w->store->tmpfd, w->tmpname, 0);
  sbx_sha256_free (w->hash);
  free (w->tmpname);
  free (w);
}

static void
blob_writer_cleanup (struct sbx_blob_writer **w)
{
  sbx_blob_writer_free (*w);
}

int
sbx_store_put_blob (struct sbx_store *s, const void *data, size_t len, struct sbx_digest *out,
                    struct sbx_error **err)
{
  __attribute__ ((cleanup (blob_writer_cleanup))) struct sbx_blob_writer *w = NULL;

  if (sbx_blob_writer_new (s, &w, err) < 0 || sbx_blob_writer_write (w, data, len, err) < 0)
    return -1;
  return sbx_blob_writer_commit (w, NULL, -1, out, err);
}

int
sbx_store_put_blob_fd (struct sbx_store *s, int fd, const struct sbx_digest *expected,
                       int64_t expected_size, struct sbx_digest *out, struct sbx_error **err)
{
  __attribute__ ((cleanup (blob_writer_cleanup))) struct sbx_blob_writer *w = NULL;
  cleanup_free char *buf = xmalloc (1 << 20);

  if (sbx_blob_writer_new (s, &w, err) < 0)
    return -1;
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 20);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "read");
      if (n == 0)
        break;
      if (sbx_blob_writer_write (w, buf, (size_t) n, err) < 0)
        return -1;
    }
  return sbx_blob_writer_commit (w, expected, expected_size, out, err);
}

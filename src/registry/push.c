/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sbx_registry_push: every blob the registry lacks (HEAD), then the
   manifest by tag.  Small blobs go up in one PUT after POST; large ones in
   PATCH chunks with Content-Range, closed by an empty PUT ?digest=.  The
   registry's Docker-Content-Digest is checked after every upload.  Upload
   steps are not idempotent, so a transient failure restarts the whole blob
   (a new upload session), not the one request.  */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SBX_LOG_MODULE "registry"
#include "image/image.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MONOLITHIC_MAX (8u << 20) /* smaller blobs: one PUT */
#define CHUNK_SIZE (16u << 20)
#define BLOB_ATTEMPTS 3

struct push
{
  struct sbx_registry *r;
  struct sbx_store *s;
  const struct sbx_reference *dest;
  struct reg_session sess;
  struct reg_progress *progress;
  char *name;
};

static void
push_release (struct push *ps)
{
  reg_session_close (&ps->sess);
  reg_progress_free (ps->progress);
  free (ps->name);
}

/* An upload Location: absolute, or a path on the registry.  */
static char *
resolve_location (const struct push *ps, const char *loc, struct sbx_error **err)
{
  if (loc == NULL || *loc == '\0')
    {
      (void) sbx_err (err, EPROTO, "%s sent no upload location", ps->sess.domain);
      return NULL;
    }
  if (strncasecmp (loc, "https://", 8) == 0 || strncasecmp (loc, "http://", 7) == 0)
    return xstrdup (loc);
  if (loc[0] == '/')
    return xasprintf ("%s%s", ps->sess.base, loc);
  (void) sbx_err (err, EPROTO, "%s sent an unusable upload location", ps->sess.domain);
  return NULL;
}

static int
blob_exists (struct push *ps, const struct sbx_descriptor *desc, bool *exists,
             struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  char d[SBX_DIGEST_STR_MAX];
  cleanup_free char *suffix = xasprintf ("blobs/%s", sbx_digest_format (&desc->digest, d));
  cleanup_free char *url = reg_session_url (&ps->sess, suffix);
  cleanup_free char *what = NULL;

  c.req.method = "HEAD";
  c.req.url = url;
  if (reg_session_call (&ps->sess, &c, err) < 0)
    return -1;
  *exists = c.resp.status == 200;
  if (c.resp.status == 200 || c.resp.status == 404)
    return 0;
  what = xasprintf ("check blob %s", d);
  return reg_status_error (&ps->sess, &c.resp, what, err);
}

static int
start_upload (struct push *ps, char **location, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *url = reg_session_url (&ps->sess, "blobs/uploads/");

  c.req.method = "POST";
  c.req.url = url;
  c.req.no_retry = true;
  c.req.max_body = REG_ERROR_BODY_MAX;
  if (reg_session_call (&ps->sess, &c, err) < 0)
    return -1;
  if (c.resp.status != 202)
    return reg_status_error (&ps->sess, &c.resp, "start upload", err);
  *location = resolve_location (ps, c.resp.location, err);
  return *location ? 0 : -1;
}

/* PATCH LEN bytes of FD at OFF to *LOCATION, which becomes the next one.  */
static int
patch_chunk (struct push *ps, char **location, int fd, uint64_t off, uint64_t len,
             struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *range = xasprintf ("%" PRIu64 "-%" PRIu64, off, off + len - 1);
  cleanup_free char *want = xasprintf ("0-%" PRIu64, off + len - 1);
  const char *range_ack;
  char *next;

  c.req.method = "PATCH";
  c.req.url = *location;
  c.req.content_type = "application/octet-stream";
  c.req.content_range = range;
  c.req.body_fd = fd;
  c.req.body_off = off;
  c.req.body_len = len;
  c.req.no_retry = true;
  c.req.max_body = REG_ERROR_BODY_MAX;
  if (reg_session_call (&ps->sess, &c, err) < 0)
    return -1;
  if (c.resp.status != 202)
    return reg_status_error (&ps->sess, &c.resp, "upload chunk", err);
  range_ack = c.resp.range;
  if (range_ack && strncmp (range_ack, "bytes=", 6) == 0)
    range_ack += 6;
  if (range_ack && strcmp (range_ack, want) != 0)
    return sbx_err (err, EPROTO, "upload chunk: %s acknowledged range `%s`, not `%s`",
                    ps->sess.domain, c.resp.range, want);
  if (c.resp.location)
    {
      next = resolve_location (ps, c.resp.location, err);
      if (next == NULL)
        return -1;
      free (*location);
      *location = next;
    }
  return 0;
}

/* Close the upload at LOCATION with PUT ?digest=, carrying LEN bytes of
   FD from OFF (LEN may be 0), and check what the registry stored.  */
static int
finish_upload (struct push *ps, const char *location, const struct sbx_digest *digest, int fd,
               uint64_t off, uint64_t len, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *url = NULL;
  cleanup_error struct sbx_error *perr = NULL;
  struct sbx_digest got;
  char d[SBX_DIGEST_STR_MAX];

  url = xasprintf ("%s%cdigest=sha256%%3A%s", location, strchr (location, '?') ? '&' : '?',
                   digest->hex);
  c.req.method = "PUT";
  c.req.url = url;
  c.req.content_type = "application/octet-stream";
  c.req.body_fd = fd;
  c.req.body_off = off;
  c.req.body_len = len;
  c.req.no_retry = true;
  c.req.max_body = REG_ERROR_BODY_MAX;
  if (reg_session_call (&ps->sess, &c, err) < 0)
    return -1;
  if (c.resp.status != 201 && c.resp.status != 204)
    return reg_status_error (&ps->sess, &c.resp, "finish upload", err);
  if (c.resp.digest && sbx_digest_parse (c.resp.digest, &got, &perr) == 0
      && ! sbx_digest_equal (&got, digest))
    return sbx_err (err, EBADMSG, "%s stored blob %s as %s", ps->sess.domain,
                    sbx_digest_format (digest, d), c.resp.digest);
  return 0;
}

static int
upload_blob (struct push *ps, const struct sbx_descriptor *desc, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  cleanup_free char *location = NULL;
  uint64_t size, off;

  fd = sbx_store_open_blob (ps->s, &desc->digest, err);
  if (fd < 0)
    return -1;
  if (desc->size < 0 || sbx_store_blob_size (ps->s, &desc->digest) != desc->size)
    return sbx_err (err, EBADMSG, "stored blob %s does not have the size its descriptor says",
                    desc->digest.hex);
  size = (uint64_t) desc->size;
  if (start_upload (ps, &location, err) < 0)
    return -1;
  if (size < MONOLITHIC_MAX)
    return finish_upload (ps, location, &desc->digest, fd, 0, size, err);
  for (off = 0; off < size; off += CHUNK_SIZE)
    {
      uint64_t n = size - off < CHUNK_SIZE ? size - off : CHUNK_SIZE;

      if (patch_chunk (ps, &location, fd, off, n, err) < 0)
        return -1;
    }
  return finish_upload (ps, location, &desc->digest, fd, 0, 0, err);
}

static bool
is_transient (int code)
{
  return code == EIO || code == EAGAIN || code == ECONNREFUSED || code == ETIMEDOUT;
}

static int
push_blob (struct push *ps, const struct sbx_descriptor *desc, bool show, struct sbx_error **err)
{
  size_t line = show ? reg_progress_add (ps->progress, &desc->digest, desc->size) : 0;
  bool exists = false;
  unsigned attempt;

  if (blob_exists (ps, desc, &exists, err) < 0)
    return -1;
  if (exists)
    {
      if (show)
        reg_progress_set (ps->progress, line, REG_PROGRESS_EXISTS);
      return 0;
    }
  for (attempt = 1;; attempt++)
    {
      if (show)
        reg_progress_set (ps->progress, line, REG_PROGRESS_UPLOADING);
      if (upload_blob (ps, desc, err) == 0)
        break;
      if (attempt >= BLOB_ATTEMPTS || ! is_transient (sbx_error_code (*err)))
        return -1;
      sbx_warn ("upload blob %.12s: %s; retrying in %u s", desc->digest.hex, (*err)->msg, attempt);
      sbx_error_clear (err);
      (void) nanosleep (&(struct timespec){ attempt, 0 }, NULL);
    }
  if (show)
    reg_progress_set (ps->progress, line, REG_PROGRESS_DONE);
  return 0;
}

static int
put_manifest (struct push *ps, const struct sbx_manifest *m, const char *json, size_t len,
              const struct sbx_digest *digest, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_error struct sbx_error *perr = NULL;
  char d[SBX_DIGEST_STR_MAX];
  cleanup_free char *suffix = xasprintf (
      "manifests/%s", ps->dest->tag ? ps->dest->tag : sbx_digest_format (&ps->dest->digest, d));
  cleanup_free char *url = reg_session_url (&ps->sess, suffix);
  struct sbx_digest got;

  c.req.method = "PUT";
  c.req.url = url;
  c.req.content_type = m->media_type;
  c.req.body = json;
  c.req.body_len = len;
  c.req.max_body = REG_ERROR_BODY_MAX;
  if (reg_session_call (&ps->sess, &c, err) < 0)
    return -1;
  if (c.resp.status != 201 && c.resp.status != 200)
    return reg_status_error (&ps->sess, &c.resp, "put manifest", err);
  if (c.resp.digest && sbx_digest_parse (c.resp.digest, &got, &perr) == 0
      && ! sbx_digest_equal (&got, digest))
    return sbx_err (err, EBADMSG, "%s stored the manifest as %s, not %s", ps->sess.domain,
                    c.resp.digest, sbx_digest_format (digest, d));
  return 0;
}

static void
manifest_free_ptr (struct sbx_manifest **m)
{
  sbx_manifest_free (*m);
}

static int
push_image (struct push *ps, const struct sbx_digest *manifest, struct sbx_error **err)
{
  __attribute__ ((cleanup (manifest_free_ptr))) struct sbx_manifest *m = NULL;
  cleanup_free char *json = NULL;
  char d[SBX_DIGEST_STR_MAX];
  size_t len, i, k;

  if (ps->dest->tag == NULL && ! sbx_digest_is_set (&ps->dest->digest))
    return sbx_err (err, EINVAL, "the destination has neither a tag nor a digest");
  if (ps->dest->tag == NULL && ! sbx_digest_equal (&ps->dest->digest, manifest))
    return sbx_err (err, EINVAL, "the destination digest is not the image's (%s)",
                    sbx_digest_format (manifest, d));
  json = sbx_store_read_blob (ps->s, manifest, REG_MANIFEST_MAX, &len, err);
  if (json == NULL || sbx_manifest_parse (json, len, NULL, &m, err) < 0)
    return -1;
  if (m->kind != SBX_MANIFEST_IMAGE)
    return sbx_err (err, ENOTSUP, "pushing an image index is not supported");
  if (reg_session_open (ps->r, ps->dest->domain, ps->dest->path, "pull,push", &ps->sess, err) < 0)
    return -1;

  for (i = 0; i < m->n_layers; i++)
    {
      for (k = 0; k < i; k++)
        if (sbx_digest_equal (&m->layers[k].digest, &m->layers[i].digest))
          break;
      if (k == i && push_blob (ps, &m->layers[i], true, err) < 0)
        return -1;
    }
  if (push_blob (ps, &m->config, false, err) < 0)
    return -1;
  if (put_manifest (ps, m, json, len, manifest, err) < 0)
    return -1;
  sbx_info ("pushed `%s`: %s", ps->name, sbx_digest_format (manifest, d));
  return 0;
}

int
sbx_registry_push (struct sbx_registry *r, struct sbx_store *s, const struct sbx_digest *manifest,
                   const struct sbx_reference *dest, struct sbx_error **err)
{
  __attribute__ ((cleanup (push_release))) struct push ps = { .r = r, .s = s, .dest = dest };

  ps.name = sbx_reference_familiar (dest);
  ps.progress = reg_progress_new (r->opts.quiet, r->opts.tty);
  if (push_image (&ps, manifest, err) < 0)
    return sbx_err_prefix (err, "push `%s`", ps.name);
  return 0;
}

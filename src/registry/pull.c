/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sbx_registry_pull: manifest (through an index when there is one), config
   and layers into the store, every byte verified against its digest.

   Concurrent pulls share work through one flock per blob,
   <store>/tmp/blob-<hex>.lock.  A blob whose lock is free is downloaded
   under it; a busy one is deferred.  Once our own downloads are done (and
   their locks released), the deferred locks are taken in digest order,
   blocking, and only what is still missing is fetched.  Phase one never
   blocks and phase two orders its locks, so two pulls cannot deadlock.  */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SBX_LOG_MODULE "registry"
#include "image/image.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define PARALLEL_DOWNLOADS 6
#define NO_LINE SIZE_MAX

struct pull
{
  struct sbx_registry *r;
  struct sbx_store *s;
  const struct sbx_reference *ref;
  struct reg_session sess;
  struct reg_progress *progress;
  char *name; /* the reference as the user knows it, for messages */
};

static void
pull_release (struct pull *p)
{
  reg_session_close (&p->sess);
  reg_progress_free (p->progress);
  free (p->name);
}

static bool
is_schema1 (const char *mt)
{
  return mt
         && (strcmp (mt, SBX_MT_DOCKER_SCHEMA1) == 0
             || strcmp (mt, SBX_MT_DOCKER_SCHEMA1_SIGNED) == 0);
}

/* ---- manifests ---- */

/* Check BODY against EXPECTED (may be NULL) and against the
   Docker-Content-Digest the registry announced; *ACTUAL gets its digest.  */
static int
verify_manifest (struct pull *p, const struct reg_response *resp, const struct sbx_digest *expected,
                 int64_t expected_size, struct sbx_digest *actual, struct sbx_error **err)
{
  char want[SBX_DIGEST_STR_MAX];
  struct sbx_digest announced;
  cleanup_error struct sbx_error *perr = NULL;

  sbx_digest_buf (resp->body.buf, resp->body.len, actual);
  if (expected && ! sbx_digest_equal (expected, actual))
    return sbx_err (err, EBADMSG, "manifest %s from %s does not match its digest",
                    sbx_digest_format (expected, want), p->sess.domain);
  if (expected_size >= 0 && (uint64_t) expected_size != resp->body.len)
    return sbx_err (err, EBADMSG, "manifest %s from %s has %zu bytes, not %" PRId64,
                    sbx_digest_format (actual, want), p->sess.domain, resp->body.len,
                    expected_size);
  if (resp->digest == NULL)
    return 0;
  if (sbx_digest_parse (resp->digest, &announced, &perr) < 0)
    {
      sbx_debug ("ignoring Docker-Content-Digest: %s", perr->msg);
      return 0;
    }
  if (! sbx_digest_equal (&announced, actual))
    return sbx_err (err, EBADMSG, "manifest from %s does not match its digest %s", p->sess.domain,
                    sbx_digest_format (&announced, want));
  return 0;
}

/* GET manifests/WHAT (a tag or a digest), verify it, store it, parse it.  */
static int
get_manifest (struct pull *p, const char *what, const struct sbx_digest *expected,
              int64_t expected_size, struct sbx_manifest **out, struct sbx_digest *digest,
              struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *suffix = xasprintf ("manifests/%s", what);
  cleanup_free char *url = reg_session_url (&p->sess, suffix);
  struct sbx_digest stored;

  c.req.method = "GET";
  c.req.url = url;
  c.req.accept = REG_MANIFEST_ACCEPT;
  c.req.max_body = REG_MANIFEST_MAX;
  if (reg_session_call (&p->sess, &c, err) < 0)
    return sbx_err_prefix (err, "fetch manifest");
  if (c.resp.status == 404)
    return sbx_err (err, ENOENT, "manifest unknown: no image `%s` in the registry", p->name);
  if (c.resp.status != 200)
    return reg_status_error (&p->sess, &c.resp, "fetch manifest", err);
  if (is_schema1 (c.resp.content_type))
    return sbx_err (err, ENOTSUP, "schema 1 manifests are not supported (image too old): `%s`",
                    p->name);
  if (verify_manifest (p, &c.resp, expected, expected_size, digest, err) < 0)
    return -1;
  if (sbx_manifest_parse (c.resp.body.buf, c.resp.body.len, c.resp.content_type, out, err) < 0)
    return sbx_err_prefix (err, "manifest of `%s`", p->name);
  return sbx_store_put_blob (p->s, c.resp.body.buf, c.resp.body.len, &stored, err);
}

/* The digest of the manifest REF names now: its digest when it has one,
   else HEAD by tag (Docker-Content-Digest).  Unset when the registry does
   not say.  */
static int
resolve_digest (struct pull *p, struct sbx_digest *out, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *suffix = NULL;
  cleanup_free char *url = NULL;
  cleanup_error struct sbx_error *perr = NULL;

  memset (out, 0, sizeof *out);
  if (sbx_digest_is_set (&p->ref->digest))
    {
      *out = p->ref->digest;
      return 0;
    }
  suffix = xasprintf ("manifests/%s", p->ref->tag);
  url = reg_session_url (&p->sess, suffix);
  c.req.method = "HEAD";
  c.req.url = url;
  c.req.accept = REG_MANIFEST_ACCEPT;
  if (reg_session_call (&p->sess, &c, err) < 0)
    return sbx_err_prefix (err, "fetch manifest");
  if (c.resp.status == 404)
    return sbx_err (err, ENOENT, "manifest unknown: no image `%s` in the registry", p->name);
  if (c.resp.status == 401 || c.resp.status == 403 || c.resp.status == 429)
    return reg_status_error (&p->sess, &c.resp, "fetch manifest", err);
  if (c.resp.status != 200 || c.resp.digest == NULL)
    {
      sbx_debug ("HEAD manifest: %ld, %s", c.resp.status,
                 c.resp.digest ? "with a digest" : "no digest");
      return 0;
    }
  if (sbx_digest_parse (c.resp.digest, out, &perr) < 0)
    {
      sbx_debug ("ignoring Docker-Content-Digest: %s", perr->msg);
      memset (out, 0, sizeof *out);
    }
  return 0;
}

static const struct sbx_descriptor *
pick_platform (const struct sbx_registry *r, const struct sbx_manifest *idx, struct sbx_error **err)
{
  const char *os, *arch, *variant;

  sbx_platform_host (&os, &arch, &variant);
  if (r->opts.os)
    os = r->opts.os;
  if (r->opts.arch)
    {
      arch = r->opts.arch;
      variant = r->opts.variant;
    }
  return sbx_manifest_pick (idx, os, arch, variant, err);
}

/* Load the stored manifest D; NULL (with a debug line) when absent or bad.  */
static struct sbx_manifest *
load_stored_manifest (struct pull *p, const struct sbx_digest *d)
{
  cleanup_error struct sbx_error *e = NULL;
  cleanup_free char *json = NULL;
  struct sbx_manifest *m = NULL;
  size_t len;

  if (! sbx_store_has_blob (p->s, d))
    return NULL;
  json = sbx_store_read_blob (p->s, d, REG_MANIFEST_MAX, &len, &e);
  if (json == NULL || sbx_manifest_parse (json, len, NULL, &m, &e) < 0)
    {
      sbx_debug ("stored manifest %s: %s", d->hex, e ? e->msg : "unreadable");
      return NULL;
    }
  return m;
}

static void
manifest_free_ptr (struct sbx_manifest **m)
{
  sbx_manifest_free (*m);
}
#define cleanup_manifest __attribute__ ((cleanup (manifest_free_ptr)))

/* Whether TOP (a manifest or an index) and everything it needs for this
   platform are in the store; *IMAGE gets the image manifest's digest.  */
static bool
is_stored_complete (struct pull *p, const struct sbx_digest *top, struct sbx_digest *image)
{
  cleanup_manifest struct sbx_manifest *m = load_stored_manifest (p, top);
  cleanup_manifest struct sbx_manifest *child = NULL;
  cleanup_error struct sbx_error *e = NULL;
  const struct sbx_manifest *img = m;
  size_t i;

  *image = *top;
  if (m && m->kind == SBX_MANIFEST_INDEX)
    {
      const struct sbx_descriptor *d = pick_platform (p->r, m, &e);

      if (d == NULL)
        return false;
      *image = d->digest;
      child = load_stored_manifest (p, &d->digest);
      img = child;
    }
  if (img == NULL || img->kind != SBX_MANIFEST_IMAGE)
    return false;
  if (! sbx_store_has_blob (p->s, &img->config.digest))
    return false;
  for (i = 0; i < img->n_layers; i++)
    if (! sbx_store_has_blob (p->s, &img->layers[i].digest))
      return false;
  return true;
}

/* Only container images: a known config type and layers we can unpack.  */
static int
check_image (struct pull *p, const struct sbx_manifest *m, struct sbx_error **err)
{
  const char *cmt = m->config.media_type;
  size_t i;

  if (cmt && strcmp (cmt, SBX_MT_OCI_CONFIG) != 0 && strcmp (cmt, SBX_MT_DOCKER_CONFIG) != 0)
    return sbx_err (err, ENOTSUP, "`%s` is not a container image (config media type `%s`)", p->name,
                    cmt);
  for (i = 0; i < m->n_layers; i++)
    {
      const char *lmt = m->layers[i].media_type;

      if (lmt && ! sbx_media_type_is_layer (lmt))
        return sbx_err (err, ENOTSUP, "layer %zu of `%s` has unsupported media type `%s`", i + 1,
                        p->name, lmt);
    }
  return 0;
}

/* ---- blobs ---- */

struct blob_job
{
  struct pull *p;
  const struct sbx_descriptor *desc;
  int lockfd;
  struct sbx_blob_writer *w;
  uint64_t received;
  size_t line;
  char *url;
  struct reg_sink sink;
  struct reg_call call;
};

struct jobs
{
  struct blob_job *v;
  size_t n;
};

static void
jobs_release (struct jobs *j)
{
  size_t i;

  for (i = 0; i < j->n; i++)
    {
      sbx_blob_writer_free (j->v[i].w);
      if (j->v[i].lockfd >= 0)
        (void) close (j->v[i].lockfd);
      reg_call_release (&j->v[i].call);
      free (j->v[i].url);
    }
  free (j->v);
}

static int
mismatch (const struct blob_job *j, struct sbx_error **err)
{
  char d[SBX_DIGEST_STR_MAX];

  return sbx_err (err, EBADMSG, "blob %s from %s does not match its digest",
                  sbx_digest_format (&j->desc->digest, d), j->p->sess.domain);
}

static int
job_reset (void *arg, struct sbx_error **err)
{
  struct blob_job *j = arg;

  sbx_blob_writer_free (j->w);
  j->w = NULL;
  j->received = 0;
  if (j->line != NO_LINE)
    reg_progress_set (j->p->progress, j->line, REG_PROGRESS_DOWNLOADING);
  return sbx_blob_writer_new (j->p->s, &j->w, err);
}

static int
job_write (void *arg, const void *data, size_t len, struct sbx_error **err)
{
  struct blob_job *j = arg;

  if (j->desc->size >= 0 && j->received + len > (uint64_t) j->desc->size)
    return mismatch (j, err); /* more bytes than the descriptor says */
  if (sbx_blob_writer_write (j->w, data, len, err) < 0)
    return -1;
  j->received += len;
  if (j->line != NO_LINE)
    reg_progress_bytes (j->p->progress, j->line, j->received);
  return 0;
}

/* Open (creating) the lock file of blob D under the store's tmp/.  */
static int
open_lock (struct pull *p, const struct sbx_digest *d, struct sbx_error **err)
{
  cleanup_free char *name = xasprintf ("tmp/blob-%s.lock", d->hex);
  int fd;

  fd = openat (sbx_store_rootfd (p->s), name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return sbx_err_errno (err, "open lock `%s/%s`", sbx_store_root (p->s), name);
  return fd;
}

static int
lock_blocking (struct blob_job *j, struct sbx_error **err)
{
  int ret;

  do
    ret = flock (j->lockfd, LOCK_EX);
  while (ret < 0 && errno == EINTR);
  if (ret < 0)
    return sbx_err_errno (err, "lock blob %s", j->desc->digest.hex);
  return 0;
}

static void
unlock_job (struct blob_job *j)
{
  if (j->lockfd >= 0)
    (void) close (j->lockfd);
  j->lockfd = -1;
}

static void
mark_exists (struct blob_job *j)
{
  unlock_job (j);
  if (j->line != NO_LINE)
    reg_progress_set (j->p->progress, j->line, REG_PROGRESS_EXISTS);
}

/* Commit a downloaded blob, or say why it could not come.  */
static int
finish_job (struct blob_job *j, struct sbx_error **err)
{
  char d[SBX_DIGEST_STR_MAX];
  cleanup_free char *what = NULL;

  if (j->call.resp.status != 200)
    {
      what = xasprintf ("fetch blob %s", sbx_digest_format (&j->desc->digest, d));
      return reg_status_error (&j->p->sess, &j->call.resp, what, err);
    }
  if (sbx_blob_writer_commit (j->w, &j->desc->digest, j->desc->size, NULL, err) < 0)
    {
      if (sbx_error_code (*err) != EBADMSG)
        return -1;
      sbx_debug ("%s", (*err)->msg);
      sbx_error_clear (err);
      return mismatch (j, err);
    }
  if (j->line != NO_LINE)
    reg_progress_set (j->p->progress, j->line, REG_PROGRESS_DONE);
  return 0;
}

/* Download the M jobs of TODO in parallel and commit them.  */
static int
download (struct pull *p, struct blob_job **todo, size_t m, struct sbx_error **err)
{
  cleanup_free struct reg_call **calls = NULL;
  char d[SBX_DIGEST_STR_MAX];
  size_t i;

  if (m == 0)
    return 0;
  calls = xcalloc (m, sizeof *calls);
  for (i = 0; i < m; i++)
    {
      struct blob_job *j = todo[i];
      cleanup_free char *suffix = xasprintf ("blobs/%s", sbx_digest_format (&j->desc->digest, d));

      j->url = reg_session_url (&p->sess, suffix);
      j->sink = (struct reg_sink){ .reset = job_reset, .write = job_write, .arg = j };
      j->call.req.method = "GET";
      j->call.req.url = j->url;
      j->call.req.follow = true;
      j->call.req.sink = &j->sink;
      calls[i] = &j->call;
    }
  if (reg_session_run (&p->sess, calls, m, PARALLEL_DOWNLOADS, err) < 0)
    return -1;
  for (i = 0; i < m; i++)
    if (finish_job (todo[i], err) < 0)
      return -1;
  return 0;
}

static int
cmp_job_digest (const void *a, const void *b)
{
  const struct blob_job *const *x = a;
  const struct blob_job *const *y = b;

  return strcmp ((*x)->desc->digest.hex, (*y)->desc->digest.hex);
}

static bool
is_duplicate (const struct sbx_descriptor *descs, size_t i)
{
  size_t k;

  for (k = 0; k < i; k++)
    if (sbx_digest_equal (&descs[k].digest, &descs[i].digest))
      return true;
  return false;
}

/* Phase one: sort the missing blobs into READY (locked by us) and
   DEFERRED (locked by another process).  */
static int
claim_blobs (struct pull *p, struct jobs *jobs, struct blob_job **ready, size_t *n_ready,
             struct blob_job **deferred, size_t *n_deferred, struct sbx_error **err)
{
  size_t i;

  for (i = 0; i < jobs->n; i++)
    {
      struct blob_job *j = &jobs->v[i];

      if (j->desc == NULL || sbx_store_has_blob (p->s, &j->desc->digest))
        {
          if (j->desc)
            mark_exists (j);
          continue;
        }
      j->lockfd = open_lock (p, &j->desc->digest, err);
      if (j->lockfd < 0)
        return -1;
      if (flock (j->lockfd, LOCK_EX | LOCK_NB) < 0)
        {
          if (errno != EWOULDBLOCK && errno != EINTR)
            return sbx_err_errno (err, "lock blob %s", j->desc->digest.hex);
          deferred[(*n_deferred)++] = j;
          continue;
        }
      if (sbx_store_has_blob (p->s, &j->desc->digest)) /* finished while we looked */
        mark_exists (j);
      else
        ready[(*n_ready)++] = j;
    }
  return 0;
}

/* Phase two: wait for the blobs other processes were fetching; fetch what
   they left missing.  */
static int
fetch_deferred (struct pull *p, struct blob_job **deferred, size_t n, struct sbx_error **err)
{
  cleanup_free struct blob_job **todo = xcalloc (n ? n : 1, sizeof *todo);
  size_t i, m = 0;

  qsort (deferred, n, sizeof *deferred, cmp_job_digest);
  for (i = 0; i < n; i++)
    if (deferred[i]->line != NO_LINE)
      reg_progress_set (p->progress, deferred[i]->line, REG_PROGRESS_WAITING);
  for (i = 0; i < n; i++)
    {
      if (lock_blocking (deferred[i], err) < 0)
        return -1;
      if (sbx_store_has_blob (p->s, &deferred[i]->desc->digest))
        mark_exists (deferred[i]);
      else
        todo[m++] = deferred[i];
    }
  return download (p, todo, m, err);
}

/* Fetch the N blobs DESCS that the store lacks; SHOW: with progress lines.  */
static int
fetch_blobs (struct pull *p, const struct sbx_descriptor *descs, size_t n, bool show,
             struct sbx_error **err)
{
  __attribute__ ((cleanup (jobs_release))) struct jobs jobs = { NULL, 0 };
  cleanup_free struct blob_job **ready = xcalloc (n ? n : 1, sizeof *ready);
  cleanup_free struct blob_job **deferred = xcalloc (n ? n : 1, sizeof *deferred);
  size_t i, n_ready = 0, n_deferred = 0;

  jobs.v = xcalloc (n ? n : 1, sizeof *jobs.v);
  for (i = 0; i < n; i++, jobs.n++)
    {
      struct blob_job *j = &jobs.v[i];

      j->p = p;
      j->lockfd = -1;
      j->line = NO_LINE;
      reg_call_init (&j->call);
      if (is_duplicate (descs, i))
        continue; /* desc stays NULL: nothing to do */
      j->desc = &descs[i];
      if (show)
        j->line = reg_progress_add (p->progress, &descs[i].digest, descs[i].size);
    }
  if (claim_blobs (p, &jobs, ready, &n_ready, deferred, &n_deferred, err) < 0)
    return -1;
  if (download (p, ready, n_ready, err) < 0)
    return -1;
  for (i = 0; i < n_ready; i++)
    unlock_job (ready[i]);
  return fetch_deferred (p, deferred, n_deferred, err);
}

/* ---- the whole pull ---- */

static int
pull_image (struct pull *p, struct sbx_digest *manifest, bool *up_to_date, struct sbx_error **err)
{
  cleanup_manifest struct sbx_manifest *m = NULL;
  cleanup_manifest struct sbx_manifest *child = NULL;
  const struct sbx_manifest *img;
  struct sbx_digest top, image, child_digest;
  char hex[SBX_DIGEST_STR_MAX];

  if (p->ref->tag == NULL && ! sbx_digest_is_set (&p->ref->digest))
    return sbx_err (err, EINVAL, "the reference has neither a tag nor a digest");
  if (reg_session_open (p->r, p->ref->domain, p->ref->path, "pull", &p->sess, err) < 0)
    return -1;
  if (resolve_digest (p, &top, err) < 0)
    return -1;
  if (sbx_digest_is_set (&top) && is_stored_complete (p, &top, &image))
    {
      *manifest = image;
      if (up_to_date)
        *up_to_date = true;
      return 0;
    }

  if (get_manifest (p, sbx_digest_is_set (&top) ? sbx_digest_format (&top, hex) : p->ref->tag,
                    sbx_digest_is_set (&top) ? &top : NULL, -1, &m, &image, err)
      < 0)
    return -1;
  img = m;
  if (m->kind == SBX_MANIFEST_INDEX)
    {
      const struct sbx_descriptor *d = pick_platform (p->r, m, err);

      if (d == NULL)
        return -1;
      if (get_manifest (p, sbx_digest_format (&d->digest, hex), &d->digest, d->size, &child,
                        &child_digest, err)
          < 0)
        return -1;
      if (child->kind != SBX_MANIFEST_IMAGE)
        return sbx_err (err, ENOTSUP, "index entry %s of `%s` is not an image manifest", hex,
                        p->name);
      img = child;
      image = child_digest;
    }
  if (check_image (p, img, err) < 0)
    return -1;
  if (fetch_blobs (p, &img->config, 1, false, err) < 0)
    return -1;
  if (fetch_blobs (p, img->layers, img->n_layers, true, err) < 0)
    return -1;
  *manifest = image;
  return 0;
}

int
sbx_registry_pull (struct sbx_registry *r, struct sbx_store *s, const struct sbx_reference *ref,
                   struct sbx_digest *manifest, bool *up_to_date, struct sbx_error **err)
{
  __attribute__ ((cleanup (pull_release))) struct pull p = { .r = r, .s = s, .ref = ref };
  struct sbx_digest image;

  if (up_to_date)
    *up_to_date = false;
  p.name = sbx_reference_familiar (ref);
  p.progress = reg_progress_new (r->opts.quiet, r->opts.tty);
  if (pull_image (&p, &image, up_to_date, err) < 0)
    return sbx_err_prefix (err, "pull `%s`", p.name);
  if (manifest)
    *manifest = image;
  return 0;
}

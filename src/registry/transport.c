/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP engine: the only file that calls libcurl (which curl-shim.c
   loads on first use).  One curl multi handle serves every request of a
   registry client, so connections are reused and blob downloads run in
   parallel; all TLS, protocol, redirect, timeout and retry rules live
   here.  */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define SBX_LOG_MODULE "registry"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

#ifndef SBX_VERSION
#  define SBX_VERSION "0.1.0"
#endif

#define USER_AGENT "sbx/" SBX_VERSION
#define CONNECT_TIMEOUT_S 30L
/* A transfer slower than this for that long is stalled: abort and retry.  */
#define STALL_BYTES_PER_S 1024L
#define STALL_TIME_S 120L
#define MAX_REDIRECTS 5L
/* Attempts per request, and the backoff before attempt N+1: 1 s, 2 s, 4 s.  */
#define MAX_ATTEMPTS 4u
#define BACKOFF_BASE_MS 1000
/* A Retry-After longer than this is not waited for: the user is told.  */
#define MAX_RETRY_AFTER_S 60L

/* ---- endpoints ---- */

static bool
is_docker_hub (const char *domain)
{
  return strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0
         || strcmp (domain, "registry-1.docker.io") == 0;
}

/* Length of DOMAIN's host part: "[::1]:5000" → 5, "host:5000" → 4.  */
static size_t
host_len (const char *domain)
{
  const char *end;

  if (domain[0] == '[')
    {
      end = strchr (domain, ']');
      return end ? (size_t) (end - domain) + 1 : strlen (domain);
    }
  end = strchr (domain, ':');
  return end ? (size_t) (end - domain) : strlen (domain);
}

static bool
host_is (const char *domain, const char *host)
{
  size_t n = host_len (domain);

  return strlen (host) == n && strncasecmp (domain, host, n) == 0;
}

bool
reg_domain_is_local (const char *domain)
{
  return host_is (domain, "localhost") || host_is (domain, "127.0.0.1")
         || host_is (domain, "[::1]");
}

static bool
is_insecure (const char *domain, char *const *insecure)
{
  size_t i;

  for (i = 0; insecure && insecure[i]; i++)
    {
      const char *e = insecure[i];

      if (strcasecmp (e, domain) == 0)
        return true;
      /* An entry without a port matches any port.  */
      if (host_len (e) == strlen (e) && host_is (domain, e))
        return true;
    }
  return false;
}

int
reg_endpoint_for (const char *domain, const struct sbx_registry_opts *opts,
                  struct reg_endpoint *out, struct sbx_error **err)
{
  memset (out, 0, sizeof *out);
  if (domain == NULL || *domain == '\0' || strpbrk (domain, "/?#@ \t\r\n") != NULL)
    return sbx_err (err, EINVAL, "invalid registry name `%s`", domain ? domain : "");

  if (is_docker_hub (domain))
    {
      out->host = xstrdup ("registry-1.docker.io");
      out->https = true;
      out->verify = opts->tls_verify;
      out->http_fallback = false; /* Docker Hub always speaks TLS */
      return 0;
    }
  out->host = xstrdup (domain);
  if (reg_domain_is_local (domain) || is_insecure (domain, opts->insecure))
    {
      out->https = false;
      out->verify = false;
      return 0;
    }
  out->https = true;
  out->verify = opts->tls_verify;
  out->http_fallback = ! opts->tls_verify;
  return 0;
}

void
reg_endpoint_release (struct reg_endpoint *e)
{
  free (e->host);
  e->host = NULL;
}

char *
reg_normalize_domain (const char *domain)
{
  const char *p = domain;
  const char *end;
  cleanup_free char *d = NULL;

  if (strncasecmp (p, "https://", 8) == 0)
    p += 8;
  else if (strncasecmp (p, "http://", 7) == 0)
    p += 7;
  end = strchr (p, '/');
  d = end ? xstrndup (p, (size_t) (end - p)) : xstrdup (p);
  if (is_docker_hub (d))
    return xstrdup ("docker.io");
  return steal_ptr (&d);
}

int
reg_parse_retry_after (const char *value, time_t now, long *secs)
{
  const char *p = value;
  size_t n;
  time_t t;

  while (*p == ' ' || *p == '\t')
    p++;
  n = strspn (p, "0123456789");
  if (n > 0 && p[n + strspn (p + n, " \t\r\n")] == '\0')
    {
      unsigned long long v = 0;
      size_t i;

      for (i = 0; i < n; i++)
        {
          v = v * 10 + (unsigned long long) (p[i] - '0');
          if (v > 86400ULL * 365)
            {
              v = 86400ULL * 365; /* absurd, but a wait all the same */
              break;
            }
        }
      *secs = (long) v;
      return 0;
    }
  /* An HTTP-date starts with the day's name.  */
  if (! ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
    return -1;
  t = curl_getdate (p, NULL);
  if (t == (time_t) -1)
    return -1;
  *secs = t > now ? (long) (t - now) : 0;
  return 0;
}

/* ---- calls and responses ---- */

void
reg_call_init (struct reg_call *c)
{
  memset (c, 0, sizeof *c);
  c->req.body_fd = -1;
  sbx_strbuf_init (&c->resp.body);
}

static void
response_reset (struct reg_response *r)
{
  r->status = 0;
  sbx_strbuf_reset (&r->body);
  free (r->content_type);
  free (r->digest);
  free (r->location);
  free (r->www_authenticate);
  free (r->retry_after);
  free (r->range);
  r->content_type = r->digest = r->location = r->www_authenticate = r->retry_after = r->range
      = NULL;
  r->tls_failed = false;
}

void
reg_response_release (struct reg_response *r)
{
  response_reset (r);
  sbx_strbuf_release (&r->body);
}

void
reg_call_release (struct reg_call *c)
{
  reg_response_release (&c->resp);
}

char *
reg_url_for_display (const char *url)
{
  size_t n = strcspn (url, "?#");

  return xstrndup (url, n);
}

void
reg_url_escape (struct sbx_strbuf *sb, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;

      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
          || c == '.' || c == '_' || c == '~')
        sbx_strbuf_addch (sb, (char) c);
      else
        {
          sbx_strbuf_addch (sb, '%');
          sbx_strbuf_addch (sb, hex[c >> 4]);
          sbx_strbuf_addch (sb, hex[c & 15]);
        }
    }
}

/* ---- the engine ---- */

struct reg_http
{
  CURLM *multi;
};

int
reg_http_new (struct reg_http **out, struct sbx_error **err)
{
  struct reg_http *h;
  CURLcode rc;

  if (reg_curl_load (err) < 0)
    return -1;
  /* Reference-counted by libcurl; thread-safe since 7.84.  */
  rc = curl_global_init (CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    return sbx_err (err, EIO, "initialise libcurl: %s", curl_easy_strerror (rc));
  h = xzalloc (sizeof *h);
  h->multi = curl_multi_init ();
  if (h->multi == NULL)
    {
      free (h);
      curl_global_cleanup ();
      return sbx_err (err, ENOMEM, "initialise libcurl: curl_multi_init failed");
    }
  *out = h;
  return 0;
}

void
reg_http_free (struct reg_http *h)
{
  if (h == NULL)
    return;
  (void) curl_multi_cleanup (h->multi);
  free (h);
  curl_global_cleanup ();
}

enum xfer_state
{
  XFER_PENDING,
  XFER_ACTIVE,
  XFER_DONE,
};

/* One call in flight, with its attempt count and the time it may start.  */
struct xfer
{
  struct reg_call *call;
  struct reg_http *h;
  CURL *easy;
  struct curl_slist *headers;
  enum xfer_state state;
  unsigned attempt;
  int64_t not_before_ms;
  uint64_t upload_pos;
  struct sbx_error *cb_err; /* set by a callback that aborted the transfer */
  bool body_overflow;
  char errbuf[CURL_ERROR_SIZE];
};

struct run
{
  struct reg_http *h;
  struct xfer *x;
  size_t n;
};

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
xfer_stop (struct xfer *x)
{
  if (x->easy)
    {
      (void) curl_multi_remove_handle (x->h->multi, x->easy);
      curl_easy_cleanup (x->easy);
      x->easy = NULL;
    }
  curl_slist_free_all (x->headers);
  x->headers = NULL;
}

static void
run_release (struct run *r)
{
  size_t i;

  for (i = 0; r->x && i < r->n; i++)
    {
      xfer_stop (&r->x[i]);
      sbx_error_clear (&r->x[i].cb_err);
    }
  free (r->x);
}

/* Keep header value VALUE (LEN bytes, trimmed) in *SLOT.  */
static void
keep_header (char **slot, const char *value, size_t len)
{
  while (len > 0 && (*value == ' ' || *value == '\t'))
    value++, len--;
  while (len > 0 && strchr (" \t\r\n", value[len - 1]))
    len--;
  free (*slot);
  *slot = xstrndup (value, len);
}

static bool
header_is (const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
  size_t n = strlen (name);

  if (len <= n || line[n] != ':' || strncasecmp (line, name, n) != 0)
    return false;
  *value = line + n + 1;
  *vlen = len - n - 1;
  return true;
}

static size_t
header_cb (char *line, size_t size, size_t nitems, void *arg)
{
  struct xfer *x = arg;
  struct reg_response *r = &x->call->resp;
  size_t len = size * nitems;
  const char *v;
  size_t vlen;

  if (len >= 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      /* A new response (after a redirect or a 100 Continue): forget the
         previous one's headers.  */
      response_reset (r);
      return len;
    }
  if (header_is (line, len, "content-type", &v, &vlen))
    {
      keep_header (&r->content_type, v, vlen);
      r->content_type[strcspn (r->content_type, "; \t")] = '\0';
    }
  else if (header_is (line, len, "docker-content-digest", &v, &vlen))
    keep_header (&r->digest, v, vlen);
  else if (header_is (line, len, "location", &v, &vlen))
    keep_header (&r->location, v, vlen);
  else if (header_is (line, len, "retry-after", &v, &vlen))
    keep_header (&r->retry_after, v, vlen);
  else if (header_is (line, len, "range", &v, &vlen))
    keep_header (&r->range, v, vlen);
  else if (header_is (line, len, "www-authenticate", &v, &vlen))
    {
      /* Prefer a Bearer challenge when several are offered.  */
      if (r->www_authenticate == NULL || strncasecmp (r->www_authenticate, "bearer", 6) != 0)
        keep_header (&r->www_authenticate, v, vlen);
    }
  return len;
}

static size_t
write_cb (char *data, size_t size, size_t nitems, void *arg)
{
  struct xfer *x = arg;
  struct reg_call *c = x->call;
  size_t len = size * nitems;
  size_t max = c->req.max_body ? c->req.max_body : REG_MANIFEST_MAX;
  long status = 0;

  (void) curl_easy_getinfo (x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 300 && status < 400)
    return len; /* a redirect's body */
  if (status >= 200 && status < 300 && c->req.sink)
    {
      if (c->req.sink->write (c->req.sink->arg, data, len, &x->cb_err) < 0)
        return 0; /* CURLE_WRITE_ERROR */
      return len;
    }
  if (status < 200 || status >= 300)
    max = REG_ERROR_BODY_MAX; /* an error document: keep its start */
  if (c->resp.body.len + len > max)
    {
      if (status >= 200 && status < 300)
        {
          x->body_overflow = true;
          return 0;
        }
      len = c->resp.body.len < max ? max - c->resp.body.len : 0;
      sbx_strbuf_add (&c->resp.body, data, len);
      return size * nitems;
    }
  sbx_strbuf_add (&c->resp.body, data, len);
  return len;
}

static size_t
read_cb (char *buf, size_t size, size_t nitems, void *arg)
{
  struct xfer *x = arg;
  const struct reg_request *q = &x->call->req;
  size_t want = size * nitems;
  uint64_t left = q->body_len - x->upload_pos;
  size_t n = left < want ? (size_t) left : want;
  ssize_t got;

  if (n == 0)
    return 0;
  if (q->body != NULL)
    {
      memcpy (buf, (const char *) q->body + x->upload_pos, n);
      x->upload_pos += n;
      return n;
    }
  do
    got = pread (q->body_fd, buf, n, (off_t) (q->body_off + x->upload_pos));
  while (got < 0 && errno == EINTR);
  if (got <= 0)
    {
      if (got == 0)
        errno = EIO; /* the file shrank */
      (void) sbx_err_errno (&x->cb_err, "read upload data");
      return CURL_READFUNC_ABORT;
    }
  x->upload_pos += (uint64_t) got;
  return (size_t) got;
}

static int
seek_cb (void *arg, curl_off_t offset, int origin)
{
  struct xfer *x = arg;

  if (origin != SEEK_SET || offset < 0 || (uint64_t) offset > x->call->req.body_len)
    return CURL_SEEKFUNC_CANTSEEK;
  x->upload_pos = (uint64_t) offset;
  return CURL_SEEKFUNC_OK;
}

static struct curl_slist *
append_line (struct curl_slist *l, const char *line)
{
  struct curl_slist *n = curl_slist_append (l, line);

  if (n == NULL)
    xoom ();
  return n;
}

static struct curl_slist *
add_header (struct curl_slist *l, const char *name, const char *value)
{
  cleanup_free char *line = xasprintf ("%s: %s", name, value);

  l = append_line (l, line);
  explicit_bzero (line, strlen (line)); /* it may hold a credential */
  return l;
}

static struct curl_slist *
build_headers (const struct reg_request *q)
{
  struct curl_slist *l = NULL;

  if (q->accept)
    l = add_header (l, "Accept", q->accept);
  if (q->content_type)
    l = add_header (l, "Content-Type", q->content_type);
  else if (strcmp (q->method, "POST") == 0)
    l = append_line (l, "Content-Type:"); /* not curl's form type */
  if (q->content_range)
    l = add_header (l, "Content-Range", q->content_range);
  if (q->authorization)
    l = add_header (l, "Authorization", q->authorization);
  /* No "Expect: 100-continue" round trip before uploads.  */
  return append_line (l, "Expect:");
}

static void
log_request (const struct xfer *x)
{
  const struct reg_request *q = &x->call->req;
  cleanup_free char *shown = NULL;

  if (! sbx_log_enabled (SBX_LOG_DEBUG))
    return;
  shown = reg_url_for_display (q->url);
  /* The Authorization value is a secret: say only that one is sent.  */
  sbx_debug ("%s %s (attempt %u)%s%s%s", q->method, shown, x->attempt + 1,
             q->authorization ? " Authorization: <redacted>" : "",
             q->content_range ? " Content-Range: " : "", q->content_range ? q->content_range : "");
}

#define SETOPT(e, opt, val) ok &= curl_easy_setopt (e, opt, val) == CURLE_OK

static bool
setup_method (struct xfer *x, CURL *e)
{
  const struct reg_request *q = &x->call->req;
  bool ok = true;
  bool has_body = q->body != NULL || q->body_fd >= 0;

  if (strcmp (q->method, "HEAD") == 0)
    SETOPT (e, CURLOPT_NOBODY, 1L);
  else if (strcmp (q->method, "GET") == 0)
    SETOPT (e, CURLOPT_HTTPGET, 1L);
  else if (strcmp (q->method, "POST") == 0 && ! has_body)
    {
      SETOPT (e, CURLOPT_POST, 1L);
      SETOPT (e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
      SETOPT (e, CURLOPT_POSTFIELDS, "");
    }
  else if (strcmp (q->method, "DELETE") == 0)
    SETOPT (e, CURLOPT_CUSTOMREQUEST, "DELETE");
  else
    {
      /* PUT, PATCH, POST with a body: streamed by read_cb.  */
      SETOPT (e, CURLOPT_UPLOAD, 1L);
      SETOPT (e, CURLOPT_INFILESIZE_LARGE, (curl_off_t) (has_body ? q->body_len : 0));
      SETOPT (e, CURLOPT_READFUNCTION, read_cb);
      SETOPT (e, CURLOPT_READDATA, x);
      SETOPT (e, CURLOPT_SEEKFUNCTION, seek_cb);
      SETOPT (e, CURLOPT_SEEKDATA, x);
      if (strcmp (q->method, "PUT") != 0)
        SETOPT (e, CURLOPT_CUSTOMREQUEST, q->method);
    }
  return ok;
}

static bool
setup_easy (struct xfer *x, CURL *e)
{
  const struct reg_request *q = &x->call->req;
  bool https = strncasecmp (q->url, "https:", 6) == 0;
  bool ok = true;

  SETOPT (e, CURLOPT_URL, q->url);
  SETOPT (e, CURLOPT_PRIVATE, x);
  SETOPT (e, CURLOPT_USERAGENT, USER_AGENT);
  SETOPT (e, CURLOPT_NOSIGNAL, 1L);
  SETOPT (e, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Never downgrade from https on a redirect.  */
  SETOPT (e, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  SETOPT (e, CURLOPT_FOLLOWLOCATION, q->follow ? 1L : 0L);
  SETOPT (e, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
  /* Storage a blob redirects to never sees our Authorization header.  */
  SETOPT (e, CURLOPT_UNRESTRICTED_AUTH, 0L);
  SETOPT (e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  SETOPT (e, CURLOPT_LOW_SPEED_LIMIT, STALL_BYTES_PER_S);
  SETOPT (e, CURLOPT_LOW_SPEED_TIME, STALL_TIME_S);
  SETOPT (e, CURLOPT_SSL_VERIFYPEER, q->verify_tls ? 1L : 0L);
  SETOPT (e, CURLOPT_SSL_VERIFYHOST, q->verify_tls ? 2L : 0L);
  SETOPT (e, CURLOPT_HTTPHEADER, x->headers);
  SETOPT (e, CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT (e, CURLOPT_HEADERDATA, x);
  SETOPT (e, CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT (e, CURLOPT_WRITEDATA, x);
  SETOPT (e, CURLOPT_ERRORBUFFER, x->errbuf);
  return ok && setup_method (x, e);
}

static int
xfer_start (struct xfer *x, struct sbx_error **err)
{
  const struct reg_request *q = &x->call->req;
  CURLMcode mc;

  response_reset (&x->call->resp);
  x->upload_pos = 0;
  x->body_overflow = false;
  x->errbuf[0] = '\0';
  if (q->sink && q->sink->reset && q->sink->reset (q->sink->arg, err) < 0)
    return -1;
  x->headers = build_headers (q);
  x->easy = curl_easy_init ();
  if (x->easy == NULL)
    return sbx_err (err, ENOMEM, "%s: curl_easy_init failed", q->method);
  if (! setup_easy (x, x->easy))
    return sbx_err (err, ENOTSUP, "%s: this libcurl lacks a required option (need >= 7.85)",
                    q->method);
  log_request (x);
  mc = curl_multi_add_handle (x->h->multi, x->easy);
  if (mc != CURLM_OK)
    return sbx_err (err, EIO, "%s: %s", q->method, curl_multi_strerror (mc));
  x->state = XFER_ACTIVE;
  return 0;
}

static bool
is_retryable_status (long status)
{
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static bool
is_retryable_curl (CURLcode rc)
{
  switch (rc)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

static int
errno_for_curl (CURLcode rc)
{
  switch (rc)
    {
    case CURLE_COULDNT_CONNECT:
      return ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
      return ETIMEDOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return EPROTO;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_TOO_MANY_REDIRECTS:
      return EPROTO;
    default:
      return EIO;
    }
}

/* Delay before attempt X->attempt + 1, or -1 not to retry.  */
static int64_t
retry_delay_ms (const struct xfer *x)
{
  const struct reg_response *r = &x->call->resp;
  long secs;

  if (x->call->req.no_retry || x->attempt + 1 >= MAX_ATTEMPTS)
    return -1;
  if (r->retry_after && reg_parse_retry_after (r->retry_after, time (NULL), &secs) == 0)
    return secs > MAX_RETRY_AFTER_S ? -1 : (int64_t) secs * 1000;
  return (int64_t) BACKOFF_BASE_MS << x->attempt;
}

static void
schedule_retry (struct xfer *x, int64_t delay, const char *why)
{
  const struct reg_request *q = &x->call->req;
  cleanup_free char *shown = reg_url_for_display (q->url);

  sbx_warn ("%s %s: %s; retrying in %" PRId64 " s (attempt %u of %u)", q->method, shown, why,
            (delay + 999) / 1000, x->attempt + 2, MAX_ATTEMPTS);
  x->attempt++;
  x->not_before_ms = now_ms () + delay;
  x->state = XFER_PENDING;
}

/* A transfer ended with RC.  0: final, 1: scheduled again, -1: failed.  */
static int
xfer_finish (struct xfer *x, CURLcode rc, struct sbx_error **err)
{
  struct reg_call *c = x->call;
  cleanup_free char *shown = reg_url_for_display (c->req.url);
  int64_t delay;
  char why[64];

  if (rc == CURLE_OK)
    {
      (void) curl_easy_getinfo (x->easy, CURLINFO_RESPONSE_CODE, &c->resp.status);
      sbx_debug ("%s %s: %ld", c->req.method, shown, c->resp.status);
      delay = is_retryable_status (c->resp.status) ? retry_delay_ms (x) : -1;
      if (delay < 0)
        {
          x->state = XFER_DONE;
          return 0;
        }
      snprintf (why, sizeof why, "HTTP %ld", c->resp.status);
      schedule_retry (x, delay, why);
      return 1;
    }
  if (x->cb_err != NULL)
    {
      *err = steal_ptr (&x->cb_err);
      return -1;
    }
  if (x->body_overflow)
    return sbx_err (err, EFBIG, "%s %s: response larger than %zu bytes", c->req.method, shown,
                    c->req.max_body ? c->req.max_body : (size_t) REG_MANIFEST_MAX);
  delay = is_retryable_curl (rc) ? retry_delay_ms (x) : -1;
  if (delay >= 0)
    {
      schedule_retry (x, delay, x->errbuf[0] ? x->errbuf : curl_easy_strerror (rc));
      return 1;
    }
  c->resp.tls_failed = rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
  return sbx_err (err, errno_for_curl (rc), "%s %s: %s", c->req.method, shown,
                  x->errbuf[0] ? x->errbuf : curl_easy_strerror (rc));
}

/* Start what may start now; *WAIT_MS gets the time until the next
   pending transfer may.  */
static int
start_ready (struct run *r, size_t parallel, size_t *active, long *wait_ms, struct sbx_error **err)
{
  int64_t now = now_ms ();
  size_t i;

  *wait_ms = 1000;
  for (i = 0; i < r->n; i++)
    {
      struct xfer *x = &r->x[i];

      if (x->state != XFER_PENDING)
        continue;
      if (x->not_before_ms > now)
        {
          if (x->not_before_ms - now < *wait_ms)
            *wait_ms = (long) (x->not_before_ms - now);
          continue;
        }
      if (*active >= parallel)
        continue;
      if (xfer_start (x, err) < 0)
        return -1;
      (*active)++;
    }
  return 0;
}

static int
collect_done (struct run *r, size_t *active, size_t *done, struct sbx_error **err)
{
  CURLMsg *msg;
  int left;

  while ((msg = curl_multi_info_read (r->h->multi, &left)) != NULL)
    {
      char *priv = NULL;
      struct xfer *x;
      int ret;

      if (msg->msg != CURLMSG_DONE)
        continue;
      (void) curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, &priv);
      x = (struct xfer *) priv;
      ret = xfer_finish (x, msg->data.result, err);
      xfer_stop (x);
      (*active)--;
      if (ret < 0)
        return -1;
      if (ret == 0)
        (*done)++;
    }
  return 0;
}

int
reg_http_run (struct reg_http *h, struct reg_call *const *calls, size_t n, size_t parallel,
              struct sbx_error **err)
{
  __attribute__ ((cleanup (run_release))) struct run r = { .h = h, .n = n };
  size_t active = 0, done = 0, i;

  r.x = xcalloc (n ? n : 1, sizeof *r.x);
  for (i = 0; i < n; i++)
    {
      r.x[i].call = calls[i];
      r.x[i].h = h;
    }
  if (parallel == 0)
    parallel = 1;

  while (done < n)
    {
      long wait_ms;
      int running = 0;
      CURLMcode mc;

      if (start_ready (&r, parallel, &active, &wait_ms, err) < 0)
        return -1;
      if (active == 0)
        {
          /* Everything left waits for a retry.  */
          struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
          (void) nanosleep (&ts, NULL);
          continue;
        }
      mc = curl_multi_perform (h->multi, &running);
      if (mc == CURLM_OK && running > 0)
        mc = curl_multi_poll (h->multi, NULL, 0, (int) wait_ms, NULL);
      if (mc != CURLM_OK)
        return sbx_err (err, EIO, "HTTP transfer: %s", curl_multi_strerror (mc));
      if (collect_done (&r, &active, &done, err) < 0)
        return -1;
    }
  return 0;
}

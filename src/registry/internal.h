/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the registry module's files and their unit tests, nobody else.
   libcurl stays out of this header: only transport.c includes it (and
   curl-shim.c, which loads it on first use).

     transport.c  endpoint rule, the HTTP engine (one curl multi handle:
                  connection reuse, parallel transfers, retries)
     client.c     sbx_registry_new/free, sessions (one repository on one
                  registry: base URL, Authorization), turning HTTP statuses
                  into messages
     call.c       running a session's calls (401 → authenticate → retry)
     auth.c       WWW-Authenticate parsing, tokens, login/logout
     credentials.c base64, credential lookup, the auth file
     progress.c   progress lines on stderr
     pull.c, push.c  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "registry/registry.h"
#include "util/strbuf.h"

struct sbx_error;

#define REG_MANIFEST_MAX (4u << 20) /* the distribution spec's suggested limit */
#define REG_ERROR_BODY_MAX (64u << 10)

/* Accept header for manifests: every manifest and index type we parse.  */
#define REG_MANIFEST_ACCEPT                                                               \
  "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " \
  "application/vnd.docker.distribution.manifest.v2+json, "                                \
  "application/vnd.docker.distribution.manifest.list.v2+json"

/* ---- endpoints (transport.c) ---- */

/* Where and how to reach a registry named DOMAIN (see reg_endpoint_for).  */
struct reg_endpoint
{
  char *host;         /* host[:port] to connect to ("registry-1.docker.io") */
  bool https;         /* scheme to try first */
  bool verify;        /* verify TLS certificates */
  bool http_fallback; /* when the TLS handshake fails, use http instead */
};

/* The endpoint rule:
     docker.io (and index.docker.io)       → https://registry-1.docker.io
     localhost, 127.0.0.1, [::1], any port → http (a local registry; Docker
                                             and Podman treat it as insecure too)
     a domain in opts->insecure            → http
     anything else                         → https, verified unless
                                             opts->tls_verify is false: then
                                             unverified, falling back to http
                                             when the TLS handshake fails.
   An insecure entry without a port matches the host with any port.  */
int reg_endpoint_for (const char *domain, const struct sbx_registry_opts *opts,
                      struct reg_endpoint *out, struct sbx_error **err);
void reg_endpoint_release (struct reg_endpoint *e);
/* localhost, 127.0.0.1 or [::1], with or without a port.  */
bool reg_domain_is_local (const char *domain);
/* "docker.io" for Docker Hub's aliases (index.docker.io,
   registry-1.docker.io, https://index.docker.io/v1/); otherwise DOMAIN
   without a scheme or path (free() it).  Used for credential keys.  */
char *reg_normalize_domain (const char *domain);

/* Parse a Retry-After value: delta-seconds or an HTTP-date (relative to
   NOW).  *SECS gets the wait (0 for a date in the past).  -1 when VALUE is
   neither.  */
int reg_parse_retry_after (const char *value, time_t now, long *secs);

/* ---- the HTTP engine (transport.c) ---- */

/* Where a response body goes when it is not kept in memory.  Only the body
   of a 2xx response is passed on; an error body is kept in resp->body.  */
struct reg_sink
{
  /* Called before every attempt (a retry starts over).  */
  int (*reset) (void *arg, struct sbx_error **err);
  int (*write) (void *arg, const void *data, size_t len, struct sbx_error **err);
  void *arg;
};

struct reg_request
{
  const char *method; /* GET HEAD PUT POST PATCH DELETE */
  const char *url;
  const char *accept;        /* NULL: none */
  const char *content_type;  /* NULL: none */
  const char *content_range; /* NULL: none */
  /* Authorization header value ("Bearer …", "Basic …"): never logged,
     never sent to another host on a redirect.  */
  const char *authorization;
  bool verify_tls;
  bool follow;   /* follow redirects (blob downloads: 307 to storage) */
  bool no_retry; /* not idempotent (upload steps): the caller retries */
  /* Request body (PUT, PATCH, POST): memory, or LEN bytes of FD from OFF.  */
  const void *body;
  int body_fd; /* -1 when BODY or no body */
  uint64_t body_off;
  uint64_t body_len;
  /* NULL: the body is kept in resp.body, up to MAX_BODY bytes (0: the
     manifest limit); more fails the request.  */
  const struct reg_sink *sink;
  size_t max_body;
};

/* What came back.  Headers are those of the last response (after
   redirects).  */
struct reg_response
{
  long status;
  struct sbx_strbuf body;
  char *content_type;     /* without parameters */
  char *digest;           /* Docker-Content-Digest */
  char *location;         /* Location */
  char *www_authenticate; /* the Bearer challenge if there is one, else the first */
  char *retry_after;
  char *range;
  bool tls_failed; /* the TLS handshake or certificate check failed */
};

/* One request and its response.  Initialise with REG_CALL_INIT or
   reg_call_init() (body_fd = -1, an empty body buffer).  */
struct reg_call
{
  struct reg_request req;
  struct reg_response resp;
};
/* clang-format off */
#define REG_CALL_INIT { .req = { .body_fd = -1 }, .resp = { .body = SBX_STRBUF_INIT } }
/* clang-format on */
#define cleanup_call __attribute__ ((cleanup (reg_call_release)))
void reg_call_init (struct reg_call *c);
void reg_response_release (struct reg_response *r);
void reg_call_release (struct reg_call *c);

struct reg_http;
/* Load libcurl (registry/curl-shim.c: it is loaded on first use, not linked),
   so that a missing one is an error here rather than an exit later.  */
int reg_curl_load (struct sbx_error **err);
int reg_http_new (struct reg_http **out, struct sbx_error **err);
void reg_http_free (struct reg_http *h);

/* Run the N CALLS, at most PARALLEL at once, on one connection pool.
   Transient failures (connection errors, 429, 5xx) are retried with
   exponential backoff honoring Retry-After, unless req.no_retry.  Returns 0
   when every call got a final HTTP response, whatever its status; -1 at the
   first that could not (the rest are cancelled), or when a sink failed.  */
int reg_http_run (struct reg_http *h, struct reg_call *const *calls, size_t n, size_t parallel,
                  struct sbx_error **err);
/* URL without its query (for messages: queries may carry signatures).  */
char *reg_url_for_display (const char *url);
/* Append S percent-encoded (RFC 3986 unreserved characters kept).  */
void reg_url_escape (struct sbx_strbuf *sb, const char *s);

/* ---- the client (client.c) ---- */

struct sbx_registry
{
  struct sbx_registry_opts opts; /* strings owned (copied) */
  struct reg_http *http;
};

/* A conversation with one repository of one registry.  */
struct reg_session
{
  struct sbx_registry *r;
  char *domain;        /* as written in the reference ("docker.io") */
  char *repo;          /* "library/busybox"; NULL for login */
  const char *actions; /* token scope actions: "pull" or "pull,push" */
  struct reg_endpoint ep;
  char *base;          /* "https://registry-1.docker.io" */
  char *authorization; /* current Authorization value, or NULL */
};

int reg_session_open (struct sbx_registry *r, const char *domain, const char *repo,
                      const char *actions, struct reg_session *s, struct sbx_error **err);
void reg_session_close (struct reg_session *s);
/* BASE + "/v2/" + REPO + "/" + SUFFIX (free() it).  */
char *reg_session_url (const struct reg_session *s, const char *suffix);
/* Text that came from a server, safe to show: control characters
   replaced, at most 200 bytes (free() it).  */
char *reg_sanitize (const char *s);
/* Set *ERR for an unexpected status: "WHAT: 401 Unauthorized: authentication
   required (hint: sbx login DOMAIN)", "rate limited by DOMAIN (429): retry
   after N s", with the registry's own error message when it sent one.  */
int reg_status_error (const struct reg_session *s, const struct reg_response *resp,
                      const char *what, struct sbx_error **err);

/* ---- running calls (call.c) ---- */

/* Run CALLS (see reg_http_run) with the session's credentials; a 401
   answer makes the session authenticate once from its challenge, then the
   401'd calls run again.  A 401 that remains is left to the caller.  */
int reg_session_run (struct reg_session *s, struct reg_call *const *calls, size_t n,
                     size_t parallel, struct sbx_error **err);
int reg_session_call (struct reg_session *s, struct reg_call *c, struct sbx_error **err);

/* ---- authentication (auth.c) ---- */

/* A parsed WWW-Authenticate challenge (RFC 7235): the first challenge of
   the header.  */
struct reg_challenge
{
  char *scheme; /* "Bearer", "Basic" as sent */
  char *realm;
  char *service;
  char *scope;
  char *error;
};
int reg_challenge_parse (const char *header, struct reg_challenge *out, struct sbx_error **err);
void reg_challenge_release (struct reg_challenge *c);

/* Answer the challenge WWW_AUTHENTICATE for session S: *OUT gets the
   Authorization value to use (a token fetched for
   repository:REPO:ACTIONS, or Basic credentials), or NULL when there are no
   credentials to offer for a Basic challenge.  */
int reg_auth_authorize (struct reg_session *s, const char *www_authenticate, char **out,
                        struct sbx_error **err);

/* ---- credentials (credentials.c) ---- */

/* Standard base64 with padding (free() it).  */
char *reg_base64_encode (const void *data, size_t len);
/* Decode (padding optional); NULL when S is not base64.  The result is
   NUL-terminated for convenience.  */
char *reg_base64_decode (const char *s, size_t *len);

struct reg_credentials
{
  char *user;
  char *password;
};
void reg_credentials_release (struct reg_credentials *c);

/* Credentials for DOMAIN: sbx's auth file first, then Docker's config
   (auths[host].auth).  1 found, 0 none, -1 error (a file that exists but
   cannot be read or parsed).  */
int reg_credentials_lookup (const struct sbx_registry_opts *opts, const char *domain,
                            struct reg_credentials *out, struct sbx_error **err);
/* Look DOMAIN up in one auth.json-style file (missing file: 0).  */
int reg_credentials_from_file (const char *path, const char *domain, struct reg_credentials *out,
                               struct sbx_error **err);
/* Store / forget DOMAIN's credentials in the auth file PATH: rewritten
   atomically (temp + rename), mode 0600, its directory created 0700;
   other entries and keys are kept.  Removing a missing entry fails with
   ENOENT.  */
int reg_auth_file_set (const char *path, const char *domain, const char *user, const char *password,
                       struct sbx_error **err);
int reg_auth_file_remove (const char *path, const char *domain, struct sbx_error **err);

/* ---- progress (progress.c) ---- */

enum reg_progress_state
{
  REG_PROGRESS_QUEUED,  /* the state of a new line */
  REG_PROGRESS_WAITING, /* for another process fetching the same blob */
  REG_PROGRESS_EXISTS,
  REG_PROGRESS_DOWNLOADING,
  REG_PROGRESS_UPLOADING,
  REG_PROGRESS_DONE,
};

/* Progress lines on stderr: on a TTY one line per blob rewritten in place,
   otherwise a plain line when a transfer starts and ends; nothing when
   QUIET.  */
struct reg_progress;
struct reg_progress *reg_progress_new (bool quiet, bool tty);
void reg_progress_free (struct reg_progress *p);
/* Add a line for blob D of TOTAL bytes (-1: unknown); returns its index.  */
size_t reg_progress_add (struct reg_progress *p, const struct sbx_digest *d, int64_t total);
void reg_progress_set (struct reg_progress *p, size_t line, enum reg_progress_state st);
/* DONE bytes transferred so far (redrawn at most a few times a second).  */
void reg_progress_bytes (struct reg_progress *p, size_t line, uint64_t done);
/* "12.3 MB" (decimal units, as Docker prints) into BUF.  */
void reg_format_size (uint64_t n, char *buf, size_t len);

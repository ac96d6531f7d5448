/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry client object, sessions (one repository on one registry),
   and the messages for HTTP statuses.  Running calls in a session is
   call.c's.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define SBX_LOG_MODULE "registry"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

int
sbx_registry_new (const struct sbx_registry_opts *opts, struct sbx_registry **out,
                  struct sbx_error **err)
{
  struct sbx_registry *r;
  struct reg_http *h = NULL;

  if (reg_http_new (&h, err) < 0)
    return -1;
  r = xzalloc (sizeof *r);
  r->http = h;
  r->opts.tls_verify = opts->tls_verify;
  r->opts.insecure = sbx_strv_dup (opts->insecure);
  r->opts.auth_file = dup_or_null (opts->auth_file);
  r->opts.docker_config = dup_or_null (opts->docker_config);
  r->opts.quiet = opts->quiet;
  r->opts.tty = opts->tty;
  r->opts.os = dup_or_null (opts->os);
  r->opts.arch = dup_or_null (opts->arch);
  r->opts.variant = dup_or_null (opts->variant);
  *out = r;
  return 0;
}

void
sbx_registry_free (struct sbx_registry *r)
{
  if (r == NULL)
    return;
  reg_http_free (r->http);
  sbx_strv_free ((char **) r->opts.insecure);
  free ((char *) r->opts.auth_file);
  free ((char *) r->opts.docker_config);
  free ((char *) r->opts.os);
  free ((char *) r->opts.arch);
  free ((char *) r->opts.variant);
  free (r);
}

/* --tls-verify=false on a registry that may not speak TLS at all: ask
   /v2/ over https, and use http when the TLS handshake fails.  */
static int
probe_scheme (struct reg_session *s, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *url = xasprintf ("%s/v2/", s->base);

  c.req.method = "GET";
  c.req.url = url;
  c.req.verify_tls = false;
  c.req.max_body = REG_ERROR_BODY_MAX;
  if (reg_http_run (s->r->http, (struct reg_call *[]){ &c }, 1, 1, err) == 0)
    return 0;
  if (! c.resp.tls_failed)
    return -1;
  sbx_debug ("%s: TLS handshake failed (%s); using http", s->domain, (*err)->msg);
  sbx_error_clear (err);
  free (s->base);
  s->base = xasprintf ("http://%s", s->ep.host);
  return 0;
}

int
reg_session_open (struct sbx_registry *r, const char *domain, const char *repo, const char *actions,
                  struct reg_session *s, struct sbx_error **err)
{
  memset (s, 0, sizeof *s);
  s->r = r;
  s->domain = xstrdup (domain);
  s->repo = dup_or_null (repo);
  s->actions = actions;
  if (reg_endpoint_for (domain, &r->opts, &s->ep, err) < 0)
    return -1;
  s->base = xasprintf ("%s://%s", s->ep.https ? "https" : "http", s->ep.host);
  if (s->ep.http_fallback)
    return probe_scheme (s, err);
  return 0;
}

void
reg_session_close (struct reg_session *s)
{
  free (s->domain);
  free (s->repo);
  free (s->base);
  free (s->authorization);
  reg_endpoint_release (&s->ep);
  memset (s, 0, sizeof *s);
}

char *
reg_session_url (const struct reg_session *s, const char *suffix)
{
  return xasprintf ("%s/v2/%s%s%s", s->base, s->repo ? s->repo : "", s->repo ? "/" : "", suffix);
}

/* ---- status messages ---- */

static const char *
reason_phrase (long status)
{
  switch (status)
    {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "unexpected status";
    }
}

/* Text from a server, made safe for a terminal: control characters
   replaced, at most 200 bytes.  */
char *
reg_sanitize (const char *s)
{
  size_t n = strnlen (s, 200), i;
  char *out = xstrndup (s, n);

  for (i = 0; i < n; i++)
    if ((unsigned char) out[i] < 0x20 || out[i] == 0x7f)
      out[i] = ' ';
  return out;
}

/* The first message of an OCI error document {"errors":[{"code","message"}]}.  */
static char *
registry_message (const struct reg_response *resp)
{
  json_auto_t *doc = NULL;
  json_t *first;
  const char *msg, *code;

  if (resp->body.len == 0)
    return NULL;
  doc = json_loadb (resp->body.buf, resp->body.len, 0, NULL);
  first = json_array_get (json_object_get (doc, "errors"), 0);
  msg = json_string_value (json_object_get (first, "message"));
  code = json_string_value (json_object_get (first, "code"));
  if (msg && *msg)
    return reg_sanitize (msg);
  if (code && *code)
    return reg_sanitize (code);
  return NULL;
}

static int
errno_for_status (long status)
{
  if (status == 401 || status == 403)
    return EACCES;
  if (status == 404)
    return ENOENT;
  if (status == 429)
    return EAGAIN;
  if (status >= 500)
    return EIO;
  return EPROTO;
}

int
reg_status_error (const struct reg_session *s, const struct reg_response *resp, const char *what,
                  struct sbx_error **err)
{
  cleanup_free char *msg = registry_message (resp);
  long status = resp->status;
  int code = errno_for_status (status);
  long secs;

  if (status == 429)
    {
      if (resp->retry_after && reg_parse_retry_after (resp->retry_after, time (NULL), &secs) == 0)
        return sbx_err (err, code, "%s: rate limited by %s (429): retry after %ld s", what,
                        s->domain, secs);
      return sbx_err (err, code, "%s: rate limited by %s (429): retry later", what, s->domain);
    }
  if (status == 401 || status == 403)
    return sbx_err (
        err, code, "%s: %ld %s: %s (hint: sbx login %s)", what, status, reason_phrase (status),
        msg ? msg : (status == 401 ? "authentication required" : "access denied"), s->domain);
  return sbx_err (err, code, "%s: %ld %s%s%s", what, status, reason_phrase (status),
                  msg ? ": " : "", msg ? msg : "");
}

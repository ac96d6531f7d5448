/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Authentication: WWW-Authenticate challenges (RFC 7235), Bearer tokens
   (the distribution token protocol) and Basic credentials; sbx login and
   logout.  Tokens and passwords are never logged.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#define SBX_LOG_MODULE "registry"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* ---- challenges ---- */

void
reg_challenge_release (struct reg_challenge *c)
{
  free (c->scheme);
  free (c->realm);
  free (c->service);
  free (c->scope);
  free (c->error);
  memset (c, 0, sizeof *c);
}

static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* RFC 7230 tchar.  */
static bool
is_tchar (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static char *
parse_token (const char **pp)
{
  const char *p = *pp;
  size_t n = 0;

  while (is_tchar (p[n]))
    n++;
  if (n == 0)
    return NULL;
  *pp = p + n;
  return xstrndup (p, n);
}

/* A quoted-string starting at **PP (the opening quote), with \-escapes.  */
static char *
parse_quoted (const char **pp)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;
  const char *p = *pp + 1;

  for (; *p && *p != '"'; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        p++;
      sbx_strbuf_addch (&sb, *p);
    }
  if (*p != '"')
    {
      sbx_strbuf_release (&sb);
      return NULL;
    }
  *pp = p + 1;
  return sbx_strbuf_detach (&sb);
}

static void
keep_param (struct reg_challenge *c, const char *name, char *value)
{
  char **slot = NULL;

  if (strcasecmp (name, "realm") == 0)
    slot = &c->realm;
  else if (strcasecmp (name, "service") == 0)
    slot = &c->service;
  else if (strcasecmp (name, "scope") == 0)
    slot = &c->scope;
  else if (strcasecmp (name, "error") == 0)
    slot = &c->error;
  if (slot == NULL)
    {
      free (value);
      return;
    }
  free (*slot);
  *slot = value;
}

static int
malformed (const char *header, const char *why, struct sbx_error **err)
{
  cleanup_free char *shown = reg_sanitize (header);

  return sbx_err (err, EPROTO, "malformed WWW-Authenticate header `%s`: %s", shown, why);
}

/* The auth-params after the scheme, up to the end or the next challenge.  */
static int
parse_params (const char *header, const char *p, struct reg_challenge *out, struct sbx_error **err)
{
  for (;;)
    {
      cleanup_free char *name = NULL;
      const char *after_name;
      char *value;

      while (*p == ',' || *p == ' ' || *p == '\t')
        p++;
      if (*p == '\0')
        return 0;
      name = parse_token (&p);
      if (name == NULL)
        return malformed (header, "expected a parameter name", err);
      after_name = skip_ws (p);
      if (*after_name != '=')
        return 0; /* the scheme of a second challenge: only the first is used */
      p = skip_ws (after_name + 1);
      value = *p == '"' ? parse_quoted (&p) : parse_token (&p);
      if (value == NULL)
        return malformed (header, *p == '"' ? "unterminated quoted string" : "expected a value",
                          err);
      keep_param (out, name, value);
      p = skip_ws (p);
      if (*p != '\0' && *p != ',')
        return malformed (header, "expected `,` between parameters", err);
    }
}

int
reg_challenge_parse (const char *header, struct reg_challenge *out, struct sbx_error **err)
{
  const char *p = skip_ws (header);

  memset (out, 0, sizeof *out);
  out->scheme = parse_token (&p);
  if (out->scheme == NULL)
    return malformed (header, "no authentication scheme", err);
  if (*p != '\0' && *p != ' ' && *p != '\t')
    {
      reg_challenge_release (out);
      return malformed (header, "no authentication scheme", err);
    }
  if (parse_params (header, p, out, err) < 0)
    {
      reg_challenge_release (out);
      return -1;
    }
  if (strcasecmp (out->scheme, "bearer") == 0 && (out->realm == NULL || *out->realm == '\0'))
    {
      reg_challenge_release (out);
      return malformed (header, "a Bearer challenge without a realm", err);
    }
  return 0;
}

/* ---- answering a challenge ---- */

static char *
basic_value (const char *user, const char *password)
{
  cleanup_free char *plain = xasprintf ("%s:%s", user, password);
  char *b64 = reg_base64_encode (plain, strlen (plain));
  char *v = xasprintf ("Basic %s", b64);

  explicit_bzero (plain, strlen (plain));
  explicit_bzero (b64, strlen (b64));
  free (b64);
  return v;
}

static bool
is_http_url (const char *u)
{
  return strncasecmp (u, "https://", 8) == 0 || strncasecmp (u, "http://", 7) == 0;
}

/* The token endpoint's URL for challenge CH: realm?service=…&scope=….  */
static char *
token_url (const struct reg_session *s, const struct reg_challenge *ch,
           const struct reg_credentials *creds)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;
  char sep = strchr (ch->realm, '?') ? '&' : '?';

  sbx_strbuf_addstr (&sb, ch->realm);
  if (ch->service)
    {
      sbx_strbuf_addf (&sb, "%cservice=", sep);
      reg_url_escape (&sb, ch->service);
      sep = '&';
    }
  if (s->repo && s->actions)
    {
      cleanup_free char *scope = xasprintf ("repository:%s:%s", s->repo, s->actions);

      sbx_strbuf_addf (&sb, "%cscope=", sep);
      reg_url_escape (&sb, scope);
      sep = '&';
    }
  if (creds)
    {
      sbx_strbuf_addf (&sb, "%caccount=", sep);
      reg_url_escape (&sb, creds->user);
    }
  return sbx_strbuf_detach (&sb);
}

static int
parse_token_response (const struct reg_call *c, const char *realm, char **out,
                      struct sbx_error **err)
{
  json_auto_t *doc = json_loadb (c->resp.body.buf, c->resp.body.len, 0, NULL);
  const char *tok = json_string_value (json_object_get (doc, "token"));

  if (tok == NULL || *tok == '\0')
    tok = json_string_value (json_object_get (doc, "access_token"));
  if (tok == NULL || *tok == '\0')
    return sbx_err (err, EPROTO, "token server `%s` sent no token", realm);
  if (strpbrk (tok, "\r\n") != NULL)
    return sbx_err (err, EPROTO, "token server `%s` sent a malformed token", realm);
  *out = xasprintf ("Bearer %s", tok);
  return 0;
}

/* Get a Bearer token for S from the realm of CH, with CREDS (may be NULL:
   anonymous).  */
static int
fetch_token (struct reg_session *s, const struct reg_challenge *ch,
             const struct reg_credentials *creds, char **out, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_free char *url = NULL;
  cleanup_free char *shown = reg_sanitize (ch->realm);
  cleanup_free char *basic = NULL;

  if (! is_http_url (ch->realm))
    return sbx_err (err, EPROTO, "token realm `%s` of %s is not an http(s) URL", shown, s->domain);
  /* A password crosses the network in clear only to a registry that is
     itself spoken to in clear.  */
  if (creds && strncasecmp (ch->realm, "http://", 7) == 0 && s->ep.https)
    return sbx_err (err, EPERM, "refusing to send the credentials for %s to `%s` over plain http",
                    s->domain, shown);
  url = token_url (s, ch, creds);
  if (creds)
    basic = basic_value (creds->user, creds->password);
  c.req.method = "GET";
  c.req.url = url;
  c.req.authorization = basic;
  c.req.verify_tls = s->ep.verify;
  if (reg_http_run (s->r->http, (struct reg_call *[]){ &c }, 1, 1, err) < 0)
    return -1;
  if (basic)
    explicit_bzero (basic, strlen (basic));
  if (c.resp.status == 200)
    return parse_token_response (&c, shown, out, err);
  if (creds && (c.resp.status == 401 || c.resp.status == 403))
    return sbx_err (err, EACCES,
                    "authenticate to %s as `%s`: invalid username or password (hint: sbx login %s)",
                    s->domain, creds->user, s->domain);
  return reg_status_error (s, &c.resp, "get token", err);
}

static int
authorize_with (struct reg_session *s, const struct reg_challenge *ch,
                const struct reg_credentials *creds, char **out, struct sbx_error **err)
{
  *out = NULL;
  if (strcasecmp (ch->scheme, "basic") == 0)
    {
      if (creds)
        *out = basic_value (creds->user, creds->password);
      return 0;
    }
  if (strcasecmp (ch->scheme, "bearer") == 0)
    return fetch_token (s, ch, creds, out, err);
  return sbx_err (err, ENOTSUP, "%s asks for unsupported authentication scheme `%s`", s->domain,
                  ch->scheme);
}

int
reg_auth_authorize (struct reg_session *s, const char *www_authenticate, char **out,
                    struct sbx_error **err)
{
  __attribute__ ((cleanup (reg_challenge_release))) struct reg_challenge ch = { 0 };
  __attribute__ ((cleanup (reg_credentials_release))) struct reg_credentials creds = { 0 };
  int found;

  *out = NULL;
  if (reg_challenge_parse (www_authenticate, &ch, err) < 0)
    return -1;
  found = reg_credentials_lookup (&s->r->opts, s->domain, &creds, err);
  if (found < 0)
    return -1;
  sbx_debug ("%s: %s challenge, %s", s->domain, ch.scheme,
             found ? "using stored credentials" : "anonymous");
  return authorize_with (s, &ch, found ? &creds : NULL, out, err);
}

/* ---- login and logout ---- */

/* Check USER/PASSWORD against S's /v2/.  */
static int
check_login (struct reg_session *s, const struct reg_credentials *creds, struct sbx_error **err)
{
  cleanup_call struct reg_call c = REG_CALL_INIT;
  cleanup_call struct reg_call again = REG_CALL_INIT;
  __attribute__ ((cleanup (reg_challenge_release))) struct reg_challenge ch = { 0 };
  cleanup_free char *url = reg_session_url (s, "");
  cleanup_free char *authz = NULL;

  c.req.method = "GET";
  c.req.url = url;
  c.req.max_body = REG_ERROR_BODY_MAX;
  c.req.verify_tls = s->ep.verify;
  /* Anonymous, and not through the session: stored credentials (maybe
     stale ones being replaced) must not be tried.  */
  if (reg_http_run (s->r->http, (struct reg_call *[]){ &c }, 1, 1, err) < 0)
    return -1;
  if (c.resp.status == 200)
    {
      sbx_debug ("%s asks for no authentication", s->domain);
      return 0;
    }
  if (c.resp.status != 401 || c.resp.www_authenticate == NULL)
    return reg_status_error (s, &c.resp, "query /v2/", err);
  if (reg_challenge_parse (c.resp.www_authenticate, &ch, err) < 0)
    return -1;
  if (authorize_with (s, &ch, creds, &authz, err) < 0)
    return -1;
  if (strcasecmp (ch.scheme, "basic") != 0)
    return 0; /* the token server accepted the credentials */

  again.req.method = "GET";
  again.req.url = url;
  again.req.max_body = REG_ERROR_BODY_MAX;
  again.req.authorization = authz;
  again.req.verify_tls = s->ep.verify;
  if (reg_http_run (s->r->http, (struct reg_call *[]){ &again }, 1, 1, err) < 0)
    return -1;
  if (again.resp.status == 401 || again.resp.status == 403)
    return sbx_err (err, EACCES, "invalid username or password");
  if (again.resp.status != 200)
    return reg_status_error (s, &again.resp, "query /v2/", err);
  return 0;
}

static int
login (struct sbx_registry *r, const char *domain, const char *user, const char *password,
       struct sbx_error **err)
{
  __attribute__ ((cleanup (reg_session_close))) struct reg_session s = { 0 };
  cleanup_free char *norm = reg_normalize_domain (domain);
  struct reg_credentials creds = { (char *) user, (char *) password };

  if (r->opts.auth_file == NULL)
    return sbx_err (err, EINVAL, "no credentials file configured");
  if (user == NULL || *user == '\0' || strchr (user, ':') != NULL)
    return sbx_err (err, EINVAL, "the username must be non-empty and contain no `:`");
  if (password == NULL || *password == '\0')
    return sbx_err (err, EINVAL, "empty password");
  if (strpbrk (user, "\r\n") || strpbrk (password, "\r\n"))
    return sbx_err (err, EINVAL, "the username and password must be single lines");
  if (reg_session_open (r, norm, NULL, NULL, &s, err) < 0)
    return -1;
  if (check_login (&s, &creds, err) < 0)
    return -1;
  return reg_auth_file_set (r->opts.auth_file, norm, user, password, err);
}

int
sbx_registry_login (struct sbx_registry *r, const char *domain, const char *user,
                    const char *password, struct sbx_error **err)
{
  if (login (r, domain, user, password, err) < 0)
    return sbx_err_prefix (err, "login to `%s`", domain);
  return 0;
}

int
sbx_registry_logout (struct sbx_registry *r, const char *domain, struct sbx_error **err)
{
  if (r->opts.auth_file == NULL)
    return sbx_err (err, EINVAL, "logout from `%s`: no credentials file configured", domain);
  if (reg_auth_file_remove (r->opts.auth_file, domain, err) < 0)
    return sbx_err_prefix (err, "logout from `%s`", domain);
  return 0;
}

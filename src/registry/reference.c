/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image references, after Docker's grammar (github.com/distribution/reference):

     reference  := name [ ":" tag ] [ "@" digest ]
     name       := [ domain "/" ] path
     domain     := host [ ":" port ]      host: DNS name or "[" IPv6 "]"
     path       := component ( "/" component )*
     component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
     tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}

   The first "/"-separated part is the domain only if it contains "." or
   ":" or is "localhost"; otherwise the domain is docker.io, where a
   one-component path gets "library/".  "index.docker.io" is docker.io.
   The normalised name (domain "/" path) is at most 255 characters.  */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static void
reference_cleanup (struct sbx_reference *r)
{
  sbx_reference_release (r);
}
#define cleanup_reference __attribute__ ((cleanup (reference_cleanup)))

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return is_lower_alnum (c) || (c >= 'A' && c <= 'Z');
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static bool
is_hex (char c)
{
  return is_digit (c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_word (char c)
{
  return is_alnum (c) || c == '_';
}

/* Would Docker take NAME[0..LEN) (the part before the first "/") for a
   registry host rather than the first path component?  */
static bool
looks_like_domain (const char *name, size_t len)
{
  return memchr (name, '.', len) != NULL || memchr (name, ':', len) != NULL
         || (len == strlen ("localhost") && memcmp (name, "localhost", len) == 0);
}

/* ---- the parts ---- */

static int
check_tag (const char *tag, struct sbx_error **err)
{
  size_t len = strlen (tag);
  size_t i;

  if (len == 0)
    return sbx_err (err, EINVAL, "empty tag");
  if (len > TAG_MAX)
    return sbx_err (err, EINVAL, "invalid tag `%s`: longer than %d characters", tag, TAG_MAX);
  if (! is_word (tag[0]))
    return sbx_err (err, EINVAL, "invalid tag `%s`: must start with a letter, a digit or `_`", tag);
  for (i = 1; i < len; i++)
    if (! is_word (tag[i]) && tag[i] != '.' && tag[i] != '-')
      return sbx_err (err, EINVAL,
                      "invalid tag `%s`: only letters, digits, `_`, `.` and `-` allowed", tag);
  return 0;
}

static int
check_port (const char *domain, const char *port, struct sbx_error **err)
{
  unsigned long v = 0;
  const char *p;

  if (*port == '\0')
    return sbx_err (err, EINVAL, "invalid domain `%s`: empty port", domain);
  for (p = port; *p; p++)
    {
      if (! is_digit (*p))
        return sbx_err (err, EINVAL, "invalid domain `%s`: port `%s` is not a number", domain,
                        port);
      v = v * 10 + (unsigned long) (*p - '0');
      if (v > 65535)
        break;
    }
  if (v == 0 || v > 65535)
    return sbx_err (err, EINVAL, "invalid domain `%s`: port `%s` out of range", domain, port);
  return 0;
}

/* HOST[0..LEN): DNS labels [A-Za-z0-9] ([A-Za-z0-9-]* [A-Za-z0-9])? joined by ".".  */
static int
check_host_name (const char *domain, const char *host, size_t len, struct sbx_error **err)
{
  size_t i = 0;

  while (i <= len)
    {
      size_t start = i;

      while (i < len && host[i] != '.')
        {
          if (! is_alnum (host[i]) && host[i] != '-')
            return sbx_err (err, EINVAL, "invalid domain `%s`: invalid character `%c` in host name",
                            domain, host[i]);
          i++;
        }
      if (i == start)
        return sbx_err (err, EINVAL, "invalid domain `%s`: empty host name component", domain);
      if (host[start] == '-' || host[i - 1] == '-')
        return sbx_err (err, EINVAL,
                        "invalid domain `%s`: host name components may not start or end with `-`",
                        domain);
      i++; /* the "." (or one past the end) */
    }
  return 0;
}

static int
check_domain (const char *domain, struct sbx_error **err)
{
  const char *port = NULL;
  size_t i;

  if (domain[0] == '[')
    {
      const char *close = strchr (domain, ']');

      if (close == NULL || close == domain + 1)
        return sbx_err (err, EINVAL, "invalid domain `%s`: malformed IPv6 address", domain);
      for (i = 1; domain + i < close; i++)
        if (! is_hex (domain[i]) && domain[i] != ':')
          return sbx_err (err, EINVAL, "invalid domain `%s`: malformed IPv6 address", domain);
      if (close[1] != '\0' && close[1] != ':')
        return sbx_err (err, EINVAL, "invalid domain `%s`: unexpected text after `]`", domain);
      if (close[1] == ':')
        port = close + 2;
    }
  else
    {
      const char *colon = strchr (domain, ':');
      size_t host_len = colon ? (size_t) (colon - domain) : strlen (domain);

      if (check_host_name (domain, domain, host_len, err) < 0)
        return -1;
      if (colon != NULL)
        port = colon + 1;
    }
  if (port != NULL)
    return check_port (domain, port, err);
  return 0;
}

/* One path component C[0..LEN).  */
static int
check_component (const char *c, size_t len, struct sbx_error **err)
{
  size_t i = 0;

  if (len == 0)
    return sbx_err (err, EINVAL, "empty path component");
  for (i = 0; i < len; i++)
    if (c[i] >= 'A' && c[i] <= 'Z')
      return sbx_err (err, EINVAL, "repository name must be lowercase");

  i = 0;
  for (;;)
    {
      size_t run = i;

      while (i < len && is_lower_alnum (c[i]))
        i++;
      if (i == run)
        break; /* nothing where a letter or digit must be */
      if (i == len)
        return 0;
      if (c[i] == '.')
        i++;
      else if (c[i] == '_')
        i += i + 1 < len && c[i + 1] == '_' ? 2 : 1;
      else if (c[i] == '-')
        while (i < len && c[i] == '-')
          i++;
      else
        break;
    }
  return sbx_err (err, EINVAL,
                  "invalid path component `%.*s`: expected lowercase letters and digits, "
                  "separated by one `.`, one or two `_`, or dashes",
                  (int) len, c);
}

static int
check_path (const char *path, struct sbx_error **err)
{
  const char *p = path;

  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t len = slash ? (size_t) (slash - p) : strlen (p);

      if (check_component (p, len, err) < 0)
        return -1;
      if (slash == NULL)
        return 0;
      p = slash + 1;
    }
}

static bool
is_image_id (const char *s)
{
  size_t i;

  for (i = 0; s[i]; i++)
    if (! is_digit (s[i]) && ! (s[i] >= 'a' && s[i] <= 'f'))
      return false;
  return i == SBX_DIGEST_HEX_LEN;
}

/* Split NAME (no tag, no digest) into R->domain and R->path.  */
static int
parse_name (const char *name, struct sbx_reference *r, struct sbx_error **err)
{
  const char *slash = strchr (name, '/');
  const char *rest = name;

  if (*name == '\0')
    return sbx_err (err, EINVAL, "empty repository name");
  if (slash != NULL && looks_like_domain (name, (size_t) (slash - name)))
    {
      r->domain = xstrndup (name, (size_t) (slash - name));
      rest = slash + 1;
      if (check_domain (r->domain, err) < 0)
        return -1;
      if (strcmp (r->domain, LEGACY_DEFAULT_DOMAIN) == 0)
        {
          free (r->domain);
          r->domain = xstrdup (DEFAULT_DOMAIN);
        }
    }
  else
    r->domain = xstrdup (DEFAULT_DOMAIN);

  if (check_path (rest, err) < 0)
    return -1;
  if (strcmp (r->domain, DEFAULT_DOMAIN) == 0 && strchr (rest, '/') == NULL)
    r->path = xasprintf ("%s%s", OFFICIAL_PREFIX, rest);
  else
    r->path = xstrdup (rest);

  if (strlen (r->domain) + 1 + strlen (r->path) > NAME_TOTAL_MAX)
    return sbx_err (err, EINVAL, "repository name `%s/%s` is longer than %d characters", r->domain,
                    r->path, NAME_TOTAL_MAX);
  return 0;
}

static int
parse_reference (const char *s, struct sbx_reference *out, struct sbx_error **err)
{
  cleanup_reference struct sbx_reference r = { NULL, NULL, NULL, { "" } };
  cleanup_free char *name = NULL;
  const char *at = strchr (s, '@');
  size_t name_len = at ? (size_t) (at - s) : strlen (s);
  char *colon;
  char *slash;

  if (is_image_id (s))
    return sbx_err (err, EINVAL,
                    "a 64-digit hexadecimal string is an image id, not a repository name");

  if (at != NULL)
    {
      if (at[1] == '\0')
        return sbx_err (err, EINVAL, "empty digest");
      if (sbx_digest_parse (at + 1, &r.digest, err) < 0)
        return -1;
    }

  /* The tag is after the last ":" that follows the last "/" (an earlier
     ":" belongs to the domain's port).  */
  name = xstrndup (s, name_len);
  colon = strrchr (name, ':');
  slash = strrchr (name, '/');
  if (colon != NULL && (slash == NULL || colon > slash))
    {
      *colon = '\0';
      r.tag = xstrdup (colon + 1);
      if (check_tag (r.tag, err) < 0)
        return -1;
    }

  if (parse_name (name, &r, err) < 0)
    return -1;

  if (r.tag == NULL && ! sbx_digest_is_set (&r.digest))
    r.tag = xstrdup ("latest");

  *out = r;
  memset (&r, 0, sizeof r);
  return 0;
}

/* ---- public API ---- */

int
sbx_reference_parse (const char *s, struct sbx_reference *out, struct sbx_error **err)
{
  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    return sbx_err (err, EINVAL, "invalid reference: empty string");
  if (parse_reference (s, out, err) < 0)
    return sbx_err_prefix (err, "invalid reference `%s`", s);
  return 0;
}

void
sbx_reference_release (struct sbx_reference *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  memset (r, 0, sizeof *r);
}

/* Append ":tag" and "@sha256:…" when set.  */
static void
add_tag_and_digest (struct sbx_strbuf *sb, const struct sbx_reference *r)
{
  char buf[SBX_DIGEST_STR_MAX];

  if (r->tag != NULL)
    sbx_strbuf_addf (sb, ":%s", r->tag);
  if (sbx_digest_is_set (&r->digest))
    sbx_strbuf_addf (sb, "@%s", sbx_digest_format (&r->digest, buf));
}

char *
sbx_reference_string (const struct sbx_reference *r)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_addf (&sb, "%s/%s", r->domain, r->path);
  add_tag_and_digest (&sb, r);
  return sbx_strbuf_detach (&sb);
}

char *
sbx_reference_repository (const struct sbx_reference *r)
{
  return xasprintf ("%s/%s", r->domain, r->path);
}

/* Docker's FamiliarName: drop "docker.io/" and then "library/" from an
   official image.  Unlike Docker, keep "docker.io/" when the path's first
   component would read as a domain ("docker.io/localhost/x"), so that the
   familiar form parses back to the same reference.  */
char *
sbx_reference_familiar (const struct sbx_reference *r)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  const char *path = r->path;
  const char *slash;

  if (strcmp (r->domain, DEFAULT_DOMAIN) != 0)
    sbx_strbuf_addf (&sb, "%s/%s", r->domain, path);
  else
    {
      if (strncmp (path, OFFICIAL_PREFIX, strlen (OFFICIAL_PREFIX)) == 0
          && strchr (path + strlen (OFFICIAL_PREFIX), '/') == NULL)
        path += strlen (OFFICIAL_PREFIX);
      slash = strchr (path, '/');
      if (slash != NULL && looks_like_domain (path, (size_t) (slash - path)))
        sbx_strbuf_addf (&sb, "%s/", DEFAULT_DOMAIN);
      sbx_strbuf_addstr (&sb, path);
    }
  add_tag_and_digest (&sb, r);
  return sbx_strbuf_detach (&sb);
}

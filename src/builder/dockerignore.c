/* SPDX-License-Identifier: GPL-2.0-or-later */
/* .dockerignore: Docker's rules (moby/patternmatcher and its ignorefile
   reader).  Patterns use Go's filepath.Match syntax plus `**` for any
   number of directories; `!` re-includes; the last pattern that matches a
   path or one of its parents decides.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct ignore_pattern
{
  char *text; /* cleaned, without the '!' */
  bool exclusion;
};

struct sbx_build_ignore
{
  struct ignore_pattern *pats;
  size_t n;
  bool has_exclusions;
};

char *
build_path_clean (const char *path)
{
  size_t n = strlen (path), r = 0, w = 0, dotdot = 0;
  bool rooted = n > 0 && path[0] == '/';
  char *out = xmalloc (n + 2);

  /* Go's filepath.Clean, on '/'-separated paths.  */
  if (rooted)
    {
      out[w++] = '/';
      r = dotdot = 1;
    }
  while (r < n)
    {
      if (path[r] == '/')
        r++;
      else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
        r++;
      else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/'))
        {
          r += 2;
          if (w > dotdot)
            {
              w--;
              while (w > dotdot && out[w] != '/')
                w--;
            }
          else if (! rooted)
            {
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              dotdot = w;
            }
        }
      else
        {
          if ((rooted && w != 1) || (! rooted && w != 0))
            out[w++] = '/';
          for (; r < n && path[r] != '/'; r++)
            out[w++] = path[r];
        }
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

/* A character class at P (after '['): *P moves past ']'.  -1 malformed,
   else whether C is in it.  */
static int
match_class (const char **pp, char c)
{
  const char *p = *pp;
  bool neg = *p == '^', in = false;
  int nrange = 0;

  if (neg)
    p++;
  for (;;)
    {
      char lo, hi;

      if (*p == ']' && nrange > 0)
        break;
      if (*p == '\0' || *p == '-' || *p == ']')
        return -1;
      if (*p == '\\' && *++p == '\0')
        return -1;
      lo = hi = *p++;
      if (*p == '-')
        {
          p++;
          if (*p == '\0' || *p == '-' || *p == ']')
            return -1;
          if (*p == '\\' && *++p == '\0')
            return -1;
          hi = *p++;
        }
      if ((unsigned char) lo <= (unsigned char) c && (unsigned char) c <= (unsigned char) hi)
        in = true;
      nrange++;
    }
  *pp = p + 1;
  return in != neg;
}

struct matcher
{
  const char *pat, *str;
  size_t plen, slen;
  unsigned char *failed; /* (p, s) pairs known not to match: keeps '*' and '**' linear */
};

static bool
match_at (struct matcher *m, size_t pi, size_t si)
{
  const char *p = m->pat + pi, *s = m->str + si;
  unsigned char *memo = m->failed ? &m->failed[pi * (m->slen + 1) + si] : NULL;
  bool ok = false;

  if (memo && *memo)
    return false;
  if (*p == '\0')
    ok = *s == '\0';
  else if (p[0] == '*' && p[1] == '*')
    {
      /* `**` (or `**` and a slash) matches nothing or anything that ends
         with a slash when more pattern follows (moby's regexp), and
         anything at all at the end of the pattern */
      size_t q = pi + 2 + (p[2] == '/');

      if (m->pat[q] == '\0')
        return true;
      ok = match_at (m, q, si);
      for (size_t k = si; ! ok && m->str[k]; k++)
        if (m->str[k] == '/')
          ok = match_at (m, q, k + 1);
    }
  else if (*p == '*')
    {
      for (size_t k = si;; k++)
        {
          if ((ok = match_at (m, pi + 1, k)))
            break;
          if (m->str[k] == '\0' || m->str[k] == '/')
            break;
        }
    }
  else if (*s == '\0')
    ok = false;
  else if (*p == '?')
    ok = *s != '/' && match_at (m, pi + 1, si + 1);
  else if (*p == '[')
    {
      const char *q = p + 1;
      int in = match_class (&q, *s);

      ok = in > 0 && match_at (m, (size_t) (q - m->pat), si + 1);
    }
  else if (*p == '\\')
    ok = p[1] != '\0' && p[1] == *s && match_at (m, pi + 2, si + 1);
  else
    ok = *p == *s && match_at (m, pi + 1, si + 1);
  if (! ok && memo)
    *memo = 1;
  return ok;
}

/* Whether PATTERN is well formed: classes closed, no trailing escape.  */
static bool
is_valid_pattern (const char *p)
{
  while (*p)
    {
      if (*p == '\\')
        {
          if (*++p == '\0')
            return false;
          p++;
        }
      else if (*p == '[')
        {
          p++;
          if (match_class (&p, 'a') < 0)
            return false;
        }
      else
        p++;
    }
  return true;
}

int
build_glob_match (const char *pattern, const char *path)
{
  struct matcher m
      = { .pat = pattern, .str = path, .plen = strlen (pattern), .slen = strlen (path) };
  size_t cells;
  bool ok;

  if (! is_valid_pattern (pattern))
    return -1;
  /* Only stars backtrack: memoize for them, unless the table would be huge
     (then only slower).  */
  if (strchr (pattern, '*') != NULL && ! __builtin_mul_overflow (m.plen + 1, m.slen + 1, &cells)
      && cells <= (1u << 20))
    m.failed = xcalloc (cells, 1);
  ok = match_at (&m, 0, 0);
  free (m.failed);
  return ok;
}

static bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trim blanks in place; returns the start.  */
static char *
trim (char *s)
{
  size_t n;

  while (is_space (*s))
    s++;
  n = strlen (s);
  while (n > 0 && is_space (s[n - 1]))
    s[--n] = '\0';
  return s;
}

static int
add_pattern (struct sbx_build_ignore *ig, const char *file, unsigned line, char *text,
             struct sbx_error **err)
{
  bool exclusion = text[0] == '!';
  cleanup_free char *clean = NULL;
  char *p = text;

  if (exclusion)
    p = trim (p + 1);
  if (*p == '\0')
    return exclusion ? sbx_err (err, EINVAL, "%s:%u: illegal exclusion pattern: \"!\"", file, line)
                     : 0;
  clean = build_path_clean (p);
  if (strlen (clean) > 1 && clean[0] == '/') /* patterns are relative to the context */
    memmove (clean, clean + 1, strlen (clean));
  if (! is_valid_pattern (clean))
    return sbx_err (err, EINVAL, "%s:%u: syntax error in pattern `%s`", file, line, p);
  ig->pats = xrealloc (ig->pats, xmul (ig->n + 1, sizeof *ig->pats));
  ig->pats[ig->n].text = steal_ptr (&clean);
  ig->pats[ig->n].exclusion = exclusion;
  ig->n++;
  ig->has_exclusions |= exclusion;
  return 0;
}

int
sbx_build_ignore_parse (const char *file, const char *text, size_t len,
                        struct sbx_build_ignore **out, struct sbx_error **err)
{
  struct sbx_build_ignore *ig = xzalloc (sizeof *ig);
  const char *p = text, *end = text + len;
  unsigned line = 0;

  if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      cleanup_free char *l = xstrndup (p, (size_t) ((nl ? nl : end) - p));

      p = nl ? nl + 1 : end;
      line++;
      if (l[0] == '#') /* a comment only at the very start of the line, as Docker */
        continue;
      if (add_pattern (ig, file, line, trim (l), err) < 0)
        {
          sbx_build_ignore_free (ig);
          return -1;
        }
    }
  *out = ig;
  return 0;
}

void
sbx_build_ignore_free (struct sbx_build_ignore *ig)
{
  size_t i;

  if (ig == NULL)
    return;
  for (i = 0; i < ig->n; i++)
    free (ig->pats[i].text);
  free (ig->pats);
  free (ig);
}

/* PATTERN matches PATH or one of its parent directories.  */
static bool
matches_or_parent (const char *pattern, char *path)
{
  char *slash;

  if (build_glob_match (pattern, path) > 0)
    return true;
  for (slash = strchr (path, '/'); slash; slash = strchr (slash + 1, '/'))
    {
      bool m;

      *slash = '\0';
      m = build_glob_match (pattern, path) > 0;
      *slash = '/';
      if (m)
        return true;
    }
  return false;
}

bool
sbx_build_ignore_is_excluded (const struct sbx_build_ignore *ig, const char *path)
{
  cleanup_free char *p = NULL;
  bool excluded = false;
  size_t i;

  if (ig == NULL || ig->n == 0)
    return false;
  p = build_path_clean (path[0] == '/' ? path + 1 : path);
  for (i = 0; i < ig->n; i++)
    if (matches_or_parent (ig->pats[i].text, p))
      excluded = ! ig->pats[i].exclusion;
  return excluded;
}

/* Whether PATTERN may match DIR or something below it: its leading
   components match DIR's, or a `**` comes first.  */
static bool
may_match_below (const char *pattern, const char *dir)
{
  cleanup_free char *pat = xstrdup (pattern);
  cleanup_free char *d = xstrdup (dir);
  char *ps = NULL, *ds = NULL, *pc, *dc;

  for (pc = strtok_r (pat, "/", &ps), dc = strtok_r (d, "/", &ds); dc;
       pc = strtok_r (NULL, "/", &ps), dc = strtok_r (NULL, "/", &ds))
    {
      if (pc == NULL || strstr (pc, "**") != NULL)
        return true; /* the pattern matches a parent of DIR, or anything */
      if (build_glob_match (pc, dc) <= 0)
        return false;
    }
  return true;
}

bool
sbx_build_ignore_may_reinclude (const struct sbx_build_ignore *ig, const char *dir)
{
  cleanup_free char *d = NULL;
  size_t i;

  if (ig == NULL || ! ig->has_exclusions)
    return false;
  d = build_path_clean (dir[0] == '/' ? dir + 1 : dir);
  for (i = 0; i < ig->n; i++)
    if (ig->pats[i].exclusion && may_match_below (ig->pats[i].text, d))
      return true;
  return false;
}

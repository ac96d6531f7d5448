/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

void
sbx_mount_spec_release (struct sbx_mount_spec *m)
{
  free (m->source);
  free (m->dest);
  m->source = m->dest = NULL;
}

/* Collapse "//", "/./" and a trailing "/"; ".." stays (rejected by callers).  */
static char *
clean_path (const char *p)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  const char *s = p;

  while (*s)
    {
      const char *e;

      while (*s == '/')
        s++;
      if (*s == '\0')
        break;
      e = strchrnul (s, '/');
      if (! (e - s == 1 && s[0] == '.'))
        {
          sbx_strbuf_addch (&sb, '/');
          sbx_strbuf_add (&sb, s, (size_t) (e - s));
        }
      s = e;
    }
  if (sb.len == 0)
    sbx_strbuf_addch (&sb, '/');
  return sbx_strbuf_detach (&sb);
}

static bool
has_dotdot (const char *p)
{
  const char *s = p;

  while ((s = strstr (s, "..")) != NULL)
    {
      bool start = s == p || s[-1] == '/';
      bool end = s[2] == '\0' || s[2] == '/';

      if (start && end)
        return true;
      s += 2;
    }
  return false;
}

static int
parse_volume_opts (const char *opts, const char *spec, bool *ro, struct sbx_error **err)
{
  cleanup_free char *copy = xstrdup (opts);
  char *save = NULL;
  char *o;

  for (o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      if (strcmp (o, "ro") == 0)
        *ro = true;
      else if (strcmp (o, "rw") == 0)
        *ro = false;
      else if (strcmp (o, "z") == 0 || strcmp (o, "Z") == 0 || strcmp (o, "rbind") == 0
               || strcmp (o, "bind") == 0)
        continue; /* SELinux relabel / bind kind: nothing to do here */
      else
        return sbx_err (err, EINVAL, "invalid volume `%s`: unknown option `%s`", spec, o);
    }
  return 0;
}

int
sbx_spec_parse_volume (const char *spec, const char *cwd, struct sbx_mount_spec *out,
                       struct sbx_error **err)
{
  cleanup_free char *copy = xstrdup (spec);
  char *src = copy, *dst, *opts;
  bool ro = false;

  dst = strchr (copy, ':');
  if (dst == NULL)
    return sbx_err (err, EINVAL,
                    "invalid volume `%s`: expected HOST-PATH:CONTAINER-PATH[:ro] (named volumes "
                    "are not supported yet)",
                    spec);
  *dst++ = '\0';
  opts = strchr (dst, ':');
  if (opts)
    *opts++ = '\0';
  if (*src == '\0')
    return sbx_err (err, EINVAL, "invalid volume `%s`: empty host path", spec);
  if (*dst == '\0')
    return sbx_err (err, EINVAL, "invalid volume `%s`: empty container path", spec);
  if (src[0] != '/' && ! (src[0] == '.' && (src[1] == '/' || src[1] == '\0'))
      && ! (src[0] == '.' && src[1] == '.' && (src[2] == '/' || src[2] == '\0')))
    return sbx_err (err, EINVAL,
                    "invalid volume `%s`: host path `%s` must be absolute or start with ./ "
                    "(named volumes are not supported yet)",
                    spec, src);
  if (dst[0] != '/')
    return sbx_err (err, EINVAL, "invalid volume `%s`: container path `%s` is not absolute", spec,
                    dst);
  if (has_dotdot (dst))
    return sbx_err (err, EINVAL, "invalid volume `%s`: container path contains `..`", spec);
  if (opts && parse_volume_opts (opts, spec, &ro, err) < 0)
    return -1;

  out->dest = clean_path (dst);
  if (strcmp (out->dest, "/") == 0 || strcmp (out->dest, "/proc") == 0
      || strncmp (out->dest, "/proc/", 6) == 0)
    {
      cleanup_free char *d = steal_ptr (&out->dest);
      return sbx_err (err, EINVAL, "invalid volume `%s`: cannot mount over `%s`", spec, d);
    }
  if (src[0] == '/')
    out->source = clean_path (src);
  else
    {
      cleanup_free char *joined = xasprintf ("%s/%s", cwd, src);
      out->source = clean_path (joined);
    }
  out->readonly = ro;
  return 0;
}

int
sbx_spec_parse_env (const char *spec, char *const *host_env, char ***env, struct sbx_error **err)
{
  const char *eq = strchr (spec, '=');
  size_t klen = eq ? (size_t) (eq - spec) : strlen (spec);
  cleanup_free char *key = xstrndup (spec, klen);

  if (! sbx_is_valid_env_name (spec, klen))
    return sbx_err (err, EINVAL, "invalid environment variable `%s`: empty name", spec);
  if (eq)
    sbx_env_set (env, key, eq + 1);
  else
    {
      const char *v = sbx_env_get (host_env, key);

      if (v) /* like Docker: -e NAME passes NAME through only when it is set */
        sbx_env_set (env, key, v);
    }
  return 0;
}

int
sbx_spec_parse_env_file (const char *content, const char *name, char *const *host_env, char ***env,
                         struct sbx_error **err)
{
  const char *line = content;
  unsigned lineno = 0;

  while (*line)
    {
      const char *end = strchrnul (line, '\n');
      cleanup_free char *l = xstrndup (line, (size_t) (end - line));
      char *s = l;
      size_t n;

      lineno++;
      line = *end ? end + 1 : end;
      n = strlen (s);
      if (n && s[n - 1] == '\r')
        s[--n] = '\0';
      while (*s == ' ' || *s == '\t')
        s++;
      if (*s == '\0' || *s == '#')
        continue;
      if (sbx_spec_parse_env (s, host_env, env, err) < 0)
        return sbx_err_prefix (err, "%s:%u", name, lineno);
    }
  return 0;
}

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
  free (m->volume);
  m->source = m->dest = m->volume = NULL;
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
parse_volume_opts (const char *opts, const char *spec, struct sbx_mount_spec *m,
                   struct sbx_error **err)
{
  cleanup_free char *copy = xstrdup (opts);
  char *save = NULL;
  char *o;

  for (o = strtok_r (copy, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      if (strcmp (o, "ro") == 0)
        m->readonly = true;
      else if (strcmp (o, "rw") == 0)
        m->readonly = false;
      else if (strcmp (o, "nocopy") == 0)
        m->nocopy = true;
      else if (strcmp (o, "z") == 0 || strcmp (o, "Z") == 0 || strcmp (o, "rbind") == 0
               || strcmp (o, "bind") == 0 || strcmp (o, "rprivate") == 0
               || strcmp (o, "private") == 0)
        continue; /* SELinux relabel / bind kind / our only propagation */
      else
        return sbx_err (err, EINVAL, "invalid volume `%s`: unknown option `%s`", spec, o);
    }
  return 0;
}

/* A volume name rather than a host path: no '/', not "." or "..".  */
static bool
is_name_form (const char *src)
{
  return strchr (src, '/') == NULL && src[0] != '.';
}

/* Check DST and fill OUT's destination and source (SRC: NULL for an
   anonymous volume).  */
static int
fill_spec (const char *spec, const char *src, const char *dst, const char *cwd,
           struct sbx_mount_spec *out, struct sbx_error **err)
{
  if (dst[0] != '/')
    return sbx_err (err, EINVAL, "invalid volume `%s`: container path `%s` is not absolute", spec,
                    dst);
  if (has_dotdot (dst))
    return sbx_err (err, EINVAL, "invalid volume `%s`: container path contains `..`", spec);
  if (src && src[0] == '~')
    return sbx_err (err, EINVAL, "invalid volume `%s`: `~` is not expanded (use $HOME)", spec);

  out->dest = clean_path (dst);
  if (strcmp (out->dest, "/") == 0 || strcmp (out->dest, "/proc") == 0
      || strncmp (out->dest, "/proc/", 6) == 0)
    {
      cleanup_free char *d = steal_ptr (&out->dest);
      return sbx_err (err, EINVAL, "invalid volume `%s`: cannot mount over `%s`", spec, d);
    }
  if (src == NULL)
    out->anonymous = true;
  else if (is_name_form (src))
    out->volume = xstrdup (src);
  else if (src[0] == '/')
    out->source = clean_path (src);
  else
    {
      cleanup_free char *joined = xasprintf ("%s/%s", cwd, src);
      out->source = clean_path (joined);
    }
  return 0;
}

int
sbx_spec_parse_volume (const char *spec, const char *cwd, struct sbx_mount_spec *out,
                       struct sbx_error **err)
{
  cleanup_free char *copy = xstrdup (spec);
  struct sbx_mount_spec m = { 0 };
  char *src = copy, *dst, *opts;

  dst = strchr (copy, ':');
  if (dst == NULL)
    {
      /* -v /ctr: an anonymous volume.  */
      if (copy[0] != '/')
        return sbx_err (err, EINVAL,
                        "invalid volume `%s`: expected HOST-PATH:CONTAINER-PATH, "
                        "NAME:CONTAINER-PATH or CONTAINER-PATH",
                        spec);
      dst = src;
      src = NULL;
      opts = NULL;
    }
  else
    {
      *dst++ = '\0';
      opts = strchr (dst, ':');
      if (opts)
        *opts++ = '\0';
      if (*src == '\0')
        return sbx_err (err, EINVAL, "invalid volume `%s`: empty host path or volume name", spec);
      if (*dst == '\0')
        return sbx_err (err, EINVAL, "invalid volume `%s`: empty container path", spec);
      if (opts == NULL && strchr (dst, '/') == NULL && src[0] == '/')
        {
          /* -v /ctr:ro: an anonymous volume with options.  */
          opts = dst;
          dst = src;
          src = NULL;
        }
    }
  if (opts && parse_volume_opts (opts, spec, &m, err) < 0)
    return -1;
  if (fill_spec (spec, src, dst, cwd, &m, err) < 0)
    {
      sbx_mount_spec_release (&m);
      return -1;
    }
  *out = m;
  return 0;
}

char *
sbx_mount_spec_format (const struct sbx_mount_spec *m)
{
  const char *src = m->volume ? m->volume : m->source;
  const char *ro = m->readonly ? "ro" : "";
  const char *nocopy = m->nocopy ? "nocopy" : "";

  if (src == NULL)
    return xasprintf ("%s%s%s%s%s", m->dest, *ro || *nocopy ? ":" : "", ro,
                      *ro && *nocopy ? "," : "", nocopy);
  return xasprintf ("%s:%s%s%s%s%s", src, m->dest, *ro || *nocopy ? ":" : "", ro,
                    *ro && *nocopy ? "," : "", nocopy);
}

/* ---- --mount ---- */

enum mount_type
{
  MOUNT_VOLUME,
  MOUNT_BIND,
  MOUNT_TMPFS,
};

struct mount_fields
{
  enum mount_type type;
  const char *source;
  const char *target;
  bool readonly;
  bool nocopy;
  const char *tmpfs_size;
  const char *tmpfs_mode;
  bool bind_only, volume_only, tmpfs_only; /* which type-specific keys were given */
};

static int
parse_mount_bool (const char *spec, const char *key, const char *v, bool *out,
                  struct sbx_error **err)
{
  if (v == NULL || strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `%s` expects true or false, not `%s`", spec,
                    key, v);
  return 0;
}

static int
parse_mount_field (const char *spec, char *kv, struct mount_fields *f, struct sbx_error **err)
{
  char *v = strchr (kv, '=');

  if (v)
    *v++ = '\0';
  if (strcmp (kv, "readonly") == 0 || strcmp (kv, "ro") == 0)
    return parse_mount_bool (spec, kv, v, &f->readonly, err);
  if (strcmp (kv, "volume-nocopy") == 0)
    {
      f->volume_only = true;
      return parse_mount_bool (spec, kv, v, &f->nocopy, err);
    }
  if (v == NULL || (*v == '\0' && strcmp (kv, "source") != 0 && strcmp (kv, "src") != 0))
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `%s` needs a value (%s=VALUE)", spec, kv,
                    kv);
  if (strcmp (kv, "type") == 0)
    {
      if (strcmp (v, "volume") == 0)
        f->type = MOUNT_VOLUME;
      else if (strcmp (v, "bind") == 0)
        f->type = MOUNT_BIND;
      else if (strcmp (v, "tmpfs") == 0)
        f->type = MOUNT_TMPFS;
      else
        return sbx_err (err, EINVAL,
                        "invalid --mount `%s`: unknown type `%s` (expected bind, volume or tmpfs)",
                        spec, v);
    }
  else if (strcmp (kv, "source") == 0 || strcmp (kv, "src") == 0)
    f->source = *v ? v : NULL;
  else if (strcmp (kv, "target") == 0 || strcmp (kv, "destination") == 0 || strcmp (kv, "dst") == 0)
    f->target = v;
  else if (strcmp (kv, "tmpfs-size") == 0)
    {
      f->tmpfs_size = v;
      f->tmpfs_only = true;
    }
  else if (strcmp (kv, "tmpfs-mode") == 0)
    {
      f->tmpfs_mode = v;
      f->tmpfs_only = true;
    }
  else if (strcmp (kv, "bind-propagation") == 0)
    {
      f->bind_only = true;
      if (strcmp (v, "private") != 0 && strcmp (v, "rprivate") != 0)
        return sbx_err (err, EINVAL,
                        "invalid --mount `%s`: bind-propagation `%s` is not supported (mounts "
                        "are always private)",
                        spec, v);
    }
  else if (strcmp (kv, "consistency") == 0)
    ; /* macOS only: ignored, as by Docker on Linux */
  else
    return sbx_err (err, EINVAL, "invalid --mount `%s`: unknown key `%s`", spec, kv);
  return 0;
}

/* tmpfs-size: bytes, with an optional k/m/g suffix (Docker's RAMInBytes).  */
static int
tmpfs_size_bytes (const char *spec, const char *v, uint64_t *out, struct sbx_error **err)
{
  static const char units[] = "kmg";
  char *end = NULL;
  unsigned long long n;
  const char *u;

  errno = 0;
  n = strtoull (v, &end, 10);
  if (errno || end == v || v[0] == '-')
    return sbx_err (err, EINVAL, "invalid --mount `%s`: tmpfs-size `%s` is not a size", spec, v);
  if (*end)
    {
      u = strchr (units, end[0] | 0x20);
      if (u == NULL || ! (end[1] == '\0' || ((end[1] | 0x20) == 'b' && end[2] == '\0')))
        return sbx_err (err, EINVAL, "invalid --mount `%s`: tmpfs-size `%s` is not a size", spec,
                        v);
      for (int i = 0; i <= u - units; i++)
        if (__builtin_mul_overflow (n, 1024ull, &n))
          return sbx_err (err, ERANGE, "invalid --mount `%s`: tmpfs-size `%s` is too large", spec,
                          v);
    }
  *out = n;
  return 0;
}

static int
tmpfs_spec (const char *spec, const struct mount_fields *f, const char *dest, char **tmpfs,
            struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  uint64_t size = 0;

  sbx_strbuf_addstr (&sb, dest);
  if (f->tmpfs_size)
    {
      if (tmpfs_size_bytes (spec, f->tmpfs_size, &size, err) < 0)
        return -1;
      sbx_strbuf_addf (&sb, ":size=%llu", (unsigned long long) size);
    }
  if (f->tmpfs_mode)
    {
      if (f->tmpfs_mode[0] == '\0' || strlen (f->tmpfs_mode) > 4
          || strspn (f->tmpfs_mode, "01234567") != strlen (f->tmpfs_mode))
        return sbx_err (err, EINVAL, "invalid --mount `%s`: tmpfs-mode `%s` is not an octal mode",
                        spec, f->tmpfs_mode);
      sbx_strbuf_addf (&sb, "%smode=%s", f->tmpfs_size ? "," : ":", f->tmpfs_mode);
    }
  if (f->readonly)
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `readonly` is not supported for type tmpfs",
                    spec);
  *tmpfs = sbx_strbuf_detach (&sb);
  return 0;
}

static const char *
mount_type_name (enum mount_type t)
{
  return t == MOUNT_BIND ? "bind" : t == MOUNT_TMPFS ? "tmpfs" : "volume";
}

int
sbx_spec_parse_mount (const char *spec, const char *cwd, struct sbx_mount_spec *out, char **tmpfs,
                      struct sbx_error **err)
{
  cleanup_free char *copy = xstrdup (spec);
  struct mount_fields f = { .type = MOUNT_VOLUME };
  struct sbx_mount_spec m = { 0 };
  char *save = NULL;
  char *kv;

  for (kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
    if (parse_mount_field (spec, kv, &f, err) < 0)
      return -1;
  if (f.target == NULL)
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `target` is required", spec);
  if ((f.bind_only && f.type != MOUNT_BIND) || (f.volume_only && f.type != MOUNT_VOLUME)
      || (f.tmpfs_only && f.type != MOUNT_TMPFS))
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `%s` does not apply to type %s", spec,
                    f.bind_only     ? "bind-propagation"
                    : f.volume_only ? "volume-nocopy"
                                    : "tmpfs-size/tmpfs-mode",
                    mount_type_name (f.type));
  if (f.type == MOUNT_BIND && f.source == NULL)
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `source` is required for type bind", spec);
  if (f.type == MOUNT_TMPFS && f.source)
    return sbx_err (err, EINVAL, "invalid --mount `%s`: `source` does not apply to type tmpfs",
                    spec);
  if (f.type == MOUNT_VOLUME && f.source && ! is_name_form (f.source))
    return sbx_err (err, EINVAL,
                    "invalid --mount `%s`: `source` of a volume is a volume name, not a path "
                    "(use type=bind)",
                    spec);
  if (f.type == MOUNT_TMPFS)
    {
      if (fill_spec (spec, NULL, f.target, cwd, &m, err) < 0)
        return -1;
      if (tmpfs_spec (spec, &f, m.dest, tmpfs, err) < 0)
        {
          sbx_mount_spec_release (&m);
          return -1;
        }
      sbx_mount_spec_release (&m);
      *out = (struct sbx_mount_spec){ 0 };
      return 0;
    }
  if (f.type == MOUNT_BIND && is_name_form (f.source))
    {
      /* A bare relative path ("data"): a bind source is always a path.  */
      cleanup_free char *rel = xasprintf ("./%s", f.source);
      if (fill_spec (spec, rel, f.target, cwd, &m, err) < 0)
        return -1;
    }
  else if (fill_spec (spec, f.source, f.target, cwd, &m, err) < 0)
    return -1;
  m.readonly = f.readonly;
  m.nocopy = f.nocopy;
  *out = m;
  *tmpfs = NULL;
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

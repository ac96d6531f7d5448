/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dockerfile parser: logical lines (lexer.c) → one sbx_build_node per
   instruction.  Arguments are split and checked here but not expanded (the
   planner expands them, with the variables of their stage).  The rules and
   most messages are BuildKit's (frontend/dockerfile/parser and
   instructions), so a Dockerfile Docker rejects is rejected here too.  */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/json.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *const kw_names[] = {
  [SBX_BUILD_FROM] = "FROM",
  [SBX_BUILD_RUN] = "RUN",
  [SBX_BUILD_CMD] = "CMD",
  [SBX_BUILD_ENTRYPOINT] = "ENTRYPOINT",
  [SBX_BUILD_SHELL] = "SHELL",
  [SBX_BUILD_ENV] = "ENV",
  [SBX_BUILD_ARG] = "ARG",
  [SBX_BUILD_LABEL] = "LABEL",
  [SBX_BUILD_MAINTAINER] = "MAINTAINER",
  [SBX_BUILD_EXPOSE] = "EXPOSE",
  [SBX_BUILD_VOLUME] = "VOLUME",
  [SBX_BUILD_USER] = "USER",
  [SBX_BUILD_WORKDIR] = "WORKDIR",
  [SBX_BUILD_STOPSIGNAL] = "STOPSIGNAL",
  [SBX_BUILD_HEALTHCHECK] = "HEALTHCHECK",
  [SBX_BUILD_ONBUILD] = "ONBUILD",
  [SBX_BUILD_COPY] = "COPY",
  [SBX_BUILD_ADD] = "ADD",
};

const char *
sbx_build_kw_name (enum sbx_build_kw kw)
{
  return (size_t) kw < SBX_N_ELEMENTS (kw_names) ? kw_names[kw] : "?";
}

int
build_kw_lookup (const char *word, size_t len, enum sbx_build_kw *out)
{
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (kw_names); i++)
    if (strlen (kw_names[i]) == len && strncasecmp (kw_names[i], word, len) == 0)
      {
        *out = (enum sbx_build_kw) i;
        return 0;
      }
  return -1;
}

enum flag_type
{
  FLAG_STRING,
  FLAG_BOOL,
  FLAG_REPEAT, /* a string that may be given more than once */
};

struct flag_spec
{
  enum sbx_build_kw kw;
  const char *name;
  enum flag_type type;
};

/* The flags each instruction accepts.  Flags that change what a build
   produces and that sbx cannot honour (RUN --security, ADD --keep-git-dir,
   COPY --parents) are left out, so they are errors rather than silently
   different results.  */
static const struct flag_spec flag_specs[] = {
  { SBX_BUILD_FROM, "platform", FLAG_STRING },
  { SBX_BUILD_RUN, "network", FLAG_STRING },
  { SBX_BUILD_RUN, "mount", FLAG_REPEAT },
  { SBX_BUILD_COPY, "from", FLAG_STRING },
  { SBX_BUILD_COPY, "chown", FLAG_STRING },
  { SBX_BUILD_COPY, "chmod", FLAG_STRING },
  { SBX_BUILD_COPY, "link", FLAG_BOOL },
  { SBX_BUILD_COPY, "exclude", FLAG_REPEAT },
  { SBX_BUILD_ADD, "chown", FLAG_STRING },
  { SBX_BUILD_ADD, "chmod", FLAG_STRING },
  { SBX_BUILD_ADD, "link", FLAG_BOOL },
  { SBX_BUILD_ADD, "exclude", FLAG_REPEAT },
  { SBX_BUILD_ADD, "checksum", FLAG_STRING },
  { SBX_BUILD_HEALTHCHECK, "interval", FLAG_STRING },
  { SBX_BUILD_HEALTHCHECK, "timeout", FLAG_STRING },
  { SBX_BUILD_HEALTHCHECK, "start-period", FLAG_STRING },
  { SBX_BUILD_HEALTHCHECK, "start-interval", FLAG_STRING },
  { SBX_BUILD_HEALTHCHECK, "retries", FLAG_STRING },
};

/* Context for the parse of one instruction.  */
struct pctx
{
  const char *file;
  char escape;
  struct sbx_build_node *node;
  char ***notes;
};

static int node_err (const struct pctx *c, struct sbx_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

int
build_node_verr (const char *file, const struct sbx_build_node *n, struct sbx_error **err,
                 const char *fmt, va_list ap)
{
  cleanup_free char *msg = NULL;

  if (vasprintf (&msg, fmt, ap) < 0)
    xoom ();
  return sbx_err (err, EINVAL, "%s:%u: %s: %s", file, n->line, sbx_build_kw_name (n->kw), msg);
}

static int
node_err (const struct pctx *c, struct sbx_error **err, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = build_node_verr (c->file, c->node, err, fmt, ap);
  va_end (ap);
  return r;
}

static void
node_note (const struct pctx *c, const char *msg)
{
  sbx_strv_push_take (c->notes, xasprintf ("%s:%u: %s: %s", c->file, c->node->line,
                                           sbx_build_kw_name (c->node->kw), msg));
}

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static const char *
skip_blanks (const char *s)
{
  while (is_blank (*s))
    s++;
  return s;
}

/* Leading `--flag` words of LINE (BuildKit's extractBuilderFlags: quotes
   removed, '\\' escapes, `--` ends the flags); *REST points after them.  */
static char **
extract_flags (const char *line, const char **rest)
{
  cleanup_strbuf struct sbx_strbuf w = SBX_STRBUF_INIT;
  char **words = xzalloc (sizeof (char *));
  const char *p = skip_blanks (line);

  while (p[0] == '-' && p[1] == '-')
    {
      char quote = 0;

      sbx_strbuf_reset (&w);
      for (; *p && (quote || ! is_blank (*p)); p++)
        {
          if (quote == 0 && (*p == '"' || *p == '\''))
            quote = *p;
          else if (quote && *p == quote)
            quote = 0;
          else if (*p == '\\' && p[1] != '\0')
            sbx_strbuf_addch (&w, *++p);
          else if (*p != '\\')
            sbx_strbuf_addch (&w, *p);
        }
      p = skip_blanks (p);
      if (strcmp (w.buf, "--") == 0)
        break;
      sbx_strv_push (&words, w.buf);
    }
  *rest = p;
  return words;
}

static const struct flag_spec *
find_flag_spec (enum sbx_build_kw kw, const char *name)
{
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (flag_specs); i++)
    if (flag_specs[i].kw == kw && strcmp (flag_specs[i].name, name) == 0)
      return &flag_specs[i];
  return NULL;
}

const struct sbx_build_flag *
build_node_flag (const struct sbx_build_node *n, const char *name)
{
  size_t i;

  for (i = 0; i < n->n_flags; i++)
    if (strcmp (n->flags[i].name, name) == 0)
      return &n->flags[i];
  return NULL;
}

static int
parse_flags (const struct pctx *c, char *const *words, struct sbx_error **err)
{
  struct sbx_build_node *n = c->node;
  size_t i;

  for (i = 0; words[i]; i++)
    {
      const char *w = words[i] + 2, *eq = strchr (w, '=');
      cleanup_free char *name = eq ? xstrndup (w, (size_t) (eq - w)) : xstrdup (w);
      const struct flag_spec *spec = find_flag_spec (n->kw, name);

      if (spec == NULL)
        return node_err (c, err, "unknown flag: --%s", name);
      if (spec->type != FLAG_REPEAT && build_node_flag (n, name) != NULL)
        return node_err (c, err, "duplicate flag specified: --%s", name);
      if (spec->type != FLAG_BOOL && (eq == NULL || eq[1] == '\0'))
        return node_err (c, err, "--%s needs a value", name);
      if (spec->type == FLAG_BOOL && eq && strcmp (eq + 1, "true") != 0
          && strcmp (eq + 1, "false") != 0)
        return node_err (c, err, "expecting boolean value for flag --%s, not: %s", name, eq + 1);
      n->flags = xrealloc (n->flags, xmul (n->n_flags + 1, sizeof *n->flags));
      n->flags[n->n_flags].name = steal_ptr (&name);
      n->flags[n->n_flags].value = eq ? xstrdup (eq + 1) : NULL;
      n->n_flags++;
    }
  return 0;
}

/* Exec form: REST is a JSON array of strings.  Anything else, even a
   broken array, is shell form (BuildKit's parseMaybeJSON).  */
static bool
parse_json_array (const char *rest, char ***out)
{
  cleanup_json struct sbx_json *doc = NULL;
  struct sbx_error *e = NULL;
  char **v = NULL;
  size_t i, n, len = strlen (rest);

  if (rest[0] != '[')
    return false;
  while (len > 0 && is_blank (rest[len - 1]))
    len--;
  doc = sbx_json_parse_strict (rest, len, &e);
  sbx_error_clear (&e);
  if (! sbx_json_is_array (doc))
    return false;
  n = sbx_json_array_size (doc);
  v = xzalloc (sizeof (char *));
  for (i = 0; i < n; i++)
    {
      const char *s = sbx_json_string (sbx_json_array_get (doc, i));

      if (s == NULL)
        {
          sbx_strv_free (v);
          return false;
        }
      sbx_strv_push (&v, s);
    }
  *out = v;
  return true;
}

/* Words split at blanks only, no quoting (BuildKit's
   parseStringsWhitespaceDelimited).  */
static char **
split_blanks (const char *s)
{
  char **v = xzalloc (sizeof (char *));

  for (s = skip_blanks (s); *s; s = skip_blanks (s))
    {
      const char *e = s;

      while (*e && ! is_blank (*e))
        e++;
      sbx_strv_push_take (&v, xstrndup (s, (size_t) (e - s)));
      s = e;
    }
  return v;
}

static void
add_kv (struct sbx_build_node *n, char *key, char *value)
{
  n->kvs = xrealloc (n->kvs, xmul (n->n_kvs + 1, sizeof *n->kvs));
  n->kvs[n->n_kvs].key = key;
  n->kvs[n->n_kvs].value = value;
  n->n_kvs++;
}

/* ENV and LABEL: `K=V …`, or the legacy `K V` (one pair, the value is the
   rest of the line).  */
static int
parse_name_val (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  cleanup_strv char **words = build_split_words (rest, c->escape);
  const char *kw = sbx_build_kw_name (c->node->kw);
  size_t i;

  if (words[0] == NULL)
    return node_err (c, err, "%s requires at least one argument", kw);
  if (strchr (words[0], '=') == NULL)
    {
      const char *e = rest;

      while (*e && ! is_blank (*e))
        e++;
      if (*skip_blanks (e) == '\0')
        return node_err (c, err, "%s must have two arguments", kw);
      add_kv (c->node, xstrndup (rest, (size_t) (e - rest)), xstrdup (skip_blanks (e)));
      return 0;
    }
  for (i = 0; words[i]; i++)
    {
      const char *eq = strchr (words[i], '=');

      if (eq == NULL)
        return node_err (c, err, "can't find = in `%s`, must be of the form: name=value", words[i]);
      if (eq == words[i])
        return node_err (c, err, "%s names can not be blank", kw);
      add_kv (c->node, xstrndup (words[i], (size_t) (eq - words[i])), xstrdup (eq + 1));
    }
  return 0;
}

/* ARG NAME[=DEFAULT] …  */
static int
parse_arg (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  cleanup_strv char **words = build_split_words (rest, c->escape);
  size_t i;

  if (words[0] == NULL)
    return node_err (c, err, "ARG requires at least one argument");
  for (i = 0; words[i]; i++)
    {
      const char *eq = strchr (words[i], '=');

      if (eq == words[i])
        return node_err (c, err, "ARG names can not be blank");
      if (eq)
        add_kv (c->node, xstrndup (words[i], (size_t) (eq - words[i])), xstrdup (eq + 1));
      else
        add_kv (c->node, xstrdup (words[i]), NULL);
    }
  return 0;
}

/* Docker's rule for stage names (reserved words are images, not names).  */
static bool
is_valid_stage_name (const char *s)
{
  if (! (*s >= 'a' && *s <= 'z'))
    return false;
  for (s++; *s; s++)
    if (! ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'
           || *s == '.'))
      return false;
  return true;
}

static int
parse_from (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  struct sbx_build_node *n = c->node;
  cleanup_strv char **w = split_blanks (rest);
  size_t len = sbx_strv_len (w), i;

  if (len != 1 && len != 3)
    return node_err (c, err, "FROM requires either one or three arguments");
  if (len == 3)
    {
      if (strcasecmp (w[1], "AS") != 0)
        return node_err (c, err, "expected `FROM IMAGE [AS NAME]`, got `%s` instead of AS", w[1]);
      for (i = 0; w[2][i]; i++)
        w[2][i] = (char) (w[2][i] >= 'A' && w[2][i] <= 'Z' ? w[2][i] + 32 : w[2][i]);
      if (! is_valid_stage_name (w[2]))
        return node_err (c, err,
                         "invalid name for build stage: `%s`, name can't start with a number "
                         "or contain symbols",
                         w[2]);
      n->stage_name = xstrdup (w[2]);
    }
  if (build_node_flag (n, "platform") != NULL)
    node_note (c, "--platform: ignored (sbx builds for this host's platform)");
  sbx_strv_push (&n->args, w[0]);
  return 0;
}

/* RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD: exec or shell form.  */
static int
parse_command (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  struct sbx_build_node *n = c->node;

  if (*rest == '\0' && n->n_heredocs == 0)
    return node_err (c, err, "%s requires at least one argument", sbx_build_kw_name (n->kw));
  n->json = parse_json_array (rest, &n->args);
  if (! n->json)
    sbx_strv_push (&n->args, rest);
  return 0;
}

/* --mount=type=cache only makes a step faster: run without it.  Every other
   mount changes what the step sees, so refuse it.  */
static int
check_mounts (const struct pctx *c, struct sbx_error **err)
{
  const struct sbx_build_node *n = c->node;
  size_t i;

  for (i = 0; i < n->n_flags; i++)
    {
      cleanup_strv char **opts = NULL;
      const char *type = "bind";
      char *s, *save = NULL, *copy;

      if (strcmp (n->flags[i].name, "mount") != 0)
        continue;
      copy = xstrdup (n->flags[i].value);
      for (s = strtok_r (copy, ",", &save); s; s = strtok_r (NULL, ",", &save))
        sbx_strv_push (&opts, s);
      free (copy);
      for (size_t j = 0; opts && opts[j]; j++)
        if (strncmp (opts[j], "type=", 5) == 0)
          type = opts[j] + 5;
      if (strcmp (type, "cache") != 0)
        return node_err (c, err, "--mount=type=%s is not supported (only type=cache, ignored)",
                         type);
      node_note (c, "--mount=type=cache: ignored (the step runs without a cache mount)");
    }
  return 0;
}

static int
parse_run (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  const struct sbx_build_flag *net = build_node_flag (c->node, "network");

  if (net && strcmp (net->value, "default") != 0 && strcmp (net->value, "none") != 0
      && strcmp (net->value, "host") != 0)
    return node_err (c, err, "--network must be default, none or host, not `%s`", net->value);
  if (check_mounts (c, err) < 0)
    return -1;
  return parse_command (c, rest, err);
}

static int
parse_shell (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  if (! parse_json_array (rest, &c->node->args))
    return node_err (c, err, "SHELL requires the arguments to be in JSON form");
  c->node->json = true;
  if (c->node->args[0] == NULL)
    return node_err (c, err, "SHELL requires at least one argument");
  return 0;
}

static int
parse_duration_flag (const struct pctx *c, const char *name, int64_t *out, struct sbx_error **err)
{
  const struct sbx_build_flag *f = build_node_flag (c->node, name);

  if (f == NULL)
    return 0;
  if (build_parse_duration (f->value, out) < 0)
    return node_err (c, err, "--%s: invalid duration `%s`", name, f->value);
  if (*out != 0 && *out < 1000000)
    return node_err (c, err, "--%s: `%s` cannot be less than 1ms", name, f->value);
  return 0;
}

static int
parse_healthcheck (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  struct sbx_build_node *n = c->node;
  const struct sbx_build_flag *retries = build_node_flag (n, "retries");
  const char *e = rest;
  uint32_t r;

  while (*e && ! is_blank (*e))
    e++;
  if (e - rest == 4 && strncasecmp (rest, "NONE", 4) == 0)
    {
      if (*skip_blanks (e) != '\0' || n->n_flags > 0)
        return node_err (c, err, "HEALTHCHECK NONE takes no arguments");
      n->none = true;
      return 0;
    }
  if (e - rest != 3 || strncasecmp (rest, "CMD", 3) != 0)
    return node_err (c, err, "unknown type `%.*s` in HEALTHCHECK (try CMD)", (int) (e - rest),
                     rest);
  if (*skip_blanks (e) == '\0')
    return node_err (c, err, "missing command after HEALTHCHECK CMD");
  if (parse_duration_flag (c, "interval", &n->health.interval_ns, err) < 0
      || parse_duration_flag (c, "timeout", &n->health.timeout_ns, err) < 0
      || parse_duration_flag (c, "start-period", &n->health.start_period_ns, err) < 0
      || parse_duration_flag (c, "start-interval", &n->health.start_interval_ns, err) < 0)
    return -1;
  if (retries)
    {
      struct sbx_error *e2 = NULL;

      if (sbx_parse_u32 (retries->value, &r, "--retries", &e2) < 0 || r > INT_MAX)
        {
          sbx_error_clear (&e2);
          return node_err (c, err, "--retries must be a number >= 0, not `%s`", retries->value);
        }
      n->health.retries = (int) r;
    }
  return parse_command (c, skip_blanks (e), err);
}

/* USER and STOPSIGNAL take one word; WORKDIR and MAINTAINER the rest of the
   line (spaces included).  */
static int
parse_single (const struct pctx *c, const char *rest, bool one_word, struct sbx_error **err)
{
  const char *kw = sbx_build_kw_name (c->node->kw);

  if (*rest == '\0')
    return node_err (c, err, "%s requires exactly one argument", kw);
  if (one_word)
    {
      cleanup_strv char **w = split_blanks (rest);

      if (sbx_strv_len (w) != 1)
        return node_err (c, err, "%s requires exactly one argument", kw);
    }
  sbx_strv_push (&c->node->args, rest);
  return 0;
}

/* EXPOSE (words), VOLUME and COPY/ADD (JSON or words).  */
static int
parse_list (const struct pctx *c, const char *rest, bool json_ok, size_t min,
            struct sbx_error **err)
{
  struct sbx_build_node *n = c->node;
  const char *kw = sbx_build_kw_name (n->kw);

  n->json = json_ok && parse_json_array (rest, &n->args);
  if (! n->json)
    n->args = split_blanks (rest);
  if (sbx_strv_len (n->args) >= min)
    return 0;
  if (min == 2)
    return node_err (c, err,
                     "%s requires at least two arguments, but only %s provided; destination "
                     "could not be determined",
                     kw, n->args[0] ? "one was" : "none were");
  return node_err (c, err, "%s requires at least one argument", kw);
}

static int
parse_onbuild (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  struct build_line inner = { .line = c->node->line, .text = (char *) rest };
  struct sbx_build_node n = { 0 };
  int ret;

  if (*rest == '\0')
    return node_err (c, err, "ONBUILD requires at least one argument");
  ret = build_parse_line (c->file, c->escape, &inner, true, &n, c->notes, err);
  build_node_release (&n);
  if (ret < 0)
    return ret;
  sbx_strv_push (&c->node->args, rest);
  return 0;
}

static int
parse_args (const struct pctx *c, const char *rest, struct sbx_error **err)
{
  switch (c->node->kw)
    {
    case SBX_BUILD_FROM:
      return parse_from (c, rest, err);
    case SBX_BUILD_RUN:
      return parse_run (c, rest, err);
    case SBX_BUILD_CMD:
    case SBX_BUILD_ENTRYPOINT:
      return parse_command (c, rest, err);
    case SBX_BUILD_SHELL:
      return parse_shell (c, rest, err);
    case SBX_BUILD_ENV:
    case SBX_BUILD_LABEL:
      return parse_name_val (c, rest, err);
    case SBX_BUILD_ARG:
      return parse_arg (c, rest, err);
    case SBX_BUILD_MAINTAINER:
    case SBX_BUILD_WORKDIR:
      return parse_single (c, rest, false, err);
    case SBX_BUILD_USER:
    case SBX_BUILD_STOPSIGNAL:
      return parse_single (c, rest, true, err);
    case SBX_BUILD_EXPOSE:
      return parse_list (c, rest, false, 1, err);
    case SBX_BUILD_VOLUME:
      return parse_list (c, rest, true, 1, err);
    case SBX_BUILD_COPY:
    case SBX_BUILD_ADD:
      return parse_list (c, rest, true, 2, err);
    case SBX_BUILD_HEALTHCHECK:
      return parse_healthcheck (c, rest, err);
    case SBX_BUILD_ONBUILD:
      return parse_onbuild (c, rest, err);
    }
  return node_err (c, err, "unhandled instruction");
}

int
build_parse_line (const char *file, char escape, struct build_line *l, bool inner,
                  struct sbx_build_node *node, char ***notes, struct sbx_error **err)
{
  struct pctx c = { .file = file, .escape = escape, .node = node, .notes = notes };
  cleanup_strv char **flags = NULL;
  cleanup_free char *rest = NULL;
  const char *kw = skip_blanks (l->text), *e = kw, *after;
  size_t len;

  while (*e && ! is_blank (*e))
    e++;
  node->line = l->line;
  node->original = xstrdup (l->text);
  if (build_kw_lookup (kw, (size_t) (e - kw), &node->kw) < 0)
    return sbx_err (err, EINVAL, "%s:%u: unknown instruction: %.*s", file, l->line,
                    (int) (e - kw > 64 ? 64 : e - kw), kw);
  node->heredocs = steal_ptr (&l->heredocs);
  node->n_heredocs = l->n_heredocs;
  l->n_heredocs = 0;
  if (inner && node->kw == SBX_BUILD_ONBUILD)
    return node_err (&c, err, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (inner && (node->kw == SBX_BUILD_FROM || node->kw == SBX_BUILD_MAINTAINER))
    return node_err (&c, err, "%s isn't allowed as an ONBUILD trigger",
                     sbx_build_kw_name (node->kw));
  flags = extract_flags (e, &after);
  rest = xstrdup (after);
  len = strlen (rest);
  while (len > 0 && is_blank (rest[len - 1]))
    rest[--len] = '\0';
  if (parse_flags (&c, flags, err) < 0)
    return -1;
  return parse_args (&c, rest, err);
}

void
build_node_release (struct sbx_build_node *n)
{
  size_t i;

  free (n->original);
  for (i = 0; i < n->n_flags; i++)
    {
      free (n->flags[i].name);
      free (n->flags[i].value);
    }
  free (n->flags);
  sbx_strv_free (n->args);
  for (i = 0; i < n->n_kvs; i++)
    {
      free (n->kvs[i].key);
      free (n->kvs[i].value);
    }
  free (n->kvs);
  build_heredocs_free (n->heredocs, n->n_heredocs);
  free (n->stage_name);
  memset (n, 0, sizeof *n);
}

/* One `NUMBER UNIT` of a Go duration; advances *P.  */
static int
duration_part (const char **p, int64_t *out)
{
  static const struct
  {
    const char *name;
    int64_t ns;
  } units[] = { { "ns", 1 },         { "us", 1000 },       { "\xc2\xb5s", 1000 }, { "ms", 1000000 },
                { "s", 1000000000 }, { "m", 60000000000 }, { "h", 3600000000000 } };
  int64_t whole = 0, frac = 0, scale = 1, v;
  const char *s = *p;
  bool digits = false;
  size_t i, best = SIZE_MAX;

  for (; *s >= '0' && *s <= '9'; s++, digits = true)
    if (__builtin_mul_overflow (whole, 10, &whole)
        || __builtin_add_overflow (whole, *s - '0', &whole))
      return -1;
  if (*s == '.')
    for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
      if (scale < 1000000000000000000 / 10)
        frac = frac * 10 + (*s - '0'), scale *= 10;
  if (! digits)
    return -1;
  for (i = 0; i < SBX_N_ELEMENTS (units); i++)
    if (strncmp (s, units[i].name, strlen (units[i].name)) == 0
        && (best == SIZE_MAX || strlen (units[i].name) > strlen (units[best].name)))
      best = i;
  if (best == SIZE_MAX)
    return -1;
  if (__builtin_mul_overflow (whole, units[best].ns, &v)
      || __builtin_add_overflow (v, (int64_t) ((long double) frac * units[best].ns / scale), &v))
    return -1;
  *p = s + strlen (units[best].name);
  *out = v;
  return 0;
}

int
build_parse_duration (const char *s, int64_t *out)
{
  int64_t total = 0, part;
  bool neg = false;

  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp (s, "0") == 0)
    {
      *out = 0;
      return 0;
    }
  if (*s == '\0')
    return -1;
  while (*s)
    {
      if (duration_part (&s, &part) < 0 || __builtin_add_overflow (total, part, &total))
        return -1;
    }
  *out = neg ? -total : total;
  return 0;
}

/* Stage names are unique, and the first instruction (after ARGs) is FROM.  */
static int
check_structure (const struct sbx_build_ast *ast, unsigned last_line, struct sbx_error **err)
{
  bool seen_from = false;
  size_t i, j;

  if (ast->n_nodes == 0)
    return sbx_err (err, EINVAL, "%s:%u: file with no instructions", ast->file,
                    last_line ? last_line : 1);
  for (i = 0; i < ast->n_nodes; i++)
    {
      const struct sbx_build_node *n = &ast->nodes[i];

      if (! seen_from && n->kw != SBX_BUILD_FROM && n->kw != SBX_BUILD_ARG)
        return sbx_err (err, EINVAL,
                        "%s:%u: %s: no build stage in current context (the first "
                        "instruction must be FROM)",
                        ast->file, n->line, sbx_build_kw_name (n->kw));
      seen_from |= n->kw == SBX_BUILD_FROM;
      if (n->kw != SBX_BUILD_FROM || n->stage_name == NULL)
        continue;
      for (j = 0; j < i; j++)
        if (ast->nodes[j].kw == SBX_BUILD_FROM && ast->nodes[j].stage_name
            && strcmp (ast->nodes[j].stage_name, n->stage_name) == 0)
          return sbx_err (err, EINVAL, "%s:%u: FROM: duplicate stage name `%s` (first at line %u)",
                          ast->file, n->line, n->stage_name, ast->nodes[j].line);
    }
  if (! seen_from)
    return sbx_err (err, EINVAL, "%s:%u: no FROM instruction", ast->file,
                    ast->nodes[ast->n_nodes - 1].line);
  return 0;
}

int
sbx_build_parse (const char *file, const char *text, size_t len, struct sbx_build_ast **out,
                 struct sbx_error **err)
{
  struct sbx_build_ast *ast = xzalloc (sizeof *ast);
  struct build_lexer lx;
  struct build_line l;
  int r;

  ast->file = xstrdup (file);
  build_lexer_init (&lx, ast->file, text, len);
  while ((r = build_lex_next (&lx, &l, err)) > 0)
    {
      struct sbx_build_node *n;

      ast->nodes = xrealloc (ast->nodes, xmul (ast->n_nodes + 1, sizeof *ast->nodes));
      n = &ast->nodes[ast->n_nodes++];
      memset (n, 0, sizeof *n);
      r = build_parse_line (ast->file, lx.escape, &l, false, n, &lx.notes, err);
      build_line_release (&l);
      if (r < 0)
        break;
    }
  ast->escape = lx.escape;
  ast->syntax = steal_ptr (&lx.syntax);
  ast->notes = steal_ptr (&lx.notes);
  if (ast->notes == NULL)
    ast->notes = xzalloc (sizeof (char *));
  r = r < 0 ? -1 : check_structure (ast, lx.lineno, err);
  build_lexer_release (&lx);
  if (r < 0)
    {
      sbx_build_ast_free (ast);
      return -1;
    }
  *out = ast;
  return 0;
}

void
sbx_build_ast_free (struct sbx_build_ast *ast)
{
  size_t i;

  if (ast == NULL)
    return;
  for (i = 0; i < ast->n_nodes; i++)
    build_node_release (&ast->nodes[i]);
  free (ast->nodes);
  free (ast->file);
  free (ast->syntax);
  sbx_strv_free (ast->notes);
  free (ast);
}

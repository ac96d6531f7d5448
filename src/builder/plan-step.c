/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The planner's work on one instruction: expansion where Docker expands,
   the stage state it changes (ENV, ARG, SHELL, WORKDIR, USER), and the
   step the executor will run.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static char **
step_vars (const struct stage_state *st)
{
  return plan_vars (st->env, st->args);
}

static void
step_add_kv (struct sbx_build_step *s, char *key, char *value)
{
  s->kvs = xrealloc (s->kvs, xmul (s->n_kvs + 1, sizeof *s->kvs));
  s->kvs[s->n_kvs].key = key;
  s->kvs[s->n_kvs].value = value;
  s->n_kvs++;
}

/* ENV and LABEL: every pair is expanded with the variables as they were
   before the instruction (`ENV A=1 B=$A` gives B the old A), as Docker.  */
static int
plan_env_label (struct planner *pl, struct stage_state *st, struct sbx_build_step *s,
                struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  cleanup_strv char **vars = step_vars (st);
  size_t i;

  for (i = 0; i < n->n_kvs; i++)
    {
      cleanup_free char *k = NULL;
      cleanup_free char *v = NULL;

      if (plan_expand (pl, n, vars, n->kvs[i].key, &k, err) < 0
          || plan_expand (pl, n, vars, n->kvs[i].value, &v, err) < 0)
        return -1;
      if (*k == '\0')
        return plan_node_err (pl, n, err, "%s names can not be blank", sbx_build_kw_name (n->kw));
      if (n->kw == SBX_BUILD_ENV && strchr (k, '=') != NULL)
        return plan_node_err (pl, n, err, "invalid variable name `%s`", k);
      step_add_kv (s, steal_ptr (&k), steal_ptr (&v));
    }
  for (i = 0; n->kw == SBX_BUILD_ENV && i < s->n_kvs; i++)
    sbx_env_set (&st->env, s->kvs[i].key, s->kvs[i].value);
  return 0;
}

/* ARG inside a stage: a --build-arg wins, then the default, then the value
   of the same ARG before the first FROM (or TARGETPLATFORM & co).  */
static int
plan_arg (struct planner *pl, size_t stage, struct stage_state *st, struct sbx_build_step *s,
          struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  size_t i;

  for (i = 0; i < n->n_kvs; i++)
    {
      cleanup_strv char **vars = step_vars (st);
      cleanup_free char *k = NULL;
      cleanup_free char *v = NULL;
      const char *given, *inherited;

      if (plan_expand (pl, n, vars, n->kvs[i].key, &k, err) < 0)
        return -1;
      if (*k == '\0' || strchr (k, '=') != NULL)
        return plan_node_err (pl, n, err, "invalid ARG name `%s`", k);
      plan_mark_consumed (pl, stage, k);
      given = sbx_env_get (pl->build_args, k);
      inherited = sbx_env_get (pl->meta, k);
      if (inherited == NULL)
        inherited = sbx_env_get (pl->auto_args, k);
      if (inherited == NULL)
        inherited = sbx_env_get (st->args, k);
      if (given)
        v = xstrdup (given);
      else if (n->kvs[i].value)
        {
          if (plan_expand (pl, n, vars, n->kvs[i].value, &v, err) < 0)
            return -1;
        }
      else if (inherited)
        v = xstrdup (inherited);
      if (v)
        sbx_env_set (&st->args, k, v);
      step_add_kv (s, steal_ptr (&k), steal_ptr (&v));
    }
  return 0;
}

/* SHELL … TEXT, Docker's shell form.  */
static char **
shell_argv (const struct stage_state *st, const char *text)
{
  char **v = sbx_strv_dup (st->shell);

  sbx_strv_push (&v, text);
  return v;
}

/* A RUN whose whole command is one here-document runs the document; when it
   starts with "#!" it is a script to write and execute (BuildKit).
   Otherwise the documents are handed to the shell after the command.  */
static void
plan_run_heredocs (const struct stage_state *st, struct sbx_build_step *s, char escape)
{
  const struct sbx_build_node *n = s->node;
  cleanup_strbuf struct sbx_strbuf cmd = SBX_STRBUF_INIT;
  cleanup_strv char **words = build_split_words (n->args[0], escape);
  cleanup_free char *name = NULL;
  bool chomp, expand;
  size_t i;

  if (sbx_strv_len (words) == 1 && n->n_heredocs == 1
      && build_parse_heredoc_word (words[0], escape, &name, &chomp, &expand))
    {
      if (strncmp (n->heredocs[0].content, "#!", 2) == 0)
        s->script = xstrdup (n->heredocs[0].content);
      else
        s->argv = shell_argv (st, n->heredocs[0].content);
      return;
    }
  sbx_strbuf_addstr (&cmd, n->args[0]);
  for (i = 0; i < n->n_heredocs; i++)
    sbx_strbuf_addf (&cmd, "\n%s%s", n->heredocs[i].content, n->heredocs[i].name);
  s->argv = shell_argv (st, cmd.buf);
}

static void
plan_run (struct planner *pl, const struct stage_state *st, struct sbx_build_step *s)
{
  const struct sbx_build_node *n = s->node;
  const struct sbx_build_flag *net = build_node_flag (n, "network");
  size_t i;

  s->network = net ? net->value : "default";
  if (n->json)
    s->argv = sbx_strv_dup (n->args);
  else if (n->n_heredocs > 0)
    plan_run_heredocs (st, s, pl->ast->escape);
  else
    s->argv = shell_argv (st, n->args[0]);
  s->run_args = xzalloc (sizeof (char *));
  for (i = 0; st->args && st->args[i]; i++)
    {
      cleanup_free char *k = xstrndup (st->args[i], strcspn (st->args[i], "="));

      if (sbx_env_get (st->env, k) == NULL)
        sbx_strv_push (&s->run_args, st->args[i]);
    }
  for (i = 0; pl->build_args && pl->build_args[i]; i++)
    {
      cleanup_free char *k = xstrndup (pl->build_args[i], strcspn (pl->build_args[i], "="));

      if (plan_is_proxy_arg (k) && sbx_env_get (s->run_args, k) == NULL)
        sbx_strv_push (&s->run_args, pl->build_args[i]);
    }
}

/* EXPOSE: PORT[-PORT][/tcp|udp|sctp] → "PORT/proto" each.  */
static int
add_ports (const char *spec, char ***out)
{
  cleanup_free char *s = xstrdup (spec);
  char *proto = strchr (s, '/'), *dash;
  uint32_t lo, hi, p;
  struct sbx_error *e = NULL;
  size_t i;

  if (proto)
    {
      *proto++ = '\0';
      for (i = 0; proto[i]; i++)
        proto[i] = (char) (proto[i] >= 'A' && proto[i] <= 'Z' ? proto[i] + 32 : proto[i]);
      if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
        return -1;
    }
  dash = strchr (s, '-');
  if (dash)
    *dash++ = '\0';
  if (sbx_parse_u32 (s, &lo, "port", &e) < 0 || (dash && sbx_parse_u32 (dash, &hi, "port", &e) < 0))
    {
      sbx_error_clear (&e);
      return -1;
    }
  if (! dash)
    hi = lo;
  if (lo == 0 || hi > 65535 || lo > hi)
    return -1;
  for (p = lo; p <= hi; p++)
    sbx_strv_push_take (out, xasprintf ("%u/%s", p, proto ? proto : "tcp"));
  return 0;
}

/* EXPOSE and VOLUME: each word expanded.  */
static int
plan_words (struct planner *pl, const struct stage_state *st, struct sbx_build_step *s,
            struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  cleanup_strv char **vars = step_vars (st);
  size_t i;

  s->words = xzalloc (sizeof (char *));
  for (i = 0; n->args[i]; i++)
    {
      cleanup_free char *w = NULL;

      if (plan_expand (pl, n, vars, n->args[i], &w, err) < 0)
        return -1;
      if (n->kw == SBX_BUILD_VOLUME && *w == '\0')
        return plan_node_err (pl, n, err, "VOLUME specified can not be an empty string");
      if (n->kw == SBX_BUILD_VOLUME)
        sbx_strv_push_take (&s->words, steal_ptr (&w));
      else if (add_ports (w, &s->words) < 0)
        return plan_node_err (pl, n, err, "invalid port `%s` (PORT[-PORT][/tcp|udp|sctp])", w);
    }
  return 0;
}

/* "/a" + "b/../c" → "/a/c"; a trailing '/' (or "." at the end) is kept as
   a trailing '/', which COPY reads as "a directory".  */
static char *
resolve_path (const char *workdir, const char *path, bool keep_slash)
{
  size_t len = strlen (path);
  bool dir = keep_slash
             && (len == 0 || path[len - 1] == '/' || strcmp (path, ".") == 0
                 || (len >= 2 && strcmp (path + len - 2, "/.") == 0));
  cleanup_free char *joined = path[0] == '/' ? xstrdup (path) : xasprintf ("%s/%s", workdir, path);
  char *c = build_path_clean (joined);

  if (dir && strcmp (c, "/") != 0)
    {
      char *d = xasprintf ("%s/", c);

      free (c);
      return d;
    }
  return c;
}

/* USER, WORKDIR, STOPSIGNAL: one expanded value.  */
static int
plan_value (struct planner *pl, struct stage_state *st, struct sbx_build_step *s,
            struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  cleanup_strv char **vars = step_vars (st);
  cleanup_free char *v = NULL;
  struct sbx_error *e = NULL;

  if (plan_expand (pl, n, vars, n->args[0], &v, err) < 0)
    return -1;
  if (*v == '\0')
    return plan_node_err (pl, n, err, "`%s` is empty after expansion", n->args[0]);
  switch (n->kw)
    {
    case SBX_BUILD_USER:
      free (st->user);
      st->user = xstrdup (v);
      break;
    case SBX_BUILD_WORKDIR:
      {
        char *w = resolve_path (st->workdir, v, false);

        free (st->workdir);
        st->workdir = w;
        free (v);
        v = xstrdup (w);
        break;
      }
    default: /* STOPSIGNAL */
      if (sbx_parse_signal (v, &e) < 0)
        {
          sbx_error_clear (&e);
          return plan_node_err (pl, n, err, "invalid signal `%s`", v);
        }
      break;
    }
  s->value = steal_ptr (&v);
  return 0;
}

static void
plan_healthcheck (const struct stage_state *st, struct sbx_build_step *s)
{
  const struct sbx_build_node *n = s->node;
  size_t i;

  (void) st;
  s->argv = xzalloc (sizeof (char *));
  if (n->none)
    {
      sbx_strv_push (&s->argv, "NONE");
      return;
    }
  sbx_strv_push (&s->argv, n->json ? "CMD" : "CMD-SHELL");
  for (i = 0; n->args[i]; i++)
    sbx_strv_push (&s->argv, n->args[i]);
}

/* --from=NAME|INDEX|IMAGE.  A stage may be named before or after (BuildKit
   builds a graph; cycles are refused when the target is selected); by
   index only an earlier stage.  */
static int
resolve_from (struct planner *pl, size_t stage, struct sbx_build_step *s, const char *from,
              struct sbx_error **err)
{
  const struct sbx_build_plan *plan = pl->plan;
  uint32_t idx;
  struct sbx_error *e = NULL;
  size_t k;

  for (k = 0; k < plan->n_stages; k++)
    if (plan->stages[k].name && strcasecmp (plan->stages[k].name, from) == 0)
      {
        if (k == stage)
          return plan_node_err (pl, s->node, err, "--from=%s refers to the stage itself", from);
        s->from_stage = (int) k;
        plan_add_dep (&pl->plan->stages[stage], (int) k);
        return 0;
      }
  if (from[0] >= '0' && from[0] <= '9')
    {
      if (sbx_parse_u32 (from, &idx, "stage index", &e) < 0 || idx >= stage)
        {
          sbx_error_clear (&e);
          return plan_node_err (pl, s->node, err,
                                "--from=%s: invalid stage index (stage %zu can only use "
                                "stages 0 to %zd)",
                                from, stage, (ssize_t) stage - 1);
        }
      s->from_stage = (int) idx;
      plan_add_dep (&pl->plan->stages[stage], (int) idx);
      return 0;
    }
  s->from_image = xstrdup (from);
  return 0;
}

/* Expand a flag's value into *OUT (untouched when the flag is absent).  */
static int
expand_flag (struct planner *pl, const struct sbx_build_node *n, char *const *vars,
             const char *name, char **out, struct sbx_error **err)
{
  const struct sbx_build_flag *f = build_node_flag (n, name);

  if (f == NULL || f->value == NULL)
    return 0;
  if (plan_expand (pl, n, vars, f->value, out, err) < 0)
    return -1;
  if (**out == '\0')
    return plan_node_err (pl, n, err, "--%s is empty after expansion", name);
  return 0;
}

static int
copy_flags (struct planner *pl, size_t stage, char *const *vars, struct sbx_build_step *s,
            struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  cleanup_free char *from = NULL;
  cleanup_free char *chmod = NULL;
  const struct sbx_build_flag *link = build_node_flag (n, "link");
  size_t i;

  if (expand_flag (pl, n, vars, "from", &from, err) < 0
      || expand_flag (pl, n, vars, "chown", &s->chown, err) < 0
      || expand_flag (pl, n, vars, "chmod", &chmod, err) < 0
      || expand_flag (pl, n, vars, "checksum", &s->checksum, err) < 0)
    return -1;
  if (from && resolve_from (pl, stage, s, from, err) < 0)
    return -1;
  if (chmod)
    {
      char *end = NULL;
      unsigned long m = strtoul (chmod, &end, 8);

      if (strspn (chmod, "01234567") != strlen (chmod) || strlen (chmod) > 5 || m > 07777)
        return plan_node_err (pl, n, err, "invalid chmod `%s` (an octal mode)", chmod);
      s->chmod = (int) m;
    }
  s->link = link && (link->value == NULL || strcmp (link->value, "true") == 0);
  s->excludes = xzalloc (sizeof (char *));
  for (i = 0; i < n->n_flags; i++)
    {
      char *x = NULL;

      if (strcmp (n->flags[i].name, "exclude") != 0)
        continue;
      if (plan_expand (pl, n, vars, n->flags[i].value, &x, err) < 0)
        return -1;
      sbx_strv_push_take (&s->excludes, x);
    }
  return 0;
}

static const struct sbx_build_heredoc *
find_heredoc (const struct sbx_build_node *n, const char *name)
{
  size_t i;

  for (i = 0; i < n->n_heredocs; i++)
    if (strcmp (n->heredocs[i].name, name) == 0)
      return &n->heredocs[i];
  return NULL;
}

/* One source: a here-document (its contents expanded unless its delimiter
   was quoted) or a path.  */
static int
copy_source (struct planner *pl, char *const *vars, struct sbx_build_step *s, const char *word,
             struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  struct sbx_build_source *src;
  const struct sbx_build_heredoc *h = NULL;
  cleanup_free char *name = NULL;
  bool chomp, expand;

  if (! n->json && build_parse_heredoc_word (word, pl->ast->escape, &name, &chomp, &expand))
    h = find_heredoc (n, name);
  s->sources = xrealloc (s->sources, xmul (s->n_sources + 1, sizeof *s->sources));
  src = &s->sources[s->n_sources++];
  memset (src, 0, sizeof *src);
  if (h == NULL)
    return plan_expand (pl, n, vars, word, &src->path, err);
  src->name = xstrdup (h->name);
  if (! h->expand)
    {
      src->content = xstrdup (h->content);
      return 0;
    }
  if (sbx_build_expand_heredoc (h->content, pl->ast->escape, vars, &src->content, err) < 0)
    return sbx_err_prefix (err, "%s:%u: %s: <<%s", pl->ast->file, n->line,
                           sbx_build_kw_name (n->kw), h->name);
  return 0;
}

static int
plan_copy (struct planner *pl, size_t stage, const struct stage_state *st, struct sbx_build_step *s,
           struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;
  cleanup_strv char **vars = step_vars (st);
  cleanup_free char *dest = NULL;
  size_t i, len = sbx_strv_len (n->args);

  if (copy_flags (pl, stage, vars, s, err) < 0)
    return -1;
  for (i = 0; i + 1 < len; i++)
    if (copy_source (pl, vars, s, n->args[i], err) < 0)
      return -1;
  if (plan_expand (pl, n, vars, n->args[len - 1], &dest, err) < 0)
    return -1;
  if (*dest == '\0')
    return plan_node_err (pl, n, err, "the destination is empty after expansion");
  s->dest = resolve_path (st->workdir, dest, true);
  return 0;
}

static void
add_quoted (struct sbx_strbuf *sb, const char *s)
{
  sbx_strbuf_addstr (sb, " \"");
  for (; s && *s; s++)
    {
      unsigned char c = (unsigned char) *s;

      if (c == '"' || c == '\\')
        sbx_strbuf_addf (sb, "\\%c", c);
      else if (c < 0x20 || c == 0x7f)
        sbx_strbuf_addf (sb, "\\x%02x", c);
      else
        sbx_strbuf_addch (sb, (char) c);
    }
  sbx_strbuf_addch (sb, '"');
}

static void
add_field (struct sbx_strbuf *sb, const char *name, const char *value)
{
  if (value == NULL)
    return;
  sbx_strbuf_addf (sb, " %s", name);
  add_quoted (sb, value);
}

/* One unambiguous line: every field that affects the result, quoted.  */
static char *
render_cache_text (const struct sbx_build_step *s)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  size_t i;

  sbx_strbuf_addstr (&sb, sbx_build_kw_name (s->kw));
  for (i = 0; s->argv && s->argv[i]; i++)
    add_field (&sb, "argv", s->argv[i]);
  add_field (&sb, "script", s->script);
  add_field (&sb, "network", s->kw == SBX_BUILD_RUN ? s->network : NULL);
  for (i = 0; s->run_args && s->run_args[i]; i++)
    add_field (&sb, "arg", s->run_args[i]);
  for (i = 0; i < s->n_kvs; i++)
    {
      add_field (&sb, "key", s->kvs[i].key);
      add_field (&sb, s->kvs[i].value ? "value" : "unset", s->kvs[i].value ? s->kvs[i].value : "");
    }
  for (i = 0; s->words && s->words[i]; i++)
    add_field (&sb, "word", s->words[i]);
  add_field (&sb, "value", s->value);
  for (i = 0; i < s->n_sources; i++)
    if (s->sources[i].path)
      add_field (&sb, "src", s->sources[i].path);
    else
      {
        add_field (&sb, "heredoc", s->sources[i].name);
        add_field (&sb, "content", s->sources[i].content);
      }
  add_field (&sb, "dest", s->dest);
  add_field (&sb, "chown", s->chown);
  if (s->chmod >= 0)
    sbx_strbuf_addf (&sb, " chmod %04o", (unsigned) s->chmod);
  if (s->from_stage >= 0)
    sbx_strbuf_addf (&sb, " from-stage %d", s->from_stage);
  add_field (&sb, "from-image", s->from_image);
  add_field (&sb, "checksum", s->checksum);
  for (i = 0; s->excludes && s->excludes[i]; i++)
    add_field (&sb, "exclude", s->excludes[i]);
  if (s->kw == SBX_BUILD_HEALTHCHECK)
    sbx_strbuf_addf (&sb, " interval %lld timeout %lld start %lld start-interval %lld retries %d",
                     (long long) s->node->health.interval_ns,
                     (long long) s->node->health.timeout_ns,
                     (long long) s->node->health.start_period_ns,
                     (long long) s->node->health.start_interval_ns, s->node->health.retries);
  return sbx_strbuf_detach (&sb);
}

static int
plan_step_kind (struct planner *pl, size_t stage, struct stage_state *st, struct sbx_build_step *s,
                struct sbx_error **err)
{
  const struct sbx_build_node *n = s->node;

  switch (n->kw)
    {
    case SBX_BUILD_ENV:
    case SBX_BUILD_LABEL:
      return plan_env_label (pl, st, s, err);
    case SBX_BUILD_MAINTAINER: /* deprecated: Docker's advice is this label */
      s->kw = SBX_BUILD_LABEL;
      step_add_kv (s, xstrdup ("maintainer"), xstrdup (n->args[0]));
      return 0;
    case SBX_BUILD_ARG:
      return plan_arg (pl, stage, st, s, err);
    case SBX_BUILD_RUN:
      plan_run (pl, st, s);
      return 0;
    case SBX_BUILD_CMD:
    case SBX_BUILD_ENTRYPOINT:
      s->argv = n->json ? sbx_strv_dup (n->args) : shell_argv (st, n->args[0]);
      return 0;
    case SBX_BUILD_SHELL:
      sbx_strv_free (st->shell);
      st->shell = sbx_strv_dup (n->args);
      s->argv = sbx_strv_dup (n->args);
      return 0;
    case SBX_BUILD_EXPOSE:
    case SBX_BUILD_VOLUME:
      return plan_words (pl, st, s, err);
    case SBX_BUILD_USER:
    case SBX_BUILD_WORKDIR:
    case SBX_BUILD_STOPSIGNAL:
      return plan_value (pl, st, s, err);
    case SBX_BUILD_HEALTHCHECK:
      plan_healthcheck (st, s);
      return 0;
    case SBX_BUILD_ONBUILD: /* stored for images built FROM this one, not run */
      s->value = xstrdup (n->args[0]);
      return 0;
    case SBX_BUILD_COPY:
    case SBX_BUILD_ADD:
      return plan_copy (pl, stage, st, s, err);
    case SBX_BUILD_FROM:
      break;
    }
  return plan_node_err (pl, n, err, "unexpected instruction in a stage");
}

int
plan_step (struct planner *pl, size_t stage, struct stage_state *st, struct sbx_build_step *s,
           struct sbx_error **err)
{
  if (plan_step_kind (pl, stage, st, s, err) < 0)
    return -1;
  s->cache_text = render_cache_text (s);
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The planner: AST → stages of expanded steps.  It applies Docker's scoping
   of build arguments, expands the instructions Docker expands (with the ENV
   and ARG values of their stage), resolves stage references and selects
   the stages the target needs.  Per-instruction work is in plan-step.c,
   what both share in plan-common.c.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

void
sbx_build_base_release (struct sbx_build_base *b)
{
  sbx_strv_free (b->env);
  free (b->workdir);
  sbx_strv_free (b->shell);
  free (b->user);
  memset (b, 0, sizeof *b);
}

/* "linux/amd64" for this host, in Go's GOARCH names.  */
static char *
host_platform (void)
{
  static const struct
  {
    const char *uname, *goarch;
  } arches[] = {
    { "x86_64", "amd64" },    { "aarch64", "arm64" }, { "i686", "386" },
    { "i386", "386" },        { "armv7l", "arm/v7" }, { "armv6l", "arm/v6" },
    { "ppc64le", "ppc64le" }, { "s390x", "s390x" },   { "riscv64", "riscv64" },
  };
  struct utsname u;
  size_t i;

  if (uname (&u) == 0)
    for (i = 0; i < SBX_N_ELEMENTS (arches); i++)
      if (strcmp (u.machine, arches[i].uname) == 0)
        return xasprintf ("linux/%s", arches[i].goarch);
  return xstrdup (uname (&u) == 0 ? u.machine : "linux/unknown");
}

/* TARGETPLATFORM, TARGETOS, … as BuildKit defines them for FROM lines.
   sbx builds for the host, so BUILD* and TARGET* are the same.  */
static void
add_platform_args (struct planner *pl, const char *platform)
{
  static const char *const prefixes[] = { "TARGET", "BUILD" };
  cleanup_free char *p = platform ? xstrdup (platform) : host_platform ();
  char *os = p, *arch = strchr (p, '/'), *variant = NULL;
  size_t i;

  if (arch)
    {
      *arch++ = '\0';
      variant = strchr (arch, '/');
      if (variant)
        *variant++ = '\0';
    }
  for (i = 0; i < SBX_N_ELEMENTS (prefixes); i++)
    {
      cleanup_free char *k = NULL;
      cleanup_free char *v = NULL;

      k = xasprintf ("%sPLATFORM", prefixes[i]);
      v = xasprintf ("%s%s%s%s%s", os, arch ? "/" : "", arch ? arch : "", variant ? "/" : "",
                     variant ? variant : "");
      sbx_env_set (&pl->auto_args, k, v);
      free (k);
      k = xasprintf ("%sOS", prefixes[i]);
      sbx_env_set (&pl->auto_args, k, os);
      free (k);
      k = xasprintf ("%sARCH", prefixes[i]);
      sbx_env_set (&pl->auto_args, k, arch ? arch : "");
      free (k);
      k = xasprintf ("%sVARIANT", prefixes[i]);
      sbx_env_set (&pl->auto_args, k, variant ? variant : "");
    }
}

static void
parse_build_args (struct planner *pl, char *const *args)
{
  size_t i;

  for (i = 0; args && args[i]; i++)
    {
      const char *eq = strchr (args[i], '=');
      cleanup_free char *name
          = eq ? xstrndup (args[i], (size_t) (eq - args[i])) : xstrdup (args[i]);

      if (! sbx_strv_contains (pl->given, name))
        sbx_strv_push (&pl->given, name);
      if (eq)
        sbx_env_set (&pl->build_args, name, eq + 1);
    }
}

/* ARGs before the first FROM: the scope of FROM lines.  */
static int
plan_meta_args (struct planner *pl, size_t n_meta, struct sbx_error **err)
{
  size_t i, j;

  for (i = 0; i < n_meta; i++)
    {
      const struct sbx_build_node *n = &pl->ast->nodes[i];

      for (j = 0; j < n->n_kvs; j++)
        {
          cleanup_strv char **vars = plan_vars (pl->meta, pl->auto_args);
          cleanup_free char *key = NULL;
          cleanup_free char *value = NULL;
          const char *given = sbx_env_get (pl->build_args, n->kvs[j].key);

          if (plan_expand (pl, n, vars, n->kvs[j].key, &key, err) < 0)
            return -1;
          plan_mark_consumed (pl, SIZE_MAX, key);
          if (given)
            value = xstrdup (given);
          else if (n->kvs[j].value && plan_expand (pl, n, vars, n->kvs[j].value, &value, err) < 0)
            return -1;
          if (value)
            sbx_env_set (&pl->meta, key, value);
        }
    }
  return 0;
}

static void
stage_state_release (struct stage_state *st)
{
  sbx_strv_free (st->env);
  sbx_strv_free (st->args);
  sbx_strv_free (st->shell);
  free (st->workdir);
  free (st->user);
  memset (st, 0, sizeof *st);
}

static void
steps_free (struct sbx_build_step *steps, size_t n)
{
  size_t i, j;

  for (i = 0; i < n; i++)
    {
      struct sbx_build_step *s = &steps[i];

      free (s->cache_text);
      sbx_strv_free (s->argv);
      free (s->script);
      sbx_strv_free (s->run_args);
      for (j = 0; j < s->n_kvs; j++)
        {
          free (s->kvs[j].key);
          free (s->kvs[j].value);
        }
      free (s->kvs);
      sbx_strv_free (s->words);
      free (s->value);
      for (j = 0; j < s->n_sources; j++)
        {
          free (s->sources[j].path);
          free (s->sources[j].name);
          free (s->sources[j].content);
        }
      free (s->sources);
      free (s->dest);
      free (s->chown);
      free (s->from_image);
      free (s->checksum);
      sbx_strv_free (s->excludes);
    }
  free (steps);
}

static void
stage_release (struct sbx_build_stage *s)
{
  free (s->name);
  free (s->base);
  sbx_strv_free (s->env);
  free (s->workdir);
  sbx_strv_free (s->shell);
  free (s->user);
  free (s->deps);
  steps_free (s->steps, s->n_steps);
  s->steps = NULL;
  s->n_steps = 0;
}

/* The state a stage starts from: its parent stage's end state, its base
   image's config (second pass only), or nothing.  */
static int
stage_start (struct planner *pl, struct sbx_build_stage *s, bool ask_base, struct stage_state *st,
             struct sbx_error **err)
{
  struct sbx_build_base b = { 0 };

  if (s->base_stage >= 0)
    {
      const struct sbx_build_stage *p = &pl->plan->stages[s->base_stage];

      st->env = sbx_strv_dup (p->env);
      st->shell = sbx_strv_dup (p->shell);
      st->workdir = xstrdup (p->workdir);
      st->user = p->user ? xstrdup (p->user) : NULL;
      return 0;
    }
  if (ask_base && strcasecmp (s->base, "scratch") != 0)
    {
      if (pl->opts->base (pl->opts->base_arg, s->base, &b, err) < 0)
        return sbx_err_prefix (err, "%s: base image `%s`", pl->ast->file, s->base);
      st->env = steal_ptr (&b.env);
      st->shell = steal_ptr (&b.shell);
      st->workdir = steal_ptr (&b.workdir);
      st->user = steal_ptr (&b.user);
      sbx_build_base_release (&b);
    }
  if (st->env == NULL)
    st->env = xzalloc (sizeof (char *));
  if (st->shell == NULL || st->shell[0] == NULL)
    {
      sbx_strv_free (st->shell);
      st->shell = NULL;
      sbx_strv_push (&st->shell, "/bin/sh");
      sbx_strv_push (&st->shell, "-c");
    }
  if (st->workdir == NULL || st->workdir[0] == '\0')
    {
      free (st->workdir);
      st->workdir = xstrdup ("/");
    }
  return 0;
}

/* Plan stage I (its FROM is resolved), from scratch.  */
static int
plan_stage (struct planner *pl, size_t i, bool ask_base, struct sbx_error **err)
{
  struct sbx_build_stage *s = &pl->plan->stages[i];
  struct stage_state st = { 0 };
  size_t k, first = pl->stage_first[i] + 1, end = pl->stage_end[i];
  int r = 0;

  steps_free (s->steps, s->n_steps);
  s->steps = xcalloc (end - first + 1, sizeof *s->steps);
  s->n_steps = 0;
  free (s->deps);
  s->deps = NULL;
  s->deps = xmalloc (sizeof (int));
  s->deps[0] = -1;
  if (s->base_stage >= 0)
    plan_add_dep (s, s->base_stage);
  if (stage_start (pl, s, ask_base, &st, err) < 0)
    r = -1;
  for (k = first; r == 0 && k < end; k++)
    {
      struct sbx_build_step *step = &s->steps[s->n_steps++];

      step->node = &pl->ast->nodes[k];
      step->kw = step->node->kw;
      step->chmod = -1;
      step->from_stage = -1;
      r = plan_step (pl, i, &st, step, err);
    }
  if (r == 0)
    {
      sbx_strv_free (s->env);
      sbx_strv_free (s->shell);
      free (s->workdir);
      free (s->user);
      s->env = steal_ptr (&st.env);
      s->shell = steal_ptr (&st.shell);
      s->workdir = steal_ptr (&st.workdir);
      s->user = steal_ptr (&st.user);
    }
  stage_state_release (&st);
  return r;
}

/* Create the stages and resolve their FROM lines with the meta args.  */
static int
plan_froms (struct planner *pl, struct sbx_error **err)
{
  const struct sbx_build_ast *ast = pl->ast;
  struct sbx_build_plan *plan = pl->plan;
  cleanup_strv char **vars = plan_vars (pl->meta, pl->auto_args);
  size_t i, k;

  for (i = 0; i < plan->n_stages; i++)
    {
      const struct sbx_build_node *n = &ast->nodes[pl->stage_first[i]];
      struct sbx_build_stage *s = &plan->stages[i];

      s->index = i;
      s->base_stage = -1;
      s->name = n->stage_name ? xstrdup (n->stage_name) : NULL;
      if (plan_expand (pl, n, vars, n->args[0], &s->base, err) < 0)
        return -1;
      if (s->base[0] == '\0')
        return plan_node_err (pl, n, err, "base name (%s) should not be blank", n->args[0]);
      /* Only an earlier stage can be a base: FROM is resolved in order.  */
      for (k = 0; k < i; k++)
        if (plan->stages[k].name && strcasecmp (plan->stages[k].name, s->base) == 0)
          s->base_stage = (int) k;
    }
  return 0;
}

/* Depth-first from the target: ORDER gets the needed stages, each after
   the stages it needs.  */
static int
visit (struct planner *pl, int i, int *state, size_t *n_order, struct sbx_error **err)
{
  struct sbx_build_stage *s = &pl->plan->stages[i];
  size_t k;

  if (state[i] == 2)
    return 0;
  if (state[i] == 1 && s->name)
    return sbx_err (err, EINVAL, "%s:%u: FROM: circular dependency detected on stage `%s`",
                    pl->ast->file, pl->ast->nodes[pl->stage_first[i]].line, s->name);
  if (state[i] == 1)
    return sbx_err (err, EINVAL, "%s:%u: FROM: circular dependency detected on stage %zu",
                    pl->ast->file, pl->ast->nodes[pl->stage_first[i]].line, s->index);
  state[i] = 1;
  for (k = 0; s->deps && s->deps[k] >= 0; k++)
    if (visit (pl, s->deps[k], state, n_order, err) < 0)
      return -1;
  state[i] = 2;
  s->needed = true;
  pl->plan->order[(*n_order)++] = i;
  return 0;
}

static int
select_target (struct planner *pl, struct sbx_error **err)
{
  struct sbx_build_plan *plan = pl->plan;
  cleanup_free int *state = xcalloc (plan->n_stages, sizeof (int));
  size_t i, n_order = 0;

  plan->target = plan->n_stages - 1;
  if (pl->opts->target && *pl->opts->target)
    {
      for (i = 0; i < plan->n_stages; i++)
        if (plan->stages[i].name && strcasecmp (plan->stages[i].name, pl->opts->target) == 0)
          break;
      if (i == plan->n_stages)
        return sbx_err (err, EINVAL, "%s: target stage `%s` could not be found", pl->ast->file,
                        pl->opts->target);
      plan->target = i;
    }
  plan->order = xcalloc (plan->n_stages + 1, sizeof (int));
  if (visit (pl, (int) plan->target, state, &n_order, err) < 0)
    return -1;
  plan->order[n_order] = -1;
  return 0;
}

static void
warn_unconsumed (struct planner *pl)
{
  size_t i, k;

  for (i = 0; pl->given && pl->given[i]; i++)
    {
      bool used
          = plan_is_proxy_arg (pl->given[i]) || sbx_strv_contains (pl->meta_declared, pl->given[i]);

      for (k = 0; ! used && k < pl->plan->n_stages; k++)
        used = pl->plan->stages[k].needed && sbx_strv_contains (pl->declared[k], pl->given[i]);
      if (! used)
        sbx_strv_push_take (&pl->plan->warnings,
                            xasprintf ("build-arg %s was not consumed by any ARG of the stages "
                                       "built",
                                       pl->given[i]));
    }
}

/* Find the stages: STAGE_FIRST[i] is the FROM node of stage i, STAGE_END[i]
   one past its last node.  Returns the number of meta ARG nodes.  */
static size_t
find_stages (struct planner *pl)
{
  const struct sbx_build_ast *ast = pl->ast;
  size_t i, n = 0, n_meta = 0;

  for (i = 0; i < ast->n_nodes; i++)
    n += ast->nodes[i].kw == SBX_BUILD_FROM;
  pl->stage_first = xcalloc (n + 1, sizeof (size_t));
  pl->stage_end = xcalloc (n + 1, sizeof (size_t));
  pl->declared = xcalloc (n + 1, sizeof (char **));
  pl->plan->stages = xcalloc (n + 1, sizeof *pl->plan->stages);
  pl->plan->n_stages = n;
  n = 0;
  for (i = 0; i < ast->n_nodes; i++)
    {
      if (ast->nodes[i].kw != SBX_BUILD_FROM)
        {
          n_meta += n == 0;
          continue;
        }
      if (n > 0)
        pl->stage_end[n - 1] = i;
      pl->stage_first[n++] = i;
    }
  if (n > 0)
    pl->stage_end[n - 1] = ast->n_nodes;
  return n_meta;
}

static int
plan_all (struct planner *pl, struct sbx_error **err)
{
  struct sbx_build_plan *plan = pl->plan;
  size_t i, n_meta = find_stages (pl);

  if (plan->n_stages == 0)
    return sbx_err (err, EINVAL, "%s: no FROM instruction", pl->ast->file);
  if (plan_meta_args (pl, n_meta, err) < 0 || plan_froms (pl, err) < 0)
    return -1;
  /* First pass without base images, to learn which stages the target
     needs; only those have their images' configs fetched.  */
  for (i = 0; i < plan->n_stages; i++)
    if (plan_stage (pl, i, false, err) < 0)
      return -1;
  if (select_target (pl, err) < 0)
    return -1;
  warn_unconsumed (pl);
  if (pl->opts->base == NULL)
    return 0;
  for (i = 0; i < plan->n_stages; i++)
    if (plan->stages[i].needed && plan_stage (pl, i, true, err) < 0)
      return -1;
  return 0;
}

int
sbx_build_plan (const struct sbx_build_ast *ast, const struct sbx_build_plan_opts *opts,
                struct sbx_build_plan **out, struct sbx_error **err)
{
  static const struct sbx_build_plan_opts no_opts = { 0 };
  struct planner pl = { .ast = ast, .opts = opts ? opts : &no_opts };
  size_t i;
  int r;

  pl.plan = xzalloc (sizeof *pl.plan);
  pl.plan->ast = ast;
  pl.plan->notes = sbx_strv_dup (ast->notes);
  pl.plan->warnings = xzalloc (sizeof (char *));
  parse_build_args (&pl, pl.opts->build_args);
  add_platform_args (&pl, pl.opts->platform);
  r = plan_all (&pl, err);
  pl.plan->meta_args = steal_ptr (&pl.meta);
  if (pl.plan->meta_args == NULL)
    pl.plan->meta_args = xzalloc (sizeof (char *));
  for (i = 0; i < pl.plan->n_stages; i++)
    sbx_strv_free (pl.declared[i]);
  free (pl.declared);
  free (pl.stage_first);
  free (pl.stage_end);
  sbx_strv_free (pl.build_args);
  sbx_strv_free (pl.given);
  sbx_strv_free (pl.auto_args);
  sbx_strv_free (pl.meta_declared);
  if (r < 0)
    {
      sbx_build_plan_free (pl.plan);
      return -1;
    }
  *out = pl.plan;
  return 0;
}

void
sbx_build_plan_free (struct sbx_build_plan *plan)
{
  size_t i;

  if (plan == NULL)
    return;
  for (i = 0; i < plan->n_stages; i++)
    stage_release (&plan->stages[i]);
  free (plan->stages);
  free (plan->order);
  sbx_strv_free (plan->meta_args);
  sbx_strv_free (plan->warnings);
  sbx_strv_free (plan->notes);
  free (plan);
}

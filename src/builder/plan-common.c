/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the planner's stage part (plan.c) and its per-instruction part
   (plan-step.c) share: errors that name the Dockerfile line, expansion
   with a stage's variables, the record of consumed build arguments and of
   stage dependencies.  */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Build arguments that Docker passes to RUN without an ARG and never warns
   about.  */
static const char *const proxy_args[] = {
  "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
  "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

bool
plan_is_proxy_arg (const char *name)
{
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (proxy_args); i++)
    if (strcmp (proxy_args[i], name) == 0)
      return true;
  return false;
}

int
plan_node_err (const struct planner *pl, const struct sbx_build_node *n, struct sbx_error **err,
               const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = build_node_verr (pl->ast->file, n, err, fmt, ap);
  va_end (ap);
  return r;
}

int
plan_expand (const struct planner *pl, const struct sbx_build_node *n, char *const *vars,
             const char *word, char **out, struct sbx_error **err)
{
  if (sbx_build_expand_word (word, pl->ast->escape, vars, out, err) < 0)
    return sbx_err_prefix (err, "%s:%u: %s", pl->ast->file, n->line, sbx_build_kw_name (n->kw));
  return 0;
}

void
plan_mark_consumed (struct planner *pl, size_t stage, const char *name)
{
  char ***set = stage == SIZE_MAX ? &pl->meta_declared : &pl->declared[stage];

  if (! sbx_strv_contains (*set, name))
    sbx_strv_push (set, name);
}

/* VARS for expansion: FIRST's entries, then those of SECOND whose names
   FIRST lacks (ENV wins over ARG, as Docker).  */
char **
plan_vars (char *const *first, char *const *second)
{
  char **v = sbx_strv_dup (first);
  size_t i;

  for (i = 0; second && second[i]; i++)
    {
      const char *eq = strchr (second[i], '=');
      cleanup_free char *k = xstrndup (second[i], eq ? (size_t) (eq - second[i]) : 0);

      if (eq && sbx_env_get (v, k) == NULL)
        sbx_strv_push (&v, second[i]);
    }
  return v;
}

void
plan_add_dep (struct sbx_build_stage *s, int dep)
{
  size_t n = 0;

  while (s->deps && s->deps[n] >= 0)
    {
      if (s->deps[n] == dep)
        return;
      n++;
    }
  s->deps = xrealloc (s->deps, xmul (n + 2, sizeof *s->deps));
  s->deps[n] = dep;
  s->deps[n + 1] = -1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the Dockerfile front end: sbx_build_parse() and
   sbx_build_plan() (with build args, a target, and a base-image callback),
   and, on the same bytes, sbx_build_expand_word() and the .dockerignore
   parser and matcher.  Checks, beyond "no crash, no leak, no UB":
   - a failure sets one line of message, "Dockerfile:…" for the parser and
     planner, ".dockerignore:…" for the ignore file;
   - a plan's order lists needed stages only, each after the stages it
     needs, ending with the target;
   - every step has a cache text and points at a node of the AST.
   abort() on a violation, which libFuzzer reports as a crash.
   See tests/fuzz/README.md.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "util/error.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fail (const char *what, const char *detail)
{
  fprintf (stderr, "fuzz-dockerfile: %s: %s\n", what, detail ? detail : "(null)");
  abort ();
}

static void
check_error (struct sbx_error **err, const char *prefix)
{
  if (*err == NULL || (*err)->msg == NULL)
    fail ("failure without a message", prefix);
  if (strncmp ((*err)->msg, prefix, strlen (prefix)) != 0)
    fail ("message without its location", (*err)->msg);
  if (strchr ((*err)->msg, '\n') != NULL)
    fail ("message of more than one line", (*err)->msg);
  sbx_error_clear (err);
}

static int
base_cb (void *arg, const char *image, struct sbx_build_base *out, struct sbx_error **err)
{
  (void) arg;
  if (strcmp (image, "fail") == 0)
    return sbx_err (err, 2, "no such image");
  sbx_strv_push (&out->env, "HOME=/root");
  sbx_strv_push (&out->env, "A=a b");
  return 0;
}

static void
check_plan (const struct sbx_build_ast *ast, const struct sbx_build_plan *plan)
{
  bool *done = calloc (plan->n_stages + 1, sizeof (bool));
  size_t i, k, n = 0;

  for (i = 0; plan->order[i] >= 0; i++)
    {
      const struct sbx_build_stage *s = &plan->stages[plan->order[i]];

      if (! s->needed || done[s->index])
        fail ("order lists a stage twice or one not needed", s->name);
      for (k = 0; s->deps[k] >= 0; k++)
        if (! done[s->deps[k]])
          fail ("a stage comes before one it needs", s->name);
      done[s->index] = true;
      n++;
    }
  if (n == 0 || (size_t) plan->order[n - 1] != plan->target)
    fail ("order does not end with the target", NULL);
  for (i = 0; i < plan->n_stages; i++)
    for (k = 0; k < plan->stages[i].n_steps; k++)
      {
        const struct sbx_build_step *st = &plan->stages[i].steps[k];

        if (st->cache_text == NULL || st->node < ast->nodes
            || st->node >= ast->nodes + ast->n_nodes)
          fail ("step without cache text or node", NULL);
      }
  free (done);
}

static void
fuzz_plan (const struct sbx_build_ast *ast, const char *target)
{
  static char *args[] = { "A=1", "B=two words", "HTTP_PROXY=x", "UNUSED", NULL };
  struct sbx_build_plan_opts opts
      = { .build_args = args, .target = target, .platform = "linux/arm64", .base = base_cb };
  struct sbx_build_plan *plan = NULL;
  struct sbx_error *err = NULL;

  if (sbx_build_plan (ast, &opts, &plan, &err) < 0)
    {
      check_error (&err, "Dockerfile");
      return;
    }
  check_plan (ast, plan);
  sbx_build_plan_free (plan);
}

static void
fuzz_ignore (const char *s, size_t size)
{
  static const char *const paths[] = { "a", "a/b", "docs/README.md", "x.pyc", "a/b/c/d.txt" };
  struct sbx_build_ignore *ig = NULL;
  struct sbx_error *err = NULL;
  size_t i;

  if (sbx_build_ignore_parse (".dockerignore", s, size, &ig, &err) < 0)
    {
      check_error (&err, ".dockerignore:");
      return;
    }
  for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
    {
      (void) sbx_build_ignore_is_excluded (ig, paths[i]);
      (void) sbx_build_ignore_may_reinclude (ig, paths[i]);
    }
  sbx_build_ignore_free (ig);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *const vars[] = { "A=a", "EMPTY=", NULL };
  struct sbx_build_ast *ast = NULL;
  struct sbx_error *err = NULL;
  char *s, *out = NULL;
  size_t i;

  if (size > 16384)
    return 0;
  s = malloc (size + 1);
  if (s == NULL)
    return 0;
  memcpy (s, data, size);
  s[size] = '\0';

  if (sbx_build_parse ("Dockerfile", s, size, &ast, &err) < 0)
    check_error (&err, "Dockerfile:");
  else
    {
      fuzz_plan (ast, NULL);
      for (i = 0; i < ast->n_nodes; i++)
        if (ast->nodes[i].kw == SBX_BUILD_FROM && ast->nodes[i].stage_name)
          {
            fuzz_plan (ast, ast->nodes[i].stage_name);
            break;
          }
      sbx_build_ast_free (ast);
    }
  if (sbx_build_expand_word (s, '\\', vars, &out, &err) < 0)
    check_error (&err, "");
  free (out);
  out = NULL;
  if (sbx_build_expand_heredoc (s, '`', vars, &out, &err) < 0)
    check_error (&err, "");
  free (out);
  fuzz_ignore (s, size);
  free (s);
  return 0;
}

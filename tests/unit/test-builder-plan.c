/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Planning: ARG scoping, expansion per instruction, stages and targets.  */
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct fixture
{
  struct sbx_build_ast *ast;
  struct sbx_build_plan *plan;
};

static void
fixture_free (struct fixture *f)
{
  sbx_build_plan_free (f->plan);
  sbx_build_ast_free (f->ast);
}
#define cleanup_fixture __attribute__ ((cleanup (fixture_free)))

/* Parse and plan TEXT; on failure *MSG gets the error (free() it).  */
static int
plan_text (const char *text, const struct sbx_build_plan_opts *opts, struct fixture *f, char **msg)
{
  struct sbx_error *err = NULL;

  memset (f, 0, sizeof *f);
  if (sbx_build_parse ("Dockerfile", text, strlen (text), &f->ast, &err) < 0
      || sbx_build_plan (f->ast, opts, &f->plan, &err) < 0)
    {
      if (msg)
        *msg = strdup (err->msg);
      else
        printf ("# unexpected error: %s\n", err->msg);
      sbx_error_free (err);
      return -1;
    }
  return 0;
}

static char *
plan_err (const char *text, const struct sbx_build_plan_opts *opts)
{
  cleanup_fixture struct fixture f;
  char *msg = NULL;

  if (plan_text (text, opts, &f, &msg) == 0)
    return NULL;
  return msg;
}

#define EXPECT_PLAN_ERR(text, opts, want)            \
  do                                                 \
    {                                                \
      cleanup_free char *m_ = plan_err (text, opts); \
      EXPECT_STREQ (m_, want);                       \
    }                                                \
  while (0)

static const struct sbx_build_step *
step (const struct fixture *f, size_t stage, size_t i)
{
  return &f->plan->stages[stage].steps[i];
}

TEST (plan_meta_arg_in_from_only)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "ARG BASE=debian\nARG TAG\nFROM ${BASE}:${TAG:-12}\n"
                             "RUN echo $BASE\nENV SEEN=\"${BASE}\"\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (f.plan->stages[0].base, "debian:12");
  EXPECT_STREQ (step (&f, 0, 1)->kvs[0].value, ""); /* not declared in the stage */
  EXPECT_EQ (sbx_strv_len (step (&f, 0, 0)->run_args), 0);
  ASSERT_EQ (sbx_strv_len (f.plan->meta_args), 1);
  EXPECT_STREQ (f.plan->meta_args[0], "BASE=debian");
}

TEST (plan_meta_arg_redeclared_in_stage)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "ARG V=1\nFROM a\nARG V\nENV E=$V\nFROM b\nARG V=2\nENV E=$V\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 1)->kvs[0].value, "1");
  EXPECT_STREQ (step (&f, 1, 1)->kvs[0].value, "2");
  EXPECT_STREQ (step (&f, 0, 0)->kvs[0].key, "V");
  EXPECT_STREQ (step (&f, 0, 0)->kvs[0].value, "1");
}

TEST (plan_build_args_override_defaults)
{
  cleanup_fixture struct fixture f;
  char *args[] = { "V=cli", "W=w", "HTTP_PROXY=http://p:3128", "UNUSED=1", "BARE", NULL };
  struct sbx_build_plan_opts opts = { .build_args = args };
  static const char text[] = "ARG V=1\nFROM img:$V\nARG V\nARG W=default\nARG NODEF\n"
                             "RUN env\n";

  ASSERT_EQ (plan_text (text, &opts, &f, NULL), 0);
  EXPECT_STREQ (f.plan->stages[0].base, "img:cli");
  EXPECT_STREQ (step (&f, 0, 1)->kvs[0].value, "w");
  EXPECT_NULL (step (&f, 0, 2)->kvs[0].value);
  ASSERT_EQ (sbx_strv_len (step (&f, 0, 3)->run_args), 3);
  EXPECT_STREQ (step (&f, 0, 3)->run_args[0], "V=cli");
  EXPECT_STREQ (step (&f, 0, 3)->run_args[1], "W=w");
  EXPECT_STREQ (step (&f, 0, 3)->run_args[2], "HTTP_PROXY=http://p:3128");
  ASSERT_EQ (sbx_strv_len (f.plan->warnings), 2);
  EXPECT_STREQ (f.plan->warnings[0],
                "build-arg UNUSED was not consumed by any ARG of the stages built");
  EXPECT_STRSTR (f.plan->warnings[1], "build-arg BARE ");
}

TEST (plan_env_wins_over_arg)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nARG X=arg\nENV X=env\nARG X=again\nWORKDIR /$X\nRUN x\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 3)->value, "/env");
  EXPECT_EQ (sbx_strv_len (step (&f, 0, 4)->run_args), 0);
}

TEST (plan_env_uses_values_from_before_the_instruction)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"
                             "ENV LEGACY \"two  words\" $abc\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 1)->kvs[1].value, "hello");
  EXPECT_STREQ (step (&f, 0, 2)->kvs[0].value, "bye");
  EXPECT_STREQ (step (&f, 0, 3)->kvs[0].value, "two  words bye");
  ASSERT_EQ (sbx_strv_len (f.plan->stages[0].env), 4);
  EXPECT_STREQ (sbx_env_get (f.plan->stages[0].env, "abc"), "bye");
}

TEST (plan_label_and_maintainer)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nENV V=1.0\nLABEL \"org.x.version\"=\"$V\" 'q'='$V'\n"
                             "MAINTAINER Jane $V\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 1)->kvs[0].key, "org.x.version");
  EXPECT_STREQ (step (&f, 0, 1)->kvs[0].value, "1.0");
  EXPECT_STREQ (step (&f, 0, 1)->kvs[1].value, "$V");
  EXPECT_EQ (step (&f, 0, 2)->kw, SBX_BUILD_LABEL);
  EXPECT_EQ (step (&f, 0, 2)->node->kw, SBX_BUILD_MAINTAINER);
  EXPECT_STREQ (step (&f, 0, 2)->kvs[0].key, "maintainer");
  EXPECT_STREQ (step (&f, 0, 2)->kvs[0].value, "Jane $V"); /* not expanded, as Docker */
}

TEST (plan_run_cmd_entrypoint_shell)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nENV X=1\nRUN echo $X\nSHELL [\"/bin/bash\", \"-c\"]\n"
                             "RUN [\"ls\", \"$X\"]\nCMD echo hi\nENTRYPOINT [\"/e\"]\n"
                             "RUN --network=none true\n";
  const struct sbx_build_step *s;

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  s = step (&f, 0, 1);
  ASSERT_EQ (sbx_strv_len (s->argv), 3);
  EXPECT_STREQ (s->argv[0], "/bin/sh");
  EXPECT_STREQ (s->argv[2], "echo $X"); /* the shell expands it */
  EXPECT_STREQ (s->network, "default");
  EXPECT_STREQ (step (&f, 0, 2)->argv[0], "/bin/bash");
  EXPECT_STREQ (step (&f, 0, 3)->argv[1], "$X");
  EXPECT_STREQ (step (&f, 0, 4)->argv[0], "/bin/bash");
  EXPECT_STREQ (step (&f, 0, 4)->argv[2], "echo hi");
  EXPECT_STREQ (step (&f, 0, 5)->argv[0], "/e");
  EXPECT_STREQ (step (&f, 0, 6)->network, "none");
  EXPECT_STREQ (f.plan->stages[0].shell[0], "/bin/bash");
}

TEST (plan_run_heredocs)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nRUN <<EOF\napt-get update\nEOF\n"
                             "RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"
                             "RUN python3 <<A && cat <<-B\nprint(2)\nA\n\tb\n\tB\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 0)->argv[2], "apt-get update\n");
  EXPECT_NULL (step (&f, 0, 0)->script);
  EXPECT_NULL (step (&f, 0, 1)->argv);
  EXPECT_STREQ (step (&f, 0, 1)->script, "#!/usr/bin/env python3\nprint(1)\n");
  EXPECT_STREQ (step (&f, 0, 2)->argv[2], "python3 <<A && cat <<-B\nprint(2)\nA\nb\nB");
}

TEST (plan_workdir_user_stopsignal)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nWORKDIR app\nWORKDIR sub/../x\nENV D=/abs\nWORKDIR $D//y/\n"
                             "USER ${U:-1000}:100\nSTOPSIGNAL SIGKILL\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 0)->value, "/app");
  EXPECT_STREQ (step (&f, 0, 1)->value, "/app/x");
  EXPECT_STREQ (step (&f, 0, 3)->value, "/abs/y");
  EXPECT_STREQ (step (&f, 0, 4)->value, "1000:100");
  EXPECT_STREQ (step (&f, 0, 5)->value, "SIGKILL");
  EXPECT_STREQ (f.plan->stages[0].workdir, "/abs/y");
  EXPECT_STREQ (f.plan->stages[0].user, "1000:100");
}

TEST (plan_expose_volume)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nARG P=8888\nEXPOSE $P 53/UDP 8000-8002/tcp\n"
                             "VOLUME [\"/data\", \"/x$P\"]\nVOLUME /a /b\n";
  const struct sbx_build_step *s;

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  s = step (&f, 0, 1);
  ASSERT_EQ (sbx_strv_len (s->words), 5);
  EXPECT_STREQ (s->words[0], "8888/tcp");
  EXPECT_STREQ (s->words[1], "53/udp");
  EXPECT_STREQ (s->words[2], "8000/tcp");
  EXPECT_STREQ (s->words[4], "8002/tcp");
  EXPECT_STREQ (step (&f, 0, 2)->words[1], "/x8888");
  EXPECT_EQ (sbx_strv_len (step (&f, 0, 3)->words), 2);
}

TEST (plan_healthcheck_onbuild)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a\nHEALTHCHECK --retries=2 CMD curl $URL\nHEALTHCHECK NONE\n"
                             "HEALTHCHECK CMD [\"/bin/check\", \"-v\"]\nONBUILD COPY $X /x\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 0)->argv[0], "CMD-SHELL");
  EXPECT_STREQ (step (&f, 0, 0)->argv[1], "curl $URL");
  EXPECT_EQ (step (&f, 0, 0)->node->health.retries, 2);
  EXPECT_STREQ (step (&f, 0, 1)->argv[0], "NONE");
  EXPECT_EQ (sbx_strv_len (step (&f, 0, 2)->argv), 3);
  EXPECT_STREQ (step (&f, 0, 2)->argv[0], "CMD");
  EXPECT_STREQ (step (&f, 0, 3)->value, "COPY $X /x");
  EXPECT_STRSTR (step (&f, 0, 0)->cache_text, "retries 2");
}

TEST (plan_copy_add)
{
  cleanup_fixture struct fixture f;
  static const char text[]
      = "FROM a AS build\nFROM b\nWORKDIR /w\nARG U=1000 M=640 SRC=src\n"
        "COPY --from=build --chown=$U:$U --chmod=$M --link --exclude=*.md $SRC/ \"ab\" ./\n"
        "COPY --from=0 x y/z\nCOPY --from=alpine:3 /etc/os-release .\n"
        "ADD --checksum=sha256:ab https://x/y.tgz /opt/\nCOPY [\"j k\", \"/l\"]\n"
        "COPY <<EOF <<'RAW' /etc/\nu=$U\nEOF\nu=$U\nRAW\n";
  const struct sbx_build_step *s;

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  s = step (&f, 1, 2);
  EXPECT_EQ (s->from_stage, 0);
  EXPECT_STREQ (s->chown, "1000:1000");
  EXPECT_EQ (s->chmod, 0640);
  EXPECT_TRUE (s->link);
  ASSERT_EQ (sbx_strv_len (s->excludes), 1);
  ASSERT_EQ (s->n_sources, 2);
  EXPECT_STREQ (s->sources[0].path, "src/");
  EXPECT_STREQ (s->sources[1].path, "ab"); /* each word is unquoted */
  EXPECT_STREQ (s->dest, "/w/");
  EXPECT_STREQ (step (&f, 1, 3)->dest, "/w/y/z");
  EXPECT_EQ (step (&f, 1, 3)->from_stage, 0);
  EXPECT_EQ (step (&f, 1, 4)->from_stage, -1);
  EXPECT_STREQ (step (&f, 1, 4)->from_image, "alpine:3");
  EXPECT_STREQ (step (&f, 1, 4)->dest, "/w/");
  EXPECT_STREQ (step (&f, 1, 5)->checksum, "sha256:ab");
  EXPECT_EQ (step (&f, 1, 5)->chmod, -1);
  EXPECT_STREQ (step (&f, 1, 6)->sources[0].path, "j k");
  s = step (&f, 1, 7);
  ASSERT_EQ (s->n_sources, 2);
  EXPECT_NULL (s->sources[0].path);
  EXPECT_STREQ (s->sources[0].name, "EOF");
  EXPECT_STREQ (s->sources[0].content, "u=1000\n");
  EXPECT_STREQ (s->sources[1].content, "u=$U\n");
  EXPECT_TRUE (f.plan->stages[0].needed);
  EXPECT_EQ (f.plan->stages[1].deps[0], 0);
  EXPECT_EQ (f.plan->stages[1].deps[1], -1);
}

TEST (plan_copy_errors)
{
  EXPECT_PLAN_ERR ("FROM a\nCOPY --chmod=999 a b\n", NULL,
                   "Dockerfile:2: COPY: invalid chmod `999` (an octal mode)");
  EXPECT_PLAN_ERR ("FROM a\nCOPY --chmod=u+x a b\n", NULL,
                   "Dockerfile:2: COPY: invalid chmod `u+x` (an octal mode)");
  EXPECT_PLAN_ERR ("FROM a\nCOPY --from=1 a b\n", NULL,
                   "Dockerfile:2: COPY: --from=1: invalid stage index (stage 0 can only use "
                   "stages 0 to -1)");
  EXPECT_PLAN_ERR ("FROM a AS me\nCOPY --from=me a b\n", NULL,
                   "Dockerfile:2: COPY: --from=me refers to the stage itself");
  EXPECT_PLAN_ERR ("FROM a\nCOPY --from=$NONE a b\n", NULL,
                   "Dockerfile:2: COPY: --from is empty after expansion");
  EXPECT_PLAN_ERR ("FROM a\nCOPY a $NONE\n", NULL,
                   "Dockerfile:2: COPY: the destination is empty after expansion");
  EXPECT_PLAN_ERR ("FROM a\nCOPY ${X a\n", NULL, "Dockerfile:2: COPY: syntax error: missing '}'");
  EXPECT_PLAN_ERR ("FROM a\nCOPY <<EOF /x\n${y\n}\nEOF\n", NULL,
                   "Dockerfile:2: COPY: <<EOF: missing ':' in substitution (\\x0a)");
}

TEST (plan_value_errors)
{
  EXPECT_PLAN_ERR ("FROM a\nEXPOSE 0\n", NULL,
                   "Dockerfile:2: EXPOSE: invalid port `0` (PORT[-PORT][/tcp|udp|sctp])");
  EXPECT_PLAN_ERR ("FROM a\nEXPOSE 80/icmp\n", NULL,
                   "Dockerfile:2: EXPOSE: invalid port `80/icmp` (PORT[-PORT][/tcp|udp|sctp])");
  EXPECT_PLAN_ERR ("FROM a\nEXPOSE 90-80\n", NULL,
                   "Dockerfile:2: EXPOSE: invalid port `90-80` (PORT[-PORT][/tcp|udp|sctp])");
  EXPECT_PLAN_ERR ("FROM a\nEXPOSE 70000\n", NULL,
                   "Dockerfile:2: EXPOSE: invalid port `70000` (PORT[-PORT][/tcp|udp|sctp])");
  EXPECT_PLAN_ERR ("FROM a\nVOLUME [\"\"]\n", NULL,
                   "Dockerfile:2: VOLUME: VOLUME specified can not be an empty string");
  EXPECT_PLAN_ERR ("FROM a\nUSER $NOBODY\n", NULL,
                   "Dockerfile:2: USER: `$NOBODY` is empty after expansion");
  EXPECT_PLAN_ERR ("FROM a\nSTOPSIGNAL SIGNOPE\n", NULL,
                   "Dockerfile:2: STOPSIGNAL: invalid signal `SIGNOPE`");
  EXPECT_PLAN_ERR ("FROM a\nENV ${E}=x\n", NULL, "Dockerfile:2: ENV: ENV names can not be blank");
  EXPECT_PLAN_ERR ("FROM a\nENV A=${B:?unset}\n", NULL, "Dockerfile:2: ENV: B: unset");
  EXPECT_PLAN_ERR ("FROM a\nARG ${E}\n", NULL, "Dockerfile:2: ARG: invalid ARG name ``");
  EXPECT_PLAN_ERR ("FROM $NOTHING\n", NULL,
                   "Dockerfile:1: FROM: base name ($NOTHING) should not be blank");
  EXPECT_PLAN_ERR ("ARG X=${\nFROM a\n", NULL, "Dockerfile:1: ARG: syntax error: missing '}'");
}

static const char multi[] = "FROM base AS deps\nRUN fetch\n"
                            "FROM deps AS build\nCOPY --from=tools /t /t\nRUN make\n"
                            "FROM alpine AS tools\nRUN tools\n"
                            "FROM scratch AS test\nCOPY --from=build /out /\n"
                            "FROM debian AS final\nCOPY --from=build /app /app\n";

TEST (plan_target_default_is_last_stage)
{
  cleanup_fixture struct fixture f;

  ASSERT_EQ (plan_text (multi, NULL, &f, NULL), 0);
  ASSERT_EQ (f.plan->n_stages, 5);
  EXPECT_EQ (f.plan->target, 4);
  EXPECT_TRUE (f.plan->stages[0].needed);
  EXPECT_TRUE (f.plan->stages[1].needed);
  EXPECT_TRUE (f.plan->stages[2].needed);
  EXPECT_FALSE (f.plan->stages[3].needed);
  EXPECT_TRUE (f.plan->stages[4].needed);
  EXPECT_EQ (f.plan->stages[1].base_stage, 0);
  /* each stage after those it needs; tools (2) before build (1) */
  EXPECT_EQ (f.plan->order[0], 0);
  EXPECT_EQ (f.plan->order[1], 2);
  EXPECT_EQ (f.plan->order[2], 1);
  EXPECT_EQ (f.plan->order[3], 4);
  EXPECT_EQ (f.plan->order[4], -1);
}

TEST (plan_target_selects_what_it_needs)
{
  cleanup_fixture struct fixture f;
  cleanup_fixture struct fixture g;
  struct sbx_build_plan_opts tools = { .target = "TOOLS" };
  struct sbx_build_plan_opts deps = { .target = "deps" };

  ASSERT_EQ (plan_text (multi, &tools, &f, NULL), 0);
  EXPECT_EQ (f.plan->target, 2);
  EXPECT_FALSE (f.plan->stages[0].needed);
  EXPECT_TRUE (f.plan->stages[2].needed);
  EXPECT_EQ (f.plan->order[0], 2);
  EXPECT_EQ (f.plan->order[1], -1);
  ASSERT_EQ (plan_text (multi, &deps, &g, NULL), 0);
  EXPECT_EQ (g.plan->order[0], 0);
  EXPECT_EQ (g.plan->order[1], -1);
}

TEST (plan_target_errors)
{
  struct sbx_build_plan_opts nope = { .target = "nope" };

  EXPECT_PLAN_ERR (multi, &nope, "Dockerfile: target stage `nope` could not be found");
  EXPECT_PLAN_ERR ("FROM a AS x\nCOPY --from=y a b\nFROM b AS y\nCOPY --from=x a b\n", NULL,
                   "Dockerfile:3: FROM: circular dependency detected on stage `y`");
}

TEST (plan_from_earlier_stage_inherits_state)
{
  cleanup_fixture struct fixture f;
  static const char text[] = "FROM a AS one\nENV P=/opt\nWORKDIR $P\nSHELL [\"/bin/ash\", "
                             "\"-c\"]\nUSER app\nFROM one\nRUN x\nWORKDIR sub\n";

  ASSERT_EQ (plan_text (text, NULL, &f, NULL), 0);
  EXPECT_EQ (f.plan->stages[1].base_stage, 0);
  EXPECT_STREQ (step (&f, 1, 0)->argv[0], "/bin/ash");
  EXPECT_STREQ (step (&f, 1, 1)->value, "/opt/sub");
  EXPECT_STREQ (f.plan->stages[1].user, "app");
  EXPECT_STREQ (sbx_env_get (f.plan->stages[1].env, "P"), "/opt");
}

struct base_calls
{
  char **asked;
};

static int
fake_base (void *arg, const char *image, struct sbx_build_base *out, struct sbx_error **err)
{
  struct base_calls *c = arg;

  sbx_strv_push (&c->asked, image);
  if (strcmp (image, "broken") == 0)
    return sbx_err (err, ENOENT, "no such image");
  sbx_strv_push (&out->env, "PATH=/usr/bin");
  sbx_strv_push (&out->env, "HOME=/root");
  out->workdir = xstrdup ("/srv");
  sbx_strv_push (&out->shell, "/bin/zsh");
  sbx_strv_push (&out->shell, "-c");
  return 0;
}

TEST (plan_base_image_config_takes_part)
{
  cleanup_fixture struct fixture f;
  struct base_calls calls = { 0 };
  struct sbx_build_plan_opts opts = { .base = fake_base, .base_arg = &calls, .target = "two" };
  static const char text[] = "FROM unused AS one\nFROM py AS two\nWORKDIR app\nENV H=$HOME\n"
                             "RUN x\nFROM scratch\n";

  ASSERT_EQ (plan_text (text, &opts, &f, NULL), 0);
  ASSERT_EQ (sbx_strv_len (calls.asked), 1); /* only the needed stage's image */
  EXPECT_STREQ (calls.asked[0], "py");
  EXPECT_STREQ (step (&f, 1, 0)->value, "/srv/app");
  EXPECT_STREQ (step (&f, 1, 1)->kvs[0].value, "/root");
  EXPECT_STREQ (step (&f, 1, 2)->argv[0], "/bin/zsh");
  sbx_strv_free (calls.asked);
}

TEST (plan_base_image_failure)
{
  struct base_calls calls = { 0 };
  struct sbx_build_plan_opts opts = { .base = fake_base, .base_arg = &calls };

  EXPECT_PLAN_ERR ("FROM broken\n", &opts, "Dockerfile: base image `broken`: no such image");
  sbx_strv_free (calls.asked);
}

TEST (plan_platform_args)
{
  cleanup_fixture struct fixture f;
  struct sbx_build_plan_opts opts = { .platform = "linux/arm/v7" };
  static const char text[] = "FROM img-$TARGETARCH\nARG TARGETPLATFORM\nARG TARGETVARIANT\n"
                             "ENV P=$TARGETPLATFORM V=$TARGETVARIANT O=$TARGETOS\n";

  ASSERT_EQ (plan_text (text, &opts, &f, NULL), 0);
  EXPECT_STREQ (f.plan->stages[0].base, "img-arm");
  EXPECT_STREQ (step (&f, 0, 2)->kvs[0].value, "linux/arm/v7");
  EXPECT_STREQ (step (&f, 0, 2)->kvs[1].value, "v7");
  EXPECT_STREQ (step (&f, 0, 2)->kvs[2].value, ""); /* TARGETOS not declared */
}

TEST (plan_host_platform_default)
{
  cleanup_fixture struct fixture f;

  ASSERT_EQ (plan_text ("FROM x-$BUILDOS\n", NULL, &f, NULL), 0);
  EXPECT_STREQ (f.plan->stages[0].base, "x-linux");
}

TEST (plan_cache_text_is_one_unambiguous_line)
{
  cleanup_fixture struct fixture f;

  ASSERT_EQ (plan_text ("FROM a\nRUN echo \"a\nCOPY a b\n", NULL, &f, NULL), 0);
  EXPECT_STREQ (step (&f, 0, 0)->cache_text,
                "RUN argv \"/bin/sh\" argv \"-c\" argv \"echo \\\"a\" network \"default\"");
  EXPECT_STREQ (step (&f, 0, 1)->cache_text, "COPY src \"a\" dest \"/b\"");
}

TEST (plan_notes_carry_over)
{
  cleanup_fixture struct fixture f;

  ASSERT_EQ (plan_text ("# syntax=x\nFROM a\n", NULL, &f, NULL), 0);
  EXPECT_EQ (sbx_strv_len (f.plan->notes), 1);
  EXPECT_EQ (sbx_strv_len (f.plan->warnings), 0);
}

TEST_MAIN

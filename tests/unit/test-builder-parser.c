/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dockerfile parsing: every instruction, its forms and its errors.  */
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

static struct sbx_build_ast *
parse_ok (const char *text)
{
  struct sbx_build_ast *ast = NULL;
  struct sbx_error *err = NULL;

  if (sbx_build_parse ("Dockerfile", text, strlen (text), &ast, &err) < 0)
    {
      printf ("# unexpected error: %s\n", err->msg);
      sbx_error_free (err);
      return NULL;
    }
  return ast;
}

static char *
parse_err (const char *text)
{
  struct sbx_build_ast *ast = NULL;
  struct sbx_error *err = NULL;
  char *msg;

  if (sbx_build_parse ("Dockerfile", text, strlen (text), &ast, &err) == 0)
    {
      sbx_build_ast_free (ast);
      return NULL;
    }
  msg = strdup (err->msg);
  sbx_error_free (err);
  return msg;
}

/* The one node after "FROM a\n" in TEXT.  */
#define SECOND(ast) (&(ast)->nodes[1])

#define EXPECT_ERR(text, want)                  \
  do                                            \
    {                                           \
      cleanup_free char *m_ = parse_err (text); \
      EXPECT_STREQ (m_, want);                  \
    }                                           \
  while (0)

TEST (parse_from_forms)
{
  struct sbx_build_ast *ast
      = parse_ok ("from busybox\nFROM --platform=linux/arm64 debian:12 As Build-1.x\n"
                  "FROM scratch\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->n_nodes, 3);
  EXPECT_EQ (ast->nodes[0].kw, SBX_BUILD_FROM);
  EXPECT_STREQ (ast->nodes[0].args[0], "busybox");
  EXPECT_NULL (ast->nodes[0].stage_name);
  EXPECT_STREQ (ast->nodes[1].args[0], "debian:12");
  EXPECT_STREQ (ast->nodes[1].stage_name, "build-1.x");
  EXPECT_STREQ (build_node_flag (&ast->nodes[1], "platform")->value, "linux/arm64");
  ASSERT_EQ (sbx_strv_len (ast->notes), 1);
  EXPECT_STREQ (ast->notes[0],
                "Dockerfile:2: FROM: --platform: ignored (sbx builds for this host's platform)");
  EXPECT_STREQ (ast->nodes[2].args[0], "scratch");
  sbx_build_ast_free (ast);
}

TEST (parse_from_errors)
{
  EXPECT_ERR ("FROM\n", "Dockerfile:1: FROM: FROM requires either one or three arguments");
  EXPECT_ERR ("FROM a b\n", "Dockerfile:1: FROM: FROM requires either one or three arguments");
  EXPECT_ERR ("FROM a is b\n",
              "Dockerfile:1: FROM: expected `FROM IMAGE [AS NAME]`, got `is` instead of AS");
  EXPECT_ERR ("FROM a AS 1b\n", "Dockerfile:1: FROM: invalid name for build stage: `1b`, name "
                                "can't start with a number or contain symbols");
  EXPECT_ERR ("FROM a AS b$\n", "Dockerfile:1: FROM: invalid name for build stage: `b$`, name "
                                "can't start with a number or contain symbols");
  EXPECT_ERR ("FROM a AS x\nFROM b AS X\n",
              "Dockerfile:2: FROM: duplicate stage name `x` (first at line 1)");
  EXPECT_ERR ("FROM --platform a\n", "Dockerfile:1: FROM: --platform needs a value");
  EXPECT_ERR ("FROM --from=x a\n", "Dockerfile:1: FROM: unknown flag: --from");
}

TEST (parse_structure_errors)
{
  EXPECT_ERR ("", "Dockerfile:1: file with no instructions");
  EXPECT_ERR ("# only a comment\n\n", "Dockerfile:2: file with no instructions");
  EXPECT_ERR ("ARG a\nARG b\n", "Dockerfile:2: no FROM instruction");
  EXPECT_ERR ("ARG a\nRUN x\nFROM a\n", "Dockerfile:2: RUN: no build stage in current context "
                                        "(the first instruction must be FROM)");
  EXPECT_ERR ("FROM a\nFETCH x\n", "Dockerfile:2: unknown instruction: FETCH");
  EXPECT_ERR ("FROM a\n  =x\n", "Dockerfile:2: unknown instruction: =x");
}

TEST (parse_run_shell_and_exec)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nRUN  echo \"a  b\"  \nrun [\"ls\", \"-l\"]\n"
                                        "RUN [ \"broken\" \nRUN [\"a\", 1]\nRUN []\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_FALSE (ast->nodes[1].json);
  EXPECT_STREQ (ast->nodes[1].args[0], "echo \"a  b\"");
  EXPECT_TRUE (ast->nodes[2].json);
  ASSERT_EQ (sbx_strv_len (ast->nodes[2].args), 2);
  EXPECT_STREQ (ast->nodes[2].args[1], "-l");
  /* not valid JSON, or not all strings: shell form, as BuildKit */
  EXPECT_FALSE (ast->nodes[3].json);
  EXPECT_STREQ (ast->nodes[3].args[0], "[ \"broken\"");
  EXPECT_FALSE (ast->nodes[4].json);
  EXPECT_TRUE (ast->nodes[5].json);
  EXPECT_EQ (sbx_strv_len (ast->nodes[5].args), 0);
  sbx_build_ast_free (ast);
}

TEST (parse_run_flags)
{
  struct sbx_build_ast *ast
      = parse_ok ("FROM a\nRUN --network=host --mount=type=cache,target=/root/.cache x\n"
                  "RUN --network=none -- --not-a-flag\n");
  const struct sbx_build_node *n;

  ASSERT_NOT_NULL (ast);
  n = SECOND (ast);
  ASSERT_EQ (n->n_flags, 2);
  EXPECT_STREQ (build_node_flag (n, "network")->value, "host");
  EXPECT_STREQ (build_node_flag (n, "mount")->value, "type=cache,target=/root/.cache");
  EXPECT_STREQ (n->args[0], "x");
  ASSERT_EQ (sbx_strv_len (ast->notes), 1);
  EXPECT_STRSTR (ast->notes[0], "Dockerfile:2: RUN: --mount=type=cache: ignored");
  EXPECT_STREQ (ast->nodes[2].args[0], "--not-a-flag");
  sbx_build_ast_free (ast);
}

TEST (parse_run_errors)
{
  EXPECT_ERR ("FROM a\nRUN\n", "Dockerfile:2: RUN: RUN requires at least one argument");
  EXPECT_ERR ("FROM a\nRUN --network=bridge x\n",
              "Dockerfile:2: RUN: --network must be default, none or host, not `bridge`");
  EXPECT_ERR ("FROM a\nRUN --network x\n", "Dockerfile:2: RUN: --network needs a value");
  EXPECT_ERR ("FROM a\nRUN --network= x\n", "Dockerfile:2: RUN: --network needs a value");
  EXPECT_ERR ("FROM a\nRUN --network=none --network=host x\n",
              "Dockerfile:2: RUN: duplicate flag specified: --network");
  EXPECT_ERR ("FROM a\nRUN --mount=type=bind,source=.,target=/s x\n",
              "Dockerfile:2: RUN: --mount=type=bind is not supported (only type=cache, ignored)");
  EXPECT_ERR ("FROM a\nRUN --mount=target=/s x\n",
              "Dockerfile:2: RUN: --mount=type=bind is not supported (only type=cache, ignored)");
  EXPECT_ERR ("FROM a\nRUN --mount=type=secret,id=x x\n",
              "Dockerfile:2: RUN: --mount=type=secret is not supported (only type=cache, "
              "ignored)");
  EXPECT_ERR ("FROM a\nRUN --security=insecure x\n", "Dockerfile:2: RUN: unknown flag: --security");
}

TEST (parse_cmd_entrypoint)
{
  struct sbx_build_ast *ast
      = parse_ok ("FROM a\nCMD [\"jupyter\", \"lab\", \"--ip=0.0.0.0\"]\nENTRYPOINT exec x\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (ast->nodes[1].kw, SBX_BUILD_CMD);
  EXPECT_TRUE (ast->nodes[1].json);
  EXPECT_STREQ (ast->nodes[1].args[2], "--ip=0.0.0.0");
  EXPECT_EQ (ast->nodes[2].kw, SBX_BUILD_ENTRYPOINT);
  EXPECT_FALSE (ast->nodes[2].json);
  EXPECT_STREQ (ast->nodes[2].args[0], "exec x");
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nCMD\n", "Dockerfile:2: CMD: CMD requires at least one argument");
  EXPECT_ERR ("FROM a\nCMD --x=1 a\n", "Dockerfile:2: CMD: unknown flag: --x");
  EXPECT_ERR ("FROM a\nENTRYPOINT\n",
              "Dockerfile:2: ENTRYPOINT: ENTRYPOINT requires at least one argument");
}

TEST (parse_shell)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nSHELL [\"/bin/bash\", \"-euo\", \"pipefail\", "
                                        "\"-c\"]\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_TRUE (SECOND (ast)->json);
  EXPECT_EQ (sbx_strv_len (SECOND (ast)->args), 4);
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nSHELL /bin/bash -c\n",
              "Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form");
  EXPECT_ERR ("FROM a\nSHELL []\n", "Dockerfile:2: SHELL: SHELL requires at least one argument");
}

TEST (parse_env_forms)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nENV A=1 B=\"two words\" C=a\\ b D=\nENV LEGACY "
                                        "value with  spaces\nENV E \"q\"\n");
  const struct sbx_build_node *n;

  ASSERT_NOT_NULL (ast);
  n = SECOND (ast);
  ASSERT_EQ (n->n_kvs, 4);
  EXPECT_STREQ (n->kvs[0].key, "A");
  EXPECT_STREQ (n->kvs[0].value, "1");
  EXPECT_STREQ (n->kvs[1].value, "\"two words\""); /* quotes go at expansion */
  EXPECT_STREQ (n->kvs[2].value, "a\\ b");
  EXPECT_STREQ (n->kvs[3].value, "");
  n = &ast->nodes[2];
  ASSERT_EQ (n->n_kvs, 1);
  EXPECT_STREQ (n->kvs[0].key, "LEGACY");
  EXPECT_STREQ (n->kvs[0].value, "value with  spaces");
  EXPECT_STREQ (ast->nodes[3].kvs[0].value, "\"q\"");
  sbx_build_ast_free (ast);
}

TEST (parse_env_errors)
{
  EXPECT_ERR ("FROM a\nENV\n", "Dockerfile:2: ENV: ENV requires at least one argument");
  EXPECT_ERR ("FROM a\nENV A\n", "Dockerfile:2: ENV: ENV must have two arguments");
  EXPECT_ERR ("FROM a\nENV A=1 B\n",
              "Dockerfile:2: ENV: can't find = in `B`, must be of the form: name=value");
  EXPECT_ERR ("FROM a\nENV =1\n", "Dockerfile:2: ENV: ENV names can not be blank");
  EXPECT_ERR ("FROM a\nLABEL a=b =c\n", "Dockerfile:2: LABEL: LABEL names can not be blank");
}

TEST (parse_label_and_maintainer)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nLABEL \"com.example.x\"=\"a b\" v=1\n"
                                        "LABEL legacy form here\nMAINTAINER Jane <j@x.org>\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (SECOND (ast)->n_kvs, 2);
  EXPECT_STREQ (SECOND (ast)->kvs[0].key, "\"com.example.x\"");
  EXPECT_STREQ (ast->nodes[2].kvs[0].key, "legacy");
  EXPECT_STREQ (ast->nodes[2].kvs[0].value, "form here");
  EXPECT_EQ (ast->nodes[3].kw, SBX_BUILD_MAINTAINER);
  EXPECT_STREQ (ast->nodes[3].args[0], "Jane <j@x.org>");
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nMAINTAINER\n",
              "Dockerfile:2: MAINTAINER: MAINTAINER requires exactly one argument");
}

TEST (parse_arg_forms)
{
  struct sbx_build_ast *ast = parse_ok ("ARG V=1\nFROM a\nARG A B=2 C=\"x y\" D=\n");
  const struct sbx_build_node *n;

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (ast->nodes[0].kw, SBX_BUILD_ARG);
  n = &ast->nodes[2];
  ASSERT_EQ (n->n_kvs, 4);
  EXPECT_STREQ (n->kvs[0].key, "A");
  EXPECT_NULL (n->kvs[0].value);
  EXPECT_STREQ (n->kvs[1].value, "2");
  EXPECT_STREQ (n->kvs[2].value, "\"x y\"");
  EXPECT_STREQ (n->kvs[3].value, "");
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nARG\n", "Dockerfile:2: ARG: ARG requires at least one argument");
  EXPECT_ERR ("FROM a\nARG =x\n", "Dockerfile:2: ARG: ARG names can not be blank");
}

TEST (parse_expose_volume)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nEXPOSE 80 443/tcp 53/udp\nVOLUME /a /b\n"
                                        "VOLUME [\"/c d\", \"/e\"]\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (sbx_strv_len (SECOND (ast)->args), 3);
  EXPECT_STREQ (SECOND (ast)->args[2], "53/udp");
  EXPECT_FALSE (ast->nodes[2].json);
  EXPECT_EQ (sbx_strv_len (ast->nodes[2].args), 2);
  EXPECT_TRUE (ast->nodes[3].json);
  EXPECT_STREQ (ast->nodes[3].args[0], "/c d");
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nEXPOSE\n", "Dockerfile:2: EXPOSE: EXPOSE requires at least one argument");
  EXPECT_ERR ("FROM a\nVOLUME []\n", "Dockerfile:2: VOLUME: VOLUME requires at least one argument");
}

TEST (parse_user_workdir_stopsignal)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nUSER 1000:1000\nWORKDIR /a b\nSTOPSIGNAL "
                                        "SIGTERM\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_STREQ (SECOND (ast)->args[0], "1000:1000");
  EXPECT_STREQ (ast->nodes[2].args[0], "/a b");
  EXPECT_STREQ (ast->nodes[3].args[0], "SIGTERM");
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nUSER a b\n", "Dockerfile:2: USER: USER requires exactly one argument");
  EXPECT_ERR ("FROM a\nUSER\n", "Dockerfile:2: USER: USER requires exactly one argument");
  EXPECT_ERR ("FROM a\nWORKDIR\n", "Dockerfile:2: WORKDIR: WORKDIR requires exactly one argument");
  EXPECT_ERR ("FROM a\nSTOPSIGNAL 1 2\n",
              "Dockerfile:2: STOPSIGNAL: STOPSIGNAL requires exactly one argument");
}

TEST (parse_healthcheck)
{
  struct sbx_build_ast *ast
      = parse_ok ("FROM a\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2h "
                  "--start-interval=1.5s --retries=3 CMD curl -f http://localhost/\n"
                  "HEALTHCHECK none\nHEALTHCHECK cmd [\"true\"]\n");
  const struct sbx_build_node *n;

  ASSERT_NOT_NULL (ast);
  n = SECOND (ast);
  EXPECT_EQ (n->health.interval_ns, 90000000000LL);
  EXPECT_EQ (n->health.timeout_ns, 500000000LL);
  EXPECT_EQ (n->health.start_period_ns, 7200000000000LL);
  EXPECT_EQ (n->health.start_interval_ns, 1500000000LL);
  EXPECT_EQ (n->health.retries, 3);
  EXPECT_FALSE (n->json);
  EXPECT_STREQ (n->args[0], "curl -f http://localhost/");
  EXPECT_TRUE (ast->nodes[2].none);
  EXPECT_TRUE (ast->nodes[3].json);
  EXPECT_STREQ (ast->nodes[3].args[0], "true");
  sbx_build_ast_free (ast);
}

TEST (parse_healthcheck_errors)
{
  EXPECT_ERR ("FROM a\nHEALTHCHECK NONE x\n",
              "Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no arguments");
  EXPECT_ERR ("FROM a\nHEALTHCHECK --retries=1 NONE\n",
              "Dockerfile:2: HEALTHCHECK: HEALTHCHECK NONE takes no arguments");
  EXPECT_ERR ("FROM a\nHEALTHCHECK RUN x\n",
              "Dockerfile:2: HEALTHCHECK: unknown type `RUN` in HEALTHCHECK (try CMD)");
  EXPECT_ERR ("FROM a\nHEALTHCHECK\n",
              "Dockerfile:2: HEALTHCHECK: unknown type `` in HEALTHCHECK (try CMD)");
  EXPECT_ERR ("FROM a\nHEALTHCHECK CMD\n",
              "Dockerfile:2: HEALTHCHECK: missing command after HEALTHCHECK CMD");
  EXPECT_ERR ("FROM a\nHEALTHCHECK --interval=5 CMD x\n",
              "Dockerfile:2: HEALTHCHECK: --interval: invalid duration `5`");
  EXPECT_ERR ("FROM a\nHEALTHCHECK --timeout=10us CMD x\n",
              "Dockerfile:2: HEALTHCHECK: --timeout: `10us` cannot be less than 1ms");
  EXPECT_ERR ("FROM a\nHEALTHCHECK --start-period=-1s CMD x\n",
              "Dockerfile:2: HEALTHCHECK: --start-period: `-1s` cannot be less than 1ms");
  EXPECT_ERR ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
              "Dockerfile:2: HEALTHCHECK: --retries must be a number >= 0, not `-1`");
  EXPECT_ERR ("FROM a\nHEALTHCHECK --interval CMD x\n",
              "Dockerfile:2: HEALTHCHECK: --interval needs a value");
}

TEST (parse_durations)
{
  int64_t v;

  ASSERT_EQ (build_parse_duration ("0", &v), 0);
  EXPECT_EQ (v, 0);
  ASSERT_EQ (build_parse_duration ("1h2m3.5s", &v), 0);
  EXPECT_EQ (v, 3723500000000LL);
  ASSERT_EQ (build_parse_duration ("1.5ms", &v), 0);
  EXPECT_EQ (v, 1500000);
  ASSERT_EQ (build_parse_duration ("2\xc2\xb5s", &v), 0);
  EXPECT_EQ (v, 2000);
  ASSERT_EQ (build_parse_duration (".5s", &v), 0);
  EXPECT_EQ (v, 500000000);
  EXPECT_EQ (build_parse_duration ("", &v), -1);
  EXPECT_EQ (build_parse_duration ("s", &v), -1);
  EXPECT_EQ (build_parse_duration ("1", &v), -1);
  EXPECT_EQ (build_parse_duration ("1x", &v), -1);
  EXPECT_EQ (build_parse_duration ("1s ", &v), -1);
  EXPECT_EQ (build_parse_duration ("99999999999999999999h", &v), -1);
  EXPECT_EQ (build_parse_duration ("3000000h", &v), -1);
}

TEST (parse_onbuild)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nONBUILD COPY --from=x . /app\nonbuild run "
                                        "make\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (SECOND (ast)->kw, SBX_BUILD_ONBUILD);
  EXPECT_STREQ (SECOND (ast)->args[0], "COPY --from=x . /app");
  EXPECT_STREQ (ast->nodes[2].args[0], "run make");
  EXPECT_EQ (SECOND (ast)->n_flags, 0);
  sbx_build_ast_free (ast);
  EXPECT_ERR ("FROM a\nONBUILD\n", "Dockerfile:2: ONBUILD: ONBUILD requires at least one argument");
  EXPECT_ERR ("FROM a\nONBUILD ONBUILD RUN x\n",
              "Dockerfile:2: ONBUILD: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  EXPECT_ERR ("FROM a\nONBUILD FROM b\n",
              "Dockerfile:2: FROM: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_ERR ("FROM a\nONBUILD MAINTAINER b\n",
              "Dockerfile:2: MAINTAINER: MAINTAINER isn't allowed as an ONBUILD trigger");
  EXPECT_ERR ("FROM a\nONBUILD BOGUS x\n", "Dockerfile:2: unknown instruction: BOGUS");
  EXPECT_ERR ("FROM a\nONBUILD COPY x\n",
              "Dockerfile:2: COPY: COPY requires at least two arguments, but only one was "
              "provided; destination could not be determined");
}

TEST (parse_copy_add)
{
  struct sbx_build_ast *ast
      = parse_ok ("FROM a\nCOPY --from=build --chown=1000:1000 --chmod=644 --link a b* /dst/\n"
                  "COPY [\"a b\", \"/c d\"]\nADD --checksum=sha256:00 --exclude=*.md "
                  "--exclude=x https://x/y.tar /\nCOPY --chown=\"a b\" x y\n");
  const struct sbx_build_node *n;

  ASSERT_NOT_NULL (ast);
  n = SECOND (ast);
  EXPECT_STREQ (build_node_flag (n, "from")->value, "build");
  EXPECT_STREQ (build_node_flag (n, "chown")->value, "1000:1000");
  EXPECT_STREQ (build_node_flag (n, "chmod")->value, "644");
  EXPECT_NOT_NULL (build_node_flag (n, "link"));
  EXPECT_NULL (build_node_flag (n, "link")->value);
  ASSERT_EQ (sbx_strv_len (n->args), 3);
  EXPECT_STREQ (n->args[1], "b*");
  EXPECT_TRUE (ast->nodes[2].json);
  EXPECT_STREQ (ast->nodes[2].args[0], "a b");
  n = &ast->nodes[3];
  EXPECT_EQ (n->kw, SBX_BUILD_ADD);
  EXPECT_EQ (n->n_flags, 3);
  EXPECT_STREQ (build_node_flag (&ast->nodes[4], "chown")->value, "a b");
  sbx_build_ast_free (ast);
}

TEST (parse_copy_add_errors)
{
  EXPECT_ERR ("FROM a\nCOPY x\n", "Dockerfile:2: COPY: COPY requires at least two arguments, "
                                  "but only one was provided; destination could not be "
                                  "determined");
  EXPECT_ERR ("FROM a\nADD\n", "Dockerfile:2: ADD: ADD requires at least two arguments, but "
                               "only none were provided; destination could not be determined");
  EXPECT_ERR ("FROM a\nCOPY --from x y\n", "Dockerfile:2: COPY: --from needs a value");
  EXPECT_ERR ("FROM a\nADD --from=x y z\n", "Dockerfile:2: ADD: unknown flag: --from");
  EXPECT_ERR ("FROM a\nCOPY --checksum=x y z\n", "Dockerfile:2: COPY: unknown flag: --checksum");
  EXPECT_ERR ("FROM a\nCOPY --link=maybe y z\n",
              "Dockerfile:2: COPY: expecting boolean value for flag --link, not: maybe");
  EXPECT_ERR ("FROM a\nCOPY --chown=a --chown=b y z\n",
              "Dockerfile:2: COPY: duplicate flag specified: --chown");
}

TEST (parse_copy_heredoc)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nCOPY <<EOF /etc/motd\nhello $USER\nEOF\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (SECOND (ast)->n_heredocs, 1);
  EXPECT_STREQ (SECOND (ast)->args[0], "<<EOF");
  EXPECT_STREQ (SECOND (ast)->heredocs[0].content, "hello $USER\n");
  sbx_build_ast_free (ast);
}

TEST (parse_keywords_are_case_insensitive_and_named)
{
  enum sbx_build_kw kw;

  ASSERT_EQ (build_kw_lookup ("healthCHECK", 11, &kw), 0);
  EXPECT_EQ (kw, SBX_BUILD_HEALTHCHECK);
  EXPECT_EQ (build_kw_lookup ("RUNX", 4, &kw), -1);
  EXPECT_EQ (build_kw_lookup ("RUNX", 3, &kw), 0);
  EXPECT_STREQ (sbx_build_kw_name (SBX_BUILD_STOPSIGNAL), "STOPSIGNAL");
  EXPECT_STREQ (sbx_build_kw_name ((enum sbx_build_kw) 99), "?");
}

TEST (parse_original_line_kept)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nRUN a \\\n b\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_STREQ (SECOND (ast)->original, "RUN a  b");
  EXPECT_STREQ (ast->file, "Dockerfile");
  sbx_build_ast_free (ast);
}

TEST_MAIN

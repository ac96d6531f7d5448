/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Variable substitution with Docker's word rules.  */
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"

static char *const vars[] = { "PWD=/home", "SHELL=bash", "EMPTY=", "A=a b", "X=1", "X=2", NULL };

struct expand_case
{
  const char *in;
  const char *out; /* NULL: an error containing ERR */
  const char *err;
};

static const struct expand_case cases[] = {
  { "hello", "hello", NULL },
  { "he'll'o", "hello", NULL },
  { "he\"ll\"o", "hello", NULL },
  { "'$PWD'", "$PWD", NULL },
  { "\"$PWD\"", "/home", NULL },
  { "$PWD", "/home", NULL },
  { "${PWD}", "/home", NULL },
  { "${PWD}x", "/homex", NULL },
  { "$PWDx", "", NULL },
  { "\\$PWD", "$PWD", NULL },
  { "\"\\$PWD\"", "$PWD", NULL },
  { "'\\$PWD'", "\\$PWD", NULL },
  { "\\\\$PWD", "\\/home", NULL },
  { "a\\ b", "a b", NULL },
  { "\"a\\b\"", "a\\b", NULL },
  { "\"a\\\"b\"", "a\"b", NULL },
  { "a\\", "a", NULL },
  { "$", "$", NULL },
  { "$.", "$.", NULL },
  { "a$", "a$", NULL },
  { "${NOTSET}", "", NULL },
  { "$X", "1", NULL }, /* first match wins */
  { "${A}", "a b", NULL },
  { "$1x", "x", NULL },
  { "${NOTSET:-def}", "def", NULL },
  { "${EMPTY:-def}", "def", NULL },
  { "${PWD:-def}", "/home", NULL },
  { "${NOTSET-def}", "def", NULL },
  { "${EMPTY-def}", "", NULL },
  { "${NOTSET:+alt}", "", NULL },
  { "${EMPTY:+alt}", "", NULL },
  { "${PWD:+alt}", "alt", NULL },
  { "${NOTSET+alt}", "", NULL },
  { "${EMPTY+alt}", "alt", NULL },
  { "${NOTSET:-${PWD}/x}", "/home/x", NULL },
  { "${NOTSET:-'a b'}", "a b", NULL },
  { "${NOTSET:-\"$SHELL\"}", "bash", NULL },
  { "${NOTSET:-a\\}b}", "a}b", NULL },
  { "${PWD:?oops}", "/home", NULL },
  { "${NOTSET:?oops}", NULL, "NOTSET: oops" },
  { "${NOTSET:?}", NULL, "NOTSET: is not allowed to be unset" },
  { "${EMPTY:?}", NULL, "EMPTY: is not allowed to be empty" },
  { "${EMPTY?}", "", NULL },
  { "${NOTSET?}", NULL, "NOTSET: is not allowed to be unset" },
  { "${PWD", NULL, "missing '}'" },
  { "${", NULL, "missing '}'" },
  { "${}", NULL, "bad substitution" },
  { "${:-x}", NULL, "bad substitution" },
  { "${PWD:-x", NULL, "missing '}'" },
  { "${PWD:=x}", NULL, "unsupported modifier (=) in substitution" },
  { "${PWD#x}", NULL, "missing ':' in substitution" },
  { "'abc", NULL, "matching single-quote" },
  { "\"abc", NULL, "matching double-quote" },
  { "${NOTSET:-'x}", NULL, "matching single-quote" },
};

TEST (expand_word_cases)
{
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_error struct sbx_error *err = NULL;
      cleanup_free char *out = NULL;
      int r = sbx_build_expand_word (cases[i].in, '\\', vars, &out, &err);

      if (cases[i].out)
        {
          if (r < 0)
            printf ("# case %zu `%s`: %s\n", i, cases[i].in, err->msg);
          EXPECT_EQ (r, 0);
          EXPECT_STREQ (out, cases[i].out);
        }
      else
        {
          if (r == 0)
            printf ("# case %zu `%s` gave `%s`\n", i, cases[i].in, out);
          EXPECT_EQ (r, -1);
          if (r < 0)
            EXPECT_STRSTR (err->msg, cases[i].err);
        }
    }
}

TEST (expand_backtick_escape)
{
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_build_expand_word ("c:\\dir`$PWD", '`', vars, &a, &err), 0);
  EXPECT_STREQ (a, "c:\\dir$PWD");
  ASSERT_EQ (sbx_build_expand_word ("\"``\"", '`', vars, &b, &err), 0);
  EXPECT_STREQ (b, "`");
}

TEST (expand_heredoc_keeps_quotes)
{
  cleanup_free char *out = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_build_expand_heredoc ("say \"$SHELL\" '$PWD' \\$X \\n\n", '\\', vars, &out, &err),
             0);
  EXPECT_STREQ (out, "say \"bash\" '/home' $X \\n\n");
}

TEST (expand_nesting_is_bounded)
{
  cleanup_free char *deep = malloc (2000 * 4 + 1);
  cleanup_free char *out = NULL;
  cleanup_error struct sbx_error *err = NULL;
  size_t i, n = 0;

  for (i = 0; i < 1000; i++)
    n += (size_t) snprintf (deep + n, 8, "${A:-");
  deep[n] = '\0';
  ASSERT_EQ (sbx_build_expand_word (deep, '\\', vars, &out, &err), -1);
  EXPECT_STRSTR (err->msg, "nested too deeply");
}

/* Found by fuzz-dockerfile: the character after a name, and the word of
   ${VAR:?word}, were printed as is,
   and a newline (from a here-document) split the message.  */
TEST (expand_error_message_stays_one_line)
{
  cleanup_free char *out = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_build_expand_heredoc ("U${y\n}\n", '\\', vars, &out, &err), -1);
  EXPECT_STREQ (err->msg, "missing ':' in substitution (\\x0a)");
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_build_expand_heredoc ("${Y:?a\nb}", '\\', vars, &out, &err), -1);
  EXPECT_STREQ (err->msg, "Y: a\\x0ab");
}

TEST (expand_no_vars)
{
  cleanup_free char *out = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_build_expand_word ("${X:-d}$Y", '\\', NULL, &out, &err), 0);
  EXPECT_STREQ (out, "d");
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/strv.h"

TEST (strv_null_is_empty)
{
  ASSERT_EQ (sbx_strv_len (NULL), 0);
  ASSERT_FALSE (sbx_strv_contains (NULL, "x"));
  sbx_strv_free (NULL);
}

TEST (strv_push_and_contains)
{
  cleanup_strv char **v = NULL;
  char buf[8] = "abc";

  sbx_strv_push (&v, buf);
  buf[0] = 'X'; /* push copies */
  sbx_strv_push (&v, "def");
  sbx_strv_push_take (&v, strdup ("ghi"));
  ASSERT_EQ (sbx_strv_len (v), 3);
  ASSERT_STREQ (v[0], "abc");
  ASSERT_STREQ (v[1], "def");
  ASSERT_STREQ (v[2], "ghi");
  ASSERT_NULL (v[3]);
  ASSERT_TRUE (sbx_strv_contains (v, "def"));
  ASSERT_FALSE (sbx_strv_contains (v, "de"));
  ASSERT_FALSE (sbx_strv_contains (v, "Xbc"));
}

TEST (strv_dup_is_deep)
{
  cleanup_strv char **v = NULL;
  cleanup_strv char **d = NULL;
  cleanup_strv char **e = NULL;

  sbx_strv_push (&v, "one");
  sbx_strv_push (&v, "two");
  d = sbx_strv_dup (v);
  ASSERT_EQ (sbx_strv_len (d), 2);
  ASSERT_TRUE (d[0] != v[0]);
  v[0][0] = 'O';
  ASSERT_STREQ (d[0], "one");
  ASSERT_STREQ (d[1], "two");
  ASSERT_NULL (d[2]);

  e = sbx_strv_dup (NULL); /* an empty, NULL-terminated vector */
  ASSERT_NOT_NULL (e);
  ASSERT_NULL (e[0]);
}

TEST (env_set_appends_and_replaces)
{
  cleanup_strv char **env = NULL;

  sbx_env_set (&env, "PATH", "/bin");
  sbx_env_set (&env, "HOME", "/root");
  ASSERT_EQ (sbx_strv_len (env), 2);
  sbx_env_set (&env, "PATH", "/usr/bin:/bin");
  ASSERT_EQ (sbx_strv_len (env), 2);
  ASSERT_STREQ (env[0], "PATH=/usr/bin:/bin");
  ASSERT_STREQ (env[1], "HOME=/root");
}

TEST (env_set_key_prefix_is_a_different_key)
{
  cleanup_strv char **env = NULL;

  sbx_env_set (&env, "PATHX", "1");
  sbx_env_set (&env, "PATH", "2");
  sbx_env_set (&env, "PAT", "3");
  ASSERT_EQ (sbx_strv_len (env), 3);
  ASSERT_STREQ (sbx_env_get (env, "PATHX"), "1");
  ASSERT_STREQ (sbx_env_get (env, "PATH"), "2");
  ASSERT_STREQ (sbx_env_get (env, "PAT"), "3");
}

TEST (env_get_values)
{
  cleanup_strv char **env = NULL;

  ASSERT_NULL (sbx_env_get (NULL, "A"));
  sbx_env_set (&env, "EMPTY", "");
  sbx_env_set (&env, "EQ", "a=b=c");
  ASSERT_STREQ (sbx_env_get (env, "EMPTY"), "");
  ASSERT_STREQ (sbx_env_get (env, "EQ"), "a=b=c");
  ASSERT_NULL (sbx_env_get (env, "MISSING"));
  ASSERT_NULL (sbx_env_get (env, "E"));
  ASSERT_NULL (sbx_env_get (env, "EMPTY="));
}

TEST_MAIN

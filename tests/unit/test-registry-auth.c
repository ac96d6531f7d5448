/* SPDX-License-Identifier: GPL-2.0-or-later */
/* WWW-Authenticate challenge parsing (RFC 7235 as registries send it).  */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"

#define cleanup_challenge __attribute__ ((cleanup (reg_challenge_release)))

TEST (challenge_docker_hub_bearer)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Bearer realm=\"https://auth.docker.io/token\","
                                  "service=\"registry.docker.io\","
                                  "scope=\"repository:library/busybox:pull\"",
                                  &c, &err),
             0);
  EXPECT_STREQ (c.scheme, "Bearer");
  EXPECT_STREQ (c.realm, "https://auth.docker.io/token");
  EXPECT_STREQ (c.service, "registry.docker.io");
  EXPECT_STREQ (c.scope, "repository:library/busybox:pull");
  EXPECT_NULL (c.error);
}

TEST (challenge_comma_inside_quoted_scope)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Bearer realm=\"https://r/token\",scope=\"repository:a/b:pull,"
                                  "push\",error=\"insufficient_scope\"",
                                  &c, &err),
             0);
  EXPECT_STREQ (c.scope, "repository:a/b:pull,push");
  EXPECT_STREQ (c.error, "insufficient_scope");
}

TEST (challenge_spaces_case_and_unquoted_values)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("  bearer  Realm = \"http://127.0.0.1:5001/auth\" , "
                                  "SERVICE=local-registry ,, scope=x",
                                  &c, &err),
             0);
  EXPECT_STREQ (c.scheme, "bearer");
  EXPECT_STREQ (c.realm, "http://127.0.0.1:5001/auth");
  EXPECT_STREQ (c.service, "local-registry");
  EXPECT_STREQ (c.scope, "x");
}

TEST (challenge_escapes_in_quoted_string)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Bearer realm=\"https://r/t\",service=\"a\\\"b\\\\c\"", &c, &err),
             0);
  EXPECT_STREQ (c.service, "a\"b\\c");
}

TEST (challenge_basic_without_params)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Basic", &c, &err), 0);
  EXPECT_STREQ (c.scheme, "Basic");
  EXPECT_NULL (c.realm);
}

TEST (challenge_basic_realm)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Basic realm=\"Registry Realm\"", &c, &err), 0);
  EXPECT_STREQ (c.scheme, "Basic");
  EXPECT_STREQ (c.realm, "Registry Realm");
}

TEST (challenge_only_first_of_several)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Basic realm=\"a\", Bearer realm=\"https://b\"", &c, &err), 0);
  EXPECT_STREQ (c.scheme, "Basic");
  EXPECT_STREQ (c.realm, "a");
}

TEST (challenge_unknown_params_ignored)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Bearer foo=\"x,y\",realm=\"https://r\",bar=1", &c, &err), 0);
  EXPECT_STREQ (c.realm, "https://r");
}

TEST (challenge_unterminated_quote_fails)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Bearer realm=\"https://r", &c, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "unterminated quoted string");
  EXPECT_NULL (c.scheme);
}

TEST (challenge_bearer_needs_realm)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("Bearer service=\"x\"", &c, &err), -1);
  EXPECT_STRSTR (err->msg, "without a realm");
}

TEST (challenge_garbage_fails)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("", &c, &err), -1);
  EXPECT_STRSTR (err->msg, "no authentication scheme");
  sbx_error_clear (&err);
  ASSERT_EQ (reg_challenge_parse ("Bearer realm=\"https://r\" junk", &c, &err), -1);
  EXPECT_STRSTR (err->msg, "expected `,`");
  sbx_error_clear (&err);
  ASSERT_EQ (reg_challenge_parse ("Bearer realm=", &c, &err), -1);
  EXPECT_STRSTR (err->msg, "expected a value");
}

TEST (challenge_message_does_not_echo_control_characters)
{
  cleanup_challenge struct reg_challenge c = { 0 };
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_challenge_parse ("\033[31m", &c, &err), -1);
  EXPECT_NULL (strchr (err->msg, '\033'));
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sbx_image_config_edit and sbx_image_config_scratch (src/image/derive.c):
   what sbx build's metadata instructions do to an image config.  */
#include <string.h>

#include "harness.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

static struct sbx_image_config *
parse (const char *json)
{
  struct sbx_image_config *c = NULL;
  struct sbx_error *err = NULL;

  if (sbx_image_config_parse (json, strlen (json), &c, &err) < 0)
    {
      sbx_error_clear (&err);
      return NULL;
    }
  return c;
}

static char *
edit (const char *json, const struct sbx_image_config_edit *e)
{
  struct sbx_error *err = NULL;
  char *out = sbx_image_config_edit (json, e, &err);

  sbx_error_clear (&err);
  return out;
}

TEST (scratch_config_is_empty_and_parses)
{
  cleanup_free char *s = sbx_image_config_scratch ();
  struct sbx_image_config *c = parse (s);

  ASSERT_NOT_NULL (c);
  EXPECT_EQ (c->n_diff_ids, 0);
  EXPECT_NULL (c->cmd);
  sbx_image_config_free (c);
}

TEST (env_replaces_an_earlier_key_and_keeps_others)
{
  cleanup_free char *s = sbx_image_config_scratch ();
  char *first[] = { (char *) "A=1", (char *) "B=2", NULL };
  char *second[] = { (char *) "A=3", NULL };
  struct sbx_image_config_edit e1 = { .env = first };
  struct sbx_image_config_edit e2 = { .env = second };
  cleanup_free char *c1 = edit (s, &e1);
  cleanup_free char *c2 = NULL;
  struct sbx_image_config *c;

  ASSERT_NOT_NULL (c1);
  c2 = edit (c1, &e2);
  ASSERT_NOT_NULL (c2);
  c = parse (c2);
  ASSERT_NOT_NULL (c);
  ASSERT_EQ (sbx_strv_len (c->env), 2);
  EXPECT_STREQ (c->env[0], "A=3");
  EXPECT_STREQ (c->env[1], "B=2");
  sbx_image_config_free (c);
}

TEST (entrypoint_resets_cmd)
{
  cleanup_free char *s = sbx_image_config_scratch ();
  char *cmd[] = { (char *) "echo", (char *) "hi", NULL };
  char *ep[] = { (char *) "/bin/tool", NULL };
  struct sbx_image_config_edit e1 = { .cmd = cmd };
  struct sbx_image_config_edit e2 = { .entrypoint = ep };
  cleanup_free char *c1 = edit (s, &e1);
  cleanup_free char *c2 = NULL;
  struct sbx_image_config *c;

  ASSERT_NOT_NULL (c1);
  c2 = edit (c1, &e2);
  c = parse (c2);
  ASSERT_NOT_NULL (c);
  EXPECT_NULL (c->cmd);
  ASSERT_NOT_NULL (c->entrypoint);
  EXPECT_STREQ (c->entrypoint[0], "/bin/tool");
  sbx_image_config_free (c);
}

TEST (workdir_user_ports_labels_and_onbuild)
{
  cleanup_free char *s = sbx_image_config_scratch ();
  char *ports[] = { (char *) "8888/tcp", NULL };
  char *labels[] = { (char *) "a=b", NULL };
  struct sbx_image_config_edit e = { .workdir = "/app",
                                     .user = "alice",
                                     .exposed_ports = ports,
                                     .labels = labels,
                                     .onbuild = "RUN echo hi" };
  struct sbx_image_config_edit e2 = { .onbuild = "COPY . /x" };
  cleanup_free char *c1 = edit (s, &e);
  cleanup_free char *c2 = NULL;
  struct sbx_image_config *c;

  ASSERT_NOT_NULL (c1);
  c2 = edit (c1, &e2);
  ASSERT_NOT_NULL (c2);
  EXPECT_TRUE (strstr (c2, "\"OnBuild\": [\"RUN echo hi\", \"COPY . /x\"]") != NULL
               || strstr (c2, "\"OnBuild\":[\"RUN echo hi\",\"COPY . /x\"]") != NULL);
  c = parse (c2);
  ASSERT_NOT_NULL (c);
  EXPECT_STREQ (c->workdir, "/app");
  EXPECT_STREQ (c->user, "alice");
  ASSERT_EQ (sbx_strv_len (c->exposed_ports), 1);
  EXPECT_STREQ (c->exposed_ports[0], "8888/tcp");
  ASSERT_EQ (sbx_strv_len (c->labels), 1);
  EXPECT_STREQ (c->labels[0], "a=b");
  sbx_image_config_free (c);
}

TEST (history_and_created_come_from_the_edit)
{
  cleanup_free char *s = sbx_image_config_scratch ();
  struct sbx_image_config_edit e = { .created_by = "ENV A=1", .created = "2023-11-14T22:13:20Z" };
  cleanup_free char *c1 = edit (s, &e);
  struct sbx_image_config *c;

  ASSERT_NOT_NULL (c1);
  EXPECT_TRUE (strstr (c1, "ENV A=1") != NULL);
  EXPECT_TRUE (strstr (c1, "empty_layer") != NULL);
  c = parse (c1);
  ASSERT_NOT_NULL (c);
  EXPECT_STREQ (c->created, "2023-11-14T22:13:20Z");
  sbx_image_config_free (c);
}

TEST (a_malformed_config_is_an_error)
{
  struct sbx_image_config_edit e = { .user = "x" };
  struct sbx_error *err = NULL;
  char *out = sbx_image_config_edit ("{not json", &e, &err);

  EXPECT_NULL (out);
  EXPECT_NOT_NULL (err);
  sbx_error_clear (&err);
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* ---- sbx_spec_parse_volume ---- */

static void
check_volume (const char *spec, const char *source, const char *dest, bool ro)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_mount_spec m = { NULL, NULL, false };
  int ret = sbx_spec_parse_volume (spec, "/home/u/work", &m, &err);

  if (ret < 0)
    printf ("# `%s`: %s\n", spec, err->msg);
  ASSERT_EQ (ret, 0);
  ASSERT_NULL (err);
  EXPECT_STREQ (m.source, source);
  EXPECT_STREQ (m.dest, dest);
  EXPECT_EQ (m.readonly, ro);
  sbx_mount_spec_release (&m);
  ASSERT_NULL (m.source);
  ASSERT_NULL (m.dest);
}

/* SPEC must be rejected with a message that contains WHY.  */
static void
check_volume_fails (const char *spec, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_mount_spec m = { NULL, NULL, false };

  if (sbx_spec_parse_volume (spec, "/home/u/work", &m, &err) == 0)
    printf ("# `%s` was accepted: %s -> %s\n", spec, m.source, m.dest);
  ASSERT_NOT_NULL (err);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  ASSERT_STRSTR (err->msg, spec);
  ASSERT_STRSTR (err->msg, why);
  ASSERT_NULL (m.source); /* nothing half-filled to leak */
  ASSERT_NULL (m.dest);
}

TEST (volume_absolute)
{
  check_volume ("/srv/data:/data", "/srv/data", "/data", false);
  check_volume ("/srv/data/:/data/", "/srv/data", "/data", false);
  check_volume ("//srv/./data:/a//b/./c", "/srv/data", "/a/b/c", false);
  check_volume ("/:/host", "/", "/host", false);
}

TEST (volume_relative_host_path)
{
  check_volume ("./data:/data", "/home/u/work/data", "/data", false);
  check_volume (".:/src", "/home/u/work", "/src", false);
  check_volume ("./a/./b/:/x", "/home/u/work/a/b", "/x", false);
  check_volume ("..:/parent", "/home/u/work/..", "/parent", false);
}

TEST (volume_options)
{
  check_volume ("/a:/b:ro", "/a", "/b", true);
  check_volume ("/a:/b:rw", "/a", "/b", false);
  check_volume ("/a:/b:z", "/a", "/b", false);
  check_volume ("/a:/b:Z", "/a", "/b", false);
  check_volume ("/a:/b:ro,z", "/a", "/b", true);
  check_volume ("/a:/b:z,ro", "/a", "/b", true);
  check_volume ("/a:/b:ro,rw", "/a", "/b", false); /* the last one wins */
  check_volume ("/a:/b:rw,ro", "/a", "/b", true);
}

TEST (volume_bad_options)
{
  check_volume_fails ("/a:/b:rx", "unknown option `rx`");
  check_volume_fails ("/a:/b:RO", "unknown option `RO`");
  check_volume_fails ("/a:/b:ro,bogus", "unknown option `bogus`");
  check_volume_fails ("/a:/b:ro:z", "unknown option");
}

TEST (volume_syntax_errors)
{
  check_volume_fails ("/a", "expected HOST-PATH:CONTAINER-PATH");
  check_volume_fails ("", "expected HOST-PATH:CONTAINER-PATH");
  check_volume_fails (":/b", "empty host path");
  check_volume_fails ("/a:", "empty container path");
  check_volume_fails ("/a::ro", "empty container path");
  check_volume_fails (":", "empty host path");
}

TEST (volume_named_volumes_unsupported)
{
  check_volume_fails ("data:/data", "must be absolute or start with ./");
  check_volume_fails ("~/x:/data", "must be absolute");
  check_volume_fails (".hidden:/data", "must be absolute");
}

TEST (volume_container_path_checks)
{
  check_volume_fails ("/a:b", "is not absolute");
  check_volume_fails ("/a:./b", "is not absolute");
  check_volume_fails ("/a:/b/../c", "contains `..`");
  check_volume_fails ("/a:/..", "contains `..`");
  check_volume_fails ("/a:/b/..", "contains `..`");
  check_volume ("/a:/b/..c", "/a", "/b/..c", false);
  check_volume ("/a:/b../c", "/a", "/b../c", false);
}

TEST (volume_forbidden_targets)
{
  check_volume_fails ("/a:/", "cannot mount over `/`");
  check_volume_fails ("/a://", "cannot mount over `/`");
  check_volume_fails ("/a:/./", "cannot mount over `/`");
  check_volume_fails ("/a:/proc", "cannot mount over `/proc`");
  check_volume_fails ("/a:/proc/", "cannot mount over `/proc`");
  check_volume_fails ("/a://proc", "cannot mount over `/proc`");
  check_volume_fails ("/a:/proc/sys", "cannot mount over `/proc/sys`");
  check_volume ("/a:/procfs", "/a", "/procfs", false);
  check_volume ("/a:/srv/proc", "/a", "/srv/proc", false);
}

/* ---- sbx_spec_parse_env ---- */

static char *host_env[] = { "HOME=/home/u", "EMPTY=", "LANG=C.UTF-8", NULL };

TEST (env_key_value)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_spec_parse_env ("A=1", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("B=", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("C=x=y", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("A=2", host_env, &env, &err), 0);
  ASSERT_NULL (err);
  ASSERT_EQ (sbx_strv_len (env), 3);
  ASSERT_STREQ (env[0], "A=2");
  ASSERT_STREQ (env[1], "B=");
  ASSERT_STREQ (env[2], "C=x=y");
}

TEST (env_from_host_when_set)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_spec_parse_env ("HOME", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("EMPTY", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_strv_len (env), 2);
  ASSERT_STREQ (env[0], "HOME=/home/u");
  ASSERT_STREQ (env[1], "EMPTY=");
}

TEST (env_from_host_skipped_when_unset)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_spec_parse_env ("NOT_SET", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("HOM", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("HOME", NULL, &env, &err), 0);
  ASSERT_NULL (err);
  ASSERT_EQ (sbx_strv_len (env), 0);
  /* ... and does not remove a value set before.  */
  ASSERT_EQ (sbx_spec_parse_env ("NOT_SET=mine", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env ("NOT_SET", host_env, &env, &err), 0);
  ASSERT_STREQ (sbx_env_get (env, "NOT_SET"), "mine");
}

TEST (env_empty_name_rejected)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_spec_parse_env ("=x", host_env, &env, &err), -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  ASSERT_STRSTR (err->msg, "`=x`");
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_spec_parse_env ("", host_env, &env, &err), -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_spec_parse_env ("=", host_env, &env, &err), -1);
  ASSERT_EQ (sbx_strv_len (env), 0);
}

/* ---- sbx_spec_parse_env_file ---- */

TEST (env_file_lines)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;
  const char *content = "# a comment\n"
                        "\n"
                        "A=1\r\n"
                        "   \n"
                        "  B=two words\n"
                        "\tHOME\n"
                        "   # indented comment\n"
                        "#C=3\n"
                        "UNSET_ON_HOST\n"
                        "D=\r\n"
                        "E=last";

  ASSERT_EQ (sbx_spec_parse_env_file (content, "vars.env", host_env, &env, &err), 0);
  ASSERT_NULL (err);
  ASSERT_EQ (sbx_strv_len (env), 5);
  ASSERT_STREQ (env[0], "A=1");
  ASSERT_STREQ (env[1], "B=two words");
  ASSERT_STREQ (env[2], "HOME=/home/u");
  ASSERT_STREQ (env[3], "D=");
  ASSERT_STREQ (env[4], "E=last");
  ASSERT_NULL (sbx_env_get (env, "C"));
}

TEST (env_file_empty)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_spec_parse_env_file ("", "e", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_spec_parse_env_file ("\n\r\n# x\n", "e", host_env, &env, &err), 0);
  ASSERT_EQ (sbx_strv_len (env), 0);
}

TEST (env_file_error_names_file_and_line)
{
  cleanup_strv char **env = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_spec_parse_env_file ("A=1\n# c\r\n=bad\nB=2\n", "my.env", host_env, &env, &err),
             -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  ASSERT_EQ (strncmp (err->msg, "my.env:3: ", 10), 0);
  ASSERT_STRSTR (err->msg, "`=bad`");
  ASSERT_NULL (sbx_env_get (env, "B")); /* stopped at the bad line */
}

TEST_MAIN

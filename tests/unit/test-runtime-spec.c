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
  struct sbx_mount_spec m = { 0 };
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
  struct sbx_mount_spec m = { 0 };

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
  check_volume_fails ("a", "expected HOST-PATH:CONTAINER-PATH");
  check_volume_fails ("", "expected HOST-PATH:CONTAINER-PATH");
  check_volume_fails (":/b", "empty host path or volume name");
  check_volume_fails ("/a:", "empty container path");
  check_volume_fails ("/a::ro", "empty container path");
  check_volume_fails (":", "empty host path");
}

static void
check_named (const char *spec, const char *name, const char *dest, bool ro, bool nocopy)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_mount_spec m = { 0 };
  int ret = sbx_spec_parse_volume (spec, "/home/u/work", &m, &err);

  if (ret < 0)
    printf ("# `%s`: %s\n", spec, err->msg);
  ASSERT_EQ (ret, 0);
  EXPECT_STREQ (m.volume, name);
  EXPECT_NULL (m.source);
  EXPECT_STREQ (m.dest, dest);
  EXPECT_EQ (m.readonly, ro);
  EXPECT_EQ (m.nocopy, nocopy);
  EXPECT_FALSE (m.anonymous);
  sbx_mount_spec_release (&m);
}

TEST (volume_named)
{
  check_named ("data:/data", "data", "/data", false, false);
  check_named ("my.vol_1:/srv/x/:ro", "my.vol_1", "/srv/x", true, false);
  check_named ("data:/data:nocopy,ro", "data", "/data", true, true);
}

TEST (volume_anonymous)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_mount_spec m = { 0 };

  ASSERT_EQ (sbx_spec_parse_volume ("/data/", "/", &m, &err), 0);
  EXPECT_TRUE (m.anonymous);
  EXPECT_NULL (m.volume);
  EXPECT_NULL (m.source);
  EXPECT_STREQ (m.dest, "/data");
  sbx_mount_spec_release (&m);
  ASSERT_EQ (sbx_spec_parse_volume ("/data:ro", "/", &m, &err), 0);
  EXPECT_TRUE (m.anonymous);
  EXPECT_TRUE (m.readonly);
  EXPECT_STREQ (m.dest, "/data");
  sbx_mount_spec_release (&m);
}

TEST (volume_relative_paths_without_dot)
{
  check_volume ("rel/dir:/x", "/home/u/work/rel/dir", "/x", false);
  check_volume_fails ("~/x:/data", "`~` is not expanded");
  check_volume (".hidden/x:/data", "/home/u/work/.hidden/x", "/data", false);
}

TEST (volume_format_round_trip)
{
  static const char *const specs[]
      = { "/a:/b", "/a:/b:ro", "vol:/b", "vol:/b:ro,nocopy", "vol:/b:nocopy" };
  size_t i;

  for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
    {
      cleanup_error struct sbx_error *err = NULL;
      cleanup_free char *text = NULL;
      struct sbx_mount_spec m = { 0 };

      ASSERT_EQ (sbx_spec_parse_volume (specs[i], "/", &m, &err), 0);
      text = sbx_mount_spec_format (&m);
      EXPECT_STREQ (text, specs[i]);
      sbx_mount_spec_release (&m);
    }
}

/* ---- sbx_spec_parse_mount ---- */

static void
check_mount_fails (const char *spec, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *tmpfs = NULL;
  struct sbx_mount_spec m = { 0 };

  ASSERT_EQ (sbx_spec_parse_mount (spec, "/w", &m, &tmpfs, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EINVAL);
  ASSERT_STRSTR (err->msg, why);
  ASSERT_NULL (strchr (err->msg, '\n'));
  ASSERT_NULL (m.dest);
  ASSERT_NULL (tmpfs);
}

TEST (mount_bind_and_volume)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *tmpfs = NULL;
  struct sbx_mount_spec m = { 0 };

  ASSERT_EQ (sbx_spec_parse_mount ("type=bind,src=./d,dst=/x,ro", "/w", &m, &tmpfs, &err), 0);
  EXPECT_STREQ (m.source, "/w/d");
  EXPECT_STREQ (m.dest, "/x");
  EXPECT_TRUE (m.readonly);
  EXPECT_NULL (tmpfs);
  sbx_mount_spec_release (&m);
  ASSERT_EQ (
      sbx_spec_parse_mount ("type=bind,source=d,target=/x,readonly=false", "/w", &m, &tmpfs, &err),
      0);
  EXPECT_STREQ (m.source, "/w/d");
  EXPECT_FALSE (m.readonly);
  sbx_mount_spec_release (&m);
  ASSERT_EQ (
      sbx_spec_parse_mount ("source=vol,destination=/data,volume-nocopy", "/w", &m, &tmpfs, &err),
      0);
  EXPECT_STREQ (m.volume, "vol");
  EXPECT_STREQ (m.dest, "/data");
  EXPECT_TRUE (m.nocopy);
  sbx_mount_spec_release (&m);
  ASSERT_EQ (sbx_spec_parse_mount ("type=volume,target=/data", "/w", &m, &tmpfs, &err), 0);
  EXPECT_TRUE (m.anonymous);
  EXPECT_NULL (m.volume);
  sbx_mount_spec_release (&m);
}

TEST (mount_tmpfs)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *tmpfs = NULL;
  struct sbx_mount_spec m = { 0 };

  ASSERT_EQ (sbx_spec_parse_mount ("type=tmpfs,target=/t/,tmpfs-size=64m,tmpfs-mode=1770", "/w", &m,
                                   &tmpfs, &err),
             0);
  EXPECT_STREQ (tmpfs, "/t:size=67108864,mode=1770");
  EXPECT_NULL (m.dest);
  EXPECT_FALSE (m.anonymous);
}

TEST (mount_errors_name_the_key)
{
  check_mount_fails ("type=bind,source=/a,target=/b,bogus=1", "unknown key `bogus`");
  check_mount_fails ("type=nfs,target=/b", "unknown type `nfs`");
  check_mount_fails ("type=bind,target=/b", "`source` is required");
  check_mount_fails ("type=volume,source=/a", "`target` is required");
  check_mount_fails ("type=tmpfs,source=x,target=/b", "`source` does not apply");
  check_mount_fails ("type=tmpfs,target=/b,tmpfs-size=big", "tmpfs-size `big`");
  check_mount_fails ("type=tmpfs,target=/b,tmpfs-mode=99", "tmpfs-mode `99`");
  check_mount_fails ("type=volume,target=/b,tmpfs-size=1", "does not apply to type volume");
  check_mount_fails ("type=volume,source=/a,target=/b", "is a volume name, not a path");
  check_mount_fails ("type=bind,source=/a,target=/b,readonly=maybe", "`readonly` expects");
  check_mount_fails ("type=bind,source=/a,target=relative", "is not absolute");
  check_mount_fails ("type=bind,source=/a,target", "`target` needs a value");
}

TEST (volume_container_path_checks)
{
  check_volume_fails ("/a:b", "unknown option `b`"); /* -v /ctr:MODE */
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

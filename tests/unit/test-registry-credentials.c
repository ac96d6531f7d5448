/* SPDX-License-Identifier: GPL-2.0-or-later */
/* base64, the auth file (atomic, 0600, in a 0700 directory) and the
   lookup order: sbx's auth file, then Docker's config.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define cleanup_creds __attribute__ ((cleanup (reg_credentials_release)))

static void
write_text (const char *path, const char *text)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_fs_write_file_at (AT_FDCWD, path, text, strlen (text), 0600, &err), 0);
}

static char *
read_text (const char *path)
{
  cleanup_error struct sbx_error *err = NULL;
  char *s = sbx_fs_read_file_at (AT_FDCWD, path, 1 << 20, NULL, &err);

  if (s == NULL)
    return xstrdup ("");
  return s;
}

TEST (base64_rfc4648_vectors)
{
  static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
  static const char *const enc[]
      = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (plain); i++)
    {
      cleanup_free char *e = reg_base64_encode (plain[i], strlen (plain[i]));
      cleanup_free char *d = NULL;
      size_t len = 99;

      EXPECT_STREQ (e, enc[i]);
      d = reg_base64_decode (enc[i], &len);
      ASSERT_NOT_NULL (d);
      EXPECT_EQ (len, strlen (plain[i]));
      EXPECT_STREQ (d, plain[i]);
    }
}

TEST (base64_binary_round_trip)
{
  unsigned char data[256];
  cleanup_free char *e = NULL;
  cleanup_free char *d = NULL;
  size_t i, len = 0;

  for (i = 0; i < sizeof data; i++)
    data[i] = (unsigned char) i;
  e = reg_base64_encode (data, sizeof data);
  d = reg_base64_decode (e, &len);
  ASSERT_NOT_NULL (d);
  ASSERT_EQ (len, sizeof data);
  EXPECT_EQ (memcmp (d, data, sizeof data), 0);
}

TEST (base64_decode_accepts_missing_padding)
{
  cleanup_free char *d = reg_base64_decode ("Zm9vYg", NULL);

  ASSERT_NOT_NULL (d);
  EXPECT_STREQ (d, "foob");
}

TEST (base64_decode_rejects_invalid)
{
  EXPECT_NULL (reg_base64_decode ("Zm9v!", NULL));
  EXPECT_NULL (reg_base64_decode ("Z", NULL));
  EXPECT_NULL (reg_base64_decode ("Zg===", NULL));
  EXPECT_NULL (reg_base64_decode ("Zh==", NULL)); /* non-zero leftover bits */
  EXPECT_NULL (reg_base64_decode ("Zm 9v", NULL));
}

TEST (auth_file_round_trip)
{
  cleanup_free char *path = xasprintf ("%s/cfg/sbx/auth.json", TEST_TMPDIR);
  cleanup_free char *dir = xasprintf ("%s/cfg/sbx", TEST_TMPDIR);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_creds struct reg_credentials c = { 0 };
  struct stat st;

  ASSERT_EQ (reg_auth_file_set (path, "127.0.0.1:5000", "alice", "p:a ss", &err), 0);
  ASSERT_EQ (reg_auth_file_set (path, "docker.io", "bob", "hunter2", &err), 0);
  ASSERT_EQ (stat (path, &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0600);
  ASSERT_EQ (stat (dir, &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0700);

  ASSERT_EQ (reg_credentials_from_file (path, "127.0.0.1:5000", &c, &err), 1);
  EXPECT_STREQ (c.user, "alice");
  EXPECT_STREQ (c.password, "p:a ss"); /* only the first colon separates */
  reg_credentials_release (&c);
  ASSERT_EQ (reg_credentials_from_file (path, "index.docker.io", &c, &err), 1);
  EXPECT_STREQ (c.user, "bob");
  reg_credentials_release (&c);
  EXPECT_EQ (reg_credentials_from_file (path, "quay.io", &c, &err), 0);
}

TEST (auth_file_keeps_other_keys_and_replaces_entry)
{
  cleanup_free char *path = xasprintf ("%s/auth.json", TEST_TMPDIR);
  cleanup_free char *text = NULL;
  cleanup_error struct sbx_error *err = NULL;
  cleanup_creds struct reg_credentials c = { 0 };

  write_text (path, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"b2xkOm9sZA==\"},"
                    "\"quay.io\":{\"auth\":\"cTpx\"}},\"other\":1}");
  ASSERT_EQ (reg_auth_file_set (path, "docker.io", "new", "pw", &err), 0);
  text = read_text (path);
  EXPECT_STRSTR (text, "\"other\": 1");
  EXPECT_STRSTR (text, "quay.io");
  EXPECT_NULL (strstr (text, "index.docker.io")); /* the old alias entry is gone */
  ASSERT_EQ (reg_credentials_from_file (path, "docker.io", &c, &err), 1);
  EXPECT_STREQ (c.user, "new");
  EXPECT_STREQ (c.password, "pw");
}

TEST (auth_file_remove)
{
  cleanup_free char *path = xasprintf ("%s/auth.json", TEST_TMPDIR);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_creds struct reg_credentials c = { 0 };

  ASSERT_EQ (reg_auth_file_set (path, "a.example", "u", "p", &err), 0);
  ASSERT_EQ (reg_auth_file_set (path, "b.example", "u", "p", &err), 0);
  ASSERT_EQ (reg_auth_file_remove (path, "a.example", &err), 0);
  EXPECT_EQ (reg_credentials_from_file (path, "a.example", &c, &err), 0);
  EXPECT_EQ (reg_credentials_from_file (path, "b.example", &c, &err), 1);
  reg_credentials_release (&c);
  ASSERT_EQ (reg_auth_file_remove (path, "a.example", &err), -1);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
}

TEST (auth_file_remove_when_missing_is_enoent)
{
  cleanup_free char *path = xasprintf ("%s/none.json", TEST_TMPDIR);
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_auth_file_remove (path, "a.example", &err), -1);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
}

TEST (auth_file_corrupt_is_not_overwritten)
{
  cleanup_free char *path = xasprintf ("%s/auth.json", TEST_TMPDIR);
  cleanup_free char *text = NULL;
  cleanup_error struct sbx_error *err = NULL;

  write_text (path, "{not json");
  ASSERT_EQ (reg_auth_file_set (path, "a.example", "u", "p", &err), -1);
  EXPECT_STRSTR (err->msg, "parse");
  text = read_text (path);
  EXPECT_STREQ (text, "{not json");
}

TEST (docker_config_lookup)
{
  cleanup_free char *docker = xasprintf ("%s/config.json", TEST_TMPDIR);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_creds struct reg_credentials c = { 0 };
  struct sbx_registry_opts opts = { .docker_config = docker };

  /* dXNlcjpwYXNz = "user:pass"; Docker keys Docker Hub by its v1 URL.  */
  write_text (docker, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYXNz\"},"
                      "\"registry.example:5000\":{\"auth\":\"YTpi\"}},"
                      "\"credsStore\":\"desktop\"}");
  ASSERT_EQ (reg_credentials_lookup (&opts, "docker.io", &c, &err), 1);
  EXPECT_STREQ (c.user, "user");
  EXPECT_STREQ (c.password, "pass");
  reg_credentials_release (&c);
  ASSERT_EQ (reg_credentials_lookup (&opts, "registry.example:5000", &c, &err), 1);
  EXPECT_STREQ (c.user, "a");
  reg_credentials_release (&c);
  EXPECT_EQ (reg_credentials_lookup (&opts, "registry.example", &c, &err), 0);
}

TEST (lookup_prefers_sbx_auth_file)
{
  cleanup_free char *auth = xasprintf ("%s/auth.json", TEST_TMPDIR);
  cleanup_free char *docker = xasprintf ("%s/config.json", TEST_TMPDIR);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_creds struct reg_credentials c = { 0 };
  struct sbx_registry_opts opts = { .auth_file = auth, .docker_config = docker };

  write_text (docker, "{\"auths\":{\"r.example\":{\"auth\":\"ZG9ja2VyOmQ=\"}}}");
  ASSERT_EQ (reg_credentials_lookup (&opts, "r.example", &c, &err), 1); /* no auth file yet */
  EXPECT_STREQ (c.user, "docker");
  reg_credentials_release (&c);
  ASSERT_EQ (reg_auth_file_set (auth, "r.example", "sbx", "s", &err), 0);
  ASSERT_EQ (reg_credentials_lookup (&opts, "r.example", &c, &err), 1);
  EXPECT_STREQ (c.user, "sbx");
}

TEST (lookup_rejects_malformed_entry)
{
  cleanup_free char *docker = xasprintf ("%s/config.json", TEST_TMPDIR);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_creds struct reg_credentials c = { 0 };
  struct sbx_registry_opts opts = { .docker_config = docker };

  write_text (docker, "{\"auths\":{\"r.example\":{\"auth\":\"bm9jb2xvbg==\"}}}"); /* "nocolon" */
  ASSERT_EQ (reg_credentials_lookup (&opts, "r.example", &c, &err), -1);
  EXPECT_STRSTR (err->msg, "not base64 of user:password");
  EXPECT_NULL (strstr (err->msg, "nocolon")); /* never echo a secret */
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers of COPY/ADD (src/builder/exec-copy.c): numeric --chown, URL
   sources and the names they get.  */
#include <stdlib.h>

#include "builder/internal.h"
#include "harness.h"
#include "util/cleanup.h"

TEST (chown_numeric_forms)
{
  long u = -2, g = -2;

  ASSERT_EQ (build_parse_chown_ids ("1000", &u, &g), 0);
  EXPECT_EQ (u, 1000);
  EXPECT_EQ (g, 1000); /* Docker: GID = UID when not given */
  ASSERT_EQ (build_parse_chown_ids ("10:50", &u, &g), 0);
  EXPECT_EQ (u, 10);
  EXPECT_EQ (g, 50);
}

TEST (chown_names_are_not_numeric)
{
  long u, g;

  EXPECT_EQ (build_parse_chown_ids ("alice", &u, &g), -1);
  EXPECT_EQ (build_parse_chown_ids ("alice:staff", &u, &g), -1);
  EXPECT_EQ (build_parse_chown_ids ("1000:staff", &u, &g), -1);
  EXPECT_EQ (build_parse_chown_ids ("", &u, &g), -1);
  EXPECT_EQ (build_parse_chown_ids ("10:", &u, &g), -1);
  EXPECT_EQ (build_parse_chown_ids ("-1", &u, &g), -1);
}

TEST (urls_are_http_and_https_only)
{
  EXPECT_TRUE (build_is_url ("http://127.0.0.1:8000/x"));
  EXPECT_TRUE (build_is_url ("https://example.org/"));
  EXPECT_FALSE (build_is_url ("ftp://example.org/x"));
  EXPECT_FALSE (build_is_url ("http.txt"));
}

TEST (url_basenames)
{
  const char *cases[][2] = {
    { "http://h/a/b/file.tar.gz", "file.tar.gz" },
    { "http://h/a/b/file.txt?x=1#frag", "file.txt" },
    { "https://h:8080/dir/", "dir" },
    { "https://h", "index.html" },
    { "https://h/", "index.html" },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_free char *b = build_url_basename (cases[i][0]);

      EXPECT_STREQ (b, cases[i][1]);
    }
}

TEST_MAIN

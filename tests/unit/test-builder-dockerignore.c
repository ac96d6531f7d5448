/* SPDX-License-Identifier: GPL-2.0-or-later */
/* .dockerignore matching.  The glob cases restate facts from moby's
   patternmatcher tests.  */
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"

struct glob_case
{
  const char *pattern, *path;
  int want;
};

static const struct glob_case globs[] = {
  { "**", "file", 1 },
  { "**", "file/", 1 },
  { "**/", "file", 1 },
  { "**", "/", 1 },
  { "**", "dir/file", 1 },
  { "**/", "dir/file", 1 },
  { "**/**", "dir/file", 1 },
  { "dir/**", "dir/file", 1 },
  { "dir/**", "dir/dir2/file", 1 },
  { "**/dir", "dir", 1 },
  { "**/dir2/*", "dir/dir2/file", 1 },
  { "**/dir2/**", "dir/dir2/dir3/file", 1 },
  { "**file", "file", 1 },
  { "**file", "dir/file", 1 },
  { "**/file", "dir/file", 1 },
  { "**file", "dir/dir/file", 1 },
  { "**/file*", "dir/dir/file.txt", 1 },
  { "**/file*txt", "dir/dir/file.txt", 1 },
  { "**/file*.txt*", "dir/dir/file.txt", 1 },
  { "**/**/*.txt", "dir/dir/file.txt", 1 },
  { "**/**/*.txt2", "dir/dir/file.txt", 0 },
  { "**/*.txt", "file.txt", 1 },
  { "**/**/*.txt", "file.txt", 1 },
  { "a**/*.txt", "a/file.txt", 1 },
  { "a**/*.txt", "a/dir/file.txt", 1 },
  { "a**/*.txt", "a/dir/dir/file.txt", 1 },
  { "a/*.txt", "a/dir/file.txt", 0 },
  { "a/*.txt", "a/file.txt", 1 },
  { "a/*.txt**", "a/file.txt", 1 },
  { "a[b-d]e", "ae", 0 },
  { "a[b-d]e", "ace", 1 },
  { "a[b-d]e", "aae", 0 },
  { "a[^b-d]e", "aze", 1 },
  { "a[\\]]e", "a]e", 1 },
  { ".*", ".foo", 1 },
  { ".*", "foo", 0 },
  { "abc.def", "abcdef", 0 },
  { "abc.def", "abc.def", 1 },
  { "abc?def", "abcZdef", 1 },
  { "abc?def", "abcdef", 0 },
  { "a?c", "a/c", 0 },
  { "a*c", "a/c", 0 },
  { "a\\\\", "a\\", 1 },
  { "a\\*", "a*", 1 },
  { "a\\*", "ab", 0 },
  { "**/foo/bar", "foo/bar", 1 },
  { "**/foo/bar", "dir/dir2/foo/bar", 1 },
  { "abc/**", "abc", 0 },
  { "abc/**", "abc/def/ghi", 1 },
  { "**/.foo", ".foo", 1 },
  { "**/.foo", "bar.foo", 0 },
  { "a(b)c/def", "a(b)c/def", 1 },
  { "a.|)$(}+{bc", "a.|)$(}+{bc", 1 },
  { "dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1 },
  { "[", "a", -1 },
  { "a[", "a", -1 },
  { "[]", "a", -1 },
  { "[-]", "-", -1 },
  { "[a-]", "a", -1 },
  { "a\\", "a", -1 },
  { "[^]", "a", -1 },
};

TEST (glob_cases)
{
  size_t i;

  for (i = 0; i < sizeof globs / sizeof globs[0]; i++)
    {
      int got = build_glob_match (globs[i].pattern, globs[i].path);

      if (got != globs[i].want)
        printf ("# `%s` vs `%s`: got %d, want %d\n", globs[i].pattern, globs[i].path, got,
                globs[i].want);
      EXPECT_EQ (got, globs[i].want);
    }
}

TEST (glob_many_stars_stay_fast)
{
  char pat[200], path[400];
  size_t i;

  for (i = 0; i < 60; i++)
    memcpy (pat + 3 * i, "**a", 3);
  pat[180] = 'b';
  pat[181] = '\0';
  memset (path, 'a', 399);
  path[399] = '\0';
  EXPECT_EQ (build_glob_match (pat, path), 0);
}

TEST (path_clean_like_go)
{
  static const char *const cases[][2] = {
    { "", "." },
    { ".", "." },
    { "/", "/" },
    { "a/b", "a/b" },
    { "a//b", "a/b" },
    { "a/./b", "a/b" },
    { "a/../b", "b" },
    { "./a", "a" },
    { "a/", "a" },
    { "../a", "../a" },
    { "a/../..", ".." },
    { "/../a", "/a" },
    { "/a/b/../../..", "/" },
    { "a/b/../../../c/..", ".." },
    { "//a//", "/a" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      cleanup_free char *c = build_path_clean (cases[i][0]);

      EXPECT_STREQ (c, cases[i][1]);
    }
}

static struct sbx_build_ignore *
ignore (const char *text)
{
  struct sbx_build_ignore *ig = NULL;
  struct sbx_error *err = NULL;

  if (sbx_build_ignore_parse (".dockerignore", text, strlen (text), &ig, &err) < 0)
    {
      printf ("# unexpected error: %s\n", err->msg);
      sbx_error_free (err);
    }
  return ig;
}

TEST (ignore_parent_directories_and_cleaning)
{
  struct sbx_build_ignore *ig
      = ignore ("# comment\n\n  /dir  \n./sub/../other\n**/node_modules\n*.pyc\nlogs/\n");

  ASSERT_NOT_NULL (ig);
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "dir"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "dir/a/b"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "dirx"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "other/x"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "sub"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "a/b/node_modules/x/y"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "node_modules"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "x.pyc"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "pkg/x.pyc")); /* '*' stays in one directory */
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "logs/today"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "./dir/x"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "# comment"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (NULL, "dir"));
  sbx_build_ignore_free (ig);
}

TEST (ignore_exceptions_last_match_wins)
{
  struct sbx_build_ignore *ig = ignore ("*.md\n! README*.md\nREADME-secret.md\n");

  ASSERT_NOT_NULL (ig);
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "CHANGES.md"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "README.md"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "README-secret.md"));
  sbx_build_ignore_free (ig);
}

TEST (ignore_reinclude_inside_excluded_directory)
{
  struct sbx_build_ignore *ig = ignore ("docs\n!docs/README.md\nbuild\n!*/keep\n");

  ASSERT_NOT_NULL (ig);
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "docs"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "docs/other.md"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "docs/README.md"));
  EXPECT_TRUE (sbx_build_ignore_may_reinclude (ig, "docs"));
  EXPECT_TRUE (sbx_build_ignore_may_reinclude (ig, "build")); /* the keep pattern */
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "build/keep"));
  EXPECT_FALSE (sbx_build_ignore_may_reinclude (ig, "docs/sub"));
  EXPECT_FALSE (sbx_build_ignore_may_reinclude (ig, "build/a/b"));
  sbx_build_ignore_free (ig);
}

TEST (ignore_reinclude_with_double_star)
{
  struct sbx_build_ignore *a = ignore ("vendor\n!**/LICENSE\n");
  struct sbx_build_ignore *b = ignore ("vendor\n");

  ASSERT_NOT_NULL (a);
  ASSERT_NOT_NULL (b);
  EXPECT_TRUE (sbx_build_ignore_may_reinclude (a, "vendor/x/y"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (a, "vendor/x/LICENSE"));
  EXPECT_FALSE (sbx_build_ignore_may_reinclude (b, "vendor"));
  EXPECT_FALSE (sbx_build_ignore_may_reinclude (NULL, "vendor"));
  sbx_build_ignore_free (a);
  sbx_build_ignore_free (b);
}

TEST (ignore_exclude_everything_but)
{
  struct sbx_build_ignore *ig = ignore ("*\n!src\n!Dockerfile\n");

  ASSERT_NOT_NULL (ig);
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "secrets.env"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "src/main.c"));
  EXPECT_FALSE (sbx_build_ignore_is_excluded (ig, "Dockerfile"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "other/Dockerfile"));
  sbx_build_ignore_free (ig);
}

TEST (ignore_errors)
{
  struct sbx_build_ignore *ig = NULL;
  cleanup_error struct sbx_error *e1 = NULL;
  cleanup_error struct sbx_error *e2 = NULL;

  ASSERT_EQ (sbx_build_ignore_parse (".dockerignore", "a\n  !  \n", 8, &ig, &e1), -1);
  EXPECT_STREQ (e1->msg, ".dockerignore:2: illegal exclusion pattern: \"!\"");
  ASSERT_EQ (sbx_build_ignore_parse (".dockerignore", "ok\n[a-\n", 7, &ig, &e2), -1);
  EXPECT_STREQ (e2->msg, ".dockerignore:2: syntax error in pattern `[a-`");
  EXPECT_NULL (ig);
}

TEST (ignore_bom_and_crlf)
{
  struct sbx_build_ignore *ig = ignore ("\xef\xbb\xbf"
                                        "a\r\nb\r\n");

  ASSERT_NOT_NULL (ig);
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "a"));
  EXPECT_TRUE (sbx_build_ignore_is_excluded (ig, "b"));
  sbx_build_ignore_free (ig);
}

TEST_MAIN

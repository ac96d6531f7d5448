/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The harness tests itself: a nested runner, in a child of the test, runs
   tests that pass, fail, crash, hang, skip and unshare, and we check its TAP
   output and exit status.  */
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- the nested tests (not registered with TEST) ---- */

static void
nested_pass (void)
{
  EXPECT_EQ (1, 1);
  ASSERT_STREQ ("a", "a");
}

static void
nested_expect_fails (void)
{
  EXPECT_EQ (2 + 2, 5);
  EXPECT_STREQ ("x", "y");
  printf ("# still running\n");
}

static void
nested_assert_fails (void)
{
  int v = 7;

  ASSERT_LT (v, 3);
  printf ("# not reached\n");
}

static void
nested_crash (void)
{
  abort (); /* not SIGSEGV: ASan would catch that and exit(1) */
}

static void
nested_hang (void)
{
  if (fork () == 0) /* a grandchild in the same group: killed too */
    pause ();
  pause ();
}

static void
nested_skip (void)
{
  SKIP ("no widget here");
}

static void
nested_exit_nonzero (void)
{
  exit (3);
}

static void
nested_tmpdir (void)
{
  struct stat st;

  ASSERT_EQ (stat (TEST_TMPDIR, &st), 0);
  ASSERT_TRUE (S_ISDIR (st.st_mode));
}

static void
run_nested (struct sbx_test *tests, size_t n, const char *filter, char *out, size_t out_len,
            int *status)
{
  int p[2];
  pid_t pid;
  size_t len = 0;
  ssize_t r;

  ASSERT_EQ (pipe2 (p, O_CLOEXEC), 0);
  fflush (NULL);
  pid = fork ();
  ASSERT_GE (pid, 0);
  if (pid == 0)
    {
      size_t i;

      dup2 (p[1], STDOUT_FILENO);
      sbx_test_list = NULL;
      for (i = 0; i < n; i++)
        sbx_test_register (&tests[i]);
      setenv ("SBX_TEST_TIMEOUT", "1", 1);
      if (filter)
        setenv ("SBX_TEST_FILTER", filter, 1);
      else
        unsetenv ("SBX_TEST_FILTER");
      exit (sbx_test_main ());
    }
  close (p[1]);
  while (len < out_len - 1 && (r = read (p[0], out + len, out_len - 1 - len)) > 0)
    len += (size_t) r;
  out[len] = '\0';
  close (p[0]);
  ASSERT_EQ (waitpid (pid, status, 0), pid);
}

static struct sbx_test nested[] = {
  { "pass", nested_pass, 1, NULL },
  { "expect_fails", nested_expect_fails, 2, NULL },
  { "assert_fails", nested_assert_fails, 3, NULL },
  { "crash", nested_crash, 4, NULL },
  { "hang", nested_hang, 5, NULL },
  { "skip", nested_skip, 6, NULL },
  { "exit_nonzero", nested_exit_nonzero, 7, NULL },
  { "tmpdir", nested_tmpdir, 8, NULL },
};

TEST (harness_tap_output)
{
  char out[8192];
  int status;

  run_nested (nested, SBX_N_ELEMENTS (nested), NULL, out, sizeof out, &status);
  ASSERT_TRUE (WIFEXITED (status));
  ASSERT_EQ (WEXITSTATUS (status), 1);
  ASSERT_EQ (strncmp (out, "1..8\n", 5), 0);
  EXPECT_STRSTR (out, "\nok 1 - pass\n");
  EXPECT_STRSTR (out, "test-harness-selftest.c:");
  EXPECT_STRSTR (out, ": expected 2 + 2 (4) == 5 (5)\n");
  EXPECT_STRSTR (out, ": expected \"x\" (\"x\") == \"y\" (\"y\")\n");
  EXPECT_STRSTR (out, "# still running\nnot ok 2 - expect_fails\n");
  EXPECT_STRSTR (out, ": expected v (7) < 3 (3)\nnot ok 3 - assert_fails\n");
  EXPECT_NULL (strstr (out, "not reached"));
  EXPECT_STRSTR (out, "# crash: killed by signal 6");
  EXPECT_STRSTR (out, "\nnot ok 4 - crash\n");
  EXPECT_STRSTR (out, "# hang: timed out after 1 s\nnot ok 5 - hang\n");
  EXPECT_STRSTR (out, "\nok 6 - skip # SKIP no widget here\n");
  EXPECT_STRSTR (out, "\nnot ok 7 - exit_nonzero\n");
  EXPECT_STRSTR (out, "\nok 8 - tmpdir\n");
  {
    const char *last = strrchr (out, '\n');

    ASSERT_NOT_NULL (last);
    while (last > out && last[-1] != '\n')
      last--;
    EXPECT_STREQ (last, "# 2 passed, 5 failed, 1 skipped\n");
  }
}

TEST (harness_filter)
{
  char out[4096];
  int status;

  run_nested (nested, SBX_N_ELEMENTS (nested), "*pass*", out, sizeof out, &status);
  ASSERT_TRUE (WIFEXITED (status));
  ASSERT_EQ (WEXITSTATUS (status), 0);
  ASSERT_STREQ (out, "1..1\nok 1 - pass\n# 1 passed, 0 failed, 0 skipped\n");
  run_nested (nested, SBX_N_ELEMENTS (nested), "s[kt]*", out, sizeof out, &status);
  ASSERT_EQ (WEXITSTATUS (status), 0);
  ASSERT_STREQ (out, "1..1\nok 1 - skip # SKIP no widget here\n# 0 passed, 0 failed, 1 skipped\n");
  run_nested (nested, SBX_N_ELEMENTS (nested), "nothing", out, sizeof out, &status);
  ASSERT_EQ (WEXITSTATUS (status), 0);
  ASSERT_STREQ (out, "1..0\n# 0 passed, 0 failed, 0 skipped\n");
}

TEST (harness_runs_in_source_order)
{
  struct sbx_test reversed[] = {
    { "third", nested_pass, 30, NULL },
    { "first", nested_pass, 10, NULL },
    { "second", nested_pass, 20, NULL },
  };
  char out[4096];
  int status;

  run_nested (reversed, SBX_N_ELEMENTS (reversed), NULL, out, sizeof out, &status);
  ASSERT_STREQ (out, "1..3\nok 1 - first\nok 2 - second\nok 3 - third\n"
                     "# 3 passed, 0 failed, 0 skipped\n");
}

/* ---- comparisons ---- */

TEST (harness_mixed_sign_comparisons)
{
  unsigned long long big = UINT64_MAX;
  size_t zero = 0;

  ASSERT_LT (-1, 1u);
  ASSERT_GT (1u, -1);
  ASSERT_NE (-1, UINT32_MAX);
  ASSERT_NE ((long long) -1, big);
  ASSERT_GT (big, (long long) INT64_MAX);
  ASSERT_LT ((long long) INT64_MIN, zero);
  ASSERT_EQ (zero, 0);
  ASSERT_LE ((char) 'a', 'a');
  ASSERT_GE (true, false);
  ASSERT_EQ (sbx_test_int_cmp (SBX_TEST_INT (-5), SBX_TEST_INT (-3)), -1);
  ASSERT_EQ (sbx_test_int_cmp (SBX_TEST_INT (3u), SBX_TEST_INT (3)), 0);
}

/* ---- isolation: what one test does stays in its process ---- */

static int counter;

TEST (harness_isolation_first)
{
  counter++;
  ASSERT_EQ (counter, 1);
  ASSERT_EQ (setenv ("SBX_HARNESS_LEAK", "1", 1), 0);
  if (unshare (CLONE_NEWUSER) == 0)
    printf ("# in a new user namespace\n");
}

TEST (harness_isolation_second)
{
  char self[64], parent[64], ppath[64];
  ssize_t a, b;

  ASSERT_EQ (counter, 0);
  ASSERT_NULL (getenv ("SBX_HARNESS_LEAK"));
  a = readlink ("/proc/self/ns/user", self, sizeof self - 1);
  ASSERT_LT (snprintf (ppath, sizeof ppath, "/proc/%d/ns/user", (int) getppid ()),
             (int) sizeof ppath);
  b = readlink (ppath, parent, sizeof parent - 1); /* the runner's */
  ASSERT_GT (a, 0);
  ASSERT_GT (b, 0);
  self[a] = parent[b] = '\0';
  ASSERT_STREQ (self, parent);
  ASSERT_EQ (getpgrp (), getpid ()); /* its own process group */
}

TEST (harness_tmpdir_is_fresh)
{
  cleanup_close int fd = open (TEST_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *listing = NULL;
  DIR *d;
  struct dirent *de;
  int entries = 0;

  ASSERT_GE (fd, 0);
  d = fdopendir (dup (fd));
  ASSERT_NOT_NULL (d);
  while ((de = readdir (d)) != NULL)
    entries += strcmp (de->d_name, ".") && strcmp (de->d_name, "..");
  closedir (d);
  ASSERT_EQ (entries, 0);
  ASSERT_EQ (sbx_fs_write_file_at (fd, "scratch", "x", 1, 0600, &err), 0);
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/lazylib.h"

static const char *const libc_names[] = { "getpid", "getppid", NULL };
static void *libc_fns[2];
static struct sbx_lazylib libc_lib = {
  .soname = "libc.so.6",
  .package = "libc6",
  .names = libc_names,
  .fns = libc_fns,
};

static const char *const missing_names[] = { "f", NULL };
static void *missing_fns[1];
static struct sbx_lazylib missing_lib = {
  .soname = "libsbx-test-missing.so.7",
  .package = "sbx-test-missing",
  .names = missing_names,
  .fns = missing_fns,
};

static const char *const nofn_names[] = { "getpid", "sbx_test_no_such_function", NULL };
static void *nofn_fns[2];
static struct sbx_lazylib nofn_lib = {
  .soname = "libc.so.6",
  .package = "libc6",
  .names = nofn_names,
  .fns = nofn_fns,
};

TEST (load_resolves_every_function)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_lazylib_load (&libc_lib, &err), 0);
  ASSERT_NULL (err);
  ASSERT_EQ (((pid_t (*) (void)) libc_fns[0]) (), getpid ());
  ASSERT_EQ (((pid_t (*) (void)) libc_fns[1]) (), getppid ());
  /* Loaded once: a second call changes nothing.  */
  ASSERT_EQ (sbx_lazylib_load (&libc_lib, &err), 0);
  sbx_lazylib_need (&libc_lib);
  ASSERT_EQ (((pid_t (*) (void)) libc_fns[0]) (), getpid ());
}

TEST (missing_library_is_an_error_with_a_hint)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_error struct sbx_error *again = NULL;

  ASSERT_EQ (sbx_lazylib_load (&missing_lib, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (err->code, ELIBACC);
  ASSERT_STRSTR (err->msg, "cannot load libsbx-test-missing.so.7: ");
  ASSERT_STRSTR (err->msg, "(hint: install the sbx-test-missing package)");
  /* The failure is remembered, not retried.  */
  ASSERT_EQ (sbx_lazylib_load (&missing_lib, &again), -1);
  ASSERT_STREQ (again->msg, err->msg);
}

TEST (missing_function_names_it)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_lazylib_load (&nofn_lib, &err), -1);
  ASSERT_STREQ (err->msg, "cannot load libc.so.6: it has no function sbx_test_no_such_function "
                          "(hint: upgrade the libc6 package)");
}

TEST (need_exits_125_with_one_line)
{
  char buf[512] = "";
  int pipefd[2];
  size_t len = 0;
  int status = 0;
  ssize_t n;
  pid_t pid;

  ASSERT_EQ (pipe (pipefd), 0);
  pid = fork ();
  ASSERT_GE (pid, 0);
  if (pid == 0)
    {
      (void) dup2 (pipefd[1], STDERR_FILENO);
      sbx_lazylib_need (&missing_lib);
      _exit (0); /* not reached */
    }
  (void) close (pipefd[1]);
  while (len < sizeof buf - 1 && (n = read (pipefd[0], buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t) n;
  (void) close (pipefd[0]);
  ASSERT_EQ (waitpid (pid, &status, 0), pid);
  ASSERT_TRUE (WIFEXITED (status));
  ASSERT_EQ (WEXITSTATUS (status), 125);
  ASSERT_GT (len, 0);
  buf[len] = '\0';
  ASSERT_STRSTR (buf, "sbx: cannot load libsbx-test-missing.so.7: ");
  ASSERT_STRSTR (buf, "(hint: install the sbx-test-missing package)\n");
  ASSERT_EQ (strchr (buf, '\n'), buf + len - 1);
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"

TEST (err_sets_code_and_message)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_err (&err, EINVAL, "invalid %s `%d`", "port", 70000), -1);
  ASSERT_NOT_NULL (err);
  ASSERT_EQ (err->code, EINVAL);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  ASSERT_STREQ (err->msg, "invalid port `70000`"); /* no strerror appended */
}

TEST (err_code_zero_is_allowed)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_err (&err, 0, "no such user"), -1);
  ASSERT_EQ (sbx_error_code (err), 0);
  ASSERT_STREQ (err->msg, "no such user");
}

TEST (err_errno_appends_strerror)
{
  cleanup_error struct sbx_error *err = NULL;
  char want[256];

  snprintf (want, sizeof want, "open `/x`: %s", strerror (ENOENT));
  errno = ENOENT;
  ASSERT_EQ (sbx_err_errno (&err, "open `%s`", "/x"), -1);
  ASSERT_EQ (err->code, ENOENT);
  ASSERT_STREQ (err->msg, want);
}

TEST (err_errno_with_zero_errno_appends_nothing)
{
  cleanup_error struct sbx_error *err = NULL;

  errno = 0;
  ASSERT_EQ (sbx_err_errno (&err, "weird"), -1);
  ASSERT_EQ (err->code, 0);
  ASSERT_STREQ (err->msg, "weird");
}

TEST (err_code_appends_strerror_of_code)
{
  cleanup_error struct sbx_error *err = NULL;
  char want[256];

  snprintf (want, sizeof want, "execve `ls`: %s", strerror (EACCES));
  errno = ENOENT; /* ignored: the code is given */
  ASSERT_EQ (sbx_err_code (&err, EACCES, "execve `%s`", "ls"), -1);
  ASSERT_EQ (err->code, EACCES);
  ASSERT_STREQ (err->msg, want);
}

TEST (err_raw_copies_message)
{
  cleanup_error struct sbx_error *err = NULL;
  char msg[] = "from the child: boom";

  ASSERT_EQ (sbx_err_raw (&err, EIO, msg), -1);
  msg[0] = 'X';
  ASSERT_EQ (err->code, EIO);
  ASSERT_STREQ (err->msg, "from the child: boom");
}

TEST (err_prefix_adds_context)
{
  cleanup_error struct sbx_error *err = NULL;

  sbx_err (&err, ENOENT, "inner");
  ASSERT_EQ (sbx_err_prefix (&err, "middle `%s`", "m"), -1);
  ASSERT_EQ (sbx_err_prefix (&err, "outer"), -1);
  ASSERT_STREQ (err->msg, "outer: middle `m`: inner");
  ASSERT_EQ (err->code, ENOENT); /* the code is kept */
}

TEST (err_prefix_without_error_is_harmless)
{
  struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_err_prefix (&err, "ctx"), -1);
  ASSERT_NULL (err);
  ASSERT_EQ (sbx_err_prefix (NULL, "ctx"), -1);
}

TEST (err_first_error_wins)
{
  cleanup_error struct sbx_error *err = NULL;

  sbx_err (&err, EPERM, "first");
  ASSERT_EQ (sbx_err (&err, EINVAL, "second"), -1);
  ASSERT_EQ (err->code, EPERM);
  ASSERT_STREQ (err->msg, "first");
}

TEST (err_null_out_parameter)
{
  errno = EBADF;
  ASSERT_EQ (sbx_err (NULL, EINVAL, "ignored"), -1);
  ASSERT_EQ (sbx_err_errno (NULL, "ignored"), -1);
  ASSERT_EQ (sbx_err_code (NULL, EIO, "ignored"), -1);
  ASSERT_EQ (sbx_err_raw (NULL, EIO, "ignored"), -1);
}

TEST (error_clear_and_code)
{
  struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_error_code (NULL), 0);
  sbx_error_clear (&err); /* clearing nothing is fine */
  sbx_error_clear (NULL);
  sbx_error_free (NULL);
  sbx_err (&err, ENOSPC, "full");
  ASSERT_EQ (sbx_error_code (err), ENOSPC);
  sbx_error_clear (&err);
  ASSERT_NULL (err);
  /* A cleared error can be set again.  */
  sbx_err (&err, EIO, "again");
  ASSERT_STREQ (err->msg, "again");
  sbx_error_clear (&err);
}

TEST_MAIN

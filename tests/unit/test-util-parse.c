/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/parse.h"

/* Parsing S must fail with CODE, leave the output alone and name WHAT.  */
static void
check_u64_fails (const char *s, uint64_t max, int code)
{
  cleanup_error struct sbx_error *err = NULL;
  uint64_t v = 12345;

  ASSERT_EQ (sbx_parse_u64 (s, max, &v, "thing", &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), code);
  EXPECT_STRSTR (err->msg, "invalid thing");
  EXPECT_EQ (v, 12345);
}

static uint64_t
u64_ok (const char *s, uint64_t max)
{
  cleanup_error struct sbx_error *err = NULL;
  uint64_t v = 12345;

  ASSERT_EQ (sbx_parse_u64 (s, max, &v, "thing", &err), 0);
  ASSERT_NULL (err);
  return v;
}

TEST (parse_u64_valid)
{
  ASSERT_EQ (u64_ok ("0", UINT64_MAX), 0);
  ASSERT_EQ (u64_ok ("42", UINT64_MAX), 42);
  ASSERT_EQ (u64_ok ("007", UINT64_MAX), 7);
  ASSERT_EQ (u64_ok ("18446744073709551615", UINT64_MAX), UINT64_MAX);
  ASSERT_EQ (u64_ok ("10", 10), 10);
}

TEST (parse_u64_rejects_empty_and_null)
{
  check_u64_fails ("", UINT64_MAX, EINVAL);
  check_u64_fails (NULL, UINT64_MAX, EINVAL);
}

TEST (parse_u64_rejects_signs_spaces_and_junk)
{
  check_u64_fails ("-1", UINT64_MAX, EINVAL);
  check_u64_fails ("+1", UINT64_MAX, EINVAL);
  check_u64_fails ("-0", UINT64_MAX, EINVAL);
  check_u64_fails (" 1", UINT64_MAX, EINVAL);
  check_u64_fails ("1 ", UINT64_MAX, EINVAL);
  check_u64_fails ("1\n", UINT64_MAX, EINVAL);
  check_u64_fails ("0x10", UINT64_MAX, EINVAL);
  check_u64_fails ("12a", UINT64_MAX, EINVAL);
  check_u64_fails ("1.5", UINT64_MAX, EINVAL);
  check_u64_fails ("1e3", UINT64_MAX, EINVAL);
}

TEST (parse_u64_overflow_and_max)
{
  check_u64_fails ("18446744073709551616", UINT64_MAX, ERANGE);
  check_u64_fails ("99999999999999999999999", UINT64_MAX, ERANGE);
  check_u64_fails ("11", 10, ERANGE);
  check_u64_fails ("1", 0, ERANGE);
}

TEST (parse_u64_error_message_names_input)
{
  cleanup_error struct sbx_error *err = NULL;
  uint64_t v;

  ASSERT_EQ (sbx_parse_u64 ("12x", UINT64_MAX, &v, "port", &err), -1);
  ASSERT_STREQ (err->msg, "invalid port `12x`: not a decimal number");
}

TEST (parse_u32_limits)
{
  cleanup_error struct sbx_error *err = NULL;
  uint32_t v = 7;

  ASSERT_EQ (sbx_parse_u32 ("4294967295", &v, "uid", &err), 0);
  ASSERT_EQ (v, UINT32_MAX);
  ASSERT_EQ (sbx_parse_u32 ("0", &v, "uid", &err), 0);
  ASSERT_EQ (v, 0);
  ASSERT_EQ (sbx_parse_u32 ("4294967296", &v, "uid", &err), -1);
  ASSERT_EQ (sbx_error_code (err), ERANGE);
  ASSERT_EQ (v, 0);
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_parse_u32 ("-1", &v, "uid", &err), -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_parse_u32 ("", &v, "uid", &err), -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
}

static int
signal_ok (const char *s)
{
  cleanup_error struct sbx_error *err = NULL;
  int sig = sbx_parse_signal (s, &err);

  if (err)
    printf ("# %s: %s\n", s, err->msg);
  ASSERT_NULL (err);
  return sig;
}

static void
check_signal_fails_with (const char *s, int code)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_parse_signal (s, &err), -1);
  ASSERT_NOT_NULL (err);
  ASSERT_EQ (sbx_error_code (err), code);
  ASSERT_STRSTR (err->msg, "signal");
}

static void
check_signal_fails (const char *s)
{
  check_signal_fails_with (s, EINVAL);
}

TEST (parse_signal_numbers)
{
  ASSERT_EQ (signal_ok ("9"), SIGKILL);
  ASSERT_EQ (signal_ok ("15"), SIGTERM);
  ASSERT_EQ (signal_ok ("1"), 1);
  ASSERT_EQ (signal_ok ("34"), 34); /* real-time signals are numbers only */
  {
    char max[16];

    snprintf (max, sizeof max, "%d", SIGRTMAX);
    ASSERT_EQ (signal_ok (max), SIGRTMAX);
  }
}

TEST (parse_signal_names)
{
  ASSERT_EQ (signal_ok ("KILL"), SIGKILL);
  ASSERT_EQ (signal_ok ("SIGKILL"), SIGKILL);
  ASSERT_EQ (signal_ok ("sigterm"), SIGTERM);
  ASSERT_EQ (signal_ok ("term"), SIGTERM);
  ASSERT_EQ (signal_ok ("SigHup"), SIGHUP);
  ASSERT_EQ (signal_ok ("USR1"), SIGUSR1);
  ASSERT_EQ (signal_ok ("SIGWINCH"), SIGWINCH);
  ASSERT_EQ (signal_ok ("CHLD"), SIGCHLD);
}

TEST (parse_signal_rejects_bad_input)
{
  check_signal_fails ("");
  check_signal_fails (NULL);
  check_signal_fails ("0");
  check_signal_fails ("-9");
  check_signal_fails ("+9");
  check_signal_fails ("9x");
  check_signal_fails_with ("99999999999", ERANGE);
  check_signal_fails ("SIG");
  check_signal_fails ("SIGFOO");
  check_signal_fails ("KILLX");
  check_signal_fails ("SIGSIGKILL");
  check_signal_fails (" KILL");
  {
    char over[16];

    snprintf (over, sizeof over, "%d", SIGRTMAX + 1);
    check_signal_fails (over);
  }
}

TEST (signal_name_roundtrip)
{
  const int sigs[] = { SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGUSR2, SIGSTOP, SIGCONT, SIGWINCH };
  size_t i;

  ASSERT_STREQ (sbx_signal_name (SIGKILL), "KILL");
  ASSERT_NULL (sbx_signal_name (0));
  ASSERT_NULL (sbx_signal_name (SIGRTMIN + 1));
  for (i = 0; i < SBX_N_ELEMENTS (sigs); i++)
    {
      const char *n = sbx_signal_name (sigs[i]);

      ASSERT_NOT_NULL (n);
      ASSERT_EQ (signal_ok (n), sigs[i]);
    }
}

TEST (env_name_validity)
{
  ASSERT_TRUE (sbx_is_valid_env_name ("PATH", 4));
  ASSERT_TRUE (sbx_is_valid_env_name ("a b", 3)); /* Docker accepts any bytes but '=' */
  ASSERT_TRUE (sbx_is_valid_env_name ("A=1", 1)); /* only the first LEN bytes count */
  ASSERT_FALSE (sbx_is_valid_env_name ("", 0));
  ASSERT_FALSE (sbx_is_valid_env_name ("A=1", 3));
  ASSERT_FALSE (sbx_is_valid_env_name ("=", 1));
  ASSERT_FALSE (sbx_is_valid_env_name ("A\0B", 3));
}

TEST_MAIN

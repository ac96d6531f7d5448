/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* sbx's unit test harness (STYLE.md B8), written in-house.

   TEST (name) { ... } registers a test; TEST_MAIN defines main().  Every test
   runs in its own fork()ed process group with a fresh temporary directory
   (TEST_TMPDIR), under a 10 s alarm (SBX_TEST_TIMEOUT=<s> changes it) that
   kills the whole group, so a crash, an unshare() or a leaked child cannot
   affect the next test.  ASSERT_* end the test at the first failure, EXPECT_*
   record it and carry on; SKIP ("why") ends it as skipped.  Output is TAP on
   stdout; the exit status is 1 when any test failed.  SBX_TEST_FILTER=<glob>
   runs only the tests whose name matches (fnmatch).

   Convention: a test that pins down an open bug starts with
   if (getenv ("SBX_TEST_KNOWN_BUGS") == NULL) SKIP ("known bug: ...");
   so that it shows in the output, runs with SBX_TEST_KNOWN_BUGS=1, and
   loses the guard in the commit that fixes the bug.  */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct sbx_test
{
  const char *name;
  void (*fn) (void);
  int line; /* tests run in source order, whatever the constructor order */
  struct sbx_test *next;
};

#define SBX_TEST_UNUSED __attribute__ ((unused))
static struct sbx_test *sbx_test_list SBX_TEST_UNUSED;
static bool sbx_test_failed SBX_TEST_UNUSED; /* in the test's process */
static int sbx_test_skip_fd SBX_TEST_UNUSED = -1;
static volatile sig_atomic_t sbx_test_pgid SBX_TEST_UNUSED;
static volatile sig_atomic_t sbx_test_timed_out SBX_TEST_UNUSED;
static char sbx_test_tmpdir[PATH_MAX] SBX_TEST_UNUSED;

/* A fresh directory for this test, removed after it whatever the outcome.  */
#define TEST_TMPDIR ((const char *) sbx_test_tmpdir)

static inline void
sbx_test_register (struct sbx_test *t)
{
  t->next = sbx_test_list;
  sbx_test_list = t;
}

#define TEST(name)                                                                            \
  static void sbx_test_fn_##name (void);                                                      \
  static struct sbx_test sbx_test_rec_##name = { #name, sbx_test_fn_##name, __LINE__, NULL }; \
  __attribute__ ((constructor)) static void sbx_test_reg_##name (void)                        \
  {                                                                                           \
    sbx_test_register (&sbx_test_rec_##name);                                                 \
  }                                                                                           \
  static void sbx_test_fn_##name (void)

/* ---- assertions ---- */

/* An integer of any type, kept with its signedness so that comparisons and
   printing are mathematically right (-1 < 1u is true here).  */
struct sbx_test_int
{
  bool is_signed;
  unsigned long long bits;
};

#define SBX_TEST_IS_UNSIGNED(x)                                                    \
  _Generic((x), bool : 1, unsigned char : 1, unsigned short : 1, unsigned int : 1, \
           unsigned long : 1, unsigned long long : 1, default : 0)
#define SBX_TEST_INT(x)                                                       \
  ((struct sbx_test_int){ ! SBX_TEST_IS_UNSIGNED (x),                         \
                          SBX_TEST_IS_UNSIGNED (x) ? (unsigned long long) (x) \
                                                   : (unsigned long long) (long long) (x) })

/* <0, 0, >0 as A is below, equal to or above B.  */
static inline int
sbx_test_int_cmp (struct sbx_test_int a, struct sbx_test_int b)
{
  bool a_neg = a.is_signed && (long long) a.bits < 0;
  bool b_neg = b.is_signed && (long long) b.bits < 0;

  if (a_neg != b_neg)
    return a_neg ? -1 : 1;
  if (a_neg) /* both negative */
    return (long long) a.bits < (long long) b.bits ? -1 : (long long) a.bits > (long long) b.bits;
  return a.bits < b.bits ? -1 : a.bits > b.bits;
}

static inline void
sbx_test_int_str (struct sbx_test_int v, char *buf, size_t n)
{
  if (v.is_signed)
    snprintf (buf, n, "%lld", (long long) v.bits);
  else
    snprintf (buf, n, "%llu", v.bits);
}

/* Report a failure; FATAL ends the test (its process) at once.  */
static inline void sbx_test_fail (bool fatal, const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static inline void
sbx_test_fail (bool fatal, const char *file, int line, const char *fmt, ...)
{
  va_list ap;

  printf ("# %s:%d: ", file, line);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
  fflush (stdout);
  sbx_test_failed = true;
  if (fatal)
    _exit (1);
}

static inline bool
sbx_test_check_int (bool fatal, const char *file, int line, struct sbx_test_int a,
                    struct sbx_test_int b, const char *op, const char *ea, const char *eb)
{
  int c = sbx_test_int_cmp (a, b);
  bool ok = strcmp (op, "==") == 0   ? c == 0
            : strcmp (op, "!=") == 0 ? c != 0
            : strcmp (op, "<") == 0  ? c < 0
            : strcmp (op, "<=") == 0 ? c <= 0
            : strcmp (op, ">") == 0  ? c > 0
                                     : c >= 0;
  char va[32], vb[32];

  if (ok)
    return true;
  sbx_test_int_str (a, va, sizeof va);
  sbx_test_int_str (b, vb, sizeof vb);
  sbx_test_fail (fatal, file, line, "expected %s (%s) %s %s (%s)", ea, va, op, eb, vb);
  return false;
}

static inline bool
sbx_test_check_str (bool fatal, const char *file, int line, const char *a, const char *b,
                    const char *op, const char *ea, const char *eb)
{
  bool ok;

  if (strcmp (op, "==") == 0)
    ok = a && b && strcmp (a, b) == 0;
  else if (strcmp (op, "!=") == 0)
    ok = a && b && strcmp (a, b) != 0;
  else /* "contains" */
    ok = a && b && strstr (a, b) != NULL;
  if (ok)
    return true;
  sbx_test_fail (fatal, file, line, "expected %s (\"%s\") %s %s (\"%s\")", ea, a ? a : "(null)", op,
                 eb, b ? b : "(null)");
  return false;
}

static inline void
sbx_test_check_bool (bool fatal, const char *file, int line, bool v, bool want, const char *ex)
{
  if (v != want)
    sbx_test_fail (fatal, file, line, "expected %s to be %s", ex, want ? "true" : "false");
}

static inline void
sbx_test_check_ptr (bool fatal, const char *file, int line, const void *p, bool want_null,
                    const char *ep)
{
  if ((p == NULL) != want_null)
    sbx_test_fail (fatal, file, line, "expected %s (%p) %s NULL", ep, p, want_null ? "==" : "!=");
}

/* Expressions are stringified here, before their macros are expanded.  */
#define SBX_TEST_CMP(fatal, a, op, b, ea, eb) \
  sbx_test_check_int (fatal, __FILE__, __LINE__, SBX_TEST_INT (a), SBX_TEST_INT (b), #op, ea, eb)
#define SBX_TEST_STR(fatal, a, op, b, ea, eb) \
  sbx_test_check_str (fatal, __FILE__, __LINE__, (a), (b), op, ea, eb)
#define SBX_TEST_BOOL(fatal, x, want, ex) \
  sbx_test_check_bool (fatal, __FILE__, __LINE__, ! ! (x), want, ex)
#define SBX_TEST_PTR(fatal, p, want_null, ep) \
  sbx_test_check_ptr (fatal, __FILE__, __LINE__, (p), want_null, ep)

#define ASSERT_EQ(a, b) SBX_TEST_CMP (true, a, ==, b, #a, #b)
#define ASSERT_NE(a, b) SBX_TEST_CMP (true, a, !=, b, #a, #b)
#define ASSERT_LT(a, b) SBX_TEST_CMP (true, a, <, b, #a, #b)
#define ASSERT_LE(a, b) SBX_TEST_CMP (true, a, <=, b, #a, #b)
#define ASSERT_GT(a, b) SBX_TEST_CMP (true, a, >, b, #a, #b)
#define ASSERT_GE(a, b) SBX_TEST_CMP (true, a, >=, b, #a, #b)
#define ASSERT_TRUE(x) SBX_TEST_BOOL (true, x, true, #x)
#define ASSERT_FALSE(x) SBX_TEST_BOOL (true, x, false, #x)
#define ASSERT_NULL(p) SBX_TEST_PTR (true, p, true, #p)
#define ASSERT_NOT_NULL(p) SBX_TEST_PTR (true, p, false, #p)
#define ASSERT_STREQ(a, b) SBX_TEST_STR (true, a, "==", b, #a, #b)
#define ASSERT_STRNE(a, b) SBX_TEST_STR (true, a, "!=", b, #a, #b)
#define ASSERT_STRSTR(hay, needle) SBX_TEST_STR (true, hay, "contains", needle, #hay, #needle)

#define EXPECT_EQ(a, b) SBX_TEST_CMP (false, a, ==, b, #a, #b)
#define EXPECT_NE(a, b) SBX_TEST_CMP (false, a, !=, b, #a, #b)
#define EXPECT_LT(a, b) SBX_TEST_CMP (false, a, <, b, #a, #b)
#define EXPECT_LE(a, b) SBX_TEST_CMP (false, a, <=, b, #a, #b)
#define EXPECT_GT(a, b) SBX_TEST_CMP (false, a, >, b, #a, #b)
#define EXPECT_GE(a, b) SBX_TEST_CMP (false, a, >=, b, #a, #b)
#define EXPECT_TRUE(x) SBX_TEST_BOOL (false, x, true, #x)
#define EXPECT_FALSE(x) SBX_TEST_BOOL (false, x, false, #x)
#define EXPECT_NULL(p) SBX_TEST_PTR (false, p, true, #p)
#define EXPECT_NOT_NULL(p) SBX_TEST_PTR (false, p, false, #p)
#define EXPECT_STREQ(a, b) SBX_TEST_STR (false, a, "==", b, #a, #b)
#define EXPECT_STRNE(a, b) SBX_TEST_STR (false, a, "!=", b, #a, #b)
#define EXPECT_STRSTR(hay, needle) SBX_TEST_STR (false, hay, "contains", needle, #hay, #needle)

/* End the test as skipped (as failed if an EXPECT_* already failed).  */
#define SKIP(reason) sbx_test_skip (reason)
static inline __attribute__ ((noreturn)) void
sbx_test_skip (const char *reason)
{
  size_t len = strlen (reason);

  fflush (stdout);
  if (sbx_test_failed)
    _exit (1);
  if (sbx_test_skip_fd >= 0 && write (sbx_test_skip_fd, reason, len < 200 ? len : 200) < 0)
    _exit (1);
  _exit (77);
}

/* ---- the runner (in the parent) ---- */

static inline void
sbx_test_on_alarm (int sig)
{
  (void) sig;
  sbx_test_timed_out = 1;
  if (sbx_test_pgid > 0)
    kill (-(pid_t) sbx_test_pgid, SIGKILL);
}

static inline int
sbx_test_rm_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (type == FTW_D || type == FTW_DNR) /* first pass: make directories removable */
    (void) chmod (path, 0700);
  else if (type == FTW_DP)
    (void) rmdir (path);
  else if (type != FTW_DNR)
    (void) unlink (path);
  return 0;
}

static inline void
sbx_test_rm_tmpdir (void)
{
  (void) nftw (sbx_test_tmpdir, sbx_test_rm_entry, 16, FTW_PHYS | FTW_MOUNT);
  (void) nftw (sbx_test_tmpdir, sbx_test_rm_entry, 16, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
}

/* Wait for the test's process PID, kill what is left of its group and reap
   it (orphans come back to us: we are a subreaper).  */
static inline int
sbx_test_wait (pid_t pid, unsigned timeout)
{
  int status = 0;

  setpgid (pid, pid); /* also done by the child: no race either way */
  sbx_test_pgid = pid;
  sbx_test_timed_out = 0;
  alarm (timeout);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  alarm (0);
  kill (-pid, SIGKILL);
  sbx_test_pgid = 0;
  while (waitpid (-pid, NULL, 0) > 0 || errno == EINTR)
    ;
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  return status;
}

/* Run T in a child; 0 passed, 1 failed, 2 skipped (REASON filled).  */
static inline int
sbx_test_run_one (const struct sbx_test *t, unsigned timeout, char *reason, size_t reason_len)
{
  const char *tmp = getenv ("TMPDIR");
  int len = snprintf (sbx_test_tmpdir, sizeof sbx_test_tmpdir, "%s/sbx-unit-XXXXXX",
                      tmp && *tmp ? tmp : "/tmp");
  int p[2], status, fork_errno;
  ssize_t n;
  pid_t pid;

  reason[0] = '\0';
  if (len >= (int) sizeof sbx_test_tmpdir || mkdtemp (sbx_test_tmpdir) == NULL
      || pipe2 (p, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      printf ("# %s: cannot set up: %s\n", t->name,
              strerror (len >= (int) sizeof sbx_test_tmpdir ? ENAMETOOLONG : errno));
      return 1;
    }
  fflush (NULL);
  pid = fork ();
  fork_errno = errno;
  if (pid == 0)
    {
      close (p[0]);
      setvbuf (stdout, NULL, _IOLBF, 0); /* diagnostics survive a crash */
      setpgid (0, 0);
      signal (SIGALRM, SIG_DFL);
      umask (022);
      sbx_test_skip_fd = p[1];
      t->fn ();
      exit (sbx_test_failed ? 1 : 0); /* exit(), not _exit(): LeakSanitizer runs */
    }
  close (p[1]);
  status = pid > 0 ? sbx_test_wait (pid, timeout) : 0;
  n = read (p[0], reason, reason_len - 1);
  reason[n > 0 ? n : 0] = '\0';
  close (p[0]);
  sbx_test_rm_tmpdir ();
  if (pid < 0)
    printf ("# %s: fork: %s\n", t->name, strerror (fork_errno));
  else if (sbx_test_timed_out)
    printf ("# %s: timed out after %u s\n", t->name, timeout);
  else if (WIFSIGNALED (status))
    printf ("# %s: killed by signal %d (%s)\n", t->name, WTERMSIG (status),
            strsignal (WTERMSIG (status)));
  else if (WEXITSTATUS (status) == 77)
    return 2;
  else if (WEXITSTATUS (status) == 0)
    return 0;
  return 1;
}

static inline int
sbx_test_main (void)
{
  const char *filter = getenv ("SBX_TEST_FILTER");
  const char *tmo = getenv ("SBX_TEST_TIMEOUT");
  unsigned long timeout = tmo ? strtoul (tmo, NULL, 10) : 0;
  struct sbx_test *sorted = NULL, *t, **pp;
  unsigned n = 0, i = 0, counts[3] = { 0, 0, 0 };
  struct sigaction sa = { .sa_handler = sbx_test_on_alarm };
  char reason[256];

  while ((t = sbx_test_list) != NULL) /* insertion sort by line, keeping selected tests */
    {
      sbx_test_list = t->next;
      if (filter && *filter && fnmatch (filter, t->name, 0) != 0)
        continue;
      for (pp = &sorted; *pp && (*pp)->line < t->line; pp = &(*pp)->next)
        ;
      t->next = *pp;
      *pp = t;
      n++;
    }
  if (timeout == 0 || timeout > 3600)
    timeout = 10;
  sigaction (SIGALRM, &sa, NULL);
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  printf ("1..%u\n", n);
  for (t = sorted; t; t = t->next)
    {
      int r = sbx_test_run_one (t, (unsigned) timeout, reason, sizeof reason);

      counts[r]++;
      printf ("%sok %u - %s%s%s\n", r == 1 ? "not " : "", ++i, t->name, r == 2 ? " # SKIP " : "",
              r == 2 ? reason : "");
    }
  printf ("# %u passed, %u failed, %u skipped\n", counts[0], counts[1], counts[2]);
  return counts[1] ? 1 : 0;
}

#define TEST_MAIN            \
  int main (void)            \
  {                          \
    return sbx_test_main (); \
  }

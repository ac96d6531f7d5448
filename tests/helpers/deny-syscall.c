/* SPDX-License-Identifier: GPL-2.0-or-later */
/* deny-syscall: make chosen system calls fail with a chosen errno, then exec
   a command (crun's tests/no_openat2.c, generalized).  The filter is
   inherited by the command and everything it runs, so the tests can check
   sbx's fallbacks and its explanations of refused host features.

   Usage: deny-syscall RULE... -- CMD [ARG...]
   RULE is NAME=ERRNO, ERRNO a name (ENOSYS, EPERM, ...) or a number, NAME a
   system call from the table below or "userns": unshare() and clone() whose
   flags carry CLONE_NEWUSER fail with ERRNO, and clone3() (whose flags the
   filter cannot read) with ENOSYS, so that callers fall back to clone().

   The filter is raw BPF (no libseccomp).  It knows the x86-64 ABI only:
   a call made through another ABI (i386, or x32 with __X32_SYSCALL_BIT)
   kills the process, so nothing can get around a rule unnoticed.

   PR_SET_NO_NEW_PRIVS is set first, as seccomp requires without
   CAP_SYS_ADMIN: setuid programs run under this helper (newuidmap) lose
   their privilege.

   Exit status: 2 for a usage error, 1 if the filter cannot be installed,
   126/127 if CMD cannot be run (as env(1)), else CMD's.  */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define EXIT_USAGE 2

#if defined(__x86_64__) && ! defined(__ILP32__)

#  define X32_SYSCALL_BIT 0x40000000U
#  define MAX_RULES 32
/* At most 9 instructions per rule (userns), 6 of prologue, 1 of epilogue.  */
#  define MAX_INSNS (MAX_RULES * 9 + 7)

struct name_value
{
  const char *name;
  int value;
};

static const struct name_value syscalls[] = {
  { "openat2", SYS_openat2 },
  { "openat", SYS_openat },
  { "open", SYS_open },
  { "mknodat", SYS_mknodat },
  { "mknod", SYS_mknod },
  { "clone", SYS_clone },
  { "clone3", SYS_clone3 },
  { "unshare", SYS_unshare },
  { "setns", SYS_setns },
  { "mount", SYS_mount },
  { "mount_setattr", SYS_mount_setattr },
  { "open_tree", SYS_open_tree },
  { "move_mount", SYS_move_mount },
  { "fsopen", SYS_fsopen },
  { "pivot_root", SYS_pivot_root },
  { "close_range", SYS_close_range },
  { "pidfd_open", SYS_pidfd_open },
  { "statx", SYS_statx },
  { "faccessat2", SYS_faccessat2 },
  { "copy_file_range", SYS_copy_file_range },
  { "memfd_create", SYS_memfd_create },
  { "seccomp", SYS_seccomp },
  { NULL, 0 },
};

static const struct name_value errnos[] = {
  { "ENOSYS", ENOSYS }, { "EPERM", EPERM },   { "EACCES", EACCES },         { "EINVAL", EINVAL },
  { "ENOSPC", ENOSPC }, { "EUSERS", EUSERS }, { "EOPNOTSUPP", EOPNOTSUPP }, { "ENOENT", ENOENT },
  { "EXDEV", EXDEV },   { "EROFS", EROFS },   { "ENOMEM", ENOMEM },         { NULL, 0 },
};

/* The pseudo system call "userns".  */
#  define RULE_USERNS (-1)

struct filter
{
  struct sock_filter insn[MAX_INSNS];
  unsigned short len;
};

static void
emit (struct filter *f, struct sock_filter insn)
{
  /* MAX_INSNS bounds what MAX_RULES rules can produce.  */
  f->insn[f->len++] = insn;
}

static void usage (const char *fmt, ...) __attribute__ ((noreturn, format (printf, 1, 2)));

static void
usage (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fputs ("deny-syscall: ", stderr);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputs ("\nusage: deny-syscall NAME=ERRNO... -- CMD [ARG...]\n"
         "  NAME: a system call (openat2, mknodat, mknod, clone3, unshare, ...) or userns\n"
         "  ERRNO: ENOSYS, EPERM, EACCES, EINVAL, ... or a number from 1 to 4095\n",
         stderr);
  exit (EXIT_USAGE);
}

static int
lookup (const struct name_value *table, const char *name, size_t len)
{
  size_t i;

  for (i = 0; table[i].name; i++)
    if (strlen (table[i].name) == len && strncmp (table[i].name, name, len) == 0)
      return table[i].value;
  return -1;
}

static int
parse_errno (const char *s)
{
  char *end;
  long v;
  int e = lookup (errnos, s, strlen (s));

  if (e > 0)
    return e;
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || *end || v < 1 || v > 4095)
    return -1;
  return (int) v;
}

static void
emit_deny (struct filter *f, int nr, int err)
{
  /* A = nr.  */
  emit (f, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, (unsigned) nr, 0, 1));
  emit (f, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K,
                                          SECCOMP_RET_ERRNO | ((unsigned) err & SECCOMP_RET_DATA)));
}

/* unshare(flags) and clone(flags, ...) carrying CLONE_NEWUSER fail with ERR;
   clone3 fails with ENOSYS.  On x86-64 the flags are the first argument of
   both; CLONE_NEWUSER lies in its low 32 bits (little-endian: at offset 0).  */
static void
emit_userns (struct filter *f, int err)
{
  emit_deny (f, SYS_clone3, ENOSYS);
  emit (f, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 1, 0));
  emit (f, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
  emit (f, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                          offsetof (struct seccomp_data, args[0])));
  emit (f, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1));
  emit (f, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K,
                                          SECCOMP_RET_ERRNO | ((unsigned) err & SECCOMP_RET_DATA)));
  /* Reload the number for the rules that follow.  */
  emit (f, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                          offsetof (struct seccomp_data, nr)));
}

static void
emit_prologue (struct filter *f)
{
  emit (f, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                          offsetof (struct seccomp_data, arch)));
  emit (f, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  emit (f, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  emit (f, (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                          offsetof (struct seccomp_data, nr)));
  /* x32 calls share the arch value and set this bit in the number.  */
  emit (f, (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
  emit (f, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

/* Parse RULEs up to "--"; returns the index of the command.  */
static int
build_filter (int argc, char **argv, struct filter *f)
{
  int nrules = 0;
  int i;

  emit_prologue (f);
  for (i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    {
      const char *eq = strchr (argv[i], '=');
      int nr, err;

      if (eq == NULL)
        usage ("invalid rule `%s`: expected NAME=ERRNO", argv[i]);
      if (++nrules > MAX_RULES)
        usage ("too many rules (at `%s`)", argv[i]);
      if ((size_t) (eq - argv[i]) == strlen ("userns") && strncmp (argv[i], "userns", 6) == 0)
        nr = RULE_USERNS;
      else if ((nr = lookup (syscalls, argv[i], (size_t) (eq - argv[i]))) < 0)
        usage ("unknown system call in `%s`", argv[i]);
      if ((err = parse_errno (eq + 1)) < 0)
        usage ("unknown errno in `%s`", argv[i]);
      if (nr == RULE_USERNS)
        emit_userns (f, err);
      else
        emit_deny (f, nr, err);
    }
  if (nrules == 0)
    usage ("no rule given");
  if (i >= argc || strcmp (argv[i], "--") != 0)
    usage ("missing `--` before the command");
  if (i + 1 >= argc)
    usage ("no command after `--`");
  emit (f, (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return i + 1;
}

int
main (int argc, char **argv)
{
  static struct filter f;
  struct sock_fprog prog;
  int cmd;

  cmd = build_filter (argc, argv, &f);
  prog = (struct sock_fprog){ .len = f.len, .filter = f.insn };
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      perror ("deny-syscall: prctl PR_SET_NO_NEW_PRIVS");
      return 1;
    }
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
    {
      perror ("deny-syscall: install the seccomp filter");
      return 1;
    }
  execvp (argv[cmd], &argv[cmd]);
  fprintf (stderr, "deny-syscall: exec `%s`: %s\n", argv[cmd], strerror (errno));
  return errno == ENOENT ? 127 : 126;
}

#else /* not x86-64 */

int
main (void)
{
  fputs ("deny-syscall: only the x86-64 system call table is known\n", stderr);
  return 77;
}

#endif

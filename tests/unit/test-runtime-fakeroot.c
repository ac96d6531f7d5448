/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The root-emulation filter (runtime/fakeroot.c), loaded in each test's own
   forked process: faked calls return 0 and change nothing, device mknod
   creates nothing, other file types are still created.  */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"

/* Also moves into TEST_TMPDIR: the tests use relative names.  */
static void
install (void)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (chdir (TEST_TMPDIR), 0);
  ASSERT_EQ (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  if (fakeroot_install (&err) < 0)
    printf ("# %s\n", err->msg);
  ASSERT_NULL (err);
}

/* Create NAME in TEST_TMPDIR; return its name relative to it.  */
static const char *
tmp_file (const char *name)
{
  int dirfd = open (TEST_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd;

  ASSERT_GE (dirfd, 0);
  fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE (fd, 0);
  close (fd);
  close (dirfd);
  return name;
}

TEST (filter_builds)
{
  cleanup_error struct sbx_error *err = NULL;
  void *filter = NULL;

  ASSERT_EQ (fakeroot_filter_new (&filter, &err), 0);
  ASSERT_NOT_NULL (filter);
  fakeroot_filter_free (filter);
}

TEST (chown_family_succeeds_without_effect)
{
  const char *f = tmp_file ("f");
  struct stat st;
  int dirfd;

  install ();
  EXPECT_EQ (chown (f, 12345, 12345), 0);
  EXPECT_EQ (lchown (f, 12345, 12345), 0);
  dirfd = open (TEST_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (dirfd, 0);
  EXPECT_EQ (fchownat (dirfd, "f", 12345, 12345, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ (fchown (dirfd, 12345, 12345), 0);
  close (dirfd);
  ASSERT_EQ (stat (f, &st), 0);
  EXPECT_EQ (st.st_uid, getuid ());
  EXPECT_EQ (st.st_gid, getgid ());
}

TEST (id_changes_succeed_without_effect)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  gid_t groups[] = { 4242 };

  install ();
  EXPECT_EQ (setgroups (1, groups), 0);
  EXPECT_EQ (setresgid (4242, 4242, 4242), 0);
  EXPECT_EQ (setregid (4242, 4242), 0);
  EXPECT_EQ (setgid (4242), 0);
  EXPECT_EQ (setresuid (4242, 4242, 4242), 0);
  EXPECT_EQ (setreuid (4242, 4242), 0);
  EXPECT_EQ (setuid (4242), 0);
  EXPECT_EQ (syscall (SYS_setfsuid, 4242), 0);
  EXPECT_EQ (syscall (SYS_setfsgid, 4242), 0);
  EXPECT_EQ (getuid (), uid);
  EXPECT_EQ (geteuid (), uid);
  EXPECT_EQ (getgid (), gid);
  EXPECT_EQ (getegid (), gid);
}

TEST (device_mknod_is_faked_other_types_are_made)
{
  struct stat st;

  install ();
  EXPECT_EQ (mknod ("null", S_IFCHR | 0666, makedev (1, 3)), 0);
  EXPECT_EQ (lstat ("null", &st), -1);
  EXPECT_EQ (mknodat (AT_FDCWD, "loop", S_IFBLK | 0660, makedev (7, 0)), 0);
  EXPECT_EQ (lstat ("loop", &st), -1);
  /* The old syscall, too: glibc's mknod is mknodat.  */
  EXPECT_EQ (syscall (SYS_mknod, "zero", S_IFCHR | 0666, makedev (1, 5)), 0);
  EXPECT_EQ (lstat ("zero", &st), -1);

  EXPECT_EQ (mkfifo ("fifo", 0600), 0);
  ASSERT_EQ (lstat ("fifo", &st), 0);
  EXPECT_TRUE (S_ISFIFO (st.st_mode));
  EXPECT_EQ (mknodat (AT_FDCWD, "sock", S_IFSOCK | 0600, 0), 0);
  ASSERT_EQ (lstat ("sock", &st), 0);
  EXPECT_TRUE (S_ISSOCK (st.st_mode));
  EXPECT_EQ (mknod ("file", S_IFREG | 0600, 0), 0);
  ASSERT_EQ (lstat ("file", &st), 0);
  EXPECT_TRUE (S_ISREG (st.st_mode));
  EXPECT_EQ (syscall (SYS_mknod, "fifo", S_IFIFO | 0600, 0), -1); /* exists: really tried */
  EXPECT_EQ (errno, EEXIST);
}

#if defined(__x86_64__)
/* An i386 syscall from this 64-bit process (int 0x80: 32-bit arguments,
   i386 numbers, AUDIT_ARCH_I386 in the filter).  */
static long
i386_syscall (long nr, long a, long b, long c)
{
  long ret;

  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}

/* Whether the kernel runs i386 syscalls (CONFIG_IA32_EMULATION, not
   disabled with ia32_emulation=0): try getpid (20) in a child.  */
static bool
have_i386 (void)
{
  int status;
  pid_t pid = fork ();

  if (pid == 0)
    _exit (i386_syscall (20, 0, 0, 0) > 0 ? 0 : 1);
  return pid > 0 && waitpid (pid, &status, 0) == pid && WIFEXITED (status)
         && WEXITSTATUS (status) == 0;
}

/* The path in the low 4 GiB, where an i386 syscall can point.  */
static char *
low_copy (const char *s)
{
  char *p
      = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

  ASSERT_TRUE (p != MAP_FAILED);
  snprintf (p, 4096, "%s", s);
  return p;
}

TEST (i386_chown32_and_setuid32_are_faked)
{
  char *f = low_copy (tmp_file ("f"));
  struct stat st;

  if (! have_i386 ())
    SKIP ("the kernel does not run i386 code");
  install ();
  EXPECT_EQ (i386_syscall (212 /* chown32 */, (long) f, 12345, 12345), 0);
  EXPECT_EQ (i386_syscall (182 /* chown, 16-bit ids */, (long) f, 123, 123), 0);
  EXPECT_EQ (i386_syscall (213 /* setuid32 */, 4242, 0, 0), 0);
  EXPECT_EQ (i386_syscall (14 /* mknod */, (long) f, S_IFCHR | 0600, 0x103), 0);
  ASSERT_EQ (stat (f, &st), 0);
  EXPECT_EQ (st.st_uid, getuid ());
  EXPECT_TRUE (S_ISREG (st.st_mode));
}

TEST (x32_chown_is_faked)
{
  const char *f = tmp_file ("f");
  struct stat st;

  /* Faked even where the kernel has no x32 ABI (it would say ENOSYS): the
     filter runs first.  */
  install ();
  EXPECT_EQ (syscall (0x40000000 | 92 /* x32 chown */, f, 12345, 12345), 0);
  ASSERT_EQ (stat (f, &st), 0);
  EXPECT_EQ (st.st_uid, getuid ());
}
#endif

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsprobe: the file-system calls the storage conformance suite
   (tests/integration/storage-conformance.bash) needs and busybox cannot
   make.  Static, so it runs inside any container root and on the host.

   Usage: fsprobe COMMAND ARG...
     xattr-set PATH NAME VALUE   lsetxattr
     xattr-get PATH NAME         print the value and a newline
     xattr-list PATH             print the names, one a line, sorted
     xattr-rm PATH NAME          lremovexattr
     mmap-write PATH OFFSET STRING [no-msync]
                                 write STRING at OFFSET through a shared
                                 mapping (the file is extended first when
                                 shorter), msync, munmap; with no-msync,
                                 close the file and exit with the dirty
                                 mapping in place (the kernel writes it back
                                 whenever it likes)
     mmap-read PATH OFFSET LEN   print LEN bytes at OFFSET read through a
                                 shared mapping, and a newline
     tmpfile DIR [NAME CONTENT]  open (DIR, O_TMPFILE), write CONTENT, check
                                 that it has no link and that DIR's listing
                                 did not change; with NAME, link it in as
                                 DIR/NAME (linkat of /proc/self/fd/N, which
                                 needs no capability); print "ok"
     flock PATH                  flock LOCK_EX; another open file description
                                 (in a child) must get EWOULDBLOCK, and the
                                 lock after LOCK_UN; print what happened
     fcntl-lock PATH             the same with F_SETLK write locks, and F_GETLK
                                 in the child must name the holder's pid
     stat-ino PATH               print st_ino (lstat)
     mtime PATH                  print st_mtime as SECONDS.NANOSECONDS (lstat)
     utimens PATH SEC NSEC       set atime and mtime (not following symlinks)
     hold-open-unlink PATH       open PATH, unlink it, check that the name is
                                 gone and fstat works, print the content read
                                 through the open file (st_nlink is not
                                 checked: an overlay's open lower file keeps
                                 the lower inode's count)
     mkfifo PATH                 mkfifo 0644
     mksock PATH                 bind an AF_UNIX socket to PATH
     rename OLD NEW              rename(2), nothing else
     fsync PATH DATA             append DATA, fsync, fdatasync, fsync the
                                 parent directory, syncfs; print "ok"
     statfs PATH                 print "type=0xT bsize=N blocks=N bfree=N
                                 bavail=N files=N namelen=N"

   A failing call prints "fsprobe: CALL PATH: MESSAGE (ENAME)" on stderr and
   exits 1; a usage error exits 2.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define EXIT_USAGE 2

__attribute__ ((noreturn, format (printf, 1, 2))) static void
die_errno (const char *fmt, ...)
{
  int e = errno;
  const char *name = strerrorname_np (e);
  va_list ap;

  fputs ("fsprobe: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, ": %s (%s)\n", strerror (e), name ? name : "?");
  exit (1);
}

__attribute__ ((noreturn, format (printf, 1, 2))) static void
die (const char *fmt, ...)
{
  va_list ap;

  fputs ("fsprobe: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (1);
}

static const char *
errname (int e)
{
  const char *name = strerrorname_np (e);

  return name ? name : "?";
}

static long long
parse_num (const char *s)
{
  char *end;
  long long v;

  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || end == s || *end || v < 0)
    {
      fprintf (stderr, "fsprobe: `%s` is not a non-negative number\n", s);
      exit (EXIT_USAGE);
    }
  return v;
}

static void
write_all (int fd, const char *buf, size_t len, const char *what)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die_errno ("write %s", what);
      buf += n;
      len -= (size_t) n;
    }
}

/* Copy everything FD reads (from its current offset) to stdout.  */
static void
cat_fd (int fd, const char *what)
{
  char buf[65536];

  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die_errno ("read %s", what);
      if (n == 0)
        break;
      write_all (STDOUT_FILENO, buf, (size_t) n, "stdout");
    }
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The sorted names in DIR, joined by '/' (for a before/after comparison).  */
static char *
listing (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  char **names = NULL, *out, *p;
  size_t n = 0, cap = 0, len = 1, i;

  if (! d)
    die_errno ("opendir %s", dir);
  while ((errno = 0, de = readdir (d)))
    {
      if (n == cap)
        {
          cap = cap ? cap * 2 : 64;
          names = realloc (names, cap * sizeof *names);
          if (! names)
            die ("out of memory");
        }
      names[n] = strdup (de->d_name);
      if (! names[n])
        die ("out of memory");
      len += strlen (de->d_name) + 1;
      n++;
    }
  if (errno)
    die_errno ("readdir %s", dir);
  closedir (d);
  qsort (names, n, sizeof *names, cmp_str);
  out = calloc (1, len);
  if (! out)
    die ("out of memory");
  for (i = 0, p = out; i < n; i++)
    {
      size_t l = strlen (names[i]); /* fits: LEN counts every name and separator */

      memcpy (p, names[i], l);
      p[l] = '/';
      p += l + 1;
      free (names[i]);
    }
  free (names);
  return out;
}

/* ---- xattrs ---- */

static int
cmd_xattr_set (char **a)
{
  if (lsetxattr (a[0], a[1], a[2], strlen (a[2]), 0) < 0)
    die_errno ("lsetxattr %s %s", a[0], a[1]);
  return 0;
}

static int
cmd_xattr_get (char **a)
{
  char buf[65536];
  ssize_t n = lgetxattr (a[0], a[1], buf, sizeof buf);

  if (n < 0)
    die_errno ("lgetxattr %s %s", a[0], a[1]);
  write_all (STDOUT_FILENO, buf, (size_t) n, "stdout");
  write_all (STDOUT_FILENO, "\n", 1, "stdout");
  return 0;
}

static int
cmd_xattr_list (char **a)
{
  char buf[65536];
  char *names[4096];
  ssize_t n = llistxattr (a[0], buf, sizeof buf);
  size_t count = 0, i;
  char *p;

  if (n < 0)
    die_errno ("llistxattr %s", a[0]);
  for (p = buf; p < buf + n && count < sizeof names / sizeof *names; p += strlen (p) + 1)
    names[count++] = p;
  qsort (names, count, sizeof *names, cmp_str);
  for (i = 0; i < count; i++)
    printf ("%s\n", names[i]);
  return 0;
}

static int
cmd_xattr_rm (char **a)
{
  if (lremovexattr (a[0], a[1]) < 0)
    die_errno ("lremovexattr %s %s", a[0], a[1]);
  return 0;
}

/* ---- mmap ---- */

static int
cmd_mmap_write (int argc, char **a)
{
  off_t off = (off_t) parse_num (a[1]);
  size_t len = strlen (a[2]);
  long page = sysconf (_SC_PAGESIZE);
  off_t base = off - off % page;
  size_t maplen = (size_t) (off - base) + len;
  struct stat st;
  char *m;
  int fd;

  if (len == 0)
    die ("mmap-write: empty string");
  if (argc == 4 && strcmp (a[3], "no-msync") != 0)
    die ("mmap-write: unknown option `%s`", a[3]);
  fd = open (a[0], O_RDWR | O_CLOEXEC);
  if (fd < 0)
    die_errno ("open %s", a[0]);
  if (fstat (fd, &st) < 0)
    die_errno ("fstat %s", a[0]);
  if (st.st_size < off + (off_t) len && ftruncate (fd, off + (off_t) len) < 0)
    die_errno ("ftruncate %s", a[0]);
  m = mmap (NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base);
  if (m == MAP_FAILED)
    die_errno ("mmap %s", a[0]);
  memcpy (m + (off - base), a[2], len);
  if (argc == 4)
    {
      if (close (fd) < 0)
        die_errno ("close %s", a[0]);
      return 0;
    }
  if (msync (m, maplen, MS_SYNC) < 0)
    die_errno ("msync %s", a[0]);
  if (munmap (m, maplen) < 0)
    die_errno ("munmap %s", a[0]);
  if (close (fd) < 0)
    die_errno ("close %s", a[0]);
  return 0;
}

static int
cmd_mmap_read (char **a)
{
  off_t off = (off_t) parse_num (a[1]);
  size_t len = (size_t) parse_num (a[2]);
  long page = sysconf (_SC_PAGESIZE);
  off_t base = off - off % page;
  size_t maplen = (size_t) (off - base) + len;
  char *m;
  int fd;

  if (len == 0)
    die ("mmap-read: zero length");
  fd = open (a[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die_errno ("open %s", a[0]);
  m = mmap (NULL, maplen, PROT_READ, MAP_SHARED, fd, base);
  if (m == MAP_FAILED)
    die_errno ("mmap %s", a[0]);
  write_all (STDOUT_FILENO, m + (off - base), len, "stdout");
  write_all (STDOUT_FILENO, "\n", 1, "stdout");
  munmap (m, maplen);
  close (fd);
  return 0;
}

/* ---- O_TMPFILE ---- */

static int
cmd_tmpfile (int argc, char **a)
{
  char *before, *after, proc[64];
  struct stat st;
  int fd;

  if (argc != 1 && argc != 3)
    {
      fprintf (stderr, "usage: fsprobe tmpfile DIR [NAME CONTENT]\n");
      return EXIT_USAGE;
    }
  before = listing (a[0]);
  fd = open (a[0], O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    die_errno ("open %s O_TMPFILE", a[0]);
  if (argc == 3)
    write_all (fd, a[2], strlen (a[2]), "the O_TMPFILE file");
  if (fstat (fd, &st) < 0)
    die_errno ("fstat the O_TMPFILE file");
  if (st.st_nlink != 0)
    die ("the O_TMPFILE file has %ju links, expected 0", (uintmax_t) st.st_nlink);
  after = listing (a[0]);
  if (strcmp (before, after) != 0)
    die ("the listing of %s changed from `%s` to `%s`", a[0], before, after);
  if (argc == 3)
    {
      char *path;

      snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
      if (asprintf (&path, "%s/%s", a[0], a[1]) < 0)
        die ("out of memory");
      if (linkat (AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
        die_errno ("linkat %s %s", proc, path);
      if (fstat (fd, &st) < 0)
        die_errno ("fstat %s", path);
      if (st.st_nlink != 1)
        die ("%s has %ju links after linkat, expected 1", path, (uintmax_t) st.st_nlink);
      free (path);
    }
  if (close (fd) < 0)
    die_errno ("close the O_TMPFILE file");
  free (before);
  free (after);
  printf ("ok\n");
  return 0;
}

/* ---- locks ---- */

/* Run FN (PATH) in a child; return its exit status (0-255).  */
static int
in_child (int (*fn) (const char *), const char *path)
{
  int st;
  pid_t pid;

  fflush (stdout);
  pid = fork ();
  if (pid < 0)
    die_errno ("fork");
  if (pid == 0)
    {
      int rc = fn (path);

      fflush (stdout);
      _exit (rc);
    }
  if (waitpid (pid, &st, 0) < 0)
    die_errno ("waitpid");
  if (! WIFEXITED (st))
    die ("the child was killed by signal %d", WTERMSIG (st));
  return WEXITSTATUS (st);
}

static int
flock_other (const char *path)
{
  int fd = open (path, O_RDWR | O_CLOEXEC);

  if (fd < 0)
    die_errno ("open %s", path);
  if (flock (fd, LOCK_EX | LOCK_NB) == 0)
    return 0;
  return errno == EWOULDBLOCK ? 1 : 2;
}

static int
cmd_flock (char **a)
{
  int fd = open (a[0], O_RDWR | O_CLOEXEC), rc;

  if (fd < 0)
    die_errno ("open %s", a[0]);
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    die_errno ("flock %s LOCK_EX", a[0]);
  printf ("exclusive: ok\n");
  rc = in_child (flock_other, a[0]);
  printf ("other open file: %s\n", rc == 0 ? "got the lock" : rc == 1 ? "EWOULDBLOCK" : "error");
  if (flock (fd, LOCK_UN) < 0)
    die_errno ("flock %s LOCK_UN", a[0]);
  rc = in_child (flock_other, a[0]);
  printf ("after unlock: %s\n", rc == 0 ? "ok" : rc == 1 ? "EWOULDBLOCK" : "error");
  close (fd);
  return 0;
}

static pid_t lock_holder;

static int
fcntl_other (const char *path)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  int fd = open (path, O_RDWR | O_CLOEXEC);

  if (fd < 0)
    die_errno ("open %s", path);
  if (fcntl (fd, F_GETLK, &fl) < 0)
    die_errno ("fcntl %s F_GETLK", path);
  if (fl.l_type == F_UNLCK)
    printf ("getlk: unlocked\n");
  else if (fl.l_type == F_WRLCK && fl.l_pid == lock_holder)
    printf ("getlk: write lock held by the parent\n");
  else
    printf ("getlk: type %d held by pid %d (parent %d)\n", fl.l_type, (int) fl.l_pid,
            (int) lock_holder);
  fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
  if (fcntl (fd, F_SETLK, &fl) == 0)
    {
      printf ("setlk: ok\n");
      return 0;
    }
  printf ("setlk: %s\n", errno == EAGAIN || errno == EACCES ? "EAGAIN" : errname (errno));
  return 1;
}

static int
cmd_fcntl_lock (char **a)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  int fd = open (a[0], O_RDWR | O_CLOEXEC);

  if (fd < 0)
    die_errno ("open %s", a[0]);
  if (fcntl (fd, F_SETLK, &fl) < 0)
    die_errno ("fcntl %s F_SETLK F_WRLCK", a[0]);
  printf ("write lock: ok\n");
  lock_holder = getpid ();
  in_child (fcntl_other, a[0]);
  fl = (struct flock){ .l_type = F_UNLCK, .l_whence = SEEK_SET };
  if (fcntl (fd, F_SETLK, &fl) < 0)
    die_errno ("fcntl %s F_SETLK F_UNLCK", a[0]);
  printf ("after unlock:\n");
  in_child (fcntl_other, a[0]);
  close (fd);
  return 0;
}

/* ---- stat ---- */

static int
cmd_stat_ino (char **a)
{
  struct stat st;

  if (lstat (a[0], &st) < 0)
    die_errno ("lstat %s", a[0]);
  printf ("%ju\n", (uintmax_t) st.st_ino);
  return 0;
}

static int
cmd_mtime (char **a)
{
  struct stat st;

  if (lstat (a[0], &st) < 0)
    die_errno ("lstat %s", a[0]);
  printf ("%jd.%09ld\n", (intmax_t) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return 0;
}

static int
cmd_utimens (char **a)
{
  struct timespec ts[2];

  ts[0].tv_sec = (time_t) parse_num (a[1]);
  ts[0].tv_nsec = (long) parse_num (a[2]);
  ts[1] = ts[0];
  if (utimensat (AT_FDCWD, a[0], ts, AT_SYMLINK_NOFOLLOW) < 0)
    die_errno ("utimensat %s", a[0]);
  return 0;
}

/* ---- unlink of an open file, special files, rename ---- */

static int
cmd_hold_open_unlink (char **a)
{
  struct stat st;
  int fd = open (a[0], O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    die_errno ("open %s", a[0]);
  if (unlink (a[0]) < 0)
    die_errno ("unlink %s", a[0]);
  if (lstat (a[0], &st) == 0)
    die ("%s still exists after unlink", a[0]);
  if (errno != ENOENT)
    die_errno ("lstat %s after unlink", a[0]);
  if (fstat (fd, &st) < 0)
    die_errno ("fstat %s after unlink", a[0]);
  cat_fd (fd, a[0]);
  close (fd);
  return 0;
}

static int
cmd_mkfifo (char **a)
{
  if (mkfifo (a[0], 0644) < 0)
    die_errno ("mkfifo %s", a[0]);
  return 0;
}

static int
cmd_mksock (char **a)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (a[0]) >= sizeof sa.sun_path)
    die ("mksock: %s is too long for a socket address", a[0]);
  memcpy (sa.sun_path, a[0], strlen (a[0]) + 1);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die_errno ("socket");
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    die_errno ("bind %s", a[0]);
  close (fd);
  return 0;
}

static int
cmd_rename (char **a)
{
  if (rename (a[0], a[1]) < 0)
    die_errno ("rename %s %s", a[0], a[1]);
  return 0;
}

/* ---- fsync, statfs ---- */

static int
cmd_fsync (char **a)
{
  char *dir = strdup (a[0]), *slash;
  int fd, dfd;

  if (! dir)
    die ("out of memory");
  fd = open (a[0], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    die_errno ("open %s", a[0]);
  write_all (fd, a[1], strlen (a[1]), a[0]);
  if (fsync (fd) < 0)
    die_errno ("fsync %s", a[0]);
  if (fdatasync (fd) < 0)
    die_errno ("fdatasync %s", a[0]);
  if (syncfs (fd) < 0)
    die_errno ("syncfs %s", a[0]);
  close (fd);
  slash = strrchr (dir, '/');
  if (! slash)
    {
      free (dir);
      dir = strdup (".");
      if (! dir)
        die ("out of memory");
    }
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    die_errno ("open %s", dir);
  if (fsync (dfd) < 0)
    die_errno ("fsync %s", dir);
  close (dfd);
  free (dir);
  printf ("ok\n");
  return 0;
}

static int
cmd_statfs (char **a)
{
  struct statfs s;

  if (statfs (a[0], &s) < 0)
    die_errno ("statfs %s", a[0]);
  printf ("type=0x%jx bsize=%jd blocks=%ju bfree=%ju bavail=%ju files=%ju namelen=%jd\n",
          (uintmax_t) s.f_type, (intmax_t) s.f_bsize, (uintmax_t) s.f_blocks, (uintmax_t) s.f_bfree,
          (uintmax_t) s.f_bavail, (uintmax_t) s.f_files, (intmax_t) s.f_namelen);
  return 0;
}

struct command
{
  const char *name;
  int min_args, max_args;
  int (*fn) (char **a);
  int (*fn_argc) (int argc, char **a);
};

static const struct command commands[] = {
  { "xattr-set", 3, 3, cmd_xattr_set, NULL },
  { "xattr-get", 2, 2, cmd_xattr_get, NULL },
  { "xattr-list", 1, 1, cmd_xattr_list, NULL },
  { "xattr-rm", 2, 2, cmd_xattr_rm, NULL },
  { "mmap-write", 3, 4, NULL, cmd_mmap_write },
  { "mmap-read", 3, 3, cmd_mmap_read, NULL },
  { "tmpfile", 1, 3, NULL, cmd_tmpfile },
  { "flock", 1, 1, cmd_flock, NULL },
  { "fcntl-lock", 1, 1, cmd_fcntl_lock, NULL },
  { "stat-ino", 1, 1, cmd_stat_ino, NULL },
  { "mtime", 1, 1, cmd_mtime, NULL },
  { "utimens", 3, 3, cmd_utimens, NULL },
  { "hold-open-unlink", 1, 1, cmd_hold_open_unlink, NULL },
  { "mkfifo", 1, 1, cmd_mkfifo, NULL },
  { "mksock", 1, 1, cmd_mksock, NULL },
  { "rename", 2, 2, cmd_rename, NULL },
  { "fsync", 2, 2, cmd_fsync, NULL },
  { "statfs", 1, 1, cmd_statfs, NULL },
  { NULL, 0, 0, NULL, NULL },
};

int
main (int argc, char **argv)
{
  const struct command *c;

  if (argc < 2)
    {
      fprintf (stderr, "usage: fsprobe COMMAND ARG... (see tests/helpers/fsprobe.c)\n");
      return EXIT_USAGE;
    }
  for (c = commands; c->name; c++)
    {
      int n = argc - 2;

      if (strcmp (c->name, argv[1]) != 0)
        continue;
      if (n < c->min_args || n > c->max_args)
        {
          fprintf (stderr, "fsprobe: %s takes %d to %d arguments, got %d\n", c->name, c->min_args,
                   c->max_args, n);
          return EXIT_USAGE;
        }
      setvbuf (stdout, NULL, _IOLBF, 0);
      return c->fn ? c->fn (argv + 2) : c->fn_argc (n, argv + 2);
    }
  fprintf (stderr, "fsprobe: unknown command `%s`\n", argv[1]);
  return EXIT_USAGE;
}

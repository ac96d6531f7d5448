/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sbx_layer_write_tar, checked by unpacking what it writes and by reading
   it back with libarchive.  */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"
#include "layer/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/strbuf.h"

#define FMT(buf, ...) ASSERT_LT (snprintf (buf, sizeof buf, __VA_ARGS__), (int) sizeof buf)

#define OLD_MTIME 500000000
#define CLAMP 1000000000

static const char *
tpath (const char *rel)
{
  static char buf[8][PATH_MAX];
  static int i;
  char *b = buf[i++ % 8];

  ASSERT_LT (snprintf (b, PATH_MAX, "%s/%s", TEST_TMPDIR, rel), PATH_MAX);
  return b;
}

static void
put_file (const char *path, mode_t mode, const void *data, size_t len)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  ASSERT_GE (fd, 0);
  if (len)
    ASSERT_EQ (write (fd, data, len), (ssize_t) len);
  ASSERT_EQ (fchmod (fd, mode), 0);
}

static void
set_mtime (const char *path, time_t t)
{
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };

  ASSERT_EQ (utimensat (AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static bool
can_whiteout (const char *dir)
{
  char p[PATH_MAX];
  bool ok;

  FMT (p, "%s/.probe", dir);
  ok = mknod (p, S_IFCHR, makedev (0, 0)) == 0;
  unlink (p);
  return ok;
}

/* A tree with every kind of entry sbx keeps in a layer.  MTIME: the time
   given to every entry but "old" (-1: leave them as created).  */
static void
make_tree (const char *root, time_t mtime)
{
  static char big[3 << 20];
  char p[PATH_MAX + 256];
  size_t i;

  for (i = 0; i < sizeof big; i++)
    big[i] = (char) (i % 251);
  ASSERT_EQ (mkdir (root, 0755), 0);
#define P(rel) (FMT (p, "%s/%s", root, rel), p)
  ASSERT_EQ (mkdir (P ("etc"), 0755), 0);
  ASSERT_EQ (mkdir (P ("etc/ssl"), 0700), 0);
  ASSERT_EQ (setxattr (P ("etc/ssl"), "user.overlay.opaque", "y", 1, 0), 0);
  put_file (P ("etc/ssl/cert.pem"), 0644, "CERT", 4);
  put_file (P ("etc/passwd"), 0644, "root:x:0:0\n", 11);
  ASSERT_EQ (setxattr (P ("etc/passwd"), "user.tag", "v1", 2, 0), 0);
  ASSERT_EQ (setxattr (P ("etc/passwd"), "user.overlay.redirect", "/x", 2, 0), 0);
  ASSERT_EQ (symlink ("passwd", P ("etc/motd")), 0);
  ASSERT_EQ (symlink ("/etc/passwd", P ("abs")), 0);
  ASSERT_EQ (mkdir (P ("bin"), 0755), 0);
  put_file (P ("bin/tool"), 04755, "#!/bin/sh\n", 10);
  FMT (p, "%s/bin/tool", root);
  {
    char q[PATH_MAX + 256];

    FMT (q, "%s/bin/tool2", root);
    ASSERT_EQ (link (p, q), 0);
  }
  put_file (P ("zero"), 0, "", 0);
  put_file (P ("big"), 0640, big, sizeof big);
  put_file (P ("old"), 0644, "old", 3);
  ASSERT_EQ (mkdir (P ("run"), 0755), 0);
  ASSERT_EQ (mkfifo (P ("run/fifo"), 0600), 0);
  {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    FMT (sa.sun_path, "%s/run/sock", root);
    ASSERT_EQ (bind (s, (struct sockaddr *) &sa, sizeof sa), 0);
    close (s);
  }
  ASSERT_EQ (mkdir (P ("a-very-long-directory-name-that-goes-on-and-on-beyond-one-hundred-"
                       "characters-in-total-length"),
                    0755),
             0);
  put_file (P ("a-very-long-directory-name-that-goes-on-and-on-beyond-one-hundred-"
               "characters-in-total-length/and-a-long-file-name-as-well"),
            0644, "long", 4);
  ASSERT_EQ (mkdir (P ("ro"), 0755), 0);
  put_file (P ("ro/child"), 0444, "c", 1);
  if (can_whiteout (root))
    {
      ASSERT_EQ (mknod (P ("gone"), S_IFCHR, makedev (0, 0)), 0);
      ASSERT_EQ (mknod (P ("etc/gone2"), S_IFCHR, makedev (0, 0)), 0);
    }
  if (mtime >= 0)
    {
      /* children before their directories */
      static const char *const all[] = {
        "etc/ssl/cert.pem",
        "etc/passwd",
        "etc/motd",
        "abs",
        "bin/tool",
        "zero",
        "big",
        "run/fifo",
        "run/sock",
        "ro/child",
        "etc/ssl",
        "etc",
        "bin",
        "run",
        "ro",
        "a-very-long-directory-name-that-goes-on-and-on-beyond-one-hundred-characters-in-total-"
        "length/and-a-long-file-name-as-well",
        "a-very-long-directory-name-that-goes-on-and-on-beyond-one-hundred-characters-in-total-"
        "length",
      };

      for (i = 0; i < sizeof all / sizeof all[0]; i++)
        set_mtime (P (all[i]), mtime);
    }
  set_mtime (P ("old"), OLD_MTIME);
  ASSERT_EQ (chmod (P ("ro"), 0555), 0);
#undef P
}

static void
write_proc (const char *file, const char *text)
{
  cleanup_close int fd = open (file, O_WRONLY | O_CLOEXEC);

  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, text, strlen (text)), (ssize_t) strlen (text));
}

/* As a user, become root of a user namespace that maps only ourselves, as
   sbx does before writing a layer: a file of mode 0000 stays readable.  */
static void
be_root (void)
{
  char map[64];
  uid_t uid = geteuid ();
  gid_t gid = getegid ();

  if (uid == 0)
    return;
  if (unshare (CLONE_NEWUSER) < 0)
    SKIP ("no user namespace");
  FMT (map, "0 %u 1", (unsigned) uid);
  write_proc ("/proc/self/uid_map", map);
  write_proc ("/proc/self/setgroups", "deny");
  FMT (map, "0 %u 1", (unsigned) gid);
  write_proc ("/proc/self/gid_map", map);
}

/* ---- comparing trees ---- */

static char **
sorted_names (const char *dir, size_t *n_out)
{
  struct dirent **list = NULL;
  int n = scandir (dir, &list, NULL, alphasort);
  char **names;
  int i, k = 0;

  ASSERT_GE (n, 0);
  if (n < 0)
    return NULL;
  names = calloc ((size_t) n + 1, sizeof *names);
  for (i = 0; i < n; i++)
    {
      if (strcmp (list[i]->d_name, ".") != 0 && strcmp (list[i]->d_name, "..") != 0)
        names[k++] = strdup (list[i]->d_name);
      free (list[i]);
    }
  free (list);
  *n_out = (size_t) k;
  return names;
}

static void
free_names (char **names, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free (names[i]);
  free (names);
}

static void
expect_same_data (const char *a, const char *b, off_t size)
{
  cleanup_close int fa = open (a, O_RDONLY | O_CLOEXEC);
  cleanup_close int fb = open (b, O_RDONLY | O_CLOEXEC);
  cleanup_free char *ba = malloc ((size_t) size + 1);
  cleanup_free char *bb = malloc ((size_t) size + 1);

  ASSERT_GE (fa, 0);
  ASSERT_GE (fb, 0);
  ASSERT_EQ (read (fa, ba, (size_t) size + 1), (ssize_t) size);
  ASSERT_EQ (read (fb, bb, (size_t) size + 1), (ssize_t) size);
  EXPECT_EQ (memcmp (ba, bb, (size_t) size), 0);
}

/* The user.* xattrs that a layer carries, as "name=value;" in name order.  */
static void
layer_xattrs (const char *path, struct sbx_strbuf *out)
{
  char names[1024], value[256];
  ssize_t len = llistxattr (path, names, sizeof names);
  const char *sorted[32];
  size_t n = 0, i, j;
  char *p;

  sbx_strbuf_reset (out);
  if (len <= 0)
    return;
  for (p = names; p < names + len && n < 32; p += strlen (p) + 1)
    if (strncmp (p, "user.", 5) == 0 && strncmp (p, "user.overlay.", 13) != 0)
      sorted[n++] = p;
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && strcmp (sorted[j - 1], sorted[j]) > 0; j--)
      {
        const char *t = sorted[j];

        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }
  for (i = 0; i < n; i++)
    {
      ssize_t vl = lgetxattr (path, sorted[i], value, sizeof value);

      ASSERT_GE (vl, 0);
      sbx_strbuf_addf (out, "%s=%.*s;", sorted[i], (int) vl, value);
    }
}

static bool
opaque (const char *path)
{
  char v[4];

  return lgetxattr (path, "user.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

/* DST reproduces SRC: same names (sockets excepted), types, modes,
   contents, link targets, mtimes (clamped to CLAMP when >= 0), xattrs,
   whiteouts and opaque directories.  */
static void
expect_same_tree (const char *src, const char *dst, time_t clamp)
{
  size_t na, nb, i = 0, j = 0;
  char **a = sorted_names (src, &na);
  char **b = sorted_names (dst, &nb);

  while (i < na || j < nb)
    {
      char pa[PATH_MAX], pb[PATH_MAX];
      struct stat sa, sb;
      struct sbx_strbuf xa = SBX_STRBUF_INIT, xb = SBX_STRBUF_INIT;
      time_t want_mtime;

      if (i < na)
        {
          FMT (pa, "%s/%s", src, a[i]);
          ASSERT_EQ (lstat (pa, &sa), 0);
          if (S_ISSOCK (sa.st_mode))
            {
              i++;
              continue;
            }
        }
      if (i >= na || j >= nb || strcmp (a[i], b[j]) != 0)
        {
          printf ("# %s: names differ: %s vs %s\n", src, i < na ? a[i] : "(end)",
                  j < nb ? b[j] : "(end)");
          ASSERT_TRUE (false);
        }
      FMT (pb, "%s/%s", dst, b[j]);
      ASSERT_EQ (lstat (pb, &sb), 0);
      if (S_ISCHR (sa.st_mode) && sa.st_rdev == 0)
        {
          EXPECT_TRUE (S_ISCHR (sb.st_mode));
          EXPECT_EQ (sb.st_rdev, 0u);
          i++, j++;
          continue;
        }
      if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)
          || (sa.st_mode & 07777) != (sb.st_mode & 07777))
        printf ("# %s: mode 0%o vs 0%o\n", pa, sa.st_mode, sb.st_mode);
      EXPECT_EQ (sa.st_mode, sb.st_mode);
      want_mtime = clamp >= 0 && sa.st_mtime > clamp ? clamp : sa.st_mtime;
      if (sb.st_mtime != want_mtime)
        printf ("# %s: mtime %ld, want %ld\n", pb, (long) sb.st_mtime, (long) want_mtime);
      EXPECT_EQ (sb.st_mtime, want_mtime);
      layer_xattrs (pa, &xa);
      layer_xattrs (pb, &xb);
      EXPECT_STREQ (xa.buf, xb.buf);
      sbx_strbuf_release (&xa);
      sbx_strbuf_release (&xb);
      if (S_ISREG (sa.st_mode))
        {
          EXPECT_EQ (sa.st_size, sb.st_size);
          EXPECT_EQ (sa.st_nlink, sb.st_nlink);
          if (sa.st_size == sb.st_size && (sa.st_mode & 0400))
            expect_same_data (pa, pb, sa.st_size);
        }
      else if (S_ISLNK (sa.st_mode))
        {
          char ta[256], tb[256];
          ssize_t la = readlink (pa, ta, sizeof ta), lb = readlink (pb, tb, sizeof tb);

          ASSERT_GT (la, 0);
          ASSERT_EQ (la, lb);
          EXPECT_EQ (memcmp (ta, tb, (size_t) la), 0);
        }
      else if (S_ISDIR (sa.st_mode))
        {
          EXPECT_EQ (opaque (pa), opaque (pb));
          expect_same_tree (pa, pb, clamp);
        }
      i++, j++;
    }
  free_names (a, na);
  free_names (b, nb);
}

/* ---- helpers ---- */

static int
new_memfd (void)
{
  int fd = memfd_create ("tar", MFD_CLOEXEC);

  ASSERT_GE (fd, 0);
  return fd;
}

static int
open_dir (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  ASSERT_GE (fd, 0);
  return fd;
}

/* Write the tree at SRC; returns a memfd at offset 0.  */
static int
write_tree (const char *src, const char *compress, int64_t clamp, struct sbx_digest *d)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int dirfd = open_dir (src);
  int fd = new_memfd ();
  int ret = sbx_layer_write_tar (dirfd, fd, compress, clamp, d, &err);

  if (ret < 0)
    printf ("# write_tar: %s\n", err->msg);
  ASSERT_EQ (ret, 0);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

static void
unpack_into (int fd, const char *dst, struct sbx_layer_stats *stats)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int dirfd = -1;
  int ret;

  ASSERT_EQ (mkdir (dst, 0755), 0);
  dirfd = open_dir (dst);
  ret = sbx_layer_unpack (fd, dirfd, NULL, stats, &err);
  if (ret < 0)
    printf ("# unpack: %s\n", err->msg);
  ASSERT_EQ (ret, 0);
}

static char *
fd_bytes (int fd, size_t *len)
{
  struct stat st;
  char *buf;

  ASSERT_EQ (fstat (fd, &st), 0);
  buf = malloc ((size_t) st.st_size + 1);
  ASSERT_EQ (pread (fd, buf, (size_t) st.st_size, 0), (ssize_t) st.st_size);
  *len = (size_t) st.st_size;
  return buf;
}

/* ---- tests ---- */

static void
check_round_trip (const char *compress)
{
  struct sbx_layer_stats stats;
  struct sbx_digest d;
  cleanup_close int fd = -1;

  be_root ();
  make_tree (tpath ("src"), 1500000000);
  fd = write_tree (tpath ("src"), compress, -1, &d);
  unpack_into (fd, tpath ("dst"), &stats);
  EXPECT_STREQ (stats.diff_id.hex, d.hex);
  EXPECT_EQ (stats.skipped, 0u);
  expect_same_tree (tpath ("src"), tpath ("dst"), -1);
  if (compress == NULL)
    {
      size_t len;
      cleanup_free char *bytes = fd_bytes (fd, &len);
      struct sbx_digest want;

      sbx_digest_buf (bytes, len, &want);
      EXPECT_STREQ (d.hex, want.hex);
    }
}

TEST (round_trip_uncompressed)
{
  check_round_trip (NULL);
}

TEST (round_trip_gzip)
{
  size_t len;
  struct sbx_digest plain, gz;
  cleanup_close int fd = -1;
  cleanup_free char *bytes = NULL;

  check_round_trip ("gzip");
  /* the DiffID is the uncompressed tar's */
  close (write_tree (tpath ("src"), NULL, -1, &plain));
  fd = write_tree (tpath ("src"), "gzip", -1, &gz);
  EXPECT_STREQ (plain.hex, gz.hex);
  bytes = fd_bytes (fd, &len);
  ASSERT_GT (len, 10u);
  EXPECT_EQ ((unsigned char) bytes[0], 0x1f);
  EXPECT_EQ ((unsigned char) bytes[1], 0x8b);
  EXPECT_EQ (memcmp (bytes + 4, "\0\0\0\0", 4), 0); /* no timestamp */
}

TEST (clamped_mtimes)
{
  struct sbx_layer_stats stats;
  struct sbx_digest d;
  cleanup_close int fd = -1;

  be_root ();
  make_tree (tpath ("src"), -1); /* now, but "old" */
  fd = write_tree (tpath ("src"), NULL, CLAMP, &d);
  unpack_into (fd, tpath ("dst"), &stats);
  expect_same_tree (tpath ("src"), tpath ("dst"), CLAMP);
}

static void
check_reproducible (const char *compress)
{
  struct sbx_digest d1, d2;
  cleanup_close int f1 = -1, f2 = -1;
  cleanup_free char *b1 = NULL, *b2 = NULL;
  size_t l1, l2;

  /* two trees made at different times, same contents */
  be_root ();
  make_tree (tpath ("one"), -1);
  usleep (20000);
  make_tree (tpath ("two"), -1);
  f1 = write_tree (tpath ("one"), compress, CLAMP, &d1);
  f2 = write_tree (tpath ("two"), compress, CLAMP, &d2);
  EXPECT_STREQ (d1.hex, d2.hex);
  b1 = fd_bytes (f1, &l1);
  b2 = fd_bytes (f2, &l2);
  ASSERT_EQ (l1, l2);
  EXPECT_EQ (memcmp (b1, b2, l1), 0);
}

TEST (reproducible_with_clamp)
{
  check_reproducible (NULL);
}

TEST (reproducible_with_clamp_gzip)
{
  check_reproducible ("gzip");
}

/* The entries as libarchive reads them back, one line each.  */
static void
list_tar (int fd, struct sbx_strbuf *out)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;

  archive_read_support_format_tar (a);
  ASSERT_EQ (archive_read_open_fd (a, fd, 10240), ARCHIVE_OK);
  while (archive_read_next_header (a, &e) == ARCHIVE_OK)
    {
      const char *name, *value;
      size_t size;

      sbx_strbuf_addf (out, "%s %o", archive_entry_pathname (e), (unsigned) archive_entry_mode (e));
      if (archive_entry_hardlink (e))
        sbx_strbuf_addf (out, " link=%s", archive_entry_hardlink (e));
      if (archive_entry_symlink (e))
        sbx_strbuf_addf (out, " -> %s", archive_entry_symlink (e));
      archive_entry_xattr_reset (e);
      while (archive_entry_xattr_next (e, &name, (const void **) &value, &size) == ARCHIVE_OK)
        sbx_strbuf_addf (out, " %s=%.*s", name, (int) size, value);
      sbx_strbuf_addch (out, '\n');
    }
  archive_read_free (a);
}

static void
print_list (const char *missing, const char *list)
{
  char *copy = strdup (list), *line, *save = NULL;

  printf ("# missing `%s` in:\n", missing);
  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    printf ("#   %s\n", line);
  free (copy);
}

TEST (entries_are_sorted_and_translated)
{
  struct sbx_strbuf list = SBX_STRBUF_INIT;
  struct sbx_digest d;
  cleanup_close int fd = -1;
  const char *want_order[]
      = { "a-very-long",      "abs ",        "big ",      "bin/ ",
          "bin/tool ",        "bin/tool2 ",  "etc/ ",     "etc/.wh.gone2",
          "etc/motd",         "etc/passwd ", "etc/ssl/ ", "etc/ssl/.wh..wh..opq",
          "etc/ssl/cert.pem", ".wh.gone",    "old ",      "ro/ ",
          "ro/child",         "run/ ",       "run/fifo",  "zero " };
  const char *prev = NULL;
  size_t i;
  bool wh = can_whiteout (TEST_TMPDIR);

  be_root ();
  make_tree (tpath ("src"), 1500000000);
  fd = write_tree (tpath ("src"), NULL, -1, &d);
  list_tar (fd, &list);
  for (i = 0; i < sizeof want_order / sizeof want_order[0]; i++)
    {
      const char *at;
      char needle[64];

      if (! wh && strstr (want_order[i], "gone"))
        continue;
      FMT (needle, "\n%s", want_order[i]);
      at = strncmp (list.buf, want_order[i], strlen (want_order[i])) == 0
               ? list.buf
               : strstr (list.buf, needle);
      if (at == NULL)
        print_list (want_order[i], list.buf);
      ASSERT_NOT_NULL (at);
      if (prev)
        EXPECT_LT (prev, at);
      prev = at;
    }
  if (wh)
    {
      EXPECT_STRSTR (list.buf, "\n.wh.gone 100");
      EXPECT_STRSTR (list.buf, "\netc/.wh.gone2 100");
    }
  EXPECT_STRSTR (list.buf, "\nbin/tool2 4755 link=bin/tool\n");
  EXPECT_STRSTR (list.buf, "\netc/motd 120777 -> passwd\n");
  /* SCHILY.xattr only (what Docker and containerd read): no duplicate */
  EXPECT_STRSTR (list.buf, "\netc/passwd 100644 user.tag=v1\n");
  EXPECT_STRSTR (list.buf, "\netc/ssl/.wh..wh..opq 100700\n");
  EXPECT_STRSTR (list.buf, "\nrun/fifo 10600\n");
  EXPECT_NULL (strstr (list.buf, "sock"));
  EXPECT_NULL (strstr (list.buf, "user.overlay"));
  EXPECT_NULL (strstr (list.buf, "./"));
  sbx_strbuf_release (&list);
}

TEST (unsupported_compression_is_refused)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int dirfd = open_dir (TEST_TMPDIR);
  cleanup_close int fd = new_memfd ();
  struct sbx_digest d;

  ASSERT_LT (sbx_layer_write_tar (dirfd, fd, "zstd", -1, &d, &err), 0);
  EXPECT_STRSTR (err->msg, "zstd");
}

/* Files of 2.5 MiB of text and 1.5 MiB of pseudo-random bytes, so that
   the gzip stream spans several of the compressor's 1 MiB blocks, some of
   which back-reference the block before.  */
static void
make_big_tree (const char *root)
{
  static char buf[1 << 16];
  uint32_t x = 12345;
  char path[PATH_MAX];
  int fd;

  ASSERT_EQ (mkdir (root, 0755), 0);
  FMT (path, "%s/text", root);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE (fd, 0);
  for (int i = 0; i < 40; i++)
    {
      for (size_t j = 0; j < sizeof buf; j++)
        buf[j] = "sbx layer gzip blocks\n"[(j + (size_t) i) % 22];
      ASSERT_EQ (write (fd, buf, sizeof buf), (ssize_t) sizeof buf);
    }
  close (fd);
  FMT (path, "%s/random", root);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE (fd, 0);
  for (int i = 0; i < 24; i++)
    {
      for (size_t j = 0; j < sizeof buf; j++)
        {
          x = x * 1103515245u + 12345u;
          buf[j] = (char) (x >> 16);
        }
      ASSERT_EQ (write (fd, buf, sizeof buf), (ssize_t) sizeof buf);
    }
  close (fd);
}

TEST (gzip_of_several_blocks_round_trips_and_ignores_thread_count)
{
  struct sbx_layer_stats stats;
  struct sbx_digest d, d1;
  cleanup_close int fd = -1, fd1 = -1;
  cleanup_free char *bytes = NULL, *bytes1 = NULL;
  size_t len, len1;
  cpu_set_t all, one;

  make_big_tree (tpath ("src"));
  fd = write_tree (tpath ("src"), "gzip", -1, &d);
  unpack_into (fd, tpath ("dst"), &stats);
  EXPECT_STREQ (stats.diff_id.hex, d.hex);
  expect_same_tree (tpath ("src"), tpath ("dst"), -1);
  bytes = fd_bytes (fd, &len);
  EXPECT_LT (len, (size_t) 2 << 20); /* the text compressed */
  /* One CPU: one compressor thread, the same bytes.  */
  ASSERT_EQ (sched_getaffinity (0, sizeof all, &all), 0);
  CPU_ZERO (&one);
  CPU_SET (sched_getcpu (), &one);
  ASSERT_EQ (sched_setaffinity (0, sizeof one, &one), 0);
  fd1 = write_tree (tpath ("src"), "gzip", -1, &d1);
  ASSERT_EQ (sched_setaffinity (0, sizeof all, &all), 0);
  bytes1 = fd_bytes (fd1, &len1);
  EXPECT_STREQ (d1.hex, d.hex);
  ASSERT_EQ (len1, len);
  EXPECT_EQ (memcmp (bytes, bytes1, len), 0);
}

/* A full disk while compressing: an error naming the write, and the
   compressor threads stopped (the harness's alarm catches a hang).  */
TEST (gzip_write_error_is_reported)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int dirfd = -1;
  cleanup_close int fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);
  struct sbx_digest d;

  ASSERT_GE (fd, 0);
  make_big_tree (tpath ("src"));
  dirfd = open_dir (tpath ("src"));
  ASSERT_LT (sbx_layer_write_tar (dirfd, fd, "gzip", -1, &d, &err), 0);
  ASSERT_NE (err, NULL);
  EXPECT_EQ (err->code, ENOSPC);
  printf ("# %s\n", err->msg);
}

TEST (empty_tree_gzip)
{
  struct sbx_layer_stats stats;
  struct sbx_digest d;
  cleanup_close int fd = -1;

  ASSERT_EQ (mkdir (tpath ("src"), 0755), 0);
  fd = write_tree (tpath ("src"), "gzip", -1, &d);
  unpack_into (fd, tpath ("dst"), &stats);
  EXPECT_EQ (stats.entries, 0u);
  EXPECT_STREQ (stats.diff_id.hex, d.hex);
}

TEST (empty_tree)
{
  struct sbx_layer_stats stats;
  struct sbx_digest d;
  cleanup_close int fd = -1;

  ASSERT_EQ (mkdir (tpath ("src"), 0755), 0);
  fd = write_tree (tpath ("src"), NULL, -1, &d);
  unpack_into (fd, tpath ("dst"), &stats);
  EXPECT_EQ (stats.entries, 0u);
  EXPECT_STREQ (stats.diff_id.hex, d.hex);
}

TEST_MAIN

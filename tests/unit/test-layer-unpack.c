/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"
#include "layer/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/strbuf.h"

/* ---- building tar streams with libarchive ---- */

#define MTIME 1600000000

/* snprintf into an array, failing the test on truncation.  */
#define FMT(buf, ...) ASSERT_LT (snprintf (buf, sizeof buf, __VA_ARGS__), (int) sizeof buf)

struct tarb
{
  struct archive *a;
  struct sbx_strbuf out;
};

static la_ssize_t
tb_sink (struct archive *a, void *data, const void *buf, size_t len)
{
  struct tarb *t = data;

  (void) a;
  sbx_strbuf_add (&t->out, buf, len);
  return (la_ssize_t) len;
}

static void
tb_open_format (struct tarb *t, int (*set_format) (struct archive *))
{
  t->a = archive_write_new ();
  sbx_strbuf_init (&t->out);
  ASSERT_NOT_NULL (t->a);
  ASSERT_EQ (set_format (t->a), ARCHIVE_OK);
  ASSERT_EQ (archive_write_open (t->a, t, NULL, tb_sink, NULL), ARCHIVE_OK);
}

static void
tb_open (struct tarb *t)
{
  tb_open_format (t, archive_write_set_format_pax_restricted);
}

static struct archive_entry *
tb_entry (const char *path, mode_t type, mode_t perm)
{
  struct archive_entry *e = archive_entry_new ();

  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, perm);
  archive_entry_set_mtime (e, MTIME, 0);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  return e;
}

/* Write E (freed) with LEN bytes of DATA.  */
static void
tb_add (struct tarb *t, struct archive_entry *e, const char *data, size_t len)
{
  int ret;

  archive_entry_set_size (e, (la_int64_t) len);
  ret = archive_write_header (t->a, e);
  if (ret < ARCHIVE_WARN)
    printf ("# archive_write_header `%s`: %s\n", archive_entry_pathname (e),
            archive_error_string (t->a));
  ASSERT_GE (ret, ARCHIVE_WARN);
  if (len)
    ASSERT_EQ (archive_write_data (t->a, data, len), (la_ssize_t) len);
  archive_entry_free (e);
}

static void
tb_file (struct tarb *t, const char *path, mode_t perm, const char *content)
{
  tb_add (t, tb_entry (path, AE_IFREG, perm), content, strlen (content));
}

static void
tb_dir (struct tarb *t, const char *path, mode_t perm)
{
  tb_add (t, tb_entry (path, AE_IFDIR, perm), NULL, 0);
}

static void
tb_symlink (struct tarb *t, const char *path, const char *target)
{
  struct archive_entry *e = tb_entry (path, AE_IFLNK, 0777);

  archive_entry_set_symlink (e, target);
  tb_add (t, e, NULL, 0);
}

static void
tb_hardlink (struct tarb *t, const char *path, const char *target)
{
  struct archive_entry *e = tb_entry (path, AE_IFREG, 0644);

  archive_entry_set_hardlink (e, target);
  tb_add (t, e, NULL, 0);
}

static void
tb_close (struct tarb *t)
{
  ASSERT_EQ (archive_write_close (t->a), ARCHIVE_OK);
  archive_write_free (t->a);
  t->a = NULL;
}

static int
mem_fd (const void *buf, size_t len)
{
  int fd = memfd_create ("layer", MFD_CLOEXEC);

  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, buf, len), (ssize_t) len);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

/* TAR compressed with FILTER ("gzip", "zstd" or NULL) in a memfd.  */
static int
tar_fd (const struct sbx_strbuf *tar, const char *filter)
{
  struct tarb c = { NULL, SBX_STRBUF_INIT };
  struct archive_entry *e;
  int fd;

  if (filter == NULL)
    return mem_fd (tar->buf, tar->len);
  c.a = archive_write_new ();
  if (strcmp (filter, "gzip") == 0)
    ASSERT_EQ (archive_write_add_filter_gzip (c.a), ARCHIVE_OK);
  else
    ASSERT_EQ (archive_write_add_filter_zstd (c.a), ARCHIVE_OK);
  ASSERT_EQ (archive_write_set_format_raw (c.a), ARCHIVE_OK);
  ASSERT_EQ (archive_write_set_bytes_in_last_block (c.a, 1), ARCHIVE_OK);
  ASSERT_EQ (archive_write_open (c.a, &c, NULL, tb_sink, NULL), ARCHIVE_OK);
  e = archive_entry_new ();
  archive_entry_set_pathname (e, "x");
  archive_entry_set_filetype (e, AE_IFREG);
  ASSERT_EQ (archive_write_header (c.a, e), ARCHIVE_OK);
  archive_entry_free (e);
  ASSERT_EQ (archive_write_data (c.a, tar->buf, tar->len), (la_ssize_t) tar->len);
  tb_close (&c);
  fd = mem_fd (c.out.buf, c.out.len);
  sbx_strbuf_release (&c.out);
  return fd;
}

/* ---- the layer directory, with a decoy beside it ---- */

static char layer[PATH_MAX];
static char decoy[PATH_MAX];
static int layerfd = -1;

static void
setup (void)
{
  FMT (layer, "%s/layer", TEST_TMPDIR);
  FMT (decoy, "%s/decoy", TEST_TMPDIR);
  ASSERT_EQ (mkdir (layer, 0755), 0);
  ASSERT_EQ (mkdir (decoy, 0755), 0);
  layerfd = open (layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (layerfd, 0);
}

static const char *
lpath (const char *rel)
{
  static char buf[4][PATH_MAX * 2];
  static int i;
  char *b = buf[i++ % 4];

  ASSERT_LT (snprintf (b, PATH_MAX * 2, "%s/%s", layer, rel), PATH_MAX * 2);
  return b;
}

static size_t
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  size_t n = 0;

  ASSERT_NOT_NULL (d);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

/* Nothing was written outside the layer: the decoy is empty, the test's
   directory holds only the layer and the decoy, and no "sbxevil" landed at
   the usual escape targets.  */
static void
expect_contained (void)
{
  char p[PATH_MAX];
  struct stat st;

  EXPECT_EQ (count_entries (decoy), 0u);
  EXPECT_EQ (count_entries (TEST_TMPDIR), 2u);
  EXPECT_NE (lstat ("/sbxevil", &st), 0);
  EXPECT_NE (lstat ("/tmp/sbxevil", &st), 0);
  FMT (p, "%s/../sbxevil", TEST_TMPDIR);
  EXPECT_NE (lstat (p, &st), 0);
}

static int
unpack_opts (const struct sbx_strbuf *tar, const char *filter,
             const struct sbx_layer_unpack_opts *opts, struct sbx_layer_stats *stats,
             struct sbx_error **err)
{
  cleanup_close int fd = tar_fd (tar, filter);

  return sbx_layer_unpack (fd, layerfd, opts, stats, err);
}

static int
unpack (const struct sbx_strbuf *tar, struct sbx_layer_stats *stats, struct sbx_error **err)
{
  struct sbx_layer_unpack_opts opts = { .apply_owners = false };

  return unpack_opts (tar, NULL, &opts, stats, err);
}

/* Unpack TAR, which must succeed.  */
static void
unpack_ok (const struct sbx_strbuf *tar, struct sbx_layer_stats *stats)
{
  cleanup_error struct sbx_error *err = NULL;
  int ret = unpack (tar, stats, &err);

  if (ret < 0)
    printf ("# unpack: %s\n", err->msg);
  ASSERT_EQ (ret, 0);
}

/* Unpack TAR, which must fail with a message containing WANT.  */
static void
unpack_fails (const struct sbx_strbuf *tar, const char *want)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_layer_stats stats;

  ASSERT_LT (unpack (tar, &stats, &err), 0);
  ASSERT_NOT_NULL (err);
  printf ("# expected failure: %s\n", err->msg);
  EXPECT_STRSTR (err->msg, want);
}

static char *
read_file (const char *path)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  static char buf[4][256];
  static int i;
  char *b = buf[i++ % 4];
  ssize_t n;

  if (fd < 0)
    return NULL;
  n = read (fd, b, 255);
  ASSERT_GE (n, 0);
  b[n] = '\0';
  return b;
}

static mode_t
perm_of (const char *path)
{
  struct stat st;

  ASSERT_EQ (lstat (path, &st), 0);
  return st.st_mode & 07777;
}

static bool
exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* ---- regular content ---- */

TEST (files_dirs_symlinks_hardlinks_fifos)
{
  struct tarb t;
  struct sbx_layer_stats stats;
  struct stat a, b;
  char target[64];
  ssize_t n;

  setup ();
  tb_open (&t);
  tb_dir (&t, "etc/", 0755);
  tb_file (&t, "etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n");
  tb_symlink (&t, "etc/motd", "passwd");
  tb_symlink (&t, "abs", "/etc/passwd");
  tb_hardlink (&t, "etc/passwd-", "etc/passwd");
  tb_add (&t, tb_entry ("run/fifo", AE_IFIFO, 0620), NULL, 0);
  tb_file (&t, "implicit/parents/file", 0600, "x");
  tb_close (&t);
  unpack_ok (&t.out, &stats);

  EXPECT_EQ (stats.entries, 7u);
  EXPECT_EQ (stats.bytes, 27u);
  EXPECT_EQ (stats.skipped, 0u);
  EXPECT_STREQ (read_file (lpath ("etc/passwd")), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ (perm_of (lpath ("etc")), 0755u);
  EXPECT_EQ (perm_of (lpath ("etc/passwd")), 0644u);
  n = readlink (lpath ("etc/motd"), target, sizeof target - 1);
  ASSERT_GT (n, 0);
  target[n] = '\0';
  EXPECT_STREQ (target, "passwd");
  n = readlink (lpath ("abs"), target, sizeof target - 1);
  ASSERT_GT (n, 0);
  target[n] = '\0';
  EXPECT_STREQ (target, "/etc/passwd");
  ASSERT_EQ (lstat (lpath ("etc/passwd"), &a), 0);
  ASSERT_EQ (lstat (lpath ("etc/passwd-"), &b), 0);
  EXPECT_EQ (a.st_ino, b.st_ino);
  EXPECT_EQ (a.st_nlink, 2u);
  ASSERT_EQ (lstat (lpath ("run/fifo"), &a), 0);
  EXPECT_TRUE (S_ISFIFO (a.st_mode));
  EXPECT_EQ (a.st_mode & 07777, 0620u);
  EXPECT_EQ (perm_of (lpath ("implicit/parents")) & 0700, 0700u);
  EXPECT_STREQ (read_file (lpath ("implicit/parents/file")), "x");
  EXPECT_TRUE (sbx_digest_is_set (&stats.diff_id));
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (names_are_normalised)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "./dot", 0644, "1");
  tb_file (&t, "/slash", 0644, "2");
  tb_dir (&t, "trailing/", 0755);
  tb_file (&t, "a//b/./c", 0644, "3");
  tb_file (&t, "x/../y", 0644, "4");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath ("dot")), "1");
  EXPECT_STREQ (read_file (lpath ("slash")), "2");
  EXPECT_TRUE (exists (lpath ("trailing")));
  EXPECT_STREQ (read_file (lpath ("a/b/c")), "3");
  EXPECT_STREQ (read_file (lpath ("y")), "4");
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

static char *
long_name (const char *dir, size_t total)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_addstr (&sb, dir);
  while (sb.len < total)
    {
      size_t left = total - sb.len;
      size_t comp = left > 101 ? 100 : left - 1;

      sbx_strbuf_addch (&sb, '/');
      while (comp-- > 0)
        sbx_strbuf_addch (&sb, (char) ('a' + sb.len % 26));
    }
  return sbx_strbuf_detach (&sb);
}

static void
check_long_names (int (*set_format) (struct archive *), bool ustar)
{
  cleanup_free char *n150 = long_name ("d150", 150);
  cleanup_free char *n300 = long_name ("d300", 300);
  cleanup_free char *t120 = long_name ("t", 120);
  struct tarb t;

  ASSERT_EQ (strlen (n150), 150u);
  ASSERT_EQ (strlen (n300), 300u);
  setup ();
  tb_open_format (&t, set_format);
  tb_file (&t, n150, 0644, "150");
  if (! ustar)
    {
      tb_file (&t, n300, 0644, "300");
      tb_symlink (&t, "longlink", t120);
      tb_hardlink (&t, "hl", n300);
    }
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath (n150)), "150");
  if (! ustar)
    {
      char target[256];
      ssize_t n = readlink (lpath ("longlink"), target, sizeof target - 1);

      EXPECT_STREQ (read_file (lpath (n300)), "300");
      EXPECT_STREQ (read_file (lpath ("hl")), "300");
      ASSERT_GT (n, 0);
      target[n] = '\0';
      EXPECT_STREQ (target, t120);
    }
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (long_names_pax)
{
  check_long_names (archive_write_set_format_pax_restricted, false);
}

TEST (long_names_gnu)
{
  check_long_names (archive_write_set_format_gnutar, false);
}

TEST (long_names_ustar_prefix)
{
  check_long_names (archive_write_set_format_ustar, true);
}

TEST (pax_xattrs_user_kept_others_dropped)
{
  struct tarb t;
  struct archive_entry *e;
  char v[32];
  ssize_t n;

  setup ();
  tb_open (&t);
  e = tb_entry ("f", AE_IFREG, 0644);
  archive_entry_xattr_add_entry (e, "user.mime_type", "text/plain", 10);
  archive_entry_xattr_add_entry (e, "security.capability", "\1\0\0\2", 4);
  archive_entry_xattr_add_entry (e, "trusted.overlay.opaque", "y", 1);
  archive_entry_xattr_add_entry (e, "user.overlay.redirect", "/etc", 4);
  tb_add (&t, e, "data", 4);
  e = tb_entry ("d/", AE_IFDIR, 0755);
  archive_entry_xattr_add_entry (e, "user.overlay.opaque", "y", 1);
  archive_entry_xattr_add_entry (e, "user.dir", "1", 1);
  tb_add (&t, e, NULL, 0);
  tb_close (&t);
  unpack_ok (&t.out, NULL);

  n = getxattr (lpath ("f"), "user.mime_type", v, sizeof v);
  ASSERT_EQ (n, 10);
  EXPECT_EQ (memcmp (v, "text/plain", 10), 0);
  EXPECT_LT (getxattr (lpath ("f"), "security.capability", v, sizeof v), 0);
  EXPECT_LT (getxattr (lpath ("f"), "user.overlay.redirect", v, sizeof v), 0);
  /* a layer cannot make a directory opaque by planting the xattr */
  EXPECT_LT (getxattr (lpath ("d"), "user.overlay.opaque", v, sizeof v), 0);
  EXPECT_EQ (getxattr (lpath ("d"), "user.dir", v, sizeof v), 1);
  sbx_strbuf_release (&t.out);
}

TEST (odd_modes_are_kept)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "m0000", 0, "secret");
  tb_file (&t, "suid", 04755, "#!/bin/sh\n");
  tb_dir (&t, "tmp/", 01777);
  tb_dir (&t, "ro/", 0555);
  tb_file (&t, "ro/child", 0444, "c");
  tb_dir (&t, "none/", 0);
  tb_dir (&t, "none/sub/", 0700);
  tb_file (&t, "none/sub/child", 0640, "c");
  tb_close (&t);
  unpack_ok (&t.out, NULL);

  EXPECT_EQ (perm_of (lpath ("m0000")), 0u);
  EXPECT_EQ (perm_of (lpath ("suid")), 04755u);
  EXPECT_EQ (perm_of (lpath ("tmp")), 01777u);
  EXPECT_EQ (perm_of (lpath ("ro")), 0555u);
  EXPECT_EQ (perm_of (lpath ("ro/child")), 0444u);
  EXPECT_EQ (perm_of (lpath ("none")), 0u);
  ASSERT_EQ (chmod (lpath ("none"), 0700), 0);
  EXPECT_EQ (perm_of (lpath ("none/sub")), 0700u);
  EXPECT_EQ (perm_of (lpath ("none/sub/child")), 0640u);
  sbx_strbuf_release (&t.out);
}

TEST (root_entry_sets_the_layer_directory)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_dir (&t, "./", 0750);
  tb_file (&t, "f", 0644, "x");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_EQ (perm_of (layer), 0750u);
  sbx_strbuf_release (&t.out);
}

TEST (mtimes_are_kept_directories_last)
{
  struct tarb t;
  struct archive_entry *e;
  struct stat st;

  setup ();
  tb_open (&t);
  e = tb_entry ("old/", AE_IFDIR, 0755);
  archive_entry_set_mtime (e, 1000000000, 0);
  tb_add (&t, e, NULL, 0);
  e = tb_entry ("old/f", AE_IFREG, 0644);
  archive_entry_set_mtime (e, 1234567890, 0);
  tb_add (&t, e, "x", 1);
  e = tb_entry ("old/link", AE_IFLNK, 0777);
  archive_entry_set_symlink (e, "f");
  archive_entry_set_mtime (e, 1111111111, 0);
  tb_add (&t, e, NULL, 0);
  tb_dir (&t, "old/sub/", 0755);
  tb_close (&t);
  unpack_ok (&t.out, NULL);

  ASSERT_EQ (lstat (lpath ("old"), &st), 0);
  EXPECT_EQ (st.st_mtime, 1000000000);
  ASSERT_EQ (lstat (lpath ("old/f"), &st), 0);
  EXPECT_EQ (st.st_mtime, 1234567890);
  ASSERT_EQ (lstat (lpath ("old/link"), &st), 0);
  EXPECT_EQ (st.st_mtime, 1111111111);
  ASSERT_EQ (lstat (lpath ("old/sub"), &st), 0);
  EXPECT_EQ (st.st_mtime, MTIME);
  sbx_strbuf_release (&t.out);
}

TEST (sparse_file)
{
  static char data[65540];
  struct tarb t;
  struct archive_entry *e;
  struct stat st;
  char buf[8];
  cleanup_close int fd = -1;

  memcpy (data, "head", 4);
  memcpy (data + 65536, "tail", 4);
  setup ();
  tb_open (&t);
  e = tb_entry ("sparse", AE_IFREG, 0644);
  archive_entry_set_size (e, 1 << 20);
  archive_entry_sparse_add_entry (e, 0, 4);
  archive_entry_sparse_add_entry (e, 65536, 4);
  ASSERT_GE (archive_write_header (t.a, e), ARCHIVE_WARN);
  /* the writer takes the logical contents and drops the holes */
  ASSERT_EQ (archive_write_data (t.a, data, sizeof data), (la_ssize_t) sizeof data);
  archive_entry_free (e);
  tb_close (&t);
  unpack_ok (&t.out, NULL);

  ASSERT_EQ (lstat (lpath ("sparse"), &st), 0);
  EXPECT_EQ (st.st_size, 1 << 20);
  EXPECT_LT (st.st_blocks * 512, 1 << 20);
  fd = open (lpath ("sparse"), O_RDONLY | O_CLOEXEC);
  ASSERT_EQ (pread (fd, buf, 4, 0), 4);
  EXPECT_EQ (memcmp (buf, "head", 4), 0);
  ASSERT_EQ (pread (fd, buf, 4, 65536), 4);
  EXPECT_EQ (memcmp (buf, "tail", 4), 0);
  ASSERT_EQ (pread (fd, buf, 4, 1000), 4);
  EXPECT_EQ (memcmp (buf, "\0\0\0\0", 4), 0);
  sbx_strbuf_release (&t.out);
}

/* ---- compression and the DiffID ---- */

static void
check_compression (const char *filter)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_layer_unpack_opts opts = { .apply_owners = false };
  struct sbx_layer_stats stats;
  struct sbx_digest want;
  char big[100000];
  struct tarb t;
  size_t i;

  for (i = 0; i < sizeof big; i++)
    big[i] = (char) ('a' + (i * 7) % 26);
  setup ();
  tb_open (&t);
  tb_dir (&t, "d/", 0755);
  tb_file (&t, "d/small", 0644, "hello\n");
  tb_add (&t, tb_entry ("d/big", AE_IFREG, 0644), big, sizeof big);
  tb_close (&t);
  ASSERT_EQ (unpack_opts (&t.out, filter, &opts, &stats, &err), 0);

  sbx_digest_buf (t.out.buf, t.out.len, &want);
  EXPECT_STREQ (stats.diff_id.hex, want.hex);
  EXPECT_STREQ (read_file (lpath ("d/small")), "hello\n");
  EXPECT_EQ (stats.bytes, sizeof big + 6);
  {
    cleanup_close int fd = open (lpath ("d/big"), O_RDONLY | O_CLOEXEC);
    char got[sizeof big];

    ASSERT_EQ (read (fd, got, sizeof got), (ssize_t) sizeof got);
    EXPECT_EQ (memcmp (got, big, sizeof big), 0);
  }
  sbx_strbuf_release (&t.out);
}

TEST (uncompressed_layer_and_diff_id)
{
  check_compression (NULL);
}

TEST (gzip_layer_and_diff_id)
{
  check_compression ("gzip");
}

TEST (zstd_layer_and_diff_id)
{
  check_compression ("zstd");
}

TEST (diff_id_covers_the_padding_after_the_end_marker)
{
  struct sbx_layer_stats stats;
  struct sbx_digest want;
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "f", 0644, "x");
  tb_close (&t);
  /* libarchive pads to a 10240-byte record: most of it follows the marker */
  ASSERT_EQ (t.out.len, 10240u);
  unpack_ok (&t.out, &stats);
  sbx_digest_buf (t.out.buf, t.out.len, &want);
  EXPECT_STREQ (stats.diff_id.hex, want.hex);
  sbx_strbuf_release (&t.out);
}

/* ---- whiteouts ---- */

static void
expect_whiteout (const char *path)
{
  struct stat st;

  ASSERT_EQ (lstat (path, &st), 0);
  EXPECT_TRUE (S_ISCHR (st.st_mode));
  EXPECT_EQ (st.st_rdev, makedev (0, 0));
}

static bool
is_opaque (const char *path)
{
  char v[4];

  return getxattr (path, "user.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

TEST (whiteouts_become_overlay_whiteouts)
{
  struct sbx_layer_stats stats;
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_dir (&t, "a/", 0755);
  tb_file (&t, ".wh.gone", 0, "");
  tb_file (&t, "a/.wh.x", 0, "");
  tb_file (&t, "deep/er/.wh.y", 0, "");
  tb_dir (&t, "b/", 0755);
  tb_file (&t, "b/.wh..wh..opq", 0, "");
  tb_file (&t, "b/keep", 0644, "k");
  tb_file (&t, "c/.wh.", 0, "");
  tb_file (&t, "c/.wh..wh.plnk", 0, "");
  tb_close (&t);
  unpack_ok (&t.out, &stats);

  expect_whiteout (lpath ("gone"));
  expect_whiteout (lpath ("a/x"));
  expect_whiteout (lpath ("deep/er/y"));
  EXPECT_TRUE (is_opaque (lpath ("b")));
  EXPECT_FALSE (is_opaque (lpath ("a")));
  EXPECT_STREQ (read_file (lpath ("b/keep")), "k");
  EXPECT_FALSE (exists (lpath ("b/.wh..wh..opq")));
  EXPECT_FALSE (exists (lpath ("a/.wh.x")));
  EXPECT_EQ (stats.skipped, 2u);
  EXPECT_FALSE (exists (lpath ("c/.wh.")));
  EXPECT_FALSE (exists (lpath ("c/.wh..wh.plnk")));
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (opaque_root)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, ".wh..wh..opq", 0, "");
  tb_file (&t, "f", 0644, "x");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_TRUE (is_opaque (layer));
  sbx_strbuf_release (&t.out);
}

TEST (opaque_marker_before_its_directory)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "d/.wh..wh..opq", 0, "");
  tb_dir (&t, "d/", 0710);
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_TRUE (is_opaque (lpath ("d")));
  EXPECT_EQ (perm_of (lpath ("d")), 0710u);
  sbx_strbuf_release (&t.out);
}

TEST (whiteout_does_not_delete_the_layers_own_file)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "f", 0644, "mine");
  tb_file (&t, ".wh.f", 0, "");
  tb_file (&t, ".wh.g", 0, "");
  tb_file (&t, "g", 0644, "later");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath ("f")), "mine");
  EXPECT_STREQ (read_file (lpath ("g")), "later");
  sbx_strbuf_release (&t.out);
}

/* ---- replacing entries ---- */

TEST (an_entry_of_another_type_replaces_the_old_one)
{
  struct tarb t;
  char target[16];
  ssize_t n;

  setup ();
  tb_open (&t);
  tb_file (&t, "x", 0644, "file");
  tb_dir (&t, "x/", 0755);
  tb_dir (&t, "y/", 0755);
  tb_file (&t, "y/child", 0644, "c");
  tb_file (&t, "y", 0644, "now a file");
  tb_dir (&t, "z/", 0755);
  tb_file (&t, "z/a", 0644, "a");
  tb_dir (&t, "z/", 0700);
  tb_file (&t, "z/b", 0644, "b");
  tb_file (&t, "s", 0644, "file");
  tb_symlink (&t, "s", "elsewhere");
  tb_file (&t, "same", 0644, "1");
  tb_file (&t, "same", 0600, "2");
  tb_close (&t);
  unpack_ok (&t.out, NULL);

  {
    struct stat st;

    ASSERT_EQ (lstat (lpath ("x"), &st), 0);
    EXPECT_TRUE (S_ISDIR (st.st_mode));
  }
  EXPECT_STREQ (read_file (lpath ("y")), "now a file");
  EXPECT_STREQ (read_file (lpath ("z/a")), "a");
  EXPECT_STREQ (read_file (lpath ("z/b")), "b");
  EXPECT_EQ (perm_of (lpath ("z")), 0700u);
  n = readlink (lpath ("s"), target, sizeof target - 1);
  ASSERT_GT (n, 0);
  target[n] = '\0';
  EXPECT_STREQ (target, "elsewhere");
  EXPECT_STREQ (read_file (lpath ("same")), "2");
  EXPECT_EQ (perm_of (lpath ("same")), 0600u);
  sbx_strbuf_release (&t.out);
}

/* ---- hostile layers ---- */

TEST (hostile_dotdot_fails)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "../sbxevil", 0644, "evil");
  tb_close (&t);
  unpack_fails (&t.out, "../sbxevil");
  sbx_strbuf_release (&t.out);
  expect_contained ();

  tb_open (&t);
  tb_file (&t, "a/../../decoy/sbxevil", 0644, "evil");
  tb_close (&t);
  unpack_fails (&t.out, "outside the layer");
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (hostile_absolute_path_lands_inside)
{
  struct tarb t;
  char abs[PATH_MAX * 2];

  setup ();
  FMT (abs, "%s/sbxevil", decoy);
  tb_open (&t);
  tb_file (&t, "/sbxevil", 0644, "evil");
  tb_file (&t, abs, 0644, "evil");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath ("sbxevil")), "evil");
  EXPECT_STREQ (read_file (lpath (abs + 1)), "evil");
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (hostile_symlink_to_root_is_resolved_inside)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_symlink (&t, "link", "/");
  tb_file (&t, "link/sbxevil", 0644, "evil");
  tb_symlink (&t, "tmplink", "/tmp");
  tb_file (&t, "tmplink/sbxevil", 0644, "evil");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath ("sbxevil")), "evil");
  EXPECT_STREQ (read_file (lpath ("tmp/sbxevil")), "evil");
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (hostile_symlink_upwards_is_resolved_inside)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_symlink (&t, "up", "../../..");
  tb_file (&t, "up/sbxevil", 0644, "evil");
  tb_dir (&t, "a/", 0755);
  tb_symlink (&t, "a/up", "../../decoy");
  tb_file (&t, "a/up/sbxevil", 0644, "evil");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath ("sbxevil")), "evil");
  EXPECT_STREQ (read_file (lpath ("decoy/sbxevil")), "evil");
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (hostile_symlink_to_the_decoy_is_replaced_not_followed)
{
  struct tarb t;
  char target[PATH_MAX * 2];
  struct stat st;

  setup ();
  tb_open (&t);
  FMT (target, "%s/sbxevil", decoy);
  tb_symlink (&t, "f", target);
  tb_file (&t, "f", 0644, "replaced");
  tb_symlink (&t, "d", decoy);
  tb_dir (&t, "d/", 0755);
  tb_file (&t, "d/sbxevil", 0644, "inside");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  EXPECT_STREQ (read_file (lpath ("f")), "replaced");
  ASSERT_EQ (lstat (lpath ("d"), &st), 0);
  EXPECT_TRUE (S_ISDIR (st.st_mode));
  EXPECT_STREQ (read_file (lpath ("d/sbxevil")), "inside");
  sbx_strbuf_release (&t.out);
  expect_contained ();
}

TEST (hostile_whiteout_and_opaque_through_symlinks_stay_inside)
{
  struct tarb t;
  char v[4];

  setup ();
  tb_open (&t);
  tb_symlink (&t, "d", decoy);
  tb_file (&t, "d/.wh.sbxevil", 0, "");
  tb_file (&t, "d/.wh..wh..opq", 0, "");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  {
    char wh[PATH_MAX + 16];

    FMT (wh, "%s/sbxevil", decoy + 1);
    expect_whiteout (lpath (wh));
    EXPECT_TRUE (is_opaque (lpath (decoy + 1)));
  }
  expect_contained ();
  EXPECT_LT (getxattr (decoy, "user.overlay.opaque", v, sizeof v), 0);
  sbx_strbuf_release (&t.out);
}

TEST (hostile_hardlinks_never_reach_outside)
{
  struct stat before, after;
  struct tarb t;

  setup ();
  ASSERT_EQ (stat ("/etc/passwd", &before), 0);

  tb_open (&t);
  tb_hardlink (&t, "x", "../../etc/passwd");
  tb_close (&t);
  unpack_fails (&t.out, "outside the layer");
  sbx_strbuf_release (&t.out);

  tb_open (&t);
  tb_hardlink (&t, "y", "/etc/passwd");
  tb_close (&t);
  unpack_fails (&t.out, "not in this layer or below");
  sbx_strbuf_release (&t.out);

  /* "etc" resolves in root to itself: a loop, not the host's /etc */
  tb_open (&t);
  tb_symlink (&t, "etc", "/etc");
  tb_hardlink (&t, "z", "etc/passwd");
  tb_close (&t);
  unpack_fails (&t.out, "tar entry `z`");
  sbx_strbuf_release (&t.out);

  tb_open (&t);
  tb_symlink (&t, "up", "../../../../../../../etc");
  tb_hardlink (&t, "w", "up/passwd");
  tb_close (&t);
  unpack_fails (&t.out, "tar entry `w`");
  sbx_strbuf_release (&t.out);

  tb_open (&t);
  tb_symlink (&t, "sl", "/host/etc");
  tb_hardlink (&t, "v", "sl/passwd");
  tb_close (&t);
  unpack_fails (&t.out, "not in this layer or below");
  sbx_strbuf_release (&t.out);

  EXPECT_FALSE (exists (lpath ("x")));
  EXPECT_FALSE (exists (lpath ("y")));
  EXPECT_FALSE (exists (lpath ("z")));
  EXPECT_FALSE (exists (lpath ("w")));
  EXPECT_FALSE (exists (lpath ("v")));
  ASSERT_EQ (stat ("/etc/passwd", &after), 0);
  EXPECT_EQ (after.st_nlink, before.st_nlink);
  expect_contained ();
}

TEST (hardlink_to_a_symlink_links_the_symlink)
{
  struct tarb t;
  struct stat a, b;

  setup ();
  tb_open (&t);
  tb_symlink (&t, "s", "/etc/passwd");
  tb_hardlink (&t, "h", "s");
  tb_close (&t);
  unpack_ok (&t.out, NULL);
  ASSERT_EQ (lstat (lpath ("s"), &a), 0);
  ASSERT_EQ (lstat (lpath ("h"), &b), 0);
  EXPECT_TRUE (S_ISLNK (b.st_mode));
  EXPECT_EQ (a.st_ino, b.st_ino);
  sbx_strbuf_release (&t.out);
}

TEST (device_nodes_are_skipped_and_counted)
{
  struct sbx_layer_stats stats;
  struct archive_entry *e;
  struct tarb t;

  setup ();
  tb_open (&t);
  e = tb_entry ("dev/null", AE_IFCHR, 0666);
  archive_entry_set_rdev (e, makedev (1, 3));
  tb_add (&t, e, NULL, 0);
  e = tb_entry ("dev/sda", AE_IFBLK, 0660);
  archive_entry_set_rdev (e, makedev (8, 0));
  tb_add (&t, e, NULL, 0);
  e = tb_entry ("dev/zero0", AE_IFCHR, 0666);
  archive_entry_set_rdev (e, makedev (0, 0));
  tb_add (&t, e, NULL, 0);
  tb_file (&t, "dev/ok", 0644, "ok");
  tb_close (&t);
  unpack_ok (&t.out, &stats);
  EXPECT_EQ (stats.skipped, 3u);
  EXPECT_EQ (stats.entries, 4u);
  EXPECT_FALSE (exists (lpath ("dev/null")));
  EXPECT_FALSE (exists (lpath ("dev/sda")));
  EXPECT_FALSE (exists (lpath ("dev/zero0")));
  EXPECT_STREQ (read_file (lpath ("dev/ok")), "ok");
  sbx_strbuf_release (&t.out);
}

/* ---- broken streams ---- */

TEST (truncated_stream_fails_naming_the_entry)
{
  char big[100000];
  struct tarb t;

  memset (big, 'b', sizeof big);
  setup ();
  tb_open (&t);
  tb_file (&t, "first", 0644, "1");
  tb_add (&t, tb_entry ("dir/big.bin", AE_IFREG, 0644), big, sizeof big);
  tb_close (&t);
  t.out.len = 1024 + 512 + 50000; /* in the middle of big.bin's data */
  unpack_fails (&t.out, "dir/big.bin");
  unpack_fails (&t.out, "runcated");
  sbx_strbuf_release (&t.out);
}

TEST (truncated_header_fails_naming_the_previous_entry)
{
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "first", 0644, "1");
  tb_file (&t, "second", 0644, "2");
  tb_close (&t);
  t.out.len = 1024 + 200; /* in the middle of second's header */
  unpack_fails (&t.out, "first");
  sbx_strbuf_release (&t.out);
}

/* The first HALF of TAR compressed with FILTER, in a memfd.  */
static int
half_compressed_fd (const struct sbx_strbuf *tar, const char *filter)
{
  cleanup_close int full = tar_fd (tar, filter);
  struct sbx_strbuf half = SBX_STRBUF_INIT;
  struct stat st;
  int fd;

  ASSERT_EQ (fstat (full, &st), 0);
  sbx_strbuf_grow (&half, (size_t) st.st_size);
  half.len = (size_t) st.st_size / 2;
  ASSERT_EQ (read (full, half.buf, half.len), (ssize_t) half.len);
  fd = mem_fd (half.buf, half.len);
  sbx_strbuf_release (&half);
  return fd;
}

static void
check_truncated_compressed (const char *filter)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  size_t size = 8 << 20, i;
  cleanup_free char *big = malloc (size);
  uint64_t x = 88172645463325252ull;
  struct tarb t;

  ASSERT_NOT_NULL (big);
  for (i = 0; i < size; i++) /* incompressible */
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      big[i] = (char) x;
    }
  setup ();
  tb_open (&t);
  tb_file (&t, "small", 0644, "s");
  tb_add (&t, tb_entry ("big", AE_IFREG, 0644), big, size);
  tb_close (&t);
  fd = half_compressed_fd (&t.out, filter);
  ASSERT_LT (sbx_layer_unpack (fd, layerfd, NULL, NULL, &err), 0);
  printf ("# expected failure: %s\n", err->msg);
  EXPECT_STRSTR (err->msg, "tar entry `big`");
  sbx_strbuf_release (&t.out);
}

TEST (truncated_gzip_fails_naming_the_entry)
{
  check_truncated_compressed ("gzip");
}

TEST (truncated_zstd_fails_naming_the_entry)
{
  check_truncated_compressed ("zstd");
}

TEST (truncated_small_gzip_fails)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  struct tarb t;

  setup ();
  tb_open (&t);
  tb_file (&t, "f", 0644, "some text, some text, some text");
  tb_close (&t);
  fd = half_compressed_fd (&t.out, "gzip");
  ASSERT_LT (sbx_layer_unpack (fd, layerfd, NULL, NULL, &err), 0);
  printf ("# expected failure: %s\n", err->msg);
  EXPECT_STRSTR (err->msg, "truncated");
  sbx_strbuf_release (&t.out);
}

TEST (empty_and_garbage_streams_fail)
{
  struct sbx_strbuf s = SBX_STRBUF_INIT;

  setup ();
  unpack_fails (&s, "empty");
  sbx_strbuf_addstr (&s, "this is not a tar archive, not even close; just some text that goes on");
  while (s.len < 2048)
    sbx_strbuf_addch (&s, 'x');
  unpack_fails (&s, "tar");
  sbx_strbuf_release (&s);
  EXPECT_EQ (count_entries (layer), 0u);
}

/* ---- lower layers ---- */

TEST (hardlink_to_a_file_of_a_lower_layer_copies_it_up)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int lowerfd = -1;
  char lower[PATH_MAX], p[PATH_MAX + 32], v[8];
  int lowers[2] = { -1, -1 };
  struct sbx_layer_unpack_opts opts = { .apply_owners = false };
  struct stat a, b, lo;
  struct tarb t;

  setup ();
  FMT (lower, "%s/decoy/lower", TEST_TMPDIR);
  ASSERT_EQ (mkdir (lower, 0755), 0);
  FMT (p, "%s/usr", lower);
  ASSERT_EQ (mkdir (p, 0755), 0);
  FMT (p, "%s/usr/tool", lower);
  {
    cleanup_close int fd = open (p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0751);

    ASSERT_GE (fd, 0);
    ASSERT_EQ (write (fd, "TOOL", 4), 4);
    ASSERT_EQ (fsetxattr (fd, "user.tag", "v1", 2, 0), 0);
    ASSERT_EQ (fchmod (fd, 0751), 0);
  }
  FMT (p, "%s/esc", lower);
  ASSERT_EQ (symlink ("/etc", p), 0);
  FMT (p, "%s/rel", lower);
  ASSERT_EQ (symlink ("usr/tool", p), 0);
  lowerfd = open (lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (lowerfd, 0);
  lowers[1] = lowerfd; /* below a layer that could not be opened */
  opts.lower_dirfds = lowers;
  opts.n_lowers = 2;

  tb_open (&t);
  tb_hardlink (&t, "bin/tool2", "usr/tool");
  tb_hardlink (&t, "rel2", "rel");
  tb_close (&t);
  ASSERT_EQ (unpack_opts (&t.out, NULL, &opts, NULL, &err), 0);
  sbx_strbuf_release (&t.out);

  ASSERT_EQ (lstat (lpath ("usr/tool"), &a), 0);
  ASSERT_EQ (lstat (lpath ("bin/tool2"), &b), 0);
  EXPECT_EQ (a.st_ino, b.st_ino);
  EXPECT_EQ (a.st_mode & 07777, 0751u);
  EXPECT_STREQ (read_file (lpath ("bin/tool2")), "TOOL");
  EXPECT_EQ (getxattr (lpath ("usr/tool"), "user.tag", v, sizeof v), 2);
  ASSERT_EQ (lstat (lpath ("rel2"), &b), 0);
  EXPECT_TRUE (S_ISLNK (b.st_mode));
  FMT (p, "%s/usr/tool", lower);
  ASSERT_EQ (lstat (p, &lo), 0);
  EXPECT_EQ (lo.st_nlink, 1u);

  /* a symlink of the lower layer is resolved in that layer's root */
  tb_open (&t);
  tb_hardlink (&t, "pw", "esc/passwd");
  tb_close (&t);
  ASSERT_LT (unpack_opts (&t.out, NULL, &opts, NULL, &err), 0);
  printf ("# expected failure: %s\n", err->msg);
  EXPECT_STRSTR (err->msg, "not in this layer or below");
  EXPECT_FALSE (exists (lpath ("pw")));
  EXPECT_FALSE (exists (lpath ("esc")));
  sbx_strbuf_release (&t.out);
}

TEST (whiteout_in_a_lower_layer_hides_the_file_below)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int up = -1, down = -1;
  char p[PATH_MAX + 32];
  int lowers[2];
  struct sbx_layer_unpack_opts opts = { .apply_owners = false };
  struct tarb t;

  setup ();
  FMT (p, "%s/decoy/up", TEST_TMPDIR);
  ASSERT_EQ (mkdir (p, 0755), 0);
  FMT (p, "%s/decoy/up/f", TEST_TMPDIR);
  if (mknod (p, S_IFCHR, makedev (0, 0)) < 0)
    SKIP ("cannot create whiteouts here");
  FMT (p, "%s/decoy/down", TEST_TMPDIR);
  ASSERT_EQ (mkdir (p, 0755), 0);
  FMT (p, "%s/decoy/down/f", TEST_TMPDIR);
  ASSERT_EQ (close (open (p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
  FMT (p, "%s/decoy/up", TEST_TMPDIR);
  up = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FMT (p, "%s/decoy/down", TEST_TMPDIR);
  down = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  lowers[0] = up;
  lowers[1] = down;
  opts.lower_dirfds = lowers;
  opts.n_lowers = 2;
  tb_open (&t);
  tb_hardlink (&t, "g", "f");
  tb_close (&t);
  ASSERT_LT (unpack_opts (&t.out, NULL, &opts, NULL, &err), 0);
  EXPECT_STRSTR (err->msg, "not in this layer or below");
  sbx_strbuf_release (&t.out);
}

/* ---- owners ---- */

static void
owners_tar (struct tarb *t, int64_t uid, int64_t gid)
{
  struct archive_entry *e;

  tb_open (t);
  e = tb_entry ("d/", AE_IFDIR, 0755);
  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  tb_add (t, e, NULL, 0);
  e = tb_entry ("d/f", AE_IFREG, 04755);
  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  tb_add (t, e, "x", 1);
  e = tb_entry ("d/l", AE_IFLNK, 0777);
  archive_entry_set_symlink (e, "f");
  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  tb_add (t, e, NULL, 0);
  tb_close (t);
}

static void
expect_owner (const char *path, uid_t uid, gid_t gid)
{
  struct stat st;

  ASSERT_EQ (lstat (path, &st), 0);
  EXPECT_EQ (st.st_uid, uid);
  EXPECT_EQ (st.st_gid, gid);
}

TEST (owners_are_ignored_in_single_uid_mode)
{
  struct tarb t;

  setup ();
  owners_tar (&t, 1234, 5678);
  unpack_ok (&t.out, NULL);
  expect_owner (lpath ("d"), geteuid (), getegid ());
  expect_owner (lpath ("d/f"), geteuid (), getegid ());
  expect_owner (lpath ("d/l"), geteuid (), getegid ());
  EXPECT_EQ (perm_of (lpath ("d/f")), 04755u);
  sbx_strbuf_release (&t.out);
}

static void
write_proc (const char *file, const char *text)
{
  cleanup_close int fd = open (file, O_WRONLY | O_CLOEXEC);

  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, text, strlen (text)), (ssize_t) strlen (text));
}

TEST (owners_are_applied_when_asked)
{
  struct sbx_layer_unpack_opts opts = { .apply_owners = true };
  cleanup_error struct sbx_error *err = NULL;
  uid_t uid = 1234, gid = 5678;
  struct tarb t;

  setup ();
  if (geteuid () != 0)
    {
      /* As a user: a user namespace that maps only ourselves, as root.  */
      char map[64];
      uid_t me = geteuid ();
      gid_t mygid = getegid ();

      if (unshare (CLONE_NEWUSER) < 0)
        SKIP ("no user namespace");
      FMT (map, "0 %u 1", (unsigned) me);
      write_proc ("/proc/self/uid_map", map);
      write_proc ("/proc/self/setgroups", "deny");
      FMT (map, "0 %u 1", (unsigned) mygid);
      write_proc ("/proc/self/gid_map", map);
      uid = 0;
      gid = 0;
    }
  owners_tar (&t, uid, gid);
  ASSERT_EQ (unpack_opts (&t.out, NULL, &opts, NULL, &err), 0);
  expect_owner (lpath ("d"), uid, gid);
  expect_owner (lpath ("d/f"), uid, gid);
  expect_owner (lpath ("d/l"), uid, gid);
  EXPECT_EQ (perm_of (lpath ("d/f")), 04755u); /* chmod after chown */
  sbx_strbuf_release (&t.out);

  if (uid == 0)
    {
      /* an id the namespace does not map: a clear error */
      ASSERT_EQ (mkdir (lpath ("again"), 0755), 0);
      close (layerfd);
      layerfd = open (lpath ("again"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      owners_tar (&t, 1234, 1234);
      ASSERT_LT (unpack_opts (&t.out, NULL, &opts, NULL, &err), 0);
      printf ("# expected failure: %s\n", err->msg);
      EXPECT_STRSTR (err->msg, "maps no such id");
      sbx_strbuf_release (&t.out);
    }
}

TEST (implicit_parent_keeps_the_lower_directory_metadata)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int lowerfd = -1;
  char lower[PATH_MAX], p[PATH_MAX + 32];
  struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
  int lowers[1] = { -1 };
  struct sbx_layer_unpack_opts opts = { .apply_owners = false };
  struct stat st;
  struct tarb t;

  setup ();
  FMT (lower, "%s/decoy/lower2", TEST_TMPDIR);
  ASSERT_EQ (mkdir (lower, 0755), 0);
  FMT (p, "%s/sticky", lower);
  ASSERT_EQ (mkdir (p, 0755), 0);
  ASSERT_EQ (chmod (p, 01777), 0);
  ASSERT_EQ (utimensat (AT_FDCWD, p, old, 0), 0);
  lowerfd = open (lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (lowerfd, 0);
  lowers[0] = lowerfd;
  opts.lower_dirfds = lowers;
  opts.n_lowers = 1;

  /* The layer lists sticky/new but not sticky itself.  */
  tb_open (&t);
  tb_file (&t, "sticky/new", 0644, "x");
  tb_file (&t, "fresh/sub/f", 0644, "y");
  tb_close (&t);
  ASSERT_EQ (unpack_opts (&t.out, NULL, &opts, NULL, &err), 0);
  sbx_strbuf_release (&t.out);

  ASSERT_EQ (stat (lpath ("sticky"), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 01777);
  EXPECT_EQ (st.st_mtim.tv_sec, 1000000000);
  /* With no lower copy, an implicit directory is 0755.  */
  ASSERT_EQ (stat (lpath ("fresh/sub"), &st), 0);
  EXPECT_EQ (st.st_mode & 07777, 0755);
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FUSE overlay's core without a mount: layer resolution, merged
   directories, copy-up and the changes of modify.c, on layers made in the
   test's directory.  Lower layers are l1 (top) .. lN, the upper "upper".  */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"
#include "overlay/fusefs/fs.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#ifndef RENAME_NOREPLACE
#  define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#  define RENAME_EXCHANGE (1 << 1)
#endif

/* TEST_TMPDIR/REL; valid until the 8th next call.  */
__attribute__ ((format (printf, 1, 2))) static const char *
P (const char *fmt, ...)
{
  static char bufs[8][4096 + 256 + 2];
  static int next;
  char rel[256];
  char *b = bufs[next++ % 8];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (rel, sizeof rel, fmt, ap);
  va_end (ap);
  snprintf (b, sizeof bufs[0], "%s/%s", TEST_TMPDIR, rel);
  return b;
}

static void
mkd (const char *rel)
{
  cleanup_free char *cmd = xasprintf ("mkdir -p '%s'", P ("%s", rel));

  ASSERT_EQ (system (cmd), 0);
}

static void
put (const char *rel, const char *text)
{
  FILE *f = fopen (P ("%s", rel), "w");

  ASSERT_NOT_NULL (f);
  fputs (text, f);
  ASSERT_EQ (fclose (f), 0);
}

static void
whiteout (const char *rel)
{
  ASSERT_EQ (mknod (P ("%s", rel), S_IFCHR, makedev (0, 0)), 0);
}

static void
opaque (const char *rel)
{
  ASSERT_EQ (setxattr (P ("%s", rel), "user.overlay.opaque", "y", 1, 0), 0);
}

static bool
is_whiteout_at (const char *rel)
{
  struct stat st;

  return lstat (P ("%s", rel), &st) == 0 && fs_is_whiteout (&st);
}

static bool
exists (const char *rel)
{
  struct stat st;

  return lstat (P ("%s", rel), &st) == 0;
}

static char *
slurp (const char *rel)
{
  size_t len = 0;
  struct sbx_error *err = NULL;
  char *s = sbx_fs_read_file_at (AT_FDCWD, P ("%s", rel), 1 << 20, &len, &err);

  sbx_error_clear (&err);
  return s;
}

/* An overlay of l1..lN under upper (when WITH_UPPER).  */
static struct fusefs *
make_fs (int n_lowers, bool with_upper)
{
  int fds[8];
  struct fusefs_config cfg
      = { .lower_fds = fds, .n_lowers = (size_t) n_lowers, .upper_fd = -1, .work_fd = -1 };
  struct sbx_error *err = NULL;
  struct fusefs *fs;
  int i;

  umask (0); /* as the server runs */
  for (i = 0; i < n_lowers; i++)
    {
      char rel[16];

      snprintf (rel, sizeof rel, "l%d", i + 1);
      mkd (rel);
      fds[i] = open (P ("l%d", i + 1), O_PATH | O_DIRECTORY | O_CLOEXEC);
      ASSERT_GE (fds[i], 0);
    }
  if (with_upper)
    {
      mkd ("upper");
      mkd ("work");
      cfg.upper_fd = open (P ("upper"), O_PATH | O_DIRECTORY | O_CLOEXEC);
      cfg.work_fd = open (P ("work"), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  fs = fs_new (&cfg, &err);
  if (fs == NULL)
    printf ("# fs_new: %s\n", err->msg);
  ASSERT_NOT_NULL (fs);
  return fs;
}

static struct fs_node *
walk (struct fusefs *fs, const char *path)
{
  struct fs_node *n = NULL;

  if (fs_lookup_path (fs, path, &n) < 0)
    return NULL;
  return n;
}

static int
lookup_err (struct fusefs *fs, const char *path)
{
  struct fs_node *n = NULL;
  int r = fs_lookup_path (fs, path, &n);

  if (r == 0)
    node_unref (fs, n);
  return r;
}

/* The merged listing of PATH as "a b c".  */
static char *
listing (struct fusefs *fs, const char *path)
{
  cleanup_strbuf struct sbx_strbuf out = SBX_STRBUF_INIT;
  struct fs_node *n = walk (fs, path);
  struct fs_dirlist l;
  size_t i;

  if (n == NULL || fs_dir_list (fs, n, &l) < 0)
    return xstrdup ("<error>");
  for (i = 0; i < l.n; i++)
    sbx_strbuf_addf (&out, "%s%s", i ? " " : "", l.ents[i].name);
  fs_dirlist_release (&l);
  node_unref (fs, n);
  return sbx_strbuf_detach (&out);
}

static const struct fs_ctx me_ctx_storage = { 0 };

static struct fs_ctx
me (void)
{
  struct fs_ctx c = me_ctx_storage;

  c.uid = getuid ();
  c.gid = getgid ();
  return c;
}

/* ---- resolution ---- */

TEST (top_layer_wins_and_lower_names_show_through)
{
  struct fusefs *fs;
  struct fs_node *n;
  struct stat st;

  mkd ("l1/etc");
  mkd ("l2/etc");
  put ("l1/etc/hostname", "top\n");
  put ("l2/etc/hostname", "bottom\n");
  put ("l2/etc/passwd", "root\n");
  fs = make_fs (2, false);
  n = walk (fs, "etc/hostname");
  ASSERT_NOT_NULL (n);
  EXPECT_EQ (n->layer, 0);
  ASSERT_EQ (node_stat (fs, n, &st), 0);
  EXPECT_EQ (st.st_size, 4);
  node_unref (fs, n);
  n = walk (fs, "etc/passwd");
  ASSERT_NOT_NULL (n);
  EXPECT_EQ (n->layer, 1);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (whiteout_hides_the_name_below)
{
  cleanup_free char *l = NULL;
  struct fusefs *fs;

  mkd ("l1");
  mkd ("l2/bin");
  put ("l2/bin/sh", "x");
  put ("l2/bin/ls", "x");
  mkd ("l1/bin");
  whiteout ("l1/bin/sh");
  fs = make_fs (2, false);
  EXPECT_EQ (lookup_err (fs, "bin/sh"), -ENOENT);
  EXPECT_EQ (lookup_err (fs, "bin/ls"), 0);
  l = listing (fs, "bin");
  EXPECT_STREQ (l, "ls");
  fs_free (fs);
}

TEST (opaque_dir_hides_lower_entries)
{
  cleanup_free char *l = NULL;
  struct fusefs *fs;

  mkd ("l1/etc");
  mkd ("l2/etc");
  put ("l1/etc/new", "x");
  put ("l2/etc/old", "x");
  opaque ("l1/etc");
  fs = make_fs (2, false);
  EXPECT_EQ (lookup_err (fs, "etc/old"), -ENOENT);
  l = listing (fs, "etc");
  EXPECT_STREQ (l, "new");
  fs_free (fs);
}

TEST (non_directory_above_ends_the_merge)
{
  struct fusefs *fs;
  struct fs_node *n;

  mkd ("l1");
  mkd ("l2/x");
  put ("l2/x/inner", "x");
  put ("l1/x", "file now");
  fs = make_fs (2, false);
  n = walk (fs, "x");
  ASSERT_NOT_NULL (n);
  EXPECT_EQ (n->type, (mode_t) S_IFREG);
  node_unref (fs, n);
  EXPECT_EQ (lookup_err (fs, "x/inner"), -ENOTDIR);
  fs_free (fs);
}

TEST (bad_names_are_refused)
{
  struct fusefs *fs = make_fs (1, false);
  struct fs_node *n = NULL;

  EXPECT_EQ (fs_lookup (fs, fs->root, "..", &n), -EINVAL);
  EXPECT_EQ (fs_lookup (fs, fs->root, ".", &n), -EINVAL);
  EXPECT_EQ (fs_lookup (fs, fs->root, "a/b", &n), -EINVAL);
  EXPECT_EQ (fs_lookup (fs, fs->root, "", &n), -EINVAL);
  EXPECT_NULL (node_get (fs, 0));
  EXPECT_NULL (node_get (fs, 12345));
  EXPECT_NULL (node_get (fs, 1ULL << 32 | 1)); /* root's slot, wrong generation */
  EXPECT_TRUE (node_get (fs, 1) == fs->root);
  fs_free (fs);
}

TEST (merged_readdir_lists_each_name_once_upper_first)
{
  cleanup_free char *l = NULL;
  struct fusefs *fs;

  mkd ("l1/d");
  mkd ("l2/d");
  mkd ("upper/d");
  put ("upper/d/u", "x");
  put ("upper/d/both", "x");
  put ("l1/d/both", "x");
  put ("l1/d/one", "x");
  put ("l2/d/one", "x");
  put ("l2/d/two", "x");
  whiteout ("upper/d/gone");
  put ("l2/d/gone", "x");
  fs = make_fs (2, true);
  l = listing (fs, "d");
  /* upper's names (readdir order) first, then l1's new ones, then l2's */
  ASSERT_EQ (strncmp (l, "u both", 6) == 0 || strncmp (l, "both u", 6) == 0, true);
  EXPECT_STREQ (l + 7, "one two");
  EXPECT_EQ (lookup_err (fs, "d/gone"), -ENOENT);
  fs_free (fs);
}

TEST (reported_inode_numbers_are_the_layers_own)
{
  struct fusefs *fs;
  struct fs_node *n;
  struct stat st, host;

  mkd ("l1");
  put ("l1/f", "x");
  fs = make_fs (1, false);
  n = walk (fs, "f");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (node_getattr (fs, n, &st), 0);
  ASSERT_EQ (lstat (P ("l1/f"), &host), 0);
  EXPECT_EQ (st.st_ino, host.st_ino);
  node_unref (fs, n);
  fs_free (fs);
}

/* ---- copy-up ---- */

TEST (copy_up_of_a_file_keeps_the_lower_and_the_inode_number)
{
  cleanup_free char *up = NULL;
  cleanup_free char *low = NULL;
  struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
  struct fusefs *fs;
  struct fs_node *n;
  struct stat before, after, ust;
  char val[16] = "";

  mkd ("l1/a/b");
  put ("l1/a/b/f", "lower data\n");
  ASSERT_EQ (chmod (P ("l1/a/b/f"), 0640), 0);
  ASSERT_EQ (chmod (P ("l1/a/b"), 0750), 0);
  ASSERT_EQ (setxattr (P ("l1/a/b/f"), "user.test", "v", 1, 0), 0);
  ASSERT_EQ (utimensat (AT_FDCWD, P ("l1/a/b/f"), old, 0), 0);
  fs = make_fs (1, true);
  n = walk (fs, "a/b/f");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (node_getattr (fs, n, &before), 0);
  ASSERT_EQ (fs_copy_up (fs, n, false), 0);
  EXPECT_EQ (n->layer, 0);
  ASSERT_EQ (node_getattr (fs, n, &after), 0);
  EXPECT_EQ (after.st_ino, before.st_ino);
  up = slurp ("upper/a/b/f");
  low = slurp ("l1/a/b/f");
  EXPECT_STREQ (up, "lower data\n");
  EXPECT_STREQ (low, "lower data\n");
  ASSERT_EQ (lstat (P ("upper/a/b/f"), &ust), 0);
  EXPECT_EQ (ust.st_mode & 07777, 0640u);
  EXPECT_EQ (ust.st_mtim.tv_sec, 1000000000);
  ASSERT_EQ (lstat (P ("upper/a/b"), &ust), 0);
  EXPECT_EQ (ust.st_mode & 07777, 0750u);
  EXPECT_EQ (getxattr (P ("upper/a/b/f"), "user.test", val, sizeof val), 1);
  EXPECT_EQ (val[0], 'v');
  /* The node answers to its new identity, with the old number.  */
  node_unref (fs, n);
  n = walk (fs, "a/b/f");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (node_getattr (fs, n, &after), 0);
  EXPECT_EQ (after.st_ino, before.st_ino);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (copy_up_stays_transactional_when_the_rename_fails)
{
  struct fusefs *fs;
  struct fs_node *n;
  DIR *d;
  struct dirent *de;
  int entries = 0;
  int other;

  mkd ("l1");
  put ("l1/f", "keep me");
  fs = make_fs (1, true);
  /* A work dir on another filesystem: the final renameat fails (EXDEV).  */
  other = open ("/dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (other < 0)
    SKIP ("no /dev/shm");
  {
    struct stat a, b;

    ASSERT_EQ (fstat (other, &a), 0);
    ASSERT_EQ (stat (P ("upper"), &b), 0);
    if (a.st_dev == b.st_dev)
      SKIP ("/dev/shm is on the test's filesystem");
  }
  close (fs->work_fd);
  fs->work_fd = other;
  n = walk (fs, "f");
  ASSERT_NOT_NULL (n);
  EXPECT_EQ (fs_copy_up (fs, n, false), -EXDEV);
  EXPECT_EQ (n->layer, 1);
  EXPECT_FALSE (exists ("upper/f"));
  /* no temporary left behind in the "work dir" */
  d = opendir ("/dev/shm");
  ASSERT_NOT_NULL (d);
  while ((de = readdir (d)) != NULL)
    if (strncmp (de->d_name, "#sbx-", 5) == 0)
      {
        char pid[32];

        snprintf (pid, sizeof pid, "#sbx-%d-", (int) getpid ());
        entries += strncmp (de->d_name, pid, strlen (pid)) == 0;
      }
  closedir (d);
  EXPECT_EQ (entries, 0);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (copy_up_of_a_symlink_and_a_fifo)
{
  char target[64] = "";
  struct fusefs *fs;
  struct fs_node *n;
  struct stat st;

  mkd ("l1");
  ASSERT_EQ (symlink ("../somewhere", P ("l1/link")), 0);
  ASSERT_EQ (mkfifo (P ("l1/fifo"), 0620), 0);
  ASSERT_EQ (chmod (P ("l1/fifo"), 0620), 0);
  fs = make_fs (1, true);
  n = walk (fs, "link");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (fs_copy_up (fs, n, false), 0);
  node_unref (fs, n);
  ASSERT_EQ (readlink (P ("upper/link"), target, sizeof target - 1), 12);
  EXPECT_STREQ (target, "../somewhere");
  n = walk (fs, "fifo");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (fs_copy_up (fs, n, false), 0);
  node_unref (fs, n);
  ASSERT_EQ (lstat (P ("upper/fifo"), &st), 0);
  EXPECT_TRUE (S_ISFIFO (st.st_mode));
  EXPECT_EQ (st.st_mode & 07777, 0620u);
  fs_free (fs);
}

TEST (copy_up_of_a_hardlink_brings_its_other_names)
{
  struct fusefs *fs;
  struct fs_node *a, *b;
  struct stat sa, sb;

  mkd ("l1/x");
  mkd ("l1/y");
  put ("l1/x/a", "shared");
  ASSERT_EQ (link (P ("l1/x/a"), P ("l1/y/b")), 0);
  fs = make_fs (1, true);
  a = walk (fs, "x/a");
  b = walk (fs, "y/b");
  ASSERT_NOT_NULL (a);
  EXPECT_TRUE (a == b); /* one node for both names */
  ASSERT_EQ (fs_copy_up (fs, a, false), 0);
  ASSERT_EQ (lstat (P ("upper/x/a"), &sa), 0);
  ASSERT_EQ (lstat (P ("upper/y/b"), &sb), 0);
  EXPECT_EQ (sa.st_ino, sb.st_ino);
  EXPECT_EQ (sa.st_nlink, 2u);
  node_unref (fs, a);
  node_unref (fs, b);
  /* and the names still lead to one node */
  a = walk (fs, "x/a");
  b = walk (fs, "y/b");
  EXPECT_TRUE (a == b);
  node_unref (fs, a);
  node_unref (fs, b);
  fs_free (fs);
}

TEST (truncating_copy_up_copies_no_data)
{
  struct fusefs *fs;
  struct fs_node *n;
  struct stat attr = { .st_size = 0 };
  struct stat st;

  mkd ("l1");
  put ("l1/big", "0123456789");
  fs = make_fs (1, true);
  n = walk (fs, "big");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (fs_setattr (fs, n, &attr, FS_SET_SIZE, -1), 0);
  ASSERT_EQ (lstat (P ("upper/big"), &st), 0);
  EXPECT_EQ (st.st_size, 0);
  ASSERT_EQ (lstat (P ("l1/big"), &st), 0);
  EXPECT_EQ (st.st_size, 10);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (copy_data_keeps_holes)
{
  struct fusefs *fs = make_fs (1, true);
  cleanup_close int src = open (P ("l1/sparse"), O_RDWR | O_CREAT, 0600);
  cleanup_close int dst = open (P ("work/copy"), O_RDWR | O_CREAT, 0600);
  struct stat st;
  char c = 0;

  ASSERT_GE (src, 0);
  ASSERT_GE (dst, 0);
  ASSERT_EQ (pwrite (src, "x", 1, 8 << 20), 1);
  fs->can_reflink = -1; /* exercise the copy path */
  ASSERT_EQ (fs_copy_data (fs, src, dst, (8 << 20) + 1), 0);
  ASSERT_EQ (fstat (dst, &st), 0);
  EXPECT_EQ (st.st_size, (8 << 20) + 1);
  EXPECT_LT (st.st_blocks, 1024); /* not 8 MiB of zeros */
  ASSERT_EQ (pread (dst, &c, 1, 8 << 20), 1);
  EXPECT_EQ (c, 'x');
  fs_free (fs);
}

/* ---- changes ---- */

TEST (unlink_of_a_lower_file_leaves_a_whiteout)
{
  cleanup_free char *l = NULL;
  struct fusefs *fs;
  struct fs_node *d;

  mkd ("l1/d");
  put ("l1/d/f", "x");
  put ("l1/d/g", "x");
  fs = make_fs (1, true);
  d = walk (fs, "d");
  ASSERT_NOT_NULL (d);
  ASSERT_EQ (fs_unlink (fs, d, "f"), 0);
  EXPECT_TRUE (is_whiteout_at ("upper/d/f"));
  EXPECT_TRUE (exists ("l1/d/f"));
  EXPECT_EQ (lookup_err (fs, "d/f"), -ENOENT);
  l = listing (fs, "d");
  EXPECT_STREQ (l, "g");
  EXPECT_EQ (fs_unlink (fs, d, "f"), -ENOENT);
  node_unref (fs, d);
  fs_free (fs);
}

TEST (unlink_of_an_upper_only_file_leaves_nothing)
{
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *n = NULL;
  int fd = -1;

  mkd ("l1");
  fs = make_fs (1, true);
  ASSERT_EQ (fs_create (fs, &c, fs->root, "new", 0644, O_WRONLY, &n, &fd), 0);
  ASSERT_EQ (write (fd, "abc", 3), 3);
  EXPECT_TRUE (exists ("upper/new"));
  ASSERT_EQ (fs_unlink (fs, fs->root, "new"), 0);
  EXPECT_FALSE (exists ("upper/new"));
  /* the open file still works, and the node reaches it */
  EXPECT_TRUE (n->detached);
  {
    struct stat st;

    ASSERT_EQ (node_stat (fs, n, &st), 0);
    EXPECT_EQ (st.st_size, 3);
    EXPECT_EQ (st.st_nlink, 0u);
  }
  close (fd);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (rmdir_of_a_merged_dir_with_only_whiteouts)
{
  struct fusefs *fs;
  struct fs_node *d;

  mkd ("l1/d");
  put ("l1/d/f", "x");
  fs = make_fs (1, true);
  d = walk (fs, "d");
  ASSERT_NOT_NULL (d);
  EXPECT_EQ (fs_rmdir (fs, fs->root, "d"), -ENOTEMPTY);
  ASSERT_EQ (fs_unlink (fs, d, "f"), 0);
  EXPECT_TRUE (is_whiteout_at ("upper/d/f"));
  ASSERT_EQ (fs_rmdir (fs, fs->root, "d"), 0);
  EXPECT_TRUE (is_whiteout_at ("upper/d"));
  EXPECT_EQ (lookup_err (fs, "d"), -ENOENT);
  EXPECT_TRUE (d->dead);
  node_unref (fs, d);
  fs_free (fs);
}

TEST (mkdir_over_a_whiteout_is_opaque)
{
  cleanup_free char *l = NULL;
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *d = NULL;
  char v[4] = "";

  mkd ("l1/d");
  put ("l1/d/old", "x");
  fs = make_fs (1, true);
  d = walk (fs, "d");
  ASSERT_EQ (fs_unlink (fs, d, "old"), 0);
  node_unref (fs, d);
  ASSERT_EQ (fs_rmdir (fs, fs->root, "d"), 0);
  ASSERT_EQ (fs_mkdir (fs, &c, fs->root, "d", 0755, &d), 0);
  node_unref (fs, d);
  EXPECT_EQ (getxattr (P ("upper/d"), "user.overlay.opaque", v, sizeof v), 1);
  l = listing (fs, "d");
  EXPECT_STREQ (l, "");
  EXPECT_EQ (lookup_err (fs, "d/old"), -ENOENT);
  fs_free (fs);
}

TEST (create_over_a_whiteout_replaces_it)
{
  cleanup_free char *s = NULL;
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *n = NULL;
  int fd = -1;

  mkd ("l1");
  put ("l1/f", "old");
  fs = make_fs (1, true);
  ASSERT_EQ (fs_unlink (fs, fs->root, "f"), 0);
  ASSERT_EQ (fs_create (fs, &c, fs->root, "f", 0600, O_RDWR, &n, &fd), 0);
  ASSERT_EQ (write (fd, "new", 3), 3);
  close (fd);
  s = slurp ("upper/f");
  EXPECT_STREQ (s, "new");
  node_unref (fs, n);
  fs_free (fs);
}

TEST (devices_cannot_be_made)
{
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *n = NULL;

  mkd ("l1");
  fs = make_fs (1, true);
  EXPECT_EQ (fs_mknod (fs, &c, fs->root, "wh", S_IFCHR, makedev (0, 0), &n), -EPERM);
  EXPECT_EQ (fs_mknod (fs, &c, fs->root, "null", S_IFCHR | 0666, makedev (1, 3), &n), -EPERM);
  EXPECT_EQ (fs_mknod (fs, &c, fs->root, "blk", S_IFBLK | 0666, makedev (8, 0), &n), -EPERM);
  ASSERT_EQ (fs_mknod (fs, &c, fs->root, "fifo", S_IFIFO | 0644, 0, &n), 0);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (rename_of_a_lower_file)
{
  cleanup_free char *s = NULL;
  struct fusefs *fs;

  mkd ("l1");
  put ("l1/a", "content");
  fs = make_fs (1, true);
  ASSERT_EQ (fs_rename (fs, fs->root, "a", fs->root, "b", 0), 0);
  EXPECT_TRUE (is_whiteout_at ("upper/a"));
  s = slurp ("upper/b");
  EXPECT_STREQ (s, "content");
  EXPECT_TRUE (exists ("l1/a"));
  EXPECT_EQ (lookup_err (fs, "a"), -ENOENT);
  fs_free (fs);
}

TEST (rename_of_a_lower_dir_keeps_its_contents)
{
  cleanup_free char *l = NULL;
  cleanup_free char *s = NULL;
  struct fusefs *fs;
  struct fs_node *live;

  mkd ("l1/src/deep");
  mkd ("l2/src");
  put ("l1/src/deep/f", "deep");
  put ("l2/src/g", "g");
  mkd ("l2/dst");
  put ("l2/dst/hidden", "x");
  mkd ("l1/dst");
  whiteout ("l1/dst/hidden"); /* dst is empty in the merged view */
  fs = make_fs (2, true);
  live = walk (fs, "src/deep/f"); /* a node the kernel would hold */
  ASSERT_NOT_NULL (live);
  ASSERT_EQ (fs_rename (fs, fs->root, "src", fs->root, "dst", 0), 0);
  l = listing (fs, "dst");
  EXPECT_TRUE (strcmp (l, "deep g") == 0 || strcmp (l, "g deep") == 0);
  s = slurp ("upper/dst/deep/f");
  EXPECT_STREQ (s, "deep");
  EXPECT_TRUE (is_whiteout_at ("upper/src"));
  EXPECT_EQ (lookup_err (fs, "src"), -ENOENT);
  EXPECT_EQ (lookup_err (fs, "dst/hidden"), -ENOENT);
  {
    char v[4] = "";

    EXPECT_EQ (getxattr (P ("upper/dst"), "user.overlay.opaque", v, sizeof v), 1);
  }
  /* the live node moved with it */
  {
    struct stat st;

    EXPECT_EQ (live->layer, 0);
    ASSERT_EQ (node_stat (fs, live, &st), 0);
    EXPECT_EQ (st.st_size, 4);
  }
  node_unref (fs, live);
  fs_free (fs);
}

TEST (rename_flags)
{
  struct fusefs *fs;

  mkd ("l1");
  put ("l1/a", "a");
  put ("l1/b", "b");
  fs = make_fs (1, true);
  EXPECT_EQ (fs_rename (fs, fs->root, "a", fs->root, "b", RENAME_NOREPLACE), -EEXIST);
  EXPECT_EQ (fs_rename (fs, fs->root, "a", fs->root, "b", RENAME_NOREPLACE | RENAME_EXCHANGE),
             -EINVAL);
  EXPECT_EQ (fs_rename (fs, fs->root, "a", fs->root, "c", RENAME_EXCHANGE), -ENOENT);
  ASSERT_EQ (fs_rename (fs, fs->root, "a", fs->root, "b", RENAME_EXCHANGE), 0);
  {
    cleanup_free char *a = slurp ("upper/a");
    cleanup_free char *b = slurp ("upper/b");

    EXPECT_STREQ (a, "b");
    EXPECT_STREQ (b, "a");
  }
  ASSERT_EQ (fs_rename (fs, fs->root, "a", fs->root, "c", RENAME_NOREPLACE), 0);
  EXPECT_TRUE (is_whiteout_at ("upper/a"));
  fs_free (fs);
}

TEST (rename_replaces_a_dir_only_when_it_is_empty)
{
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *n = NULL;

  mkd ("l1/full");
  put ("l1/full/x", "x");
  put ("l1/file", "x");
  fs = make_fs (1, true);
  ASSERT_EQ (fs_mkdir (fs, &c, fs->root, "empty", 0755, &n), 0);
  node_unref (fs, n);
  EXPECT_EQ (fs_rename (fs, fs->root, "empty", fs->root, "full", 0), -ENOTEMPTY);
  EXPECT_EQ (fs_rename (fs, fs->root, "empty", fs->root, "file", 0), -ENOTDIR);
  EXPECT_EQ (fs_rename (fs, fs->root, "file", fs->root, "full", 0), -EISDIR);
  fs_free (fs);
}

TEST (hardlink_to_a_lower_file)
{
  struct fusefs *fs;
  struct fs_node *n, *l = NULL;
  struct stat a, b;

  mkd ("l1");
  put ("l1/orig", "data");
  fs = make_fs (1, true);
  n = walk (fs, "orig");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (fs_link (fs, n, fs->root, "alias", &l), 0);
  EXPECT_TRUE (l == n);
  ASSERT_EQ (lstat (P ("upper/orig"), &a), 0);
  ASSERT_EQ (lstat (P ("upper/alias"), &b), 0);
  EXPECT_EQ (a.st_ino, b.st_ino);
  EXPECT_EQ (a.st_nlink, 2u);
  node_unref (fs, l);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (xattrs_hide_the_overlay_s_own)
{
  struct fusefs *fs;
  struct fs_node *n;
  char buf[256];
  int len;

  mkd ("l1/d");
  ASSERT_EQ (setxattr (P ("l1/d"), "user.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ (setxattr (P ("l1/d"), "user.mine", "1", 1, 0), 0);
  fs = make_fs (1, true);
  n = walk (fs, "d");
  ASSERT_NOT_NULL (n);
  len = fs_listxattr (fs, n, buf, sizeof buf);
  ASSERT_EQ (len, 10);
  EXPECT_STREQ (buf, "user.mine");
  EXPECT_EQ (fs_listxattr (fs, n, NULL, 0), 10);
  EXPECT_EQ (fs_getxattr (fs, n, "user.overlay.opaque", buf, sizeof buf), -ENODATA);
  EXPECT_EQ (fs_setxattr (fs, n, "user.overlay.opaque", "y", 1, 0), -EPERM);
  EXPECT_EQ (fs_setxattr (fs, n, "trusted.x", "y", 1, 0), -EOPNOTSUPP);
  ASSERT_EQ (fs_setxattr (fs, n, "user.new", "v", 1, 0), 0);
  EXPECT_TRUE (exists ("upper/d")); /* copied up */
  EXPECT_EQ (fs_getxattr (fs, n, "user.new", buf, sizeof buf), 1);
  ASSERT_EQ (fs_removexattr (fs, n, "user.new"), 0);
  EXPECT_EQ (fs_getxattr (fs, n, "user.new", buf, sizeof buf), -ENODATA);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (directory_fds_are_evicted_and_reopened)
{
  struct fusefs *fs;
  struct fs_node *n;
  char path[64];
  int i;

  mkd ("l1/a/b/c/d/e/f");
  put ("l1/a/b/c/d/e/f/x", "x");
  for (i = 0; i < 40; i++)
    {
      snprintf (path, sizeof path, "l1/a/d%d", i);
      mkd (path);
    }
  fs = make_fs (1, false);
  fs->fd_budget = 4;
  n = walk (fs, "a/b/c/d/e/f/x");
  ASSERT_NOT_NULL (n);
  fs_lock (fs);
  fs_unlock (fs); /* trims the cache, as after every request */
  EXPECT_LE (fs->n_cached_fds, 4u);
  for (i = 0; i < 40; i++)
    {
      snprintf (path, sizeof path, "a/d%d", i);
      EXPECT_EQ (lookup_err (fs, path), 0);
      fs_lock (fs);
      fs_unlock (fs);
    }
  EXPECT_LE (fs->n_cached_fds, 4u);
  {
    struct stat st;

    EXPECT_EQ (node_stat (fs, n, &st), 0); /* reopens its parents */
  }
  node_unref (fs, n);
  fs_free (fs);
}

TEST (nodes_are_freed_when_forgotten)
{
  struct fusefs *fs;
  struct fs_node *n;
  uint64_t id;

  mkd ("l1/d");
  put ("l1/d/f", "x");
  fs = make_fs (1, false);
  n = walk (fs, "d/f");
  ASSERT_NOT_NULL (n);
  id = n->nodeid;
  n->nlookup = 2;
  node_unref (fs, n);
  EXPECT_TRUE (node_get (fs, id) == n);
  node_forget (fs, n, 1);
  EXPECT_TRUE (node_get (fs, id) == n);
  node_forget (fs, n, 5); /* more than it has: clamps */
  EXPECT_NULL (node_get (fs, id));
  /* its parent went with it, and the slot comes back with a new generation */
  n = walk (fs, "d/f");
  ASSERT_NOT_NULL (n);
  EXPECT_NE (n->nodeid, id);
  node_unref (fs, n);
  fs_free (fs);
}

TEST (readdir_offsets_are_name_hashes_that_survive_changes)
{
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *d, *n = NULL;
  const struct fs_dirlist *l;
  uint64_t off_b = 0;
  size_t i;

  mkd ("l1/d");
  put ("l1/d/a", "x");
  put ("l1/d/b", "x");
  put ("l1/d/c", "x");
  fs = make_fs (1, true);
  d = walk (fs, "d");
  ASSERT_NOT_NULL (d);
  ASSERT_EQ (fs_dir_listing (fs, d, &l), 0);
  ASSERT_EQ (l->n, 3u);
  for (i = 0; i < l->n; i++)
    {
      EXPECT_GT (l->ents[i].off, (uint64_t) FS_OFF_DOTDOT);
      if (i > 0)
        EXPECT_GT (l->ents[i].off, l->ents[i - 1].off);
      if (strcmp (l->ents[i].name, "b") == 0)
        off_b = l->ents[i].off;
    }
  /* a change drops the cached listing; "b" keeps its offset */
  ASSERT_EQ (fs_mknod (fs, &c, d, "new", S_IFREG | 0644, 0, &n), 0);
  node_unref (fs, n);
  ASSERT_EQ (fs_unlink (fs, d, "a"), 0);
  ASSERT_EQ (fs_dir_listing (fs, d, &l), 0);
  ASSERT_EQ (l->n, 3u);
  for (i = 0; i < l->n; i++)
    if (strcmp (l->ents[i].name, "b") == 0)
      EXPECT_EQ (l->ents[i].off, off_b);
  node_unref (fs, d);
  fs_free (fs);
}

TEST (data_fd_moves_to_the_copy_on_the_first_write)
{
  struct fusefs *fs;
  struct fs_node *n;
  struct fs_data *r = NULL, *w = NULL;
  char buf[16] = "";

  mkd ("l1");
  put ("l1/f", "lower");
  fs = make_fs (1, true);
  n = walk (fs, "f");
  ASSERT_NOT_NULL (n);
  ASSERT_EQ (fs_data_open (fs, n, false, &r), 0);
  EXPECT_FALSE (r->writable);
  EXPECT_TRUE (fs_data_get (fs, n->nodeid, false) == r);
  fs_data_put (r); /* the one fs_data_get took */
  EXPECT_NULL (fs_data_get (fs, n->nodeid, true));
  ASSERT_EQ (fs_data_open (fs, n, true, &w), 0);
  EXPECT_TRUE (w->writable);
  EXPECT_TRUE (w != r);
  EXPECT_EQ (n->layer, 0);
  ASSERT_EQ (pwrite (w->fd, "UPPER", 5, 0), 5);
  /* the reader's fd still reads the lower file until it lets go */
  ASSERT_EQ (pread (r->fd, buf, 5, 0), 5);
  EXPECT_STREQ (buf, "lower");
  fs_data_put (r);
  fs_data_put (w);
  {
    cleanup_free char *up = slurp ("upper/f");
    cleanup_free char *low = slurp ("l1/f");

    EXPECT_STREQ (up, "UPPER");
    EXPECT_STREQ (low, "lower");
  }
  node_unref (fs, n);
  fs_free (fs);
}

TEST (tmpfile_has_no_name_until_linked)
{
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *d, *t = NULL, *l = NULL;
  struct fs_data *data;
  cleanup_free char *listing_before = NULL;
  cleanup_free char *listing_after = NULL;

  mkd ("l1/d");
  put ("l1/d/f", "x");
  fs = make_fs (1, true);
  d = walk (fs, "d");
  ASSERT_NOT_NULL (d);
  ASSERT_EQ (fs_tmpfile (fs, &c, d, 0600, &t), 0);
  EXPECT_TRUE (t->detached);
  listing_before = listing (fs, "d");
  EXPECT_STREQ (listing_before, "f");
  data = fs_data_get (fs, t->nodeid, true);
  ASSERT_NOT_NULL (data);
  ASSERT_EQ (pwrite (data->fd, "tmp", 3, 0), 3);
  fs_data_put (data);
  ASSERT_EQ (fs_link (fs, t, d, "now-named", &l), 0);
  EXPECT_TRUE (l == t);
  EXPECT_FALSE (t->detached);
  listing_after = listing (fs, "d");
  EXPECT_TRUE (strcmp (listing_after, "now-named f") == 0
               || strcmp (listing_after, "f now-named") == 0);
  {
    cleanup_free char *s = slurp ("upper/d/now-named");

    EXPECT_STREQ (s, "tmp");
  }
  node_unref (fs, l);
  node_unref (fs, t);
  node_unref (fs, d);
  fs_free (fs);
}

TEST (an_empty_directory_lists_nothing)
{
  struct fusefs *fs;
  struct fs_node *d;
  const struct fs_dirlist *l = NULL;

  mkd ("l1/empty");
  fs = make_fs (1, true);
  d = walk (fs, "empty");
  ASSERT_NOT_NULL (d);
  /* regression: qsort of no entries got NULL (UBSan aborted the server) */
  ASSERT_EQ (fs_dir_listing (fs, d, &l), 0);
  EXPECT_EQ (l->n, 0u);
  node_unref (fs, d);
  fs_free (fs);
}

TEST (lookup_attributes_match_getattr)
{
  struct fusefs *fs;
  struct fs_node *n = NULL, *d = NULL;
  struct stat a, b;

  mkd ("l1/d");
  mkd ("l2/d");
  put ("l1/d/f", "hello");
  fs = make_fs (2, true);
  ASSERT_EQ (fs_lookup_st (fs, fs->root, "d", &d, &a), 0);
  ASSERT_EQ (node_getattr (fs, d, &b), 0);
  EXPECT_EQ (a.st_ino, b.st_ino);
  EXPECT_EQ (a.st_nlink, 1u); /* merged */
  EXPECT_EQ (b.st_nlink, 1u);
  ASSERT_EQ (fs_lookup_st (fs, d, "f", &n, &a), 0);
  ASSERT_EQ (node_getattr (fs, n, &b), 0);
  EXPECT_EQ (a.st_ino, b.st_ino);
  EXPECT_EQ (a.st_size, b.st_size);
  EXPECT_EQ (a.st_mode, b.st_mode);
  EXPECT_EQ (a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
  node_unref (fs, n);
  node_unref (fs, d);
  fs_free (fs);
}

/* ---- read-ahead (prefetch.c) ---- */

/* Read directory PATH "with attributes": list it, look its entries up (as
   READDIRPLUS does), queue its subdirectories, and run the read-ahead
   until it is done.  Returns the directory's node (referenced).  */
static struct fs_node *
read_with_ahead (struct fusefs *fs, const char *path)
{
  struct fs_node *d = walk (fs, path);
  const struct fs_dirlist *l;
  size_t i;
  int steps = 0;

  ASSERT_NOT_NULL (d);
  ASSERT_EQ (fs_dir_listing (fs, d, &l), 0);
  for (i = 0; i < l->n; i++)
    {
      struct fs_node *n = NULL;

      ASSERT_EQ (fs_lookup (fs, d, l->ents[i].name, &n), 0);
      n->nlookup++; /* the kernel keeps what READDIRPLUS gives it */
      node_unref (fs, n);
    }
  fs_read_ahead (fs, d);
  while (fs_read_ahead_step (fs, NULL, NULL))
    ASSERT_LT (++steps, 1000);
  return d;
}

/* The entry NAME of directory PATH's cached listing.  */
static const struct fs_dirent *
cached_entry (struct fusefs *fs, const char *path, const char *name)
{
  struct fs_node *d = walk (fs, path);
  const struct fs_dirent *e;

  ASSERT_NOT_NULL (d);
  e = d->listing ? fs_dirlist_find (d->listing, name) : NULL;
  node_unref (fs, d);
  return e;
}

TEST (read_ahead_looks_up_what_a_probe_would_find)
{
  static const char *const names[] = { "a", "b", "c", "x", "gone", "opq" };
  struct fusefs *fs;
  struct fs_node *top, *sub;
  size_t i;

  mkd ("l1/d/sub");
  mkd ("l2/d/sub/x");
  mkd ("l2/d/sub/opq");
  mkd ("l1/d/sub/opq");
  opaque ("l1/d/sub/opq");
  mkd ("l2/d/other");
  put ("l1/d/sub/a", "top");
  put ("l2/d/sub/a", "bottom, hidden");
  put ("l1/d/sub/b", "b");
  put ("l2/d/sub/c", "c");
  put ("l2/d/sub/gone", "x");
  whiteout ("l1/d/sub/gone");
  fs = make_fs (2, true);
  top = read_with_ahead (fs, "d");
  /* Both subdirectories were listed, their entries looked up ahead.  */
  ASSERT_NOT_NULL (cached_entry (fs, "d", "sub"));
  sub = walk (fs, "d/sub");
  ASSERT_NOT_NULL (sub);
  ASSERT_NOT_NULL (sub->listing);
  EXPECT_EQ (sub->listing->n, 5u); /* a b c x opq; not the whiteout */
  EXPECT_EQ (sub->listing->n_pre, 5u);
  EXPECT_EQ (fs->n_pre, 5u); /* "other" is empty */
  EXPECT_NULL (fs_dirlist_find (sub->listing, "gone"));
  for (i = 0; i < sizeof names / sizeof *names; i++)
    {
      const struct fs_dirent *e = fs_dirlist_find (sub->listing, names[i]);
      struct fs_found f;
      int k;

      if (strcmp (names[i], "gone") == 0)
        continue;
      ASSERT_NOT_NULL (e);
      ASSERT_NOT_NULL (e->pre);
      ASSERT_EQ (fs_probe (fs, sub, names[i], &f), 0);
      EXPECT_EQ (e->pre->layer, f.layer);
      EXPECT_EQ (e->pre->st.st_ino, f.st.st_ino);
      EXPECT_EQ (e->pre->st.st_dev, f.st.st_dev);
      EXPECT_EQ (e->pre->st.st_mode, f.st.st_mode);
      EXPECT_EQ (e->pre->whiteout, f.whiteout);
      EXPECT_EQ (e->pre->lfds == NULL, f.lfds == NULL);
      for (k = 0; f.lfds && e->pre->lfds && k < fs->n_layers; k++)
        EXPECT_EQ (e->pre->lfds[k], f.lfds[k]);
      fs_found_release (&f);
    }
  /* "opq" is opaque in l1: the merge stops there.  */
  EXPECT_EQ (fs_dirlist_find (sub->listing, "opq")->pre->lfds[2], LFD_ABSENT);
  /* A lookup takes the result made ahead, and it is the right one.  */
  {
    struct fs_node *n = NULL;
    struct stat st;

    ASSERT_EQ (fs_lookup_st (fs, sub, "a", &n, &st), 0);
    EXPECT_NULL (fs_dirlist_find (sub->listing, "a")->pre);
    EXPECT_EQ (fs->n_pre, 4u);
    EXPECT_EQ (n->layer, 1);
    EXPECT_EQ (st.st_size, 3);
    node_unref (fs, n);
  }
  EXPECT_EQ (lookup_err (fs, "d/sub/gone"), -ENOENT);
  node_unref (fs, sub);
  node_unref (fs, top);
  fs_free (fs);
}

TEST (a_lookup_made_ahead_is_dropped_once_the_directory_changes)
{
  struct fusefs *fs;
  struct fs_ctx c = me ();
  struct fs_node *top, *sub, *f = NULL, *n = NULL;
  struct stat attr = { .st_mode = 0600 };
  struct stat st;

  mkd ("l1/d/sub");
  put ("l1/d/sub/f", "lower");
  put ("l1/d/sub/g", "lower");
  fs = make_fs (1, true);
  top = read_with_ahead (fs, "d");
  sub = walk (fs, "d/sub");
  ASSERT_NOT_NULL (sub);
  ASSERT_NOT_NULL (cached_entry (fs, "d/sub", "g"));
  ASSERT_NOT_NULL (cached_entry (fs, "d/sub", "g")->pre);
  EXPECT_TRUE (fs_dir_is_lower_only (fs, sub));
  /* A chmod copies f (and d/sub) up: the directory now has an upper part,
     so the lookup of g made ahead is not used any more.  */
  ASSERT_EQ (fs_lookup (fs, sub, "f", &f), 0);
  ASSERT_EQ (fs_setattr (fs, f, &attr, FS_SET_MODE, -1), 0);
  EXPECT_FALSE (fs_dir_is_lower_only (fs, sub));
  put ("upper/d/sub/g", "upper!");
  ASSERT_EQ (fs_lookup_st (fs, sub, "g", &n, &st), 0);
  EXPECT_EQ (n->layer, 0);
  EXPECT_EQ (st.st_size, 6);
  node_unref (fs, n);
  /* A new entry drops the listing with whatever was made ahead.  */
  EXPECT_EQ (fs->n_pre, 1u); /* g's, not taken */
  ASSERT_EQ (fs_mknod (fs, &c, sub, "new", S_IFREG | 0644, 0, &n), 0);
  node_unref (fs, n);
  EXPECT_NULL (sub->listing);
  EXPECT_EQ (fs->n_pre, 0u);
  node_unref (fs, f);
  node_unref (fs, sub);
  node_unref (fs, top);
  fs_free (fs);
}

TEST (read_ahead_leaves_large_directories_to_their_own_readdir)
{
  char name[240], rel[300];
  struct fusefs *fs;
  struct fs_node *top, *big, *small;
  struct stat st;
  int i;

  mkd ("l1/d/big");
  mkd ("l1/d/small");
  put ("l1/d/small/f", "x");
  memset (name, 'n', sizeof name - 8);
  for (i = 0; i < 4000; i++)
    {
      ASSERT_EQ (stat (P ("l1/d/big"), &st), 0);
      if (st.st_size > FS_AHEAD_DIR_BYTES)
        break;
      snprintf (name + sizeof name - 8, 8, "%05u", (unsigned) i % 100000u);
      snprintf (rel, sizeof rel, "l1/d/big/%s", name);
      put (rel, "");
    }
  if (st.st_size <= FS_AHEAD_DIR_BYTES)
    SKIP ("this file system's directory sizes do not grow with long names (tmpfs?)");
  fs = make_fs (1, true);
  top = read_with_ahead (fs, "d");
  big = walk (fs, "d/big");
  small = walk (fs, "d/small");
  ASSERT_NOT_NULL (big);
  ASSERT_NOT_NULL (small);
  EXPECT_NULL (big->listing);
  EXPECT_NOT_NULL (small->listing);
  node_unref (fs, small);
  node_unref (fs, big);
  node_unref (fs, top);
  fs_free (fs);
}

TEST (read_ahead_leaves_directories_with_an_upper_part_alone)
{
  struct fusefs *fs;
  struct fs_node *top, *sub;

  mkd ("l1/d/sub");
  put ("l1/d/sub/f", "x");
  mkd ("upper/d/sub");
  fs = make_fs (1, true);
  top = read_with_ahead (fs, "d");
  EXPECT_FALSE (fs_dir_is_lower_only (fs, top));
  sub = walk (fs, "d/sub");
  ASSERT_NOT_NULL (sub);
  EXPECT_NULL (sub->listing);
  node_unref (fs, sub);
  node_unref (fs, top);
  fs_free (fs);
}

TEST_MAIN

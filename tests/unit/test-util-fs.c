/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- fixtures ---- */

typedef int (*open_in_root_fn) (int rootfd, const char *path, int flags, mode_t mode,
                                struct sbx_error **err);

static char root[PATH_MAX];

static const char *
tpath (const char *rel)
{
  static char buf[4][PATH_MAX];
  static int i;
  char *b = buf[i++ % 4];

  ASSERT_LT (snprintf (b, PATH_MAX, "%s/%s", TEST_TMPDIR, rel), PATH_MAX);
  return b;
}

static const char *
rpath (const char *rel)
{
  static char buf[4][PATH_MAX];
  static int i;
  char *b = buf[i++ % 4];

  ASSERT_LT (snprintf (b, PATH_MAX, "%s/%s", root, rel), PATH_MAX);
  return b;
}

static void
make_dir (const char *path)
{
  int r = mkdir (path, 0755);

  if (r < 0)
    printf ("# mkdir %s: %s\n", path, strerror (errno));
  ASSERT_EQ (r, 0);
}

static void
make_file (const char *path, const char *content)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, content, strlen (content)), (ssize_t) strlen (content));
}

static void
make_link (const char *target, const char *path)
{
  ASSERT_EQ (symlink (target, path), 0);
}

static bool
exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* A tree under TEST_TMPDIR/root, plus decoys outside it (TEST_TMPDIR/etc/passwd)
   that a resolution escaping the root would reach.  Returns an fd of the root.  */
static int
make_tree (void)
{
  int fd;

  ASSERT_LT (snprintf (root, sizeof root, "%s/root", TEST_TMPDIR), (int) sizeof root);
  make_dir (root);
  make_dir (rpath ("etc"));
  make_file (rpath ("etc/passwd"), "inside");
  make_dir (rpath ("dir"));
  make_dir (rpath ("dir/sub"));
  make_file (rpath ("dir/sub/file"), "file");
  make_link ("/etc", rpath ("abs"));
  make_link ("/etc/passwd", rpath ("absfile"));
  make_link ("../../..", rpath ("up"));
  make_link ("../../../../etc/passwd", rpath ("dir/sub/upfile"));
  make_link ("sub", rpath ("dir/rel"));
  make_link ("loop2", rpath ("loop1"));
  make_link ("loop1", rpath ("loop2"));
  make_link ("self", rpath ("self"));
  make_link ("/dir/created-via-link", rpath ("dangling"));
  make_dir (tpath ("etc"));
  make_file (tpath ("etc/passwd"), "outside");
  fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (fd, 0);
  return fd;
}

static bool
is_same_file (int fd, const char *path)
{
  struct stat a, b;

  return fstat (fd, &a) == 0 && stat (path, &b) == 0 && a.st_dev == b.st_dev
         && a.st_ino == b.st_ino;
}

/* PATH must resolve, below the root, to the host file WANT.  */
static void
check_resolves (open_in_root_fn fn, int rootfd, const char *path, int flags, const char *want)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = fn (rootfd, path, flags, 0, &err);

  if (fd < 0)
    printf ("# `%s`: %s\n", path, err->msg);
  ASSERT_GE (fd, 0);
  ASSERT_NULL (err);
  if (! is_same_file (fd, want))
    printf ("# `%s` did not resolve to %s\n", path, want);
  ASSERT_TRUE (is_same_file (fd, want));
  ASSERT_TRUE (fcntl (fd, F_GETFD) & FD_CLOEXEC);
}

static void
check_fails (open_in_root_fn fn, int rootfd, const char *path, int flags, int code)
{
  cleanup_error struct sbx_error *err = NULL;
  int fd = fn (rootfd, path, flags, (flags & O_CREAT) ? 0644 : 0, &err);

  if (fd >= 0)
    close (fd);
  if (fd >= 0)
    printf ("# `%s` resolved but should fail\n", path);
  ASSERT_EQ (fd, -1);
  ASSERT_NOT_NULL (err);
  ASSERT_EQ (sbx_error_code (err), code);
  ASSERT_STRSTR (err->msg, path);
}

/* Define a test for each implementation: openat2 and the userspace walk.  */
#define BOTH(name)                       \
  static void name (open_in_root_fn fn); \
  TEST (name##_openat2)                  \
  {                                      \
    name (sbx_fs_open_in_root);          \
  }                                      \
  TEST (name##_walk)                     \
  {                                      \
    name (sbx_fs_open_in_root_walk);     \
  }                                      \
  static void name (open_in_root_fn fn)

/* ---- sbx_fs_open_in_root and sbx_fs_open_in_root_walk ---- */

BOTH (open_plain_paths)
{
  cleanup_close int rootfd = make_tree ();

  check_resolves (fn, rootfd, "dir/sub/file", O_RDONLY, rpath ("dir/sub/file"));
  check_resolves (fn, rootfd, "/dir/sub/file", O_RDONLY, rpath ("dir/sub/file"));
  check_resolves (fn, rootfd, "//dir///sub/./file", O_RDONLY, rpath ("dir/sub/file"));
  check_resolves (fn, rootfd, "dir/rel/file", O_RDONLY, rpath ("dir/sub/file"));
  check_resolves (fn, rootfd, "dir/sub", O_RDONLY | O_DIRECTORY, rpath ("dir/sub"));
  check_resolves (fn, rootfd, "dir/./sub/.", O_RDONLY | O_DIRECTORY, rpath ("dir/sub"));
  check_resolves (fn, rootfd, "/", O_PATH, root);
  check_resolves (fn, rootfd, ".", O_PATH, root);
  check_resolves (fn, rootfd, "dir/..", O_PATH, root);
  check_resolves (fn, rootfd, "dir/sub/..", O_PATH, rpath ("dir"));
}

BOTH (open_reads_content)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = fn (rootfd, "abs/passwd", O_RDONLY, 0, &err);
  char buf[32] = "";

  ASSERT_GE (fd, 0);
  ASSERT_EQ (read (fd, buf, sizeof buf - 1), 6);
  ASSERT_STREQ (buf, "inside");
}

BOTH (open_absolute_symlink_stays_in_root)
{
  cleanup_close int rootfd = make_tree ();

  check_resolves (fn, rootfd, "abs/passwd", O_RDONLY, rpath ("etc/passwd"));
  check_resolves (fn, rootfd, "absfile", O_RDONLY, rpath ("etc/passwd"));
  check_resolves (fn, rootfd, "abs", O_PATH, rpath ("etc"));
  check_resolves (fn, rootfd, "/abs/../abs/passwd", O_RDONLY, rpath ("etc/passwd"));
}

BOTH (open_dotdot_cannot_escape)
{
  cleanup_close int rootfd = make_tree ();

  check_resolves (fn, rootfd, "..", O_PATH, root);
  check_resolves (fn, rootfd, "../../../..", O_PATH, root);
  check_resolves (fn, rootfd, "../etc/passwd", O_RDONLY, rpath ("etc/passwd"));
  check_resolves (fn, rootfd, "../../../../etc/passwd", O_RDONLY, rpath ("etc/passwd"));
  check_resolves (fn, rootfd, "dir/sub/../../../etc/passwd", O_RDONLY, rpath ("etc/passwd"));
  check_resolves (fn, rootfd, "up", O_PATH, root);
  check_resolves (fn, rootfd, "up/etc/passwd", O_RDONLY, rpath ("etc/passwd"));
  check_resolves (fn, rootfd, "dir/sub/upfile", O_RDONLY, rpath ("etc/passwd"));
}

BOTH (open_symlink_loops_give_eloop)
{
  cleanup_close int rootfd = make_tree ();

  check_fails (fn, rootfd, "loop1", O_RDONLY, ELOOP);
  check_fails (fn, rootfd, "self", O_RDONLY, ELOOP);
  check_fails (fn, rootfd, "loop2/x", O_RDONLY, ELOOP);
  check_fails (fn, rootfd, "dir/../self/x", O_PATH, ELOOP);
}

BOTH (open_missing_and_not_a_directory)
{
  cleanup_close int rootfd = make_tree ();

  check_fails (fn, rootfd, "nope", O_RDONLY, ENOENT);
  check_fails (fn, rootfd, "dir/nope/file", O_RDONLY, ENOENT);
  check_fails (fn, rootfd, "dir/sub/file/x", O_RDONLY, ENOTDIR);
  check_fails (fn, rootfd, "dir/sub/file", O_RDONLY | O_DIRECTORY, ENOTDIR);
  check_fails (fn, rootfd, "absfile", O_PATH | O_DIRECTORY, ENOTDIR);
}

BOTH (open_creat_new_file)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = fn (rootfd, "/abs/new", O_WRONLY | O_CREAT | O_EXCL, 0640, &err);
  struct stat st;

  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, "x", 1), 1);
  ASSERT_EQ (stat (rpath ("etc/new"), &st), 0);
  ASSERT_TRUE (S_ISREG (st.st_mode));
  ASSERT_EQ (st.st_mode & 07777, 0640);
  ASSERT_EQ (st.st_size, 1);
  ASSERT_TRUE (fcntl (fd, F_GETFD) & FD_CLOEXEC);
}

BOTH (open_creat_existing_file_keeps_it)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = fn (rootfd, "dir/sub/file", O_RDONLY | O_CREAT, 0600, &err);
  char buf[8] = "";

  ASSERT_GE (fd, 0);
  ASSERT_EQ (read (fd, buf, sizeof buf - 1), 4);
  ASSERT_STREQ (buf, "file");
}

BOTH (open_creat_through_dangling_absolute_symlink)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = fn (rootfd, "dangling", O_WRONLY | O_CREAT, 0644, &err);

  /* The target "/dir/created-via-link" is below the root, not on the host.  */
  if (fd < 0)
    printf ("# %s\n", err->msg);
  ASSERT_GE (fd, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("dir/created-via-link")));
  ASSERT_FALSE (exists ("/dir/created-via-link"));
}

BOTH (open_creat_missing_parent_fails)
{
  cleanup_close int rootfd = make_tree ();

  check_fails (fn, rootfd, "nodir/new", O_WRONLY | O_CREAT, ENOENT);
  ASSERT_FALSE (exists (rpath ("nodir")));
}

BOTH (open_nofollow_last_component)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  struct stat st;

  /* Not followed: a plain open fails, an O_PATH open gives the link.  */
  check_fails (fn, rootfd, "absfile", O_RDONLY | O_NOFOLLOW, ELOOP);
  check_fails (fn, rootfd, "dangling", O_WRONLY | O_CREAT | O_NOFOLLOW, ELOOP);
  ASSERT_FALSE (exists (rpath ("dir/created-via-link")));
  fd = fn (rootfd, "absfile", O_PATH | O_NOFOLLOW, 0, &err);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (fstatat (fd, "", &st, AT_EMPTY_PATH), 0);
  ASSERT_TRUE (S_ISLNK (st.st_mode));
  /* Only the last component: links before it are still followed.  */
  check_resolves (fn, rootfd, "abs/passwd", O_RDONLY | O_NOFOLLOW, rpath ("etc/passwd"));
}

/* Known divergence of the walk (see the test report): O_EXCL is dropped
   when the file exists, where open(2) and openat2 fail with EEXIST.  */
BOTH (open_creat_excl_existing_fails)
{
  cleanup_close int rootfd = make_tree ();

  check_fails (fn, rootfd, "dir/sub/file", O_WRONLY | O_CREAT | O_EXCL, EEXIST);
  /* O_CREAT | O_EXCL never follows a symlink in the last component.  */
  check_fails (fn, rootfd, "dangling", O_WRONLY | O_CREAT | O_EXCL, EEXIST);
  ASSERT_FALSE (exists (rpath ("dir/created-via-link")));
}

/* Known divergence of the walk: a trailing slash after a non-directory and
   an empty path are accepted, where openat2 fails.  */
BOTH (open_edge_cases_match_openat2)
{
  cleanup_close int rootfd = make_tree ();

  check_resolves (fn, rootfd, "dir/sub/", O_RDONLY, rpath ("dir/sub"));
  check_fails (fn, rootfd, "dir/sub/file/", O_RDONLY, ENOTDIR);
  check_fails (fn, rootfd, "absfile/", O_RDONLY, ENOTDIR);
  check_fails (fn, rootfd, "", O_RDONLY, ENOENT);
}

TEST (open_in_root_directory_with_mode)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;

  /* open(2) ignores MODE without O_CREAT; so must sbx_fs_open_in_root.  */
  fd = sbx_fs_open_in_root (rootfd, "dir", O_RDONLY | O_DIRECTORY, 0755, &err);
  if (fd < 0)
    printf ("# %s\n", err->msg);
  ASSERT_GE (fd, 0);
}

/* ---- sbx_fs_mkdir_p_in_root ---- */

TEST (mkdir_p_in_root_creates_nested)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_mkdir_p_in_root (rootfd, "/a/b//c/", 0750, &err);
  struct stat st;

  ASSERT_GE (fd, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("a/b/c")));
  ASSERT_EQ (stat (rpath ("a/b"), &st), 0);
  ASSERT_TRUE (S_ISDIR (st.st_mode));
  ASSERT_EQ (st.st_mode & 07777, 0750);
}

TEST (mkdir_p_in_root_existing_is_fine)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int a = sbx_fs_mkdir_p_in_root (rootfd, "dir/sub", 0755, &err);
  cleanup_close int b = sbx_fs_mkdir_p_in_root (rootfd, "/", 0755, &err);

  ASSERT_GE (a, 0);
  ASSERT_TRUE (is_same_file (a, rpath ("dir/sub")));
  ASSERT_GE (b, 0);
  ASSERT_TRUE (is_same_file (b, root));
}

TEST (mkdir_p_in_root_follows_links_inside_root)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_mkdir_p_in_root (rootfd, "abs/made/deeper", 0755, &err);

  if (fd < 0)
    printf ("# %s\n", err->msg);
  ASSERT_GE (fd, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("etc/made/deeper")));
  ASSERT_FALSE (exists ("/etc/made"));
}

TEST (mkdir_p_in_root_absolute_link_out_of_root)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  char target[PATH_MAX], inside[PATH_MAX];

  /* "out" points at a real host directory by absolute path: the host one
     must never be used.  The link dangles inside the root, so mkdir -p
     through it creates its target inside the root (runc's securejoin).  */
  make_dir (tpath ("outside"));
  ASSERT_LT (snprintf (target, sizeof target, "%s/outside", TEST_TMPDIR), (int) sizeof target);
  ASSERT_LT (snprintf (inside, sizeof inside, "%s%s/made", root, target), (int) sizeof inside);
  make_link (target, rpath ("out"));
  fd = sbx_fs_mkdir_p_in_root (rootfd, "out/made", 0755, &err);
  ASSERT_GE (fd, 0);
  ASSERT_FALSE (exists (tpath ("outside/made")));
  ASSERT_TRUE (is_same_file (fd, inside));
}

TEST (mkdir_p_in_root_link_loop_fails)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;

  make_link ("cyc2", rpath ("cyc1"));
  make_link ("cyc1", rpath ("cyc2"));
  fd = sbx_fs_mkdir_p_in_root (rootfd, "cyc1/x", 0755, &err);
  ASSERT_EQ (fd, -1);
  ASSERT_NOT_NULL (err);
}

TEST (mkdir_p_in_root_dotdot_clamps)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_mkdir_p_in_root (rootfd, "../../clamped", 0755, &err);

  ASSERT_GE (fd, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("clamped")));
  ASSERT_FALSE (exists (tpath ("clamped")));
}

TEST (mkdir_p_in_root_file_in_the_way)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_fs_mkdir_p_in_root (rootfd, "dir/sub/file/x", 0755, &err), -1);
  ASSERT_EQ (sbx_error_code (err), ENOTDIR);
}

/* ---- sbx_fs_ensure_mountpoint ---- */

TEST (ensure_mountpoint_directory)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_ensure_mountpoint (rootfd, "/mnt/data/x", true, &err);
  struct stat st;

  ASSERT_GE (fd, 0);
  ASSERT_EQ (stat (rpath ("mnt/data/x"), &st), 0);
  ASSERT_TRUE (S_ISDIR (st.st_mode));
  ASSERT_TRUE (is_same_file (fd, rpath ("mnt/data/x")));
}

TEST (ensure_mountpoint_file_and_parents)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_ensure_mountpoint (rootfd, "/run/secrets/token", false, &err);
  struct stat st;

  if (fd < 0)
    printf ("# %s\n", err->msg);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (stat (rpath ("run/secrets/token"), &st), 0);
  ASSERT_TRUE (S_ISREG (st.st_mode));
  ASSERT_EQ (st.st_size, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("run/secrets/token")));
}

TEST (ensure_mountpoint_existing_file_untouched)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_ensure_mountpoint (rootfd, "/abs/passwd", false, &err);
  struct stat st;

  ASSERT_GE (fd, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("etc/passwd")));
  ASSERT_EQ (stat (rpath ("etc/passwd"), &st), 0);
  ASSERT_EQ (st.st_size, 6);
}

TEST (ensure_mountpoint_file_through_absolute_link)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_ensure_mountpoint (rootfd, "/abs/resolv.conf", false, &err);

  ASSERT_GE (fd, 0);
  ASSERT_TRUE (is_same_file (fd, rpath ("etc/resolv.conf")));
}

TEST (ensure_mountpoint_kind_mismatch)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_fs_ensure_mountpoint (rootfd, "/dir/sub", false, &err), -1);
  ASSERT_EQ (sbx_error_code (err), EISDIR);
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_fs_ensure_mountpoint (rootfd, "/dir/sub/file", true, &err), -1);
  ASSERT_EQ (sbx_error_code (err), ENOTDIR);
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_fs_ensure_mountpoint (rootfd, "/newdir/", false, &err), -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
}

TEST (ensure_mountpoint_dangling_link_stays_inside)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  char target[PATH_MAX];

  make_dir (tpath ("outside"));
  ASSERT_LT (snprintf (target, sizeof target, "%s/outside/mp", TEST_TMPDIR), (int) sizeof target);
  make_link (target, rpath ("mp"));
  /* Inside the root the link dangles (no such directory there): refused,
     and the host path is never created.  */
  fd = sbx_fs_ensure_mountpoint (rootfd, "/mp", false, &err);
  ASSERT_FALSE (exists (target));
  ASSERT_EQ (fd, -1);
  ASSERT_NOT_NULL (err);
}

/* ---- sbx_fs_rm_rf_at ---- */

TEST (rm_rf_removes_tree_without_following_links)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int tmpfd = open (TEST_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char target[PATH_MAX];

  make_dir (tpath ("keep"));
  make_file (tpath ("keep/precious"), "x");
  ASSERT_LT (snprintf (target, sizeof target, "%s/keep", TEST_TMPDIR), (int) sizeof target);
  make_link (target, rpath ("dir/sub/tokeep"));
  make_link (target, rpath ("keeplink"));
  ASSERT_EQ (sbx_fs_rm_rf_at (tmpfd, "root", &err), 0);
  ASSERT_NULL (err);
  ASSERT_FALSE (exists (root));
  ASSERT_TRUE (exists (tpath ("keep/precious")));
  ASSERT_TRUE (exists (tpath ("etc/passwd")));
}

TEST (rm_rf_missing_file_and_link)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_fs_rm_rf_at (rootfd, "does-not-exist", &err), 0);
  ASSERT_EQ (sbx_fs_rm_rf_at (rootfd, "etc/passwd", &err), 0);
  ASSERT_FALSE (exists (rpath ("etc/passwd")));
  ASSERT_EQ (sbx_fs_rm_rf_at (rootfd, "dir/rel", &err), 0); /* the link, not the dir */
  ASSERT_FALSE (exists (rpath ("dir/rel")));
  ASSERT_TRUE (exists (rpath ("dir/sub/file")));
  ASSERT_EQ (sbx_fs_rm_rf_at (rootfd, "abs", &err), 0);
  ASSERT_TRUE (exists ("/etc"));
  ASSERT_NULL (err);
}

/* Needs a mount: done in a user + mount namespace of the test's own.  */
static bool
enter_userns (void)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  char map[64];
  int fd;

  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return false;
  fd = open ("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, "deny", 4), 4);
  close (fd);
  ASSERT_LT (snprintf (map, sizeof map, "0 %u 1", (unsigned) uid), (int) sizeof map);
  fd = open ("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
  ASSERT_EQ (write (fd, map, strlen (map)), (ssize_t) strlen (map));
  close (fd);
  ASSERT_LT (snprintf (map, sizeof map, "0 %u 1", (unsigned) gid), (int) sizeof map);
  fd = open ("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
  ASSERT_EQ (write (fd, map, strlen (map)), (ssize_t) strlen (map));
  close (fd);
  return true;
}

TEST (rm_rf_stops_at_mount_points)
{
  cleanup_close int rootfd = make_tree ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int tmpfd = -1;

  make_dir (rpath ("dir/mnt"));
  if (! enter_userns ())
    SKIP ("cannot create a user namespace");
  /* Opened in the new mount namespace, so that it sees the mount.  */
  tmpfd = open (TEST_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_EQ (mount ("none", rpath ("dir/mnt"), "tmpfs", 0, NULL), 0);
  make_file (rpath ("dir/mnt/in-mount"), "x");
  ASSERT_EQ (sbx_fs_rm_rf_at (tmpfd, "root", &err), -1);
  ASSERT_EQ (sbx_error_code (err), EBUSY);
  ASSERT_STRSTR (err->msg, "mount point");
  ASSERT_TRUE (exists (rpath ("dir/mnt/in-mount")));
}

/* ---- file helpers ---- */

TEST (write_then_read_file)
{
  cleanup_close int dfd = open (TEST_TMPDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *got = NULL;
  size_t len = 0;
  struct stat st;

  ASSERT_EQ (sbx_fs_write_file_at (dfd, "f", "a\0b\n", 4, 0600, &err), 0);
  ASSERT_EQ (stat (tpath ("f"), &st), 0);
  ASSERT_EQ (st.st_mode & 07777, 0600);
  got = sbx_fs_read_file_at (dfd, "f", 100, &len, &err);
  ASSERT_NOT_NULL (got);
  ASSERT_EQ (len, 4);
  ASSERT_EQ (memcmp (got, "a\0b\n", 5), 0); /* NUL-terminated too */
}

TEST (write_file_truncates)
{
  cleanup_close int dfd = open (TEST_TMPDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *got = NULL;

  make_file (tpath ("f"), "a much longer old content");
  ASSERT_EQ (sbx_fs_write_file_at (dfd, "f", "new", 3, 0644, &err), 0);
  got = sbx_fs_read_file_at (dfd, "f", 100, NULL, &err);
  ASSERT_STREQ (got, "new");
  ASSERT_EQ (sbx_fs_write_file_at (dfd, "empty", "", 0, 0644, &err), 0);
  free (got);
  got = sbx_fs_read_file_at (dfd, "empty", 100, NULL, &err);
  ASSERT_STREQ (got, "");
}

TEST (write_file_does_not_follow_symlink)
{
  cleanup_close int dfd = open (TEST_TMPDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *got = NULL;

  make_file (tpath ("target"), "keep");
  make_link ("target", tpath ("link"));
  ASSERT_EQ (sbx_fs_write_file_at (dfd, "link", "evil", 4, 0644, &err), -1);
  ASSERT_EQ (sbx_error_code (err), ELOOP);
  got = sbx_fs_read_file_at (dfd, "target", 100, NULL, &err);
  ASSERT_STREQ (got, "keep");
}

TEST (read_file_size_limit)
{
  cleanup_close int dfd = open (TEST_TMPDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *got = NULL;

  make_file (tpath ("ten"), "0123456789");
  got = sbx_fs_read_file_at (dfd, "ten", 10, NULL, &err);
  ASSERT_STREQ (got, "0123456789");
  free (steal_ptr (&got));
  got = sbx_fs_read_file_at (dfd, "ten", 9, NULL, &err);
  ASSERT_NULL (got);
  ASSERT_EQ (sbx_error_code (err), EFBIG);
  ASSERT_STRSTR (err->msg, "ten");
}

TEST (read_file_missing)
{
  cleanup_error struct sbx_error *err = NULL;
  char *got = sbx_fs_read_file_at (AT_FDCWD, tpath ("missing"), 100, NULL, &err);

  ASSERT_NULL (got);
  ASSERT_EQ (sbx_error_code (err), ENOENT);
  ASSERT_STRSTR (err->msg, "missing");
}

TEST (read_fd_large_pipe)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *got = NULL;
  char chunk[10000];
  size_t len = 0, i;
  int p[2];

  for (i = 0; i < sizeof chunk; i++)
    chunk[i] = (char) ('A' + i % 23);
  ASSERT_EQ (pipe2 (p, O_CLOEXEC), 0);
  ASSERT_EQ (write (p[1], chunk, sizeof chunk), (ssize_t) sizeof chunk);
  close (p[1]);
  got = sbx_fs_read_fd (p[0], 1 << 20, &len, &err);
  close (p[0]);
  ASSERT_NOT_NULL (got);
  ASSERT_EQ (len, sizeof chunk);
  ASSERT_EQ (memcmp (got, chunk, sizeof chunk), 0);
  ASSERT_EQ (got[len], '\0');
}

TEST (mkdir_p_host_path)
{
  cleanup_error struct sbx_error *err = NULL;
  struct stat st;

  ASSERT_EQ (sbx_fs_mkdir_p (tpath ("x/y/z"), 0700, &err), 0);
  ASSERT_EQ (stat (tpath ("x/y/z"), &st), 0);
  ASSERT_TRUE (S_ISDIR (st.st_mode));
  ASSERT_EQ (st.st_mode & 07777, 0700);
  ASSERT_EQ (sbx_fs_mkdir_p (tpath ("x/y/z"), 0700, &err), 0); /* existing: fine */
  make_file (tpath ("x/file"), "");
  ASSERT_EQ (sbx_fs_mkdir_p (tpath ("x/file/sub"), 0700, &err), -1);
  ASSERT_EQ (sbx_error_code (err), ENOTDIR);
}

TEST (mkdir_p_host_empty_path)
{
  cleanup_error struct sbx_error *err = NULL;

  /* mkdir("") fails with ENOENT; sbx_fs_mkdir_p("") reads past the string.  */
  ASSERT_EQ (sbx_fs_mkdir_p ("", 0700, &err), -1);
  ASSERT_EQ (sbx_error_code (err), ENOENT);
}

TEST_MAIN

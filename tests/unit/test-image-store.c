/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image store: blobs, layers, names, images, check and prune
   (src/image/store.c, blob.c, refs.c, image.c, check.c).  Every test works
   on a fresh store under its own TEST_TMPDIR.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* ---- helpers ---- */

#define HEX64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void
store_cleanup (struct sbx_store **s)
{
  sbx_store_close (*s);
}
#define cleanup_store __attribute__ ((cleanup (store_cleanup)))

static void
writer_cleanup (struct sbx_blob_writer **w)
{
  sbx_blob_writer_free (*w);
}
#define cleanup_writer __attribute__ ((cleanup (writer_cleanup)))

static void
image_cleanup (struct sbx_image **img)
{
  sbx_image_free (*img);
}
#define cleanup_image __attribute__ ((cleanup (image_cleanup)))

static char *
store_root (void)
{
  return xasprintf ("%s/store", TEST_TMPDIR);
}

static struct sbx_store *
open_store (void)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *root = store_root ();
  struct sbx_store *s = NULL;

  if (sbx_store_open (root, &s, &err) < 0)
    printf ("# open store: %s\n", err->msg);
  ASSERT_NOT_NULL (s);
  return s;
}

/* ROOT/REL of the test's store (free() it).  */
static char *
path_in_store (const char *rel)
{
  return xasprintf ("%s/store/%s", TEST_TMPDIR, rel);
}

/* Entries of the store's directory REL, except "." and "..", or -1.  */
static int
count_entries (const char *rel)
{
  cleanup_free char *path = path_in_store (rel);
  cleanup_dir DIR *d = opendir (path);
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  return n;
}

static bool
exists_in_store (const char *rel)
{
  cleanup_free char *path = path_in_store (rel);
  struct stat st;

  return lstat (path, &st) == 0;
}

static bool
blob_file_exists (const struct sbx_digest *d)
{
  cleanup_free char *rel = xasprintf ("blobs/sha256/%s", d->hex);

  return exists_in_store (rel);
}

static void
write_file (const char *path, const void *data, size_t len)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, data, len), (ssize_t) len);
}

static void
write_store_file (const char *rel, const char *text)
{
  cleanup_free char *path = path_in_store (rel);

  write_file (path, text, strlen (text));
}

/* The whole file at PATH, NUL-terminated.  */
static char *
read_file (const char *path, size_t *len)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf;

  ASSERT_GE (fd, 0);
  ASSERT_EQ (fstat (fd, &st), 0);
  buf = xmalloc ((size_t) st.st_size + 1);
  ASSERT_EQ (read (fd, buf, (size_t) st.st_size), (ssize_t) st.st_size);
  buf[st.st_size] = '\0';
  if (len)
    *len = (size_t) st.st_size;
  return buf;
}

static void
put (struct sbx_store *s, const char *text, struct sbx_digest *d)
{
  cleanup_error struct sbx_error *err = NULL;

  if (sbx_store_put_blob (s, text, strlen (text), d, &err) < 0)
    printf ("# put blob: %s\n", err->msg);
  ASSERT_NULL (err);
  ASSERT_TRUE (sbx_digest_is_set (d));
}

/* Flip one bit of byte OFF of the blob file of D.  */
static void
corrupt_blob (const struct sbx_digest *d, off_t off)
{
  cleanup_free char *rel = xasprintf ("blobs/sha256/%s", d->hex);
  cleanup_free char *path = path_in_store (rel);
  cleanup_close int fd = open (path, O_RDWR | O_CLOEXEC);
  char c;

  ASSERT_GE (fd, 0);
  ASSERT_EQ (pread (fd, &c, 1, off), 1);
  c ^= 0x20;
  ASSERT_EQ (pwrite (fd, &c, 1, off), 1);
}

/* A pid that no process has.  */
static pid_t
dead_pid (void)
{
  pid_t pid = 999999;

  while (kill (pid, 0) == 0 || errno != ESRCH)
    pid++;
  return pid;
}

/* Stage a layer directory holding one file MARKER and publish it as
   DIFF_ID.  */
static void
publish_layer (struct sbx_store *s, const struct sbx_digest *diff_id, const char *marker)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *staged = NULL;
  cleanup_free char *file = NULL;

  ASSERT_EQ (sbx_store_stage_dir (s, "layer", &staged, &err), 0);
  file = xasprintf ("%s/%s", staged, marker);
  write_file (file, marker, strlen (marker));
  if (sbx_store_publish_layer (s, staged, diff_id, &err) < 0)
    printf ("# publish layer: %s\n", err->msg);
  ASSERT_NULL (err);
}

#define MAX_LAYERS 4

struct test_image
{
  struct sbx_digest manifest;
  struct sbx_digest config;
  struct sbx_digest blobs[MAX_LAYERS];
  struct sbx_digest diff_ids[MAX_LAYERS];
  int64_t size; /* config + compressed layers */
  int64_t manifest_size;
  int64_t layer_bytes; /* the files of the unpacked layers */
};

/* The diff id of layer L of the image TAG.  */
static void
diff_id_of (const char *tag, int l, struct sbx_digest *d)
{
  cleanup_free char *text = xasprintf ("unpacked layer %d of %s", l, tag);

  sbx_digest_buf (text, strlen (text), d);
}

/* The config of an image TAG with N layers (free() it).  */
static char *
config_json (const char *tag, int n)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;
  int l;

  sbx_strbuf_addf (&sb,
                   "{\"architecture\": \"amd64\", \"os\": \"linux\", \"config\": {\"Cmd\": "
                   "[\"/bin/sh\"], \"Labels\": {\"tag\": \"%s\"}}, \"rootfs\": {\"type\": "
                   "\"layers\", \"diff_ids\": [",
                   tag);
  for (l = 0; l < n; l++)
    {
      struct sbx_digest d;

      diff_id_of (tag, l, &d);
      sbx_strbuf_addf (&sb, "%s\"sha256:%s\"", l ? ", " : "", d.hex);
    }
  sbx_strbuf_addstr (&sb, "]}}");
  return sbx_strbuf_detach (&sb);
}

/* Store a complete image TAG with N layers (blobs, unpacked layers, config,
   manifest) and, when NAME is not NULL, name it.  */
static void
make_image (struct sbx_store *s, const char *tag, int n, const char *name, struct test_image *img)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *config = config_json (tag, n);
  cleanup_strbuf struct sbx_strbuf man = SBX_STRBUF_INIT;
  int l;

  ASSERT_LE (n, MAX_LAYERS);
  memset (img, 0, sizeof *img);
  put (s, config, &img->config);
  img->size = (int64_t) strlen (config);
  sbx_strbuf_addf (&man,
                   "{\"schemaVersion\": 2, \"mediaType\": \"%s\", \"config\": {\"mediaType\": "
                   "\"%s\", \"digest\": \"sha256:%s\", \"size\": %zu}, \"layers\": [",
                   SBX_MT_OCI_MANIFEST, SBX_MT_OCI_CONFIG, img->config.hex, strlen (config));
  for (l = 0; l < n; l++)
    {
      cleanup_free char *blob = xasprintf ("compressed layer %d of %s", l, tag);
      cleanup_free char *marker = xasprintf ("file-%d-%s", l, tag);

      put (s, blob, &img->blobs[l]);
      diff_id_of (tag, l, &img->diff_ids[l]);
      publish_layer (s, &img->diff_ids[l], marker);
      img->size += (int64_t) strlen (blob);
      img->layer_bytes += (int64_t) strlen (marker);
      sbx_strbuf_addf (&man, "%s{\"mediaType\": \"%s\", \"digest\": \"sha256:%s\", \"size\": %zu}",
                       l ? ", " : "", SBX_MT_OCI_LAYER_GZIP, img->blobs[l].hex, strlen (blob));
    }
  sbx_strbuf_addstr (&man, "]}");
  put (s, man.buf, &img->manifest);
  img->manifest_size = (int64_t) man.len;
  if (name && sbx_store_set_ref (s, name, &img->manifest, &err) < 0)
    printf ("# set ref: %s\n", err->msg);
  ASSERT_NULL (err);
}

/* sbx_store_check's problems, one a line.  */
static void
collect_problem (const char *what, void *arg)
{
  struct sbx_strbuf *sb = arg;

  sbx_strbuf_addf (sb, "%s\n", what);
}

static void
check_store (struct sbx_store *s, bool repair, struct sbx_check_report *rep,
             struct sbx_strbuf *problems)
{
  cleanup_error struct sbx_error *err = NULL;
  int r;

  sbx_strbuf_reset (problems);
  r = sbx_store_check (s, repair, collect_problem, problems, rep, &err);
  if (r < 0)
    printf ("# check: %s\n", err->msg);
  ASSERT_EQ (r, 0);
  if (problems->len) /* as TAP comments, one a line */
    {
      const char *p, *nl;

      printf ("# problems found:\n");
      for (p = problems->buf; (nl = strchr (p, '\n')) != NULL; p = nl + 1)
        printf ("#   %.*s\n", (int) (nl - p), p);
    }
}

static size_t
total_problems (const struct sbx_check_report *rep)
{
  return rep->blobs_bad + rep->layers_bad + rep->staging + rep->refs_dangling;
}

/* ---- opening ---- */

TEST (open_creates_the_layout)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_free char *root = store_root ();
  const char *dirs[] = { "blobs", "blobs/sha256", "layers", "tmp" };
  size_t i;

  EXPECT_STREQ (sbx_store_root (s), root);
  EXPECT_GE (sbx_store_rootfd (s), 0);
  for (i = 0; i < SBX_N_ELEMENTS (dirs); i++)
    {
      cleanup_free char *p = path_in_store (dirs[i]);
      struct stat st;

      ASSERT_EQ (lstat (p, &st), 0);
      EXPECT_TRUE (S_ISDIR (st.st_mode));
      EXPECT_EQ (st.st_mode & 077, 0u); /* private to the user */
      EXPECT_EQ (count_entries (dirs[i]), i == 0 ? 1 : 0);
    }
}

TEST (open_creates_missing_parents_and_reopens)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *root = xasprintf ("%s/a/b/c", TEST_TMPDIR);
  struct sbx_store *s = NULL;
  struct sbx_digest d;

  ASSERT_EQ (sbx_store_open (root, &s, &err), 0);
  put (s, "kept across opens", &d);
  sbx_store_close (s);
  s = NULL;
  ASSERT_EQ (sbx_store_open (root, &s, &err), 0);
  EXPECT_TRUE (sbx_store_has_blob (s, &d));
  sbx_store_close (s);
  sbx_store_close (NULL);
}

TEST (open_fails_on_a_file)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *root = xasprintf ("%s/file", TEST_TMPDIR);
  struct sbx_store *s = NULL;

  write_file (root, "x", 1);
  ASSERT_EQ (sbx_store_open (root, &s, &err), -1);
  ASSERT_NULL (s);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, root);
}

TEST (lock_is_exclusive)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *path = path_in_store ("lock");
  struct sbx_store_lock l = { -1 };
  int fd, status = 0;
  pid_t pid;

  ASSERT_EQ (sbx_store_lock (s, &l, &err), 0);
  ASSERT_GE (l.fd, 0);
  pid = fork ();
  ASSERT_GE (pid, 0);
  if (pid == 0)
    {
      /* Another open file description: flock conflicts with ours.  */
      int cfd = open (path, O_RDWR | O_CLOEXEC);

      _exit (cfd >= 0 && flock (cfd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1);
    }
  ASSERT_EQ (waitpid (pid, &status, 0), pid);
  EXPECT_TRUE (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  sbx_store_unlock (&l);
  EXPECT_EQ (l.fd, -1);
  sbx_store_unlock (&l); /* twice is harmless */
  fd = open (path, O_RDWR | O_CLOEXEC);
  ASSERT_GE (fd, 0);
  EXPECT_EQ (flock (fd, LOCK_EX | LOCK_NB), 0);
  close (fd);
}

/* ---- blobs ---- */

TEST (blob_writer_commit_publishes)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_writer struct sbx_blob_writer *w = NULL;
  cleanup_free char *rel = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *content = NULL;
  struct sbx_digest want, got;
  size_t len = 0;
  struct stat st;

  sbx_digest_buf ("hello, world\n", 13, &want);
  ASSERT_EQ (sbx_blob_writer_new (s, &w, &err), 0);
  EXPECT_EQ (count_entries ("tmp"), 1); /* data goes to tmp/ first */
  ASSERT_EQ (sbx_blob_writer_write (w, "hello, ", 7, &err), 0);
  ASSERT_EQ (sbx_blob_writer_write (w, "world\n", 6, &err), 0);
  ASSERT_EQ (sbx_blob_writer_write (w, "", 0, &err), 0);
  EXPECT_EQ (sbx_blob_writer_size (w), 13u);
  EXPECT_FALSE (sbx_store_has_blob (s, &want));
  EXPECT_EQ (count_entries ("blobs/sha256"), 0);
  ASSERT_EQ (sbx_blob_writer_commit (w, &want, 13, &got, &err), 0);
  ASSERT_NULL (err);
  EXPECT_STREQ (got.hex, want.hex);

  rel = xasprintf ("blobs/sha256/%s", want.hex);
  path = path_in_store (rel);
  content = read_file (path, &len);
  EXPECT_EQ (len, 13u);
  EXPECT_STREQ (content, "hello, world\n");
  ASSERT_EQ (lstat (path, &st), 0);
  EXPECT_TRUE (S_ISREG (st.st_mode));
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (count_entries ("blobs/sha256"), 1);
  EXPECT_TRUE (sbx_store_has_blob (s, &want));
  EXPECT_EQ (sbx_store_blob_size (s, &want), 13);
  sbx_blob_writer_free (steal_ptr (&w));
  EXPECT_TRUE (sbx_store_has_blob (s, &want)); /* free after commit keeps it */
  EXPECT_EQ (count_entries ("tmp"), 0);
}

TEST (blob_writer_commit_without_expectations)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_writer struct sbx_blob_writer *w = NULL;
  struct sbx_digest want, got;

  sbx_digest_buf ("", 0, &want);
  ASSERT_EQ (sbx_blob_writer_new (s, &w, &err), 0);
  ASSERT_EQ (sbx_blob_writer_commit (w, NULL, -1, &got, &err), 0);
  EXPECT_STREQ (got.hex, want.hex);
  EXPECT_EQ (sbx_store_blob_size (s, &want), 0);
}

TEST (blob_writer_digest_mismatch_leaves_nothing)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_blob_writer *w = NULL;
  struct sbx_digest want, actual;

  sbx_digest_buf ("expected content", 16, &want);
  ASSERT_EQ (sbx_blob_writer_new (s, &w, &err), 0);
  ASSERT_EQ (sbx_blob_writer_write (w, "tampered content", 16, &err), 0);
  EXPECT_EQ (sbx_blob_writer_commit (w, &want, 16, &actual, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EBADMSG);
  EXPECT_STRSTR (err->msg, "does not match");
  EXPECT_STRNE (actual.hex, want.hex); /* what it really was */
  EXPECT_EQ (count_entries ("blobs/sha256"), 0);
  EXPECT_FALSE (sbx_store_has_blob (s, &want));
  EXPECT_FALSE (sbx_store_has_blob (s, &actual));
  EXPECT_EQ (count_entries ("tmp"), 0); /* "a mismatch ... removes the data" */
  sbx_blob_writer_free (w);
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (count_entries ("blobs/sha256"), 0);
}

TEST (blob_writer_wrong_size_fails)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_blob_writer *w = NULL;
  struct sbx_digest want;

  sbx_digest_buf ("twelve bytes", 12, &want);
  ASSERT_EQ (sbx_blob_writer_new (s, &w, &err), 0);
  ASSERT_EQ (sbx_blob_writer_write (w, "twelve bytes", 12, &err), 0);
  EXPECT_EQ (sbx_blob_writer_commit (w, &want, 13, NULL, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EBADMSG);
  EXPECT_STRSTR (err->msg, "size 12");
  EXPECT_STRSTR (err->msg, "13");
  sbx_blob_writer_free (w);
  EXPECT_FALSE (sbx_store_has_blob (s, &want));
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (count_entries ("blobs/sha256"), 0);
}

TEST (blob_writer_free_without_commit_cleans_up)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_blob_writer *w = NULL;

  ASSERT_EQ (sbx_blob_writer_new (s, &w, &err), 0);
  ASSERT_EQ (sbx_blob_writer_write (w, "abandoned", 9, &err), 0);
  EXPECT_EQ (count_entries ("tmp"), 1);
  sbx_blob_writer_free (w);
  sbx_blob_writer_free (NULL);
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (count_entries ("blobs/sha256"), 0);
}

TEST (same_content_twice_is_fine)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_writer struct sbx_blob_writer *w = NULL;
  struct sbx_digest a, b, c;

  put (s, "same bytes", &a);
  put (s, "same bytes", &b);
  EXPECT_STREQ (a.hex, b.hex);
  ASSERT_EQ (sbx_blob_writer_new (s, &w, &err), 0);
  ASSERT_EQ (sbx_blob_writer_write (w, "same bytes", 10, &err), 0);
  ASSERT_EQ (sbx_blob_writer_commit (w, &a, 10, &c, &err), 0);
  ASSERT_NULL (err);
  EXPECT_STREQ (c.hex, a.hex);
  EXPECT_EQ (count_entries ("blobs/sha256"), 1);
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (sbx_store_blob_size (s, &a), 10);
}

TEST (put_blob_fd)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *src = xasprintf ("%s/src", TEST_TMPDIR);
  cleanup_free char *big = xmalloc (3 << 20); /* more than one read */
  cleanup_free char *back = NULL;
  cleanup_close int fd = -1;
  struct sbx_digest want, got, other;
  size_t i, len = 0;

  for (i = 0; i < (size_t) (3 << 20); i++)
    big[i] = (char) (i * 7 + i / 4096);
  write_file (src, big, 3 << 20);
  sbx_digest_buf (big, 3 << 20, &want);
  sbx_digest_buf ("something else", 14, &other);

  fd = open (src, O_RDONLY | O_CLOEXEC);
  ASSERT_GE (fd, 0);
  EXPECT_EQ (sbx_store_put_blob_fd (s, fd, &other, 3 << 20, NULL, &err), -1);
  EXPECT_EQ (sbx_error_code (err), EBADMSG);
  sbx_error_clear (&err);
  EXPECT_EQ (count_entries ("blobs/sha256"), 0);
  EXPECT_EQ (count_entries ("tmp"), 0);

  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  ASSERT_EQ (sbx_store_put_blob_fd (s, fd, &want, 3 << 20, &got, &err), 0);
  EXPECT_STREQ (got.hex, want.hex);
  EXPECT_EQ (sbx_store_blob_size (s, &want), 3 << 20);
  back = sbx_store_read_blob (s, &want, 4 << 20, &len, &err);
  ASSERT_NOT_NULL (back);
  EXPECT_EQ (len, (size_t) (3 << 20));
  EXPECT_TRUE (memcmp (back, big, len) == 0);

  /* From the middle of the file, no expectations.  */
  ASSERT_EQ (lseek (fd, (3 << 20) - 5, SEEK_SET), (3 << 20) - 5);
  ASSERT_EQ (sbx_store_put_blob_fd (s, fd, NULL, -1, &got, &err), 0);
  sbx_digest_buf (big + (3 << 20) - 5, 5, &want);
  EXPECT_STREQ (got.hex, want.hex);
  EXPECT_EQ (sbx_store_blob_size (s, &got), 5);
  EXPECT_EQ (count_entries ("tmp"), 0);
}

TEST (read_blob)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *small = NULL;
  struct sbx_digest d, absent;
  char hex12[13];
  size_t len = 0;
  int fd;

  put (s, "{\"a\": 1}", &d);
  text = sbx_store_read_blob (s, &d, 1024, &len, &err);
  ASSERT_NOT_NULL (text);
  EXPECT_EQ (len, 8u);
  EXPECT_STREQ (text, "{\"a\": 1}");

  /* More than MAX: refused.  */
  small = sbx_store_read_blob (s, &d, 4, &len, &err);
  EXPECT_NULL (small);
  ASSERT_NOT_NULL (err);
  snprintf (hex12, sizeof hex12, "%.12s", d.hex);
  EXPECT_STRSTR (err->msg, hex12);
  sbx_error_clear (&err);

  sbx_digest_buf ("never stored", 12, &absent);
  EXPECT_NULL (sbx_store_read_blob (s, &absent, 1024, &len, &err));
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_STRSTR (err->msg, "sha256:");
  sbx_error_clear (&err);

  fd = sbx_store_open_blob (s, &d, &err);
  ASSERT_GE (fd, 0);
  close (fd);
  EXPECT_EQ (sbx_store_open_blob (s, &absent, &err), -1);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
}

TEST (blob_size_and_presence)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_free char *rel = NULL;
  struct sbx_digest d, absent, unset = { "" };

  put (s, "0123456789", &d);
  sbx_digest_buf ("nope", 4, &absent);
  EXPECT_EQ (sbx_store_blob_size (s, &d), 10);
  EXPECT_TRUE (sbx_store_has_blob (s, &d));
  EXPECT_EQ (sbx_store_blob_size (s, &absent), -1);
  EXPECT_FALSE (sbx_store_has_blob (s, &absent));
  EXPECT_EQ (sbx_store_blob_size (s, &unset), -1);
  EXPECT_FALSE (sbx_store_has_blob (s, &unset));
  /* Something that is not a regular file is not a blob.  */
  rel = xasprintf ("%s/store/blobs/sha256/%s", TEST_TMPDIR, absent.hex);
  ASSERT_EQ (mkdir (rel, 0700), 0);
  EXPECT_FALSE (sbx_store_has_blob (s, &absent));
}

/* ---- names ---- */

TEST (refs_set_lookup_list_remove)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_store_ref *refs = NULL;
  struct sbx_digest a, b, c, got;
  size_t n = 0;

  sbx_digest_buf ("a", 1, &a);
  sbx_digest_buf ("b", 1, &b);
  sbx_digest_buf ("c", 1, &c);
  /* No images.json yet: an empty table.  */
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/busybox:latest", &got, &err), 0);
  ASSERT_EQ (sbx_store_list_refs (s, &refs, &n, &err), 0);
  EXPECT_EQ (n, 0u);
  sbx_store_refs_free (refs, n);

  ASSERT_EQ (sbx_store_set_ref (s, "docker.io/library/debian:12", &b, &err), 0);
  ASSERT_EQ (sbx_store_set_ref (s, "docker.io/library/alpine:3.19", &a, &err), 0);
  ASSERT_EQ (sbx_store_set_ref (s, "localhost:5000/me/app:v1", &c, &err), 0);
  ASSERT_EQ (sbx_store_set_ref (s, "docker.io/library/busybox:latest", &a, &err), 0);
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_TRUE (exists_in_store ("images.json"));

  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/debian:12", &got, &err), 1);
  EXPECT_STREQ (got.hex, b.hex);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/debian:11", &got, &err), 0);
  EXPECT_EQ (sbx_store_lookup_ref (s, "debian:12", &got, &err), 0); /* names are canonical */

  ASSERT_EQ (sbx_store_list_refs (s, &refs, &n, &err), 0);
  ASSERT_EQ (n, 4u);
  EXPECT_STREQ (refs[0].name, "docker.io/library/alpine:3.19");
  EXPECT_STREQ (refs[0].manifest.hex, a.hex);
  EXPECT_STREQ (refs[1].name, "docker.io/library/busybox:latest");
  EXPECT_STREQ (refs[2].name, "docker.io/library/debian:12");
  EXPECT_STREQ (refs[2].manifest.hex, b.hex);
  EXPECT_STREQ (refs[3].name, "localhost:5000/me/app:v1");
  EXPECT_STREQ (refs[3].manifest.hex, c.hex);
  sbx_store_refs_free (refs, n);

  /* Re-pointing a name.  */
  ASSERT_EQ (sbx_store_set_ref (s, "docker.io/library/debian:12", &c, &err), 0);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/debian:12", &got, &err), 1);
  EXPECT_STREQ (got.hex, c.hex);

  ASSERT_EQ (sbx_store_remove_ref (s, "docker.io/library/busybox:latest", &err), 0);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/busybox:latest", &got, &err), 0);
  EXPECT_EQ (sbx_store_remove_ref (s, "docker.io/library/busybox:latest", &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_STRSTR (err->msg, "docker.io/library/busybox:latest");
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_store_list_refs (s, &refs, &n, &err), 0);
  EXPECT_EQ (n, 3u);
  sbx_store_refs_free (refs, n);
  sbx_store_refs_free (NULL, 0);
}

TEST (refs_survive_reopen)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *path = path_in_store ("images.json");
  cleanup_free char *text = NULL;
  struct sbx_store *s = open_store ();
  struct sbx_digest d, got;

  sbx_digest_buf ("m", 1, &d);
  ASSERT_EQ (sbx_store_set_ref (s, "example.com/x:1", &d, &err), 0);
  sbx_store_close (s);
  text = read_file (path, NULL);
  EXPECT_STRSTR (text, "\"refs\"");
  EXPECT_STRSTR (text, "\"example.com/x:1\"");
  EXPECT_STRSTR (text, d.hex);

  s = open_store ();
  EXPECT_EQ (sbx_store_lookup_ref (s, "example.com/x:1", &got, &err), 1);
  EXPECT_STREQ (got.hex, d.hex);
  sbx_store_close (s);
}

TEST (corrupt_images_json_is_an_error_naming_the_file)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *path = path_in_store ("images.json");
  cleanup_free char *after = NULL;
  struct sbx_store_ref *refs = NULL;
  struct sbx_digest d, got;
  size_t n = 0;

  sbx_digest_buf ("m", 1, &d);
  write_store_file ("images.json", "{\"refs\": {\"a:1\": ");
  EXPECT_EQ (sbx_store_lookup_ref (s, "a:1", &got, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, path);
  sbx_error_clear (&err);
  EXPECT_EQ (sbx_store_list_refs (s, &refs, &n, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "images.json");
  sbx_error_clear (&err);
  /* A writer must not replace what it cannot read.  */
  EXPECT_EQ (sbx_store_set_ref (s, "b:1", &d, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "images.json");
  sbx_error_clear (&err);
  after = read_file (path, NULL);
  EXPECT_STREQ (after, "{\"refs\": {\"a:1\": ");

  write_store_file ("images.json", "{\"refs\": [\"a:1\"]}");
  EXPECT_EQ (sbx_store_lookup_ref (s, "a:1", &got, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, path);
  EXPECT_STRSTR (err->msg, "refs");
  sbx_error_clear (&err);

  /* A bad value: lookup says which name, list leaves it out.  */
  write_store_file ("images.json",
                    "{\"refs\": {\"a:1\": \"sha256:1234\", \"b:1\": \"sha256:"
                    ""
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}}");
  EXPECT_EQ (sbx_store_lookup_ref (s, "a:1", &got, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "images.json");
  EXPECT_STRSTR (err->msg, "a:1");
  sbx_error_clear (&err);
  ASSERT_EQ (sbx_store_list_refs (s, &refs, &n, &err), 0);
  ASSERT_EQ (n, 1u);
  EXPECT_STREQ (refs[0].name, "b:1");
  sbx_store_refs_free (refs, n);
}

/* ---- layers ---- */

TEST (stage_and_publish_layer)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *staged = NULL;
  cleanup_free char *tmpdir = path_in_store ("tmp/");
  cleanup_free char *file = NULL;
  cleanup_free char *lpath = NULL;
  cleanup_free char *want = NULL;
  cleanup_free char *content = NULL;
  struct sbx_digest diff_id;
  struct stat st;

  diff_id_of ("x", 0, &diff_id);
  ASSERT_EQ (sbx_store_stage_dir (s, "layer", &staged, &err), 0);
  EXPECT_TRUE (strncmp (staged, tmpdir, strlen (tmpdir)) == 0);
  EXPECT_TRUE (strncmp (staged + strlen (tmpdir), "layer-", 6) == 0);
  ASSERT_EQ (lstat (staged, &st), 0);
  EXPECT_TRUE (S_ISDIR (st.st_mode));
  EXPECT_EQ (count_entries ("tmp"), 1);
  EXPECT_FALSE (sbx_store_has_layer (s, &diff_id));
  file = xasprintf ("%s/etc-os-release", staged);
  write_file (file, "ID=test\n", 8);

  ASSERT_EQ (sbx_store_publish_layer (s, staged, &diff_id, &err), 0);
  EXPECT_TRUE (sbx_store_has_layer (s, &diff_id));
  lpath = sbx_store_layer_path (s, &diff_id);
  want = xasprintf ("%s/store/layers/%s", TEST_TMPDIR, diff_id.hex);
  EXPECT_STREQ (lpath, want);
  free (file);
  file = xasprintf ("%s/etc-os-release", lpath);
  content = read_file (file, NULL);
  EXPECT_STREQ (content, "ID=test\n");
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (count_entries ("layers"), 1);
}

TEST (publish_layer_race_keeps_the_first)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *first = NULL;
  cleanup_free char *second = NULL;
  cleanup_free char *lpath = NULL;
  cleanup_free char *f = NULL;
  struct sbx_digest diff_id;
  struct stat st;

  diff_id_of ("race", 0, &diff_id);
  ASSERT_EQ (sbx_store_stage_dir (s, "layer", &first, &err), 0);
  ASSERT_EQ (sbx_store_stage_dir (s, "layer", &second, &err), 0);
  EXPECT_STRNE (first, second);
  f = xasprintf ("%s/first", first);
  write_file (f, "1", 1);
  free (f);
  f = xasprintf ("%s/sub", second);
  ASSERT_EQ (mkdir (f, 0755), 0);
  free (f);
  f = xasprintf ("%s/sub/second", second);
  write_file (f, "2", 1);
  free (f);
  f = NULL;

  ASSERT_EQ (sbx_store_publish_layer (s, first, &diff_id, &err), 0);
  ASSERT_EQ (sbx_store_publish_layer (s, second, &diff_id, &err), 0);
  ASSERT_NULL (err);
  lpath = sbx_store_layer_path (s, &diff_id);
  f = xasprintf ("%s/first", lpath);
  EXPECT_EQ (lstat (f, &st), 0);
  free (f);
  f = xasprintf ("%s/sub", lpath);
  EXPECT_EQ (lstat (f, &st), -1);
  EXPECT_EQ (lstat (second, &st), -1); /* the loser's copy is gone */
  EXPECT_EQ (count_entries ("tmp"), 0);
  EXPECT_EQ (count_entries ("layers"), 1);
}

TEST (publish_missing_staging_dir_fails)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *staged = path_in_store ("tmp/layer-1-00000000");
  struct sbx_digest diff_id;

  diff_id_of ("missing", 0, &diff_id);
  EXPECT_EQ (sbx_store_publish_layer (s, staged, &diff_id, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_STRSTR (err->msg, "publish layer");
  EXPECT_FALSE (sbx_store_has_layer (s, &diff_id));
}

/* ---- images ---- */

TEST (image_load_and_size)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_image struct sbx_image *img = NULL;
  struct test_image t;

  make_image (s, "load", 3, "example.com/load:1", &t);
  if (sbx_image_load (s, &t.manifest, &img, &err) < 0)
    printf ("# load: %s\n", err->msg);
  ASSERT_NOT_NULL (img);
  EXPECT_STREQ (img->manifest_digest.hex, t.manifest.hex);
  EXPECT_STREQ (img->config_digest.hex, t.config.hex);
  ASSERT_EQ (img->manifest->kind, SBX_MANIFEST_IMAGE);
  ASSERT_EQ (img->manifest->n_layers, 3u);
  ASSERT_EQ (img->config->n_diff_ids, 3u);
  EXPECT_STREQ (img->manifest->layers[2].digest.hex, t.blobs[2].hex);
  EXPECT_STREQ (img->config->diff_ids[1].hex, t.diff_ids[1].hex);
  EXPECT_STREQ (img->config->cmd[0], "/bin/sh");
  EXPECT_STRSTR (img->manifest_json, t.config.hex);
  EXPECT_STRSTR (img->config_json, "\"tag\": \"load\"");
  EXPECT_EQ (sbx_image_size (img), t.size);
}

TEST (image_load_without_layers)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_image struct sbx_image *img = NULL;
  struct test_image t;

  make_image (s, "empty", 0, NULL, &t);
  ASSERT_EQ (sbx_image_load (s, &t.manifest, &img, &err), 0);
  EXPECT_EQ (img->manifest->n_layers, 0u);
  EXPECT_EQ (sbx_image_size (img), t.size);
}

TEST (image_load_errors)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_image *img = NULL;
  struct sbx_digest absent, idx, m, cfg;
  cleanup_free char *json = NULL;

  sbx_digest_buf ("absent", 6, &absent);
  EXPECT_EQ (sbx_image_load (s, &absent, &img, &err), -1);
  EXPECT_NULL (img);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_STRSTR (err->msg, "image sha256:");
  sbx_error_clear (&err);

  put (s, "{\"schemaVersion\": 2, \"mediaType\": \"" SBX_MT_OCI_INDEX "\", \"manifests\": []}",
       &idx);
  EXPECT_EQ (sbx_image_load (s, &idx, &img, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "index");
  sbx_error_clear (&err);

  /* The config lists one layer, the manifest none.  */
  put (s,
       "{\"rootfs\": {\"diff_ids\": [\"sha256:"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"]}}",
       &cfg);
  json = xasprintf ("{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:%s\", \"size\": 1},"
                    " \"layers\": []}",
                    cfg.hex);
  put (s, json, &m);
  EXPECT_EQ (sbx_image_load (s, &m, &img, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "1 layers");
  sbx_error_clear (&err);

  /* The config is missing.  */
  free (json);
  json = xasprintf ("{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:%s\", \"size\": 1},"
                    " \"layers\": []}",
                    absent.hex);
  put (s, json, &m);
  EXPECT_EQ (sbx_image_load (s, &m, &img, &err), -1);
  EXPECT_EQ (sbx_error_code (err), ENOENT);
  EXPECT_NULL (img);
}

/* ---- finding images ---- */

TEST (find_image_by_name_and_digests)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct test_image a, b;
  struct sbx_digest got;
  char buf[SBX_DIGEST_STR_MAX];
  char id[13];

  make_image (s, "find-a", 1, "docker.io/library/a:latest", &a);
  make_image (s, "find-b", 2, "docker.io/library/b:latest", &b);

  EXPECT_EQ (sbx_store_find_image (s, "docker.io/library/b:latest", &got, &err), 1);
  EXPECT_STREQ (got.hex, b.manifest.hex);
  EXPECT_EQ (sbx_store_find_image (s, "docker.io/library/c:latest", &got, &err), 0);
  ASSERT_NULL (err);

  /* Full config digest (the image id), with and without "sha256:".  */
  memset (&got, 0, sizeof got);
  EXPECT_EQ (sbx_store_find_image (s, sbx_digest_format (&a.config, buf), &got, &err), 1);
  EXPECT_STREQ (got.hex, a.manifest.hex);
  memset (&got, 0, sizeof got);
  EXPECT_EQ (sbx_store_find_image (s, b.config.hex, &got, &err), 1);
  EXPECT_STREQ (got.hex, b.manifest.hex);

  /* Short id: 12 hex digits of the config digest.  */
  snprintf (id, sizeof id, "%.12s", a.config.hex);
  memset (&got, 0, sizeof got);
  EXPECT_EQ (sbx_store_find_image (s, id, &got, &err), 1);
  EXPECT_STREQ (got.hex, a.manifest.hex);

  /* Manifest digest.  */
  memset (&got, 0, sizeof got);
  EXPECT_EQ (sbx_store_find_image (s, sbx_digest_format (&b.manifest, buf), &got, &err), 1);
  EXPECT_STREQ (got.hex, b.manifest.hex);

  /* Not ids: too short, not hex, too long, a layer's digest.  */
  snprintf (id, sizeof id, "%.3s", a.config.hex);
  EXPECT_EQ (sbx_store_find_image (s, id, &got, &err), 0);
  EXPECT_EQ (sbx_store_find_image (s, "zzzzzzzzzzzz", &got, &err), 0);
  EXPECT_EQ (sbx_store_find_image (s, "sha256:", &got, &err), 0);
  snprintf (buf, sizeof buf, "%s0", a.config.hex);
  EXPECT_EQ (sbx_store_find_image (s, buf, &got, &err), 0);
  EXPECT_EQ (sbx_store_find_image (s, b.blobs[0].hex, &got, &err), 0);
  ASSERT_NULL (err);
}

TEST (find_image_same_image_under_two_names_is_not_ambiguous)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct test_image a;
  struct sbx_digest got;
  char id[13];

  make_image (s, "twice", 1, "docker.io/library/a:1", &a);
  ASSERT_EQ (sbx_store_set_ref (s, "docker.io/library/a:latest", &a.manifest, &err), 0);
  snprintf (id, sizeof id, "%.12s", a.config.hex);
  EXPECT_EQ (sbx_store_find_image (s, id, &got, &err), 1);
  EXPECT_STREQ (got.hex, a.manifest.hex);
}

TEST (find_image_ambiguous_prefix)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free int *seen = xcalloc (1 << 16, sizeof *seen);
  struct test_image a, b;
  struct sbx_digest got;
  char tag_a[32] = "", tag_b[32] = "";
  char prefix[5], id[13];
  int i;

  /* Two configs whose digests share 4 hex digits (birthday search: a few
     hundred tries).  */
  for (i = 1; i < (1 << 16) + 2 && tag_b[0] == '\0'; i++)
    {
      char tag[32];
      cleanup_free char *json = NULL;
      struct sbx_digest d;
      unsigned long p;

      snprintf (tag, sizeof tag, "amb-%d", i);
      json = config_json (tag, 0);
      sbx_digest_buf (json, strlen (json), &d);
      snprintf (prefix, sizeof prefix, "%.4s", d.hex);
      p = strtoul (prefix, NULL, 16);
      if (seen[p] == 0)
        seen[p] = i;
      else
        {
          snprintf (tag_a, sizeof tag_a, "amb-%d", seen[p]);
          snprintf (tag_b, sizeof tag_b, "%s", tag);
        }
    }
  ASSERT_TRUE (tag_b[0] != '\0');
  make_image (s, tag_a, 0, "docker.io/library/a:1", &a);
  make_image (s, tag_b, 0, "docker.io/library/b:1", &b);
  ASSERT_TRUE (strncmp (a.config.hex, b.config.hex, 4) == 0);
  snprintf (prefix, sizeof prefix, "%.4s", a.config.hex);

  EXPECT_EQ (sbx_store_find_image (s, prefix, &got, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "ambiguous");
  EXPECT_STRSTR (err->msg, prefix);
  sbx_error_clear (&err);
  /* More digits tell them apart.  */
  snprintf (id, sizeof id, "%.12s", b.config.hex);
  EXPECT_EQ (sbx_store_find_image (s, id, &got, &err), 1);
  EXPECT_STREQ (got.hex, b.manifest.hex);
}

/* ---- check ---- */

TEST (check_clean_store)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  struct sbx_check_report rep;
  struct test_image a, b;

  check_store (s, false, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
  EXPECT_EQ (rep.blobs_ok, 0u);

  make_image (s, "clean-a", 2, "docker.io/library/a:1", &a);
  make_image (s, "clean-b", 1, "docker.io/library/b:1", &b);
  check_store (s, false, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
  EXPECT_EQ (problems.len, 0u);
  EXPECT_EQ (rep.blobs_ok, 2u + 2u + 3u); /* manifests, configs, layer blobs */
  EXPECT_EQ (rep.layers_ok, 3u);
  EXPECT_EQ (rep.removed, 0u);
  check_store (s, true, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
  EXPECT_EQ (rep.removed, 0u);
}

TEST (check_finds_and_repairs_a_corrupted_blob)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_free char *where = NULL;
  struct sbx_check_report rep;
  struct sbx_digest good, bad;
  struct test_image a;

  make_image (s, "corrupt", 1, "docker.io/library/a:1", &a);
  put (s, "an unreferenced blob that will rot", &bad);
  put (s, "another one that stays intact", &good);
  corrupt_blob (&bad, 3);

  check_store (s, false, &rep, &problems);
  EXPECT_EQ (rep.blobs_bad, 1u);
  EXPECT_EQ (rep.blobs_ok, 4u); /* manifest, config, layer blob, GOOD */
  EXPECT_EQ (rep.refs_dangling, 0u);
  EXPECT_EQ (rep.removed, 0u);
  where = xasprintf ("blobs/sha256/%s", bad.hex);
  EXPECT_STRSTR (problems.buf, where);
  EXPECT_STRSTR (problems.buf, "does not match");
  EXPECT_TRUE (blob_file_exists (&bad)); /* not without REPAIR */

  check_store (s, true, &rep, &problems);
  EXPECT_EQ (rep.blobs_bad, 1u);
  EXPECT_EQ (rep.removed, 1u);
  EXPECT_FALSE (blob_file_exists (&bad));
  EXPECT_TRUE (blob_file_exists (&good));

  check_store (s, false, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
  EXPECT_EQ (rep.blobs_ok, 4u);
}

TEST (check_corrupted_image_blob_makes_its_name_incomplete)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_check_report rep;
  struct sbx_digest got;
  struct test_image a;

  make_image (s, "rot", 2, "docker.io/library/a:1", &a);
  corrupt_blob (&a.blobs[1], 0);
  check_store (s, true, &rep, &problems);
  EXPECT_EQ (rep.blobs_bad, 1u);
  /* Its blob gone, the image is incomplete: the name goes too.  */
  EXPECT_EQ (rep.refs_dangling, 1u);
  EXPECT_EQ (rep.removed, 2u);
  EXPECT_STRSTR (problems.buf, "docker.io/library/a:1: ");
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/a:1", &got, &err), 0);
}

TEST (check_reports_stray_layer_entries)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_free char *dir = path_in_store ("layers/not-a-digest");
  cleanup_free char *file = NULL;
  struct sbx_check_report rep;
  struct sbx_digest d;
  struct test_image a;

  make_image (s, "stray", 1, "docker.io/library/a:1", &a);
  write_store_file ("layers/junk", "junk");
  ASSERT_EQ (mkdir (dir, 0700), 0);
  /* A digest-named regular file is not a layer either.  */
  diff_id_of ("file", 0, &d);
  file = xasprintf ("layers/%s", d.hex);
  write_store_file (file, "");

  check_store (s, false, &rep, &problems);
  EXPECT_EQ (rep.layers_bad, 3u);
  EXPECT_EQ (rep.layers_ok, 1u);
  EXPECT_EQ (rep.blobs_bad, 0u);
  EXPECT_EQ (rep.refs_dangling, 0u);
  EXPECT_STRSTR (problems.buf, "layers/junk: ");
  EXPECT_STRSTR (problems.buf, "layers/not-a-digest: ");
  EXPECT_TRUE (exists_in_store ("layers/junk"));

  check_store (s, true, &rep, &problems);
  EXPECT_EQ (rep.removed, 3u);
  EXPECT_FALSE (exists_in_store ("layers/junk"));
  EXPECT_FALSE (exists_in_store ("layers/not-a-digest"));
  EXPECT_FALSE (exists_in_store (file));
  EXPECT_TRUE (sbx_store_has_layer (s, &a.diff_ids[0]));
  check_store (s, false, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
}

TEST (check_reports_tmp_leftovers_of_dead_processes_only)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  pid_t dead = dead_pid ();
  cleanup_free char *blob = xasprintf ("tmp/blob-%d-0badf00d", (int) dead);
  cleanup_free char *layer = xasprintf ("tmp/layer-%d-12345678", (int) dead);
  cleanup_free char *layer_path = path_in_store (layer);
  cleanup_free char *layer_file = xasprintf ("%s/usr", layer_path);
  cleanup_free char *mine = xasprintf ("tmp/blob-%d-0000beef", (int) getpid ());
  cleanup_free char *w = NULL;
  struct sbx_check_report rep;

  write_store_file (blob, "half a blob");
  ASSERT_EQ (mkdir (layer_path, 0755), 0);
  ASSERT_EQ (mkdir (layer_file, 0755), 0);
  write_store_file (mine, "being written right now");

  check_store (s, false, &rep, &problems);
  EXPECT_EQ (rep.staging, 2u);
  EXPECT_EQ (rep.removed, 0u);
  EXPECT_STRSTR (problems.buf, blob);
  EXPECT_STRSTR (problems.buf, layer);
  w = xasprintf ("blob-%d-", (int) getpid ());
  EXPECT_TRUE (strstr (problems.buf, w) == NULL); /* in use: not reported */

  check_store (s, true, &rep, &problems);
  EXPECT_EQ (rep.staging, 2u);
  EXPECT_EQ (rep.removed, 2u);
  EXPECT_FALSE (exists_in_store (blob));
  EXPECT_FALSE (exists_in_store (layer));
  EXPECT_TRUE (exists_in_store (mine));
  check_store (s, false, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
}

TEST (check_staging_prefix_with_dashes)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *staged = NULL;
  cleanup_free char *dead = xasprintf ("tmp/pull-layer-%d-0badf00d", (int) dead_pid ());
  struct sbx_check_report rep;
  uint64_t freed = 0;
  size_t removed = 0;

  /* A live process's staging directory, whatever its prefix, is in use.  */
  ASSERT_EQ (sbx_store_stage_dir (s, "pull-layer", &staged, &err), 0);
  write_store_file (dead, "");
  check_store (s, false, &rep, &problems);
  EXPECT_EQ (rep.staging, 1u);
  EXPECT_STRSTR (problems.buf, dead);
  ASSERT_EQ (sbx_store_prune (s, NULL, 0, &freed, &removed, &err), 0);
  EXPECT_EQ (removed, 1u);
  EXPECT_TRUE (access (staged, F_OK) == 0);
  EXPECT_FALSE (exists_in_store (dead));
}

TEST (lock_files_in_tmp)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *held = path_in_store ("tmp/blob-" HEX64 ".lock");
  cleanup_close int fd = -1;
  struct sbx_check_report rep;
  size_t removed = 0;

  /* What a pull holds while it fetches a blob (registry/pull.c), and one
     left by a finished pull.  */
  fd = open (held, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (flock (fd, LOCK_EX), 0);
  write_store_file ("tmp/layer-" HEX64 ".lock", "");
  check_store (s, true, &rep, &problems);
  EXPECT_EQ (rep.staging, 0u); /* never reported: removing one could break a lock */
  EXPECT_EQ (count_entries ("tmp"), 2);
  ASSERT_EQ (sbx_store_prune (s, NULL, 0, NULL, &removed, &err), 0);
  EXPECT_EQ (removed, 1u); /* the idle one */
  EXPECT_TRUE (exists_in_store ("tmp/blob-" HEX64 ".lock"));
  EXPECT_FALSE (exists_in_store ("tmp/layer-" HEX64 ".lock"));
}

TEST (check_reports_and_removes_incomplete_names)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *layer = NULL;
  struct sbx_check_report rep;
  struct sbx_digest ghost, got;
  struct test_image a, b;

  make_image (s, "complete", 1, "docker.io/library/ok:1", &a);
  make_image (s, "no-layer", 2, "docker.io/library/nolayer:1", &b);
  sbx_digest_buf ("no such manifest", 16, &ghost);
  ASSERT_EQ (sbx_store_set_ref (s, "docker.io/library/ghost:1", &ghost, &err), 0);
  /* b loses its second unpacked layer.  */
  layer = xasprintf ("layers/%s", b.diff_ids[1].hex);
  {
    cleanup_free char *p = path_in_store (layer);
    cleanup_free char *f = NULL;
    cleanup_dir DIR *d = opendir (p);
    struct dirent *de;

    ASSERT_NOT_NULL (d);
    while ((de = readdir (d)) != NULL)
      if (de->d_name[0] != '.')
        {
          f = xasprintf ("%s/%s", p, de->d_name);
          ASSERT_EQ (unlink (f), 0);
          free (steal_ptr (&f));
        }
    ASSERT_EQ (rmdir (p), 0);
  }

  check_store (s, false, &rep, &problems);
  EXPECT_EQ (rep.refs_dangling, 2u);
  EXPECT_EQ (rep.blobs_bad, 0u);
  EXPECT_STRSTR (problems.buf, "docker.io/library/ghost:1: ");
  EXPECT_STRSTR (problems.buf, "docker.io/library/nolayer:1: layer 1 missing");
  EXPECT_TRUE (strstr (problems.buf, "ok:1") == NULL);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/ghost:1", &got, &err), 1);

  check_store (s, true, &rep, &problems);
  EXPECT_EQ (rep.refs_dangling, 2u);
  EXPECT_EQ (rep.removed, 2u);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/ghost:1", &got, &err), 0);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/nolayer:1", &got, &err), 0);
  EXPECT_EQ (sbx_store_lookup_ref (s, "docker.io/library/ok:1", &got, &err), 1);
  check_store (s, false, &rep, &problems);
  EXPECT_EQ (total_problems (&rep), 0u);
}

/* ---- prune ---- */

TEST (prune_removes_what_no_name_refers_to)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_image struct sbx_image *img = NULL;
  cleanup_strbuf struct sbx_strbuf problems = SBX_STRBUF_INIT;
  cleanup_free char *mine = xasprintf ("tmp/blob-%d-0000beef", (int) getpid ());
  const char *orphan_text = "a blob of an image that was removed";
  struct sbx_check_report rep;
  struct sbx_digest orphan, orphan_layer, kept_layer;
  struct test_image a, gone;
  uint64_t freed = 12345;
  size_t removed = 12345, i;
  int l;

  make_image (s, "prune-keep", 2, "docker.io/library/keep:1", &a);
  make_image (s, "prune-gone", 2, NULL, &gone); /* no name: all of it goes */
  put (s, orphan_text, &orphan);
  diff_id_of ("orphan", 0, &orphan_layer);
  publish_layer (s, &orphan_layer, "orphan");
  diff_id_of ("in-use", 0, &kept_layer);
  publish_layer (s, &kept_layer, "in-use");
  write_store_file (mine, "in progress");

  ASSERT_EQ (sbx_store_prune (s, &kept_layer, 1, &freed, &removed, &err), 0);
  ASSERT_NULL (err);
  /* gone: manifest, config, 2 layer blobs, 2 layers; the orphan blob and layer.  */
  EXPECT_EQ (removed, 8u);
  /* Blobs and the files of unpacked layers ("orphan": 6 bytes).  */
  EXPECT_EQ (freed, strlen (orphan_text)
                        + (uint64_t) (gone.size + gone.manifest_size + gone.layer_bytes) + 6u);

  EXPECT_TRUE (sbx_store_has_blob (s, &a.manifest));
  EXPECT_TRUE (sbx_store_has_blob (s, &a.config));
  for (l = 0; l < 2; l++)
    {
      EXPECT_TRUE (sbx_store_has_blob (s, &a.blobs[l]));
      EXPECT_TRUE (sbx_store_has_layer (s, &a.diff_ids[l]));
      EXPECT_FALSE (sbx_store_has_blob (s, &gone.blobs[l]));
      EXPECT_FALSE (sbx_store_has_layer (s, &gone.diff_ids[l]));
    }
  EXPECT_FALSE (sbx_store_has_blob (s, &gone.manifest));
  EXPECT_FALSE (sbx_store_has_blob (s, &gone.config));
  EXPECT_FALSE (sbx_store_has_blob (s, &orphan));
  EXPECT_FALSE (sbx_store_has_layer (s, &orphan_layer));
  EXPECT_TRUE (sbx_store_has_layer (s, &kept_layer));
  EXPECT_TRUE (exists_in_store (mine));
  EXPECT_EQ (count_entries ("blobs/sha256"), 4);
  EXPECT_EQ (count_entries ("layers"), 3);

  ASSERT_EQ (sbx_image_load (s, &a.manifest, &img, &err), 0);
  check_store (s, false, &rep, &problems);
  EXPECT_EQ (rep.refs_dangling, 0u);
  EXPECT_EQ (rep.blobs_bad + rep.layers_bad, 0u);

  /* Nothing left to do.  */
  ASSERT_EQ (sbx_store_prune (s, &kept_layer, 1, &freed, &removed, &err), 0);
  EXPECT_EQ (removed, 0u);
  EXPECT_EQ (freed, 0u);
  /* Without the keep list the in-use layer goes; NULL outputs are fine.  */
  ASSERT_EQ (sbx_store_prune (s, NULL, 0, NULL, NULL, &err), 0);
  EXPECT_FALSE (sbx_store_has_layer (s, &kept_layer));
  for (i = 0; i < 2; i++)
    EXPECT_TRUE (sbx_store_has_layer (s, &a.diff_ids[i]));
}

TEST (prune_counts_the_bytes_it_frees)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  const char *text = "exactly thirty-two bytes of text";
  struct sbx_digest d;
  uint64_t freed = 0;
  size_t removed = 0;

  ASSERT_EQ (strlen (text), 32u);
  put (s, text, &d);
  ASSERT_EQ (sbx_store_prune (s, NULL, 0, &freed, &removed, &err), 0);
  EXPECT_EQ (removed, 1u);
  EXPECT_EQ (freed, 32u);
}

TEST (prune_counts_the_bytes_of_unpacked_layers)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *staged = NULL;
  cleanup_free char *f = NULL;
  cleanup_free char *big = xzalloc (10000);
  struct sbx_digest diff_id;
  uint64_t freed = 0;
  size_t removed = 0;

  /* An unpacked layer is usually the biggest thing a prune frees.  */
  diff_id_of ("bytes", 0, &diff_id);
  ASSERT_EQ (sbx_store_stage_dir (s, "layer", &staged, &err), 0);
  f = xasprintf ("%s/a", staged);
  write_file (f, big, 10000);
  free (f);
  f = xasprintf ("%s/dir", staged);
  ASSERT_EQ (mkdir (f, 0755), 0);
  free (f);
  f = xasprintf ("%s/dir/b", staged);
  write_file (f, big, 2345);
  ASSERT_EQ (sbx_store_publish_layer (s, staged, &diff_id, &err), 0);
  ASSERT_EQ (sbx_store_prune (s, NULL, 0, &freed, &removed, &err), 0);
  EXPECT_EQ (removed, 1u);
  EXPECT_EQ (freed, 12345u);
}

TEST (prune_fails_on_a_corrupt_images_json)
{
  cleanup_store struct sbx_store *s = open_store ();
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_digest d;

  put (s, "must survive", &d);
  write_store_file ("images.json", "garbage");
  EXPECT_EQ (sbx_store_prune (s, NULL, 0, NULL, NULL, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_STRSTR (err->msg, "images.json");
  EXPECT_TRUE (sbx_store_has_blob (s, &d)); /* no name table: delete nothing */
}

TEST_MAIN

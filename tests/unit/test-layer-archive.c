/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layer/archive.c: save, load and import, store to store through memfds.  */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "image/image.h"
#include "layer/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define NAME "docker.io/library/busybox:latest"

struct tfile
{
  const char *name;
  const char *data; /* file content, or a link's target */
  size_t len;       /* 0: strlen (data) */
  char type;        /* 'f' file, 'd' directory, 'l' symlink */
};

static int
new_memfd (void)
{
  int fd = memfd_create ("archive-test", MFD_CLOEXEC);

  ASSERT_GE (fd, 0);
  return fd;
}

/* A tar of FILES in a memfd, at offset 0; FILTER "gzip" or NULL.  */
static int
write_tar (const struct tfile *files, size_t n, const char *filter)
{
  struct archive *a = archive_write_new ();
  int fd = new_memfd ();
  size_t i;

  ASSERT_NOT_NULL (a);
  ASSERT_EQ (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  if (filter)
    ASSERT_EQ (archive_write_add_filter_gzip (a), ARCHIVE_OK);
  ASSERT_EQ (archive_write_open_fd (a, fd), ARCHIVE_OK);
  for (i = 0; i < n; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      size_t len = files[i].len ? files[i].len : strlen (files[i].data ? files[i].data : "");

      archive_entry_set_pathname (e, files[i].name);
      archive_entry_set_mtime (e, 1000000000, 0);
      if (files[i].type == 'd')
        {
          archive_entry_set_filetype (e, AE_IFDIR);
          archive_entry_set_perm (e, 0755);
        }
      else if (files[i].type == 'l')
        {
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_perm (e, 0777);
          archive_entry_set_symlink (e, files[i].data);
        }
      else
        {
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_perm (e, 0644);
          archive_entry_set_size (e, (la_int64_t) len);
        }
      ASSERT_EQ (archive_write_header (a, e), ARCHIVE_OK);
      if (files[i].type == 'f')
        ASSERT_EQ (archive_write_data (a, files[i].data, len), (la_ssize_t) len);
      archive_entry_free (e);
    }
  ASSERT_EQ (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

/* All of FD from offset 0; *LEN gets its length.  */
static char *
slurp (int fd, size_t *len)
{
  struct sbx_error *err = NULL;
  char *buf;

  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  buf = sbx_fs_read_fd (fd, 1 << 26, len, &err);
  ASSERT_NOT_NULL (buf);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  return buf;
}

/* BUF gzip-compressed, in a memfd at offset 0.  */
static int
gzip_buf (const char *buf, size_t len)
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  int fd = new_memfd ();

  ASSERT_EQ (archive_write_set_format_raw (a), ARCHIVE_OK);
  ASSERT_EQ (archive_write_add_filter_gzip (a), ARCHIVE_OK);
  ASSERT_EQ (archive_write_open_fd (a, fd), ARCHIVE_OK);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_pathname (e, "data");
  ASSERT_EQ (archive_write_header (a, e), ARCHIVE_OK);
  ASSERT_EQ (archive_write_data (a, buf, len), (la_ssize_t) len);
  ASSERT_EQ (archive_write_close (a), ARCHIVE_OK);
  archive_entry_free (e);
  archive_write_free (a);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

static struct sbx_store *
open_store (const char *name)
{
  cleanup_free char *root = xasprintf ("%s/%s", TEST_TMPDIR, name);
  struct sbx_store *s = NULL;
  struct sbx_error *err = NULL;

  if (sbx_store_open (root, &s, &err) < 0)
    sbx_test_fail (true, __FILE__, __LINE__, "open store: %s", err->msg);
  return s;
}

static void
put (struct sbx_store *s, const char *data, size_t len, struct sbx_digest *out)
{
  struct sbx_error *err = NULL;

  if (sbx_store_put_blob (s, data, len, out, &err) < 0)
    sbx_test_fail (true, __FILE__, __LINE__, "put blob: %s", err->msg);
}

/* The layer every test image has.  */
static char *
layer_tar (size_t *len)
{
  static const struct tfile files[] = {
    { "etc/", NULL, 0, 'd' },
    { "etc/hello", "hello\n", 0, 'f' },
    { "bin/", NULL, 0, 'd' },
    { "bin/sh", "#!/bin/true\n", 0, 'f' },
  };
  cleanup_close int fd = write_tar (files, SBX_N_ELEMENTS (files), NULL);

  return slurp (fd, len);
}

struct test_image
{
  struct sbx_digest manifest, config, layer, diff_id;
  char *config_json;
};

static void
test_image_release (struct test_image *img)
{
  free (img->config_json);
}
#define cleanup_test_image __attribute__ ((cleanup (test_image_release)))

static char *
config_for (const struct sbx_digest *diff_id)
{
  return xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"]},"
                    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
                    diff_id->hex);
}

/* Build an image by hand in S: one layer, gzip-compressed when GZIP.  */
static void
make_image (struct sbx_store *s, bool gzip, struct test_image *img)
{
  size_t len = 0, glen = 0;
  cleanup_free char *tar = layer_tar (&len);
  cleanup_free char *gz = NULL;
  cleanup_free char *manifest = NULL;
  char dl[SBX_DIGEST_STR_MAX], dc[SBX_DIGEST_STR_MAX];

  sbx_digest_buf (tar, len, &img->diff_id);
  if (gzip)
    {
      cleanup_close int fd = gzip_buf (tar, len);

      gz = slurp (fd, &glen);
    }
  put (s, gzip ? gz : tar, gzip ? glen : len, &img->layer);
  img->config_json = config_for (&img->diff_id);
  put (s, img->config_json, strlen (img->config_json), &img->config);
  manifest = xasprintf (
      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%"
      "s\","
      "\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
      SBX_MT_OCI_MANIFEST, SBX_MT_OCI_CONFIG, sbx_digest_format (&img->config, dc),
      strlen (img->config_json), gzip ? SBX_MT_OCI_LAYER_GZIP : SBX_MT_OCI_LAYER,
      sbx_digest_format (&img->layer, dl), gzip ? glen : len);
  put (s, manifest, strlen (manifest), &img->manifest);
}

static int
save (struct sbx_store *s, const struct test_image *img, const char *format)
{
  char *names[] = { (char *) NAME, NULL };
  struct sbx_error *err = NULL;
  int fd = new_memfd ();

  if (sbx_archive_save (s, &img->manifest, names, format, fd, &err) < 0)
    sbx_test_fail (true, __FILE__, __LINE__, "save: %s", err->msg);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

struct loaded
{
  char **names;
  struct sbx_digest *manifests;
  size_t n;
};

static void
loaded_release (struct loaded *l)
{
  sbx_strv_free (l->names);
  free (l->manifests);
}
#define cleanup_loaded __attribute__ ((cleanup (loaded_release)))

static void
load_ok (struct sbx_store *s, int fd, struct loaded *out)
{
  struct sbx_error *err = NULL;

  if (sbx_archive_load (s, fd, &out->names, &out->manifests, &out->n, &err) < 0)
    sbx_test_fail (true, __FILE__, __LINE__, "load: %s", err->msg);
  ASSERT_EQ (sbx_strv_len (out->names), out->n);
}

/* Load must fail; the message is returned (free() it).  */
static char *
load_fails (struct sbx_store *s, int fd, int *code)
{
  struct sbx_error *err = NULL;
  char **names = NULL;
  struct sbx_digest *manifests = NULL;
  size_t n = 0;
  char *msg;

  ASSERT_EQ (sbx_archive_load (s, fd, &names, &manifests, &n, &err), -1);
  ASSERT_NOT_NULL (err);
  msg = xstrdup (err->msg);
  if (code)
    *code = err->code;
  sbx_error_free (err);
  return msg;
}

static size_t
count_entries (struct sbx_store *s, const char *sub)
{
  cleanup_free char *path = xasprintf ("%s/%s", sbx_store_root (s), sub);
  cleanup_dir DIR *d = opendir (path);
  struct dirent *e;
  size_t n = 0;

  ASSERT_NOT_NULL (d);
  while ((e = readdir (d)))
    n += e->d_name[0] != '.';
  return n;
}

/* ---- save, then load into another store ---- */

TEST (docker_archive_round_trip_uncompresses_layers)
{
  struct sbx_store *a = open_store ("a"), *b = open_store ("b");
  cleanup_test_image struct test_image img = { 0 };
  cleanup_loaded struct loaded l = { 0 };
  struct sbx_image *got = NULL;
  struct sbx_error *err = NULL;
  cleanup_close int fd = -1;

  make_image (a, true, &img);
  fd = save (a, &img, "docker-archive");
  load_ok (b, fd, &l);
  ASSERT_EQ (l.n, 1);
  EXPECT_STREQ (l.names[0], "busybox:latest");
  ASSERT_EQ (sbx_image_load (b, &l.manifests[0], &got, &err), 0);
  EXPECT_STREQ (got->config_digest.hex, img.config.hex); /* the same image id */
  ASSERT_EQ (got->config->n_diff_ids, 1);
  EXPECT_STREQ (got->config->diff_ids[0].hex, img.diff_id.hex);
  ASSERT_EQ (got->manifest->n_layers, 1);
  EXPECT_STREQ (got->manifest->layers[0].digest.hex, img.diff_id.hex);
  EXPECT_STREQ (got->manifest->layers[0].media_type, SBX_MT_OCI_LAYER);
  EXPECT_EQ (count_entries (b, "tmp"), 0); /* the staging directory is gone */
  sbx_image_free (got);
  sbx_store_close (a);
  sbx_store_close (b);
}

TEST (oci_archive_round_trip_keeps_the_manifest)
{
  struct sbx_store *a = open_store ("a"), *b = open_store ("b");
  cleanup_test_image struct test_image img = { 0 };
  cleanup_loaded struct loaded l = { 0 };
  cleanup_close int fd = -1;

  make_image (a, true, &img);
  fd = save (a, &img, "oci-archive");
  load_ok (b, fd, &l);
  ASSERT_EQ (l.n, 1);
  EXPECT_STREQ (l.names[0], NAME);
  EXPECT_STREQ (l.manifests[0].hex, img.manifest.hex);
  EXPECT_TRUE (sbx_store_has_blob (b, &img.config));
  EXPECT_TRUE (sbx_store_has_blob (b, &img.layer));
  EXPECT_EQ (count_entries (b, "tmp"), 0);
  sbx_store_close (a);
  sbx_store_close (b);
}

TEST (save_is_reproducible)
{
  struct sbx_store *a = open_store ("a");
  cleanup_test_image struct test_image img = { 0 };
  const char *formats[] = { "docker-archive", "oci-archive" };
  size_t i;

  make_image (a, true, &img);
  for (i = 0; i < SBX_N_ELEMENTS (formats); i++)
    {
      cleanup_close int fd1 = save (a, &img, formats[i]);
      cleanup_close int fd2 = save (a, &img, formats[i]);
      size_t n1 = 0, n2 = 0;
      cleanup_free char *b1 = slurp (fd1, &n1);
      cleanup_free char *b2 = slurp (fd2, &n2);

      ASSERT_EQ (n1, n2);
      EXPECT_TRUE (memcmp (b1, b2, n1) == 0);
    }
  sbx_store_close (a);
}

TEST (save_refuses_an_unknown_format)
{
  struct sbx_store *a = open_store ("a");
  cleanup_test_image struct test_image img = { 0 };
  struct sbx_error *err = NULL;
  cleanup_close int fd = new_memfd ();

  make_image (a, false, &img);
  ASSERT_EQ (sbx_archive_save (a, &img.manifest, NULL, "zip", fd, &err), -1);
  EXPECT_STRSTR (err->msg, "unknown archive format");
  sbx_error_free (err);
  sbx_store_close (a);
}

TEST (load_accepts_a_gzip_compressed_archive)
{
  struct sbx_store *a = open_store ("a"), *b = open_store ("b");
  cleanup_test_image struct test_image img = { 0 };
  cleanup_loaded struct loaded l = { 0 };
  cleanup_close int fd = -1;
  cleanup_close int gz = -1;
  cleanup_free char *buf = NULL;
  size_t len = 0;

  make_image (a, false, &img);
  fd = save (a, &img, "oci-archive");
  buf = slurp (fd, &len);
  gz = gzip_buf (buf, len);
  load_ok (b, gz, &l);
  ASSERT_EQ (l.n, 1);
  EXPECT_STREQ (l.manifests[0].hex, img.manifest.hex);
  sbx_store_close (a);
  sbx_store_close (b);
}

/* ---- docker-archives made by hand ---- */

static int
docker_archive (const char *layer, size_t layer_len, const struct sbx_digest *config_diff_id,
                const char *repo_tags)
{
  cleanup_free char *config = config_for (config_diff_id);
  cleanup_free char *manifest = xasprintf (
      "[{\"Config\":\"c.json\",\"RepoTags\":%s,\"Layers\":[\"l/layer.tar\"]}]", repo_tags);
  const struct tfile files[] = {
    { "l/", NULL, 0, 'd' },
    { "l/layer.tar", layer, layer_len, 'f' },
    { "c.json", config, 0, 'f' },
    { "manifest.json", manifest, 0, 'f' },
  };

  return write_tar (files, SBX_N_ELEMENTS (files), NULL);
}

TEST (docker_archive_layer_must_match_the_diff_ids)
{
  struct sbx_store *b = open_store ("b");
  size_t len = 0;
  cleanup_free char *tar = layer_tar (&len);
  struct sbx_digest other;
  cleanup_close int fd = -1;
  cleanup_free char *msg = NULL;
  int code = 0;

  sbx_digest_buf ("something else", 14, &other);
  fd = docker_archive (tar, len, &other, "[\"x:1\"]");
  msg = load_fails (b, fd, &code);
  EXPECT_EQ (code, EBADMSG);
  EXPECT_STRSTR (msg, "does not match");
  EXPECT_STRSTR (msg, "l/layer.tar");
  EXPECT_EQ (count_entries (b, "tmp"), 0);
  sbx_store_close (b);
}

TEST (docker_archive_gzip_layer_is_checked_and_kept)
{
  struct sbx_store *b = open_store ("b");
  size_t len = 0, glen = 0;
  cleanup_free char *tar = layer_tar (&len);
  cleanup_free char *gz = NULL;
  cleanup_close int gzfd = -1;
  cleanup_close int fd = -1;
  cleanup_close int bad = -1;
  cleanup_free char *msg = NULL;
  cleanup_loaded struct loaded l = { 0 };
  struct sbx_digest diff_id, gz_digest, other;
  struct sbx_image *got = NULL;
  struct sbx_error *err = NULL;

  sbx_digest_buf (tar, len, &diff_id);
  gzfd = gzip_buf (tar, len);
  gz = slurp (gzfd, &glen);
  sbx_digest_buf (gz, glen, &gz_digest);
  fd = docker_archive (gz, glen, &diff_id, "null");
  load_ok (b, fd, &l);
  ASSERT_EQ (l.n, 1);
  EXPECT_STREQ (l.names[0], ""); /* RepoTags null: no name */
  ASSERT_EQ (sbx_image_load (b, &l.manifests[0], &got, &err), 0);
  EXPECT_STREQ (got->manifest->layers[0].digest.hex, gz_digest.hex);
  EXPECT_STREQ (got->manifest->layers[0].media_type, SBX_MT_OCI_LAYER_GZIP);
  sbx_image_free (got);

  sbx_digest_buf ("something else", 14, &other);
  bad = docker_archive (gz, glen, &other, "[]");
  msg = load_fails (b, bad, NULL);
  EXPECT_STRSTR (msg, "does not match");
  sbx_store_close (b);
}

TEST (load_refuses_names_outside_the_archive)
{
  static const char *const bad[] = { "../evil", "a/../../evil", "/manifest.json" };
  struct sbx_store *b = open_store ("b");
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (bad); i++)
    {
      const struct tfile files[] = {
        { "manifest.json", "[]", 0, 'f' },
        { bad[i], "x", 0, 'f' },
      };
      cleanup_close int fd = write_tar (files, SBX_N_ELEMENTS (files), NULL);
      cleanup_free char *msg = load_fails (b, fd, NULL);

      EXPECT_STRSTR (msg, "refused");
    }
  {
    const struct tfile files[] = {
      { "manifest.json", "[]", 0, 'f' },
      { "x/link", "../../etc/passwd", 0, 'l' },
    };
    cleanup_close int fd = write_tar (files, SBX_N_ELEMENTS (files), NULL);
    cleanup_free char *msg = load_fails (b, fd, NULL);

    EXPECT_STRSTR (msg, "leaves the archive");
  }
  EXPECT_EQ (count_entries (b, "tmp"), 0);
  sbx_store_close (b);
}

TEST (load_follows_links_inside_the_archive)
{
  /* podman's layout: the layer at <diffid>.tar, linked from <id>/layer.tar.  */
  struct sbx_store *b = open_store ("b");
  size_t len = 0;
  cleanup_free char *tar = layer_tar (&len);
  cleanup_free char *config = NULL;
  cleanup_loaded struct loaded l = { 0 };
  cleanup_close int fd = -1;
  struct sbx_digest diff_id;

  sbx_digest_buf (tar, len, &diff_id);
  config = config_for (&diff_id);
  {
    const struct tfile files[] = {
      { "d.tar", tar, len, 'f' },
      { "c.json", config, 0, 'f' },
      { "id/layer.tar", "../d.tar", 0, 'l' },
      { "manifest.json",
        "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\",\"b:2\"],\"Layers\":[\"id/layer.tar\"]}]", 0,
        'f' },
    };
    fd = write_tar (files, SBX_N_ELEMENTS (files), NULL);
  }
  load_ok (b, fd, &l);
  ASSERT_EQ (l.n, 2);
  EXPECT_STREQ (l.names[0], "a:1");
  EXPECT_STREQ (l.names[1], "b:2");
  EXPECT_STREQ (l.manifests[0].hex, l.manifests[1].hex);
  sbx_store_close (b);
}

TEST (load_explains_what_is_not_an_image_archive)
{
  struct sbx_store *b = open_store ("b");
  const struct tfile files[] = { { "x.json", "{}", 0, 'f' } };
  const struct tfile broken[] = { { "manifest.json", "[{\"Config\": }]", 0, 'f' } };
  cleanup_close int fd = write_tar (files, SBX_N_ELEMENTS (files), NULL);
  cleanup_close int fd2 = write_tar (broken, SBX_N_ELEMENTS (broken), NULL);
  cleanup_close int text = new_memfd ();
  cleanup_free char *m1 = NULL;
  cleanup_free char *m2 = NULL;
  cleanup_free char *m3 = NULL;

  m1 = load_fails (b, fd, NULL);
  EXPECT_STREQ (m1, "not an image archive: no manifest.json or oci-layout");
  m2 = load_fails (b, fd2, NULL);
  EXPECT_STRSTR (m2, "manifest.json: invalid JSON");
  ASSERT_EQ (write (text, "hello, world\n", 13), 13);
  ASSERT_EQ (lseek (text, 0, SEEK_SET), 0);
  m3 = load_fails (b, text, NULL);
  EXPECT_STRSTR (m3, "not an image archive");
  sbx_store_close (b);
}

/* ---- OCI layouts made by hand ---- */

TEST (oci_index_picks_the_host_platform)
{
  struct sbx_store *a = open_store ("a"), *b = open_store ("b");
  cleanup_test_image struct test_image img = { 0 };
  const char *os, *arch, *variant;
  cleanup_free char *index = NULL;
  cleanup_free char *top = NULL;
  cleanup_free char *manifest = NULL;
  cleanup_free char *layer = NULL;
  cleanup_loaded struct loaded l = { 0 };
  cleanup_close int fd = -1;
  struct sbx_digest index_digest;
  struct sbx_error *err = NULL;
  size_t mlen = 0, llen = 0;
  char dm[SBX_DIGEST_STR_MAX], di[SBX_DIGEST_STR_MAX];

  make_image (a, true, &img);
  manifest = sbx_store_read_blob (a, &img.manifest, 1 << 20, &mlen, &err);
  layer = sbx_store_read_blob (a, &img.layer, 1 << 20, &llen, &err);
  ASSERT_NOT_NULL (manifest);
  ASSERT_NOT_NULL (layer);
  sbx_platform_host (&os, &arch, &variant);
  /* The other platform's manifest is not in the archive: it is not needed.  */
  index = xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
                     "{\"mediaType\":\"%s\",\"digest\":\"sha256:%064d\",\"size\":1,"
                     "\"platform\":{\"os\":\"linux\",\"architecture\":\"mips\"}},"
                     "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
                     "\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"}}]}",
                     SBX_MT_OCI_INDEX, SBX_MT_OCI_MANIFEST, 0, SBX_MT_OCI_MANIFEST,
                     sbx_digest_format (&img.manifest, dm), mlen, os, arch);
  sbx_digest_buf (index, strlen (index), &index_digest);
  top = xasprintf ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
                   "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
                   SBX_MT_OCI_INDEX, sbx_digest_format (&index_digest, di), strlen (index));
  {
    cleanup_free char *pi = xasprintf ("blobs/sha256/%s", index_digest.hex);
    cleanup_free char *pm = xasprintf ("blobs/sha256/%s", img.manifest.hex);
    cleanup_free char *pc = xasprintf ("./blobs/sha256/%s", img.config.hex);
    cleanup_free char *pl = xasprintf ("blobs//sha256/%s", img.layer.hex);
    const struct tfile files[] = {
      { "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}", 0, 'f' },
      { "index.json", top, 0, 'f' },
      { pi, index, 0, 'f' },
      { pm, manifest, mlen, 'f' },
      { pc, img.config_json, 0, 'f' },
      { pl, layer, llen, 'f' },
    };
    fd = write_tar (files, SBX_N_ELEMENTS (files), "gzip");
  }
  load_ok (b, fd, &l);
  ASSERT_EQ (l.n, 1);
  EXPECT_STREQ (l.names[0], "localhost/loaded:v1");
  EXPECT_STREQ (l.manifests[0].hex, img.manifest.hex);
  EXPECT_TRUE (sbx_store_has_blob (b, &img.layer));
  sbx_store_close (a);
  sbx_store_close (b);
}

TEST (oci_blob_must_match_its_digest)
{
  struct sbx_store *a = open_store ("a"), *b = open_store ("b");
  cleanup_test_image struct test_image img = { 0 };
  cleanup_free char *manifest = NULL;
  cleanup_free char *top = NULL;
  cleanup_free char *msg = NULL;
  cleanup_close int fd = -1;
  struct sbx_error *err = NULL;
  size_t mlen = 0;
  int code = 0;
  char dm[SBX_DIGEST_STR_MAX];

  make_image (a, false, &img);
  manifest = sbx_store_read_blob (a, &img.manifest, 1 << 20, &mlen, &err);
  ASSERT_NOT_NULL (manifest);
  top = xasprintf ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
                   "\"size\":%zu}]}",
                   SBX_MT_OCI_MANIFEST, sbx_digest_format (&img.manifest, dm), mlen);
  {
    cleanup_free char *pm = xasprintf ("blobs/sha256/%s", img.manifest.hex);
    cleanup_free char *pc = xasprintf ("blobs/sha256/%s", img.config.hex);
    const struct tfile files[] = {
      { "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0, 'f' },
      { "index.json", top, 0, 'f' },
      { pm, manifest, mlen, 'f' },
      { pc, "{\"tampered\":true}", 0, 'f' },
    };
    fd = write_tar (files, SBX_N_ELEMENTS (files), NULL);
  }
  msg = load_fails (b, fd, &code);
  EXPECT_EQ (code, EBADMSG);
  EXPECT_STRSTR (msg, img.config.hex);
  EXPECT_FALSE (sbx_store_has_blob (b, &img.config));
  sbx_store_close (a);
  sbx_store_close (b);
}

/* ---- import ---- */

static void
check_import (int fd, const char *want_mt, const struct sbx_digest *want_diff_id,
              const struct sbx_digest *want_layer)
{
  struct sbx_store *s = open_store ("s");
  struct sbx_digest manifest;
  struct sbx_image *img = NULL;
  struct sbx_error *err = NULL;
  const char *os, *arch, *variant;

  if (sbx_archive_import (s, fd, &manifest, &err) < 0)
    sbx_test_fail (true, __FILE__, __LINE__, "import: %s", err->msg);
  ASSERT_EQ (sbx_image_load (s, &manifest, &img, &err), 0);
  sbx_platform_host (&os, &arch, &variant);
  ASSERT_EQ (img->manifest->n_layers, 1);
  EXPECT_STREQ (img->manifest->layers[0].media_type, want_mt);
  EXPECT_STREQ (img->manifest->layers[0].digest.hex, want_layer->hex);
  ASSERT_EQ (img->config->n_diff_ids, 1);
  EXPECT_STREQ (img->config->diff_ids[0].hex, want_diff_id->hex);
  EXPECT_STREQ (img->config->arch, arch);
  EXPECT_STREQ (img->config->os, "linux");
  EXPECT_NOT_NULL (img->config->created);
  ASSERT_NOT_NULL (img->config->env);
  EXPECT_STRSTR (img->config->env[0], "PATH=/usr/local/sbin:");
  EXPECT_STRSTR (img->config_json, "\"created_by\": \"sbx import\"");
  sbx_image_free (img);
  sbx_store_close (s);
}

TEST (import_plain_tar)
{
  size_t len = 0;
  cleanup_free char *tar = layer_tar (&len);
  cleanup_close int fd = new_memfd ();
  struct sbx_digest d;

  sbx_digest_buf (tar, len, &d);
  ASSERT_EQ (write (fd, tar, len), (ssize_t) len);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  check_import (fd, SBX_MT_OCI_LAYER, &d, &d);
}

TEST (import_gzip_tar)
{
  size_t len = 0, glen = 0;
  cleanup_free char *tar = layer_tar (&len);
  cleanup_close int fd = gzip_buf (tar, len);
  cleanup_free char *gz = slurp (fd, &glen);
  struct sbx_digest d, g;

  sbx_digest_buf (tar, len, &d);
  sbx_digest_buf (gz, glen, &g);
  check_import (fd, SBX_MT_OCI_LAYER_GZIP, &d, &g);
}

TEST (import_refuses_what_is_not_a_tar)
{
  struct sbx_store *s = open_store ("s");
  cleanup_close int fd = new_memfd ();
  struct sbx_digest manifest;
  struct sbx_error *err = NULL;
  char junk[2048];

  memset (junk, 'x', sizeof junk);
  ASSERT_EQ (write (fd, junk, sizeof junk), (ssize_t) sizeof junk);
  ASSERT_EQ (lseek (fd, 0, SEEK_SET), 0);
  ASSERT_EQ (sbx_archive_import (s, fd, &manifest, &err), -1);
  EXPECT_STRSTR (err->msg, "not a tar archive");
  sbx_error_free (err);
  sbx_store_close (s);
}

TEST_MAIN

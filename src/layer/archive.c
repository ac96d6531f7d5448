/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image archives: `sbx save`, `sbx load` and `sbx import`.

   docker-archive (what `docker save` before 25 and `podman save` write):
     <diffid-hex>/layer.tar   every layer, uncompressed
     <config-hex>.json        the image config, as stored
     manifest.json            [{"Config":…,"RepoTags":[…],"Layers":[…]}]
     repositories             {"repo":{"tag":"<top layer dir>"}} (legacy)
   oci-archive: a tar of an OCI image layout
     oci-layout               {"imageLayoutVersion":"1.0.0"}
     index.json               one manifest descriptor per name
     blobs/sha256/<hex>       manifest, config and layers, as stored

   Loading extracts the regular files of the archive into a staging
   directory under the store's tmp/ under flat names (f0, f1, …), so no path
   taken from the archive is ever created on disk; links are not created
   either, they are remembered as aliases inside the archive (podman links
   <id>/layer.tar to ../<diffid>.tar).  Then every blob an image needs is
   verified against its digest while it is copied into the store.

   The JSON documents of the two formats (manifest.json, oci-layout,
   index.json) are read with sbx_json_parse_strict(): a member name given
   twice is refused, so no two readers of an archive can disagree on what
   it says.  Only the built-in gzip and zstd decoders of libarchive are
   enabled: no external program ever runs on an archive.  */
#define SBX_LOG_MODULE "archive"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "layer/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define MAX_JSON (4 << 20)    /* manifest.json, index.json, configs, manifests */
#define MAX_ENTRIES (1 << 16) /* entries of an archive */
#define MAX_NAME 4096         /* an entry's path */
#define MAX_LINK_HOPS 16      /* aliases followed to reach a file */
#define MAX_INDEX_DEPTH 4     /* nested indexes in an OCI layout */
#define BLOCK_SIZE (1024 * 1024)

#define ANN_CONTAINERD_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void
archive_read_cleanup (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}
#define cleanup_archive_read __attribute__ ((cleanup (archive_read_cleanup)))

static void
archive_write_cleanup (struct archive **a)
{
  if (*a)
    archive_write_free (*a);
}
#define cleanup_archive_write __attribute__ ((cleanup (archive_write_cleanup)))

static void
image_cleanup (struct sbx_image **img)
{
  sbx_image_free (*img);
}
#define cleanup_image __attribute__ ((cleanup (image_cleanup)))

static void
manifest_cleanup (struct sbx_manifest **m)
{
  sbx_manifest_free (*m);
}
#define cleanup_manifest __attribute__ ((cleanup (manifest_cleanup)))

static void
config_cleanup (struct sbx_image_config **c)
{
  sbx_image_config_free (*c);
}
#define cleanup_config __attribute__ ((cleanup (config_cleanup)))

static int
ar_error (struct archive *a, const char *what, struct sbx_error **err)
{
  const char *msg = archive_error_string (a);
  int code = archive_errno (a);

  return sbx_err (err, code > 0 ? code : EIO, "%s: %s", what, msg ? msg : "unknown error");
}

/* Enable a decompression filter only when libarchive has it built in
   (VERSION is NULL otherwise): its fallback would run an external program.  */
static int
enable_filter (struct archive *a, int (*enable) (struct archive *), const char *version,
               const char *name, struct sbx_error **err)
{
  if (version == NULL)
    {
      sbx_debug ("libarchive has no built-in %s decoder", name);
      return 0;
    }
  if (enable (a) != ARCHIVE_OK)
    return ar_error (a, name, err);
  return 0;
}

static int
enable_filters (struct archive *a, struct sbx_error **err)
{
  if (enable_filter (a, archive_read_support_filter_gzip, archive_zlib_version (), "gzip", err) < 0
      || enable_filter (a, archive_read_support_filter_zstd, archive_libzstd_version (), "zstd",
                        err)
             < 0)
    return -1;
  return 0;
}

/* ---- the decompressed bytes of a stream ---- */

typedef int (*sink_fn) (void *arg, const void *buf, size_t len, struct sbx_error **err);

/* Read FD (from its current offset) to the end, decompressed if it is gzip
   or zstd, hashing it: *DIGEST and *SIZE get the sha256 and the length of
   the decompressed bytes, SINK (may be NULL) gets every block, and FIRST
   (may be NULL) the first FIRST_LEN of them (zero-filled if shorter).  */
static int
read_decompressed (int fd, sink_fn sink, void *arg, unsigned char *first, size_t first_len,
                   struct sbx_digest *digest, uint64_t *size, struct sbx_error **err)
{
  cleanup_archive_read struct archive *a = archive_read_new ();
  struct sbx_sha256 *h = NULL;
  struct archive_entry *e = NULL;
  uint64_t n = 0;
  int r;

  if (a == NULL)
    xoom ();
  if (first)
    memset (first, 0, first_len);
  if (enable_filters (a, err) < 0)
    return -1;
  if (archive_read_support_format_raw (a) != ARCHIVE_OK)
    return ar_error (a, "libarchive", err);
  if (archive_read_open_fd (a, fd, BLOCK_SIZE) != ARCHIVE_OK)
    return ar_error (a, "open stream", err);
  r = archive_read_next_header (a, &e);
  if (r == ARCHIVE_EOF)
    return sbx_err (err, EINVAL, "empty stream");
  if (r < ARCHIVE_WARN)
    return ar_error (a, "read stream", err);
  h = sbx_sha256_new ();
  for (;;)
    {
      const void *buf = NULL;
      size_t len = 0;
      la_int64_t off;

      r = archive_read_data_block (a, &buf, &len, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          sbx_sha256_free (h);
          return ar_error (a, "decompress", err);
        }
      if (first && n < first_len)
        memcpy (first + n, buf, len < first_len - n ? len : first_len - n);
      sbx_sha256_update (h, buf, len);
      n += len;
      if (sink && sink (arg, buf, len, err) < 0)
        {
          sbx_sha256_free (h);
          return -1;
        }
    }
  sbx_sha256_final (h, digest);
  sbx_sha256_free (h);
  *size = n;
  return 0;
}

enum compression
{
  COMPRESSION_NONE,
  COMPRESSION_GZIP,
  COMPRESSION_ZSTD,
};

/* The compression of FD from its first bytes (read with pread).  */
static int
sniff_compression (int fd, enum compression *out, struct sbx_error **err)
{
  static const unsigned char gzip[] = { 0x1f, 0x8b };
  static const unsigned char zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };
  unsigned char magic[4] = { 0 };
  ssize_t n = pread (fd, magic, sizeof magic, 0);

  if (n < 0)
    return sbx_err_errno (err, "read");
  *out = COMPRESSION_NONE;
  if (n >= 2 && memcmp (magic, gzip, sizeof gzip) == 0)
    *out = COMPRESSION_GZIP;
  else if (n >= 4 && memcmp (magic, zstd, sizeof zstd) == 0)
    *out = COMPRESSION_ZSTD;
  return 0;
}

static const char *
layer_media_type (enum compression c)
{
  return c == COMPRESSION_GZIP   ? SBX_MT_OCI_LAYER_GZIP
         : c == COMPRESSION_ZSTD ? SBX_MT_OCI_LAYER_ZSTD
                                 : SBX_MT_OCI_LAYER;
}

/* ---- writing: save ---- */

static int
tar_header (struct archive *a, const char *path, bool dir, int64_t size, struct sbx_error **err)
{
  struct archive_entry *e = archive_entry_new ();
  int r;

  if (e == NULL)
    xoom ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm (e, dir ? 0755 : 0644);
  archive_entry_set_size (e, dir ? 0 : size);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  archive_entry_set_mtime (e, 0, 0); /* reproducible: the same image, the same bytes */
  r = archive_write_header (a, e);
  archive_entry_free (e);
  if (r < ARCHIVE_WARN)
    return sbx_err (err, archive_errno (a) > 0 ? archive_errno (a) : EIO, "write `%s`: %s", path,
                    archive_error_string (a) ? archive_error_string (a) : "unknown error");
  return 0;
}

static int
tar_data (void *arg, const void *buf, size_t len, struct sbx_error **err)
{
  struct archive *a = arg;
  const char *p = buf;

  while (len > 0)
    {
      la_ssize_t n = archive_write_data (a, p, len);

      if (n <= 0)
        return ar_error (a, "write archive", err);
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
tar_mem (struct archive *a, const char *path, const char *data, struct sbx_error **err)
{
  size_t len = strlen (data);

  if (tar_header (a, path, false, (int64_t) len, err) < 0 || tar_data (a, data, len, err) < 0)
    return -1;
  return 0;
}

/* Copy the stored blob D into the archive as PATH.  */
static int
tar_blob (struct archive *a, struct sbx_store *s, const char *path, const struct sbx_digest *d,
          struct sbx_error **err)
{
  cleanup_close int fd = sbx_store_open_blob (s, d, err);
  cleanup_free char *buf = NULL;
  struct stat st;
  uint64_t left;

  if (fd < 0)
    return -1;
  if (fstat (fd, &st) < 0)
    return sbx_err_errno (err, "stat blob sha256:%.12s", d->hex);
  if (tar_header (a, path, false, st.st_size, err) < 0)
    return -1;
  buf = xmalloc (BLOCK_SIZE);
  for (left = (uint64_t) st.st_size; left > 0;)
    {
      ssize_t n = read (fd, buf, left < BLOCK_SIZE ? left : BLOCK_SIZE);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "read blob sha256:%.12s", d->hex);
      if (n == 0)
        return sbx_err (err, EIO, "blob sha256:%.12s shrank while it was read", d->hex);
      if (tar_data (a, buf, (size_t) n, err) < 0)
        return -1;
      left -= (uint64_t) n;
    }
  return 0;
}

/* Write the layer blob D uncompressed as PATH, checking that its content is
   DIFF_ID.  A tar header needs the size first, so a compressed layer is
   read twice: once to size and verify it, once to copy it.  */
static int
tar_layer (struct archive *a, struct sbx_store *s, const char *path, const struct sbx_digest *d,
           const struct sbx_digest *diff_id, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  cleanup_close int fd2 = -1;
  struct sbx_digest got, again;
  uint64_t size = 0, size2 = 0;

  if (sbx_digest_equal (d, diff_id))
    return tar_blob (a, s, path, d, err); /* stored uncompressed and verified */
  fd = sbx_store_open_blob (s, d, err);
  if (fd < 0)
    return -1;
  if (read_decompressed (fd, NULL, NULL, NULL, 0, &got, &size, err) < 0)
    return sbx_err_prefix (err, "layer sha256:%.12s", d->hex);
  if (! sbx_digest_equal (&got, diff_id))
    return sbx_err (err, EBADMSG,
                    "layer sha256:%.12s: its content (sha256:%.12s) does not match the image's "
                    "DiffID sha256:%.12s",
                    d->hex, got.hex, diff_id->hex);
  fd2 = sbx_store_open_blob (s, d, err);
  if (fd2 < 0 || tar_header (a, path, false, (int64_t) size, err) < 0)
    return -1;
  if (read_decompressed (fd2, tar_data, a, NULL, 0, &again, &size2, err) < 0)
    return sbx_err_prefix (err, "layer sha256:%.12s", d->hex);
  if (size2 != size || ! sbx_digest_equal (&again, diff_id))
    return sbx_err (err, EIO, "layer sha256:%.12s changed while it was read", d->hex);
  return 0;
}

/* "docker.io/library/busybox:latest" → "busybox:latest", as Docker prints
   it; NULL for a name without a tag (RepoTags hold tagged names only).  */
static char *
familiar_tagged (const char *name)
{
  const char *slash = strrchr (name, '/');
  const char *colon = strrchr (slash ? slash : name, ':');

  if (strchr (name, '@') || colon == NULL)
    return NULL;
  if (strncmp (name, "docker.io/library/", 18) == 0 && strchr (name + 18, '/') == NULL)
    return xstrdup (name + 18);
  if (strncmp (name, "docker.io/", 10) == 0)
    return xstrdup (name + 10);
  return xstrdup (name);
}

/* The tag of a tagged NAME ("" when it has none), in a buffer of its own.  */
static char *
tag_of (const char *name)
{
  const char *slash = strrchr (name, '/');
  const char *colon = strrchr (slash ? slash : name, ':');

  if (strchr (name, '@') || colon == NULL)
    return xstrdup ("");
  return xstrdup (colon + 1);
}

/* {"repo":{"tag":"<top layer>"}} of the legacy format.  */
static char *
docker_repositories (char *const *tagged, const char *top)
{
  cleanup_json struct sbx_json *root = sbx_json_object ();
  size_t i, j;

  for (i = 0; tagged && tagged[i]; i++)
    {
      size_t repo_len = (size_t) (strrchr (tagged[i], ':') - tagged[i]);
      struct sbx_json *tags;
      bool seen = false;

      for (j = 0; j < i && ! seen; j++)
        seen = strncmp (tagged[j], tagged[i], repo_len + 1) == 0;
      if (seen)
        continue;
      tags = sbx_json_object ();
      for (j = i; tagged[j]; j++)
        if (strncmp (tagged[j], tagged[i], repo_len + 1) == 0)
          sbx_json_set_str (tags, tagged[j] + repo_len + 1, top);
      {
        cleanup_free char *repo = xstrndup (tagged[i], repo_len);
        sbx_json_set (root, repo, tags);
      }
    }
  return sbx_json_dump (root);
}

static int
save_docker (struct archive *a, struct sbx_store *s, const struct sbx_image *img,
             char *const *names, struct sbx_error **err)
{
  cleanup_json struct sbx_json *doc = sbx_json_array ();
  cleanup_strv char **tagged = NULL;
  cleanup_free char *cfgpath = xasprintf ("%s.json", img->config_digest.hex);
  cleanup_free char *manifest = NULL;
  cleanup_free char *repos = NULL;
  struct sbx_json *entry = sbx_json_object ();
  struct sbx_json *tags = sbx_json_array ();
  struct sbx_json *layers = sbx_json_array ();
  size_t i, j;

  sbx_json_append (doc, entry);
  for (i = 0; names && names[i]; i++)
    {
      char *t = familiar_tagged (names[i]);

      if (t && ! sbx_strv_contains (tagged, t))
        sbx_strv_push (&tagged, t);
      free (t);
    }
  for (i = 0; tagged && tagged[i]; i++)
    sbx_json_append_str (tags, tagged[i]);
  for (i = 0; i < img->manifest->n_layers; i++)
    {
      const struct sbx_digest *diff_id = &img->config->diff_ids[i];
      cleanup_free char *dir = xasprintf ("%s/", diff_id->hex);
      cleanup_free char *path = xasprintf ("%s/layer.tar", diff_id->hex);
      bool dup = false;

      sbx_json_append_str (layers, path);
      for (j = 0; j < i && ! dup; j++)
        dup = sbx_digest_equal (&img->config->diff_ids[j], diff_id);
      if (dup)
        continue; /* the same layer twice: one file, listed twice */
      if (tar_header (a, dir, true, 0, err) < 0
          || tar_layer (a, s, path, &img->manifest->layers[i].digest, diff_id, err) < 0)
        return -1;
    }
  sbx_json_set_str (entry, "Config", cfgpath);
  sbx_json_set (entry, "RepoTags", tags);
  sbx_json_set (entry, "Layers", layers);
  manifest = sbx_json_dump (doc);
  repos = docker_repositories (tagged, img->manifest->n_layers
                                           ? img->config->diff_ids[img->manifest->n_layers - 1].hex
                                           : "");
  if (tar_blob (a, s, cfgpath, &img->config_digest, err) < 0
      || tar_mem (a, "manifest.json", manifest, err) < 0)
    return -1;
  if (tagged && img->manifest->n_layers && tar_mem (a, "repositories", repos, err) < 0)
    return -1;
  return 0;
}

static struct sbx_json *
oci_descriptor (const struct sbx_image *img, int64_t size, const char *name)
{
  struct sbx_json *d = sbx_json_object ();
  char buf[SBX_DIGEST_STR_MAX];

  sbx_json_set_str (d, "mediaType", img->manifest->media_type);
  sbx_json_set_str (d, "digest", sbx_digest_format (&img->manifest_digest, buf));
  sbx_json_set_int (d, "size", size);
  if (name)
    {
      struct sbx_json *ann = sbx_json_object ();
      cleanup_free char *tag = tag_of (name);

      sbx_json_set_str (ann, ANN_CONTAINERD_NAME, name);
      if (*tag)
        sbx_json_set_str (ann, ANN_REF_NAME, tag);
      sbx_json_set (d, "annotations", ann);
    }
  return d;
}

static int
save_oci (struct archive *a, struct sbx_store *s, const struct sbx_image *img, char *const *names,
          struct sbx_error **err)
{
  cleanup_json struct sbx_json *layout = sbx_json_object ();
  cleanup_json struct sbx_json *index = sbx_json_object ();
  cleanup_free char *layout_text = NULL;
  cleanup_free char *index_text = NULL;
  struct sbx_json *manifests = sbx_json_array ();
  int64_t msize = sbx_store_blob_size (s, &img->manifest_digest);
  size_t i, j;

  sbx_json_set_str (layout, "imageLayoutVersion", "1.0.0");
  sbx_json_set_int (index, "schemaVersion", 2);
  sbx_json_set_str (index, "mediaType", SBX_MT_OCI_INDEX);
  /* One descriptor per name, as containerd and Docker write them.  */
  for (i = 0; names && names[i]; i++)
    sbx_json_append (manifests, oci_descriptor (img, msize, names[i]));
  if (names == NULL || names[0] == NULL)
    sbx_json_append (manifests, oci_descriptor (img, msize, NULL));
  sbx_json_set (index, "manifests", manifests);
  layout_text = sbx_json_dump (layout);
  index_text = sbx_json_dump (index);
  if (tar_mem (a, "oci-layout", layout_text, err) < 0
      || tar_mem (a, "index.json", index_text, err) < 0
      || tar_header (a, "blobs/", true, 0, err) < 0
      || tar_header (a, "blobs/sha256/", true, 0, err) < 0)
    return -1;
  {
    cleanup_free char *mpath = xasprintf ("blobs/sha256/%s", img->manifest_digest.hex);
    cleanup_free char *cpath = xasprintf ("blobs/sha256/%s", img->config_digest.hex);

    if (tar_blob (a, s, mpath, &img->manifest_digest, err) < 0
        || tar_blob (a, s, cpath, &img->config_digest, err) < 0)
      return -1;
  }
  for (i = 0; i < img->manifest->n_layers; i++)
    {
      const struct sbx_digest *d = &img->manifest->layers[i].digest;
      cleanup_free char *path = xasprintf ("blobs/sha256/%s", d->hex);
      bool dup = sbx_digest_equal (d, &img->config_digest);

      for (j = 0; j < i && ! dup; j++)
        dup = sbx_digest_equal (&img->manifest->layers[j].digest, d);
      if (! dup && tar_blob (a, s, path, d, err) < 0)
        return -1;
    }
  return 0;
}

int
sbx_archive_save (struct sbx_store *s, const struct sbx_digest *manifest, char *const *names,
                  const char *format, int fd, struct sbx_error **err)
{
  cleanup_image struct sbx_image *img = NULL;
  cleanup_archive_write struct archive *a = NULL;
  bool oci;
  int r;

  if (format == NULL || strcmp (format, "docker-archive") == 0)
    oci = false;
  else if (strcmp (format, "oci-archive") == 0)
    oci = true;
  else
    return sbx_err (err, EINVAL,
                    "unknown archive format `%s`: expected docker-archive or "
                    "oci-archive",
                    format);
  if (sbx_image_load (s, manifest, &img, err) < 0)
    return -1;
  a = archive_write_new ();
  if (a == NULL)
    xoom ();
  /* No padding to a 10 KiB record: libarchive would pad for a pipe or
     stdout only, and the same image must give the same bytes anywhere.  */
  if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (a, 1) != ARCHIVE_OK)
    return ar_error (a, "libarchive", err);
  if (archive_write_open_fd (a, fd) != ARCHIVE_OK)
    return ar_error (a, "open archive", err);
  r = oci ? save_oci (a, s, img, names, err) : save_docker (a, s, img, names, err);
  if (r < 0)
    return -1;
  if (archive_write_close (a) != ARCHIVE_OK)
    return ar_error (a, "finish archive", err);
  return 0;
}

/* ---- reading: load ---- */

struct staged_entry
{
  char *path;    /* normalised path in the archive */
  char *link;    /* alias of this path (normalised), or NULL for a file */
  unsigned file; /* staged as "f<file>" when LINK is NULL */
};

struct loader
{
  struct sbx_store *store;
  char *stage; /* absolute path of the staging directory */
  int stagefd;
  struct staged_entry *entries;
  size_t n_entries;
  unsigned n_files;
  /* the result: parallel, NAMES NULL-terminated */
  char **names;
  struct sbx_digest *manifests;
  size_t n_out;
};

static void
loader_release (struct loader *l)
{
  struct sbx_error *ignored = NULL;
  size_t i;

  if (l->stagefd >= 0)
    (void) close (l->stagefd);
  if (l->stage && sbx_fs_rm_rf_at (AT_FDCWD, l->stage, &ignored) < 0)
    {
      sbx_debug ("remove `%s`: %s", l->stage, ignored->msg);
      sbx_error_clear (&ignored);
    }
  free (l->stage);
  for (i = 0; i < l->n_entries; i++)
    {
      free (l->entries[i].path);
      free (l->entries[i].link);
    }
  free (l->entries);
  sbx_strv_free (l->names);
  free (l->manifests);
}
#define cleanup_loader __attribute__ ((cleanup (loader_release)))

/* Normalise an archive path: "./a//b/" → "a/b".  Absolute names and ".."
   are refused (NULL), unless BASE is given: then PATH is a symlink target
   relative to the directory BASE, and ".." may climb as long as it stays
   inside the archive.  */
static char *
normalize_path (const char *path, const char *base)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  cleanup_free char *copy = NULL;
  char *save = NULL, *c;

  if (path == NULL || *path == '\0' || strlen (path) > MAX_NAME)
    return NULL;
  if (*path == '/')
    return NULL;
  copy = base && *base ? xasprintf ("%s/%s", base, path) : xstrdup (path);
  for (c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          char *up;

          if (base == NULL || sb.len == 0)
            return NULL;
          up = strrchr (sb.buf, '/');
          sb.len = up ? (size_t) (up - sb.buf) : 0;
          sb.buf[sb.len] = '\0';
          continue;
        }
      if (sb.len)
        sbx_strbuf_addch (&sb, '/');
      sbx_strbuf_addstr (&sb, c);
    }
  return sbx_strbuf_detach (&sb);
}

static void
add_entry (struct loader *l, char *path, char *link)
{
  struct staged_entry *e;

  l->entries = xrealloc (l->entries, xmul (l->n_entries + 1, sizeof *l->entries));
  e = &l->entries[l->n_entries++];
  e->path = path;
  e->link = link;
  e->file = link ? 0 : l->n_files++;
}

static int
extract_file (struct loader *l, struct archive *a, char *path, struct sbx_error **err)
{
  char name[32];
  cleanup_close int fd = -1;

  snprintf (name, sizeof name, "f%u", l->n_files);
  fd = openat (l->stagefd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      free (path);
      return sbx_err_errno (err, "create `%s/%s`", l->stage, name);
    }
  add_entry (l, path, NULL);
  for (;;)
    {
      const void *buf = NULL;
      size_t len = 0;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &len, &off);

      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return ar_error (a, path, err);
      if (sbx_write_all (fd, buf, len, err) < 0)
        return sbx_err_prefix (err, "extract `%s`", path);
    }
  return 0;
}

/* One entry of the archive: a regular file is staged, a link remembered,
   a directory skipped; anything else is refused.  */
static int
stage_entry (struct loader *l, struct archive *a, struct archive_entry *e, struct sbx_error **err)
{
  const char *raw = archive_entry_pathname (e);
  const char *hard = archive_entry_hardlink (e);
  char *path = normalize_path (raw, NULL);
  char *link;

  if (path == NULL)
    return sbx_err (err, EINVAL, "entry `%s`: an absolute name, or one with `..`, is refused",
                    raw ? raw : "(unreadable name)");
  if (hard)
    {
      link = normalize_path (hard, NULL);
      if (link == NULL)
        {
          free (path);
          return sbx_err (err, EINVAL, "entry `%s`: hard link to `%s` is refused", raw, hard);
        }
      add_entry (l, path, link);
      return 0;
    }
  switch (archive_entry_filetype (e))
    {
    case AE_IFREG:
      return extract_file (l, a, path, err);
    case AE_IFDIR:
      free (path);
      return 0;
    case AE_IFLNK:
      {
        cleanup_free char *dir = xstrdup (path);
        char *slash = strrchr (dir, '/');
        const char *target = archive_entry_symlink (e);

        *(slash ? slash : dir) = '\0';
        link = normalize_path (target, dir);
        if (link == NULL)
          {
            free (path);
            return sbx_err (err, EINVAL, "entry `%s`: symbolic link to `%s` leaves the archive",
                            raw, target ? target : "");
          }
        add_entry (l, path, link);
        return 0;
      }
    default:
      free (path);
      return sbx_err (err, EINVAL, "entry `%s`: not a regular file, directory or link", raw);
    }
}

static int
extract_all (struct loader *l, int fd, struct sbx_error **err)
{
  cleanup_archive_read struct archive *a = archive_read_new ();
  struct archive_entry *e = NULL;
  size_t n = 0;

  if (a == NULL)
    xoom ();
  if (enable_filters (a, err) < 0)
    return -1;
  if (archive_read_support_format_tar (a) != ARCHIVE_OK)
    return ar_error (a, "libarchive", err);
  if (archive_read_open_fd (a, fd, BLOCK_SIZE) != ARCHIVE_OK)
    return ar_error (a, "not an image archive", err);
  for (;;)
    {
      int r = archive_read_next_header (a, &e);

      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return ar_error (a, n == 0 ? "not an image archive" : "read archive", err);
      if (++n > MAX_ENTRIES)
        return sbx_err (err, E2BIG, "the archive has more than %d entries", MAX_ENTRIES);
      if (stage_entry (l, a, e, err) < 0)
        return -1;
    }
  if (n == 0)
    return sbx_err (err, EINVAL, "not an image archive: it is empty");
  return 0;
}

/* The staged file for PATH, following aliases; NULL when there is none.  */
static const struct staged_entry *
find_entry (const struct loader *l, const char *path)
{
  size_t hops, i;

  for (hops = 0; hops < MAX_LINK_HOPS; hops++)
    {
      const struct staged_entry *found = NULL;

      /* The last entry of a name wins, as when tar extracts it.  */
      for (i = l->n_entries; i-- > 0 && ! found;)
        if (strcmp (l->entries[i].path, path) == 0)
          found = &l->entries[i];
      if (found == NULL || found->link == NULL)
        return found;
      path = found->link;
    }
  return NULL;
}

static int
open_entry (const struct loader *l, const char *path, struct sbx_error **err)
{
  cleanup_free char *norm = normalize_path (path, NULL);
  const struct staged_entry *e = norm ? find_entry (l, norm) : NULL;
  char name[32];
  int fd;

  if (e == NULL)
    return sbx_err (err, ENOENT, "`%s` is missing from the archive", path);
  snprintf (name, sizeof name, "f%u", e->file);
  fd = openat (l->stagefd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s/%s`", l->stage, name);
  return fd;
}

static char *
read_entry (const struct loader *l, const char *path, size_t *len, struct sbx_error **err)
{
  cleanup_close int fd = open_entry (l, path, err);
  char *text;

  if (fd < 0)
    return NULL;
  text = sbx_fs_read_fd (fd, MAX_JSON, len, err);
  if (text == NULL)
    sbx_err_prefix (err, "`%s`", path);
  return text;
}

/* The JSON document PATH of the archive, parsed strictly (owned).  */
static struct sbx_json *
read_json (const struct loader *l, const char *path, struct sbx_error **err)
{
  cleanup_free char *text = NULL;
  struct sbx_json *doc;
  size_t len = 0;

  text = read_entry (l, path, &len, err);
  if (text == NULL)
    return NULL;
  doc = sbx_json_parse_strict (text, len, err);
  if (doc == NULL)
    sbx_err_prefix (err, "%s", path);
  return doc;
}

static bool
has_entry (const struct loader *l, const char *path)
{
  return find_entry (l, path) != NULL;
}

static void
add_image (struct loader *l, const char *name, const struct sbx_digest *manifest)
{
  sbx_strv_push (&l->names, name ? name : "");
  l->manifests = xrealloc (l->manifests, xmul (l->n_out + 1, sizeof *l->manifests));
  l->manifests[l->n_out++] = *manifest;
}

/* An OCI manifest for CONFIG and LAYERS, stored; *OUT gets its digest.  */
static int
put_manifest (struct sbx_store *s, const struct sbx_digest *config, int64_t config_size,
              const struct sbx_descriptor *layers, size_t n, struct sbx_digest *out,
              struct sbx_error **err)
{
  cleanup_json struct sbx_json *m = sbx_json_object ();
  cleanup_free char *text = NULL;
  struct sbx_json *cfg = sbx_json_object ();
  struct sbx_json *arr = sbx_json_array ();
  char buf[SBX_DIGEST_STR_MAX];
  size_t i;

  sbx_json_set_int (m, "schemaVersion", 2);
  sbx_json_set_str (m, "mediaType", SBX_MT_OCI_MANIFEST);
  sbx_json_set_str (cfg, "mediaType", SBX_MT_OCI_CONFIG);
  sbx_json_set_str (cfg, "digest", sbx_digest_format (config, buf));
  sbx_json_set_int (cfg, "size", config_size);
  sbx_json_set (m, "config", cfg);
  for (i = 0; i < n; i++)
    {
      struct sbx_json *d = sbx_json_object ();

      sbx_json_set_str (d, "mediaType", layers[i].media_type);
      sbx_json_set_str (d, "digest", sbx_digest_format (&layers[i].digest, buf));
      sbx_json_set_int (d, "size", layers[i].size);
      sbx_json_append (arr, d);
    }
  sbx_json_set (m, "layers", arr);
  text = sbx_json_dump (m);
  return sbx_store_put_blob (s, text, strlen (text), out, err);
}

/* Store the layer file PATH of a docker-archive, whose content must be
   DIFF_ID: uncompressed as it is (its digest is then DIFF_ID), compressed
   as it is too after checking what it decompresses to.  */
static int
docker_put_layer (struct loader *l, const char *path, const struct sbx_digest *diff_id,
                  struct sbx_descriptor *out, struct sbx_error **err)
{
  cleanup_close int fd = open_entry (l, path, err);
  enum compression c;
  struct sbx_digest got;
  uint64_t size = 0;

  if (fd < 0 || sniff_compression (fd, &c, err) < 0)
    return -1;
  if (c != COMPRESSION_NONE)
    {
      if (read_decompressed (fd, NULL, NULL, NULL, 0, &got, &size, err) < 0)
        return sbx_err_prefix (err, "layer `%s`", path);
      if (! sbx_digest_equal (&got, diff_id))
        return sbx_err (err, EBADMSG,
                        "layer `%s` (sha256:%.12s) does not match the image config's diff_id "
                        "sha256:%.12s",
                        path, got.hex, diff_id->hex);
      if (lseek (fd, 0, SEEK_SET) < 0)
        return sbx_err_errno (err, "seek `%s`", path);
    }
  if (sbx_store_put_blob_fd (l->store, fd, c == COMPRESSION_NONE ? diff_id : NULL, -1, &out->digest,
                             err)
      < 0)
    {
      if (sbx_error_code (*err) == EBADMSG)
        {
          sbx_error_clear (err);
          return sbx_err (err, EBADMSG,
                          "layer `%s` does not match the image config's diff_id sha256:%.12s", path,
                          diff_id->hex);
        }
      return sbx_err_prefix (err, "layer `%s`", path);
    }
  out->size = sbx_store_blob_size (l->store, &out->digest);
  out->media_type = xstrdup (layer_media_type (c));
  return 0;
}

static void
descriptors_free (struct sbx_descriptor *d, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free (d[i].media_type);
  free (d);
}

static int
docker_layers (struct loader *l, const struct sbx_json *layers, const struct sbx_image_config *cfg,
               const struct sbx_digest *config, int64_t config_size, struct sbx_digest *out,
               struct sbx_error **err)
{
  size_t n = sbx_json_array_size (layers), i;
  struct sbx_descriptor *descs = xcalloc (n + 1, sizeof *descs);
  int r = 0;

  if (n != cfg->n_diff_ids)
    r = sbx_err (err, EINVAL, "%zu layers, but the image config lists %zu diff_ids", n,
                 cfg->n_diff_ids);
  for (i = 0; r == 0 && i < n; i++)
    {
      const char *path = sbx_json_string (sbx_json_array_get (layers, i));

      if (path == NULL)
        r = sbx_err (err, EINVAL, "Layers[%zu] is not a string", i);
      else
        r = docker_put_layer (l, path, &cfg->diff_ids[i], &descs[i], err);
    }
  if (r == 0)
    r = put_manifest (l->store, config, config_size, descs, n, out, err);
  descriptors_free (descs, n);
  return r;
}

static int
docker_image (struct loader *l, const struct sbx_json *item, struct sbx_error **err)
{
  const char *cfgpath = sbx_json_string (sbx_json_get (item, "Config"));
  const struct sbx_json *layers = sbx_json_get (item, "Layers");
  const struct sbx_json *tags = sbx_json_get (item, "RepoTags");
  cleanup_config struct sbx_image_config *cfg = NULL;
  cleanup_free char *cfgtext = NULL;
  struct sbx_digest config, manifest;
  size_t len = 0, n_tags, i;
  bool named = false;

  if (cfgpath == NULL || ! sbx_json_is_array (layers))
    return sbx_err (err, EINVAL, "no Config or Layers");
  cfgtext = read_entry (l, cfgpath, &len, err);
  if (cfgtext == NULL || sbx_image_config_parse (cfgtext, len, &cfg, err) < 0
      || sbx_store_put_blob (l->store, cfgtext, len, &config, err) < 0
      || docker_layers (l, layers, cfg, &config, (int64_t) len, &manifest, err) < 0)
    return -1;
  n_tags = sbx_json_array_size (tags); /* 0 for "RepoTags": null, an untagged image */
  for (i = 0; i < n_tags; i++)
    {
      const char *tag = sbx_json_string (sbx_json_array_get (tags, i));

      if (tag && *tag)
        {
          add_image (l, tag, &manifest);
          named = true;
        }
    }
  if (! named)
    add_image (l, NULL, &manifest);
  return 0;
}

static int
load_docker (struct loader *l, struct sbx_error **err)
{
  cleanup_json struct sbx_json *doc = read_json (l, "manifest.json", err);
  size_t i, n;

  if (doc == NULL)
    return -1;
  if (! sbx_json_is_array (doc))
    return sbx_err (err, EINVAL, "manifest.json: not an array");
  n = sbx_json_array_size (doc);
  for (i = 0; i < n; i++)
    if (docker_image (l, sbx_json_array_get (doc, i), err) < 0)
      return sbx_err_prefix (err, "manifest.json[%zu]", i);
  return 0;
}

/* Copy the blob D of an OCI layout into the store, verifying it.  */
static int
oci_put_blob (struct loader *l, const struct sbx_digest *d, int64_t size, struct sbx_error **err)
{
  cleanup_free char *path = xasprintf ("blobs/sha256/%s", d->hex);
  cleanup_close int fd = -1;

  if (sbx_store_blob_size (l->store, d) >= 0
      && (size < 0 || sbx_store_blob_size (l->store, d) == size))
    return 0; /* stored (and verified) already */
  fd = open_entry (l, path, err);
  if (fd < 0)
    return -1;
  if (sbx_store_put_blob_fd (l->store, fd, d, size, NULL, err) < 0)
    return sbx_err_prefix (err, "`%s`", path);
  return 0;
}

static char *
oci_read_blob (struct loader *l, const struct sbx_descriptor *d, size_t *len,
               struct sbx_error **err)
{
  if (oci_put_blob (l, &d->digest, d->size, err) < 0)
    return NULL;
  return sbx_store_read_blob (l->store, &d->digest, MAX_JSON, len, err);
}

/* Store the image of descriptor D (an image manifest, or an index to pick
   the host's platform from) and everything it refers to; *OUT gets the
   image manifest's digest.  */
static int
oci_image (struct loader *l, const struct sbx_descriptor *d, int depth, struct sbx_digest *out,
           struct sbx_error **err)
{
  cleanup_manifest struct sbx_manifest *m = NULL;
  cleanup_config struct sbx_image_config *cfg = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *cfgtext = NULL;
  size_t len = 0, i;

  if (depth > MAX_INDEX_DEPTH)
    return sbx_err (err, ELOOP, "indexes nested more than %d deep", MAX_INDEX_DEPTH);
  text = oci_read_blob (l, d, &len, err);
  if (text == NULL || sbx_manifest_parse (text, len, d->media_type, &m, err) < 0)
    return -1;
  if (m->kind == SBX_MANIFEST_INDEX)
    {
      const char *os, *arch, *variant;
      const struct sbx_descriptor *pick;

      sbx_platform_host (&os, &arch, &variant);
      pick = sbx_manifest_pick (m, os, arch, variant, err);
      if (pick == NULL)
        return -1;
      return oci_image (l, pick, depth + 1, out, err);
    }
  cfgtext = oci_read_blob (l, &m->config, &len, err);
  if (cfgtext == NULL || sbx_image_config_parse (cfgtext, len, &cfg, err) < 0)
    return -1;
  if (cfg->n_diff_ids != m->n_layers)
    return sbx_err (err, EINVAL, "the manifest lists %zu layers, the image config %zu", m->n_layers,
                    cfg->n_diff_ids);
  for (i = 0; i < m->n_layers; i++)
    if (oci_put_blob (l, &m->layers[i].digest, m->layers[i].size, err) < 0)
      return -1;
  *out = d->digest;
  return 0;
}

/* The name an index.json entry gives its image: the full name containerd
   and Docker record, else the ref.name (a bare tag becomes
   "localhost/loaded:TAG"); NULL when none.  */
static char *
oci_name (const struct sbx_json *annotations)
{
  const char *full = sbx_json_string (sbx_json_get (annotations, ANN_CONTAINERD_NAME));
  const char *ref = sbx_json_string (sbx_json_get (annotations, ANN_REF_NAME));

  if (full && *full)
    return xstrdup (full);
  if (ref == NULL || *ref == '\0')
    return NULL;
  if (strpbrk (ref, "/:@") == NULL)
    return xasprintf ("localhost/loaded:%s", ref);
  return xstrdup (ref);
}

static int
oci_entry (struct loader *l, const struct sbx_json *e, struct sbx_error **err)
{
  struct sbx_descriptor d = { 0 };
  cleanup_free char *name = NULL;
  const char *digest = sbx_json_string (sbx_json_get (e, "digest"));
  const struct sbx_json *jsize = sbx_json_get (e, "size");
  struct sbx_digest manifest;
  int64_t size = -1;

  if (digest == NULL)
    return sbx_err (err, EINVAL, "no digest");
  if (sbx_digest_parse (digest, &d.digest, err) < 0)
    return -1;
  if (jsize && (sbx_json_integer (jsize, &size) < 0 || size < 0))
    return sbx_err (err, EINVAL, "invalid size");
  d.size = size;
  d.media_type = (char *) sbx_json_string (sbx_json_get (e, "mediaType"));
  if (oci_image (l, &d, 0, &manifest, err) < 0)
    return -1;
  name = oci_name (sbx_json_get (e, "annotations"));
  add_image (l, name, &manifest);
  return 0;
}

static int
load_oci (struct loader *l, struct sbx_error **err)
{
  cleanup_json struct sbx_json *layout = NULL;
  cleanup_json struct sbx_json *index = NULL;
  const char *version;
  const struct sbx_json *manifests;
  size_t i, n;

  layout = read_json (l, "oci-layout", err);
  if (layout == NULL)
    return -1;
  version = sbx_json_string (sbx_json_get (layout, "imageLayoutVersion"));
  if (version == NULL || strncmp (version, "1.", 2) != 0)
    return sbx_err (err, ENOTSUP, "oci-layout: unsupported imageLayoutVersion `%s`",
                    version ? version : "(none)");
  index = read_json (l, "index.json", err);
  if (index == NULL)
    return -1;
  manifests = sbx_json_get (index, "manifests");
  if (! sbx_json_is_array (manifests))
    return sbx_err (err, EINVAL, "index.json: no \"manifests\" array");
  n = sbx_json_array_size (manifests);
  for (i = 0; i < n; i++)
    if (oci_entry (l, sbx_json_array_get (manifests, i), err) < 0)
      return sbx_err_prefix (err, "index.json: manifests[%zu]", i);
  return 0;
}

int
sbx_archive_load (struct sbx_store *s, int fd, char ***names_out, struct sbx_digest **manifests_out,
                  size_t *n_out, struct sbx_error **err)
{
  cleanup_loader struct loader l = { .store = s, .stagefd = -1 };
  int r;

  if (sbx_store_stage_dir (s, "load", &l.stage, err) < 0)
    return -1;
  l.stagefd = open (l.stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (l.stagefd < 0)
    return sbx_err_errno (err, "open `%s`", l.stage);
  if (extract_all (&l, fd, err) < 0)
    return -1;
  /* Docker 25 writes both: the OCI layout is the whole truth.  */
  if (has_entry (&l, "oci-layout"))
    r = load_oci (&l, err);
  else if (has_entry (&l, "manifest.json"))
    r = load_docker (&l, err);
  else
    r = sbx_err (err, EINVAL, "not an image archive: no manifest.json or oci-layout");
  if (r < 0)
    return -1;
  if (l.n_out == 0)
    return sbx_err (err, EINVAL, "the archive holds no image");
  *names_out = steal_ptr (&l.names);
  *manifests_out = steal_ptr (&l.manifests);
  *n_out = l.n_out;
  return 0;
}

/* ---- import: a root filesystem tarball becomes a one-layer image ---- */

/* true when H is a tar header with a valid checksum, or a zero block (the
   end of an empty archive).  */
static bool
is_tar_header (const unsigned char h[512])
{
  unsigned long sum = 0, want = 0;
  bool zero = true;
  size_t i;

  for (i = 0; i < 512; i++)
    {
      sum += (i >= 148 && i < 156) ? ' ' : h[i];
      zero &= h[i] == 0;
    }
  if (zero)
    return true;
  for (i = 148; i < 156 && h[i] == ' '; i++)
    ;
  for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++)
    want = want * 8 + (unsigned long) (h[i] - '0');
  return sum == want;
}

static char *
now_rfc3339 (void)
{
  time_t t = time (NULL);
  struct tm tm;
  char buf[32];

  if (gmtime_r (&t, &tm) == NULL || strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return xstrdup ("1970-01-01T00:00:00Z");
  return xstrdup (buf);
}

static char *
import_config (const struct sbx_digest *diff_id)
{
  cleanup_json struct sbx_json *c = sbx_json_object ();
  cleanup_free char *created = now_rfc3339 ();
  struct sbx_json *rootfs = sbx_json_object ();
  struct sbx_json *ids = sbx_json_array ();
  struct sbx_json *cfg = sbx_json_object ();
  struct sbx_json *env = sbx_json_array ();
  struct sbx_json *history = sbx_json_array ();
  struct sbx_json *h = sbx_json_object ();
  const char *os, *arch, *variant;
  char buf[SBX_DIGEST_STR_MAX];

  sbx_platform_host (&os, &arch, &variant);
  sbx_json_set_str (c, "created", created);
  sbx_json_set_str (c, "architecture", arch);
  if (variant)
    sbx_json_set_str (c, "variant", variant);
  sbx_json_set_str (c, "os", os);
  sbx_json_append_str (env, DEFAULT_PATH);
  sbx_json_set (cfg, "Env", env);
  sbx_json_set (c, "config", cfg);
  sbx_json_set_str (rootfs, "type", "layers");
  sbx_json_append_str (ids, sbx_digest_format (diff_id, buf));
  sbx_json_set (rootfs, "diff_ids", ids);
  sbx_json_set (c, "rootfs", rootfs);
  sbx_json_set_str (h, "created", created);
  sbx_json_set_str (h, "created_by", "sbx import");
  sbx_json_append (history, h);
  sbx_json_set (c, "history", history);
  return sbx_json_dump (c);
}

int
sbx_archive_import (struct sbx_store *s, int fd, struct sbx_digest *manifest,
                    struct sbx_error **err)
{
  cleanup_close int blobfd = -1;
  cleanup_free char *config = NULL;
  unsigned char first[512];
  struct sbx_descriptor layer = { 0 };
  struct sbx_digest diff_id, config_digest;
  enum compression c;
  uint64_t size = 0;

  /* The tarball is stored as it came (FD may be a pipe), then read back.  */
  if (sbx_store_put_blob_fd (s, fd, NULL, -1, &layer.digest, err) < 0)
    return sbx_err_prefix (err, "store the tarball");
  blobfd = sbx_store_open_blob (s, &layer.digest, err);
  if (blobfd < 0 || sniff_compression (blobfd, &c, err) < 0)
    return -1;
  if (read_decompressed (blobfd, NULL, NULL, first, sizeof first, &diff_id, &size, err) < 0)
    return sbx_err_prefix (err, "read the tarball");
  if (size < sizeof first || ! is_tar_header (first))
    return sbx_err (err, EINVAL, "not a tar archive (gzip, zstd or uncompressed)");
  layer.size = sbx_store_blob_size (s, &layer.digest);
  layer.media_type = (char *) layer_media_type (c);
  config = import_config (&diff_id);
  if (sbx_store_put_blob (s, config, strlen (config), &config_digest, err) < 0)
    return -1;
  return put_manifest (s, &config_digest, (int64_t) strlen (config), &layer, 1, manifest, err);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The build cache: ROOT/build-cache/<key-hex> holds the manifest digest of
   a step's result.  Entries are written to a unique temporary name and
   renamed into place, so concurrent builds only ever see whole entries; a
   hit counts only when the image it names is still complete in the store
   (manifest, config and every layer blob), and `sbx image prune` drops the
   entries whose image is gone (sbx_build_cache_prune).  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/internal.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

void
build_cache_key (const struct sbx_digest *parent, const char *text, const struct sbx_digest *inputs,
                 struct sbx_digest *key)
{
  struct sbx_sha256 *h = sbx_sha256_new ();
  char d[SBX_DIGEST_STR_MAX];

  sbx_sha256_update (h, "sbx-build-cache-1\n", 18);
  sbx_digest_format (parent, d);
  sbx_sha256_update (h, d, strlen (d) + 1);
  sbx_sha256_update (h, text, strlen (text) + 1);
  if (inputs)
    {
      sbx_digest_format (inputs, d);
      sbx_sha256_update (h, d, strlen (d) + 1);
    }
  sbx_sha256_final (h, key);
  sbx_sha256_free (h);
}

/* The manifest digest an entry names, or -1.  */
static int
read_entry (int dirfd, const char *name, struct sbx_digest *out)
{
  struct sbx_error *ignored = NULL;
  cleanup_free char *text = sbx_fs_read_file_at (dirfd, name, 256, NULL, &ignored);

  if (text == NULL)
    {
      sbx_error_clear (&ignored);
      return -1;
    }
  text[strcspn (text, "\n")] = '\0';
  if (sbx_digest_parse (text, out, &ignored) < 0)
    {
      sbx_error_clear (&ignored);
      return -1;
    }
  return 0;
}

bool
build_image_is_complete (struct sbx_store *s, const struct sbx_digest *manifest)
{
  struct sbx_image *img = NULL;
  struct sbx_error *ignored = NULL;
  bool ok;
  size_t i;

  if (! sbx_store_has_blob (s, manifest) || sbx_image_load (s, manifest, &img, &ignored) < 0)
    {
      sbx_error_clear (&ignored);
      return false;
    }
  ok = sbx_store_has_blob (s, &img->config_digest);
  for (i = 0; ok && i < img->manifest->n_layers; i++)
    ok = sbx_store_has_blob (s, &img->manifest->layers[i].digest);
  sbx_image_free (img);
  return ok;
}

bool
build_cache_lookup (struct sbx_store *s, const struct sbx_digest *key, struct sbx_digest *out)
{
  cleanup_free char *path = xasprintf ("%s/build-cache/%s", sbx_store_root (s), key->hex);

  return read_entry (AT_FDCWD, path, out) == 0 && build_image_is_complete (s, out);
}

int
build_cache_store (struct sbx_store *s, const struct sbx_digest *key,
                   const struct sbx_digest *result, struct sbx_error **err)
{
  cleanup_free char *dir = xasprintf ("%s/build-cache", sbx_store_root (s));
  cleanup_free char *tmp = NULL;
  cleanup_free char *path = xasprintf ("%s/%s", dir, key->hex);
  char d[SBX_DIGEST_STR_MAX + 1];
  uint32_t r = 0;
  size_t n;

  if (sbx_fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  if (getrandom (&r, sizeof r, 0) != (ssize_t) sizeof r)
    r = (uint32_t) rand ();
  /* Unique per process and call: two builds writing the same key never
     share a temporary file.  */
  tmp = xasprintf ("%s/.%s.%d.%08x", dir, key->hex, (int) getpid (), r);
  sbx_digest_format (result, d);
  n = strlen (d);
  d[n] = '\n';
  if (sbx_fs_write_file_at (AT_FDCWD, tmp, d, n + 1, 0600, err) < 0)
    {
      (void) unlink (tmp);
      return -1;
    }
  if (rename (tmp, path) < 0)
    {
      (void) unlink (tmp);
      return sbx_err_errno (err, "rename `%s`", tmp);
    }
  return 0;
}

int
sbx_build_cache_prune (struct sbx_store *s, size_t *removed, struct sbx_error **err)
{
  cleanup_free char *dir = xasprintf ("%s/build-cache", sbx_store_root (s));
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *de;

  *removed = 0;
  if (d == NULL)
    return errno == ENOENT ? 0 : sbx_err_errno (err, "open `%s`", dir);
  while ((de = readdir (d)) != NULL)
    {
      struct sbx_digest m;

      if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || strcmp (de->d_name, "..") == 0))
        continue;
      if (de->d_name[0] != '.' && read_entry (dirfd (d), de->d_name, &m) == 0
          && build_image_is_complete (s, &m))
        continue;
      /* A stale entry, or a leftover temporary file (older than a minute:
         a concurrent build may be about to rename it).  */
      if (de->d_name[0] == '.')
        {
          struct stat st;

          if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
              || st.st_mtime > time (NULL) - 60)
            continue;
        }
      if (unlinkat (dirfd (d), de->d_name, 0) < 0 && errno != ENOENT)
        return sbx_err_errno (err, "remove build cache entry `%s`", de->d_name);
      ++*removed;
    }
  return 0;
}

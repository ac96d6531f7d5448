/* SPDX-License-Identifier: GPL-2.0-or-later */
/* images.json: { "refs": { "docker.io/library/busybox:latest": "sha256:…" } }
   Rewritten whole under the store lock: temp file, fsync, rename.  */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define REFS_FILE "images.json"

/* The refs object (a new reference), or NULL with *ERR.  A missing file is
   an empty table.  */
static json_t *
load_refs (struct sbx_store *s, struct sbx_error **err)
{
  cleanup_close int fd = openat (s->rootfd, REFS_FILE, O_RDONLY | O_CLOEXEC);
  cleanup_free char *text = NULL;
  json_auto_t *doc = NULL;
  json_error_t jerr;
  json_t *refs;
  size_t len = 0;

  if (fd < 0 && errno == ENOENT)
    return json_object ();
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", REFS_FILE), NULL;
  text = sbx_fs_read_fd (fd, 64 << 20, &len, err);
  if (text == NULL)
    return sbx_err_prefix (err, "read `%s`", REFS_FILE), NULL;
  doc = json_loadb (text, len, 0, &jerr);
  if (doc == NULL)
    return sbx_err (err, EINVAL, "%s/%s:%d: %s", s->root, REFS_FILE, jerr.line, jerr.text), NULL;
  refs = json_object_get (doc, "refs");
  if (! json_is_object (refs))
    return sbx_err (err, EINVAL, "%s/%s: no \"refs\" object", s->root, REFS_FILE), NULL;
  return json_incref (refs);
}

static int
save_refs (struct sbx_store *s, json_t *refs, struct sbx_error **err)
{
  cleanup_free char *tmp = store_tmp_name ("images");
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;
  json_auto_t *doc = json_pack ("{s:O}", "refs", refs);

  if (doc == NULL)
    xoom ();
  text = json_dumps (doc, JSON_INDENT (2) | JSON_SORT_KEYS);
  if (text == NULL)
    xoom ();
  fd = openat (s->tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return sbx_err_errno (err, "create `tmp/%s`", tmp);
  if (sbx_write_all (fd, text, strlen (text), err) < 0 || sbx_write_all (fd, "\n", 1, err) < 0
      || fsync (fd) < 0)
    {
      if (*err == NULL)
        sbx_err_errno (err, "fsync `tmp/%s`", tmp);
      (void) unlinkat (s->tmpfd, tmp, 0);
      return -1;
    }
  if (renameat (s->tmpfd, tmp, s->rootfd, REFS_FILE) < 0)
    {
      sbx_err_errno (err, "replace `%s`", REFS_FILE);
      (void) unlinkat (s->tmpfd, tmp, 0);
      return -1;
    }
  return 0;
}

int
sbx_store_set_ref (struct sbx_store *s, const char *name, const struct sbx_digest *manifest,
                   struct sbx_error **err)
{
  cleanup_store_lock struct sbx_store_lock lock = { -1 };
  json_auto_t *refs = NULL;
  char buf[SBX_DIGEST_STR_MAX];

  if (sbx_store_lock (s, &lock, err) < 0)
    return -1;
  refs = load_refs (s, err);
  if (refs == NULL)
    return -1;
  if (json_object_set_new (refs, name, json_string (sbx_digest_format (manifest, buf))) < 0)
    xoom ();
  return save_refs (s, refs, err);
}

int
sbx_store_remove_ref (struct sbx_store *s, const char *name, struct sbx_error **err)
{
  cleanup_store_lock struct sbx_store_lock lock = { -1 };
  json_auto_t *refs = NULL;

  if (sbx_store_lock (s, &lock, err) < 0)
    return -1;
  refs = load_refs (s, err);
  if (refs == NULL)
    return -1;
  if (json_object_del (refs, name) < 0)
    return sbx_err (err, ENOENT, "no image named `%s`", name);
  return save_refs (s, refs, err);
}

int
sbx_store_lookup_ref (struct sbx_store *s, const char *name, struct sbx_digest *out,
                      struct sbx_error **err)
{
  json_auto_t *refs = load_refs (s, err);
  const char *v;

  if (refs == NULL)
    return -1;
  v = json_string_value (json_object_get (refs, name));
  if (v == NULL)
    return 0;
  if (sbx_digest_parse (v, out, err) < 0)
    return sbx_err_prefix (err, "%s/%s: `%s`", s->root, REFS_FILE, name);
  return 1;
}

static int
cmp_refs (const void *a, const void *b)
{
  return strcmp (((const struct sbx_store_ref *) a)->name,
                 ((const struct sbx_store_ref *) b)->name);
}

int
sbx_store_list_refs (struct sbx_store *s, struct sbx_store_ref **out, size_t *n,
                     struct sbx_error **err)
{
  json_auto_t *refs = load_refs (s, err);
  struct sbx_store_ref *r;
  const char *key;
  json_t *val;
  size_t i = 0;

  if (refs == NULL)
    return -1;
  r = xcalloc (json_object_size (refs) + 1, sizeof *r);
  json_object_foreach (refs, key, val)
  {
    struct sbx_error *bad = NULL;

    if (! json_is_string (val)
        || sbx_digest_parse (json_string_value (val), &r[i].manifest, &bad) < 0)
      {
        sbx_error_clear (&bad);
        continue; /* reported by sbx system check */
      }
    r[i++].name = xstrdup (key);
  }
  qsort (r, i, sizeof *r, cmp_refs);
  *out = r;
  *n = i;
  return 0;
}

void
sbx_store_refs_free (struct sbx_store_ref *refs, size_t n)
{
  size_t i;

  for (i = 0; refs && i < n; i++)
    free (refs[i].name);
  free (refs);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integrity check and garbage collection of the store.  */
#define SBX_LOG_MODULE "store"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

typedef int (*entry_fn) (struct sbx_store *s, int dirfd, const char *name, void *arg,
                         struct sbx_error **err);

/* Call FN for every entry of DIRFD except "." and "..".  */
static int
for_each_entry (struct sbx_store *s, int dirfd, entry_fn fn, void *arg, struct sbx_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return sbx_err_errno (err, "open directory");
  d = fdopendir (fd);
  if (d == NULL)
    {
      (void) close (fd);
      return sbx_err_errno (err, "opendir");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fn (s, dirfd, de->d_name, arg, err) < 0)
        return -1;
    }
  if (errno)
    return sbx_err_errno (err, "readdir");
  return 0;
}

static bool
is_digest_name (const char *name)
{
  return strlen (name) == SBX_DIGEST_HEX_LEN
         && strspn (name, "0123456789abcdef") == SBX_DIGEST_HEX_LEN;
}

/* A staging entry "PREFIX-PID-RANDOM" (or a lock file) still in use?
   PREFIX may contain dashes (sbx_store_stage_dir takes any): the pid is
   between the last two.  */
static bool
staging_in_use (int tmpfd, const char *name)
{
  const char *last = strrchr (name, '-');
  const char *dash = last ? memrchr (name, '-', (size_t) (last - name)) : NULL;
  char *end = NULL;
  long pid;

  if (strstr (name, ".lock"))
    {
      cleanup_close int fd = openat (tmpfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      return fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) < 0;
    }
  if (dash == NULL)
    return false;
  pid = strtol (dash + 1, &end, 10);
  if (end == dash + 1 || end != last || pid <= 0)
    return false;
  return kill ((pid_t) pid, 0) == 0 || errno == EPERM;
}

struct check_ctx
{
  bool repair;
  void (*problem) (const char *what, void *arg);
  void *arg;
  struct sbx_check_report *rep;
};

/* "WHERE/NAME: WHY" to the caller's problem callback.  */
static void
report (struct check_ctx *c, const char *where, const char *name, const char *why)
{
  cleanup_free char *msg = xasprintf ("%s%s%s: %s", where, *where ? "/" : "", name, why);

  if (c->problem)
    c->problem (msg, c->arg);
}

static int
remove_entry (struct sbx_store *s, int dirfd, const char *name, struct check_ctx *c,
              struct sbx_error **err)
{
  (void) s;
  if (! c->repair)
    return 0;
  if (sbx_fs_rm_rf_at (dirfd, name, err) < 0)
    return -1;
  c->rep->removed++;
  return 0;
}

static int
check_blob (struct sbx_store *s, int dirfd, const char *name, void *arg, struct sbx_error **err)
{
  struct check_ctx *c = arg;
  struct sbx_error *local = NULL;
  cleanup_close int fd = -1;
  struct sbx_digest d;
  uint64_t size;

  if (! is_digest_name (name))
    {
      report (c, "blobs/sha256", name, "not a digest");
      c->rep->blobs_bad++;
      return remove_entry (s, dirfd, name, c, err);
    }
  fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || sbx_digest_fd (fd, &d, &size, &local) < 0)
    {
      report (c, "blobs/sha256", name, local ? local->msg : strerror (errno));
      sbx_error_clear (&local);
      c->rep->blobs_bad++;
      return remove_entry (s, dirfd, name, c, err);
    }
  if (strcmp (d.hex, name) != 0)
    {
      report (c, "blobs/sha256", name, "content does not match the digest");
      c->rep->blobs_bad++;
      return remove_entry (s, dirfd, name, c, err);
    }
  c->rep->blobs_ok++;
  return 0;
}

static int
check_layer (struct sbx_store *s, int dirfd, const char *name, void *arg, struct sbx_error **err)
{
  struct check_ctx *c = arg;
  struct stat st;

  if (! is_digest_name (name) || fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0
      || ! S_ISDIR (st.st_mode))
    {
      report (c, "layers", name, "not an unpacked layer");
      c->rep->layers_bad++;
      return remove_entry (s, dirfd, name, c, err);
    }
  c->rep->layers_ok++;
  return 0;
}

static int
check_tmp (struct sbx_store *s, int dirfd, const char *name, void *arg, struct sbx_error **err)
{
  struct check_ctx *c = arg;

  /* Lock files of pulls are kept between runs on purpose (removing one a
     process waits on would break the lock); prune drops idle ones.  */
  if (strstr (name, ".lock") || staging_in_use (dirfd, name))
    return 0;
  /* Not damage: the store never refers to tmp/.  Reported, and removed on
     --repair or by the next prune.  */
  report (c, "tmp", name, "left over by an interrupted sbx (harmless)");
  c->rep->staging++;
  return remove_entry (s, dirfd, name, c, err);
}

static int
check_refs (struct sbx_store *s, struct check_ctx *c, struct sbx_error **err)
{
  struct sbx_store_ref *refs = NULL;
  size_t n = 0, i;

  if (sbx_store_list_refs (s, &refs, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    {
      struct sbx_image *img = NULL;
      struct sbx_error *local = NULL;
      bool bad = sbx_image_load (s, &refs[i].manifest, &img, &local) < 0;

      for (size_t l = 0; ! bad && l < img->config->n_diff_ids; l++)
        if (! sbx_store_has_layer (s, &img->config->diff_ids[l])
            || ! sbx_store_has_blob (s, &img->manifest->layers[l].digest))
          {
            bad = true;
            sbx_err (&local, ENOENT, "layer %zu missing", l);
          }
      if (bad)
        {
          report (c, "", refs[i].name, local ? local->msg : "incomplete");
          c->rep->refs_dangling++;
          if (c->repair && sbx_store_remove_ref (s, refs[i].name, err) < 0)
            {
              sbx_error_clear (&local);
              sbx_image_free (img);
              sbx_store_refs_free (refs, n);
              return -1;
            }
          c->rep->removed += c->repair;
        }
      sbx_error_clear (&local);
      sbx_image_free (img);
    }
  sbx_store_refs_free (refs, n);
  return 0;
}

int
sbx_store_check (struct sbx_store *s, bool repair, void (*problem) (const char *what, void *arg),
                 void *arg, struct sbx_check_report *rep, struct sbx_error **err)
{
  struct check_ctx c = { .repair = repair, .problem = problem, .arg = arg, .rep = rep };

  memset (rep, 0, sizeof *rep);
  if (for_each_entry (s, s->blobsfd, check_blob, &c, err) < 0
      || for_each_entry (s, s->layersfd, check_layer, &c, err) < 0
      || for_each_entry (s, s->tmpfd, check_tmp, &c, err) < 0 || check_refs (s, &c, err) < 0)
    return sbx_err_prefix (err, "check store `%s`", s->root);
  return 0;
}

/* ---- prune ---- */

struct prune_ctx
{
  struct sbx_digest *keep; /* blobs and layers in use */
  size_t n_keep;
  uint64_t freed;
  size_t removed;
};

static bool
kept (const struct prune_ctx *p, const char *hex)
{
  size_t i;

  for (i = 0; i < p->n_keep; i++)
    if (strcmp (p->keep[i].hex, hex) == 0)
      return true;
  return false;
}

static void
keep (struct prune_ctx *p, const struct sbx_digest *d)
{
  p->keep = xrealloc (p->keep, xmul (p->n_keep + 1, sizeof *p->keep));
  p->keep[p->n_keep++] = *d;
}

/* Bytes of the files under NAME (or of NAME itself when it is not a
   directory), so that an unpacked layer counts with its files; best
   effort: what cannot be read counts as 0.  */
static uint64_t
tree_size (int at, const char *name)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  struct stat st;
  uint64_t sum = 0;
  int fd;

  if (fstatat (at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (! S_ISDIR (st.st_mode))
    return (uint64_t) st.st_size;
  fd = openat (at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  d = fdopendir (fd);
  if (d == NULL)
    {
      (void) close (fd);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      sum += tree_size (dirfd (d), de->d_name);
  return sum;
}

static int
prune_entry (struct sbx_store *s, int dirfd, const char *name, void *arg, struct sbx_error **err)
{
  struct prune_ctx *p = arg;
  uint64_t size;

  (void) s;
  if (kept (p, name))
    return 0;
  if (dirfd == s->tmpfd && staging_in_use (dirfd, name))
    return 0;
  size = tree_size (dirfd, name);
  if (sbx_fs_rm_rf_at (dirfd, name, err) < 0)
    return -1;
  p->freed += size;
  p->removed++;
  return 0;
}

int
sbx_store_prune (struct sbx_store *s, const struct sbx_digest *keep_layers, size_t n_keep,
                 uint64_t *freed_bytes, size_t *removed, struct sbx_error **err)
{
  cleanup_store_lock struct sbx_store_lock gc = { -1 };
  cleanup_store_lock struct sbx_store_lock lock = { -1 };
  struct sbx_store_ref *refs = NULL;
  struct prune_ctx p = { 0 };
  size_t n = 0, i;
  int r;

  if (sbx_store_gc_lock (s, true, &gc, err) < 0 || sbx_store_lock (s, &lock, err) < 0
      || sbx_store_list_refs (s, &refs, &n, err) < 0)
    return -1;
  for (i = 0; i < n_keep; i++)
    keep (&p, &keep_layers[i]);
  for (i = 0; i < n; i++)
    {
      struct sbx_image *img = NULL;
      struct sbx_error *local = NULL;

      keep (&p, &refs[i].manifest);
      if (sbx_image_load (s, &refs[i].manifest, &img, &local) < 0)
        {
          sbx_error_clear (&local);
          continue;
        }
      keep (&p, &img->config_digest);
      for (size_t l = 0; l < img->manifest->n_layers; l++)
        {
          keep (&p, &img->manifest->layers[l].digest);
          keep (&p, &img->config->diff_ids[l]);
        }
      sbx_image_free (img);
    }
  sbx_store_refs_free (refs, n);
  r = for_each_entry (s, s->blobsfd, prune_entry, &p, err);
  if (r == 0)
    r = for_each_entry (s, s->layersfd, prune_entry, &p, err);
  if (r == 0)
    r = for_each_entry (s, s->tmpfd, prune_entry, &p, err);
  free (p.keep);
  if (freed_bytes)
    *freed_bytes = p.freed;
  if (removed)
    *removed = p.removed;
  return r < 0 ? sbx_err_prefix (err, "prune store `%s`", s->root) : 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#define SBX_LOG_MODULE "store"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

char *
store_tmp_name (const char *prefix)
{
  uint32_t r = 0;

  if (getrandom (&r, sizeof r, 0) != (ssize_t) sizeof r)
    r = (uint32_t) rand ();
  return xasprintf ("%s-%d-%08x", prefix, (int) getpid (), r);
}

static int
open_subdir (int dirfd, const char *name, struct sbx_error **err)
{
  int fd;

  if (mkdirat (dirfd, name, 0700) < 0 && errno != EEXIST)
    return sbx_err_errno (err, "create `%s`", name);
  fd = openat (dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", name);
  return fd;
}

int
sbx_store_open (const char *root, struct sbx_store **out, struct sbx_error **err)
{
  struct sbx_store *s;
  cleanup_close int blobs = -1;

  if (sbx_fs_mkdir_p (root, 0700, err) < 0)
    return sbx_err_prefix (err, "open store `%s`", root);
  s = xzalloc (sizeof *s);
  s->root = xstrdup (root);
  s->rootfd = s->blobsfd = s->layersfd = s->tmpfd = -1;
  s->rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->rootfd < 0)
    {
      sbx_err_errno (err, "open store `%s`", root);
      sbx_store_close (s);
      return -1;
    }
  blobs = open_subdir (s->rootfd, "blobs", err);
  if (blobs < 0 || (s->blobsfd = open_subdir (blobs, "sha256", err)) < 0
      || (s->layersfd = open_subdir (s->rootfd, "layers", err)) < 0
      || (s->tmpfd = open_subdir (s->rootfd, "tmp", err)) < 0)
    {
      sbx_err_prefix (err, "open store `%s`", root);
      sbx_store_close (s);
      return -1;
    }
  *out = s;
  return 0;
}

void
sbx_store_close (struct sbx_store *s)
{
  if (s == NULL)
    return;
  if (s->rootfd >= 0)
    (void) close (s->rootfd);
  if (s->blobsfd >= 0)
    (void) close (s->blobsfd);
  if (s->layersfd >= 0)
    (void) close (s->layersfd);
  if (s->tmpfd >= 0)
    (void) close (s->tmpfd);
  free (s->root);
  free (s);
}

const char *
sbx_store_root (const struct sbx_store *s)
{
  return s->root;
}

int
sbx_store_rootfd (const struct sbx_store *s)
{
  return s->rootfd;
}

static int
lock_file (struct sbx_store *s, const char *name, int op, struct sbx_store_lock *l,
           struct sbx_error **err)
{
  l->fd = openat (s->rootfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (l->fd < 0)
    return sbx_err_errno (err, "open `%s`", name);
  while (flock (l->fd, op) < 0)
    if (errno != EINTR)
      {
        sbx_err_errno (err, "lock `%s`", name);
        (void) close (l->fd);
        l->fd = -1;
        return -1;
      }
  return 0;
}

int
sbx_store_lock (struct sbx_store *s, struct sbx_store_lock *l, struct sbx_error **err)
{
  return lock_file (s, "lock", LOCK_EX, l, err);
}

int
sbx_store_gc_lock (struct sbx_store *s, bool exclusive, struct sbx_store_lock *l,
                   struct sbx_error **err)
{
  return lock_file (s, "gc.lock", exclusive ? LOCK_EX : LOCK_SH, l, err);
}

void
sbx_store_unlock (struct sbx_store_lock *l)
{
  if (l->fd >= 0)
    (void) close (l->fd); /* releases the flock */
  l->fd = -1;
}

/* ---- layers ---- */

bool
sbx_store_has_layer (struct sbx_store *s, const struct sbx_digest *diff_id)
{
  struct stat st;

  return fstatat (s->layersfd, diff_id->hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

char *
sbx_store_layer_path (struct sbx_store *s, const struct sbx_digest *diff_id)
{
  return xasprintf ("%s/layers/%s", s->root, diff_id->hex);
}

int
sbx_store_stage_dir (struct sbx_store *s, const char *prefix, char **path, struct sbx_error **err)
{
  cleanup_free char *name = store_tmp_name (prefix);

  if (mkdirat (s->tmpfd, name, 0755) < 0)
    return sbx_err_errno (err, "create staging directory `%s`", name);
  *path = xasprintf ("%s/tmp/%s", s->root, name);
  return 0;
}

int
sbx_store_publish_layer (struct sbx_store *s, const char *staged, const struct sbx_digest *diff_id,
                         struct sbx_error **err)
{
  const char *base = strrchr (staged, '/');
  struct sbx_error *ignored = NULL;

  base = base ? base + 1 : staged;
  /* RENAME_NOREPLACE: a layer appears once, complete; a racing process
     that published first wins and our copy goes.  */
  if (renameat2 (s->tmpfd, base, s->layersfd, diff_id->hex, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EEXIST)
    return sbx_err_errno (err, "publish layer %.12s", diff_id->hex);
  if (sbx_fs_rm_rf_at (s->tmpfd, base, &ignored) < 0)
    {
      sbx_debug ("remove staged layer: %s", ignored->msg);
      sbx_error_clear (&ignored);
    }
  return 0;
}

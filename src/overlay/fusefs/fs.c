/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The filesystem object: its layers, its making and unmaking, and the big
   lock, whose release trims the fd caches.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "overlay/fusefs/fs.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

/* ---- the filesystem ---- */

void
fs_lock (struct fusefs *fs)
{
  (void) pthread_mutex_lock (&fs->lock);
}

/* Close the directory fds of the least recently used nodes until the cache
   is within its budget.  Only here, when no request holds any of them.  */
static void
trim_fd_cache (struct fusefs *fs)
{
  while (fs->n_cached_fds > fs->fd_budget && fs->lru.lru_prev != &fs->lru)
    {
      struct fs_node *victim = fs->lru.lru_prev;
      int l;

      for (l = 0; l < fs->n_layers; l++)
        if (victim->lfds[l] >= 0)
          {
            (void) close (victim->lfds[l]);
            victim->lfds[l] = LFD_CLOSED;
            fs->n_cached_fds--;
          }
      victim->n_open = 0;
      victim->lru_prev->lru_next = victim->lru_next;
      victim->lru_next->lru_prev = victim->lru_prev;
      victim->lru_prev = victim->lru_next = NULL;
    }
}

void
fs_unlock (struct fusefs *fs)
{
  trim_fd_cache (fs);
  fs_data_trim (fs);
  (void) pthread_mutex_unlock (&fs->lock);
}

static size_t
default_fd_budget (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
    return 4096;
  /* A third for cached directories, a sixth for data fds (data.c); the
     rest stays free for copy-up and the kernel's requests.  */
  return rl.rlim_cur > 512 ? (size_t) rl.rlim_cur / 3 : 64;
}

static int
take_fds (struct fusefs *fs, const struct fusefs_config *cfg, struct sbx_error **err)
{
  size_t i;
  int l = 0;

  fs->has_upper = cfg->upper_fd >= 0;
  fs->n_layers = (int) cfg->n_lowers + (fs->has_upper ? 1 : 0);
  fs->layers = xcalloc ((size_t) fs->n_layers + 1, sizeof *fs->layers);
  if (fs->has_upper)
    fs->layers[l++].fd = cfg->upper_fd;
  for (i = 0; i < cfg->n_lowers; i++)
    fs->layers[l++].fd = cfg->lower_fds[i];
  fs->work_fd = cfg->work_fd;
  if (fs->n_layers == 0)
    return sbx_err (err, EINVAL, "an overlay needs at least one layer");
  if (fs->has_upper && fs->work_fd < 0)
    return sbx_err (err, EINVAL, "an upper layer needs a work directory");
  for (l = 0; l < fs->n_layers; l++)
    {
      struct stat st;

      if (fstat (fs->layers[l].fd, &st) < 0)
        return sbx_err_errno (err, "stat layer %d", l);
      if (! S_ISDIR (st.st_mode))
        return sbx_err (err, ENOTDIR, "layer %d is not a directory", l);
      fs->layers[l].dev = st.st_dev;
    }
  return 0;
}

/* Lower layers' devices first, so that the image's own inode numbers are
   reported unchanged when the lowers share one filesystem (node.c).  */
static void
register_devs (struct fusefs *fs)
{
  int l;

  for (l = fs->n_layers - 1; l >= 0; l--)
    (void) fs_ino_for_key (fs, (struct fs_key){ .dev = fs->layers[l].dev, .ino = 0 });
}

static int
make_root (struct fusefs *fs, struct sbx_error **err)
{
  struct stat st;
  struct fs_node *root;
  int l, r;

  if (fstat (fs->layers[0].fd, &st) < 0)
    return sbx_err_errno (err, "stat the top layer");
  /* Slots 0 (never a nodeid) and 1 (FUSE_ROOT_ID, generation 0).  */
  fs->n_slots = 2;
  fs->slots = xcalloc (2, sizeof *fs->slots);
  fs->gens = xcalloc (2, sizeof *fs->gens);
  root = xzalloc (sizeof *root);
  root->nodeid = 1;
  root->refs = 1;
  root->nlookup = 1;
  root->type = S_IFDIR;
  root->fd = -1;
  root->name = xstrdup ("");
  root->key = (struct fs_key){ st.st_dev, st.st_ino };
  root->lfds = xmalloc (xmul ((size_t) fs->n_layers, sizeof (int)));
  for (l = 0; l < fs->n_layers; l++)
    root->lfds[l] = LFD_ABSENT;
  /* The layers' roots merge like any directory: an opaque one hides the
     layers below it.  */
  for (l = 0; l < fs->n_layers; l++)
    {
      root->lfds[l] = fs->layers[l].fd;
      if (l + 1 < fs->n_layers)
        {
          r = fs_is_opaque_at (fs->layers[l].fd, "");
          if (r < 0)
            return sbx_err_code (err, -r, "read the opaque mark of layer %d", l);
          if (r > 0)
            break;
        }
    }
  root->ino = fs_ino_for_key (fs, root->key);
  root->hkey.key = root->key;
  fs_hmap_put (&fs->keymap, &root->hkey);
  root->in_keymap = true;
  fs->slots[1] = root;
  fs->root = root;
  return 0;
}

struct fusefs *
fs_new (const struct fusefs_config *cfg, struct sbx_error **err)
{
  struct fusefs *fs = xzalloc (sizeof *fs);

  (void) pthread_mutex_init (&fs->lock, NULL);
  (void) pthread_mutex_init (&fs->fdlock, NULL);
  fs->lru.lru_next = fs->lru.lru_prev = &fs->lru;
  fs->data_lru.lru_next = fs->data_lru.lru_prev = &fs->data_lru;
  fs->fd_budget = default_fd_budget ();
  fs->data_budget = fs->fd_budget / 2;
  fs->timeout = cfg->timeout > 0 ? cfg->timeout : 86400.0;
  fs->volatile_upper = cfg->volatile_upper;
  fs->next_fake_ino = 1;
  fs->work_fd = -1;
  /* The fds are ours from here on, whatever happens.  */
  if (take_fds (fs, cfg, err) < 0)
    {
      fs_free (fs);
      return NULL;
    }
  fs->linkidx = xcalloc ((size_t) fs->n_layers, sizeof *fs->linkidx);
  register_devs (fs);
  if (make_root (fs, err) < 0)
    {
      fs_free (fs);
      return NULL;
    }
  return fs;
}

static void
free_ino_entry (struct fs_hentry *e)
{
  free (e);
}

void
fs_free (struct fusefs *fs)
{
  uint32_t i;
  int l;

  if (fs == NULL)
    return;
  for (i = 2; i < fs->n_slots; i++)
    {
      struct fs_node *n = fs->slots[i];

      if (n == NULL)
        continue;
      node_drop_data (fs, n);
      node_dir_changed (fs, n);
      for (l = 0; n->lfds && l < fs->n_layers; l++)
        if (n->lfds[l] >= 0)
          (void) close (n->lfds[l]);
      if (n->fd >= 0)
        (void) close (n->fd);
      free (n->lfds);
      free (n->name);
      free (n);
    }
  if (fs->root)
    {
      node_drop_data (fs, fs->root);
      node_dir_changed (fs, fs->root);
      free (fs->root->lfds);
      free (fs->root->name);
      free (fs->root);
    }
  for (l = 0; fs->layers && l < fs->n_layers; l++)
    {
      if (fs->layers[l].fd >= 0)
        (void) close (fs->layers[l].fd);
      if (fs->linkidx)
        fs_linkidx_free (fs->linkidx[l]);
    }
  if (fs->work_fd >= 0)
    (void) close (fs->work_fd);
  fs_hmap_release (&fs->keymap, NULL);
  fs_hmap_release (&fs->inomap, free_ino_entry);
  free (fs->linkidx);
  free (fs->layers);
  free (fs->ahead);
  free (fs->slots);
  free (fs->gens);
  free (fs->free_slots);
  free (fs->devs);
  (void) pthread_mutex_destroy (&fs->lock);
  (void) pthread_mutex_destroy (&fs->fdlock);
  free (fs);
}

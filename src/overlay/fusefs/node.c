/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inode table.

   A node is one object of the merged tree as the kernel knows it.  Its
   nodeid is a slot of fs->slots and that slot's generation (nodeid = slot |
   generation << 32), so a stale or forged nodeid is caught by a table
   lookup, never trusted as a pointer.  Nodes are also found by the identity
   of their backing object (dev, ino) in fs->keymap: the names of a
   hardlinked file share one node, as they share one inode in the kernel.

   Reported inode numbers are stable for the life of the mount: derived
   from the backing object (its st_ino, with the index of its filesystem in
   the top byte when the layers span several), and kept across copy-up
   through fs->inomap (upper object → the number it had in the lower).

   Directory nodes keep, per layer, whether that layer contributes to the
   merged directory and an fd of it, opened on demand one component at a
   time below the nearest ancestor with an open fd (O_NOFOLLOW |
   O_DIRECTORY: a symlink is never followed) and cached in an LRU list.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/fusefs/internal.h"
#include "util/log.h"
#include "util/xalloc.h"

struct ino_entry
{
  struct fs_hentry h;
  uint64_t ino;
};

/* ---- reported inode numbers ---- */

#define INO_DEV_SHIFT 56
#define INO_FAKE_BIT (1ULL << 63)

static size_t
dev_index (struct fusefs *fs, dev_t dev)
{
  size_t i;

  for (i = 0; i < fs->n_devs; i++)
    if (fs->devs[i] == dev)
      return i;
  fs->devs = xrealloc (fs->devs, xmul (fs->n_devs + 1, sizeof *fs->devs));
  fs->devs[fs->n_devs] = dev;
  return fs->n_devs++;
}

uint64_t
fs_ino_for_key (struct fusefs *fs, struct fs_key key)
{
  struct fs_hentry *e = fs_hmap_get (&fs->inomap, key);
  struct ino_entry *ie;
  size_t idx;

  if (e)
    return fs_container_of (e, struct ino_entry, h)->ino;
  idx = dev_index (fs, key.dev);
  if (idx < 127 && (uint64_t) key.ino < (1ULL << INO_DEV_SHIFT))
    return ((uint64_t) idx << INO_DEV_SHIFT) | (uint64_t) key.ino;
  /* Too large to tag: a number of our own, remembered.  */
  ie = xzalloc (sizeof *ie);
  ie->h.key = key;
  ie->ino = INO_FAKE_BIT | fs->next_fake_ino++;
  fs_hmap_put (&fs->inomap, &ie->h);
  return ie->ino;
}

static void
ino_remember (struct fusefs *fs, struct fs_key key, uint64_t ino)
{
  struct fs_hentry *e = fs_hmap_get (&fs->inomap, key);
  struct ino_entry *ie;

  if (e)
    {
      fs_container_of (e, struct ino_entry, h)->ino = ino;
      return;
    }
  if (fs_ino_for_key (fs, key) == ino)
    return;
  ie = xzalloc (sizeof *ie);
  ie->h.key = key;
  ie->ino = ino;
  fs_hmap_put (&fs->inomap, &ie->h);
}

void
fs_ino_forget_key (struct fusefs *fs, struct fs_key key)
{
  struct fs_hentry *e = fs_hmap_get (&fs->inomap, key);

  if (e && fs_hmap_del (&fs->inomap, e))
    free (fs_container_of (e, struct ino_entry, h));
}

/* ---- the table ---- */

static uint32_t
slot_alloc (struct fusefs *fs)
{
  uint32_t old = fs->n_slots, n, s;

  if (fs->n_free > 0)
    return fs->free_slots[--fs->n_free];
  if (old > UINT32_MAX / 2)
    xoom ();
  n = old + old / 2 + 16;
  fs->slots = xrealloc (fs->slots, xmul (n, sizeof *fs->slots));
  fs->gens = xrealloc (fs->gens, xmul (n, sizeof *fs->gens));
  fs->free_slots = xrealloc (fs->free_slots, xmul (n, sizeof *fs->free_slots));
  memset (fs->slots + old, 0, (n - old) * sizeof *fs->slots);
  memset (fs->gens + old, 0, (n - old) * sizeof *fs->gens);
  /* Pushed high to low, so that low slots are handed out first.  */
  for (s = n - 1; s > old; s--)
    fs->free_slots[fs->n_free++] = s;
  fs->n_slots = n;
  return old;
}

struct fs_node *
node_new (struct fusefs *fs, struct fs_node *parent, const char *name, mode_t type, int layer,
          const struct stat *st)
{
  struct fs_node *n = xzalloc (sizeof *n);
  uint32_t slot;

  /* The data path looks nodes up under fdlock alone (data.c).  */
  (void) pthread_mutex_lock (&fs->fdlock);
  slot = slot_alloc (fs);
  fs->slots[slot] = n;
  (void) pthread_mutex_unlock (&fs->fdlock);
  n->nodeid = (uint64_t) slot | ((uint64_t) fs->gens[slot] << 32);
  n->refs = 1;
  n->type = type & S_IFMT;
  n->layer = layer;
  n->fd = -1;
  n->key = (struct fs_key){ st->st_dev, st->st_ino };
  n->hkey.key = n->key;
  n->ino = fs_ino_for_key (fs, n->key);
  n->name = xstrdup (name);
  n->parent = parent;
  if (parent)
    node_ref (parent);
  return n;
}

void
node_ref (struct fs_node *n)
{
  n->refs++;
}

static void
lru_remove (struct fs_node *n)
{
  if (n->lru_next == NULL)
    return;
  n->lru_prev->lru_next = n->lru_next;
  n->lru_next->lru_prev = n->lru_prev;
  n->lru_next = n->lru_prev = NULL;
}

static void
lru_touch (struct fusefs *fs, struct fs_node *n)
{
  if (n == fs->root || fs->lru.lru_next == n)
    return;
  lru_remove (n);
  n->lru_next = fs->lru.lru_next;
  n->lru_prev = &fs->lru;
  fs->lru.lru_next->lru_prev = n;
  fs->lru.lru_next = n;
}

void
node_drop_layers (struct fusefs *fs, struct fs_node *n, int from)
{
  int l;

  if (n->lfds == NULL || n == fs->root)
    return;
  for (l = from; l < fs->n_layers; l++)
    {
      if (n->lfds[l] >= 0)
        {
          (void) close (n->lfds[l]);
          fs->n_cached_fds--;
          n->n_open--;
        }
      n->lfds[l] = LFD_ABSENT;
    }
  if (n->n_open == 0)
    lru_remove (n);
}

void
node_unkey (struct fusefs *fs, struct fs_node *n)
{
  if (n->in_keymap)
    (void) fs_hmap_del (&fs->keymap, &n->hkey);
  n->in_keymap = false;
}

/* Free N and then each ancestor that only N kept alive.  */
static void
node_maybe_free (struct fusefs *fs, struct fs_node *n)
{
  while (n && n != fs->root && n->refs == 0 && n->nlookup == 0)
    {
      struct fs_node *parent = n->parent;
      uint32_t slot = (uint32_t) (n->nodeid & 0xffffffffu);

      node_unkey (fs, n);
      node_drop_layers (fs, n, 0);
      node_drop_data (fs, n);
      node_dir_changed (fs, n);
      if (n->fd >= 0)
        (void) close (n->fd);
      (void) pthread_mutex_lock (&fs->fdlock);
      if (! SBX_BUG_ON (fs->slots[slot] != n))
        {
          fs->slots[slot] = NULL;
          fs->gens[slot]++;
          fs->free_slots[fs->n_free++] = slot;
        }
      (void) pthread_mutex_unlock (&fs->fdlock);
      free (n->lfds);
      free (n->name);
      free (n);
      if (parent == NULL || SBX_BUG_ON (parent->refs == 0))
        return;
      parent->refs--;
      n = parent;
    }
}

void
node_unref (struct fusefs *fs, struct fs_node *n)
{
  if (n == NULL || SBX_BUG_ON (n->refs == 0))
    return;
  n->refs--;
  node_maybe_free (fs, n);
}

void
node_forget (struct fusefs *fs, struct fs_node *n, uint64_t nlookup)
{
  if (n == fs->root)
    return;
  n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
  node_maybe_free (fs, n);
}

struct fs_node *
node_by_key (struct fusefs *fs, struct fs_key key)
{
  struct fs_hentry *e = fs_hmap_get (&fs->keymap, key);

  return e ? fs_container_of (e, struct fs_node, hkey) : NULL;
}

void
node_set_name (struct fusefs *fs, struct fs_node *n, struct fs_node *parent, const char *name)
{
  struct fs_node *old = n->parent;
  char *copy = xstrdup (name);

  node_ref (parent);
  free (n->name);
  n->name = copy;
  n->parent = parent;
  if (n->detached)
    {
      n->detached = false;
      if (n->fd >= 0)
        (void) close (n->fd);
      n->fd = -1;
    }
  if (old)
    node_unref (fs, old);
}

void
node_rekey (struct fusefs *fs, struct fs_node *n, int layer, const struct stat *st)
{
  node_unkey (fs, n);
  /* Reads must not go on from the lower file.  */
  node_drop_data (fs, n);
  n->layer = layer;
  n->key = (struct fs_key){ st->st_dev, st->st_ino };
  n->hkey.key = n->key;
  ino_remember (fs, n->key, n->ino);
  if (node_by_key (fs, n->key) == NULL)
    {
      fs_hmap_put (&fs->keymap, &n->hkey);
      n->in_keymap = true;
    }
}

int
node_detach (struct fusefs *fs, struct fs_node *n, bool still_linked, int fd)
{
  struct fs_node *parent = n->parent;
  const char *name;
  int dirfd;

  if (n->detached || n == fs->root)
    {
      if (fd >= 0)
        (void) close (fd);
      return 0;
    }
  if (n->type == S_IFDIR)
    {
      if (fd >= 0)
        (void) close (fd);
      node_drop_layers (fs, n, 0);
      n->dead = true;
      still_linked = false;
    }
  else if (fd >= 0)
    n->fd = fd;
  else if (node_at (fs, n, &dirfd, &name) == 0)
    {
      n->fd = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (n->fd < 0)
        sbx_debug ("keep `%s` after its removal: %s", n->name, strerror (errno));
    }
  if (! still_linked)
    node_unkey (fs, n);
  n->detached = true;
  n->parent = NULL;
  if (parent)
    node_unref (fs, parent);
  return 0;
}

/* ---- reaching the backing objects ---- */

/* Open directory N's fd in layer L below its parent's (which is open).  */
static int
open_one (struct fusefs *fs, struct fs_node *n, int l)
{
  int fd = openat (n->parent->lfds[l], n->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    return -errno;
  n->lfds[l] = fd;
  n->n_open++;
  fs->n_cached_fds++;
  lru_touch (fs, n);
  return fd;
}

int
node_layer_fd (struct fusefs *fs, struct fs_node *n, int l)
{
  struct fs_node *a;

  if (SBX_BUG_ON (n->lfds == NULL || l < 0 || l >= fs->n_layers))
    return -EIO;
  if (n->lfds[l] >= 0)
    {
      lru_touch (fs, n);
      return n->lfds[l];
    }
  if (n->lfds[l] == LFD_ABSENT || n->dead)
    return -ENOENT;
  /* Open the missing ancestors top-down: find the nearest open one, then
     open each level below it.  Nothing is evicted before fs_unlock().  */
  for (;;)
    {
      struct fs_node *below = n;

      for (a = n->parent; a && a->lfds && a->lfds[l] < 0; a = a->parent)
        {
          if (a->lfds[l] == LFD_ABSENT)
            break;
          below = a;
        }
      if (SBX_BUG_ON (a == NULL || a->lfds == NULL || a->lfds[l] == LFD_ABSENT))
        return -EIO;
      if (below == n)
        return open_one (fs, n, l);
      {
        int r = open_one (fs, below, l);

        if (r < 0)
          return r;
      }
    }
}

int
node_at (struct fusefs *fs, struct fs_node *n, int *dirfd, const char **name)
{
  int fd;

  if (n->detached)
    {
      if (n->fd < 0)
        return -ENOENT;
      *dirfd = n->fd;
      *name = "";
      return 0;
    }
  if (n->type == S_IFDIR)
    {
      fd = node_layer_fd (fs, n, n->layer);
      if (fd < 0)
        return fd;
      *dirfd = fd;
      *name = "";
      return 0;
    }
  if (SBX_BUG_ON (n->parent == NULL))
    return -EIO;
  fd = node_layer_fd (fs, n->parent, n->layer);
  if (fd < 0)
    return fd;
  *dirfd = fd;
  *name = n->name;
  return 0;
}

int
node_stat (struct fusefs *fs, struct fs_node *n, struct stat *st)
{
  const char *name;
  int dirfd, r;

  r = node_at (fs, n, &dirfd, &name);
  if (r < 0)
    return r;
  if (fstatat (dirfd, name, st, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
    return -errno;
  return 0;
}

bool
node_is_merged (const struct fusefs *fs, const struct fs_node *n)
{
  int count = 0;
  int l;

  for (l = 0; n->lfds && l < fs->n_layers; l++)
    count += n->lfds[l] != LFD_ABSENT;
  return count > 1;
}

int
node_getattr (struct fusefs *fs, struct fs_node *n, struct stat *st)
{
  int r = node_stat (fs, n, st);

  if (r < 0)
    return r;
  st->st_ino = (ino_t) n->ino;
  /* The link count of a merged directory is unknown: 1 tells find(1) and
     friends not to rely on it, as the kernel overlay does.  */
  if (n->type == S_IFDIR && node_is_merged (fs, n))
    st->st_nlink = 1;
  return 0;
}

static int
proc_fd_path (char *buf, size_t len, int fd, const char *name)
{
  int n;

  if (name && *name)
    n = snprintf (buf, len, "/proc/self/fd/%d/%s", fd, name);
  else
    n = snprintf (buf, len, "/proc/self/fd/%d", fd);
  return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

int
node_open (struct fusefs *fs, struct fs_node *n, int flags)
{
  char path[320];
  const char *name;
  int dirfd, fd, r;

  flags |= O_CLOEXEC;
  r = node_at (fs, n, &dirfd, &name);
  if (r < 0)
    return r;
  if (*name)
    fd = openat (dirfd, name, flags | O_NOFOLLOW);
  else
    {
      /* An O_PATH fd is reopened through its /proc link, which names the
         object itself (never a symlink's target: O_NOFOLLOW).  */
      r = proc_fd_path (path, sizeof path, dirfd, NULL);
      if (r < 0)
        return r;
      fd = open (path, flags);
    }
  return fd < 0 ? -errno : fd;
}

int
node_proc_path (struct fusefs *fs, struct fs_node *n, char *buf, size_t len, bool *follow)
{
  const char *name;
  int dirfd, r;

  r = node_at (fs, n, &dirfd, &name);
  if (r < 0)
    return r;
  /* "/proc/self/fd/N" is followed to the object itself; "…/N/name" is the
     entry NAME of directory N, which the l*xattr calls do not follow.  */
  *follow = *name == '\0';
  return proc_fd_path (buf, len, dirfd, name);
}

bool
node_has_lower (const struct fusefs *fs, const struct fs_node *n)
{
  int l;

  if (n->lfds == NULL || ! fs->has_upper)
    return false;
  for (l = 1; l < fs->n_layers; l++)
    if (n->lfds[l] != LFD_ABSENT)
      return true;
  return false;
}

/* ---- what a node keeps: its listing ---- */

void
fs_dirlist_release (struct fs_dirlist *l)
{
  size_t i;

  for (i = 0; i < l->n; i++)
    {
      free (l->ents[i].name);
      if (l->ents[i].pre)
        free (l->ents[i].pre->lfds);
      free (l->ents[i].pre);
    }
  free (l->ents);
  *l = (struct fs_dirlist){ 0 };
}

void
node_dir_changed (struct fusefs *fs, struct fs_node *n)
{
  if (n->listing)
    {
      fs->n_pre -= n->listing->n_pre;
      fs_dirlist_release (n->listing);
      free (n->listing);
      n->listing = NULL;
    }
}

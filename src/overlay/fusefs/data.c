/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The data path: read, write, fsync, fallocate, lseek and copy_file_range
   work on an fd of the node's backing file that the node keeps (struct
   fs_data), not on a per-open handle.  That lets the kernel open files
   without asking us at all (FUSE_CAP_NO_OPEN_SUPPORT: no OPEN, no RELEASE,
   and warm reads then cost no request), and it means reads never see a
   stale lower file: copy-up replaces the node's fd.

   Locking: fs->fdlock, a small mutex never held during I/O, protects the
   node table for lookups from here, every node's DATA pointer and NOCAPS
   flag, and the LRU list of data fds.  The fast path takes only it: find
   the node, take a reference on its fs_data, release it, do the I/O.  The
   slow path (no fd yet, or a write needing copy-up or a writable fd:
   fs_data_open, in copyup.c) runs under the big lock, which is taken
   before fdlock, never after.  An fs_data lives while referenced:
   detaching it from its node (copy-up, eviction, node freed) drops the
   node's reference, and the last I/O in flight closes the fd.  */
#define SBX_LOG_MODULE "fusefs"
#include <stdlib.h>
#include <unistd.h>

#include "overlay/fusefs/internal.h"
#include "util/xalloc.h"

void
fs_data_put (struct fs_data *d)
{
  if (d && __atomic_sub_fetch (&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
    {
      (void) close (d->fd);
      free (d);
    }
}

static void
lru_unlink (struct fusefs *fs, struct fs_data *d)
{
  if (d->lru_next == NULL)
    return;
  d->lru_prev->lru_next = d->lru_next;
  d->lru_next->lru_prev = d->lru_prev;
  d->lru_next = d->lru_prev = NULL;
  fs->n_data--;
}

static void
lru_front (struct fusefs *fs, struct fs_data *d)
{
  if (fs->data_lru.lru_next == d)
    return;
  if (d->lru_next)
    {
      d->lru_prev->lru_next = d->lru_next;
      d->lru_next->lru_prev = d->lru_prev;
    }
  else
    fs->n_data++;
  d->lru_next = fs->data_lru.lru_next;
  d->lru_prev = &fs->data_lru;
  fs->data_lru.lru_next->lru_prev = d;
  fs->data_lru.lru_next = d;
}

/* Under fdlock: detach N's fd (the node's reference is dropped).  */
static void
detach_locked (struct fusefs *fs, struct fs_node *n)
{
  struct fs_data *d = n->data;

  if (d == NULL)
    return;
  n->data = NULL;
  d->node = NULL;
  lru_unlink (fs, d);
  fs_data_put (d);
}

void
node_drop_data (struct fusefs *fs, struct fs_node *n)
{
  (void) pthread_mutex_lock (&fs->fdlock);
  detach_locked (fs, n);
  (void) pthread_mutex_unlock (&fs->fdlock);
}

struct fs_data *
fs_data_get (struct fusefs *fs, uint64_t nodeid, bool write)
{
  struct fs_data *d = NULL;
  struct fs_node *n;

  (void) pthread_mutex_lock (&fs->fdlock);
  n = node_get (fs, nodeid);
  if (n && n->data && (n->data->writable || ! write))
    {
      d = n->data;
      __atomic_add_fetch (&d->refs, 1, __ATOMIC_RELAXED);
      lru_front (fs, d);
    }
  (void) pthread_mutex_unlock (&fs->fdlock);
  return d;
}

struct fs_data *
fs_data_attach (struct fusefs *fs, struct fs_node *n, int fd, bool writable)
{
  struct fs_data *d = xzalloc (sizeof *d);

  d->fd = fd;
  d->writable = writable;
  d->refs = 2; /* the node's and the caller's */
  (void) pthread_mutex_lock (&fs->fdlock);
  detach_locked (fs, n);
  n->data = d;
  d->node = n;
  lru_front (fs, d);
  (void) pthread_mutex_unlock (&fs->fdlock);
  return d;
}

void
fs_data_trim (struct fusefs *fs)
{
  (void) pthread_mutex_lock (&fs->fdlock);
  while (fs->n_data > fs->data_budget && fs->data_lru.lru_prev != &fs->data_lru)
    {
      struct fs_data *victim = fs->data_lru.lru_prev;

      if (victim->node)
        detach_locked (fs, victim->node);
      else
        lru_unlink (fs, victim);
    }
  (void) pthread_mutex_unlock (&fs->fdlock);
}

bool
node_has_no_caps (struct fusefs *fs, uint64_t nodeid)
{
  struct fs_node *n;
  bool r;

  (void) pthread_mutex_lock (&fs->fdlock);
  n = node_get (fs, nodeid);
  r = n && n->nocaps;
  (void) pthread_mutex_unlock (&fs->fdlock);
  return r;
}

void
node_set_no_caps (struct fusefs *fs, struct fs_node *n)
{
  (void) pthread_mutex_lock (&fs->fdlock);
  n->nocaps = true;
  (void) pthread_mutex_unlock (&fs->fdlock);
}

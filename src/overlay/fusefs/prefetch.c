/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Directories read ahead.

   A directory walk (find, du, ls -lR, a build tool's scan, a language
   server's indexer) reads each directory with READDIRPLUS and then goes
   into its subdirectories, one after the other.  Each READDIRPLUS waits
   while we list the directory in every layer and look up every entry (a
   stat each, more for directories), and the walker has nothing else to
   do.  So when the kernel reads a directory with attributes from its
   start, its subdirectories are queued, and the receiving thread lists
   them and looks up their entries in the time it would otherwise spend
   polling for the next request (serve.c), a few entries at a time so
   that a request never waits long behind it.  Their READDIRPLUS then
   finds the lookups done (fs_take_ahead, lookup.c).  A stack, newest first: a walk
   goes depth-first, into the first subdirectory of the directory it just
   read.

   Only directories that live in the lower layers alone are read ahead:
   those layers never change while mounted, so a lookup made ahead stays
   true for as long as the directory has no part in the upper layer.  One
   that gets a part there (a copy-up, a new entry) is looked up afresh from
   then on (fs_take_ahead checks), and its listing, with the lookups made
   ahead, goes at every change of its entries (node_dir_changed).  */
#define SBX_LOG_MODULE "fusefs"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/fusefs/fs.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Bounds on work nobody may need (made while the receiver would have
   polled anyway): at most this many directories wait to be read ahead
   (more push the oldest out), this many entries of one directory are
   looked up ahead, and this many lookups made ahead wait to be taken
   (about 200 bytes each); past that, reading ahead waits until some are
   taken or their directories forgotten.  */
#define AHEAD_MAX 4096
#define AHEAD_ENTRIES 1024
#define AHEAD_PRE_MAX 65536
/* Lookups per step: about ten microseconds.  */
#define STEP_LOOKUPS 8

/* Is N a directory to read ahead: lower only, and not read by the kernel
   with attributes yet (then its own READDIRPLUS looks its entries up)?  */
static bool
wants_ahead (const struct fusefs *fs, const struct fs_node *n)
{
  return n && fs_dir_is_lower_only (fs, n) && ! n->read_ahead;
}

/* Push a directory; when the stack is full the oldest goes.  */
static void
push (struct fusefs *fs, uint64_t nodeid, size_t next)
{
  if (fs->n_ahead == AHEAD_MAX)
    {
      memmove (fs->ahead, fs->ahead + 1, (AHEAD_MAX - 1) * sizeof *fs->ahead);
      fs->n_ahead--;
    }
  if (fs->n_ahead == fs->ahead_alloc)
    {
      fs->ahead_alloc = fs->ahead_alloc ? fs->ahead_alloc * 2 : 64;
      fs->ahead = xrealloc (fs->ahead, xmul (fs->ahead_alloc, sizeof *fs->ahead));
    }
  fs->ahead[fs->n_ahead++] = (struct fs_ahead){ .nodeid = nodeid, .next = next };
}

void
fs_read_ahead (struct fusefs *fs, struct fs_node *d)
{
  const struct fs_dirlist *l = d->listing;
  size_t i;

  /* D itself may have an upper part (the root always has): only its
     subdirectories must not.  */
  if (d->read_ahead || l == NULL)
    return;
  d->read_ahead = true;
  /* The walker is in D now: its subdirectories come before the one in
     progress, which goes back on the stack (unless it is D, whose entries
     its READDIRPLUS looks up).  */
  if (fs->ahead_cur != 0 && fs->ahead_cur != d->nodeid)
    push (fs, fs->ahead_cur, fs->ahead_next);
  fs->ahead_cur = 0;
  /* Pushed last to first: the walker goes into the first one first.  */
  for (i = l->n; i-- > 0;)
    {
      struct fs_node *c;

      if (l->ents[i].type != DT_DIR)
        continue;
      c = node_by_key (fs, l->ents[i].key);
      if (c && c->parent == d && c->listing == NULL && wants_ahead (fs, c))
        push (fs, c->nodeid, 0);
    }
}

/* Start on the next queued directory: list it (that is the step) unless
   it has its listing already.  */
static void
start_next (struct fusefs *fs)
{
  while (fs->n_ahead > 0)
    {
      struct fs_ahead a = fs->ahead[--fs->n_ahead];
      struct fs_node *n = node_get (fs, a.nodeid);
      const struct fs_dirlist *l;
      struct stat st;

      if (! wants_ahead (fs, n))
        continue;
      if (n->listing == NULL && (node_stat (fs, n, &st) < 0 || st.st_size > FS_AHEAD_DIR_BYTES))
        continue;
      if (fs_dir_listing (fs, n, &l) < 0)
        continue;
      fs->ahead_cur = a.nodeid;
      fs->ahead_list = l;
      fs->ahead_next = a.next;
      if (! fs->ahead_said)
        sbx_debug ("reading directories ahead, the first: `%s`", n->name ? n->name : "/");
      fs->ahead_said = true;
      return;
    }
}

bool
fs_read_ahead_step (struct fusefs *fs, bool (*stop) (void *arg), void *arg)
{
  cleanup_lock struct fusefs *locked = fs_locked (fs);
  struct fs_node *n;
  struct fs_dirlist *l;
  size_t last, end, i;

  if (fs->n_pre >= AHEAD_PRE_MAX)
    return false;
  if (fs->ahead_cur == 0)
    {
      start_next (fs);
      return fs->ahead_cur != 0 || fs->n_ahead > 0;
    }
  n = node_get (fs, fs->ahead_cur);
  /* A changed directory has a new listing, or none: leave it.  */
  if (! wants_ahead (fs, n) || n->listing != fs->ahead_list)
    {
      fs->ahead_cur = 0;
      return fs->n_ahead > 0;
    }
  l = n->listing;
  last = l->n < AHEAD_ENTRIES ? l->n : AHEAD_ENTRIES;
  if (fs->ahead_next > last)
    fs->ahead_next = last;
  end = last - fs->ahead_next < STEP_LOOKUPS ? last : fs->ahead_next + STEP_LOOKUPS;
  for (i = fs->ahead_next; i < end; i++)
    {
      struct fs_found *f;

      if (l->ents[i].pre)
        continue;
      if (i > fs->ahead_next && stop && stop (arg))
        break;
      f = xzalloc (sizeof *f);
      if (fs_probe (fs, n, l->ents[i].name, f) < 0 || f->layer < 0)
        {
          fs_found_release (f);
          free (f);
          continue;
        }
      l->ents[i].pre = f;
      l->n_pre++;
      fs->n_pre++;
    }
  fs->ahead_next = end = i;
  if (end == last)
    fs->ahead_cur = 0;
  return fs->ahead_cur != 0 || fs->n_ahead > 0;
}

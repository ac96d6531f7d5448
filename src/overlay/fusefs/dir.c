/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Merged directories: the entries of every layer that contributes to a
   directory, top-most first, each name once (the top-most decides), with
   whiteouts hidden.  Opaque directories end the list of contributing
   layers at lookup time (lookup.c), so they need nothing here.  */
#define SBX_LOG_MODULE "fusefs"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* A set of names (open addressing); the names belong to the caller.  */
struct nameset
{
  const char **slots;
  size_t n_slots;
  size_t n;
};

static size_t
name_hash (const char *s)
{
  uint64_t h = 1469598103934665603ULL;

  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return (size_t) h;
}

static bool nameset_add (struct nameset *set, const char *name);

static void
nameset_grow (struct nameset *set)
{
  struct nameset bigger = { .n_slots = set->n_slots ? set->n_slots * 2 : 64 };
  size_t i;

  bigger.slots = xcalloc (bigger.n_slots, sizeof *bigger.slots);
  for (i = 0; i < set->n_slots; i++)
    if (set->slots[i])
      (void) nameset_add (&bigger, set->slots[i]);
  free (set->slots);
  *set = bigger;
}

/* Add NAME; false when it was there already.  */
static bool
nameset_add (struct nameset *set, const char *name)
{
  size_t i;

  if ((set->n + 1) * 2 > set->n_slots)
    nameset_grow (set);
  for (i = name_hash (name) & (set->n_slots - 1); set->slots[i]; i = (i + 1) & (set->n_slots - 1))
    if (strcmp (set->slots[i], name) == 0)
      return false;
  set->slots[i] = name;
  set->n++;
  return true;
}

static bool
nameset_has (const struct nameset *set, const char *name)
{
  size_t i;

  if (set->n_slots == 0)
    return false;
  for (i = name_hash (name) & (set->n_slots - 1); set->slots[i]; i = (i + 1) & (set->n_slots - 1))
    if (strcmp (set->slots[i], name) == 0)
      return true;
  return false;
}

static void
dirlist_add (struct fs_dirlist *l, char *name, struct fs_key key, uint64_t ino, unsigned type)
{
  if (l->n == l->alloc)
    {
      l->alloc = l->alloc ? l->alloc * 2 : 32;
      l->ents = xrealloc (l->ents, xmul (l->alloc, sizeof *l->ents));
    }
  l->ents[l->n++] = (struct fs_dirent){ .name = name, .ino = ino, .type = type, .key = key };
}

struct hidden
{
  char **names;
  size_t n;
};

static void
hidden_release (struct hidden *h)
{
  size_t i;

  for (i = 0; i < h->n; i++)
    free (h->names[i]);
  free (h->names);
}

static unsigned
dt_of (mode_t mode)
{
  return (unsigned) IFTODT (mode);
}

/* Add the entries of one layer's directory DIRFD.  */
static int
list_layer (struct fusefs *fs, int l, int dirfd, struct nameset *seen, struct hidden *hidden,
            struct fs_dirlist *out)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  struct fs_key key;
  int fd;

  fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  d = fdopendir (fd);
  if (d == NULL)
    {
      int r = -errno;

      (void) close (fd);
      return r;
    }
  for (;;)
    {
      unsigned type;
      char *name;

      errno = 0;
      de = readdir (d);
      if (de == NULL)
        return errno ? -errno : 0;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (nameset_has (seen, de->d_name))
        continue;
      type = de->d_type;
      if (type == DT_CHR || type == DT_UNKNOWN)
        {
          struct stat st;

          if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            {
              if (errno == ENOENT)
                continue;
              return -errno;
            }
          type = dt_of (st.st_mode);
          if (fs_is_whiteout (&st))
            {
              name = xstrdup (de->d_name);
              hidden->names = xrealloc (hidden->names, xmul (hidden->n + 1, sizeof (char *)));
              hidden->names[hidden->n++] = name;
              (void) nameset_add (seen, name);
              continue;
            }
        }
      name = xstrdup (de->d_name);
      key = (struct fs_key){ fs->layers[l].dev, de->d_ino };
      dirlist_add (out, name, key, fs_ino_for_key (fs, key), type);
      (void) nameset_add (seen, name);
    }
}

int
fs_dir_list (struct fusefs *fs, struct fs_node *n, struct fs_dirlist *out)
{
  struct nameset seen = { 0 };
  struct hidden hidden = { 0 };
  int l, r = 0;

  *out = (struct fs_dirlist){ 0 };
  if (n->type != S_IFDIR || n->lfds == NULL)
    return -ENOTDIR;
  if (n->dead)
    return -ENOENT;
  for (l = 0; l < fs->n_layers && r == 0; l++)
    {
      int fd;

      if (n->lfds[l] == LFD_ABSENT)
        continue;
      fd = node_layer_fd (fs, n, l);
      if (fd < 0)
        r = fd;
      else
        r = list_layer (fs, l, fd, &seen, &hidden, out);
    }
  free (seen.slots);
  hidden_release (&hidden);
  if (r < 0)
    fs_dirlist_release (out);
  return r;
}

int
fs_dir_is_empty (struct fusefs *fs, struct fs_node *n)
{
  struct fs_dirlist l;
  int r = fs_dir_list (fs, n, &l);

  if (r < 0)
    return r;
  r = l.n == 0;
  fs_dirlist_release (&l);
  return r;
}

int
fs_clear_whiteouts (int dirfd)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int pass, fd;

  fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  d = fdopendir (fd);
  if (d == NULL)
    {
      int r = -errno;

      (void) close (fd);
      return r;
    }
  /* First make sure there is nothing else, then remove.  */
  for (pass = 0; pass < 2; pass++)
    {
      rewinddir (d);
      while ((de = readdir (d)) != NULL)
        {
          struct stat st;

          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
          if (! fs_is_whiteout (&st))
            return -ENOTEMPTY;
          if (pass == 1 && unlinkat (dirfd, de->d_name, 0) < 0)
            return -errno;
        }
    }
  return 0;
}

/* ---- the cached, offset-ordered listing readdir serves ---- */

/* Readdir offsets are hashes of the names (63 bits, above those of "."
   and ".."), as ext4's htree cookies: an offset names a place in the
   directory that stays valid when other entries come and go, so a reader
   resuming at an offset neither skips nor repeats entries that were there
   all along, without any per-opendir state.  */
static uint64_t
name_off (const char *name)
{
  uint64_t h = 1469598103934665603ULL;

  for (; *name; name++)
    h = (h ^ (unsigned char) *name) * 1099511628211ULL;
  h >>= 1;
  return h <= FS_OFF_DOTDOT ? h + FS_OFF_DOTDOT + 1 : h;
}

static int
cmp_off (const void *a, const void *b)
{
  uint64_t x = ((const struct fs_dirent *) a)->off;
  uint64_t y = ((const struct fs_dirent *) b)->off;

  return (x > y) - (x < y);
}

struct fs_dirent *
fs_dirlist_find (const struct fs_dirlist *l, const char *name)
{
  uint64_t off = name_off (name);
  size_t lo = 0, hi = l->n;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;

      if (l->ents[mid].off < off)
        lo = mid + 1;
      else
        hi = mid;
    }
  for (; lo < l->n && l->ents[lo].off == off; lo++)
    if (strcmp (l->ents[lo].name, name) == 0)
      return &l->ents[lo];
  return NULL;
}

int
fs_dir_listing (struct fusefs *fs, struct fs_node *n, const struct fs_dirlist **out)
{
  struct fs_dirlist *l;
  size_t i;
  int r;

  if (n->listing == NULL)
    {
      l = xzalloc (sizeof *l);
      r = fs_dir_list (fs, n, l);
      if (r < 0)
        {
          free (l);
          return r;
        }
      for (i = 0; i < l->n; i++)
        l->ents[i].off = name_off (l->ents[i].name);
      if (l->n > 1)
        qsort (l->ents, l->n, sizeof *l->ents, cmp_off);
      n->listing = l;
    }
  *out = n->listing;
  return 0;
}

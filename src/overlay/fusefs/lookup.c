/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Resolution of a name through the layer stack, the kernel overlay's rules:
   the top-most layer that has the name decides; a whiteout there hides it;
   a directory merges with the directories of the same name below it until
   one of them is opaque, or a layer has a whiteout or a non-directory
   there; a non-directory hides everything below it.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "overlay/fusefs/internal.h"
#include "util/xalloc.h"

void
fs_found_release (struct fs_found *f)
{
  free (f->lfds);
  f->lfds = NULL;
}

static bool
is_valid_name (const char *name)
{
  return *name && strchr (name, '/') == NULL && strcmp (name, ".") != 0 && strcmp (name, "..") != 0;
}

/* Does a layer below L contribute to PARENT?  */
static bool
has_layer_below (const struct fusefs *fs, const struct fs_node *parent, int l)
{
  for (l++; l < fs->n_layers; l++)
    if (parent->lfds[l] != LFD_ABSENT)
      return true;
  return false;
}

/* NAME exists as ST in layer L of PARENT (PFD): fold it into F.  Returns
   true when the layers below do not matter any more.  */
static int
probe_one (struct fusefs *fs, struct fs_node *parent, int l, int pfd, const char *name,
           const struct stat *st, struct fs_found *f)
{
  int r, i;

  if (fs_is_whiteout (st))
    {
      if (f->layer < 0)
        {
          f->whiteout = true;
          f->upper_wh = fs->has_upper && l == 0;
        }
      return 1;
    }
  if (f->layer < 0)
    {
      f->layer = l;
      f->st = *st;
      if (! S_ISDIR (st->st_mode))
        return 1;
      f->lfds = xmalloc (xmul ((size_t) fs->n_layers, sizeof (int)));
      for (i = 0; i < fs->n_layers; i++)
        f->lfds[i] = LFD_ABSENT;
    }
  else if (! S_ISDIR (st->st_mode))
    return 1;
  f->lfds[l] = LFD_CLOSED;
  if (! has_layer_below (fs, parent, l))
    return 1;
  r = fs_is_opaque_at (pfd, name);
  return r; /* 1 opaque: stop; 0 go on; < 0 error */
}

int
fs_probe (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_found *f)
{
  struct stat st;
  int l, pfd, r;

  *f = (struct fs_found){ .layer = -1 };
  if (! is_valid_name (name))
    return -EINVAL;
  if (parent->type != S_IFDIR || parent->lfds == NULL)
    return -ENOTDIR;
  if (parent->dead)
    return -ENOENT;
  for (l = 0; l < fs->n_layers; l++)
    {
      if (parent->lfds[l] == LFD_ABSENT)
        continue;
      pfd = node_layer_fd (fs, parent, l);
      if (pfd < 0)
        {
          fs_found_release (f);
          return pfd;
        }
      if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            continue;
          r = -errno;
          fs_found_release (f);
          return r;
        }
      r = probe_one (fs, parent, l, pfd, name, &st, f);
      if (r < 0)
        {
          fs_found_release (f);
          return r;
        }
      if (r > 0)
        break;
    }
  return 0;
}

int
fs_name_in_lower (struct fusefs *fs, struct fs_node *parent, const char *name)
{
  struct stat st;
  int l, pfd;

  if (! fs->has_upper || parent->lfds == NULL)
    return 0;
  for (l = 1; l < fs->n_layers; l++)
    {
      if (parent->lfds[l] == LFD_ABSENT)
        continue;
      pfd = node_layer_fd (fs, parent, l);
      if (pfd < 0)
        return pfd;
      if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            continue;
          return -errno;
        }
      return fs_is_whiteout (&st) ? 0 : 1;
    }
  return 0;
}

/* What node_getattr would report for N, from the probe's stat.  */
static void
reported_stat (struct fusefs *fs, const struct fs_node *n, const struct fs_found *f,
               struct stat *st)
{
  *st = f->st;
  st->st_ino = (ino_t) n->ino;
  if (n->type == S_IFDIR && node_is_merged (fs, n))
    st->st_nlink = 1;
}

bool
fs_dir_is_lower_only (const struct fusefs *fs, const struct fs_node *n)
{
  return n->type == S_IFDIR && n->lfds && ! n->dead
         && (! fs->has_upper || n->lfds[0] == LFD_ABSENT);
}

bool
fs_take_ahead (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_found *f)
{
  struct fs_dirent *e;

  if (parent->listing == NULL || ! fs_dir_is_lower_only (fs, parent))
    return false;
  e = fs_dirlist_find (parent->listing, name);
  if (e == NULL || e->pre == NULL)
    return false;
  *f = *e->pre;
  free (e->pre);
  e->pre = NULL;
  parent->listing->n_pre--;
  fs->n_pre--;
  return true;
}

int
fs_lookup (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_node **out)
{
  return fs_lookup_st (fs, parent, name, out, NULL);
}

int
fs_lookup_st (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_node **out,
              struct stat *st)
{
  struct fs_found f;
  struct fs_node *n;
  int r;

  if (! fs_take_ahead (fs, parent, name, &f))
    {
      r = fs_probe (fs, parent, name, &f);
      if (r < 0)
        return r;
    }
  if (f.layer < 0)
    return -ENOENT;
  n = node_by_key (fs, (struct fs_key){ f.st.st_dev, f.st.st_ino });
  if (n && (n->type != (f.st.st_mode & S_IFMT) || n->dead))
    {
      /* The object this node stood for is gone and its inode number was
         reused: it is a new object.  */
      node_unkey (fs, n);
      n = NULL;
    }
  if (n)
    {
      node_ref (n);
      /* Another name of a hardlinked file whose primary name went away.  */
      if (n->detached)
        node_set_name (fs, n, parent, name);
      if (st)
        reported_stat (fs, n, &f, st);
      fs_found_release (&f);
      *out = n;
      return 0;
    }
  n = node_new (fs, parent, name, f.st.st_mode, f.layer, &f.st);
  n->lfds = f.lfds;
  f.lfds = NULL;
  fs_hmap_put (&fs->keymap, &n->hkey);
  n->in_keymap = true;
  if (st)
    reported_stat (fs, n, &f, st);
  *out = n;
  return 0;
}

int
fs_lookup_path (struct fusefs *fs, const char *path, struct fs_node **out)
{
  struct fs_node *cur = fs->root;
  const char *p = path;

  node_ref (cur);
  for (;;)
    {
      char comp[256];
      const char *e;
      struct fs_node *next = NULL;
      size_t len;
      int r;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      e = strchrnul (p, '/');
      len = (size_t) (e - p);
      if (len >= sizeof comp)
        {
          node_unref (fs, cur);
          return -ENAMETOOLONG;
        }
      memcpy (comp, p, len);
      comp[len] = '\0';
      p = e;
      r = fs_lookup (fs, cur, comp, &next);
      node_unref (fs, cur);
      if (r < 0)
        return r;
      cur = next;
    }
  *out = cur;
  return 0;
}

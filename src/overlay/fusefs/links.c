/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hardlinks of lower layers.  Copying up one name of a hardlinked lower
   file must bring its other names along, or the pair would become two
   files.  A layer does not say which names share an inode, so the first
   copy-up of such a file walks that layer once and indexes every regular
   file with more than one link (lower layers never change while mounted,
   so the index stays true).  */
#define SBX_LOG_MODULE "fusefs"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct link_entry
{
  struct fs_hentry h; /* key: dev 0, the inode number */
  char **paths;       /* NULL-terminated */
  size_t n;
};

struct fs_linkidx
{
  struct fs_hmap map;
};

static void
free_link_entry (struct fs_hentry *e)
{
  struct link_entry *le = fs_container_of (e, struct link_entry, h);
  size_t i;

  for (i = 0; i < le->n; i++)
    free (le->paths[i]);
  free (le->paths);
  free (le);
}

void
fs_linkidx_free (struct fs_linkidx *idx)
{
  if (idx == NULL)
    return;
  fs_hmap_release (&idx->map, free_link_entry);
  free (idx);
}

static void
index_add (struct fs_linkidx *idx, ino_t ino, const char *path)
{
  struct fs_key key = { .dev = 0, .ino = ino };
  struct fs_hentry *e = fs_hmap_get (&idx->map, key);
  struct link_entry *le;

  if (e == NULL)
    {
      le = xzalloc (sizeof *le);
      le->h.key = key;
      fs_hmap_put (&idx->map, &le->h);
    }
  else
    le = fs_container_of (e, struct link_entry, h);
  le->paths = xrealloc (le->paths, xmul (le->n + 2, sizeof (char *)));
  le->paths[le->n++] = xstrdup (path);
  le->paths[le->n] = NULL;
}

/* PATH becomes its first LEN bytes, then "/NAME" (or NAME at the root).  */
static void
path_set (struct sbx_strbuf *path, size_t len, const char *name)
{
  if (path->alloc > 0)
    {
      path->len = len;
      path->buf[len] = '\0';
    }
  if (len > 0)
    sbx_strbuf_addch (path, '/');
  sbx_strbuf_addstr (path, name);
}

/* Index directory FD0 (consumed), whose path in the layer is PATH.  */
static int
index_dir (struct fs_linkidx *idx, int fd0, struct sbx_strbuf *path, int depth)
{
  cleanup_dir DIR *d = fdopendir (fd0);
  struct dirent *de;
  size_t len = path->len;

  if (d == NULL)
    {
      int r = -errno;

      (void) close (fd0);
      return r;
    }
  if (depth > 4096)
    return -ELOOP;
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (de->d_type != DT_REG && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      path_set (path, len, de->d_name);
      if (S_ISREG (st.st_mode) && st.st_nlink > 1)
        index_add (idx, st.st_ino, path->buf);
      else if (S_ISDIR (st.st_mode))
        {
          int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          int r;

          if (fd < 0)
            continue;
          r = index_dir (idx, fd, path, depth + 1);
          if (r < 0)
            return r;
        }
    }
  if (path->alloc > 0)
    {
      path->len = len;
      path->buf[len] = '\0';
    }
  return 0;
}

char *const *
fs_linkidx_paths (struct fusefs *fs, int layer, ino_t ino)
{
  struct fs_linkidx *idx = fs->linkidx[layer];
  struct fs_hentry *e;

  if (idx == NULL)
    {
      cleanup_strbuf struct sbx_strbuf path = SBX_STRBUF_INIT;
      int fd = openat (fs->layers[layer].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int r = fd < 0 ? -errno : 0;

      idx = xzalloc (sizeof *idx);
      if (r == 0)
        r = index_dir (idx, fd, &path, 0);
      if (r < 0)
        sbx_warn ("index the hardlinks of layer %d: %s", layer, strerror (-r));
      fs->linkidx[layer] = idx;
    }
  e = fs_hmap_get (&idx->map, (struct fs_key){ .dev = 0, .ino = ino });
  return e ? fs_container_of (e, struct link_entry, h)->paths : NULL;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copy-up: the first change to an object of a lower layer copies it to the
   upper layer, transactionally (STYLE.md B7):

     1. create a temporary object in the work dir (same filesystem as the
        upper), guarded: any failure removes it;
     2. data: FICLONE (reflink), else copy_file_range, else read/write,
        keeping holes;
     3. owner, mode, extended attributes (not the overlay's own), times;
     4. renameat into the upper directory, which was copied up first.

   The lower file is only ever read.  Until step 4 the upper layer does not
   change, and step 4 is atomic.  The node keeps its nodeid and its reported
   inode number; only its backing object changes (node_rekey).

   Opening a node's data fd (fs_data_open) is here too: the first write to
   a lower file is what copies it up.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

/* ---- the temporary object and its guard ---- */

void
fs_tmpname (struct fusefs *fs, char *buf, size_t len)
{
  snprintf (buf, len, "#sbx-%ld-%" PRIu64, (long) getpid (), ++fs->tmp_counter);
}

struct tmp_guard
{
  int dirfd;
  bool armed;
  bool is_dir;
  char name[64];
};

static void
tmp_guard_run (struct tmp_guard *g)
{
  if (g->armed)
    (void) unlinkat (g->dirfd, g->name, g->is_dir ? AT_REMOVEDIR : 0);
}
#define cleanup_tmp __attribute__ ((cleanup (tmp_guard_run)))

/* ---- data ---- */

static int
copy_range_rw (int src, int dst, off_t off, off_t len)
{
  cleanup_free char *buf = NULL;
  size_t bufsize = 1 << 20;

  buf = xmalloc (bufsize);
  while (len > 0)
    {
      size_t want = len < (off_t) bufsize ? (size_t) len : bufsize;
      ssize_t n = pread (src, buf, want, off);
      ssize_t done = 0;

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -errno;
        }
      if (n == 0)
        return 0; /* the file is shorter than its size said */
      while (done < n)
        {
          ssize_t w = pwrite (dst, buf + done, (size_t) (n - done), off + done);

          if (w < 0)
            {
              if (errno == EINTR)
                continue;
              return -errno;
            }
          done += w;
        }
      off += n;
      len -= n;
    }
  return 0;
}

static int
copy_range (int src, int dst, off_t off, off_t len)
{
  loff_t in = off, out = off;

  while (len > 0)
    {
      size_t chunk = len > (1 << 30) ? (size_t) 1 << 30 : (size_t) len;
      ssize_t n = copy_file_range (src, &in, dst, &out, chunk, 0);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP
              || errno == EBADF)
            return copy_range_rw (src, dst, in, len);
          return -errno;
        }
      if (n == 0)
        return 0;
      len -= n;
    }
  return 0;
}

int
fs_copy_data (struct fusefs *fs, int src, int dst, off_t size)
{
  off_t off = 0;

  if (size <= 0)
    return 0;
  if (__atomic_load_n (&fs->can_reflink, __ATOMIC_RELAXED) >= 0)
    {
      if (ioctl (dst, FICLONE, src) == 0)
        {
          __atomic_store_n (&fs->can_reflink, 1, __ATOMIC_RELAXED);
          return 0;
        }
      if (__atomic_load_n (&fs->can_reflink, __ATOMIC_RELAXED) == 0)
        {
          sbx_debug ("copy-up: no reflink (%s), copying data", strerror (errno));
          __atomic_store_n (&fs->can_reflink, -1, __ATOMIC_RELAXED);
        }
    }
  /* The size first: holes stay holes, only data is copied.  */
  if (ftruncate (dst, size) < 0)
    return -errno;
  while (off < size)
    {
      off_t data = lseek (src, off, SEEK_DATA);
      off_t hole;
      int r;

      if (data < 0)
        {
          if (errno == ENXIO)
            return 0;
          data = off; /* no SEEK_DATA here: all of it is data */
          hole = size;
        }
      else
        {
          hole = lseek (src, data, SEEK_HOLE);
          if (hole < 0 || hole > size)
            hole = size;
        }
      if (data >= size)
        return 0;
      r = copy_range (src, dst, data, hole - data);
      if (r < 0)
        return r;
      off = hole;
    }
  return 0;
}

/* ---- data fds ---- */

int
fs_data_open (struct fusefs *fs, struct fs_node *n, bool write, struct fs_data **out)
{
  int fd, r, mode;

  if (n->type != S_IFREG)
    return n->type == S_IFDIR ? -EISDIR : -EINVAL;
  if (write)
    {
      /* The first write to a lower file is when it is copied up.  */
      r = fs_copy_up (fs, n, false);
      if (r < 0)
        return r;
    }
  /* Another request may have opened one meanwhile (it waited for the big
     lock like us): use it.  */
  *out = fs_data_get (fs, n->nodeid, write);
  if (*out)
    return 0;
  /* Upper files are opened for writing too, so that one fd serves both.  */
  mode = write || n->layer == 0 ? O_RDWR : O_RDONLY;
  fd = node_open (fs, n, mode | O_NOATIME);
  if (fd == -EPERM)
    fd = node_open (fs, n, mode);
  if (fd < 0 && ! write && mode == O_RDWR)
    {
      mode = O_RDONLY;
      fd = node_open (fs, n, mode);
    }
  if (fd < 0)
    return fd;
  *out = fs_data_attach (fs, n, fd, mode == O_RDWR);
  return 0;
}

/* ---- metadata ---- */

static ssize_t
x_list (const char *path, bool follow, char *buf, size_t size)
{
  return follow ? listxattr (path, buf, size) : llistxattr (path, buf, size);
}

static ssize_t
x_get (const char *path, bool follow, const char *name, void *buf, size_t size)
{
  return follow ? getxattr (path, name, buf, size) : lgetxattr (path, name, buf, size);
}

static int
x_set (const char *path, bool follow, const char *name, const void *buf, size_t size)
{
  return follow ? setxattr (path, name, buf, size, 0) : lsetxattr (path, name, buf, size, 0);
}

/* The names of PATH's xattrs into *OUT (malloc'ed); returns the size.  */
static ssize_t
list_all (const char *path, bool follow, char **out)
{
  int tries;

  *out = NULL;
  for (tries = 0; tries < 4; tries++)
    {
      ssize_t size = x_list (path, follow, NULL, 0);
      ssize_t n;

      if (size <= 0)
        return size < 0 && errno != ENOTSUP ? -errno : 0;
      *out = xrealloc (*out, (size_t) size);
      n = x_list (path, follow, *out, (size_t) size);
      if (n >= 0)
        return n;
      if (errno != ERANGE)
        return -errno;
    }
  return -ERANGE;
}

int
fs_copy_xattrs (const char *src, bool src_follow, const char *dst, bool dst_follow)
{
  cleanup_free char *names = NULL;
  ssize_t len = list_all (src, src_follow, &names);
  char *p;

  if (len < 0)
    return (int) len;
  for (p = names; p < names + len; p += strlen (p) + 1)
    {
      cleanup_free char *val = NULL;
      ssize_t size, n;

      if (fs_xattr_is_private (p))
        continue;
      size = x_get (src, src_follow, p, NULL, 0);
      if (size < 0)
        continue;
      val = xmalloc ((size_t) size + 1);
      n = x_get (src, src_follow, p, val, (size_t) size);
      if (n < 0)
        continue;
      if (x_set (dst, dst_follow, p, val, (size_t) n) < 0)
        {
          /* user.* is the container's data: losing it fails the copy-up.
             Others (security.*, system.*) may not be settable here.  */
          if (strncmp (p, "user.", 5) == 0)
            return -errno;
          sbx_debug ("copy-up: xattr %s not copied: %s", p, strerror (errno));
        }
    }
  return 0;
}

static int
proc_path (char *buf, size_t len, int dirfd, const char *name)
{
  int n = snprintf (buf, len, "/proc/self/fd/%d/%s", dirfd, name);

  return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

/* Owner, mode, xattrs and times of ST / SRC_XPATH on NAME in DIRFD.  */
static int
copy_meta (int dirfd, const char *name, const struct stat *st, const char *src_xpath,
           bool src_follow)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };
  char dst[320];
  bool is_link = S_ISLNK (st->st_mode);
  int r;

  /* An owner this user namespace does not map (a layer unpacked in
     another mode) cannot be kept: the copy stays owned by root here.  */
  if (fchownat (dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno != EINVAL && errno != EPERM)
        return -errno;
      sbx_debug ("copy-up of `%s`: owner %u:%u not kept: %s", name, (unsigned) st->st_uid,
                 (unsigned) st->st_gid, strerror (errno));
    }
  /* After chown, which clears set-id bits.  */
  if (! is_link && fchmodat (dirfd, name, st->st_mode & 07777, 0) < 0)
    return -errno;
  r = proc_path (dst, sizeof dst, dirfd, name);
  if (r < 0)
    return r;
  r = fs_copy_xattrs (src_xpath, src_follow, dst, false);
  if (r < 0)
    return r;
  if (utimensat (dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  return 0;
}

/* ---- one object ---- */

/* Create the copy of N (described by ST) as G->name in the work dir.  */
static int
make_tmp_copy (struct fusefs *fs, struct fs_node *n, const struct stat *st, bool skip_data,
               struct tmp_guard *g)
{
  cleanup_close int src = -1;
  cleanup_close int dst = -1;
  cleanup_free char *target = NULL;
  const char *name;
  int dirfd, r;

  switch (st->st_mode & S_IFMT)
    {
    case S_IFDIR:
      if (mkdirat (g->dirfd, g->name, 0700) < 0)
        return -errno;
      g->is_dir = true;
      break;
    case S_IFREG:
      dst = openat (g->dirfd, g->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (dst < 0)
        return -errno;
      g->armed = true;
      if (! skip_data && st->st_size > 0)
        {
          src = node_open (fs, n, O_RDONLY);
          if (src < 0)
            return src;
          r = fs_copy_data (fs, src, dst, st->st_size);
          if (r < 0)
            return r;
        }
      break;
    case S_IFLNK:
      r = node_at (fs, n, &dirfd, &name);
      if (r < 0)
        return r;
      target = xmalloc ((size_t) st->st_size + 1);
      {
        ssize_t len = readlinkat (dirfd, name, target, (size_t) st->st_size + 1);

        if (len < 0)
          return -errno;
        if (len != st->st_size)
          return -EIO; /* lower layers do not change */
        target[len] = '\0';
      }
      if (symlinkat (target, g->dirfd, g->name) < 0)
        return -errno;
      break;
    default:
      /* FIFOs and sockets; a device node fails here (EPERM) unless the
         user namespace may create it.  */
      if (mknodat (g->dirfd, g->name, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0)
        return -errno;
      break;
    }
  g->armed = true;
  return 0;
}

static int link_aliases (struct fusefs *fs, struct fs_node *n, const struct stat *st);

static int
copy_up_one (struct fusefs *fs, struct fs_node *n, bool skip_data)
{
  cleanup_tmp struct tmp_guard g = { .dirfd = fs->work_fd };
  char src_xpath[320];
  bool src_follow;
  struct stat st, nst;
  int upfd, r;

  r = node_stat (fs, n, &st);
  if (r < 0)
    return r;
  r = node_proc_path (fs, n, src_xpath, sizeof src_xpath, &src_follow);
  if (r < 0)
    return r;
  upfd = node_layer_fd (fs, n->parent, 0);
  if (upfd < 0)
    return upfd;
  fs_tmpname (fs, g.name, sizeof g.name);
  r = make_tmp_copy (fs, n, &st, skip_data, &g);
  if (r < 0)
    return r;
  r = copy_meta (g.dirfd, g.name, &st, src_xpath, src_follow);
  if (r < 0)
    return r;
  if (renameat (g.dirfd, g.name, upfd, n->name) < 0)
    return -errno;
  g.armed = false;
  if (fstatat (upfd, n->name, &nst, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  /* Other names of a hardlinked lower file follow it up, before the node
     stops answering to its lower identity.  */
  if (S_ISREG (st.st_mode) && st.st_nlink > 1)
    {
      r = link_aliases (fs, n, &st);
      if (r < 0)
        sbx_warn ("copy-up of `%s`: its other hardlinks stay in the lower layer: %s", n->name,
                  strerror (-r));
    }
  if (n->type == S_IFDIR)
    n->lfds[0] = LFD_CLOSED;
  node_rekey (fs, n, 0, &nst);
  return 0;
}

int
fs_copy_up (struct fusefs *fs, struct fs_node *n, bool skip_data)
{
  int r;

  if (! fs->has_upper)
    return -EROFS;
  if (n == fs->root)
    return 0;
  if (n->type == S_IFDIR ? n->lfds[0] != LFD_ABSENT : n->layer == 0)
    return 0;
  if (n->dead || n->detached || n->parent == NULL)
    return -ENOENT;
  r = fs_copy_up (fs, n->parent, false);
  if (r < 0)
    return r;
  return copy_up_one (fs, n, skip_data);
}

int
fs_copy_up_tree (struct fusefs *fs, struct fs_node *n)
{
  struct fs_dirlist list;
  size_t i;
  int r;

  r = fs_copy_up (fs, n, false);
  if (r < 0 || n->type != S_IFDIR || ! node_has_lower (fs, n))
    return r;
  r = fs_dir_list (fs, n, &list);
  if (r < 0)
    return r;
  for (i = 0; i < list.n && r == 0; i++)
    {
      struct fs_node *child = NULL;

      r = fs_lookup (fs, n, list.ents[i].name, &child);
      if (r < 0)
        break;
      r = child->type == S_IFDIR ? fs_copy_up_tree (fs, child) : fs_copy_up (fs, child, false);
      node_unref (fs, child);
    }
  fs_dirlist_release (&list);
  return r;
}

/* ---- hardlinks ---- */

/* Link the copy of N (now N->name in its upper parent) at the other names
   its lower inode has in its layer that are still visible as N.  */
static int
link_aliases (struct fusefs *fs, struct fs_node *n, const struct stat *st)
{
  char *const *paths = fs_linkidx_paths (fs, n->layer, st->st_ino);
  size_t i;

  for (i = 0; paths && paths[i]; i++)
    {
      cleanup_free char *dir = xstrdup (paths[i]);
      char *slash = strrchr (dir, '/');
      const char *base = slash ? slash + 1 : dir;
      struct fs_node *parent = NULL;
      struct fs_found f;
      int r, from, to;

      if (slash)
        *slash = '\0';
      r = fs_lookup_path (fs, slash ? dir : "", &parent);
      if (r < 0)
        continue; /* that name is hidden now */
      r = fs_probe (fs, parent, base, &f);
      if (r == 0 && f.layer >= 0 && f.layer == n->layer && f.st.st_ino == st->st_ino
          && f.st.st_dev == st->st_dev && ! (parent == n->parent && strcmp (base, n->name) == 0))
        {
          r = fs_copy_up (fs, parent, false);
          from = r < 0 ? r : node_layer_fd (fs, n->parent, 0);
          to = from < 0 ? from : node_layer_fd (fs, parent, 0);
          if (to < 0)
            r = to;
          else if (linkat (from, n->name, to, base, 0) < 0)
            r = -errno;
        }
      fs_found_release (&f);
      node_unref (fs, parent);
      if (r < 0)
        return r;
    }
  return 0;
}

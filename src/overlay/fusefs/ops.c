/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FUSE low-level operations: each decodes a request, calls the core
   (internal.h) under the big lock or does data I/O on the handle's fd
   without it, and replies exactly once.

   Caching.  Entries and attributes are given to the kernel for a long time
   (fs->timeout, a day by default), and open files and directories keep
   their page and readdir caches (keep_cache, cache_readdir).  That is safe
   because nothing else changes what this filesystem shows while it is
   mounted: lower layers never change (the store only ever adds layers, and
   a layer in use is not removed), and the upper layer is written only
   through this mount, so every change goes through the kernel, which
   updates or invalidates what it cached for it (a create or unlink
   invalidates the directory and its readdir cache, a write updates the
   size, a setattr returns the new attributes).  What the server does on its
   own is invisible by design: copy-up keeps inode numbers and contents,
   whiteouts are hidden.  Editing the upper directory from the host while
   the container runs is unsupported, as with the kernel overlay.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "overlay/fusefs/fuse-api.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

/* fi->fh of open files and directories; KIND tells them apart, since the
   kernel passes either to getattr and setattr.  */
enum
{
  FH_FILE = 0x46494c45,
  FH_DIR = 0x44495220,
};

struct fs_handle
{
  uint32_t kind;
  int fd;
  struct fs_node *node; /* referenced */
};

struct fs_dirh
{
  uint32_t kind;
  struct fs_node *node; /* referenced */
  struct fs_dirlist list;
  bool loaded;
};

static struct fusefs *
fs_of (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

/* A reply for a core result R (0 or -errno).  */
static void
reply_status (fuse_req_t req, int r)
{
  if (r > 0 || r < -4095)
    {
      fs_bug (__FILE__, __LINE__, "an error that is not an errno");
      r = -EIO;
    }
  fuse_reply_err (req, -r);
}

static struct fs_handle *
file_handle (const struct fuse_file_info *fi)
{
  struct fs_handle *h = fi ? (struct fs_handle *) (uintptr_t) fi->fh : NULL;

  return h && h->kind == FH_FILE ? h : NULL;
}

static struct fs_dirh *
dir_handle (const struct fuse_file_info *fi)
{
  struct fs_dirh *d = fi ? (struct fs_dirh *) (uintptr_t) fi->fh : NULL;

  return d && d->kind == FH_DIR ? d : NULL;
}

/* The node for INO, or NULL after logging: the kernel only names nodes we
   gave it and did not forget.  */
static struct fs_node *
get_node (struct fusefs *fs, fuse_ino_t ino)
{
  struct fs_node *n = node_get (fs, ino);

  SBX_BUG_ON (n == NULL);
  return n;
}

/* ---- connection ---- */

static void
op_init (void *userdata, struct fuse_conn_info *conn)
{
  (void) userdata;
  /* Splice both ways: reads go from the backing file to /dev/fuse through
     a pipe, writes from /dev/fuse to the backing file.  */
  conn->want |= conn->capable
                & (FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE
                   | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ATOMIC_O_TRUNC
                   | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_ASYNC_READ);
  /* The kernel clears set-id bits on write and chown itself; the backing
     filesystem does too, but only the kernel knows the writer's caps.  */
  conn->want &= ~(unsigned) FUSE_CAP_HANDLE_KILLPRIV;
  /* No FUSE_CAP_POSIX_LOCKS / FLOCK_LOCKS: without lock ops the kernel
     keeps flock and fcntl locks itself, which is right for a filesystem
     that only this mount serves.  No writeback cache: writes go through
     (vendor-notes/libfuse3.md: only after the copy-up tests pass with it).  */
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  conn->time_gran = 1;
}

/* ---- names ---- */

static void
fill_entry (struct fusefs *fs, struct fs_node *n, const struct stat *st, struct fuse_entry_param *e)
{
  *e = (struct fuse_entry_param){
    .ino = n->nodeid, .attr = *st, .attr_timeout = fs->timeout, .entry_timeout = fs->timeout
  };
}

/* Reply with the entry for N (the core's reference to it is dropped):
   one more lookup for the kernel, undone when the reply fails.  */
static void
reply_node (fuse_req_t req, struct fusefs *fs, struct fs_node *n, int r)
{
  struct fuse_entry_param e;
  struct stat st;

  if (r == 0)
    {
      cleanup_lock struct fusefs *locked = fs_locked (fs);

      r = node_getattr (fs, n, &st);
      if (r == 0)
        {
          fill_entry (fs, n, &st, &e);
          n->nlookup++;
        }
      node_unref (fs, n);
    }
  if (r < 0)
    {
      reply_status (req, r);
      return;
    }
  if (fuse_reply_entry (req, &e) != 0)
    {
      cleanup_lock struct fusefs *locked = fs_locked (fs);
      struct fs_node *again = node_get (fs, e.ino);

      if (again)
        node_forget (fs, again, 1);
    }
}

static void
op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fusefs *fs = fs_of (req);
  struct fs_node *n = NULL;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_lookup (fs, p, name, &n) : -EIO;
  }
  if (r == -ENOENT)
    {
      /* A negative entry, cached as long as a positive one.  */
      struct fuse_entry_param e = { .ino = 0, .entry_timeout = fs->timeout };

      fuse_reply_entry (req, &e);
      return;
    }
  reply_node (req, fs, n, r);
}

static void
op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  struct fusefs *fs = fs_of (req);

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    if (n)
      node_forget (fs, n, nlookup);
  }
  fuse_reply_none (req);
}

static void
op_forget_multi (fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  struct fusefs *fs = fs_of (req);
  size_t i;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);

    for (i = 0; i < count; i++)
      {
        struct fs_node *n = get_node (fs, forgets[i].ino);

        if (n)
          node_forget (fs, n, forgets[i].nlookup);
      }
  }
  fuse_reply_none (req);
}

static void
op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct stat st;
  int r;

  (void) fi;
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? node_getattr (fs, n, &st) : -EIO;
  }
  if (r < 0)
    reply_status (req, r);
  else
    fuse_reply_attr (req, &st, fs->timeout);
}

static int
set_flags_of (int to_set)
{
  int f = 0;

  f |= (to_set & FUSE_SET_ATTR_MODE) ? FS_SET_MODE : 0;
  f |= (to_set & FUSE_SET_ATTR_UID) ? FS_SET_UID : 0;
  f |= (to_set & FUSE_SET_ATTR_GID) ? FS_SET_GID : 0;
  f |= (to_set & FUSE_SET_ATTR_SIZE) ? FS_SET_SIZE : 0;
  f |= (to_set & FUSE_SET_ATTR_ATIME) ? FS_SET_ATIME : 0;
  f |= (to_set & FUSE_SET_ATTR_MTIME) ? FS_SET_MTIME : 0;
  f |= (to_set & FUSE_SET_ATTR_ATIME_NOW) ? FS_SET_ATIME_NOW : 0;
  f |= (to_set & FUSE_SET_ATTR_MTIME_NOW) ? FS_SET_MTIME_NOW : 0;
  f |= (to_set & FUSE_SET_ATTR_CTIME) ? FS_SET_CTIME : 0;
  return f;
}

static void
op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
            struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_handle *h = file_handle (fi);
  struct stat st;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_setattr (fs, n, attr, set_flags_of (to_set), h ? h->fd : -1) : -EIO;
    if (r == 0)
      r = node_getattr (fs, n, &st);
  }
  if (r < 0)
    reply_status (req, r);
  else
    fuse_reply_attr (req, &st, fs->timeout);
}

static void
op_readlink (fuse_req_t req, fuse_ino_t ino)
{
  struct fusefs *fs = fs_of (req);
  cleanup_free char *buf = NULL;
  size_t size = 256;
  int r = 0;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);
    const char *name = "";
    int dirfd = -1;

    r = n == NULL ? -EIO : n->type != S_IFLNK ? -EINVAL : node_at (fs, n, &dirfd, &name);
    while (r == 0)
      {
        ssize_t len;

        buf = xrealloc (buf, size);
        len = readlinkat (dirfd, name, buf, size);
        if (len < 0)
          r = -errno;
        else if ((size_t) len < size)
          {
            buf[len] = '\0';
            break;
          }
        else if (size >= (1 << 20))
          r = -ENAMETOOLONG;
        size *= 4;
      }
  }
  if (r < 0)
    reply_status (req, r);
  else
    fuse_reply_readlink (req, buf);
}

static struct fs_ctx
ctx_of (fuse_req_t req)
{
  const struct fuse_ctx *c = fuse_req_ctx (req);

  return (struct fs_ctx){ .uid = c->uid, .gid = c->gid };
}

static void
op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
  struct fusefs *fs = fs_of (req);
  struct fs_ctx ctx = ctx_of (req);
  struct fs_node *n = NULL;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_mknod (fs, &ctx, p, name, mode, rdev, &n) : -EIO;
  }
  reply_node (req, fs, n, r);
}

static void
op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  struct fusefs *fs = fs_of (req);
  struct fs_ctx ctx = ctx_of (req);
  struct fs_node *n = NULL;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_mkdir (fs, &ctx, p, name, mode, &n) : -EIO;
  }
  reply_node (req, fs, n, r);
}

static void
op_symlink (fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
  struct fusefs *fs = fs_of (req);
  struct fs_ctx ctx = ctx_of (req);
  struct fs_node *n = NULL;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_symlink (fs, &ctx, p, name, target, &n) : -EIO;
  }
  reply_node (req, fs, n, r);
}

static void
op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
  struct fusefs *fs = fs_of (req);
  struct fs_node *n = NULL;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);
    struct fs_node *src = get_node (fs, ino);

    r = p && src ? fs_link (fs, src, p, name, &n) : -EIO;
  }
  reply_node (req, fs, n, r);
}

static void
op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fusefs *fs = fs_of (req);
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_unlink (fs, p, name) : -EIO;
  }
  reply_status (req, r);
}

static void
op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fusefs *fs = fs_of (req);
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_rmdir (fs, p, name) : -EIO;
  }
  reply_status (req, r);
}

static void
op_rename (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
           const char *newname, unsigned int flags)
{
  struct fusefs *fs = fs_of (req);
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);
    struct fs_node *np = get_node (fs, newparent);

    r = p && np ? fs_rename (fs, p, name, np, newname, flags) : -EIO;
  }
  reply_status (req, r);
}

/* ---- files ---- */

static struct fs_handle *
handle_new (struct fs_node *n, int fd)
{
  struct fs_handle *h = xzalloc (sizeof *h);

  h->kind = FH_FILE;
  h->fd = fd;
  h->node = n;
  node_ref (n);
  return h;
}

static void
handle_free (struct fusefs *fs, struct fs_handle *h)
{
  (void) close (h->fd);
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);

    node_unref (fs, h->node);
  }
  h->kind = 0;
  free (h);
}

static void
set_open_flags (struct fuse_file_info *fi, struct fs_handle *h)
{
  fi->fh = (uint64_t) (uintptr_t) h;
  /* See the top of the file for why the page cache can be kept.  */
  fi->keep_cache = 1;
  /* flush is a no-op (locks are the kernel's): skip the round trip.  */
  fi->noflush = 1;
}

/* Flags for the backing file: no O_DIRECT (the kernel's requests are not
   aligned for it) and nothing about creation.  */
static int
backing_flags (int flags)
{
  return flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT);
}

static void
op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_handle *h = NULL;
  int r = 0;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);
    bool writes = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);

    if (n == NULL)
      r = -EIO;
    else if (n->type == S_IFDIR)
      r = -EISDIR;
    else if (writes)
      r = fs_copy_up (fs, n, (fi->flags & O_TRUNC) != 0);
    if (r == 0)
      r = node_open (fs, n, backing_flags (fi->flags));
    if (r >= 0)
      h = handle_new (n, r);
  }
  if (h == NULL)
    {
      reply_status (req, r);
      return;
    }
  set_open_flags (fi, h);
  if (fuse_reply_open (req, fi) != 0)
    handle_free (fs, h);
}

static void
op_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_ctx ctx = ctx_of (req);
  struct fuse_entry_param e;
  struct fs_handle *h = NULL;
  struct fs_node *n = NULL;
  struct stat st;
  int r, fd = -1;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_create (fs, &ctx, p, name, mode, backing_flags (fi->flags) | (fi->flags & O_EXCL),
                       &n, &fd)
          : -EIO;
    if (r == 0)
      r = node_getattr (fs, n, &st);
    if (r == 0)
      {
        fill_entry (fs, n, &st, &e);
        n->nlookup++;
        h = handle_new (n, fd);
        fd = -1;
      }
    if (n)
      node_unref (fs, n);
  }
  if (fd >= 0)
    (void) close (fd);
  if (h == NULL)
    {
      reply_status (req, r);
      return;
    }
  set_open_flags (fi, h);
  if (fuse_reply_create (req, &e, fi) != 0)
    {
      {
        cleanup_lock struct fusefs *locked = fs_locked (fs);

        node_forget (fs, h->node, 1);
      }
      handle_free (fs, h);
    }
}

static void
op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  struct fs_handle *h = file_handle (fi);
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT (size);

  (void) ino;
  if (SBX_BUG_ON (h == NULL))
    {
      fuse_reply_err (req, EIO);
      return;
    }
  /* Outside the lock: spliced from the backing file when the kernel can.  */
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = h->fd;
  buf.buf[0].pos = off;
  fuse_reply_data (req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void
op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
              struct fuse_file_info *fi)
{
  struct fs_handle *h = file_handle (fi);
  struct fuse_bufvec out = FUSE_BUFVEC_INIT (fuse_buf_size (in));
  ssize_t n;

  (void) ino;
  if (SBX_BUG_ON (h == NULL))
    {
      fuse_reply_err (req, EIO);
      return;
    }
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = h->fd;
  out.buf[0].pos = off;
  n = fuse_buf_copy (&out, in, 0);
  if (n < 0)
    fuse_reply_err (req, (int) -n);
  else
    fuse_reply_write (req, (size_t) n);
}

static void
op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void) ino;
  (void) fi;
  fuse_reply_err (req, 0);
}

static void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fs_handle *h = file_handle (fi);

  (void) ino;
  if (! SBX_BUG_ON (h == NULL))
    handle_free (fs_of (req), h);
  fuse_reply_err (req, 0);
}

static void
op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  struct fs_handle *h = file_handle (fi);
  int r;

  (void) ino;
  if (SBX_BUG_ON (h == NULL))
    r = EIO;
  else
    r = (datasync ? fdatasync (h->fd) : fsync (h->fd)) < 0 ? errno : 0;
  fuse_reply_err (req, r);
}

static void
op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
              struct fuse_file_info *fi)
{
  struct fs_handle *h = file_handle (fi);
  int r;

  (void) ino;
  if (SBX_BUG_ON (h == NULL))
    r = EIO;
  else
    r = fallocate (h->fd, mode, off, len) < 0 ? errno : 0;
  fuse_reply_err (req, r);
}

static void
op_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
  struct fs_handle *h = file_handle (fi);
  off_t r;

  (void) ino;
  if (SBX_BUG_ON (h == NULL))
    {
      fuse_reply_err (req, EIO);
      return;
    }
  r = lseek (h->fd, off, whence);
  if (r < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_lseek (req, r);
}

static void
op_copy_file_range (fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in,
                    fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len,
                    int flags)
{
  struct fs_handle *in = file_handle (fi_in);
  struct fs_handle *out = file_handle (fi_out);
  loff_t oin = off_in, oout = off_out;
  ssize_t n;

  (void) ino_in;
  (void) ino_out;
  if (SBX_BUG_ON (in == NULL || out == NULL))
    {
      fuse_reply_err (req, EIO);
      return;
    }
  n = copy_file_range (in->fd, &oin, out->fd, &oout, len, (unsigned) flags);
  if (n < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_write (req, (size_t) n);
}

/* ---- directories ---- */

static void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_dirh *d = NULL;
  int r = 0;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    if (n == NULL)
      r = -EIO;
    else if (n->type != S_IFDIR)
      r = -ENOTDIR;
    else if (n->dead)
      r = -ENOENT;
    else
      {
        d = xzalloc (sizeof *d);
        d->kind = FH_DIR;
        d->node = n;
        node_ref (n);
      }
  }
  if (d == NULL)
    {
      reply_status (req, r);
      return;
    }
  fi->fh = (uint64_t) (uintptr_t) d;
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  if (fuse_reply_open (req, fi) != 0)
    {
      cleanup_lock struct fusefs *locked = fs_locked (fs);

      node_unref (fs, d->node);
      free (d);
    }
}

/* Entry I of D: ".", "..", then the merged list.  */
static bool
dir_entry (struct fs_dirh *d, size_t i, const char **name, uint64_t *ino, unsigned *type)
{
  if (i == 0 || i == 1)
    {
      struct fs_node *n = i == 1 && d->node->parent ? d->node->parent : d->node;

      *name = i == 0 ? "." : "..";
      *ino = n->ino;
      *type = DT_DIR;
      return true;
    }
  if (i - 2 >= d->list.n)
    return false;
  *name = d->list.ents[i - 2].name;
  *ino = d->list.ents[i - 2].ino;
  *type = d->list.ents[i - 2].type;
  return true;
}

/* One entry of readdirplus at BUF: a lookup the kernel keeps.  Returns its
   size, 0 to skip it, or more than REMAIN when it does not fit.  */
static size_t
add_plus (fuse_req_t req, struct fusefs *fs, struct fs_dirh *d, const char *name, uint64_t ino,
          unsigned type, char *buf, size_t remain, off_t next)
{
  struct fuse_entry_param e = { 0 };
  struct fs_node *n = NULL;
  size_t size;

  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    {
      /* No lookup: the kernel does not link these.  */
      e.attr.st_ino = (ino_t) ino;
      e.attr.st_mode = (mode_t) (type << 12);
      return fuse_add_direntry_plus (req, buf, remain, name, &e, next);
    }
  if (fs_lookup (fs, d->node, name, &n) < 0)
    return 0; /* gone since the listing: skip it */
  if (node_getattr (fs, n, &e.attr) < 0)
    {
      node_unref (fs, n);
      return 0;
    }
  fill_entry (fs, n, &e.attr, &e);
  size = fuse_add_direntry_plus (req, buf, remain, name, &e, next);
  if (size <= remain)
    n->nlookup++;
  node_unref (fs, n);
  return size;
}

static void
do_readdir (fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
  struct fusefs *fs = fs_of (req);
  struct fs_dirh *d = dir_handle (fi);
  cleanup_free char *buf = NULL;
  size_t pos = 0;
  int r = 0;

  if (SBX_BUG_ON (d == NULL) || off < 0)
    {
      fuse_reply_err (req, EIO);
      return;
    }
  if (size > (1 << 20))
    size = 1 << 20;
  buf = xmalloc (size);
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    size_t i;

    /* A listing is taken at the start (and again after rewinddir), so
       offsets stay valid while the directory changes.  */
    if (off == 0 || ! d->loaded)
      {
        fs_dirlist_release (&d->list);
        r = fs_dir_list (fs, d->node, &d->list);
        d->loaded = r == 0;
      }
    for (i = (size_t) off; r == 0; i++)
      {
        const char *name;
        uint64_t ino;
        unsigned type;
        size_t ent;

        if (! dir_entry (d, i, &name, &ino, &type))
          break;
        if (plus)
          ent = add_plus (req, fs, d, name, ino, type, buf + pos, size - pos, (off_t) i + 1);
        else
          {
            struct stat st = { .st_ino = (ino_t) ino, .st_mode = (mode_t) (type << 12) };

            ent = fuse_add_direntry (req, buf + pos, size - pos, name, &st, (off_t) i + 1);
          }
        if (ent > size - pos)
          break;
        pos += ent;
      }
  }
  if (r < 0)
    reply_status (req, r);
  else
    fuse_reply_buf (req, buf, pos);
}

static void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  (void) ino;
  do_readdir (req, size, off, fi, false);
}

static void
op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  (void) ino;
  do_readdir (req, size, off, fi, true);
}

static void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_dirh *d = dir_handle (fi);

  (void) ino;
  if (! SBX_BUG_ON (d == NULL))
    {
      {
        cleanup_lock struct fusefs *locked = fs_locked (fs);

        node_unref (fs, d->node);
      }
      fs_dirlist_release (&d->list);
      d->kind = 0;
      free (d);
    }
  fuse_reply_err (req, 0);
}

static void
op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_dirh *d = dir_handle (fi);
  int r = 0;

  (void) ino;
  if (SBX_BUG_ON (d == NULL))
    r = -EIO;
  else
    {
      cleanup_lock struct fusefs *locked = fs_locked (fs);

      if (fs->has_upper && d->node->lfds && d->node->lfds[0] != LFD_ABSENT)
        {
          int fd = node_layer_fd (fs, d->node, 0);
          int dfd = fd < 0 ? fd : openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

          if (fd < 0)
            r = fd;
          else if (dfd < 0)
            r = -errno;
          else
            {
              if ((datasync ? fdatasync (dfd) : fsync (dfd)) < 0)
                r = -errno;
              (void) close (dfd);
            }
        }
    }
  reply_status (req, r);
}

/* ---- the rest ---- */

static void
op_statfs (fuse_req_t req, fuse_ino_t ino)
{
  struct fusefs *fs = fs_of (req);
  struct statvfs sv;

  (void) ino;
  /* The upper layer's filesystem, where writes go; else the top lower's.  */
  if (fstatvfs (fs->layers[0].fd, &sv) < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_statfs (req, &sv);
}

#define XATTR_MAX (64 * 1024)

static void
op_getxattr (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
  struct fusefs *fs = fs_of (req);
  cleanup_free char *buf = NULL;
  int r;

  if (size > XATTR_MAX)
    size = XATTR_MAX;
  if (size > 0)
    buf = xmalloc (size);
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_getxattr (fs, n, name, buf, size) : -EIO;
  }
  if (r < 0)
    reply_status (req, r);
  else if (size == 0)
    fuse_reply_xattr (req, (size_t) r);
  else
    fuse_reply_buf (req, buf, (size_t) r);
}

static void
op_listxattr (fuse_req_t req, fuse_ino_t ino, size_t size)
{
  struct fusefs *fs = fs_of (req);
  cleanup_free char *buf = NULL;
  int r;

  if (size > XATTR_MAX)
    size = XATTR_MAX;
  if (size > 0)
    buf = xmalloc (size);
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_listxattr (fs, n, buf, size) : -EIO;
  }
  if (r < 0)
    reply_status (req, r);
  else if (size == 0)
    fuse_reply_xattr (req, (size_t) r);
  else
    fuse_reply_buf (req, buf, (size_t) r);
}

static void
op_setxattr (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
             int flags)
{
  struct fusefs *fs = fs_of (req);
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_setxattr (fs, n, name, value, size, flags) : -EIO;
  }
  reply_status (req, r);
}

static void
op_removexattr (fuse_req_t req, fuse_ino_t ino, const char *name)
{
  struct fusefs *fs = fs_of (req);
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_removexattr (fs, n, name) : -EIO;
  }
  reply_status (req, r);
}

const struct fuse_lowlevel_ops fusefs_ops = {
  .init = op_init,
  .lookup = op_lookup,
  .forget = op_forget,
  .forget_multi = op_forget_multi,
  .getattr = op_getattr,
  .setattr = op_setattr,
  .readlink = op_readlink,
  .mknod = op_mknod,
  .mkdir = op_mkdir,
  .unlink = op_unlink,
  .rmdir = op_rmdir,
  .symlink = op_symlink,
  .rename = op_rename,
  .link = op_link,
  .open = op_open,
  .create = op_create,
  .read = op_read,
  .write_buf = op_write_buf,
  .flush = op_flush,
  .release = op_release,
  .fsync = op_fsync,
  .fallocate = op_fallocate,
  .lseek = op_lseek,
  .copy_file_range = op_copy_file_range,
  .opendir = op_opendir,
  .readdir = op_readdir,
  .readdirplus = op_readdirplus,
  .releasedir = op_releasedir,
  .fsyncdir = op_fsyncdir,
  .statfs = op_statfs,
  .setxattr = op_setxattr,
  .getxattr = op_getxattr,
  .listxattr = op_listxattr,
  .removexattr = op_removexattr,
};

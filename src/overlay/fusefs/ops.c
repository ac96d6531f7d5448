/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FUSE low-level operations on names, attributes and extended
   attributes (files and directories: io.c): each decodes a request, calls
   the core (internal.h) under the big lock and replies exactly once.

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
#include "overlay/fusefs/fs.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

struct fusefs *
fs_of (fuse_req_t req)
{
  return fuse_req_userdata (req);
}

/* A reply for a core result R (0 or -errno).  */
void
reply_status (fuse_req_t req, int r)
{
  if (r > 0 || r < -4095)
    {
      fs_bug (__FILE__, __LINE__, "an error that is not an errno");
      r = -EIO;
    }
  fuse_reply_err (req, -r);
}

/* The node for INO, or NULL after logging: the kernel only names nodes we
   gave it and did not forget.  */
struct fs_node *
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
  struct fusefs *fs = userdata;

  /* READ replies are spliced from the backing file to /dev/fuse.  Without
     SPLICE_MOVE: the pages are the backing file's page cache, which the
     kernel cannot steal (it logs "fuse: trying to steal weird page").  */
  conn->want |= conn->capable
                & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS
                   | FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_ASYNC_READ);
  /* Requests are read into plain buffers: splicing them in (SPLICE_READ)
     costs a second syscall for every request that is not a WRITE, and
     measured here it won nothing on 1 MiB or 64 KiB writes either.  */
  conn->want &= ~(unsigned) (FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_MOVE);
  /* The kernel clears set-id bits on write and chown itself; the backing
     filesystem does too, but only the kernel knows the writer's caps.  */
  conn->want &= ~(unsigned) FUSE_CAP_HANDLE_KILLPRIV;
  /* Nobody else changes the files: cached pages stay valid when the mtime
     the kernel sees changes after our own writes.  */
  conn->want &= ~(unsigned) FUSE_CAP_AUTO_INVAL_DATA;
  /* O_TRUNC comes as a setattr: with zero-message opens (io.c) an atomic
     O_TRUNC would be lost, the kernel skipping that setattr.  */
  conn->want &= ~(unsigned) FUSE_CAP_ATOMIC_O_TRUNC;
  fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
  fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
  /* No FUSE_CAP_POSIX_LOCKS / FLOCK_LOCKS: without lock ops the kernel
     keeps flock and fcntl locks itself, which is right for a filesystem
     that only this mount serves.

     Writeback cache: writes go to the page cache and reach us as WRITEs of
     up to max_write when the kernel writes back (at the latest at close,
     fsync or a SETATTR), so GNU tar's 10 KiB writes become one WRITE per
     file: an untar made 4.7 WRITEs per file without it, 1 with it, and
     ran 15% faster.  It is correct here for the reason the long caches
     are (see the top of this file): the kernel sees every change, so its
     own size and mtime (which it then keeps, sending the mtime back with
     a SETATTR) are the truth.  What changes: a partial-page write to a
     lower file first READs that page (from the lower file: the same
     bytes), and the copy-up of a lower file on its first write happens at
     write-back, so its failure (ENOSPC in the upper layer) is reported by
     fsync(2) or close(2) rather than write(2), as on any page-cache
     filesystem.  */
  conn->want |= conn->capable & FUSE_CAP_WRITEBACK_CACHE;
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  conn->time_gran = 1;
}

/* ---- names ---- */

void
fill_entry (struct fusefs *fs, struct fs_node *n, const struct stat *st, struct fuse_entry_param *e)
{
  *e = (struct fuse_entry_param){
    .ino = n->nodeid, .attr = *st, .attr_timeout = fs->timeout, .entry_timeout = fs->timeout
  };
}

/* Reply with the entry for N (the core's reference to it is dropped):
   one more lookup for the kernel, undone when the reply fails.  */
void
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
  struct fuse_entry_param e = { .ino = 0, .entry_timeout = fs->timeout };
  struct fs_node *n = NULL;
  struct stat st;
  int r;

  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_lookup_st (fs, p, name, &n, &st) : -EIO;
    if (r == 0)
      {
        fill_entry (fs, n, &st, &e);
        n->nlookup++;
        node_unref (fs, n);
      }
  }
  /* ENOENT: a negative entry (ino 0), cached as long as a positive one.  */
  if (r < 0 && r != -ENOENT)
    {
      reply_status (req, r);
      return;
    }
  if (fuse_reply_entry (req, &e) != 0 && r == 0)
    {
      cleanup_lock struct fusefs *locked = fs_locked (fs);
      struct fs_node *again = node_get (fs, e.ino);

      if (again)
        node_forget (fs, again, 1);
    }
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
  /* A truncate uses the node's writable data fd when it has one.  */
  struct fs_data *d = (to_set & FUSE_SET_ATTR_SIZE) ? fs_data_get (fs, ino, true) : NULL;
  struct stat st;
  int r;

  (void) fi;
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_setattr (fs, n, attr, set_flags_of (to_set), d ? d->fd : -1) : -EIO;
    if (r == 0)
      r = node_getattr (fs, n, &st);
  }
  fs_data_put (d);
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

struct fs_ctx
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

  bool caps = strcmp (name, "security.capability") == 0;

  /* The kernel asks for security.capability before every write(2) to see
     whether to drop file capabilities.  Once a node is known to have none
     it never gets one (security.* cannot be set through this mount, and
     layers do not change): answer from the flag, under fdlock only.  */
  if (caps && node_has_no_caps (fs, ino))
    {
      fuse_reply_err (req, ENODATA);
      return;
    }
  if (size > XATTR_MAX)
    size = XATTR_MAX;
  if (size > 0)
    buf = xmalloc (size);
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    r = n ? fs_getxattr (fs, n, name, buf, size) : -EIO;
    if (r == -ENODATA && caps)
      node_set_no_caps (fs, n);
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
  .open = io_open,
  .create = io_create,
  .read = io_read,
  .write_buf = io_write_buf,
  .flush = io_flush,
  .release = io_release,
  .fsync = io_fsync,
  .fallocate = io_fallocate,
  .lseek = io_lseek,
  .copy_file_range = io_copy_file_range,
  .opendir = io_opendir,
  .readdir = io_readdir,
  .readdirplus = io_readdirplus,
  .releasedir = io_releasedir,
  .fsyncdir = io_fsyncdir,
  .statfs = op_statfs,
  .setxattr = op_setxattr,
  .getxattr = op_getxattr,
  .listxattr = op_listxattr,
  .removexattr = op_removexattr,
};

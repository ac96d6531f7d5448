/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files and directories: open, I/O and readdir.

   Zero-message opens.  Data I/O does not use per-open handles: it goes
   through the node's own fd (data.c), so OPEN and OPENDIR can be answered
   with ENOSYS when the kernel supports that (FUSE_CAP_NO_OPEN_SUPPORT,
   Linux 4.19; FUSE_CAP_NO_OPENDIR_SUPPORT, 5.1).  The kernel then opens
   files and directories by itself, with the page and readdir caches kept
   (FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR), and sends neither OPEN nor
   RELEASE again: a file read from the page cache costs no request at all.
   Permissions are still checked, by the kernel (default_permissions).
   Older kernels get an answer with fh 0 and the same caching flags.

   Copy-up happens at the first change, not at open: the first WRITE (or a
   truncate, or a metadata change) of a lower file copies it up, and the
   node's fd moves to the copy.

   Readdir is stateless too: offsets are hashes of the names (dir.c), so
   any offset the kernel hands back resumes at the right place.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "overlay/fusefs/fuse-api.h"
#include "overlay/fusefs/fs.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* A reference on INO's data fd, opened (and, to WRITE, copied up) if
   needed: 0, or -errno.  */
static int
data_of (struct fusefs *fs, fuse_ino_t ino, bool write, struct fs_data **out)
{
  *out = fs_data_get (fs, ino, write);
  if (*out)
    return 0;
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    return n ? fs_data_open (fs, n, write, out) : -EIO;
  }
}

/* ---- open ---- */

static void
reply_open_fh0 (fuse_req_t req, struct fuse_file_info *fi, bool dir)
{
  fi->fh = 0;
  /* See ops.c for why the caches can be kept.  */
  fi->keep_cache = 1;
  fi->noflush = 1;
  if (dir)
    fi->cache_readdir = 1;
  fuse_reply_open (req, fi);
}

void
io_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  int r = 0;

  if (fs->no_open)
    {
      /* Success, and the kernel will not ask again.  */
      fuse_reply_err (req, ENOSYS);
      return;
    }
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    if (n == NULL)
      r = -EIO;
    else if (n->type == S_IFDIR)
      r = -EISDIR;
  }
  if (r < 0)
    reply_status (req, r);
  else
    reply_open_fh0 (req, fi, false);
}

void
io_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_ctx ctx = ctx_of (req);
  struct fuse_entry_param e;
  struct fs_node *n = NULL;
  struct stat st;
  int r, fd = -1;

  if (fs->no_open)
    {
      /* The kernel then makes files with MKNOD and opens them itself, so
         no RELEASE follows either.  */
      fuse_reply_err (req, ENOSYS);
      return;
    }
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *p = get_node (fs, parent);

    r = p ? fs_create (fs, &ctx, p, name, mode, O_RDWR | (fi->flags & O_EXCL), &n, &fd) : -EIO;
    if (r == 0)
      r = node_getattr (fs, n, &st);
    if (r == 0)
      {
        fill_entry (fs, n, &st, &e);
        n->nlookup++;
        fs_data_put (fs_data_attach (fs, n, fd, true));
        fd = -1;
      }
    if (n)
      node_unref (fs, n);
  }
  if (fd >= 0)
    (void) close (fd);
  if (r < 0)
    {
      reply_status (req, r);
      return;
    }
  fi->fh = 0;
  fi->keep_cache = 1;
  fi->noflush = 1;
  if (fuse_reply_create (req, &e, fi) != 0)
    {
      cleanup_lock struct fusefs *locked = fs_locked (fs);
      struct fs_node *again = node_get (fs, e.ino);

      if (again)
        node_forget (fs, again, 1);
    }
}

void
io_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void) ino;
  (void) fi;
  /* Nothing to do at close (locks are the kernel's): ENOSYS tells the
     kernel not to send FLUSH again, one request less per close(2).  */
  fuse_reply_err (req, ENOSYS);
}

void
io_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void) ino;
  (void) fi;
  fuse_reply_err (req, 0);
}

/* ---- data ---- */

/* A READ spliced from the backing file (no copy through our memory).  */
static void
read_spliced (fuse_req_t req, struct fs_data *d, size_t size, off_t off)
{
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT (size);

  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = d->fd;
  buf.buf[0].pos = off;
  fuse_reply_data (req, &buf, 0);
  fs_data_put (d);
}

struct read_job
{
  fuse_req_t req;
  struct fs_data *d;
  size_t size;
  off_t off;
};

static void
read_job_run (void *arg)
{
  struct read_job *j = arg;

  read_spliced (j->req, j->d, j->size, j->off);
  free (j);
}

/* In the receiving thread: when the range is in the page cache, answer at
   once, spliced (the pages go from the backing file's page cache through a
   pipe into the reply: one copy fewer than preadv2 into a buffer and
   writev, which cat of 512 MiB measured 15-25% slower).  Whether the pages
   are cached is probed with RWF_NOWAIT reads of the first and the last
   byte; a page missing in between (rare: readahead fills ranges) only makes
   this one reply wait for the disk.  */
static bool
read_cached (struct fs_data *d, size_t size, off_t off)
{
  char c;
  struct iovec iov = { .iov_base = &c, .iov_len = 1 };
  ssize_t n = preadv2 (d->fd, &iov, 1, off, RWF_NOWAIT);

  if (n < 0)
    return false;
  if (n == 1 && size > 1 && preadv2 (d->fd, &iov, 1, off + (off_t) size - 1, RWF_NOWAIT) < 0)
    return false;
  return true;
}

void
io_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_data *d = NULL;
  int r;

  (void) fi;
  r = data_of (fs, ino, false, &d);
  if (r < 0)
    {
      reply_status (req, r);
      return;
    }
  if (fs_in_receiver ())
    {
      struct read_job *j;

      if (read_cached (d, size, off))
        {
          read_spliced (req, d, size, off);
          return;
        }
      /* Data to wait for: a worker reads it, the next request goes on.  */
      j = xzalloc (sizeof *j);
      *j = (struct read_job){ .req = req, .d = d, .size = size, .off = off };
      if (fs_defer (fs, read_job_run, j))
        return;
      free (j);
    }
  read_spliced (req, d, size, off);
}

void
io_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
              struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fuse_bufvec out = FUSE_BUFVEC_INIT (fuse_buf_size (in));
  struct fs_data *d = NULL;
  ssize_t n;
  int r;

  (void) fi;
  r = data_of (fs, ino, true, &d);
  if (r < 0)
    {
      reply_status (req, r);
      return;
    }
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = d->fd;
  out.buf[0].pos = off;
  n = fuse_buf_copy (&out, in, 0);
  fs_data_put (d);
  if (n < 0)
    fuse_reply_err (req, (int) -n);
  else
    fuse_reply_write (req, (size_t) n);
}

/* FSYNC, FALLOCATE and COPY_FILE_RANGE can take long: in the receiving
   thread they go to a worker.  */
enum sync_kind
{
  JOB_FSYNC,
  JOB_FDATASYNC,
  JOB_FALLOCATE,
  JOB_COPY,
};

struct sync_job
{
  enum sync_kind kind;
  fuse_req_t req;
  struct fs_data *d, *out;
  int mode;
  off_t off, len, off_out;
  unsigned flags;
};

static void
sync_job_run (void *arg)
{
  struct sync_job *j = arg;
  loff_t oin = j->off, oout = j->off_out;
  ssize_t n = 0;
  int r = 0;

  switch (j->kind)
    {
    case JOB_FSYNC:
      r = fsync (j->d->fd);
      break;
    case JOB_FDATASYNC:
      r = fdatasync (j->d->fd);
      break;
    case JOB_FALLOCATE:
      r = fallocate (j->d->fd, j->mode, j->off, j->len);
      break;
    case JOB_COPY:
      n = copy_file_range (j->d->fd, &oin, j->out->fd, &oout, (size_t) j->len, j->flags);
      r = n < 0 ? -1 : 0;
      break;
    }
  if (r < 0)
    fuse_reply_err (j->req, errno);
  else if (j->kind == JOB_COPY)
    fuse_reply_write (j->req, (size_t) n);
  else
    fuse_reply_err (j->req, 0);
  fs_data_put (j->d);
  fs_data_put (j->out);
  free (j);
}

static void
run_or_defer (struct fusefs *fs, struct sync_job *j)
{
  if (fs_in_receiver () && fs_defer (fs, sync_job_run, j))
    return;
  sync_job_run (j);
}

void
io_fsync (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_data *d = NULL;
  struct sync_job *j;
  int r;

  (void) fi;
  r = data_of (fs, ino, false, &d);
  if (r < 0 || fs->volatile_upper)
    {
      fs_data_put (d);
      reply_status (req, r < 0 ? r : 0);
      return;
    }
  j = xzalloc (sizeof *j);
  *j = (struct sync_job){ .kind = datasync ? JOB_FDATASYNC : JOB_FSYNC, .req = req, .d = d };
  run_or_defer (fs, j);
}

void
io_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
              struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_data *d = NULL;
  struct sync_job *j;
  int r;

  (void) fi;
  r = data_of (fs, ino, true, &d);
  if (r < 0)
    {
      reply_status (req, r);
      return;
    }
  j = xzalloc (sizeof *j);
  *j = (struct sync_job){
    .kind = JOB_FALLOCATE, .req = req, .d = d, .mode = mode, .off = off, .len = len
  };
  run_or_defer (fs, j);
}

void
io_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  struct fs_data *d = NULL;
  off_t pos;
  int r;

  (void) fi;
  r = data_of (fs, ino, false, &d);
  if (r < 0)
    {
      reply_status (req, r);
      return;
    }
  /* SEEK_DATA/SEEK_HOLE only (the kernel keeps file positions): the fd's
     own position is not used by anything else.  */
  pos = lseek (d->fd, off, whence);
  r = pos < 0 ? -errno : 0;
  fs_data_put (d);
  if (r < 0)
    reply_status (req, r);
  else
    fuse_reply_lseek (req, pos);
}

void
io_copy_file_range (fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in,
                    fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len,
                    int flags)
{
  struct fusefs *fs = fs_of (req);
  struct fs_data *in = NULL, *out = NULL;
  struct sync_job *j;
  int r;

  (void) fi_in;
  (void) fi_out;
  /* The destination first: copying it up may replace the source's fd
     when both are the same file.  */
  r = data_of (fs, ino_out, true, &out);
  if (r == 0)
    r = data_of (fs, ino_in, false, &in);
  if (r < 0 || len > (size_t) INT64_MAX)
    {
      fs_data_put (in);
      fs_data_put (out);
      reply_status (req, r < 0 ? r : -EINVAL);
      return;
    }
  j = xzalloc (sizeof *j);
  *j = (struct sync_job){ .kind = JOB_COPY,
                          .req = req,
                          .d = in,
                          .out = out,
                          .off = off_in,
                          .len = (off_t) len,
                          .off_out = off_out,
                          .flags = (unsigned) flags };
  run_or_defer (fs, j);
}

/* ---- directories ---- */

void
io_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  int r = 0;

  if (fs->no_opendir)
    {
      fuse_reply_err (req, ENOSYS);
      return;
    }
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    if (n == NULL)
      r = -EIO;
    else if (n->type != S_IFDIR)
      r = -ENOTDIR;
    else if (n->dead)
      r = -ENOENT;
  }
  if (r < 0)
    reply_status (req, r);
  else
    reply_open_fh0 (req, fi, true);
}

void
io_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void) ino;
  (void) fi;
  fuse_reply_err (req, 0);
}

/* One readdirplus entry at BUF: a lookup the kernel keeps.  Returns its
   size, 0 to skip it, or more than REMAIN when it does not fit.  */
static size_t
add_plus (fuse_req_t req, struct fusefs *fs, struct fs_node *dir, const struct fs_dirent *ent,
          char *buf, size_t remain)
{
  struct fuse_entry_param e = { 0 };
  struct fs_node *n = NULL;
  size_t size;

  if (ent->off <= FS_OFF_DOTDOT)
    {
      /* "." and "..": no lookup, the kernel does not link them.  */
      e.attr.st_ino = (ino_t) ent->ino;
      e.attr.st_mode = (mode_t) (ent->type << 12);
      return fuse_add_direntry_plus (req, buf, remain, ent->name, &e, (off_t) ent->off);
    }
  if (fs_lookup_st (fs, dir, ent->name, &n, &e.attr) < 0)
    return 0; /* gone since the listing was made: skip it */
  fill_entry (fs, n, &e.attr, &e);
  size = fuse_add_direntry_plus (req, buf, remain, ent->name, &e, (off_t) ent->off);
  if (size <= remain)
    n->nlookup++;
  node_unref (fs, n);
  return size;
}

/* Add ENT at *POS; false when it does not fit.  */
static bool
emit (fuse_req_t req, struct fusefs *fs, struct fs_node *d, const struct fs_dirent *ent, char *buf,
      size_t size, size_t *pos, bool plus)
{
  size_t len;

  if (plus)
    len = add_plus (req, fs, d, ent, buf + *pos, size - *pos);
  else
    {
      struct stat st = { .st_ino = (ino_t) ent->ino, .st_mode = (mode_t) (ent->type << 12) };

      len = fuse_add_direntry (req, buf + *pos, size - *pos, ent->name, &st, (off_t) ent->off);
    }
  if (len > size - *pos)
    return false;
  *pos += len;
  return true;
}

/* The entries of D after offset OFF into BUF (SIZE bytes); the length.  */
static size_t
fill_dir (fuse_req_t req, struct fusefs *fs, struct fs_node *d, const struct fs_dirlist *l,
          uint64_t off, char *buf, size_t size, bool plus)
{
  struct fs_node *up = d->parent ? d->parent : d;
  const struct fs_dirent dots[2] = {
    { .name = (char *) ".", .ino = d->ino, .type = DT_DIR, .off = FS_OFF_DOT },
    { .name = (char *) "..", .ino = up->ino, .type = DT_DIR, .off = FS_OFF_DOTDOT },
  };
  size_t lo = 0, hi = l->n, pos = 0, i;

  for (i = 0; i < 2; i++)
    if (dots[i].off > off && ! emit (req, fs, d, &dots[i], buf, size, &pos, plus))
      return pos;
  /* The first entry whose offset is past OFF.  */
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;

      if (l->ents[mid].off <= off)
        lo = mid + 1;
      else
        hi = mid;
    }
  for (i = lo; i < l->n; i++)
    if (! emit (req, fs, d, &l->ents[i], buf, size, &pos, plus))
      break;
  return pos;
}

static void
do_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
  struct fusefs *fs = fs_of (req);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  int r;

  if (off < 0)
    {
      fuse_reply_err (req, EINVAL);
      return;
    }
  if (size > (1 << 20))
    size = 1 << 20;
  buf = xmalloc (size);
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *d = get_node (fs, ino);
    const struct fs_dirlist *l = NULL;

    r = d ? fs_dir_listing (fs, d, &l) : -EIO;
    if (r == 0)
      len = fill_dir (req, fs, d, l, (uint64_t) off, buf, size, plus);
    /* A read with attributes from the start: a walk, maybe.  */
    if (r == 0 && plus && off == 0)
      fs_read_ahead (fs, d);
  }
  if (r < 0)
    reply_status (req, r);
  else
    fuse_reply_buf (req, buf, len);
}

void
io_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  (void) fi;
  do_readdir (req, ino, size, off, false);
}

void
io_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  (void) fi;
  do_readdir (req, ino, size, off, true);
}

void
io_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  struct fusefs *fs = fs_of (req);
  int r = 0;

  (void) fi;
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *n = get_node (fs, ino);

    if (n == NULL)
      r = -EIO;
    else if (fs->has_upper && ! fs->volatile_upper && n->lfds && n->lfds[0] != LFD_ABSENT)
      {
        int fd = node_layer_fd (fs, n, 0);
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

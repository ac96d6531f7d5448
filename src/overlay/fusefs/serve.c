/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The server: a libfuse session on an already open (and mounted) /dev/fuse
   connection, given to libfuse with fuse_session_custom_io, so libfuse
   neither mounts nor runs fusermount3.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/fuse.h>
#include <pthread.h>

#include "overlay/fusefs/fuse-api.h"
#include "overlay/fusefs/fs.h"
#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

struct fusefs_server
{
  struct fusefs *fs;
  struct fuse_session *se;
  int fusefd; /* until the session owns it */
};

__attribute__ ((format (printf, 2, 0))) static void
log_from_libfuse (enum fuse_log_level level, const char *fmt, va_list ap)
{
  char msg[512];
  size_t len;

  vsnprintf (msg, sizeof msg, fmt, ap);
  len = strlen (msg);
  if (len > 0 && msg[len - 1] == '\n')
    msg[len - 1] = '\0';
  if (level <= FUSE_LOG_ERR)
    sbx_error_log ("libfuse: %s", msg);
  else if (level <= FUSE_LOG_WARNING)
    sbx_warn ("libfuse: %s", msg);
  else
    sbx_debug ("libfuse: %s", msg);
}

/* ---- the channel ----

   libfuse reads and writes /dev/fuse through these (fuse_session_custom_io)
   so that one field of the INIT reply can be set that libfuse 3.14 does not
   know: FUSE_HANDLE_KILLPRIV_V2 (Linux 5.11), which tells the kernel that
   the filesystem clears set-id bits and file capabilities on write, chown
   and truncate.  The backing filesystem does that for every write we make.
   In return the kernel marks the superblock SB_NOSEC: it stops asking for
   security.capability before every write(2) (GNU tar writes a file in
   pieces of at most 10 KiB: an untar made twice the requests without it).  */

static uint64_t
now_ns (void)
{
  struct timespec ts;

  (void) clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Does a request wait on /dev/fuse (*ARG)?  */
static bool
request_waits (void *arg)
{
  struct pollfd p = { .fd = *(int *) arg, .events = POLLIN };

  return poll (&p, 1, 0) != 0;
}

/* The next request.  The fd is non-blocking when fs->spin_ns is set: then
   the receiver polls for up to that long before it sleeps in poll(2).

   Why: a FUSE request is a round trip between two tasks, and on a VM
   (guest_halt_poll_ns 0 here) each wake-up of a task on an idle vCPU is
   an IPI and a halt exit, tens of microseconds.  A workload of small
   requests (an untar makes 9 per file, a find 2 per directory) then runs
   at the speed of wake-ups, not of the filesystem: the receiving thread
   went to sleep after every reply and the client woke it on the other
   vCPU for the next request.  Polling for a moment keeps the receiver on
   its CPU, so the client's next request needs no wake-up at all; the
   sched_yield() gives the CPU away at once to anything runnable on it
   (the client itself, when the scheduler put both on one CPU).  Measured
   on 2 vCPUs: an untar 1.8-2.5x, a stat walk 1.4x faster.  Before it
   polls, the receiver reads directories ahead (prefetch.c), a few lookups
   at a time, and stops as soon as a request waits.  */
static ssize_t
channel_read (int fd, void *buf, size_t len, void *userdata)
{
  struct fusefs *fs = userdata;
  uint64_t until = 0;

  for (;;)
    {
      ssize_t n = read (fd, buf, len);
      struct pollfd p = { .fd = fd, .events = POLLIN };

      if (n >= 0 || errno != EAGAIN)
        return n;
      if (fs->spin_ns > 0)
        {
          uint64_t t = now_ns ();

          /* Work nobody waits for, while nobody waits.  */
          if (fs_read_ahead_step (fs, request_waits, &fd))
            {
              until = 0;
              continue;
            }
          if (until == 0)
            until = t + fs->spin_ns;
          if (t < until)
            {
              (void) sched_yield ();
              continue;
            }
        }
      /* ENODEV (unmounted) wakes it too; the read then says so.  */
      if (poll (&p, 1, -1) < 0 && errno != EINTR)
        return -1;
    }
}

static ssize_t
channel_writev (int fd, struct iovec *iov, int count, void *userdata)
{
  struct fusefs *fs = userdata;

  if (fs->init_unique && count >= 2 && iov[0].iov_len == sizeof (struct fuse_out_header)
      && iov[1].iov_len >= offsetof (struct fuse_init_out, flags) + sizeof (uint32_t))
    {
      struct fuse_out_header *h = iov[0].iov_base;

      if (h->unique == fs->init_unique)
        {
          struct fuse_init_out *o = iov[1].iov_base;

          if (h->error == 0 && (fs->init_flags & FUSE_HANDLE_KILLPRIV_V2))
            o->flags |= FUSE_HANDLE_KILLPRIV_V2;
          fs->init_unique = 0;
        }
    }
  return writev (fd, iov, count);
}

static ssize_t
channel_splice_send (int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
                     unsigned int flags, void *userdata)
{
  (void) userdata;
  return splice (fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io channel_io = {
  .writev = channel_writev,
  .read = channel_read,
  .splice_send = channel_splice_send,
};

/* In the receiving thread, before libfuse answers it: remember the INIT
   request, for channel_writev.  */
static void
note_init (struct fusefs *fs, const struct fuse_buf *buf)
{
  const struct fuse_in_header *in = buf->mem;
  const struct fuse_init_in *arg = (const void *) (in + 1);

  if ((buf->flags & FUSE_BUF_IS_FD)
      || buf->size < sizeof *in + offsetof (struct fuse_init_in, flags) + sizeof (uint32_t)
      || in->opcode != FUSE_INIT)
    return;
  fs->init_flags = arg->flags;
  fs->init_unique = in->unique;
}

struct fusefs_server *
fusefs_server_new (int fusefd, const struct fusefs_config *cfg, struct sbx_error **err)
{
  struct fusefs_server *s = xzalloc (sizeof *s);
  char *argv[] = { (char *) "sbx-fuse", (char *) "-d", NULL };
  /* SBX_FUSE_DEBUG=1: libfuse prints every request and reply on stderr.  */
  bool debug = getenv ("SBX_FUSE_DEBUG") && *getenv ("SBX_FUSE_DEBUG") == '1';
  struct fuse_args args = FUSE_ARGS_INIT (debug ? 2 : 1, argv);
  s->fusefd = fusefd;
  /* Modes come from the kernel with the caller's umask applied.  */
  umask (0);
  fuse_set_log_func (log_from_libfuse);
  s->fs = fs_new (cfg, err);
  if (s->fs == NULL)
    {
      fusefs_server_free (s);
      return NULL;
    }
  s->se = fuse_session_new (&args, &fusefs_ops, sizeof fusefs_ops, s->fs);
  fuse_opt_free_args (&args);
  if (s->se == NULL)
    {
      fusefs_server_free (s);
      sbx_err (err, EIO, "create the FUSE session");
      return NULL;
    }
  if (fuse_session_custom_io (s->se, &channel_io, fusefd) != 0)
    {
      fusefs_server_free (s);
      sbx_err (err, EIO, "attach the FUSE session to /dev/fuse (fd %d)", fusefd);
      return NULL;
    }
  s->fusefd = -1; /* the session's now */
  return s;
}

/* ---- the request loop ----

   One thread reads and handles every request (receive_loop), and a pool
   of workers takes the jobs it defers: requests that may wait on the disk
   for long (a READ whose data is not in the page cache, FSYNC, FALLOCATE,
   COPY_FILE_RANGE; io.c), so that readahead and several processes' I/O
   proceed in parallel and never wait behind each other.

   Why not libfuse's fuse_session_loop_mt: it keeps a spare thread blocked
   in read() at all times, so each request of a sequential workload (an
   untar, a find) wakes another thread, mostly on the other CPU.  On a
   2-vCPU VM, a single thread handled an untar 1.6x and warm small-file
   reads 1.4x faster.  The metadata requests serialise on the big lock
   anyway.  */

struct job
{
  void (*fn) (void *arg);
  void *arg;
  struct job *next;
};

struct fs_pool
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct job *head, *tail;
  bool stop;
  int n_threads;
  pthread_t *threads;
};

/* Set in the thread that receives requests.  */
static __thread bool in_receiver;

bool
fs_in_receiver (void)
{
  return in_receiver;
}

bool
fs_defer (struct fusefs *fs, void (*fn) (void *arg), void *arg)
{
  struct fs_pool *p = fs->pool;
  struct job *j;

  if (p == NULL || p->n_threads == 0)
    return false;
  j = xzalloc (sizeof *j);
  j->fn = fn;
  j->arg = arg;
  (void) pthread_mutex_lock (&p->lock);
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  (void) pthread_cond_signal (&p->cond);
  (void) pthread_mutex_unlock (&p->lock);
  return true;
}

static void *
worker_main (void *arg)
{
  struct fs_pool *p = arg;

  (void) pthread_mutex_lock (&p->lock);
  for (;;)
    {
      struct job *j;

      while (p->head == NULL && ! p->stop)
        (void) pthread_cond_wait (&p->cond, &p->lock);
      if (p->head == NULL)
        break;
      j = p->head;
      p->head = j->next;
      if (p->head == NULL)
        p->tail = NULL;
      (void) pthread_mutex_unlock (&p->lock);
      j->fn (j->arg);
      free (j);
      (void) pthread_mutex_lock (&p->lock);
    }
  (void) pthread_mutex_unlock (&p->lock);
  return NULL;
}

static int
n_workers (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN) * 2;

  return n < 2 ? 2 : n > 16 ? 16 : (int) n;
}

static void
pool_start (struct fs_pool *p)
{
  int n = n_workers (), i;

  (void) pthread_mutex_init (&p->lock, NULL);
  (void) pthread_cond_init (&p->cond, NULL);
  p->threads = xcalloc ((size_t) n, sizeof *p->threads);
  for (i = 0; i < n; i++)
    if (pthread_create (&p->threads[p->n_threads], NULL, worker_main, p) == 0)
      p->n_threads++;
  if (p->n_threads == 0)
    sbx_warn ("no FUSE worker thread: all requests are served by one");
}

/* Let the workers finish what is queued, then end them.  */
static void
pool_stop (struct fs_pool *p)
{
  int i;

  (void) pthread_mutex_lock (&p->lock);
  p->stop = true;
  (void) pthread_cond_broadcast (&p->cond);
  (void) pthread_mutex_unlock (&p->lock);
  for (i = 0; i < p->n_threads; i++)
    (void) pthread_join (p->threads[i], NULL);
  free (p->threads);
  (void) pthread_cond_destroy (&p->cond);
  (void) pthread_mutex_destroy (&p->lock);
}

/* ---- O_TMPFILE ----

   libfuse 3.14 has no tmpfile operation (3.15 does) and answers the
   kernel's FUSE_TMPFILE (Linux 6.6) with ENOSYS, which would turn every
   O_TMPFILE into EOPNOTSUPP.  Owning the loop, we answer it ourselves: the
   request is a CREATE without a name, the reply an entry and an open.  */

#ifndef FUSE_TMPFILE
#  define FUSE_TMPFILE 51
#endif

static void
reply_raw (struct fuse_session *se, uint64_t unique, int error, const struct iovec *args,
           int n_args)
{
  struct fuse_out_header out = { .len = sizeof out, .error = -error, .unique = unique };
  struct iovec iov[4] = { { &out, sizeof out } };
  int i;

  for (i = 0; i < n_args && i < 3; i++)
    {
      iov[i + 1] = args[i];
      out.len += (uint32_t) args[i].iov_len;
    }
  /* ENOENT: the request was interrupted; nothing more to do then.  */
  (void) ! writev (fuse_session_fd (se), iov, i + 1);
}

static void
stat_to_attr (const struct stat *st, struct fuse_attr *a)
{
  *a = (struct fuse_attr){ .ino = st->st_ino,
                           .size = (uint64_t) st->st_size,
                           .blocks = (uint64_t) st->st_blocks,
                           .atime = (uint64_t) st->st_atim.tv_sec,
                           .mtime = (uint64_t) st->st_mtim.tv_sec,
                           .ctime = (uint64_t) st->st_ctim.tv_sec,
                           .atimensec = (uint32_t) st->st_atim.tv_nsec,
                           .mtimensec = (uint32_t) st->st_mtim.tv_nsec,
                           .ctimensec = (uint32_t) st->st_ctim.tv_nsec,
                           .mode = st->st_mode,
                           .nlink = (uint32_t) st->st_nlink,
                           .uid = st->st_uid,
                           .gid = st->st_gid,
                           .rdev = (uint32_t) st->st_rdev,
                           .blksize = (uint32_t) st->st_blksize };
}

static void
handle_tmpfile (struct fusefs *fs, struct fuse_session *se, const struct fuse_buf *buf)
{
  const struct fuse_in_header *in = buf->mem;
  const struct fuse_create_in *arg = (const void *) (in + 1);
  struct fuse_entry_out e = { 0 };
  struct fuse_open_out o = { .open_flags = FOPEN_KEEP_CACHE };
  struct iovec args[2] = { { &e, sizeof e }, { &o, sizeof o } };
  struct fs_ctx ctx = { .uid = in->uid, .gid = in->gid };
  uint64_t secs = (uint64_t) fs->timeout;
  struct fs_node *n = NULL;
  struct stat st;
  int r;

  if (buf->size < sizeof *in + sizeof *arg)
    {
      reply_raw (se, in->unique, -EINVAL, NULL, 0);
      return;
    }
  {
    cleanup_lock struct fusefs *locked = fs_locked (fs);
    struct fs_node *parent = node_get (fs, in->nodeid);

    r = parent ? fs_tmpfile (fs, &ctx, parent, arg->mode, &n) : -EIO;
    if (r == 0)
      r = node_getattr (fs, n, &st);
    if (r == 0)
      {
        n->nlookup++;
        e.nodeid = n->nodeid;
        e.entry_valid = e.attr_valid = secs;
        stat_to_attr (&st, &e.attr);
      }
    if (n)
      node_unref (fs, n);
  }
  reply_raw (se, in->unique, r, args, r == 0 ? 2 : 0);
}

static bool
is_tmpfile (const struct fuse_buf *buf)
{
  const struct fuse_in_header *in = buf->mem;

  return ! (buf->flags & FUSE_BUF_IS_FD) && buf->size >= sizeof *in && in->opcode == FUSE_TMPFILE;
}

static int
receive_loop (struct fusefs *fs, struct fuse_session *se)
{
  struct fuse_buf buf = { .mem = NULL };
  int r = 0;

  in_receiver = true;
  while (! fuse_session_exited (se))
    {
      r = fuse_session_receive_buf (se, &buf);
      if (r == -EINTR)
        continue;
      if (r <= 0)
        break;
      if (is_tmpfile (&buf))
        handle_tmpfile (fs, se, &buf);
      else
        {
          note_init (fs, &buf);
          fuse_session_process_buf (se, &buf);
        }
    }
  free (buf.mem);
  in_receiver = false;
  return r < 0 ? r : 0;
}

/* How long the receiver polls for the next request (channel_read):
   $SBX_FUSE_SPIN_US microseconds, by default 100 when this process may run
   on more than one CPU, else 0 (polling would only take the CPU from the
   client).  */
static uint64_t
spin_time_ns (void)
{
  const char *e = getenv ("SBX_FUSE_SPIN_US");
  cpu_set_t set;

  if (e && *e)
    {
      char *end;
      unsigned long long us = strtoull (e, &end, 10);

      if (*end == '\0' && us <= 1000000)
        return us * 1000;
      sbx_warn ("ignoring SBX_FUSE_SPIN_US=%s: not a number of microseconds up to 1000000", e);
    }
  if (sched_getaffinity (0, sizeof set, &set) == 0 && CPU_COUNT (&set) < 2)
    return 0;
  return 100 * 1000;
}

int
fusefs_server_run (struct fusefs_server *s)
{
  struct fs_pool pool = { 0 };
  int r;

  pool_start (&pool);
  s->fs->pool = &pool;
  s->fs->spin_ns = spin_time_ns ();
  if (s->fs->spin_ns > 0)
    {
      int fd = fuse_session_fd (s->se);
      int fl = fcntl (fd, F_GETFL);

      if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0)
        s->fs->spin_ns = 0;
    }
  r = receive_loop (s->fs, s->se);
  pool_stop (&pool);
  s->fs->pool = NULL;
  fuse_session_reset (s->se);
  if (r < 0)
    sbx_error_log ("the FUSE session ended with an error: %s", strerror (-r));
  return r < 0 ? -1 : 0;
}

void
fusefs_server_free (struct fusefs_server *s)
{
  if (s == NULL)
    return;
  if (s->se)
    fuse_session_destroy (s->se);
  if (s->fusefd >= 0)
    (void) close (s->fusefd);
  fs_free (s->fs);
  free (s);
}

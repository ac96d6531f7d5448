/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The FUSE overlay's core, shared by the files of src/overlay/fusefs/ and
   its unit tests (tests/unit/test-overlay-fusefs.c) only.  Nothing here
   includes libfuse3: ops.c turns requests into calls of these functions, so
   the whole overlay logic can be tested without a mount.

   Conventions of the core (different from the rest of sbx, on purpose):
   functions return 0 (or a count / fd) on success and a NEGATIVE ERRNO on
   failure, which ops.c hands to fuse_reply_err().  They run once per
   request and most failures (ENOENT from a lookup) are answers, not
   errors worth a malloc'ed struct sbx_error.

   Layers: index 0 is the upper layer when there is one, then the lowers,
   top-most first.  The on-disk format is the kernel overlay's (whiteout.c).

   Locking: one mutex, fs->lock (the "big lock" of STYLE.md B7), protects
   the node table, the key and inode maps, every field of every node, the
   directory fd cache and all changes to the upper layer.  Every core
   function below, unless it says otherwise, must be called with it held.
   Data I/O on open files (read, write, fsync, fallocate, lseek,
   copy_file_range) runs without it, on the handle's own fd.  */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "overlay/fusefs/fusefs.h"
#include "util/log.h"

/* An internal invariant that does not hold: log it once per site and let
   the caller fail the request with EIO (STYLE.md B2: the server never
   aborts).  Usage: if (SBX_BUG_ON (x == NULL)) return -EIO;  */
static inline void
fs_bug (const char *file, int line, const char *what)
{
  sbx_error_log ("internal error at %s:%d: %s (the request fails with EIO)", file, line, what);
}
#define SBX_BUG_ON(cond) \
  (__builtin_expect (! ! (cond), 0) ? (fs_bug (__FILE__, __LINE__, #cond), true) : false)

/* Identity of a backing object.  */
struct fs_key
{
  dev_t dev;
  ino_t ino;
};

/* A chained hash map keyed by struct fs_key; entries embed fs_hentry
   (hmap.c).  */
struct fs_hentry
{
  struct fs_hentry *next;
  struct fs_key key;
};

struct fs_hmap
{
  struct fs_hentry **buckets;
  size_t n_buckets;
  size_t n;
};

struct fs_hentry *fs_hmap_get (const struct fs_hmap *m, struct fs_key key);
void fs_hmap_put (struct fs_hmap *m, struct fs_hentry *e); /* E->key must be set */
bool fs_hmap_del (struct fs_hmap *m, struct fs_hentry *e);
void fs_hmap_release (struct fs_hmap *m, void (*free_entry) (struct fs_hentry *));

#define fs_container_of(ptr, type, member) \
  ((type *) (void *) ((char *) (ptr) -offsetof (type, member)))

struct fs_found;

struct fs_dirent
{
  char *name;
  uint64_t ino;         /* reported */
  unsigned type;        /* DT_* */
  uint64_t off;         /* its readdir offset: a hash of NAME, stable while the directory changes */
  struct fs_key key;    /* identity of the top-most object of the name */
  struct fs_found *pre; /* its lookup, made ahead (prefetch.c); NULL when none */
};

struct fs_dirlist
{
  struct fs_dirent *ents;
  size_t n;
  size_t alloc;
  size_t n_pre; /* entries with a lookup made ahead */
};

/* An fd of a node's backing regular file for data I/O (data.c).  */
struct fs_data
{
  int fd;
  int refs;             /* atomic: the node's, while attached, and one per I/O */
  bool writable;        /* open O_RDWR */
  struct fs_node *node; /* attached to; NULL once detached (fdlock) */
  struct fs_data *lru_prev, *lru_next;
};

/* Values of fs_node.lfds[i] that are not fds.  */
enum
{
  LFD_ABSENT = -2, /* layer i has no directory here (or is hidden by an opaque one above) */
  LFD_CLOSED = -1, /* layer i has it; the fd is opened on demand (node_layer_fd) */
};

struct fs_node
{
  uint64_t nodeid;  /* the kernel's name for it: slot | generation << 32 */
  uint64_t nlookup; /* lookups the kernel has not forgotten */
  uint32_t refs;    /* internal references: children, open handles, pins */
  uint64_t ino;     /* st_ino reported, fixed for the node's life (copy-up keeps it) */
  struct fs_key key;
  mode_t type; /* S_IFMT bits */
  int layer;   /* layer of the backing object (the top-most one for dirs) */
  /* Where it is: its primary name in the merged tree.  NULL parent: the
     root, or a node that was removed (DETACHED).  */
  struct fs_node *parent;
  char *name;
  /* An O_PATH fd of the backing object, kept for nodes whose name went
     away while the kernel still uses them (unlinked open files; hardlinks
     whose primary name was removed).  -1 otherwise.  */
  int fd;
  bool detached;  /* removed from the tree: no name, reached through FD only */
  bool in_keymap; /* found by its key (hardlinks share one node) */
  bool dead;      /* a removed directory */
  /* Directories: one entry per layer (LFD_ABSENT, LFD_CLOSED or an fd).  */
  int *lfds;
  int n_open; /* lfds that are open fds */
  struct fs_node *lru_prev, *lru_next;
  struct fs_dirlist *listing; /* directories: cached merged listing (dir.c), or NULL */
  struct fs_hentry hkey;      /* in fs->keymap */
  /* Under fs->fdlock (data.c), not the big lock.  */
  struct fs_data *data;
  bool nocaps; /* has no security.capability: write()'s check answered here */
  /* Directories: the kernel read it with attributes from its start, and
     its subdirectories were queued to be read ahead (prefetch.c).  */
  bool read_ahead;
};

/* A directory to read ahead (prefetch.c), from its entry NEXT on.  */
struct fs_ahead
{
  uint64_t nodeid;
  size_t next;
};

struct fs_layer
{
  int fd; /* O_PATH directory fd of the layer's root (owned) */
  dev_t dev;
};

/* Hardlinked files of one lower layer: inode number → paths (links.c).  */
struct fs_linkidx;

struct fusefs
{
  pthread_mutex_t lock;
  struct fs_layer *layers;
  int n_layers;
  bool has_upper; /* layers[0] is the upper */
  int work_fd;    /* O_PATH fd of the work dir, on the upper's filesystem */
  double timeout;
  bool volatile_upper; /* fsync and fsyncdir succeed without syncing */

  /* Node table: nodeid = slot | gens[slot] << 32; slot 1 is the root.  */
  struct fs_node **slots;
  uint32_t *gens;
  uint32_t n_slots;
  uint32_t *free_slots;
  uint32_t n_free;
  struct fs_node *root;

  struct fs_hmap keymap; /* backing key → node (fs_node.hkey) */
  struct fs_hmap inomap; /* backing key → reported ino, when not derived (copy-up) */
  dev_t *devs;           /* device index for derived inode numbers */
  size_t n_devs;
  uint64_t next_fake_ino;

  /* Directory fds opened on demand: LRU list of nodes holding any, most
     recent first, trimmed to FD_BUDGET when the lock is released.  */
  struct fs_node lru;
  size_t n_cached_fds;
  size_t fd_budget;

  struct fs_linkidx **linkidx; /* per layer, built on first use */

  /* The data path's own lock and fds (data.c).  */
  pthread_mutex_t fdlock;
  struct fs_data data_lru;
  size_t n_data;
  size_t data_budget;
  struct fs_pool *pool; /* workers for deferred requests (serve.c), while serving */
  uint64_t spin_ns;     /* how long the receiver polls for the next request (serve.c) */
  /* The INIT request being answered, and what the kernel offered (serve.c).  */
  uint64_t init_unique;
  uint32_t init_flags;
  /* The kernel opens files and directories without asking (set at INIT).  */
  bool no_open;
  bool no_opendir;
  uint64_t tmp_counter;

  /* Directories to read ahead (prefetch.c): a stack, the newest on top,
     and the one in progress (its listing, the next entry).  */
  struct fs_ahead *ahead;
  size_t n_ahead, ahead_alloc;
  uint64_t ahead_cur;
  const struct fs_dirlist *ahead_list;
  size_t ahead_next;
  size_t n_pre;    /* lookups made ahead and not taken, in all listings */
  bool ahead_said; /* the first directory read ahead was logged */

  /* Feature probes, set once (STYLE.md B1): 0 untried, 1 yes, -1 no.  */
  int can_reflink;
  int can_exchange;
};

/* The caller of a request (fuse_req_ctx).  */
struct fs_ctx
{
  uid_t uid;
  gid_t gid;
};

/* ---- node.c ---- */

/* Under the big lock or fdlock.  */
static inline struct fs_node *
node_get (struct fusefs *fs, uint64_t nodeid)
{
  uint32_t slot = (uint32_t) (nodeid & 0xffffffffu);
  uint32_t gen = (uint32_t) (nodeid >> 32);

  if (slot == 0 || slot >= fs->n_slots || fs->slots[slot] == NULL || fs->gens[slot] != gen)
    return NULL;
  return fs->slots[slot];
}

/* A new node with one internal reference, in the table (not yet in the key
   map).  NAME is copied; PARENT gets a reference.  */
struct fs_node *node_new (struct fusefs *fs, struct fs_node *parent, const char *name, mode_t type,
                          int layer, const struct stat *st);
void node_ref (struct fs_node *n);
/* Drop a reference; frees the node when nothing refers to it any more.  */
void node_unref (struct fusefs *fs, struct fs_node *n);
/* The kernel forgets NLOOKUP lookups.  */
void node_forget (struct fusefs *fs, struct fs_node *n, uint64_t nlookup);
/* A node whose name was removed from the tree: keep an O_PATH fd of the
   backing object, FD (consumed) or one opened here while the name is still
   there.  When STILL_LINKED it stays in the key map, so that another name
   of it finds it again.  A directory is marked dead instead.  */
int node_detach (struct fusefs *fs, struct fs_node *n, bool still_linked, int fd);
/* Give N the name NAME in PARENT (rename, or a hardlink found again).  */
void node_set_name (struct fusefs *fs, struct fs_node *n, struct fs_node *parent, const char *name);
/* The backing object of N moved to layer LAYER with identity ST (copy-up):
   the key map follows, the reported inode number stays.  */
void node_rekey (struct fusefs *fs, struct fs_node *n, int layer, const struct stat *st);
struct fs_node *node_by_key (struct fusefs *fs, struct fs_key key);
/* Take N out of the key map (its backing object is gone).  */
void node_unkey (struct fusefs *fs, struct fs_node *n);

/* The reported inode number of the object KEY.  */
uint64_t fs_ino_for_key (struct fusefs *fs, struct fs_key key);
void fs_ino_forget_key (struct fusefs *fs, struct fs_key key);

/* fd of directory N in layer L (N->lfds[L] must not be LFD_ABSENT), valid
   until the lock is released.  Opened on demand beneath the nearest
   ancestor with an open fd, never following a symlink.  */
int node_layer_fd (struct fusefs *fs, struct fs_node *n, int l);
/* Close N's directory fds and forget layers >= FROM (set LFD_ABSENT).  */
void node_drop_layers (struct fusefs *fs, struct fs_node *n, int from);
/* Directory fd and name to reach N with *at() calls: for a named non-dir,
   its parent's fd in N's layer and its name; for a directory or a detached
   node, its own fd and "" (use AT_EMPTY_PATH).  */
int node_at (struct fusefs *fs, struct fs_node *n, int *dirfd, const char **name);
int node_stat (struct fusefs *fs, struct fs_node *n, struct stat *st);
/* stat as reported to the kernel: stable st_ino, nlink 1 for merged dirs.  */
int node_getattr (struct fusefs *fs, struct fs_node *n, struct stat *st);
/* open(2) N with FLAGS (never following a symlink).  */
int node_open (struct fusefs *fs, struct fs_node *n, int flags);
/* "/proc/self/fd/…" path of N for the *xattr() calls; *FOLLOW says whether
   to use the following variants.  -ENAMETOOLONG when it does not fit.  */
int node_proc_path (struct fusefs *fs, struct fs_node *n, char *buf, size_t len, bool *follow);
/* Does directory N have layers below the top one?  */
bool node_is_merged (const struct fusefs *fs, const struct fs_node *n);
/* Does directory N have a part in a lower layer (only with an upper)?  */
bool node_has_lower (const struct fusefs *fs, const struct fs_node *n);

/* An entry of directory N was added, removed or renamed: its listing
   (fs_dir_listing), with the lookups made ahead in it, goes.  */
void node_dir_changed (struct fusefs *fs, struct fs_node *n);
void fs_dirlist_release (struct fs_dirlist *l);

/* ---- data.c ---- */

/* The fast path, fdlock only: a reference on node NODEID's data fd when it
   has one (writable when WRITE), else NULL: then take the big lock and
   call fs_data_open().  */
struct fs_data *fs_data_get (struct fusefs *fs, uint64_t nodeid, bool write);
/* Give N the open fd FD (consumed); returns it with a reference.  */
struct fs_data *fs_data_attach (struct fusefs *fs, struct fs_node *n, int fd, bool writable);
void fs_data_put (struct fs_data *d);
/* N's backing file changed (copy-up) or N goes away: drop its fd.  */
void node_drop_data (struct fusefs *fs, struct fs_node *n);
/* Close data fds over the budget, least recently used first.  */
void fs_data_trim (struct fusefs *fs);
/* NOCAPS (fdlock): node NODEID is known to have no security.capability.  */
bool node_has_no_caps (struct fusefs *fs, uint64_t nodeid);
void node_set_no_caps (struct fusefs *fs, struct fs_node *n);

/* ---- whiteout.c: the on-disk overlay format ---- */

bool fs_is_whiteout (const struct stat *st);
/* Create a whiteout NAME in DIRFD.  */
int fs_make_whiteout (int dirfd, const char *name);
/* Is the directory NAME in DIRFD (or DIRFD itself when NAME is "") opaque?
   1 yes, 0 no, or -errno.  */
int fs_is_opaque_at (int dirfd, const char *name);
int fs_set_opaque_at (int dirfd, const char *name);
/* Is this extended attribute the overlay's own (never shown or copied)?  */
bool fs_xattr_is_private (const char *name);

/* ---- lookup.c: resolution through the layers ---- */

struct fs_found
{
  int layer;      /* top-most layer holding the name, -1: none */
  struct stat st; /* of that object */
  int *lfds;      /* directories: malloc'ed, per layer (LFD_ABSENT/LFD_CLOSED) */
  bool whiteout;  /* the top-most entry is a whiteout */
  bool upper_wh;  /* the upper layer holds a whiteout of the name */
};
void fs_found_release (struct fs_found *f);

/* Resolve NAME in directory PARENT through the layers.  0 (F->layer may be
   -1: not found), or -errno.  */
int fs_probe (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_found *f);
/* Probe, then get or create the node: *OUT gets a reference.  -ENOENT when
   the name does not exist.  */
int fs_lookup (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_node **out);
/* The same, and *ST (when not NULL) gets what node_getattr would report,
   from the stat the probe made anyway.  */
int fs_lookup_st (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_node **out,
                  struct stat *st);
/* Does a layer below the top-most entry of NAME in PARENT have it (so that
   removing the name needs a whiteout)?  */
int fs_name_in_lower (struct fusefs *fs, struct fs_node *parent, const char *name);
/* Does directory N live in the lower layers only (so that nothing but the
   read-only layers decides its entries)?  */
bool fs_dir_is_lower_only (const struct fusefs *fs, const struct fs_node *n);
/* The lookup of NAME in PARENT made ahead, moved to *F: false when there
   is none.  */
bool fs_take_ahead (struct fusefs *fs, struct fs_node *parent, const char *name,
                    struct fs_found *f);
/* Walk the slash-separated PATH from the root (lookup.c).  */
int fs_lookup_path (struct fusefs *fs, const char *path, struct fs_node **out);

/* ---- dir.c: merged directories ---- */

/* The merged entries of directory N: upper first, then each lower's names
   not seen above; whiteouts hidden; "." and ".." not included.  */
int fs_dir_list (struct fusefs *fs, struct fs_node *n, struct fs_dirlist *out);
/* The same, sorted by readdir offset and cached in N until the directory
   changes (node_dir_changed); valid until the lock is released.  */
int fs_dir_listing (struct fusefs *fs, struct fs_node *n, const struct fs_dirlist **out);
/* The readdir offsets of "." and ".."; names get larger ones.  */
#define FS_OFF_DOT 1
#define FS_OFF_DOTDOT 2
/* The entry NAME of the sorted listing L, or NULL.  */
struct fs_dirent *fs_dirlist_find (const struct fs_dirlist *l, const char *name);
/* 1 when directory N has no visible entries, 0 when it has, or -errno.  */
int fs_dir_is_empty (struct fusefs *fs, struct fs_node *n);
/* Remove the whiteouts in upper directory DIRFD (before it is removed or
   replaced); -ENOTEMPTY if anything else is there.  */
int fs_clear_whiteouts (int dirfd);

/* ---- prefetch.c: directories read ahead ---- */

/* Listing a directory is one step that no request can interrupt: larger
   ones (by the size of their top-most part; on ext4 some 8,000 entries)
   are not read ahead, but left to their own READDIRPLUS.  */
#define FS_AHEAD_DIR_BYTES (256 << 10)

/* The kernel read directory D with attributes from its start: queue its
   subdirectories to be read ahead (once per directory).  */
void fs_read_ahead (struct fusefs *fs, struct fs_node *d);
/* One bounded step of reading ahead, in the receiving thread while no
   request waits (takes the lock): true while work remains.  STOP (ARG),
   asked between lookups, ends the step early when it says a request
   waits.  */
bool fs_read_ahead_step (struct fusefs *fs, bool (*stop) (void *arg), void *arg);

/* ---- copyup.c ---- */

/* A fresh name for a temporary file in the work dir.  */
void fs_tmpname (struct fusefs *fs, char *buf, size_t len);

/* Make N live in the upper layer (its parents first), transactionally:
   temp in the work dir, data (FICLONE, copy_file_range, read/write),
   owner, mode, xattrs, times, then renameat.  A failure leaves the lower
   file untouched.  With SKIP_DATA a regular file is copied up empty (open
   with O_TRUNC, truncate to 0).  Hardlinks of a lower file that are still
   visible are linked to the copy.  Directories are copied up alone (their
   entries stay in the lowers).  */
int fs_copy_up (struct fusefs *fs, struct fs_node *n, bool skip_data);
/* Open N's data fd (copying N up first when WRITE); *OUT gets a reference.  */
int fs_data_open (struct fusefs *fs, struct fs_node *n, bool write, struct fs_data **out);
/* Copy up directory N and everything visible below it.  */
int fs_copy_up_tree (struct fusefs *fs, struct fs_node *n);
/* Copy the data of SRC (SIZE bytes) into DST, keeping holes.  */
int fs_copy_data (struct fusefs *fs, int src, int dst, off_t size);
/* Copy the extended attributes between two /proc paths (see node_proc_path).  */
int fs_copy_xattrs (const char *src, bool src_follow, const char *dst, bool dst_follow);

/* ---- links.c: hardlinks of lower files ---- */

/* Paths (relative to the layer's root) of the inode INO of lower layer
   LAYER; NULL-terminated, owned by the index.  */
char *const *fs_linkidx_paths (struct fusefs *fs, int layer, ino_t ino);
void fs_linkidx_free (struct fs_linkidx *idx);

/* ---- modify.c: changes to the tree ---- */

int fs_create (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent,
               const char *name, mode_t mode, int flags, struct fs_node **out, int *fd_out);
int fs_mknod (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
              mode_t mode, dev_t rdev, struct fs_node **out);
int fs_mkdir (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
              mode_t mode, struct fs_node **out);
int fs_symlink (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent,
                const char *name, const char *target, struct fs_node **out);
int fs_link (struct fusefs *fs, struct fs_node *n, struct fs_node *parent, const char *name,
             struct fs_node **out);
int fs_unlink (struct fusefs *fs, struct fs_node *parent, const char *name);
int fs_rmdir (struct fusefs *fs, struct fs_node *parent, const char *name);
int fs_rename (struct fusefs *fs, struct fs_node *parent, const char *name,
               struct fs_node *newparent, const char *newname, unsigned flags);
/* O_TMPFILE in directory PARENT: an unnamed file in the upper layer, its
   node (*OUT, referenced) holding it open as its data fd.  */
int fs_tmpfile (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, mode_t mode,
                struct fs_node **out);

/* What setattr changes (the FUSE_SET_ATTR_* meaning, without libfuse).  */
enum
{
  FS_SET_MODE = 1 << 0,
  FS_SET_UID = 1 << 1,
  FS_SET_GID = 1 << 2,
  FS_SET_SIZE = 1 << 3,
  FS_SET_ATIME = 1 << 4,
  FS_SET_MTIME = 1 << 5,
  FS_SET_ATIME_NOW = 1 << 6,
  FS_SET_MTIME_NOW = 1 << 7,
  FS_SET_CTIME = 1 << 8,
};
/* Apply ATTR's fields selected by TO_SET to N (copied up first).  FD is an
   open fd of N for truncate (-1: none).  */
int fs_setattr (struct fusefs *fs, struct fs_node *n, const struct stat *attr, int to_set, int fd);

/* ---- xattr.c ---- */

/* Value of NAME into BUF (SIZE 0: just the size); returns its length.  */
int fs_getxattr (struct fusefs *fs, struct fs_node *n, const char *name, char *buf, size_t size);
int fs_listxattr (struct fusefs *fs, struct fs_node *n, char *buf, size_t size);
int fs_setxattr (struct fusefs *fs, struct fs_node *n, const char *name, const char *value,
                 size_t size, int flags);
int fs_removexattr (struct fusefs *fs, struct fs_node *n, const char *name);

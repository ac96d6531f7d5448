/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Changes to the merged tree: every one lands in the upper layer, the
   parent directory copied up first.

   - A new name where the upper layer has a whiteout replaces the whiteout
     atomically: the object is made in the work dir and renamed over it (a
     directory, marked opaque so the lower one stays hidden, is exchanged
     with it).
   - Removing a name that a lower layer also has leaves a whiteout; a
     removed directory must be empty in the merged view, and its upper part
     (whiteouts only) goes with it.
   - rename copies the source up first (a directory with everything below
     it), leaves a whiteout where a lower layer still has the old name, and
     marks a moved directory opaque where a lower layer has the new one.

   All of it runs under the big lock, so no request sees a half-done change;
   the ordering only matters for a crash.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/fusefs/internal.h"
#include "util/cleanup.h"
#include "util/log.h"

#ifndef RENAME_NOREPLACE
#  define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#  define RENAME_EXCHANGE (1 << 1)
#endif

/* The upper fd of directory PARENT, copied up if needed.  */
static int
upper_dir (struct fusefs *fs, struct fs_node *parent)
{
  int r = fs_copy_up (fs, parent, false);

  if (r < 0)
    return r;
  return node_layer_fd (fs, parent, 0);
}

enum obj_kind
{
  OBJ_REG,
  OBJ_DIR,
  OBJ_LNK,
  OBJ_NOD,
  OBJ_LINK,
};

struct new_obj
{
  enum obj_kind kind;
  mode_t mode;
  dev_t rdev;
  const char *target; /* symlink */
  int flags;          /* regular file: open flags */
  int link_dirfd;     /* hardlink source: dirfd and name ("": a /proc path) */
  const char *link_name;
  const char *link_proc;
  int fd; /* out: the regular file, open */
};

static int
make_obj (int dirfd, const char *name, struct new_obj *o)
{
  int r = 0;

  switch (o->kind)
    {
    case OBJ_REG:
      o->fd = openat (dirfd, name, o->flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o->mode);
      r = o->fd < 0 ? -1 : 0;
      break;
    case OBJ_DIR:
      r = mkdirat (dirfd, name, o->mode);
      break;
    case OBJ_LNK:
      r = symlinkat (o->target, dirfd, name);
      break;
    case OBJ_NOD:
      r = mknodat (dirfd, name, o->mode, o->rdev);
      break;
    case OBJ_LINK:
      if (o->link_proc)
        r = linkat (AT_FDCWD, o->link_proc, dirfd, name, AT_SYMLINK_FOLLOW);
      else
        r = linkat (o->link_dirfd, o->link_name, dirfd, name, 0);
      break;
    }
  return r < 0 ? -errno : 0;
}

/* Give NAME in DIRFD (DIRFD itself when NAME is "") to the caller; GID -1
   keeps the group the filesystem chose.  Set-id bits, which chown clears,
   are put back.  */
static int
set_owner (int dirfd, const char *name, const struct fs_ctx *ctx, gid_t gid, mode_t mode,
           bool is_link)
{
  if (ctx->uid == geteuid () && (gid == (gid_t) -1 || gid == getegid ()))
    return 0;
  if (fchownat (dirfd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
    return -errno;
  if (! is_link && (mode & (S_ISUID | S_ISGID)))
    {
      int r = *name ? fchmodat (dirfd, name, mode & 07777, 0) : fchmod (dirfd, mode & 07777);

      if (r < 0)
        return -errno;
    }
  return 0;
}

struct undo_guard
{
  int dirfd;
  bool armed;
  bool is_dir;
  const char *name;
};

static void
undo_guard_run (struct undo_guard *g)
{
  if (g->armed)
    (void) unlinkat (g->dirfd, g->name, g->is_dir ? AT_REMOVEDIR : 0);
}
#define cleanup_undo __attribute__ ((cleanup (undo_guard_run)))

/* Directly in the upper directory UPFD (no whiteout there).  */
static int
create_direct (int upfd, const char *name, const struct stat *pst, const struct fs_ctx *ctx,
               struct new_obj *o)
{
  cleanup_undo struct undo_guard g = { .dirfd = upfd, .name = name, .is_dir = o->kind == OBJ_DIR };
  int r = make_obj (upfd, name, o);

  if (r < 0)
    return r;
  g.armed = true;
  if (o->kind != OBJ_LINK)
    {
      /* A set-group-ID directory gave it its group (and, to a directory,
         its set-group-ID bit) already.  */
      r = set_owner (upfd, name, ctx, (pst->st_mode & S_ISGID) ? (gid_t) -1 : ctx->gid, o->mode,
                     o->kind == OBJ_LNK);
      if (r < 0)
        {
          if (o->fd >= 0)
            (void) close (o->fd);
          o->fd = -1;
          return r;
        }
    }
  g.armed = false;
  return 0;
}

/* In the work dir, then over the whiteout NAME in UPFD.  */
static int
create_over_whiteout (struct fusefs *fs, int upfd, const char *name, const struct stat *pst,
                      const struct fs_ctx *ctx, struct new_obj *o)
{
  char tmp[64];
  cleanup_undo struct undo_guard g
      = { .dirfd = fs->work_fd, .name = tmp, .is_dir = o->kind == OBJ_DIR };
  bool sgid = (pst->st_mode & S_ISGID) != 0;
  mode_t mode = o->mode;
  int r;

  fs_tmpname (fs, tmp, sizeof tmp);
  if (o->kind == OBJ_DIR && sgid)
    mode |= S_ISGID;
  r = make_obj (fs->work_fd, tmp, o);
  if (r < 0)
    return r;
  g.armed = true;
  if (o->kind != OBJ_LINK)
    r = set_owner (fs->work_fd, tmp, ctx, sgid ? pst->st_gid : ctx->gid, mode, o->kind == OBJ_LNK);
  if (r == 0 && o->kind == OBJ_DIR)
    {
      if (sgid && fchmodat (fs->work_fd, tmp, mode & 07777, 0) < 0)
        r = -errno;
      if (r == 0)
        r = fs_set_opaque_at (fs->work_fd, tmp);
    }
  if (r == 0 && o->kind != OBJ_DIR && renameat (fs->work_fd, tmp, upfd, name) < 0)
    r = -errno;
  if (r == 0 && o->kind == OBJ_DIR)
    {
      /* A directory cannot be renamed over a character device: exchange
         them, then remove the whiteout.  */
      if (renameat2 (fs->work_fd, tmp, upfd, name, RENAME_EXCHANGE) == 0)
        {
          g.is_dir = false; /* TMP is the whiteout now */
          return 0;
        }
      if (errno != EINVAL && errno != ENOSYS)
        r = -errno;
      else if (unlinkat (upfd, name, 0) < 0 || renameat (fs->work_fd, tmp, upfd, name) < 0)
        r = -errno;
    }
  if (r < 0)
    {
      if (o->fd >= 0)
        (void) close (o->fd);
      o->fd = -1;
      return r;
    }
  g.armed = false;
  return 0;
}

/* Create NAME in PARENT as O says, and look the result up.  */
static int
create_name (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
             struct new_obj *o, struct fs_node **out)
{
  struct fs_found f;
  struct stat pst;
  int upfd, r;

  o->fd = -1;
  r = fs_probe (fs, parent, name, &f);
  if (r < 0)
    return r;
  fs_found_release (&f);
  if (f.layer >= 0)
    return -EEXIST;
  upfd = upper_dir (fs, parent);
  if (upfd < 0)
    return upfd;
  if (fstat (upfd, &pst) < 0)
    return -errno;
  if (f.upper_wh)
    r = create_over_whiteout (fs, upfd, name, &pst, ctx, o);
  else
    r = create_direct (upfd, name, &pst, ctx, o);
  if (r < 0)
    return r;
  node_dir_changed (fs, parent);
  r = fs_lookup (fs, parent, name, out);
  if (r < 0 && o->fd >= 0)
    {
      (void) close (o->fd);
      o->fd = -1;
    }
  /* A new object has no file capabilities, and cannot get any here.  */
  if (r == 0 && o->kind != OBJ_LINK)
    node_set_no_caps (fs, *out);
  return r;
}

int
fs_create (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
           mode_t mode, int flags, struct fs_node **out, int *fd_out)
{
  struct new_obj o = { .kind = OBJ_REG, .mode = mode & 07777 };
  struct fs_node *n = NULL;
  int r, fd;

  o.flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_DIRECT);
  r = create_name (fs, ctx, parent, name, &o, out);
  if (r != -EEXIST || (flags & O_EXCL))
    {
      *fd_out = o.fd;
      return r;
    }
  /* It appeared since the kernel looked: open it.  */
  r = fs_lookup (fs, parent, name, &n);
  if (r < 0)
    return r;
  if (n->type == S_IFDIR)
    r = -EISDIR;
  else if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
    r = fs_copy_up (fs, n, (flags & O_TRUNC) != 0);
  fd = r < 0 ? r : node_open (fs, n, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT));
  if (fd < 0)
    {
      node_unref (fs, n);
      return fd;
    }
  *out = n;
  *fd_out = fd;
  return 0;
}

int
fs_mknod (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
          mode_t mode, dev_t rdev, struct fs_node **out)
{
  struct new_obj o = { .kind = OBJ_NOD, .mode = mode, .rdev = 0 };

  switch (mode & S_IFMT)
    {
    case S_IFIFO:
    case S_IFSOCK:
      break;
    case S_IFREG:
      o.kind = OBJ_REG;
      o.mode = mode & 07777;
      o.flags = O_RDONLY;
      break;
    case S_IFCHR:
    case S_IFBLK:
      /* Never a device, and never our whiteout (0/0) under a user's name.  */
      (void) rdev;
      return -EPERM;
    default:
      return -EINVAL;
    }
  {
    int r = create_name (fs, ctx, parent, name, &o, out);

    if (o.fd >= 0)
      (void) close (o.fd);
    return r;
  }
}

int
fs_mkdir (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
          mode_t mode, struct fs_node **out)
{
  struct new_obj o = { .kind = OBJ_DIR, .mode = mode & 07777 };

  return create_name (fs, ctx, parent, name, &o, out);
}

int
fs_symlink (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, const char *name,
            const char *target, struct fs_node **out)
{
  struct new_obj o = { .kind = OBJ_LNK, .mode = S_IFLNK | 0777, .target = target };

  return create_name (fs, ctx, parent, name, &o, out);
}

int
fs_link (struct fusefs *fs, struct fs_node *n, struct fs_node *parent, const char *name,
         struct fs_node **out)
{
  static const struct fs_ctx no_ctx = { 0 };
  struct new_obj o = { .kind = OBJ_LINK };
  char proc[64];
  const char *src;
  int dirfd, r;

  if (n->type == S_IFDIR)
    return -EPERM;
  r = fs_copy_up (fs, n, false);
  if (r < 0)
    return r;
  r = node_at (fs, n, &dirfd, &src);
  if (r < 0)
    return r;
  if (*src == '\0')
    {
      /* A hardlink whose primary name is gone: through its /proc link.  */
      snprintf (proc, sizeof proc, "/proc/self/fd/%d", dirfd);
      o.link_proc = proc;
    }
  o.link_dirfd = dirfd;
  o.link_name = src;
  return create_name (fs, &no_ctx, parent, name, &o, out);
}

/* Replace NAME in UPFD by a whiteout, atomically.  */
static int
replace_with_whiteout (struct fusefs *fs, int upfd, const char *name)
{
  char tmp[64];
  int r;

  fs_tmpname (fs, tmp, sizeof tmp);
  r = fs_make_whiteout (fs->work_fd, tmp);
  if (r < 0)
    return r;
  if (renameat (fs->work_fd, tmp, upfd, name) < 0)
    {
      r = -errno;
      (void) unlinkat (fs->work_fd, tmp, 0);
      return r;
    }
  return 0;
}

static bool
is_primary_name (const struct fs_node *n, const struct fs_node *parent, const char *name)
{
  return ! n->detached && n->parent == parent && strcmp (n->name, name) == 0;
}

int
fs_unlink (struct fusefs *fs, struct fs_node *parent, const char *name)
{
  struct fs_node *n = NULL;
  struct stat st = { 0 };
  int need_wh, upfd, keep = -1, r;

  r = fs_lookup (fs, parent, name, &n);
  if (r < 0)
    return r;
  if (n->type == S_IFDIR)
    {
      node_unref (fs, n);
      return -EISDIR;
    }
  need_wh = n->layer > 0 ? 1 : fs_name_in_lower (fs, parent, name);
  upfd = need_wh < 0 ? need_wh : upper_dir (fs, parent);
  if (upfd < 0)
    {
      node_unref (fs, n);
      return upfd;
    }
  if (n->layer == 0 && fstatat (upfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    r = -errno;
  if (r == 0 && is_primary_name (n, parent, name))
    keep = node_open (fs, n, O_PATH);
  if (r == 0 && need_wh)
    r = n->layer == 0 ? replace_with_whiteout (fs, upfd, name) : fs_make_whiteout (upfd, name);
  else if (r == 0 && unlinkat (upfd, name, 0) < 0)
    r = -errno;
  if (r == 0 && keep >= 0)
    {
      /* An unlinked file stays usable through open handles and the
         kernel's inode: the node keeps an O_PATH fd of it.  */
      node_detach (fs, n, n->layer == 0 ? st.st_nlink > 1 : false, keep);
      keep = -1;
    }
  if (keep >= 0)
    (void) close (keep);
  if (r == 0 && n->layer == 0 && st.st_nlink <= 1)
    fs_ino_forget_key (fs, (struct fs_key){ st.st_dev, st.st_ino });
  if (r == 0)
    node_dir_changed (fs, parent);
  node_unref (fs, n);
  return r;
}

/* Remove the upper directory NAME of UPFD (its whiteouts cleared) and
   leave a whiteout there when NEED_WH.  */
static int
remove_upper_dir (struct fusefs *fs, int upfd, const char *name, bool need_wh)
{
  char tmp[64];
  int r;

  if (! need_wh)
    return unlinkat (upfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
  fs_tmpname (fs, tmp, sizeof tmp);
  r = fs_make_whiteout (fs->work_fd, tmp);
  if (r < 0)
    return r;
  if (renameat2 (fs->work_fd, tmp, upfd, name, RENAME_EXCHANGE) == 0)
    {
      if (unlinkat (fs->work_fd, tmp, AT_REMOVEDIR) < 0)
        sbx_warn ("remove `%s` from the work dir: %s", tmp, strerror (errno));
      return 0;
    }
  if (errno != EINVAL && errno != ENOSYS)
    {
      r = -errno;
      (void) unlinkat (fs->work_fd, tmp, 0);
      return r;
    }
  (void) unlinkat (fs->work_fd, tmp, 0);
  if (unlinkat (upfd, name, AT_REMOVEDIR) < 0)
    return -errno;
  return fs_make_whiteout (upfd, name);
}

int
fs_rmdir (struct fusefs *fs, struct fs_node *parent, const char *name)
{
  struct fs_node *n = NULL;
  bool in_upper;
  int need_wh, upfd, r;

  r = fs_lookup (fs, parent, name, &n);
  if (r < 0)
    return r;
  if (n->type != S_IFDIR)
    r = -ENOTDIR;
  else if (n == fs->root)
    r = -EBUSY;
  if (r == 0)
    {
      r = fs_dir_is_empty (fs, n);
      r = r < 0 ? r : (r == 0 ? -ENOTEMPTY : 0);
    }
  in_upper = r == 0 && fs->has_upper && n->lfds[0] != LFD_ABSENT;
  need_wh = r < 0 ? r : (in_upper ? fs_name_in_lower (fs, parent, name) : 1);
  upfd = need_wh < 0 ? need_wh : upper_dir (fs, parent);
  if (upfd < 0)
    r = upfd;
  if (r == 0 && in_upper)
    {
      int cfd = node_layer_fd (fs, n, 0);

      r = cfd < 0 ? cfd : fs_clear_whiteouts (cfd);
      if (r == 0)
        r = remove_upper_dir (fs, upfd, name, need_wh > 0);
      if (r == 0)
        fs_ino_forget_key (fs, n->key);
    }
  else if (r == 0)
    r = fs_make_whiteout (upfd, name);
  if (r == 0)
    {
      node_detach (fs, n, false, -1);
      node_dir_changed (fs, parent);
    }
  node_unref (fs, n);
  return r;
}

/* Directory N moved: the lower layers' directories of its old place do not
   belong to it or anything below it any more (it was copied up whole).  */
static void
drop_lower_tree (struct fusefs *fs, struct fs_node *n)
{
  uint32_t i;

  for (i = 2; i < fs->n_slots; i++)
    {
      struct fs_node *m = fs->slots[i];
      struct fs_node *a;

      if (m == NULL || m->lfds == NULL)
        continue;
      for (a = m; a && a != n; a = a->parent)
        ;
      if (a == n)
        node_drop_layers (fs, m, 1);
    }
}

static bool
is_pure_upper (struct fusefs *fs, struct fs_node *n)
{
  return n->layer == 0 && ! node_has_lower (fs, n);
}

/* Everything of N in the upper layer, directories with their contents.  */
static int
bring_up (struct fusefs *fs, struct fs_node *n)
{
  if (n->type == S_IFDIR)
    return is_pure_upper (fs, n) ? 0 : fs_copy_up_tree (fs, n);
  return fs_copy_up (fs, n, false);
}

/* After a directory moved to NAME in UPFD: opaque where a lower has NAME.  */
static int
settle_moved_dir (struct fusefs *fs, struct fs_node *dir, struct fs_node *parent, int upfd,
                  const char *name)
{
  int lower = fs_name_in_lower (fs, parent, name);

  drop_lower_tree (fs, dir);
  if (lower > 0)
    return fs_set_opaque_at (upfd, name);
  return lower;
}

static int
rename_exchange (struct fusefs *fs, struct fs_node *a, struct fs_node *pa, const char *na,
                 struct fs_node *b, struct fs_node *pb, const char *nb)
{
  int fa, fb, r;

  r = bring_up (fs, a);
  if (r == 0)
    r = bring_up (fs, b);
  if (r < 0)
    return r;
  fa = upper_dir (fs, pa);
  fb = fa < 0 ? fa : upper_dir (fs, pb);
  if (fb < 0)
    return fb;
  /* Both names stay, so no whiteout is needed; a moved directory may need
     to hide a lower one of its new name.  */
  if (renameat2 (fa, na, fb, nb, RENAME_EXCHANGE) < 0)
    return -errno;
  node_dir_changed (fs, pa);
  node_dir_changed (fs, pb);
  if (a->type == S_IFDIR && (r = settle_moved_dir (fs, a, pb, fb, nb)) < 0)
    return r;
  if (b->type == S_IFDIR && (r = settle_moved_dir (fs, b, pa, fa, na)) < 0)
    return r;
  if (is_primary_name (a, pa, na) && is_primary_name (b, pb, nb))
    {
      node_set_name (fs, a, pb, nb);
      node_set_name (fs, b, pa, na);
    }
  else if (is_primary_name (a, pa, na))
    node_set_name (fs, a, pb, nb);
  else if (is_primary_name (b, pb, nb))
    node_set_name (fs, b, pa, na);
  return 0;
}

/* Checks of rename(2) that depend on the merged view.  */
static int
check_replace (struct fusefs *fs, struct fs_node *src, struct fs_node *dst)
{
  int r;

  if (src->type == S_IFDIR && dst->type != S_IFDIR)
    return -ENOTDIR;
  if (src->type != S_IFDIR && dst->type == S_IFDIR)
    return -EISDIR;
  if (dst->type != S_IFDIR)
    return 0;
  if (dst == fs->root)
    return -EBUSY;
  r = fs_dir_is_empty (fs, dst);
  return r < 0 ? r : (r == 0 ? -ENOTEMPTY : 0);
}

/* Make room for the rename at NAME of UPFD: a whiteout a directory cannot
   be renamed over goes, a merged empty directory loses its whiteouts.  */
static int
prepare_target (struct fusefs *fs, struct fs_node *src, struct fs_node *dst, int upfd,
                const char *name, struct stat *ust)
{
  if (fstatat (upfd, name, ust, AT_SYMLINK_NOFOLLOW) < 0)
    {
      ust->st_mode = 0;
      return errno == ENOENT ? 0 : -errno;
    }
  if (fs_is_whiteout (ust))
    {
      if (src->type == S_IFDIR && unlinkat (upfd, name, 0) < 0)
        return -errno;
      return 0;
    }
  if (S_ISDIR (ust->st_mode) && dst && dst->type == S_IFDIR)
    {
      int fd = node_layer_fd (fs, dst, 0);

      return fd < 0 ? fd : fs_clear_whiteouts (fd);
    }
  return 0;
}

/* rename of SRC (NAME in PARENT) over DST (NULL: none) at NEWNAME.  */
static int
do_rename (struct fusefs *fs, struct fs_node *src, struct fs_node *parent, const char *name,
           struct fs_node *dst, struct fs_node *newparent, const char *newname)
{
  struct stat ust = { 0 };
  int need_wh, oup, nup, keep = -1, r = 0;

  if (dst)
    r = check_replace (fs, src, dst);
  if (r == 0)
    r = bring_up (fs, src);
  need_wh = r < 0 ? r : fs_name_in_lower (fs, parent, name);
  oup = need_wh < 0 ? need_wh : upper_dir (fs, parent);
  nup = oup < 0 ? oup : upper_dir (fs, newparent);
  r = nup < 0 ? nup : prepare_target (fs, src, dst, nup, newname, &ust);
  if (r == 0 && dst && is_primary_name (dst, newparent, newname) && dst->type != S_IFDIR)
    keep = node_open (fs, dst, O_PATH);
  if (r == 0 && renameat (oup, name, nup, newname) < 0)
    r = -errno;
  if (r == 0)
    {
      node_dir_changed (fs, parent);
      node_dir_changed (fs, newparent);
    }
  if (r == 0 && need_wh > 0)
    r = fs_make_whiteout (oup, name);
  if (r == 0 && src->type == S_IFDIR)
    r = settle_moved_dir (fs, src, newparent, nup, newname);
  if (r == 0 && dst)
    {
      bool linked = S_ISREG (ust.st_mode) && ust.st_nlink > 1;

      if (is_primary_name (dst, newparent, newname))
        {
          node_detach (fs, dst, linked, keep);
          keep = -1;
        }
      if (ust.st_mode && ! fs_is_whiteout (&ust) && ! linked)
        fs_ino_forget_key (fs, (struct fs_key){ ust.st_dev, ust.st_ino });
    }
  if (keep >= 0)
    (void) close (keep);
  if (r == 0 && is_primary_name (src, parent, name))
    node_set_name (fs, src, newparent, newname);
  return r;
}

int
fs_rename (struct fusefs *fs, struct fs_node *parent, const char *name, struct fs_node *newparent,
           const char *newname, unsigned flags)
{
  struct fs_node *src = NULL, *dst = NULL;
  int r;

  if ((flags & ~(unsigned) (RENAME_NOREPLACE | RENAME_EXCHANGE))
      || ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)))
    return -EINVAL;
  if (! fs->has_upper)
    return -EROFS;
  r = fs_lookup (fs, parent, name, &src);
  if (r < 0)
    return r;
  r = fs_lookup (fs, newparent, newname, &dst);
  if (r == -ENOENT)
    r = (flags & RENAME_EXCHANGE) ? -ENOENT : 0;
  else if (r == 0 && (flags & RENAME_NOREPLACE))
    r = -EEXIST;
  if (r == 0 && dst != src)
    {
      if (flags & RENAME_EXCHANGE)
        r = rename_exchange (fs, src, parent, name, dst, newparent, newname);
      else
        r = do_rename (fs, src, parent, name, dst, newparent, newname);
    }
  /* (SRC == DST: two names of one file, or the same name: nothing to do.)  */
  node_unref (fs, dst);
  node_unref (fs, src);
  return r;
}

static int
chmod_node (struct fusefs *fs, struct fs_node *n, mode_t mode)
{
  char path[320];
  const char *name;
  bool follow;
  int dirfd, r;

  if (n->type == S_IFLNK)
    return -EOPNOTSUPP;
  r = node_at (fs, n, &dirfd, &name);
  if (r < 0)
    return r;
  if (*name)
    return fchmodat (dirfd, name, mode & 07777, 0) < 0 ? -errno : 0;
  r = node_proc_path (fs, n, path, sizeof path, &follow);
  if (r < 0)
    return r;
  return chmod (path, mode & 07777) < 0 ? -errno : 0;
}

static int
utimens_node (struct fusefs *fs, struct fs_node *n, const struct stat *attr, int to_set)
{
  struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
  char path[320];
  const char *name;
  bool follow;
  int dirfd, r;

  if (to_set & FS_SET_ATIME_NOW)
    ts[0].tv_nsec = UTIME_NOW;
  else if (to_set & FS_SET_ATIME)
    ts[0] = attr->st_atim;
  if (to_set & FS_SET_MTIME_NOW)
    ts[1].tv_nsec = UTIME_NOW;
  else if (to_set & FS_SET_MTIME)
    ts[1] = attr->st_mtim;
  r = node_at (fs, n, &dirfd, &name);
  if (r < 0)
    return r;
  if (*name)
    return utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
  r = node_proc_path (fs, n, path, sizeof path, &follow);
  if (r < 0)
    return r;
  return utimensat (AT_FDCWD, path, ts, 0) < 0 ? -errno : 0;
}

static int
truncate_node (struct fusefs *fs, struct fs_node *n, off_t size, int fd)
{
  cleanup_close int own = -1;

  if (n->type == S_IFDIR)
    return -EISDIR;
  if (n->type != S_IFREG)
    return -EINVAL;
  if (fd < 0)
    {
      own = node_open (fs, n, O_WRONLY);
      if (own < 0)
        return own;
      fd = own;
    }
  return ftruncate (fd, size) < 0 ? -errno : 0;
}

int
fs_setattr (struct fusefs *fs, struct fs_node *n, const struct stat *attr, int to_set, int fd)
{
  bool skip_data = (to_set & FS_SET_SIZE) && attr->st_size == 0;
  int r;

  if ((to_set & ~FS_SET_CTIME) == 0)
    return 0;
  r = fs_copy_up (fs, n, skip_data && n->type == S_IFREG);
  if (r < 0)
    return r;
  if (to_set & (FS_SET_UID | FS_SET_GID))
    {
      const char *name;
      int dirfd;

      r = node_at (fs, n, &dirfd, &name);
      if (r < 0)
        return r;
      if (fchownat (dirfd, name, (to_set & FS_SET_UID) ? attr->st_uid : (uid_t) -1,
                    (to_set & FS_SET_GID) ? attr->st_gid : (gid_t) -1,
                    AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH))
          < 0)
        return -errno;
    }
  if ((to_set & FS_SET_MODE) && (r = chmod_node (fs, n, attr->st_mode)) < 0)
    return r;
  if ((to_set & FS_SET_SIZE) && (r = truncate_node (fs, n, attr->st_size, fd)) < 0)
    return r;
  if (to_set & (FS_SET_ATIME | FS_SET_MTIME | FS_SET_ATIME_NOW | FS_SET_MTIME_NOW))
    return utimens_node (fs, n, attr, to_set);
  return 0;
}

int
fs_tmpfile (struct fusefs *fs, const struct fs_ctx *ctx, struct fs_node *parent, mode_t mode,
            struct fs_node **out)
{
  cleanup_close int fd = -1;
  cleanup_close int path = -1;
  struct stat pst, st;
  struct fs_node *n;
  int upfd, r;

  if (! fs->has_upper)
    return -EROFS;
  if (parent->type != S_IFDIR || parent->dead)
    return -ENOTDIR;
  upfd = upper_dir (fs, parent);
  if (upfd < 0)
    return upfd;
  if (fstat (upfd, &pst) < 0)
    return -errno;
  fd = openat (upfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
  if (fd < 0)
    return -errno;
  r = set_owner (fd, "", ctx, (pst.st_mode & S_ISGID) ? (gid_t) -1 : ctx->gid, mode, false);
  if (r < 0)
    return r;
  path = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  if (path < 0 || fstat (fd, &st) < 0)
    return -errno;
  /* A node without a name, like an unlinked open file; linkat(2) of its
     /proc link names it (fs_link), and lookups of that name find it by
     its key.  */
  n = node_new (fs, NULL, "", S_IFREG, 0, &st);
  n->detached = true;
  n->fd = steal_fd (&path);
  fs_hmap_put (&fs->keymap, &n->hkey);
  n->in_keymap = true;
  fs_data_put (fs_data_attach (fs, n, steal_fd (&fd), true));
  node_set_no_caps (fs, n);
  *out = n;
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MAX_SYMLINKS 40

static int
sys_openat2 (int dirfd, const char *path, struct open_how *how)
{
  return (int) syscall (SYS_openat2, dirfd, path, how, sizeof *how);
}

/* Pop the next component of *P ("a/b/c" → "a"), skipping slashes.  */
static bool
next_component (const char **p, struct sbx_strbuf *out)
{
  const char *s = *p;
  const char *e;

  while (*s == '/')
    s++;
  if (*s == '\0')
    return false;
  e = strchrnul (s, '/');
  sbx_strbuf_reset (out);
  sbx_strbuf_add (out, s, (size_t) (e - s));
  *p = e;
  return true;
}

static bool
is_last_component (const char *rest)
{
  while (*rest == '/')
    rest++;
  return *rest == '\0';
}

/* The verified fallback: keep a stack of directory fds from ROOTFD down, so
   ".." pops and can never rise above the root; open every component with
   O_PATH | O_NOFOLLOW and expand symlinks ourselves, absolute ones from the
   root.  The final open uses O_NOFOLLOW, so a symlink swapped in after the
   check fails with ELOOP instead of being followed.  */
struct walk
{
  int *stack;
  size_t depth;
  size_t cap;
};

static void
walk_release (struct walk *w)
{
  size_t i;

  for (i = 0; w->stack && i <= w->depth; i++)
    (void) close (w->stack[i]);
  free (w->stack);
}

static void
walk_push (struct walk *w, int fd)
{
  if (w->depth + 1 >= w->cap)
    {
      w->cap *= 2;
      w->stack = xrealloc (w->stack, xmul (w->cap, sizeof (int)));
    }
  w->stack[++w->depth] = fd;
}

static void
walk_pop_to (struct walk *w, size_t depth)
{
  while (w->depth > depth)
    (void) close (w->stack[w->depth--]);
}

/* Open the final component NAME in the current directory of W.  Returns the
   fd, -1 with *ERR set, or -2 when NAME is a symlink to follow (*LINKFD then
   holds it).  */
static int
walk_open_last (struct walk *w, const char *name, int flags, mode_t mode, int *linkfd,
                const char *path, struct sbx_error **err)
{
  int dirfd = w->stack[w->depth];
  struct stat st;
  int fd;

  fd = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT && (flags & O_CREAT))
        {
          fd = openat (dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
          if (fd < 0)
            return sbx_err_errno (err, "open `%s`", path);
          return fd;
        }
      return sbx_err_errno (err, "open `%s`", path);
    }
  if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
    {
      /* Like open(2): O_EXCL fails on anything there, a symlink included.  */
      (void) close (fd);
      return sbx_err_code (err, EEXIST, "open `%s`", path);
    }
  if (fstat (fd, &st) < 0)
    {
      (void) close (fd);
      return sbx_err_errno (err, "stat `%s`", path);
    }
  if (S_ISLNK (st.st_mode) && ! (flags & O_NOFOLLOW))
    {
      *linkfd = fd;
      return -2;
    }
  if ((flags & O_DIRECTORY) && ! S_ISDIR (st.st_mode))
    {
      (void) close (fd);
      return sbx_err_code (err, ENOTDIR, "open `%s`", path);
    }
  if (flags & O_PATH)
    return fd;
  (void) close (fd);
  fd = openat (dirfd, name, (flags & ~(O_CREAT | O_EXCL)) | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", path);
  return fd;
}

int
sbx_fs_open_in_root_walk (int rootfd, const char *path, int flags, mode_t mode,
                          struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf todo = SBX_STRBUF_INIT;
  cleanup_strbuf struct sbx_strbuf comp = SBX_STRBUF_INIT;
  struct walk w = { .stack = xcalloc (16, sizeof (int)), .depth = 0, .cap = 16 };
  int links = 0;
  int ret;
  const char *p;

  if (*path == '\0')
    {
      free (w.stack);
      return sbx_err_code (err, ENOENT, "open ``");
    }
  /* "file/" names a directory, as for the kernel.  */
  if (path[strlen (path) - 1] == '/')
    flags |= O_DIRECTORY;
  w.stack[0] = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (w.stack[0] < 0)
    {
      free (w.stack);
      return sbx_err_errno (err, "dup root fd");
    }
  sbx_strbuf_addstr (&todo, path);
  p = todo.buf;

  for (;;)
    {
      int linkfd = -1;
      struct stat st;
      int fd;

      if (! next_component (&p, &comp) || (strcmp (comp.buf, "..") == 0 && is_last_component (p)))
        {
          /* The path ends at a directory already on the stack.  */
          if (comp.len && strcmp (comp.buf, "..") == 0 && w.depth > 0)
            walk_pop_to (&w, w.depth - 1);
          ret = openat (w.stack[w.depth], ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
          if (ret < 0)
            ret = sbx_err_errno (err, "open `%s`", path);
          break;
        }
      if (strcmp (comp.buf, ".") == 0)
        {
          if (! is_last_component (p))
            continue;
          sbx_strbuf_reset (&comp);
          continue;
        }
      if (strcmp (comp.buf, "..") == 0)
        {
          if (w.depth > 0)
            walk_pop_to (&w, w.depth - 1);
          continue;
        }
      if (is_last_component (p))
        {
          ret = walk_open_last (&w, comp.buf, flags, mode, &linkfd, path, err);
          if (ret != -2)
            break;
          fd = linkfd;
        }
      else
        {
          fd = openat (w.stack[w.depth], comp.buf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
          if (fd < 0)
            {
              ret = sbx_err_errno (err, "open `%s`", path);
              break;
            }
          if (fstat (fd, &st) < 0)
            {
              (void) close (fd);
              ret = sbx_err_errno (err, "stat `%s`", path);
              break;
            }
          if (S_ISDIR (st.st_mode))
            {
              walk_push (&w, fd);
              continue;
            }
          if (! S_ISLNK (st.st_mode))
            {
              (void) close (fd);
              ret = sbx_err_code (err, ENOTDIR, "open `%s`", path);
              break;
            }
        }

      /* FD is a symlink: splice its target in front of the rest.  */
      {
        cleanup_strbuf struct sbx_strbuf rest = SBX_STRBUF_INIT;
        char target[4096];
        ssize_t n = readlinkat (fd, "", target, sizeof target);

        (void) close (fd);
        if (n < 0 || (size_t) n >= sizeof target || ++links > MAX_SYMLINKS)
          {
            ret = sbx_err_code (err, ELOOP, "resolve `%s`", path);
            break;
          }
        target[n] = '\0';
        if (target[0] == '/')
          walk_pop_to (&w, 0);
        sbx_strbuf_addstr (&rest, target);
        sbx_strbuf_addch (&rest, '/');
        sbx_strbuf_addstr (&rest, p);
        sbx_strbuf_reset (&todo);
        sbx_strbuf_add (&todo, rest.buf, rest.len);
        p = todo.buf;
      }
    }

  walk_release (&w);
  return ret;
}

int
sbx_fs_open_in_root (int rootfd, const char *path, int flags, mode_t mode, struct sbx_error **err)
{
  struct open_how how = {
    .flags = (unsigned long long) (flags | O_CLOEXEC),
    .mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd;

  do
    fd = sys_openat2 (rootfd, path, &how);
  while (fd < 0 && errno == EAGAIN);
  if (fd >= 0)
    return fd;
  if (errno != ENOSYS)
    return sbx_err_errno (err, "open `%s`", path);
  return sbx_fs_open_in_root_walk (rootfd, path, flags, mode, err);
}

/* A dangling symlink at COMP (in PARENT, whose in-root path is PREFIX):
   the path to create instead, its target followed by REST.  */
static char *
redirect_through_link (int parent, const char *prefix, const char *comp, const char *rest)
{
  char target[4096];
  ssize_t n = readlinkat (parent, comp, target, sizeof target);

  if (n < 0 || (size_t) n >= sizeof target)
    return NULL;
  target[n] = '\0';
  if (target[0] == '/')
    return xasprintf ("%s/%s", target, rest);
  return xasprintf ("%s/%s/%s", prefix, target, rest);
}

static int
mkdir_p_in_root (int rootfd, const char *path, mode_t mode, int depth, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf prefix = SBX_STRBUF_INIT;
  cleanup_strbuf struct sbx_strbuf comp = SBX_STRBUF_INIT;
  const char *p = path;
  int fd = -1;

  if (depth > MAX_SYMLINKS)
    return sbx_err_code (err, ELOOP, "mkdir `%s`", path);
  sbx_strbuf_addch (&prefix, '/');
  fd = sbx_fs_open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0, err);
  if (fd < 0)
    return -1;
  while (next_component (&p, &comp))
    {
      cleanup_close int parent = fd;
      cleanup_free char *parent_prefix = xstrdup (prefix.buf);

      if (prefix.len > 1)
        sbx_strbuf_addch (&prefix, '/');
      sbx_strbuf_add (&prefix, comp.buf, comp.len);
      fd = sbx_fs_open_in_root (rootfd, prefix.buf, O_PATH | O_DIRECTORY, 0, err);
      if (fd >= 0)
        continue;
      if (sbx_error_code (*err) != ENOENT)
        return -1;
      sbx_error_clear (err);
      /* PARENT is already resolved in root; COMP contains no slash, and
         mkdirat never follows a symlink in the last component.  */
      if (mkdirat (parent, comp.buf, mode) == 0)
        {
          fd = sbx_fs_open_in_root (rootfd, prefix.buf, O_PATH | O_DIRECTORY, 0, err);
          if (fd < 0)
            return -1;
          continue;
        }
      if (errno != EEXIST)
        return sbx_err_errno (err, "mkdir `%s`", prefix.buf);
      /* EEXIST but unresolvable: a symlink to something missing.  Create
         its target, resolved in root, as mkdir -p through the link would
         (and as runc's securejoin does).  */
      {
        cleanup_free char *next = redirect_through_link (parent, parent_prefix, comp.buf, p);

        if (next == NULL)
          return sbx_err_code (err, ENOENT, "mkdir `%s`", prefix.buf);
        return mkdir_p_in_root (rootfd, next, mode, depth + 1, err);
      }
    }
  return fd;
}

int
sbx_fs_mkdir_p_in_root (int rootfd, const char *path, mode_t mode, struct sbx_error **err)
{
  return mkdir_p_in_root (rootfd, path, mode, 0, err);
}

int
sbx_fs_ensure_mountpoint (int rootfd, const char *path, bool is_dir, struct sbx_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_close int dirfd = -1;
  const char *base;
  struct stat st;
  int fd;

  if (is_dir)
    return sbx_fs_mkdir_p_in_root (rootfd, path, 0755, err);

  fd = sbx_fs_open_in_root (rootfd, path, O_PATH, 0, err);
  if (fd >= 0)
    {
      if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
        {
          (void) close (fd);
          return sbx_err (err, EISDIR, "mount point `%s` is a directory, the source a file", path);
        }
      return fd;
    }
  if (sbx_error_code (*err) != ENOENT)
    return -1;
  sbx_error_clear (err);

  base = strrchr (path, '/');
  dir = base ? xstrndup (path, (size_t) (base - path)) : xstrdup ("/");
  base = base ? base + 1 : path;
  if (*base == '\0')
    return sbx_err (err, EINVAL, "mount point `%s` names no file", path);
  dirfd = sbx_fs_mkdir_p_in_root (rootfd, *dir ? dir : "/", 0755, err);
  if (dirfd < 0)
    return -1;
  fd = openat (dirfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EEXIST)
    return sbx_err_errno (err, "create mount point `%s`", path);
  if (fd >= 0)
    (void) close (fd);
  return sbx_fs_open_in_root (rootfd, path, O_PATH, 0, err);
}

char *
sbx_fs_read_fd (int fd, size_t max, size_t *len_out, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  for (;;)
    {
      ssize_t n;

      sbx_strbuf_grow (&sb, 4096);
      n = read (fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sbx_err_errno (err, "read");
          return NULL;
        }
      if (n == 0)
        break;
      sb.len += (size_t) n;
      sb.buf[sb.len] = '\0';
      if (sb.len > max)
        {
          sbx_err (err, EFBIG, "read: larger than %zu bytes", max);
          return NULL;
        }
    }
  if (len_out)
    *len_out = sb.len;
  return sbx_strbuf_detach (&sb);
}

char *
sbx_fs_read_file_at (int dirfd, const char *path, size_t max, size_t *len_out,
                     struct sbx_error **err)
{
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  char *r;

  if (fd < 0)
    {
      sbx_err_errno (err, "open `%s`", path);
      return NULL;
    }
  r = sbx_fs_read_fd (fd, max, len_out, err);
  if (r == NULL)
    sbx_err_prefix (err, "`%s`", path);
  return r;
}

int
sbx_fs_write_file_at (int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                      struct sbx_error **err)
{
  cleanup_close int fd
      = openat (dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  const char *p = data;

  if (fd < 0)
    return sbx_err_errno (err, "create `%s`", path);
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "write `%s`", path);
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
rm_rf_children (int dfd, dev_t dev, struct sbx_error **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = fcntl (dfd, F_DUPFD_CLOEXEC, 3);

  if (fd < 0)
    return sbx_err_errno (err, "dup");
  d = fdopendir (fd);
  if (d == NULL)
    {
      (void) close (fd);
      return sbx_err_errno (err, "opendir");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      struct stat st;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          return sbx_err_errno (err, "stat `%s`", de->d_name);
        }
      if (S_ISDIR (st.st_mode))
        {
          cleanup_close int child = -1;

          if (st.st_dev != dev)
            return sbx_err (err, EBUSY, "remove `%s`: a mount point", de->d_name);
          child = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (child < 0)
            return sbx_err_errno (err, "open `%s`", de->d_name);
          if (rm_rf_children (child, dev, err) < 0)
            return -1;
          if (unlinkat (dfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return sbx_err_errno (err, "remove `%s`", de->d_name);
        }
      else if (unlinkat (dfd, de->d_name, 0) < 0 && errno != ENOENT)
        return sbx_err_errno (err, "remove `%s`", de->d_name);
    }
  if (errno != 0)
    return sbx_err_errno (err, "readdir");
  return 0;
}

int
sbx_fs_rm_rf_at (int dirfd, const char *path, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (fstatat (dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return sbx_err_errno (err, "stat `%s`", path);
    }
  if (! S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, path, 0) < 0 && errno != ENOENT)
        return sbx_err_errno (err, "remove `%s`", path);
      return 0;
    }
  fd = openat (dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", path);
  if (rm_rf_children (fd, st.st_dev, err) < 0)
    return sbx_err_prefix (err, "remove `%s`", path);
  if (unlinkat (dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return sbx_err_errno (err, "remove `%s`", path);
  return 0;
}

int
sbx_fs_mkdir_p (const char *path, mode_t mode, struct sbx_error **err)
{
  cleanup_free char *copy = NULL;
  char *p;

  if (*path == '\0')
    return sbx_err_code (err, ENOENT, "mkdir ``");
  copy = xstrdup (path);
  for (p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return sbx_err_errno (err, "mkdir `%s`", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return sbx_err_errno (err, "mkdir `%s`", copy);
  return 0;
}

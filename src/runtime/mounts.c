/* SPDX-License-Identifier: GPL-2.0-or-later */
#define SBX_LOG_MODULE "mounts"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hints.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* Every mount target inside the rootfs is first resolved in root (no
   symlink in the image can redirect a mount to the host) and then named by
   its /proc/self/fd path, as crun does.  */
struct fdpath
{
  char buf[40];
};

static const char *
fd_path (int fd, struct fdpath *p)
{
  snprintf (p->buf, sizeof p->buf, "/proc/self/fd/%d", fd);
  return p->buf;
}

static int
mount_at (int rootfd, const char *target, bool is_dir, const char *src, const char *fstype,
          unsigned long flags, const char *data, struct sbx_error **err)
{
  cleanup_close int fd = sbx_fs_ensure_mountpoint (rootfd, target, is_dir, err);
  struct fdpath p;

  if (fd < 0)
    return -1;
  if (mount (src, fd_path (fd, &p), fstype, flags, data) < 0)
    {
      sbx_err_errno (err, "mount %s on `%s`", fstype ? fstype : src, target);
      if (errno == ENOSPC)
        sbx_err_hint (err, SBX_HINT_MOUNT_MAX);
      return -1;
    }
  return 0;
}

static unsigned long
statvfs_to_mount_flags (unsigned long f)
{
  unsigned long m = 0;

  if (f & ST_NOSUID)
    m |= MS_NOSUID;
  if (f & ST_NODEV)
    m |= MS_NODEV;
  if (f & ST_NOEXEC)
    m |= MS_NOEXEC;
  if (f & ST_NOATIME)
    m |= MS_NOATIME;
  if (f & ST_NODIRATIME)
    m |= MS_NODIRATIME;
  if (f & ST_RELATIME)
    m |= MS_RELATIME;
  return m;
}

int
mounts_make_readonly (const char *path, bool recursive, struct sbx_error **err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  struct statvfs sv;

  /* mount_setattr (5.12) changes only the read-only bit, recursively, so the
     flags the kernel locked on mounts copied from the host are untouched.  */
  if (syscall (SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr)
      == 0)
    return 0;
  if (errno != ENOSYS)
    return sbx_err_errno (err, "make `%s` read-only", path);
  if (statvfs (path, &sv) < 0)
    return sbx_err_errno (err, "statvfs `%s`", path);
  if (mount (NULL, path, NULL,
             MS_REMOUNT | MS_BIND | MS_RDONLY | statvfs_to_mount_flags (sv.f_flag), NULL)
      < 0)
    return sbx_err_errno (err, "make `%s` read-only", path);
  return 0;
}

static int
readonly_at (int rootfd, const char *target, struct sbx_error **err)
{
  cleanup_close int fd = sbx_fs_open_in_root (rootfd, target, O_PATH, 0, err);
  struct fdpath p;

  if (fd < 0)
    return -1;
  return mounts_make_readonly (fd_path (fd, &p), true, err);
}

static int
setup_dev (int rootfd, const struct sbx_run_config *cfg, struct sbx_error **err)
{
  static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
  static const struct
  {
    const char *target, *link;
  } links[] = {
    { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
    { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
    { "core", "/proc/kcore" },       { "ptmx", "pts/ptmx" },
  };
  cleanup_close int devfd = -1;
  size_t i;

  if (mount_at (rootfd, "/dev", true, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                "mode=755,size=65536k", err)
      < 0)
    return -1;
  devfd = sbx_fs_open_in_root (rootfd, "/dev", O_PATH | O_DIRECTORY, 0, err);
  if (devfd < 0)
    return -1;
  /* mknod is not allowed in a user namespace: bind the host's nodes.  */
  for (i = 0; i < SBX_N_ELEMENTS (devices); i++)
    {
      cleanup_free char *src = xasprintf ("/dev/%s", devices[i]);
      cleanup_free char *dst = xasprintf ("/dev/%s", devices[i]);

      if (mount_at (rootfd, dst, false, src, NULL, MS_BIND, NULL, err) < 0)
        return -1;
    }
  for (i = 0; i < SBX_N_ELEMENTS (links); i++)
    if (symlinkat (links[i].link, devfd, links[i].target) < 0 && errno != EEXIST)
      return sbx_err_errno (err, "symlink `/dev/%s`", links[i].target);
  if (mount_at (rootfd, "/dev/pts", true, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=0620", err)
      < 0)
    return -1;
  if (mount_at (rootfd, "/dev/shm", true, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "mode=1777,size=65536k", err)
      < 0)
    return -1;
  if (mount_at (rootfd, "/dev/mqueue", true, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                NULL, err)
      < 0)
    return -1;
  if (cfg->tty)
    {
      /* The console is bound from the container's own pty after pivot_root.  */
      cleanup_close int fd = sbx_fs_ensure_mountpoint (rootfd, "/dev/console", false, err);
      if (fd < 0)
        return -1;
    }
  return 0;
}

static int
setup_sys (int rootfd, const struct sbx_run_config *cfg, struct sbx_error **err)
{
  unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;
  struct sbx_error *local = NULL;

  /* sysfs may be mounted only by the owner of the network namespace; with
     --network host bind the host's, read-only (crun does the same).  */
  if (cfg->network != SBX_NETWORK_HOST
      && mount_at (rootfd, "/sys", true, "sysfs", "sysfs", flags, NULL, &local) == 0)
    {
      if (mount_at (rootfd, "/sys/fs/cgroup", true, "cgroup2", "cgroup2", flags, NULL, &local) < 0)
        {
          sbx_debug ("no cgroup2 in the container: %s", local->msg);
          sbx_error_clear (&local);
        }
      return 0;
    }
  if (local)
    {
      sbx_debug ("sysfs: %s; binding the host's", local->msg);
      sbx_error_clear (&local);
    }
  if (mount_at (rootfd, "/sys", true, "/sys", NULL, MS_BIND | MS_REC, NULL, err) < 0)
    return -1;
  return readonly_at (rootfd, "/sys", err);
}

/* Docker's masked paths: unreadable inside.  */
static const char *const masked_paths[] = {
  "/proc/acpi",        "/proc/asound",        "/proc/interrupts", "/proc/kcore",
  "/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
  "/proc/sched_debug", "/proc/scsi",          "/sys/firmware",    "/sys/devices/virtual/powercap",
};

/* Docker's read-only paths.  */
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int
mask_path (int rootfd, const char *path, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  struct sbx_error *local = NULL;
  struct fdpath p;
  struct stat st;

  fd = sbx_fs_open_in_root (rootfd, path, O_PATH | O_NOFOLLOW, 0, &local);
  if (fd < 0)
    {
      int code = sbx_error_code (local);
      sbx_error_clear (&local);
      if (code == ENOENT || code == ENOTDIR)
        return 0;
      return sbx_err_code (err, code, "mask `%s`", path);
    }
  if (fstat (fd, &st) < 0)
    return sbx_err_errno (err, "stat `%s`", path);
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", fd_path (fd, &p), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "size=0")
          < 0)
        return sbx_err_errno (err, "mask `%s`", path);
    }
  else if (mount ("/dev/null", fd_path (fd, &p), NULL, MS_BIND, NULL) < 0)
    return sbx_err_errno (err, "mask `%s`", path);
  return 0;
}

static int
readonly_path (int rootfd, const char *path, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  struct sbx_error *local = NULL;
  struct fdpath p;

  fd = sbx_fs_open_in_root (rootfd, path, O_PATH | O_NOFOLLOW, 0, &local);
  if (fd < 0)
    {
      int code = sbx_error_code (local);
      sbx_error_clear (&local);
      if (code == ENOENT || code == ENOTDIR)
        return 0;
      return sbx_err_code (err, code, "open `%s`", path);
    }
  if (mount (fd_path (fd, &p), fd_path (fd, &p), NULL, MS_BIND | MS_REC, NULL) < 0)
    return sbx_err_errno (err, "bind `%s`", path);
  /* FD still names the covered directory: look the path up again to reach
     the root of the new mount.  */
  return readonly_at (rootfd, path, err);
}

static int
setup_volumes (int rootfd, const struct sbx_run_config *cfg, struct sbx_error **err)
{
  size_t i;

  for (i = 0; i < cfg->n_mounts; i++)
    {
      const struct sbx_mount_spec *m = &cfg->mounts[i];
      cleanup_close int src = open (m->source, O_PATH | O_CLOEXEC);
      cleanup_close int dst = -1;
      struct fdpath ps, pd;
      struct stat st;

      if (src < 0)
        return sbx_err_errno (err, "volume `%s`", m->source);
      if (fstat (src, &st) < 0)
        return sbx_err_errno (err, "stat `%s`", m->source);
      if (m->volume && ! m->nocopy && S_ISDIR (st.st_mode)
          && volume_seed (rootfd, m->dest, m->source, err) < 0)
        return sbx_err_prefix (err, "volume `%s`", m->volume);
      dst = sbx_fs_ensure_mountpoint (rootfd, m->dest, S_ISDIR (st.st_mode), err);
      if (dst < 0)
        return sbx_err_prefix (err, "volume `%s`", m->dest);
      if (mount (fd_path (src, &ps), fd_path (dst, &pd), NULL, MS_BIND | MS_REC, NULL) < 0)
        return sbx_err_errno (err, "bind `%s` on `%s`", m->source, m->dest);
      if (m->readonly && readonly_at (rootfd, m->dest, err) < 0)
        return -1;
    }
  return 0;
}

/* --tmpfs PATH[:OPTIONS]: Docker's defaults are nosuid,nodev,noexec and
   mode 1777; OPTIONS (size=, mode=, uid=, gid=, nr_inodes=) go to tmpfs.  */
static int
setup_tmpfs (int rootfd, const struct sbx_run_config *cfg, struct sbx_error **err)
{
  size_t i;

  for (i = 0; cfg->tmpfs && cfg->tmpfs[i]; i++)
    {
      cleanup_free char *path = xstrdup (cfg->tmpfs[i]);
      char *opts = strchr (path, ':');
      cleanup_free char *data = NULL;

      if (opts)
        *opts++ = '\0';
      data = xasprintf ("mode=1777%s%s", opts && *opts ? "," : "", opts ? opts : "");
      if (mount_at (rootfd, path, true, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data,
                    err)
          < 0)
        return sbx_err_prefix (err, "--tmpfs `%s`", cfg->tmpfs[i]);
    }
  return 0;
}

static int
setup_etc_files (int rootfd, const struct setup_ctx *ctx, struct sbx_error **err)
{
  static const char *const files[] = { "hosts", "hostname", "resolv.conf" };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (files); i++)
    {
      cleanup_free char *src = xasprintf ("%s/%s", ctx->state_dir, files[i]);
      cleanup_free char *dst = xasprintf ("/etc/%s", files[i]);
      struct sbx_error *local = NULL;

      if (mount_at (rootfd, dst, false, src, NULL, MS_BIND, NULL, &local) < 0)
        {
          /* A read-only or foreign-owned tree without the file: go on
             without it rather than refuse to run (podman does the same).  */
          if (sbx_error_code (local) == EACCES || sbx_error_code (local) == EROFS
              || sbx_error_code (local) == EPERM)
            {
              sbx_debug ("skip %s: %s", dst, local->msg);
              sbx_error_clear (&local);
              continue;
            }
          *err = local;
          return -1;
        }
    }
  return 0;
}

/* A `volatile` overlay leaves WORK/work/incompat/volatile/dirty behind,
   and the kernel refuses to mount that upper directory again while it is
   there, in case a crash lost what fsync skipped.  sbx ends a volatile
   container's overlay with the page cache intact (even when it is killed),
   so the mark only stops `sbx restart` of a `--rm` container: drop it, as
   podman does.  */
static int
forget_volatile_mark (const char *work, struct sbx_error **err)
{
  static const char *const parts[]
      = { "/work/incompat/volatile/dirty", "/work/incompat/volatile", "/work/incompat" };
  size_t i;

  for (i = 0; i < sizeof parts / sizeof *parts; i++)
    {
      cleanup_free char *p = xasprintf ("%s%s", work, parts[i]);

      if ((i == 0 ? unlink (p) : rmdir (p)) < 0 && errno != ENOENT && errno != ENOTEMPTY)
        return sbx_err_errno (err, "remove `%s`", p);
    }
  return 0;
}

/* The image's layers under a private writable layer: the kernel overlay,
   with its upper and work directories on a tmpfs of this mount namespace,
   so the container's changes vanish with it (kept containers come with the
   root filesystems issue).  Lower directories are named relative to the
   store's layers/ directory to stay far below the mount-data page limit.  */
static int
mount_image_rootfs (const struct setup_ctx *ctx, struct sbx_error **err)
{
  const struct sbx_run_config *cfg = ctx->cfg;
  cleanup_strbuf struct sbx_strbuf opts = SBX_STRBUF_INIT;
  cleanup_free char *scratch = xasprintf ("%s/scratch", ctx->state_dir);
  cleanup_free char *upper = NULL;
  cleanup_free char *work = NULL;
  cleanup_free char *layers = NULL;
  const char *slash;
  size_t i;

  if (cfg->upper)
    {
      upper = xstrdup (cfg->upper);
      work = xstrdup (cfg->work);
      if (forget_volatile_mark (work, err) < 0)
        return -1;
    }
  else
    {
      if (mount ("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        return sbx_err_errno (err, "mount tmpfs on `%s`", scratch);
      if (chdir (scratch) < 0 || mkdir ("upper", 0755) < 0 || mkdir ("work", 0700) < 0)
        return sbx_err_errno (err, "prepare the writable layer");
      upper = xasprintf ("%s/upper", scratch);
      work = xasprintf ("%s/work", scratch);
    }
  /* The bottom layer is always one of the store's.  */
  slash = strrchr (cfg->lowers[cfg->n_lowers - 1], '/');
  layers = xstrndup (cfg->lowers[cfg->n_lowers - 1],
                     (size_t) (slash - cfg->lowers[cfg->n_lowers - 1]));
  sbx_strbuf_addstr (&opts, "lowerdir=");
  for (i = 0; i < cfg->n_lowers; i++)
    {
      /* Relative to LAYERS (short options: more layers fit in a page);
         a lower elsewhere (sbx build's heredoc script) by its full path.  */
      slash = strrchr (cfg->lowers[i], '/');
      if ((size_t) (slash - cfg->lowers[i]) == strlen (layers)
          && strncmp (cfg->lowers[i], layers, strlen (layers)) == 0)
        sbx_strbuf_addf (&opts, "%s%s", i ? ":" : "", slash + 1);
      else
        sbx_strbuf_addf (&opts, "%s%s", i ? ":" : "", cfg->lowers[i]);
    }
  sbx_strbuf_addf (&opts, ",upperdir=%s,workdir=%s,userxattr%s", upper, work,
                   cfg->volatile_upper ? ",volatile" : "");
  if (opts.len >= 4000)
    return sbx_err (err, E2BIG, "image has too many layers (%zu) for one overlay mount",
                    cfg->n_lowers);
  if (chdir (layers) < 0)
    return sbx_err_errno (err, "chdir `%s`", layers);
  if (mount ("overlay", cfg->rootfs, "overlay", 0, opts.buf) < 0)
    {
      sbx_err_errno (err, "mount the image's layers (overlay)");
      return sbx_err_hint (err, SBX_HINT_OVERLAY);
    }
  return 0;
}

int
mounts_setup_rootfs (const struct setup_ctx *ctx, struct sbx_error **err)
{
  const struct sbx_run_config *cfg = ctx->cfg;
  cleanup_close int rootfd = -1;
  size_t i;

  /* Nothing we mount may propagate back to the host.  */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return sbx_err_errno (err, "make mounts private");
  /* The fuse driver's server has mounted the root already (spawn.c).  */
  if (cfg->n_lowers > 0 && cfg->driver == SBX_DRIVER_OVERLAY && mount_image_rootfs (ctx, err) < 0)
    return -1;
  if (mount (cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return sbx_err_errno (err, "bind rootfs `%s`", cfg->rootfs);
  rootfd = open (cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return sbx_err_errno (err, "open rootfs `%s`", cfg->rootfs);

  if (mount_at (rootfd, "/proc", true, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err)
      < 0)
    return sbx_err_hint (err, SBX_HINT_PROC);
  if (setup_dev (rootfd, cfg, err) < 0 || setup_sys (rootfd, cfg, err) < 0
      || setup_etc_files (rootfd, ctx, err) < 0 || setup_volumes (rootfd, cfg, err) < 0
      || setup_tmpfs (rootfd, cfg, err) < 0)
    return -1;
  if (cfg->workdir)
    {
      struct sbx_error *local = NULL;
      cleanup_close int wd = sbx_fs_mkdir_p_in_root (rootfd, cfg->workdir, 0755, &local);

      if (wd < 0) /* chdir() after pivot_root reports it if it matters */
        sbx_error_clear (&local);
    }
  for (i = 0; i < SBX_N_ELEMENTS (masked_paths); i++)
    if (mask_path (rootfd, masked_paths[i], err) < 0)
      return -1;
  for (i = 0; i < SBX_N_ELEMENTS (readonly_paths); i++)
    if (readonly_path (rootfd, readonly_paths[i], err) < 0)
      return -1;

  /* pivot_root(".", ".") stacks the old root on the new one; detaching it
     leaves only the container's tree (crun, runc).  */
  if (fchdir (rootfd) < 0)
    return sbx_err_errno (err, "chdir to rootfs");
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return sbx_err_errno (err, "pivot_root");
  if (umount2 (".", MNT_DETACH) < 0)
    return sbx_err_errno (err, "detach the old root");
  if (chdir ("/") < 0)
    return sbx_err_errno (err, "chdir /");
  /* Only the root itself: /dev/shm, /proc and volumes keep their modes.  */
  if (cfg->read_only && mounts_make_readonly ("/", false, err) < 0)
    return -1;
  return 0;
}

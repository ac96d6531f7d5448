/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sbx_error;

/* Open PATH as seen from the directory ROOTFD treated as "/": absolute
   symlinks and ".." never leave it (openat2 RESOLVE_IN_ROOT |
   RESOLVE_NO_MAGICLINKS).  Where openat2 is missing (ENOSYS, old kernels or
   a seccomp filter) a userspace walk with the same guarantees is used
   instead; it resolves one component at a time with O_NOFOLLOW.
   FLAGS may include O_CREAT (the last component is then created without
   following a symlink there) and O_NOFOLLOW (the last component is not
   followed).  O_CLOEXEC is always added.  */
int sbx_fs_open_in_root (int rootfd, const char *path, int flags, mode_t mode,
                         struct sbx_error **err);

/* Force the userspace walk (for tests of the fallback).  */
int sbx_fs_open_in_root_walk (int rootfd, const char *path, int flags, mode_t mode,
                              struct sbx_error **err);

/* Create PATH and its missing parents below ROOTFD (like mkdir -p, resolved
   in root).  Returns an O_PATH fd of the directory.  */
int sbx_fs_mkdir_p_in_root (int rootfd, const char *path, mode_t mode, struct sbx_error **err);

/* Make sure PATH exists below ROOTFD as a directory (IS_DIR) or a regular
   file, creating it (and parents) if needed, so it can serve as a mount
   point.  Returns an O_PATH fd of it.  */
int sbx_fs_ensure_mountpoint (int rootfd, const char *path, bool is_dir, struct sbx_error **err);

/* Read at most MAX bytes of PATH (relative to DIRFD, or absolute) into a
   NUL-terminated buffer.  */
char *sbx_fs_read_file_at (int dirfd, const char *path, size_t max, size_t *len_out,
                           struct sbx_error **err);

/* Read FD to its end (at most MAX bytes), NUL-terminated.  */
char *sbx_fs_read_fd (int fd, size_t max, size_t *len_out, struct sbx_error **err);

/* Write DATA to PATH (relative to DIRFD), created with MODE, truncated.  */
int sbx_fs_write_file_at (int dirfd, const char *path, const void *data, size_t len, mode_t mode,
                          struct sbx_error **err);

/* Remove PATH (relative to DIRFD) and everything below it, without
   following symlinks or crossing into other mounts.  Missing is success.  */
int sbx_fs_rm_rf_at (int dirfd, const char *path, struct sbx_error **err);

/* mkdir -p of an absolute or relative host path with MODE for new dirs.  */
int sbx_fs_mkdir_p (const char *path, mode_t mode, struct sbx_error **err);

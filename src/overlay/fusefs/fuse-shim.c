/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libfuse3, loaded on first use (util/lazylib.h): the functions fusefs
   calls, each forwarding to the real one, so that sbx does not load
   libfuse3 at every start.  sbx_overlay_fuse_start() calls
   fusefs_load_libfuse() before it forks the server, so a missing library
   is an ordinary error there and the server inherits the loaded one.  */
#include <stdarg.h>
#include <sys/statvfs.h>

#include "overlay/fusefs/fuse-api.h"
#include "overlay/fusefs/fusefs.h"
#include "util/lazylib.h"

#if FUSE_MAJOR_VERSION != 3
#  error "overlay/fusefs/fuse-shim.c loads libfuse3.so.3: update its soname"
#endif

#define FUNCTIONS(X)           \
  X (fuse_add_direntry)        \
  X (fuse_add_direntry_plus)   \
  X (fuse_buf_copy)            \
  X (fuse_buf_size)            \
  X (fuse_opt_free_args)       \
  X (fuse_reply_attr)          \
  X (fuse_reply_buf)           \
  X (fuse_reply_create)        \
  X (fuse_reply_data)          \
  X (fuse_reply_entry)         \
  X (fuse_reply_err)           \
  X (fuse_reply_lseek)         \
  X (fuse_reply_none)          \
  X (fuse_reply_open)          \
  X (fuse_reply_readlink)      \
  X (fuse_reply_statfs)        \
  X (fuse_reply_write)         \
  X (fuse_reply_xattr)         \
  X (fuse_req_ctx)             \
  X (fuse_req_userdata)        \
  X (fuse_session_custom_io)   \
  X (fuse_session_destroy)     \
  X (fuse_session_exited)      \
  X (fuse_session_fd)          \
  X (fuse_session_new)         \
  X (fuse_session_process_buf) \
  X (fuse_session_receive_buf) \
  X (fuse_session_reset)       \
  X (fuse_set_log_func)

SBX_LAZYLIB_DEFINE (libfuse, "libfuse3.so.3", "libfuse3-3", FUNCTIONS)

int
fusefs_load_libfuse (struct sbx_error **err)
{
  return sbx_lazylib_load (&libfuse, err);
}

size_t
fuse_add_direntry (fuse_req_t req, char *buf, size_t bufsize, const char *name,
                   const struct stat *stbuf, off_t off)
{
  return REAL (fuse_add_direntry) (req, buf, bufsize, name, stbuf, off);
}

size_t
fuse_add_direntry_plus (fuse_req_t req, char *buf, size_t bufsize, const char *name,
                        const struct fuse_entry_param *e, off_t off)
{
  return REAL (fuse_add_direntry_plus) (req, buf, bufsize, name, e, off);
}

ssize_t
fuse_buf_copy (struct fuse_bufvec *dst, struct fuse_bufvec *src, enum fuse_buf_copy_flags flags)
{
  return REAL (fuse_buf_copy) (dst, src, flags);
}

size_t
fuse_buf_size (const struct fuse_bufvec *bufv)
{
  return REAL (fuse_buf_size) (bufv);
}

void
fuse_opt_free_args (struct fuse_args *args)
{
  REAL (fuse_opt_free_args) (args);
}

int
fuse_reply_attr (fuse_req_t req, const struct stat *attr, double attr_timeout)
{
  return REAL (fuse_reply_attr) (req, attr, attr_timeout);
}

int
fuse_reply_buf (fuse_req_t req, const char *buf, size_t size)
{
  return REAL (fuse_reply_buf) (req, buf, size);
}

int
fuse_reply_create (fuse_req_t req, const struct fuse_entry_param *e,
                   const struct fuse_file_info *fi)
{
  return REAL (fuse_reply_create) (req, e, fi);
}

int
fuse_reply_data (fuse_req_t req, struct fuse_bufvec *bufv, enum fuse_buf_copy_flags flags)
{
  return REAL (fuse_reply_data) (req, bufv, flags);
}

int
fuse_reply_entry (fuse_req_t req, const struct fuse_entry_param *e)
{
  return REAL (fuse_reply_entry) (req, e);
}

int
fuse_reply_err (fuse_req_t req, int err)
{
  return REAL (fuse_reply_err) (req, err);
}

int
fuse_reply_lseek (fuse_req_t req, off_t off)
{
  return REAL (fuse_reply_lseek) (req, off);
}

void
fuse_reply_none (fuse_req_t req)
{
  REAL (fuse_reply_none) (req);
}

int
fuse_reply_open (fuse_req_t req, const struct fuse_file_info *fi)
{
  return REAL (fuse_reply_open) (req, fi);
}

int
fuse_reply_readlink (fuse_req_t req, const char *link)
{
  return REAL (fuse_reply_readlink) (req, link);
}

int
fuse_reply_statfs (fuse_req_t req, const struct statvfs *stbuf)
{
  return REAL (fuse_reply_statfs) (req, stbuf);
}

int
fuse_reply_write (fuse_req_t req, size_t count)
{
  return REAL (fuse_reply_write) (req, count);
}

int
fuse_reply_xattr (fuse_req_t req, size_t count)
{
  return REAL (fuse_reply_xattr) (req, count);
}

const struct fuse_ctx *
fuse_req_ctx (fuse_req_t req)
{
  return REAL (fuse_req_ctx) (req);
}

void *
fuse_req_userdata (fuse_req_t req)
{
  return REAL (fuse_req_userdata) (req);
}

int
fuse_session_custom_io (struct fuse_session *se, const struct fuse_custom_io *io, int fd)
{
  return REAL (fuse_session_custom_io) (se, io, fd);
}

void
fuse_session_destroy (struct fuse_session *se)
{
  REAL (fuse_session_destroy) (se);
}

int
fuse_session_fd (struct fuse_session *se)
{
  return REAL (fuse_session_fd) (se);
}

int
fuse_session_exited (struct fuse_session *se)
{
  return REAL (fuse_session_exited) (se);
}

void
fuse_session_process_buf (struct fuse_session *se, const struct fuse_buf *buf)
{
  REAL (fuse_session_process_buf) (se, buf);
}

int
fuse_session_receive_buf (struct fuse_session *se, struct fuse_buf *buf)
{
  return REAL (fuse_session_receive_buf) (se, buf);
}

void
fuse_session_reset (struct fuse_session *se)
{
  REAL (fuse_session_reset) (se);
}

struct fuse_session *
fuse_session_new (struct fuse_args *args, const struct fuse_lowlevel_ops *op, size_t op_size,
                  void *userdata)
{
  return REAL (fuse_session_new) (args, op, op_size, userdata);
}

void
fuse_set_log_func (fuse_log_func_t func)
{
  REAL (fuse_set_log_func) (func);
}

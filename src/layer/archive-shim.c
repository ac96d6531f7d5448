/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libarchive, loaded on first use (util/lazylib.h): the functions the layer
   module and its tests call, each forwarding to the real one.  The layer
   functions have no setup step to report a missing libarchive from, so it
   ends sbx with a message and status 125 at the first call (an
   archive_read_new or archive_write_new).  */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/lazylib.h"
#include "util/xalloc.h"

#if ARCHIVE_VERSION_NUMBER < 3000000 || ARCHIVE_VERSION_NUMBER >= 4000000
#  error "layer/archive-shim.c loads libarchive.so.13 (libarchive 3): update its soname"
#endif

#define FUNCTIONS(X)                          \
  X (archive_entry_atime)                     \
  X (archive_entry_atime_is_set)              \
  X (archive_entry_atime_nsec)                \
  X (archive_entry_filetype)                  \
  X (archive_entry_free)                      \
  X (archive_entry_gid)                       \
  X (archive_entry_hardlink)                  \
  X (archive_entry_mode)                      \
  X (archive_entry_mtime)                     \
  X (archive_entry_mtime_is_set)              \
  X (archive_entry_mtime_nsec)                \
  X (archive_entry_new)                       \
  X (archive_entry_pathname)                  \
  X (archive_entry_perm)                      \
  X (archive_entry_set_filetype)              \
  X (archive_entry_set_gid)                   \
  X (archive_entry_set_hardlink)              \
  X (archive_entry_set_mtime)                 \
  X (archive_entry_set_pathname)              \
  X (archive_entry_set_perm)                  \
  X (archive_entry_set_rdev)                  \
  X (archive_entry_set_rdevmajor)             \
  X (archive_entry_set_rdevminor)             \
  X (archive_entry_set_size)                  \
  X (archive_entry_set_symlink)               \
  X (archive_entry_set_uid)                   \
  X (archive_entry_size)                      \
  X (archive_entry_size_is_set)               \
  X (archive_entry_sparse_add_entry)          \
  X (archive_entry_symlink)                   \
  X (archive_entry_uid)                       \
  X (archive_entry_xattr_add_entry)           \
  X (archive_entry_xattr_next)                \
  X (archive_entry_xattr_reset)               \
  X (archive_errno)                           \
  X (archive_error_string)                    \
  X (archive_format)                          \
  X (archive_libzstd_version)                 \
  X (archive_read_data_block)                 \
  X (archive_read_free)                       \
  X (archive_read_new)                        \
  X (archive_read_next_header)                \
  X (archive_read_open)                       \
  X (archive_read_open_fd)                    \
  X (archive_read_support_filter_gzip)        \
  X (archive_read_support_filter_zstd)        \
  X (archive_read_support_format_empty)       \
  X (archive_read_support_format_raw)         \
  X (archive_read_support_format_tar)         \
  X (archive_set_error)                       \
  X (archive_write_add_filter_gzip)           \
  X (archive_write_add_filter_zstd)           \
  X (archive_write_close)                     \
  X (archive_write_data)                      \
  X (archive_write_free)                      \
  X (archive_write_header)                    \
  X (archive_write_new)                       \
  X (archive_write_open)                      \
  X (archive_write_open_fd)                   \
  X (archive_write_set_bytes_in_last_block)   \
  X (archive_write_set_bytes_per_block)       \
  X (archive_write_set_filter_option)         \
  X (archive_write_set_format_gnutar)         \
  X (archive_write_set_format_option)         \
  X (archive_write_set_format_pax_restricted) \
  X (archive_write_set_format_raw)            \
  X (archive_write_set_format_ustar)          \
  X (archive_zlib_version)

SBX_LAZYLIB_DEFINE (libarchive, "libarchive.so.13", "libarchive13", FUNCTIONS)

/* The one variadic function: the message is formatted here and passed on
   as "%s" (a NULL FMT clears the error).  */
void
archive_set_error (struct archive *a, int err, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;
  int n;

  if (fmt == NULL)
    {
      REAL (archive_set_error) (a, err, NULL);
      return;
    }
  va_start (ap, fmt);
  n = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (n < 0)
    xoom ();
  REAL (archive_set_error) (a, err, "%s", msg);
  free (msg);
}

time_t
archive_entry_atime (struct archive_entry *entry)
{
  return REAL (archive_entry_atime) (entry);
}

int
archive_entry_atime_is_set (struct archive_entry *entry)
{
  return REAL (archive_entry_atime_is_set) (entry);
}

long
archive_entry_atime_nsec (struct archive_entry *entry)
{
  return REAL (archive_entry_atime_nsec) (entry);
}

mode_t
archive_entry_filetype (struct archive_entry *entry)
{
  return REAL (archive_entry_filetype) (entry);
}

void
archive_entry_free (struct archive_entry *entry)
{
  REAL (archive_entry_free) (entry);
}

la_int64_t
archive_entry_gid (struct archive_entry *entry)
{
  return REAL (archive_entry_gid) (entry);
}

const char *
archive_entry_hardlink (struct archive_entry *entry)
{
  return REAL (archive_entry_hardlink) (entry);
}

mode_t
archive_entry_mode (struct archive_entry *entry)
{
  return REAL (archive_entry_mode) (entry);
}

time_t
archive_entry_mtime (struct archive_entry *entry)
{
  return REAL (archive_entry_mtime) (entry);
}

int
archive_entry_mtime_is_set (struct archive_entry *entry)
{
  return REAL (archive_entry_mtime_is_set) (entry);
}

long
archive_entry_mtime_nsec (struct archive_entry *entry)
{
  return REAL (archive_entry_mtime_nsec) (entry);
}

struct archive_entry *
archive_entry_new (void)
{
  return REAL (archive_entry_new) ();
}

const char *
archive_entry_pathname (struct archive_entry *entry)
{
  return REAL (archive_entry_pathname) (entry);
}

mode_t
archive_entry_perm (struct archive_entry *entry)
{
  return REAL (archive_entry_perm) (entry);
}

void
archive_entry_set_filetype (struct archive_entry *entry, unsigned int type)
{
  REAL (archive_entry_set_filetype) (entry, type);
}

void
archive_entry_set_gid (struct archive_entry *entry, la_int64_t gid)
{
  REAL (archive_entry_set_gid) (entry, gid);
}

void
archive_entry_set_hardlink (struct archive_entry *entry, const char *target)
{
  REAL (archive_entry_set_hardlink) (entry, target);
}

void
archive_entry_set_mtime (struct archive_entry *entry, time_t sec, long nsec)
{
  REAL (archive_entry_set_mtime) (entry, sec, nsec);
}

void
archive_entry_set_pathname (struct archive_entry *entry, const char *name)
{
  REAL (archive_entry_set_pathname) (entry, name);
}

void
archive_entry_set_perm (struct archive_entry *entry, mode_t perm)
{
  REAL (archive_entry_set_perm) (entry, perm);
}

void
archive_entry_set_rdev (struct archive_entry *entry, dev_t rdev)
{
  REAL (archive_entry_set_rdev) (entry, rdev);
}

void
archive_entry_set_rdevmajor (struct archive_entry *entry, dev_t devmajor)
{
  REAL (archive_entry_set_rdevmajor) (entry, devmajor);
}

void
archive_entry_set_rdevminor (struct archive_entry *entry, dev_t devminor)
{
  REAL (archive_entry_set_rdevminor) (entry, devminor);
}

void
archive_entry_set_size (struct archive_entry *entry, la_int64_t size)
{
  REAL (archive_entry_set_size) (entry, size);
}

void
archive_entry_set_symlink (struct archive_entry *entry, const char *target)
{
  REAL (archive_entry_set_symlink) (entry, target);
}

void
archive_entry_set_uid (struct archive_entry *entry, la_int64_t uid)
{
  REAL (archive_entry_set_uid) (entry, uid);
}

la_int64_t
archive_entry_size (struct archive_entry *entry)
{
  return REAL (archive_entry_size) (entry);
}

int
archive_entry_size_is_set (struct archive_entry *entry)
{
  return REAL (archive_entry_size_is_set) (entry);
}

void
archive_entry_sparse_add_entry (struct archive_entry *entry, la_int64_t offset, la_int64_t length)
{
  REAL (archive_entry_sparse_add_entry) (entry, offset, length);
}

const char *
archive_entry_symlink (struct archive_entry *entry)
{
  return REAL (archive_entry_symlink) (entry);
}

la_int64_t
archive_entry_uid (struct archive_entry *entry)
{
  return REAL (archive_entry_uid) (entry);
}

void
archive_entry_xattr_add_entry (struct archive_entry *entry, const char *name, const void *value,
                               size_t size)
{
  REAL (archive_entry_xattr_add_entry) (entry, name, value, size);
}

int
archive_entry_xattr_next (struct archive_entry *entry, const char **name, const void **value,
                          size_t *size)
{
  return REAL (archive_entry_xattr_next) (entry, name, value, size);
}

int
archive_entry_xattr_reset (struct archive_entry *entry)
{
  return REAL (archive_entry_xattr_reset) (entry);
}

int
archive_errno (struct archive *a)
{
  return REAL (archive_errno) (a);
}

const char *
archive_error_string (struct archive *a)
{
  return REAL (archive_error_string) (a);
}

int
archive_format (struct archive *a)
{
  return REAL (archive_format) (a);
}

const char *
archive_libzstd_version (void)
{
  return REAL (archive_libzstd_version) ();
}

int
archive_read_data_block (struct archive *a, const void **buff, size_t *size, la_int64_t *offset)
{
  return REAL (archive_read_data_block) (a, buff, size, offset);
}

int
archive_read_free (struct archive *a)
{
  return REAL (archive_read_free) (a);
}

struct archive *
archive_read_new (void)
{
  return REAL (archive_read_new) ();
}

int
archive_read_next_header (struct archive *a, struct archive_entry **entry)
{
  return REAL (archive_read_next_header) (a, entry);
}

int
archive_read_open (struct archive *a, void *client_data, archive_open_callback *opener,
                   archive_read_callback *reader, archive_close_callback *closer)
{
  return REAL (archive_read_open) (a, client_data, opener, reader, closer);
}

int
archive_read_open_fd (struct archive *a, int fd, size_t block_size)
{
  return REAL (archive_read_open_fd) (a, fd, block_size);
}

int
archive_read_support_filter_gzip (struct archive *a)
{
  return REAL (archive_read_support_filter_gzip) (a);
}

int
archive_read_support_filter_zstd (struct archive *a)
{
  return REAL (archive_read_support_filter_zstd) (a);
}

int
archive_read_support_format_empty (struct archive *a)
{
  return REAL (archive_read_support_format_empty) (a);
}

int
archive_read_support_format_raw (struct archive *a)
{
  return REAL (archive_read_support_format_raw) (a);
}

int
archive_read_support_format_tar (struct archive *a)
{
  return REAL (archive_read_support_format_tar) (a);
}

int
archive_write_add_filter_gzip (struct archive *a)
{
  return REAL (archive_write_add_filter_gzip) (a);
}

int
archive_write_add_filter_zstd (struct archive *a)
{
  return REAL (archive_write_add_filter_zstd) (a);
}

int
archive_write_close (struct archive *a)
{
  return REAL (archive_write_close) (a);
}

la_ssize_t
archive_write_data (struct archive *a, const void *buff, size_t size)
{
  return REAL (archive_write_data) (a, buff, size);
}

int
archive_write_free (struct archive *a)
{
  return REAL (archive_write_free) (a);
}

int
archive_write_header (struct archive *a, struct archive_entry *entry)
{
  return REAL (archive_write_header) (a, entry);
}

struct archive *
archive_write_new (void)
{
  return REAL (archive_write_new) ();
}

int
archive_write_open (struct archive *a, void *client_data, archive_open_callback *opener,
                    archive_write_callback *writer, archive_close_callback *closer)
{
  return REAL (archive_write_open) (a, client_data, opener, writer, closer);
}

int
archive_write_open_fd (struct archive *a, int fd)
{
  return REAL (archive_write_open_fd) (a, fd);
}

int
archive_write_set_bytes_in_last_block (struct archive *a, int bytes_in_last_block)
{
  return REAL (archive_write_set_bytes_in_last_block) (a, bytes_in_last_block);
}

int
archive_write_set_bytes_per_block (struct archive *a, int bytes_per_block)
{
  return REAL (archive_write_set_bytes_per_block) (a, bytes_per_block);
}

int
archive_write_set_filter_option (struct archive *a, const char *m, const char *o, const char *v)
{
  return REAL (archive_write_set_filter_option) (a, m, o, v);
}

int
archive_write_set_format_gnutar (struct archive *a)
{
  return REAL (archive_write_set_format_gnutar) (a);
}

int
archive_write_set_format_option (struct archive *a, const char *m, const char *o, const char *v)
{
  return REAL (archive_write_set_format_option) (a, m, o, v);
}

int
archive_write_set_format_pax_restricted (struct archive *a)
{
  return REAL (archive_write_set_format_pax_restricted) (a);
}

int
archive_write_set_format_raw (struct archive *a)
{
  return REAL (archive_write_set_format_raw) (a);
}

int
archive_write_set_format_ustar (struct archive *a)
{
  return REAL (archive_write_set_format_ustar) (a);
}

const char *
archive_zlib_version (void)
{
  return REAL (archive_zlib_version) ();
}

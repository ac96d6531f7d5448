/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The one error convention (STYLE.md B2).  A fallible function ends its
   parameter list with `struct sbx_error **err`, returns -1 (or NULL) on
   failure and sets *ERR exactly once, at the failure site.  Public entry
   points of a module may add context with sbx_err_prefix().  */

struct sbx_error
{
  int code;  /* positive errno, or 0 when none applies */
  char *msg; /* "operation `object`: reason", lowercase, no trailing newline */
};

/* Set *ERR (which must be NULL) to CODE and a formatted message; return -1.
   For failures that are not a syscall's (bad input, protocol errors): the
   message says it all and CODE only classifies it.  */
int sbx_err (struct sbx_error **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like sbx_err(), with ": strerror(CODE)" appended (a syscall's errno
   obtained some other way than errno, e.g. from a child).  */
int sbx_err_code (struct sbx_error **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like sbx_err_code() with CODE = errno as it was on entry.  */
int sbx_err_errno (struct sbx_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Prepend "FMT: " to an error that is already set; return -1.  */
int sbx_err_prefix (struct sbx_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Set *ERR from an already formatted message, without appending strerror.  */
int sbx_err_raw (struct sbx_error **err, int code, const char *msg);

int sbx_error_code (const struct sbx_error *e); /* 0 if E is NULL */
void sbx_error_free (struct sbx_error *e);
void sbx_error_clear (struct sbx_error **err); /* free, set *err = NULL */

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"

static int
set_error (struct sbx_error **err, int code, char *msg)
{
  struct sbx_error *e;

  if (err == NULL)
    {
      free (msg);
      return -1;
    }
  if (*err != NULL) /* a bug in the caller; keep the first error */
    {
      free (msg);
      return -1;
    }
  e = xmalloc (sizeof *e);
  e->code = code;
  e->msg = msg;
  *err = e;
  return -1;
}

static int
verr (struct sbx_error **err, int code, bool with_strerror, const char *fmt, va_list ap)
{
  char *base = NULL;
  char *msg = NULL;

  if (vasprintf (&base, fmt, ap) < 0)
    xoom ();
  if (code == 0 || ! with_strerror)
    return set_error (err, code, base);
  if (asprintf (&msg, "%s: %s", base, strerror (code)) < 0)
    xoom ();
  free (base);
  return set_error (err, code, msg);
}

int
sbx_err (struct sbx_error **err, int code, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = verr (err, code, false, fmt, ap);
  va_end (ap);
  return ret;
}

int
sbx_err_errno (struct sbx_error **err, const char *fmt, ...)
{
  int code = errno;
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = verr (err, code, true, fmt, ap);
  va_end (ap);
  return ret;
}

int
sbx_err_code (struct sbx_error **err, int code, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = verr (err, code, true, fmt, ap);
  va_end (ap);
  return ret;
}

int
sbx_err_raw (struct sbx_error **err, int code, const char *msg)
{
  return set_error (err, code, xstrdup (msg));
}

int
sbx_err_prefix (struct sbx_error **err, const char *fmt, ...)
{
  char *prefix = NULL;
  char *msg = NULL;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&prefix, fmt, ap) < 0)
    xoom ();
  va_end (ap);
  if (asprintf (&msg, "%s: %s", prefix, (*err)->msg) < 0)
    xoom ();
  free (prefix);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

int
sbx_error_code (const struct sbx_error *e)
{
  return e ? e->code : 0;
}

void
sbx_error_free (struct sbx_error *e)
{
  if (e == NULL)
    return;
  free (e->msg);
  free (e);
}

void
sbx_error_clear (struct sbx_error **err)
{
  if (err == NULL)
    return;
  sbx_error_free (*err);
  *err = NULL;
}

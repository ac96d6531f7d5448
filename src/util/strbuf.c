/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/xalloc.h"

char sbx_strbuf_slopbuf[1];

void
sbx_strbuf_init (struct sbx_strbuf *sb)
{
  sb->alloc = sb->len = 0;
  sb->buf = sbx_strbuf_slopbuf;
}

void
sbx_strbuf_release (struct sbx_strbuf *sb)
{
  if (sb->alloc)
    free (sb->buf);
  sbx_strbuf_init (sb);
}

void
sbx_strbuf_reset (struct sbx_strbuf *sb)
{
  sb->len = 0;
  if (sb->alloc)
    sb->buf[0] = '\0';
}

void
sbx_strbuf_grow (struct sbx_strbuf *sb, size_t extra)
{
  size_t need = xadd (xadd (sb->len, extra), 1);
  size_t n;

  if (need <= sb->alloc)
    return;
  n = sb->alloc ? sb->alloc : 64;
  while (n < need)
    n = xmul (n, 2);
  if (sb->alloc == 0)
    {
      sb->buf = xmalloc (n);
      sb->buf[0] = '\0';
    }
  else
    sb->buf = xrealloc (sb->buf, n);
  sb->alloc = n;
}

void
sbx_strbuf_add (struct sbx_strbuf *sb, const void *data, size_t len)
{
  sbx_strbuf_grow (sb, len);
  memcpy (sb->buf + sb->len, data, len);
  sb->len += len;
  sb->buf[sb->len] = '\0';
}

void
sbx_strbuf_addstr (struct sbx_strbuf *sb, const char *s)
{
  sbx_strbuf_add (sb, s, strlen (s));
}

void
sbx_strbuf_addch (struct sbx_strbuf *sb, char c)
{
  sbx_strbuf_add (sb, &c, 1);
}

void
sbx_strbuf_vaddf (struct sbx_strbuf *sb, const char *fmt, va_list ap)
{
  va_list cp;
  int n;

  va_copy (cp, ap);
  n = vsnprintf (NULL, 0, fmt, cp);
  va_end (cp);
  if (n < 0)
    return;
  sbx_strbuf_grow (sb, (size_t) n);
  (void) vsnprintf (sb->buf + sb->len, (size_t) n + 1, fmt, ap);
  sb->len += (size_t) n;
}

void
sbx_strbuf_addf (struct sbx_strbuf *sb, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  sbx_strbuf_vaddf (sb, fmt, ap);
  va_end (ap);
}

char *
sbx_strbuf_detach (struct sbx_strbuf *sb)
{
  char *r = sb->alloc ? sb->buf : xstrdup ("");

  sbx_strbuf_init (sb);
  return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdarg.h>
#include <stddef.h>

/* A growable NUL-terminated byte buffer (git's strbuf).
   Invariants: buf is never NULL (points at a static "" until the first
   growth), buf[len] == '\0', len < alloc unless alloc == 0.  */
struct sbx_strbuf
{
  size_t alloc;
  size_t len;
  char *buf;
};

extern char sbx_strbuf_slopbuf[];
/* clang-format off */
#define SBX_STRBUF_INIT { 0, 0, sbx_strbuf_slopbuf }
/* clang-format on */

void sbx_strbuf_init (struct sbx_strbuf *sb);
void sbx_strbuf_release (struct sbx_strbuf *sb);
void sbx_strbuf_reset (struct sbx_strbuf *sb);
void sbx_strbuf_grow (struct sbx_strbuf *sb, size_t extra);
void sbx_strbuf_add (struct sbx_strbuf *sb, const void *data, size_t len);
void sbx_strbuf_addstr (struct sbx_strbuf *sb, const char *s);
void sbx_strbuf_addch (struct sbx_strbuf *sb, char c);
void sbx_strbuf_addf (struct sbx_strbuf *sb, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void sbx_strbuf_vaddf (struct sbx_strbuf *sb, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 2, 0)));
/* Give the buffer to the caller (free() it); SB is reset.  */
char *sbx_strbuf_detach (struct sbx_strbuf *sb);

static inline void
sbx_cleanup_strbuf (struct sbx_strbuf *sb)
{
  sbx_strbuf_release (sb);
}
#define cleanup_strbuf __attribute__ ((cleanup (sbx_cleanup_strbuf)))

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stddef.h>

/* Allocation that cannot fail: on out-of-memory the process aborts with a
   message (crun OOM(), bwrap die_oom()).  The only place besides main()
   allowed to end the process.  */
__attribute__ ((noreturn)) void xoom (void);
void *xmalloc (size_t n);
void *xzalloc (size_t n);
void *xcalloc (size_t nmemb, size_t size); /* overflow-checked */
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Overflow-checked size arithmetic; abort like xoom() on overflow.  */
size_t xadd (size_t a, size_t b);
size_t xmul (size_t a, size_t b);

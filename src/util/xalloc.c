/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xalloc.h"

void
xoom (void)
{
  static const char msg[] = "sbx: out of memory\n";

  (void) ! write (STDERR_FILENO, msg, sizeof msg - 1);
  abort ();
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);

  if (p == NULL)
    xoom ();
  return p;
}

void *
xzalloc (size_t n)
{
  return xcalloc (1, n ? n : 1);
}

void *
xcalloc (size_t nmemb, size_t size)
{
  void *p = calloc (nmemb ? nmemb : 1, size ? size : 1);

  if (p == NULL)
    xoom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  void *q = realloc (p, n ? n : 1);

  if (q == NULL)
    xoom ();
  return q;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);

  if (p == NULL)
    xoom ();
  return p;
}

char *
xstrndup (const char *s, size_t n)
{
  char *p = strndup (s, n);

  if (p == NULL)
    xoom ();
  return p;
}

char *
xasprintf (const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    xoom ();
  va_end (ap);
  return s;
}

size_t
xadd (size_t a, size_t b)
{
  size_t r;

  if (__builtin_add_overflow (a, b, &r))
    xoom ();
  return r;
}

size_t
xmul (size_t a, size_t b)
{
  size_t r;

  if (__builtin_mul_overflow (a, b, &r))
    xoom ();
  return r;
}

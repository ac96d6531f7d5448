/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Transfer progress on stderr (stdout is for command output).  On a TTY
   every blob has one line, redrawn in place (at most ten times a second);
   otherwise a plain line is printed when a blob's state changes.  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/internal.h"
#include "util/xalloc.h"

#define REDRAW_MS 100

struct line
{
  char id[13]; /* the first 12 hex digits */
  int64_t total;
  uint64_t done;
  enum reg_progress_state st;
  bool shown; /* plain mode: its current state was printed */
};

struct reg_progress
{
  bool quiet;
  bool tty;
  struct line *lines;
  size_t n;
  size_t alloc;
  size_t drawn; /* TTY: lines on the screen, ending just above the cursor */
  int64_t last_draw_ms;
};

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
reg_format_size (uint64_t n, char *buf, size_t len)
{
  static const char *const units[] = { "kB", "MB", "GB", "TB", "PB" };
  double v = (double) n;
  size_t u = 0;

  if (n < 1000)
    {
      snprintf (buf, len, "%" PRIu64 " B", n);
      return;
    }
  v /= 1000;
  while (v >= 999.95 && u + 1 < sizeof units / sizeof units[0])
    {
      v /= 1000;
      u++;
    }
  snprintf (buf, len, "%.1f %s", v, units[u]);
}

struct reg_progress *
reg_progress_new (bool quiet, bool tty)
{
  struct reg_progress *p = xzalloc (sizeof *p);

  p->quiet = quiet;
  p->tty = tty;
  return p;
}

void
reg_progress_free (struct reg_progress *p)
{
  if (p == NULL)
    return;
  free (p->lines);
  free (p);
}

static void
render (const struct line *l, bool tty, char *buf, size_t len)
{
  char done[32], total[32];

  reg_format_size (l->done, done, sizeof done);
  if (l->total >= 0)
    reg_format_size ((uint64_t) l->total, total, sizeof total);
  else
    snprintf (total, sizeof total, "?");
  switch (l->st)
    {
    case REG_PROGRESS_QUEUED:
      snprintf (buf, len, "%s: waiting", l->id);
      break;
    case REG_PROGRESS_WAITING:
      snprintf (buf, len, "%s: waiting for another sbx process", l->id);
      break;
    case REG_PROGRESS_EXISTS:
      snprintf (buf, len, "%s: already exists", l->id);
      break;
    case REG_PROGRESS_DOWNLOADING:
    case REG_PROGRESS_UPLOADING:
      if (tty)
        snprintf (buf, len, "%s: %s %s / %s", l->id,
                  l->st == REG_PROGRESS_DOWNLOADING ? "downloading" : "uploading", done, total);
      else
        snprintf (buf, len, "%s: %s (%s)", l->id,
                  l->st == REG_PROGRESS_DOWNLOADING ? "downloading" : "uploading", total);
      break;
    case REG_PROGRESS_DONE:
      snprintf (buf, len, "%s: done (%s)", l->id, l->total >= 0 ? total : done);
      break;
    }
}

/* Redraw every line in place: up to the first, rewrite each.  */
static void
redraw (struct reg_progress *p)
{
  char buf[128];
  size_t i;

  if (p->drawn > 0)
    fprintf (stderr, "\033[%zuA", p->drawn);
  for (i = 0; i < p->n; i++)
    {
      render (&p->lines[i], true, buf, sizeof buf);
      fprintf (stderr, "\r\033[K%s\n", buf);
    }
  p->drawn = p->n;
  p->last_draw_ms = now_ms ();
  fflush (stderr);
}

size_t
reg_progress_add (struct reg_progress *p, const struct sbx_digest *d, int64_t total)
{
  struct line *l;

  if (p->n == p->alloc)
    {
      p->alloc = p->alloc ? p->alloc * 2 : 8;
      p->lines = xrealloc (p->lines, xmul (p->alloc, sizeof *p->lines));
    }
  l = &p->lines[p->n];
  memset (l, 0, sizeof *l);
  snprintf (l->id, sizeof l->id, "%.12s", d->hex);
  l->total = total;
  l->st = REG_PROGRESS_QUEUED;
  return p->n++;
}

void
reg_progress_set (struct reg_progress *p, size_t line, enum reg_progress_state st)
{
  struct line *l = &p->lines[line];
  char buf[128];
  bool changed = l->st != st;

  l->st = st;
  if (st == REG_PROGRESS_DOWNLOADING || st == REG_PROGRESS_UPLOADING)
    l->done = 0;
  if (p->quiet)
    return;
  if (p->tty)
    {
      redraw (p);
      return;
    }
  if (! changed && l->shown)
    return;
  render (l, false, buf, sizeof buf);
  fprintf (stderr, "%s\n", buf);
  l->shown = true;
}

void
reg_progress_bytes (struct reg_progress *p, size_t line, uint64_t done)
{
  p->lines[line].done = done;
  if (p->quiet || ! p->tty)
    return;
  if (now_ms () - p->last_draw_ms >= REDRAW_MS)
    redraw (p);
}

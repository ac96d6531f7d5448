/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A growable pollfd array, rebuilt on every turn of a poll loop: each part
   of the monitor (its own fds, libslirp, the port forwarder) appends what it
   waits for and remembers the indexes it got, then reads their revents
   after poll().  The storage is reused from turn to turn, so a loop that
   calls sbx_pollv_reset() does not allocate once it has grown.  */

#include <poll.h>
#include <stddef.h>

struct sbx_pollv
{
  struct pollfd *fds;
  size_t n;
  size_t cap;
};

#define SBX_POLLV_INIT \
  {                    \
    NULL, 0, 0         \
  }

/* Append FD waiting for EVENTS; returns its index.  */
size_t sbx_pollv_add (struct sbx_pollv *pv, int fd, short events);
/* The revents of index I, or 0 when I is out of range (not added).  */
short sbx_pollv_revents (const struct sbx_pollv *pv, long i);
void sbx_pollv_reset (struct sbx_pollv *pv);
void sbx_pollv_release (struct sbx_pollv *pv);

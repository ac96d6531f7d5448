/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "util/pollv.h"
#include "util/xalloc.h"

size_t
sbx_pollv_add (struct sbx_pollv *pv, int fd, short events)
{
  if (pv->n == pv->cap)
    {
      pv->cap = pv->cap ? 2 * pv->cap : 16;
      pv->fds = xrealloc (pv->fds, pv->cap * sizeof *pv->fds);
    }
  pv->fds[pv->n] = (struct pollfd){ .fd = fd, .events = events };
  return pv->n++;
}

short
sbx_pollv_revents (const struct sbx_pollv *pv, long i)
{
  if (i < 0 || (size_t) i >= pv->n)
    return 0;
  return pv->fds[i].revents;
}

void
sbx_pollv_reset (struct sbx_pollv *pv)
{
  pv->n = 0;
}

void
sbx_pollv_release (struct sbx_pollv *pv)
{
  free (pv->fds);
  *pv = (struct sbx_pollv) SBX_POLLV_INIT;
}

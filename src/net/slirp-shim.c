/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libslirp, loaded on first use (util/lazylib.h): the functions net/slirp.c
   calls, each forwarding to the real one.  libslirp brings glib with it,
   which `--network none|host` runs and the image commands need not load.
   net_slirp_version() loads it first, so a missing library is an ordinary
   error of `sbx run`, before the container exists.  */
#include <libslirp.h>

#include "net/internal.h"
#include "util/lazylib.h"

#if SLIRP_MAJOR_VERSION != 4
#  error "net/slirp-shim.c loads libslirp.so.0 (libslirp 4): check its soname for this version"
#endif

#define FUNCTIONS(X)     \
  X (slirp_cleanup)      \
  X (slirp_handle_timer) \
  X (slirp_input)        \
  X (slirp_new)          \
  X (slirp_pollfds_fill) \
  X (slirp_pollfds_poll) \
  X (slirp_version_string)

SBX_LAZYLIB_DEFINE (libslirp, "libslirp.so.0", "libslirp0", FUNCTIONS)

const char *
net_slirp_version (struct sbx_error **err)
{
  if (sbx_lazylib_load (&libslirp, err) < 0)
    return NULL;
  return slirp_version_string ();
}

void
slirp_cleanup (Slirp *slirp)
{
  REAL (slirp_cleanup) (slirp);
}

void
slirp_handle_timer (Slirp *slirp, SlirpTimerId id, void *cb_opaque)
{
  REAL (slirp_handle_timer) (slirp, id, cb_opaque);
}

void
slirp_input (Slirp *slirp, const uint8_t *pkt, int pkt_len)
{
  REAL (slirp_input) (slirp, pkt, pkt_len);
}

Slirp *
slirp_new (const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
  return REAL (slirp_new) (cfg, callbacks, opaque);
}

void
slirp_pollfds_fill (Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque)
{
  REAL (slirp_pollfds_fill) (slirp, timeout, add_poll, opaque);
}

void
slirp_pollfds_poll (Slirp *slirp, int select_error, SlirpGetREventsCb get_revents, void *opaque)
{
  REAL (slirp_pollfds_poll) (slirp, select_error, get_revents, opaque);
}

const char *
slirp_version_string (void)
{
  return REAL (slirp_version_string) ();
}

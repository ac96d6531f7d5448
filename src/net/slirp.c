/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libslirp in the monitor's poll loop (DESIGN.md §6): the only file that
   drives it (its shim, slirp-shim.c, only forwards calls).  The monitor is
   single-threaded and a Slirp is not thread-safe: every call happens from
   the loop.  Frames from the tap go to slirp_input(); libslirp's frames for
   the guest come back through send_packet.  Timers are a short list checked
   on every turn: libslirp keeps at most a few (IPv6 router advertisements,
   the DNS and DHCP machinery).  */
#define SBX_LOG_MODULE "slirp"
#include <arpa/inet.h>
#include <errno.h>
#include <libslirp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hints.h"
#include "util/lazylib.h"
#include "util/log.h"
#include "util/pollv.h"
#include "util/xalloc.h"

/* Frames read from the tap per turn, at most: enough to keep up at full
   speed, few enough that the published ports and the tty get their turn.  */
#define TAP_BURST 64

struct slirp_timer
{
  SlirpTimerId id;
  void *cb_opaque;
  int64_t expire_ms; /* -1: not armed */
  struct slirp_timer *next;
};

struct net_slirp
{
  Slirp *slirp;
  struct in_addr guest; /* where tap.c put the container: .100 */
  int tapfd;
  long tap_idx;
  struct sbx_pollv *pv; /* the loop's, between fill and dispatch */
  struct slirp_timer *timers;
  uint64_t dropped; /* frames the tap would not take */
  /* One frame: the MTU plus an Ethernet header, rounded up.  Reused for
     every frame: nothing is allocated per packet.  */
  uint8_t frame[65536 + 64];
};

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- callbacks ---- */

static ssize_t
cb_send_packet (const void *buf, size_t len, void *opaque)
{
  struct net_slirp *s = opaque;
  ssize_t n;

  if (s->tapfd < 0)
    return (ssize_t) len;
  do
    n = write (s->tapfd, buf, len);
  while (n < 0 && errno == EINTR);
  /* A full tap queue drops the frame, as a NIC would; TCP resends.  */
  if (n < 0)
    s->dropped++;
  return (ssize_t) len;
}

static void
cb_guest_error (const char *msg, void *opaque)
{
  (void) opaque;
  sbx_debug ("guest error: %s", msg);
}

static int64_t
cb_clock_get_ns (void *opaque)
{
  (void) opaque;
  return now_ns ();
}

static void *
cb_timer_new_opaque (SlirpTimerId id, void *cb_opaque, void *opaque)
{
  struct net_slirp *s = opaque;
  struct slirp_timer *t = xzalloc (sizeof *t);

  t->id = id;
  t->cb_opaque = cb_opaque;
  t->expire_ms = -1;
  t->next = s->timers;
  s->timers = t;
  return t;
}

static void
cb_timer_free (void *timer, void *opaque)
{
  struct net_slirp *s = opaque;

  for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next)
    if (*p == timer)
      {
        *p = (*p)->next;
        free (timer);
        return;
      }
}

static void
cb_timer_mod (void *timer, int64_t expire_ms, void *opaque)
{
  (void) opaque;
  ((struct slirp_timer *) timer)->expire_ms = expire_ms;
}

static void
cb_poll_fd (int fd, void *opaque)
{
  (void) fd;
  (void) opaque;
}

static void
cb_notify (void *opaque)
{
  (void) opaque;
}

static const SlirpCb callbacks = {
  .send_packet = cb_send_packet,
  .guest_error = cb_guest_error,
  .clock_get_ns = cb_clock_get_ns,
  .timer_free = cb_timer_free,
  .timer_mod = cb_timer_mod,
  .register_poll_fd = cb_poll_fd,
  .unregister_poll_fd = cb_poll_fd,
  .notify = cb_notify,
  .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- lifecycle ---- */

int
net_slirp_new (const struct sbx_net_options *o, struct net_slirp **out, struct sbx_error **err)
{
  struct net_slirp *s;
  struct in_addr guest, gateway, dns;
  SlirpConfig cfg;

  if (net_slirp_version (err) == NULL)
    return -1;
  sbx_net_addresses (o, &guest, &gateway, &dns);
  memset (&cfg, 0, sizeof cfg);
  /* 4, not SLIRP_CONFIG_VERSION_MAX: a newer header must not make libslirp
     read fields we never set (vendor-notes/libslirp.md).  */
  cfg.version = 4;
  cfg.in_enabled = true;
  cfg.vnetwork = o->network;
  cfg.vnetmask = o->netmask;
  cfg.vhost = gateway;
  cfg.in6_enabled = o->ipv6 > 0 || (o->ipv6 < 0 && sbx_net_host_has_ipv6 ());
  (void) inet_pton (AF_INET6, "fd00::", &cfg.vprefix_addr6);
  cfg.vprefix_len = 64;
  (void) inet_pton (AF_INET6, "fd00::2", &cfg.vhost6);
  (void) inet_pton (AF_INET6, "fd00::3", &cfg.vnameserver6);
  /* The guest's address is static (tap.c); DHCP stays off, but libslirp
     wants a start address inside the network all the same.  */
  cfg.vdhcp_start.s_addr = htonl (ntohl (o->network.s_addr) + 15);
  cfg.vnameserver = dns;
  cfg.if_mtu = o->mtu;
  cfg.if_mru = o->mtu;
  cfg.disable_host_loopback = ! o->allow_host_loopback;
  cfg.enable_emu = false;
  cfg.disable_dhcp = true;

  s = xzalloc (sizeof *s);
  s->tapfd = -1;
  s->tap_idx = -1;
  s->guest = guest;
  s->slirp = slirp_new (&cfg, &callbacks, s);
  if (s->slirp == NULL)
    {
      free (s);
      return sbx_err (err, EINVAL, "libslirp refused the network configuration");
    }
  sbx_debug ("libslirp %s: ipv6 %s, mtu %u", slirp_version_string (),
             cfg.in6_enabled ? "on" : "off", o->mtu);
  *out = s;
  return 0;
}

void
net_slirp_set_tap (struct net_slirp *s, int tapfd)
{
  s->tapfd = tapfd;
}

void
net_slirp_free (struct net_slirp *s)
{
  if (s == NULL)
    return;
  if (s->slirp)
    slirp_cleanup (s->slirp);
  while (s->timers)
    {
      struct slirp_timer *t = s->timers;

      s->timers = t->next;
      free (t);
    }
  if (s->tapfd >= 0)
    (void) close (s->tapfd);
  if (s->dropped)
    sbx_debug ("%llu frames dropped at the tap", (unsigned long long) s->dropped);
  free (s);
}

/* ---- the loop ---- */

static int
cb_add_poll (int fd, int events, void *opaque)
{
  struct net_slirp *s = opaque;
  short ev = 0;

  if (events & SLIRP_POLL_IN)
    ev |= POLLIN;
  if (events & SLIRP_POLL_OUT)
    ev |= POLLOUT;
  if (events & SLIRP_POLL_PRI)
    ev |= POLLPRI;
  return (int) sbx_pollv_add (s->pv, fd, ev);
}

static int
cb_get_revents (int idx, void *opaque)
{
  struct net_slirp *s = opaque;
  short re = sbx_pollv_revents (s->pv, idx);
  int r = 0;

  if (re & POLLIN)
    r |= SLIRP_POLL_IN;
  if (re & POLLOUT)
    r |= SLIRP_POLL_OUT;
  if (re & POLLPRI)
    r |= SLIRP_POLL_PRI;
  if (re & (POLLERR | POLLNVAL))
    r |= SLIRP_POLL_ERR;
  if (re & POLLHUP)
    r |= SLIRP_POLL_HUP;
  return r;
}

void
net_slirp_fill (struct net_slirp *s, struct sbx_pollv *pv, int *timeout_ms)
{
  uint32_t t = UINT32_MAX;
  int64_t now = now_ns () / 1000000;

  s->pv = pv;
  slirp_pollfds_fill (s->slirp, &t, cb_add_poll, s);
  s->tap_idx = s->tapfd >= 0 ? (long) sbx_pollv_add (pv, s->tapfd, POLLIN) : -1;
  for (struct slirp_timer *tm = s->timers; tm; tm = tm->next)
    if (tm->expire_ms >= 0)
      {
        int64_t d = tm->expire_ms - now;

        if (d < 0)
          d = 0;
        if ((uint64_t) d < t)
          t = (uint32_t) d;
      }
  if (t != UINT32_MAX && (*timeout_ms < 0 || (int64_t) t < *timeout_ms))
    *timeout_ms = t > INT32_MAX ? INT32_MAX : (int) t;
}

static void
run_timers (struct net_slirp *s)
{
  int64_t now = now_ns () / 1000000;
  bool again = true;

  /* A handler may arm, disarm or free timers: rescan after each.  */
  while (again)
    {
      again = false;
      for (struct slirp_timer *t = s->timers; t; t = t->next)
        if (t->expire_ms >= 0 && t->expire_ms <= now)
          {
            t->expire_ms = -1;
            slirp_handle_timer (s->slirp, t->id, t->cb_opaque);
            again = true;
            break;
          }
    }
}

void
net_slirp_dispatch (struct net_slirp *s, const struct sbx_pollv *pv)
{
  s->pv = (struct sbx_pollv *) pv;
  slirp_pollfds_poll (s->slirp, 0, cb_get_revents, s);
  if (sbx_pollv_revents (pv, s->tap_idx) & (POLLIN | POLLERR | POLLHUP))
    for (int i = 0; i < TAP_BURST; i++)
      {
        ssize_t n = read (s->tapfd, s->frame, sizeof s->frame);

        if (n <= 0)
          break;
        slirp_input (s->slirp, s->frame, (int) n);
      }
  run_timers (s);
  s->pv = NULL;
}

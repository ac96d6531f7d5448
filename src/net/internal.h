/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by net/'s files and their unit tests; nobody else.  */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/net.h"

struct sbx_error;
struct sbx_pollv;

/* ---- tap.c: the helper in the container's namespaces ---- */

/* What the monitor asks the helper for: a socket of the container's
   namespace (TCP: connecting, non-blocking; UDP: connected) to
   127.0.0.1:PORT there.  */
struct tap_request
{
  uint32_t id;
  uint16_t port;
  uint16_t proto; /* enum sbx_port_proto */
};

/* The helper's answers.  ID 0 is the first one, carrying the tap fd (or
   the error that prevented it); the others carry the socket for request
   ID, or CODE (errno) without one.  */
struct tap_reply
{
  uint32_t id;
  int32_t code;
  char text[200];
};

/* Fork the helper: it joins the user and network namespaces of TARGET,
   creates and configures tap0 (and lo) per O, and sends the tap back.
   With STAY it then serves tap_requests on *CHAN until the monitor closes
   it or dies; without, it exits and *CHAN is -1.  */
int tap_helper_start (pid_t target, const struct sbx_net_options *o, bool stay, pid_t *pid,
                      int *chan, int *tapfd, struct sbx_error **err);

/* ---- lockdown.c ---- */

/* Drop every capability and set no_new_privs (the helper, after the tap).  */
int net_lockdown (struct sbx_error **err);

/* ---- slirp.c: libslirp in the monitor's loop ---- */

struct net_slirp;

int net_slirp_new (const struct sbx_net_options *o, struct net_slirp **out, struct sbx_error **err);
/* Start carrying frames of TAPFD (taken).  */
void net_slirp_set_tap (struct net_slirp *s, int tapfd);
void net_slirp_fill (struct net_slirp *s, struct sbx_pollv *pv, int *timeout_ms);
void net_slirp_dispatch (struct net_slirp *s, const struct sbx_pollv *pv);
void net_slirp_free (struct net_slirp *s);
const char *net_slirp_version (struct sbx_error **err);

/* ---- portfwd.c: published ports (TCP spliced, UDP relayed) ---- */

struct net_portfwd;

struct net_portfwd *net_portfwd_new (void);
/* Bind (and for TCP listen on) P's host address (a zero port is filled
   in).  */
int net_portfwd_listen (struct net_portfwd *f, struct sbx_port *p, struct sbx_error **err);
size_t net_portfwd_count (const struct net_portfwd *f);
/* The helper's channel (taken): accepted connections wait until then.  */
void net_portfwd_set_chan (struct net_portfwd *f, int chan);
void net_portfwd_fill (struct net_portfwd *f, struct sbx_pollv *pv, int *timeout_ms);
void net_portfwd_dispatch (struct net_portfwd *f, const struct sbx_pollv *pv);
void net_portfwd_free (struct net_portfwd *f);

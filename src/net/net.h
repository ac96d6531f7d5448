/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Container networking (DESIGN.md §6).

   --network slirp: the container gets its own network namespace with a tap
   device; the monitor (the `sbx run` process, in the host's namespace)
   carries its frames to and from libslirp, a user-mode TCP/IP stack whose
   sockets are ordinary host sockets of the user.  Published TCP ports are
   host sockets of the monitor too; each accepted connection is spliced to a
   socket connected inside the container's namespace, made by the helper
   that created the tap (tap.c) and handed over with SCM_RIGHTS.  UDP ports
   are libslirp's host forwards.

   The order, driven by runtime/spawn.c:
     sbx_net_open()     before the container exists: validate, bind every
                        published port (a port in use fails here), create
                        the libslirp instance;
     sbx_net_attach()   once the container's namespaces exist: the helper
                        joins them, makes and configures the tap;
     sbx_net_poll_fill()/sbx_net_poll_dispatch()
                        on every turn of the monitor's poll loop;
     sbx_net_close()    when the container has ended: every host socket is
                        closed and the helper killed.  */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sbx_error;
struct sbx_pollv;

/* ---- options (options.c) ---- */

struct sbx_net_options
{
  uint32_t mtu;             /* of the tap and libslirp's interface */
  struct in_addr network;   /* 10.0.2.0 */
  struct in_addr netmask;   /* 255.255.255.0 */
  bool allow_host_loopback; /* the host's 127.0.0.1 reachable as the gateway */
  int ipv6;                 /* 1 on, 0 off, -1 when the host has a global address */
  char **dns;               /* --dns: name servers for resolv.conf, or NULL */
};

/* The defaults: MTU 65520, 10.0.2.0/24, no host loopback, IPv6 auto.  */
void sbx_net_options_init (struct sbx_net_options *o);
void sbx_net_options_release (struct sbx_net_options *o);
/* Parse the part after "slirp:" of --network: comma-separated KEY=VALUE
   (mtu, cidr, allow_host_loopback, enable_ipv6).  */
int sbx_net_options_parse (const char *text, struct sbx_net_options *o, struct sbx_error **err);
/* The guest's address (.100), the gateway (.2) and the DNS forwarder (.3).  */
void sbx_net_addresses (const struct sbx_net_options *o, struct in_addr *guest,
                        struct in_addr *gateway, struct in_addr *dns);
/* Whether the host has a global IPv6 address (the auto setting).  */
bool sbx_net_host_has_ipv6 (void);

/* ---- published ports (options.c) ---- */

enum sbx_port_proto
{
  SBX_PORT_TCP,
  SBX_PORT_UDP,
};

struct sbx_port
{
  char host_ip[48];   /* numeric, "127.0.0.1" by default; "::" etc. */
  uint16_t host_port; /* 0: the kernel picks one (filled in by sbx_net_open) */
  uint16_t ctr_port;
  enum sbx_port_proto proto;
};

/* The default host address of -p: loopback only, so that other users of a
   shared node cannot reach the container's server.  */
#define SBX_PORT_DEFAULT_IP "127.0.0.1"

/* Parse one -p value ([IP:][HOSTPORT:]CTRPORT[/tcp|/udp], ports or ranges)
   and append the ports it names to *PORTS (*N of them).  */
int sbx_net_parse_publish (const char *spec, struct sbx_port **ports, size_t *n,
                           struct sbx_error **err);
/* The same with DEFAULT_IP for a spec that names no address (the
   "publish_address" setting).  */
int sbx_net_parse_publish_at (const char *spec, const char *default_ip, struct sbx_port **ports,
                              size_t *n, struct sbx_error **err);
/* Parse an image's ExposedPorts key ("8888/tcp") into a port with a
   kernel-chosen host port (-P).  */
int sbx_net_parse_exposed (const char *key, struct sbx_port *out, struct sbx_error **err);
/* "8888/tcp -> 127.0.0.1:8888" (Docker's `port` format); free() it.  */
char *sbx_net_port_format (const struct sbx_port *p);
/* "127.0.0.1:8888" or "[::]:8888"; free() it.  */
char *sbx_net_port_host_address (const struct sbx_port *p);

/* ---- the network of one container (net.c) ---- */

struct sbx_net;

/* Bind PORTS (host ports chosen by the kernel are written back into them)
   and create the libslirp instance.  Fails when a port is in use, naming
   it.  */
int sbx_net_open (const struct sbx_net_options *o, struct sbx_port *ports, size_t n_ports,
                  struct sbx_net **out, struct sbx_error **err);

/* Give the container PID (its user and network namespaces) a configured tap
   device: fork the helper that joins them, creates the tap and hands it
   back.  The helper stays, to connect published ports' sockets inside, only
   when there are TCP ports.  */
int sbx_net_attach (struct sbx_net *net, pid_t pid, struct sbx_error **err);

/* Add what the network waits for to PV and lower *TIMEOUT_MS (-1: none) to
   its next timer; then, after poll(), act on PV's revents.  Neither blocks.
   Errors of single connections are logged and end those connections.  */
void sbx_net_poll_fill (struct sbx_net *net, struct sbx_pollv *pv, int *timeout_ms);
void sbx_net_poll_dispatch (struct sbx_net *net, const struct sbx_pollv *pv);

/* The monitor reaped PID: true (and forgotten) when it was the helper.  */
bool sbx_net_reaped (struct sbx_net *net, pid_t pid);

/* Close every host socket, kill the helper, free NET.  NULL is fine.  */
void sbx_net_close (struct sbx_net *net);

/* ---- probes (loopback.c) ---- */

/* Bring up "lo" in the calling process's network namespace.  */
int sbx_net_loopback_up (struct sbx_error **err);

/* 0 when /dev/net/tun can be opened (needed for --network slirp).  */
int sbx_net_probe_tun (struct sbx_error **err);

/* libslirp's version ("4.7.0"), loading it; NULL with *ERR when it cannot
   be loaded.  */
const char *sbx_net_slirp_version (struct sbx_error **err);

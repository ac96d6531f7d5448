/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One container's network: libslirp (slirp.c), the published TCP ports
   (portfwd.c) and the helper in the container's namespaces (tap.c), put
   together in the order net.h describes.  */
#define SBX_LOG_MODULE "net"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

struct sbx_net
{
  struct sbx_net_options opts; /* without dns: only spawn.c's /etc needs it */
  struct net_slirp *slirp;
  struct net_portfwd *fwd;
  pid_t helper; /* 0 when gone */
};

int
net_bind_host_port (const struct sbx_port *p, int type, struct sbx_error **err)
{
  struct sockaddr_storage ss;
  socklen_t len;
  cleanup_close int fd = -1;
  cleanup_free char *addr = sbx_net_port_host_address (p);
  const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
  int one = 1;

  memset (&ss, 0, sizeof ss);
  if (inet_pton (AF_INET, p->host_ip, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
    {
      ss.ss_family = AF_INET;
      ((struct sockaddr_in *) &ss)->sin_port = htons (p->host_port);
      len = sizeof (struct sockaddr_in);
    }
  else if (inet_pton (AF_INET6, p->host_ip, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
    {
      ss.ss_family = AF_INET6;
      ((struct sockaddr_in6 *) &ss)->sin6_port = htons (p->host_port);
      len = sizeof (struct sockaddr_in6);
    }
  else
    return sbx_err (err, EINVAL, "publish %s/%s: not a numeric address", addr, proto);

  fd = socket (ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sbx_err_errno (err, "publish %s/%s: socket", addr, proto);
  /* Lets a port be published again at once after its last container ended
     (connections in TIME_WAIT); two listeners still conflict.  */
  if (type == SOCK_STREAM)
    (void) setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6)
    (void) setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0)
    {
      int e = errno;

      if (e == EADDRINUSE)
        return sbx_err (err, e,
                        "publish %s/%s: the port is already in use on the host (hint: choose "
                        "another host port, e.g. -p %u:%u, or -p %u to let the kernel pick one)",
                        addr, proto, p->host_port == 65535 ? 1024 : p->host_port + 1, p->ctr_port,
                        p->ctr_port);
      if (e == EACCES)
        return sbx_err (err, e,
                        "publish %s/%s: host ports below the unprivileged limit need root (hint: "
                        "use a higher host port, e.g. -p 8%03u:%u; see sysctl "
                        "net.ipv4.ip_unprivileged_port_start)",
                        addr, proto, p->host_port % 1000, p->ctr_port);
      if (e == EADDRNOTAVAIL)
        return sbx_err (err, e, "publish %s/%s: `%s` is not an address of this host", addr, proto,
                        p->host_ip);
      return sbx_err_code (err, e, "publish %s/%s", addr, proto);
    }
  return steal_fd (&fd);
}

int
sbx_net_open (const struct sbx_net_options *o, struct sbx_port *ports, size_t n_ports,
              struct sbx_net **out, struct sbx_error **err)
{
  struct sbx_net *n = xzalloc (sizeof *n);

  n->opts = *o;
  n->opts.dns = NULL;
  n->fwd = net_portfwd_new ();
  for (size_t i = 0; i < n_ports; i++)
    if (net_portfwd_listen (n->fwd, &ports[i], err) < 0)
      goto fail;
  if (net_slirp_new (o, &n->slirp, err) < 0)
    goto fail;
  *out = n;
  return 0;
fail:
  sbx_net_close (n);
  return -1;
}

/* Each published TCP connection takes five descriptors in the monitor (two
   sockets, two pipes' four ends less one shared): raise the soft limit to
   the hard one.  The container was cloned before and keeps the usual
   limit.  */
static void
raise_nofile (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      (void) setrlimit (RLIMIT_NOFILE, &rl);
    }
}

int
sbx_net_attach (struct sbx_net *n, pid_t pid, struct sbx_error **err)
{
  bool stay = net_portfwd_count (n->fwd) > 0;
  int chan = -1, tapfd = -1;

  if (stay)
    raise_nofile ();
  if (tap_helper_start (pid, &n->opts, stay, &n->helper, &chan, &tapfd, err) < 0)
    return sbx_err_prefix (err, "set up the container's network");
  net_slirp_set_tap (n->slirp, tapfd);
  if (chan >= 0)
    net_portfwd_set_chan (n->fwd, chan);
  return 0;
}

void
sbx_net_poll_fill (struct sbx_net *n, struct sbx_pollv *pv, int *timeout_ms)
{
  net_slirp_fill (n->slirp, pv, timeout_ms);
  net_portfwd_fill (n->fwd, pv, timeout_ms);
}

void
sbx_net_poll_dispatch (struct sbx_net *n, const struct sbx_pollv *pv)
{
  net_slirp_dispatch (n->slirp, pv);
  net_portfwd_dispatch (n->fwd, pv);
}

bool
sbx_net_reaped (struct sbx_net *n, pid_t pid)
{
  if (n == NULL || n->helper == 0 || pid != n->helper)
    return false;
  n->helper = 0;
  sbx_debug ("the network helper exited");
  return true;
}

void
sbx_net_close (struct sbx_net *n)
{
  if (n == NULL)
    return;
  /* Host sockets first: a published port is free the moment the
     container has ended.  */
  net_portfwd_free (n->fwd);
  net_slirp_free (n->slirp);
  if (n->helper > 0)
    {
      (void) kill (n->helper, SIGKILL);
      while (waitpid (n->helper, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  free (n);
}

const char *
sbx_net_slirp_version (struct sbx_error **err)
{
  return net_slirp_version (err);
}

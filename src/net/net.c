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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The net helper (STYLE.md B7): a child of the monitor that joins the
   container's user and network namespaces — where it has CAP_NET_ADMIN —
   creates tap0, configures it and lo, and hands the tap back over
   SCM_RIGHTS (slirp4netns's model).  With published TCP ports it stays, as
   rootlessport's child does, to make sockets inside the namespace for the
   monitor: a socket keeps the namespace it was created in wherever its fd
   goes, so the monitor splices host connections into them.  It holds
   nothing else of the monitor's (every other fd is closed), dies with it
   (PR_SET_PDEATHSIG) and exits when the channel closes.  */
#define SBX_LOG_MODULE "net-helper"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/hints.h"
#include "util/log.h"
#include "util/xalloc.h"

#define TAP_NAME "tap0"
/* How long the monitor waits for the tap: the helper does a fork, two
   setns and a dozen ioctls.  */
#define TAP_TIMEOUT_MS 10000

static int
ifreq_ioctl (int s, unsigned long req, struct ifreq *ifr, const char *what, struct sbx_error **err)
{
  if (ioctl (s, req, ifr) < 0)
    return sbx_err_errno (err, "%s of `%s`", what, ifr->ifr_name);
  return 0;
}

static void
set_addr (struct sockaddr *sa, struct in_addr a)
{
  struct sockaddr_in *sin = (struct sockaddr_in *) sa;

  memset (sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr = a;
}

/* Create and configure tap0 in the current network namespace.  */
static int
make_tap (const struct sbx_net_options *o, int *out, struct sbx_error **err)
{
  cleanup_close int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  cleanup_close int s = -1;
  struct in_addr guest, gateway;
  struct ifreq ifr;
  struct rtentry rt;

  if (fd < 0)
    {
      sbx_err_errno (err, "open /dev/net/tun");
      return sbx_err_hint (err, SBX_HINT_TUN);
    }
  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy (ifr.ifr_name, TAP_NAME, IFNAMSIZ - 1);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    {
      sbx_err_errno (err, "create `%s`", TAP_NAME);
      return sbx_err_hint (err, SBX_HINT_TUN);
    }
  /* Persistent: closing the last fd then does not unregister the device,
     which takes tens of milliseconds (netdev_run_todo waits for RCU and
     references) and would be paid by every `sbx run` at exit.  The device
     still goes away with its network namespace, whose teardown the kernel
     does asynchronously once the container and the monitor are gone.  */
  if (ioctl (fd, TUNSETPERSIST, 1) < 0)
    return sbx_err_errno (err, "make `%s` persistent", TAP_NAME);
  s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return sbx_err_errno (err, "socket");

  sbx_net_addresses (o, &guest, &gateway, NULL);
  ifr.ifr_mtu = (int) o->mtu;
  if (ifreq_ioctl (s, SIOCSIFMTU, &ifr, "set the mtu", err) < 0)
    return -1;
  set_addr (&ifr.ifr_addr, guest);
  if (ifreq_ioctl (s, SIOCSIFADDR, &ifr, "set the address", err) < 0)
    return -1;
  set_addr (&ifr.ifr_netmask, o->netmask);
  if (ifreq_ioctl (s, SIOCSIFNETMASK, &ifr, "set the netmask", err) < 0)
    return -1;
  if (ifreq_ioctl (s, SIOCGIFFLAGS, &ifr, "get the flags", err) < 0)
    return -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ifreq_ioctl (s, SIOCSIFFLAGS, &ifr, "bring up", err) < 0)
    return -1;

  memset (&rt, 0, sizeof rt);
  set_addr (&rt.rt_dst, (struct in_addr){ 0 });
  set_addr (&rt.rt_genmask, (struct in_addr){ 0 });
  set_addr (&rt.rt_gateway, gateway);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  rt.rt_dev = ifr.ifr_name;
  if (ioctl (s, SIOCADDRT, &rt) < 0)
    return sbx_err_errno (err, "add the default route via the gateway");
  if (sbx_net_loopback_up (err) < 0)
    return -1;
  *out = steal_fd (&fd);
  return 0;
}

static void
reply (int chan, uint32_t id, const struct sbx_error *e, int fd)
{
  struct tap_reply r = { .id = id, .code = e ? (e->code ? e->code : EIO) : 0 };
  struct sbx_error *ignored = NULL;

  if (e)
    snprintf (r.text, sizeof r.text, "%s", e->msg);
  if (sbx_send_msg_fd (chan, &r, sizeof r, fd, &ignored) < 0)
    sbx_error_clear (&ignored);
}

/* Serve socket requests until the monitor closes the channel.  */
static void
serve (int chan)
{
  for (;;)
    {
      struct tap_request req;
      struct sbx_error *err = NULL;
      struct sockaddr_in sin = { .sin_family = AF_INET };
      ssize_t n = sbx_recv_msg_fd (chan, &req, sizeof req, 0, NULL, &err);
      cleanup_close int s = -1;

      if (n <= 0)
        {
          sbx_error_clear (&err);
          return;
        }
      if (n != (ssize_t) sizeof req)
        continue;
      /* 127.0.0.1 as rootlessport does: a server inside that listens on
         loopback only (Jupyter's default) is reachable too.  */
      sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      sin.sin_port = htons (req.port);
      s = socket (
          AF_INET,
          (req.proto == SBX_PORT_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s < 0 || (connect (s, (struct sockaddr *) &sin, sizeof sin) < 0 && errno != EINPROGRESS))
        {
          sbx_err_errno (&err, "connect to port %u in the container", req.port);
          reply (chan, req.id, err, -1);
          sbx_error_free (err);
          continue;
        }
      reply (chan, req.id, NULL, s);
    }
}

__attribute__ ((noreturn)) static void
helper_main (pid_t monitor, int userfd, int netfd, int chan, const struct sbx_net_options *o,
             bool stay)
{
  struct sbx_error *err = NULL;
  int keep[3] = { userfd, netfd, chan };
  int tapfd = -1;

  (void) prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != monitor)
    _exit (1);
  sbx_close_fds_except (keep, 3);
  (void) prctl (PR_SET_NAME, "sbx-net");
  if (setns (userfd, CLONE_NEWUSER) < 0)
    sbx_err_errno (&err, "join the container's user namespace");
  else if (setns (netfd, CLONE_NEWNET) < 0)
    sbx_err_errno (&err, "join the container's network namespace");
  else
    (void) make_tap (o, &tapfd, &err);
  (void) close (userfd);
  (void) close (netfd);
  reply (chan, 0, err, tapfd);
  if (err || ! stay)
    _exit (err ? 1 : 0);
  (void) close (tapfd);
  if (net_lockdown (&err) < 0)
    {
      /* Serve nothing rather than serve unlocked.  */
      sbx_error_clear (&err);
      _exit (1);
    }
  serve (chan);
  _exit (0);
}

int
tap_helper_start (pid_t target, const struct sbx_net_options *o, bool stay, pid_t *pid, int *chan,
                  int *tapfd, struct sbx_error **err)
{
  cleanup_free char *upath = xasprintf ("/proc/%d/ns/user", (int) target);
  cleanup_free char *npath = xasprintf ("/proc/%d/ns/net", (int) target);
  cleanup_close int userfd = open (upath, O_RDONLY | O_CLOEXEC);
  cleanup_close int netfd = open (npath, O_RDONLY | O_CLOEXEC);
  cleanup_close int mine = -1;
  cleanup_close int theirs = -1;
  struct tap_reply r;
  pid_t monitor = getpid ();
  pid_t p;
  int socks[2];
  int fd = -1;
  ssize_t n;

  if (userfd < 0 || netfd < 0)
    return sbx_err_errno (err, "open the container's namespaces");
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) < 0)
    return sbx_err_errno (err, "socketpair");
  mine = socks[0];
  theirs = socks[1];
  p = fork ();
  if (p < 0)
    return sbx_err_errno (err, "fork the network helper");
  if (p == 0)
    helper_main (monitor, userfd, netfd, theirs, o, stay);
  *pid = p;
  (void) close (steal_fd (&theirs));

  if (sbx_wait_readable (mine, TAP_TIMEOUT_MS, err) < 0)
    return sbx_err_prefix (err, "wait for the network helper");
  n = sbx_recv_msg_fd (mine, &r, sizeof r, 0, &fd, err);
  if (n < 0)
    return -1;
  if (n != (ssize_t) sizeof r || r.id != 0)
    {
      if (fd >= 0)
        (void) close (fd);
      return sbx_err (err, EPROTO, "the network helper ended before it made the tap device");
    }
  if (r.code != 0 || fd < 0)
    {
      if (fd >= 0)
        (void) close (fd);
      r.text[sizeof r.text - 1] = '\0';
      return sbx_err_raw (err, r.code ? r.code : EIO, r.text);
    }
  *tapfd = fd;
  *chan = stay ? steal_fd (&mine) : -1;
  if (! stay)
    while (waitpid (p, NULL, 0) < 0 && errno == EINTR)
      ;
  if (! stay)
    *pid = 0;
  return 0;
}

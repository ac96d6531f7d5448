/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Published TCP ports: the monitor listens on the host and, for each
   connection it accepts, asks the net helper (tap.c) for a socket connected
   to 127.0.0.1:CTRPORT inside the container's namespace, then copies both
   ways with splice(2) through a pipe per direction — the bytes never enter
   our memory.  This is rootlessport's design; libslirp's own host forwards
   copy every segment through its TCP stack and reach a third of the speed
   (issue 5).  Everything is non-blocking and driven by the monitor's poll
   loop; a connection's state is allocated when it is accepted, never per
   packet.

   UDP is relayed the same way, per client address: a datagram from a new
   client makes a flow whose socket, connected to 127.0.0.1:CTRPORT, comes
   from the helper; the container's replies go back from the published
   socket to that client.  (libslirp's own UDP forwards cannot answer a
   client on the host's loopback while host loopback is closed to the
   container, which is the default.)  */
#define SBX_LOG_MODULE "portfwd"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/pollv.h"
#include "util/xalloc.h"

/* Connections accepted per listener per turn.  */
#define ACCEPT_BURST 32
/* splice() calls per direction per turn, at most, so one busy connection
   cannot starve the others.  */
#define PUMP_ROUNDS 16
/* The pipe size of a bulk transfer (the unprivileged maximum by default,
   /proc/sys/fs/pipe-max-size).  */
#define PIPE_BULK (1 << 20)

struct fwd_listener
{
  int fd;
  struct sbx_port port;
  long idx;
};

/* One UDP client of a published port.  */
struct udp_flow
{
  uint32_t id;
  size_t li; /* its listener */
  struct sockaddr_storage peer;
  socklen_t plen;
  int inside;    /* connected in the container's namespace, or -1 */
  char *pending; /* the first datagram, until INSIDE comes */
  size_t pending_len;
  time_t last;
  long idx;
  struct udp_flow *next;
};

/* UDP clients are forgotten after this long without traffic (conntrack's
   unreplied-UDP timeout is 30 s, its stream timeout 120 s).  */
#define UDP_IDLE_S 120
#define UDP_FLOWS_MAX 512

/* One direction of a connection: SRC → pipe → DST.  */
struct fwd_dir
{
  int pipe[2];
  size_t inpipe; /* bytes in the pipe */
  size_t cap;    /* the pipe's size */
  bool grown;    /* tried to enlarge it */
  bool eof;      /* SRC said end of stream */
  bool done;     /* eof and drained: DST was shut down for writing */
};

enum conn_state
{
  CONN_WAIT_SOCKET, /* asked the helper for the inside socket */
  CONN_CONNECTING,  /* have it, its connect() is in progress */
  CONN_OPEN,
};

struct fwd_conn
{
  uint32_t id;
  enum conn_state state;
  int client;          /* accepted on the host */
  int inside;          /* connected in the container's namespace, or -1 */
  struct fwd_dir up;   /* client → inside */
  struct fwd_dir down; /* inside → client */
  long ci, ii;         /* poll indexes of client and inside, -1: not added */
  struct fwd_conn *next;
};

struct net_portfwd
{
  struct fwd_listener *ls;
  size_t n_ls;
  int chan; /* to the helper; -1 until it is there */
  long chan_idx;
  struct fwd_conn *conns;
  struct udp_flow *flows;
  size_t n_flows;
  uint32_t next_id;
  /* One datagram: reused for every datagram, in both directions.  */
  char dgram[65536];
};

struct net_portfwd *
net_portfwd_new (void)
{
  struct net_portfwd *f = xzalloc (sizeof *f);

  f->chan = -1;
  f->chan_idx = -1;
  f->next_id = 1; /* 0 is the helper's tap reply */
  return f;
}

static uint32_t
new_id (struct net_portfwd *f)
{
  uint32_t id = f->next_id++;

  if (f->next_id == 0)
    f->next_id = 1;
  return id;
}

/* Bind a socket of TYPE to P's host address; EADDRINUSE and friends become
   one line naming the address, with a hint.  Returns the fd.  */
static int
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
net_portfwd_listen (struct net_portfwd *f, struct sbx_port *p, struct sbx_error **err)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  bool udp = p->proto == SBX_PORT_UDP;
  int fd = net_bind_host_port (p, udp ? SOCK_DGRAM : SOCK_STREAM, err);

  if (fd < 0)
    return -1;
  if ((! udp && listen (fd, SOMAXCONN) < 0) || getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    {
      cleanup_free char *addr = sbx_net_port_host_address (p);

      sbx_err_errno (err, "listen on %s", addr);
      (void) close (fd);
      return -1;
    }
  p->host_port = ntohs (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                                 : ((struct sockaddr_in *) &ss)->sin_port);
  f->ls = xrealloc (f->ls, (f->n_ls + 1) * sizeof *f->ls);
  f->ls[f->n_ls++] = (struct fwd_listener){ .fd = fd, .port = *p, .idx = -1 };
  return 0;
}

size_t
net_portfwd_count (const struct net_portfwd *f)
{
  return f->n_ls;
}

void
net_portfwd_set_chan (struct net_portfwd *f, int chan)
{
  /* Never block the loop: a request the helper's queue cannot take now
     resets that one connection.  */
  (void) fcntl (chan, F_SETFL, fcntl (chan, F_GETFL) | O_NONBLOCK);
  f->chan = chan;
}

/* ---- connections ---- */

static void
dir_close (struct fwd_dir *d)
{
  if (d->pipe[0] >= 0)
    (void) close (d->pipe[0]);
  if (d->pipe[1] >= 0)
    (void) close (d->pipe[1]);
  d->pipe[0] = d->pipe[1] = -1;
}

static void
conn_free (struct net_portfwd *f, struct fwd_conn *c, bool reset)
{
  for (struct fwd_conn **p = &f->conns; *p; p = &(*p)->next)
    if (*p == c)
      {
        *p = c->next;
        break;
      }
  if (reset && c->client >= 0)
    {
      /* Tell the client at once (RST), as a refused connection would.  */
      struct linger l = { .l_onoff = 1, .l_linger = 0 };

      (void) setsockopt (c->client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
  if (c->client >= 0)
    (void) close (c->client);
  if (c->inside >= 0)
    (void) close (c->inside);
  dir_close (&c->up);
  dir_close (&c->down);
  free (c);
}

static int
dir_open (struct fwd_dir *d)
{
  int fds[2];
  int sz;

  if (pipe2 (fds, O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  d->pipe[0] = fds[0];
  d->pipe[1] = fds[1];
  sz = fcntl (fds[0], F_GETPIPE_SZ);
  d->cap = sz > 0 ? (size_t) sz : 65536;
  return 0;
}

static void
accept_conns (struct net_portfwd *f, struct fwd_listener *l)
{
  for (int i = 0; i < ACCEPT_BURST; i++)
    {
      int fd = accept4 (l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      struct tap_request req;
      struct fwd_conn *c;
      struct sbx_error *err = NULL;

      if (fd < 0)
        {
          if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            sbx_debug ("accept on port %u: %s", l->port.host_port, strerror (errno));
          return;
        }
      c = xzalloc (sizeof *c);
      c->client = fd;
      c->inside = -1;
      c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
      c->ci = c->ii = -1;
      c->id = new_id (f);
      c->state = CONN_WAIT_SOCKET;
      c->next = f->conns;
      f->conns = c;
      req = (struct tap_request){ .id = c->id, .port = l->port.ctr_port, .proto = SBX_PORT_TCP };
      if (f->chan < 0 || sbx_send_msg_fd (f->chan, &req, sizeof req, -1, &err) < 0)
        {
          sbx_debug ("no inside socket for port %u: %s", l->port.ctr_port,
                     err ? err->msg : "no helper");
          sbx_error_clear (&err);
          conn_free (f, c, true);
        }
    }
}

/* ---- UDP ---- */

static void
flow_free (struct net_portfwd *f, struct udp_flow *fl)
{
  for (struct udp_flow **p = &f->flows; *p; p = &(*p)->next)
    if (*p == fl)
      {
        *p = fl->next;
        break;
      }
  if (fl->inside >= 0)
    (void) close (fl->inside);
  free (fl->pending);
  free (fl);
  f->n_flows--;
}

static struct udp_flow *
find_flow (struct net_portfwd *f, size_t li, const struct sockaddr_storage *peer, socklen_t plen)
{
  for (struct udp_flow *fl = f->flows; fl; fl = fl->next)
    if (fl->li == li && fl->plen == plen && memcmp (&fl->peer, peer, plen) == 0)
      return fl;
  return NULL;
}

/* A new client: remember its first datagram and ask for its socket.  */
static void
flow_new (struct net_portfwd *f, size_t li, const struct sockaddr_storage *peer, socklen_t plen,
          size_t n)
{
  struct tap_request req;
  struct udp_flow *fl;
  struct sbx_error *err = NULL;

  if (f->chan < 0)
    return;
  if (f->n_flows >= UDP_FLOWS_MAX)
    {
      struct udp_flow *oldest = f->flows;

      for (struct udp_flow *x = f->flows; x; x = x->next)
        if (x->last < oldest->last)
          oldest = x;
      flow_free (f, oldest);
    }
  fl = xzalloc (sizeof *fl);
  fl->id = new_id (f);
  fl->li = li;
  memcpy (&fl->peer, peer, plen);
  fl->plen = plen;
  fl->inside = -1;
  fl->idx = -1;
  fl->pending = xmalloc (n ? n : 1);
  memcpy (fl->pending, f->dgram, n);
  fl->pending_len = n;
  fl->last = time (NULL);
  fl->next = f->flows;
  f->flows = fl;
  f->n_flows++;
  req = (struct tap_request){ .id = fl->id,
                              .port = f->ls[li].port.ctr_port,
                              .proto = SBX_PORT_UDP };
  if (sbx_send_msg_fd (f->chan, &req, sizeof req, -1, &err) < 0)
    {
      sbx_debug ("no inside socket for udp port %u: %s", req.port, err->msg);
      sbx_error_clear (&err);
      flow_free (f, fl);
    }
}

/* Datagrams from clients on the host.  */
static void
udp_from_host (struct net_portfwd *f, size_t li)
{
  for (int i = 0; i < ACCEPT_BURST; i++)
    {
      struct sockaddr_storage peer;
      socklen_t plen = sizeof peer;
      ssize_t n = recvfrom (f->ls[li].fd, f->dgram, sizeof f->dgram, MSG_DONTWAIT,
                            (struct sockaddr *) &peer, &plen);
      struct udp_flow *fl;

      if (n < 0)
        return;
      fl = find_flow (f, li, &peer, plen);
      if (fl == NULL)
        flow_new (f, li, &peer, plen, (size_t) n);
      else if (fl->inside >= 0)
        {
          fl->last = time (NULL);
          (void) send (fl->inside, f->dgram, (size_t) n, MSG_DONTWAIT);
        }
      /* else: its socket is on the way; as a full queue would, drop it.  */
    }
}

/* Replies from the container, back to the flow's client.  */
static void
udp_from_inside (struct net_portfwd *f, struct udp_flow *fl)
{
  for (int i = 0; i < ACCEPT_BURST; i++)
    {
      ssize_t n = recv (fl->inside, f->dgram, sizeof f->dgram, MSG_DONTWAIT);

      if (n < 0)
        return;
      fl->last = time (NULL);
      (void) sendto (f->ls[fl->li].fd, f->dgram, (size_t) n, MSG_DONTWAIT,
                     (struct sockaddr *) &fl->peer, fl->plen);
    }
}

/* The helper's answer for a UDP flow: true when ID was one.  */
static bool
udp_got_socket (struct net_portfwd *f, uint32_t id, int code, int fd)
{
  for (struct udp_flow *fl = f->flows; fl; fl = fl->next)
    if (fl->id == id && fl->inside < 0)
      {
        if (code != 0 || fd < 0)
          {
            if (fd >= 0)
              (void) close (fd);
            flow_free (f, fl);
            return true;
          }
        fl->inside = fd;
        (void) send (fd, fl->pending, fl->pending_len, MSG_DONTWAIT);
        free (fl->pending);
        fl->pending = NULL;
        return true;
      }
  return false;
}

static struct fwd_conn *
find_conn (struct net_portfwd *f, uint32_t id)
{
  for (struct fwd_conn *c = f->conns; c; c = c->next)
    if (c->id == id)
      return c;
  return NULL;
}

/* The helper's answers: inside sockets for waiting connections.  */
static void
read_chan (struct net_portfwd *f)
{
  for (;;)
    {
      struct tap_reply r;
      struct sbx_error *err = NULL;
      struct fwd_conn *c, *next;
      int fd = -1;
      ssize_t n = sbx_recv_msg_fd (f->chan, &r, sizeof r, MSG_DONTWAIT, &fd, &err);

      if (n < 0 && sbx_error_code (err) == EAGAIN)
        {
          sbx_error_clear (&err);
          return;
        }
      if (n <= 0)
        {
          /* The helper is gone: no new connection can be made.  */
          sbx_debug ("net helper channel closed%s%s", err ? ": " : "", err ? err->msg : "");
          sbx_error_clear (&err);
          (void) close (f->chan);
          f->chan = -1;
          for (c = f->conns; c; c = next)
            {
              next = c->next;
              if (c->state == CONN_WAIT_SOCKET)
                conn_free (f, c, true);
            }
          while (f->flows)
            flow_free (f, f->flows);
          return;
        }
      if (n == (ssize_t) sizeof r && udp_got_socket (f, r.id, r.code, fd))
        continue;
      c = n == (ssize_t) sizeof r ? find_conn (f, r.id) : NULL;
      if (c == NULL || c->state != CONN_WAIT_SOCKET || r.code != 0 || fd < 0)
        {
          if (fd >= 0)
            (void) close (fd);
          if (c)
            conn_free (f, c, true);
          continue;
        }
      c->inside = fd;
      c->state = CONN_CONNECTING;
    }
}

/* A direction that fills its pipe is a bulk transfer: give it a larger
   pipe, once, so that it needs fewer splice calls per byte (measured: about
   +30% through a published port).  Pipes start at the default size because
   the kernel charges pipe pages per user and, past a soft limit, hands out
   one-page pipes: hundreds of idle connections must not cost that.  */
static void
grow (struct fwd_dir *d)
{
  int sz;

  d->grown = true;
  sz = fcntl (d->pipe[1], F_SETPIPE_SZ, PIPE_BULK);
  if (sz > 0)
    d->cap = (size_t) sz;
}

/* Move what can be moved in direction D; -1 when the connection broke.  */
static int
pump (struct fwd_dir *d, int src, int dst)
{
  for (int i = 0; i < PUMP_ROUNDS; i++)
    {
      bool progress = false;
      ssize_t n;

      if (! d->eof && d->inpipe < d->cap)
        {
          n = splice (src, NULL, d->pipe[1], NULL, d->cap - d->inpipe,
                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n > 0)
            {
              d->inpipe += (size_t) n;
              progress = true;
              if (d->inpipe == d->cap && ! d->grown)
                grow (d);
            }
          else if (n == 0)
            d->eof = true;
          else if (errno != EAGAIN && errno != EINTR)
            return -1;
        }
      if (d->inpipe > 0)
        {
          n = splice (d->pipe[0], NULL, dst, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n > 0)
            {
              d->inpipe -= (size_t) n;
              progress = true;
            }
          else if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        }
      if (! progress)
        break;
    }
  if (d->eof && d->inpipe == 0 && ! d->done)
    {
      d->done = true;
      (void) shutdown (dst, SHUT_WR);
    }
  return 0;
}

/* Advance C; false when it is over (and freed).  */
static bool
conn_step (struct net_portfwd *f, struct fwd_conn *c, short cre, short ire)
{
  if (c->state == CONN_CONNECTING)
    {
      int e = 0;
      socklen_t len = sizeof e;

      if (! (ire & (POLLOUT | POLLERR | POLLHUP)))
        return true;
      if (getsockopt (c->inside, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
      if (e == 0 && (ire & POLLOUT) == 0)
        e = ECONNREFUSED;
      if (e != 0)
        {
          sbx_debug ("connect inside: %s", strerror (e));
          conn_free (f, c, true);
          return false;
        }
      if (dir_open (&c->up) < 0 || dir_open (&c->down) < 0)
        {
          sbx_debug ("pipe: %s", strerror (errno));
          conn_free (f, c, true);
          return false;
        }
      c->state = CONN_OPEN;
    }
  if (c->state != CONN_OPEN)
    return true;
  (void) cre;
  if (pump (&c->up, c->client, c->inside) < 0 || pump (&c->down, c->inside, c->client) < 0)
    {
      conn_free (f, c, true);
      return false;
    }
  if (c->up.done && c->down.done)
    {
      conn_free (f, c, false);
      return false;
    }
  return true;
}

/* ---- the loop ---- */

static short
wants (const struct fwd_dir *d, bool as_src)
{
  if (d->done)
    return 0;
  if (as_src)
    return (! d->eof && d->inpipe < d->cap) ? POLLIN : 0;
  return d->inpipe > 0 ? POLLOUT : 0;
}

void
net_portfwd_fill (struct net_portfwd *f, struct sbx_pollv *pv, int *timeout_ms)
{
  (void) timeout_ms;
  for (size_t i = 0; i < f->n_ls; i++)
    f->ls[i].idx = (long) sbx_pollv_add (pv, f->ls[i].fd, POLLIN);
  f->chan_idx = f->chan >= 0 ? (long) sbx_pollv_add (pv, f->chan, POLLIN) : -1;
  {
    time_t now = time (NULL);
    struct udp_flow *fl, *next;

    for (fl = f->flows; fl; fl = next)
      {
        next = fl->next;
        fl->idx = -1;
        if (now - fl->last > UDP_IDLE_S)
          flow_free (f, fl);
        else if (fl->inside >= 0)
          fl->idx = (long) sbx_pollv_add (pv, fl->inside, POLLIN);
      }
  }
  for (struct fwd_conn *c = f->conns; c; c = c->next)
    {
      short ce = 0, ie = 0;

      c->ci = c->ii = -1;
      if (c->state == CONN_CONNECTING)
        ie = POLLOUT;
      else if (c->state == CONN_OPEN)
        {
          ce = (short) (wants (&c->up, true) | wants (&c->down, false));
          ie = (short) (wants (&c->down, true) | wants (&c->up, false));
        }
      /* A connection waiting for nothing (both pipes full and stuck) still
         watches for errors: poll reports POLLERR/POLLHUP regardless.  */
      if (c->state != CONN_WAIT_SOCKET)
        {
          c->ci = (long) sbx_pollv_add (pv, c->client, ce);
          c->ii = (long) sbx_pollv_add (pv, c->inside, ie);
        }
    }
}

void
net_portfwd_dispatch (struct net_portfwd *f, const struct sbx_pollv *pv)
{
  struct fwd_conn *c, *next;

  /* Connections first: those accepted below have no revents yet.  */
  for (c = f->conns; c; c = next)
    {
      short cre = sbx_pollv_revents (pv, c->ci);
      short ire = sbx_pollv_revents (pv, c->ii);

      next = c->next;
      if (cre | ire)
        (void) conn_step (f, c, cre, ire);
    }
  for (struct udp_flow *fl = f->flows; fl; fl = fl->next)
    if (sbx_pollv_revents (pv, fl->idx) & POLLIN)
      udp_from_inside (f, fl);
  if (f->chan >= 0 && (sbx_pollv_revents (pv, f->chan_idx) & (POLLIN | POLLHUP | POLLERR)))
    read_chan (f);
  for (size_t i = 0; i < f->n_ls; i++)
    if (sbx_pollv_revents (pv, f->ls[i].idx) & POLLIN)
      {
        if (f->ls[i].port.proto == SBX_PORT_UDP)
          udp_from_host (f, i);
        else
          accept_conns (f, &f->ls[i]);
      }
}

void
net_portfwd_free (struct net_portfwd *f)
{
  if (f == NULL)
    return;
  while (f->conns)
    conn_free (f, f->conns, false);
  while (f->flows)
    flow_free (f, f->flows);
  for (size_t i = 0; i < f->n_ls; i++)
    (void) close (f->ls[i].fd);
  free (f->ls);
  if (f->chan >= 0)
    (void) close (f->chan);
  free (f);
}

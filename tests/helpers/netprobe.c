/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netprobe: the network calls the network tests (tests/integration/network.bats)
   need inside a container and busybox cannot make (its nc has no UDP).
   Static, so it runs inside any container root.

   Usage: netprobe COMMAND ARG...
     udp-echo PORT       bind 0.0.0.0:PORT (UDP) and send every datagram back
                         to its sender, until killed; "listening" on stdout
                         once bound, and a line on stderr for each of the
                         first 20 datagrams (size, sender, what sendto said)
     udp-echo6 PORT      the same on [::]:PORT (IPv6 and IPv4-mapped)
     http PORT FILE      a minimal HTTP/1.0 server on 0.0.0.0:PORT (TCP) with
                         a listen backlog of 4096 (busybox httpd's is 9, which
                         a burst of connections overflows): every request gets
                         200 and FILE's content, and the connection is closed;
                         "listening" on stdout once listening

   A failing call prints "netprobe: CALL: MESSAGE" on stderr and exits 1; a
   usage error exits 2.  */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void
usage (void)
{
  fputs ("usage: netprobe udp-echo PORT | udp-echo6 PORT | http PORT FILE\n", stderr);
  exit (EXIT_USAGE);
}

__attribute__ ((noreturn)) static void
die_errno (const char *what)
{
  fprintf (stderr, "netprobe: %s: %s\n", what, strerror (errno));
  exit (1);
}

static int
parse_port (const char *s)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 65535)
    {
      fprintf (stderr, "netprobe: `%s` is not a port number\n", s);
      exit (EXIT_USAGE);
    }
  return (int) v;
}

static int
udp_echo (int port, int v6)
{
  struct sockaddr_storage ss, peer;
  socklen_t len;
  char buf[65536];
  unsigned count = 0;
  int fd;

  memset (&ss, 0, sizeof ss);
  if (v6)
    {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;

      a->sin6_family = AF_INET6;
      a->sin6_port = htons ((unsigned short) port);
      a->sin6_addr = in6addr_any;
      len = sizeof *a;
    }
  else
    {
      struct sockaddr_in *a = (struct sockaddr_in *) &ss;

      a->sin_family = AF_INET;
      a->sin_port = htons ((unsigned short) port);
      a->sin_addr.s_addr = htonl (INADDR_ANY);
      len = sizeof *a;
    }
  fd = socket (v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die_errno ("socket");
  if (bind (fd, (struct sockaddr *) &ss, len) < 0)
    die_errno ("bind");
  printf ("listening\n");
  fflush (stdout);
  for (;;)
    {
      socklen_t plen = sizeof peer;
      ssize_t n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &peer, &plen);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die_errno ("recvfrom");
      if (sendto (fd, buf, (size_t) n, 0, (struct sockaddr *) &peer, plen) < 0 && errno != EINTR)
        die_errno ("sendto");
      if (count++ < 20)
        {
          char addr[INET6_ADDRSTRLEN] = "?";
          const void *a = peer.ss_family == AF_INET6
                              ? (const void *) &((struct sockaddr_in6 *) &peer)->sin6_addr
                              : (const void *) &((struct sockaddr_in *) &peer)->sin_addr;

          (void) inet_ntop (peer.ss_family, a, addr, sizeof addr);
          fprintf (stderr, "netprobe: echoed %zd bytes to %s\n", n, addr);
        }
    }
}

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* Serve one connection: read until the end of the request's headers (or
   EOF), answer, close.  A client that breaks off is just closed.  */
static void
http_answer (int c, const char *body, size_t len)
{
  char req[8192], head[128];
  size_t have = 0;
  int n;

  while (have < sizeof req - 1)
    {
      ssize_t r = read (c, req + have, sizeof req - 1 - have);

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      have += (size_t) r;
      req[have] = '\0';
      if (strstr (req, "\r\n\r\n") != NULL)
        break;
    }
  n = snprintf (head, sizeof head,
                "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n", len);
  if (write_all (c, head, (size_t) n) == 0)
    (void) write_all (c, body, len);
  (void) close (c);
}

static int
http_serve (int port, const char *file)
{
  static char body[1 << 20];
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((unsigned short) port) };
  size_t len = 0;
  int one = 1;
  int fd;

  fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die_errno ("open");
  for (;;)
    {
      ssize_t r = read (fd, body + len, sizeof body - len);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        die_errno ("read");
      if (r == 0)
        break;
      len += (size_t) r;
      if (len == sizeof body)
        {
          fputs ("netprobe: the file is over 1 MiB\n", stderr);
          exit (1);
        }
    }
  (void) close (fd);
  a.sin_addr.s_addr = htonl (INADDR_ANY);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die_errno ("socket");
  (void) setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0)
    die_errno ("bind");
  if (listen (fd, 4096) < 0)
    die_errno ("listen");
  printf ("listening\n");
  fflush (stdout);
  for (;;)
    {
      int c = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);

      if (c < 0 && (errno == EINTR || errno == ECONNABORTED))
        continue;
      if (c < 0)
        die_errno ("accept");
      http_answer (c, body, len);
    }
}

int
main (int argc, char **argv)
{
  if (argc == 4 && strcmp (argv[1], "http") == 0)
    return http_serve (parse_port (argv[2]), argv[3]);
  if (argc != 3)
    usage ();
  if (strcmp (argv[1], "udp-echo") == 0)
    return udp_echo (parse_port (argv[2]), 0);
  if (strcmp (argv[1], "udp-echo6") == 0)
    return udp_echo (parse_port (argv[2]), 1);
  usage ();
  return EXIT_USAGE;
}

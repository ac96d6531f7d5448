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

   A failing call prints "netprobe: CALL: MESSAGE" on stderr and exits 1; a
   usage error exits 2.  */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void
usage (void)
{
  fputs ("usage: netprobe udp-echo PORT | udp-echo6 PORT\n", stderr);
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

int
main (int argc, char **argv)
{
  if (argc != 3)
    usage ();
  if (strcmp (argv[1], "udp-echo") == 0)
    return udp_echo (parse_port (argv[2]), 0);
  if (strcmp (argv[1], "udp-echo6") == 0)
    return udp_echo (parse_port (argv[2]), 1);
  usage ();
  return EXIT_USAGE;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* The address `host-gateway` stands for in --add-host: the host as the
   container reaches it.  */
static void
gateway_address (const struct etc_net *net, char *buf, size_t len)
{
  struct in_addr gw;

  if (net->mode == SBX_NETWORK_SLIRP && net->opts)
    {
      sbx_net_addresses (net->opts, NULL, &gw, NULL);
      (void) inet_ntop (AF_INET, &gw, buf, (socklen_t) len);
    }
  else
    snprintf (buf, len, "127.0.0.1");
}

static void
add_extra_hosts (struct sbx_strbuf *sb, const struct etc_net *net)
{
  char gw[INET_ADDRSTRLEN];

  gateway_address (net, gw, sizeof gw);
  if (net->mode == SBX_NETWORK_SLIRP && net->opts && net->opts->allow_host_loopback)
    sbx_strbuf_addf (sb, "%s\thost.containers.internal host.docker.internal\n", gw);
  for (size_t i = 0; net->add_hosts && net->add_hosts[i]; i++)
    {
      /* NAME:IP (the IP may itself hold colons) or NAME=IP.  */
      const char *h = net->add_hosts[i];
      size_t nlen = strcspn (h, ":=");
      const char *ip = h[nlen] ? h + nlen + 1 : "";

      if (strcmp (ip, "host-gateway") == 0)
        ip = gw;
      sbx_strbuf_addf (sb, "%s\t%.*s\n", ip, (int) nlen, h);
    }
}

char *
etc_hosts_content (const char *hostname, const struct etc_net *net, const char *host_hosts)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  if (net->mode == SBX_NETWORK_HOST && host_hosts)
    {
      /* Host networking: the host's names resolve as on the host.  */
      sbx_strbuf_addstr (&sb, host_hosts);
      if (sb.len && sb.buf[sb.len - 1] != '\n')
        sbx_strbuf_addch (&sb, '\n');
      sbx_strbuf_addf (&sb, "127.0.1.1\t%s\n", hostname);
      add_extra_hosts (&sb, net);
      return sbx_strbuf_detach (&sb);
    }
  sbx_strbuf_addstr (&sb, "127.0.0.1\tlocalhost\n"
                          "::1\tlocalhost ip6-localhost ip6-loopback\n"
                          "fe00::0\tip6-localnet\n"
                          "ff00::0\tip6-mcastprefix\n"
                          "ff02::1\tip6-allnodes\n"
                          "ff02::2\tip6-allrouters\n");
  if (net->mode == SBX_NETWORK_SLIRP && net->opts)
    {
      /* The container's own address, as Docker and podman write it.  */
      struct in_addr guest;
      char ip[INET_ADDRSTRLEN];

      sbx_net_addresses (net->opts, &guest, NULL, NULL);
      (void) inet_ntop (AF_INET, &guest, ip, sizeof ip);
      sbx_strbuf_addf (&sb, "%s\t%s\n", ip, hostname);
    }
  else
    sbx_strbuf_addf (&sb, "127.0.1.1\t%s\n", hostname);
  add_extra_hosts (&sb, net);
  return sbx_strbuf_detach (&sb);
}

static bool
is_loopback_ns (const char *line)
{
  const char *a = line + 10;

  a += strspn (a, " \t");
  return strncmp (a, "127.", 4) == 0 || strcmp (a, "::1") == 0;
}

char *
etc_resolv_content (const struct etc_net *net, const char *host_resolv)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  const char *line = host_resolv ? host_resolv : "";
  char *const *dns = net->opts ? net->opts->dns : NULL;
  bool have_ns = false;

  /* Name servers: --dns; with slirp, its forwarder (which asks the host's
     servers, loopback ones included: it runs in the host's namespace).  */
  if (dns && dns[0])
    {
      for (size_t i = 0; dns[i]; i++)
        sbx_strbuf_addf (&sb, "nameserver %s\n", dns[i]);
      have_ns = true;
    }
  else if (net->mode == SBX_NETWORK_SLIRP && net->opts)
    {
      struct in_addr a;
      char ip[INET_ADDRSTRLEN];

      sbx_net_addresses (net->opts, NULL, NULL, &a);
      (void) inet_ntop (AF_INET, &a, ip, sizeof ip);
      sbx_strbuf_addf (&sb, "nameserver %s\n", ip);
      have_ns = true;
    }

  /* Keep the host's search domains and options.  Its name servers serve
     only without slirp and --dns; loopback ones (systemd-resolved's
     127.0.0.53) only with host networking, where they are reachable.  */
  while (*line)
    {
      const char *end = strchrnul (line, '\n');
      size_t len = (size_t) (end - line);
      cleanup_free char *l = xstrndup (line, len);
      bool ns = strncmp (l, "nameserver", 10) == 0;

      line = *end ? end + 1 : end;
      if (ns && have_ns)
        continue;
      if (ns && net->mode != SBX_NETWORK_HOST && is_loopback_ns (l))
        continue;
      sbx_strbuf_addf (&sb, "%s\n", l);
    }
  if (sb.len == 0 || strstr (sb.buf, "nameserver") == NULL)
    sbx_strbuf_addstr (&sb, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  return sbx_strbuf_detach (&sb);
}

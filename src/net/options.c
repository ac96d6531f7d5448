/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --network slirp:… options and -p specs: pure parsing, no sockets.  */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* libslirp's largest interface MTU (slirp4netns checks the same bound);
   576 is the least IPv4 must carry.  */
#define MTU_MIN 576u
#define MTU_MAX 65521u
#define MTU_DEFAULT 65520u
/* At most this many ports from one -p range: each is a socket.  */
#define RANGE_MAX 1024u

/* Decimal N <= MAX, or -1 (the caller words the error).  */
static int
parse_num (const char *s, uint64_t max, uint64_t *out)
{
  struct sbx_error *ignored = NULL;

  if (sbx_parse_u64 (s, max, out, "number", &ignored) < 0)
    {
      sbx_error_clear (&ignored);
      return -1;
    }
  return 0;
}

void
sbx_net_options_init (struct sbx_net_options *o)
{
  *o = (struct sbx_net_options){ .mtu = MTU_DEFAULT, .ipv6 = -1 };
  o->network.s_addr = htonl (0x0a000200); /* 10.0.2.0 */
  o->netmask.s_addr = htonl (0xffffff00);
}

void
sbx_net_options_release (struct sbx_net_options *o)
{
  sbx_strv_free (o->dns);
  o->dns = NULL;
}

static int
parse_bool_value (const char *key, const char *v, bool *out, struct sbx_error **err)
{
  if (strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return sbx_err (err, EINVAL, "invalid %s `%s`: expected true or false", key, v);
  return 0;
}

static int
parse_cidr (const char *v, struct sbx_net_options *o, struct sbx_error **err)
{
  const char *slash = strchr (v, '/');
  cleanup_free char *addr = slash ? xstrndup (v, (size_t) (slash - v)) : NULL;
  struct in_addr a;
  uint64_t prefix;

  if (addr == NULL || inet_pton (AF_INET, addr, &a) != 1 || parse_num (slash + 1, 32, &prefix) < 0)
    return sbx_err (err, EINVAL, "invalid cidr `%s`: expected an IPv4 network like 10.0.2.0/24", v);
  /* The guest is .100 of the network: the prefix must leave room for it.  */
  if (prefix < 1 || prefix > 25)
    return sbx_err (err, EINVAL, "invalid cidr `%s`: the prefix length must be 1 to 25", v);
  o->netmask.s_addr = htonl ((uint32_t) (0xffffffffu << (32 - prefix)));
  o->network.s_addr = a.s_addr & o->netmask.s_addr;
  return 0;
}

int
sbx_net_options_parse (const char *text, struct sbx_net_options *o, struct sbx_error **err)
{
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;

  for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (kv, '=');
      const char *v;

      if (eq == NULL)
        return sbx_err (err, EINVAL, "invalid network option `%s`: expected KEY=VALUE", kv);
      *eq = '\0';
      v = eq + 1;
      if (strcmp (kv, "mtu") == 0)
        {
          uint64_t mtu;

          if (parse_num (v, MTU_MAX, &mtu) < 0 || mtu < MTU_MIN || mtu > MTU_MAX)
            return sbx_err (err, EINVAL, "invalid mtu `%s`: expected %u to %u", v, MTU_MIN,
                            MTU_MAX);
          o->mtu = (uint32_t) mtu;
        }
      else if (strcmp (kv, "cidr") == 0)
        {
          if (parse_cidr (v, o, err) < 0)
            return -1;
        }
      else if (strcmp (kv, "allow_host_loopback") == 0)
        {
          if (parse_bool_value (kv, v, &o->allow_host_loopback, err) < 0)
            return -1;
        }
      else if (strcmp (kv, "enable_ipv6") == 0)
        {
          bool b;

          if (parse_bool_value (kv, v, &b, err) < 0)
            return -1;
          o->ipv6 = b;
        }
      else
        return sbx_err (err, EINVAL,
                        "unknown network option `%s` (known: mtu, cidr, allow_host_loopback, "
                        "enable_ipv6)",
                        kv);
    }
  return 0;
}

void
sbx_net_addresses (const struct sbx_net_options *o, struct in_addr *guest, struct in_addr *gateway,
                   struct in_addr *dns)
{
  uint32_t net = ntohl (o->network.s_addr);

  if (guest)
    guest->s_addr = htonl (net + 100);
  if (gateway)
    gateway->s_addr = htonl (net + 2);
  if (dns)
    dns->s_addr = htonl (net + 3);
}

bool
sbx_net_host_has_ipv6 (void)
{
  struct sbx_error *ignored = NULL;
  cleanup_free char *text
      = sbx_fs_read_file_at (AT_FDCWD, "/proc/net/if_inet6", 1 << 20, NULL, &ignored);
  const char *line = text;

  sbx_error_clear (&ignored);
  /* "ADDR IFINDEX PREFIXLEN SCOPE FLAGS IFNAME": scope 00 is global.  */
  while (line && *line)
    {
      char addr[40], ifname[32];
      unsigned idx, plen, scope, flags;

      if (sscanf (line, "%39s %x %x %x %x %31s", addr, &idx, &plen, &scope, &flags, ifname) == 6
          && scope == 0 && strcmp (ifname, "lo") != 0)
        return true;
      line = strchr (line, '\n');
      line = line ? line + 1 : NULL;
    }
  return false;
}

/* ---- -p ---- */

/* "N" or "A-B" within 1..65535 (0 allowed for a host port: any).  */
static int
parse_range (const char *s, bool allow_zero, uint32_t *lo, uint32_t *hi)
{
  const char *dash = strchr (s, '-');
  cleanup_free char *a = dash ? xstrndup (s, (size_t) (dash - s)) : xstrdup (s);
  uint64_t x, y;

  if (parse_num (a, 65535, &x) < 0 || x > 65535 || (x == 0 && ! allow_zero))
    return -1;
  y = x;
  if (dash && (parse_num (dash + 1, 65535, &y) < 0 || y > 65535 || y < x || x == 0))
    return -1;
  *lo = (uint32_t) x;
  *hi = (uint32_t) y;
  return 0;
}

int
sbx_net_parse_publish (const char *spec, struct sbx_port **ports, size_t *n, struct sbx_error **err)
{
  return sbx_net_parse_publish_at (spec, SBX_PORT_DEFAULT_IP, ports, n, err);
}

int
sbx_net_parse_publish_at (const char *spec, const char *default_ip, struct sbx_port **ports,
                          size_t *n, struct sbx_error **err)
{
  cleanup_free char *s = xstrdup (spec);
  char *slash = strrchr (s, '/');
  char *colon;
  const char *ctr, *hostport = "";
  char *ip = (char *) default_ip; /* written to only when it points into S */
  enum sbx_port_proto proto = SBX_PORT_TCP;
  uint32_t clo, chi, hlo = 0, hhi = 0;
  struct in6_addr a6;

  if (slash)
    {
      *slash = '\0';
      if (strcmp (slash + 1, "udp") == 0)
        proto = SBX_PORT_UDP;
      else if (strcmp (slash + 1, "tcp") != 0)
        return sbx_err (err, EINVAL, "invalid -p `%s`: protocol `%s` (expected tcp or udp)", spec,
                        slash + 1);
    }
  colon = strrchr (s, ':');
  ctr = colon ? colon + 1 : s;
  if (colon)
    {
      *colon = '\0';
      hostport = s;
      /* What is left is HOSTPORT, IP:HOSTPORT or IP: ([v6] in brackets).  */
      colon = strrchr (s, ':');
      if (colon && (s[0] != '[' || colon > strchr (s, ']')))
        {
          *colon = '\0';
          ip = s;
          hostport = colon + 1;
          if (ip[0] == '[')
            {
              size_t len = strlen (ip);

              if (len < 2 || ip[len - 1] != ']')
                return sbx_err (err, EINVAL, "invalid -p `%s`: unbalanced [ ] around the address",
                                spec);
              ip[len - 1] = '\0';
              ip++;
            }
        }
      else if (s[0] == '[')
        return sbx_err (err, EINVAL, "invalid -p `%s`: expected [IP]:HOSTPORT:CTRPORT", spec);
    }
  if (inet_pton (AF_INET, ip, &a6) != 1 && inet_pton (AF_INET6, ip, &a6) != 1)
    return sbx_err (err, EINVAL, "invalid -p `%s`: `%s` is not a numeric IP address", spec, ip);
  if (strlen (ip) >= sizeof ((struct sbx_port *) 0)->host_ip)
    return sbx_err (err, EINVAL, "invalid -p `%s`: address too long", spec);
  if (parse_range (ctr, false, &clo, &chi) < 0)
    return sbx_err (err, EINVAL,
                    "invalid -p `%s`: container port `%s` (expected 1-65535 or a range)", spec,
                    ctr);
  if (*hostport && parse_range (hostport, true, &hlo, &hhi) < 0)
    return sbx_err (err, EINVAL, "invalid -p `%s`: host port `%s` (expected 1-65535 or a range)",
                    spec, hostport);
  if (*hostport && hlo != 0 && hhi - hlo != chi - clo)
    return sbx_err (err, EINVAL,
                    "invalid -p `%s`: the host range and the container range differ in length",
                    spec);
  if (chi - clo + 1 > RANGE_MAX)
    return sbx_err (err, EINVAL, "invalid -p `%s`: more than %u ports", spec, RANGE_MAX);

  for (uint32_t p = clo; p <= chi; p++)
    {
      struct sbx_port *q;

      for (size_t i = 0; i < *n; i++)
        if ((*ports)[i].ctr_port == p && (*ports)[i].proto == proto && hlo != 0
            && (*ports)[i].host_port == hlo + (p - clo) && strcmp ((*ports)[i].host_ip, ip) == 0)
          return sbx_err (err, EINVAL, "invalid -p `%s`: port %u published twice", spec, p);
      *ports = xrealloc (*ports, (*n + 1) * sizeof **ports);
      q = &(*ports)[(*n)++];
      memset (q, 0, sizeof *q);
      snprintf (q->host_ip, sizeof q->host_ip, "%s", ip);
      q->ctr_port = (uint16_t) p;
      q->host_port = (uint16_t) (hlo ? hlo + (p - clo) : 0);
      q->proto = proto;
    }
  return 0;
}

int
sbx_net_parse_exposed (const char *key, struct sbx_port *out, struct sbx_error **err)
{
  const char *slash = strchr (key, '/');
  cleanup_free char *num = slash ? xstrndup (key, (size_t) (slash - key)) : xstrdup (key);
  uint64_t p;

  memset (out, 0, sizeof *out);
  snprintf (out->host_ip, sizeof out->host_ip, "%s", SBX_PORT_DEFAULT_IP);
  if (parse_num (num, 65535, &p) < 0 || p == 0 || p > 65535)
    return sbx_err (err, EINVAL, "invalid exposed port `%s` in the image", key);
  out->ctr_port = (uint16_t) p;
  if (slash == NULL || strcmp (slash + 1, "tcp") == 0)
    out->proto = SBX_PORT_TCP;
  else if (strcmp (slash + 1, "udp") == 0)
    out->proto = SBX_PORT_UDP;
  else
    return sbx_err (err, EINVAL, "invalid exposed port `%s` in the image: protocol", key);
  return 0;
}

char *
sbx_net_port_host_address (const struct sbx_port *p)
{
  bool v6 = strchr (p->host_ip, ':') != NULL;

  return xasprintf (v6 ? "[%s]:%u" : "%s:%u", p->host_ip, p->host_port);
}

char *
sbx_net_port_format (const struct sbx_port *p)
{
  cleanup_free char *host = sbx_net_port_host_address (p);

  return xasprintf ("%u/%s -> %s", p->ctr_port, p->proto == SBX_PORT_UDP ? "udp" : "tcp", host);
}

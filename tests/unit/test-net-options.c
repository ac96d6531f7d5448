/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/error.h"

static void
free_ports (struct sbx_port **p)
{
  free (*p);
}

#define cleanup_ports __attribute__ ((cleanup (free_ports)))

static char *
addr (struct in_addr a)
{
  static char buf[INET_ADDRSTRLEN];

  return (char *) inet_ntop (AF_INET, &a, buf, sizeof buf);
}

TEST (options_defaults)
{
  struct sbx_net_options o;
  struct in_addr g, gw, dns;

  sbx_net_options_init (&o);
  ASSERT_EQ (o.mtu, 65520u);
  ASSERT_FALSE (o.allow_host_loopback);
  ASSERT_EQ (o.ipv6, -1);
  sbx_net_addresses (&o, &g, &gw, &dns);
  ASSERT_STREQ (addr (g), "10.0.2.100");
  ASSERT_STREQ (addr (gw), "10.0.2.2");
  ASSERT_STREQ (addr (dns), "10.0.2.3");
}

TEST (options_parse_all)
{
  struct sbx_net_options o;
  struct sbx_error *err = NULL;
  struct in_addr g;

  sbx_net_options_init (&o);
  ASSERT_EQ (sbx_net_options_parse ("mtu=1500,cidr=10.9.0.77/16,allow_host_loopback=true,"
                                    "enable_ipv6=false",
                                    &o, &err),
             0);
  ASSERT_EQ (o.mtu, 1500u);
  ASSERT_TRUE (o.allow_host_loopback);
  ASSERT_EQ (o.ipv6, 0);
  ASSERT_STREQ (addr (o.network), "10.9.0.0"); /* host bits dropped */
  ASSERT_STREQ (addr (o.netmask), "255.255.0.0");
  sbx_net_addresses (&o, &g, NULL, NULL);
  ASSERT_STREQ (addr (g), "10.9.0.100");
}

TEST (options_errors_name_the_problem)
{
  static const struct
  {
    const char *text, *needle;
  } bad[] = {
    { "mtu=70000", "invalid mtu `70000`" },
    { "mtu=abc", "invalid mtu" },
    { "cidr=10.0.2.0", "invalid cidr" },
    { "cidr=10.0.2.0/28", "prefix length" },
    { "cidr=300.0.0.0/24", "invalid cidr" },
    { "allow_host_loopback=maybe", "expected true or false" },
    { "port_handler=slirp4netns", "unknown network option `port_handler`" },
    { "mtu", "expected KEY=VALUE" },
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct sbx_net_options o;
      cleanup_error struct sbx_error *err = NULL;

      sbx_net_options_init (&o);
      ASSERT_EQ (sbx_net_options_parse (bad[i].text, &o, &err), -1);
      ASSERT_NOT_NULL (strstr (err->msg, bad[i].needle));
    }
}

TEST (publish_forms)
{
  cleanup_ports struct sbx_port *p = NULL;
  size_t n = 0;
  struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_net_parse_publish ("8888", &p, &n, &err), 0);
  ASSERT_EQ (sbx_net_parse_publish ("18080:80", &p, &n, &err), 0);
  ASSERT_EQ (sbx_net_parse_publish ("0.0.0.0:9000:9000/udp", &p, &n, &err), 0);
  ASSERT_EQ (sbx_net_parse_publish ("127.0.0.1::7000", &p, &n, &err), 0);
  ASSERT_EQ (sbx_net_parse_publish ("[::1]:6000:6000", &p, &n, &err), 0);
  ASSERT_EQ (sbx_net_parse_publish ("8000-8002:9000-9002/tcp", &p, &n, &err), 0);
  ASSERT_EQ (n, 8u);
  ASSERT_STREQ (p[0].host_ip, "127.0.0.1");
  ASSERT_EQ (p[0].host_port, 0);
  ASSERT_EQ (p[0].ctr_port, 8888);
  ASSERT_EQ (p[1].host_port, 18080);
  ASSERT_EQ (p[1].ctr_port, 80);
  ASSERT_STREQ (p[2].host_ip, "0.0.0.0");
  ASSERT_EQ (p[2].proto, SBX_PORT_UDP);
  ASSERT_EQ (p[3].host_port, 0);
  ASSERT_EQ (p[3].ctr_port, 7000);
  ASSERT_STREQ (p[4].host_ip, "::1");
  ASSERT_EQ (p[4].host_port, 6000);
  ASSERT_EQ (p[7].host_port, 8002);
  ASSERT_EQ (p[7].ctr_port, 9002);
}

TEST (publish_errors)
{
  static const struct
  {
    const char *spec, *needle;
  } bad[] = {
    { "", "container port" },
    { "0", "container port `0`" },
    { "70000", "container port" },
    { "80/sctp", "protocol `sctp`" },
    { "host:80:80", "not a numeric IP address" },
    { "8000-8001:80", "differ in length" },
    { "9-2", "container port" },
    { "[::1:80:80", "unbalanced [ ]" },
    { "1-2000", "more than 1024 ports" },
    { "x:80", "host port `x`" },
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      cleanup_ports struct sbx_port *p = NULL;
      size_t n = 0;
      cleanup_error struct sbx_error *err = NULL;

      ASSERT_EQ (sbx_net_parse_publish (bad[i].spec, &p, &n, &err), -1);
      ASSERT_NOT_NULL (strstr (err->msg, bad[i].needle));
      ASSERT_EQ (err->code, EINVAL);
    }
}

TEST (publish_format)
{
  struct sbx_port p = { .host_ip = "127.0.0.1", .host_port = 40123, .ctr_port = 8888 };
  struct sbx_port q = { .host_ip = "::", .host_port = 53, .ctr_port = 53, .proto = SBX_PORT_UDP };
  cleanup_free char *a = sbx_net_port_format (&p);
  cleanup_free char *b = sbx_net_port_format (&q);

  ASSERT_STREQ (a, "8888/tcp -> 127.0.0.1:40123");
  ASSERT_STREQ (b, "53/udp -> [::]:53");
}

TEST (exposed_ports)
{
  struct sbx_port p;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_net_parse_exposed ("8888/tcp", &p, &err), 0);
  ASSERT_EQ (p.ctr_port, 8888);
  ASSERT_EQ (p.host_port, 0);
  ASSERT_STREQ (p.host_ip, SBX_PORT_DEFAULT_IP);
  ASSERT_EQ (sbx_net_parse_exposed ("53/udp", &p, &err), 0);
  ASSERT_EQ (p.proto, SBX_PORT_UDP);
  ASSERT_EQ (sbx_net_parse_exposed ("http/tcp", &p, &err), -1);
}

TEST_MAIN

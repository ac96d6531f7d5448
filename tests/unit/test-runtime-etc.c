/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "harness.h"
#include "runtime/internal.h"
#include "util/cleanup.h"

static const char default_hosts[] = "127.0.0.1\tlocalhost\n"
                                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                    "fe00::0\tip6-localnet\n"
                                    "ff00::0\tip6-mcastprefix\n"
                                    "ff02::1\tip6-allnodes\n"
                                    "ff02::2\tip6-allrouters\n"
                                    "127.0.1.1\tbox\n";

static const struct etc_net none_net = { .mode = SBX_NETWORK_NONE };
static const struct etc_net host_net = { .mode = SBX_NETWORK_HOST };

static const char fallback_ns[] = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

TEST (hosts_private_network)
{
  cleanup_free char *none = etc_hosts_content ("box", &none_net, "10.1.1.1\thost-only\n");

  /* The host's file is not used without host networking.  */
  ASSERT_STREQ (none, default_hosts);
}

TEST (hosts_host_network)
{
  cleanup_free char *h1 = etc_hosts_content ("box", &host_net, "10.1.1.1\tfoo\n");
  cleanup_free char *h2 = etc_hosts_content ("box", &host_net, "10.1.1.1\tfoo");
  cleanup_free char *h3 = etc_hosts_content ("box", &host_net, NULL);
  cleanup_free char *h4 = etc_hosts_content ("box", &host_net, "");

  ASSERT_STREQ (h1, "10.1.1.1\tfoo\n127.0.1.1\tbox\n");
  ASSERT_STREQ (h2, "10.1.1.1\tfoo\n127.0.1.1\tbox\n"); /* a newline is added */
  ASSERT_STREQ (h3, default_hosts);                     /* no host file: the default */
  ASSERT_STREQ (h4, "127.0.1.1\tbox\n");
}

TEST (resolv_drops_loopback_nameservers)
{
  cleanup_free char *r = etc_resolv_content (&none_net, "# generated\n"
                                                        "nameserver 127.0.0.53\n"
                                                        "nameserver\t127.0.0.1\n"
                                                        "nameserver ::1\n"
                                                        "search example.com corp.example\n"
                                                        "options edns0 trust-ad\n");

  ASSERT_STREQ (r, "# generated\n"
                   "search example.com corp.example\n"
                   "options edns0 trust-ad\n"
                   "nameserver 8.8.8.8\n"
                   "nameserver 8.8.4.4\n");
}

TEST (resolv_keeps_real_nameservers)
{
  cleanup_free char *r = etc_resolv_content (&none_net, "nameserver 127.0.0.53\n"
                                                        "nameserver 10.0.0.2\n"
                                                        "search lan\n"
                                                        "nameserver 2001:db8::1");

  ASSERT_STREQ (r, "nameserver 10.0.0.2\nsearch lan\nnameserver 2001:db8::1\n");
  ASSERT_NULL (strstr (r, "8.8.8.8"));
}

TEST (resolv_fallback_when_empty)
{
  cleanup_free char *a = etc_resolv_content (&none_net, NULL);
  cleanup_free char *b = etc_resolv_content (&none_net, "");
  cleanup_free char *c = etc_resolv_content (&none_net, "search only.example\n");

  ASSERT_STREQ (a, fallback_ns);
  ASSERT_STREQ (b, fallback_ns);
  ASSERT_STREQ (c, "search only.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

TEST (resolv_loopback_lookalikes_kept)
{
  cleanup_free char *r
      = etc_resolv_content (&none_net, "nameserver 10.127.0.1\nnameserver 1.2.3.127\n");

  ASSERT_STREQ (r, "nameserver 10.127.0.1\nnameserver 1.2.3.127\n");
}

TEST (slirp_hosts_and_resolv)
{
  struct sbx_net_options o;
  char *add[] = { "db:10.9.8.7", "gw=host-gateway", "v6:fd00::99", NULL };
  struct etc_net net = { .mode = SBX_NETWORK_SLIRP, .opts = &o, .add_hosts = add };
  cleanup_free char *hosts = NULL;
  cleanup_free char *resolv = NULL;

  sbx_net_options_init (&o);
  hosts = etc_hosts_content ("box", &net, "10.1.1.1\thost-only\n");
  ASSERT_TRUE (strstr (hosts, "10.0.2.100\tbox\n") != NULL);
  ASSERT_TRUE (strstr (hosts, "127.0.1.1") == NULL);
  ASSERT_TRUE (strstr (hosts, "10.9.8.7\tdb\n") != NULL);
  ASSERT_TRUE (strstr (hosts, "10.0.2.2\tgw\n") != NULL);
  ASSERT_TRUE (strstr (hosts, "fd00::99\tv6\n") != NULL);
  ASSERT_TRUE (strstr (hosts, "host.containers.internal") == NULL);
  ASSERT_TRUE (strstr (hosts, "host-only") == NULL);

  resolv = etc_resolv_content (&net,
                               "nameserver 10.255.255.53\nsearch corp.example\noptions ndots:2\n");
  ASSERT_STREQ (resolv, "nameserver 10.0.2.3\nsearch corp.example\noptions ndots:2\n");
}

TEST (slirp_allow_host_loopback_names_the_host)
{
  struct sbx_net_options o;
  struct etc_net net = { .mode = SBX_NETWORK_SLIRP, .opts = &o };
  cleanup_free char *hosts = NULL;

  sbx_net_options_init (&o);
  o.allow_host_loopback = true;
  hosts = etc_hosts_content ("box", &net, NULL);
  ASSERT_TRUE (strstr (hosts, "10.0.2.2\thost.containers.internal host.docker.internal\n") != NULL);
}

TEST (dns_flag_replaces_nameservers)
{
  struct sbx_net_options o;
  char *dns[] = { "9.9.9.9", "1.1.1.1", NULL };
  struct etc_net net = { .mode = SBX_NETWORK_SLIRP, .opts = &o };
  struct etc_net host = { .mode = SBX_NETWORK_HOST, .opts = &o };
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;

  sbx_net_options_init (&o);
  o.dns = dns;
  a = etc_resolv_content (&net, "nameserver 10.255.255.53\nsearch x.example\n");
  ASSERT_STREQ (a, "nameserver 9.9.9.9\nnameserver 1.1.1.1\nsearch x.example\n");
  b = etc_resolv_content (&host, "nameserver 10.255.255.53\n");
  ASSERT_STREQ (b, "nameserver 9.9.9.9\nnameserver 1.1.1.1\n");
  o.dns = NULL;
}

TEST (host_network_keeps_loopback_nameservers)
{
  cleanup_free char *r = etc_resolv_content (&host_net, "nameserver 127.0.0.53\nsearch lan\n");

  /* In the host's network namespace systemd-resolved is reachable.  */
  ASSERT_STREQ (r, "nameserver 127.0.0.53\nsearch lan\n");
}

TEST_MAIN

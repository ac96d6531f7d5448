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

static const char fallback_ns[] = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

TEST (hosts_private_network)
{
  cleanup_free char *none = etc_hosts_content ("box", SBX_NETWORK_NONE, "10.1.1.1\thost-only\n");

  /* The host's file is not used without host networking.  */
  ASSERT_STREQ (none, default_hosts);
}

TEST (hosts_host_network)
{
  cleanup_free char *h1 = etc_hosts_content ("box", SBX_NETWORK_HOST, "10.1.1.1\tfoo\n");
  cleanup_free char *h2 = etc_hosts_content ("box", SBX_NETWORK_HOST, "10.1.1.1\tfoo");
  cleanup_free char *h3 = etc_hosts_content ("box", SBX_NETWORK_HOST, NULL);
  cleanup_free char *h4 = etc_hosts_content ("box", SBX_NETWORK_HOST, "");

  ASSERT_STREQ (h1, "10.1.1.1\tfoo\n127.0.1.1\tbox\n");
  ASSERT_STREQ (h2, "10.1.1.1\tfoo\n127.0.1.1\tbox\n"); /* a newline is added */
  ASSERT_STREQ (h3, default_hosts);                     /* no host file: the default */
  ASSERT_STREQ (h4, "127.0.1.1\tbox\n");
}

TEST (resolv_drops_loopback_nameservers)
{
  cleanup_free char *r = etc_resolv_content ("# generated\n"
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
  cleanup_free char *r = etc_resolv_content ("nameserver 127.0.0.53\n"
                                             "nameserver 10.0.0.2\n"
                                             "search lan\n"
                                             "nameserver 2001:db8::1");

  ASSERT_STREQ (r, "nameserver 10.0.0.2\nsearch lan\nnameserver 2001:db8::1\n");
  ASSERT_NULL (strstr (r, "8.8.8.8"));
}

TEST (resolv_fallback_when_empty)
{
  cleanup_free char *a = etc_resolv_content (NULL);
  cleanup_free char *b = etc_resolv_content ("");
  cleanup_free char *c = etc_resolv_content ("search only.example\n");

  ASSERT_STREQ (a, fallback_ns);
  ASSERT_STREQ (b, fallback_ns);
  ASSERT_STREQ (c, "search only.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

TEST (resolv_loopback_lookalikes_kept)
{
  cleanup_free char *r = etc_resolv_content ("nameserver 10.127.0.1\nnameserver 1.2.3.127\n");

  ASSERT_STREQ (r, "nameserver 10.127.0.1\nnameserver 1.2.3.127\n");
}

TEST_MAIN

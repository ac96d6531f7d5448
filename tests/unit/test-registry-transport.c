/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Endpoint selection, Retry-After, domain normalisation and the small
   formatting helpers of the registry transport.  No network.  */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"

#define cleanup_endpoint __attribute__ ((cleanup (reg_endpoint_release)))

static void
endpoint (const char *domain, const struct sbx_registry_opts *opts, struct reg_endpoint *e)
{
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (reg_endpoint_for (domain, opts, e, &err), 0);
}

TEST (endpoint_docker_hub)
{
  struct sbx_registry_opts opts = { .tls_verify = true };
  cleanup_endpoint struct reg_endpoint e = { 0 };

  endpoint ("docker.io", &opts, &e);
  EXPECT_STREQ (e.host, "registry-1.docker.io");
  EXPECT_TRUE (e.https);
  EXPECT_TRUE (e.verify);
  EXPECT_FALSE (e.http_fallback);
  reg_endpoint_release (&e);
  endpoint ("index.docker.io", &opts, &e);
  EXPECT_STREQ (e.host, "registry-1.docker.io");
}

TEST (endpoint_local_is_http_on_any_port)
{
  static const char *const local[]
      = { "localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000", "[::1]", "[::1]:5000" };
  struct sbx_registry_opts opts = { .tls_verify = true };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (local); i++)
    {
      cleanup_endpoint struct reg_endpoint e = { 0 };

      endpoint (local[i], &opts, &e);
      EXPECT_STREQ (e.host, local[i]);
      EXPECT_FALSE (e.https);
      EXPECT_FALSE (e.verify);
      EXPECT_TRUE (reg_domain_is_local (local[i]));
    }
  EXPECT_FALSE (reg_domain_is_local ("localhost.example.com"));
  EXPECT_FALSE (reg_domain_is_local ("127.0.0.10:5000"));
}

TEST (endpoint_remote_is_verified_https)
{
  struct sbx_registry_opts opts = { .tls_verify = true };
  cleanup_endpoint struct reg_endpoint e = { 0 };

  endpoint ("quay.io", &opts, &e);
  EXPECT_STREQ (e.host, "quay.io");
  EXPECT_TRUE (e.https);
  EXPECT_TRUE (e.verify);
  EXPECT_FALSE (e.http_fallback);
}

TEST (endpoint_insecure_list)
{
  char *insecure[] = { "reg.lan:5000", "other.lan", NULL };
  struct sbx_registry_opts opts = { .tls_verify = true, .insecure = insecure };
  cleanup_endpoint struct reg_endpoint a = { 0 };
  cleanup_endpoint struct reg_endpoint b = { 0 };
  cleanup_endpoint struct reg_endpoint c = { 0 };
  cleanup_endpoint struct reg_endpoint d = { 0 };

  endpoint ("reg.lan:5000", &opts, &a);
  EXPECT_FALSE (a.https);
  endpoint ("reg.lan:5001", &opts, &b); /* the entry names a port: only that one */
  EXPECT_TRUE (b.https);
  endpoint ("other.lan:443", &opts, &c); /* no port in the entry: any port */
  EXPECT_FALSE (c.https);
  endpoint ("other.lan.example", &opts, &d);
  EXPECT_TRUE (d.https);
}

TEST (endpoint_tls_verify_false_falls_back)
{
  struct sbx_registry_opts opts = { .tls_verify = false };
  cleanup_endpoint struct reg_endpoint e = { 0 };
  cleanup_endpoint struct reg_endpoint hub = { 0 };

  endpoint ("reg.example", &opts, &e);
  EXPECT_TRUE (e.https);
  EXPECT_FALSE (e.verify);
  EXPECT_TRUE (e.http_fallback);
  endpoint ("docker.io", &opts, &hub);
  EXPECT_FALSE (hub.verify);
  EXPECT_FALSE (hub.http_fallback);
}

TEST (endpoint_rejects_bad_domains)
{
  struct sbx_registry_opts opts = { .tls_verify = true };
  static const char *const bad[] = { "", "a/b", "a b", "user@host", "host?x" };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (bad); i++)
    {
      cleanup_endpoint struct reg_endpoint e = { 0 };
      cleanup_error struct sbx_error *err = NULL;

      EXPECT_EQ (reg_endpoint_for (bad[i], &opts, &e, &err), -1);
      EXPECT_NOT_NULL (err);
    }
}

TEST (normalize_domain)
{
  static const char *const in[] = {
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "https://index.docker.io/v1/",
    "http://reg.lan:5000/",
    "reg.lan:5000",
    "https://quay.io",
  };
  static const char *const out[] = {
    "docker.io", "docker.io", "docker.io", "docker.io", "reg.lan:5000", "reg.lan:5000", "quay.io",
  };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (in); i++)
    {
      cleanup_free char *n = reg_normalize_domain (in[i]);

      EXPECT_STREQ (n, out[i]);
    }
}

TEST (retry_after_seconds)
{
  long s = -1;

  ASSERT_EQ (reg_parse_retry_after ("120", 0, &s), 0);
  EXPECT_EQ (s, 120);
  ASSERT_EQ (reg_parse_retry_after (" 0 ", 0, &s), 0);
  EXPECT_EQ (s, 0);
  ASSERT_EQ (reg_parse_retry_after ("99999999999999999999999", 0, &s), 0);
  EXPECT_EQ (s, 86400L * 365);
}

TEST (retry_after_http_date)
{
  /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
  long s = -1;

  ASSERT_EQ (reg_parse_retry_after ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30, &s), 0);
  EXPECT_EQ (s, 30);
  ASSERT_EQ (reg_parse_retry_after ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30, &s), 0);
  EXPECT_EQ (s, 0); /* in the past: no wait */
}

TEST (retry_after_rejects_garbage)
{
  long s = 7;

  EXPECT_EQ (reg_parse_retry_after ("", 0, &s), -1);
  EXPECT_EQ (reg_parse_retry_after ("-5", 0, &s), -1);
  EXPECT_EQ (reg_parse_retry_after ("12abc", 0, &s), -1);
  EXPECT_EQ (reg_parse_retry_after ("soon", 0, &s), -1);
  EXPECT_EQ (s, 7);
}

TEST (url_escape_and_display)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;
  cleanup_free char *shown = reg_url_for_display ("https://s3/x?X-Amz-Signature=secret");

  reg_url_escape (&sb, "repository:a/b:pull,push");
  EXPECT_STREQ (sb.buf, "repository%3Aa%2Fb%3Apull%2Cpush");
  sbx_strbuf_release (&sb);
  EXPECT_STREQ (shown, "https://s3/x");
}

TEST (format_size)
{
  char buf[32];

  reg_format_size (0, buf, sizeof buf);
  EXPECT_STREQ (buf, "0 B");
  reg_format_size (999, buf, sizeof buf);
  EXPECT_STREQ (buf, "999 B");
  reg_format_size (12300000, buf, sizeof buf);
  EXPECT_STREQ (buf, "12.3 MB");
  reg_format_size (40000000, buf, sizeof buf);
  EXPECT_STREQ (buf, "40.0 MB");
  reg_format_size (999999999, buf, sizeof buf);
  EXPECT_STREQ (buf, "1.0 GB");
}

TEST (sanitize_server_text)
{
  cleanup_free char *s = reg_sanitize ("bad\033[2Jthing\r\n");

  EXPECT_STREQ (s, "bad [2Jthing  ");
}

TEST_MAIN

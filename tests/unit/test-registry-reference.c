/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define DIGEST "sha256:" HEX

struct good
{
  const char *in;
  const char *domain;
  const char *path;
  const char *tag;    /* NULL: none */
  const char *digest; /* NULL: none */
  const char *familiar;
};

static const struct good goods[] = {
  { "busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest" },
  { "busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "busybox:1.36" },
  { "library/busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest" },
  { "docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest" },
  { "docker.io/library/busybox:musl", "docker.io", "library/busybox", "musl", NULL,
    "busybox:musl" },
  { "index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL,
    "busybox:latest" },
  { "index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest" },
  { "jupyter/base-notebook", "docker.io", "jupyter/base-notebook", "latest", NULL,
    "jupyter/base-notebook:latest" },
  { "docker.io/jupyter/base-notebook:2023-10-20", "docker.io", "jupyter/base-notebook",
    "2023-10-20", NULL, "jupyter/base-notebook:2023-10-20" },
  { "library/a/b", "docker.io", "library/a/b", "latest", NULL, "library/a/b:latest" },
  { "localhost/x", "localhost", "x", "latest", NULL, "localhost/x:latest" },
  { "localhost:5000/ns/name:tag", "localhost:5000", "ns/name", "tag", NULL,
    "localhost:5000/ns/name:tag" },
  { "127.0.0.1:5000/a/b/c:v1.2-rc_3", "127.0.0.1:5000", "a/b/c", "v1.2-rc_3", NULL,
    "127.0.0.1:5000/a/b/c:v1.2-rc_3" },
  { "[::1]:5000/x", "[::1]:5000", "x", "latest", NULL, "[::1]:5000/x:latest" },
  { "[::1]/x:t", "[::1]", "x", "t", NULL, "[::1]/x:t" },
  { "[2001:db8::ABCD]:443/x/y", "[2001:db8::ABCD]:443", "x/y", "latest", NULL,
    "[2001:db8::ABCD]:443/x/y:latest" },
  { "quay.io/podman/hello", "quay.io", "podman/hello", "latest", NULL,
    "quay.io/podman/hello:latest" },
  { "Registry.Example.COM/a", "Registry.Example.COM", "a", "latest", NULL,
    "Registry.Example.COM/a:latest" },
  { "my-registry.local:8080/team/app:1.0.0", "my-registry.local:8080", "team/app", "1.0.0", NULL,
    "my-registry.local:8080/team/app:1.0.0" },
  { "busybox@" DIGEST, "docker.io", "library/busybox", NULL, DIGEST, "busybox@" DIGEST },
  { "busybox:1.36@" DIGEST, "docker.io", "library/busybox", "1.36", DIGEST,
    "busybox:1.36@" DIGEST },
  { "localhost:5000/x@" DIGEST, "localhost:5000", "x", NULL, DIGEST, "localhost:5000/x@" DIGEST },
  /* separators */
  { "a.b_c__d-e--f", "docker.io", "library/a.b_c__d-e--f", "latest", NULL, "a.b_c__d-e--f:latest" },
  { "0/1", "docker.io", "0/1", "latest", NULL, "0/1:latest" },
  /* tags */
  { "x:_", "docker.io", "library/x", "_", NULL, "x:_" },
  { "x:A.b-C_d", "docker.io", "library/x", "A.b-C_d", NULL, "x:A.b-C_d" },
  { "x:latest", "docker.io", "library/x", "latest", NULL, "x:latest" },
  /* a bare name that looks like a host is still a repository */
  { "localhost", "docker.io", "library/localhost", "latest", NULL, "localhost:latest" },
  { "localhost:5000", "docker.io", "library/localhost", "5000", NULL, "localhost:5000" },
  { "example.com", "docker.io", "library/example.com", "latest", NULL, "example.com:latest" },
  /* docker.io paths whose first component reads as a host keep the domain */
  { "docker.io/localhost/x", "docker.io", "localhost/x", "latest", NULL,
    "docker.io/localhost/x:latest" },
  { "docker.io/foo.bar/x", "docker.io", "foo.bar/x", "latest", NULL, "docker.io/foo.bar/x:latest" },
  /* an image id is refused only on its own */
  { "library/" HEX, "docker.io", "library/" HEX, "latest", NULL, HEX ":latest" },
  { HEX ":v1", "docker.io", "library/" HEX, "v1", NULL, HEX ":v1" },
};

static char *
expected_string (const struct good *g)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_addf (&sb, "%s/%s", g->domain, g->path);
  if (g->tag)
    sbx_strbuf_addf (&sb, ":%s", g->tag);
  if (g->digest)
    sbx_strbuf_addf (&sb, "@%s", g->digest);
  return sbx_strbuf_detach (&sb);
}

static void
check_good (const struct good *g)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_reference r;
  cleanup_free char *want = NULL;
  cleanup_free char *str = NULL;
  cleanup_free char *repo = NULL;
  cleanup_free char *fam = NULL;
  cleanup_free char *want_repo = NULL;
  char buf[SBX_DIGEST_STR_MAX];
  int ret;

  ret = sbx_reference_parse (g->in, &r, &err);
  if (ret < 0)
    printf ("# `%s`: %s\n", g->in, err->msg);
  ASSERT_EQ (ret, 0);
  ASSERT_NULL (err);
  EXPECT_STREQ (r.domain, g->domain);
  EXPECT_STREQ (r.path, g->path);
  if (g->tag)
    EXPECT_STREQ (r.tag, g->tag);
  else
    EXPECT_NULL (r.tag);
  if (g->digest)
    EXPECT_STREQ (sbx_digest_format (&r.digest, buf), g->digest);
  else
    EXPECT_FALSE (sbx_digest_is_set (&r.digest));

  want = expected_string (g);
  str = sbx_reference_string (&r);
  EXPECT_STREQ (str, want);
  want_repo = xasprintf ("%s/%s", g->domain, g->path);
  repo = sbx_reference_repository (&r);
  EXPECT_STREQ (repo, want_repo);
  fam = sbx_reference_familiar (&r);
  EXPECT_STREQ (fam, g->familiar);
  sbx_reference_release (&r);
  EXPECT_NULL (r.domain);
  EXPECT_NULL (r.path);
  EXPECT_NULL (r.tag);

  /* Both the full and the familiar form parse back to the same thing.  */
  ASSERT_EQ (sbx_reference_parse (str, &r, &err), 0);
  {
    cleanup_free char *again = sbx_reference_string (&r);

    EXPECT_STREQ (again, want);
  }
  sbx_reference_release (&r);
  ASSERT_EQ (sbx_reference_parse (fam, &r, &err), 0);
  {
    cleanup_free char *again = sbx_reference_string (&r);

    EXPECT_STREQ (again, want);
  }
  sbx_reference_release (&r);
}

TEST (valid_references)
{
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (goods); i++)
    check_good (&goods[i]);
}

TEST (release_twice_is_harmless)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_reference r;

  ASSERT_EQ (sbx_reference_parse ("busybox", &r, &err), 0);
  sbx_reference_release (&r);
  sbx_reference_release (&r);
}

/* S must be rejected with a message that names S and contains WHY; OUT is
   left empty.  */
static void
check_bad (const char *s, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_reference r;

  if (sbx_reference_parse (s, &r, &err) == 0)
    {
      cleanup_free char *str = sbx_reference_string (&r);

      printf ("# `%s` was accepted as `%s`\n", s, str);
      sbx_reference_release (&r);
    }
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EINVAL);
  EXPECT_STRSTR (err->msg, "invalid reference");
  if (*s != '\0')
    {
      cleanup_free char *quoted = xasprintf ("`%s`", s);

      EXPECT_STRSTR (err->msg, quoted);
    }
  EXPECT_STRSTR (err->msg, why);
  EXPECT_NULL (r.domain);
  EXPECT_NULL (r.path);
  EXPECT_NULL (r.tag);
  EXPECT_FALSE (sbx_digest_is_set (&r.digest));
}

TEST (uppercase_repository)
{
  check_bad ("Busybox", "repository name must be lowercase");
  check_bad ("busyBox:1.0", "repository name must be lowercase");
  check_bad ("docker.io/Library/busybox", "repository name must be lowercase");
  check_bad ("localhost:5000/ns/Name", "repository name must be lowercase");
  check_bad ("ghcr.io/Org-1/x", "repository name must be lowercase");
  check_bad ("Foo/bar", "repository name must be lowercase");
}

TEST (empty_parts)
{
  check_bad ("", "empty");
  check_bad ("x:", "empty tag");
  check_bad ("x@", "empty digest");
  check_bad ("x:@" DIGEST, "empty tag");
  check_bad (":tag", "empty repository name");
  check_bad ("@" DIGEST, "empty repository name");
  check_bad ("a//b", "empty path component");
  check_bad ("/a", "empty path component");
  check_bad ("a/", "empty path component");
  check_bad ("localhost:5000/", "empty path component");
  check_bad ("localhost/", "empty path component");
  check_bad ("example.com/a//b:t", "empty path component");
}

TEST (bad_path_components)
{
  check_bad ("a..b", "invalid path component `a..b`");
  check_bad ("a._b", "invalid path component");
  check_bad ("a___b", "invalid path component");
  check_bad ("-a", "invalid path component `-a`");
  check_bad ("a-", "invalid path component");
  check_bad ("_a", "invalid path component");
  check_bad ("a.", "invalid path component");
  check_bad (".a", "invalid path component");
  check_bad ("a b", "invalid path component");
  check_bad ("ns/a+b", "invalid path component `a+b`");
  check_bad ("ns/ä", "invalid path component");
  check_bad ("a/b:tag/c", "invalid path component `b:tag`");
  check_bad ("[::1]", "invalid");
}

TEST (bad_tags)
{
  check_bad ("x:-tag", "invalid tag `-tag`");
  check_bad ("x:.tag", "invalid tag `.tag`");
  check_bad ("x:ta+g", "invalid tag `ta+g`");
  check_bad ("x:ta g", "invalid tag");
  check_bad ("x:a:b", "invalid path component `x:a`");

  /* 128 characters is the limit.  */
  {
    char in[2 + 130];
    struct sbx_reference r;
    cleanup_error struct sbx_error *err = NULL;

    memcpy (in, "x:", 2);
    memset (in + 2, 't', 128);
    in[2 + 128] = '\0';
    ASSERT_EQ (sbx_reference_parse (in, &r, &err), 0);
    EXPECT_EQ (strlen (r.tag), (size_t) 128);
    sbx_reference_release (&r);
    in[2 + 128] = 't';
    in[2 + 129] = '\0';
    check_bad (in, "longer than 128 characters");
  }
}

TEST (bad_digests)
{
  check_bad ("x@sha512:" HEX HEX, "unsupported digest algorithm `sha512`");
  check_bad ("x@blake3:" HEX, "unsupported digest algorithm `blake3`");
  check_bad ("x@sha256:" HEX "0", "invalid digest");
  check_bad ("x@sha256:abc", "invalid digest `sha256:abc`");
  check_bad ("x@sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
             "must be lowercase");
  check_bad ("x@" HEX, "invalid digest");
  check_bad ("x@" DIGEST "@" DIGEST, "invalid digest");
  check_bad ("x@latest", "invalid digest");
  check_bad ("user@host/x", "invalid digest");
}

TEST (bad_domains)
{
  check_bad ("localhost:/x", "empty port");
  check_bad ("localhost:port/x", "port `port` is not a number");
  check_bad ("localhost:99999/x", "out of range");
  check_bad ("localhost:0/x", "out of range");
  check_bad ("host:5000:6000/x", "not a number");
  check_bad ("-host.com/x", "may not start or end with `-`");
  check_bad ("host-.com/x", "may not start or end with `-`");
  check_bad ("host..com/x", "empty host name component");
  check_bad (".com/x", "empty host name component");
  check_bad ("host.com./x", "empty host name component");
  check_bad (":5000/x", "empty host name component");
  check_bad ("ho_st.com/x", "invalid character `_`");
  check_bad ("[]:5000/x", "malformed IPv6 address");
  check_bad ("[::g]:5000/x", "malformed IPv6 address");
  check_bad ("[::1:5000/x", "malformed IPv6 address");
  check_bad ("[::1]5000/x", "unexpected text after `]`");
  check_bad ("[::1]:/x", "empty port");
}

TEST (image_id_is_not_a_name)
{
  check_bad (HEX, "image id");
}

TEST (name_length_limit)
{
  /* docker.io/library/ is 18 characters: 237 more make 255.  */
  char in[300];
  struct sbx_reference r;
  cleanup_error struct sbx_error *err = NULL;

  memset (in, 'a', 237);
  in[237] = '\0';
  ASSERT_EQ (sbx_reference_parse (in, &r, &err), 0);
  sbx_reference_release (&r);
  in[237] = 'a';
  in[238] = '\0';
  check_bad (in, "longer than 255 characters");

  /* The limit is on the normalised name: a domain counts too.  */
  memcpy (in, "localhost/", 10);
  memset (in + 10, 'b', 245);
  in[255] = '\0';
  ASSERT_EQ (sbx_reference_parse (in, &r, &err), 0);
  sbx_reference_release (&r);
  in[255] = 'b';
  in[256] = '\0';
  check_bad (in, "longer than 255 characters");
}

TEST_MAIN

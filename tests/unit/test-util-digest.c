/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/xalloc.h"

/* FIPS 180-2 / NIST example vectors.  */
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_448 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA256_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define MSG_448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static void
sha256_free_cleanup (struct sbx_sha256 **h)
{
  sbx_sha256_free (*h);
}
#define cleanup_sha256 __attribute__ ((cleanup (sha256_free_cleanup)))

/* ---- hashing ---- */

TEST (known_vectors_one_shot)
{
  struct sbx_digest d;

  sbx_digest_buf ("", 0, &d);
  EXPECT_STREQ (d.hex, SHA256_EMPTY);
  sbx_digest_buf ("abc", 3, &d);
  EXPECT_STREQ (d.hex, SHA256_ABC);
  sbx_digest_buf (MSG_448, strlen (MSG_448), &d);
  EXPECT_STREQ (d.hex, SHA256_448);
  EXPECT_TRUE (sbx_digest_is_set (&d));
}

TEST (million_a_streamed)
{
  cleanup_sha256 struct sbx_sha256 *h = sbx_sha256_new ();
  char block[1000];
  struct sbx_digest d;
  int i;

  memset (block, 'a', sizeof block);
  for (i = 0; i < 1000; i++)
    sbx_sha256_update (h, block, sizeof block);
  sbx_sha256_final (h, &d);
  EXPECT_STREQ (d.hex, SHA256_MILLION_A);
}

TEST (streaming_in_pieces_equals_one_shot)
{
  /* Split points chosen to straddle SHA-256's 64-byte blocks.  */
  static const size_t pieces[] = { 0, 1, 2, 3, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096 };
  size_t total = 0, i, off;
  cleanup_free unsigned char *data = NULL;
  struct sbx_digest whole, parts;

  for (i = 0; i < SBX_N_ELEMENTS (pieces); i++)
    total += pieces[i];
  data = xmalloc (total);
  for (i = 0; i < total; i++)
    data[i] = (unsigned char) (i * 131 + 7);
  sbx_digest_buf (data, total, &whole);

  {
    cleanup_sha256 struct sbx_sha256 *h = sbx_sha256_new ();

    for (i = 0, off = 0; i < SBX_N_ELEMENTS (pieces); off += pieces[i], i++)
      sbx_sha256_update (h, data + off, pieces[i]);
    sbx_sha256_final (h, &parts);
  }
  EXPECT_STREQ (parts.hex, whole.hex);
  EXPECT_TRUE (sbx_digest_equal (&parts, &whole));

  {
    cleanup_sha256 struct sbx_sha256 *h = sbx_sha256_new ();

    for (off = 0; off < total; off++) /* a byte at a time */
      sbx_sha256_update (h, data + off, 1);
    sbx_sha256_final (h, &parts);
  }
  EXPECT_STREQ (parts.hex, whole.hex);
}

TEST (empty_stream)
{
  cleanup_sha256 struct sbx_sha256 *h = sbx_sha256_new ();
  struct sbx_digest d;

  sbx_sha256_update (h, NULL, 0);
  sbx_sha256_final (h, &d);
  EXPECT_STREQ (d.hex, SHA256_EMPTY);
}

TEST (free_null_is_a_no_op)
{
  sbx_sha256_free (NULL);
}

/* Write LEN bytes of a pattern to a new file in TEST_TMPDIR; return an fd
   open for reading at offset 0.  */
static int
make_file (size_t len, unsigned char **data_out)
{
  cleanup_free char *path = xasprintf ("%s/blob", TEST_TMPDIR);
  unsigned char *data = xmalloc (len ? len : 1);
  cleanup_close int wfd = -1;
  size_t i;
  int fd;

  for (i = 0; i < len; i++)
    data[i] = (unsigned char) ((i * 2654435761u) >> 13);
  wfd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE (wfd, 0);
  ASSERT_EQ (write (wfd, data, len), (ssize_t) len);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  ASSERT_GE (fd, 0);
  *data_out = data;
  return fd;
}

TEST (digest_fd_matches_buffer)
{
  /* Larger than the read chunk, and not a multiple of it.  */
  const size_t len = 3 * 128 * 1024 + 12345;
  cleanup_free unsigned char *data = NULL;
  cleanup_close int fd = make_file (len, &data);
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_digest from_fd, from_buf;
  uint64_t size = 0;

  ASSERT_EQ (sbx_digest_fd (fd, &from_fd, &size, &err), 0);
  ASSERT_NULL (err);
  EXPECT_EQ (size, (uint64_t) len);
  sbx_digest_buf (data, len, &from_buf);
  EXPECT_STREQ (from_fd.hex, from_buf.hex);
}

TEST (digest_fd_from_current_offset)
{
  const size_t len = 5000;
  cleanup_free unsigned char *data = NULL;
  cleanup_close int fd = make_file (len, &data);
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_digest from_fd, from_buf;
  uint64_t size = 0;

  ASSERT_EQ (lseek (fd, 1000, SEEK_SET), 1000);
  ASSERT_EQ (sbx_digest_fd (fd, &from_fd, &size, &err), 0);
  EXPECT_EQ (size, (uint64_t) (len - 1000));
  sbx_digest_buf (data + 1000, len - 1000, &from_buf);
  EXPECT_STREQ (from_fd.hex, from_buf.hex);

  /* At the end: the empty digest, and SIZE may be NULL.  */
  ASSERT_EQ (sbx_digest_fd (fd, &from_fd, NULL, &err), 0);
  EXPECT_STREQ (from_fd.hex, SHA256_EMPTY);
}

TEST (digest_fd_empty_file)
{
  cleanup_free unsigned char *data = NULL;
  cleanup_close int fd = make_file (0, &data);
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_digest d;
  uint64_t size = 99;

  ASSERT_EQ (sbx_digest_fd (fd, &d, &size, &err), 0);
  EXPECT_EQ (size, (uint64_t) 0);
  EXPECT_STREQ (d.hex, SHA256_EMPTY);
}

TEST (digest_fd_read_error)
{
  cleanup_close int fd = open (TEST_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_digest d;

  ASSERT_GE (fd, 0);
  ASSERT_EQ (sbx_digest_fd (fd, &d, NULL, &err), -1);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EISDIR);
  EXPECT_STRSTR (err->msg, "read");
}

/* ---- parsing and formatting ---- */

TEST (parse_format_round_trip)
{
  cleanup_error struct sbx_error *err = NULL;
  const char *s = "sha256:" SHA256_ABC;
  char buf[SBX_DIGEST_STR_MAX];
  struct sbx_digest d, e;

  ASSERT_EQ (sbx_digest_parse (s, &d, &err), 0);
  ASSERT_NULL (err);
  EXPECT_STREQ (d.hex, SHA256_ABC);
  EXPECT_TRUE (sbx_digest_is_set (&d));
  ASSERT_TRUE (sbx_digest_format (&d, buf) == buf);
  EXPECT_STREQ (buf, s);
  EXPECT_EQ (strlen (buf), (size_t) SBX_DIGEST_STR_MAX - 1);

  ASSERT_EQ (sbx_digest_parse (buf, &e, &err), 0);
  EXPECT_TRUE (sbx_digest_equal (&d, &e));
  sbx_digest_buf ("", 0, &e);
  EXPECT_FALSE (sbx_digest_equal (&d, &e));
}

TEST (unset_digest)
{
  struct sbx_digest d = { "" }, e = { "" };
  char buf[SBX_DIGEST_STR_MAX];

  EXPECT_FALSE (sbx_digest_is_set (&d));
  EXPECT_STREQ (sbx_digest_format (&d, buf), "");
  EXPECT_TRUE (sbx_digest_equal (&d, &e));
}

/* S must be rejected with a message that contains WHY and leave OUT unset.  */
static void
check_reject (const char *s, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_digest d;

  memcpy (d.hex, SHA256_ABC, sizeof d.hex);
  if (sbx_digest_parse (s, &d, &err) == 0)
    printf ("# `%s` was accepted\n", s);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (sbx_error_code (err), EINVAL);
  EXPECT_STRSTR (err->msg, why);
  if (*s != '\0')
    EXPECT_STRSTR (err->msg, s);
  EXPECT_FALSE (sbx_digest_is_set (&d));
}

TEST (parse_rejects_other_algorithms)
{
  check_reject ("sha512:" SHA256_ABC SHA256_ABC, "unsupported digest algorithm `sha512`");
  check_reject ("blake3:" SHA256_ABC, "unsupported digest algorithm `blake3`");
  check_reject ("sha384:abc", "unsupported digest algorithm `sha384`");
  check_reject ("sha256+b64u:" SHA256_ABC, "unsupported digest algorithm `sha256+b64u`");
  check_reject ("sha2566:" SHA256_ABC, "unsupported digest algorithm `sha2566`");
  check_reject ("sha25:" SHA256_ABC, "unsupported digest algorithm `sha25`");
}

TEST (parse_rejects_malformed_algorithms)
{
  check_reject (":" SHA256_ABC, "malformed algorithm");
  check_reject ("SHA256:" SHA256_ABC, "malformed algorithm `SHA256`");
  check_reject ("sha-:" SHA256_ABC, "malformed algorithm");
  check_reject ("sha..256:" SHA256_ABC, "malformed algorithm");
  check_reject ("sha 256:" SHA256_ABC, "malformed algorithm");
}

TEST (parse_rejects_bad_hex)
{
  check_reject ("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                "must be lowercase");
  check_reject ("sha256:Ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "must be lowercase");
  check_reject ("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
                "too short");
  check_reject ("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
                "too long");
  check_reject ("sha256:", "too short");
  check_reject ("sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "not a hexadecimal string");
  check_reject ("sha256:" SHA256_ABC " ", "not a hexadecimal string");
  check_reject ("sha256:" SHA256_ABC ":", "not a hexadecimal string");
  check_reject ("sha256::" SHA256_ABC, "not a hexadecimal string");
}

TEST (parse_rejects_missing_parts)
{
  check_reject ("", "empty");
  check_reject (SHA256_ABC, "expected sha256:");
  check_reject ("sha256", "expected sha256:");
}

TEST_MAIN

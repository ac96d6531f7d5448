/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/xalloc.h"

/* The only algorithm we accept, and the prefix of every formatted digest.  */
#define SHA256_PREFIX "sha256:"
#define SHA256_PREFIX_LEN (sizeof SHA256_PREFIX - 1)
#define SHA256_BYTES 32

/* OpenSSL's context behind an opaque type, so that nothing outside this
   file includes an OpenSSL header (scripts/check-layering).  */
struct sbx_sha256
{
  EVP_MD_CTX *ctx;
};

/* ---- parsing and formatting ---- */

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_lower_hex (char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The OCI image spec's algorithm grammar: [a-z0-9]+ ([+._-][a-z0-9]+)*  */
static bool
is_algorithm (const char *s, size_t len)
{
  size_t i;

  if (len == 0 || ! is_lower_alnum (s[0]) || ! is_lower_alnum (s[len - 1]))
    return false;
  for (i = 1; i < len; i++)
    {
      bool sep = strchr ("+._-", s[i]) != NULL;

      if (! sep && ! is_lower_alnum (s[i]))
        return false;
      if (sep && ! is_lower_alnum (s[i - 1]))
        return false;
    }
  return true;
}

/* Why HEX (after "sha256:") is not 64 lowercase hex digits, or NULL.  */
static const char *
check_sha256_hex (const char *hex)
{
  size_t len = strlen (hex);
  size_t i;

  for (i = 0; i < len; i++)
    if (hex[i] >= 'A' && hex[i] <= 'F')
      return "hex digits must be lowercase";
  for (i = 0; i < len; i++)
    if (! is_lower_hex (hex[i]))
      return "not a hexadecimal string";
  if (len < SBX_DIGEST_HEX_LEN)
    return "too short for sha256 (64 hex digits)";
  if (len > SBX_DIGEST_HEX_LEN)
    return "too long for sha256 (64 hex digits)";
  return NULL;
}

int
sbx_digest_parse (const char *s, struct sbx_digest *out, struct sbx_error **err)
{
  const char *colon;
  const char *why;
  size_t algo_len;

  out->hex[0] = '\0';
  if (s == NULL || *s == '\0')
    return sbx_err (err, EINVAL, "invalid digest: empty");
  colon = strchr (s, ':');
  if (colon == NULL)
    return sbx_err (err, EINVAL, "invalid digest `%s`: expected sha256:<64 hex digits>", s);
  algo_len = (size_t) (colon - s);
  if (! is_algorithm (s, algo_len))
    return sbx_err (err, EINVAL, "invalid digest `%s`: malformed algorithm `%.*s`", s,
                    (int) algo_len, s);
  if (algo_len != SHA256_PREFIX_LEN - 1 || memcmp (s, SHA256_PREFIX, algo_len) != 0)
    return sbx_err (err, EINVAL, "invalid digest `%s`: unsupported digest algorithm `%.*s`", s,
                    (int) algo_len, s);
  why = check_sha256_hex (colon + 1);
  if (why != NULL)
    return sbx_err (err, EINVAL, "invalid digest `%s`: %s", s, why);
  memcpy (out->hex, colon + 1, SBX_DIGEST_HEX_LEN + 1);
  return 0;
}

bool
sbx_digest_is_set (const struct sbx_digest *d)
{
  return d->hex[0] != '\0';
}

bool
sbx_digest_equal (const struct sbx_digest *a, const struct sbx_digest *b)
{
  return strncmp (a->hex, b->hex, sizeof a->hex) == 0;
}

char *
sbx_digest_format (const struct sbx_digest *d, char *buf)
{
  if (! sbx_digest_is_set (d))
    {
      buf[0] = '\0';
      return buf;
    }
  memcpy (buf, SHA256_PREFIX, SHA256_PREFIX_LEN);
  memcpy (buf + SHA256_PREFIX_LEN, d->hex, SBX_DIGEST_HEX_LEN);
  buf[SHA256_PREFIX_LEN + SBX_DIGEST_HEX_LEN] = '\0';
  return buf;
}

/* ---- hashing ---- */

struct sbx_sha256 *
sbx_sha256_new (void)
{
  struct sbx_sha256 *h = xzalloc (sizeof *h);

  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL)
    xoom ();
  /* Fails only when OpenSSL cannot allocate (or sha256 is compiled out,
     which no distribution does).  */
  if (EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    xoom ();
  return h;
}

void
sbx_sha256_update (struct sbx_sha256 *h, const void *data, size_t len)
{
  if (len == 0)
    return;
  if (EVP_DigestUpdate (h->ctx, data, len) != 1)
    xoom ();
}

void
sbx_sha256_final (struct sbx_sha256 *h, struct sbx_digest *out)
{
  static const char xdigits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  size_t i;

  if (EVP_DigestFinal_ex (h->ctx, md, &md_len) != 1 || md_len != SHA256_BYTES)
    xoom ();
  for (i = 0; i < SHA256_BYTES; i++)
    {
      out->hex[2 * i] = xdigits[md[i] >> 4];
      out->hex[2 * i + 1] = xdigits[md[i] & 0xf];
    }
  out->hex[SBX_DIGEST_HEX_LEN] = '\0';
}

void
sbx_sha256_free (struct sbx_sha256 *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}

static inline void
cleanup_sha256_fn (struct sbx_sha256 **h)
{
  sbx_sha256_free (*h);
}
#define cleanup_sha256 __attribute__ ((cleanup (cleanup_sha256_fn)))

void
sbx_digest_buf (const void *data, size_t len, struct sbx_digest *out)
{
  cleanup_sha256 struct sbx_sha256 *h = sbx_sha256_new ();

  sbx_sha256_update (h, data, len);
  sbx_sha256_final (h, out);
}

int
sbx_digest_fd (int fd, struct sbx_digest *out, uint64_t *size, struct sbx_error **err)
{
  enum
  {
    CHUNK = 128 * 1024
  };
  cleanup_sha256 struct sbx_sha256 *h = sbx_sha256_new ();
  cleanup_free unsigned char *buf = xmalloc (CHUNK);
  uint64_t total = 0;

  for (;;)
    {
      ssize_t n = read (fd, buf, CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "read fd %d to digest it", fd);
      if (n == 0)
        break;
      sbx_sha256_update (h, buf, (size_t) n);
      total += (uint64_t) n;
    }
  sbx_sha256_final (h, out);
  if (size != NULL)
    *size = total;
  return 0;
}

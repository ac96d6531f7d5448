/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Content digests (OCI image spec "descriptor" digests).  Only sha256 is
   supported; anything else is rejected with a clear message.  OpenSSL's
   libcrypto is used here and nowhere else.  */

struct sbx_error;

#define SBX_DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex digits + NUL */
#define SBX_DIGEST_STR_MAX (7 + SBX_DIGEST_HEX_LEN + 1)

struct sbx_digest
{
  char hex[SBX_DIGEST_HEX_LEN + 1]; /* lowercase, NUL-terminated; "" when unset */
};

/* Parse "sha256:<64 lowercase hex>"; the error names the digest.  */
int sbx_digest_parse (const char *s, struct sbx_digest *out, struct sbx_error **err);
/* true for a set digest */
bool sbx_digest_is_set (const struct sbx_digest *d);
/* Two unset digests are equal: check sbx_digest_is_set() when verifying.  */
bool sbx_digest_equal (const struct sbx_digest *a, const struct sbx_digest *b);
/* "sha256:<hex>" into BUF (at least SBX_DIGEST_STR_MAX bytes), "" for an
   unset digest; returns BUF.  */
char *sbx_digest_format (const struct sbx_digest *d, char *buf);

/* Streaming sha256.  */
struct sbx_sha256;
struct sbx_sha256 *sbx_sha256_new (void);
void sbx_sha256_update (struct sbx_sha256 *h, const void *data, size_t len);
/* Finish into *OUT; H may not be updated afterwards.  */
void sbx_sha256_final (struct sbx_sha256 *h, struct sbx_digest *out);
void sbx_sha256_free (struct sbx_sha256 *h);

void sbx_digest_buf (const void *data, size_t len, struct sbx_digest *out);
/* Digest FD from its current offset to the end; *SIZE gets the byte count.  */
int sbx_digest_fd (int fd, struct sbx_digest *out, uint64_t *size, struct sbx_error **err);

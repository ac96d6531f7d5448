/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libcrypto, loaded on first use (util/lazylib.h): the functions util/digest.c
   calls, each forwarding to the real one.  A sha256 context cannot report an
   error (sbx_sha256_new() cannot fail), so a missing libcrypto ends sbx with
   a message the first time something is hashed.  */
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "util/lazylib.h"

#if OPENSSL_VERSION_MAJOR != 3
#  error "util/crypto-shim.c loads libcrypto.so.3: update its soname for this OpenSSL"
#endif

#define FUNCTIONS(X)     \
  X (EVP_DigestFinal_ex) \
  X (EVP_DigestInit_ex)  \
  X (EVP_DigestUpdate)   \
  X (EVP_MD_CTX_free)    \
  X (EVP_MD_CTX_new)     \
  X (EVP_sha256)

SBX_LAZYLIB_DEFINE (libcrypto, "libcrypto.so.3", "libssl3", FUNCTIONS)

int
EVP_DigestFinal_ex (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s)
{
  return REAL (EVP_DigestFinal_ex) (ctx, md, s);
}

int
EVP_DigestInit_ex (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
  return REAL (EVP_DigestInit_ex) (ctx, type, impl);
}

int
EVP_DigestUpdate (EVP_MD_CTX *ctx, const void *d, size_t cnt)
{
  return REAL (EVP_DigestUpdate) (ctx, d, cnt);
}

void
EVP_MD_CTX_free (EVP_MD_CTX *ctx)
{
  REAL (EVP_MD_CTX_free) (ctx);
}

EVP_MD_CTX *
EVP_MD_CTX_new (void)
{
  return REAL (EVP_MD_CTX_new) ();
}

const EVP_MD *
EVP_sha256 (void)
{
  return REAL (EVP_sha256) ();
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zlib, loaded on first use (util/lazylib.h): the deflate functions
   layer/write-tar.c calls to compress layers, each forwarding to the real
   one.  Only commands that write a layer (build, commit) load it; a missing
   libz ends sbx with a message at the first call, as for libarchive.  */
#include <zlib.h>

#include "util/lazylib.h"

#if ZLIB_VERNUM < 0x12d0
#  error "layer/zlib-shim.c wants zlib >= 1.2.13 (vendor-notes/zlib-zstd.md)"
#endif
#ifdef crc32_combine
#  error "zlib.h renamed crc32_combine (large-file build): add its 64-bit name to the shim"
#endif

#define FUNCTIONS(X) \
  X (crc32)          \
  X (crc32_combine)  \
  X (deflate)        \
  X (deflateBound)   \
  X (deflateEnd)     \
  X (deflateInit2_)  \
  X (deflateReset)   \
  X (deflateSetDictionary)

SBX_LAZYLIB_DEFINE (libz, "libz.so.1", "zlib1g", FUNCTIONS)

uLong
crc32 (uLong crc, const Bytef *buf, uInt len)
{
  return REAL (crc32) (crc, buf, len);
}

uLong
crc32_combine (uLong crc1, uLong crc2, z_off_t len2)
{
  return REAL (crc32_combine) (crc1, crc2, len2);
}

int
deflate (z_streamp strm, int flush)
{
  return REAL (deflate) (strm, flush);
}

uLong
deflateBound (z_streamp strm, uLong source_len)
{
  return REAL (deflateBound) (strm, source_len);
}

int
deflateEnd (z_streamp strm)
{
  return REAL (deflateEnd) (strm);
}

int
deflateInit2_ (z_streamp strm, int level, int method, int window_bits, int mem_level, int strategy,
               const char *version, int stream_size)
{
  return REAL (deflateInit2_) (strm, level, method, window_bits, mem_level, strategy, version,
                               stream_size);
}

int
deflateReset (z_streamp strm)
{
  return REAL (deflateReset) (strm);
}

int
deflateSetDictionary (z_streamp strm, const Bytef *dictionary, uInt dict_length)
{
  return REAL (deflateSetDictionary) (strm, dictionary, dict_length);
}

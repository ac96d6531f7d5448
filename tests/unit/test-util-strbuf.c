/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/strbuf.h"

/* The documented invariants: buf is never NULL, buf[len] == '\0', and
   len < alloc once anything was allocated.  */
static void
check_invariants (const struct sbx_strbuf *sb)
{
  ASSERT_NOT_NULL (sb->buf);
  ASSERT_EQ (sb->buf[sb->len], '\0');
  if (sb->alloc)
    ASSERT_LT (sb->len, sb->alloc);
  else
    ASSERT_EQ (sb->len, 0);
}

TEST (strbuf_init_is_empty_string)
{
  struct sbx_strbuf a = SBX_STRBUF_INIT;
  struct sbx_strbuf b;

  sbx_strbuf_init (&b);
  check_invariants (&a);
  check_invariants (&b);
  ASSERT_STREQ (a.buf, "");
  ASSERT_EQ (a.alloc, 0);
  ASSERT_TRUE (a.buf == b.buf); /* both the shared slop buffer */
  sbx_strbuf_release (&a);      /* releasing an unused buffer is fine */
  check_invariants (&a);
}

TEST (strbuf_add_variants)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_addstr (&sb, "abc");
  sbx_strbuf_addch (&sb, '-');
  sbx_strbuf_add (&sb, "xyz123", 3);
  sbx_strbuf_addf (&sb, "%d:%s", 42, "q");
  check_invariants (&sb);
  ASSERT_STREQ (sb.buf, "abc-xyz42:q");
  ASSERT_EQ (sb.len, strlen ("abc-xyz42:q"));
}

TEST (strbuf_binary_data_keeps_length)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_add (&sb, "a\0b", 3);
  check_invariants (&sb);
  ASSERT_EQ (sb.len, 3);
  ASSERT_EQ (memcmp (sb.buf, "a\0b", 4), 0);
}

TEST (strbuf_grows_past_initial_allocation)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  size_t i;

  for (i = 0; i < 10000; i++)
    {
      sbx_strbuf_addch (&sb, (char) ('a' + i % 26));
      check_invariants (&sb);
    }
  ASSERT_EQ (sb.len, 10000);
  for (i = 0; i < 10000; i++)
    ASSERT_EQ (sb.buf[i], (char) ('a' + i % 26));
}

TEST (strbuf_addf_long_output)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  char big[1000];

  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  sbx_strbuf_addstr (&sb, "<");
  sbx_strbuf_addf (&sb, "%s|%s", big, big);
  check_invariants (&sb);
  ASSERT_EQ (sb.len, 1 + 999 + 1 + 999);
  ASSERT_EQ (sb.buf[0], '<');
  ASSERT_EQ (sb.buf[1000], '|');
  ASSERT_EQ (sb.buf[sb.len - 1], 'x');
}

TEST (strbuf_reset_keeps_allocation)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  struct sbx_strbuf fresh = SBX_STRBUF_INIT;
  size_t alloc;

  sbx_strbuf_reset (&fresh); /* must not write to the shared slop buffer */
  check_invariants (&fresh);
  sbx_strbuf_addstr (&sb, "hello");
  alloc = sb.alloc;
  sbx_strbuf_reset (&sb);
  check_invariants (&sb);
  ASSERT_STREQ (sb.buf, "");
  ASSERT_EQ (sb.alloc, alloc);
  sbx_strbuf_addstr (&sb, "again");
  ASSERT_STREQ (sb.buf, "again");
}

TEST (strbuf_detach_transfers_ownership)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;
  char *s;

  sbx_strbuf_addstr (&sb, "owned");
  s = sbx_strbuf_detach (&sb);
  ASSERT_STREQ (s, "owned");
  check_invariants (&sb);
  ASSERT_EQ (sb.alloc, 0);
  ASSERT_STREQ (sb.buf, "");
  ASSERT_TRUE (s != sb.buf);
  free (s);

  /* Detaching an empty buffer still gives a string the caller may free.  */
  s = sbx_strbuf_detach (&sb);
  ASSERT_STREQ (s, "");
  ASSERT_TRUE (s != sbx_strbuf_slopbuf);
  free (s);
}

TEST (strbuf_release_resets)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_addstr (&sb, "something");
  sbx_strbuf_release (&sb);
  check_invariants (&sb);
  ASSERT_EQ (sb.alloc, 0);
  ASSERT_STREQ (sb.buf, "");
  sbx_strbuf_addstr (&sb, "reuse");
  ASSERT_STREQ (sb.buf, "reuse");
  sbx_strbuf_release (&sb);
}

TEST (strbuf_grow_reserves_room)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  sbx_strbuf_grow (&sb, 500);
  ASSERT_GE (sb.alloc, 501);
  ASSERT_EQ (sb.len, 0);
  check_invariants (&sb);
}

TEST_MAIN

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "harness.h"
#include "runtime/internal.h"
#include "util/cleanup.h"

/* ---- sbx_userns_parse_subid ---- */

static const char subuid[] = "# comment: alice:1:1\n"
                             "\n"
                             "garbage\n"
                             "alice:100000:65536\n"
                             "alice:900000:65536\n"
                             "bob:200000:0\n"
                             "bob:300000:1000\n"
                             "1003:400000:65536\n"
                             "carol:abc:10\n"
                             "carol:500000:-1\n"
                             "carol:500000:10\n"
                             "dave:4294967295:2\n"
                             "dave: 600000:5\n"
                             "dave:600000:5:extra\n"
                             "dave:600000:5\n"
                             "alicia:700000:1";

static bool
subid (const char *content, const char *user, uint32_t id, uint32_t *start, uint32_t *count)
{
  struct sbx_subid_range r = { 7, 7 };
  bool found = sbx_userns_parse_subid (content, user, id, &r);

  if (! found)
    {
      /* Nothing written when nothing is found.  */
      ASSERT_EQ (r.start, 7);
      ASSERT_EQ (r.count, 7);
    }
  *start = r.start;
  *count = r.count;
  return found;
}

TEST (subid_by_name_first_match)
{
  uint32_t s, c;

  ASSERT_TRUE (subid (subuid, "alice", 1000, &s, &c));
  ASSERT_EQ (s, 100000);
  ASSERT_EQ (c, 65536);
  ASSERT_TRUE (subid (subuid, "alicia", 1000, &s, &c)); /* no prefix matching */
  ASSERT_EQ (s, 700000);
  ASSERT_EQ (c, 1);
}

TEST (subid_by_numeric_uid)
{
  uint32_t s, c;

  ASSERT_TRUE (subid (subuid, "erin", 1003, &s, &c));
  ASSERT_EQ (s, 400000);
  ASSERT_EQ (c, 65536);
  ASSERT_TRUE (subid (subuid, NULL, 1003, &s, &c)); /* a uid without a passwd name */
  ASSERT_EQ (s, 400000);
}

TEST (subid_count_zero_skipped)
{
  uint32_t s, c;

  ASSERT_TRUE (subid (subuid, "bob", 1001, &s, &c));
  ASSERT_EQ (s, 300000);
  ASSERT_EQ (c, 1000);
}

TEST (subid_malformed_lines_skipped)
{
  uint32_t s, c;

  ASSERT_TRUE (subid (subuid, "carol", 1002, &s, &c));
  ASSERT_EQ (s, 500000);
  ASSERT_EQ (c, 10);
  /* Overflowing, space-padded and four-field lines are skipped.  */
  ASSERT_TRUE (subid (subuid, "dave", 1004, &s, &c));
  ASSERT_EQ (s, 600000);
  ASSERT_EQ (c, 5);
  ASSERT_FALSE (subid (subuid, "garbage", 1005, &s, &c));
  ASSERT_FALSE (subid (subuid, "# comment", 1005, &s, &c));
}

TEST (subid_not_found)
{
  uint32_t s, c;

  ASSERT_FALSE (subid (subuid, "mallory", 4242, &s, &c));
  ASSERT_FALSE (subid (subuid, "ali", 4242, &s, &c));
  ASSERT_FALSE (subid ("", "alice", 1000, &s, &c));
  ASSERT_FALSE (subid (NULL, "alice", 1000, &s, &c));
  ASSERT_FALSE (subid ("alice:1:0\n", "alice", 1000, &s, &c));
}

TEST (subid_empty_name_never_matches)
{
  uint32_t s, c;

  ASSERT_FALSE (subid (":5:5\n", "alice", 1000, &s, &c));
  ASSERT_FALSE (subid (":5:5\n", NULL, 1000, &s, &c));
}

TEST (subid_last_line_without_newline)
{
  uint32_t s, c;

  ASSERT_TRUE (subid ("x:1:1\nzed:5000:10", "zed", 9, &s, &c));
  ASSERT_EQ (s, 5000);
  ASSERT_EQ (c, 10);
}

/* ---- sbx_userns_map_lines ---- */

static struct sbx_userns_plan
plan (enum sbx_userns_mode mode, uid_t uid, gid_t gid, uint32_t count)
{
  struct sbx_userns_plan p;

  memset (&p, 0, sizeof p);
  p.mode = mode;
  p.uid = uid;
  p.gid = gid;
  p.subuid = (struct sbx_subid_range){ 100000, count };
  p.subgid = (struct sbx_subid_range){ 200000, count };
  return p;
}

static void
check_line (const struct sbx_idmap_line *l, uint32_t inside, uint32_t outside, uint32_t count)
{
  EXPECT_EQ (l->inside, inside);
  EXPECT_EQ (l->outside, outside);
  EXPECT_EQ (l->count, count);
}

TEST (map_single_mode)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SINGLE, 1000, 1001, 65536);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, false, false, l), 1);
  check_line (&l[0], 0, 1000, 1);
  ASSERT_EQ (sbx_userns_map_lines (&p, false, true, l), 1);
  check_line (&l[0], 0, 1001, 1);
}

TEST (map_single_mode_keep_id)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SINGLE, 1000, 1001, 65536);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, true, false, l), 1);
  check_line (&l[0], 1000, 1000, 1);
  ASSERT_EQ (sbx_userns_map_lines (&p, true, true, l), 1);
  check_line (&l[0], 1001, 1001, 1);
}

TEST (map_subuid_default)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SUBUID, 1000, 1001, 65536);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, false, false, l), 2);
  check_line (&l[0], 0, 1000, 1);
  check_line (&l[1], 1, 100000, 65536);
  ASSERT_EQ (sbx_userns_map_lines (&p, false, true, l), 2);
  check_line (&l[0], 0, 1001, 1);
  check_line (&l[1], 1, 200000, 65536);
}

TEST (map_subuid_count_capped)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SUBUID, 1000, 1000, 1000000);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, false, false, l), 2);
  check_line (&l[1], 1, 100000, SBX_SUBID_MAX);
  p.subuid.count = 1000;
  ASSERT_EQ (sbx_userns_map_lines (&p, false, false, l), 2);
  check_line (&l[1], 1, 100000, 1000);
}

TEST (map_subuid_keep_id_splits_range)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SUBUID, 1000, 1001, 65536);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, true, false, l), 3);
  check_line (&l[0], 0, 100000, 1000);
  check_line (&l[1], 1000, 1000, 1);
  check_line (&l[2], 1001, 101000, 64536);
  ASSERT_EQ (sbx_userns_map_lines (&p, true, true, l), 3);
  check_line (&l[0], 0, 200000, 1001);
  check_line (&l[1], 1001, 1001, 1);
  check_line (&l[2], 1002, 201001, 64535);
}

TEST (map_subuid_keep_id_small_range)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SUBUID, 1000, 1000, 500);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, true, false, l), 2);
  check_line (&l[0], 0, 100000, 500);
  check_line (&l[1], 1000, 1000, 1);
}

TEST (map_subuid_keep_id_as_root)
{
  struct sbx_userns_plan p = plan (SBX_USERNS_SUBUID, 0, 0, 65536);
  struct sbx_idmap_line l[3];

  ASSERT_EQ (sbx_userns_map_lines (&p, true, false, l), 2);
  check_line (&l[0], 0, 0, 1);
  check_line (&l[1], 1, 100000, 65536);
}

/* Whatever the parameters: the user is mapped exactly once, no two lines
   overlap inside or outside, and every other outside id is in the range.  */
TEST (map_lines_are_a_valid_map)
{
  const uid_t uids[] = { 0, 1, 999, 1000, 65535, 65536, 70000 };
  const uint32_t counts[] = { 1, 2, 1000, 65536, 100000 };
  size_t i, j, k, a, b;

  for (i = 0; i < SBX_N_ELEMENTS (uids); i++)
    for (j = 0; j < SBX_N_ELEMENTS (counts); j++)
      for (k = 0; k < 4; k++)
        {
          struct sbx_userns_plan p
              = plan (k < 2 ? SBX_USERNS_SUBUID : SBX_USERNS_SINGLE, uids[i], uids[i], counts[j]);
          struct sbx_idmap_line l[3];
          size_t n = sbx_userns_map_lines (&p, k % 2, false, l);
          unsigned self_lines = 0;

          ASSERT_GE (n, 1);
          ASSERT_LE (n, 3);
          for (a = 0; a < n; a++)
            {
              ASSERT_GT (l[a].count, 0);
              for (b = 0; b < a; b++)
                {
                  ASSERT_TRUE (l[a].inside + l[a].count <= l[b].inside
                               || l[b].inside + l[b].count <= l[a].inside);
                  ASSERT_TRUE (l[a].outside + l[a].count <= l[b].outside
                               || l[b].outside + l[b].count <= l[a].outside);
                }
              if (l[a].outside == uids[i])
                {
                  self_lines++;
                  ASSERT_EQ (l[a].count, 1);
                  ASSERT_EQ (l[a].inside, k % 2 ? uids[i] : 0);
                  continue;
                }
              ASSERT_GE (l[a].outside, p.subuid.start);
              ASSERT_LE ((uint64_t) l[a].outside + l[a].count,
                         (uint64_t) p.subuid.start + p.subuid.count);
            }
          ASSERT_EQ (self_lines, 1);
        }
}

TEST_MAIN

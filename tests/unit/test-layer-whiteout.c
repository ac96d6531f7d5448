/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "harness.h"
#include "layer/internal.h"
#include "layer/layer.h"
#include "util/cleanup.h"

static enum sbx_layer_entry_kind
classify (const char *path, char **target)
{
  return sbx_layer_classify_entry (path, target);
}

TEST (plain_entry_is_normal)
{
  char *target = (char *) "untouched";

  ASSERT_EQ (classify ("etc/passwd", &target), SBX_LAYER_ENTRY_NORMAL);
  EXPECT_NULL (target);
  EXPECT_EQ (classify ("a", NULL), SBX_LAYER_ENTRY_NORMAL);
  EXPECT_EQ (classify ("dir/.whx", NULL), SBX_LAYER_ENTRY_NORMAL);
  EXPECT_EQ (classify ("dir/x.wh.y", NULL), SBX_LAYER_ENTRY_NORMAL);
  /* only the last component is looked at */
  EXPECT_EQ (classify (".wh.dir/file", NULL), SBX_LAYER_ENTRY_NORMAL);
}

TEST (plain_whiteout_names_its_target)
{
  cleanup_free char *target = NULL;

  ASSERT_EQ (classify (".wh.bin", &target), SBX_LAYER_ENTRY_WHITEOUT);
  EXPECT_STREQ (target, "bin");
}

TEST (nested_whiteout_keeps_its_directory)
{
  cleanup_free char *target = NULL;

  ASSERT_EQ (classify ("usr/local/.wh.bin", &target), SBX_LAYER_ENTRY_WHITEOUT);
  EXPECT_STREQ (target, "usr/local/bin");
}

TEST (whiteout_of_a_dotfile)
{
  cleanup_free char *target = NULL;

  ASSERT_EQ (classify ("home/.wh..bashrc", &target), SBX_LAYER_ENTRY_WHITEOUT);
  EXPECT_STREQ (target, "home/.bashrc");
}

TEST (opaque_marker_names_its_directory)
{
  cleanup_free char *target = NULL;

  ASSERT_EQ (classify ("etc/ssl/.wh..wh..opq", &target), SBX_LAYER_ENTRY_OPAQUE);
  EXPECT_STREQ (target, "etc/ssl");
}

TEST (opaque_marker_at_the_root_names_the_root)
{
  cleanup_free char *target = NULL;

  ASSERT_EQ (classify (".wh..wh..opq", &target), SBX_LAYER_ENTRY_OPAQUE);
  EXPECT_STREQ (target, "");
}

TEST (target_may_be_null)
{
  EXPECT_EQ (classify ("a/.wh.b", NULL), SBX_LAYER_ENTRY_WHITEOUT);
  EXPECT_EQ (classify ("a/.wh..wh..opq", NULL), SBX_LAYER_ENTRY_OPAQUE);
}

TEST (whiteout_cannot_escape_the_layer)
{
  char *target = NULL;

  EXPECT_EQ (classify ("../.wh.passwd", &target), SBX_LAYER_ENTRY_INVALID);
  EXPECT_NULL (target);
  EXPECT_EQ (classify ("a/../../.wh.x", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("a/.wh..", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify (".wh..", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("a/.wh...", NULL), SBX_LAYER_ENTRY_INVALID);   /* of ".." */
  EXPECT_EQ (classify ("a/.wh....", NULL), SBX_LAYER_ENTRY_WHITEOUT); /* of "..." */
}

TEST (whiteout_prefix_alone_is_invalid)
{
  char *target = NULL;

  EXPECT_EQ (classify (".wh.", &target), SBX_LAYER_ENTRY_INVALID);
  EXPECT_NULL (target);
  EXPECT_EQ (classify ("dir/.wh.", NULL), SBX_LAYER_ENTRY_INVALID);
}

TEST (aufs_metadata_is_invalid)
{
  EXPECT_EQ (classify (".wh..wh.plnk", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("x/.wh..wh.aufs", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify (".wh..wh..opqx", NULL), SBX_LAYER_ENTRY_INVALID);
}

TEST (unnormalised_paths_are_invalid)
{
  EXPECT_EQ (classify ("", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify (NULL, NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("a//b", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("a/./b", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("/a", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("a/", NULL), SBX_LAYER_ENTRY_INVALID);
  EXPECT_EQ (classify ("..", NULL), SBX_LAYER_ENTRY_INVALID);
}

/* ---- names as unpack sees them ---- */

static void
expect_normal (const char *in, const char *want)
{
  cleanup_free char *got = layer_normalize_path (in);

  if (want == NULL)
    {
      EXPECT_NULL (got);
      return;
    }
  ASSERT_NOT_NULL (got);
  EXPECT_STREQ (got, want);
}

TEST (normalize_strips_dots_slashes)
{
  expect_normal ("./a", "a");
  expect_normal ("/a", "a");
  expect_normal ("a/", "a");
  expect_normal ("//a//b///", "a/b");
  expect_normal ("./a/./b/.", "a/b");
  expect_normal ("./", "");
  expect_normal ("/", "");
  expect_normal (".", "");
  expect_normal ("", "");
}

TEST (normalize_pops_dotdot_but_never_above_the_root)
{
  expect_normal ("a/../b", "b");
  expect_normal ("a/b/../../c", "c");
  expect_normal ("a/..", "");
  expect_normal ("../evil", NULL);
  expect_normal ("a/../../evil", NULL);
  expect_normal ("/../evil", NULL);
  expect_normal ("./..", NULL);
}

TEST (on_disk_whiteout_is_a_0_0_character_device)
{
  struct stat st = { .st_mode = S_IFCHR | 0600, .st_rdev = makedev (0, 0) };

  EXPECT_TRUE (layer_is_whiteout (&st));
  st.st_rdev = makedev (1, 3);
  EXPECT_FALSE (layer_is_whiteout (&st));
  st.st_mode = S_IFREG;
  st.st_rdev = 0;
  EXPECT_FALSE (layer_is_whiteout (&st));
}

TEST (private_xattrs)
{
  EXPECT_TRUE (layer_is_private_xattr ("user.overlay.opaque"));
  EXPECT_TRUE (layer_is_private_xattr ("user.overlay.redirect"));
  EXPECT_TRUE (layer_is_private_xattr ("user.containers.override_stat"));
  EXPECT_FALSE (layer_is_private_xattr ("user.mime_type"));
  EXPECT_FALSE (layer_is_private_xattr ("user.overlayfoo"));
}

TEST_MAIN

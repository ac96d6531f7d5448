/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hints.h"

TEST (hint_every_topic_has_text)
{
  const int codes[] = { 0, EPERM, EACCES, ENOSPC, EINVAL, ENOENT };
  int t;
  size_t i;

  for (t = SBX_HINT_USERNS; t <= SBX_HINT_CGROUP; t++)
    for (i = 0; i < SBX_N_ELEMENTS (codes); i++)
      {
        const char *h = sbx_hint ((enum sbx_hint_topic) t, codes[i]);

        if (h == NULL)
          printf ("# topic %d code %d has no hint\n", t, codes[i]);
        ASSERT_NOT_NULL (h);
        ASSERT_GT (strlen (h), 10);
        EXPECT_NE (h[strlen (h) - 1], '\n');
      }
}

TEST (hint_unknown_topic_is_null)
{
  ASSERT_NULL (sbx_hint ((enum sbx_hint_topic) 9999, 0));
}

TEST (hint_userns_depends_on_errno)
{
  ASSERT_STRSTR (sbx_hint (SBX_HINT_USERNS, ENOSPC), "user.max_user_namespaces");
  ASSERT_STRSTR (sbx_hint (SBX_HINT_USERNS, EPERM), "kernel.unprivileged_userns_clone");
  ASSERT_STRSTR (sbx_hint (SBX_HINT_MOUNT_MAX, ENOSPC), "fs.mount-max");
  ASSERT_STRSTR (sbx_hint (SBX_HINT_SUBUID, 0), "/etc/subuid");
  ASSERT_STRSTR (sbx_hint (SBX_HINT_NEWUIDMAP, ENOENT), "uidmap");
  ASSERT_STRSTR (sbx_hint (SBX_HINT_FUSE, EACCES), "/dev/fuse");
  ASSERT_STRSTR (sbx_hint (SBX_HINT_TUN, EACCES), "/dev/net/tun");
}

TEST (err_hint_appends_hint)
{
  cleanup_error struct sbx_error *err = NULL;
  char want[1024];

  errno = ENOSPC;
  sbx_err_errno (&err, "unshare");
  snprintf (want, sizeof want, "unshare: %s (hint: %s)", strerror (ENOSPC),
            sbx_hint (SBX_HINT_USERNS, ENOSPC));
  ASSERT_EQ (sbx_err_hint (&err, SBX_HINT_USERNS), -1);
  ASSERT_STREQ (err->msg, want);
  ASSERT_EQ (err->code, ENOSPC);
}

TEST (err_hint_every_topic)
{
  int t;

  for (t = SBX_HINT_USERNS; t <= SBX_HINT_CGROUP; t++)
    {
      cleanup_error struct sbx_error *err = NULL;

      sbx_err (&err, EPERM, "op");
      ASSERT_EQ (sbx_err_hint (&err, (enum sbx_hint_topic) t), -1);
      ASSERT_EQ (strncmp (err->msg, "op (hint: ", 10), 0);
      ASSERT_EQ (err->msg[strlen (err->msg) - 1], ')');
    }
}

TEST (err_hint_without_error)
{
  struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_err_hint (&err, SBX_HINT_FUSE), -1);
  ASSERT_NULL (err);
  ASSERT_EQ (sbx_err_hint (NULL, SBX_HINT_FUSE), -1);
}

TEST_MAIN

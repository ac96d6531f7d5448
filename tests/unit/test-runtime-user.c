/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "runtime/internal.h"
#include "util/cleanup.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "broken line without fields\n"
                             "badid:x:abc:1:bad:/bad:/bin/sh\n"
                             "short:x:5:5\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                             "bob:x:1001:1001::/home/bob:/bin/sh\n"
                             "nohome:x:1002:1002:No Home::/bin/sh\n"
                             "alice2:x:1000:2000:dup uid:/home/alice2:/bin/sh\n"
                             "last:x:1003:1003::/home/last:/bin/sh";

static const char group[] = "root:x:0:\n"
                            "wheel:x:10:alice,bob\n"
                            "audio:x:29:alice\n"
                            "alice:x:1000:alice\n"
                            "broken group line\n"
                            "badgid:x:zz:alice\n"
                            "staff:x:50:\n"
                            "video:x:44:bobby,carol\n"
                            "dev:x:60:carol,bob\n";

/* ---- sbx_user_lookup_passwd ---- */

TEST (passwd_lookup_by_name)
{
  struct sbx_user u = { 0 };

  ASSERT_TRUE (sbx_user_lookup_passwd (passwd, "alice", 0, false, &u));
  ASSERT_EQ (u.uid, 1000);
  ASSERT_EQ (u.gid, 1000);
  ASSERT_STREQ (u.home, "/home/alice");
  ASSERT_TRUE (sbx_user_lookup_passwd (passwd, "last", 0, false, &u)); /* no final newline */
  ASSERT_EQ (u.uid, 1003);
  ASSERT_STREQ (u.home, "/home/last");
  sbx_user_release (&u);
}

TEST (passwd_lookup_by_uid_first_match)
{
  struct sbx_user u = { 0 };

  ASSERT_TRUE (sbx_user_lookup_passwd (passwd, NULL, 1000, true, &u));
  ASSERT_EQ (u.gid, 1000);
  ASSERT_STREQ (u.home, "/home/alice");
  ASSERT_TRUE (sbx_user_lookup_passwd (passwd, NULL, 0, true, &u));
  ASSERT_EQ (u.gid, 0);
  ASSERT_STREQ (u.home, "/root");
  sbx_user_release (&u);
}

TEST (passwd_lookup_empty_home)
{
  struct sbx_user u = { 0 };

  ASSERT_TRUE (sbx_user_lookup_passwd (passwd, "nohome", 0, false, &u));
  ASSERT_STREQ (u.home, "/");
  sbx_user_release (&u);
}

TEST (passwd_lookup_misses)
{
  struct sbx_user u = { 0 };

  ASSERT_FALSE (sbx_user_lookup_passwd (passwd, "ali", 0, false, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd (passwd, "badid", 0, false, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd (passwd, "short", 0, false, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd (passwd, "broken line without fields", 0, false, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd (passwd, NULL, 5, true, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd (passwd, NULL, 4242, true, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd ("", "root", 0, false, &u));
  ASSERT_FALSE (sbx_user_lookup_passwd (NULL, "root", 0, false, &u));
  ASSERT_NULL (u.home);
}

/* ---- sbx_user_resolve ---- */

static int
make_rootfs (const char *passwd_content, const char *group_content)
{
  cleanup_close int tmp = open (TEST_TMPDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int etc = -1;
  int fd;

  ASSERT_GE (tmp, 0);
  ASSERT_EQ (mkdirat (tmp, "rootfs", 0755), 0);
  ASSERT_EQ (mkdirat (tmp, "rootfs/etc", 0755), 0);
  etc = openat (tmp, "rootfs/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (etc, 0);
  if (passwd_content)
    {
      cleanup_close int f = openat (etc, "passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      ASSERT_EQ (write (f, passwd_content, strlen (passwd_content)),
                 (ssize_t) strlen (passwd_content));
    }
  if (group_content)
    {
      cleanup_close int f = openat (etc, "group", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      ASSERT_EQ (write (f, group_content, strlen (group_content)),
                 (ssize_t) strlen (group_content));
    }
  fd = openat (tmp, "rootfs", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE (fd, 0);
  return fd;
}

static void
resolve_ok (int rootfd, const char *spec, struct sbx_user *u)
{
  cleanup_error struct sbx_error *err = NULL;
  int ret = sbx_user_resolve (rootfd, spec, u, &err);

  if (ret < 0)
    printf ("# -u %s: %s\n", spec ? spec : "(null)", err->msg);
  ASSERT_EQ (ret, 0);
  ASSERT_NULL (err);
}

static void
resolve_fails (int rootfd, const char *spec, int code, const char *why)
{
  cleanup_error struct sbx_error *err = NULL;
  struct sbx_user u;

  ASSERT_EQ (sbx_user_resolve (rootfd, spec, &u, &err), -1);
  ASSERT_NOT_NULL (err);
  ASSERT_EQ (sbx_error_code (err), code);
  ASSERT_STRSTR (err->msg, why);
  sbx_user_release (&u);
}

static bool
has_group (const struct sbx_user *u, gid_t g)
{
  size_t i;

  for (i = 0; i < u->n_groups; i++)
    if (u->groups[i] == g)
      return true;
  return false;
}

TEST (resolve_default_is_root)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);
  struct sbx_user u;

  resolve_ok (rootfd, NULL, &u);
  ASSERT_EQ (u.uid, 0);
  ASSERT_EQ (u.gid, 0);
  ASSERT_STREQ (u.home, "/root");
  sbx_user_release (&u);
  resolve_ok (rootfd, "", &u);
  ASSERT_EQ (u.uid, 0);
  sbx_user_release (&u);
}

TEST (resolve_numeric_uid)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);
  struct sbx_user u;

  resolve_ok (rootfd, "1000", &u);
  ASSERT_EQ (u.uid, 1000);
  ASSERT_EQ (u.gid, 1000);
  ASSERT_STREQ (u.home, "/home/alice");
  sbx_user_release (&u);
  /* A uid without a passwd entry is allowed.  */
  resolve_ok (rootfd, "4242", &u);
  ASSERT_EQ (u.uid, 4242);
  ASSERT_STREQ (u.home, "/");
  ASSERT_EQ (u.n_groups, 0);
  sbx_user_release (&u);
}

TEST (resolve_uid_gid)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);
  struct sbx_user u;

  resolve_ok (rootfd, "1000:50", &u);
  ASSERT_EQ (u.uid, 1000);
  ASSERT_EQ (u.gid, 50);
  sbx_user_release (&u);
  resolve_ok (rootfd, "4242:4343", &u);
  ASSERT_EQ (u.uid, 4242);
  ASSERT_EQ (u.gid, 4343);
  sbx_user_release (&u);
  resolve_ok (rootfd, "1001:staff", &u);
  ASSERT_EQ (u.uid, 1001);
  ASSERT_EQ (u.gid, 50);
  sbx_user_release (&u);
}

TEST (resolve_name)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);
  struct sbx_user u;

  resolve_ok (rootfd, "bob", &u);
  ASSERT_EQ (u.uid, 1001);
  ASSERT_EQ (u.gid, 1001);
  ASSERT_STREQ (u.home, "/home/bob");
  sbx_user_release (&u);
}

TEST (resolve_name_supplementary_groups)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);
  struct sbx_user u;

  /* As initgroups(3): the primary group first, then the memberships.  */
  resolve_ok (rootfd, "alice", &u);
  ASSERT_EQ (u.n_groups, 3);
  ASSERT_EQ (u.groups[0], u.gid);
  ASSERT_TRUE (has_group (&u, 10));
  ASSERT_TRUE (has_group (&u, 29));
  sbx_user_release (&u);
  ASSERT_NULL (u.groups);
  ASSERT_EQ (u.n_groups, 0);

  resolve_ok (rootfd, "bob", &u);
  ASSERT_EQ (u.n_groups, 3);
  ASSERT_TRUE (has_group (&u, 10));
  ASSERT_TRUE (has_group (&u, 60));
  ASSERT_FALSE (has_group (&u, 44)); /* "bobby" is not "bob" */
  sbx_user_release (&u);

  resolve_ok (rootfd, "daemon", &u);
  ASSERT_EQ (u.n_groups, 1); /* just the primary group */
  ASSERT_EQ (u.groups[0], u.gid);
  sbx_user_release (&u);
}

TEST (resolve_name_group)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);
  struct sbx_user u;

  resolve_ok (rootfd, "alice:audio", &u);
  ASSERT_EQ (u.uid, 1000);
  ASSERT_EQ (u.gid, 29);
  sbx_user_release (&u);
  resolve_ok (rootfd, "alice:77", &u);
  ASSERT_EQ (u.uid, 1000);
  ASSERT_EQ (u.gid, 77);
  sbx_user_release (&u);
}

TEST (resolve_unknown_names)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);

  resolve_fails (rootfd, "mallory", 0, "unable to find user `mallory`");
  resolve_fails (rootfd, "ali", 0, "unable to find user `ali`");
  resolve_fails (rootfd, "alice:nogroup", 0, "unable to find group `nogroup`");
  resolve_fails (rootfd, "1000:badgid", 0, "unable to find group `badgid`");
  resolve_fails (rootfd, "mallory:staff", 0, "unable to find user `mallory`");
}

TEST (resolve_malformed_specs)
{
  cleanup_close int rootfd = make_rootfs (passwd, group);

  resolve_fails (rootfd, ":", EINVAL, "expected USER[:GROUP]");
  resolve_fails (rootfd, "alice:", EINVAL, "expected USER[:GROUP]");
  resolve_fails (rootfd, ":50", EINVAL, "expected USER[:GROUP]");
  resolve_fails (rootfd, "4294967296", ERANGE, "invalid user `4294967296`");
  resolve_fails (rootfd, "1000:4294967296", ERANGE, "invalid user `1000:4294967296`");
}

TEST (resolve_without_passwd_or_group)
{
  cleanup_close int rootfd = make_rootfs (NULL, NULL);
  struct sbx_user u;

  resolve_ok (rootfd, NULL, &u);
  ASSERT_EQ (u.uid, 0);
  ASSERT_EQ (u.gid, 0);
  ASSERT_STREQ (u.home, "/");
  sbx_user_release (&u);
  resolve_ok (rootfd, "123:456", &u);
  ASSERT_EQ (u.uid, 123);
  ASSERT_EQ (u.gid, 456);
  sbx_user_release (&u);
  resolve_fails (rootfd, "alice", 0, "unable to find user");
  resolve_fails (rootfd, "0:staff", 0, "unable to find group");
}

TEST (resolve_reads_files_inside_rootfs)
{
  cleanup_close int rootfd = make_rootfs (NULL, NULL);
  struct sbx_user u;
  char hostpw[PATH_MAX];

  /* etc/passwd is an absolute symlink: it must be read inside the rootfs,
     where it names a decoy, and never from the host.  */
  ASSERT_LT (snprintf (hostpw, sizeof hostpw, "%s/rootfs/etc/real-passwd", TEST_TMPDIR),
             (int) sizeof hostpw);
  {
    cleanup_close int f = open (hostpw, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    const char *pw = "zed:x:777:778::/home/zed:/bin/sh\n";

    ASSERT_EQ (write (f, pw, strlen (pw)), (ssize_t) strlen (pw));
  }
  ASSERT_LT (snprintf (hostpw, sizeof hostpw, "%s/rootfs/etc/passwd", TEST_TMPDIR),
             (int) sizeof hostpw);
  ASSERT_EQ (symlink ("/etc/real-passwd", hostpw), 0);
  resolve_ok (rootfd, "zed", &u);
  ASSERT_EQ (u.uid, 777);
  ASSERT_EQ (u.gid, 778);
  sbx_user_release (&u);
  resolve_fails (rootfd, "root", 0, "unable to find user `root`"); /* not the host's */
}

TEST_MAIN

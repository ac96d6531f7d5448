/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "util/fd.h"

/* The size of this process's descriptor table, as the kernel reports it.  */
static long
fd_table_size (void)
{
  FILE *f = fopen ("/proc/self/status", "re");
  char line[256];
  long size = -1;

  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "FDSize: %ld", &size) == 1)
      break;
  fclose (f);
  return size;
}

/* The lowest free descriptor number.  */
static int
lowest_free (void)
{
  int fd = open ("/", O_PATH | O_CLOEXEC);

  if (fd >= 0)
    close (fd);
  return fd;
}

TEST (fd_table_reserve_grows_the_table_and_holds_nothing)
{
  struct rlimit rl;
  int low = lowest_free ();
  long want = 4096;

  ASSERT_TRUE (low >= 0);
  /* Up to the hard limit, as the fuse server does first.  */
  ASSERT_EQ (getrlimit (RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  ASSERT_EQ (setrlimit (RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur != RLIM_INFINITY && (long) rl.rlim_cur < want)
    want = (long) rl.rlim_cur;
  if (fd_table_size () >= want)
    SKIP ("the hard limit on descriptors is no larger than the table already is");
  sbx_fd_table_reserve (4096);
  ASSERT_TRUE (fd_table_size () >= want);
  /* Nothing stays open: the next descriptor is the one before.  */
  ASSERT_EQ (lowest_free (), low);
}

TEST (fd_table_reserve_stays_within_the_soft_limit)
{
  struct rlimit rl;

  ASSERT_EQ (getrlimit (RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = 300;
  ASSERT_EQ (setrlimit (RLIMIT_NOFILE, &rl), 0);
  sbx_fd_table_reserve (4096);
  ASSERT_TRUE (fd_table_size () >= 300);
  ASSERT_TRUE (fd_table_size () < 4096);
  ASSERT_TRUE (lowest_free () < 300);
}

TEST_MAIN

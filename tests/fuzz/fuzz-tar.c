/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for sbx_layer_unpack(): the input is a layer stream
   (tar, gzip or zstd), unpacked into a fresh directory LAYER that is the
   only entry of its parent.  Checks, beyond "no crash, no leak, no UB":
   - nothing appears beside LAYER (an entry that escaped would land there
     or above: "../x", symlinks to "..", hardlinks out);
   - a failed unpack sets an error message;
   - a successful unpack can be written back with sbx_layer_write_tar(), and
     that tar unpacks again with the same DiffID that write_tar reported.
   abort() on a violation, which libFuzzer reports as a crash.
   See tests/fuzz/README.md.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer/layer.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/log.h"

#define MAX_INPUT_SIZE (1 << 20)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fail (const char *what, const char *detail)
{
  fprintf (stderr, "fuzz-tar: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort ();
}

static int
rm_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (type == FTW_D || type == FTW_DNR)
    (void) chmod (path, 0700);
  else if (type == FTW_DP)
    (void) rmdir (path);
  else
    (void) unlink (path);
  return 0;
}

static void
rm_tree (const char *path)
{
  /* first pass: make every directory enterable and writable */
  (void) nftw (path, rm_entry, 16, FTW_PHYS | FTW_MOUNT);
  (void) nftw (path, rm_entry, 16, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
}

/* The parent holds LAYER and nothing else.  */
static void
check_contained (const char *parent, const char *what)
{
  DIR *d = opendir (parent);
  struct dirent *de;

  if (d == NULL)
    fail ("opendir parent", strerror (errno));
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
          || strcmp (de->d_name, "layer") == 0 || strcmp (de->d_name, "again") == 0)
        continue;
      fprintf (stderr, "fuzz-tar: %s wrote `%s` beside the layer\n", what, de->d_name);
      abort ();
    }
  closedir (d);
}

static int
memfd_with (const void *data, size_t size)
{
  int fd = memfd_create ("fuzz-tar", MFD_CLOEXEC);

  if (fd < 0)
    fail ("memfd_create", strerror (errno));
  if (size && write (fd, data, size) != (ssize_t) size)
    fail ("write memfd", strerror (errno));
  if (lseek (fd, 0, SEEK_SET) != 0)
    fail ("lseek", strerror (errno));
  return fd;
}

static int
make_dir (const char *parent, const char *name)
{
  char path[PATH_MAX];
  int fd;

  snprintf (path, sizeof path, "%s/%s", parent, name);
  if (mkdir (path, 0755) < 0)
    fail ("mkdir", strerror (errno));
  fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail ("open layer", strerror (errno));
  return fd;
}

/* Write LAYERFD back as a tar and unpack that into "again".  */
static void
check_write_back (const char *parent, int layerfd)
{
  struct sbx_layer_stats stats;
  struct sbx_error *err = NULL;
  struct sbx_digest written;
  int tarfd = memfd_create ("fuzz-tar-out", MFD_CLOEXEC);
  int againfd;

  if (tarfd < 0)
    fail ("memfd_create", strerror (errno));
  if (sbx_layer_write_tar (layerfd, tarfd, NULL, 0, &written, &err) < 0)
    {
      /* only root reads every file the layer may hold (mode 0000) */
      if (geteuid () == 0)
        fail ("write_tar of an unpacked layer failed", err->msg);
      sbx_error_free (err);
      close (tarfd);
      return;
    }
  if (lseek (tarfd, 0, SEEK_SET) != 0)
    fail ("lseek", strerror (errno));
  againfd = make_dir (parent, "again");
  if (sbx_layer_unpack (tarfd, againfd, NULL, &stats, &err) < 0)
    fail ("unpacking what write_tar wrote failed", err->msg);
  if (! sbx_digest_equal (&stats.diff_id, &written))
    fail ("DiffID of the written tar differs", NULL);
  close (againfd);
  close (tarfd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static bool quiet;
  const char *tmp = getenv ("TMPDIR");
  char parent[PATH_MAX];
  struct sbx_layer_stats stats;
  struct sbx_error *err = NULL;
  int fd, layerfd, ret;

  if (size > MAX_INPUT_SIZE)
    return 0;
  if (! quiet)
    {
      sbx_log_init (SBX_LOG_ERROR, SBX_LOG_FORMAT_TEXT); /* no warning per skipped entry */
      quiet = true;
    }
  snprintf (parent, sizeof parent, "%s/fuzz-tar-XXXXXX",
            tmp && *tmp ? tmp : (access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"));
  if (mkdtemp (parent) == NULL)
    fail ("mkdtemp", strerror (errno));
  fd = memfd_with (data, size);
  layerfd = make_dir (parent, "layer");

  ret = sbx_layer_unpack (fd, layerfd, NULL, &stats, &err);
  check_contained (parent, "unpack");
  if (ret < 0 && (err == NULL || err->msg == NULL || *err->msg == '\0'))
    fail ("failure without a message", NULL);
  if (ret == 0 && ! sbx_digest_is_set (&stats.diff_id))
    fail ("success without a DiffID", NULL);
  if (ret == 0)
    {
      check_write_back (parent, layerfd);
      check_contained (parent, "write back");
    }
  sbx_error_free (err);
  close (layerfd);
  close (fd);
  rm_tree (parent);
  return 0;
}

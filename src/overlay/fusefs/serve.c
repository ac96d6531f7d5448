/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The server: a libfuse session on an already open (and mounted) /dev/fuse
   connection, passed to libfuse as the mountpoint "/dev/fd/N" (libfuse >=
   3.3), so libfuse neither mounts nor runs fusermount3.  */
#define SBX_LOG_MODULE "fusefs"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/fusefs/fuse-api.h"
#include "overlay/fusefs/internal.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

struct fusefs_server
{
  struct fusefs *fs;
  struct fuse_session *se;
  int fusefd; /* until the session owns it */
};

static void
log_from_libfuse (enum fuse_log_level level, const char *fmt, va_list ap)
{
  char msg[512];
  size_t len;

  vsnprintf (msg, sizeof msg, fmt, ap);
  len = strlen (msg);
  if (len > 0 && msg[len - 1] == '\n')
    msg[len - 1] = '\0';
  if (level <= FUSE_LOG_ERR)
    sbx_error_log ("libfuse: %s", msg);
  else if (level <= FUSE_LOG_WARNING)
    sbx_warn ("libfuse: %s", msg);
  else
    sbx_debug ("libfuse: %s", msg);
}

struct fusefs_server *
fusefs_server_new (int fusefd, const struct fusefs_config *cfg, struct sbx_error **err)
{
  struct fusefs_server *s = xzalloc (sizeof *s);
  char *argv[] = { (char *) "sbx-fuse", NULL };
  struct fuse_args args = FUSE_ARGS_INIT (1, argv);
  char dev[32];

  s->fusefd = fusefd;
  /* Modes come from the kernel with the caller's umask applied.  */
  umask (0);
  fuse_set_log_func (log_from_libfuse);
  s->fs = fs_new (cfg, err);
  if (s->fs == NULL)
    {
      fusefs_server_free (s);
      return NULL;
    }
  s->se = fuse_session_new (&args, &fusefs_ops, sizeof fusefs_ops, s->fs);
  fuse_opt_free_args (&args);
  if (s->se == NULL)
    {
      fusefs_server_free (s);
      sbx_err (err, EIO, "create the FUSE session");
      return NULL;
    }
  snprintf (dev, sizeof dev, "/dev/fd/%d", fusefd);
  if (fuse_session_mount (s->se, dev) != 0)
    {
      fusefs_server_free (s);
      sbx_err (err, EIO, "attach the FUSE session to `%s`", dev);
      return NULL;
    }
  s->fusefd = -1; /* the session's now */
  return s;
}

int
fusefs_server_run (struct fusefs_server *s)
{
  struct fuse_loop_config cfg = { .clone_fd = 0, .max_idle_threads = 10 };
  int r;

  r = fuse_session_loop_mt (s->se, &cfg);
  if (r != 0)
    sbx_error_log ("the FUSE session ended with an error (%d)", r);
  return r == 0 ? 0 : -1;
}

void
fusefs_server_free (struct fusefs_server *s)
{
  if (s == NULL)
    return;
  if (s->se)
    fuse_session_destroy (s->se);
  if (s->fusefd >= 0)
    (void) close (s->fusefd);
  fs_free (s->fs);
  free (s);
}

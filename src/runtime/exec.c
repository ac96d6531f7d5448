/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int
exec_status (int e)
{
  return (e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG) ? 127 : 126;
}

int
exec_command (char *const *argv, char *const *env, int *status, struct sbx_error **err)
{
  const char *path = sbx_env_get (env, "PATH");
  const char *name = argv[0];
  int first_err = 0;
  const char *p;

  if (name == NULL || *name == '\0')
    {
      *status = 127;
      return sbx_err (err, ENOENT, "no command given");
    }
  if (strchr (name, '/'))
    {
      execve (name, argv, env);
      *status = exec_status (errno);
      return sbx_err_errno (err, "exec `%s`", name);
    }
  if (path == NULL)
    path = DEFAULT_PATH;
  /* execvpe() would search the monitor's PATH, not the container's.  */
  for (p = path;; p++)
    {
      const char *e = strchrnul (p, ':');
      cleanup_free char *full
          = e == p ? xasprintf ("./%s", name) : xasprintf ("%.*s/%s", (int) (e - p), p, name);

      execve (full, argv, env);
      if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && first_err == 0)
        first_err = errno; /* remember EACCES, keep looking, as execvp does */
      p = e;
      if (*p == '\0')
        break;
    }
  if (first_err)
    {
      *status = exec_status (first_err);
      return sbx_err_code (err, first_err, "exec `%s`", name);
    }
  *status = 127;
  return sbx_err (err, 0, "exec `%s`: executable file not found in $PATH", name);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/child.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

extern char **environ;

bool
sbx_child_find_program (const char *name, char **path_out)
{
  const char *path = getenv ("PATH");
  const char *p;

  if (strchr (name, '/'))
    {
      if (access (name, X_OK) != 0)
        return false;
      if (path_out)
        *path_out = xstrdup (name);
      return true;
    }
  if (path == NULL || *path == '\0')
    path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  for (p = path; *p;)
    {
      const char *e = strchrnul (p, ':');
      cleanup_free char *full = xasprintf ("%.*s/%s", (int) (e - p), p, name);
      struct stat st;

      if (e > p && stat (full, &st) == 0 && S_ISREG (st.st_mode) && access (full, X_OK) == 0)
        {
          if (path_out)
            *path_out = steal_ptr (&full);
          return true;
        }
      p = *e ? e + 1 : e;
    }
  return false;
}

int
sbx_child_run (char *const *argv, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf out = SBX_STRBUF_INIT;
  posix_spawn_file_actions_t fa;
  cleanup_close int rd = -1;
  int pipefd[2];
  pid_t pid;
  int status;
  int r;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return sbx_err_errno (err, "pipe");
  rd = pipefd[0];
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], STDERR_FILENO);
  r = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  (void) close (pipefd[1]);
  if (r != 0)
    return sbx_err_code (err, r, "run `%s`", argv[0]);

  for (;;)
    {
      char buf[512];
      ssize_t n = read (rd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (out.len < 4096)
        sbx_strbuf_add (&out, buf, (size_t) n);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return sbx_err_errno (err, "wait for `%s`", argv[0]);

  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  {
    char *nl = strchr (out.buf, '\n');

    if (nl)
      *nl = '\0';
    if (WIFEXITED (status))
      return sbx_err (err, 0, "`%s` exited with status %d%s%s", argv[0], WEXITSTATUS (status),
                      out.len ? ": " : "", out.buf);
    return sbx_err (err, 0, "`%s` killed by signal %d", argv[0], WTERMSIG (status));
  }
}

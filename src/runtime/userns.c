/* SPDX-License-Identifier: GPL-2.0-or-later */
#define SBX_LOG_MODULE "userns"
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/child.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hints.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *const subuid_file = "/etc/subuid";
static const char *const subgid_file = "/etc/subgid";

bool
sbx_userns_parse_subid (const char *content, const char *user, uint32_t id,
                        struct sbx_subid_range *out)
{
  const char *line = content;
  char idbuf[16];

  snprintf (idbuf, sizeof idbuf, "%u", id);
  while (line && *line)
    {
      const char *end = strchrnul (line, '\n');
      cleanup_free char *l = xstrndup (line, (size_t) (end - line));
      cleanup_error struct sbx_error *err = NULL;
      char *c1 = strchr (l, ':');
      char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      uint32_t start, count;

      line = *end ? end + 1 : end;
      if (c1 == NULL || c2 == NULL || l[0] == '#')
        continue;
      *c1 = *c2 = '\0';
      if (l[0] == '\0' || ((user == NULL || strcmp (l, user) != 0) && strcmp (l, idbuf) != 0))
        continue;
      if (sbx_parse_u32 (c1 + 1, &start, "start", &err) < 0
          || sbx_parse_u32 (c2 + 1, &count, "count", &err) < 0 || count == 0)
        continue;
      if ((uint64_t) start + count > UINT32_MAX)
        continue;
      out->start = start;
      out->count = count;
      return true;
    }
  return false;
}

static bool
find_subid (const char *file, const char *user, uint32_t id, struct sbx_subid_range *out)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_free char *content = sbx_fs_read_file_at (AT_FDCWD, file, 1 << 20, NULL, &err);

  return content && sbx_userns_parse_subid (content, user, id, out);
}

void
sbx_userns_detect (struct sbx_userns_plan *plan)
{
  const char *force = getenv ("SBX_USERNS_MODE");
  struct passwd *pw;
  const char *name;

  memset (plan, 0, sizeof *plan);
  plan->uid = getuid ();
  plan->gid = getgid ();
  plan->mode = SBX_USERNS_SINGLE;
  pw = getpwuid (plan->uid);
  name = pw ? pw->pw_name : NULL;

  if (force && strcmp (force, "single") == 0)
    {
      snprintf (plan->reason, sizeof plan->reason, "forced by SBX_USERNS_MODE=single");
      return;
    }
  if (! find_subid (subuid_file, name, plan->uid, &plan->subuid))
    {
      snprintf (plan->reason, sizeof plan->reason, "no %s entry for %s", subuid_file,
                name ? name : "this uid");
      return;
    }
  if (! find_subid (subgid_file, name, plan->uid, &plan->subgid))
    {
      snprintf (plan->reason, sizeof plan->reason, "no %s entry for %s", subgid_file,
                name ? name : "this uid");
      return;
    }
  if (! sbx_child_find_program ("newuidmap", NULL) || ! sbx_child_find_program ("newgidmap", NULL))
    {
      snprintf (plan->reason, sizeof plan->reason, "newuidmap/newgidmap not installed");
      return;
    }
  plan->mode = SBX_USERNS_SUBUID;
  snprintf (plan->reason, sizeof plan->reason, "subordinate ids %u+%u (uid) %u+%u (gid) for %s",
            plan->subuid.start, plan->subuid.count, plan->subgid.start, plan->subgid.count,
            name ? name : "this uid");
}

size_t
sbx_userns_map_lines (const struct sbx_userns_plan *plan, bool keep_id, bool gid,
                      struct sbx_idmap_line lines[3])
{
  uint32_t self = gid ? plan->gid : plan->uid;
  const struct sbx_subid_range *sub = gid ? &plan->subgid : &plan->subuid;
  uint32_t count;
  size_t n = 0;

  if (plan->mode == SBX_USERNS_SINGLE)
    {
      lines[0] = (struct sbx_idmap_line){ keep_id ? self : 0, self, 1 };
      return 1;
    }
  count = sub->count < SBX_SUBID_MAX ? sub->count : SBX_SUBID_MAX;
  if (! keep_id || self == 0)
    {
      lines[n++] = (struct sbx_idmap_line){ 0, self, 1 };
      lines[n++] = (struct sbx_idmap_line){ 1, sub->start, count };
      return n;
    }
  /* keep-id: 0..self-1 and self+1.. come from the range, self is the user.  */
  lines[n++] = (struct sbx_idmap_line){ 0, sub->start, count < self ? count : self };
  lines[n++] = (struct sbx_idmap_line){ self, self, 1 };
  if (count > self)
    lines[n++] = (struct sbx_idmap_line){ self + 1, sub->start + self, count - self };
  return n;
}

static int
run_idmap_helper (const char *prog, pid_t pid, const struct sbx_idmap_line *lines, size_t n,
                  struct sbx_error **err)
{
  cleanup_strv char **argv = NULL;
  size_t i;

  sbx_strv_push (&argv, prog);
  sbx_strv_push_take (&argv, xasprintf ("%d", (int) pid));
  for (i = 0; i < n; i++)
    {
      sbx_strv_push_take (&argv, xasprintf ("%u", lines[i].inside));
      sbx_strv_push_take (&argv, xasprintf ("%u", lines[i].outside));
      sbx_strv_push_take (&argv, xasprintf ("%u", lines[i].count));
    }
  if (sbx_child_run (argv, err) < 0)
    {
      sbx_err_prefix (err, "write id map with %s", prog);
      return sbx_err_hint (err, SBX_HINT_NEWUIDMAP);
    }
  return 0;
}

static int
write_proc_file (pid_t pid, const char *file, const char *content, struct sbx_error **err)
{
  char path[64];
  cleanup_close int fd = -1;

  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", path);
  if (write (fd, content, strlen (content)) < 0)
    return sbx_err_errno (err, "write `%s`", path);
  return 0;
}

int
sbx_userns_write_maps (pid_t pid, const struct sbx_userns_plan *plan, bool keep_id,
                       struct sbx_error **err)
{
  struct sbx_idmap_line uids[3], gids[3];
  size_t nu = sbx_userns_map_lines (plan, keep_id, false, uids);
  size_t ng = sbx_userns_map_lines (plan, keep_id, true, gids);
  char line[64];

  if (plan->mode == SBX_USERNS_SUBUID)
    {
      if (run_idmap_helper ("newuidmap", pid, uids, nu, err) < 0)
        return -1;
      return run_idmap_helper ("newgidmap", pid, gids, ng, err);
    }
  /* Single mode: an unprivileged process may map only its own ids, and the
     gid map needs setgroups denied first (user_namespaces(7)).  */
  if (write_proc_file (pid, "setgroups", "deny", err) < 0)
    return -1;
  snprintf (line, sizeof line, "%u %u 1\n", uids[0].inside, uids[0].outside);
  if (write_proc_file (pid, "uid_map", line, err) < 0)
    return -1;
  snprintf (line, sizeof line, "%u %u 1\n", gids[0].inside, gids[0].outside);
  return write_proc_file (pid, "gid_map", line, err);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/strv.h"
#include "util/xalloc.h"

void
sbx_user_release (struct sbx_user *u)
{
  free (u->name);
  free (u->home);
  free (u->groups);
  u->name = NULL;
  u->home = NULL;
  u->groups = NULL;
  u->n_groups = 0;
}

/* Split LINE (a copy) at ':' into at most N fields.  */
static size_t
split_fields (char *line, char **fields, size_t n)
{
  size_t i = 0;

  while (i < n)
    {
      fields[i++] = line;
      line = strchr (line, ':');
      if (line == NULL)
        break;
      *line++ = '\0';
    }
  return i;
}

bool
sbx_user_lookup_passwd (const char *content, const char *name, uint32_t uid, bool by_uid,
                        struct sbx_user *out)
{
  const char *line = content;

  while (line && *line)
    {
      const char *end = strchrnul (line, '\n');
      cleanup_free char *l = xstrndup (line, (size_t) (end - line));
      cleanup_error struct sbx_error *err = NULL;
      char *f[7];
      uint32_t u, g;

      line = *end ? end + 1 : end;
      if (split_fields (l, f, 7) < 7)
        continue;
      if (sbx_parse_u32 (f[2], &u, "uid", &err) < 0 || sbx_parse_u32 (f[3], &g, "gid", &err) < 0)
        continue;
      if (by_uid ? u != uid : strcmp (f[0], name) != 0)
        continue;
      out->uid = u;
      out->gid = g;
      free (out->home);
      free (out->name);
      out->home = xstrdup (*f[5] ? f[5] : "/");
      out->name = xstrdup (f[0]);
      return true;
    }
  return false;
}

/* Find group NAME (or, by gid, GID) in /etc/group text.  */
static bool
lookup_group (const char *content, const char *name, gid_t *gid)
{
  const char *line = content;

  while (line && *line)
    {
      const char *end = strchrnul (line, '\n');
      cleanup_free char *l = xstrndup (line, (size_t) (end - line));
      cleanup_error struct sbx_error *err = NULL;
      char *f[4];
      uint32_t g;

      line = *end ? end + 1 : end;
      if (split_fields (l, f, 4) < 3)
        continue;
      if (strcmp (f[0], name) == 0 && sbx_parse_u32 (f[2], &g, "gid", &err) == 0)
        {
          *gid = g;
          return true;
        }
    }
  return false;
}

/* Supplementary groups, as initgroups(3): the primary group first, then
   every group whose member list names USER.  */
static void
collect_groups (const char *content, const char *user, struct sbx_user *out)
{
  const char *line = content;

  out->groups = xrealloc (out->groups, sizeof (gid_t));
  out->groups[0] = out->gid;
  out->n_groups = 1;

  while (line && *line)
    {
      const char *end = strchrnul (line, '\n');
      cleanup_free char *l = xstrndup (line, (size_t) (end - line));
      cleanup_error struct sbx_error *err = NULL;
      char *f[4], *m, *save = NULL;
      uint32_t g;

      line = *end ? end + 1 : end;
      if (split_fields (l, f, 4) < 4 || sbx_parse_u32 (f[2], &g, "gid", &err) < 0)
        continue;
      for (m = strtok_r (f[3], ",", &save); m; m = strtok_r (NULL, ",", &save))
        if (strcmp (m, user) == 0 && g != out->gid)
          {
            out->groups = xrealloc (out->groups, xmul (out->n_groups + 1, sizeof (gid_t)));
            out->groups[out->n_groups++] = g;
            break;
          }
    }
}

static char *
read_rootfs_file (int rootfd, const char *path)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_close int fd = sbx_fs_open_in_root (rootfd, path, O_RDONLY, 0, &err);

  if (fd < 0)
    return NULL;
  return sbx_fs_read_fd (fd, 16 << 20, NULL, &err);
}

static bool
is_number (const char *s)
{
  return *s && strspn (s, "0123456789") == strlen (s);
}

int
sbx_user_resolve (int rootfd, const char *spec, struct sbx_user *out, struct sbx_error **err)
{
  cleanup_free char *passwd = NULL;
  cleanup_free char *group = NULL;
  cleanup_free char *user = NULL;
  const char *grp = NULL;
  char *colon;

  memset (out, 0, sizeof *out);
  passwd = read_rootfs_file (rootfd, "/etc/passwd");
  group = read_rootfs_file (rootfd, "/etc/group");
  user = xstrdup (spec && *spec ? spec : "0");
  colon = strchr (user, ':');
  if (colon)
    {
      *colon = '\0';
      grp = colon + 1;
      if (*grp == '\0' || *user == '\0')
        return sbx_err (err, EINVAL, "invalid user `%s`: expected USER[:GROUP]", spec);
    }

  if (is_number (user))
    {
      uint32_t uid;

      if (sbx_parse_u32 (user, &uid, "uid", err) < 0)
        return sbx_err_prefix (err, "invalid user `%s`", spec);
      if (! passwd || ! sbx_user_lookup_passwd (passwd, NULL, uid, true, out))
        {
          /* A uid without a passwd entry is allowed, as in Docker.  */
          out->uid = uid;
          out->gid = 0; /* as runc: a uid without an entry gets group 0 */
          out->home = xstrdup ("/");
        }
    }
  else if (! passwd || ! sbx_user_lookup_passwd (passwd, user, 0, false, out))
    return sbx_err (err, 0, "unable to find user `%s`: no matching entry in passwd file", user);

  if (grp)
    {
      uint32_t g;

      if (is_number (grp))
        {
          if (sbx_parse_u32 (grp, &g, "gid", err) < 0)
            return sbx_err_prefix (err, "invalid user `%s`", spec);
          out->gid = g;
        }
      else if (group && lookup_group (group, grp, &out->gid))
        ;
      else
        return sbx_err (err, 0, "unable to find group `%s`: no matching entry in group file", grp);
    }
  else if (group && out->name)
    collect_groups (group, out->name, out);
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Volumes: volumes/<name>/{_data/,volume.json}.  A volume appears only by
   rename() of a complete staging directory and goes by rename() to tmp/
   before it is removed, so no reader sees half of one.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define VOLUME_RECORD "volume.json"
#define VOLUME_DATA "_data"

bool
sbx_volume_name_is_valid (const char *name)
{
  static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t n = strlen (name);

  /* Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least two characters).  */
  return n >= 2 && n <= 255 && strchr (alnum, name[0]) != NULL && name[0] != '\0'
         && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

void
sbx_volume_free (struct sbx_volume *v)
{
  if (v == NULL)
    return;
  free (v->name);
  free (v->mountpoint);
  sbx_strv_free (v->labels);
  free (v);
}

void
sbx_volume_list_free (struct sbx_volume **list, size_t n)
{
  size_t i;

  for (i = 0; list && i < n; i++)
    sbx_volume_free (list[i]);
  free (list);
}

static int
open_volumes (struct sbx_store *s, struct sbx_error **err)
{
  int fd;

  if (mkdirat (s->rootfd, "volumes", 0700) < 0 && errno != EEXIST)
    return sbx_err_errno (err, "create `volumes`");
  fd = openat (s->rootfd, "volumes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `volumes`");
  return fd;
}

static int
check_name (const char *name, struct sbx_error **err)
{
  if (! sbx_volume_name_is_valid (name))
    return sbx_err (err, EINVAL,
                    "invalid volume name `%s`: at least two characters from "
                    "[a-zA-Z0-9_.-], starting with a letter or digit",
                    name);
  return 0;
}

static char *
record_text (const char *name, int64_t created, char *const *labels, bool anonymous)
{
  json_auto_t *o = json_object ();
  json_t *l = json_object ();
  size_t i;

  for (i = 0; labels && labels[i]; i++)
    {
      const char *eq = strchr (labels[i], '=');
      cleanup_free char *k
          = xstrndup (labels[i], eq ? (size_t) (eq - labels[i]) : strlen (labels[i]));

      json_object_set_new (l, k, json_string (eq ? eq + 1 : ""));
    }
  json_object_set_new (o, "name", json_string (name));
  json_object_set_new (o, "created", json_integer (created));
  json_object_set_new (o, "labels", l);
  json_object_set_new (o, "anonymous", json_boolean (anonymous));
  return json_dumps (o, JSON_INDENT (2) | JSON_SORT_KEYS);
}

static int
load_record (struct sbx_store *s, int volsfd, const char *name, struct sbx_volume **out,
             struct sbx_error **err)
{
  cleanup_free char *path = xasprintf ("%s/" VOLUME_RECORD, name);
  cleanup_free char *text = NULL;
  json_auto_t *o = NULL;
  struct sbx_volume *v;
  const char *key;
  json_t *val;
  size_t len = 0;

  text = sbx_fs_read_file_at (volsfd, path, 1 << 20, &len, err);
  if (text == NULL)
    {
      if (sbx_error_code (*err) == ENOENT)
        {
          sbx_error_clear (err);
          return sbx_err (err, ENOENT, "no such volume `%s`", name);
        }
      return sbx_err_prefix (err, "volume `%s`", name);
    }
  o = json_loadb (text, len, 0, NULL);
  if (! json_is_object (o))
    return sbx_err (err, EINVAL, "volume `%s`: invalid record", name);
  v = xzalloc (sizeof *v);
  v->name = xstrdup (name);
  v->mountpoint = xasprintf ("%s/volumes/%s/" VOLUME_DATA, s->root, name);
  v->created = json_integer_value (json_object_get (o, "created"));
  v->anonymous = json_is_true (json_object_get (o, "anonymous"));
  v->labels = sbx_strv_dup (NULL);
  json_object_foreach (json_object_get (o, "labels"), key, val)
  {
    if (json_is_string (val))
      sbx_strv_push_take (&v->labels, xasprintf ("%s=%s", key, json_string_value (val)));
  }
  *out = v;
  return 0;
}

int
sbx_volume_load (struct sbx_store *s, const char *name, struct sbx_volume **out,
                 struct sbx_error **err)
{
  cleanup_close int volsfd = -1;

  if (check_name (name, err) < 0)
    return -1;
  volsfd = open_volumes (s, err);
  if (volsfd < 0)
    return -1;
  return load_record (s, volsfd, name, out, err);
}

int
sbx_volume_create (struct sbx_store *s, const char *name, char *const *labels, bool anonymous,
                   struct sbx_volume **out, struct sbx_error **err)
{
  cleanup_close int volsfd = -1;
  cleanup_free char *staged = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *data = NULL;
  struct sbx_error *ignored = NULL;
  const char *base;
  int r;

  if (check_name (name, err) < 0)
    return -1;
  volsfd = open_volumes (s, err);
  if (volsfd < 0)
    return -1;
  r = load_record (s, volsfd, name, out, err);
  if (r == 0 || sbx_error_code (*err) != ENOENT)
    return r < 0 ? -1 : 0;
  sbx_error_clear (err);

  if (sbx_store_stage_dir (s, "volume", &staged, err) < 0)
    return -1;
  base = strrchr (staged, '/') + 1;
  data = xasprintf ("%s/" VOLUME_DATA, base);
  text = record_text (name, (int64_t) time (NULL), labels, anonymous);
  if (mkdirat (s->tmpfd, data, 0755) < 0)
    r = sbx_err_errno (err, "create volume `%s`", name);
  else
    {
      cleanup_free char *rec = xasprintf ("%s/" VOLUME_RECORD, base);
      r = sbx_fs_write_file_at (s->tmpfd, rec, text, strlen (text), 0600, err);
    }
  /* RENAME_NOREPLACE: when another process made it first, use theirs.  */
  if (r == 0 && renameat2 (s->tmpfd, base, volsfd, name, RENAME_NOREPLACE) == 0)
    return load_record (s, volsfd, name, out, err) < 0 ? -1 : 1;
  if (r == 0 && errno != EEXIST)
    r = sbx_err_errno (err, "publish volume `%s`", name);
  if (sbx_fs_rm_rf_at (s->tmpfd, base, &ignored) < 0)
    sbx_error_clear (&ignored);
  if (r < 0)
    return -1;
  return load_record (s, volsfd, name, out, err);
}

static int
cmp_volumes (const void *a, const void *b)
{
  return strcmp ((*(struct sbx_volume *const *) a)->name, (*(struct sbx_volume *const *) b)->name);
}

int
sbx_volume_list (struct sbx_store *s, struct sbx_volume ***out, size_t *n, struct sbx_error **err)
{
  cleanup_close int volsfd = open_volumes (s, err);
  cleanup_dir DIR *d = NULL;
  struct sbx_volume **list = NULL;
  size_t count = 0;
  struct dirent *e;
  int fd;

  if (volsfd < 0)
    return -1;
  fd = openat (volsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return sbx_err_errno (err, "read `volumes`");
    }
  while ((e = readdir (d)) != NULL)
    {
      struct sbx_volume *v = NULL;
      struct sbx_error *local = NULL;

      if (e->d_name[0] == '.' || ! sbx_volume_name_is_valid (e->d_name))
        continue;
      if (load_record (s, volsfd, e->d_name, &v, &local) < 0)
        {
          sbx_debug ("skip volume `%s`: %s", e->d_name, local->msg);
          sbx_error_clear (&local);
          continue;
        }
      list = xrealloc (list, xmul (count + 1, sizeof *list));
      list[count++] = v;
    }
  if (count > 1)
    qsort (list, count, sizeof *list, cmp_volumes);
  *out = list;
  *n = count;
  return 0;
}

/* Apparent size of the regular files below DIRFD (best effort).  */
static uint64_t
tree_size (int dirfd)
{
  cleanup_dir DIR *d = NULL;
  uint64_t total = 0;
  struct dirent *e;
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return 0;
    }
  while ((e = readdir (d)) != NULL)
    {
      struct stat st;

      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISREG (st.st_mode))
        total += (uint64_t) st.st_size;
      else if (S_ISDIR (st.st_mode))
        {
          cleanup_close int sub
              = openat (dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            total += tree_size (sub);
        }
    }
  return total;
}

int
sbx_volume_remove (struct sbx_store *s, const char *name, uint64_t *freed, struct sbx_error **err)
{
  cleanup_close int volsfd = -1;
  cleanup_free char *tmp = NULL;

  if (check_name (name, err) < 0)
    return -1;
  volsfd = open_volumes (s, err);
  if (volsfd < 0)
    return -1;
  if (freed)
    {
      cleanup_free char *data = xasprintf ("%s/" VOLUME_DATA, name);
      cleanup_close int dfd
          = openat (volsfd, data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      *freed = dfd >= 0 ? tree_size (dfd) : 0;
    }
  /* Out of sight first: a crash leaves garbage in tmp/, not half a volume.  */
  tmp = store_tmp_name ("volume-rm");
  if (renameat (volsfd, name, s->tmpfd, tmp) < 0)
    {
      if (errno == ENOENT)
        return sbx_err (err, ENOENT, "no such volume `%s`", name);
      return sbx_err_errno (err, "remove volume `%s`", name);
    }
  if (sbx_fs_rm_rf_at (s->tmpfd, tmp, err) < 0)
    return sbx_err_prefix (err, "remove volume `%s`", name);
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kept containers: containers/<id>/{config.json,upper,work}.  */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define RECORD "config.json"

void
sbx_container_free (struct sbx_container *c)
{
  if (c == NULL)
    return;
  free (c->id);
  free (c->name);
  free (c->image_name);
  free (c->rootfs);
  sbx_strv_free (c->argv);
  sbx_strv_free (c->env);
  free (c->workdir);
  free (c->user);
  free (c->hostname);
  sbx_strv_free (c->volumes);
  sbx_strv_free (c->tmpfs);
  sbx_strv_free (c->cap_add);
  sbx_strv_free (c->cap_drop);
  free (c->network);
  sbx_strv_free (c->publish);
  sbx_strv_free (c->add_hosts);
  sbx_strv_free (c->dns);
  free (c->driver);
  free (c->upper);
  free (c->work);
  free (c);
}

char *
sbx_container_dir (struct sbx_store *s, const char *id)
{
  return xasprintf ("%s/containers/%s", s->root, id);
}

static json_t *
strv_json (char *const *v)
{
  json_t *a = json_array ();
  size_t i;

  for (i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

static json_t *
str_json (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static json_t *
record_json (const struct sbx_container *c)
{
  char dig[SBX_DIGEST_STR_MAX];
  json_t *o = json_object ();

  json_object_set_new (o, "id", json_string (c->id));
  json_object_set_new (o, "name", json_string (c->name));
  json_object_set_new (o, "image_name", str_json (c->image_name));
  json_object_set_new (
      o, "image",
      str_json (sbx_digest_is_set (&c->image) ? sbx_digest_format (&c->image, dig) : NULL));
  json_object_set_new (o, "rootfs", str_json (c->rootfs));
  json_object_set_new (o, "argv", strv_json (c->argv));
  json_object_set_new (o, "env", strv_json (c->env));
  json_object_set_new (o, "workdir", str_json (c->workdir));
  json_object_set_new (o, "user", str_json (c->user));
  json_object_set_new (o, "hostname", str_json (c->hostname));
  json_object_set_new (o, "volumes", strv_json (c->volumes));
  json_object_set_new (o, "tmpfs", strv_json (c->tmpfs));
  json_object_set_new (o, "cap_add", strv_json (c->cap_add));
  json_object_set_new (o, "cap_drop", strv_json (c->cap_drop));
  json_object_set_new (o, "network", str_json (c->network));
  json_object_set_new (o, "publish", strv_json (c->publish));
  json_object_set_new (o, "publish_all", json_boolean (c->publish_all));
  json_object_set_new (o, "add_hosts", strv_json (c->add_hosts));
  json_object_set_new (o, "dns", strv_json (c->dns));
  json_object_set_new (o, "driver", str_json (c->driver));
  json_object_set_new (o, "upper", str_json (c->upper));
  json_object_set_new (o, "work", str_json (c->work));
  json_object_set_new (o, "tty", json_boolean (c->tty));
  json_object_set_new (o, "interactive", json_boolean (c->interactive));
  json_object_set_new (o, "init", json_boolean (c->init));
  json_object_set_new (o, "read_only", json_boolean (c->read_only));
  json_object_set_new (o, "keep_id", json_boolean (c->keep_id));
  json_object_set_new (o, "fakeroot", json_boolean (c->fakeroot));
  json_object_set_new (o, "autoremove", json_boolean (c->autoremove));
  json_object_set_new (o, "created", json_integer (c->created));
  json_object_set_new (o, "started", json_integer (c->started));
  json_object_set_new (o, "finished", json_integer (c->finished));
  json_object_set_new (o, "exit_code", json_integer (c->exit_code));
  return o;
}

static char *
get_str (json_t *o, const char *k)
{
  const char *v = json_string_value (json_object_get (o, k));
  return v ? xstrdup (v) : NULL;
}

static char **
get_strv (json_t *o, const char *k)
{
  json_t *a = json_object_get (o, k);
  char **v = sbx_strv_dup (NULL);
  size_t i;
  json_t *e;

  json_array_foreach (a, i, e)
  {
    if (json_is_string (e))
      sbx_strv_push (&v, json_string_value (e));
  }
  return v;
}

static int
parse_record (const char *text, size_t len, struct sbx_container **out, struct sbx_error **err)
{
  json_auto_t *o = NULL;
  json_error_t jerr;
  struct sbx_container *c;
  const char *image;

  o = json_loadb (text, len, 0, &jerr);
  if (o == NULL || ! json_is_object (o) || ! json_is_string (json_object_get (o, "id"))
      || ! json_is_string (json_object_get (o, "name")))
    return sbx_err (err, EINVAL, "invalid container record: %s", o ? "no id or name" : jerr.text);
  c = xzalloc (sizeof *c);
  c->id = get_str (o, "id");
  c->name = get_str (o, "name");
  c->image_name = get_str (o, "image_name");
  image = json_string_value (json_object_get (o, "image"));
  if (image && sbx_digest_parse (image, &c->image, err) < 0)
    {
      sbx_container_free (c);
      return -1;
    }
  c->rootfs = get_str (o, "rootfs");
  c->argv = get_strv (o, "argv");
  c->env = get_strv (o, "env");
  c->workdir = get_str (o, "workdir");
  c->user = get_str (o, "user");
  c->hostname = get_str (o, "hostname");
  c->volumes = get_strv (o, "volumes");
  c->tmpfs = get_strv (o, "tmpfs");
  c->cap_add = get_strv (o, "cap_add");
  c->cap_drop = get_strv (o, "cap_drop");
  c->network = get_str (o, "network");
  c->publish = get_strv (o, "publish");
  c->publish_all = json_is_true (json_object_get (o, "publish_all"));
  c->add_hosts = get_strv (o, "add_hosts");
  c->dns = get_strv (o, "dns");
  c->driver = get_str (o, "driver");
  c->upper = get_str (o, "upper");
  c->work = get_str (o, "work");
  c->tty = json_is_true (json_object_get (o, "tty"));
  c->interactive = json_is_true (json_object_get (o, "interactive"));
  c->init = json_is_true (json_object_get (o, "init"));
  c->read_only = json_is_true (json_object_get (o, "read_only"));
  c->keep_id = json_is_true (json_object_get (o, "keep_id"));
  c->fakeroot = json_is_true (json_object_get (o, "fakeroot"));
  c->autoremove = json_is_true (json_object_get (o, "autoremove"));
  c->created = json_integer_value (json_object_get (o, "created"));
  c->started = json_integer_value (json_object_get (o, "started"));
  c->finished = json_integer_value (json_object_get (o, "finished"));
  c->exit_code = (int) json_integer_value (json_object_get (o, "exit_code"));
  *out = c;
  return 0;
}

static int
open_containers (struct sbx_store *s, struct sbx_error **err)
{
  int fd;

  if (mkdirat (s->rootfd, "containers", 0700) < 0 && errno != EEXIST)
    return sbx_err_errno (err, "create `containers`");
  fd = openat (s->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "open `containers`");
  return fd;
}

int
sbx_container_save (struct sbx_store *s, const struct sbx_container *c, struct sbx_error **err)
{
  cleanup_close int dfd = open_containers (s, err);
  cleanup_free char *tmp = NULL;
  cleanup_free char *dst = NULL;
  cleanup_free char *text = NULL;
  json_auto_t *o = NULL;

  if (dfd < 0)
    return -1;
  o = record_json (c);
  text = json_dumps (o, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  if (text == NULL)
    xoom ();
  tmp = xasprintf ("%s/.%s.tmp", c->id, RECORD);
  dst = xasprintf ("%s/%s", c->id, RECORD);
  if (sbx_fs_write_file_at (dfd, tmp, text, strlen (text), 0600, err) < 0)
    return sbx_err_prefix (err, "save container `%s`", c->name);
  if (renameat (dfd, tmp, dfd, dst) < 0)
    return sbx_err_errno (err, "save container `%s`", c->name);
  return 0;
}

static bool
name_taken (struct sbx_store *s, const char *name)
{
  struct sbx_container *c = NULL;
  struct sbx_error *ignored = NULL;
  bool taken = sbx_container_load (s, name, &c, &ignored) == 0 && strcmp (c->name, name) == 0;

  sbx_error_clear (&ignored);
  sbx_container_free (c);
  return taken;
}

int
sbx_container_create (struct sbx_store *s, const struct sbx_container *c, struct sbx_error **err)
{
  cleanup_store_lock struct sbx_store_lock lock = { -1 };
  cleanup_close int dfd = -1;

  /* Under the store lock: two runs with one --name cannot both win.  */
  if (sbx_store_lock (s, &lock, err) < 0)
    return -1;
  if (name_taken (s, c->name))
    return sbx_err (err, EEXIST,
                    "the container name `%s` is already in use (remove it with `sbx rm %s`)",
                    c->name, c->name);
  dfd = open_containers (s, err);
  if (dfd < 0)
    return -1;
  if (mkdirat (dfd, c->id, 0700) < 0)
    return sbx_err_errno (err, "create container `%s`", c->name);
  if (c->upper && *c->upper
      && (sbx_fs_mkdir_p (c->upper, 0755, err) < 0 || sbx_fs_mkdir_p (c->work, 0700, err) < 0))
    return sbx_err_prefix (err, "create container `%s`", c->name);
  return sbx_container_save (s, c, err);
}

static int
load_by_id (struct sbx_store *s, int dfd, const char *id, struct sbx_container **out,
            struct sbx_error **err)
{
  cleanup_free char *path = xasprintf ("%s/%s", id, RECORD);
  cleanup_free char *text = NULL;
  size_t len = 0;

  (void) s;
  text = sbx_fs_read_file_at (dfd, path, 1 << 20, &len, err);
  if (text == NULL)
    return -1;
  if (parse_record (text, len, out, err) < 0)
    return sbx_err_prefix (err, "%s/containers/%s", s->root, path);
  return 0;
}

static int
cmp_created (const void *a, const void *b)
{
  const struct sbx_container *x = *(struct sbx_container *const *) a;
  const struct sbx_container *y = *(struct sbx_container *const *) b;

  return x->created < y->created ? -1 : x->created > y->created ? 1 : strcmp (x->id, y->id);
}

int
sbx_container_list (struct sbx_store *s, struct sbx_container ***out, size_t *n,
                    struct sbx_error **err)
{
  cleanup_close int dfd = open_containers (s, err);
  cleanup_dir DIR *d = NULL;
  struct sbx_container **list = NULL;
  struct dirent *de;
  size_t count = 0;
  int fd;

  if (dfd < 0)
    return -1;
  fd = fcntl (dfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        (void) close (fd);
      return sbx_err_errno (err, "read `containers`");
    }
  list = xcalloc (1, sizeof *list);
  while ((de = readdir (d)) != NULL)
    {
      struct sbx_container *c = NULL;
      struct sbx_error *bad = NULL;

      if (strlen (de->d_name) != 64)
        continue;
      if (load_by_id (s, dfd, de->d_name, &c, &bad) < 0)
        {
          sbx_error_clear (&bad); /* half-created: reported by ps? skipped */
          continue;
        }
      list = xrealloc (list, xmul (count + 2, sizeof *list));
      list[count++] = c;
    }
  qsort (list, count, sizeof *list, cmp_created);
  *out = list;
  *n = count;
  return 0;
}

void
sbx_container_list_free (struct sbx_container **list, size_t n)
{
  size_t i;

  for (i = 0; list && i < n; i++)
    sbx_container_free (list[i]);
  free (list);
}

int
sbx_container_load (struct sbx_store *s, const char *what, struct sbx_container **out,
                    struct sbx_error **err)
{
  struct sbx_container **list = NULL;
  size_t n = 0, i, hits = 0, pick = 0;
  size_t wlen = strlen (what);
  bool hexish = wlen >= 4 && wlen <= 64 && strspn (what, "0123456789abcdef") == wlen;

  if (sbx_container_list (s, &list, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    if (strcmp (list[i]->name, what) == 0 || strcmp (list[i]->id, what) == 0)
      {
        hits = 1;
        pick = i;
        break;
      }
    else if (hexish && strncmp (list[i]->id, what, wlen) == 0)
      {
        hits++;
        pick = i;
      }
  if (hits == 1)
    *out = steal_ptr (&list[pick]);
  sbx_container_list_free (list, n);
  if (hits == 0)
    return sbx_err (err, ENOENT, "no such container `%s`", what);
  if (hits > 1)
    return sbx_err (err, EINVAL, "container id `%s` is ambiguous: give more digits", what);
  return 0;
}

int
sbx_container_remove (struct sbx_store *s, const struct sbx_container *c, struct sbx_error **err)
{
  cleanup_close int dfd = open_containers (s, err);
  cleanup_free char *dir = NULL;

  if (dfd < 0)
    return -1;
  /* A writable layer kept elsewhere (node-local storage) goes first.  */
  dir = sbx_container_dir (s, c->id);
  if (c->upper && *c->upper && strncmp (c->upper, dir, strlen (dir)) != 0)
    {
      cleanup_free char *base = xstrdup (c->upper);
      char *slash = strrchr (base, '/');

      if (slash)
        *slash = '\0'; /* upper/ and work/ live in one directory per container */
      if (sbx_fs_rm_rf_at (AT_FDCWD, base, err) < 0)
        return sbx_err_prefix (err, "remove container `%s`", c->name);
    }
  if (sbx_fs_rm_rf_at (dfd, c->id, err) < 0)
    return sbx_err_prefix (err, "remove container `%s`", c->name);
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sbx volume create | ls | inspect | rm | prune, and what run, start and
   rm need of volumes: naming anonymous ones, creating them on first use,
   removing a container's anonymous volumes.  */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* ---- for run, start and rm ---- */

int
cli_volumes_prepare (struct sbx_store *s, struct sbx_mount_spec *mounts, size_t n,
                     struct sbx_error **err)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      struct sbx_mount_spec *m = &mounts[i];
      struct sbx_volume *v = NULL;

      if (m->volume == NULL && ! m->anonymous)
        continue; /* a bind mount */
      if (m->volume == NULL)
        m->volume = sbx_runtime_new_id ();
      if (! sbx_volume_name_is_valid (m->volume))
        return sbx_err (err, EINVAL,
                        "invalid volume name `%s`: at least two characters from [a-zA-Z0-9_.-], "
                        "starting with a letter or digit (a host path must contain a `/`)",
                        m->volume);
      if (sbx_volume_create (s, m->volume, NULL, m->anonymous, &v, err) < 0)
        return -1;
      free (m->source);
      m->source = steal_ptr (&v->mountpoint);
      sbx_volume_free (v);
    }
  return 0;
}

/* The volume names in the -v values SPECS (as kept in container records).  */
static char **
spec_volume_names (char *const *specs)
{
  char **names = sbx_strv_dup (NULL);
  size_t i;

  for (i = 0; specs && specs[i]; i++)
    {
      struct sbx_mount_spec m = { 0 };
      struct sbx_error *err = NULL;

      if (sbx_spec_parse_volume (specs[i], "/", &m, &err) < 0)
        sbx_error_clear (&err);
      else if (m.volume && ! sbx_strv_contains (names, m.volume))
        sbx_strv_push (&names, m.volume);
      sbx_mount_spec_release (&m);
    }
  return names;
}

/* The name of a container other than EXCEPT_ID that uses volume NAME, or
   NULL (free() it).  */
static char *
volume_user (struct sbx_container *const *list, size_t n, const char *name, const char *except_id)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      cleanup_strv char **names = NULL;

      if (except_id && strcmp (list[i]->id, except_id) == 0)
        continue;
      names = spec_volume_names (list[i]->volumes);
      if (sbx_strv_contains (names, name))
        return xstrdup (list[i]->name);
    }
  return NULL;
}

struct remove_volume_arg
{
  struct sbx_store *store;
  const char *name;
  uint64_t *freed; /* shared with the parent */
};

static int
remove_volume_fn (void *arg, struct sbx_error **err)
{
  struct remove_volume_arg *a = arg;

  return sbx_volume_remove (a->store, a->name, a->freed, err);
}

/* Remove volume NAME as root of the user namespace (its files may belong
   to subordinate ids); FREED (may be NULL) gets the size it held.  */
static int
remove_volume (struct sbx_store *s, const char *name, uint64_t *freed, struct sbx_error **err)
{
  struct sbx_userns_plan plan;
  struct remove_volume_arg a = { s, name, NULL };
  int r;

  a.freed = mmap (NULL, sizeof *a.freed, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (a.freed == MAP_FAILED)
    return sbx_err_errno (err, "mmap");
  *a.freed = 0;
  sbx_userns_detect (&plan);
  r = cli_store_op (&plan, remove_volume_fn, &a, err);
  if (freed)
    *freed = *a.freed;
  munmap (a.freed, sizeof *a.freed);
  return r;
}

int
cli_volumes_remove_anonymous (struct sbx_store *s, const struct sbx_container *c,
                              struct sbx_error **err)
{
  cleanup_strv char **names = spec_volume_names (c->volumes);
  struct sbx_container **list = NULL;
  size_t n = 0, i;
  int r = 0;

  if (names[0] == NULL)
    return 0;
  if (sbx_container_list (s, &list, &n, err) < 0)
    return -1;
  for (i = 0; r == 0 && names[i]; i++)
    {
      cleanup_free char *user = volume_user (list, n, names[i], c->id);
      struct sbx_volume *v = NULL;
      struct sbx_error *local = NULL;

      if (sbx_volume_load (s, names[i], &v, &local) < 0)
        {
          sbx_error_clear (&local); /* already gone */
          continue;
        }
      if (v->anonymous && user == NULL)
        r = remove_volume (s, names[i], NULL, err);
      sbx_volume_free (v);
    }
  sbx_container_list_free (list, n);
  return r;
}

/* ---- output ---- */

static void
format_created (int64_t t, char *buf, size_t len)
{
  time_t tt = (time_t) t;
  struct tm tm;

  if (localtime_r (&tt, &tm) == NULL || strftime (buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
    snprintf (buf, len, "%lld", (long long) t);
  else if (strlen (buf) > 5 && len > strlen (buf) + 1)
    {
      /* RFC 3339 wants +hh:mm, strftime gives +hhmm.  */
      size_t l = strlen (buf);
      memmove (buf + l - 1, buf + l - 2, 3);
      buf[l - 2] = ':';
    }
}

static struct sbx_json *
volume_json (const struct sbx_volume *v)
{
  struct sbx_json *o = sbx_json_object ();
  struct sbx_json *labels = sbx_json_object ();
  char created[64];
  size_t i;

  format_created (v->created, created, sizeof created);
  for (i = 0; v->labels[i]; i++)
    {
      const char *eq = strchr (v->labels[i], '=');
      cleanup_free char *k = xstrndup (v->labels[i], (size_t) (eq - v->labels[i]));
      sbx_json_set_str (labels, k, eq + 1);
    }
  sbx_json_set_str (o, "CreatedAt", created);
  sbx_json_set_str (o, "Driver", "local");
  sbx_json_set (o, "Labels", labels);
  sbx_json_set_str (o, "Mountpoint", v->mountpoint);
  sbx_json_set_str (o, "Name", v->name);
  sbx_json_set (o, "Options", sbx_json_object ());
  sbx_json_set_str (o, "Scope", "local");
  sbx_json_set_bool (o, "Anonymous", v->anonymous);
  return o;
}

static char *
joined_labels (char *const *labels)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  size_t i;

  for (i = 0; labels && labels[i]; i++)
    sbx_strbuf_addf (&sb, "%s%s", i ? "," : "", labels[i]);
  return sbx_strbuf_detach (&sb);
}

/* A Go-template-like --format: {{.Name}}, {{.Driver}}, {{.Mountpoint}},
   {{.Scope}}, {{.Labels}}, {{.CreatedAt}}; \t and \n as in Docker.  */
static int
print_template (const char *fmt, const struct sbx_volume *v)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  cleanup_free char *labels = joined_labels (v->labels);
  char created[64];
  const char *p = fmt;

  format_created (v->created, created, sizeof created);
  while (*p)
    {
      const char *field = NULL;
      size_t skip = 0;
      static const char *const keys[]
          = { "Name", "Driver", "Mountpoint", "Scope", "Labels", "CreatedAt" };
      size_t i;

      if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n'))
        {
          sbx_strbuf_addch (&sb, p[1] == 't' ? '\t' : '\n');
          p += 2;
          continue;
        }
      for (i = 0; strncmp (p, "{{", 2) == 0 && i < SBX_N_ELEMENTS (keys); i++)
        {
          cleanup_free char *tok = xasprintf ("{{.%s}}", keys[i]);
          cleanup_free char *tok2 = xasprintf ("{{ .%s }}", keys[i]);

          if (strncmp (p, tok, strlen (tok)) == 0)
            skip = strlen (tok);
          else if (strncmp (p, tok2, strlen (tok2)) == 0)
            skip = strlen (tok2);
          if (skip)
            {
              field = i == 0   ? v->name
                      : i == 1 ? "local"
                      : i == 2 ? v->mountpoint
                      : i == 3 ? "local"
                      : i == 4 ? labels
                               : created;
              break;
            }
        }
      if (field)
        {
          sbx_strbuf_addstr (&sb, field);
          p += skip;
        }
      else if (strncmp (p, "{{", 2) == 0)
        return cli_usage_error ("volume ls", "unsupported --format `%s`", fmt);
      else
        sbx_strbuf_addch (&sb, *p++);
    }
  printf ("%s\n", sb.buf);
  return 0;
}

static void
human_size (uint64_t n, char *buf, size_t len)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double) n;
  size_t u = 0;

  while (v >= 1000 && u + 1 < SBX_N_ELEMENTS (units))
    {
      v /= 1000;
      u++;
    }
  snprintf (buf, len, u ? "%.3g%s" : "%.0f%s", v, units[u]);
}

/* ---- create ---- */

static const char create_help[]
    = "Usage: sbx volume create [OPTIONS] [NAME]\n"
      "\n"
      "Create a volume (a random 64-hex name when NAME is not given) and print\n"
      "its name. Creating a volume that exists does nothing.\n"
      "\n"
      "Options:\n"
      "  -d, --driver local   the only driver\n"
      "      --label K=V      set a label\n"
      "      --help           show this help\n";

static int
volume_create (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "driver", required_argument, NULL, 'd' }, { "label", required_argument, NULL, 'l' },
    { "opt", required_argument, NULL, 'o' },    { "name", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
  };
  cleanup_strv char **labels = NULL;
  cleanup_free char *random_name = NULL;
  const char *name = NULL;
  struct sbx_store *store = NULL;
  struct sbx_volume *v = NULL;
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:d:o:", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        if (strcmp (optarg, "local") != 0)
          return cli_usage_error ("volume create", "unknown driver `%s`: only local", optarg);
        break;
      case 'l':
        if (optarg[0] == '=' || optarg[0] == '\0')
          return cli_usage_error ("volume create", "invalid --label `%s`: empty key", optarg);
        sbx_strv_push_take (&labels,
                            strchr (optarg, '=') ? xstrdup (optarg) : xasprintf ("%s=", optarg));
        break;
      case 'o':
        return cli_usage_error ("volume create", "driver options (-o `%s`) are not supported",
                                optarg);
      case 'n':
        name = optarg;
        break;
      case 'h':
        fputs (create_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("volume create", c, argv);
      }
  if (optind < argc)
    {
      if (name || optind + 1 < argc)
        return cli_usage_error ("volume create", "too many arguments");
      name = argv[optind];
    }
  if (name == NULL)
    name = random_name = sbx_runtime_new_id ();
  if (! sbx_volume_name_is_valid (name))
    return cli_usage_error ("volume create",
                            "invalid volume name `%s`: at least two characters from "
                            "[a-zA-Z0-9_.-], starting with a letter or digit",
                            name);
  r = cli_open_store (g, &store, &err);
  if (r == 0)
    r = sbx_volume_create (store, name, labels, false, &v, &err);
  sbx_store_close (store);
  if (r < 0)
    return cli_report ("volume create", err, SBX_EXIT_FAILURE);
  printf ("%s\n", v->name);
  sbx_volume_free (v);
  return 0;
}

/* ---- ls ---- */

static const char ls_help[]
    = "Usage: sbx volume ls [OPTIONS]\n"
      "\n"
      "List volumes.\n"
      "\n"
      "Options:\n"
      "  -q, --quiet            only names\n"
      "      --format FMT       table (default), json, or a template such as\n"
      "                         '{{.Name}}\\t{{.Mountpoint}}'\n"
      "  -f, --filter F         dangling=true|false (used by no container),\n"
      "                         name=SUBSTRING, label=KEY or label=KEY=VALUE\n"
      "      --help             show this help\n";

struct ls_filter
{
  int dangling; /* -1: any */
  char **names;
  char **labels;
};

static bool
ls_keep (const struct ls_filter *f, const struct sbx_volume *v, struct sbx_container *const *list,
         size_t n)
{
  size_t i;

  if (f->dangling >= 0)
    {
      cleanup_free char *user = volume_user (list, n, v->name, NULL);
      if ((user == NULL) != (f->dangling == 1))
        return false;
    }
  if (f->names)
    {
      bool any = false;
      for (i = 0; f->names[i]; i++)
        any |= strstr (v->name, f->names[i]) != NULL;
      if (! any)
        return false;
    }
  for (i = 0; f->labels && f->labels[i]; i++)
    {
      size_t j, kl = strcspn (f->labels[i], "=");
      bool hit = false;

      for (j = 0; v->labels[j]; j++)
        if (strchr (f->labels[i], '=')
                ? strcmp (v->labels[j], f->labels[i]) == 0
                : strncmp (v->labels[j], f->labels[i], kl) == 0 && v->labels[j][kl] == '=')
          hit = true;
      if (! hit)
        return false;
    }
  return true;
}

static int
parse_ls_filter (const char *s, struct ls_filter *f)
{
  if (strcmp (s, "dangling=true") == 0 || strcmp (s, "dangling=1") == 0)
    f->dangling = 1;
  else if (strcmp (s, "dangling=false") == 0 || strcmp (s, "dangling=0") == 0)
    f->dangling = 0;
  else if (strncmp (s, "name=", 5) == 0)
    sbx_strv_push (&f->names, s + 5);
  else if (strncmp (s, "label=", 6) == 0 && s[6])
    sbx_strv_push (&f->labels, s + 6);
  else
    return cli_usage_error ("volume ls",
                            "invalid --filter `%s`: expected dangling=true|false, name=… or "
                            "label=…",
                            s);
  return 0;
}

struct ls_opts
{
  struct ls_filter filter;
  const char *template;
  bool quiet, json;
};

static void
ls_opts_release (struct ls_opts *o)
{
  sbx_strv_free (o->filter.names);
  sbx_strv_free (o->filter.labels);
}

/* 0 to go on, -1 after --help, else the exit code of a usage error.  */
static int
parse_ls (struct ls_opts *o, int argc, char **argv)
{
  static const struct option opts[] = {
    { "quiet", no_argument, NULL, 'q' },
    { "format", required_argument, NULL, 'F' },
    { "filter", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c, r;

  while ((c = getopt_long (argc, argv, "+:qf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'q':
        o->quiet = true;
        break;
      case 'F':
        o->json = strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0;
        o->template = NULL;
        if (! o->json && strcmp (optarg, "table") != 0)
          {
            if (strstr (optarg, "{{") == NULL)
              return cli_usage_error (
                  "volume ls", "invalid --format `%s`: expected table, json or a template", optarg);
            o->template = optarg;
          }
        break;
      case 'f':
        if ((r = parse_ls_filter (optarg, &o->filter)) != 0)
          return r;
        break;
      case 'h':
        fputs (ls_help, stdout);
        return -1;
      default:
        return cli_getopt_error ("volume ls", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("volume ls", "unexpected argument `%s`", argv[optind]);
  return 0;
}

static int
print_volumes (const struct ls_opts *o, struct sbx_volume *const *vols, size_t nv,
               struct sbx_container *const *list, size_t nc)
{
  cleanup_json struct sbx_json *arr = sbx_json_array ();
  size_t i;
  int r;

  if (! o->quiet && ! o->json && ! o->template)
    printf ("%-10s%s\n", "DRIVER", "VOLUME NAME");
  for (i = 0; i < nv; i++)
    {
      if (! ls_keep (&o->filter, vols[i], list, nc))
        continue;
      if (o->quiet)
        printf ("%s\n", vols[i]->name);
      else if (o->json)
        sbx_json_append (arr, volume_json (vols[i]));
      else if (o->template)
        {
          if ((r = print_template (o->template, vols[i])) != 0)
            return r;
        }
      else
        printf ("%-10s%s\n", "local", vols[i]->name);
    }
  if (o->json && ! o->quiet)
    {
      cleanup_free char *text = sbx_json_dump (arr);
      fputs (text, stdout);
    }
  return 0;
}

static int
volume_ls (const struct cli_globals *g, int argc, char **argv)
{
  __attribute__ ((cleanup (ls_opts_release))) struct ls_opts o = { .filter = { .dangling = -1 } };
  struct sbx_volume **vols = NULL;
  struct sbx_container **list = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  size_t nv = 0, nc = 0;
  int r;

  r = parse_ls (&o, argc, argv);
  if (r != 0)
    return r < 0 ? 0 : r;
  if (cli_open_store (g, &store, &err) < 0 || sbx_volume_list (store, &vols, &nv, &err) < 0
      || sbx_container_list (store, &list, &nc, &err) < 0)
    r = cli_report ("volume ls", err, SBX_EXIT_FAILURE);
  else
    r = print_volumes (&o, vols, nv, list, nc);
  sbx_volume_list_free (vols, nv);
  sbx_container_list_free (list, nc);
  sbx_store_close (store);
  return r;
}

/* ---- inspect ---- */

static int
volume_inspect (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_json struct sbx_json *arr = sbx_json_array ();
  cleanup_free char *text = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  const char *template = NULL;
  int status = 0;
  int c, i;

  while ((c = getopt_long (argc, argv, "+:f:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") != 0 && strstr (optarg, "{{") == NULL)
          return cli_usage_error ("volume inspect",
                                  "invalid --format `%s`: expected json or a template", optarg);
        template = strcmp (optarg, "json") == 0 ? NULL : optarg;
        break;
      case 'h':
        printf ("Usage: sbx volume inspect [--format json|TEMPLATE] VOLUME...\n\nShow volumes "
                "as a JSON array (Docker's fields).\n");
        return 0;
      default:
        return cli_getopt_error ("volume inspect", c, argv);
      }
  if (optind >= argc)
    return cli_usage_error ("volume inspect", "no volume given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("volume inspect", err, SBX_EXIT_FAILURE);
  for (i = optind; i < argc; i++)
    {
      struct sbx_volume *v = NULL;

      if (sbx_volume_load (store, argv[i], &v, &err) < 0)
        {
          cli_report ("volume inspect", err, 0);
          err = NULL;
          status = 1;
          continue;
        }
      if (template)
        {
          int r = print_template (template, v);
          if (r != 0)
            status = r;
        }
      else
        sbx_json_append (arr, volume_json (v));
      sbx_volume_free (v);
    }
  sbx_store_close (store);
  if (! template)
    {
      text = sbx_json_dump (arr);
      fputs (text, stdout);
    }
  return status;
}

/* ---- rm and prune ---- */

static int
volume_rm (const struct cli_globals *g, int argc, char **argv)
{
  cleanup_store_lock struct sbx_store_lock lock = { -1 };
  struct sbx_container **list = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  bool force = false;
  size_t n = 0;
  int status = 0;
  int i, r;

  r = cli_parse_force ("volume rm",
                       "Usage: sbx volume rm [-f] VOLUME...\n\nRemove volumes and their data. A "
                       "volume used by a container (running\nor not) is kept unless -f; -f also "
                       "ignores missing volumes.\n",
                       argc, argv, &force);
  if (r != 0)
    return r < 0 ? 0 : r;
  if (optind >= argc)
    return cli_usage_error ("volume rm", "no volume given");
  if (cli_open_store (g, &store, &err) < 0 || sbx_store_lock (store, &lock, &err) < 0
      || sbx_container_list (store, &list, &n, &err) < 0)
    {
      sbx_store_close (store);
      return cli_report ("volume rm", err, SBX_EXIT_FAILURE);
    }
  for (i = optind; i < argc; i++)
    {
      cleanup_free char *user = volume_user (list, n, argv[i], NULL);
      struct sbx_volume *v = NULL;

      r = sbx_volume_load (store, argv[i], &v, &err);
      sbx_volume_free (v);
      if (r < 0 && force && sbx_error_code (err) == ENOENT)
        {
          sbx_error_clear (&err);
          continue;
        }
      if (r == 0 && user && ! force)
        r = sbx_err (&err, EBUSY,
                     "volume `%s` is in use by container `%s` (remove it first, or "
                     "use -f)",
                     argv[i], user);
      if (r == 0)
        r = remove_volume (store, argv[i], NULL, &err);
      if (r == 0)
        printf ("%s\n", argv[i]);
      else
        {
          cli_report ("volume rm", err, 0);
          err = NULL;
          status = 1;
        }
    }
  sbx_container_list_free (list, n);
  sbx_store_close (store);
  return status;
}

static bool
confirm (const char *question)
{
  char line[16] = "";

  fprintf (stderr, "%s\nAre you sure you want to continue? [y/N] ", question);
  fflush (stderr);
  if (fgets (line, sizeof line, stdin) == NULL)
    return false;
  return line[0] == 'y' || line[0] == 'Y';
}

static int
volume_prune (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "force", no_argument, NULL, 'f' },
    { "all", no_argument, NULL, 'a' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_store_lock struct sbx_store_lock lock = { -1 };
  struct sbx_container **list = NULL;
  struct sbx_volume **vols = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  uint64_t total = 0;
  size_t nv = 0, nc = 0, i;
  bool force = false, header = false;
  char size[32];
  int status = 0;
  int c;

  while ((c = getopt_long (argc, argv, "+:fa", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      case 'a':
        break; /* every unused volume goes, named or anonymous (as podman) */
      case 'h':
        printf ("Usage: sbx volume prune [-f]\n\nRemove every volume that no container (running "
                "or not) uses,\nnamed or anonymous. Asks first unless -f.\n");
        return 0;
      default:
        return cli_getopt_error ("volume prune", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("volume prune", "unexpected argument `%s`", argv[optind]);
  if (! force
      && ! confirm ("WARNING! This will remove all local volumes not used by at least one "
                    "container."))
    return 0;
  if (cli_open_store (g, &store, &err) < 0 || sbx_store_lock (store, &lock, &err) < 0
      || sbx_volume_list (store, &vols, &nv, &err) < 0
      || sbx_container_list (store, &list, &nc, &err) < 0)
    {
      sbx_volume_list_free (vols, nv);
      sbx_store_close (store);
      return cli_report ("volume prune", err, SBX_EXIT_FAILURE);
    }
  for (i = 0; i < nv; i++)
    {
      cleanup_free char *user = volume_user (list, nc, vols[i]->name, NULL);
      uint64_t freed = 0;

      if (user)
        continue;
      if (remove_volume (store, vols[i]->name, &freed, &err) < 0)
        {
          cli_report ("volume prune", err, 0);
          err = NULL;
          status = 1;
          continue;
        }
      if (! header)
        printf ("Deleted Volumes:\n");
      header = true;
      printf ("%s\n", vols[i]->name);
      total += freed;
    }
  human_size (total, size, sizeof size);
  printf ("%sTotal reclaimed space: %s\n", header ? "\n" : "", size);
  sbx_volume_list_free (vols, nv);
  sbx_container_list_free (list, nc);
  sbx_store_close (store);
  return status;
}

/* ---- the command ---- */

static const char volume_help[]
    = "Usage: sbx volume COMMAND\n"
      "\n"
      "Manage volumes: directories under the store ($SBX_ROOT/volumes/NAME/_data)\n"
      "that containers mount with -v NAME:/path or --mount type=volume,…\n"
      "\n"
      "Commands:\n"
      "  create [NAME]        create a volume\n"
      "  ls                   list volumes\n"
      "  inspect VOLUME...    show volumes as JSON\n"
      "  rm [-f] VOLUME...    remove volumes\n"
      "  prune [-f]           remove volumes no container uses\n"
      "\n"
      "Examples:\n"
      "  sbx volume create data\n"
      "  sbx run --rm -v data:/data busybox sh -c 'echo hi > /data/f'\n"
      "  sbx run --rm -v data:/data:ro busybox cat /data/f\n";

int
cli_volume (const struct cli_globals *g, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*fn) (const struct cli_globals *g, int argc, char **argv);
  } subs[] = {
    { "create", volume_create },   { "ls", volume_ls }, { "list", volume_ls },
    { "inspect", volume_inspect }, { "rm", volume_rm }, { "remove", volume_rm },
    { "prune", volume_prune },
  };
  size_t i;

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      fputs (volume_help, argc < 2 ? stderr : stdout);
      return argc < 2 ? SBX_EXIT_FAILURE : 0;
    }
  for (i = 0; i < SBX_N_ELEMENTS (subs); i++)
    if (strcmp (argv[1], subs[i].name) == 0)
      {
        optind = 0;
        return subs[i].fn (g, argc - 1, argv + 1);
      }
  return cli_usage_error ("volume", "unknown command `%s`", argv[1]);
}

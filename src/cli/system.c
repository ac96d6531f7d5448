/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

static void
print_problem (const char *what, void *arg)
{
  (void) arg;
  printf ("%s\n", what);
}

struct check_arg
{
  struct sbx_store *store;
  bool repair;
  struct sbx_check_report rep;
};

static int
check_fn (void *arg, struct sbx_error **err)
{
  struct check_arg *a = arg;
  int r = sbx_store_check (a->store, a->repair, print_problem, NULL, &a->rep, err);

  /* The report travels back to the parent as the output below.  */
  if (r == 0)
    {
      printf ("blobs: %zu ok, %zu damaged; layers: %zu ok, %zu damaged; images: %zu "
              "incomplete; staging leftovers: %zu",
              a->rep.blobs_ok, a->rep.blobs_bad, a->rep.layers_ok, a->rep.layers_bad,
              a->rep.refs_dangling, a->rep.staging);
      if (a->repair)
        printf ("; removed: %zu", a->rep.removed);
      printf ("\n");
      fflush (stdout);
      /* Damage (not leftovers, which are harmless) is a failure unless repaired.  */
      if (! a->repair && (a->rep.blobs_bad || a->rep.layers_bad || a->rep.refs_dangling))
        return sbx_err (err, 0, "the store has damaged entries (run `sbx system check --repair`)");
    }
  return r;
}

static int
system_check (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "repair", no_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct check_arg a = { 0 };
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    switch (c)
      {
      case 'r':
        a.repair = true;
        break;
      case 'h':
        printf ("Usage: sbx system check [--repair]\n\nVerify every blob against its digest, "
                "every unpacked layer and every image\nname; report what is damaged or "
                "half-written, and with --repair remove it.\nExits 1 when damage remains.\n\n"
                "Examples:\n  sbx system check\n  sbx system check --repair\n");
        return 0;
      default:
        return cli_getopt_error ("system check", c, argv);
      }
  if (cli_open_store (g, &a.store, &err) < 0)
    return cli_report ("system check", err, SBX_EXIT_FAILURE);
  sbx_userns_detect (&plan);
  fflush (stdout);
  r = cli_store_op (&plan, check_fn, &a, &err);
  sbx_store_close (a.store);
  if (r < 0)
    return cli_report ("system check", err, 1);
  return 0;
}

/* ---- disk usage: system df, system prune ---- */

/* Bytes of the files under NAME (relative to DIRFD), symlinks not followed;
   what cannot be read counts as 0.  */
static uint64_t
du_at (int dfd, const char *name)
{
  struct stat st;
  uint64_t sum;
  DIR *d;
  struct dirent *e;
  int fd;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (! S_ISDIR (st.st_mode))
    return S_ISREG (st.st_mode) || S_ISLNK (st.st_mode) ? (uint64_t) st.st_size : 0;
  sum = 0;
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return 0;
    }
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      sum += du_at (dirfd (d), e->d_name);
  closedir (d);
  return sum;
}

static uint64_t
du (const char *path)
{
  return path && *path ? du_at (AT_FDCWD, path) : 0;
}

/* The entries of DIR/ (not . and ..); empty when DIR is absent.  */
static char **
list_dir (const char *dir)
{
  char **out = sbx_strv_dup (NULL);
  struct dirent *e;
  DIR *d = opendir (dir);

  if (d == NULL)
    return out;
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] != '.')
      sbx_strv_push (&out, e->d_name);
  closedir (d);
  return out;
}

/* What the store holds, by kind (Docker's `system df` rows).  */
struct df_row
{
  const char *type;
  size_t total;
  size_t active;
  uint64_t size;
  uint64_t reclaimable;
};

struct usage
{
  struct sbx_store *store;
  struct sbx_container **cs;
  size_t n_cs;
  bool *running;         /* per container */
  char **in_use;         /* manifests used by any kept container ("sha256:…") */
  char **images;         /* distinct manifests named in images.json */
  struct df_row rows[4]; /* images, containers, volumes, build cache */
};

static void
usage_release (struct usage *u)
{
  sbx_container_list_free (u->cs, u->n_cs);
  free (u->running);
  sbx_strv_free (u->in_use);
  sbx_strv_free (u->images);
  sbx_store_close (u->store);
}

/* The parts gathered by the host user: names, containers, which run.  */
static int
usage_gather (const struct cli_globals *g, struct usage *u, struct sbx_error **err)
{
  struct sbx_store_ref *refs = NULL;
  size_t n = 0, i;
  char buf[SBX_DIGEST_STR_MAX];

  if (cli_open_store (g, &u->store, err) < 0
      || sbx_container_list (u->store, &u->cs, &u->n_cs, err) < 0
      || sbx_store_list_refs (u->store, &refs, &n, err) < 0)
    return -1;
  u->images = sbx_strv_dup (NULL);
  u->in_use = sbx_strv_dup (NULL);
  for (i = 0; i < n; i++)
    if (! sbx_strv_contains (u->images, sbx_digest_format (&refs[i].manifest, buf)))
      sbx_strv_push (&u->images, buf);
  sbx_store_refs_free (refs, n);
  u->running = xcalloc (u->n_cs + 1, sizeof *u->running);
  for (i = 0; i < u->n_cs; i++)
    {
      u->running[i] = sbx_runtime_monitor_pid (u->cs[i]->id) > 0;
      if (u->cs[i]->image.hex[0]
          && ! sbx_strv_contains (u->in_use, sbx_digest_format (&u->cs[i]->image, buf)))
        sbx_strv_push (&u->in_use, buf);
    }
  return 0;
}

/* Bytes of the blobs and unpacked layers named by the digests KEEP[0..N)
   that are not in SEEN yet (each is added to SEEN).  */
static uint64_t
size_of_digests (struct sbx_store *s, const struct sbx_digest *keep, size_t n, char ***seen)
{
  uint64_t sum = 0;
  size_t i;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *layer = NULL;
      int64_t b;

      if (sbx_strv_contains (*seen, keep[i].hex))
        continue;
      sbx_strv_push (seen, keep[i].hex);
      b = sbx_store_blob_size (s, &keep[i]);
      if (b > 0)
        sum += (uint64_t) b;
      layer = sbx_store_layer_path (s, &keep[i]);
      sum += du (layer);
    }
  return sum;
}

static char *
build_cache_dir (struct sbx_store *s)
{
  return xasprintf ("%s/build-cache", sbx_store_root (s));
}

/* The manifests the build cache points at ("sha256:…").  */
static char **
build_cache_images (struct sbx_store *s, size_t *entries)
{
  cleanup_free char *dir = build_cache_dir (s);
  cleanup_strv char **names = list_dir (dir);
  char **out = sbx_strv_dup (NULL);
  size_t i;

  *entries = sbx_strv_len (names);
  for (i = 0; names[i]; i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", dir, names[i]);
      cleanup_free char *text = NULL;
      struct sbx_error *ignored = NULL;

      text = sbx_fs_read_file_at (AT_FDCWD, path, 256, NULL, &ignored);
      sbx_error_clear (&ignored);
      if (text == NULL)
        continue;
      text[strcspn (text, "\n")] = '\0';
      if (! sbx_strv_contains (out, text))
        sbx_strv_push (&out, text);
    }
  return out;
}

/* Fill U->rows; runs in the user namespace (layers hold 0700 directories
   of other ids).  */
static void
usage_measure (struct usage *u)
{
  struct sbx_store *s = u->store;
  cleanup_strv char **seen = sbx_strv_dup (NULL);
  cleanup_strv char **seen_used = sbx_strv_dup (NULL);
  cleanup_strv char **cache = NULL;
  cleanup_free struct sbx_digest *named = NULL;
  cleanup_free struct sbx_digest *used = NULL;
  cleanup_free struct sbx_digest *cached = NULL;
  cleanup_free char *vols = xasprintf ("%s/volumes", sbx_store_root (s));
  cleanup_strv char **vol_names = list_dir (vols);
  cleanup_free char *cache_dir = build_cache_dir (s);
  size_t n_named = 0, n_used = 0, n_cached = 0, entries = 0, i;
  uint64_t used_size;
  struct df_row *r = u->rows;

  r[0] = (struct df_row){ .type = "Images", .total = sbx_strv_len (u->images) };
  for (i = 0; u->images[i]; i++)
    r[0].active += sbx_strv_contains (u->in_use, u->images[i]);
  named = cli_keep_digests (s, u->images, &n_named);
  used = cli_keep_digests (s, u->in_use, &n_used);
  r[0].size = size_of_digests (s, named, n_named, &seen);
  used_size = size_of_digests (s, used, n_used, &seen_used);
  r[0].reclaimable = r[0].size > used_size ? r[0].size - used_size : 0;

  r[1] = (struct df_row){ .type = "Containers", .total = u->n_cs };
  for (i = 0; i < u->n_cs; i++)
    {
      uint64_t sz = du (u->cs[i]->upper);

      r[1].size += sz;
      if (u->running[i])
        r[1].active++;
      else
        r[1].reclaimable += sz;
    }

  r[2] = (struct df_row){ .type = "Local Volumes", .total = sbx_strv_len (vol_names) };
  r[2].size = r[2].reclaimable = du (vols);

  cache = build_cache_images (s, &entries);
  cached = cli_keep_digests (s, cache, &n_cached);
  r[3] = (struct df_row){ .type = "Build Cache", .total = entries };
  r[3].size = size_of_digests (s, cached, n_cached, &seen) + du (cache_dir);
  r[3].reclaimable = r[3].size;
}

struct df_arg
{
  struct usage u;
  bool json;
};

static void
print_rows (const struct df_row *rows, size_t n, bool json)
{
  cleanup_json struct sbx_json *arr = sbx_json_array ();
  cleanup_free char *out = NULL;
  char size[32], recl[32];
  size_t i;

  if (! json)
    printf ("%-15s %-9s %-9s %-10s %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
  for (i = 0; i < n; i++)
    {
      struct sbx_json *o;

      if (! json)
        {
          cli_human_size ((int64_t) rows[i].size, size, sizeof size);
          cli_human_size ((int64_t) rows[i].reclaimable, recl, sizeof recl);
          printf ("%-15s %-9zu %-9zu %-10s %s (%d%%)\n", rows[i].type, rows[i].total,
                  rows[i].active, size, recl,
                  rows[i].size ? (int) (rows[i].reclaimable * 100 / rows[i].size) : 0);
          continue;
        }
      o = sbx_json_object ();
      sbx_json_set_str (o, "Type", rows[i].type);
      sbx_json_set_int (o, "TotalCount", (int64_t) rows[i].total);
      sbx_json_set_int (o, "Active", (int64_t) rows[i].active);
      sbx_json_set_int (o, "Size", (int64_t) rows[i].size);
      sbx_json_set_int (o, "Reclaimable", (int64_t) rows[i].reclaimable);
      sbx_json_append (arr, o);
    }
  if (json)
    {
      out = sbx_json_dump (arr);
      fputs (out, stdout);
    }
  fflush (stdout);
}

static int
df_fn (void *arg, struct sbx_error **err)
{
  struct df_arg *a = arg;

  (void) err;
  usage_measure (&a->u);
  print_rows (a->u.rows, SBX_N_ELEMENTS (a->u.rows), a->json);
  return 0;
}

static const char df_help[]
    = "Usage: sbx system df [--format table|json]\n"
      "\n"
      "Show what the store holds: images (their blobs and unpacked layers),\n"
      "containers' writable layers, volumes and the build cache, with counts,\n"
      "sizes and the part `sbx system prune -a` would free.\n"
      "\n"
      "Options:\n"
      "      --format FMT   table (default) or json (sizes in bytes)\n"
      "  -h, --help         show this help\n"
      "\n"
      "Examples:\n"
      "  sbx system df\n"
      "  sbx system df --format json\n";

static int
system_df (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct df_arg a = { 0 };
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0)
          a.json = true;
        else if (strcmp (optarg, "table") != 0)
          return cli_usage_error ("system df", "invalid --format `%s`: expected table or json",
                                  optarg);
        break;
      case 'h':
        fputs (df_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("system df", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("system df", "unexpected argument `%s`", argv[optind]);
  r = usage_gather (g, &a.u, &err);
  if (r == 0)
    {
      sbx_userns_detect (&plan);
      fflush (stdout);
      r = cli_store_op (&plan, df_fn, &a, &err);
    }
  usage_release (&a.u);
  return r < 0 ? cli_report ("system df", err, SBX_EXIT_FAILURE) : 0;
}

struct prune_arg
{
  struct usage u;
  bool all;
  char **keep; /* manifests of running containers' images */
};

/* Stopped containers, then (with -a) every image no running container
   uses, the build cache, and what no name refers to any more.  Runs in the
   user namespace; prints what it removed.  */
static int
prune_fn (void *arg, struct sbx_error **err)
{
  struct prune_arg *a = arg;
  struct sbx_store *s = a->u.store;
  cleanup_free struct sbx_digest *keep = NULL;
  cleanup_free char *cache_dir = build_cache_dir (s);
  cleanup_strv char **cache = list_dir (cache_dir);
  uint64_t total = 0, freed = 0;
  size_t n_keep = 0, removed = 0, i, n = 0;
  char size[32];

  for (i = 0; i < a->u.n_cs; i++)
    {
      const struct sbx_container *c = a->u.cs[i];
      uint64_t sz;

      if (a->u.running[i])
        continue;
      sz = du (c->upper);
      if (sbx_container_remove (s, c, err) < 0)
        return -1;
      if (n++ == 0)
        printf ("Deleted Containers:\n");
      printf ("%s\n", c->id);
      total += sz;
    }
  if (n)
    printf ("\n");
  if (a->all)
    {
      struct sbx_store_ref *refs = NULL;
      size_t n_refs = 0;
      char buf[SBX_DIGEST_STR_MAX];
      int r;

      r = sbx_store_list_refs (s, &refs, &n_refs, err);
      for (i = 0; r == 0 && i < n_refs; i++)
        if (! sbx_strv_contains (a->keep, sbx_digest_format (&refs[i].manifest, buf)))
          {
            r = sbx_store_remove_ref (s, refs[i].name, err);
            if (r == 0)
              printf ("Untagged: %s\n", refs[i].name);
          }
      sbx_store_refs_free (refs, n_refs);
      if (r < 0)
        return -1;
    }
  for (i = 0; cache[i]; i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", cache_dir, cache[i]);

      total += du (path);
      if (unlink (path) < 0 && errno != ENOENT)
        return sbx_err_errno (err, "unlink `%s`", path);
    }
  if (i)
    printf ("Deleted build cache objects: %zu\n", i);
  keep = cli_keep_digests (s, a->keep, &n_keep);
  if (sbx_store_prune (s, keep, n_keep, &freed, &removed, err) < 0)
    return -1;
  cli_human_size ((int64_t) (total + freed), size, sizeof size);
  printf ("Total reclaimed space: %s\n", size);
  fflush (stdout);
  return 0;
}

static const char prune_help[]
    = "Usage: sbx system prune [-a] [-f] [--volumes]\n"
      "\n"
      "Remove stopped containers (with their writable layers), the build cache,\n"
      "and the blobs and layers no image name refers to; with -a, also every\n"
      "image that no running container uses.  Prints what it removed and the\n"
      "space it freed.\n"
      "\n"
      "Options:\n"
      "  -a, --all       also remove images not used by a running container\n"
      "  -f, --force     do not ask for confirmation (needed without a terminal)\n"
      "      --volumes   also remove volumes no container uses (when sbx has volumes)\n"
      "  -h, --help      show this help\n"
      "\n"
      "Examples:\n"
      "  sbx system prune -f\n"
      "  sbx system prune -a -f\n";

static bool
confirm (bool all)
{
  char line[16];

  fprintf (stderr,
           "WARNING! This will remove:\n  - all stopped containers\n  - %s\n"
           "  - the build cache\nAre you sure you want to continue? [y/N] ",
           all ? "all images without a running container" : "unreferenced blobs and layers");
  if (fgets (line, sizeof line, stdin) == NULL)
    return false;
  return line[0] == 'y' || line[0] == 'Y';
}

static int
system_prune (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "all", no_argument, NULL, 'a' },
    { "force", no_argument, NULL, 'f' },
    { "volumes", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct prune_arg a = { 0 };
  struct sbx_userns_plan plan;
  struct sbx_error *err = NULL;
  bool force = false;
  size_t i;
  int c, r;

  while ((c = getopt_long (argc, argv, "+:afh", opts, NULL)) != -1)
    switch (c)
      {
      case 'a':
        a.all = true;
        break;
      case 'f':
        force = true;
        break;
      case 'V':
        break; /* no volumes in this store yet: nothing more to remove */
      case 'h':
        fputs (prune_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("system prune", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("system prune", "unexpected argument `%s`", argv[optind]);
  if (! force)
    {
      if (! isatty (STDIN_FILENO))
        return cli_usage_error ("system prune", "not a terminal: confirm with -f");
      if (! confirm (a.all))
        return 0;
    }
  r = usage_gather (g, &a.u, &err);
  if (r == 0)
    {
      char buf[SBX_DIGEST_STR_MAX];

      /* Images of running containers stay, named or not.  */
      a.keep = sbx_strv_dup (NULL);
      for (i = 0; i < a.u.n_cs; i++)
        if (a.u.running[i] && a.u.cs[i]->image.hex[0])
          sbx_strv_push (&a.keep, sbx_digest_format (&a.u.cs[i]->image, buf));
      cleanup_strv char **running = sbx_runtime_images_in_use (&err);

      r = running ? 0 : -1;
      for (i = 0; running && running[i]; i++)
        if (! sbx_strv_contains (a.keep, running[i]))
          sbx_strv_push (&a.keep, running[i]);
    }
  if (r == 0)
    {
      sbx_userns_detect (&plan);
      fflush (stdout);
      r = cli_store_op (&plan, prune_fn, &a, &err);
    }
  sbx_strv_free (a.keep);
  usage_release (&a.u);
  return r < 0 ? cli_report ("system prune", err, SBX_EXIT_FAILURE) : 0;
}

static const char system_help[]
    = "Usage: sbx system COMMAND\n"
      "\n"
      "Manage the store.\n"
      "\n"
      "Commands:\n"
      "  df                       what the store holds, and what a prune would free\n"
      "  prune [-a] [-f]          remove stopped containers, the build cache and\n"
      "                           unused data (-a: unused images too)\n"
      "  check [--repair]         verify the store\n"
      "\n"
      "Examples:\n"
      "  sbx system df\n"
      "  sbx system prune -a -f\n"
      "  sbx system check --repair\n";

int
cli_system (const struct cli_globals *g, int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      fputs (system_help, argc < 2 ? stderr : stdout);
      return argc < 2 ? SBX_EXIT_FAILURE : 0;
    }
  optind = 0;
  if (strcmp (argv[1], "check") == 0)
    return system_check (g, argc - 1, argv + 1);
  if (strcmp (argv[1], "df") == 0)
    return system_df (g, argc - 1, argv + 1);
  if (strcmp (argv[1], "prune") == 0)
    return system_prune (g, argc - 1, argv + 1);
  return cli_usage_error ("system", "unknown command `%s`", argv[1]);
}

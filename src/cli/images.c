/* SPDX-License-Identifier: GPL-2.0-or-later */
/* images, rmi, tag, inspect, and `image` with its subcommands.  */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/builder.h"
#include "cli/cli.h"
#include "image/image.h"
#include "registry/registry.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

static void
human_size (int64_t n, char *buf, size_t len)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double) n;
  size_t u = 0;

  while (v >= 1000 && u + 1 < SBX_N_ELEMENTS (units))
    {
      v /= 1000;
      u++;
    }
  snprintf (buf, len, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

/* "docker.io/library/busybox:latest" → repository "busybox", tag "latest".  */
static void
split_name (const char *name, char **repo, char **tag)
{
  struct sbx_reference ref = { 0 };
  struct sbx_error *err = NULL;

  if (sbx_reference_parse (name, &ref, &err) < 0)
    {
      sbx_error_clear (&err);
      *repo = xstrdup (name);
      *tag = xstrdup ("<none>");
      return;
    }
  {
    cleanup_free char *fam = sbx_reference_familiar (&ref);
    char *at = strchr (fam, '@');
    char *colon = NULL;

    if (at)
      *at = '\0';
    if (ref.tag)
      colon = strrchr (fam, ':');
    if (colon)
      *colon = '\0';
    *repo = xstrdup (fam);
    *tag = xstrdup (ref.tag ? ref.tag : "<none>");
  }
  sbx_reference_release (&ref);
}

static const char images_help[]
    = "Usage: sbx images [OPTIONS]\n"
      "\n"
      "List the images in the store.\n"
      "\n"
      "Options:\n"
      "  -q, --quiet          only image ids\n"
      "      --format FMT     table (default), json, or a template of\n"
      "                       {{.ID}} {{.Repository}} {{.Tag}} {{.Name}}\n"
      "                       {{.Digest}} {{.CreatedAt}} {{.Size}}\n"
      "      --no-trunc       full ids\n"
      "      --help           show this help\n";

int
cli_images (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "quiet", no_argument, NULL, 'q' },    { "format", required_argument, NULL, 'f' },
    { "no-trunc", no_argument, NULL, 'n' }, { "all", no_argument, NULL, 'a' },
    { "help", no_argument, NULL, 'h' },     { NULL, 0, NULL, 0 },
  };
  bool quiet = false, json = false, notrunc = false;
  const char *tmpl = NULL;
  cleanup_json struct sbx_json *arr = sbx_json_array ();
  struct sbx_store_ref *refs = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  size_t n = 0, i;
  int c;

  while ((c = getopt_long (argc, argv, "+:qa", opts, NULL)) != -1)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case 'a':
        break;
      case 'n':
        notrunc = true;
        break;
      case 'f':
        if (strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0)
          json = true;
        else if (cli_format_is_template (optarg))
          tmpl = optarg;
        else if (strcmp (optarg, "table") != 0)
          return cli_usage_error (
              "images", "invalid --format `%s`: expected table, json or {{.Field}}", optarg);
        break;
      case 'h':
        fputs (images_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("images", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("images", "unexpected argument `%s`", argv[optind]);
  if (cli_open_store (g, &store, &err) < 0 || sbx_store_list_refs (store, &refs, &n, &err) < 0)
    {
      sbx_store_close (store);
      return cli_report ("images", err, SBX_EXIT_FAILURE);
    }
  if (! quiet && ! json && ! tmpl)
    printf ("%-40s %-16s %-14s %-22s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (i = 0; i < n; i++)
    {
      cleanup_free char *repo = NULL;
      cleanup_free char *tag = NULL;
      struct sbx_image *img = NULL;
      char size[32], dig[SBX_DIGEST_STR_MAX], id[SBX_DIGEST_STR_MAX];

      if (sbx_image_load (store, &refs[i].manifest, &img, &err) < 0)
        {
          fprintf (stderr, "sbx: images: %s: %s\n", refs[i].name, err->msg);
          sbx_error_clear (&err);
          continue;
        }
      split_name (refs[i].name, &repo, &tag);
      human_size (sbx_image_size (img), size, sizeof size);
      sbx_digest_format (&img->config_digest, id);
      if (json)
        {
          struct sbx_json *o = sbx_json_object ();
          struct sbx_json *names = sbx_json_array ();

          sbx_json_append_str (names, refs[i].name);
          sbx_json_set_str (o, "Id", id);
          sbx_json_set (o, "Names", names);
          sbx_json_set_str (o, "Repository", repo);
          sbx_json_set_str (o, "Tag", tag);
          sbx_json_set_str (o, "Digest", sbx_digest_format (&refs[i].manifest, dig));
          sbx_json_set_str (o, "Created", img->config->created);
          sbx_json_set_int (o, "Size", sbx_image_size (img));
          sbx_json_append (arr, o);
        }
      else if (quiet)
        printf ("%.*s\n", notrunc ? 71 : 12, notrunc ? id : img->config_digest.hex);
      else if (tmpl)
        {
          cleanup_free char *short_id = xstrndup (img->config_digest.hex, 12);
          cleanup_free char *name = xasprintf ("%s:%s", repo, tag);
          cleanup_free char *line = NULL;
          const struct cli_field fields[] = {
            { "ID", notrunc ? id : short_id },
            { "Repository", repo },
            { "Tag", tag },
            { "Name", name },
            { "Digest", sbx_digest_format (&refs[i].manifest, dig) },
            { "CreatedAt", img->config->created },
            { "Size", size },
          };

          line = cli_format_expand (tmpl, fields, SBX_N_ELEMENTS (fields), &err);
          if (line == NULL)
            {
              sbx_image_free (img);
              sbx_store_refs_free (refs, n);
              sbx_store_close (store);
              return cli_report ("images", err, SBX_EXIT_FAILURE);
            }
          fputs (line, stdout);
        }
      else
        printf ("%-40s %-16s %-14.12s %-22.19s %s\n", repo, tag, img->config_digest.hex,
                img->config->created ? img->config->created : "", size);
      sbx_image_free (img);
    }
  if (json)
    {
      cleanup_free char *out = sbx_json_dump (arr);
      fputs (out, stdout);
    }
  sbx_store_refs_free (refs, n);
  sbx_store_close (store);
  return 0;
}

/* Names that point at MANIFEST.  */
static char **
names_of (struct sbx_store *s, const struct sbx_digest *manifest, struct sbx_error **err)
{
  struct sbx_store_ref *refs = NULL;
  char **names = xcalloc (1, sizeof (char *));
  size_t n = 0, i;

  if (sbx_store_list_refs (s, &refs, &n, err) < 0)
    {
      free (names);
      return NULL;
    }
  for (i = 0; i < n; i++)
    if (sbx_digest_equal (&refs[i].manifest, manifest))
      sbx_strv_push (&names, refs[i].name);
  sbx_store_refs_free (refs, n);
  return names;
}

struct gc_arg
{
  struct sbx_store *store;
  char **in_use; /* manifest digests of running containers */
  bool report;   /* print what was freed (prune) */
};

struct sbx_digest *
cli_keep_digests (struct sbx_store *s, char *const *in_use, size_t *n)
{
  struct sbx_digest *keep = NULL;
  size_t n_keep = 0, i, l;

  for (i = 0; in_use && in_use[i]; i++)
    {
      struct sbx_digest m;
      struct sbx_image *img = NULL;
      struct sbx_error *ignored = NULL;

      if (sbx_digest_parse (in_use[i], &m, &ignored) < 0
          || sbx_image_load (s, &m, &img, &ignored) < 0)
        {
          sbx_error_clear (&ignored);
          continue;
        }
      keep = xrealloc (keep, xmul (n_keep + 3 + img->manifest->n_layers * 2, sizeof *keep));
      keep[n_keep++] = m;
      keep[n_keep++] = img->config_digest;
      for (l = 0; l < img->manifest->n_layers; l++)
        {
          keep[n_keep++] = img->manifest->layers[l].digest;
          keep[n_keep++] = img->config->diff_ids[l];
        }
      sbx_image_free (img);
    }
  *n = n_keep;
  return keep;
}

void
cli_human_size (int64_t n, char *buf, size_t len)
{
  human_size (n, buf, len);
}

/* Layers of images that running containers use stay, whatever the names.  */
static int
gc_fn (void *arg, struct sbx_error **err)
{
  struct gc_arg *a = arg;
  struct sbx_digest *keep = NULL;
  size_t n_keep = 0;
  uint64_t freed = 0;
  size_t removed = 0;
  int r;

  keep = cli_keep_digests (a->store, a->in_use, &n_keep);
  r = sbx_store_prune (a->store, keep, n_keep, &freed, &removed, err);
  free (keep);
  if (r == 0)
    {
      size_t stale = 0;

      /* Build cache entries whose image went with the prune.  */
      r = sbx_build_cache_prune (a->store, &stale, err);
    }
  if (r == 0 && a->report)
    {
      char size[32];

      human_size ((int64_t) freed, size, sizeof size);
      printf ("Total reclaimed space: %s\n", size);
    }
  return r;
}

static int
collect_garbage (struct sbx_store *s, char **in_use, bool report, struct sbx_error **err)
{
  struct gc_arg a = { .store = s, .in_use = in_use, .report = report };
  struct sbx_userns_plan plan;

  sbx_userns_detect (&plan);
  return cli_store_op (&plan, gc_fn, &a, err);
}

static bool
is_in_use (char **in_use, const struct sbx_digest *manifest)
{
  char buf[SBX_DIGEST_STR_MAX];

  return sbx_strv_contains (in_use, sbx_digest_format (manifest, buf));
}

static int
remove_one (struct sbx_store *s, const char *what, bool force, char **in_use,
            struct sbx_error **err)
{
  cleanup_free char *name = NULL;
  cleanup_strv char **names = NULL;
  struct sbx_error *ignored = NULL;
  struct sbx_digest manifest, dummy;
  size_t i;

  if (cli_find_image (s, what, &manifest, err) < 0)
    return -1;
  names = names_of (s, &manifest, err);
  if (names == NULL)
    return -1;
  name = cli_normalize_ref (what, &ignored);
  sbx_error_clear (&ignored);
  /* By name: untag that name only, unless it is the image's last one.  */
  if (name && sbx_strv_contains (names, name) && sbx_strv_len (names) > 1)
    {
      if (sbx_store_remove_ref (s, name, err) < 0)
        return -1;
      printf ("Untagged: %s\n", name);
      return 0;
    }
  if (! force && sbx_strv_len (names) > 1)
    return sbx_err (err, EBUSY, "image `%s` has %zu names: remove them one by one, or use -f", what,
                    sbx_strv_len (names));
  if (! force && is_in_use (in_use, &manifest))
    return sbx_err (err, EBUSY, "image `%s` is in use by a container (remove it first, or use -f)",
                    what);
  for (i = 0; names[i]; i++)
    {
      if (sbx_store_lookup_ref (s, names[i], &dummy, err) < 0
          || sbx_store_remove_ref (s, names[i], err) < 0)
        return -1;
      printf ("Untagged: %s\n", names[i]);
    }
  {
    char buf[SBX_DIGEST_STR_MAX];
    printf ("Deleted: %s\n", sbx_digest_format (&manifest, buf));
  }
  return 0;
}

/* Images that containers use: running ones (the runtime's state) and every
   kept container (the store).  */
static char **
images_in_use (struct sbx_store *s, struct sbx_error **err)
{
  char **in_use = sbx_runtime_images_in_use (err);
  struct sbx_container **list = NULL;
  size_t n = 0, i;

  if (in_use == NULL)
    return NULL;
  if (sbx_container_list (s, &list, &n, err) < 0)
    {
      sbx_strv_free (in_use);
      return NULL;
    }
  for (i = 0; i < n; i++)
    if (sbx_digest_is_set (&list[i]->image))
      {
        char buf[SBX_DIGEST_STR_MAX];
        sbx_strv_push (&in_use, sbx_digest_format (&list[i]->image, buf));
      }
  sbx_container_list_free (list, n);
  return in_use;
}

int
cli_rmi (const struct cli_globals *g, int argc, char **argv)
{
  cleanup_strv char **in_use = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  bool force = false;
  int status = 0;
  int i, r;

  r = cli_parse_force ("rmi",
                       "Usage: sbx rmi [-f] IMAGE...\n\nRemove images (names or ids). An image "
                       "used by a container,\nor with several names given by id, needs -f.\n",
                       argc, argv, &force);
  if (r != 0)
    return r < 0 ? 0 : r;
  if (optind >= argc)
    return cli_usage_error ("rmi", "no image given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("rmi", err, SBX_EXIT_FAILURE);
  in_use = images_in_use (store, &err);
  if (in_use == NULL)
    {
      sbx_store_close (store);
      return cli_report ("rmi", err, SBX_EXIT_FAILURE);
    }
  for (i = optind; i < argc; i++)
    if (remove_one (store, argv[i], force, in_use, &err) < 0)
      {
        cli_report ("rmi", err, 0);
        err = NULL;
        status = 1;
      }
  if (collect_garbage (store, in_use, false, &err) < 0)
    status = cli_report ("rmi", err, SBX_EXIT_FAILURE);
  sbx_store_close (store);
  return status;
}

int
cli_tag (const struct cli_globals *g, int argc, char **argv)
{
  cleanup_free char *dst = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  struct sbx_digest manifest;
  int r;

  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: sbx tag SOURCE TARGET\n\nGive the image SOURCE (name or id) the name "
              "TARGET.\n");
      return 0;
    }
  if (argc != 3)
    return cli_usage_error ("tag", "expected SOURCE and TARGET");
  dst = cli_normalize_ref (argv[2], &err);
  if (dst == NULL)
    return cli_report ("tag", err, SBX_EXIT_FAILURE);
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("tag", err, SBX_EXIT_FAILURE);
  r = cli_find_image (store, argv[1], &manifest, &err);
  if (r == 0)
    r = sbx_store_set_ref (store, dst, &manifest, &err);
  sbx_store_close (store);
  return r < 0 ? cli_report ("tag", err, SBX_EXIT_FAILURE) : 0;
}

static struct sbx_json *
inspect_one (struct sbx_store *s, const char *what, struct sbx_error **err)
{
  struct sbx_digest manifest;
  struct sbx_image *img = NULL;
  struct sbx_json *o, *names;
  cleanup_strv char **list = NULL;
  char id[SBX_DIGEST_STR_MAX], dig[SBX_DIGEST_STR_MAX];
  size_t i;

  if (cli_find_image (s, what, &manifest, err) < 0 || sbx_image_load (s, &manifest, &img, err) < 0)
    return NULL;
  list = names_of (s, &manifest, err);
  o = sbx_json_object ();
  names = sbx_json_array ();
  for (i = 0; list && list[i]; i++)
    sbx_json_append_str (names, list[i]);
  sbx_json_set_str (o, "Id", sbx_digest_format (&img->config_digest, id));
  sbx_json_set_str (o, "Digest", sbx_digest_format (&manifest, dig));
  sbx_json_set (o, "RepoTags", names);
  sbx_json_set_int (o, "Size", sbx_image_size (img));
  sbx_json_set (o, "Manifest", sbx_json_parse (img->manifest_json, strlen (img->manifest_json)));
  sbx_json_set (o, "Config", sbx_json_parse (img->config_json, strlen (img->config_json)));
  sbx_image_free (img);
  return o;
}

int
cli_inspect (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_json struct sbx_json *arr = sbx_json_array ();
  cleanup_free char *out = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  int status = 0;
  int c, i;

  while ((c = getopt_long (argc, argv, "+:f:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "{{json .}}") != 0)
          return cli_usage_error ("inspect", "invalid --format `%s`: expected json", optarg);
        break;
      case 'h':
        printf ("Usage: sbx inspect CONTAINER|IMAGE...\n\nShow containers' records and state, "
                "or images' ids, names, manifests\nand configs, as a JSON array.\n\nExamples:\n"
                "  sbx inspect web\n  sbx inspect busybox\n");
        return 0;
      default:
        return cli_getopt_error ("inspect", c, argv);
      }
  if (optind >= argc)
    return cli_usage_error ("inspect", "no container or image given");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("inspect", err, SBX_EXIT_FAILURE);
  for (i = optind; i < argc; i++)
    {
      struct sbx_json *o = cli_container_inspect (store, argv[i]);

      if (o == NULL)
        o = inspect_one (store, argv[i], &err);

      if (o == NULL)
        {
          cli_report ("inspect", err, 0);
          err = NULL;
          status = 1;
          continue;
        }
      sbx_json_append (arr, o);
    }
  sbx_store_close (store);
  out = sbx_json_dump (arr);
  fputs (out, stdout);
  return status;
}

static int
image_prune (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "all", no_argument, NULL, 'a' },
    { "force", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_strv char **in_use = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  bool all = false;
  int c, r = 0;

  while ((c = getopt_long (argc, argv, "+:af", opts, NULL)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'f':
        break;
      case 'h':
        printf ("Usage: sbx image prune [-a]\n\nRemove blobs and layers no image refers to; "
                "with -a, also every image\nno running container uses.\n");
        return 0;
      default:
        return cli_getopt_error ("image prune", c, argv);
      }
  if (cli_open_store (g, &store, &err) < 0 || (in_use = sbx_runtime_images_in_use (&err)) == NULL)
    {
      sbx_store_close (store);
      return cli_report ("image prune", err, SBX_EXIT_FAILURE);
    }
  if (all)
    {
      struct sbx_store_ref *refs = NULL;
      size_t n = 0, i;

      r = sbx_store_list_refs (store, &refs, &n, &err);
      for (i = 0; r == 0 && i < n; i++)
        if (! is_in_use (in_use, &refs[i].manifest))
          {
            r = sbx_store_remove_ref (store, refs[i].name, &err);
            if (r == 0)
              printf ("Untagged: %s\n", refs[i].name);
          }
      sbx_store_refs_free (refs, n);
    }
  if (r == 0)
    r = collect_garbage (store, in_use, true, &err);
  sbx_store_close (store);
  return r < 0 ? cli_report ("image prune", err, SBX_EXIT_FAILURE) : 0;
}

int
cli_image (const struct cli_globals *g, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*fn) (const struct cli_globals *, int, char **);
  } subs[] = {
    { "ls", cli_images },     { "list", cli_images },     { "rm", cli_rmi },
    { "tag", cli_tag },       { "inspect", cli_inspect }, { "pull", cli_pull },
    { "prune", image_prune },
  };
  size_t i;

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      printf ("Usage: sbx image COMMAND\n\nCommands: ls, rm, tag, inspect, pull, prune\n");
      return argc < 2 ? SBX_EXIT_FAILURE : 0;
    }
  for (i = 0; i < SBX_N_ELEMENTS (subs); i++)
    if (strcmp (argv[1], subs[i].name) == 0)
      {
        optind = 0;
        return subs[i].fn (g, argc - 1, argv + 1);
      }
  return cli_usage_error ("image", "unknown command `%s`", argv[1]);
}

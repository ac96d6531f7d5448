/* SPDX-License-Identifier: GPL-2.0-or-later */
/* save, load and import: images to and from tar archives (layer/archive.c).  */
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
#include "layer/layer.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* A temp file next to the output, renamed over it once complete and
   removed otherwise: a failed save never leaves a half-written archive.  */
struct output_guard
{
  char *tmp;
  bool armed;
};

static void
output_guard_run (struct output_guard *g)
{
  if (g->armed)
    (void) unlink (g->tmp);
  free (g->tmp);
}
#define cleanup_output __attribute__ ((cleanup (output_guard_run)))

static int
create_temp_next_to (const char *path, struct output_guard *g, struct sbx_error **err)
{
  cleanup_free char *dir = xstrdup (path);
  char *slash = strrchr (dir, '/');
  const char *base = slash ? slash + 1 : path;
  mode_t mask = umask (0);
  int fd;

  (void) umask (mask);
  if (slash)
    slash[1] = '\0';
  g->tmp = xasprintf ("%s.%s.sbx-XXXXXX", slash ? dir : "", base);
  fd = mkostemp (g->tmp, O_CLOEXEC);
  if (fd < 0)
    return sbx_err_errno (err, "create a temporary file next to `%s`", path);
  g->armed = true;
  /* mkostemp made it 0600; an archive is created like any other file.  */
  if (fchmod (fd, 0666 & ~mask) < 0)
    {
      sbx_err_errno (err, "chmod `%s`", g->tmp);
      (void) close (fd);
      return -1;
    }
  return fd;
}

/* The names to record in the archive: the one given when IMAGE is a name of
   it, else every name it has (as Docker does for an id).  */
static char **
save_names (struct sbx_store *s, const char *image, const struct sbx_digest *manifest,
            struct sbx_error **err)
{
  struct sbx_error *ignored = NULL;
  cleanup_free char *name = cli_normalize_ref (image, &ignored);
  struct sbx_store_ref *refs = NULL;
  char **names = xcalloc (1, sizeof (char *));
  struct sbx_digest d;
  size_t n = 0, i;

  sbx_error_clear (&ignored);
  if (name && sbx_store_lookup_ref (s, name, &d, &ignored) == 1 && sbx_digest_equal (&d, manifest))
    {
      sbx_strv_push (&names, name);
      return names;
    }
  sbx_error_clear (&ignored);
  if (sbx_store_list_refs (s, &refs, &n, err) < 0)
    {
      sbx_strv_free (names);
      return NULL;
    }
  for (i = 0; i < n; i++)
    if (sbx_digest_equal (&refs[i].manifest, manifest))
      sbx_strv_push (&names, refs[i].name);
  sbx_store_refs_free (refs, n);
  return names;
}

struct save_req
{
  const char *image;
  const char *output; /* NULL or "-": stdout */
  const char *format;
};

static int
do_save (struct sbx_store *s, const struct save_req *q, struct sbx_error **err)
{
  cleanup_output struct output_guard g = { 0 };
  cleanup_strv char **names = NULL;
  cleanup_close int fd = -1;
  struct sbx_digest manifest;
  bool to_stdout = q->output == NULL || strcmp (q->output, "-") == 0;

  if (cli_find_image (s, q->image, &manifest, err) < 0)
    return -1;
  names = save_names (s, q->image, &manifest, err);
  if (names == NULL)
    return -1;
  if (to_stdout)
    return sbx_archive_save (s, &manifest, names, q->format, STDOUT_FILENO, err);
  fd = create_temp_next_to (q->output, &g, err);
  if (fd < 0 || sbx_archive_save (s, &manifest, names, q->format, fd, err) < 0)
    return -1;
  if (fsync (fd) < 0)
    return sbx_err_errno (err, "fsync `%s`", g.tmp);
  if (rename (g.tmp, q->output) < 0)
    return sbx_err_errno (err, "rename `%s` to `%s`", g.tmp, q->output);
  g.armed = false;
  return 0;
}

static const char save_help[]
    = "Usage: sbx save [OPTIONS] IMAGE\n"
      "\n"
      "Write an image (name or id) to a tar archive.\n"
      "\n"
      "Options:\n"
      "  -o, --output FILE     write to FILE (replaced only once complete); without it\n"
      "                        the archive goes to stdout, which may not be a terminal\n"
      "      --format FORMAT   docker-archive (default: what `docker save` writes) or\n"
      "                        oci-archive (a tar of an OCI image layout)\n"
      "      --help            show this help\n"
      "\n"
      "Examples:\n"
      "  sbx save -o busybox.tar busybox\n"
      "  sbx save --format oci-archive busybox | gzip > busybox-oci.tar.gz\n";

int
cli_save (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "output", required_argument, NULL, 'o' },
    { "format", required_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct save_req q = { .format = "docker-archive" };
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  int c, r;

  while ((c = getopt_long (argc, argv, ":o:", opts, NULL)) != -1)
    switch (c)
      {
      case 'o':
        q.output = optarg;
        break;
      case 'f':
        if (strcmp (optarg, "docker-archive") != 0 && strcmp (optarg, "oci-archive") != 0)
          return cli_usage_error ("save",
                                  "invalid --format `%s`: expected docker-archive or "
                                  "oci-archive",
                                  optarg);
        q.format = optarg;
        break;
      case 'h':
        fputs (save_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("save", c, argv);
      }
  if (optind + 1 != argc)
    return cli_usage_error ("save",
                            optind >= argc ? "no image given" : "one image at a time, please");
  q.image = argv[optind];
  if ((q.output == NULL || strcmp (q.output, "-") == 0) && isatty (STDOUT_FILENO))
    return cli_usage_error ("save", "refusing to write an archive to a terminal: use -o FILE "
                                    "or redirect stdout");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("save", err, SBX_EXIT_FAILURE);
  r = do_save (store, &q, &err);
  sbx_store_close (store);
  if (r < 0)
    {
      sbx_err_prefix (&err, "save `%s`", q.image);
      return cli_report (NULL, err, SBX_EXIT_FAILURE);
    }
  return 0;
}

/* Record NAME (as the archive wrote it) for MANIFEST and say so.  An image
   the archive does not name gets "localhost/loaded:<short id>", so that it
   can be found (sbx keeps images by name).  */
static int
record_name (struct sbx_store *s, const char *as_written, const struct sbx_digest *manifest,
             struct sbx_error **err)
{
  cleanup_free char *fallback = NULL;
  cleanup_free char *name = NULL;

  if (*as_written == '\0')
    {
      struct sbx_image *img = NULL;

      if (sbx_image_load (s, manifest, &img, err) < 0)
        return -1;
      fallback = xasprintf ("localhost/loaded:%.12s", img->config_digest.hex);
      sbx_image_free (img);
      as_written = fallback;
    }
  name = cli_normalize_ref (as_written, err);
  if (name == NULL)
    return sbx_err_prefix (err, "the archive names an image `%s`", as_written);
  if (sbx_store_set_ref (s, name, manifest, err) < 0)
    return -1;
  printf ("Loaded image: %s\n", name);
  return 0;
}

static int
do_load (struct sbx_store *s, int fd, struct sbx_error **err)
{
  cleanup_strv char **names = NULL;
  cleanup_free struct sbx_digest *manifests = NULL;
  struct sbx_userns_plan plan;
  size_t n = 0, i, j;

  if (sbx_archive_load (s, fd, &names, &manifests, &n, err) < 0)
    return -1;
  sbx_userns_detect (&plan);
  for (i = 0; i < n; i++)
    {
      bool done = false;

      for (j = 0; j < i && ! done; j++)
        done = sbx_digest_equal (&manifests[j], &manifests[i]);
      if (! done && cli_unpack_image (s, &manifests[i], &plan, err) < 0)
        return -1;
    }
  for (i = 0; i < n; i++)
    if (record_name (s, names[i], &manifests[i], err) < 0)
      return -1;
  return 0;
}

static const char load_help[] = "Usage: sbx load [OPTIONS]\n"
                                "\n"
                                "Load images from a tar archive: a docker-archive (`docker save`)\n"
                                "or an OCI layout (oci-archive), possibly gzip-compressed.\n"
                                "\n"
                                "Options:\n"
                                "  -i, --input FILE   read FILE (default: stdin)\n"
                                "  -q, --quiet        accepted for compatibility\n"
                                "      --help         show this help\n";

int
cli_load (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "input", required_argument, NULL, 'i' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *input = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  int c, r;

  while ((c = getopt_long (argc, argv, ":i:q", opts, NULL)) != -1)
    switch (c)
      {
      case 'i':
        input = optarg;
        break;
      case 'q':
        break;
      case 'h':
        fputs (load_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("load", c, argv);
      }
  if (optind < argc)
    return cli_usage_error ("load", "unexpected argument `%s` (use -i FILE)", argv[optind]);
  if (input && strcmp (input, "-") == 0)
    input = NULL;
  if (input == NULL && isatty (STDIN_FILENO))
    return cli_usage_error ("load", "no archive: use -i FILE or redirect stdin");
  if (input)
    {
      fd = open (input, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          sbx_err_errno (&err, "load `%s`: open", input);
          return cli_report (NULL, err, SBX_EXIT_FAILURE);
        }
    }
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("load", err, SBX_EXIT_FAILURE);
  r = do_load (store, input ? fd : STDIN_FILENO, &err);
  sbx_store_close (store);
  if (r < 0)
    {
      sbx_err_prefix (&err, "load `%s`", input ? input : "-");
      return cli_report (NULL, err, SBX_EXIT_FAILURE);
    }
  return 0;
}

static int
do_import (struct sbx_store *s, int fd, const char *name, struct sbx_error **err)
{
  struct sbx_userns_plan plan;
  struct sbx_digest manifest;
  struct sbx_image *img = NULL;
  char id[SBX_DIGEST_STR_MAX];

  if (sbx_archive_import (s, fd, &manifest, err) < 0)
    return -1;
  sbx_userns_detect (&plan);
  if (cli_unpack_image (s, &manifest, &plan, err) < 0
      || sbx_store_set_ref (s, name, &manifest, err) < 0
      || sbx_image_load (s, &manifest, &img, err) < 0)
    return -1;
  printf ("%s\n", sbx_digest_format (&img->config_digest, id));
  sbx_image_free (img);
  return 0;
}

static const char import_help[]
    = "Usage: sbx import [OPTIONS] FILE|- NAME[:TAG]\n"
      "\n"
      "Make a one-layer image of a root filesystem tarball (gzip, zstd or\n"
      "uncompressed; - reads stdin) and print its id.\n"
      "\n"
      "Options:\n"
      "      --help   show this help\n"
      "\n"
      "Example:\n"
      "  tar -C rootfs -c . | sbx import - localhost/myroot:1\n";

int
cli_import (const struct cli_globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_free char *name = NULL;
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  cleanup_close int fd = -1;
  const char *file;
  int c, r;

  while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1)
    switch (c)
      {
      case 'h':
        fputs (import_help, stdout);
        return 0;
      default:
        return cli_getopt_error ("import", c, argv);
      }
  if (optind >= argc)
    return cli_usage_error ("import", "no tarball given");
  if (optind + 1 == argc)
    return cli_usage_error ("import", "import needs a name: sbx import FILE NAME[:TAG]");
  if (optind + 2 != argc)
    return cli_usage_error ("import", "too many arguments");
  file = argv[optind];
  name = cli_normalize_ref (argv[optind + 1], &err);
  if (name == NULL)
    return cli_report ("import", err, SBX_EXIT_FAILURE);
  if (strcmp (file, "-") != 0)
    {
      fd = open (file, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          sbx_err_errno (&err, "import `%s`: open", file);
          return cli_report (NULL, err, SBX_EXIT_FAILURE);
        }
    }
  else if (isatty (STDIN_FILENO))
    return cli_usage_error ("import", "no tarball on stdin: redirect it, or give a FILE");
  if (cli_open_store (g, &store, &err) < 0)
    return cli_report ("import", err, SBX_EXIT_FAILURE);
  r = do_import (store, fd >= 0 ? fd : STDIN_FILENO, name, &err);
  sbx_store_close (store);
  if (r < 0)
    {
      sbx_err_prefix (&err, "import `%s`", file);
      return cli_report (NULL, err, SBX_EXIT_FAILURE);
    }
  return 0;
}

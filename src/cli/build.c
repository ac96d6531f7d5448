/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sbx build: read the Dockerfile and .dockerignore, plan, and hand the plan
   to the executor with the callbacks only the CLI can give (pulling).  */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cli/cli.h"
#include "image/image.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char build_help[]
    = "Usage: sbx build [OPTIONS] CONTEXT\n"
      "\n"
      "Build an image from a Dockerfile and the files of the directory CONTEXT.\n"
      "Each step's result is cached: a rebuild with nothing changed prints CACHED\n"
      "for every step and runs nothing.  Progress goes to stderr; the image id is\n"
      "the last line on stdout.\n"
      "\n"
      "Options:\n"
      "  -t, --tag NAME            name the image (repeatable)\n"
      "  -f, --file FILE           the Dockerfile (`-`: stdin; default CONTEXT/Dockerfile,\n"
      "                            then CONTEXT/Containerfile)\n"
      "      --build-arg K[=V]     set build argument K (bare K: from the environment)\n"
      "      --target STAGE        build the stage STAGE and what it needs\n"
      "      --no-cache            do not use cached step results\n"
      "      --pull                pull base images even when they are stored\n"
      "      --network MODE        RUN steps' network: slirp[:OPTIONS] (default), none\n"
      "                            or host (RUN --network=… overrides it per step)\n"
      "      --help                show this help\n"
      "\n"
      "Examples:\n"
      "  sbx build -t myapp .\n"
      "  sbx build -t tools:dev --target dev --build-arg VERSION=1.2 -f docker/Dockerfile .\n"
      "  sbx build -t hello -f - . <<'EOF'\n"
      "  FROM busybox\n"
      "  RUN echo hello >/hello\n"
      "  EOF\n";

enum
{
  OPT_BUILD_ARG = 256,
  OPT_TARGET,
  OPT_NO_CACHE,
  OPT_PULL,
  OPT_NETWORK,
  OPT_HELP,
};

struct build_req
{
  char **tags;
  char **build_args;
  const char *file;
  const char *target;
  const char *context;
  bool no_cache;
  bool pull;
  const char *network; /* --network, or NULL: slirp */
};

struct build_cb
{
  const struct cli_globals *g;
  struct sbx_store *store;
  const struct sbx_userns_plan *plan;
  bool pull;
};

static int
image_cb (void *arg, const char *image, struct sbx_digest *manifest, struct sbx_error **err)
{
  struct build_cb *c = arg;
  struct cli_pull_opts po = { .tls_verify = true };
  cleanup_free char *name = NULL;

  if (! c->pull && cli_find_image (c->store, image, manifest, err) == 0)
    return cli_unpack_image (c->store, manifest, c->plan, err);
  sbx_error_clear (err);
  name = cli_normalize_ref (image, err);
  if (name == NULL)
    return -1;
  return cli_pull_image (c->g, c->store, name, &po, manifest, err);
}

/* For the planner: what a base image brings to expansion (ENV, WORKDIR,
   USER), as Docker lets `WORKDIR $HOME/app` see the base's HOME.  */
static int
base_cb (void *arg, const char *image, struct sbx_build_base *out, struct sbx_error **err)
{
  struct build_cb *c = arg;
  struct sbx_image *img = NULL;
  struct sbx_digest manifest;

  if (image_cb (arg, image, &manifest, err) < 0
      || sbx_image_load (c->store, &manifest, &img, err) < 0)
    return -1;
  out->env = sbx_strv_dup (img->config->env);
  if (img->config->workdir && *img->config->workdir)
    out->workdir = xstrdup (img->config->workdir);
  if (img->config->user && *img->config->user)
    out->user = xstrdup (img->config->user);
  sbx_image_free (img);
  return 0;
}

static int
unpack_cb (void *arg, const struct sbx_digest *manifest, struct sbx_error **err)
{
  struct build_cb *c = arg;

  return cli_unpack_image (c->store, manifest, c->plan, err);
}

/* ADD of a URL.  Certificates are checked; plain http:// is allowed, as
   Docker allows it for ADD.  */
static int
fetch_cb (void *arg, const char *url, int fd, int64_t *mtime, struct sbx_error **err)
{
  (void) arg;
  *mtime = -1;
  return sbx_registry_fetch_url (url, fd, true, err);
}

static int
parse_flags (int argc, char **argv, struct build_req *r)
{
  static const struct option opts[] = {
    { "tag", required_argument, NULL, 't' },
    { "file", required_argument, NULL, 'f' },
    { "build-arg", required_argument, NULL, OPT_BUILD_ARG },
    { "target", required_argument, NULL, OPT_TARGET },
    { "no-cache", no_argument, NULL, OPT_NO_CACHE },
    { "pull", no_argument, NULL, OPT_PULL },
    { "network", required_argument, NULL, OPT_NETWORK },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+t:f:", opts, NULL)) != -1)
    switch (c)
      {
      case 't':
        sbx_strv_push (&r->tags, optarg);
        break;
      case 'f':
        r->file = optarg;
        break;
      case OPT_BUILD_ARG:
        if (strchr (optarg, '=') == NULL && getenv (optarg))
          sbx_strv_push_take (&r->build_args, xasprintf ("%s=%s", optarg, getenv (optarg)));
        else
          sbx_strv_push (&r->build_args, optarg);
        break;
      case OPT_TARGET:
        r->target = optarg;
        break;
      case OPT_NO_CACHE:
        r->no_cache = true;
        break;
      case OPT_NETWORK:
        r->network = optarg;
        break;
      case OPT_PULL:
        r->pull = true;
        break;
      case OPT_HELP:
        fputs (build_help, stdout);
        return -1;
      default:
        return cli_getopt_error ("build", c, argv);
      }
  if (argc - optind != 1)
    return cli_usage_error ("build", "expected one CONTEXT directory (see sbx build --help)");
  r->context = argv[optind];
  return 0;
}

/* The Dockerfile's text; *NAME gets the name used in messages.  */
static char *
read_dockerfile (const struct build_req *r, char **name, size_t *len, struct sbx_error **err)
{
  static const char *const defaults[] = { "Dockerfile", "Containerfile" };
  size_t i;

  if (r->file && strcmp (r->file, "-") == 0)
    {
      *name = xstrdup ("Dockerfile");
      return sbx_fs_read_fd (STDIN_FILENO, 16 << 20, len, err);
    }
  if (r->file)
    {
      const char *slash = strrchr (r->file, '/');

      *name = xstrdup (slash ? slash + 1 : r->file);
      return sbx_fs_read_file_at (AT_FDCWD, r->file, 16 << 20, len, err);
    }
  for (i = 0; i < 2; i++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", r->context, defaults[i]);

      if (access (p, F_OK) == 0)
        {
          *name = xstrdup (defaults[i]);
          return sbx_fs_read_file_at (AT_FDCWD, p, 16 << 20, len, err);
        }
    }
  return sbx_err (err, ENOENT, "no Dockerfile or Containerfile in `%s` (use -f FILE)", r->context),
         NULL;
}

static int
read_ignore (const char *context, struct sbx_build_ignore **out, struct sbx_error **err)
{
  cleanup_free char *p = xasprintf ("%s/.dockerignore", context);
  cleanup_free char *text = NULL;
  size_t len = 0;

  if (access (p, F_OK) < 0)
    return 0;
  text = sbx_fs_read_file_at (AT_FDCWD, p, 16 << 20, &len, err);
  if (text == NULL)
    return -1;
  return sbx_build_ignore_parse (".dockerignore", text, len, out, err);
}

/* What a build holds, released together.  */
struct build_parts
{
  struct sbx_build_ast *ast;
  struct sbx_build_plan *plan;
  struct sbx_build_ignore *ig;
  struct cli_net net;
};

static void
build_parts_release (struct build_parts *p)
{
  cli_net_release (&p->net);
  sbx_build_plan_free (p->plan);
  sbx_build_ast_free (p->ast);
  sbx_build_ignore_free (p->ig);
}

static int
do_build (const struct cli_globals *g, const struct build_req *r, struct sbx_store *store,
          struct sbx_digest *manifest, int *run_status, struct sbx_error **err)
{
  /* Held shared for the whole build: a prune (exclusive) waits, so the
     intermediate images and cache entries of a running build stay.  */
  cleanup_store_lock struct sbx_store_lock gc = { -1 };
  __attribute__ ((cleanup (build_parts_release))) struct build_parts p = { 0 };
  cleanup_free char *name = NULL;
  cleanup_free char *text = NULL;
  struct sbx_userns_plan up;
  struct build_cb cb = { .g = g, .store = store, .plan = &up, .pull = r->pull };
  struct sbx_build_plan_opts po
      = { .build_args = r->build_args, .target = r->target, .base = base_cb, .base_arg = &cb };
  struct sbx_build_exec_opts eo;
  size_t len = 0, i;

  sbx_userns_detect (&up);
  if (sbx_store_gc_lock (store, false, &gc, err) < 0)
    return -1;
  text = read_dockerfile (r, &name, &len, err);
  if (text == NULL || read_ignore (r->context, &p.ig, err) < 0
      || sbx_build_parse (name, text, len, &p.ast, err) < 0
      || sbx_build_plan (p.ast, &po, &p.plan, err) < 0)
    return -1;
  for (i = 0; p.plan->notes && p.plan->notes[i]; i++)
    fprintf (stderr, "note: %s\n", p.plan->notes[i]);
  for (i = 0; p.plan->warnings && p.plan->warnings[i]; i++)
    fprintf (stderr, "warning: %s\n", p.plan->warnings[i]);
  if (cli_net_parse_mode (r->network ? r->network : "slirp", &p.net, err) < 0
      || cli_net_resolve (&p.net, cli_config_get ()->publish_address.value, NULL, false, NULL, NULL,
                          r->network != NULL, err)
             < 0)
    return -1;
  eo = (struct sbx_build_exec_opts){
    .store = store,
    .plan = &up,
    .network = p.net.mode,
    .net = &p.net.opts,
    .context = r->context,
    .ignore = p.ig,
    .no_cache = r->no_cache,
    .image = image_cb,
    .unpack = unpack_cb,
    .fetch = fetch_cb,
    .cb_arg = &cb,
    .run_status = run_status,
  };
  if (cli_pick_driver (NULL, &eo.driver, err) < 0)
    return -1;
  return sbx_build_exec (p.plan, &eo, manifest, err);
}

static int
tag_and_print (struct sbx_store *store, char *const *tags, const struct sbx_digest *manifest,
               struct sbx_error **err)
{
  struct sbx_image *img = NULL;
  char id[SBX_DIGEST_STR_MAX];
  size_t i;

  for (i = 0; tags && tags[i]; i++)
    {
      cleanup_free char *name = cli_normalize_ref (tags[i], err);

      if (name == NULL || sbx_store_set_ref (store, name, manifest, err) < 0)
        return -1;
    }
  if (sbx_image_load (store, manifest, &img, err) < 0)
    return -1;
  sbx_digest_format (&img->config_digest, id);
  fprintf (stderr, "--> %.12s\n", id + 7);
  for (i = 0; tags && tags[i]; i++)
    fprintf (stderr, "Successfully tagged %s\n", tags[i]);
  printf ("%s\n", id);
  sbx_image_free (img);
  return 0;
}

int
cli_build (const struct cli_globals *g, int argc, char **argv)
{
  struct build_req r = { 0 };
  struct sbx_store *store = NULL;
  struct sbx_error *err = NULL;
  struct sbx_digest manifest;
  int run_status = 0;
  int ret;

  ret = parse_flags (argc, argv, &r);
  if (ret == 0 && cli_open_store (g, &store, &err) == 0)
    {
      if (do_build (g, &r, store, &manifest, &run_status, &err) < 0
          || tag_and_print (store, r.tags, &manifest, &err) < 0)
        ret = -2;
    }
  else if (ret == 0)
    ret = -2;
  sbx_store_close (store);
  sbx_strv_free (r.tags);
  sbx_strv_free (r.build_args);
  if (ret == -1)
    return 0; /* --help */
  /* A failed RUN: its status, as `podman build` does (Docker exits 1).  */
  if (ret == -2)
    return cli_report ("build", err, run_status > 0 ? run_status : SBX_EXIT_FAILURE);
  return ret;
}

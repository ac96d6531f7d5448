/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the image commands share: the store, names, pulling and unpacking.  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "layer/layer.h"
#include "registry/registry.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/log.h"
#include "util/xalloc.h"

int
cli_open_store (const struct cli_globals *g, struct sbx_store **out, struct sbx_error **err)
{
  cleanup_free char *root = cli_store_root (g);

  return sbx_store_open (root, out, err);
}

char *
cli_normalize_ref (const char *s, struct sbx_error **err)
{
  struct sbx_reference ref = { 0 };
  char *r;

  if (sbx_reference_parse (s, &ref, err) < 0)
    return NULL;
  r = sbx_reference_string (&ref);
  sbx_reference_release (&ref);
  return r;
}

int
cli_find_image (struct sbx_store *s, const char *what, struct sbx_digest *manifest,
                struct sbx_error **err)
{
  struct sbx_error *bad_ref = NULL;
  cleanup_free char *name = cli_normalize_ref (what, &bad_ref);
  int r;

  /* A name first, then the text as given (an id or a digest).  */
  if (name)
    {
      r = sbx_store_find_image (s, name, manifest, err);
      if (r != 0)
        return r < 0 ? -1 : 0;
    }
  r = sbx_store_find_image (s, what, manifest, err);
  if (r < 0)
    {
      sbx_error_clear (&bad_ref);
      return -1;
    }
  if (r == 0)
    {
      sbx_error_clear (&bad_ref);
      return sbx_err (err, ENOENT, "no such image `%s`", what);
    }
  sbx_error_clear (&bad_ref);
  return 0;
}

int
cli_store_op (const struct sbx_userns_plan *plan, int (*fn) (void *arg, struct sbx_error **err),
              void *arg, struct sbx_error **err)
{
  /* Inside a user namespace even in single mode: as its root we may enter
     the 0000-mode directories images contain.  */
  return sbx_runtime_in_userns (plan, fn, arg, err);
}

struct unpack_arg
{
  struct sbx_store *store;
  struct sbx_image *img;
  bool apply_owners;
};

/* Serialise unpacking one layer across sbx processes (concurrent pulls).  */
static int
lock_layer (struct sbx_store *s, const struct sbx_digest *d, struct sbx_error **err)
{
  cleanup_free char *name = xasprintf ("tmp/layer-%s.lock", d->hex);
  int fd = openat (sbx_store_rootfd (s), name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", name);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        (void) close (fd);
        return sbx_err_errno (err, "lock `%s`", name);
      }
  return fd;
}

/* A staged layer directory, removed unless it was published.  */
struct staged_guard
{
  struct sbx_store *store;
  char *path;
};

static void
staged_guard_release (struct staged_guard *g)
{
  struct sbx_error *ignored = NULL;

  if (g->path && sbx_fs_rm_rf_at (AT_FDCWD, g->path, &ignored) < 0)
    sbx_error_clear (&ignored);
  free (g->path);
}

static int
unpack_one (struct unpack_arg *a, size_t i, struct sbx_error **err)
{
  const struct sbx_digest *diff_id = &a->img->config->diff_ids[i];
  const struct sbx_descriptor *blob = &a->img->manifest->layers[i];
  __attribute__ ((cleanup (staged_guard_release))) struct staged_guard staged = { a->store, NULL };
  cleanup_free int *lowers = NULL;
  cleanup_close int lock = -1;
  cleanup_close int blobfd = -1;
  cleanup_close int dirfd = -1;
  struct sbx_layer_unpack_opts opts = { .apply_owners = a->apply_owners };
  struct sbx_layer_stats stats = { 0 };
  int r = 0;
  size_t l;

  lock = lock_layer (a->store, diff_id, err);
  if (lock < 0)
    return -1;
  if (sbx_store_has_layer (a->store, diff_id))
    return 0; /* another sbx unpacked it meanwhile */
  blobfd = sbx_store_open_blob (a->store, &blob->digest, err);
  if (blobfd < 0 || sbx_store_stage_dir (a->store, "layer", &staged.path, err) < 0)
    return -1;
  dirfd = open (staged.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return sbx_err_errno (err, "open `%s`", staged.path);
  /* Layers below, top-most first, for hardlinks to their files.  */
  lowers = xcalloc (i + 1, sizeof (int));
  for (l = 0; l < i; l++)
    {
      cleanup_free char *p = sbx_store_layer_path (a->store, &a->img->config->diff_ids[i - 1 - l]);
      lowers[l] = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  opts.lower_dirfds = lowers;
  opts.n_lowers = i;
  if (sbx_layer_unpack (blobfd, dirfd, &opts, &stats, err) < 0)
    r = -1;
  else if (! sbx_digest_equal (&stats.diff_id, diff_id))
    r = sbx_err (err, EBADMSG,
                 "layer %zu: its content (sha256:%.12s) does not match the image's "
                 "DiffID sha256:%.12s",
                 i, stats.diff_id.hex, diff_id->hex);
  for (l = 0; l < i; l++)
    if (lowers[l] >= 0)
      (void) close (lowers[l]);
  if (r < 0 || sbx_store_publish_layer (a->store, staged.path, diff_id, err) < 0)
    return -1;
  free (steal_ptr (&staged.path)); /* published (or a twin was): nothing to undo */
  return 0;
}

static int
unpack_fn (void *arg, struct sbx_error **err)
{
  struct unpack_arg *a = arg;
  size_t i;

  for (i = 0; i < a->img->config->n_diff_ids; i++)
    if (! sbx_store_has_layer (a->store, &a->img->config->diff_ids[i])
        && unpack_one (a, i, err) < 0)
      return sbx_err_prefix (err, "unpack layer %zu (sha256:%.12s)", i,
                             a->img->manifest->layers[i].digest.hex);
  return 0;
}

int
cli_unpack_image (struct sbx_store *s, const struct sbx_digest *manifest,
                  const struct sbx_userns_plan *plan, struct sbx_error **err)
{
  struct unpack_arg a = { .store = s, .apply_owners = plan->mode == SBX_USERNS_SUBUID };
  bool complete = true;
  size_t i;
  int r;

  if (sbx_image_load (s, manifest, &a.img, err) < 0)
    return -1;
  for (i = 0; i < a.img->config->n_diff_ids; i++)
    complete &= sbx_store_has_layer (s, &a.img->config->diff_ids[i]);
  r = complete ? 0 : cli_store_op (plan, unpack_fn, &a, err);
  sbx_image_free (a.img);
  return r;
}

static int
parse_platform (const char *p, struct sbx_registry_opts *o, char **copy, struct sbx_error **err)
{
  char *slash;

  if (p == NULL)
    return 0;
  *copy = xstrdup (p);
  slash = strchr (*copy, '/');
  if (slash == NULL || slash == *copy || slash[1] == '\0')
    return sbx_err (err, EINVAL, "invalid --platform `%s`: expected OS/ARCH[/VARIANT]", p);
  *slash = '\0';
  o->os = *copy;
  o->arch = slash + 1;
  slash = strchr (slash + 1, '/');
  if (slash)
    {
      *slash = '\0';
      o->variant = slash + 1;
    }
  return 0;
}

/* A client for O, which may also speak plain http to EXTRA_INSECURE (an
   http:// mirror; may be NULL).  */
static int
registry_open (const struct cli_pull_opts *o, const char *extra_insecure, struct sbx_registry **out,
               struct sbx_error **err)
{
  cleanup_free char *cfgdir = cli_config_dir ();
  cleanup_free char *auth = xasprintf ("%s/auth.json", cfgdir);
  cleanup_free char *docker = NULL;
  cleanup_free char *platform = NULL;
  cleanup_strv char **insecure = NULL;
  struct sbx_registry_opts ro = { 0 };
  const char *home = getenv ("HOME");

  /* Registries reached over plain http besides localhost (config.json
     "insecure_registries": ["host:port", …]).  */
  insecure = sbx_strv_dup (cli_config_get ()->insecure_registries);
  if (extra_insecure)
    sbx_strv_push (&insecure, extra_insecure);
  ro.insecure = insecure;
  if (home && *home)
    docker = xasprintf ("%s/.docker/config.json", home);
  ro.tls_verify = o->tls_verify;
  ro.auth_file = auth;
  ro.docker_config = docker;
  ro.quiet = o->quiet;
  ro.tty = isatty (STDERR_FILENO) && ! cli_no_color ();
  if (parse_platform (o->platform, &ro, &platform, err) < 0)
    return -1;
  /* The registry copies what it keeps of the options.  */
  return sbx_registry_new (&ro, out, err);
}

int
cli_registry_open (const struct cli_pull_opts *o, struct sbx_registry **out, struct sbx_error **err)
{
  return registry_open (o, NULL, out, err);
}

/* Pull REF from one of its registry's mirrors (config.json
   "registry_mirrors"), trying each in turn: 0 when one had it, 1 when none
   did (the reasons are logged at debug level).  */
static int
pull_from_mirrors (struct sbx_store *s, const struct sbx_reference *ref,
                   const struct cli_pull_opts *o, struct sbx_digest *manifest, bool *up_to_date)
{
  const struct cli_mirror *m = cli_config_mirrors (ref->domain);
  size_t i;

  for (i = 0; m && i < m->n_urls; i++)
    {
      struct sbx_reference mref = *ref;
      struct sbx_registry *reg = NULL;
      struct sbx_error *e = NULL;
      int r;

      mref.domain = m->urls[i].domain;
      r = registry_open (o, m->urls[i].insecure ? m->urls[i].domain : NULL, &reg, &e);
      if (r == 0)
        r = sbx_registry_pull (reg, s, &mref, manifest, up_to_date, &e);
      sbx_registry_free (reg);
      if (r == 0)
        {
          sbx_debug ("pulled `%s` from the mirror %s", ref->path, m->urls[i].domain);
          return 0;
        }
      sbx_debug ("mirror %s: %s", m->urls[i].domain, e ? e->msg : "failed");
      sbx_error_clear (&e);
    }
  return 1;
}

int
cli_pull_image (const struct cli_globals *g, struct sbx_store *s, const char *name,
                const struct cli_pull_opts *o, struct sbx_digest *manifest, struct sbx_error **err)
{
  cleanup_store_lock struct sbx_store_lock gc = { -1 };
  struct sbx_reference ref = { 0 };
  struct sbx_registry *reg = NULL;
  struct sbx_userns_plan plan;
  bool up_to_date = false;
  char dbuf[SBX_DIGEST_STR_MAX];
  int r;

  (void) g;
  if (sbx_reference_parse (name, &ref, err) < 0)
    return -1;
  if (sbx_store_gc_lock (s, false, &gc, err) < 0)
    {
      sbx_reference_release (&ref);
      return -1;
    }
  r = pull_from_mirrors (s, &ref, o, manifest, &up_to_date);
  if (r > 0)
    {
      r = cli_registry_open (o, &reg, err);
      if (r == 0)
        r = sbx_registry_pull (reg, s, &ref, manifest, &up_to_date, err);
      sbx_registry_free (reg);
    }
  sbx_reference_release (&ref);
  if (r < 0)
    return -1;
  sbx_userns_detect (&plan);
  if (cli_unpack_image (s, manifest, &plan, err) < 0
      || sbx_store_set_ref (s, name, manifest, err) < 0)
    return sbx_err_prefix (err, "pull `%s`", name);
  if (! o->quiet)
    fprintf (stderr, "%s: %s\n", up_to_date ? "Image is up to date" : "Pulled",
             sbx_digest_format (manifest, dbuf));
  return 0;
}

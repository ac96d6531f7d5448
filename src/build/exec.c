/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The executor: walk the plan's stages, turn each step into a new image
   (a config edit, or a layer from RUN or COPY/ADD), with a cache of step
   results keyed by parent image and instruction.  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/internal.h"
#include "image/image.h"
#include "layer/layer.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct exec_state
{
  const struct sbx_build_plan *plan;
  const struct sbx_build_exec_opts *o;
  struct sbx_digest *results; /* per stage */
  size_t step, n_steps;
  char created[32];
};

/* ---- images ---- */

/* Store CONFIG with LAYERS (+ EXTRA when non-NULL) as a new image; *OUT
   gets its manifest digest.  */
static int
put_image (struct sbx_store *s, const char *config, const struct sbx_descriptor *layers, size_t n,
           const struct sbx_descriptor *extra, struct sbx_digest *out, struct sbx_error **err)
{
  cleanup_free struct sbx_descriptor *all = xcalloc (n + 1, sizeof *all);
  cleanup_free char *manifest = NULL;
  struct sbx_descriptor cfgd = { 0 };

  if (n > 0)
    memcpy (all, layers, n * sizeof *all); /* scratch has no layers (LAYERS NULL) */
  if (extra)
    all[n++] = *extra;
  if (sbx_store_put_blob (s, config, strlen (config), &cfgd.digest, err) < 0)
    return -1;
  cfgd.media_type = (char *) SBX_MT_OCI_CONFIG;
  cfgd.size = (int64_t) strlen (config);
  manifest = sbx_manifest_build (&cfgd, all, n);
  return sbx_store_put_blob (s, manifest, strlen (manifest), out, err);
}

static int
scratch_image (struct sbx_store *s, struct sbx_digest *out, struct sbx_error **err)
{
  cleanup_free char *config = sbx_image_config_scratch ();

  return put_image (s, config, NULL, 0, NULL, out, err);
}

/* ---- the cache ---- */

static void
cache_key (const struct sbx_digest *parent, const struct sbx_build_step *s,
           const struct sbx_digest *inputs, struct sbx_digest *key)
{
  struct sbx_sha256 *h = sbx_sha256_new ();
  char d[SBX_DIGEST_STR_MAX];

  sbx_sha256_update (h, "sbx-build-cache-1\n", 18);
  sbx_digest_format (parent, d);
  sbx_sha256_update (h, d, strlen (d) + 1);
  sbx_sha256_update (h, s->cache_text, strlen (s->cache_text) + 1);
  if (inputs)
    {
      sbx_digest_format (inputs, d);
      sbx_sha256_update (h, d, strlen (d) + 1);
    }
  sbx_sha256_final (h, key);
  sbx_sha256_free (h);
}

static bool
cache_lookup (struct sbx_store *s, const struct sbx_digest *key, struct sbx_digest *out)
{
  cleanup_free char *path = xasprintf ("%s/build-cache/%s", sbx_store_root (s), key->hex);
  cleanup_free char *text = NULL;
  struct sbx_error *ignored = NULL;

  text = sbx_fs_read_file_at (AT_FDCWD, path, 256, NULL, &ignored);
  if (text == NULL)
    {
      sbx_error_clear (&ignored);
      return false;
    }
  text[strcspn (text, "\n")] = '\0';
  if (sbx_digest_parse (text, out, &ignored) < 0)
    {
      sbx_error_clear (&ignored);
      return false;
    }
  return sbx_store_has_blob (s, out);
}

static int
cache_store (struct sbx_store *s, const struct sbx_digest *key, const struct sbx_digest *result,
             struct sbx_error **err)
{
  cleanup_free char *dir = xasprintf ("%s/build-cache", sbx_store_root (s));
  cleanup_free char *tmp = xasprintf ("%s/.%s.%d", dir, key->hex, (int) getpid ());
  cleanup_free char *path = xasprintf ("%s/%s", dir, key->hex);
  char d[SBX_DIGEST_STR_MAX + 1];
  size_t n;

  if (sbx_fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  sbx_digest_format (result, d);
  n = strlen (d);
  d[n] = '\n';
  if (sbx_fs_write_file_at (AT_FDCWD, tmp, d, n + 1, 0600, err) < 0)
    return -1;
  if (rename (tmp, path) < 0)
    {
      (void) unlink (tmp);
      return sbx_err_errno (err, "rename `%s`", tmp);
    }
  return 0;
}

/* ---- metadata steps ---- */

static char **
kvs_strv (const struct sbx_build_step *s)
{
  char **v = sbx_strv_dup (NULL);
  size_t i;

  for (i = 0; i < s->n_kvs; i++)
    if (s->kvs[i].value)
      sbx_strv_push_take (&v, xasprintf ("%s=%s", s->kvs[i].key, s->kvs[i].value));
  return v;
}

static int
edit_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_image *img,
           struct sbx_digest *out, struct sbx_error **err)
{
  cleanup_strv char **kvs = kvs_strv (s);
  cleanup_free char *config = NULL;
  struct sbx_image_config_edit e = { .created_by = s->node->original, .created = x->created };

  switch (s->kw)
    {
    case SBX_BUILD_ENV:
      e.env = kvs;
      break;
    case SBX_BUILD_LABEL:
      e.labels = kvs;
      break;
    case SBX_BUILD_WORKDIR:
      e.workdir = s->value;
      break;
    case SBX_BUILD_USER:
      e.user = s->value;
      break;
    case SBX_BUILD_CMD:
      e.cmd = s->argv;
      break;
    case SBX_BUILD_ENTRYPOINT:
      e.entrypoint = s->argv;
      break;
    case SBX_BUILD_EXPOSE:
      e.exposed_ports = s->words;
      break;
    case SBX_BUILD_VOLUME:
      e.volumes = s->words;
      break;
    case SBX_BUILD_STOPSIGNAL:
      e.stop_signal = s->value;
      break;
    case SBX_BUILD_SHELL:
      e.shell = s->argv;
      break;
    case SBX_BUILD_ONBUILD:
      e.onbuild = s->value;
      break;
    case SBX_BUILD_HEALTHCHECK:
      e.health_test = s->argv;
      e.health_interval_ns = s->node->health.interval_ns;
      e.health_timeout_ns = s->node->health.timeout_ns;
      e.health_start_period_ns = s->node->health.start_period_ns;
      e.health_retries = s->node->health.retries;
      break;
    default:
      break; /* ARG, MAINTAINER (a LABEL): a history entry */
    }
  config = sbx_image_config_edit (img->config_json, &e, err);
  if (config == NULL)
    return -1;
  return put_image (x->o->store, config, img->manifest->layers, img->manifest->n_layers, NULL, out,
                    err);
}

/* ---- layer steps ---- */

/* Run in the user namespace: write the directory DIR as a layer blob, send
   its DiffID and blob digest back through FD, remove REMOVE.  */
struct layer_job
{
  struct sbx_store *store;
  const char *dir;
  const char *remove;
  int fd;
  /* COPY: stage the files into DIR first */
  const char *context;
  const struct sbx_build_ignore *ig;
  const struct sbx_build_step *copy;
};

struct layer_result
{
  struct sbx_digest diff_id, blob;
};

static int
layer_job_fn (void *arg, struct sbx_error **err)
{
  struct layer_job *j = arg;
  cleanup_free char *tmp = xasprintf ("%s.tar", j->dir);
  cleanup_close int dirfd = open (j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = -1;
  struct layer_result r;
  int ret;

  if (dirfd < 0)
    return sbx_err_errno (err, "open `%s`", j->dir);
  if (j->copy && build_copy_walk (j->context, j->ig, j->copy, NULL, dirfd, err) < 0)
    return -1;
  fd = open (tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return sbx_err_errno (err, "create `%s`", tmp);
  ret = sbx_layer_write_tar (dirfd, fd, "gzip", -1, &r.diff_id, err);
  if (ret == 0 && lseek (fd, 0, SEEK_SET) < 0)
    ret = sbx_err_errno (err, "seek `%s`", tmp);
  if (ret == 0)
    ret = sbx_store_put_blob_fd (j->store, fd, NULL, -1, &r.blob, err);
  (void) unlink (tmp);
  if (ret < 0)
    return -1;
  if (write (j->fd, &r, sizeof r) != (ssize_t) sizeof r)
    return sbx_err_errno (err, "report the layer");
  return sbx_fs_rm_rf_at (AT_FDCWD, j->remove, err);
}

/* Turn DIR into a layer on top of IMG; *OUT gets the new image.  */
static int
layer_step (struct exec_state *x, struct layer_job *j, const struct sbx_build_step *s,
            struct sbx_image *img, struct sbx_digest *out, struct sbx_error **err)
{
  struct layer_result r;
  struct sbx_descriptor d = { .media_type = (char *) SBX_MT_OCI_LAYER_GZIP };
  cleanup_free char *config = NULL;
  int p[2];
  int ret;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return sbx_err_errno (err, "pipe");
  j->store = x->o->store;
  j->fd = p[1];
  ret = sbx_runtime_in_userns (x->o->plan, layer_job_fn, j, err);
  (void) close (p[1]);
  if (ret == 0 && read (p[0], &r, sizeof r) != (ssize_t) sizeof r)
    ret = sbx_err (err, EPROTO, "no layer from the layer writer");
  (void) close (p[0]);
  if (ret < 0)
    return -1;
  d.digest = r.blob;
  d.size = sbx_store_blob_size (x->o->store, &r.blob);
  config = sbx_image_config_add_layer (img->config_json, &r.diff_id, NULL, s->node->original,
                                       x->created, err);
  if (config == NULL)
    return -1;
  return put_image (x->o->store, config, img->manifest->layers, img->manifest->n_layers, &d, out,
                    err);
}

static int
remove_fn (void *arg, struct sbx_error **err)
{
  return sbx_fs_rm_rf_at (AT_FDCWD, arg, err);
}

static enum sbx_network_mode
step_network (const struct sbx_build_exec_opts *o, const struct sbx_build_step *s)
{
  if (s->network && strcmp (s->network, "none") == 0)
    return SBX_NETWORK_NONE;
  if (s->network && strcmp (s->network, "host") == 0)
    return SBX_NETWORK_HOST;
  return o->network;
}

static int
run_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_image *img,
          const struct sbx_digest *cur, struct sbx_digest *out, struct sbx_error **err)
{
  const struct sbx_build_exec_opts *o = x->o;
  cleanup_free char *id = sbx_runtime_new_id ();
  cleanup_free char *dir = NULL;
  cleanup_free char *upper = NULL;
  cleanup_free char *work = NULL;
  cleanup_strv char **lowers = sbx_strv_dup (NULL);
  cleanup_strv char **env = sbx_strv_dup (img->config->env);
  struct layer_job j = { 0 };
  struct sbx_run_config cfg;
  size_t i;
  int code = 0;

  if (s->script)
    return sbx_err (err, ENOTSUP, "a here-document script with #! is not supported yet");
  if (img->config->n_diff_ids == 0)
    return sbx_err (err, EINVAL, "nothing to run in an empty image (FROM scratch)");
  if (o->unpack (o->cb_arg, cur, err) < 0)
    return -1;
  for (i = img->config->n_diff_ids; i > 0; i--)
    sbx_strv_push_take (&lowers, sbx_store_layer_path (o->store, &img->config->diff_ids[i - 1]));
  for (i = 0; s->run_args && s->run_args[i]; i++)
    {
      cleanup_free char *k = xstrndup (s->run_args[i], strcspn (s->run_args[i], "="));
      const char *eq = strchr (s->run_args[i], '=');

      if (sbx_env_get (env, k) == NULL)
        sbx_env_set (&env, k, eq ? eq + 1 : "");
    }
  if (sbx_env_get (env, "PATH") == NULL)
    sbx_env_set (&env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  dir = xasprintf ("%s/tmp/build-%.12s", sbx_store_root (o->store), id);
  upper = xasprintf ("%s/upper", dir);
  work = xasprintf ("%s/work", dir);
  if (sbx_fs_mkdir_p (upper, 0755, err) < 0 || sbx_fs_mkdir_p (work, 0700, err) < 0)
    return -1;
  cfg = (struct sbx_run_config){
    .id = id,
    .lowers = lowers,
    .n_lowers = sbx_strv_len (lowers),
    .upper = upper,
    .work = work,
    .driver = o->driver,
    .argv = s->argv,
    .env = env,
    .workdir = img->config->workdir && *img->config->workdir ? img->config->workdir : NULL,
    .user = img->config->user && *img->config->user ? img->config->user : NULL,
    .caps = sbx_caps_default (),
    .network = step_network (o, s),
    .net = o->net,
    .fakeroot = o->plan->mode == SBX_USERNS_SINGLE,
  };
  j = (struct layer_job){ .dir = upper, .remove = dir };
  if (sbx_runtime_run (&cfg, o->plan, &code, err) < 0 || code != 0)
    {
      struct sbx_error *ignored = NULL;

      if (sbx_runtime_in_userns (o->plan, remove_fn, dir, &ignored) < 0)
        sbx_error_clear (&ignored);
      if (*err)
        return -1;
      return sbx_err (err, EIO, "the command returned a non-zero code: %d", code);
    }
  return layer_step (x, &j, s, img, out, err);
}

static int
copy_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_image *img,
           struct sbx_digest *out, struct sbx_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *stage = NULL;
  struct layer_job j;

  if (s->from_stage >= 0 || s->from_image)
    return sbx_err (err, ENOTSUP, "--from is not supported yet");
  if (sbx_store_stage_dir (x->o->store, "build-copy", &dir, err) < 0)
    return -1;
  stage = xasprintf ("%s/layer", dir);
  if (mkdir (stage, 0755) < 0)
    return sbx_err_errno (err, "mkdir `%s`", stage);
  j = (struct layer_job){
    .dir = stage, .remove = dir, .context = x->o->context, .ig = x->o->ignore, .copy = s
  };
  return layer_step (x, &j, s, img, out, err);
}

/* ---- the walk ---- */

static int
do_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_digest *cur,
         struct sbx_error **err)
{
  const struct sbx_build_exec_opts *o = x->o;
  struct sbx_image *img = NULL;
  struct sbx_digest key, inputs, next;
  bool has_inputs = s->kw == SBX_BUILD_COPY || s->kw == SBX_BUILD_ADD;
  char id[SBX_DIGEST_STR_MAX];
  int r;

  fprintf (stderr, "STEP %zu/%zu: %s\n", ++x->step, x->n_steps, s->node->original);
  if (has_inputs)
    {
      struct sbx_sha256 *h = sbx_sha256_new ();

      r = build_copy_walk (o->context, o->ignore, s, h, -1, err);
      sbx_sha256_final (h, &inputs);
      sbx_sha256_free (h);
      if (r < 0)
        return -1;
    }
  cache_key (cur, s, has_inputs ? &inputs : NULL, &key);
  if (! o->no_cache && cache_lookup (o->store, &key, &next))
    {
      fprintf (stderr, "--> CACHED\n");
      *cur = next;
      return 0;
    }
  if (sbx_image_load (o->store, cur, &img, err) < 0)
    return -1;
  fflush (stdout);
  if (s->kw == SBX_BUILD_RUN)
    r = run_step (x, s, img, cur, &next, err);
  else if (has_inputs)
    r = copy_step (x, s, img, &next, err);
  else
    r = edit_step (x, s, img, &next, err);
  sbx_image_free (img);
  if (r < 0 || cache_store (o->store, &key, &next, err) < 0)
    return -1;
  *cur = next;
  fprintf (stderr, "--> %.12s\n", sbx_digest_format (&next, id) + 7);
  return 0;
}

static int
stage_base (struct exec_state *x, const struct sbx_build_stage *st, struct sbx_digest *cur,
            struct sbx_error **err)
{
  fprintf (stderr, "STEP %zu/%zu: FROM %s%s%s\n", ++x->step, x->n_steps, st->base,
           st->name ? " AS " : "", st->name ? st->name : "");
  if (st->base_stage >= 0)
    {
      *cur = x->results[st->base_stage];
      return 0;
    }
  if (strcmp (st->base, "scratch") == 0)
    return scratch_image (x->o->store, cur, err);
  return x->o->image (x->o->cb_arg, st->base, cur, err);
}

static int
build_stage (struct exec_state *x, const struct sbx_build_stage *st, struct sbx_error **err)
{
  const char *file = x->plan->ast->file;
  struct sbx_digest cur;
  size_t i;

  if (stage_base (x, st, &cur, err) < 0)
    {
      size_t n = 0;

      /* Stage K comes from the K-th FROM.  */
      for (i = 0; i < x->plan->ast->n_nodes; i++)
        if (x->plan->ast->nodes[i].kw == SBX_BUILD_FROM && n++ == st->index)
          return sbx_err_prefix (err, "%s:%u: FROM", file, x->plan->ast->nodes[i].line);
      return sbx_err_prefix (err, "%s: FROM %s", file, st->base);
    }
  for (i = 0; i < st->n_steps; i++)
    {
      const struct sbx_build_step *s = &st->steps[i];

      if (do_step (x, s, &cur, err) < 0)
        return sbx_err_prefix (err, "%s:%u: %s", file, s->node->line, sbx_build_kw_name (s->kw));
    }
  x->results[st->index] = cur;
  return 0;
}

int
sbx_build_exec (const struct sbx_build_plan *plan, const struct sbx_build_exec_opts *o,
                struct sbx_digest *manifest, struct sbx_error **err)
{
  cleanup_free struct sbx_digest *results = xcalloc (plan->n_stages + 1, sizeof *results);
  struct exec_state x = { .plan = plan, .o = o, .results = results };
  time_t now = time (NULL);
  const char *sde = getenv ("SOURCE_DATE_EPOCH");
  size_t i;

  if (sde && *sde)
    now = (time_t) strtoll (sde, NULL, 10);
  strftime (x.created, sizeof x.created, "%Y-%m-%dT%H:%M:%SZ", gmtime (&now));
  for (i = 0; plan->order[i] >= 0; i++)
    x.n_steps += 1 + plan->stages[plan->order[i]].n_steps;
  for (i = 0; plan->order[i] >= 0; i++)
    if (build_stage (&x, &plan->stages[plan->order[i]], err) < 0)
      return -1;
  *manifest = results[plan->target];
  return 0;
}

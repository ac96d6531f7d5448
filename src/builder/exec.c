/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The executor: walk the plan's stages, turn each step into a new image
   (a config edit, or a layer from RUN or COPY/ADD), with a cache of step
   results keyed by parent image and instruction.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "builder/internal.h"
#include "image/image.h"
#include "layer/layer.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

struct exec_state
{
  const struct sbx_build_plan *plan;
  const struct sbx_build_exec_opts *o;
  struct sbx_digest *results; /* per stage */
  size_t step, n_steps;
  char created[32];
  int64_t epoch; /* SOURCE_DATE_EPOCH, or -1 */
  bool noted_user;
};

/* Removes PATH (inside the user namespace of PLAN when set: its files may
   belong to subordinate ids) unless disarmed: a failed step leaves no
   tmp/build-* behind.  */
struct dir_guard
{
  const struct sbx_userns_plan *plan;
  char *path;
};

static int
remove_fn (void *arg, struct sbx_error **err)
{
  return sbx_fs_rm_rf_at (AT_FDCWD, arg, err);
}

static void
dir_guard_run (struct dir_guard *g)
{
  struct sbx_error *ignored = NULL;
  int r;

  if (g->path == NULL)
    return;
  r = g->plan ? sbx_runtime_in_userns (g->plan, remove_fn, g->path, &ignored)
              : sbx_fs_rm_rf_at (AT_FDCWD, g->path, &ignored);
  if (r < 0)
    sbx_error_clear (&ignored);
  free (g->path);
  g->path = NULL;
}
#define cleanup_dir_guard __attribute__ ((cleanup (dir_guard_run)))

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

/* The unpacked layers of IMG, top-most first.  */
static char **
image_lowers (struct sbx_store *s, const struct sbx_image *img)
{
  char **v = sbx_strv_dup (NULL);
  size_t i;

  for (i = img->config->n_diff_ids; i > 0; i--)
    sbx_strv_push_take (&v, sbx_store_layer_path (s, &img->config->diff_ids[i - 1]));
  return v;
}

/* In the job's mount namespace: a read-only view of the image whose layers
   are LOWERS at TARGET (an empty directory); *PATH gets where it is (the
   layer itself for a one-layer image, TARGET else).  */
static int
mount_image (char *const *lowers, const char *target, const char **path, struct sbx_error **err)
{
  cleanup_free char *opts = NULL;
  size_t n = sbx_strv_len (lowers), i;
  struct sbx_strbuf sb = SBX_STRBUF_INIT;

  *path = target;
  if (n == 0)
    return 0; /* scratch: nothing */
  if (n == 1)
    {
      *path = lowers[0];
      return 0;
    }
  sbx_strbuf_addstr (&sb, "lowerdir=");
  for (i = 0; i < n; i++)
    {
      if (strpbrk (lowers[i], ":,"))
        {
          sbx_strbuf_release (&sb);
          return sbx_err (err, EINVAL, "layer path `%s` has a ':' or ','", lowers[i]);
        }
      sbx_strbuf_addf (&sb, "%s%s", i ? ":" : "", lowers[i]);
    }
  sbx_strbuf_addstr (&sb, ",userxattr");
  opts = sbx_strbuf_detach (&sb);
  if (mount ("overlay", target, "overlay", MS_RDONLY, opts) < 0)
    return sbx_err_errno (err,
                          "mount a read-only overlay of %zu layers at `%s` (hint: COPY "
                          "--from and --chown=NAME need the kernel's overlay, Linux >= 5.11)",
                          n, target);
  return 0;
}

/* Drop the kernel overlay's own xattrs (origin, impure, …; not the opaque
   mark) from the tree FD, so that an upper directory looks like what
   unpacking its layer gives.  Consumes FD.  */
static int
strip_overlay_xattrs (int fd, struct sbx_error **err)
{
  DIR *d = fdopendir (fd);
  struct dirent *de;
  int ret = 0;

  if (d == NULL)
    {
      (void) close (fd);
      return sbx_err_errno (err, "read the upper directory");
    }
  while (ret == 0 && (de = readdir (d)) != NULL)
    {
      cleanup_free char *names = NULL;
      cleanup_free char *path = NULL;
      ssize_t len;
      char *n;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      path = xasprintf ("/proc/self/fd/%d/%s", dirfd (d), de->d_name);
      len = llistxattr (path, NULL, 0);
      if (len > 0)
        {
          names = xmalloc ((size_t) len);
          len = llistxattr (path, names, (size_t) len);
        }
      for (n = names; len > 0 && n < names + len; n += strlen (n) + 1)
        if ((strncmp (n, "user.overlay.", 13) == 0 && strcmp (n, "user.overlay.opaque") != 0)
            || strncmp (n, "user.containers.", 16) == 0)
          (void) lremovexattr (path, n);
      if (de->d_type == DT_DIR)
        {
          int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

          ret = sub < 0 ? sbx_err_errno (err, "open `%s`", de->d_name)
                        : strip_overlay_xattrs (sub, err);
        }
    }
  (void) closedir (d);
  return ret;
}

/* Run in the user namespace: (COPY/ADD: stage the files into DIR first;)
   write the directory DIR as a layer blob, send its DiffID and blob digest
   back through FD, publish DIR as the unpacked layer when the store lacks
   it, remove REMOVE.  */
struct layer_job
{
  struct sbx_store *store;
  const char *dir;
  const char *remove;
  int fd;
  int64_t mtime;
  bool upper; /* DIR is a RUN's upper directory (overlay xattrs to drop) */
  /* COPY/ADD */
  const char *context;
  const struct sbx_build_ignore *ig;
  const struct sbx_build_step *copy;
  const char *downloads;
  bool apply_owners;
  char **from_lowers; /* --from: the source image's layers */
  char **root_lowers; /* --chown by name: the stage's layers */
  const char *mnt_from, *mnt_root;
};

struct layer_result
{
  struct sbx_digest diff_id, blob;
};

static int
resolve_chown (struct layer_job *j, long *uid, long *gid, struct sbx_error **err)
{
  const char *spec = j->copy->chown;
  const char *root = NULL;
  cleanup_close int rootfd = -1;
  struct sbx_user u = { 0 };

  *uid = *gid = -1;
  if (spec == NULL || build_parse_chown_ids (spec, uid, gid) == 0)
    return 0;
  if (mount_image (j->root_lowers, j->mnt_root, &root, err) < 0)
    return -1;
  rootfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return sbx_err_errno (err, "open `%s`", root);
  if (sbx_user_resolve (rootfd, spec, &u, err) < 0)
    return sbx_err_prefix (err, "--chown `%s`", spec);
  *uid = (long) u.uid;
  /* Docker: a user without a group gets the same number as its group.  */
  *gid = strchr (spec, ':') ? (long) u.gid : (long) u.uid;
  sbx_user_release (&u);
  return 0;
}

static int
stage_copy (struct layer_job *j, int dirfd, struct sbx_error **err)
{
  struct build_copy_req r = { .context = j->context,
                              .ig = j->ig,
                              .s = j->copy,
                              .stagefd = dirfd,
                              .downloads = j->downloads,
                              .extract = j->copy->kw == SBX_BUILD_ADD,
                              .apply_owners = j->apply_owners };

  if (resolve_chown (j, &r.uid, &r.gid, err) < 0)
    return -1;
  if (j->from_lowers)
    {
      r.ig = NULL;
      if (mount_image (j->from_lowers, j->mnt_from, &r.context, err) < 0)
        return -1;
    }
  return build_copy_walk (&r, err);
}

static int
layer_job_fn (void *arg, struct sbx_error **err)
{
  struct layer_job *j = arg;
  cleanup_free char *tmp = xasprintf ("%s.tar", j->dir);
  cleanup_free char *layer = NULL;
  cleanup_close int dirfd = open (j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = -1;
  struct layer_result r;
  int ret;

  if (dirfd < 0)
    return sbx_err_errno (err, "open `%s`", j->dir);
  if (j->copy && stage_copy (j, dirfd, err) < 0)
    return -1;
  fd = open (tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return sbx_err_errno (err, "create `%s`", tmp);
  ret = sbx_layer_write_tar (dirfd, fd, "gzip", j->mtime, &r.diff_id, err);
  if (ret == 0 && lseek (fd, 0, SEEK_SET) < 0)
    ret = sbx_err_errno (err, "seek `%s`", tmp);
  if (ret == 0)
    ret = sbx_store_put_blob_fd (j->store, fd, NULL, -1, &r.blob, err);
  (void) unlink (tmp);
  if (ret < 0)
    return -1;
  /* The directory is what unpacking the layer would give (the kernel
     overlay's whiteout format, owners as in the tar): publish it as the
     unpacked layer instead of extracting the blob again before the next
     RUN.  */
  if (! sbx_store_has_layer (j->store, &r.diff_id))
    {
      if (j->upper
          && strip_overlay_xattrs (openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err)
                 < 0)
        return -1;
      layer = sbx_store_layer_path (j->store, &r.diff_id);
      if (renameat2 (AT_FDCWD, j->dir, AT_FDCWD, layer, RENAME_NOREPLACE) < 0 && errno != EEXIST)
        return sbx_err_errno (err, "publish layer %.12s", r.diff_id.hex);
    }
  if (write (j->fd, &r, sizeof r) != (ssize_t) sizeof r)
    return sbx_err_errno (err, "report the layer");
  if (j->mnt_from)
    (void) umount2 (j->mnt_from, MNT_DETACH);
  if (j->mnt_root)
    (void) umount2 (j->mnt_root, MNT_DETACH);
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
  j->mtime = x->epoch;
  j->apply_owners = x->o->plan->mode == SBX_USERNS_SUBUID;
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

static enum sbx_network_mode
step_network (const struct sbx_build_exec_opts *o, const struct sbx_build_step *s)
{
  if (s->network && strcmp (s->network, "none") == 0)
    return SBX_NETWORK_NONE;
  if (s->network && strcmp (s->network, "host") == 0)
    return SBX_NETWORK_HOST;
  return o->network;
}

/* A here-document script that starts with "#!": written into a layer of
   its own at /.sbx-heredoc/script, stacked over the image for this RUN
   only (not part of the result), and executed.  */
static int
add_script (const char *dir, const char *script, char ***lowers, char ***argv,
            struct sbx_error **err)
{
  cleanup_free char *sdir = xasprintf ("%s/script/.sbx-heredoc", dir);
  cleanup_free char *file = xasprintf ("%s/script", sdir);
  char **v;

  if (sbx_fs_mkdir_p (sdir, 0755, err) < 0
      || sbx_fs_write_file_at (AT_FDCWD, file, script, strlen (script), 0755, err) < 0)
    return -1;
  if (chmod (file, 0755) < 0)
    return sbx_err_errno (err, "chmod `%s`", file);
  v = sbx_strv_dup (NULL);
  sbx_strv_push_take (&v, xasprintf ("%s/script", dir));
  for (size_t i = 0; (*lowers)[i]; i++)
    sbx_strv_push (&v, (*lowers)[i]);
  sbx_strv_free (*lowers);
  *lowers = v;
  *argv = sbx_strv_dup (NULL);
  sbx_strv_push (argv, "/.sbx-heredoc/script");
  return 0;
}

/* The user a RUN runs as.  Single-uid mode maps only 0: there a RUN runs
   as root with the root-emulation filter (its set*id calls succeed
   without effect), and says so once.  */
static const char *
run_user (struct exec_state *x, const char *user)
{
  if (user == NULL || *user == '\0')
    return NULL;
  if (x->o->plan->mode != SBX_USERNS_SINGLE || strcmp (user, "root") == 0 || strcmp (user, "0") == 0
      || strncmp (user, "0:", 2) == 0)
    return user;
  if (! x->noted_user)
    fprintf (stderr,
             "note: single-uid mode (no /etc/subuid range): RUN steps run as root, "
             "not as USER %s\n",
             user);
  x->noted_user = true;
  return NULL;
}

static int
run_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_image *img,
          const struct sbx_digest *cur, struct sbx_digest *out, struct sbx_error **err)
{
  const struct sbx_build_exec_opts *o = x->o;
  cleanup_free char *id = sbx_runtime_new_id ();
  cleanup_dir_guard struct dir_guard guard = { .plan = o->plan };
  cleanup_free char *upper = NULL;
  cleanup_free char *work = NULL;
  cleanup_strv char **lowers = NULL;
  cleanup_strv char **script_argv = NULL;
  cleanup_strv char **env = sbx_strv_dup (img->config->env);
  struct layer_job j = { 0 };
  struct sbx_run_config cfg;
  size_t i;
  int code = 0;

  if (img->config->n_diff_ids == 0)
    return sbx_err (err, EINVAL, "nothing to run in an empty image (FROM scratch)");
  if (o->unpack (o->cb_arg, cur, err) < 0)
    return -1;
  lowers = image_lowers (o->store, img);
  for (i = 0; s->run_args && s->run_args[i]; i++)
    {
      cleanup_free char *k = xstrndup (s->run_args[i], strcspn (s->run_args[i], "="));
      const char *eq = strchr (s->run_args[i], '=');

      if (sbx_env_get (env, k) == NULL)
        sbx_env_set (&env, k, eq ? eq + 1 : "");
    }
  if (sbx_env_get (env, "PATH") == NULL)
    sbx_env_set (&env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  guard.path = xasprintf ("%s/tmp/build-%.12s", sbx_store_root (o->store), id);
  upper = xasprintf ("%s/upper", guard.path);
  work = xasprintf ("%s/work", guard.path);
  if (sbx_fs_mkdir_p (upper, 0755, err) < 0 || sbx_fs_mkdir_p (work, 0700, err) < 0)
    return -1;
  if (s->script && add_script (guard.path, s->script, &lowers, &script_argv, err) < 0)
    return -1;
  cfg = (struct sbx_run_config){
    .id = id,
    .lowers = lowers,
    .n_lowers = sbx_strv_len (lowers),
    .upper = upper,
    .work = work,
    .volatile_upper = true, /* thrown away unless the step succeeds */
    .driver = o->driver,
    .argv = script_argv ? script_argv : s->argv,
    .env = env,
    .workdir = img->config->workdir && *img->config->workdir ? img->config->workdir : NULL,
    .user = run_user (x, img->config->user),
    .caps = sbx_caps_default (),
    .network = step_network (o, s),
    .net = o->net,
    .fakeroot = o->plan->mode == SBX_USERNS_SINGLE,
  };
  if (sbx_runtime_run (&cfg, o->plan, &code, err) < 0)
    return -1;
  if (code != 0)
    {
      if (o->run_status)
        *o->run_status = code;
      return sbx_err (err, EIO, "the command returned a non-zero code: %d", code);
    }
  j = (struct layer_job){ .dir = upper, .remove = guard.path, .upper = true };
  if (layer_step (x, &j, s, img, out, err) < 0)
    return -1;
  free (steal_ptr (&guard.path)); /* the job removed it */
  return 0;
}

/* The image a COPY --from reads: a stage's result or an image.  */
static int
from_image (struct exec_state *x, const struct sbx_build_step *s, struct sbx_digest *out,
            struct sbx_error **err)
{
  if (s->from_stage >= 0)
    {
      *out = x->results[s->from_stage];
      return 0;
    }
  return x->o->image (x->o->cb_arg, s->from_image, out, err);
}

static int
copy_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_image *img,
           const struct sbx_digest *cur, const struct sbx_digest *from, const char *downloads,
           struct sbx_digest *out, struct sbx_error **err)
{
  const struct sbx_build_exec_opts *o = x->o;
  cleanup_dir_guard struct dir_guard guard = { .plan = o->plan };
  cleanup_free char *stage = NULL;
  cleanup_free char *mnt_from = NULL;
  cleanup_free char *mnt_root = NULL;
  cleanup_strv char **from_lowers = NULL;
  cleanup_strv char **root_lowers = NULL;
  long uid, gid;
  struct layer_job j;

  if (sbx_store_stage_dir (o->store, "build-copy", &guard.path, err) < 0)
    return -1;
  stage = xasprintf ("%s/layer", guard.path);
  mnt_from = xasprintf ("%s/from", guard.path);
  mnt_root = xasprintf ("%s/root", guard.path);
  if (mkdir (stage, 0755) < 0 || mkdir (mnt_from, 0755) < 0 || mkdir (mnt_root, 0755) < 0)
    return sbx_err_errno (err, "mkdir in `%s`", guard.path);
  if (from)
    {
      struct sbx_image *src = NULL;

      if (o->unpack (o->cb_arg, from, err) < 0 || sbx_image_load (o->store, from, &src, err) < 0)
        return sbx_err_prefix (err, "--from");
      from_lowers = image_lowers (o->store, src);
      sbx_image_free (src);
    }
  if (s->chown && build_parse_chown_ids (s->chown, &uid, &gid) < 0)
    {
      if (o->unpack (o->cb_arg, cur, err) < 0)
        return -1;
      root_lowers = image_lowers (o->store, img);
    }
  j = (struct layer_job){ .dir = stage,
                          .remove = guard.path,
                          .context = o->context,
                          .ig = o->ignore,
                          .copy = s,
                          .downloads = downloads,
                          .from_lowers = from_lowers,
                          .root_lowers = root_lowers,
                          .mnt_from = mnt_from,
                          .mnt_root = mnt_root };
  if (layer_step (x, &j, s, img, out, err) < 0)
    return -1;
  free (steal_ptr (&guard.path));
  return 0;
}

/* Whether the contents of FD have the digest WANT ("sha256:…").  */
static int
check_checksum (int fd, const char *want, struct sbx_error **err)
{
  struct sbx_sha256 *h = sbx_sha256_new ();
  struct sbx_digest w, got;
  char buf[65536], gs[SBX_DIGEST_STR_MAX];
  ssize_t n;
  off_t off = 0;

  if (sbx_digest_parse (want, &w, err) < 0)
    {
      sbx_sha256_free (h);
      return sbx_err_prefix (err, "--checksum");
    }
  while ((n = pread (fd, buf, sizeof buf, off)) > 0)
    {
      sbx_sha256_update (h, buf, (size_t) n);
      off += n;
    }
  sbx_sha256_final (h, &got);
  sbx_sha256_free (h);
  if (n < 0)
    return sbx_err_errno (err, "read the download");
  if (! sbx_digest_equal (&w, &got))
    return sbx_err (err, EINVAL, "checksum mismatch: expected %s, got %s", want,
                    sbx_digest_format (&got, gs));
  return 0;
}

/* ADD: download the URL sources into a new directory (*DIR), as DIR/<i>
   for source i, checked against --checksum; hash them with the rest.  */
static int
fetch_urls (struct exec_state *x, const struct sbx_build_step *s, char **dir,
            struct sbx_error **err)
{
  size_t i;

  for (i = 0; i < s->n_sources; i++)
    {
      const char *url = s->sources[i].path;
      cleanup_free char *file = NULL;
      cleanup_close int fd = -1;
      int64_t mtime = -1;

      if (s->kw != SBX_BUILD_ADD || url == NULL || ! build_is_url (url))
        continue;
      if (x->o->fetch == NULL)
        return sbx_err (err, ENOTSUP, "`%s`: downloads are not available", url);
      if (*dir == NULL && sbx_store_stage_dir (x->o->store, "build-add", dir, err) < 0)
        return -1;
      file = xasprintf ("%s/%zu", *dir, i);
      fd = open (file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0)
        return sbx_err_errno (err, "create `%s`", file);
      if (x->o->fetch (x->o->cb_arg, url, fd, &mtime, err) < 0)
        return sbx_err_prefix (err, "download `%s`", url);
      if (s->checksum && check_checksum (fd, s->checksum, err) < 0)
        return sbx_err_prefix (err, "`%s`", url);
      if (mtime >= 0)
        {
          struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t) mtime } };

          (void) futimens (fd, ts);
        }
    }
  return 0;
}

/* ---- the walk ---- */

/* The digest of what a COPY/ADD brings (*INPUTS): the --from image
   (*FROM, *HAS_FROM), or the context's files and the downloads (*DOWNLOADS
   gets their directory).  */
static int
step_inputs (struct exec_state *x, const struct sbx_build_step *s, struct sbx_digest *inputs,
             struct sbx_digest *from, bool *has_from, char **downloads, struct sbx_error **err)
{
  struct build_copy_req r = {
    .context = x->o->context, .ig = x->o->ignore, .s = s, .stagefd = -1, .uid = -1, .gid = -1
  };
  struct sbx_sha256 *h;
  int ret;

  *has_from = s->from_stage >= 0 || s->from_image;
  if (*has_from)
    {
      char d[SBX_DIGEST_STR_MAX];

      /* The source image's digest stands for its content.  */
      if (from_image (x, s, from, err) < 0)
        return sbx_err_prefix (err, "--from");
      h = sbx_sha256_new ();
      sbx_digest_format (from, d);
      sbx_sha256_update (h, "from:", 5);
      sbx_sha256_update (h, d, strlen (d) + 1);
      sbx_sha256_final (h, inputs);
      sbx_sha256_free (h);
      return 0;
    }
  if (fetch_urls (x, s, downloads, err) < 0)
    return -1;
  r.downloads = *downloads;
  r.hash = h = sbx_sha256_new ();
  ret = build_copy_walk (&r, err);
  sbx_sha256_final (h, inputs);
  sbx_sha256_free (h);
  return ret;
}

static int
do_step (struct exec_state *x, const struct sbx_build_step *s, struct sbx_digest *cur,
         struct sbx_error **err)
{
  const struct sbx_build_exec_opts *o = x->o;
  cleanup_dir_guard struct dir_guard downloads = { 0 };
  struct sbx_image *img = NULL;
  struct sbx_digest key, inputs, next, from;
  bool has_inputs = s->kw == SBX_BUILD_COPY || s->kw == SBX_BUILD_ADD;
  bool has_from = false;
  char id[SBX_DIGEST_STR_MAX];
  int r;

  fprintf (stderr, "STEP %zu/%zu: %s\n", ++x->step, x->n_steps, s->node->original);
  if (has_inputs && step_inputs (x, s, &inputs, &from, &has_from, &downloads.path, err) < 0)
    return -1;
  build_cache_key (cur, s->cache_text, has_inputs ? &inputs : NULL, &key);
  if (! o->no_cache && build_cache_lookup (o->store, &key, &next))
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
    r = copy_step (x, s, img, cur, has_from ? &from : NULL, downloads.path, &next, err);
  else
    r = edit_step (x, s, img, &next, err);
  sbx_image_free (img);
  if (r < 0 || build_cache_store (o->store, &key, &next, err) < 0)
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

  x.epoch = -1;
  if (sde && *sde)
    {
      char *end;
      long long v;

      errno = 0;
      v = strtoll (sde, &end, 10);
      if (*end || errno || v < 0)
        return sbx_err (err, EINVAL, "SOURCE_DATE_EPOCH `%s` is not a number of seconds", sde);
      now = (time_t) v;
      x.epoch = v;
    }
  strftime (x.created, sizeof x.created, "%Y-%m-%dT%H:%M:%SZ", gmtime (&now));
  for (i = 0; plan->order[i] >= 0; i++)
    x.n_steps += 1 + plan->stages[plan->order[i]].n_steps;
  for (i = 0; plan->order[i] >= 0; i++)
    if (build_stage (&x, &plan->stages[plan->order[i]], err) < 0)
      return -1;
  *manifest = results[plan->target];
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Credentials: base64, lookup in sbx's auth file and Docker's config, and
   atomic updates of the auth file.  Both files use the same format:
     { "auths": { "<registry>": { "auth": base64("user:password") } } }
   Docker's credential helpers (credsStore, credHelpers) are not run: sbx
   executes no helper programs on behalf of a registry.  */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define SBX_LOG_MODULE "registry"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#define AUTH_FILE_MAX (1u << 20)

/* ---- base64 (RFC 4648, standard alphabet) ---- */

static const char b64_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
reg_base64_encode (const void *data, size_t len)
{
  const unsigned char *in = data;
  char *out = xmalloc (xadd (xmul ((len + 2) / 3, 4), 1));
  size_t i, o = 0;

  for (i = 0; i + 2 < len; i += 3)
    {
      uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];

      out[o++] = b64_alphabet[v >> 18];
      out[o++] = b64_alphabet[(v >> 12) & 63];
      out[o++] = b64_alphabet[(v >> 6) & 63];
      out[o++] = b64_alphabet[v & 63];
    }
  if (i < len)
    {
      uint32_t v = (uint32_t) in[i] << 16 | (i + 1 < len ? (uint32_t) in[i + 1] << 8 : 0);

      out[o++] = b64_alphabet[v >> 18];
      out[o++] = b64_alphabet[(v >> 12) & 63];
      out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
      out[o++] = '=';
    }
  out[o] = '\0';
  return out;
}

static int
b64_value (char c)
{
  const char *p = c ? strchr (b64_alphabet, c) : NULL;

  return p ? (int) (p - b64_alphabet) : -1;
}

char *
reg_base64_decode (const char *s, size_t *len)
{
  size_t n = strlen (s), i, o = 0;
  cleanup_free char *out = NULL;
  uint32_t acc = 0;
  int bits = 0;

  while (n > 0 && s[n - 1] == '=')
    n--;
  if (strlen (s) - n > 2 || n % 4 == 1)
    return NULL;
  out = xmalloc (n / 4 * 3 + 3);
  for (i = 0; i < n; i++)
    {
      int v = b64_value (s[i]);

      if (v < 0)
        return NULL;
      acc = acc << 6 | (uint32_t) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[o++] = (char) ((acc >> bits) & 0xff);
        }
    }
  /* Leftover bits must be zero (canonical encoding).  */
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return NULL;
  out[o] = '\0';
  if (len)
    *len = o;
  return steal_ptr (&out);
}

/* ---- lookup ---- */

void
reg_credentials_release (struct reg_credentials *c)
{
  if (c->password)
    explicit_bzero (c->password, strlen (c->password));
  free (c->user);
  free (c->password);
  c->user = c->password = NULL;
}

/* Read and parse PATH; *DOC stays NULL when it does not exist.  */
static int
load_json (const char *path, json_t **doc, struct sbx_error **err)
{
  cleanup_close int fd = -1;
  cleanup_free char *text = NULL;
  json_error_t je;
  size_t len;

  *doc = NULL;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return sbx_err_errno (err, "open `%s`", path);
  text = sbx_fs_read_fd (fd, AUTH_FILE_MAX, &len, err);
  if (text == NULL)
    return -1;
  *doc = json_loadb (text, len, 0, &je);
  if (*doc == NULL)
    return sbx_err (err, EINVAL, "parse `%s`: line %d: %s", path, je.line, je.text);
  if (! json_is_object (*doc))
    {
      json_decref (*doc);
      *doc = NULL;
      return sbx_err (err, EINVAL, "parse `%s`: not a JSON object", path);
    }
  return 0;
}

/* The entry of AUTHS for DOMAIN: its exact key first, then any key that
   names the same registry (https://index.docker.io/v1/ for docker.io).  */
static json_t *
find_entry (json_t *auths, const char *domain)
{
  const char *key;
  json_t *v;

  v = json_object_get (auths, domain);
  if (v)
    return v;
  json_object_foreach (auths, key, v)
  {
    cleanup_free char *norm = reg_normalize_domain (key);

    if (strcmp (norm, domain) == 0)
      return v;
  }
  return NULL;
}

static int
decode_auth (const char *path, const char *domain, const char *b64, struct reg_credentials *out,
             struct sbx_error **err)
{
  cleanup_free char *plain = NULL;
  size_t len;
  char *colon;

  plain = reg_base64_decode (b64, &len);
  colon = plain ? memchr (plain, ':', len) : NULL;
  if (colon == NULL || colon == plain || strlen (plain) != len)
    {
      if (plain)
        explicit_bzero (plain, len);
      return sbx_err (err, EINVAL, "`%s`: the credentials for `%s` are not base64 of user:password",
                      path, domain);
    }
  out->user = xstrndup (plain, (size_t) (colon - plain));
  out->password = xstrdup (colon + 1);
  explicit_bzero (plain, len);
  return 1;
}

int
reg_credentials_from_file (const char *path, const char *domain, struct reg_credentials *out,
                           struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  cleanup_free char *norm = reg_normalize_domain (domain);
  json_t *entry;
  const char *b64;

  memset (out, 0, sizeof *out);
  if (load_json (path, &doc, err) < 0)
    return -1;
  if (doc == NULL)
    return 0;
  entry = find_entry (json_object_get (doc, "auths"), norm);
  b64 = json_string_value (json_object_get (entry, "auth"));
  if (b64 == NULL || *b64 == '\0')
    {
      if (json_object_get (doc, "credsStore") || json_object_get (doc, "credHelpers"))
        sbx_debug ("`%s` names credential helpers; sbx does not run them", path);
      return 0;
    }
  return decode_auth (path, norm, b64, out, err);
}

int
reg_credentials_lookup (const struct sbx_registry_opts *opts, const char *domain,
                        struct reg_credentials *out, struct sbx_error **err)
{
  int ret;

  memset (out, 0, sizeof *out);
  if (opts->auth_file)
    {
      ret = reg_credentials_from_file (opts->auth_file, domain, out, err);
      if (ret != 0)
        return ret;
    }
  if (opts->docker_config)
    {
      ret = reg_credentials_from_file (opts->docker_config, domain, out, err);
      if (ret != 0)
        return ret;
    }
  return 0;
}

/* ---- updating the auth file ---- */

struct tmpfile_guard
{
  char *path;
  bool armed;
};

static void
tmpfile_guard_run (struct tmpfile_guard *g)
{
  if (g->armed)
    (void) unlink (g->path);
  free (g->path);
}

/* Write DOC to PATH: a 0600 temp file next to it, fsync, rename.  */
static int
write_json_atomic (const char *path, json_t *doc, struct sbx_error **err)
{
  __attribute__ ((cleanup (tmpfile_guard_run))) struct tmpfile_guard tmp = { NULL, false };
  cleanup_close int fd = -1;
  cleanup_free char *dir = NULL;
  cleanup_free char *text = NULL;
  const char *slash = strrchr (path, '/');

  dir = slash ? xstrndup (path, slash == path ? 1 : (size_t) (slash - path)) : xstrdup (".");
  if (sbx_fs_mkdir_p (dir, 0700, err) < 0)
    return -1;
  tmp.path = xasprintf ("%s.tmp-XXXXXX", path);
  fd = mkostemp (tmp.path, O_CLOEXEC); /* mode 0600 */
  if (fd < 0)
    return sbx_err_errno (err, "create `%s`", tmp.path);
  tmp.armed = true;
  if (fchmod (fd, 0600) < 0)
    return sbx_err_errno (err, "chmod `%s`", tmp.path);
  text = json_dumps (doc, JSON_INDENT (2));
  if (text == NULL)
    xoom ();
  if (sbx_write_all (fd, text, strlen (text), err) < 0 || sbx_write_all (fd, "\n", 1, err) < 0)
    return -1;
  if (fsync (fd) < 0)
    return sbx_err_errno (err, "fsync `%s`", tmp.path);
  if (rename (tmp.path, path) < 0)
    return sbx_err_errno (err, "rename `%s` to `%s`", tmp.path, path);
  tmp.armed = false;
  return 0;
}

/* Remove every key of AUTHS that names DOMAIN; the number removed.  */
static size_t
remove_entries (json_t *auths, const char *domain)
{
  size_t removed = 0;
  const char *key;
  json_t *v;
  void *tmp;

  json_object_foreach_safe (auths, tmp, key, v)
  {
    cleanup_free char *norm = reg_normalize_domain (key);

    if (strcmp (key, domain) == 0 || strcmp (norm, domain) == 0)
      {
        (void) json_object_del (auths, key);
        removed++;
      }
  }
  return removed;
}

/* The "auths" object of DOC, created when missing.  */
static json_t *
auths_of (json_t *doc, const char *path, struct sbx_error **err)
{
  json_t *auths = json_object_get (doc, "auths");

  if (auths == NULL)
    {
      auths = json_object ();
      if (auths == NULL || json_object_set_new (doc, "auths", auths) < 0)
        xoom ();
    }
  if (! json_is_object (auths))
    {
      (void) sbx_err (err, EINVAL, "parse `%s`: `auths` is not an object", path);
      return NULL;
    }
  return auths;
}

int
reg_auth_file_set (const char *path, const char *domain, const char *user, const char *password,
                   struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  cleanup_free char *norm = reg_normalize_domain (domain);
  cleanup_free char *plain = NULL;
  cleanup_free char *b64 = NULL;
  json_t *auths;
  json_t *entry;

  if (load_json (path, &doc, err) < 0)
    return -1;
  if (doc == NULL)
    doc = json_object ();
  auths = auths_of (doc, path, err);
  if (auths == NULL)
    return -1;
  (void) remove_entries (auths, norm);
  plain = xasprintf ("%s:%s", user, password);
  b64 = reg_base64_encode (plain, strlen (plain));
  explicit_bzero (plain, strlen (plain));
  entry = json_pack ("{s:s}", "auth", b64);
  explicit_bzero (b64, strlen (b64));
  if (entry == NULL || json_object_set_new (auths, norm, entry) < 0)
    xoom ();
  return write_json_atomic (path, doc, err);
}

int
reg_auth_file_remove (const char *path, const char *domain, struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  cleanup_free char *norm = reg_normalize_domain (domain);
  json_t *auths;

  if (load_json (path, &doc, err) < 0)
    return -1;
  auths = doc ? json_object_get (doc, "auths") : NULL;
  if (auths == NULL || ! json_is_object (auths) || remove_entries (auths, norm) == 0)
    return sbx_err (err, ENOENT, "not logged in (no entry in `%s`)", path);
  return write_json_atomic (path, doc, err);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "util/strv.h"
#include "util/xalloc.h"

size_t
sbx_strv_len (char *const *v)
{
  size_t n = 0;

  if (v)
    while (v[n])
      n++;
  return n;
}

void
sbx_strv_push_take (char ***v, char *s)
{
  size_t n = sbx_strv_len (*v);

  *v = xrealloc (*v, xmul (xadd (n, 2), sizeof (char *)));
  (*v)[n] = s;
  (*v)[n + 1] = NULL;
}

void
sbx_strv_push (char ***v, const char *s)
{
  sbx_strv_push_take (v, xstrdup (s));
}

char **
sbx_strv_dup (char *const *v)
{
  char **r = xcalloc (xadd (sbx_strv_len (v), 1), sizeof (char *));
  size_t i;

  for (i = 0; v && v[i]; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

void
sbx_strv_free (char **v)
{
  size_t i;

  if (v == NULL)
    return;
  for (i = 0; v[i]; i++)
    free (v[i]);
  free (v);
}

bool
sbx_strv_contains (char *const *v, const char *s)
{
  size_t i;

  for (i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

static bool
env_key_matches (const char *entry, const char *key, size_t klen)
{
  return strncmp (entry, key, klen) == 0 && entry[klen] == '=';
}

void
sbx_env_set (char ***env, const char *key, const char *value)
{
  size_t klen = strlen (key);
  char *entry = xasprintf ("%s=%s", key, value);
  size_t i;

  for (i = 0; *env && (*env)[i]; i++)
    if (env_key_matches ((*env)[i], key, klen))
      {
        free ((*env)[i]);
        (*env)[i] = entry;
        return;
      }
  sbx_strv_push_take (env, entry);
}

const char *
sbx_env_get (char *const *env, const char *key)
{
  size_t klen = strlen (key);
  size_t i;

  for (i = 0; env && env[i]; i++)
    if (env_key_matches (env[i], key, klen))
      return env[i] + klen + 1;
  return NULL;
}

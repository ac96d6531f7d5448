/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/error.h"
#include "util/strv.h"

#include "util/json.h"
#include "util/xalloc.h"

#define J(v) ((json_t *) (v))

static struct sbx_json *
checked (json_t *v)
{
  if (v == NULL)
    xoom ();
  return (struct sbx_json *) v;
}

struct sbx_json *
sbx_json_object (void)
{
  return checked (json_object ());
}

struct sbx_json *
sbx_json_array (void)
{
  return checked (json_array ());
}

void
sbx_json_set (struct sbx_json *obj, const char *key, struct sbx_json *child)
{
  if (json_object_set_new (J (obj), key, J (child)) < 0)
    xoom ();
}

void
sbx_json_set_str (struct sbx_json *obj, const char *key, const char *value)
{
  sbx_json_set (obj, key, checked (value ? json_string (value) : json_null ()));
}

void
sbx_json_set_bool (struct sbx_json *obj, const char *key, bool value)
{
  sbx_json_set (obj, key, checked (json_boolean (value)));
}

void
sbx_json_set_int (struct sbx_json *obj, const char *key, int64_t value)
{
  sbx_json_set (obj, key, checked (json_integer ((json_int_t) value)));
}

void
sbx_json_append (struct sbx_json *arr, struct sbx_json *child)
{
  if (json_array_append_new (J (arr), J (child)) < 0)
    xoom ();
}

void
sbx_json_append_str (struct sbx_json *arr, const char *s)
{
  sbx_json_append (arr, checked (json_string (s)));
}

struct sbx_json *
sbx_json_parse (const char *text, size_t len)
{
  return (struct sbx_json *) json_loadb (text, len, 0, NULL);
}

struct sbx_json *
sbx_json_parse_strict (const char *text, size_t len, struct sbx_error **err)
{
  json_error_t jerr;
  json_t *v = json_loadb (text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

  if (v != NULL)
    return (struct sbx_json *) v;
  if (json_error_code (&jerr) == json_error_out_of_memory)
    xoom ();
  sbx_err (err, EINVAL, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
           jerr.text);
  return NULL;
}

bool
sbx_json_is_object (const struct sbx_json *v)
{
  return v != NULL && json_is_object (J (v));
}

bool
sbx_json_is_array (const struct sbx_json *v)
{
  return v != NULL && json_is_array (J (v));
}

const struct sbx_json *
sbx_json_get (const struct sbx_json *obj, const char *key)
{
  if (! sbx_json_is_object (obj) || key == NULL)
    return NULL;
  return (const struct sbx_json *) json_object_get (J (obj), key);
}

size_t
sbx_json_array_size (const struct sbx_json *arr)
{
  return sbx_json_is_array (arr) ? json_array_size (J (arr)) : 0;
}

const struct sbx_json *
sbx_json_array_get (const struct sbx_json *arr, size_t i)
{
  if (! sbx_json_is_array (arr))
    return NULL;
  return (const struct sbx_json *) json_array_get (J (arr), i); /* NULL when out of range */
}

const char *
sbx_json_string (const struct sbx_json *v)
{
  return v != NULL && json_is_string (J (v)) ? json_string_value (J (v)) : NULL;
}

int
sbx_json_integer (const struct sbx_json *v, int64_t *out)
{
  if (v == NULL || ! json_is_integer (J (v)))
    return -1;
  *out = (int64_t) json_integer_value (J (v));
  return 0;
}

int
sbx_json_object_foreach (const struct sbx_json *obj, sbx_json_member_fn fn, void *arg,
                         struct sbx_error **err)
{
  const char *key;
  json_t *value;

  if (! sbx_json_is_object (obj))
    return sbx_err (err, EINVAL, "not a JSON object");
  json_object_foreach (J (obj), key, value)
  {
    int r = fn (key, (const struct sbx_json *) value, arg, err);

    if (r < 0)
      return r;
  }
  return 0;
}

char **
sbx_json_file_strv (const char *path, const char *key, struct sbx_error **err)
{
  json_auto_t *doc = NULL;
  json_error_t jerr;
  json_t *arr, *v;
  char **out = NULL;
  size_t i;

  doc = json_load_file (path, 0, &jerr);
  if (doc == NULL)
    {
      if (access (path, F_OK) < 0 && errno == ENOENT)
        return sbx_strv_dup (NULL);
      sbx_err (err, EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
      return NULL;
    }
  arr = json_object_get (doc, key);
  if (arr == NULL)
    return sbx_strv_dup (NULL);
  if (! json_is_array (arr))
    {
      sbx_err (err, EINVAL, "%s: `%s` is not an array", path, key);
      return NULL;
    }
  out = sbx_strv_dup (NULL);
  json_array_foreach (arr, i, v)
  {
    if (! json_is_string (v))
      {
        sbx_strv_free (out);
        sbx_err (err, EINVAL, "%s: `%s[%zu]` is not a string", path, key, i);
        return NULL;
      }
    sbx_strv_push (&out, json_string_value (v));
  }
  return out;
}

char *
sbx_json_dump (const struct sbx_json *v)
{
  char *s = json_dumps (J (v), JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  char *r;

  if (s == NULL)
    xoom ();
  r = xasprintf ("%s\n", s);
  free (s);
  return r;
}

void
sbx_json_free (struct sbx_json *v)
{
  json_decref (J (v));
}

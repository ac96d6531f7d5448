/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <stdlib.h>

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

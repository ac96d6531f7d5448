/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Thin glue over jansson for modules that may not include it (STYLE.md B1:
   jansson stays in util/json and the modules allowed to use it).  Building
   never fails (allocation failure aborts); values are owned by their
   parent once added.  */
struct sbx_json;

struct sbx_json *sbx_json_object (void);
struct sbx_json *sbx_json_array (void);
void sbx_json_set_str (struct sbx_json *obj, const char *key, const char *value); /* NULL → null */
void sbx_json_set_bool (struct sbx_json *obj, const char *key, bool value);
void sbx_json_set_int (struct sbx_json *obj, const char *key, int64_t value);
/* Add CHILD under KEY; OBJ takes ownership.  */
void sbx_json_set (struct sbx_json *obj, const char *key, struct sbx_json *child);
/* Append CHILD (ownership moves) or a string.  */
void sbx_json_append (struct sbx_json *arr, struct sbx_json *child);
void sbx_json_append_str (struct sbx_json *arr, const char *s);
/* Parse TEXT (a JSON document); NULL when it is not valid JSON.  */
struct sbx_json *sbx_json_parse (const char *text, size_t len);
/* Indented text with a trailing newline (free() it).  */
char *sbx_json_dump (const struct sbx_json *v);
void sbx_json_free (struct sbx_json *v);

static inline void
sbx_cleanup_json (struct sbx_json **v)
{
  sbx_json_free (*v);
}
#define cleanup_json __attribute__ ((cleanup (sbx_cleanup_json)))

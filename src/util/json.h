/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Thin glue over jansson for modules that may not include it (STYLE.md B1:
   jansson stays in util/json and the modules allowed to use it).  Building
   never fails (allocation failure aborts); values are owned by their
   parent once added.

   Ownership, in the style of git's strbuf.h:

   - A `struct sbx_json *` returned by sbx_json_object(), sbx_json_array(),
     sbx_json_parse() or sbx_json_parse_strict() is *owned* by the caller,
     who releases it with sbx_json_free() (or declares it `cleanup_json`),
     unless it hands it over to a parent with sbx_json_set() or
     sbx_json_append().

   - A `const struct sbx_json *` returned by the readers below
     (sbx_json_get(), sbx_json_array_get(), or passed to an
     sbx_json_object_foreach() callback) is *borrowed*: it lives as long as
     the document it was read from and must not be freed.  The same holds
     for the `const char *` of sbx_json_string() and of object keys.

   - Every reader accepts NULL and any kind of value: asking an array for a
     key or a number for its string gives NULL (or 0, or -1), so chains such
     as sbx_json_string (sbx_json_get (doc, "name")) need no checks between
     the steps.  */
struct sbx_json;
struct sbx_error;

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

/* ---- reading ---- */

/* Parse the LEN bytes of TEXT (no NUL needed) as one JSON value of any
   kind, for documents that come from outside: a member name that appears
   twice in an object, invalid UTF-8, a NUL character (\u0000) or anything
   after the value is refused.  NULL with *ERR ("invalid JSON at line L,
   column C: reason", EINVAL) on failure; the caller owns the result.  */
struct sbx_json *sbx_json_parse_strict (const char *text, size_t len, struct sbx_error **err);

bool sbx_json_is_object (const struct sbx_json *v);
bool sbx_json_is_array (const struct sbx_json *v);

/* The member KEY of the object OBJ, borrowed; NULL when OBJ is NULL or not
   an object, or has no such member.  A member whose value is null is
   returned (it is not a string, an array or a number).  */
const struct sbx_json *sbx_json_get (const struct sbx_json *obj, const char *key);

/* The number of items of the array ARR; 0 when ARR is NULL or not an array
   (use sbx_json_is_array() to tell an empty array from no array).  */
size_t sbx_json_array_size (const struct sbx_json *arr);
/* Item I of the array ARR, borrowed; NULL when ARR is not an array or I is
   out of range.  */
const struct sbx_json *sbx_json_array_get (const struct sbx_json *arr, size_t i);

/* The text of the string V, borrowed (NUL-terminated, valid UTF-8, no NUL
   inside); NULL when V is NULL or not a string.  */
const char *sbx_json_string (const struct sbx_json *v);

/* 0 and *OUT when V is an integer (a number written without fraction or
   exponent: 1.0 and 1e3 are not integers); -1 otherwise, *OUT untouched
   and no error set (the caller knows what the value was meant to be).  */
int sbx_json_integer (const struct sbx_json *v, int64_t *out);

/* Called for each member of an object, in document order, with the member
   name and value (both borrowed).  A negative return (with *ERR set) stops
   the walk.  */
typedef int (*sbx_json_member_fn) (const char *key, const struct sbx_json *value, void *arg,
                                   struct sbx_error **err);
/* Call FN (KEY, VALUE, ARG, ERR) for each member of the object OBJ.  0 when
   every call returned 0 (an empty object calls nothing); FN's negative
   return as is when it fails; -1 with *ERR (EINVAL) when OBJ is NULL or not
   an object.  FN must not change OBJ.  */
int sbx_json_object_foreach (const struct sbx_json *obj, sbx_json_member_fn fn, void *arg,
                             struct sbx_error **err);

/* The array of strings under KEY in the JSON file PATH: NULL-terminated
   (empty when the file or the key is absent); NULL with *ERR when the file
   is not valid JSON or KEY is not an array of strings.  */
char **sbx_json_file_strv (const char *path, const char *key, struct sbx_error **err);
/* Indented text with a trailing newline (free() it).  */
char *sbx_json_dump (const struct sbx_json *v);
void sbx_json_free (struct sbx_json *v);

static inline void
sbx_cleanup_json (struct sbx_json **v)
{
  sbx_json_free (*v);
}
#define cleanup_json __attribute__ ((cleanup (sbx_cleanup_json)))

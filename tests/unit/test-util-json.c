/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strv.h"

/* ---- fixtures ---- */

static struct sbx_json *
parse_ok (const char *text)
{
  struct sbx_error *err = NULL;
  struct sbx_json *v = sbx_json_parse_strict (text, strlen (text), &err);

  if (v == NULL)
    printf ("# parse `%s`: %s\n", text, err->msg);
  ASSERT_NOT_NULL (v);
  ASSERT_NULL (err);
  return v;
}

/* The message of the error that parsing TEXT gives (free() it).  */
static char *
parse_fails (const char *text, size_t len)
{
  struct sbx_error *err = NULL;
  struct sbx_json *v = sbx_json_parse_strict (text, len, &err);
  char *msg;

  EXPECT_NULL (v);
  sbx_json_free (v);
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (err->code, EINVAL);
  msg = strdup (err->msg);
  sbx_error_free (err);
  ASSERT_NOT_NULL (msg);
  return msg;
}

/* NAME in the test's directory (a static buffer: one path at a time).  */
static const char *
tpath (const char *name)
{
  static char path[PATH_MAX];

  ASSERT_LT (snprintf (path, sizeof path, "%s/%s", TEST_TMPDIR, name), (int) sizeof path);
  return path;
}

static const char *
write_file (const char *name, const char *content)
{
  const char *path = tpath (name);
  cleanup_close int fd = -1;

  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  return path;
}

/* ---- parsing ---- */

TEST (parse_strict_accepts_any_value)
{
  cleanup_json struct sbx_json *obj = parse_ok (" {\"a\": 1}\n");
  cleanup_json struct sbx_json *arr = parse_ok ("[]");
  cleanup_json struct sbx_json *str = parse_ok ("\"x\"");
  cleanup_json struct sbx_json *num = parse_ok ("7");
  cleanup_json struct sbx_json *null = parse_ok ("null");
  int64_t n = 0;

  EXPECT_TRUE (sbx_json_is_object (obj));
  EXPECT_FALSE (sbx_json_is_array (obj));
  EXPECT_TRUE (sbx_json_is_array (arr));
  EXPECT_FALSE (sbx_json_is_object (arr));
  EXPECT_STREQ (sbx_json_string (str), "x");
  EXPECT_EQ (sbx_json_integer (num, &n), 0);
  EXPECT_EQ (n, 7);
  EXPECT_FALSE (sbx_json_is_object (null));
  EXPECT_FALSE (sbx_json_is_array (null));
  EXPECT_NULL (sbx_json_string (null));
}

TEST (parse_strict_reads_only_len_bytes)
{
  const char text[] = "[1, 2]garbage";
  struct sbx_error *err = NULL;
  cleanup_json struct sbx_json *v = sbx_json_parse_strict (text, 6, &err);

  ASSERT_NOT_NULL (v);
  EXPECT_EQ (sbx_json_array_size (v), 2);
}

TEST (parse_errors_give_line_and_column)
{
  cleanup_free char *m1 = parse_fails ("{\n  \"a\": }", 10);
  cleanup_free char *m2 = parse_fails ("[1, 2", 5);
  cleanup_free char *m3 = parse_fails ("", 0);
  cleanup_free char *m4 = parse_fails ("{} {}", 5);
  cleanup_free char *m5 = parse_fails ("[1,]", 4);
  cleanup_free char *m6 = parse_fails ("{'a': 1}", 8);

  EXPECT_STRSTR (m1, "invalid JSON at line 2, column ");
  EXPECT_STRSTR (m2, "invalid JSON at line 1");
  EXPECT_STRSTR (m3, "invalid JSON");
  EXPECT_STRSTR (m4, "invalid JSON");
  EXPECT_STRSTR (m5, "invalid JSON");
  EXPECT_STRSTR (m6, "invalid JSON");
}

TEST (parse_strict_refuses_duplicate_keys)
{
  const char top[] = "{\"Config\": \"a.json\", \"Config\": \"b.json\"}";
  const char nested[] = "[{\"x\": {\"k\": 1, \"k\": 1}}]";
  cleanup_free char *m1 = parse_fails (top, strlen (top));
  cleanup_free char *m2 = parse_fails (nested, strlen (nested));
  cleanup_json struct sbx_json *same_key_apart = parse_ok ("[{\"k\": 1}, {\"k\": 2}]");
  cleanup_json struct sbx_json *lenient = sbx_json_parse (top, strlen (top));

  EXPECT_STRSTR (m1, "invalid JSON at line 1");
  EXPECT_STRSTR (m1, "duplicate");
  EXPECT_STRSTR (m2, "duplicate");
  EXPECT_EQ (sbx_json_array_size (same_key_apart), 2);
  /* sbx_json_parse() (for our own documents) stays lenient.  */
  EXPECT_NOT_NULL (lenient);
}

TEST (parse_strict_refuses_nul_and_invalid_utf8)
{
  const char nul[] = "[\"a\\u0000b\"]";
  const char raw_nul[] = { '[', '"', 'a', '\0', 'b', '"', ']' };
  const char bad_utf8[] = "[\"\xc3\x28\"]";
  const char lone_surrogate[] = "[\"\\udc00\"]";
  cleanup_free char *m1 = parse_fails (nul, strlen (nul));
  cleanup_free char *m2 = parse_fails (raw_nul, sizeof raw_nul);
  cleanup_free char *m3 = parse_fails (bad_utf8, strlen (bad_utf8));
  cleanup_free char *m4 = parse_fails (lone_surrogate, strlen (lone_surrogate));

  EXPECT_STRSTR (m1, "invalid JSON");
  EXPECT_STRSTR (m2, "invalid JSON");
  EXPECT_STRSTR (m3, "invalid JSON");
  EXPECT_STRSTR (m4, "invalid JSON");
}

/* ---- reading ---- */

TEST (get_finds_members_of_objects_only)
{
  cleanup_json struct sbx_json *doc
      = parse_ok ("{\"name\": \"busybox\", \"none\": null, \"list\": [\"a\"]}");
  cleanup_json struct sbx_json *arr = parse_ok ("[\"name\"]");
  const struct sbx_json *none = sbx_json_get (doc, "none");

  EXPECT_STREQ (sbx_json_string (sbx_json_get (doc, "name")), "busybox");
  EXPECT_NULL (sbx_json_get (doc, "missing"));
  EXPECT_NULL (sbx_json_get (doc, "Name")); /* case matters */
  EXPECT_NOT_NULL (none);                   /* present, but null */
  EXPECT_NULL (sbx_json_string (none));
  EXPECT_NULL (sbx_json_get (arr, "name"));
  EXPECT_NULL (sbx_json_get (NULL, "name"));
  EXPECT_NULL (sbx_json_get (doc, NULL));
  /* Chains need no checks in between.  */
  EXPECT_NULL (sbx_json_string (sbx_json_get (sbx_json_get (doc, "missing"), "x")));
  EXPECT_NULL (sbx_json_get (sbx_json_get (doc, "list"), "a"));
}

TEST (arrays_by_index)
{
  cleanup_json struct sbx_json *doc = parse_ok ("{\"l\": [\"a\", 2, null, [\"d\"]], \"e\": []}");
  const struct sbx_json *l = sbx_json_get (doc, "l");
  const struct sbx_json *e = sbx_json_get (doc, "e");

  ASSERT_TRUE (sbx_json_is_array (l));
  ASSERT_EQ (sbx_json_array_size (l), 4);
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (l, 0)), "a");
  EXPECT_NULL (sbx_json_string (sbx_json_array_get (l, 1)));
  EXPECT_NOT_NULL (sbx_json_array_get (l, 2));
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (sbx_json_array_get (l, 3), 0)), "d");
  EXPECT_NULL (sbx_json_array_get (l, 4));
  EXPECT_NULL (sbx_json_array_get (l, SIZE_MAX));
  /* An empty array and no array both have no items: is_array tells them apart.  */
  EXPECT_EQ (sbx_json_array_size (e), 0);
  EXPECT_TRUE (sbx_json_is_array (e));
  EXPECT_EQ (sbx_json_array_size (doc), 0);
  EXPECT_FALSE (sbx_json_is_array (doc));
  EXPECT_NULL (sbx_json_array_get (doc, 0));
  EXPECT_EQ (sbx_json_array_size (NULL), 0);
  EXPECT_NULL (sbx_json_array_get (NULL, 0));
  EXPECT_FALSE (sbx_json_is_array (NULL));
  EXPECT_FALSE (sbx_json_is_object (NULL));
}

TEST (strings_are_decoded)
{
  cleanup_json struct sbx_json *doc = parse_ok (
      "[\"tab\\there\", \"\\u00e9\", \"\\ud83d\\ude00\", \"\\\"q\\\"\", \"\", 1, true]");

  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (doc, 0)), "tab\there");
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (doc, 1)), "\xc3\xa9");
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (doc, 2)), "\xf0\x9f\x98\x80");
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (doc, 3)), "\"q\"");
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (doc, 4)), "");
  EXPECT_NULL (sbx_json_string (sbx_json_array_get (doc, 5)));
  EXPECT_NULL (sbx_json_string (sbx_json_array_get (doc, 6)));
  EXPECT_NULL (sbx_json_string (NULL));
}

TEST (integers_only_when_written_as_integers)
{
  cleanup_json struct sbx_json *doc = parse_ok (
      "[42, -1, 0, 9223372036854775807, -9223372036854775808, 1.0, 1e3, \"5\", null, true]");
  int64_t n = 0;

  ASSERT_EQ (sbx_json_integer (sbx_json_array_get (doc, 0), &n), 0);
  EXPECT_EQ (n, 42);
  ASSERT_EQ (sbx_json_integer (sbx_json_array_get (doc, 1), &n), 0);
  EXPECT_EQ (n, -1);
  ASSERT_EQ (sbx_json_integer (sbx_json_array_get (doc, 2), &n), 0);
  EXPECT_EQ (n, 0);
  ASSERT_EQ (sbx_json_integer (sbx_json_array_get (doc, 3), &n), 0);
  EXPECT_EQ (n, INT64_MAX);
  ASSERT_EQ (sbx_json_integer (sbx_json_array_get (doc, 4), &n), 0);
  EXPECT_EQ (n, INT64_MIN);
  n = 99;
  EXPECT_EQ (sbx_json_integer (sbx_json_array_get (doc, 5), &n), -1);
  EXPECT_EQ (sbx_json_integer (sbx_json_array_get (doc, 6), &n), -1);
  EXPECT_EQ (sbx_json_integer (sbx_json_array_get (doc, 7), &n), -1);
  EXPECT_EQ (sbx_json_integer (sbx_json_array_get (doc, 8), &n), -1);
  EXPECT_EQ (sbx_json_integer (sbx_json_array_get (doc, 9), &n), -1);
  EXPECT_EQ (sbx_json_integer (NULL, &n), -1);
  EXPECT_EQ (n, 99); /* untouched */
}

TEST (integer_overflow_is_a_parse_error)
{
  const char big[] = "{\"size\": 9223372036854775808}";
  cleanup_free char *m = parse_fails (big, strlen (big));

  EXPECT_STRSTR (m, "invalid JSON at line 1");
}

TEST (built_values_can_be_read)
{
  cleanup_json struct sbx_json *o = sbx_json_object ();
  struct sbx_json *a = sbx_json_array ();
  int64_t n = 0;

  sbx_json_set_str (o, "s", "v");
  sbx_json_set_int (o, "i", -5);
  sbx_json_append_str (a, "x");
  sbx_json_set (o, "a", a);
  EXPECT_STREQ (sbx_json_string (sbx_json_get (o, "s")), "v");
  EXPECT_EQ (sbx_json_integer (sbx_json_get (o, "i"), &n), 0);
  EXPECT_EQ (n, -5);
  EXPECT_STREQ (sbx_json_string (sbx_json_array_get (sbx_json_get (o, "a"), 0)), "x");
}

/* ---- iteration ---- */

struct seen
{
  char **keys; /* owned by the test */
  size_t strings;
  const char *stop_at;
};

static int
collect (const char *key, const struct sbx_json *value, void *arg, struct sbx_error **err)
{
  struct seen *s = arg;

  if (s->stop_at && strcmp (key, s->stop_at) == 0)
    return sbx_err (err, EBADMSG, "stop at `%s`", key);
  sbx_strv_push (&s->keys, key);
  if (sbx_json_string (value))
    s->strings++;
  return 0;
}

TEST (foreach_visits_members_in_document_order)
{
  cleanup_json struct sbx_json *doc
      = parse_ok ("{\"z\": \"1\", \"a\": 2, \"m\": \"3\", \"b\": {}}");
  cleanup_json struct sbx_json *empty = parse_ok ("{}");
  cleanup_strv char **keys = NULL;
  struct seen s = { 0 };
  struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_json_object_foreach (doc, collect, &s, &err), 0);
  ASSERT_NULL (err);
  keys = s.keys;
  ASSERT_EQ (sbx_strv_len (keys), 4);
  EXPECT_STREQ (keys[0], "z");
  EXPECT_STREQ (keys[1], "a");
  EXPECT_STREQ (keys[2], "m");
  EXPECT_STREQ (keys[3], "b");
  EXPECT_EQ (s.strings, 2);

  s = (struct seen){ 0 };
  ASSERT_EQ (sbx_json_object_foreach (empty, collect, &s, &err), 0);
  EXPECT_NULL (s.keys);
}

TEST (foreach_stops_at_the_first_failure)
{
  cleanup_json struct sbx_json *doc = parse_ok ("{\"a\": 1, \"b\": 2, \"c\": 3}");
  cleanup_strv char **keys = NULL;
  cleanup_error struct sbx_error *err = NULL;
  struct seen s = { .stop_at = "b" };

  EXPECT_EQ (sbx_json_object_foreach (doc, collect, &s, &err), -1);
  keys = s.keys;
  ASSERT_NOT_NULL (err);
  EXPECT_EQ (err->code, EBADMSG);
  EXPECT_STREQ (err->msg, "stop at `b`");
  ASSERT_EQ (sbx_strv_len (keys), 1);
  EXPECT_STREQ (keys[0], "a");
}

TEST (foreach_refuses_what_is_not_an_object)
{
  cleanup_json struct sbx_json *arr = parse_ok ("[{\"a\": 1}]");
  cleanup_error struct sbx_error *e1 = NULL;
  cleanup_error struct sbx_error *e2 = NULL;
  struct seen s = { 0 };

  EXPECT_EQ (sbx_json_object_foreach (arr, collect, &s, &e1), -1);
  ASSERT_NOT_NULL (e1);
  EXPECT_EQ (e1->code, EINVAL);
  EXPECT_STREQ (e1->msg, "not a JSON object");
  EXPECT_EQ (sbx_json_object_foreach (NULL, collect, &s, &e2), -1);
  ASSERT_NOT_NULL (e2);
  EXPECT_NULL (s.keys);
}

/* ---- sbx_json_file_strv ---- */

TEST (file_strv_reads_an_array_of_strings)
{
  const char *path = write_file ("ok.json", "{\"names\": [\"a\", \"b c\"], \"other\": 1}");
  cleanup_strv char **v = NULL;
  struct sbx_error *err = NULL;

  v = sbx_json_file_strv (path, "names", &err);
  ASSERT_NOT_NULL (v);
  ASSERT_NULL (err);
  ASSERT_EQ (sbx_strv_len (v), 2);
  EXPECT_STREQ (v[0], "a");
  EXPECT_STREQ (v[1], "b c");
  EXPECT_NULL (v[2]);
}

TEST (file_strv_is_empty_for_a_missing_file_or_key)
{
  cleanup_strv char **v1 = NULL;
  cleanup_strv char **v2 = NULL;
  struct sbx_error *err = NULL;
  const char *path = NULL;

  v1 = sbx_json_file_strv (tpath ("no-such.json"), "names", &err);
  ASSERT_NOT_NULL (v1);
  EXPECT_NULL (v1[0]);
  path = write_file ("k.json", "{\"other\": []}");
  v2 = sbx_json_file_strv (path, "names", &err);
  ASSERT_NOT_NULL (v2);
  EXPECT_NULL (v2[0]);
  EXPECT_NULL (err);
}

TEST (file_strv_explains_bad_files)
{
  const char *p1 = NULL;
  cleanup_error struct sbx_error *e1 = NULL;
  cleanup_error struct sbx_error *e2 = NULL;
  cleanup_error struct sbx_error *e3 = NULL;
  char expect[PATH_MAX + 64];

  p1 = write_file ("broken.json", "{\n\"names\": [\"a\",]}");
  EXPECT_NULL (sbx_json_file_strv (p1, "names", &e1));
  ASSERT_NOT_NULL (e1);
  EXPECT_EQ (e1->code, EINVAL);
  snprintf (expect, sizeof expect, "%s:2: ", p1);
  EXPECT_STRSTR (e1->msg, expect);

  p1 = write_file ("notarray.json", "{\"names\": \"a\"}");
  EXPECT_NULL (sbx_json_file_strv (p1, "names", &e2));
  ASSERT_NOT_NULL (e2);
  snprintf (expect, sizeof expect, "%s: `names` is not an array", p1);
  EXPECT_STREQ (e2->msg, expect);

  p1 = write_file ("notstring.json", "{\"names\": [\"a\", 2]}");
  EXPECT_NULL (sbx_json_file_strv (p1, "names", &e3));
  ASSERT_NOT_NULL (e3);
  snprintf (expect, sizeof expect, "%s: `names[1]` is not a string", p1);
  EXPECT_STREQ (e3->msg, expect);
}

TEST_MAIN

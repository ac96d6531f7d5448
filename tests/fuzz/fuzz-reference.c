/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for sbx_reference_parse() (and sbx_digest_parse() behind
   it).  Checks, beyond "no crash, no leak, no UB":
   - a failed parse sets an error message and leaves the output empty;
   - a successful parse is stable: the canonical string and the familiar
     form both parse back to the same reference, whose string is the same;
   - the repository is the canonical string's prefix.
   abort() on a violation, which libFuzzer reports as a crash.
   See tests/fuzz/README.md.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fail (const char *what, const char *in, const char *a, const char *b)
{
  fprintf (stderr, "fuzz-reference: %s\n  input: `%s`\n  got:   `%s`\n  want:  `%s`\n", what, in,
           a ? a : "(null)", b ? b : "(null)");
  abort ();
}

static bool
streq (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

/* Parse S, which must succeed and produce the canonical string WANT.  */
static void
check_reparses (const char *orig, const char *s, const char *want, const struct sbx_reference *r0)
{
  struct sbx_error *err = NULL;
  struct sbx_reference r;
  char *again;

  if (sbx_reference_parse (s, &r, &err) < 0)
    fail ("re-parse failed", orig, err->msg, s);
  again = sbx_reference_string (&r);
  if (strcmp (again, want) != 0)
    fail ("round trip changed the reference", orig, again, want);
  if (! streq (r.domain, r0->domain) || ! streq (r.path, r0->path) || ! streq (r.tag, r0->tag)
      || ! sbx_digest_equal (&r.digest, &r0->digest))
    fail ("round trip changed a field", orig, again, want);
  free (again);
  sbx_reference_release (&r);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sbx_error *err = NULL;
  struct sbx_reference r;
  char *s, *str, *fam, *repo;

  if (size > 4096)
    return 0;
  s = malloc (size + 1);
  if (s == NULL)
    return 0;
  memcpy (s, data, size);
  s[size] = '\0';

  if (sbx_reference_parse (s, &r, &err) < 0)
    {
      if (err == NULL || err->msg == NULL || strncmp (err->msg, "invalid reference", 17) != 0)
        fail ("failure without a proper message", s, err ? err->msg : NULL, "invalid reference…");
      if (r.domain || r.path || r.tag || sbx_digest_is_set (&r.digest))
        fail ("failure left output behind", s, r.domain, NULL);
      sbx_error_clear (&err);
      free (s);
      return 0;
    }
  if (err != NULL)
    fail ("success with an error set", s, err->msg, NULL);
  if (r.domain == NULL || r.path == NULL || (r.tag == NULL && ! sbx_digest_is_set (&r.digest)))
    fail ("success with a missing part", s, r.domain, r.path);

  str = sbx_reference_string (&r);
  fam = sbx_reference_familiar (&r);
  repo = sbx_reference_repository (&r);
  if (strncmp (str, repo, strlen (repo)) != 0)
    fail ("repository is not a prefix of the string", s, repo, str);
  check_reparses (s, str, str, &r);
  check_reparses (s, fam, str, &r);

  free (repo);
  free (fam);
  free (str);
  sbx_reference_release (&r);
  free (s);
  return 0;
}

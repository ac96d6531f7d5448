/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --format '{{.Field}}…': the small part of Go templates that scripts use
   with Docker (fields, text between them, \t and \n).  */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

bool
cli_format_is_template (const char *fmt)
{
  return strstr (fmt, "{{") != NULL && strcmp (fmt, "{{json .}}") != 0;
}

static const char *
field_value (const char *name, size_t len, const struct cli_field *fields, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strlen (fields[i].name) == len && strncmp (fields[i].name, name, len) == 0)
      return fields[i].value ? fields[i].value : "";
  return NULL;
}

char *
cli_format_expand (const char *tmpl, const struct cli_field *fields, size_t n,
                   struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  const char *p = tmpl;

  while (*p)
    {
      const char *open = strstr (p, "{{");
      const char *close, *name, *end, *v;

      if (open == NULL)
        open = p + strlen (p);
      for (; p < open; p++)
        if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n'))
          sbx_strbuf_addch (&sb, *++p == 't' ? '\t' : '\n');
        else
          sbx_strbuf_addch (&sb, *p);
      if (*p == '\0')
        break;
      close = strstr (open, "}}");
      if (close == NULL)
        {
          sbx_err (err, EINVAL, "invalid --format `%s`: `{{` without `}}`", tmpl);
          return NULL;
        }
      for (name = open + 2; *name == ' '; name++)
        ;
      for (end = close; end > name && end[-1] == ' '; end--)
        ;
      v = name < end && *name == '.' ? field_value (name + 1, (size_t) (end - name - 1), fields, n)
                                     : NULL;
      if (v == NULL)
        {
          sbx_err (err, EINVAL, "invalid --format `%s`: unknown field `%.*s`", tmpl,
                   (int) (end - name), name);
          return NULL;
        }
      sbx_strbuf_addstr (&sb, v);
      p = close + 2;
    }
  sbx_strbuf_addch (&sb, '\n');
  return sbx_strbuf_detach (&sb);
}

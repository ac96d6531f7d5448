/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dockerfile lexer: parser directives, comments, line continuations and
   here-documents, following BuildKit's parser (frontend/dockerfile/parser)
   so that files that build with Docker read the same here.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Go's unicode.IsSpace, restricted to ASCII.  */
static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

void
build_lexer_init (struct build_lexer *lx, const char *file, const char *text, size_t len)
{
  memset (lx, 0, sizeof *lx);
  lx->file = file;
  lx->p = text;
  lx->end = text + len;
  lx->escape = '\\';
  lx->in_directives = true;
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 BOM, as BuildKit */
    lx->p += 3;
}

void
build_lexer_release (struct build_lexer *lx)
{
  free (lx->syntax);
  sbx_strv_free (lx->notes);
  lx->syntax = NULL;
  lx->notes = NULL;
}

/* The next physical line into *LINE (newline and a '\r' before it removed,
   not NUL-terminated: *LEN); false at the end of the text.  */
static bool
read_line (struct build_lexer *lx, const char **line, size_t *len)
{
  const char *nl;

  if (lx->p >= lx->end)
    return false;
  nl = memchr (lx->p, '\n', (size_t) (lx->end - lx->p));
  *line = lx->p;
  *len = (size_t) ((nl ? nl : lx->end) - lx->p);
  lx->p = nl ? nl + 1 : lx->end;
  if (*len > 0 && (*line)[*len - 1] == '\r')
    (*len)--;
  lx->lineno++;
  return true;
}

static void
skip_blanks (const char **s, size_t *len)
{
  while (*len > 0 && is_blank (**s))
    (*s)++, (*len)--;
}

/* `# name = value`, BuildKit's ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$  */
static bool
match_directive (const char *s, size_t len, char **name, char **value)
{
  const char *n, *v;
  size_t nlen;

  skip_blanks (&s, &len);
  if (len == 0 || *s != '#')
    return false;
  s++, len--;
  skip_blanks (&s, &len);
  n = s;
  while (len > 0
         && (((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || (s > n && *s >= '0' && *s <= '9')))
    s++, len--;
  nlen = (size_t) (s - n);
  skip_blanks (&s, &len);
  if (nlen == 0 || len == 0 || *s != '=')
    return false;
  s++, len--;
  skip_blanks (&s, &len);
  v = s;
  while (len > 0 && is_blank (v[len - 1]))
    len--;
  if (len == 0)
    return false;
  *name = xstrndup (n, nlen);
  *value = xstrndup (v, len);
  return true;
}

static int
apply_directive (struct build_lexer *lx, const char *name, const char *value,
                 struct sbx_error **err)
{
  if (strcasecmp (name, "escape") == 0)
    {
      if (lx->seen_escape)
        return sbx_err (err, EINVAL, "%s:%u: only one escape parser directive can be used",
                        lx->file, lx->lineno);
      if (strcmp (value, "\\") != 0 && strcmp (value, "`") != 0)
        return sbx_err (err, EINVAL, "%s:%u: invalid escape token '%s' does not match ` or \\",
                        lx->file, lx->lineno, value);
      lx->seen_escape = true;
      lx->escape = value[0];
      return 0;
    }
  if (strcasecmp (name, "syntax") == 0)
    {
      if (lx->syntax != NULL)
        return sbx_err (err, EINVAL, "%s:%u: only one syntax parser directive can be used",
                        lx->file, lx->lineno);
      lx->syntax = xstrdup (value);
      /* sbx has its own front end: a BuildKit frontend image cannot run here */
      sbx_strv_push_take (&lx->notes, xasprintf ("%s:%u: # syntax=%s: ignored (sbx parses the "
                                                 "Dockerfile itself)",
                                                 lx->file, lx->lineno, value));
      return 0;
    }
  /* `check` is BuildKit's linter switch: nothing to do, but it is a directive */
  sbx_strv_push_take (&lx->notes,
                      xasprintf ("%s:%u: # %s=%s: ignored", lx->file, lx->lineno, name, value));
  return 0;
}

int
build_lex_directives (struct build_lexer *lx, struct sbx_error **err)
{
  while (lx->in_directives)
    {
      const char *save = lx->p, *line;
      unsigned save_no = lx->lineno;
      cleanup_free char *name = NULL;
      cleanup_free char *value = NULL;
      size_t len;

      if (! read_line (lx, &line, &len))
        break;
      /* Directives end at the first line that is not one (a blank line, a
         comment, an instruction, or an unknown `# key=value`, which is a
         comment to BuildKit): leave that line for build_lex_next.  */
      if (! match_directive (line, len, &name, &value)
          || (strcasecmp (name, "escape") != 0 && strcasecmp (name, "syntax") != 0
              && strcasecmp (name, "check") != 0))
        {
          lx->p = save;
          lx->lineno = save_no;
          break;
        }
      if (apply_directive (lx, name, value, err) < 0)
        return -1;
    }
  lx->in_directives = false;
  return 0;
}

static bool
is_comment (const char *s, size_t len)
{
  skip_blanks (&s, &len);
  return len > 0 && *s == '#';
}

/* Remove a trailing escape character (and blanks after it) from S[0..*LEN):
   true when it was there, i.e. the instruction continues.  */
static bool
trim_continuation (const char *s, size_t *len, char escape)
{
  size_t n = *len;

  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  if (n == 0 || s[n - 1] != escape)
    return false;
  *len = n - 1;
  return true;
}

char **
build_split_words (const char *text, char escape)
{
  enum
  {
    IN_SPACES,
    IN_WORD,
    IN_QUOTE
  } phase
      = IN_SPACES;
  cleanup_strbuf struct sbx_strbuf word = SBX_STRBUF_INIT;
  char **words = xzalloc (sizeof (char *));
  bool blank_ok = false;
  char quote = 0;
  size_t i, n = strlen (text);

  /* A port of BuildKit's parseWords: quotes and escapes stay in the words,
     an escape keeps the next character (even a quote) in the word.  */
  for (i = 0; i < n; i++)
    {
      char c = text[i];

      if (phase == IN_SPACES)
        {
          if (is_blank (c))
            continue;
          phase = IN_WORD;
        }
      if (phase == IN_WORD)
        {
          if (is_blank (c))
            {
              phase = IN_SPACES;
              if (blank_ok || word.len > 0)
                sbx_strv_push_take (&words, sbx_strbuf_detach (&word));
              blank_ok = false;
              continue;
            }
          if (c == '\'' || c == '"')
            {
              quote = c;
              blank_ok = true;
              phase = IN_QUOTE;
            }
          else if (c == escape)
            {
              if (i + 1 == n)
                continue;
              sbx_strbuf_addch (&word, c);
              c = text[++i];
            }
          sbx_strbuf_addch (&word, c);
          continue;
        }
      /* IN_QUOTE */
      if (c == quote)
        phase = IN_WORD;
      else if (c == escape && quote != '\'')
        {
          if (i + 1 == n)
            {
              phase = IN_WORD;
              continue;
            }
          sbx_strbuf_addch (&word, c);
          c = text[++i];
        }
      sbx_strbuf_addch (&word, c);
    }
  if (phase != IN_SPACES && (blank_ok || word.len > 0))
    sbx_strv_push_take (&words, sbx_strbuf_detach (&word));
  return words;
}

/* Unquote a here-document name: "EOF", 'EOF' or EOF.  */
static char *
heredoc_name (const char *s, char escape, bool *quoted)
{
  size_t n = strlen (s);

  *quoted = false;
  if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0])
    {
      *quoted = true;
      return xstrndup (s + 1, n - 2);
    }
  if (n >= 1 && s[0] == escape) /* <<\EOF: the shell's way to quote */
    {
      *quoted = true;
      return xstrdup (s + 1);
    }
  if (strpbrk (s, "\"'") != NULL)
    return NULL;
  return xstrdup (s);
}

bool
build_parse_heredoc_word (const char *word, char escape, char **name, bool *chomp, bool *expand)
{
  const char *p = word;
  bool quoted;
  char *nm;

  while (*p >= '0' && *p <= '9') /* an fd number: 3<<EOF */
    p++;
  if (strncmp (p, "<<", 2) != 0)
    return false;
  p += 2;
  *chomp = *p == '-';
  if (*chomp)
    p++;
  if (*p == '\0' || strchr (p, '<') != NULL)
    return false;
  nm = heredoc_name (p, escape, &quoted);
  if (nm == NULL || *nm == '\0' || strpbrk (nm, " \t") != NULL)
    {
      free (nm);
      return false;
    }
  *name = nm;
  *expand = ! quoted;
  return true;
}

void
build_heredocs_free (struct sbx_build_heredoc *h, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    {
      free (h[i].name);
      free (h[i].content);
    }
  free (h);
}

void
build_line_release (struct build_line *l)
{
  free (l->text);
  build_heredocs_free (l->heredocs, l->n_heredocs);
  memset (l, 0, sizeof *l);
}

/* Only RUN, COPY and ADD take here-documents, and not in exec form.  */
static bool
may_have_heredocs (char *const *words)
{
  size_t i;

  if (words[0] == NULL
      || (strcasecmp (words[0], "RUN") != 0 && strcasecmp (words[0], "COPY") != 0
          && strcasecmp (words[0], "ADD") != 0))
    return false;
  for (i = 1; words[i] && strncmp (words[i], "--", 2) == 0; i++)
    ;
  return words[i] != NULL && words[i][0] != '[';
}

/* Read the body of heredoc H (its name and chomp set) up to its
   terminator.  */
static int
read_heredoc_body (struct build_lexer *lx, struct sbx_build_heredoc *h, const char *kw,
                   unsigned start, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf body = SBX_STRBUF_INIT;
  const char *line;
  size_t len;

  while (read_line (lx, &line, &len))
    {
      if (memchr (line, '\0', len) != NULL)
        return sbx_err (err, EINVAL, "%s:%u: %s: NUL character in heredoc <<%s", lx->file,
                        lx->lineno, kw, h->name);
      if (h->chomp)
        while (len > 0 && *line == '\t')
          line++, len--;
      if (len == strlen (h->name) && memcmp (line, h->name, len) == 0)
        {
          h->content = sbx_strbuf_detach (&body);
          return 0;
        }
      sbx_strbuf_add (&body, line, len);
      sbx_strbuf_addch (&body, '\n');
    }
  return sbx_err (err, EINVAL, "%s:%u: %s: unterminated heredoc <<%s", lx->file, start, kw,
                  h->name);
}

static int
read_heredocs (struct build_lexer *lx, struct build_line *out, struct sbx_error **err)
{
  cleanup_strv char **words = build_split_words (out->text, lx->escape);
  cleanup_free char *kw = NULL;
  size_t i;

  if (! may_have_heredocs (words))
    return 0;
  kw = xstrdup (words[0]);
  for (i = 0; kw[i]; i++)
    kw[i] = (char) (kw[i] >= 'a' && kw[i] <= 'z' ? kw[i] - 32 : kw[i]);
  for (i = 1; words[i]; i++)
    {
      struct sbx_build_heredoc h = { 0 };

      if (! build_parse_heredoc_word (words[i], lx->escape, &h.name, &h.chomp, &h.expand))
        continue;
      out->heredocs = xrealloc (out->heredocs, xmul (out->n_heredocs + 1, sizeof *out->heredocs));
      out->heredocs[out->n_heredocs++] = h;
      if (read_heredoc_body (lx, &out->heredocs[out->n_heredocs - 1], kw, out->line, err) < 0)
        return -1;
    }
  return 0;
}

int
build_lex_next (struct build_lexer *lx, struct build_line *out, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf text = SBX_STRBUF_INIT;
  const char *line;
  size_t len;
  bool more;

  memset (out, 0, sizeof *out);
  if (lx->in_directives && build_lex_directives (lx, err) < 0)
    return -1;
  for (;;)
    {
      if (! read_line (lx, &line, &len))
        return 0;
      skip_blanks (&line, &len);
      if (len == 0 || *line == '#')
        continue;
      out->line = lx->lineno;
      more = trim_continuation (line, &len, lx->escape);
      sbx_strbuf_add (&text, line, len);
      /* Comment lines and empty lines inside a continuation are dropped,
         as BuildKit does (it warns about the empty ones).  */
      while (more && read_line (lx, &line, &len))
        {
          const char *l = line;
          size_t n = len;

          skip_blanks (&l, &n);
          if (n == 0 || is_comment (line, len))
            continue;
          more = trim_continuation (line, &len, lx->escape);
          sbx_strbuf_add (&text, line, len);
        }
      if (strlen (text.buf) != text.len)
        return sbx_err (err, EINVAL, "%s:%u: NUL character in the Dockerfile", lx->file, out->line);
      if (text.len == 0 || strspn (text.buf, " \t\v\f\r") == text.len)
        {
          sbx_strbuf_reset (&text); /* a lone escape character: nothing */
          continue;
        }
      break;
    }
  out->text = sbx_strbuf_detach (&text);
  if (read_heredocs (lx, out, err) < 0)
    {
      build_line_release (out);
      return -1;
    }
  return 1;
}

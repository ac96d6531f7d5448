/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Variable substitution with Docker's rules (BuildKit's shell/lex.go):
   the word processing that ADD, COPY, ENV, EXPOSE, FROM, LABEL,
   STOPSIGNAL, USER, VOLUME, WORKDIR and ARG get.  RUN, CMD and ENTRYPOINT
   in shell form are left to the shell.  */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Nested ${a:-${b:-…}} recurse; bound it so hostile input cannot exhaust
   the stack.  */
#define MAX_DEPTH 64

struct lex
{
  const char *s;
  size_t i, n;
  char escape;
  bool heredoc; /* quotes are text; only ESCAPE-$ and ESCAPE-ESCAPE escape */
  char *const *vars;
  int depth;
};

static int process_until (struct lex *lx, char stop, struct sbx_strbuf *out,
                          struct sbx_error **err);

static int
peek (const struct lex *lx)
{
  return lx->i < lx->n ? (unsigned char) lx->s[lx->i] : -1;
}

static int
next (struct lex *lx)
{
  return lx->i < lx->n ? (unsigned char) lx->s[lx->i++] : -1;
}

/* First match wins, as BuildKit's getEnv.  */
static const char *
lookup (const struct lex *lx, const char *name)
{
  return sbx_env_get (lx->vars, name);
}

static bool
is_name_char (int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A name after '$': letters, digits and '_'; or a run of digits; or one
   special parameter (@ * # ? - $ !), which is looked up like any name.  */
static void
read_name (struct lex *lx, struct sbx_strbuf *name)
{
  int c = peek (lx);

  if (c >= '0' && c <= '9')
    {
      while ((c = peek (lx)) >= '0' && c <= '9')
        sbx_strbuf_addch (name, (char) next (lx));
      return;
    }
  if (c > 0 && strchr ("@*#?-$!", c) != NULL)
    {
      sbx_strbuf_addch (name, (char) next (lx));
      return;
    }
  while (is_name_char (peek (lx)))
    sbx_strbuf_addch (name, (char) next (lx));
}

/* The WORD of ${NAME<op>WORD}, up to the closing brace.  */
static int
brace_word (struct lex *lx, struct sbx_strbuf *word, struct sbx_error **err)
{
  if (lx->depth >= MAX_DEPTH)
    return sbx_err (err, EINVAL, "syntax error: substitutions nested too deeply");
  lx->depth++;
  if (process_until (lx, '}', word, err) < 0)
    return -1;
  lx->depth--;
  return 0;
}

/* TEXT with control characters as \xNN: a message stays one line even when
   it quotes a here-document.  */
static char *
one_line (const char *text)
{
  struct sbx_strbuf sb = SBX_STRBUF_INIT;

  for (; *text; text++)
    if ((unsigned char) *text < 0x20 || *text == 0x7f)
      sbx_strbuf_addf (&sb, "\\x%02x", (unsigned char) *text);
    else
      sbx_strbuf_addch (&sb, *text);
  return sbx_strbuf_detach (&sb);
}

static int
apply_modifier (const char *name, const char *value, char op, bool colon, const char *word,
                struct sbx_strbuf *out, struct sbx_error **err)
{
  bool set = value != NULL, full = set && (! colon || *value != '\0');

  switch (op)
    {
    case '-':
      sbx_strbuf_addstr (out, full ? value : word);
      return 0;
    case '+':
      sbx_strbuf_addstr (out, full ? word : "");
      return 0;
    case '?':
      if (full)
        {
          sbx_strbuf_addstr (out, value);
          return 0;
        }
      {
        cleanup_free char *msg = one_line (*word ? word
                                           : set ? "is not allowed to be empty"
                                                 : "is not allowed to be unset");

        return sbx_err (err, EINVAL, "%s: %s", name, msg);
      }
    }
  return sbx_err (err, EINVAL, "unsupported modifier (%c) in substitution", op);
}

/* After "${".  */
static int
process_brace (struct lex *lx, struct sbx_strbuf *out, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf name = SBX_STRBUF_INIT;
  cleanup_strbuf struct sbx_strbuf word = SBX_STRBUF_INIT;
  bool colon = false;
  int c = peek (lx), op;

  if (c < 0)
    return sbx_err (err, EINVAL, "syntax error: missing '}'");
  if (c == '{' || c == '}' || c == ':')
    return sbx_err (err, EINVAL, "syntax error: bad substitution");
  read_name (lx, &name);
  c = next (lx);
  if (c == '}')
    {
      const char *v = lookup (lx, name.buf);

      sbx_strbuf_addstr (out, v ? v : "");
      return 0;
    }
  if (c == ':')
    {
      colon = true;
      c = next (lx);
    }
  if (c < 0)
    return sbx_err (err, EINVAL, "syntax error: missing '}'");
  if (c != '-' && c != '+' && c != '?')
    {
      char ch[2] = { (char) c, '\0' };
      cleanup_free char *shown = one_line (ch);

      return sbx_err (err, EINVAL,
                      colon ? "unsupported modifier (%s) in substitution"
                            : "missing ':' in substitution (%s)",
                      shown);
    }
  op = c;
  if (brace_word (lx, &word, err) < 0)
    return -1;
  return apply_modifier (name.buf, lookup (lx, name.buf), (char) op, colon, word.buf, out, err);
}

static int
process_dollar (struct lex *lx, struct sbx_strbuf *out, struct sbx_error **err)
{
  cleanup_strbuf struct sbx_strbuf name = SBX_STRBUF_INIT;
  const char *v;

  next (lx); /* '$' */
  if (peek (lx) == '{')
    {
      next (lx);
      return process_brace (lx, out, err);
    }
  read_name (lx, &name);
  if (name.len == 0)
    {
      sbx_strbuf_addch (out, '$'); /* a lone '$' is itself */
      return 0;
    }
  v = lookup (lx, name.buf);
  sbx_strbuf_addstr (out, v ? v : "");
  return 0;
}

static int
process_single_quote (struct lex *lx, struct sbx_strbuf *out, struct sbx_error **err)
{
  int c;

  next (lx);
  while ((c = next (lx)) != '\'')
    {
      if (c < 0)
        return sbx_err (err, EINVAL,
                        "unexpected end of statement while looking for matching single-quote");
      sbx_strbuf_addch (out, (char) c);
    }
  return 0;
}

/* Inside "…" only ESCAPE-", ESCAPE-$ and ESCAPE-ESCAPE are escapes; any
   other escape character stays.  */
static int
process_double_quote (struct lex *lx, struct sbx_strbuf *out, struct sbx_error **err)
{
  int c;

  next (lx);
  for (;;)
    {
      c = peek (lx);
      if (c < 0)
        return sbx_err (err, EINVAL,
                        "unexpected end of statement while looking for matching double-quote");
      if (c == '"')
        {
          next (lx);
          return 0;
        }
      if (c == '$')
        {
          if (process_dollar (lx, out, err) < 0)
            return -1;
          continue;
        }
      c = next (lx);
      if (c == lx->escape)
        {
          int d = peek (lx);

          if (d < 0)
            continue;
          if (d == '"' || d == '$' || d == lx->escape)
            c = next (lx);
        }
      sbx_strbuf_addch (out, (char) c);
    }
}

static int
process_escape (struct lex *lx, struct sbx_strbuf *out)
{
  int c;

  next (lx);
  c = peek (lx);
  if (c < 0)
    return 0; /* a trailing escape character disappears */
  if (lx->heredoc && c != '$' && c != lx->escape)
    sbx_strbuf_addch (out, lx->escape);
  sbx_strbuf_addch (out, (char) next (lx));
  return 0;
}

/* Process up to STOP (consumed; -1: the end of the text).  */
static int
process_until (struct lex *lx, char stop, struct sbx_strbuf *out, struct sbx_error **err)
{
  int c;

  while ((c = peek (lx)) >= 0)
    {
      int r = 0;

      if (stop && c == stop)
        {
          next (lx);
          return 0;
        }
      if (c == '\'' && ! lx->heredoc)
        r = process_single_quote (lx, out, err);
      else if (c == '"' && ! lx->heredoc)
        r = process_double_quote (lx, out, err);
      else if (c == '$')
        r = process_dollar (lx, out, err);
      else if (c == lx->escape)
        r = process_escape (lx, out);
      else
        sbx_strbuf_addch (out, (char) next (lx));
      if (r < 0)
        return -1;
    }
  if (stop)
    return sbx_err (err, EINVAL, "syntax error: missing '%c'", stop);
  return 0;
}

static int
expand (const char *text, char escape, bool heredoc, char *const *vars, char **out,
        struct sbx_error **err)
{
  struct lex lx
      = { .s = text, .n = strlen (text), .escape = escape, .heredoc = heredoc, .vars = vars };
  cleanup_strbuf struct sbx_strbuf res = SBX_STRBUF_INIT;

  if (process_until (&lx, 0, &res, err) < 0)
    return -1;
  *out = sbx_strbuf_detach (&res);
  return 0;
}

int
sbx_build_expand_word (const char *word, char escape, char *const *vars, char **out,
                       struct sbx_error **err)
{
  return expand (word, escape, false, vars, out, err);
}

int
sbx_build_expand_heredoc (const char *text, char escape, char *const *vars, char **out,
                          struct sbx_error **err)
{
  return expand (text, escape, true, vars, out, err);
}

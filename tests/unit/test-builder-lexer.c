/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dockerfile lexing: directives, comments, continuations, heredocs.  */
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "harness.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

static struct sbx_build_ast *
parse_ok (const char *text)
{
  struct sbx_build_ast *ast = NULL;
  struct sbx_error *err = NULL;

  if (sbx_build_parse ("Dockerfile", text, strlen (text), &ast, &err) < 0)
    {
      printf ("# unexpected error: %s\n", err->msg);
      sbx_error_free (err);
      return NULL;
    }
  return ast;
}

/* The error message for TEXT (free() it), or NULL when it parsed.  */
static char *
parse_err (const char *text)
{
  struct sbx_build_ast *ast = NULL;
  struct sbx_error *err = NULL;
  char *msg;

  if (sbx_build_parse ("Dockerfile", text, strlen (text), &ast, &err) == 0)
    {
      sbx_build_ast_free (ast);
      return NULL;
    }
  msg = strdup (err->msg);
  sbx_error_free (err);
  return msg;
}

TEST (lexer_comments_and_blank_lines_are_skipped)
{
  struct sbx_build_ast *ast = parse_ok ("# a comment\n\n   # indented comment\nFROM a\n\n"
                                        "RUN x\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->n_nodes, 2);
  EXPECT_EQ (ast->nodes[0].line, 4);
  EXPECT_EQ (ast->nodes[1].line, 6);
  EXPECT_STREQ (ast->nodes[1].args[0], "x");
  sbx_build_ast_free (ast);
}

TEST (lexer_continuation_joins_lines_and_keeps_the_first_line_number)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nRUN echo a \\\n  b \\  \n# comment inside\n\n"
                                        "  c\nCMD x\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->n_nodes, 3);
  EXPECT_EQ (ast->nodes[1].line, 2);
  EXPECT_STREQ (ast->nodes[1].args[0], "echo a   b   c");
  EXPECT_EQ (ast->nodes[2].line, 7);
  sbx_build_ast_free (ast);
}

TEST (lexer_continuation_at_end_of_file_ends_the_instruction)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nRUN echo \\");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->n_nodes, 2);
  EXPECT_STREQ (ast->nodes[1].args[0], "echo");
  sbx_build_ast_free (ast);
}

TEST (lexer_crlf_line_endings)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\r\nRUN a \\\r\n b\r\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_STREQ (ast->nodes[1].args[0], "a  b");
  sbx_build_ast_free (ast);
}

TEST (lexer_byte_order_mark_is_skipped)
{
  struct sbx_build_ast *ast = parse_ok ("\xef\xbb\xbf"
                                        "FROM a\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (ast->nodes[0].kw, SBX_BUILD_FROM);
  sbx_build_ast_free (ast);
}

TEST (lexer_escape_directive_backtick)
{
  struct sbx_build_ast *ast = parse_ok ("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (ast->escape, '`');
  EXPECT_STREQ (ast->nodes[1].args[0], "dir c:\\   && echo");
  sbx_build_ast_free (ast);
}

TEST (lexer_syntax_directive_is_a_note)
{
  struct sbx_build_ast *ast = parse_ok ("# syntax=docker/dockerfile:1\n#escape=\\\nFROM a\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_STREQ (ast->syntax, "docker/dockerfile:1");
  ASSERT_EQ (sbx_strv_len (ast->notes), 1);
  EXPECT_STRSTR (ast->notes[0], "Dockerfile:1: # syntax=docker/dockerfile:1: ignored");
  sbx_build_ast_free (ast);
}

TEST (lexer_directives_only_at_the_top)
{
  /* after a comment, a blank line or an instruction it is a comment */
  struct sbx_build_ast *a = parse_ok ("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n");
  struct sbx_build_ast *b = parse_ok ("\n# escape=`\nFROM a\n");
  struct sbx_build_ast *c = parse_ok ("FROM a\n# escape=`\n");

  ASSERT_NOT_NULL (a);
  ASSERT_NOT_NULL (b);
  ASSERT_NOT_NULL (c);
  EXPECT_EQ (a->escape, '\\');
  EXPECT_STREQ (a->nodes[1].args[0], "x  y");
  EXPECT_EQ (b->escape, '\\');
  EXPECT_EQ (c->escape, '\\');
  sbx_build_ast_free (a);
  sbx_build_ast_free (b);
  sbx_build_ast_free (c);
}

TEST (lexer_directive_case_and_spaces)
{
  struct sbx_build_ast *ast = parse_ok ("#  ESCAPE = `  \nFROM a\n");

  ASSERT_NOT_NULL (ast);
  EXPECT_EQ (ast->escape, '`');
  sbx_build_ast_free (ast);
}

TEST (lexer_directive_errors)
{
  cleanup_free char *dup = parse_err ("# escape=`\n# escape=\\\nFROM a\n");
  cleanup_free char *bad = parse_err ("# escape=x\nFROM a\n");
  cleanup_free char *dupsyn = parse_err ("# syntax=a\n# syntax=b\nFROM a\n");

  EXPECT_STREQ (dup, "Dockerfile:2: only one escape parser directive can be used");
  EXPECT_STREQ (bad, "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
  EXPECT_STREQ (dupsyn, "Dockerfile:2: only one syntax parser directive can be used");
}

TEST (lexer_heredoc_run)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nRUN <<EOF\necho hi\n  echo there\nEOF\n"
                                        "CMD x\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->n_nodes, 3);
  ASSERT_EQ (ast->nodes[1].n_heredocs, 1);
  EXPECT_STREQ (ast->nodes[1].heredocs[0].name, "EOF");
  EXPECT_STREQ (ast->nodes[1].heredocs[0].content, "echo hi\n  echo there\n");
  EXPECT_TRUE (ast->nodes[1].heredocs[0].expand);
  EXPECT_FALSE (ast->nodes[1].heredocs[0].chomp);
  EXPECT_STREQ (ast->nodes[1].args[0], "<<EOF");
  EXPECT_EQ (ast->nodes[2].line, 6);
  sbx_build_ast_free (ast);
}

TEST (lexer_heredoc_chomp_quoted_and_several)
{
  struct sbx_build_ast *ast
      = parse_ok ("FROM a\nCOPY <<-\"A\" <<'B' 3<<C /dst/\n\tone\n\t\ttwo\n\tA\n$x\nB\nc\nC\n");
  const struct sbx_build_node *n;

  ASSERT_NOT_NULL (ast);
  n = &ast->nodes[1];
  ASSERT_EQ (n->n_heredocs, 3);
  EXPECT_STREQ (n->heredocs[0].name, "A");
  EXPECT_TRUE (n->heredocs[0].chomp);
  EXPECT_FALSE (n->heredocs[0].expand);
  EXPECT_STREQ (n->heredocs[0].content, "one\ntwo\n");
  EXPECT_STREQ (n->heredocs[1].name, "B");
  EXPECT_FALSE (n->heredocs[1].expand);
  EXPECT_STREQ (n->heredocs[1].content, "$x\n");
  EXPECT_STREQ (n->heredocs[2].name, "C");
  EXPECT_STREQ (n->heredocs[2].content, "c\n");
  sbx_build_ast_free (ast);
}

TEST (lexer_heredoc_only_for_run_copy_add_shell_form)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nCMD cat <<EOF\nRUN [\"cat\", \"<<EOF\"]\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->n_nodes, 3);
  EXPECT_EQ (ast->nodes[1].n_heredocs, 0);
  EXPECT_EQ (ast->nodes[2].n_heredocs, 0);
  EXPECT_TRUE (ast->nodes[2].json);
  sbx_build_ast_free (ast);
}

TEST (lexer_heredoc_after_flags_and_empty_body)
{
  struct sbx_build_ast *ast = parse_ok ("FROM a\nRUN --network=none cat <<X\nX\n");

  ASSERT_NOT_NULL (ast);
  ASSERT_EQ (ast->nodes[1].n_heredocs, 1);
  EXPECT_STREQ (ast->nodes[1].heredocs[0].content, "");
  sbx_build_ast_free (ast);
}

TEST (lexer_unterminated_heredoc)
{
  cleanup_free char *msg = parse_err ("FROM a\nrun <<EOF\necho\n");

  EXPECT_STREQ (msg, "Dockerfile:2: RUN: unterminated heredoc <<EOF");
}

TEST (lexer_nul_is_refused)
{
  static const char text[] = "FROM a\nRUN a\0b\n";
  struct sbx_build_ast *ast = NULL;
  cleanup_error struct sbx_error *err = NULL;

  ASSERT_EQ (sbx_build_parse ("Dockerfile", text, sizeof text - 1, &ast, &err), -1);
  EXPECT_STREQ (err->msg, "Dockerfile:2: NUL character in the Dockerfile");
}

TEST (lexer_split_words_keeps_quotes)
{
  cleanup_strv char **w = build_split_words (" a=\"b c\"  'd e'\\ f g\\\"h \"i\\\"j\" ", '\\');

  ASSERT_EQ (sbx_strv_len (w), 4);
  EXPECT_STREQ (w[0], "a=\"b c\"");
  EXPECT_STREQ (w[1], "'d e'\\ f");
  EXPECT_STREQ (w[2], "g\\\"h");
  EXPECT_STREQ (w[3], "\"i\\\"j\"");
}

TEST (lexer_split_words_empty_quotes_make_a_word)
{
  cleanup_strv char **w = build_split_words ("a= \"\" b", '\\');

  ASSERT_EQ (sbx_strv_len (w), 3);
  EXPECT_STREQ (w[1], "\"\"");
}

TEST (lexer_heredoc_word_forms)
{
  char *name = NULL;
  bool chomp, expand;

  ASSERT_TRUE (build_parse_heredoc_word ("<<EOF", '\\', &name, &chomp, &expand));
  EXPECT_STREQ (name, "EOF");
  EXPECT_FALSE (chomp);
  EXPECT_TRUE (expand);
  free (name);
  ASSERT_TRUE (build_parse_heredoc_word ("<<-'E F'", '\\', &name, &chomp, &expand) == false);
  ASSERT_TRUE (build_parse_heredoc_word ("2<<\\EOF", '\\', &name, &chomp, &expand));
  EXPECT_STREQ (name, "EOF");
  EXPECT_FALSE (expand);
  free (name);
  EXPECT_FALSE (build_parse_heredoc_word ("<<", '\\', &name, &chomp, &expand));
  EXPECT_FALSE (build_parse_heredoc_word ("a<<EOF", '\\', &name, &chomp, &expand));
  EXPECT_FALSE (build_parse_heredoc_word ("<<<EOF", '\\', &name, &chomp, &expand));
  EXPECT_FALSE (build_parse_heredoc_word ("<<\"\"", '\\', &name, &chomp, &expand));
}

TEST_MAIN

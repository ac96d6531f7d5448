/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the files of src/builder/ and its unit tests only.  */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "builder/builder.h"

struct sbx_error;

/* ---- lexer.c ---- */

/* One logical line: an instruction with its continuations joined (the
   escape character and the newline removed, comment lines inside dropped)
   and, for RUN/COPY/ADD, the here-documents that follow it.  */
struct build_line
{
  unsigned line; /* where the instruction starts */
  char *text;
  struct sbx_build_heredoc *heredocs;
  size_t n_heredocs;
};

struct build_lexer
{
  const char *file;
  const char *p, *end; /* what is left to read */
  unsigned lineno;     /* lines consumed so far */
  char escape;
  bool in_directives; /* parser directives are still allowed */
  bool seen_escape;
  char *syntax;
  char **notes;
};

void build_lexer_init (struct build_lexer *lx, const char *file, const char *text, size_t len);
void build_lexer_release (struct build_lexer *lx);
/* Read the parser directives at the top (# escape=, # syntax=).  */
int build_lex_directives (struct build_lexer *lx, struct sbx_error **err);
/* The next logical line: 1 and *OUT, 0 at the end, -1 on error.  */
int build_lex_next (struct build_lexer *lx, struct build_line *out, struct sbx_error **err);
void build_line_release (struct build_line *l);
void build_heredocs_free (struct sbx_build_heredoc *h, size_t n);

/* Split TEXT into words at unquoted blanks, keeping quotes and escapes in
   the words (BuildKit's parseWords); an unterminated quote ends the last
   word.  */
char **build_split_words (const char *text, char escape);
/* Whether WORD is a here-document marker ([N]<<[-]NAME, NAME possibly
   quoted): fills NAME (free() it), CHOMP and EXPAND.  */
bool build_parse_heredoc_word (const char *word, char escape, char **name, bool *chomp,
                               bool *expand);

/* ---- parser.c ---- */

int build_kw_lookup (const char *word, size_t len, enum sbx_build_kw *out);
/* Parse one logical line into *NODE (zeroed by the caller; it takes the
   line's heredocs).  INNER is set for the instruction of an ONBUILD.  What
   is ignored is added to *NOTES.  */
int build_parse_line (const char *file, char escape, struct build_line *l, bool inner,
                      struct sbx_build_node *node, char ***notes, struct sbx_error **err);
void build_node_release (struct sbx_build_node *n);
/* "FILE:LINE: KW: message" for node N (EINVAL), the one shape of every
   Dockerfile error, from the parser and the planner alike.  */
int build_node_verr (const char *file, const struct sbx_build_node *n, struct sbx_error **err,
                     const char *fmt, va_list ap) __attribute__ ((format (printf, 4, 0)));
/* A Go duration ("1m30s", "500ms", "0") in nanoseconds.  */
int build_parse_duration (const char *s, int64_t *out);
/* Flag NAME of N (the first, for repeated flags), or NULL.  */
const struct sbx_build_flag *build_node_flag (const struct sbx_build_node *n, const char *name);

/* ---- dockerignore.c ---- */

/* Go's filepath.Clean on a '/'-separated path (free() it).  */
char *build_path_clean (const char *path);
/* Go filepath.Match plus `**` (any number of directories) on '/'-separated
   PATH.  -1 for a malformed PATTERN.  */
int build_glob_match (const char *pattern, const char *path);

/* ---- plan.c, plan-step.c, plan-common.c ---- */

/* What a stage has accumulated so far.  */
struct stage_state
{
  char **env;   /* ENV, "K=V" (the base's first) */
  char **args;  /* ARG values in scope, "K=V" */
  char **shell; /* SHELL */
  char *workdir;
  char *user;
};

struct planner
{
  const struct sbx_build_ast *ast;
  const struct sbx_build_plan_opts *opts;
  struct sbx_build_plan *plan;
  char **build_args;    /* --build-arg values, "K=V" */
  char **given;         /* every --build-arg name */
  char **auto_args;     /* TARGETPLATFORM & co */
  char **meta;          /* resolved meta ARGs, "K=V" */
  char **meta_declared; /* names declared before the first FROM */
  char ***declared;     /* per stage: the ARG names it declares */
  size_t *stage_first;  /* per stage: index of its FROM node */
  size_t *stage_end;    /* per stage: one past its last node */
};

/* plan-common.c: shared by plan.c and plan-step.c.  */
bool plan_is_proxy_arg (const char *name);
/* FIRST, then SECOND's entries for names FIRST lacks (free with sbx_strv_free).  */
char **plan_vars (char *const *first, char *const *second);
/* Expand WORD for node N; errors get N's "FILE:LINE: KW" prefix.  */
int plan_expand (const struct planner *pl, const struct sbx_build_node *n, char *const *vars,
                 const char *word, char **out, struct sbx_error **err);
int plan_node_err (const struct planner *pl, const struct sbx_build_node *n, struct sbx_error **err,
                   const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
/* Record that stage STAGE (SIZE_MAX: the meta scope) declares ARG NAME.  */
void plan_mark_consumed (struct planner *pl, size_t stage, const char *name);
void plan_add_dep (struct sbx_build_stage *s, int dep);
/* plan-step.c: plan STEP (node, kw set) of stage STAGE, updating ST.  */
int plan_step (struct planner *pl, size_t stage, struct stage_state *st,
               struct sbx_build_step *step, struct sbx_error **err);

/* ---- cache.c ---- */

struct sbx_store;
struct sbx_digest;

/* The cache key of a step with instruction TEXT on PARENT (and the digest
   of its INPUTS, NULL for none).  */
void build_cache_key (const struct sbx_digest *parent, const char *text,
                      const struct sbx_digest *inputs, struct sbx_digest *key);
/* Whether KEY has an entry whose image is complete in S (*OUT gets it).  */
bool build_cache_lookup (struct sbx_store *s, const struct sbx_digest *key, struct sbx_digest *out);
int build_cache_store (struct sbx_store *s, const struct sbx_digest *key,
                       const struct sbx_digest *result, struct sbx_error **err);
/* Whether the manifest, config and every layer blob of MANIFEST are stored.  */
bool build_image_is_complete (struct sbx_store *s, const struct sbx_digest *manifest);

/* ---- exec-copy.c ---- */

struct sbx_sha256;

/* What a COPY/ADD step S brings from CONTEXT (its sources expanded with
   glob(3), .dockerignore IG applied; IG NULL for a --from source, where
   CONTEXT is the source image's root).  With HASH, the content is hashed
   into it (for the cache key); with STAGEFD >= 0 the files are copied into
   the directory STAGEFD at the step's destination, owned by UID:GID (-1:
   kept) and with the step's --chmod.  URL sources (ADD) are read from
   DOWNLOADS/<i> for source i, fetched before.  With EXTRACT (ADD), a local
   source that is a tar archive (plain, gzip, bzip2, xz or zstd) is unpacked
   into the destination instead, with its owners when APPLY_OWNERS.  Errors
   have no location.  */
struct build_copy_req
{
  const char *context;
  const struct sbx_build_ignore *ig;
  const struct sbx_build_step *s;
  struct sbx_sha256 *hash;
  int stagefd;
  const char *downloads;
  long uid, gid;
  bool extract;
  bool apply_owners;
};
int build_copy_walk (const struct build_copy_req *r, struct sbx_error **err);

/* A numeric --chown SPEC ("UID", "UID:GID"): 0 and *UID, *GID set (GID =
   UID when not given, as Docker); -1 when it names a user or group.  */
int build_parse_chown_ids (const char *spec, long *uid, long *gid);
/* Whether an ADD source is a URL (http:// or https://).  */
bool build_is_url (const char *src);
/* The file name an ADD of URL gives when the destination is a directory:
   the last component of its path ("index.html" for none; free() it).  */
char *build_url_basename (const char *url);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* sbx build: Dockerfiles (DESIGN.md §7).  This header holds the front end:

     text ──sbx_build_parse──► AST ──sbx_build_plan──► plan (stages of steps)

   and .dockerignore matching.  Nothing here touches the file system, the
   store or the runtime: the executor (a later part of this module) walks
   the plan, runs RUN steps through the runtime and COPY/ADD through the
   layer writer.  Every error message is one line that starts with
   "FILE:LINE: " and the instruction when there is one ("Dockerfile:7:
   COPY: --from needs a value", "Dockerfile:3: unknown instruction: FETCH");
   only errors about no line (an unknown --target, a base image the
   callback could not give) start with "FILE: ".  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "util/digest.h"

struct sbx_error;
struct sbx_store;

/* ---- the AST (lexer.c, parser.c) ---- */

enum sbx_build_kw
{
  SBX_BUILD_FROM,
  SBX_BUILD_RUN,
  SBX_BUILD_CMD,
  SBX_BUILD_ENTRYPOINT,
  SBX_BUILD_SHELL,
  SBX_BUILD_ENV,
  SBX_BUILD_ARG,
  SBX_BUILD_LABEL,
  SBX_BUILD_MAINTAINER,
  SBX_BUILD_EXPOSE,
  SBX_BUILD_VOLUME,
  SBX_BUILD_USER,
  SBX_BUILD_WORKDIR,
  SBX_BUILD_STOPSIGNAL,
  SBX_BUILD_HEALTHCHECK,
  SBX_BUILD_ONBUILD,
  SBX_BUILD_COPY,
  SBX_BUILD_ADD,
};

/* "FROM", "RUN", … (upper case).  */
const char *sbx_build_kw_name (enum sbx_build_kw kw);

/* A leading `--name=value` (VALUE with quotes removed, not expanded) or a
   bare `--name` (VALUE NULL).  Only the flags each instruction knows are kept;
   others are errors.  */
struct sbx_build_flag
{
  char *name;
  char *value;
};

/* A here-document (`<<EOF`, `<<-EOF`, `<<"EOF"`) of RUN, COPY or ADD.  */
struct sbx_build_heredoc
{
  char *name;    /* the delimiter, unquoted ("EOF") */
  char *content; /* the lines between, each ending with '\n'; for <<- with leading tabs removed */
  bool expand;   /* false when the delimiter was quoted: no variable expansion (COPY/ADD) */
  bool chomp;    /* <<- */
};

/* KEY=VALUE of ENV, LABEL and ARG, as written (quotes and $VARs kept: the
   planner expands them).  VALUE is NULL for an ARG without a default.  */
struct sbx_build_kv
{
  char *key;
  char *value;
};

/* One instruction.  The meaning of the fields by keyword:

   FROM         args = { image }; stage_name = the `AS` name (lower case) or NULL;
                flag --platform (ignored, with a note)
   RUN          exec form: json, args = the array; shell form: args = { text };
                heredocs; flags --network=default|none|host, --mount=type=cache (noted)
   CMD, ENTRYPOINT  like RUN, without heredocs or flags
   SHELL        json (always), args = the array (not empty)
   HEALTHCHECK  none, or args/json as CMD; flags --interval --timeout
                --start-period --start-interval --retries, parsed into health
   ENV, LABEL   kvs (the legacy `ENV K V` form gives one pair)
   ARG          kvs (value NULL: no default)
   MAINTAINER   args = { text }
   EXPOSE       args = words
   VOLUME       json or words in args
   USER, WORKDIR, STOPSIGNAL  args = { text }
   ONBUILD      args = { the inner instruction's text }, checked but not expanded
   COPY, ADD    json or words in args, the last one the destination; heredocs
                (a source `<<EOF` names one); flags --from (COPY) --chown
                --chmod --link --exclude, --checksum (ADD)  */
struct sbx_build_node
{
  enum sbx_build_kw kw;
  unsigned line;  /* first line of the instruction, 1-based */
  char *original; /* the logical line as written, continuations joined */
  struct sbx_build_flag *flags;
  size_t n_flags;
  bool json; /* exec (JSON array) form */
  char **args;
  struct sbx_build_kv *kvs;
  size_t n_kvs;
  struct sbx_build_heredoc *heredocs;
  size_t n_heredocs;
  char *stage_name; /* FROM … AS NAME */
  bool none;        /* HEALTHCHECK NONE */
  struct
  {
    int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* 0: not set */
    int retries;                                                         /* 0: not set */
  } health;
};

struct sbx_build_ast
{
  char *file;   /* the name used in messages ("Dockerfile") */
  char escape;  /* '\\', or '`' from `# escape=` */
  char *syntax; /* `# syntax=` value (not used), or NULL */
  struct sbx_build_node *nodes;
  size_t n_nodes;
  char **notes; /* what was ignored, one line each ("Dockerfile:1: # syntax=…: ignored") */
};

/* Parse the LEN bytes of TEXT (no NUL needed), a Dockerfile called FILE in
   messages.  Unknown instructions, malformed flags and arguments, and a file
   without FROM are errors.  */
int sbx_build_parse (const char *file, const char *text, size_t len, struct sbx_build_ast **out,
                     struct sbx_error **err);
void sbx_build_ast_free (struct sbx_build_ast *ast);

/* ---- variable substitution (expand.c) ---- */

/* Docker's word processing for one word: quotes removed ('…' literal, "…"
   with expansion), the escape character ESCAPE escapes the next character,
   and $VAR, ${VAR}, ${VAR:-w}, ${VAR-w}, ${VAR:+w}, ${VAR+w}, ${VAR:?w},
   ${VAR?w} are replaced from VARS ("K=V" list, first match wins; an unset
   variable expands to "").  *OUT gets the result (free() it).  Errors:
   unterminated quotes or ${, unsupported modifiers, ${VAR?w} of an unset
   VAR.  The message has no location: callers prefix it.  */
int sbx_build_expand_word (const char *word, char escape, char *const *vars, char **out,
                           struct sbx_error **err);

/* For here-documents: expansion only, quotes are kept as text and only
   ESCAPE-$ and ESCAPE-ESCAPE are escapes.  */
int sbx_build_expand_heredoc (const char *text, char escape, char *const *vars, char **out,
                              struct sbx_error **err);

/* ---- the plan (plan.c) ---- */

/* What a base image brings to the stages built on it (from its config).  */
struct sbx_build_base
{
  char **env;    /* "K=V" */
  char *workdir; /* NULL: "/" */
  char **shell;  /* NULL: { "/bin/sh", "-c" } */
  char *user;    /* NULL: root */
};
void sbx_build_base_release (struct sbx_build_base *b);

/* Called by the planner for each needed stage built FROM an image (never
   for scratch or another stage) so that ENV, WORKDIR and SHELL of the
   image take part in expansion; fill *OUT (zeroed) or fail.  */
typedef int (*sbx_build_base_fn) (void *arg, const char *image, struct sbx_build_base *out,
                                  struct sbx_error **err);

struct sbx_build_plan_opts
{
  /* --build-arg "K=V", NULL-terminated or NULL.  A bare "K" counts as given
     (no unused warning if some ARG declares it) but sets nothing: the CLI
     resolves Docker's "take K from my environment" before this.  */
  char *const *build_args;
  const char *target;     /* --target: a stage name, or NULL for the last stage */
  const char *platform;   /* "os/arch[/variant]" for TARGETPLATFORM & co; NULL: this host */
  sbx_build_base_fn base; /* NULL: images bring nothing */
  void *base_arg;
};

/* COPY/ADD source: a path or glob of the context (or of the --from stage
   or image), or the contents of a here-document.  */
struct sbx_build_source
{
  char *path;    /* as written after expansion; NULL for a here-document */
  char *name;    /* here-document: its delimiter, used as the file name */
  char *content; /* here-document: its contents (expanded unless quoted) */
};

/* One instruction after expansion, ready for the executor.  NODE is where
   it came from (FILE:LINE, flags as written).  KW is NODE's keyword except
   for MAINTAINER, planned as a LABEL `maintainer`.

   RUN          argv (shell form: the stage's SHELL + the text; a lone
                heredoc becomes the text; full heredocs are kept for the
                shell), or script (a lone heredoc that starts with "#!": the
                executor writes it to a file and runs it), run_args,
                network ("default", "none", "host"; borrowed from NODE)
   CMD, ENTRYPOINT  argv (shell form wrapped in the SHELL, as Docker)
   SHELL        argv = the new shell
   ENV, LABEL   kvs (expanded)
   ARG          kvs (resolved value; NULL when unset)
   EXPOSE       words = "PORT/PROTO", ranges expanded
   VOLUME       words
   USER         value
   WORKDIR      value = absolute, cleaned path
   STOPSIGNAL   value (a valid signal)
   HEALTHCHECK  argv = Docker's Test ("NONE" | "CMD" args… | "CMD-SHELL" text)
                and NODE->health
   ONBUILD      value = the trigger text (not expanded)
   COPY, ADD    sources, dest (absolute; a trailing '/' kept), chown, chmod
                (octal, or -1), from_stage (index, or -1) / from_image, link,
                checksum, excludes

   CACHE_TEXT is the instruction after expansion in one line (for the cache
   key and for progress output).  RUN_ARGS are the ARG values in scope that
   no ENV overrides, "K=V": the RUN command sees them in its environment but
   they are not part of the image.  */
struct sbx_build_step
{
  const struct sbx_build_node *node;
  enum sbx_build_kw kw;
  char *cache_text;
  char **argv;
  char *script;
  char **run_args;
  const char *network;
  struct sbx_build_kv *kvs;
  size_t n_kvs;
  char **words;
  char *value;
  struct sbx_build_source *sources;
  size_t n_sources;
  char *dest;
  char *chown;
  int chmod;
  int from_stage;
  char *from_image;
  bool link;
  char *checksum;
  char **excludes;
};

struct sbx_build_stage
{
  size_t index;
  char *name;     /* lower case, or NULL */
  char *base;     /* expanded FROM image ("scratch" for none) */
  int base_stage; /* index of the stage it is built on, or -1 */
  bool needed;    /* the target is, or needs, this stage */
  char **env;     /* ENV at the end of the stage (after the base's) */
  char *workdir;  /* at the end of the stage */
  char **shell;   /* at the end of the stage */
  char *user;     /* at the end of the stage, or NULL */
  int *deps;      /* stages it needs directly (FROM, COPY --from), -1-terminated */
  struct sbx_build_step *steps;
  size_t n_steps;
};

struct sbx_build_plan
{
  const struct sbx_build_ast *ast; /* borrowed: must outlive the plan */
  struct sbx_build_stage *stages;
  size_t n_stages;
  size_t target;    /* index of the stage to build */
  int *order;       /* the needed stages in build order, -1-terminated */
  char **meta_args; /* ARGs before the first FROM, resolved, "K=V" */
  char **warnings;  /* e.g. "build-arg FOO was not consumed by any ARG" */
  char **notes;     /* the AST's notes and the planner's */
};

/* Plan AST with OPTS: stages, ARG scoping (ARGs before the first FROM are
   seen by FROM lines, and in a stage only once declared again there),
   --build-arg overrides, expansion of the instructions Docker expands,
   and the stages the target needs.  */
int sbx_build_plan (const struct sbx_build_ast *ast, const struct sbx_build_plan_opts *opts,
                    struct sbx_build_plan **out, struct sbx_error **err);
void sbx_build_plan_free (struct sbx_build_plan *plan);

/* ---- .dockerignore (dockerignore.c) ---- */

struct sbx_build_ignore;

/* Parse the contents of a .dockerignore: one pattern a line, `#` comments,
   blank lines ignored, `!` re-includes, Go filepath.Match syntax plus `**`.
   Patterns are cleaned as Docker does (filepath.Clean, leading `/` and
   `./` removed).  A malformed pattern is an error naming FILE:LINE.  */
int sbx_build_ignore_parse (const char *file, const char *text, size_t len,
                            struct sbx_build_ignore **out, struct sbx_error **err);
void sbx_build_ignore_free (struct sbx_build_ignore *ig);

/* Whether the context-relative PATH ("a/b/c", no leading '/') is excluded:
   the last pattern that matches PATH or one of its parent directories
   decides.  IG NULL excludes nothing.  */
bool sbx_build_ignore_is_excluded (const struct sbx_build_ignore *ig, const char *path);

/* Whether the directory DIR, excluded itself, may still hold paths that a
   `!` pattern re-includes (so a walker must descend into it).  */
bool sbx_build_ignore_may_reinclude (const struct sbx_build_ignore *ig, const char *dir);

/* ---- the executor (exec.c, exec-copy.c) ---- */

/* Give the manifest digest of IMAGE (a FROM or COPY --from reference) in
   the store, pulling it first when missing (or always, with --pull): the
   CLI's job, since the build module may not speak to registries.  */
typedef int (*sbx_build_image_fn) (void *arg, const char *image, struct sbx_digest *manifest,
                                   struct sbx_error **err);
/* Unpack the layers of the stored image MANIFEST that are not unpacked yet.  */
typedef int (*sbx_build_unpack_fn) (void *arg, const struct sbx_digest *manifest,
                                    struct sbx_error **err);

/* ADD of a URL: download URL into FD (an empty file, left at its end) and
   set *MTIME to its Last-Modified time, or -1.  The CLI's job, since only
   registry/ speaks HTTP.  */
typedef int (*sbx_build_fetch_fn) (void *arg, const char *url, int fd, int64_t *mtime,
                                   struct sbx_error **err);

struct sbx_build_exec_opts
{
  struct sbx_store *store;
  const struct sbx_userns_plan *plan;
  enum sbx_storage_driver driver;
  enum sbx_network_mode network;     /* RUN's default network (slirp, or none without tun) */
  const struct sbx_net_options *net; /* slirp's options */
  const char *context;               /* the build context directory */
  const struct sbx_build_ignore *ignore;
  bool no_cache;
  sbx_build_image_fn image;
  sbx_build_unpack_fn unpack;
  sbx_build_fetch_fn fetch; /* NULL: ADD of a URL fails */
  void *cb_arg;
  /* Set to the status of a RUN command that failed (podman's `podman build`
     exits with it), else left alone.  May be NULL.  */
  int *run_status;
};

/* Build PLAN's needed stages in order; *MANIFEST gets the target stage's
   image.  Progress ("STEP i/N: …", "--> CACHED", "--> <id>") goes to
   stderr, RUN output to the inherited stdout/stderr.  Each step's result
   is cached under ROOT/build-cache/ by its parent image, its instruction
   and, for COPY/ADD, the content of its inputs.  Errors start with
   "FILE:LINE: INSTRUCTION: ".

   With SOURCE_DATE_EPOCH set, layer mtimes are clamped to it and history
   and config dates are it, so that the same inputs give the same image.  */
int sbx_build_exec (const struct sbx_build_plan *plan, const struct sbx_build_exec_opts *o,
                    struct sbx_digest *manifest, struct sbx_error **err);

/* Remove the build cache entries (ROOT/build-cache/) whose image is no
   longer complete in S, and stale temporary files; *REMOVED gets how many.
   Run it after a prune.  */
int sbx_build_cache_prune (struct sbx_store *s, size_t *removed, struct sbx_error **err);

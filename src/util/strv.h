/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated arrays of owned strings.  A NULL strv is an empty one.  */
size_t sbx_strv_len (char *const *v);
/* Append a copy of S; *V may be NULL.  */
void sbx_strv_push (char ***v, const char *s);
/* Append S itself (takes ownership).  */
void sbx_strv_push_take (char ***v, char *s);
char **sbx_strv_dup (char *const *v);
void sbx_strv_free (char **v);
bool sbx_strv_contains (char *const *v, const char *s);

/* Environment-style "KEY=VALUE" lists: replace the entry for KEY or append.  */
void sbx_env_set (char ***env, const char *key, const char *value);
/* Value for KEY in ENV, or NULL.  */
const char *sbx_env_get (char *const *env, const char *key);

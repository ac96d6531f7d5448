/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct sbx_error;

/* Strict decimal parsing: digits only (no sign, space, or trailing text),
   no overflow, value <= MAX.  WHAT names the value in the error message.  */
int sbx_parse_u64 (const char *s, uint64_t max, uint64_t *out, const char *what,
                   struct sbx_error **err);
int sbx_parse_u32 (const char *s, uint32_t *out, const char *what, struct sbx_error **err);

/* Parse a signal given as a number ("9"), a name ("KILL"), or "SIGKILL".
   Returns the signal number, or -1 with *ERR set.  */
int sbx_parse_signal (const char *s, struct sbx_error **err);
/* "KILL" for 9, or NULL.  */
const char *sbx_signal_name (int sig);

/* A valid environment variable name: non-empty, no '=' and no NUL.  */
bool sbx_is_valid_env_name (const char *s, size_t len);

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>

struct sbx_error;

/* Look NAME up along $PATH (or take it as is when it has a slash).  When
   PATH_OUT is non-NULL it gets the full path (free() it).  */
bool sbx_child_find_program (const char *name, char **path_out);

/* Run ARGV (argv[0] looked up in $PATH) with posix_spawn, wait for it, and
   fail unless it exits 0.  Its stderr is captured; the error message quotes
   its first line.  stdin is /dev/null, stdout is inherited.  */
int sbx_child_run (char *const *argv, struct sbx_error **err);

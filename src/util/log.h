/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>

/* Logging to stderr, one line per message prefixed "sbx: " (STYLE.md B5).
   stdout belongs to command output only.  The level is set once by the CLI
   (--log-level or SBX_LOG) before anything else runs.  */
enum sbx_log_level
{
  SBX_LOG_ERROR = 0,
  SBX_LOG_WARN,
  SBX_LOG_INFO,
  SBX_LOG_DEBUG,
};

enum sbx_log_format
{
  SBX_LOG_FORMAT_TEXT = 0,
  SBX_LOG_FORMAT_JSON,
};

void sbx_log_init (enum sbx_log_level level, enum sbx_log_format format);
/* Parse "error|warn|info|debug"; -1 when unknown.  */
int sbx_log_level_from_string (const char *s);
bool sbx_log_enabled (enum sbx_log_level level);
void sbx_log_write (enum sbx_log_level level, const char *module, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#ifndef SBX_LOG_MODULE
#  define SBX_LOG_MODULE "sbx"
#endif

#define sbx_log_at(lvl, ...)                              \
  do                                                      \
    {                                                     \
      if (sbx_log_enabled (lvl))                          \
        sbx_log_write (lvl, SBX_LOG_MODULE, __VA_ARGS__); \
    }                                                     \
  while (0)
#define sbx_error_log(...) sbx_log_at (SBX_LOG_ERROR, __VA_ARGS__)
#define sbx_warn(...) sbx_log_at (SBX_LOG_WARN, __VA_ARGS__)
#define sbx_info(...) sbx_log_at (SBX_LOG_INFO, __VA_ARGS__)
#define sbx_debug(...) sbx_log_at (SBX_LOG_DEBUG, __VA_ARGS__)

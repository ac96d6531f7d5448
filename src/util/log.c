/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/strbuf.h"

/* Set once by the CLI before any other thread or child exists; read-only
   afterwards (the documented exception to "no mutable globals").  */
static enum sbx_log_level log_level = SBX_LOG_WARN;
static enum sbx_log_format log_format = SBX_LOG_FORMAT_TEXT;

void
sbx_log_init (enum sbx_log_level level, enum sbx_log_format format)
{
  log_level = level;
  log_format = format;
}

int
sbx_log_level_from_string (const char *s)
{
  static const char *const names[] = { "error", "warn", "info", "debug" };
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (s, names[i]) == 0)
      return (int) i;
  if (strcmp (s, "warning") == 0)
    return SBX_LOG_WARN;
  return -1;
}

bool
sbx_log_enabled (enum sbx_log_level level)
{
  return level <= log_level;
}

static void
add_json_string (struct sbx_strbuf *sb, const char *s)
{
  sbx_strbuf_addch (sb, '"');
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;

      if (c == '"' || c == '\\')
        sbx_strbuf_addf (sb, "\\%c", c);
      else if (c < 0x20)
        sbx_strbuf_addf (sb, "\\u%04x", c);
      else
        sbx_strbuf_addch (sb, (char) c);
    }
  sbx_strbuf_addch (sb, '"');
}

void
sbx_log_write (enum sbx_log_level level, const char *module, const char *fmt, ...)
{
  static const char *const names[] = { "error", "warn", "info", "debug" };
  cleanup_strbuf struct sbx_strbuf msg = SBX_STRBUF_INIT;
  cleanup_strbuf struct sbx_strbuf line = SBX_STRBUF_INIT;
  va_list ap;

  va_start (ap, fmt);
  sbx_strbuf_vaddf (&msg, fmt, ap);
  va_end (ap);

  if (log_format == SBX_LOG_FORMAT_JSON)
    {
      sbx_strbuf_addf (&line, "{\"level\":\"%s\",\"module\":", names[level]);
      add_json_string (&line, module);
      sbx_strbuf_addstr (&line, ",\"msg\":");
      add_json_string (&line, msg.buf);
      sbx_strbuf_addstr (&line, "}\n");
    }
  else if (log_level >= SBX_LOG_DEBUG)
    sbx_strbuf_addf (&line, "sbx: [%s] %s\n", module, msg.buf);
  else if (level == SBX_LOG_WARN)
    sbx_strbuf_addf (&line, "sbx: warning: %s\n", msg.buf);
  else
    sbx_strbuf_addf (&line, "sbx: %s\n", msg.buf);
  /* One write(2) so lines from several processes do not interleave.  */
  (void) ! write (STDERR_FILENO, line.buf, line.len);
}

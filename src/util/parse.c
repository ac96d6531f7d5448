/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "util/parse.h"

int
sbx_parse_u64 (const char *s, uint64_t max, uint64_t *out, const char *what, struct sbx_error **err)
{
  uint64_t v = 0;
  const char *p;

  if (s == NULL || *s == '\0')
    return sbx_err (err, EINVAL, "invalid %s: empty", what);
  for (p = s; *p; p++)
    {
      unsigned d;

      if (*p < '0' || *p > '9')
        return sbx_err (err, EINVAL, "invalid %s `%s`: not a decimal number", what, s);
      d = (unsigned) (*p - '0');
      if (__builtin_mul_overflow (v, 10, &v) || __builtin_add_overflow (v, d, &v))
        return sbx_err (err, ERANGE, "invalid %s `%s`: out of range", what, s);
    }
  if (v > max)
    return sbx_err (err, ERANGE, "invalid %s `%s`: larger than %ju", what, s, (uintmax_t) max);
  *out = v;
  return 0;
}

int
sbx_parse_u32 (const char *s, uint32_t *out, const char *what, struct sbx_error **err)
{
  uint64_t v;

  if (sbx_parse_u64 (s, UINT32_MAX, &v, what, err) < 0)
    return -1;
  *out = (uint32_t) v;
  return 0;
}

static const struct
{
  const char *name;
  int sig;
} signals[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

const char *
sbx_signal_name (int sig)
{
  size_t i;

  for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (signals[i].sig == sig)
      return signals[i].name;
  return NULL;
}

int
sbx_parse_signal (const char *s, struct sbx_error **err)
{
  const char *name = s;
  uint32_t n;
  size_t i;

  if (s == NULL || *s == '\0')
    return sbx_err (err, EINVAL, "invalid signal: empty");
  if (*s >= '0' && *s <= '9')
    {
      if (sbx_parse_u32 (s, &n, "signal", err) < 0)
        return -1;
      if (n == 0 || n > (uint32_t) SIGRTMAX)
        return sbx_err (err, EINVAL, "invalid signal `%s`: out of range", s);
      return (int) n;
    }
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcasecmp (name, signals[i].name) == 0)
      return signals[i].sig;
  return sbx_err (err, EINVAL, "invalid signal `%s`", s);
}

bool
sbx_is_valid_env_name (const char *s, size_t len)
{
  size_t i;

  if (len == 0)
    return false;
  for (i = 0; i < len; i++)
    if (s[i] == '=' || s[i] == '\0')
      return false;
  return true;
}

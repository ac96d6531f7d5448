/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libcurl, loaded on first use (util/lazylib.h): the functions transport.c
   calls, each forwarding to the real one.  reg_http_new() loads it through
   reg_curl_load(), so a missing libcurl is an ordinary error there.  */
#include <stdarg.h>
#include <time.h>

/* Plain prototypes: the gcc type-checking wrappers are function-like macros
   named like the functions defined here.  transport.c keeps them: they
   expand to calls of these same functions.  */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "registry/internal.h"
#include "util/lazylib.h"

#define FUNCTIONS(X)           \
  X (curl_easy_cleanup)        \
  X (curl_easy_getinfo)        \
  X (curl_easy_init)           \
  X (curl_easy_setopt)         \
  X (curl_easy_strerror)       \
  X (curl_getdate)             \
  X (curl_global_cleanup)      \
  X (curl_global_init)         \
  X (curl_multi_add_handle)    \
  X (curl_multi_cleanup)       \
  X (curl_multi_info_read)     \
  X (curl_multi_init)          \
  X (curl_multi_perform)       \
  X (curl_multi_poll)          \
  X (curl_multi_remove_handle) \
  X (curl_multi_strerror)      \
  X (curl_slist_append)        \
  X (curl_slist_free_all)

SBX_LAZYLIB_DEFINE (libcurl, "libcurl.so.4", "libcurl4", FUNCTIONS)

int
reg_curl_load (struct sbx_error **err)
{
  return sbx_lazylib_load (&libcurl, err);
}

/* Any function pointer: all have the same representation, and libcurl reads
   a FUNCTIONPOINT option back as its own callback type.  */
typedef void (*any_fn) (void);

/* The type of curl_easy_setopt's third argument follows from the option's
   number (curl.h, CURLOPTTYPE_*): below 10000 a long (LONG, VALUES); below
   20000 a data pointer (OBJECTPOINT, STRINGPOINT, SLISTPOINT, CBPOINT);
   below 30000 a function pointer (FUNCTIONPOINT); below 40000 a curl_off_t
   (OFF_T); from 40000 a struct curl_blob pointer (BLOB).  It is read as that
   type and passed on as that type.  */
CURLcode
curl_easy_setopt (CURL *curl, CURLoption option, ...)
{
  __typeof__ (&curl_easy_setopt) fn = REAL (curl_easy_setopt);
  long kind = (long) option;
  CURLcode rc;
  va_list ap;

  va_start (ap, option);
  if (kind < CURLOPTTYPE_OBJECTPOINT)
    rc = fn (curl, option, va_arg (ap, long));
  else if (kind < CURLOPTTYPE_FUNCTIONPOINT)
    rc = fn (curl, option, va_arg (ap, void *));
  else if (kind < CURLOPTTYPE_OFF_T)
    rc = fn (curl, option, va_arg (ap, any_fn));
  else if (kind < CURLOPTTYPE_BLOB)
    rc = fn (curl, option, va_arg (ap, curl_off_t));
  else
    rc = fn (curl, option, va_arg (ap, void *));
  va_end (ap);
  return rc;
}

/* Every CURLINFO type (STRING, LONG, DOUBLE, SLIST/PTR, SOCKET, OFF_T) takes
   a pointer to where the answer goes.  */
CURLcode
curl_easy_getinfo (CURL *curl, CURLINFO info, ...)
{
  void *out;
  va_list ap;

  va_start (ap, info);
  out = va_arg (ap, void *);
  va_end (ap);
  return REAL (curl_easy_getinfo) (curl, info, out);
}

void
curl_easy_cleanup (CURL *curl)
{
  REAL (curl_easy_cleanup) (curl);
}

CURL *
curl_easy_init (void)
{
  return REAL (curl_easy_init) ();
}

const char *
curl_easy_strerror (CURLcode code)
{
  return REAL (curl_easy_strerror) (code);
}

time_t
curl_getdate (const char *p, const time_t *unused)
{
  return REAL (curl_getdate) (p, unused);
}

void
curl_global_cleanup (void)
{
  REAL (curl_global_cleanup) ();
}

CURLcode
curl_global_init (long flags)
{
  return REAL (curl_global_init) (flags);
}

CURLMcode
curl_multi_add_handle (CURLM *multi_handle, CURL *curl_handle)
{
  return REAL (curl_multi_add_handle) (multi_handle, curl_handle);
}

CURLMcode
curl_multi_cleanup (CURLM *multi_handle)
{
  return REAL (curl_multi_cleanup) (multi_handle);
}

CURLMsg *
curl_multi_info_read (CURLM *multi_handle, int *msgs_in_queue)
{
  return REAL (curl_multi_info_read) (multi_handle, msgs_in_queue);
}

CURLM *
curl_multi_init (void)
{
  return REAL (curl_multi_init) ();
}

CURLMcode
curl_multi_perform (CURLM *multi_handle, int *running_handles)
{
  return REAL (curl_multi_perform) (multi_handle, running_handles);
}

CURLMcode
curl_multi_poll (CURLM *multi_handle, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                 int timeout_ms, int *ret)
{
  return REAL (curl_multi_poll) (multi_handle, extra_fds, extra_nfds, timeout_ms, ret);
}

CURLMcode
curl_multi_remove_handle (CURLM *multi_handle, CURL *curl_handle)
{
  return REAL (curl_multi_remove_handle) (multi_handle, curl_handle);
}

const char *
curl_multi_strerror (CURLMcode code)
{
  return REAL (curl_multi_strerror) (code);
}

struct curl_slist *
curl_slist_append (struct curl_slist *list, const char *data)
{
  return REAL (curl_slist_append) (list, data);
}

void
curl_slist_free_all (struct curl_slist *list)
{
  REAL (curl_slist_free_all) (list);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Cleanup attributes for every resource (STYLE.md B3).  Declare cleanup
   variables initialised, at the top of their block; hand ownership over
   with steal_ptr()/steal_fd(); never mix with goto unwinding.  */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/error.h"

#define DEFINE_CLEANUP_FUNC(type, fn)       \
  static inline void fn##_cleanup (type *p) \
  {                                         \
    if (*p)                                 \
      fn (*p);                              \
  }

static inline void
sbx_cleanup_free (void *p)
{
  free (*(void **) p);
}

static inline void
sbx_cleanup_close (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      (void) close (*fd);
      errno = saved;
    }
}

static inline void
sbx_cleanup_file (FILE **f)
{
  if (*f)
    (void) fclose (*f);
}

static inline void
sbx_cleanup_dir (DIR **d)
{
  if (*d)
    (void) closedir (*d);
}

static inline void
sbx_cleanup_error (struct sbx_error **e)
{
  sbx_error_clear (e);
}

void sbx_strv_free (char **strv);
static inline void
sbx_cleanup_strv (char ***v)
{
  sbx_strv_free (*v);
}

#define cleanup_free __attribute__ ((cleanup (sbx_cleanup_free)))
#define cleanup_close __attribute__ ((cleanup (sbx_cleanup_close)))
#define cleanup_file __attribute__ ((cleanup (sbx_cleanup_file)))
#define cleanup_dir __attribute__ ((cleanup (sbx_cleanup_dir)))
#define cleanup_error __attribute__ ((cleanup (sbx_cleanup_error)))
#define cleanup_strv __attribute__ ((cleanup (sbx_cleanup_strv)))

static inline int
steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *
sbx_steal_ptr_impl (void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}
/* The conditional gives the result the pointee type of PP.  */
#define steal_ptr(pp) (0 ? *(pp) : sbx_steal_ptr_impl (pp))

#define SBX_N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

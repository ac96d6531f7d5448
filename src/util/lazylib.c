/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/error.h"
#include "util/lazylib.h"
#include "util/xalloc.h"

/* Serialises first loads; once a library's state is set it is read without
   the lock.  dlopen runs no sbx code (the shims' symbols are not exported
   from the executable), so nothing can come back here while it is held.  */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* Open LIB and fill LIB->fns: NULL, or why that failed (malloc'ed).  */
static char *
open_and_resolve (struct sbx_lazylib *lib)
{
  void *h = dlopen (lib->soname, RTLD_NOW | RTLD_LOCAL);
  size_t i;

  if (h == NULL)
    return xasprintf ("cannot load %s: %s (hint: install the %s package)", lib->soname, dlerror (),
                      lib->package);
  for (i = 0; lib->names[i] != NULL; i++)
    {
      lib->fns[i] = dlsym (h, lib->names[i]);
      if (lib->fns[i] == NULL)
        {
          char *why = xasprintf ("cannot load %s: it has no function %s (hint: upgrade the %s "
                                 "package)",
                                 lib->soname, lib->names[i], lib->package);

          (void) dlclose (h);
          return why;
        }
    }
  return NULL;
}

static void
load_once (struct sbx_lazylib *lib)
{
  char *why;

  if (__atomic_load_n (&lib->state, __ATOMIC_ACQUIRE) != 0)
    return;
  (void) pthread_mutex_lock (&load_lock);
  if (lib->state == 0)
    {
      why = open_and_resolve (lib);
      lib->why = why;
      __atomic_store_n (&lib->state, why == NULL ? 1 : -1, __ATOMIC_RELEASE);
    }
  (void) pthread_mutex_unlock (&load_lock);
}

int
sbx_lazylib_load (struct sbx_lazylib *lib, struct sbx_error **err)
{
  load_once (lib);
  if (__atomic_load_n (&lib->state, __ATOMIC_ACQUIRE) < 0)
    return sbx_err (err, ELIBACC, "%s", lib->why);
  return 0;
}

void
sbx_lazylib_need_slow (struct sbx_lazylib *lib)
{
  struct iovec line[3];

  load_once (lib);
  if (__atomic_load_n (&lib->state, __ATOMIC_ACQUIRE) > 0)
    return;
  /* One writev, not stdio, and _exit: this may run in a forked child, whose
     stdio buffers and atexit handlers are its parent's.  */
  line[0] = (struct iovec){ .iov_base = (char *) "sbx: ", .iov_len = 5 };
  line[1] = (struct iovec){ .iov_base = lib->why, .iov_len = strlen (lib->why) };
  line[2] = (struct iovec){ .iov_base = (char *) "\n", .iov_len = 1 };
  (void) ! writev (STDERR_FILENO, line, 3);
  _exit (125);
}

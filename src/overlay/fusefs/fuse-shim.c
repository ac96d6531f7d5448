/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libfuse3 is linked into sbx for now; it moves behind a dlopen shim
   (util/lazylib.h) when that lands, so that `sbx run` does not load it.  */
#include "overlay/fusefs/fusefs.h"

int
fusefs_load_libfuse (struct sbx_error **err)
{
  (void) err;
  return 0;
}

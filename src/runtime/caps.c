/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The only file that includes libcap (STYLE.md B1).  */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* Docker's (and Podman's) default capability set.  */
static const cap_value_t default_caps[] = {
  CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
  CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
  CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
  CAP_KILL,    CAP_AUDIT_WRITE,
};

#define CAP_BIT(c) (UINT64_C (1) << (c))

uint64_t
sbx_caps_default (void)
{
  uint64_t m = 0;
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (default_caps); i++)
    m |= CAP_BIT (default_caps[i]);
  return m;
}

static uint64_t
all_caps (void)
{
  int max = CAP_LAST_CAP;

  return max >= 63 ? ~UINT64_C (0) : CAP_BIT (max + 1) - 1;
}

/* "net_admin", "CAP_NET_ADMIN", "Net_Admin" → CAP_NET_ADMIN; -1 if unknown.  */
static int
parse_cap_name (const char *s)
{
  cleanup_free char *lower = NULL;
  cap_value_t v;
  size_t i;

  lower = strncasecmp (s, "CAP_", 4) == 0 ? xstrdup (s) : xasprintf ("cap_%s", s);
  for (i = 0; lower[i]; i++)
    {
      lower[i] = (char) tolower ((unsigned char) lower[i]);
      /* cap_from_name() accepts "chown,kill" or "kill+ep" as CAP_CHOWN/KILL.  */
      if (! islower ((unsigned char) lower[i]) && ! isdigit ((unsigned char) lower[i])
          && lower[i] != '_')
        return -1;
    }
  if (cap_from_name (lower, &v) < 0 || v < 0 || v > 63)
    return -1;
  return (int) v;
}

/* Apply LIST to *MASK; "ALL" counts only when HONOUR_ALL.  */
static int
apply_list (char *const *list, bool add, bool honour_all, uint64_t *mask, struct sbx_error **err)
{
  size_t i;

  for (i = 0; list && list[i]; i++)
    {
      int c;

      if (strcasecmp (list[i], "ALL") == 0)
        {
          if (honour_all)
            *mask = add ? all_caps () : 0;
          continue;
        }
      c = parse_cap_name (list[i]);
      if (c < 0)
        return sbx_err (err, EINVAL, "invalid capability `%s`", list[i]);
      if (add)
        *mask |= CAP_BIT (c);
      else
        *mask &= ~CAP_BIT (c);
    }
  return 0;
}

int
sbx_caps_resolve (char *const *add, char *const *drop, uint64_t *mask, struct sbx_error **err)
{
  uint64_t m = sbx_caps_default ();
  uint64_t dropped = 0;
  bool add_all = false;
  size_t i;

  for (i = 0; add && add[i]; i++)
    add_all |= strcasecmp (add[i], "ALL") == 0;
  /* As Docker: --cap-add ALL starts from every capability and removes the
     named drops (a dropped ALL means nothing then); otherwise drops apply to
     the default set, then the adds.  */
  if (add_all)
    {
      dropped = all_caps ();
      if (apply_list (add, true, false, &m, err) < 0
          || apply_list (drop, false, false, &dropped, err) < 0)
        return -1;
      *mask = dropped;
      return 0;
    }
  if (apply_list (drop, false, true, &m, err) < 0 || apply_list (add, true, true, &m, err) < 0)
    return -1;
  *mask = m & all_caps ();
  return 0;
}

char *
sbx_caps_format (uint64_t mask)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  int c;

  for (c = 0; c <= CAP_LAST_CAP && c < 64; c++)
    if (mask & CAP_BIT (c))
      {
        char *name = cap_to_name ((cap_value_t) c);
        size_t i;

        if (sb.len)
          sbx_strbuf_addch (&sb, ',');
        for (i = 0; name && name[i]; i++)
          sbx_strbuf_addch (&sb, (char) toupper ((unsigned char) name[i]));
        cap_free (name);
      }
  return sbx_strbuf_detach (&sb);
}

int
caps_apply (uint64_t mask, struct sbx_error **err)
{
  cap_iab_t iab = cap_iab_init ();
  int max = (int) cap_max_bits ();
  int c;

  if (iab == NULL)
    return sbx_err_errno (err, "cap_iab_init");
  /* In an IAB tuple a set BOUND bit means "dropped from the bounding set".
     Inheritable and ambient stay empty (as Docker since CVE-2022-24769), so
     an exec as root gets exactly MASK and a non-root exec gets nothing.  */
  for (c = 0; c < max; c++)
    if ((c >= 64 || ! (mask & CAP_BIT (c)))
        && cap_iab_set_vector (iab, CAP_IAB_BOUND, (cap_value_t) c, CAP_SET) < 0)
      {
        cap_free (iab);
        return sbx_err_errno (err, "drop capability %d", c);
      }
  if (cap_iab_set_proc (iab) < 0)
    {
      int saved = errno;
      cap_free (iab);
      errno = saved;
      return sbx_err_errno (err, "set capabilities");
    }
  cap_free (iab);
  return 0;
}

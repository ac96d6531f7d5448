/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/strv.h"

#define BIT(c) (UINT64_C (1) << (c))
#define ALL_CAPS (BIT (CAP_LAST_CAP + 1) - 1)

static const int docker_default[] = {
  CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
  CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
  CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
  CAP_KILL,    CAP_AUDIT_WRITE,
};

/* "a,b,c" → { "a", "b", "c", NULL }; NULL → NULL.  */
static char **
split (const char *list)
{
  char **v = NULL;

  while (list && *list)
    {
      size_t n = strcspn (list, ",");

      sbx_strv_push_take (&v, strndup (list, n));
      list += list[n] ? n + 1 : n;
    }
  return v;
}

/* The mask for --cap-add ADD --cap-drop DROP, each a comma-separated list.  */
static uint64_t
resolve (const char *add, const char *drop)
{
  cleanup_error struct sbx_error *err = NULL;
  cleanup_strv char **a = split (add);
  cleanup_strv char **d = split (drop);
  uint64_t mask = 0xdeadbeef;
  int ret = sbx_caps_resolve (a, d, &mask, &err);

  if (ret < 0)
    printf ("# %s\n", err->msg);
  ASSERT_EQ (ret, 0);
  ASSERT_NE (mask, 0xdeadbeef);
  return mask;
}

static void
resolve_fails (char *add1, char *drop1, const char *bad)
{
  cleanup_error struct sbx_error *err = NULL;
  char *add[] = { add1, NULL };
  char *drop[] = { drop1, NULL };
  uint64_t mask = 0xdeadbeef;

  ASSERT_EQ (sbx_caps_resolve (add1 ? add : NULL, drop1 ? drop : NULL, &mask, &err), -1);
  ASSERT_EQ (sbx_error_code (err), EINVAL);
  ASSERT_STRSTR (err->msg, bad);
  ASSERT_EQ (mask, 0xdeadbeef); /* untouched on failure */
}

TEST (caps_default_is_dockers)
{
  uint64_t want = 0;
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (docker_default); i++)
    want |= BIT (docker_default[i]);
  ASSERT_EQ (sbx_caps_default (), want);
  ASSERT_EQ (__builtin_popcountll (sbx_caps_default ()), 14);
  ASSERT_EQ (sbx_caps_default () & BIT (CAP_SYS_ADMIN), 0);
  ASSERT_EQ (sbx_caps_default () & BIT (CAP_NET_ADMIN), 0);
  ASSERT_EQ (resolve (NULL, NULL), want);
}

TEST (caps_drop_all)
{
  ASSERT_EQ (resolve (NULL, "ALL"), 0);
  ASSERT_EQ (resolve (NULL, "all"), 0);
  ASSERT_EQ (resolve (NULL, "chown,ALL"), 0);
  ASSERT_EQ (resolve ("chown", "ALL"), BIT (CAP_CHOWN));
  ASSERT_EQ (resolve ("net_admin,kill", "all"), BIT (CAP_NET_ADMIN) | BIT (CAP_KILL));
}

TEST (caps_add_all)
{
  ASSERT_EQ (resolve ("ALL", NULL), ALL_CAPS);
  ASSERT_EQ (resolve ("All", NULL), ALL_CAPS);
  ASSERT_EQ (resolve ("ALL", "ALL"), ALL_CAPS);
  ASSERT_NE (resolve ("ALL", NULL) & BIT (CAP_SYS_ADMIN), 0);
  ASSERT_EQ (resolve ("ALL", NULL) & ~ALL_CAPS, 0); /* nothing the kernel lacks */
}

TEST (caps_names_any_form)
{
  uint64_t def = sbx_caps_default ();

  ASSERT_EQ (resolve ("net_admin", NULL), def | BIT (CAP_NET_ADMIN));
  ASSERT_EQ (resolve ("NET_ADMIN", NULL), def | BIT (CAP_NET_ADMIN));
  ASSERT_EQ (resolve ("CAP_NET_ADMIN", NULL), def | BIT (CAP_NET_ADMIN));
  ASSERT_EQ (resolve ("cap_net_admin", NULL), def | BIT (CAP_NET_ADMIN));
  ASSERT_EQ (resolve ("Cap_Sys_Ptrace", NULL), def | BIT (CAP_SYS_PTRACE));
  ASSERT_EQ (resolve ("sys_admin,SYS_TIME", NULL), def | BIT (CAP_SYS_ADMIN) | BIT (CAP_SYS_TIME));
  ASSERT_EQ (resolve ("checkpoint_restore", NULL), def | BIT (CAP_CHECKPOINT_RESTORE));
}

TEST (caps_drop_names)
{
  uint64_t def = sbx_caps_default ();

  ASSERT_EQ (resolve (NULL, "chown"), def & ~BIT (CAP_CHOWN));
  ASSERT_EQ (resolve (NULL, "CAP_KILL,net_raw"), def & ~(BIT (CAP_KILL) | BIT (CAP_NET_RAW)));
  ASSERT_EQ (resolve (NULL, "sys_admin"), def); /* not in the set: no-op */
  /* Drops apply to the default set, then adds (Docker's order).  */
  ASSERT_EQ (resolve ("chown", "chown"), def);
}

TEST (caps_unknown_names)
{
  resolve_fails ("foo", NULL, "invalid capability `foo`");
  resolve_fails (NULL, "CAP_FOO", "invalid capability `CAP_FOO`");
  resolve_fails ("CAP_", NULL, "invalid capability `CAP_`");
  resolve_fails ("", NULL, "invalid capability ``");
  resolve_fails ("5", NULL, "invalid capability `5`");
  resolve_fails ("chownx", NULL, "invalid capability `chownx`");
  resolve_fails ("ALLX", NULL, "invalid capability `ALLX`");
}

TEST (caps_trailing_junk_rejected)
{
  /* libcap's cap_from_name() accepts a name followed by a separator and
     anything ("chown,kill" is CAP_CHOWN): sbx must not.  */
  resolve_fails ("chown,kill", NULL, "invalid capability");
  resolve_fails ("net_admin+ep", NULL, "invalid capability");
  resolve_fails ("kill ", NULL, "invalid capability");
}

TEST (caps_add_all_honours_drops)
{
  /* Docker and Podman: --cap-add ALL --cap-drop X is every capability but X.  */
  ASSERT_EQ (resolve ("ALL", "chown"), ALL_CAPS & ~BIT (CAP_CHOWN));
}

TEST (caps_format)
{
  cleanup_free char *none = sbx_caps_format (0);
  cleanup_free char *two = sbx_caps_format (BIT (CAP_CHOWN) | BIT (CAP_KILL));
  cleanup_free char *one = sbx_caps_format (BIT (CAP_SYS_ADMIN));
  cleanup_free char *last = sbx_caps_format (BIT (CAP_LAST_CAP));

  ASSERT_STREQ (none, "");
  ASSERT_STREQ (two, "CAP_CHOWN,CAP_KILL");
  ASSERT_STREQ (one, "CAP_SYS_ADMIN");
  ASSERT_EQ (strncmp (last, "CAP_", 4), 0);
  ASSERT_NULL (strchr (last, ','));
}

TEST (caps_format_roundtrip)
{
  const uint64_t masks[] = { sbx_caps_default (), ALL_CAPS, BIT (0), BIT (CAP_LAST_CAP) };
  size_t i;

  for (i = 0; i < SBX_N_ELEMENTS (masks); i++)
    {
      cleanup_free char *s = sbx_caps_format (masks[i]);
      cleanup_strv char **names = split (s);

      ASSERT_EQ (sbx_strv_len (names), __builtin_popcountll (masks[i]));
      ASSERT_EQ (resolve (s, "ALL"), masks[i]);
    }
}

TEST_MAIN

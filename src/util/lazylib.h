/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared libraries loaded on first use.  libcurl, libarchive and libcrypto
   bring about forty more libraries with them (gnutls, krb5, ldap, icu, …),
   and linking them made every `sbx run` pay ~15 ms in the dynamic loader
   for code only pull, push and the image commands use.  So sbx is not
   linked with them: a shim per library (registry/curl-shim.c,
   layer/archive-shim.c, util/crypto-shim.c) defines each function sbx calls,
   with the library's own prototype from its header, and forwards the call
   to the real function, which sbx_lazylib_need() resolves with dlopen and
   dlsym the first time.  Call sites are unchanged.

   A new call to one of these libraries fails to link ("undefined reference
   to `archive_foo'") until the function is added to its shim.  */

struct sbx_error;

struct sbx_lazylib
{
  const char *soname;       /* "libcurl.so.4" */
  const char *package;      /* the Debian package that ships it, for the hint */
  const char *const *names; /* the functions to resolve, NULL-terminated */
  void **fns;               /* receives them, in the same order */
  /* Private, set once under a lock (STYLE.md B1's feature-probe caches):
     0 untried, 1 loaded, -1 failed with the reason in WHY.  */
  int state;
  char *why;
};

/* Load LIB and resolve all of its functions unless that was done already.
   On failure the message names the library and the reason, with a hint
   naming the package; the failure is remembered.  */
int sbx_lazylib_load (struct sbx_lazylib *lib, struct sbx_error **err);

/* The same for the shims' forwarding functions, which cannot return an
   error: on failure print "sbx: cannot load …" and _exit(125) (sbx itself
   failed, STYLE.md B2).  Like xoom() this is a sanctioned exit outside
   main(); callers that can report an error call sbx_lazylib_load() first,
   as the registry client does when it is created.  */
void sbx_lazylib_need_slow (struct sbx_lazylib *lib);

static inline void
sbx_lazylib_need (struct sbx_lazylib *lib)
{
  if (__atomic_load_n (&lib->state, __ATOMIC_ACQUIRE) <= 0)
    sbx_lazylib_need_slow (lib);
}

/* What every shim repeats, defined once: from LIST, an X-macro of the
   function names, FN_<name> indexes, the name table, the slot table, the
   library VAR itself, and real(i), which loads the library on first use.
   REAL (name) is then the real function with its header's type.  */
#define SBX_LAZYLIB_AS_INDEX(name) FN_##name,
#define SBX_LAZYLIB_AS_NAME(name) #name,
#define SBX_LAZYLIB_DEFINE(var, so, pkg, LIST)                                    \
  enum                                                                            \
  {                                                                               \
    LIST (SBX_LAZYLIB_AS_INDEX) N_FUNCTIONS                                       \
  };                                                                              \
  static const char *const var##_names[] = { LIST (SBX_LAZYLIB_AS_NAME) NULL };   \
  /* Set once by sbx_lazylib_need(), read-only afterwards.  */                    \
  static void *var##_fns[N_FUNCTIONS];                                            \
  static struct sbx_lazylib var                                                   \
      = { .soname = so, .package = pkg, .names = var##_names, .fns = var##_fns }; \
  static void *real (int i)                                                       \
  {                                                                               \
    sbx_lazylib_need (&var);                                                      \
    return var##_fns[i];                                                          \
  }
#define REAL(name) ((__typeof__ (&name)) real (FN_##name))

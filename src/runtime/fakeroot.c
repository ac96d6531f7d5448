/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Root emulation for single-uid mode (DESIGN.md §3, `sbx run --fakeroot`
   and build's RUN steps): a seccomp filter that makes the calls which
   change owners or identities succeed without doing anything, so that
   package managers run as root where only one id is mapped.  The design is
   Charliecloud's `--seccomp` mode, written with libseccomp:

   - the chown family, the set*id family and setgroups return 0 at once;
   - mknod and mknodat of a character or block device return 0 and create
     nothing (an unprivileged user namespace may not make device nodes);
     fifos, sockets and regular files are still really created;
   - the 32-bit variants are covered where the machine runs 32-bit code
     too: on x86_64 the filter has i386 and x32 branches (libseccomp maps
     each name to each architecture's number, chown32 and friends to i386
     only), on aarch64 an arm branch.  Code of any other architecture is
     allowed untouched, as in Charliecloud: this filter emulates, it does
     not confine, and the container is no less confined without it.

   Everything else is allowed.  The filter is built and loaded by the setup
   child as its last step before execve, after no_new_privs.

   apt drops privileges to its `_apt` user for downloads and then checks
   that setgroups, setgid and setuid took effect; under the filter they did
   not, and every method dies with "Could not switch group".  Charliecloud's
   seccomp mode adds `-o APT::Sandbox::User=root` to apt commands in builds;
   sbx instead points APT_CONFIG (unless the command's environment sets it)
   at a one-line file with that setting in the container's /dev, a tmpfs
   that no layer or commit sees.  apt reads APT_CONFIG before apt.conf.d,
   so an image's own setting still wins.  */
#define SBX_LOG_MODULE "fakeroot"
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

#define APT_CONF_PATH "/dev/.sbx-fakeroot-apt.conf"

/* Faked whatever their arguments.  Names the library or the architecture
   does not know are skipped.  */
static const char *const faked_calls[] = {
  "chown",       "fchown",      "lchown",     "fchownat",    "chown32",
  "fchown32",    "lchown32",    "setuid",     "setuid32",    "setgid",
  "setgid32",    "setreuid",    "setreuid32", "setregid",    "setregid32",
  "setresuid",   "setresuid32", "setresgid",  "setresgid32", "setgroups",
  "setgroups32", "setfsuid",    "setfsuid32", "setfsgid",    "setfsgid32",
};

/* Faked only for device nodes: the index of the mode argument.  */
static const struct
{
  const char *name;
  unsigned arg;
} faked_mknods[] = {
  { "mknod", 1 },
  { "mknodat", 2 },
};

static void
filter_release (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}
#define cleanup_filter __attribute__ ((cleanup (filter_release)))

/* The compat architectures of the native one (see the top of the file).  */
static int
add_compat_arches (scmp_filter_ctx ctx, struct sbx_error **err)
{
  uint32_t native = seccomp_arch_native ();
  uint32_t compat[2] = { 0 };
  size_t i, n = 0;
  int rc;

  if (native == SCMP_ARCH_X86_64)
    {
      compat[n++] = SCMP_ARCH_X86;
      compat[n++] = SCMP_ARCH_X32;
    }
  else if (native == SCMP_ARCH_AARCH64)
    compat[n++] = SCMP_ARCH_ARM;
  for (i = 0; i < n; i++)
    {
      rc = seccomp_arch_add (ctx, compat[i]);
      if (rc < 0 && rc != -EEXIST)
        return sbx_err_code (err, -rc, "seccomp: add architecture %#x", (unsigned) compat[i]);
    }
  return 0;
}

/* Add RULE for the syscall NAME with the comparisons ARGS (N of them).  */
static int
fake_call (scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *args,
           struct sbx_error **err)
{
  int nr = seccomp_syscall_resolve_name (name);
  int rc;

  if (nr == __NR_SCMP_ERROR)
    {
      sbx_debug ("%s: unknown to libseccomp %u.%u, not faked", name, seccomp_version ()->major,
                 seccomp_version ()->minor);
      return 0;
    }
  rc = seccomp_rule_add_array (ctx, SCMP_ACT_ERRNO (0), nr, n, args);
  if (rc < 0)
    return sbx_err_code (err, -rc, "seccomp: fake %s", name);
  return 0;
}

/* Build the filter (not loaded yet) into *OUT.  */
int
fakeroot_filter_new (void **out, struct sbx_error **err)
{
  cleanup_filter scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  size_t i;
  int rc;

  if (ctx == NULL)
    return sbx_err (err, ENOMEM, "seccomp: create the root-emulation filter");
  /* Errors from the kernel as they are, not libseccomp's -ECANCELED.  */
  rc = seccomp_attr_set (ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
  if (rc == 0)
    rc = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
  if (rc < 0)
    return sbx_err_code (err, -rc, "seccomp: set filter attributes");
  if (add_compat_arches (ctx, err) < 0)
    return -1;
  for (i = 0; i < sizeof faked_calls / sizeof *faked_calls; i++)
    if (fake_call (ctx, faked_calls[i], 0, NULL, err) < 0)
      return -1;
  for (i = 0; i < sizeof faked_mknods / sizeof *faked_mknods; i++)
    {
      const mode_t types[] = { S_IFCHR, S_IFBLK };
      size_t t;

      for (t = 0; t < 2; t++)
        {
          struct scmp_arg_cmp cmp
              = SCMP_CMP (faked_mknods[i].arg, SCMP_CMP_MASKED_EQ, S_IFMT, types[t]);

          if (fake_call (ctx, faked_mknods[i].name, 1, &cmp, err) < 0)
            return -1;
        }
    }
  *out = ctx;
  ctx = NULL;
  return 0;
}

void
fakeroot_filter_free (void *filter)
{
  if (filter != NULL)
    seccomp_release (filter);
}

int
fakeroot_install (struct sbx_error **err)
{
  cleanup_filter scmp_filter_ctx ctx = NULL;
  int rc;

  if (fakeroot_filter_new (&ctx, err) < 0)
    return sbx_err_prefix (err, "root emulation (--fakeroot)");
  rc = seccomp_load (ctx);
  if (rc < 0)
    return sbx_err_code (err, -rc, "root emulation (--fakeroot): load the seccomp filter");
  return 0;
}

void
fakeroot_apt_config (char ***env)
{
  static const char conf[]
      = "// sbx --fakeroot: apt cannot switch to _apt where only one id is mapped.\n"
        "APT::Sandbox::User \"root\";\n";
  struct sbx_error *err = NULL;

  if (sbx_env_get (*env, "APT_CONFIG") != NULL)
    return;
  if (sbx_fs_write_file_at (AT_FDCWD, APT_CONF_PATH, conf, strlen (conf), 0644, &err) < 0)
    {
      /* Only apt's downloads need it: say why, and carry on.  */
      sbx_debug ("%s", err->msg);
      sbx_error_free (err);
      return;
    }
  sbx_env_set (env, "APT_CONFIG", APT_CONF_PATH);
}

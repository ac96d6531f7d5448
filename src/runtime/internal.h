/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the runtime's files and their unit tests; nobody else.  */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"

struct sbx_error;

/* ---- sync.c: the monitor <-> setup child protocol ---- */

enum sync_kind
{
  SYNC_GO = 1,     /* monitor → child: id maps are written, carry on */
  SYNC_ERROR,      /* child → monitor: setup failed (code, text) */
  SYNC_EXEC_ERROR, /* child → monitor: execve failed (code, text) */
  SYNC_PTY,        /* child → monitor: the pty master follows as an fd */
};

struct sync_msg
{
  uint32_t kind;
  int32_t code;
  char text[480];
};

int sync_send (int sock, enum sync_kind kind, struct sbx_error **err);
/* Report E (or errno CODE with TEXT) to the monitor and _exit(STATUS).  */
__attribute__ ((noreturn)) void sync_report_and_exit (int sock, enum sync_kind kind,
                                                      const struct sbx_error *e, int status);
/* Send a message of KIND carrying FD (SCM_RIGHTS).  */
int sync_send_fd (int sock, enum sync_kind kind, int fd, struct sbx_error **err);
/* Read one message without blocking; an fd that came with it goes to
   *FD_OUT (-1 if none).  0: a message; 1: the peer closed the socket;
   2: nothing to read yet.  */
int sync_recv (int sock, struct sync_msg *out, int *fd_out, struct sbx_error **err);

/* ---- setup.c: what the setup child does, in order ---- */

struct setup_ctx
{
  const struct sbx_run_config *cfg;
  const char *hostname;
  const char *state_dir; /* holds hosts, hostname, resolv.conf */
  int sync_fd;
  uid_t inside_uid; /* the invoking user's id inside (0, or its own with keep-id) */
  gid_t inside_gid;
  bool single_mode; /* one id mapped; setgroups denied */
};

__attribute__ ((noreturn)) void setup_child_main (const struct setup_ctx *ctx);

/* Shared with enter.c (sbx exec).  A pty in the current mount namespace's
   devpts, its master sent to the monitor, the slave made the controlling
   terminal and stdio (CONSOLE: also bound on /dev/console).  */
int setup_tty (int sync_fd, bool console, struct sbx_error **err);
/* setgroups/setresgid/setresuid to U unless it is who we are inside.  */
struct sbx_user;
int setup_switch_user (const struct sbx_user *u, uid_t inside_uid, gid_t inside_gid,
                       bool single_mode, struct sbx_error **err);
/* Default dispositions and an empty mask, for the command.  */
void setup_reset_signals (void);

/* ---- mounts.c ---- */

int mounts_setup_rootfs (const struct setup_ctx *ctx, struct sbx_error **err);
/* Make the mount at PATH (and, if RECURSIVE, those below it) read-only,
   keeping its other flags.  */
int mounts_make_readonly (const char *path, bool recursive, struct sbx_error **err);

/* ---- volume-seed.c ---- */

/* When the volume directory VOLDIR (a host path) is empty, copy the
   content of DEST in the root at ROOTFD into it, with owners, modes and
   times (Docker's volume copy).  Run as root of the container's user
   namespace before the volume is mounted at DEST.  */
int volume_seed (int rootfd, const char *dest, const char *voldir, struct sbx_error **err);

/* ---- caps.c ---- */

/* Restrict the bounding set to MASK and clear inheritable and ambient.  */
int caps_apply (uint64_t mask, struct sbx_error **err);

/* ---- fakeroot.c: root emulation in single-uid mode ---- */

/* Build the root-emulation filter (a libseccomp scmp_filter_ctx, not loaded)
   into *OUT; free it with fakeroot_filter_free().  */
int fakeroot_filter_new (void **out, struct sbx_error **err);
void fakeroot_filter_free (void *filter);
/* Build and load it: from now on the chown and set*id families, setgroups
   and mknod of device nodes return 0 without effect.  Needs no_new_privs.  */
int fakeroot_install (struct sbx_error **err);
/* Let apt run as root where it cannot drop privileges: unless *ENV has
   APT_CONFIG, write a file saying APT::Sandbox::User "root" in the
   container's /dev and point APT_CONFIG at it.  Best effort.  */
void fakeroot_apt_config (char ***env);

/* ---- exec.c ---- */

/* Find ARGV[0] along PATH from ENV and execve it.  Returns only on failure,
   with *ERR set and *STATUS = 126 or 127.  */
int exec_command (char *const *argv, char *const *env, int *status, struct sbx_error **err);

/* ---- init.c ---- */

/* Run as PID 1 with --init: forward signals to CHILD, reap every process,
   exit with CHILD's status (128+N when killed by signal N).  */
__attribute__ ((noreturn)) void init_reaper_main (pid_t child);

/* ---- etc.c: generated /etc files ---- */

struct etc_net
{
  enum sbx_network_mode mode;
  const struct sbx_net_options *opts; /* slirp's addresses, --dns; or NULL */
  char *const *add_hosts;             /* --add-host NAME:IP, or NULL */
};

char *etc_hosts_content (const char *hostname, const struct etc_net *net, const char *host_hosts);
char *etc_resolv_content (const struct etc_net *net, const char *host_resolv);

/* ---- monitor.c ---- */

struct monitor_ctx
{
  pid_t child;
  int sync_fd;
  int sigfd;
  bool tty;
  bool interactive;
  struct sbx_net *net; /* --network slirp, or NULL */
  int log_fd;          /* detached: the log file, and the pipes of the */
  int out_fd;          /* container's stdout and stderr; -1 otherwise */
  int err_fd;
  int ready_fd; /* detached: written once the command runs, or -1 */
};

/* Block the signals the monitor forwards (all but the synchronous and job
   control ones) before forking the command, so that none is lost: the
   child unblocks them right before execve.  *OLD, when OLD is not NULL,
   gets the mask before.  Returns a non-blocking signalfd for them (SIGPIPE
   excepted: the monitor's own to ignore), or -1 with *ERR and the mask as
   it was.  */
int monitor_block_signals (sigset_t *old, struct sbx_error **err);

/* Drive the container until it ends: forward signals, relay the tty, turn a
   setup report into *ERR.  Returns the wait status or -1.  */
int monitor_run (struct monitor_ctx *m, int *exit_code, struct sbx_error **err);

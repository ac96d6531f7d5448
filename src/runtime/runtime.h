/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The container runtime: user namespaces, the root filesystem view,
   capabilities and the process that monitors a container (DESIGN.md §2–3).
   The CLI builds a struct sbx_run_config, validated by the spec parsers
   below, and hands it to sbx_runtime_run().  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/net.h"

struct sbx_error;

/* ---- user namespaces (userns.c) ---- */

enum sbx_userns_mode
{
  SBX_USERNS_SUBUID, /* container 0 = user, 1..N = /etc/subuid range */
  SBX_USERNS_SINGLE, /* container 0 = user, nothing else mapped */
};

struct sbx_subid_range
{
  uint32_t start;
  uint32_t count;
};

struct sbx_userns_plan
{
  enum sbx_userns_mode mode;
  uid_t uid;
  gid_t gid;
  struct sbx_subid_range subuid;
  struct sbx_subid_range subgid;
  char reason[256]; /* why this mode: "subuid range 100000+65536 for alice" */
};

/* Subordinate ids mapped inside in subuid mode, at most.  */
#define SBX_SUBID_MAX 65536u

/* Decide the mode for the calling user: subuid when /etc/subuid and
   /etc/subgid both give a range and newuidmap/newgidmap are installed, else
   single.  SBX_USERNS_MODE=single in the environment forces single mode.
   Never fails: a reason is always filled in.  */
void sbx_userns_detect (struct sbx_userns_plan *plan);

/* Look up USER (or numeric ID) in the contents of an /etc/subuid-style file.
   Returns true and fills *OUT with the first usable range.  */
bool sbx_userns_parse_subid (const char *content, const char *user, uint32_t id,
                             struct sbx_subid_range *out);

/* One line of an id map: COUNT ids from INSIDE map to OUTSIDE.  */
struct sbx_idmap_line
{
  uint32_t inside;
  uint32_t outside;
  uint32_t count;
};

/* The uid (GID false) or gid map for PLAN; KEEP_ID maps the user to their
   own id inside.  Returns the number of lines written to LINES (<= 3).  */
size_t sbx_userns_map_lines (const struct sbx_userns_plan *plan, bool keep_id, bool gid,
                             struct sbx_idmap_line lines[3]);

/* Write the uid and gid maps of process PID (in a fresh user namespace):
   with newuidmap/newgidmap in subuid mode, directly (setgroups deny) in
   single mode.  */
int sbx_userns_write_maps (pid_t pid, const struct sbx_userns_plan *plan, bool keep_id,
                           struct sbx_error **err);

/* ---- request parsing (spec.c) ---- */

struct sbx_mount_spec
{
  char *source; /* absolute host path (a volume's: filled in by the caller) */
  char *dest;   /* absolute container path */
  bool readonly;
  /* A volume rather than a bind mount: its name, or NULL with ANONYMOUS
     until the caller names it.  When SOURCE is an empty directory at
     start, the container's content at DEST is copied into it first, with
     owners and modes (Docker's volume copy), unless NOCOPY.  */
  char *volume;
  bool anonymous; /* -v /ctr, --mount type=volume without source */
  bool nocopy;    /* nocopy, volume-nocopy */
};

/* Parse a -v value "SRC:CTR[:OPTS]" (OPTS: ro, rw, nocopy, z, Z,
   comma-separated).  SRC is a host path, absolute or relative (./x, ../x,
   x/y: made absolute against CWD), or the name of a volume (no '/', not
   starting with '.'); "CTR" alone is an anonymous volume.  */
int sbx_spec_parse_volume (const char *spec, const char *cwd, struct sbx_mount_spec *out,
                           struct sbx_error **err);
/* Parse a --mount value: comma-separated KEY[=VALUE] with Docker's keys
   type (bind, volume (default), tmpfs), source/src, target/destination/dst,
   readonly/ro, volume-nocopy, bind-propagation (private or rprivate),
   tmpfs-size (bytes, k/m/g suffix), tmpfs-mode (octal), consistency
   (ignored).  A tmpfs gives *TMPFS in the --tmpfs form "PATH[:OPTS]" and
   leaves OUT empty; the others fill OUT.  */
int sbx_spec_parse_mount (const char *spec, const char *cwd, struct sbx_mount_spec *out,
                          char **tmpfs, struct sbx_error **err);
/* M as a -v value that sbx_spec_parse_volume reads back ("SRC:CTR[:ro]",
   SRC absolute or a volume name) (free() it).  */
char *sbx_mount_spec_format (const struct sbx_mount_spec *m);
void sbx_mount_spec_release (struct sbx_mount_spec *m);

/* Add the -e value SPEC ("K=V", or "K" taken from HOST_ENV when set) to *ENV.  */
int sbx_spec_parse_env (const char *spec, char *const *host_env, char ***env,
                        struct sbx_error **err);
/* Add every line of an --env-file's CONTENT (NAME names it in errors).  */
int sbx_spec_parse_env_file (const char *content, const char *name, char *const *host_env,
                             char ***env, struct sbx_error **err);

/* ---- users inside the rootfs (user.c) ---- */

struct sbx_user
{
  uid_t uid;
  gid_t gid;
  char *name;    /* from /etc/passwd, or NULL */
  char *home;    /* from /etc/passwd, or "/" */
  gid_t *groups; /* supplementary groups from /etc/group */
  size_t n_groups;
};

/* Resolve a -u value (UID, UID:GID, NAME, NAME:GROUP, UID:GROUP) against the
   passwd and group files of the rootfs at ROOTFD.  NULL SPEC means root.  */
int sbx_user_resolve (int rootfd, const char *spec, struct sbx_user *out, struct sbx_error **err);
/* Parse passwd/group text (exposed for the resolver's tests).  */
bool sbx_user_lookup_passwd (const char *content, const char *name, uint32_t uid, bool by_uid,
                             struct sbx_user *out);
void sbx_user_release (struct sbx_user *u);

/* ---- capabilities (caps.c) ---- */

/* Docker's default set, as a bitmask of CAP_* numbers.  */
uint64_t sbx_caps_default (void);
/* Apply --cap-add/--cap-drop lists (names with or without CAP_, any case,
   or ALL) to the default set.  */
int sbx_caps_resolve (char *const *add, char *const *drop, uint64_t *mask, struct sbx_error **err);
/* "CAP_CHOWN,CAP_KILL,…" (free() it).  */
char *sbx_caps_format (uint64_t mask);

/* ---- generated /etc files (etc.c) ---- */

enum sbx_storage_driver
{
  SBX_DRIVER_OVERLAY, /* the kernel's overlay in the user namespace */
  SBX_DRIVER_FUSE,    /* sbx's own FUSE overlay (overlay/fusefs) */
};

enum sbx_network_mode
{
  SBX_NETWORK_NONE,  /* a network namespace with only lo */
  SBX_NETWORK_HOST,  /* the host's network namespace */
  SBX_NETWORK_SLIRP, /* lo and tap0, routed by libslirp in the monitor */
};

/* ---- running a container (spawn.c) ---- */

struct sbx_run_config
{
  const char *id;     /* 64 hex digits */
  const char *rootfs; /* host directory, or NULL with LOWERS */
  /* An image's unpacked layers, top-most first: the root is the kernel's
     overlay of them with a private writable layer that lives as long as
     the container (a tmpfs in its mount namespace: nothing to clean up).  */
  char *const *lowers;
  size_t n_lowers;
  const char *image; /* "sha256:…" of the image's manifest (for rmi), or NULL */
  /* The writable layer over LOWERS (host paths; NULL: a tmpfs that lives
     as long as the container) and the driver that stacks them.  */
  const char *upper;
  const char *work;
  enum sbx_storage_driver driver;
  /* The writable layer need not survive a crash of the machine (`--rm`
     containers, sbx build's RUN steps, as podman and buildah): fsync and
     syncfs inside do not reach the disk (the kernel overlay's `volatile`;
     the fuse driver answers them at once).  dpkg's per-file fsyncs are
     most of an `apt-get install` on a journaled filesystem otherwise.  A
     kill of sbx loses nothing: the page cache stays.  */
  bool volatile_upper;
  char *const *tmpfs;   /* --tmpfs "PATH[:OPTIONS]", NULL-terminated or NULL */
  char **argv;          /* command, argv[0] resolved with the container's PATH */
  char **env;           /* final environment, KEY=VALUE */
  const char *workdir;  /* inside; NULL = "/" */
  const char *user;     /* -u value or NULL */
  const char *hostname; /* NULL: the id's first 12 digits (host's with --network host) */
  struct sbx_mount_spec *mounts;
  size_t n_mounts;
  uint64_t caps;
  enum sbx_network_mode network;
  const struct sbx_net_options *net; /* slirp's options and --dns, or NULL */
  struct sbx_port *ports;            /* -p/-P (slirp only); host ports filled in */
  size_t n_ports;
  char *const *add_hosts; /* --add-host "NAME:IP", NULL-terminated or NULL */
  const char *name;       /* the container's name, for `sbx port`, or NULL */
  /* Detached (`run -d`): the command's stdout and stderr go, line by line
     with a timestamp (the k8s-file format podman uses), to LOG_PATH, its
     stdin is /dev/null; and once it has been executed the monitor writes
     one NUL byte to READY_FD.  */
  bool detached;
  const char *log_path;
  int ready_fd;
  bool tty;
  bool interactive;
  bool init;
  bool read_only;
  bool keep_id;
  /* Root emulation (fakeroot.c): in single-uid mode, fake the chown and
     set*id families and device mknod.  Nothing in subuid mode.  */
  bool fakeroot;
};

/* Run the container described by CFG in the foreground, as its monitor
   (DESIGN.md §2), and return when it has ended.  *EXIT_CODE gets the
   container's status (128+N for signal N) on success, or on failure the code
   the CLI should exit with: 126/127 when the command could not be executed,
   125 for everything else.  */
int sbx_runtime_run (const struct sbx_run_config *cfg, const struct sbx_userns_plan *plan,
                     int *exit_code, struct sbx_error **err);

/* Run FN (ARG) in a forked child that is root of a new user namespace with
   PLAN's id maps (subuid mode: the subordinate range) and a private mount
   namespace, e.g. to unpack or remove layers whose files belong to
   subordinate ids.  FN's error is reported back through *ERR.  FN runs in a
   copy of the process: only its effects on the file system are seen.  */
int sbx_runtime_in_userns (const struct sbx_userns_plan *plan,
                           int (*fn) (void *arg, struct sbx_error **err), void *arg,
                           struct sbx_error **err);

/* Become root of a new user namespace with PLAN's id maps (subuid mode:
   0 is the user, 1..65536 the subordinate range; single mode: 0 is the
   user) and a private mount namespace, and exec ARGV (found along $PATH)
   with the caller's environment, working directory and view of the file
   system: `sbx unshare`.  FAKEROOT: in single mode, set no_new_privs and
   install the root-emulation filter of `sbx run --fakeroot` first.
   Returns only on failure, with *EXIT_CODE 125, or 126/127 when ARGV could
   not be executed.  Call it single-threaded.  */
int sbx_runtime_exec_in_userns (const struct sbx_userns_plan *plan, char *const *argv,
                                bool fakeroot, int *exit_code, struct sbx_error **err);

/* ---- entering a running container (enter.c) ---- */

struct sbx_exec_config
{
  const char *id;      /* the running container */
  char **argv;         /* command */
  char *const *env;    /* -e "K=V" added to the container's environment */
  const char *user;    /* -u, or NULL: the container's user */
  const char *workdir; /* -w, or NULL: the container's */
  bool tty;
  bool interactive;
};

/* Run a command in the running container ID (`sbx exec`): join its
   namespaces (user first), with the container's capabilities, no_new_privs
   and root emulation filter, and wait for it.  *EXIT_CODE as for
   sbx_runtime_run.  */
int sbx_runtime_exec (const struct sbx_exec_config *cfg, int *exit_code, struct sbx_error **err);

/* The host pid of the running container ID's first process (its PID 1),
   or 0.  */
pid_t sbx_runtime_container_pid (const char *id);

/* Manifest digests ("sha256:…") of the images used by running containers
   of this user (NULL-terminated; free with sbx_strv_free).  */
char **sbx_runtime_images_in_use (struct sbx_error **err);

/* The pid of the monitor (sbx run) of the running container ID, or 0 when
   it is not running.  */
pid_t sbx_runtime_monitor_pid (const char *id);

/* The per-user directory for running state: $XDG_RUNTIME_DIR/sbx when it is
   usable, else a private 0700 ${TMPDIR:-/tmp}/sbx-UID.  Created on demand.  */
char *sbx_runtime_state_dir (struct sbx_error **err);

/* A new random container id, 64 hex digits (free() it).  */
char *sbx_runtime_new_id (void);

/* ---- host probes (probe.c) ---- */

/* 0 when this user may create a user namespace; else *ERR with a hint.  */
int sbx_runtime_probe_userns (struct sbx_error **err);
/* "v2", "v1", "hybrid" or "none": how cgroups are mounted on this host.  */
const char *sbx_runtime_cgroup_mode (void);

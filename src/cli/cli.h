/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>

#include "net/net.h"
#include "runtime/runtime.h"

/* The command-line front end: one file per command; each parses its flags
   into a typed request, calls the library and prints the result.  */

#define SBX_EXIT_FAILURE 125 /* sbx itself failed (Docker/Podman convention) */

struct cli_globals
{
  const char *root; /* --root, or NULL for the default store */
};

struct cli_command
{
  const char *name;
  const char *summary;
  int (*run) (const struct cli_globals *g, int argc, char **argv);
  /* Printed as "Examples:" after the command's own --help text, for the
     commands whose help has none itself (NULL otherwise).  */
  const char *examples;
};

int cli_main (int argc, char **argv);

int cli_run (const struct cli_globals *g, int argc, char **argv);
int cli_build (const struct cli_globals *g, int argc, char **argv);
int cli_pull (const struct cli_globals *g, int argc, char **argv);
int cli_images (const struct cli_globals *g, int argc, char **argv);
int cli_rmi (const struct cli_globals *g, int argc, char **argv);
int cli_tag (const struct cli_globals *g, int argc, char **argv);
int cli_inspect (const struct cli_globals *g, int argc, char **argv);
int cli_image (const struct cli_globals *g, int argc, char **argv);
int cli_system (const struct cli_globals *g, int argc, char **argv);
int cli_save (const struct cli_globals *g, int argc, char **argv);
int cli_load (const struct cli_globals *g, int argc, char **argv);
int cli_import (const struct cli_globals *g, int argc, char **argv);
int cli_push (const struct cli_globals *g, int argc, char **argv);
int cli_login (const struct cli_globals *g, int argc, char **argv);
int cli_logout (const struct cli_globals *g, int argc, char **argv);
int cli_info (const struct cli_globals *g, int argc, char **argv);
int cli_unshare (const struct cli_globals *g, int argc, char **argv);
int cli_version (const struct cli_globals *g, int argc, char **argv);
int cli_completion (const struct cli_globals *g, int argc, char **argv);

/* ---- shared by every command (common.c) ---- */

struct sbx_error;

/* Print "sbx: CMD: MSG" for a bad flag and return 125.  */
int cli_usage_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* The unknown or incomplete option at argv[optind-1] after getopt_long.  */
int cli_getopt_error (const char *cmd, int opt, char **argv);
/* The flags of a command that takes only -f/--force and --help: 0 to go on,
   -1 when the help (HELP) was printed, else the exit code of a usage error.  */
int cli_parse_force (const char *cmd, const char *help, int argc, char **argv, bool *force);
/* NO_COLOR (https://no-color.org) is set, or TERM=dumb: no colour, no
   progress bars, even on a terminal.  */
bool cli_no_color (void);
/* Print "sbx: [CMD: ]MSG", free ERR, return CODE.  */
int cli_report (const char *cmd, struct sbx_error *err, int code);

/* ---- shared by the image commands (image-common.c) ---- */

struct sbx_store;
struct sbx_digest;
struct sbx_userns_plan;

/* Parse a boolean flag value (NULL, "true", "1", "false", "0") into *OUT;
   0, or 125 after printing a usage error.  */
int cli_parse_bool (const char *cmd, const char *flag, const char *v, bool *out);
/* Open the store in force (cli_store_root).  */
int cli_open_store (const struct cli_globals *g, struct sbx_store **out, struct sbx_error **err);
/* Normalise an image name as Docker does ("busybox" → "docker.io/library/busybox:latest").  */
char *cli_normalize_ref (const char *s, struct sbx_error **err);
/* Find a stored image by name or id; ENOENT "no such image" when absent.  */
int cli_find_image (struct sbx_store *s, const char *what, struct sbx_digest *manifest,
                    struct sbx_error **err);

/* The digests (manifests, configs, layer blobs and DiffIDs) of the images
   IN_USE ("sha256:…" manifest digests) that a prune must keep; *N of them
   (free() it).  */
struct sbx_digest *cli_keep_digests (struct sbx_store *s, char *const *in_use, size_t *n);
/* "1.23 MB" (Docker's units, powers of 1000).  */
void cli_human_size (int64_t n, char *buf, size_t len);

struct cli_pull_opts
{
  bool quiet;
  bool tls_verify;
  const char *platform; /* "os/arch[/variant]" or NULL */
};

/* Pull NAME (normalised) into the store, unpack its layers and record the
   name; *MANIFEST gets its digest.  */
int cli_pull_image (const struct cli_globals *g, struct sbx_store *s, const char *name,
                    const struct cli_pull_opts *o, struct sbx_digest *manifest,
                    struct sbx_error **err);
struct sbx_registry;
/* A registry client with the user's credentials and O's TLS and platform
   settings.  */
int cli_registry_open (const struct cli_pull_opts *o, struct sbx_registry **out,
                       struct sbx_error **err);
/* Unpack every layer of the stored image MANIFEST that is not unpacked yet
   (in a user namespace, so file owners map as in the container).  */
int cli_unpack_image (struct sbx_store *s, const struct sbx_digest *manifest,
                      const struct sbx_userns_plan *plan, struct sbx_error **err);
/* Run FN in a user namespace when the store holds files of subordinate ids
   (subuid mode), directly otherwise.  */
int cli_store_op (const struct sbx_userns_plan *plan, int (*fn) (void *arg, struct sbx_error **err),
                  void *arg, struct sbx_error **err);
/* ---- kept containers (containers.c) ---- */

struct sbx_container;
enum sbx_storage_driver;

/* A Docker-style random name ("merry_hopper") (free() it).  */
char *cli_container_name (void);
/* Where container ID's writable layer goes: the store, or node-local
   storage when the store is on a network filesystem (then 1).  */
int cli_container_layer_dirs (struct sbx_store *s, const char *id, char **upper, char **work);
/* Whether the store in force sits on a network filesystem.  */
bool cli_store_is_remote (const struct cli_globals *g);
/* --storage-driver / $SBX_STORAGE_DRIVER / auto (probed once per kernel).  */
int cli_pick_driver (const char *want, enum sbx_storage_driver *out, struct sbx_error **err);
const char *cli_driver_name (enum sbx_storage_driver d);
/* Run kept container C in the foreground, record its exit, remove it when
   autoremove.  Returns its exit code, or -1 with *ERR (C->exit_code then
   holds 125/126/127).  With DETACH, return 0 as soon as its command runs
   (the monitor goes on in the background and records the exit).  */
int cli_run_container (struct sbx_store *s, struct sbx_container *c, bool detach,
                       struct sbx_error **err);
/* Tell the monitor of autoremove container ID, about to be stopped by
   `sbx restart`, to keep it when it exits (it drops the mark).  */
int cli_container_mark_restart (struct sbx_store *s, const char *id, struct sbx_error **err);
/* Block until no monitor runs container ID and its exit is recorded.  */
int cli_wait_container (struct sbx_store *s, const char *id);
/* Remove C (in a user namespace).  */
int cli_remove_container (struct sbx_store *s, const struct sbx_container *c,
                          struct sbx_error **err);

int cli_ps (const struct cli_globals *g, int argc, char **argv);
int cli_rm (const struct cli_globals *g, int argc, char **argv);
int cli_start (const struct cli_globals *g, int argc, char **argv);
int cli_commit (const struct cli_globals *g, int argc, char **argv);
int cli_diff (const struct cli_globals *g, int argc, char **argv);

/* ---- network flags (network.c) ---- */

struct cli_net
{
  enum sbx_network_mode mode;
  struct sbx_net_options opts;
  struct sbx_port *ports;
  size_t n_ports;
};

/* --network VALUE: slirp[:OPTIONS] (also slirp4netns[:…]), none or host.  */
int cli_net_parse_mode (const char *spec, struct cli_net *n, struct sbx_error **err);
/* Add -p specs, -P's EXPOSED ports (the image's "8888/tcp" keys) and --dns
   to N, published on ADDRESS unless a spec names its own (the settings'
   publish_address); check that the mode can carry them, and fall back from
   the default slirp to none (with a warning) when /dev/net/tun is unusable
   and neither the mode nor ports were asked for.  */
int cli_net_resolve (struct cli_net *n, const char *address, char *const *publish, bool publish_all,
                     char *const *exposed, char *const *dns, bool explicit_mode,
                     struct sbx_error **err);
/* Point CFG's network fields at N (which must outlive the run).  */
void cli_net_apply (struct cli_net *n, struct sbx_run_config *cfg);
void cli_net_release (struct cli_net *n);
/* Validate an --add-host NAME:IP (or NAME:host-gateway) / --dns IP.  */
int cli_net_check_add_host (const char *spec, struct sbx_error **err);
int cli_net_check_ip (const char *what, const char *ip, struct sbx_error **err);

int cli_port (const struct cli_globals *g, int argc, char **argv);
/* Docker's PORTS column for the running container ID (free() it).  */
char *cli_ports_summary (const char *id);

/* ---- lifecycle.c ---- */
int cli_logs (const struct cli_globals *g, int argc, char **argv);
int cli_stop (const struct cli_globals *g, int argc, char **argv);
int cli_restart (const struct cli_globals *g, int argc, char **argv);
int cli_kill (const struct cli_globals *g, int argc, char **argv);
int cli_wait (const struct cli_globals *g, int argc, char **argv);
int cli_exec (const struct cli_globals *g, int argc, char **argv);
int cli_top (const struct cli_globals *g, int argc, char **argv);
/* `inspect` of a container: its record and state, or NULL when WHAT names
   no container.  */
struct sbx_json;
struct sbx_json *cli_container_inspect (struct sbx_store *store, const char *what);

/* ---- volumes (volume.c) ---- */

int cli_volume (const struct cli_globals *g, int argc, char **argv);
/* Name the anonymous volumes among MOUNTS (random 64 hex digits), create
   the volumes that do not exist yet and point each volume mount's source
   at its directory.  */
int cli_volumes_prepare (struct sbx_store *s, struct sbx_mount_spec *mounts, size_t n,
                         struct sbx_error **err);
/* Remove the anonymous volumes that container C uses and no other container
   does (--rm, rm -v).  */
int cli_volumes_remove_anonymous (struct sbx_store *s, const struct sbx_container *c,
                                  struct sbx_error **err);

/* ---- --format '{{.Field}}' (format.c) ---- */

struct cli_field
{
  const char *name;  /* "Repository" */
  const char *value; /* NULL prints as "" */
};

/* FMT is a template ("{{.Repository}}:{{.Tag}}"), not table or json.  */
bool cli_format_is_template (const char *fmt);
/* TMPL with each {{.Name}} replaced by its field, \t and \n unescaped, and a
   newline added (free() it); NULL with *ERR for an unknown field.  */
char *cli_format_expand (const char *tmpl, const struct cli_field *fields, size_t n,
                         struct sbx_error **err);

/* ---- settings (config.c) ---- */

/* Where a setting's value came from; precedence flag > env > config > default.  */
enum cli_config_source
{
  CLI_CONFIG_DEFAULT = 0,
  CLI_CONFIG_FILE,
  CLI_CONFIG_ENV,
  CLI_CONFIG_FLAG,
};

struct cli_setting
{
  char *value; /* never NULL once loaded */
  enum cli_config_source source;
};

struct cli_mirror_url
{
  char *url;     /* as written: "http://mirror:5000" */
  char *domain;  /* host[:port] */
  bool insecure; /* http:// */
};

struct cli_mirror
{
  char *registry; /* "docker.io", "quay.io", "host:5000" */
  struct cli_mirror_url *urls;
  size_t n_urls;
};

/* ${XDG_CONFIG_HOME:-~/.config}/sbx/config.json, e.g.
     {"root": "/scratch/me/sbx", "storage_driver": "fuse", "network": "host",
      "publish_address": "0.0.0.0", "log_level": "info",
      "registry_mirrors": {"docker.io": ["http://mirror:5000"]},
      "insecure_registries": ["host:5000"]}
   overridden by $SBX_ROOT, $SBX_STORAGE_DRIVER, $SBX_NETWORK ($SBX_LOG is
   read by cli_main).  */
struct cli_config
{
  char *path;
  bool file_exists;
  struct cli_setting root, storage_driver, network, publish_address, log_level;
  char **insecure_registries; /* NULL-terminated, never NULL */
  struct cli_mirror *mirrors;
  size_t n_mirrors;
  char **unknown_keys; /* keys of the file sbx does not know (warned about) */
};

/* Read the file and the environment; a bad value is an error naming the
   key and the file (or variable).  Called once, by cli_main.  */
int cli_config_load (struct sbx_error **err);
/* The settings in force (loaded on first use when cli_main did not).  */
const struct cli_config *cli_config_get (void);
/* For cli_main's global flags (--root, --log-level) and $SBX_LOG.  */
struct cli_config *cli_config_mutable (void);
void cli_config_set (struct cli_setting *st, const char *value, enum cli_config_source src);
const char *cli_config_source_name (enum cli_config_source s);
/* The mirrors configured for REGISTRY ("docker.io"), or NULL.  */
const struct cli_mirror *cli_config_mirrors (const char *registry);
/* ${XDG_CONFIG_HOME:-~/.config}/sbx (free() it).  */
char *cli_config_dir (void);
/* The store root in force: --root, $SBX_ROOT, config.json's "root",
   ${XDG_DATA_HOME:-~/.local/share}/sbx.  */
char *cli_store_root (const struct cli_globals *g);

#ifndef SBX_VERSION
#  define SBX_VERSION "0.1.0"
#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The registry client (OCI distribution spec) and image references.  The
   only module that speaks HTTP (libcurl, only in registry/transport.c).  */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"

struct sbx_error;
struct sbx_store;

/* ---- references (reference.c) ---- */

/* A parsed, normalised image reference, Docker's grammar:
   busybox                → docker.io / library/busybox : latest
   host:5000/ns/name:tag  → host:5000 / ns/name : tag
   name@sha256:…          → digest only (tag NULL)
   name:tag@sha256:…      → both (the digest wins when pulling)  */
struct sbx_reference
{
  char *domain;             /* "docker.io", "localhost:5000", "[::1]:5000" … */
  char *path;               /* "library/busybox" */
  char *tag;                /* NULL when only a digest was given */
  struct sbx_digest digest; /* unset when none */
};

/* Parse S; on error the message names which part is wrong.  */
int sbx_reference_parse (const char *s, struct sbx_reference *out, struct sbx_error **err);
void sbx_reference_release (struct sbx_reference *r);
/* "docker.io/library/busybox:latest", "...@sha256:…" or "...:tag@sha256:…"
   (free() it).  */
char *sbx_reference_string (const struct sbx_reference *r);
/* "domain/path" (free() it).  */
char *sbx_reference_repository (const struct sbx_reference *r);
/* The short form Docker prints: "busybox:latest", "host:5000/x:y" (free() it).  */
char *sbx_reference_familiar (const struct sbx_reference *r);

/* ---- the client (client.c, auth.c, credentials.c, transport.c, progress.c,
   pull.c, push.c) ---- */

struct sbx_registry_opts
{
  /* Verify TLS certificates (--tls-verify).  */
  bool tls_verify;
  /* Registries (domain[:port]) that may be spoken to over plain http and
     without certificate checks, besides localhost/127.0.0.1/[::1] which
     always may (NULL-terminated, may be NULL).  */
  char *const *insecure;
  /* sbx's credential file (sbx login): ${XDG_CONFIG_HOME:-~/.config}/sbx/auth.json.  */
  const char *auth_file;
  /* Docker's, read only: ~/.docker/config.json (NULL: not consulted).  */
  const char *docker_config;
  /* Output: progress bars on a TTY, plain lines otherwise, nothing when quiet.  */
  bool quiet;
  bool tty;
  /* Platform to pick from an index (NULL: the host's).  */
  const char *os;
  const char *arch;
  const char *variant;
};

struct sbx_registry;

int sbx_registry_new (const struct sbx_registry_opts *opts, struct sbx_registry **out,
                      struct sbx_error **err);
void sbx_registry_free (struct sbx_registry *r);

/* Fetch REF's manifest (choosing this platform from an index), config and
   every layer blob into the store S, verifying each against its digest and
   size; layers download in parallel; a blob already stored is not fetched
   again, and concurrent sbx processes never download the same blob twice
   (per-blob flock under tmp/).  Records nothing in images.json: the caller
   does, once the layers are unpacked.  *MANIFEST gets the digest of the
   image manifest.  *UP_TO_DATE (may be NULL) is set when a HEAD showed the
   stored image is current and nothing was fetched.  */
int sbx_registry_pull (struct sbx_registry *r, struct sbx_store *s, const struct sbx_reference *ref,
                       struct sbx_digest *manifest, bool *up_to_date, struct sbx_error **err);

/* Upload the image whose manifest is MANIFEST from S to DEST: blobs the
   registry already has (HEAD) are not uploaded again; monolithic upload for
   small blobs, chunked PATCH uploads for large ones.  */
int sbx_registry_push (struct sbx_registry *r, struct sbx_store *s,
                       const struct sbx_digest *manifest, const struct sbx_reference *dest,
                       struct sbx_error **err);

/* Check USER/PASSWORD against DOMAIN's /v2/ (Basic, or a Bearer token
   challenge) and on success store them (0600) in opts->auth_file.  */
int sbx_registry_login (struct sbx_registry *r, const char *domain, const char *user,
                        const char *password, struct sbx_error **err);
/* Forget DOMAIN's credentials in opts->auth_file (ENOENT when none).  */
int sbx_registry_logout (struct sbx_registry *r, const char *domain, struct sbx_error **err);

/* ---- plain downloads (fetch.c) ---- */

/* GET URL (http:// or https://, redirects followed, TLS checked when
   TLS_VERIFY) and write the body to FD from where it stands (a retry
   truncates FD and starts over).  A status other than 2xx is an error.  */
int sbx_registry_fetch_url (const char *url, int fd, bool tls_verify, struct sbx_error **err);

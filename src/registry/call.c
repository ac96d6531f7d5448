/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running calls in a session: credentials go to the registry only, a TLS
   failure gets a hint, and a 401 is answered by authenticating (auth.c)
   and trying once more.  */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SBX_LOG_MODULE "registry"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

/* Our credentials go only to the registry itself: an upload Location on
   another host gets none.  */
static void
prepare (const struct reg_session *s, struct reg_call *c)
{
  size_t n = strlen (s->base);
  bool ours = strncmp (c->req.url, s->base, n) == 0 && c->req.url[n] == '/';

  c->req.verify_tls = s->ep.verify;
  c->req.authorization = ours ? s->authorization : NULL;
}

/* A TLS failure most often means a registry that speaks plain http, or one
   with a certificate we do not trust: say what to do about it.  */
static int
run_with_hint (struct reg_session *s, struct reg_call *const *calls, size_t n, size_t parallel,
               struct sbx_error **err)
{
  char *msg;
  size_t i;

  if (reg_http_run (s->r->http, calls, n, parallel, err) == 0)
    return 0;
  for (i = 0; i < n; i++)
    if (calls[i]->resp.tls_failed && *err != NULL)
      {
        msg = xasprintf ("%s (hint: if %s speaks plain http or has a self-signed certificate, "
                         "use --tls-verify=false)",
                         (*err)->msg, s->domain);
        free ((*err)->msg);
        (*err)->msg = msg;
        break;
      }
  return -1;
}

int
reg_session_run (struct reg_session *s, struct reg_call *const *calls, size_t n, size_t parallel,
                 struct sbx_error **err)
{
  cleanup_free struct reg_call **again = NULL;
  cleanup_free char *authz = NULL;
  size_t i, m = 0;

  for (i = 0; i < n; i++)
    prepare (s, calls[i]);
  if (run_with_hint (s, calls, n, parallel, err) < 0)
    return -1;

  again = xcalloc (n ? n : 1, sizeof *again);
  for (i = 0; i < n; i++)
    if (calls[i]->resp.status == 401 && calls[i]->resp.www_authenticate != NULL)
      again[m++] = calls[i];
  if (m == 0)
    return 0;

  if (reg_auth_authorize (s, again[0]->resp.www_authenticate, &authz, err) < 0)
    return -1;
  if (authz == NULL)
    return 0; /* nothing to offer: the 401 stands */
  free (s->authorization);
  s->authorization = steal_ptr (&authz);
  for (i = 0; i < m; i++)
    prepare (s, again[i]);
  return run_with_hint (s, again, m, parallel, err);
}

int
reg_session_call (struct reg_session *s, struct reg_call *c, struct sbx_error **err)
{
  return reg_session_run (s, (struct reg_call *[]){ c }, 1, 1, err);
}

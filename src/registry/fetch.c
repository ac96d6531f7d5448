/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A plain HTTP(S) GET into a file, for `ADD URL` in sbx build: the same
   engine as the registry client (retries, redirects, TLS checks), no
   registry protocol.  */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "registry/internal.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

struct fd_sink
{
  int fd;
};

static int
fd_sink_reset (void *arg, struct sbx_error **err)
{
  struct fd_sink *s = arg;

  if (ftruncate (s->fd, 0) < 0 || lseek (s->fd, 0, SEEK_SET) < 0)
    return sbx_err_errno (err, "truncate the download");
  return 0;
}

static int
fd_sink_write (void *arg, const void *data, size_t len, struct sbx_error **err)
{
  struct fd_sink *s = arg;
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (s->fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sbx_err_errno (err, "write the download");
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
sbx_registry_fetch_url (const char *url, int fd, bool tls_verify, struct sbx_error **err)
{
  struct fd_sink fs = { .fd = fd };
  const struct reg_sink sink = { .reset = fd_sink_reset, .write = fd_sink_write, .arg = &fs };
  cleanup_call struct reg_call c = REG_CALL_INIT;
  struct reg_http *h = NULL;
  cleanup_free char *shown = reg_url_for_display (url);
  int r;

  if (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0)
    return sbx_err (err, EINVAL, "`%s`: only http:// and https:// URLs can be fetched", shown);
  if (reg_http_new (&h, err) < 0)
    return -1;
  c.req.method = "GET";
  c.req.url = url;
  c.req.verify_tls = tls_verify;
  c.req.follow = true;
  c.req.sink = &sink;
  r = reg_http_run (h, (struct reg_call *[]){ &c }, 1, 1, err);
  reg_http_free (h);
  if (r < 0)
    return sbx_err_prefix (err, "GET %s", shown);
  if (c.resp.status < 200 || c.resp.status > 299)
    return sbx_err (err, EIO, "GET %s: HTTP status %ld", shown, c.resp.status);
  return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

char *
etc_hosts_content (const char *hostname, enum sbx_network_mode net, const char *host_hosts)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;

  if (net == SBX_NETWORK_HOST && host_hosts)
    {
      /* Host networking: the host's names resolve as on the host.  */
      sbx_strbuf_addstr (&sb, host_hosts);
      if (sb.len && sb.buf[sb.len - 1] != '\n')
        sbx_strbuf_addch (&sb, '\n');
      sbx_strbuf_addf (&sb, "127.0.1.1\t%s\n", hostname);
      return sbx_strbuf_detach (&sb);
    }
  sbx_strbuf_addstr (&sb, "127.0.0.1\tlocalhost\n"
                          "::1\tlocalhost ip6-localhost ip6-loopback\n"
                          "fe00::0\tip6-localnet\n"
                          "ff00::0\tip6-mcastprefix\n"
                          "ff02::1\tip6-allnodes\n"
                          "ff02::2\tip6-allrouters\n");
  sbx_strbuf_addf (&sb, "127.0.1.1\t%s\n", hostname);
  return sbx_strbuf_detach (&sb);
}

char *
etc_resolv_content (const char *host_resolv)
{
  cleanup_strbuf struct sbx_strbuf sb = SBX_STRBUF_INIT;
  const char *line = host_resolv ? host_resolv : "";
  bool have_ns = false;

  /* Keep the host's search domains and options; drop loopback name servers
     (systemd-resolved's 127.0.0.53 cannot be reached from a container).  */
  while (*line)
    {
      const char *end = strchrnul (line, '\n');
      size_t len = (size_t) (end - line);
      cleanup_free char *l = xstrndup (line, len);

      line = *end ? end + 1 : end;
      if (strncmp (l, "nameserver", 10) == 0)
        {
          const char *a = l + 10;

          a += strspn (a, " \t");
          if (strncmp (a, "127.", 4) == 0 || strcmp (a, "::1") == 0)
            continue;
          have_ns = true;
        }
      sbx_strbuf_addf (&sb, "%s\n", l);
    }
  if (! have_ns)
    sbx_strbuf_addstr (&sb, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  return sbx_strbuf_detach (&sb);
}

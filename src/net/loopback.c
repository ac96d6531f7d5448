/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hints.h"

int
sbx_net_loopback_up (struct sbx_error **err)
{
  cleanup_close int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;

  if (s < 0)
    return sbx_err_errno (err, "socket");
  memset (&ifr, 0, sizeof ifr);
  strncpy (ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return sbx_err_errno (err, "get flags of `lo`");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return sbx_err_errno (err, "bring up `lo`");
  return 0;
}

int
sbx_net_probe_tun (struct sbx_error **err)
{
  int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    {
      sbx_err_errno (err, "open /dev/net/tun");
      return sbx_err_hint (err, SBX_HINT_TUN);
    }
  (void) close (fd);
  return 0;
}

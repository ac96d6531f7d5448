/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Container networking (DESIGN.md §6).  For now: the loopback interface of a
   fresh network namespace (--network none).  libslirp and published ports
   come with the network issue.  */

struct sbx_error;

/* Bring up "lo" in the calling process's network namespace.  */
int sbx_net_loopback_up (struct sbx_error **err);

/* 0 when /dev/net/tun can be opened (needed for --network slirp).  */
int sbx_net_probe_tun (struct sbx_error **err);

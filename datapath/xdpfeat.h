/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdpfeat.h - what XDP actions a device supports, from the kernel's
 * "netdev" generic netlink family.
 */
#ifndef XM_XDPFEAT_H
#define XM_XDPFEAT_H

#include <linux/types.h>

/*
 * From the kernel's uapi linux/netdev.h (added in 6.3; Debian 12's
 * headers are 6.1): the family, its DEV_GET command and attributes, and
 * the feature bits used here.
 */
#define XM_NETDEV_FAMILY "netdev"
#define XM_NETDEV_CMD_DEV_GET 1
#define XM_NETDEV_A_DEV_IFINDEX 1
#define XM_NETDEV_A_DEV_XDP_FEATURES 3
#define XM_NETDEV_XDP_ACT_REDIRECT (1ULL << 1)
#define XM_NETDEV_XDP_ACT_NDO_XMIT (1ULL << 2)

/* The NETDEV_XDP_ACT_* mask of ifindex into *feat.  -EOPNOTSUPP when
 * the kernel has no netdev family (before 6.3). */
int xm_xdp_features(unsigned int ifindex, __u64 *feat);

#endif /* XM_XDPFEAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nexthop.h - route and neighbour resolution over rtnetlink (libmnl) for
 * the collectors' encapsulation templates.  Main thread only.
 */
#ifndef XM_NEXTHOP_H
#define XM_NEXTHOP_H

#include <stdbool.h>
#include <linux/types.h>

struct mnl_socket;

struct xm_nl {
	struct mnl_socket *req;	/* request/response */
	struct mnl_socket *ev;	/* neighbour, IPv4/IPv6 route and link events */
	__u32 portid;
	__u32 seq;
};

/* Result of a route lookup for one destination. */
struct xm_route {
	__u32 oif;
	__u8 family;		/* 4 or 6 */
	__u8 has_gw;		/* 0: directly connected */
	__u8 has_src;		/* 0: the kernel gave no source */
	__u8 pad;
	__u8 gateway[16];
	__u8 prefsrc[16];
};

int xm_nl_open(struct xm_nl *nl);
void xm_nl_close(struct xm_nl *nl);
/* fd of the event socket, for poll(). */
int xm_nl_event_fd(const struct xm_nl *nl);
/* Read every pending event; returns how many messages were seen. */
int xm_nl_drain_events(struct xm_nl *nl);

/* Addresses below are 16-byte buffers holding 4 (family 4) or 16
 * (family 6) bytes in network order. */

/* RTM_GETROUTE for dst.  -ENETUNREACH when there is no unicast route. */
int xm_nh_route(struct xm_nl *nl, __u8 family, const __u8 dst[16],
		struct xm_route *rt);
/*
 * RTM_GETNEIGH for addr on oif.  0 with mac filled when the entry has a
 * usable link-layer address; *stale says the entry wants re-validation.
 * -ENOENT when it has none (absent, incomplete or failed).
 */
int xm_nh_neigh(struct xm_nl *nl, __u8 family, __u32 oif,
		const __u8 addr[16], __u8 mac[6], bool *stale);
/* Ask the kernel to resolve (or re-validate) addr on oif: RTM_NEWNEIGH
 * with NTF_USE, which sends an ARP request or a neighbour solicitation
 * like a stack packet would. */
int xm_nh_solicit(struct xm_nl *nl, __u8 family, __u32 oif,
		  const __u8 addr[16]);

/* MAC address of a device (SIOCGIFHWADDR). */
int xm_dev_mac(const char *ifname, __u8 mac[6]);
/* MTU of a device (SIOCGIFMTU). */
int xm_dev_mtu(const char *ifname, __u32 *mtu);

#endif /* XM_NEXTHOP_H */

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
	struct mnl_socket *ev;	/* RTNLGRP_NEIGH + RTNLGRP_IPV4_ROUTE */
	__u32 portid;
	__u32 seq;
};

/* Result of a route lookup for one IPv4 destination. */
struct xm_route4 {
	__u32 oif;
	__be32 gateway;		/* 0 when directly connected */
	__be32 prefsrc;		/* 0 when the kernel gave none */
};

int xm_nl_open(struct xm_nl *nl);
void xm_nl_close(struct xm_nl *nl);
/* fd of the event socket, for poll(). */
int xm_nl_event_fd(const struct xm_nl *nl);
/* Read every pending event; returns how many messages were seen. */
int xm_nl_drain_events(struct xm_nl *nl);

/* RTM_GETROUTE for dst.  -ENETUNREACH when there is no unicast route. */
int xm_nh_route4(struct xm_nl *nl, __be32 dst, struct xm_route4 *rt);
/*
 * RTM_GETNEIGH for addr on oif.  0 with mac filled when the entry has a
 * usable link-layer address; *stale says the entry wants re-validation.
 * -ENOENT when it has none (absent, incomplete or failed).
 */
int xm_nh_neigh4(struct xm_nl *nl, __u32 oif, __be32 addr, __u8 mac[6],
		 bool *stale);
/* Ask the kernel to resolve (or re-validate) addr on oif: RTM_NEWNEIGH
 * with NTF_USE, which sends an ARP request like a stack packet would. */
int xm_nh_solicit4(struct xm_nl *nl, __u32 oif, __be32 addr);

/* MAC address of a device (SIOCGIFHWADDR). */
int xm_dev_mac(const char *ifname, __u8 mac[6]);

#endif /* XM_NEXTHOP_H */

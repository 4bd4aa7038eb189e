// SPDX-License-Identifier: GPL-2.0
/*
 * nexthop.c - route and neighbour lookups for collector templates.
 *
 * The datapath transmits with AF_XDP, below the IP stack, so it must find
 * the next hop's MAC itself.  It asks the kernel (RTM_GETROUTE, then
 * RTM_GETNEIGH on the route's device) and, when the neighbour is unknown,
 * makes the kernel resolve it with an NTF_USE update: the same ARP the
 * stack would send for a packet of its own, with no packet of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "nexthop.h"

/* The kernel's NUD_VALID (include/net/neighbour.h, not in the UAPI):
 * every state in which the entry holds a link-layer address. */
#define XM_NUD_VALID                                                     \
	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | \
	 NUD_DELAY)

/* Replies to one request are small; events are drained in this size. */
#define XM_NL_BUF 8192

static int xm_nl_sock(struct mnl_socket **out, unsigned int groups)
{
	struct mnl_socket *s;
	int flags;

	s = mnl_socket_open(NETLINK_ROUTE);
	if (!s)
		return -errno;
	if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(s);
		return err;
	}
	/* Every read is driven by poll() or follows a request: never block
	 * the control loop on a lost reply. */
	flags = fcntl(mnl_socket_get_fd(s), F_GETFL);
	fcntl(mnl_socket_get_fd(s), F_SETFL, flags | O_NONBLOCK);
	*out = s;
	return 0;
}

int xm_nl_open(struct xm_nl *nl)
{
	unsigned int groups = (1u << (RTNLGRP_NEIGH - 1)) |
			      (1u << (RTNLGRP_IPV4_ROUTE - 1)) |
			      (1u << (RTNLGRP_IPV6_ROUTE - 1)) |
			      (1u << (RTNLGRP_LINK - 1));
	int err;

	memset(nl, 0, sizeof(*nl));
	err = xm_nl_sock(&nl->req, 0);
	if (err)
		return err;
	err = xm_nl_sock(&nl->ev, groups);
	if (err) {
		mnl_socket_close(nl->req);
		nl->req = NULL;
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->req);
	nl->seq = (__u32)time(NULL);
	return 0;
}

void xm_nl_close(struct xm_nl *nl)
{
	if (nl->ev)
		mnl_socket_close(nl->ev);
	if (nl->req)
		mnl_socket_close(nl->req);
	nl->ev = nl->req = NULL;
}

int xm_nl_event_fd(const struct xm_nl *nl)
{
	return mnl_socket_get_fd(nl->ev);
}

int xm_nl_drain_events(struct xm_nl *nl)
{
	char buf[XM_NL_BUF];
	int n = 0;

	while (mnl_socket_recvfrom(nl->ev, buf, sizeof(buf)) > 0)
		n++;
	return n;
}

/* Wait up to 1 s for the reply to the request just sent. */
static int xm_nl_wait(struct xm_nl *nl)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < 1000; i++) {
		char c;
		ssize_t r = recv(mnl_socket_get_fd(nl->req), &c, 1,
				 MSG_PEEK | MSG_DONTWAIT);

		if (r >= 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/* Send nlh and run cb over the reply; returns the callback's result or
 * the netlink error. */
static int xm_nl_talk(struct xm_nl *nl, struct nlmsghdr *nlh,
		      mnl_cb_t cb, void *data)
{
	char buf[XM_NL_BUF];
	__u32 seq = ++nl->seq;
	ssize_t n;
	int ret, err;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* Requests here are not dumps: one reply (or one ack) ends them. */
	err = xm_nl_wait(nl);
	if (err)
		return err;
	n = mnl_socket_recvfrom(nl->req, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
	return ret < 0 ? -errno : 0;
}

static int xm_af(__u8 family)
{
	return family == 6 ? AF_INET6 : AF_INET;
}

static __u32 xm_alen(__u8 family)
{
	return family == 6 ? 16 : 4;
}

/* Copy an address attribute of the expected length; 1 when taken. */
static int xm_attr_addr(const struct nlattr *a, __u8 family, __u8 out[16])
{
	if (mnl_attr_get_payload_len(a) != xm_alen(family))
		return 0;
	memcpy(out, mnl_attr_get_payload(a), xm_alen(family));
	return 1;
}

struct xm_route_cb {
	struct xm_route *rt;
	int found;
};

static int xm_route_attr(const struct nlattr *a, void *data)
{
	struct xm_route *rt = data;

	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			rt->oif = mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
		rt->has_gw = (__u8)xm_attr_addr(a, rt->family, rt->gateway);
		break;
	case RTA_PREFSRC:
		rt->has_src = (__u8)xm_attr_addr(a, rt->family, rt->prefsrc);
		break;
	}
	return MNL_CB_OK;
}

static int xm_route_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct xm_route_cb *rc = data;

	/* Local, broadcast, unreachable ... are no way to a collector. */
	if (rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), xm_route_attr, rc->rt);
	rc->found = rc->rt->oif != 0;
	return MNL_CB_OK;
}

int xm_nh_route(struct xm_nl *nl, __u8 family, const __u8 dst[16],
		struct xm_route *rt)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xm_route_cb rc = { .rt = rt };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	memset(rt, 0, sizeof(*rt));
	rt->family = family;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)xm_af(family);
	rtm->rtm_dst_len = (unsigned char)(xm_alen(family) * 8);
	mnl_attr_put(nlh, RTA_DST, xm_alen(family), dst);
	err = xm_nl_talk(nl, nlh, xm_route_msg, &rc);
	if (err)
		return err == -EHOSTUNREACH || err == -ENETUNREACH ?
			       -ENETUNREACH : err;
	return rc.found ? 0 : -ENETUNREACH;
}

struct xm_neigh_cb {
	__u8 *mac;
	__u16 state;
	int has_mac;
};

static int xm_neigh_attr(const struct nlattr *a, void *data)
{
	struct xm_neigh_cb *nc = data;

	if (mnl_attr_get_type(a) == NDA_LLADDR &&
	    mnl_attr_get_payload_len(a) == 6) {
		memcpy(nc->mac, mnl_attr_get_payload(a), 6);
		nc->has_mac = 1;
	}
	return MNL_CB_OK;
}

static int xm_neigh_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct xm_neigh_cb *nc = data;

	nc->state = ndm->ndm_state;
	mnl_attr_parse(nlh, sizeof(*ndm), xm_neigh_attr, nc);
	return MNL_CB_OK;
}

/* Header of a neighbour request for addr on oif. */
static struct nlmsghdr *xm_neigh_req(char *buf, __u16 type, __u16 flags,
				     __u8 family, __u32 oif,
				     const __u8 addr[16], struct ndmsg **out)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (__u8)xm_af(family);
	ndm->ndm_ifindex = (int)oif;
	mnl_attr_put(nlh, NDA_DST, xm_alen(family), addr);
	*out = ndm;
	return nlh;
}

int xm_nh_neigh(struct xm_nl *nl, __u8 family, __u32 oif,
		const __u8 addr[16], __u8 mac[6], bool *stale)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xm_neigh_cb nc = { .mac = mac };
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int err;

	nlh = xm_neigh_req(buf, RTM_GETNEIGH, NLM_F_REQUEST, family, oif, addr,
			   &ndm);
	err = xm_nl_talk(nl, nlh, xm_neigh_msg, &nc);
	if (err)
		return err;
	if (!nc.has_mac || !(nc.state & XM_NUD_VALID))
		return -ENOENT;
	*stale = nc.state & NUD_STALE;
	return 0;
}

int xm_nh_solicit(struct xm_nl *nl, __u8 family, __u32 oif,
		  const __u8 addr[16])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	/* Checked on 6.18: NTF_USE with NUD_NONE and CREATE|REPLACE makes an
	 * entry if needed and starts resolution (ip neigh replace ... use),
	 * ARP for IPv4 and neighbour solicitation for IPv6. */
	nlh = xm_neigh_req(buf, RTM_NEWNEIGH,
			   NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE |
				   NLM_F_ACK,
			   family, oif, addr, &ndm);
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	return xm_nl_talk(nl, nlh, NULL, NULL);
}

/* One SIOCGIF* request for ifname. */
static int xm_dev_ioctl(const char *ifname, unsigned long req,
			struct ifreq *ifr)
{
	int fd, err = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(ifr, 0, sizeof(*ifr));
	strcpy(ifr->ifr_name, ifname);
	if (ioctl(fd, req, ifr))
		err = -errno;
	close(fd);
	return err;
}

int xm_dev_mac(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr;
	int err;

	err = xm_dev_ioctl(ifname, SIOCGIFHWADDR, &ifr);
	if (!err)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return err;
}

int xm_dev_mtu(const char *ifname, __u32 *mtu)
{
	struct ifreq ifr;
	int err;

	err = xm_dev_ioctl(ifname, SIOCGIFMTU, &ifr);
	if (!err)
		*mtu = (__u32)ifr.ifr_mtu;
	return err;
}

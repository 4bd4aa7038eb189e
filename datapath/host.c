// SPDX-License-Identifier: GPL-2.0
/*
 * host.c - host mode: the private veth pair, the tc programs on the
 * NIC and the XDP program on both ends of the pair; start, stop and the
 * clean-up after a crashed daemon.
 *
 *   NIC tc ingress --bpf_clone_redirect--> xmt<N> ==veth==> xmr<N> XDP
 *   NIC tc egress  --bpf_clone_redirect--> xmr<N> ==veth==> xmt<N> XDP
 *	 --XDP_TX--> xmr<N> XDP;  xmr<N> XDP --> AF_XDP socket (queue 0)
 *   worker: encapsulate --> AF_XDP TX on the NIC (no tc, no qdisc)
 *
 * The BPF objects (host.bpf.c, host_xdp.bpf.c) use the maps of the
 * daemon's appliance object, which are the pinned ones mirrorctl sees.
 *
 * Everything start adds is named after the NIC's ifindex N, so two
 * host-mode daemons on two NICs never collide, and a crashed daemon's
 * leftovers are found by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>

#include "mirror.skel.h"
#include "host.skel.h"
#include "host_xdp.skel.h"
#include "daemon.h"
#include "host.h"

/*
 * tcx (kernel 6.6): tc programs attached through BPF links, several per
 * hook, ordered.  The 6.1 UAPI headers and libbpf 1.1 here have neither
 * the attach types nor the ordering flags.
 */
#define XM_BPF_TCX_INGRESS 46
#define XM_BPF_TCX_EGRESS 47
#define XM_BPF_F_BEFORE (1U << 3)
#define XM_BPF_F_AFTER (1U << 4)

/* clsact fallback (kernels before 6.6): our filters' handle and
 * priority, fixed so that a crashed daemon's filters can be found. */
#define XM_TC_HANDLE 0x584d
#define XM_TC_PRIO 0x584d

/* Test hook: XM_HOST_TC=clsact takes the fallback even where tcx works. */
#define XM_HOST_TC_ENV "XM_HOST_TC"

/* The largest MTU a veth takes with a single-buffer XDP program (a page
 * less the XDP headroom and the skb's shared info), rounded down. */
#define XM_HOST_XDP_MTU 3456u

#define XM_HOST_PROG_PREFIX "xm_host_"

void xm_host_names(unsigned int nic_ifindex, char rx[IF_NAMESIZE],
		   char peer[IF_NAMESIZE])
{
	/* "xmr" + at most 10 digits: always fits IF_NAMESIZE (16). */
	snprintf(rx, IF_NAMESIZE, "xmr%u", nic_ifindex);
	snprintf(peer, IF_NAMESIZE, "xmt%u", nic_ifindex);
}

/* ---- rtnetlink ------------------------------------------------------ */

/* Send one request and wait for its acknowledgement (or its dump, each
 * message of which goes to cb).  Returns 0 or a negative errno. */
static int xm_host_nl(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	ssize_t n;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = 1;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, 1, portid, cb, data);
	} while (ret > 0);
	if (ret < 0)
		ret = -errno;
out:
	mnl_socket_close(nl);
	return ret;
}

/* The veth pair rx <-> peer, one queue each, both with this MTU. */
static int xm_veth_add(const char *rx, const char *peer, __u32 mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *info, *data, *pa;
	struct ifinfomsg *ifm;
	size_t pad = MNL_ALIGN(sizeof(*ifm));

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL |
			   NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, rx);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
	mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pa = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	memset(mnl_nlmsg_get_payload_tail(nlh), 0, pad);
	nlh->nlmsg_len += (unsigned int)pad;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, 1);
	mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, 1);
	mnl_attr_nest_end(nlh, pa);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return xm_host_nl(nlh, NULL, NULL);
}

/* Delete a device (a veth takes its peer with it). */
static int xm_link_del(unsigned int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	return xm_host_nl(nlh, NULL, NULL);
}

/* What a filter dump found: how many filters, and whether ours. */
struct xm_tc_dump {
	unsigned int count;
	bool ours;
};

static int xm_tc_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct xm_tc_dump *r = data;

	r->count++;
	/* tcm_info: priority in the upper 16 bits, protocol below. */
	if (tcm->tcm_handle == XM_TC_HANDLE &&
	    TC_H_MAJ(tcm->tcm_info) >> 16 == XM_TC_PRIO)
		r->ours = true;
	return MNL_CB_OK;
}

/* The filters under one clsact hook (parent) of ifindex. */
static int xm_tc_filters(unsigned int ifindex, __u32 parent,
			 struct xm_tc_dump *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)ifindex;
	tcm->tcm_parent = parent;
	memset(r, 0, sizeof(*r));
	return xm_host_nl(nlh, xm_tc_dump_cb, r);
}

struct xm_qdisc_find {
	int ifindex;
	bool found;
};

static int xm_qdisc_attr_cb(const struct nlattr *a, void *data)
{
	bool *clsact = data;

	if (mnl_attr_get_type(a) == TCA_KIND &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING) &&
	    !strcmp(mnl_attr_get_str(a), "clsact"))
		*clsact = true;
	return MNL_CB_OK;
}

static int xm_qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct xm_qdisc_find *q = data;
	bool clsact = false;

	if (tcm->tcm_ifindex != q->ifindex)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*tcm), xm_qdisc_attr_cb, &clsact);
	q->found |= clsact;
	return MNL_CB_OK;
}

/* Does ifindex have a clsact qdisc?  Asked of the kernel directly:
 * libbpf would log its refusal to create a second one. */
static int xm_has_clsact(unsigned int ifindex, bool *found)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct xm_qdisc_find q = { .ifindex = (int)ifindex };
	struct tcmsg *tcm;
	int err;

	nlh->nlmsg_type = RTM_GETQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)ifindex;
	err = xm_host_nl(nlh, xm_qdisc_cb, &q);
	*found = q.found;
	return err;
}

/* ---- device settings -------------------------------------------------- */

static int xm_ifreq_ioctl(const char *dev, unsigned long req,
			  struct ifreq *ifr)
{
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strncpy(ifr->ifr_name, dev, IF_NAMESIZE - 1);
	if (ioctl(fd, req, ifr))
		err = -errno;
	close(fd);
	return err;
}

static int xm_ethtool(const char *dev, struct ethtool_value *ev)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (void *)ev;
	return xm_ifreq_ioctl(dev, SIOCETHTOOL, &ifr);
}

/*
 * The clones leave the host's stack through this device: TX checksum
 * offload off, so the kernel finishes the CHECKSUM_PARTIAL checksums of
 * locally sent frames before the veth (with it on, every TCP copy would
 * carry a wrong checksum); TSO goes with it, so GSO frames are cut to
 * wire size on the way.  VLAN TX offload off: a tag held in skb
 * metadata is written into the frame, as on the wire.
 */
static int xm_host_offloads(const char *dev)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	int err;

	err = xm_ethtool(dev, &ev);
	if (err)
		return err;
	ev.cmd = ETHTOOL_GFLAGS;
	err = xm_ethtool(dev, &ev);
	if (err)
		return err;
	if (!(ev.data & ETH_FLAG_TXVLAN))
		return 0;
	ev.cmd = ETHTOOL_SFLAGS;
	ev.data &= ~(__u32)ETH_FLAG_TXVLAN;
	return xm_ethtool(dev, &ev);
}

static int xm_dev_up(const char *dev)
{
	struct ifreq ifr;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	err = xm_ifreq_ioctl(dev, SIOCGIFFLAGS, &ifr);
	if (err)
		return err;
	ifr.ifr_flags |= IFF_UP;
	return xm_ifreq_ioctl(dev, SIOCSIFFLAGS, &ifr);
}

/* No IPv6 on the pair: the kernel would send router solicitations, MLD
 * and DAD into it, and they would arrive as clones.  (No IPv4 address
 * either, so no ARP.)  Absent IPv6 is fine. */
static void xm_no_ipv6(const char *dev)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 dev);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		xm_log("%s: cannot disable IPv6: %s", dev, strerror(errno));
	close(fd);
}

/* Is dev a veth?  Guards the crash clean-up against deleting a device
 * of somebody else's that happens to carry our name. */
static bool xm_is_veth(const char *dev)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (void *)&di;
	return !xm_ifreq_ioctl(dev, SIOCETHTOOL, &ifr) &&
	       !strcmp(di.driver, "veth");
}

/* ---- BPF objects ------------------------------------------------------ */

/* Make every map of obj the daemon's map of the same name: the rules,
 * collectors and counters mirrorctl sees are the pinned ones. */
static int xm_host_reuse_maps(struct xm_daemon *d, struct bpf_object *obj,
			      char *msg, size_t len)
{
	const struct bpf_map *src;
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map(m, obj) {
		if (bpf_map__is_internal(m))
			continue;	/* .rodata, .bss: the object's own */
		src = bpf_object__find_map_by_name(d->skel->obj,
						   bpf_map__name(m));
		if (!src) {
			snprintf(msg, len, "host mode: map '%s' is not in the appliance object",
				 bpf_map__name(m));
			return -ENOENT;
		}
		err = bpf_map__reuse_fd(m, bpf_map__fd(src));
		if (err) {
			snprintf(msg, len, "host mode: sharing map '%s': %s",
				 bpf_map__name(m), strerror(-err));
			return err;
		}
	}
	return 0;
}

static int xm_host_load_xdp(struct xm_daemon *d, struct xm_host *h,
			    char *msg, size_t len)
{
	struct host_xdp_bpf *s;
	int err;

	s = host_xdp_bpf__open();
	if (!s) {
		err = -errno;
		snprintf(msg, len, "opening the host XDP program: %s",
			 strerror(-err));
		return err;
	}
	h->xdp = s;
	s->rodata->nic_ifindex = d->opt.ifindex;
	s->rodata->peer_ifindex = h->peer_ifindex;
	err = xm_host_reuse_maps(d, s->obj, msg, len);
	if (err)
		return err;
	err = host_xdp_bpf__load(s);
	if (err)
		snprintf(msg, len, "loading the host XDP program: %s",
			 strerror(-err));
	return err;
}

static int xm_host_load_tc(struct xm_daemon *d, struct xm_host *h,
			   char *msg, size_t len)
{
	struct host_bpf *s;
	int err;

	s = host_bpf__open();
	if (!s) {
		err = -errno;
		snprintf(msg, len, "opening the host tc program: %s",
			 strerror(-err));
		return err;
	}
	h->tc = s;
	s->rodata->nic_ifindex = d->opt.ifindex;
	s->rodata->in_ifindex = h->peer_ifindex;
	s->rodata->out_ifindex = h->rx_ifindex;
	s->rodata->kpath_on = d->opt.datapath != XM_DP_AFXDP;
	s->rodata->k_ifindex = h->rx_ifindex;
	bpf_program__set_autoload(s->progs.xm_host_tc_kpath,
				  s->rodata->kpath_on);
	/* Only the hooks of the directions asked for. */
	bpf_program__set_autoload(s->progs.xm_host_tc_in, h->dir & XM_DIR_IN);
	bpf_program__set_autoload(s->progs.xm_host_tc_out,
				  h->dir & XM_DIR_OUT);
	err = xm_host_reuse_maps(d, s->obj, msg, len);
	if (err)
		return err;
	err = host_bpf__load(s);
	if (err)
		snprintf(msg, len, "loading the host tc program: %s",
			 strerror(-err));
	return err;
}

/* Native XDP on both ends of the pair: one program, which tells them
 * apart by the receiving device. */
static int xm_host_attach_xdp(struct xm_host *h, char *msg, size_t len)
{
	int fd = bpf_program__fd(h->xdp->progs.xm_host_xdp);
	int err;

	err = bpf_xdp_attach((int)h->rx_ifindex, fd, XDP_FLAGS_DRV_MODE,
			     NULL);
	if (err) {
		snprintf(msg, len, "attaching XDP to %s: %s", h->rx_dev,
			 strerror(-err));
		return err;
	}
	h->xdp_rx = true;
	err = bpf_xdp_attach((int)h->peer_ifindex, fd, XDP_FLAGS_DRV_MODE,
			     NULL);
	if (err) {
		snprintf(msg, len, "attaching XDP to %s: %s", h->peer_dev,
			 strerror(-err));
		return err;
	}
	h->xdp_peer = true;
	return 0;
}

/* ---- start / stop ----------------------------------------------------- */

int xm_host_start(struct xm_daemon *d, char *msg, size_t len)
{
	struct xm_host *h;
	const char *devs[2];
	__u32 mtu;
	int err, i;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	d->host = h;
	h->dir = d->opt.host_dir;
	h->hook[0].link_fd = h->hook[1].link_fd = h->khook.link_fd = -1;
	xm_host_names(d->opt.ifindex, h->rx_dev, h->peer_dev);
	if (if_nametoindex(h->rx_dev) || if_nametoindex(h->peer_dev)) {
		snprintf(msg, len, "host mode: %s or %s already exists (another daemon's? `stop --dev %s` removes a dead one's)",
			 h->rx_dev, h->peer_dev, d->opt.dev);
		return -EEXIST;
	}
	err = xm_dev_mtu(d->opt.dev, &mtu);
	if (err) {
		snprintf(msg, len, "MTU of %s: %s", d->opt.dev, strerror(-err));
		return err;
	}
	/* A veth takes a single-buffer XDP program only up to about
	 * 3.5 KB of MTU: a jumbo NIC's clones longer than that cannot be
	 * mirrored (clone_fail). */
	if (mtu > XM_HOST_XDP_MTU) {
		xm_log("host mode: %s has MTU %u; %s/%s get %u, frames longer than that are not mirrored (clone_fail)",
		       d->opt.dev, mtu, h->rx_dev, h->peer_dev,
		       XM_HOST_XDP_MTU);
		mtu = XM_HOST_XDP_MTU;
	}
	err = xm_veth_add(h->rx_dev, h->peer_dev, mtu);
	if (err) {
		snprintf(msg, len, "creating veth pair %s/%s: %s", h->rx_dev,
			 h->peer_dev, strerror(-err));
		return err;
	}
	h->veth_made = true;
	h->rx_ifindex = if_nametoindex(h->rx_dev);
	h->peer_ifindex = if_nametoindex(h->peer_dev);
	if (!h->rx_ifindex || !h->peer_ifindex) {
		snprintf(msg, len, "veth pair %s/%s vanished", h->rx_dev,
			 h->peer_dev);
		return -ENODEV;
	}
	devs[0] = h->rx_dev;
	devs[1] = h->peer_dev;
	for (i = 0; i < 2; i++) {
		xm_no_ipv6(devs[i]);
		err = xm_host_offloads(devs[i]);
		if (!err)
			err = xm_dev_up(devs[i]);
		if (err) {
			snprintf(msg, len, "setting up %s: %s", devs[i],
				 strerror(-err));
			return err;
		}
	}
	err = xm_host_load_xdp(d, h, msg, len);
	if (err)
		return err;
	err = xm_host_attach_xdp(h, msg, len);
	if (err)
		return err;
	return xm_host_load_tc(d, h, msg, len);
}

/* tcx: ingress first (the frame as it arrived, before other programs
 * change or drop it), egress last (the frame as it leaves). */
static int xm_host_tcx(struct xm_host_hook *hk, unsigned int ifindex, int d,
		       int prog_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, o,
		    .flags = d == XM_HOST_IN ? XM_BPF_F_BEFORE :
					       XM_BPF_F_AFTER);
	int fd;

	fd = bpf_link_create(prog_fd, (int)ifindex,
			     (enum bpf_attach_type)(d == XM_HOST_IN ?
						    XM_BPF_TCX_INGRESS :
						    XM_BPF_TCX_EGRESS),
			     &o);
	if (fd < 0)
		return fd;
	hk->link_fd = fd;
	return 0;
}

/* *made: set when the clsact qdisc had to be created. */
static int xm_host_clsact(struct xm_host_hook *hk, bool *made,
			  unsigned int ifindex, int d, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = d == XM_HOST_IN ? BPF_TC_INGRESS :
						      BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = prog_fd,
		    .handle = XM_TC_HANDLE, .priority = XM_TC_PRIO);
	bool have = false;
	int err;

	err = xm_has_clsact(ifindex, &have);
	if (err)
		return err;
	if (!have) {
		err = bpf_tc_hook_create(&hook);
		if (!err)
			*made = true;
		else if (err != -EEXIST)
			return err;
	}
	err = bpf_tc_attach(&hook, &o);
	if (err)
		return err;
	hk->clsact = true;
	return 0;
}

/* One hook: tcx, or clsact where there is no tcx (or XM_HOST_TC asks). */
static int xm_host_hook_attach(struct xm_host_hook *hk, bool *made,
			       const char *dev, unsigned int ifindex, int d,
			       int prog_fd)
{
	const char *force = getenv(XM_HOST_TC_ENV);
	bool legacy = force && !strcmp(force, "clsact");
	int err;

	err = legacy ? -EOPNOTSUPP : xm_host_tcx(hk, ifindex, d, prog_fd);
	if (!err)
		return 0;
	if (!legacy)
		xm_log("tcx on %s: %s; using a clsact filter", dev,
		       strerror(-err));
	return xm_host_clsact(hk, made, ifindex, d, prog_fd);
}

int xm_host_attach(struct xm_daemon *d, char *msg, size_t len)
{
	struct xm_host *h = d->host;
	bool made = false;
	int i, fd, err;

	/* The kernel path first: ready before the first clone. */
	if (d->opt.datapath != XM_DP_AFXDP) {
		fd = bpf_program__fd(h->tc->progs.xm_host_tc_kpath);
		err = xm_host_hook_attach(&h->khook, &made, h->rx_dev,
					  h->rx_ifindex, XM_HOST_IN, fd);
		if (err) {
			snprintf(msg, len, "attaching the kernel path to %s ingress: %s",
				 h->rx_dev, strerror(-err));
			return err;
		}
	}
	for (i = XM_HOST_IN; i <= XM_HOST_OUT; i++) {
		if (!(h->dir & (i == XM_HOST_IN ? XM_DIR_IN : XM_DIR_OUT)))
			continue;
		fd = bpf_program__fd(i == XM_HOST_IN ?
					     h->tc->progs.xm_host_tc_in :
					     h->tc->progs.xm_host_tc_out);
		err = xm_host_hook_attach(&h->hook[i], &h->clsact_made,
					  d->opt.dev, d->opt.ifindex, i, fd);
		if (err) {
			snprintf(msg, len, "attaching the tc program to %s %s: %s",
				 d->opt.dev, i == XM_HOST_IN ? "ingress" : "egress",
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Remove the clsact qdisc we created once no filter is left in it:
 * someone may have added theirs since. */
static void xm_host_clsact_gc(struct xm_host *h, unsigned int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct xm_tc_dump in, out;
	int err;

	if (!h->clsact_made)
		return;
	if (xm_tc_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
			  &in) ||
	    xm_tc_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
			  &out) ||
	    in.count || out.count)
		return;
	err = bpf_tc_hook_destroy(&hook);
	if (err && err != -ENOENT)
		xm_log("removing the clsact qdisc: %s", strerror(-err));
	h->clsact_made = false;
}

void xm_host_detach(struct xm_daemon *d)
{
	struct xm_host *h = d->host;
	int i, err;

	if (!h)
		return;
	for (i = XM_HOST_IN; i <= XM_HOST_OUT; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)d->opt.ifindex,
			    .attach_point = i == XM_HOST_IN ? BPF_TC_INGRESS :
							      BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = XM_TC_HANDLE,
			    .priority = XM_TC_PRIO);

		/* Closing the link's last fd detaches it. */
		if (h->hook[i].link_fd >= 0)
			close(h->hook[i].link_fd);
		h->hook[i].link_fd = -1;
		if (!h->hook[i].clsact)
			continue;
		err = bpf_tc_detach(&hook, &o);
		if (err && err != -ENOENT)
			xm_log("detaching the tc filter from %s: %s",
			       d->opt.dev, strerror(-err));
		h->hook[i].clsact = false;
	}
	xm_host_clsact_gc(h, d->opt.ifindex);
	/* The kernel path's hook goes with its veth (xm_host_destroy);
	 * a tcx link is closed here all the same. */
	if (h->khook.link_fd >= 0)
		close(h->khook.link_fd);
	h->khook.link_fd = -1;
}

void xm_host_destroy(struct xm_daemon *d)
{
	struct xm_host *h = d->host;
	int err;

	if (!h)
		return;
	xm_host_detach(d);
	if (h->xdp_rx)
		bpf_xdp_detach((int)h->rx_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (h->xdp_peer)
		bpf_xdp_detach((int)h->peer_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (h->veth_made) {
		err = xm_link_del(h->rx_ifindex);
		if (err && err != -ENODEV)
			xm_log("deleting %s: %s", h->rx_dev, strerror(-err));
	}
	host_bpf__destroy(h->tc);
	host_xdp_bpf__destroy(h->xdp);
	free(h);
	d->host = NULL;
}

/* ---- after a crash ---------------------------------------------------- */

int xm_host_cleanup_stale(unsigned int nic_ifindex)
{
	char rx[IF_NAMESIZE], peer[IF_NAMESIZE];
	unsigned int ifindex, n = 0;
	int i;

	xm_host_names(nic_ifindex, rx, peer);
	ifindex = if_nametoindex(rx);
	if (ifindex && xm_is_veth(rx) && !xm_link_del(ifindex))
		n++;
	ifindex = if_nametoindex(peer);
	if (ifindex && xm_is_veth(peer) && !xm_link_del(ifindex))
		n++;
	/* tcx links died with the daemon; clsact filters did not. */
	for (i = XM_HOST_IN; i <= XM_HOST_OUT; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)nic_ifindex,
			    .attach_point = i == XM_HOST_IN ? BPF_TC_INGRESS :
							      BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = XM_TC_HANDLE,
			    .priority = XM_TC_PRIO);
		struct xm_tc_dump r;
		bool have = false;

		/* Only where a filter has our handle and priority: libbpf
		 * would log the kernel's complaint about any other. */
		if (xm_has_clsact(nic_ifindex, &have) || !have ||
		    xm_tc_filters(nic_ifindex,
				  TC_H_MAKE(TC_H_CLSACT, i == XM_HOST_IN ?
							 TC_H_MIN_INGRESS :
							 TC_H_MIN_EGRESS),
				  &r) || !r.ours)
			continue;
		if (bpf_tc_query(&hook, &o) || !xm_prog_named(o.prog_id, XM_HOST_PROG_PREFIX))
			continue;
		o.prog_id = 0;
		if (!bpf_tc_detach(&hook, &o))
			n++;
	}
	/* Whether the dead daemon made the clsact qdisc is unknown: it
	 * stays, empty or not. */
	return (int)n;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host.h - host mode (mirror-appliance start --mode host): mirror the
 * host's own traffic on its NIC.  tc programs on the NIC's ingress and
 * egress clone matching frames into a private veth pair, whose XDP
 * program hands them to the AF_XDP socket on xmr<N>; the worker sends
 * the copies out of the NIC with AF_XDP TX (N: the NIC's ifindex).
 * Unless --datapath afxdp, a frame for one collector is cloned into the
 * ingress of xmr<N> instead, whose tc program encapsulates the clone and
 * redirects it to the NIC (the kernel path: GSO frames stay whole).
 */
#ifndef XM_HOST_H
#define XM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

struct xm_daemon;
struct host_bpf;
struct host_xdp_bpf;

/* One tc hook of the NIC (ingress or egress) as we attached to it. */
struct xm_host_hook {
	int link_fd;			/* tcx link, or -1 */
	bool clsact;			/* a clsact filter instead */
};

struct xm_host {
	char rx_dev[IF_NAMESIZE];	/* xmr<N>: XDP + AF_XDP socket */
	char peer_dev[IF_NAMESIZE];	/* xmt<N>: its peer */
	unsigned int rx_ifindex;
	unsigned int peer_ifindex;
	unsigned int dir;		/* XM_DIR_* mask to mirror */
	bool veth_made;
	bool xdp_rx, xdp_peer;		/* XDP attached to rx_dev, peer_dev */
	bool clsact_made;		/* we created the NIC's clsact qdisc */
	struct host_bpf *tc;
	struct host_xdp_bpf *xdp;
	struct xm_host_hook hook[2];	/* [XM_HOST_IN], [XM_HOST_OUT] */
	struct xm_host_hook khook;	/* kernel path: rx_dev's ingress */
};

/* Names of the private veth pair of the NIC with this ifindex. */
void xm_host_names(unsigned int nic_ifindex, char rx[IF_NAMESIZE],
		   char peer[IF_NAMESIZE]);

/*
 * Create the veth pair, load the XDP and tc programs on the maps of the
 * daemon's (loaded, pinned) appliance object and attach the XDP ones.
 * d->host is set on success and on failure (for xm_host_destroy).
 */
int xm_host_start(struct xm_daemon *d, char *msg, size_t len);
/* Attach the tc programs to the NIC (tcx, clsact before kernel 6.6):
 * from here on frames are cloned.  Once the sockets are ready. */
int xm_host_attach(struct xm_daemon *d, char *msg, size_t len);
/* Detach the tc programs: no new clones. */
void xm_host_detach(struct xm_daemon *d);
/* Remove the rest of what xm_host_start added and free d->host. */
void xm_host_destroy(struct xm_daemon *d);

/*
 * After a crash: remove the veth pair and clsact filters of a host-mode
 * daemon that is gone (tcx links die with their process).  Returns how
 * many objects were removed.
 */
int xm_host_cleanup_stale(unsigned int nic_ifindex);

#endif /* XM_HOST_H */

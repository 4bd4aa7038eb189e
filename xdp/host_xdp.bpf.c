// SPDX-License-Identifier: GPL-2.0
/*
 * host_xdp.bpf.c - host mode's XDP program, on both ends of the private
 * veth pair the tc programs (host.bpf.c) clone into.
 *
 *   tc ingress of the NIC --clone--> out of xmt<N> --> XDP on xmr<N>:
 *	classify as ingress, metadata, AF_XDP socket
 *   tc egress of the NIC --clone--> out of xmr<N> --> XDP on xmt<N>:
 *	classify as egress, metadata, XDP_TX --> XDP on xmr<N>: metadata
 *	present, AF_XDP socket
 *
 * How the tc program's verdict reaches the datapath: an skb carries
 * nothing a tc program could write into it for the XDP program of the
 * veth to read, short of changing the host's own frame before cloning
 * it.  So the direction is told by the veth end that receives the clone,
 * and the rule (collectors, snaplen) by classifying the clone again with
 * the same classifier and the same live table: the same bytes, direction
 * and device give the same rule.  Only when a rule change lands between
 * the two runs can they differ; a clone that no mirror rule takes any
 * more is dropped and counted (stale), one another rule takes goes to
 * that rule's collectors.  Skip rules, sampling and the rule counters
 * are the tc program's alone.  Two cases see different bytes: a GSO
 * frame is classified whole by tc and segment by segment here (a rule on
 * TCP flags only the last segment keeps, PSH or FIN, takes that segment
 * alone, the others count as stale), and a VLAN tag the kernel holds in
 * skb metadata is invisible to a pcap filter run by tc but is in the
 * frame here.
 *
 * Why not a socket on each end, one per direction: the datapath runs
 * one worker per RX socket, each sending on a NIC TX queue of its own,
 * and a NIC may have one queue only.  Instead all clones reach one
 * socket (xmr<N> queue 0): egress clones by one XDP_TX across the pair,
 * which keeps the metadata in front of the frame.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XM_CTX struct xdp_md
#define XM_CTX_IS_XDP 1
#include "xm_classify.bpf.h"
#include "xm_meta.bpf.h"

/* Set by the daemon before load. */
const volatile __u32 nic_ifindex = 0;	/* the NIC: a rule's iif */
const volatile __u32 peer_ifindex = 0;	/* xmt<N> */

/*
 * Classify a clone of direction dir (XM_DIR_*) again and put its
 * metadata in front of it.  Returns 0, or -1 when it is to be dropped:
 * no mirror rule takes it any more, or no room for the metadata.  A
 * global function: the verifier checks it once, not once per caller.
 */
__attribute__((noinline)) int xm_host_meta(struct xdp_md *ctx, __u32 dir)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xm_host_dir_stats *hs;
	const struct xm_rule *r;
	struct xm_dev_stats *st;
	struct xm_flow f = {};
	struct xm_qsbr *q;
	__u32 key = 0;
	int ret = -1;

	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!st)
		return -1;
	hs = &st->host[dir == XM_DIR_IN ? XM_HOST_IN : XM_HOST_OUT];
	hs->xdp_rx++;
	xm_parse(data, data_end, &f);
	f.dir = (__u8)dir;
	f.ifindex = nic_ifindex;
	q = xm_qsbr_enter();
	r = xm_classify(ctx, &f);
	if (!r || r->action != XM_ACT_MIRROR)
		hs->stale++;
	else if (xm_meta_push(ctx, r, xm_flow_hash(&f), 0, (__u8)dir))
		st->meta_fail++;
	else
		ret = 0;
	xm_qsbr_exit(q);
	return ret;
}

/*
 * One program on both ends (one verification): on xmt<N> the egress
 * clones, sent back across the pair; on xmr<N> the ingress clones and
 * the egress ones coming back with their metadata, to the socket.
 */
SEC("xdp")
int xm_host_xdp(struct xdp_md *ctx)
{
	struct xm_dev_stats *st;
	__u32 key = 0;

	if (ctx->ingress_ifindex == peer_ifindex)
		return xm_host_meta(ctx, XM_DIR_OUT) ? XDP_DROP : XDP_TX;
	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!st)
		return XDP_DROP;
	if (!xm_meta_get(ctx) && xm_host_meta(ctx, XM_DIR_IN))
		return XDP_DROP;
	if (bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_DROP) ==
	    XDP_REDIRECT) {
		st->to_xsk++;
		return XDP_REDIRECT;
	}
	/* No socket (not yet, or no longer): nobody else wants it. */
	st->xsk_missing++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

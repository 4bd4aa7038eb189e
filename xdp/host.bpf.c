// SPDX-License-Identifier: GPL-2.0
/*
 * host.bpf.c - host mode's tc programs, on ingress and egress of the NIC
 * that carries the host's own traffic (attached with tcx, or clsact on
 * kernels before 6.6).
 *
 * Each frame is parsed and classified against the live rule table, as
 * the appliance's XDP program does; a frame a mirror rule takes is
 * cloned into the private veth pair with bpf_clone_redirect().  The
 * frame itself always goes on unchanged (TC_ACT_UNSPEC: the next program
 * and the stack decide), so the mirror never drops or alters the host's
 * traffic.  The clone's direction is told by the veth end it leaves
 * through: ingress clones go out of the receive end's peer and arrive at
 * the receive end, egress clones go out of the receive end and arrive at
 * its peer, whose XDP program sends them on (see host_xdp.bpf.c).
 *
 * Frames carrying our own encapsulation to one of our collectors are
 * never classified (loop guard).  The datapath sends its copies with
 * AF_XDP TX, which passes no tc hook, so they never come here anyway;
 * the guard keeps copies that some other path sends to a collector (a
 * second mirror, a tunnel device) from being mirrored again.
 */
#define XM_CBPF_SKB		/* the pcap filters run on an skb */

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define XM_CTX struct __sk_buff
#include "xm_classify.bpf.h"
#include "xm_encap.h"

/* Set by the daemon before load. */
const volatile __u32 nic_ifindex = 0;	/* the NIC: a rule's iif */
const volatile __u32 in_ifindex = 0;	/* ingress clones go out here */
const volatile __u32 out_ifindex = 0;	/* egress clones go out here */

/* Bytes the parser wants in the skb's linear part: Ethernet, two VLAN
 * tags, IPv6 with a few extension headers and TCP with options. */
#define XM_HOST_PULL 192u

__attribute__((noinline)) int xm_filter_run(struct __sk_buff *ctx,
					     __u32 slot)
{
	const struct xm_filter *flt;
	__u32 key = slot;

	flt = bpf_map_lookup_elem(&filters, &key);
	if (!flt)
		return 0;
	return xm_cbpf_run_skb(&flt->prog, ctx) != 0;
}

/* ---- loop guard ---------------------------------------------------- */

struct xm_guard {
	const struct xm_flow *f;
	__u32 hit;
};

/* Does the frame go to collector id in the collector's encapsulation:
 * UDP to its port (VXLAN, GENEVE), or GRE (GRE, ERSPAN)? */
static long xm_guard_one(__u32 id, void *data)
{
	struct xm_guard *g = data;
	const struct xm_flow *f = g->f;
	const struct xm_collector *c;
	const __u32 *a, *b;
	__u16 port;

	c = bpf_map_lookup_elem(&collectors, &id);
	if (!c || !c->name[0] || c->family != f->family)
		return 0;
	a = (const __u32 *)c->remote;
	b = (const __u32 *)f->dst;
	if (a[0] != b[0] || (f->family == 6 && (a[1] != b[1] ||
						 a[2] != b[2] || a[3] != b[3])))
		return 0;
	if (f->proto == XM_IPPROTO_GRE) {
		if (xm_encap_is_udp(c->encap))
			return 0;
	} else {
		if (!xm_encap_is_udp(c->encap))
			return 0;
		port = c->dport ? c->dport : xm_encap_default_port(c->encap);
		if (f->dport != port)
			return 0;
	}
	g->hit = 1;
	return 1;
}

/* 1 when the frame carries a tunnel to one of our collectors.  Only UDP
 * and GRE frames pay for the walk over the collectors. */
static __always_inline int xm_loop_guard(const struct xm_flow *f)
{
	struct xm_guard g = { .f = f };

	if (!f->family || f->frag == 2)
		return 0;
	if (f->proto != XM_IPPROTO_GRE &&
	    (f->proto != XM_IPPROTO_UDP || !f->l4_ok))
		return 0;
	bpf_loop(XM_MAX_COLLECTORS, xm_guard_one, &g, 0);
	return g.hit;
}

/* ---- one frame ------------------------------------------------------- */

/*
 * Parse the frame as the wire carries it.  A GSO or GRO frame's payload
 * is in pages: its IP lengths are checked against skb->len, only the
 * headers are read.  Should they not all be in the linear part (rare:
 * drivers and GRO pull them there), they are pulled in and the frame is
 * parsed again; this moves no byte of the frame, and a frame whose
 * headers are in place is never touched.  A VLAN tag the kernel holds in
 * skb metadata (VLAN offload) is the outer tag: the parse of the bytes
 * is shifted under it, as the clone will carry it in its bytes (the veth
 * has VLAN offload turned off).
 */
static __always_inline void xm_host_parse(struct __sk_buff *skb,
					  struct xm_flow *f)
{
	__u32 len = skb->len, want = len < XM_HOST_PULL ? len : XM_HOST_PULL;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	xm_parse_wire(data, data_end, len, f);
	if (f->malformed && data_end - data < (long)want &&
	    !bpf_skb_pull_data(skb, want)) {
		__builtin_memset(f, 0, sizeof(*f));
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		xm_parse_wire(data, data_end, len, f);
	}
	if (skb->vlan_present) {
		f->vlan[1] = f->vlan[0];
		f->vlan[0] = skb->vlan_tci & 0x0fff;
		if (f->nvlan < XM_MAX_VLANS)
			f->nvlan++;
	}
}

static __always_inline void xm_host_frame(struct __sk_buff *skb,
					  struct xm_dev_stats *st,
					  const __u32 d)
{
	struct xm_host_dir_stats *hs = &st->host[d];
	__u32 len = skb->len, segs;
	const struct xm_rule *r;
	struct xm_flow f = {};
	long ret;

	hs->seen++;
	hs->seen_bytes += len;
	st->rx++;
	st->rx_bytes += len;

	xm_host_parse(skb, &f);
	if (f.malformed)
		st->malformed++;
	f.dir = d == XM_HOST_IN ? XM_DIR_IN : XM_DIR_OUT;
	f.ifindex = nic_ifindex;

	if (xm_loop_guard(&f)) {
		hs->loop_guard++;
		st->not_matched++;
		return;
	}
	r = xm_classify(skb, &f);
	if (!r) {
		st->not_matched++;
		return;
	}
	st->matched++;
	st->matched_bytes += len;
	xm_count_rule(r->id, len);
	if (r->action == XM_ACT_SKIP) {
		st->skipped++;
		return;
	}
	if (r->sample > 1 && bpf_get_prandom_u32() % r->sample) {
		st->sampled_out++;
		return;
	}
	hs->mirror++;
	/* The clone leaves through the veth's xmit path, which finishes
	 * checksums (the veth has TX checksum offload off) and segments
	 * GSO frames, so the copies are what the wire carries. */
	segs = skb->gso_segs;
	ret = bpf_clone_redirect(skb, d == XM_HOST_IN ? in_ifindex :
							out_ifindex, 0);
	if (ret) {
		hs->clone_fail++;
		return;
	}
	hs->cloned++;
	hs->clone_segs += segs ? segs : 1;
}

static __always_inline int xm_host_tc(struct __sk_buff *skb, const __u32 d)
{
	struct xm_dev_stats *st;
	struct xm_qsbr *q;
	__u32 key = 0;

	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!st)
		return TC_ACT_UNSPEC;
	q = xm_qsbr_enter();
	xm_host_frame(skb, st, d);
	xm_qsbr_exit(q);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int xm_host_tc_in(struct __sk_buff *skb)
{
	return xm_host_tc(skb, XM_HOST_IN);
}

SEC("tc")
int xm_host_tc_out(struct __sk_buff *skb)
{
	return xm_host_tc(skb, XM_HOST_OUT);
}

char LICENSE[] SEC("license") = "GPL";

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
const volatile __u32 kpath_on = 0;	/* --datapath auto|tc */
const volatile __u32 k_ifindex = 0;	/* kernel-path clones enter here */

/* Inner headers a GSO frame's segments carry besides gso_size bytes of
 * payload, at most: Ethernet, IPv6 or IPv4 with options, TCP with
 * options.  With the encapsulation they must fit the NIC's MTU. */
#define XM_KPATH_SEG_HDR (14u + 60u + 60u)

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

/* ---- kernel path: the NIC's side ----------------------------------- */

/* Collector id's live entry in the fast map when the kernel path sends
 * its copies, or NULL. */
static __always_inline const struct xm_tmpl_ent *
xm_kpath_ent(const struct xm_ctl *c, __u32 id)
{
	const struct xm_tmpl_ent *e = xm_fast_live(c, id);

	return e && e->path == XM_PATH_TC ? e : NULL;
}

/*
 * Can the kernel path copy this frame whole?  An IP frame without a VLAN
 * tag in skb metadata (bpf_skb_adjust_room takes IP only), not cut by a
 * snaplen, within the IP length limit once encapsulated, and fitting the
 * NIC's MTU: the frame, or each segment of a GSO frame.  A GSO frame for
 * a format with a sequence number goes through AF_XDP, whose copies are
 * segments each numbered; segmenting the copy later would repeat it.
 */
static __always_inline int xm_kpath_fits(const struct __sk_buff *skb,
					 const struct xm_rule *r,
					 const struct xm_tmpl_ent *e)
{
	__u32 len = skb->len, snap = e->snaplen;

	if (skb->vlan_present || (skb->protocol != xm_htons(XM_ETH_P_IP) &&
				  skb->protocol != xm_htons(XM_ETH_P_IPV6)))
		return 0;
	if (r->snaplen && (!snap || r->snaplen < snap))
		snap = r->snaplen;
	if (snap && snap < len)
		return 0;
	if (len + e->t.len - XM_ETH_HLEN > 0xffff)
		return 0;
	if (!skb->gso_size)
		return len <= e->max_inner;
	return !e->t.seq_off &&
	       skb->gso_size + XM_KPATH_SEG_HDR <= e->max_inner;
}

/*
 * Clone the frame into the kernel path when it can take it: returns 1
 * when it did (or tried: a failed clone is counted, not retried through
 * AF_XDP), 0 when the frame is for the AF_XDP path.
 */
static __always_inline int xm_kpath_clone(struct __sk_buff *skb,
					  const struct xm_rule *r, __u32 d,
					  struct xm_host_dir_stats *hs)
{
	const struct xm_tmpl_ent *e;
	const struct xm_ctl *c;
	__u64 m = r->coll_mask;
	__u32 mark, id, key = 0;
	long ret;

	if (!m || (m & (m - 1)))
		return 0;
	id = xm_bit_index(m);
	c = bpf_map_lookup_elem(&ctl, &key);
	e = c ? xm_kpath_ent(c, id) : NULL;
	if (!e || !xm_kpath_fits(skb, r, e))
		return 0;
	mark = skb->mark;
	skb->mark = XM_MARK_KPATH | d << 8 | id;
	ret = bpf_clone_redirect(skb, k_ifindex, BPF_F_INGRESS);
	skb->mark = mark;
	if (ret) {
		hs->clone_fail++;
		return 1;
	}
	hs->cloned++;
	hs->k_cloned++;
	return 1;
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
	if (kpath_on && xm_kpath_clone(skb, r, d, hs))
		return;
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
	if (skb->mark == XM_MARK_COPY) {
		/* Our own copy, leaving: not the host's traffic. */
		skb->mark = 0;
		st->host[d].own_tx++;
		return TC_ACT_UNSPEC;
	}
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

/* ---- kernel path: the clone's side ---------------------------------- */

/* The per-copy fields, as the other datapaths fill them. */
static __always_inline void xm_kpath_pkt(struct __sk_buff *skb,
					 const struct xm_ctl *c,
					 const struct xm_tmpl_ent *e,
					 __u32 id, __u32 d,
					 struct xm_encap_pkt *p)
{
	struct xm_flow f = {};

	xm_host_parse(skb, &f);
	p->hash = xm_flow_hash(&f);
	p->len = skb->len;
	p->egress = d == XM_HOST_OUT;
	xm_fast_seq_time(c, e, id, p);
}

/* bpf_skb_adjust_room's flags for template t: it marks the clone as
 * encapsulated, so a GSO clone is segmented as a tunnel packet (inner
 * segments of the original gso_size, outer headers repeated) wherever
 * the NIC or the stack segments it. */
static __always_inline __u64 xm_kpath_room_flags(const struct xm_tmpl *t)
{
	__u64 fl = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
		   BPF_F_ADJ_ROOM_ENCAP_L2(XM_ETH_HLEN);

	fl |= t->family == 4 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 :
			       BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
	fl |= xm_encap_is_udp(t->encap) ? BPF_F_ADJ_ROOM_ENCAP_L4_UDP :
					  BPF_F_ADJ_ROOM_ENCAP_L4_GRE;
	return fl;
}

/*
 * Encapsulate the clone for collector id: room for the template behind
 * the frame's Ethernet header, then the filled-in template in front and
 * the frame's own Ethernet header behind it.  Returns 0; -1 with the
 * clone unchanged (its collector left the kernel path meanwhile, or the
 * kernel refused: an skb already encapsulated by a tunnel device); -2
 * when it was changed and could not be finished.
 */
__attribute__((noinline)) int xm_kpath_encap(struct __sk_buff *skb,
					     __u32 id, __u32 d)
{
	__u8 hdr[XM_TMPL_MAX], eth[XM_ETH_HLEN];
	const struct xm_tmpl_ent *e;
	struct xm_encap_pkt p = {};
	struct xm_coll_stats *cs;
	const struct xm_ctl *c;
	__u32 tlen, len = skb->len, key = 0;

	c = bpf_map_lookup_elem(&ctl, &key);
	e = c ? xm_kpath_ent(c, id) : NULL;
	cs = bpf_map_lookup_elem(&fast_stats, &id);
	if (!e || !cs)
		return -1;
	/* Checked by xm_fast_live; again for the verifier. */
	tlen = e->t.len;
	if (tlen < XM_ETH_HLEN || tlen > XM_TMPL_MAX)
		return -1;
	xm_kpath_pkt(skb, c, e, id, d, &p);
	__builtin_memcpy(hdr, e->t.hdr, XM_TMPL_MAX);
	xm_tmpl_fill(hdr, &e->t, &p);
	if (bpf_skb_load_bytes(skb, 0, eth, XM_ETH_HLEN))
		return -1;
	if (bpf_skb_adjust_room(skb, (__s32)tlen, BPF_ADJ_ROOM_MAC,
				xm_kpath_room_flags(&e->t)))
		return -1;
	/* Past the point of return: a failed store drops the clone.  The
	 * checksum is kept right for a CHECKSUM_COMPLETE clone. */
	if (bpf_skb_store_bytes(skb, 0, hdr, tlen, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, tlen, eth, XM_ETH_HLEN,
				BPF_F_RECOMPUTE_CSUM))
		return -2;
	skb->mark = XM_MARK_COPY;
	cs->sent++;
	cs->sent_bytes += tlen + len;
	return 0;
}

/*
 * On the ingress of xmr<N>, where the NIC's programs clone with
 * BPF_F_INGRESS: the clone arrives through the backlog queue (the veth's
 * XDP does not run on it, so a GSO clone stays one skb), is
 * encapsulated and redirected to the NIC's egress.  A clone it cannot
 * encapsulate goes on to the AF_XDP path, out of the veth end whose peer
 * classifies that direction.
 */
SEC("tc")
int xm_host_tc_kpath(struct __sk_buff *skb)
{
	struct xm_host_dir_stats *hs;
	struct xm_dev_stats *st;
	__u32 key = 0, mark = skb->mark, d, segs;
	int ret;

	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!st || (mark & XM_MARK_KIND) != XM_MARK_KPATH)
		return TC_ACT_SHOT;	/* not a clone of ours */
	d = (mark >> 8) & 1;
	hs = &st->host[d];
	hs->k_rx++;
	ret = xm_kpath_encap(skb, mark & 0xff, d);
	if (!ret) {
		hs->k_sent++;
		return bpf_redirect(nic_ifindex, 0);
	}
	if (ret == -2) {
		hs->k_drop++;
		return TC_ACT_SHOT;
	}
	segs = skb->gso_segs;
	hs->k_fallback++;
	hs->clone_segs += segs ? segs : 1;
	skb->mark = 0;
	return bpf_redirect(d == XM_HOST_IN ? in_ifindex : out_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";

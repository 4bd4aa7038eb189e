// SPDX-License-Identifier: GPL-2.0
/*
 * mirror.bpf.c - the appliance's XDP program.
 *
 * Every frame is parsed and classified against the live rule table; a
 * match gets an xm_meta in front of it and goes to the AF_XDP socket of its
 * RX queue.  Anything else - no match, no socket, no room for metadata -
 * is passed to the stack untouched, so the mirror never drops production
 * traffic.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XM_CTX struct xdp_md
#define XM_CTX_IS_XDP 1
#include "xm_classify.bpf.h"
#include "xm_meta.bpf.h"

/*
 * Set by the daemon before load when it transmits on its RX device.  The
 * collectors' ARP and neighbour discovery replies then arrive here, and a
 * match-all rule would take them from the kernel, whose neighbour table
 * the datapath resolves its next hops from: so they are never classified.
 */
const volatile __u32 pass_neigh = 0;

/* Set by the daemon unless --datapath afxdp: single copies may be
 * encapsulated and sent here instead of through AF_XDP. */
const volatile __u32 fast_on = 0;

/* Set by the daemon after load, for the redirect tracepoints: our RX
 * device and the id of our tx_ports map. */
__u32 rx_ifindex = 0;
__u32 tx_ports_id = 0;

/*
 * A matched frame longer than a UMEM frame takes (only possible in
 * generic XDP mode with a jumbo MTU) would be dropped by the socket: it
 * is cut to fit after its metadata records the original length, so the
 * copy goes out truncated and counted.  Only when a socket is bound: a
 * frame that will be passed to the stack is never changed.
 */
static __always_inline int xm_needs_cut(struct xdp_md *ctx, __u64 len)
{
	__u32 q = ctx->rx_queue_index;

	return len > XM_XSK_DATA_MAX && bpf_map_lookup_elem(&xsks, &q) != NULL;
}

/* ---- XDP fast path -------------------------------------------------- */

/* Where a fast-path header is filled in before it is stored into the
 * frame: the stack has no room for it next to the classifier's state. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_tmpl);
} fast_scratch SEC(".maps");

/* The live fast-path entry of the one collector of mask, or NULL when
 * the copy must go through AF_XDP. */
static __always_inline const struct xm_tmpl_ent *
xm_fast_ent(const struct xm_ctl *c, __u64 mask, __u32 *id)
{
	const struct xm_tmpl_ent *e;

	if (!fast_on || !mask || (mask & (mask - 1)))
		return NULL;
	*id = xm_bit_index(mask);
	e = xm_fast_live(c, *id);
	/* The fast path never sums the copy for a UDP checksum. */
	if (!e || e->path == XM_PATH_AFXDP ||
	    (e->t.flags & XM_TMPL_F_UDP_CSUM))
		return NULL;
	return e;
}

/* The per-copy input of the header update, as a worker would fill it. */
static __always_inline void xm_fast_pkt(struct xdp_md *ctx,
					const struct xm_ctl *c,
					const struct xm_tmpl_ent *e, __u32 id,
					__u32 hash, __u32 dir,
					struct xm_encap_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	p->hash = hash;
	p->egress = dir == XM_DIR_OUT;
	if (data + XM_ETH_HLEN + 4 <= data_end)
		p->tagged = (__u8)xm_encap_inner_vlan(data, XM_ETH_HLEN + 4,
						      &p->vlan_tci);
	xm_fast_seq_time(c, e, id, p);
}

/*
 * Copy the filled-in header h (tlen bytes) to the (already grown) head of
 * the frame: 4-byte words, then the last 2 bytes (header lengths are
 * even), when the frame is long enough for the verifier to see every
 * store inside it; bpf_xdp_store_bytes otherwise.  Returns 0 or -1.
 */
static __always_inline int xm_fast_write(struct xdp_md *ctx,
					 const struct xm_tmpl *h, __u32 tlen)
{
	__u8 *o = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	__u32 i, off;

	if (o + XM_TMPL_MAX + 8 > end)
		return bpf_xdp_store_bytes(ctx, 0, (void *)h->hdr, tlen) ? -1 : 0;
	XM_UNROLL
	for (i = 0; i < XM_TMPL_MAX / 4; i++) {
		if (i * 4 + 4 > tlen)
			break;
		*(__u32 *)(o + i * 4) = *(const __u32 *)(h->hdr + i * 4);
	}
	off = tlen - 2;
	if (off > XM_TMPL_MAX - 2)
		return -1;
	o += off;	/* a variable offset needs its own bounds check */
	if (o + 2 > end)
		return -1;
	*(__u16 *)o = *(const __u16 *)(h->hdr + off);
	return 0;
}

/*
 * Encapsulate the frame for the one collector of mask and send it from
 * here.  Returns the XDP verdict, or -1 (frame unchanged) when the copy
 * has to go through AF_XDP instead.  A global function: the verifier
 * checks it once, not in every state the classifier leaves behind.
 */
__attribute__((noinline)) int xm_fast_send(struct xdp_md *ctx, __u64 mask,
					   __u32 rule_snap, __u32 hash,
					   __u32 dir)
{
	struct xm_encap_pkt p = {};
	const struct xm_tmpl_ent *e;
	struct xm_coll_stats *cs;
	struct xm_dev_stats *st;
	const struct xm_ctl *c;
	struct xm_tmpl *h;
	__u32 key = 0, id = 0, n, tlen, len;
	__u8 cut;

	c = bpf_map_lookup_elem(&ctl, &key);
	h = bpf_map_lookup_elem(&fast_scratch, &key);
	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!c || !h || !st)
		return -1;
	e = xm_fast_ent(c, mask, &id);
	if (!e)
		return -1;
	cs = bpf_map_lookup_elem(&fast_stats, &id);
	if (!cs)
		return -1;
	/* Not an xdp.frags program: the frame is one buffer, and this
	 * saves a helper call. */
	len = (__u32)(ctx->data_end - ctx->data);
	tlen = e->t.len;
	if (tlen < XM_ETH_HLEN || tlen > XM_TMPL_MAX)
		return -1;
	n = xm_copy_cut(len, 0, e->max_inner, rule_snap, e->snaplen, &cut);
	xm_fast_pkt(ctx, c, e, id, hash, dir, &p);
	p.len = n;
	p.truncated = cut != XM_CUT_NONE;
	__builtin_memcpy(h->hdr, e->t.hdr, XM_TMPL_MAX);
	xm_tmpl_fill(h->hdr, &e->t, &p);

	if (bpf_xdp_adjust_head(ctx, -(int)tlen))
		goto fallback;
	if (xm_fast_write(ctx, h, tlen))
		goto undo;
	if (n < len && bpf_xdp_adjust_tail(ctx, (int)n - (int)len))
		goto undo;
	if (cut == XM_CUT_SNAP)
		cs->truncated_snap++;
	else if (cut == XM_CUT_MTU)
		cs->truncated_mtu++;
	cs->sent++;
	cs->sent_bytes += tlen + n;
	st->to_fast++;
	if (e->path == XM_PATH_XDP_TX)
		return XDP_TX;
	/* A redirect the device refuses later is counted by the
	 * tracepoints below; one that cannot even start (no device in
	 * tx_ports) here. */
	if (bpf_redirect_map(&tx_ports, 0, 0) == XDP_REDIRECT)
		return XDP_REDIRECT;
	st->fast_xmit_err++;
	return XDP_DROP;
undo:
	bpf_xdp_adjust_head(ctx, (int)tlen);
fallback:
	st->fast_fallback++;
	return -1;
}

/* The rule's decision for a matched frame: XDP_REDIRECT to the
 * socket, or XDP_PASS (skip rule, sampled out, no socket, no room). */
static __always_inline int xm_mirror_frame(struct xdp_md *ctx,
					   struct xm_dev_stats *st,
					   const struct xm_rule *r,
					   const struct xm_flow *f, __u64 len)
{
	__u32 orig_len, hash;
	long ret;

	if (r->action == XM_ACT_SKIP) {
		st->skipped++;
		st->passed++;
		return XDP_PASS;
	}
	if (r->sample > 1 && bpf_get_prandom_u32() % r->sample) {
		st->sampled_out++;
		st->passed++;
		return XDP_PASS;
	}
	hash = xm_flow_hash(f);
	/* Only a single copy can take the fast path: frames for several
	 * collectors skip the call and its lookups. */
	if (fast_on && r->coll_mask && !(r->coll_mask & (r->coll_mask - 1))) {
		ret = xm_fast_send(ctx, r->coll_mask, r->snaplen, hash, f->dir);
		if (ret >= 0)
			return (int)ret;
	}
	orig_len = xm_needs_cut(ctx, len) ? (__u32)len : 0;
	if (xm_meta_push(ctx, r, hash, orig_len, XM_DIR_IN)) {
		st->meta_fail++;
		st->passed++;
		return XDP_PASS;
	}
	/* Should the cut fail, the socket drops the frame and its
	 * XDP_STATISTICS (worker xsk_rx_dropped) count it. */
	if (orig_len)
		bpf_xdp_adjust_tail(ctx, (int)(XM_XSK_DATA_MAX - len));
	ret = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	if (ret == XDP_REDIRECT) {
		st->to_xsk++;
		return XDP_REDIRECT;
	}
	/* No socket on this queue: hand the frame back as it came. */
	bpf_xdp_adjust_meta(ctx, (int)sizeof(struct xm_meta));
	st->xsk_missing++;
	st->passed++;
	return XDP_PASS;
}

static __always_inline int xm_frame(struct xdp_md *ctx,
				    struct xm_dev_stats *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = (__u64)(data_end - data);
	struct xm_flow f = {};
	const struct xm_rule *r;

	st->rx++;
	st->rx_bytes += len;

	xm_parse(data, data_end, &f);
	if (f.malformed)
		st->malformed++;
	f.dir = XM_DIR_IN;
	f.ifindex = ctx->ingress_ifindex;

	if (pass_neigh && xm_flow_is_neigh(&f)) {
		st->not_matched++;
		st->neigh_passed++;
		st->passed++;
		return XDP_PASS;
	}

	r = xm_classify(ctx, &f);
	if (!r) {
		st->not_matched++;
		st->passed++;
		return XDP_PASS;
	}
	st->matched++;
	st->matched_bytes += len;
	xm_count_rule(r->id, len);
	return xm_mirror_frame(ctx, st, r, &f, len);
}

SEC("xdp")
int xm_xdp_mirror(struct xdp_md *ctx)
{
	struct xm_dev_stats *st;
	struct xm_qsbr *q;
	__u32 key = 0;
	int verdict;

	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!st)
		return XDP_PASS;
	/* Inside from before the rules_sel load until the last read of a
	 * rule: the writer may then rewrite the half we did not use. */
	q = xm_qsbr_enter();
	verdict = xm_frame(ctx, st);
	xm_qsbr_exit(q);
	return verdict;
}

/* ---- redirect failures of the fast path ------------------------------ */

/* The records of the xdp tracepoints (tracefs events/xdp/NAME/format). */
struct xm_tp_devmap_xmit {
	__u64 common;
	int from_ifindex;
	__u32 act;
	int to_ifindex;
	int drops;
	int sent;
	int err;
};

struct xm_tp_redirect_err {
	__u64 common;
	int prog_id;
	__u32 act;
	int ifindex;
	int err;
	int to_ifindex;
	__u32 map_id;
	int map_index;
};

static __always_inline void xm_count_xmit_err(__u64 n)
{
	struct xm_dev_stats *st;
	__u32 key = 0;

	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (st)
		st->fast_xmit_err += n;
}

/* Frames the TX device refused in its ndo_xdp_xmit. */
SEC("tracepoint/xdp/xdp_devmap_xmit")
int xm_tp_devmap_xmit(struct xm_tp_devmap_xmit *ctx)
{
	if (rx_ifindex && ctx->from_ifindex == (int)rx_ifindex &&
	    ctx->drops > 0)
		xm_count_xmit_err((__u64)ctx->drops);
	return 0;
}

/* A redirect through tx_ports that failed before reaching the device. */
SEC("tracepoint/xdp/xdp_redirect_err")
int xm_tp_redirect_err(struct xm_tp_redirect_err *ctx)
{
	if (rx_ifindex && ctx->ifindex == (int)rx_ifindex &&
	    tx_ports_id && ctx->map_id == tx_ports_id)
		xm_count_xmit_err(1);
	return 0;
}

/* XDP_TX the driver could not send (fast path on the RX device). */
SEC("tracepoint/xdp/xdp_exception")
int xm_tp_exception(struct xm_tp_redirect_err *ctx)
{
	if (rx_ifindex && ctx->ifindex == (int)rx_ifindex &&
	    ctx->act == XDP_TX)
		xm_count_xmit_err(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

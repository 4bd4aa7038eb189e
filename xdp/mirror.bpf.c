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
#include "xm_classify.bpf.h"

/*
 * Set by the daemon before load when it transmits on its RX device.  The
 * collectors' ARP and neighbour discovery replies then arrive here, and a
 * match-all rule would take them from the kernel, whose neighbour table
 * the datapath resolves its next hops from: so they are never classified.
 */
const volatile __u32 pass_neigh = 0;

/*
 * Run the pcap filter in slot on the frame: 1 on a match.  A global
 * (not inlined) function, so the verifier checks the interpreter once on
 * its own instead of in every context of the rule walk that calls it.
 */
__attribute__((noinline)) int xm_filter_run(struct xdp_md *ctx, __u32 slot)
{
	const struct xm_filter *flt;
	__u32 key = slot;

	flt = bpf_map_lookup_elem(&filters, &key);
	if (!flt)
		return 0;
	return xm_cbpf_run_xdp(&flt->prog, ctx) != 0;
}

/* Put the metadata in front of the frame.  Returns 0 or -1 (no room). */
static __always_inline int xm_write_meta(struct xdp_md *ctx,
					 const struct xm_rule *r, __u32 hash,
					 __u32 orig_len)
{
	struct xm_meta *m;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data)
		return -1;
	m->coll_mask = r->coll_mask;
	m->rule_id = r->id;
	m->flow_hash = hash;
	m->magic = XM_META_MAGIC;
	m->orig_len = orig_len;
	m->snaplen = r->snaplen;
	m->dir = XM_DIR_IN;
	m->pad = 0;
	m->pad2 = 0;
	return 0;
}

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

/* The rule's decision for a matched frame: XDP_REDIRECT to the
 * socket, or XDP_PASS (skip rule, sampled out, no socket, no room). */
static __always_inline int xm_mirror_frame(struct xdp_md *ctx,
					   struct xm_dev_stats *st,
					   const struct xm_rule *r,
					   const struct xm_flow *f, __u64 len)
{
	__u32 orig_len;
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
	orig_len = xm_needs_cut(ctx, len) ? (__u32)len : 0;
	if (xm_write_meta(ctx, r, xm_flow_hash(f), orig_len)) {
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

char LICENSE[] SEC("license") = "GPL";

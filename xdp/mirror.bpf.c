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

#include "xm_types.h"
#include "xm_parse.h"
#include "xm_classify.h"

/*
 * Set by the daemon before load when it transmits on its RX device.  The
 * collectors' ARP and neighbour discovery replies then arrive here, and a
 * match-all rule would take them from the kernel, whose neighbour table
 * the datapath resolves its next hops from: so they are never classified.
 */
const volatile __u32 pass_neigh = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xm_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_ctl);
} ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_COLLECTORS);
	__type(key, __u32);
	__type(value, struct xm_collector);
} collectors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_dev_stats);
} dev_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XM_MAX_RULE_ID);
	__type(key, __u32);
	__type(value, struct xm_rule_stats);
} rule_stats SEC(".maps");

/* Written by the datapath through mmap; pinned here so every counter of
 * a device lives under one directory. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_QUEUES * XM_MAX_COLLECTORS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_coll_stats);
} coll_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_QUEUES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_worker_stats);
} worker_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_dpinfo);
} dpinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XM_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct xm_match_ctx {
	const struct xm_flow *flow;
	__u32 base;		/* first slot of the live table */
	__s32 found;		/* matching slot, or -1 */
};

static long xm_match_one(__u32 i, void *data)
{
	struct xm_match_ctx *mc = data;
	__u32 slot = mc->base + i;
	const struct xm_rule *r;

	r = bpf_map_lookup_elem(&rules, &slot);
	if (!r)
		return 1;
	if (xm_rule_match(r, mc->flow)) {
		mc->found = (__s32)slot;
		return 1;
	}
	return 0;
}

/* Slot of the first matching rule in the live table, or -1. */
static __always_inline __s32 xm_classify(const struct xm_flow *f)
{
	struct xm_match_ctx mc = { .flow = f, .found = -1 };
	const struct xm_ctl *c;
	__u32 key = 0, sel, n;

	c = bpf_map_lookup_elem(&ctl, &key);
	if (!c)
		return -1;
	/* One load: table index and count come from the same generation. */
	sel = *(volatile const __u32 *)&c->rules_sel;
	n = XM_SEL_COUNT(sel);
	if (n > XM_MAX_RULES)
		n = XM_MAX_RULES;
	mc.base = XM_SEL_IDX(sel) * XM_MAX_RULES;
	bpf_loop(n, xm_match_one, &mc, 0);
	return mc.found;
}

static __always_inline void xm_count_rule(__u32 id, __u64 bytes)
{
	struct xm_rule_stats *rs;

	rs = bpf_map_lookup_elem(&rule_stats, &id);
	if (rs) {
		rs->packets++;
		rs->bytes += bytes;
	}
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

SEC("xdp")
int xm_xdp_mirror(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = (__u64)(data_end - data);
	struct xm_flow f = {};
	struct xm_dev_stats *st;
	const struct xm_rule *r;
	__u32 key = 0, slot;
	__u32 orig_len;
	__s32 found;
	long ret;

	st = bpf_map_lookup_elem(&dev_stats, &key);
	if (!st)
		return XDP_PASS;
	st->rx++;
	st->rx_bytes += len;

	xm_parse(data, data_end, &f);
	if (f.malformed)
		st->malformed++;

	if (pass_neigh && xm_flow_is_neigh(&f)) {
		st->not_matched++;
		st->neigh_passed++;
		st->passed++;
		return XDP_PASS;
	}

	found = xm_classify(&f);
	slot = (__u32)found;
	r = found >= 0 ? bpf_map_lookup_elem(&rules, &slot) : NULL;
	if (!r) {
		st->not_matched++;
		st->passed++;
		return XDP_PASS;
	}
	st->matched++;
	st->matched_bytes += len;
	xm_count_rule(r->id, len);

	orig_len = xm_needs_cut(ctx, len) ? (__u32)len : 0;
	if (xm_write_meta(ctx, r, xm_flow_hash(&f), orig_len)) {
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

char LICENSE[] SEC("license") = "GPL";

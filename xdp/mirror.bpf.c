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

/* Both table halves; mmapable so that mirrorctl writes 10 000 rules with
 * memcpy, not 10 000 system calls. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_TUPLES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_tuple);
} tuples SEC(".maps");

/* __u64 values: an mmapped array lays elements out 8 bytes apart. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} resid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__type(key, struct xm_rule_key);
	__type(value, __u32);
} rule_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct xm_filter);
} filters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_qsbr);
} qsbr SEC(".maps");

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

/* Search state: the best (prio, id) match so far, in the live half. */
struct xm_search {
	const struct xm_flow *flow;
	struct xdp_md *ctx;	/* for pcap filters */
	__u32 idx;		/* live table half */
	__u32 best_prio;
	__u32 best_id;
	__s32 found;		/* slot (from the half's start) or -1 */
};

static __always_inline const struct xm_rule *xm_rule_at(__u32 idx,
							 __u32 slot)
{
	__u32 key;

	if (slot >= XM_MAX_RULES)
		return NULL;
	key = idx * XM_MAX_RULES + slot;
	return bpf_map_lookup_elem(&rules, &key);
}

static __always_inline void xm_search_take(struct xm_search *s,
					   const struct xm_rule *r,
					   __u32 slot)
{
	if (s->found >= 0 &&
	    !xm_rule_before(r->prio, r->id, s->best_prio, s->best_id))
		return;
	s->found = (__s32)slot;
	s->best_prio = r->prio;
	s->best_id = r->id;
}

/* One tuple: a hash lookup with the frame's key under its masks. */
static long xm_tuple_one(__u32 i, void *data)
{
	struct xm_search *s = data;
	const struct xm_rule *r;
	const struct xm_tuple *t;
	struct xm_rule_key k;
	__u32 key = s->idx * XM_MAX_TUPLES + i, *slot;

	t = bpf_map_lookup_elem(&tuples, &key);
	if (!t)
		return 1;
	/* Sorted by min_prio: nothing from here on can win. */
	if (s->found >= 0 && t->min_prio > s->best_prio)
		return 1;
	if (!xm_rule_key_of_flow(s->flow, t, i, s->idx, &k))
		return 0;
	slot = bpf_map_lookup_elem(&rule_hash, &k);
	if (!slot)
		return 0;
	r = xm_rule_at(s->idx, *slot);
	if (r)
		xm_search_take(s, r, *slot);
	return 0;
}

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

static long xm_tuple_next(__u32 i, void *data)
{
	return xm_tuple_one(i + 1, data);
}

/* One residual rule, in (prio, id) order: the first match ends it. */
static long xm_resid_one(__u32 i, void *data)
{
	struct xm_search *s = data;
	const struct xm_rule *r;
	__u32 key = s->idx * XM_MAX_RULES + i;
	__u64 *slot;

	slot = bpf_map_lookup_elem(&resid, &key);
	if (!slot)
		return 1;
	r = xm_rule_at(s->idx, (__u32)*slot);
	if (!r)
		return 1;
	if (s->found >= 0 &&
	    !xm_rule_before(r->prio, r->id, s->best_prio, s->best_id))
		return 1;
	if (!xm_rule_match(r, s->flow))
		return 0;
	if ((r->fields & XM_F_FILTER) && !xm_filter_run(s->ctx, r->filter))
		return 0;
	xm_search_take(s, r, (__u32)*slot);
	return 1;
}

/*
 * The live rule that frame f matches first in (prio, id) order, or NULL:
 * hashed tuples first, then residual rules that can still beat the best
 * hashed match.
 */
static __always_inline const struct xm_rule *
xm_classify(struct xdp_md *ctx, const struct xm_flow *f)
{
	struct xm_search s = { .flow = f, .ctx = ctx, .found = -1 };
	const struct xm_ctl *c;
	__u32 key = 0, sel, nt, nr;

	c = bpf_map_lookup_elem(&ctl, &key);
	if (!c)
		return NULL;
	sel = *(volatile const __u32 *)&c->rules_sel;
	s.idx = XM_SEL_IDX(sel);
	/* Written before the flip that made this half live. */
	nt = c->gen[s.idx].ntuples;
	nr = c->gen[s.idx].nresid;
	if (nt > XM_MAX_TUPLES)
		nt = XM_MAX_TUPLES;
	if (nr > XM_MAX_RULES)
		nr = XM_MAX_RULES;
	/* Most tables have one shape: its lookup is made directly, which
	 * saves the loop helper's indirect calls on every frame. */
	if (nt && !xm_tuple_one(0, &s) && nt > 1)
		bpf_loop(nt - 1, xm_tuple_next, &s, 0);
	if (nr)
		bpf_loop(nr, xm_resid_one, &s, 0);
	if (s.found < 0)
		return NULL;
	return xm_rule_at(s.idx, (__u32)s.found);
}

/* Entry/exit marks for the writer's quiescence wait (odd = inside).
 * The atomic add is a full barrier: the mark is visible before the
 * rules_sel load that follows it. */
static __always_inline struct xm_qsbr *xm_qsbr_enter(void)
{
	__u32 key = 0;
	struct xm_qsbr *q = bpf_map_lookup_elem(&qsbr, &key);

	if (q)
		__sync_fetch_and_add(&q->seq, 1);
	return q;
}

static __always_inline void xm_qsbr_exit(struct xm_qsbr *q)
{
	if (q)
		__sync_fetch_and_add(&q->seq, 1);
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

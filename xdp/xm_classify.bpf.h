/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_classify.bpf.h - the live-table search over the maps of
 * xm_maps.bpf.h, for any BPF program type.  The includer defines XM_CTX
 * (its context type) and either XM_CTX_IS_XDP (XDP programs: the filter
 * runner below) or its own xm_filter_run(XM_CTX *ctx, __u32 slot), which
 * runs pcap filter slot on the frame and returns 1 on a match.
 */
#ifndef XM_CLASSIFY_BPF_H
#define XM_CLASSIFY_BPF_H

#include "xm_maps.bpf.h"
#include "xm_parse.h"
#include "xm_classify.h"

#ifndef XM_CTX
#error "define XM_CTX before including xm_classify.bpf.h"
#endif

int xm_filter_run(XM_CTX *ctx, __u32 slot);

#ifdef XM_CTX_IS_XDP
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
#endif

/*
 * Calls cost: every BPF-to-BPF return goes through the CPU's return-stack
 * mitigation, so the XDP programs inline the rule match and the first
 * tuple's lookup.  The tc programs cannot afford that in verifier
 * instructions: for them the match is a global function (checked once on
 * its own) and the first tuple a plain call.
 */
#ifdef XM_CTX_IS_XDP
#define XM_HOT_INLINE __always_inline
#else
#define XM_HOT_INLINE __attribute__((noinline))
#endif

static XM_HOT_INLINE int xm_rule_match_one(const struct xm_rule *r,
					   const struct xm_flow *f)
{
	if (!r || !f)
		return 0;
	return xm_rule_match(r, f);
}

/* Search state: the best (prio, id) match so far, in the live half. */
struct xm_search {
	const struct xm_flow *flow;
	XM_CTX *ctx;		/* for pcap filters */
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

/* One tuple: a hash lookup with the frame's key under its masks, or
 * its only rule checked directly. */
static XM_HOT_INLINE long xm_tuple_do(__u32 i, void *data)
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
	if (t->solo) {
		r = xm_rule_at(s->idx, t->solo - 1);
		if (r && xm_rule_match_one(r, s->flow))
			xm_search_take(s, r, t->solo - 1);
		return 0;
	}
	if (!xm_rule_key_of_flow(s->flow, t, i, s->idx, &k))
		return 0;
	slot = bpf_map_lookup_elem(&rule_hash, &k);
	if (!slot)
		return 0;
	r = xm_rule_at(s->idx, *slot);
	if (!r)
		return 0;
	/* A hashed IPv6 key may stand for another address: the one rule it
	 * can lead to is checked (the writer made the others residual). */
	if (xm_tuple_hashes_addr(t) &&
	    !xm_tuple_addrs_same(t, s->flow->src, s->flow->dst, r->src, r->dst))
		return 0;
	xm_search_take(s, r, *slot);
	return 0;
}

static long xm_tuple_next(__u32 i, void *data)
{
	return xm_tuple_do(i + 1, data);
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
	if (!xm_rule_match_one(r, s->flow))
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
xm_classify(XM_CTX *ctx, const struct xm_flow *f)
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
	if (nt && !xm_tuple_do(0, &s) && nt > 1)
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

/* Collector id of a single-bit mask (the verifier-friendly way: no loop,
 * no count-trailing-zeros instruction in BPF). */
static __always_inline __u32 xm_bit_index(__u64 m)
{
	__u32 i = 0;

	if (!(m & 0xffffffffULL)) { i += 32; m >>= 32; }
	if (!(m & 0xffffULL)) { i += 16; m >>= 16; }
	if (!(m & 0xffULL)) { i += 8; m >>= 8; }
	if (!(m & 0xfULL)) { i += 4; m >>= 4; }
	if (!(m & 0x3ULL)) { i += 2; m >>= 2; }
	if (!(m & 0x1ULL))
		i += 1;
	return i;
}

/* ---- the fast map: single copies encapsulated in the kernel ---------- */

/* Collector id's entry in the live half of the fast map when it is ready
 * to send with, on any path (the caller checks for its own), or NULL. */
static __always_inline const struct xm_tmpl_ent *
xm_fast_live(const struct xm_ctl *c, __u32 id)
{
	const struct xm_tmpl_ent *e;
	__u32 key;

	if (id >= XM_MAX_COLLECTORS)
		return NULL;
	key = (c->fast_sel & 1) * XM_MAX_COLLECTORS + id;
	e = bpf_map_lookup_elem(&fast, &key);
	if (!e || e->state != XM_TE_READY || e->t.len < XM_ETH_HLEN ||
	    e->t.len > XM_TMPL_MAX)
		return NULL;
	return e;
}

/* A copy's GRE/ERSPAN sequence number and ERSPAN III timestamp, from the
 * counter and the clock the AF_XDP workers use. */
static __always_inline void xm_fast_seq_time(const struct xm_ctl *c,
					     const struct xm_tmpl_ent *e,
					     __u32 id, struct xm_encap_pkt *p)
{
	struct xm_seq *sq;

	if (e->t.seq_off) {
		/* One counter per collector, shared with the workers: the
		 * numbers are unique and increase in the order copies are
		 * made; copies made on different CPUs may still interleave
		 * on the wire. */
		sq = bpf_map_lookup_elem(&seqs, &id);
		if (sq)
			p->seq = (__u32)__sync_fetch_and_add(&sq->next, 1);
	}
	if (e->t.ers_ver == XM_ERSPAN_VER_III)
		p->tstamp = (__u32)((bpf_ktime_get_ns() +
				     (__u64)c->rt_off_ns) / 100);
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

#endif /* XM_CLASSIFY_BPF_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_classify.h - the one rule matcher.  xm_rule_match() decides whether
 * a frame's parsed fields satisfy a rule (a pcap filter, if the rule has
 * one, is run by the caller, which owns the packet).  The tuple helpers
 * turn a hashed rule and a frame into the same xm_rule_key, so the XDP
 * program's hash lookup and a linear walk with xm_rule_match() must agree;
 * the differential tests hold them to it.  Everything here compiles for
 * BPF and for user space.
 */
#ifndef XM_CLASSIFY_H
#define XM_CLASSIFY_H

#include "xm_compat.h"
#include "xm_types.h"
#include "xm_parse.h"

XM_INLINE int xm_addr_match(const __u8 *addr, const __u8 *want,
			    const __u8 *mask)
{
	const __u32 *a = (const __u32 *)addr;
	const __u32 *w = (const __u32 *)want;
	const __u32 *m = (const __u32 *)mask;

	return !(((a[0] ^ w[0]) & m[0]) | ((a[1] ^ w[1]) & m[1]) |
		 ((a[2] ^ w[2]) & m[2]) | ((a[3] ^ w[3]) & m[3]));
}

/* Fields that need an IP header, a transport header, a TCP header. */
#define XM_F_NEED_IP (XM_F_PROTO | XM_F_DSCP)
#define XM_F_NEED_L4 (XM_F_SPORT | XM_F_DPORT)

/*
 * 1 when frame f has every layer the fields fl need and lies in the
 * family (0: any) and direction mask (with XM_F_DIR): a field a rule sets
 * never matches a frame that lacks it.  Shared by the linear match and
 * the hash key, which must agree on it.
 */
XM_INLINE int xm_flow_has(const struct xm_flow *f, __u32 fl, __u8 family,
			  __u8 dir)
{
	if (family && family != f->family)
		return 0;
	if ((fl & XM_F_NEED_IP) && !f->family)
		return 0;
	if ((fl & XM_F_NEED_L4) && !f->l4_ok)
		return 0;
	if ((fl & XM_F_VLAN) && f->nvlan < 1)
		return 0;
	if ((fl & XM_F_IVLAN) && f->nvlan < 2)
		return 0;
	if ((fl & XM_F_DIR) && !(f->dir & dir))
		return 0;
	if ((fl & XM_F_TCPFLAGS) && (f->proto != XM_IPPROTO_TCP || !f->l4_ok))
		return 0;
	return 1;
}

/* 1 when frame f matches every field rule r sets, except the filter.  A
 * field the rule does not set matches anything. */
XM_INLINE int xm_rule_match(const struct xm_rule *r, const struct xm_flow *f)
{
	__u32 fl = r->fields;

	if (!xm_flow_has(f, fl, r->family, r->dir))
		return 0;
	if ((fl & XM_F_VLAN) && f->vlan[0] != r->vlan)
		return 0;
	if ((fl & XM_F_IVLAN) && f->vlan[1] != r->ivlan)
		return 0;
	if ((fl & XM_F_PROTO) && f->proto != r->proto)
		return 0;
	if ((fl & XM_F_SRC) && !xm_addr_match(f->src, r->src, r->src_mask))
		return 0;
	if ((fl & XM_F_DST) && !xm_addr_match(f->dst, r->dst, r->dst_mask))
		return 0;
	if ((fl & XM_F_SPORT) &&
	    (f->sport < r->sport_lo || f->sport > r->sport_hi))
		return 0;
	if ((fl & XM_F_DPORT) &&
	    (f->dport < r->dport_lo || f->dport > r->dport_hi))
		return 0;
	if ((fl & XM_F_DEV) && f->ifindex != r->ifindex)
		return 0;
	if ((fl & XM_F_DSCP) && f->dscp != r->dscp)
		return 0;
	if ((fl & XM_F_TCPFLAGS) &&
	    (f->tcp_flags & r->tcp_mask) != r->tcp_flags)
		return 0;
	return 1;
}

/* (prio, id) order: negative when a comes first. */
XM_INLINE int xm_rule_before(__u32 prio_a, __u32 id_a, __u32 prio_b,
			     __u32 id_b)
{
	return prio_a < prio_b || (prio_a == prio_b && id_a < id_b);
}

/* ---- tuple space: hashed rules ------------------------------------- */

/* A rule can be hashed when each field it sets is one exact value or a
 * prefix: no port range, no filter. */
XM_INLINE int xm_rule_hashable(const struct xm_rule *r)
{
	if (r->fields & XM_F_FILTER)
		return 0;
	if ((r->fields & XM_F_SPORT) && r->sport_lo != r->sport_hi)
		return 0;
	if ((r->fields & XM_F_DPORT) && r->dport_lo != r->dport_hi)
		return 0;
	return 1;
}

/* The tuple (shape) of a hashed rule; min_prio is left to the caller. */
XM_INLINE void xm_tuple_of(const struct xm_rule *r, struct xm_tuple *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->fields = r->fields;
	t->family = r->family;
	t->src_plen = r->src_plen;
	t->dst_plen = r->dst_plen;
	t->tcp_mask = r->tcp_mask;
	/* The direction mask is part of the shape: a frame has one
	 * direction, and "in" rules and "out" rules key on it alike. */
	t->dir = r->dir;
	__builtin_memcpy(t->src_mask, r->src_mask, 16);
	__builtin_memcpy(t->dst_mask, r->dst_mask, 16);
}

/*
 * An address under mask m as one key word: the IPv4 address itself, or
 * for IPv6 a multiply-shift hash of the four words (sum of word times an
 * odd 64-bit constant, high half), which spreads structured address
 * plans without a loop or a table.  Equal words can come from different
 * IPv6 addresses: see struct xm_rule_key.
 */
XM_INLINE __u32 xm_key_addr(const __u8 *a, const __u8 *m, __u8 family)
{
	const __u32 *a32 = (const __u32 *)a;
	const __u32 *m32 = (const __u32 *)m;
	__u64 h;

	if (family != 6)
		return a32[0] & m32[0];
	h = (__u64)(a32[0] & m32[0]) * 0x9c2b9d9f2ae75e2fULL +
	    (__u64)(a32[1] & m32[1]) * 0x02ff349d4f876aa3ULL +
	    (__u64)(a32[2] & m32[2]) * 0xe06c85afbaec4ef7ULL +
	    (__u64)(a32[3] & m32[3]) * 0xe7158a8021f64545ULL;
	return (__u32)(h >> 32);
}

/* 1 when tuple t's keys hold hashed (IPv6) addresses: a key then stands
 * for more than one address, and what it leads to must be checked. */
XM_INLINE int xm_tuple_hashes_addr(const struct xm_tuple *t)
{
	return t->family == 6 && (t->fields & (XM_F_SRC | XM_F_DST));
}

/* 1 when addresses (sa, da) and (sb, db) are equal under tuple t's
 * masks, in the address fields t uses. */
XM_INLINE int xm_tuple_addrs_same(const struct xm_tuple *t, const __u8 *sa,
				  const __u8 *da, const __u8 *sb,
				  const __u8 *db)
{
	if ((t->fields & XM_F_SRC) && !xm_addr_match(sa, sb, t->src_mask))
		return 0;
	if ((t->fields & XM_F_DST) && !xm_addr_match(da, db, t->dst_mask))
		return 0;
	return 1;
}

/* The key of a hashed rule r in tuple number ti of half gen. */
XM_INLINE void xm_rule_key_of_rule(const struct xm_rule *r,
				   const struct xm_tuple *t, __u32 ti,
				   __u32 gen, struct xm_rule_key *k)
{
	__u32 fl = t->fields;

	__builtin_memset(k, 0, sizeof(*k));
	k->tuple = (__u16)ti;
	k->gen = (__u8)gen;
	if (fl & XM_F_PROTO)
		k->proto = r->proto;
	if (fl & XM_F_DSCP)
		k->dscp = r->dscp;
	if (fl & XM_F_TCPFLAGS)
		k->tcp_flags = r->tcp_flags & t->tcp_mask;
	if (fl & XM_F_SPORT)
		k->sport = r->sport_lo;
	if (fl & XM_F_DPORT)
		k->dport = r->dport_lo;
	if (fl & XM_F_VLAN)
		k->vlan = r->vlan;
	if (fl & XM_F_IVLAN)
		k->ivlan = r->ivlan;
	if (fl & XM_F_DEV)
		k->ifindex = r->ifindex;
	if (fl & XM_F_SRC)
		k->src = xm_key_addr(r->src, t->src_mask, t->family);
	if (fl & XM_F_DST)
		k->dst = xm_key_addr(r->dst, t->dst_mask, t->family);
}

/*
 * The key frame f would have in tuple t (number ti, half gen).  Returns 0
 * when f cannot match any rule of the tuple (it lacks a field the tuple
 * needs, or its direction is not in the tuple's mask), else 1.
 */
XM_INLINE int xm_rule_key_of_flow(const struct xm_flow *f,
				  const struct xm_tuple *t, __u32 ti,
				  __u32 gen, struct xm_rule_key *k)
{
	__u32 fl = t->fields;

	if (!xm_flow_has(f, fl, t->family, t->dir))
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	k->tuple = (__u16)ti;
	k->gen = (__u8)gen;
	if (fl & XM_F_PROTO)
		k->proto = f->proto;
	if (fl & XM_F_DSCP)
		k->dscp = f->dscp;
	if (fl & XM_F_TCPFLAGS)
		k->tcp_flags = f->tcp_flags & t->tcp_mask;
	if (fl & XM_F_SPORT)
		k->sport = f->sport;
	if (fl & XM_F_DPORT)
		k->dport = f->dport;
	if (fl & XM_F_VLAN)
		k->vlan = f->vlan[0];
	if (fl & XM_F_IVLAN)
		k->ivlan = f->vlan[1];
	if (fl & XM_F_DEV)
		k->ifindex = f->ifindex;
	if (fl & XM_F_SRC)
		k->src = xm_key_addr(f->src, t->src_mask, t->family);
	if (fl & XM_F_DST)
		k->dst = xm_key_addr(f->dst, t->dst_mask, t->family);
	return 1;
}

#ifndef __bpf__
/*
 * The reference: index of the first rule of a (prio, id)-sorted table
 * that frame f (the parse of pkt, len bytes) matches, or -1.  filters[]
 * is indexed by a rule's filter slot.  The XDP program's tuple search
 * must give the same answer.
 */
static inline int xm_classify_table(const struct xm_rule *rules, __u32 n,
				    const struct xm_flow *f, const __u8 *pkt,
				    __u32 len, const struct xm_filter *filters)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		const struct xm_rule *r = &rules[i];

		if (!xm_rule_match(r, f))
			continue;
		if ((r->fields & XM_F_FILTER) &&
		    (!filters || r->filter >= XM_MAX_FILTERS ||
		     !xm_cbpf_run_user(&filters[r->filter].prog, pkt, len)))
			continue;
		return (int)i;
	}
	return -1;
}
#endif

#endif /* XM_CLASSIFY_H */

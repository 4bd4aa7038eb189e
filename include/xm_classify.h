/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_classify.h - the one rule matcher.  The XDP program walks the live
 * table with bpf_loop() and calls xm_rule_match() per rule; user space
 * (tests, future DPDK backend) calls xm_classify_table().  Both therefore
 * run the very same match logic.
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

/* 1 when frame f matches rule r.  A field the rule does not set matches
 * anything; a field the rule sets never matches a frame that lacks it. */
XM_INLINE int xm_rule_match(const struct xm_rule *r, const struct xm_flow *f)
{
	__u32 fl = r->fields;

	if (r->family && r->family != f->family)
		return 0;
	if ((fl & XM_F_VLAN) && (!f->nvlan || f->vlan[0] != r->vlan))
		return 0;
	if ((fl & XM_F_PROTO) && (!f->family || f->proto != r->proto))
		return 0;
	if ((fl & XM_F_SRC) && !xm_addr_match(f->src, r->src, r->src_mask))
		return 0;
	if ((fl & XM_F_DST) && !xm_addr_match(f->dst, r->dst, r->dst_mask))
		return 0;
	if ((fl & XM_F_SPORT) &&
	    (!f->l4_ok || f->sport < r->sport_lo || f->sport > r->sport_hi))
		return 0;
	if ((fl & XM_F_DPORT) &&
	    (!f->l4_ok || f->dport < r->dport_lo || f->dport > r->dport_hi))
		return 0;
	return 1;
}

#ifndef __bpf__
/* Index of the first matching rule of a (prio, id)-sorted table, or -1. */
static inline int xm_classify_table(const struct xm_rule *rules, __u32 n,
				    const struct xm_flow *f)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (xm_rule_match(&rules[i], f))
			return (int)i;
	return -1;
}
#endif

#endif /* XM_CLASSIFY_H */

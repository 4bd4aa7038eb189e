/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_rules.h - rule-table logic shared by mirrorctl, the daemon and the
 * unit tests: encoding a rule from its fields, the (prio, id) order, and
 * publishing a new table generation with one atomic store.
 */
#ifndef XM_RULES_H
#define XM_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "xm_types.h"

#define XM_PRIO_DEFAULT 100

/* Protocol names understood by rules: tcp udp icmp icmpv6 sctp, or 0-255.
 * Returns 0 or -EINVAL. */
int xm_proto_parse(const char *s, __u8 *proto);
/* Name of a protocol number, or NULL when it has none. */
const char *xm_proto_name(__u8 proto);

/*
 * Set the src (dst = false) or dst prefix of r from "ADDR[/LEN]".
 * -EINVAL: not a prefix; -EAFNOSUPPORT: its family differs from the
 * other prefix already set on r.
 */
int xm_rule_set_prefix(struct xm_rule *r, bool dst, const char *s);
/* Port range lo..hi inclusive; -EINVAL when lo > hi. */
int xm_rule_set_ports(struct xm_rule *r, bool dst, __u16 lo, __u16 hi);
void xm_rule_set_proto(struct xm_rule *r, __u8 proto);
/* VLAN id 0-4095; -ERANGE beyond. */
int xm_rule_set_vlan(struct xm_rule *r, __u16 vlan);

/* qsort comparator and sort for the table order (prio, id). */
int xm_rule_cmp(const void *a, const void *b);
void xm_rules_sort(struct xm_rule *t, __u32 n);

/* Index of rule id in t, or -1. */
int xm_rules_find(const struct xm_rule *t, __u32 n, __u32 id);
/*
 * Lowest id in 1..XM_MAX_RULE_ID-1 used neither in t nor in also (pass
 * the table as it was before a change so an id deleted in the same change
 * is not handed out again while its old rule may still be live).
 * Returns 0 when none is free.
 */
__u32 xm_rules_free_id(const struct xm_rule *t, __u32 n,
		       const struct xm_rule *also, __u32 m);

/* mmap the single-entry BPF_F_MMAPABLE ctl map (read-write, shared). */
struct xm_ctl *xm_ctl_map(int ctl_fd);
void xm_ctl_unmap(struct xm_ctl *ctl);

/* Read the live table into t (room for XM_MAX_RULES); count into *n. */
int xm_rules_read(int rules_fd, const struct xm_ctl *ctl,
		  struct xm_rule *t, __u32 *n);

/*
 * Write the sorted table t[0..n) into the inactive generation of the
 * rules map, then make it live with one 32-bit atomic store to rules_sel
 * and bump rule_gen.  Until that store the XDP program keeps using the
 * old table, so it never sees a half-written one.  -E2BIG when n is too
 * large.
 */
int xm_rules_publish(int rules_fd, struct xm_ctl *ctl,
		     const struct xm_rule *t, __u32 n);

/* Zero the per-CPU counters of rule id (before the id goes live). */
int xm_rule_stats_zero(int rule_stats_fd, __u32 id);

#endif /* XM_RULES_H */

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

/* Zero the per-CPU counters of rule id (before the id goes live). */
int xm_rule_stats_zero(int rule_stats_fd, __u32 id);

/* ---- fields added with actions, filters and sampling ---- */

/* sample 1 in N: N in 1..XM_SAMPLE_MAX */
#define XM_SAMPLE_MAX (1u << 31)

/* Inner VLAN id (second tag) 0-4095; -ERANGE beyond. */
int xm_rule_set_ivlan(struct xm_rule *r, __u16 vlan);
/* Ingress device. */
void xm_rule_set_ifindex(struct xm_rule *r, __u32 ifindex);
/* Direction mask of XM_DIR_*: both bits leave the field a wildcard;
 * -EINVAL for 0 or unknown bits. */
int xm_rule_set_dir(struct xm_rule *r, __u8 mask);
/* DSCP 0-63; -ERANGE beyond. */
int xm_rule_set_dscp(struct xm_rule *r, __u8 dscp);
/* Match (tcp flags & mask) == flags; -EINVAL when mask is 0 or flags has
 * a bit outside mask (that rule could never match). */
int xm_rule_set_tcp_flags(struct xm_rule *r, __u8 flags, __u8 mask);
/* Filters map slot of the rule's pcap-filter program. */
void xm_rule_set_filter(struct xm_rule *r, __u32 slot);
/* enum xm_action; -EINVAL for another value. */
int xm_rule_set_action(struct xm_rule *r, unsigned int action);
/* Mirror 1 in n matched frames, n in 1..XM_SAMPLE_MAX (1: every frame,
 * stored as 0); -ERANGE beyond. */
int xm_rule_set_sample(struct xm_rule *r, __u32 n);
/* Cut copies to snaplen bytes, XM_SNAPLEN_MIN..65535; -ERANGE beyond. */
int xm_rule_set_snaplen(struct xm_rule *r, __u32 snaplen);

/*
 * TCP flag names fin syn rst psh ack urg ece cwr (bits 0..7 of the flags
 * byte).  Parse a comma-separated list of them into *bits; on error
 * (-EINVAL unknown or empty name, -EEXIST a name given twice) the bad name
 * is s[*bad .. *bad + *badlen).
 */
int xm_tcp_flags_parse(const char *s, __u8 *bits, size_t *bad, size_t *badlen);
/* The names of the set bits, comma-separated ("" for none), into buf. */
const char *xm_tcp_flags_str(__u8 bits, char *buf, size_t len);

#endif /* XM_RULES_H */

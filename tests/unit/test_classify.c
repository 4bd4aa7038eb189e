// SPDX-License-Identifier: GPL-2.0
/*
 * test_classify - the XDP program's tuple-space classifier against the
 * user-space reference, a linear first match (xm_classify_table).
 *
 * Random rule tables (seeded; 1 to 2000 rules, then a table with more
 * distinct shapes than there are tuples and one of 10 000 hashed rules)
 * mix every match field: v4/v6 prefixes of many lengths, protocol, exact
 * ports (hashed) and port ranges (residual), outer and inner VLAN,
 * ingress device, direction, DSCP, TCP flags under masks, pcap filters,
 * skip and sampled rules, duplicate shapes, duplicate keys at other
 * priorities and ties in priority.  Each table is installed with
 * xm_table_publish(), its half checked key by key, and then frames - most
 * derived from a rule's fields, some with one field nudged, the rest
 * random, tagged or not, IPv4/IPv6, fragments, malformed - run through the
 * program with BPF_PROG_TEST_RUN, received on queue 0 of the loopback
 * device (ifindex 1) of a private network namespace.  The rule the
 * program chose is read from the per-rule counter that moved (or
 * not_matched when none did) and must be the reference's, frame by frame.
 *
 * Then the quiescence wait of xm_table_publish(): a CPU marked inside an
 * XDP run holds a publish off (-ETIMEDOUT after a second, nothing changed)
 * until its counter moves.
 *
 * XM_SEED=n reruns with another seed; XM_TEST_VERBOSE=1 prints every
 * failure.  Disagreements are printed with both rules and the frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "xm_types.h"
#include "xm_parse.h"
#include "xm_classify.h"
#include "xm_filter.h"
#include "xm_maps.h"
#include "xm_rules.h"
#include "xm_table.h"
#include "mirror.skel.h"
#include "xm_test.h"

#define TC_IFINDEX 1		/* lo of our namespace: every frame's ingress */
#define TC_OTHER_IF 7		/* an ingress device no frame comes from */
#define TC_SEED 0x5eed2024u
#define TC_MIN_FRAMES 100000	/* over the random tables together */
#define TC_MAX_FILTER_RULES 24	/* per table: each costs a cBPF run */
#define TC_PRINT_MAX 5		/* disagreements printed in full */
#define TC_NSTATS (sizeof(struct xm_dev_stats) / sizeof(__u64))

/* ---- pcap filters ----------------------------------------------------- */

/* What a frame needs to pass a filter: applied to frames derived from a
 * filter rule so that some of them do. */
enum tc_hint {
	TH_TCP80, TH_UDP53, TH_VLAN10, TH_NET10_1, TH_V6NET, TH_SYN,
	TH_DSCP46, TH_PRANGE, TH_BIG, TH_NOTIP, TH_QINQ100, TH_GRE, TH_V6443,
};

static const struct {
	const char *expr;
	enum tc_hint hint;
} tc_filters[] = {
	{ "tcp port 80", TH_TCP80 },
	{ "udp port 53", TH_UDP53 },
	{ "vlan 10", TH_VLAN10 },
	{ "src net 10.1.0.0/16", TH_NET10_1 },
	{ "ip6 and src net 2001:db8:1::/48", TH_V6NET },
	{ "tcp[tcpflags] & tcp-syn != 0", TH_SYN },
	{ "ip[1] & 0xfc = 0xb8", TH_DSCP46 },
	{ "portrange 1000-1005", TH_PRANGE },
	{ "greater 200", TH_BIG },
	{ "not ip", TH_NOTIP },
	{ "vlan and vlan 100", TH_QINQ100 },
	{ "ip proto 47", TH_GRE },
	{ "ip6 and tcp dst port 443", TH_V6443 },
};

#define TC_NFILTERS (sizeof(tc_filters) / sizeof(tc_filters[0]))
#define TC_SLOT(i) (3 + 17 * (i))	/* filters map slot of filter i */
#define TC_SLOT_EMPTY 250		/* never written: never matches */
#define TC_SLOT_BAD 300			/* beyond the map: never matches */

/* ---- value pools: small, so that frames and rules meet often ------------ */

static const __u16 tc_ports[] = {
	0, 1, 22, 53, 80, 443, 1000, 1001, 1003, 1005, 2000, 8080, 65535,
};
static const __u16 tc_vlans[] = { 0, 1, 5, 10, 20, 100, 4095 };
static const __u8 tc_dscps[] = { 0, 10, 46, 63 };
static const __u8 tc_protos[] = { 6, 17, 132, 1, 58, 47, 50 };
static const char *const tc_v4_fixed[] = { "10.1.2.3", "10.1.200.1",
					   "192.168.7.9" };
static const char *const tc_v6_fixed[] = { "2001:db8:1::10",
					   "2001:db8:1:ff::1",
					   "2001:db8:ffff::1" };

#define TC_NPOOL 8
#define TC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct tc_ctx {
	struct mirror_bpf *skel;
	int prog_fd, dev_fd, rstat_fd, qsbr_fd;
	struct xm_maps maps;
	struct xm_table tb;
	bool tb_open;
	struct xm_filter *filters;	/* XM_MAX_FILTERS: the map's copy */
	/* live table and the one live before it (the other half) */
	struct xm_rule *tbl, *prev;
	__u32 ntbl, nprev;
	__u8 *resid_slot;		/* slot of tbl is residual */
	__u8 *id_used;			/* XM_MAX_RULE_ID */
	/* predicted counters: packets per rule id, not_matched */
	__u64 *shadow;
	__u64 shadow_nm;
	__u64 rng;
	__u8 v4pool[TC_NPOOL][16], v6pool[TC_NPOOL][16];
	int ncpu;
	/* totals over the differential groups */
	__u64 frames, agree, disagree, nomatch, hashed_hits, resid_hits;
	__u64 skip_hits, filter_hits, malformed, derived, tagged, v6;
	unsigned int printed;
	struct xm_tsuite suite;
};

/* ---- random numbers (xorshift64*: the same sequence everywhere) ---------- */

static __u64 tc_rnd(struct tc_ctx *x)
{
	x->rng ^= x->rng >> 12;
	x->rng ^= x->rng << 25;
	x->rng ^= x->rng >> 27;
	return x->rng * 0x2545f4914f6cdd1dull;
}

static __u32 tc_below(struct tc_ctx *x, __u32 n)
{
	return n ? (__u32)((tc_rnd(x) >> 16) % n) : 0;
}

static bool tc_pct(struct tc_ctx *x, __u32 pct)
{
	return tc_below(x, 100) < pct;
}

#define TC_PICK(x, arr) ((arr)[tc_below((x), TC_ARRAY_SIZE(arr))])

/* ---- addresses ------------------------------------------------------- */

static void tc_mask(__u8 *mask, __u8 family, __u8 plen)
{
	unsigned int i, bits = family == 4 ? 32 : 128;

	memset(mask, 0, 16);
	if (plen > bits)
		plen = (__u8)bits;
	for (i = 0; i < plen; i++)
		mask[i / 8] |= (__u8)(0x80 >> (i % 8));
}

/* An address of family: one of the pool's, its bits past keep random. */
static void tc_addr(struct tc_ctx *x, __u8 family, __u8 *out)
{
	unsigned int bits = family == 4 ? 32 : 128, keep, i;
	const __u8 *base = family == 4 ? x->v4pool[tc_below(x, TC_NPOOL)] :
				       x->v6pool[tc_below(x, TC_NPOOL)];
	__u8 m[16];

	/* mostly the pool address itself or close to it */
	keep = tc_pct(x, 50) ? bits : bits - tc_below(x, bits + 1);
	tc_mask(m, family, (__u8)keep);
	memset(out, 0, 16);
	for (i = 0; i < bits / 8; i++)
		out[i] = (__u8)((base[i] & m[i]) | (tc_rnd(x) & ~m[i]));
}

/* a inside prefix (addr, mask), random elsewhere */
static void tc_addr_in(struct tc_ctx *x, __u8 family, const __u8 *addr,
		       const __u8 *mask, __u8 *out)
{
	unsigned int i, n = family == 4 ? 4 : 16;

	memset(out, 0, 16);
	for (i = 0; i < n; i++)
		out[i] = (__u8)((addr[i] & mask[i]) | (tc_rnd(x) & ~mask[i]));
}

static void tc_pools(struct tc_ctx *x)
{
	unsigned int i, j;

	for (i = 0; i < TC_NPOOL; i++) {
		memset(x->v4pool[i], 0, 16);
		memset(x->v6pool[i], 0, 16);
		if (i < TC_ARRAY_SIZE(tc_v4_fixed)) {
			inet_pton(AF_INET, tc_v4_fixed[i], x->v4pool[i]);
			inet_pton(AF_INET6, tc_v6_fixed[i], x->v6pool[i]);
			continue;
		}
		for (j = 0; j < 4; j++)
			x->v4pool[i][j] = (__u8)tc_rnd(x);
		/* v6: two of them share the documentation /32 */
		for (j = 0; j < 16; j++)
			x->v6pool[i][j] = (__u8)tc_rnd(x);
		if (i & 1)
			memcpy(x->v6pool[i], x->v6pool[0], 4);
	}
}

/* ---- rules ------------------------------------------------------------ */

/* A shape: which fields, prefix lengths, masks; values come later. */
struct tc_shape {
	__u32 fields;
	__u8 family, src_plen, dst_plen, tcp_mask, dir;
	bool sport_range, dport_range;
};

static __u8 tc_plen(struct tc_ctx *x, __u8 family)
{
	static const __u8 v4[] = { 0, 8, 16, 24, 32, 32 };
	static const __u8 v6[] = { 0, 32, 48, 64, 128, 128 };

	if (tc_pct(x, 30))
		return (__u8)tc_below(x, family == 4 ? 33 : 129);
	return family == 4 ? TC_PICK(x, v4) : TC_PICK(x, v6);
}

static void tc_shape_random(struct tc_ctx *x, struct tc_shape *s,
			    bool allow_filter)
{
	static const __u8 dirs[] = { XM_DIR_IN, XM_DIR_IN, XM_DIR_OUT,
				     XM_DIR_IN | XM_DIR_OUT };

	memset(s, 0, sizeof(*s));
	if (tc_pct(x, 35))
		s->fields |= XM_F_SRC;
	if (tc_pct(x, 30))
		s->fields |= XM_F_DST;
	if (s->fields) {
		s->family = tc_pct(x, 60) ? 4 : 6;
		s->src_plen = tc_plen(x, s->family);
		s->dst_plen = tc_plen(x, s->family);
	}
	if (tc_pct(x, 40))
		s->fields |= XM_F_PROTO;
	if (tc_pct(x, 15)) {
		s->fields |= XM_F_SPORT;
		s->sport_range = tc_pct(x, 40);
	}
	if (tc_pct(x, 30)) {
		s->fields |= XM_F_DPORT;
		s->dport_range = tc_pct(x, 40);
	}
	if (tc_pct(x, 12))
		s->fields |= XM_F_VLAN;
	if (tc_pct(x, 6))
		s->fields |= XM_F_IVLAN;
	if (tc_pct(x, 8))
		s->fields |= XM_F_DEV;
	if (tc_pct(x, 12)) {
		s->fields |= XM_F_DIR;
		s->dir = TC_PICK(x, dirs);
	}
	if (tc_pct(x, 8))
		s->fields |= XM_F_DSCP;
	if (tc_pct(x, 8)) {
		s->fields |= XM_F_TCPFLAGS;
		s->tcp_mask = (__u8)(1 + tc_below(x, 255));
	}
	if (allow_filter && tc_pct(x, 6))
		s->fields |= XM_F_FILTER;
	/* a catch-all now and then, not one in twenty shapes */
	if (!s->fields && tc_pct(x, 75))
		tc_shape_random(x, s, allow_filter);
}

static void tc_ports_set(struct tc_ctx *x, bool range, __u16 *lo, __u16 *hi)
{
	__u32 l = tc_pct(x, 80) ? TC_PICK(x, tc_ports) : tc_below(x, 65536);
	__u32 h = l;

	if (range) {
		h = l + (tc_pct(x, 30) ? tc_below(x, 65536 - l) :
			 tc_below(x, 20));
		if (h > 65535)
			h = 65535;
	}
	*lo = (__u16)l;
	*hi = (__u16)h;
}

/* A rule of shape s with fresh values (id and prio set by the caller). */
static void tc_rule_of(struct tc_ctx *x, const struct tc_shape *s,
		       struct xm_rule *r, unsigned int *nfilter)
{
	memset(r, 0, sizeof(*r));
	r->fields = s->fields;
	r->family = s->family;
	if (s->fields & XM_F_SRC) {
		r->src_plen = s->src_plen;
		tc_mask(r->src_mask, s->family, s->src_plen);
		tc_addr(x, s->family, r->src);
		/* host bits: left set now and then, masked by both sides */
		if (tc_pct(x, 70))
			for (unsigned int i = 0; i < 16; i++)
				r->src[i] &= r->src_mask[i];
	}
	if (s->fields & XM_F_DST) {
		r->dst_plen = s->dst_plen;
		tc_mask(r->dst_mask, s->family, s->dst_plen);
		tc_addr(x, s->family, r->dst);
		if (tc_pct(x, 70))
			for (unsigned int i = 0; i < 16; i++)
				r->dst[i] &= r->dst_mask[i];
	}
	if (s->fields & XM_F_PROTO)
		r->proto = tc_pct(x, 95) ? TC_PICK(x, tc_protos) :
					    (__u8)tc_below(x, 256);
	if (s->fields & XM_F_SPORT)
		tc_ports_set(x, s->sport_range, &r->sport_lo, &r->sport_hi);
	if (s->fields & XM_F_DPORT)
		tc_ports_set(x, s->dport_range, &r->dport_lo, &r->dport_hi);
	if (s->fields & XM_F_VLAN)
		r->vlan = tc_pct(x, 85) ? TC_PICK(x, tc_vlans) :
					   (__u16)tc_below(x, 4096);
	if (s->fields & XM_F_IVLAN)
		r->ivlan = tc_pct(x, 85) ? TC_PICK(x, tc_vlans) :
					    (__u16)tc_below(x, 4096);
	if (s->fields & XM_F_DEV)
		r->ifindex = tc_pct(x, 70) ? TC_IFINDEX : TC_OTHER_IF;
	if (s->fields & XM_F_DIR)
		r->dir = s->dir;
	if (s->fields & XM_F_DSCP)
		r->dscp = tc_pct(x, 80) ? TC_PICK(x, tc_dscps) :
					   (__u8)tc_below(x, 64);
	if (s->fields & XM_F_TCPFLAGS) {
		/* only wanted bits under the mask: mirrorctl refuses more */
		r->tcp_mask = s->tcp_mask;
		r->tcp_flags = (__u8)(tc_rnd(x) & s->tcp_mask);
	}
	if (s->fields & XM_F_FILTER) {
		if (*nfilter >= TC_MAX_FILTER_RULES) {
			r->fields &= ~(__u32)XM_F_FILTER;
		} else {
			(*nfilter)++;
			r->filter = tc_pct(x, 90) ?
				TC_SLOT(tc_below(x, TC_NFILTERS)) :
				tc_pct(x, 50) ? TC_SLOT_EMPTY : TC_SLOT_BAD;
		}
	}
	if (tc_pct(x, 8))
		r->action = XM_ACT_SKIP;
	if (tc_pct(x, 5))
		r->sample = 2 + tc_below(x, 7);
	if (tc_pct(x, 10))
		r->snaplen = (__u16)(XM_SNAPLEN_MIN + tc_below(x, 2000));
	r->coll_mask = tc_rnd(x);
}

/* A rule id no other rule of the table has. */
static __u32 tc_new_id(struct tc_ctx *x)
{
	__u32 id;

	do
		id = 1 + tc_below(x, XM_MAX_RULE_ID - 1);
	while (x->id_used[id]);
	x->id_used[id] = 1;
	return id;
}

/*
 * A random table of n rules over nshapes shapes: most rules take a shape
 * of the table with fresh values (so tuples hold many rules), some copy
 * another rule's fields exactly (duplicate keys) under a new id at
 * another or the same priority.  Priorities come from a narrow range, so
 * ties (broken by id) are common.
 */
static void tc_table_random(struct tc_ctx *x, struct xm_rule *t, __u32 n,
			    __u32 nshapes)
{
	struct tc_shape *sh = calloc(nshapes ? nshapes : 1, sizeof(*sh));
	__u32 i, pmax = 4 + n / 3;
	unsigned int nfilter = 0;

	memset(x->id_used, 0, XM_MAX_RULE_ID);
	for (i = 0; i < nshapes && sh; i++)
		tc_shape_random(x, &sh[i], true);
	for (i = 0; i < n; i++) {
		if (i && tc_pct(x, 15)) {
			t[i] = t[tc_below(x, i)];
			if (t[i].fields & XM_F_FILTER)
				nfilter++;
		} else if (sh) {
			tc_rule_of(x, &sh[tc_below(x, nshapes)], &t[i],
				   &nfilter);
		}
		t[i].id = tc_new_id(x);
		t[i].prio = tc_below(x, pmax);
	}
	free(sh);
	xm_rules_sort(t, n);
}

/* ---- frames ------------------------------------------------------------ */

struct tc_spec {
	int ntags;
	__u16 tpid[2];
	__u16 tci[2];
	int l3;			/* 0 (not IP), 4, 6 */
	__u16 etype;		/* when l3 is 0 */
	__u8 src[16], dst[16];
	__u8 proto, dscp, ecn;
	int ihl;		/* IPv4 header words */
	int frag;		/* 0, 1 first fragment, 2 later fragment */
	__u8 v6ext;		/* 0 or an extension header in front */
	__u16 sport, dport;
	__u8 tcpflags;
	__u8 icmp_type;
	unsigned int payload;
	int malform;		/* 0 or how to break it */
	bool pad;		/* Ethernet padding to 60 */
};

static void tc_spec_random(struct tc_ctx *x, struct tc_spec *sp)
{
	static const __u16 tpids[] = { 0x8100, 0x88a8, 0x8100 };
	static const __u16 etypes[] = { 0x0806, 0x88cc, 0x8847, 0x0842 };
	static const __u8 v6exts[] = { 0, 60, 43 };
	__u32 k;

	memset(sp, 0, sizeof(*sp));
	k = tc_below(x, 10);
	sp->ntags = k < 6 ? 0 : k < 9 ? 1 : 2;
	for (k = 0; k < 2; k++) {
		sp->tpid[k] = TC_PICK(x, tpids);
		sp->tci[k] = (__u16)(tc_below(x, 8) << 13 |
				     (tc_pct(x, 85) ? TC_PICK(x, tc_vlans) :
						       tc_below(x, 4096)));
	}
	k = tc_below(x, 20);
	sp->l3 = k < 11 ? 4 : k < 18 ? 6 : 0;
	sp->etype = tc_pct(x, 80) ? TC_PICK(x, etypes) :
				    (__u16)tc_below(x, 65536);
	tc_addr(x, sp->l3 == 6 ? 6 : 4, sp->src);
	tc_addr(x, sp->l3 == 6 ? 6 : 4, sp->dst);
	sp->proto = tc_pct(x, 90) ? TC_PICK(x, tc_protos) :
				    (__u8)tc_below(x, 256);
	sp->dscp = tc_pct(x, 70) ? TC_PICK(x, tc_dscps) : (__u8)tc_below(x, 64);
	sp->ecn = (__u8)tc_below(x, 4);
	sp->ihl = tc_pct(x, 90) ? 5 : 6 + (int)tc_below(x, 4);
	k = tc_below(x, 20);
	sp->frag = k == 0 ? 1 : k == 1 ? 2 : 0;
	sp->v6ext = tc_pct(x, 85) ? 0 : TC_PICK(x, v6exts);
	sp->sport = tc_pct(x, 60) ? TC_PICK(x, tc_ports) :
				    (__u16)tc_below(x, 65536);
	sp->dport = tc_pct(x, 60) ? TC_PICK(x, tc_ports) :
				    (__u16)tc_below(x, 65536);
	sp->tcpflags = (__u8)tc_rnd(x);
	sp->icmp_type = (__u8)tc_below(x, 256);
	sp->payload = tc_pct(x, 80) ? tc_below(x, 64) : tc_below(x, 400);
	sp->malform = tc_pct(x, 6) ? 1 + (int)tc_below(x, 5) : 0;
	sp->pad = tc_pct(x, 30);
}

static bool tc_is_l4(__u8 proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* What the filter in slot needs (when it is one of ours). */
static void tc_hint(struct tc_ctx *x, __u32 slot, struct tc_spec *sp)
{
	unsigned int i;

	for (i = 0; i < TC_NFILTERS && TC_SLOT(i) != slot; i++)
		;
	if (i == TC_NFILTERS)
		return;
	switch (tc_filters[i].hint) {
	case TH_TCP80:
		sp->proto = 6;
		sp->dport = 80;
		break;
	case TH_UDP53:
		sp->proto = 17;
		sp->sport = 53;
		break;
	case TH_VLAN10:
		if (!sp->ntags)
			sp->ntags = 1;
		sp->tci[0] = (__u16)((sp->tci[0] & 0xf000) | 10);
		break;
	case TH_NET10_1:
		sp->ntags = 0;
		sp->l3 = 4;
		inet_pton(AF_INET, "10.1.0.0", sp->src);
		sp->src[2] = (__u8)tc_rnd(x);
		sp->src[3] = (__u8)tc_rnd(x);
		break;
	case TH_V6NET:
		sp->ntags = 0;
		sp->l3 = 6;
		inet_pton(AF_INET6, "2001:db8:1::", sp->src);
		sp->src[15] = (__u8)tc_rnd(x);
		break;
	case TH_SYN:
		sp->ntags = 0;
		sp->l3 = 4;
		sp->proto = 6;
		sp->tcpflags |= 0x02;
		break;
	case TH_DSCP46:
		sp->ntags = 0;
		sp->l3 = 4;
		sp->dscp = 46;
		break;
	case TH_PRANGE:
		sp->dport = (__u16)(1000 + tc_below(x, 6));
		break;
	case TH_BIG:
		sp->payload = 200 + tc_below(x, 100);
		break;
	case TH_NOTIP:
		sp->l3 = tc_pct(x, 50) ? 6 : 0;
		break;
	case TH_QINQ100:
		sp->ntags = 2;
		sp->tci[1] = 100;
		break;
	case TH_GRE:
		sp->ntags = 0;
		sp->l3 = 4;
		sp->proto = 47;
		break;
	case TH_V6443:
		sp->ntags = 0;
		sp->l3 = 6;
		sp->proto = 6;
		sp->dport = 443;
		break;
	}
}

/* A frame that rule r matches (unless nudged afterwards). */
static void tc_spec_for(struct tc_ctx *x, const struct xm_rule *r,
			struct tc_spec *sp)
{
	__u32 fl = r->fields;

	tc_spec_random(x, sp);
	sp->malform = tc_pct(x, 2) ? 1 + (int)tc_below(x, 5) : 0;
	if (r->family)
		sp->l3 = r->family;
	else if ((fl & (XM_F_NEED_IP | XM_F_NEED_L4 | XM_F_TCPFLAGS)) &&
		 !sp->l3)
		sp->l3 = tc_pct(x, 60) ? 4 : 6;
	if (sp->l3 == 0)
		sp->l3 = tc_pct(x, 50) ? 0 : 4;
	if ((fl & XM_F_SRC) && sp->l3)
		tc_addr_in(x, (__u8)sp->l3, r->src, r->src_mask, sp->src);
	else if (sp->l3)
		tc_addr(x, (__u8)sp->l3, sp->src);
	if ((fl & XM_F_DST) && sp->l3)
		tc_addr_in(x, (__u8)sp->l3, r->dst, r->dst_mask, sp->dst);
	else if (sp->l3)
		tc_addr(x, (__u8)sp->l3, sp->dst);
	if (fl & XM_F_PROTO)
		sp->proto = r->proto;
	else if (fl & XM_F_TCPFLAGS)
		sp->proto = 6;
	else if ((fl & XM_F_NEED_L4) && !tc_is_l4(sp->proto))
		sp->proto = tc_pct(x, 50) ? 6 : tc_pct(x, 50) ? 17 : 132;
	if (fl & (XM_F_NEED_L4 | XM_F_TCPFLAGS))
		sp->frag = tc_pct(x, 95) ? 0 : sp->frag;
	if (fl & XM_F_SPORT)
		sp->sport = (__u16)(r->sport_lo +
				    tc_below(x, r->sport_hi - r->sport_lo + 1u));
	if (fl & XM_F_DPORT)
		sp->dport = (__u16)(r->dport_lo +
				    tc_below(x, r->dport_hi - r->dport_lo + 1u));
	if (fl & XM_F_VLAN) {
		if (!sp->ntags)
			sp->ntags = 1;
		sp->tci[0] = (__u16)((sp->tci[0] & 0xf000) | r->vlan);
	}
	if (fl & XM_F_IVLAN) {
		sp->ntags = 2;
		sp->tci[1] = (__u16)((sp->tci[1] & 0xf000) | r->ivlan);
	}
	if (fl & XM_F_DSCP)
		sp->dscp = r->dscp;
	if (fl & XM_F_TCPFLAGS)
		sp->tcpflags = (__u8)((sp->tcpflags & ~r->tcp_mask) |
				      r->tcp_flags);
	if (fl & XM_F_FILTER)
		tc_hint(x, r->filter, sp);
}

/* Change one thing, so that the frame just misses (or not). */
static void tc_nudge(struct tc_ctx *x, struct tc_spec *sp)
{
	switch (tc_below(x, 10)) {
	case 0:
		sp->sport = (__u16)(sp->sport + (tc_pct(x, 50) ? 1 : -1));
		break;
	case 1:
		sp->dport = (__u16)(sp->dport + (tc_pct(x, 50) ? 1 : -1));
		break;
	case 2:
		sp->src[tc_below(x, sp->l3 == 6 ? 16 : 4)] ^=
			(__u8)(1 << tc_below(x, 8));
		break;
	case 3:
		sp->dst[tc_below(x, sp->l3 == 6 ? 16 : 4)] ^=
			(__u8)(1 << tc_below(x, 8));
		break;
	case 4:
		sp->proto = TC_PICK(x, tc_protos);
		break;
	case 5:
		sp->tci[tc_below(x, 2)] ^= (__u16)(1 << tc_below(x, 12));
		break;
	case 6:
		sp->ntags = (int)tc_below(x, 3);
		break;
	case 7:
		sp->dscp ^= (__u8)(1 << tc_below(x, 6));
		break;
	case 8:
		sp->tcpflags ^= (__u8)(1 << tc_below(x, 8));
		break;
	default:
		sp->malform = 1 + (int)tc_below(x, 5);
		break;
	}
}

static void tc_fb_random(struct tc_ctx *x, struct xm_fb *fb, unsigned int n)
{
	__u8 *p = xm_fb_room(fb, n);
	unsigned int i;

	for (i = 0; p && i < n; i++)
		p[i] = (__u8)tc_rnd(x);
}

/* Break a finished frame in one of several ways. */
static void tc_malform(struct tc_ctx *x, const struct tc_spec *sp,
		       struct xm_fb *fb, unsigned int l3, unsigned int l4)
{
	switch (sp->malform) {
	case 1:		/* cut anywhere after the Ethernet header */
		if (fb->len > 14)
			fb->len = 14 + tc_below(x, fb->len - 14);
		break;
	case 2:		/* version / header length */
		if (l3 && l3 < fb->len)
			fb->d[l3] = (__u8)tc_rnd(x);
		break;
	case 3:		/* total / payload length */
		if (l3 && l3 + 6 <= fb->len)
			xm_fb_put16(fb, l3 + (sp->l3 == 6 ? 4 : 2),
				    (__u16)tc_below(x, 400));
		break;
	case 4:		/* TCP data offset, UDP length */
		if (l4 && l4 + 14 <= fb->len)
			fb->d[l4 + 12] = (__u8)(tc_below(x, 16) << 4);
		if (l4 && l4 + 6 <= fb->len && sp->proto == 17)
			xm_fb_put16(fb, l4 + 4, (__u16)tc_below(x, 12));
		break;
	default:	/* a few random bytes anywhere */
		for (unsigned int i = 0; i < 1 + tc_below(x, 4); i++)
			fb->d[tc_below(x, fb->len)] = (__u8)tc_rnd(x);
		break;
	}
}

static void tc_build(struct tc_ctx *x, const struct tc_spec *sp,
		     struct xm_fb *fb)
{
	__u16 et = sp->l3 == 4 ? 0x0800 : sp->l3 == 6 ? 0x86dd : sp->etype;
	unsigned int l3 = 0, l4 = 0, off;
	__u8 first, next;

	xm_fb_init(fb);
	if (!sp->ntags) {
		xm_fb_eth(fb, et);
	} else {
		xm_fb_eth(fb, sp->tpid[0]);
		if (sp->ntags == 2) {
			xm_fb_vlan(fb, sp->tci[0], sp->tpid[1]);
			xm_fb_vlan(fb, sp->tci[1], et);
		} else {
			xm_fb_vlan(fb, sp->tci[0], et);
		}
	}
	if (!sp->l3) {
		tc_fb_random(x, fb, 28 + sp->payload);
		goto out;
	}
	l3 = fb->len;
	if (sp->l3 == 4) {
		xm_fb_ipv4(fb, sp->proto, "0.0.0.0", "0.0.0.0",
			   (unsigned int)sp->ihl,
			   sp->frag == 1 ? 0x2000 : sp->frag == 2 ?
			   (__u16)(0x2000 | (1 + tc_below(x, 100))) : 0);
		memcpy(fb->d + l3 + 12, sp->src, 4);
		memcpy(fb->d + l3 + 16, sp->dst, 4);
		fb->d[l3 + 1] = (__u8)(sp->dscp << 2 | sp->ecn);
	} else {
		/* [extension header] [fragment header] transport */
		next = sp->frag ? 44 : sp->proto;
		first = sp->v6ext ? sp->v6ext : next;
		xm_fb_ipv6(fb, first, "::", "::");
		memcpy(fb->d + l3 + 8, sp->src, 16);
		memcpy(fb->d + l3 + 24, sp->dst, 16);
		xm_fb_put32(fb, l3, 0x60000000u | (__u32)sp->dscp << 22 |
			    (__u32)sp->ecn << 20 | 0xbeef);
		if (sp->v6ext)
			xm_fb_ip6_ext(fb, sp->v6ext, next, 8);
		if (sp->frag)
			xm_fb_ip6_frag(fb, sp->proto,
				       sp->frag == 2 ? 1 + tc_below(x, 100) : 0,
				       1);
	}
	off = fb->len;
	switch (sp->proto) {
	case 6:
		xm_fb_tcp(fb, sp->sport, sp->dport, tc_pct(x, 90) ? 5 : 8);
		if (!fb->overflow)
			fb->d[off + 13] = sp->tcpflags;
		break;
	case 17:
		xm_fb_udp(fb, sp->sport, sp->dport);
		break;
	case 132:
		xm_fb_sctp(fb, sp->sport, sp->dport);
		break;
	case 1:
	case 58:
		xm_fb_icmp(fb, sp->icmp_type, 0);
		break;
	default:
		break;
	}
	l4 = off;
	tc_fb_random(x, fb, sp->payload);
	xm_fb_finish(fb);
out:
	if (sp->pad && fb->len < 60)
		xm_fb_bytes(fb, 60 - fb->len, 0);
	if (sp->malform)
		tc_malform(x, sp, fb, l3, l4);
	/* BPF_PROG_TEST_RUN takes nothing shorter than ETH_HLEN */
	if (fb->len < 14)
		fb->len = 14;
}

/* ---- the program ------------------------------------------------------ */

static int tc_test_run(struct tc_ctx *x, const __u8 *d, __u32 len,
		       __u32 *retval)
{
	__u8 out[XM_FB_MAX + 64];
	struct xdp_md ci;
	int err;

	memset(&ci, 0, sizeof(ci));
	ci.data_end = len;
	ci.ingress_ifindex = TC_IFINDEX;
	ci.rx_queue_index = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = d,
		.data_size_in = len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.ctx_in = &ci,
		.ctx_size_in = sizeof(ci),
		.repeat = 1,
	);
	err = bpf_prog_test_run_opts(x->prog_fd, &o);
	if (err)
		return -errno;
	*retval = o.retval;
	return 0;
}

static int tc_read_dev(struct tc_ctx *x, struct xm_dev_stats *st)
{
	return xm_percpu_sum(x->dev_fd, 0, (__u64 *)st, TC_NSTATS);
}

static __u64 tc_rule_pkts(struct tc_ctx *x, __u32 id, int *err)
{
	struct xm_rule_stats rs;

	*err = xm_percpu_sum(x->rstat_fd, id, (__u64 *)&rs, 2);
	return rs.packets;
}

/* Sum of the per-CPU quiescence counters. */
static int tc_qsbr_sum(struct tc_ctx *x, __u64 *sum, bool *all_even)
{
	struct xm_qsbr *q = calloc((size_t)x->ncpu, sizeof(*q));
	__u32 key = 0;
	int c, err = 0;

	if (!q)
		return -ENOMEM;
	if (bpf_map_lookup_elem(x->qsbr_fd, &key, q)) {
		err = -errno;
	} else {
		*sum = 0;
		*all_even = true;
		for (c = 0; c < x->ncpu; c++) {
			*sum += q[c].seq;
			*all_even = *all_even && !(q[c].seq & 1);
		}
	}
	free(q);
	return err;
}

/* t[0..n) went live: the old live table is now the other half's. */
static void tc_track(struct tc_ctx *x, const struct xm_rule *t, __u32 n)
{
	memcpy(x->prev, x->tbl, x->ntbl * sizeof(*x->tbl));
	x->nprev = x->ntbl;
	memcpy(x->tbl, t, n * sizeof(*t));
	x->ntbl = n;
}

/* Publish t (sorted) and check both halves, key by key. */
static int tc_publish(struct tc_ctx *x, struct xm_tgroup *g,
		      const struct xm_rule *t, __u32 n)
{
	__u32 sel, idx, i, slot;
	int err;

	err = xm_table_publish(&x->tb, t, n);
	if (err) {
		xm_tg_fail(g, "publishing %u rules: %s", n, strerror(-err));
		return err;
	}
	sel = __atomic_load_n(&x->tb.ctl->rules_sel, __ATOMIC_ACQUIRE);
	idx = XM_SEL_IDX(sel);
	XM_EXPECT(g, XM_SEL_COUNT(sel) == n, "rules_sel count %u, want %u",
		  XM_SEL_COUNT(sel), n);
	tc_track(x, t, n);
	/* a layout failure is recorded; the frames still show its effect */
	xm_t_check_half(g, "live half", &x->tb, &x->maps, idx, t, n);
	xm_t_check_half(g, "previous half", &x->tb, &x->maps, idx ^ 1, x->prev,
			x->nprev);
	/* which slots the program searches one by one */
	memset(x->resid_slot, 0, XM_MAX_RULES);
	for (i = 0; i < x->tb.ctl->gen[idx].nresid; i++)
		if (!xm_t_resid(x->maps.resid, idx * XM_MAX_RULES + i, &slot) &&
		    slot < n)
			x->resid_slot[slot] = 1;
	return 0;
}

static const char *tc_addr_str(const __u8 *a, __u8 family, char *buf,
			       size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static void tc_print_rule(const char *who, const struct xm_rule *r)
{
	char s[64], d[64];

	if (!r) {
		printf("#   %s: no rule\n", who);
		return;
	}
	printf("#   %s: id %u prio %u fields 0x%x family %u src %s/%u dst %s/%u proto %u sport %u-%u dport %u-%u vlan %u ivlan %u ifindex %u dir %u dscp %u tcp %02x/%02x filter %u action %u hashable %d\n",
	       who, r->id, r->prio, r->fields, r->family,
	       tc_addr_str(r->src, r->family, s, sizeof(s)), r->src_plen,
	       tc_addr_str(r->dst, r->family, d, sizeof(d)), r->dst_plen,
	       r->proto, r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi,
	       r->vlan, r->ivlan, r->ifindex, r->dir, r->dscp, r->tcp_flags,
	       r->tcp_mask, r->filter, r->action, xm_rule_hashable(r));
}

static void tc_print_frame(const struct xm_fb *fb, const struct xm_flow *f)
{
	unsigned int i;

	printf("#   frame (%u bytes, family %u proto %u ports %u->%u vlans %u:%u/%u dscp %u flags %02x malformed %u):",
	       fb->len, f->family, f->proto, f->sport, f->dport, f->nvlan,
	       f->vlan[0], f->vlan[1], f->dscp, f->tcp_flags, f->malformed);
	for (i = 0; i < fb->len && i < 96; i++)
		printf("%s%02x", i % 16 ? "" : "\n#     ", fb->d[i]);
	printf("\n");
}

/* The counters disagree with the reference: find the rule the program
 * took, report both, and take the kernel's counts from here on. */
static void tc_disagree(struct tc_ctx *x, struct xm_tgroup *g,
			const char *what, const struct xm_fb *fb,
			const struct xm_flow *f, int ref)
{
	const struct xm_rule *got = NULL;
	struct xm_dev_stats st;
	__u64 p;
	__u32 i;
	int err;

	x->disagree++;
	for (i = 0; i < x->ntbl; i++) {
		p = tc_rule_pkts(x, x->tbl[i].id, &err);
		if (!err && p != x->shadow[x->tbl[i].id]) {
			got = &x->tbl[i];
			x->shadow[x->tbl[i].id] = p;
		}
	}
	if (!tc_read_dev(x, &st))
		x->shadow_nm = st.not_matched;
	xm_tg_fail(g, "%s: frame %llu: the program chose rule %u, the reference %u",
		   what, (unsigned long long)x->frames, got ? got->id : 0,
		   ref >= 0 ? x->tbl[ref].id : 0);
	if (x->printed++ >= TC_PRINT_MAX)
		return;
	printf("# disagreement in %s:\n", what);
	tc_print_rule("reference", ref >= 0 ? &x->tbl[ref] : NULL);
	tc_print_rule("program", got);
	tc_print_frame(fb, f);
}

/* Expected outcome of one table's frames, for the counter totals. */
struct tc_tally {
	__u64 frames, matched, skipped, taken, sampled;
};

/*
 * One frame: the reference's choice, the program's run, and the counter
 * that moved.  The rule_stats of the chosen rule (or not_matched) must
 * have grown by one.
 */
static void tc_frame(struct tc_ctx *x, struct xm_tgroup *g, const char *what,
		     const struct xm_fb *fb, struct tc_tally *tl)
{
	const struct xm_rule *r;
	struct xm_dev_stats st;
	struct xm_flow f;
	__u32 retval = 0;
	__u64 p;
	int ref, err;

	memset(&f, 0, sizeof(f));
	xm_parse(fb->d, fb->d + fb->len, &f);
	f.dir = XM_DIR_IN;
	f.ifindex = TC_IFINDEX;
	ref = xm_classify_table(x->tbl, x->ntbl, &f, fb->d, fb->len,
				x->filters);
	err = tc_test_run(x, fb->d, fb->len, &retval);
	if (err) {
		xm_tg_fail(g, "%s: test run of a %u-byte frame: %s", what,
			   fb->len, strerror(-err));
		return;
	}
	x->frames++;
	tl->frames++;
	x->malformed += f.malformed ? 1 : 0;
	x->tagged += f.nvlan ? 1 : 0;
	x->v6 += f.family == 6 ? 1 : 0;
	XM_EXPECT(g, retval == XDP_PASS,
		  "%s: retval %u without a socket, want XDP_PASS", what,
		  retval);
	if (ref < 0) {
		err = tc_read_dev(x, &st);
		if (!err && st.not_matched == x->shadow_nm + 1) {
			x->shadow_nm++;
			x->nomatch++;
			x->agree++;
			return;
		}
		tc_disagree(x, g, what, fb, &f, ref);
		return;
	}
	r = &x->tbl[ref];
	tl->matched++;
	if (r->action == XM_ACT_SKIP)
		tl->skipped++;
	else if (r->sample > 1)
		tl->sampled++;
	else
		tl->taken++;
	p = tc_rule_pkts(x, r->id, &err);
	if (!err && p == x->shadow[r->id] + 1) {
		x->shadow[r->id]++;
		x->agree++;
		if (x->resid_slot[ref])
			x->resid_hits++;
		else
			x->hashed_hits++;
		x->skip_hits += r->action == XM_ACT_SKIP ? 1 : 0;
		x->filter_hits += (r->fields & XM_F_FILTER) ? 1 : 0;
		return;
	}
	tc_disagree(x, g, what, fb, &f, ref);
}

/* Zero the counters of the table's rules and take the kernel's
 * not_matched as the prediction's start. */
static int tc_counters_start(struct tc_ctx *x, struct xm_tgroup *g,
			     struct xm_dev_stats *st0, __u64 *q0)
{
	bool even;
	__u32 i;
	int err;

	for (i = 0; i < x->ntbl; i++) {
		err = xm_rule_stats_zero(x->rstat_fd, x->tbl[i].id);
		if (err) {
			xm_tg_fail(g, "zeroing rule_stats[%u]: %s",
				   x->tbl[i].id, strerror(-err));
			return err;
		}
		x->shadow[x->tbl[i].id] = 0;
	}
	err = tc_read_dev(x, st0);
	if (!err)
		err = tc_qsbr_sum(x, q0, &even);
	if (err) {
		xm_tg_fail(g, "reading counters: %s", strerror(-err));
		return err;
	}
	x->shadow_nm = st0->not_matched;
	return 0;
}

/* After a table's frames: dev_stats moved as the reference predicts, the
 * identities hold, and every run entered and left the quiescence count. */
static void tc_counters_end(struct tc_ctx *x, struct xm_tgroup *g,
			    const char *what, const struct xm_dev_stats *s0,
			    __u64 q0, const struct tc_tally *tl)
{
	struct xm_dev_stats s;
	__u64 q, d_missing, d_sampled;
	bool even;

	if (tc_read_dev(x, &s) || tc_qsbr_sum(x, &q, &even)) {
		xm_tg_fail(g, "%s: reading counters", what);
		return;
	}
	d_missing = s.xsk_missing - s0->xsk_missing;
	d_sampled = s.sampled_out - s0->sampled_out;
	XM_EXPECT(g, s.rx - s0->rx == tl->frames,
		  "%s: rx +%llu for %llu frames", what,
		  (unsigned long long)(s.rx - s0->rx),
		  (unsigned long long)tl->frames);
	/* only when every frame agreed are the totals predictable */
	if (!x->disagree) {
		XM_EXPECT(g, s.matched - s0->matched == tl->matched &&
			  s.skipped - s0->skipped == tl->skipped,
			  "%s: matched +%llu skipped +%llu, reference %llu, %llu",
			  what, (unsigned long long)(s.matched - s0->matched),
			  (unsigned long long)(s.skipped - s0->skipped),
			  (unsigned long long)tl->matched,
			  (unsigned long long)tl->skipped);
		XM_EXPECT(g, d_missing + d_sampled == tl->taken + tl->sampled &&
			  d_missing >= tl->taken && d_sampled <= tl->sampled,
			  "%s: xsk_missing +%llu sampled_out +%llu for %llu taken and %llu sampled",
			  what, (unsigned long long)d_missing,
			  (unsigned long long)d_sampled,
			  (unsigned long long)tl->taken,
			  (unsigned long long)tl->sampled);
	}
	XM_EXPECT(g, s.to_xsk == s0->to_xsk && s.meta_fail == s0->meta_fail,
		  "%s: to_xsk/meta_fail moved without a socket", what);
	XM_EXPECT(g, s.rx == s.matched + s.not_matched &&
		  s.matched == s.to_xsk + s.xsk_missing + s.meta_fail +
		  s.skipped + s.sampled_out &&
		  s.passed == s.not_matched + s.xsk_missing + s.meta_fail +
		  s.skipped + s.sampled_out,
		  "%s: dev_stats identities do not hold", what);
	XM_EXPECT(g, even && q - q0 == 2 * tl->frames,
		  "%s: quiescence counters +%llu (%s) for %llu runs, want two per run, all even",
		  what, (unsigned long long)(q - q0), even ? "even" : "odd",
		  (unsigned long long)tl->frames);
}

/* Frames for the live table: derived from its rules (a quarter nudged)
 * or random. */
static void tc_frames(struct tc_ctx *x, struct xm_tgroup *g,
		      const char *what, __u32 nframes, __u32 pct_derived,
		      struct tc_tally *tl)
{
	struct tc_spec sp;
	struct xm_fb fb;
	__u32 i;

	__u32 j, k;

	for (i = 0; i < nframes; i++) {
		if (x->ntbl && tc_pct(x, pct_derived)) {
			j = tc_below(x, x->ntbl);
			/* filter rules are few: aim at one now and then */
			for (k = 0; tc_pct(x, 15) && k < x->ntbl; k++)
				if (x->tbl[(j + k) % x->ntbl].fields &
				    XM_F_FILTER) {
					j = (j + k) % x->ntbl;
					break;
				}
			tc_spec_for(x, &x->tbl[j], &sp);
			if (tc_pct(x, 25))
				tc_nudge(x, &sp);
			x->derived++;
		} else {
			tc_spec_random(x, &sp);
		}
		if (tc_pct(x, 1)) {
			/* bytes without any structure */
			xm_fb_init(&fb);
			tc_fb_random(x, &fb, 14 + tc_below(x, 120));
		} else {
			tc_build(x, &sp, &fb);
		}
		tc_frame(x, g, what, &fb, tl);
	}
}

/* Publish t and run nframes frames against it. */
static void tc_table_run(struct tc_ctx *x, struct xm_tgroup *g,
			 const char *what, const struct xm_rule *t, __u32 n,
			 __u32 nframes, __u32 pct_derived)
{
	struct tc_tally tl = { 0 };
	struct xm_dev_stats s0;
	__u64 q0;

	if (tc_publish(x, g, t, n) || tc_counters_start(x, g, &s0, &q0))
		return;
	tc_frames(x, g, what, nframes, pct_derived, &tl);
	tc_counters_end(x, g, what, &s0, q0, &tl);
}

/* ---- groups ------------------------------------------------------------ */

static void tc_totals(struct tc_ctx *x, const char *what)
{
	printf("# %s: %llu frames (%llu derived from rules, %llu tagged, %llu IPv6, %llu malformed): %llu agree, %llu disagree; matches: %llu hashed, %llu residual (%llu by filter rules), %llu skip rules; %llu unmatched\n",
	       what, (unsigned long long)x->frames,
	       (unsigned long long)x->derived, (unsigned long long)x->tagged,
	       (unsigned long long)x->v6, (unsigned long long)x->malformed,
	       (unsigned long long)x->agree, (unsigned long long)x->disagree,
	       (unsigned long long)x->hashed_hits,
	       (unsigned long long)x->resid_hits,
	       (unsigned long long)x->filter_hits,
	       (unsigned long long)x->skip_hits,
	       (unsigned long long)x->nomatch);
	fflush(stdout);
}

static void tc_totals_reset(struct tc_ctx *x)
{
	x->frames = x->agree = x->disagree = x->nomatch = 0;
	x->hashed_hits = x->resid_hits = x->skip_hits = x->filter_hits = 0;
	x->malformed = x->derived = x->tagged = x->v6 = 0;
}

/* Random tables of 1 to 2000 rules, >= TC_MIN_FRAMES frames in all. */
static void tc_group_random(struct tc_ctx *x, struct xm_rule *t)
{
	static const __u32 sizes[] = {
		1, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 100, 128, 200,
		256, 400, 512, 750, 1000, 1250, 1500, 1750, 2000,
	};
	const __u32 nrand = 3, ntables = TC_ARRAY_SIZE(sizes) + nrand;
	const __u32 per = (TC_MIN_FRAMES + ntables - 1) / ntables;
	__u32 i, n, nshapes, tuples_max = 0, resid_max = 0;
	struct xm_tgroup g;
	char what[64];

	xm_tg_begin(&g, "classify_random_tables");
	tc_totals_reset(x);
	for (i = 0; i < ntables; i++) {
		n = i < TC_ARRAY_SIZE(sizes) ? sizes[i] :
					       1 + tc_below(x, 2000);
		/* few shapes for most tables, beyond the tuples for some */
		nshapes = 1 + tc_below(x, i % 4 == 3 ? 120 : 40);
		tc_table_random(x, t, n, nshapes);
		snprintf(what, sizeof(what), "table %u (%u rules, %u shapes)",
			 i, n, nshapes);
		tc_table_run(x, &g, what, t, n, per, 65);
		{
			__u32 idx = XM_SEL_IDX(x->tb.ctl->rules_sel);

			if (x->tb.ctl->gen[idx].ntuples > tuples_max)
				tuples_max = x->tb.ctl->gen[idx].ntuples;
			if (x->tb.ctl->gen[idx].nresid > resid_max)
				resid_max = x->tb.ctl->gen[idx].nresid;
		}
	}
	printf("# %u tables, up to %u tuples and %u residual rules\n",
	       ntables, tuples_max, resid_max);
	tc_totals(x, "random tables");
	XM_EXPECT(&g, x->frames >= TC_MIN_FRAMES && !x->disagree,
		  "%llu frames, %llu disagreements",
		  (unsigned long long)x->frames,
		  (unsigned long long)x->disagree);
	XM_EXPECT(&g, x->hashed_hits && x->resid_hits && x->filter_hits &&
		  x->skip_hits && x->nomatch,
		  "coverage: a kind of match never happened");
	xm_tg_end(&x->suite, &g);
}

/*
 * More distinct hashed shapes than XM_MAX_TUPLES: the first 64 shapes get
 * tuples, the rules of the others are searched one by one - and the
 * answers stay the reference's.
 */
static void tc_group_overflow(struct tc_ctx *x, struct xm_rule *t)
{
	const __u32 nshapes = 150;
	struct tc_shape s;
	struct xm_tgroup g;
	unsigned int nfilter = TC_MAX_FILTER_RULES;
	__u32 i, n = 0, k, idx;

	xm_tg_begin(&g, "classify_tuple_overflow");
	tc_totals_reset(x);
	memset(x->id_used, 0, XM_MAX_RULE_ID);
	for (i = 0; i < nshapes; i++) {
		/* distinct hashable shapes: prefix lengths by the index */
		memset(&s, 0, sizeof(s));
		s.fields = XM_F_SRC | (i & 1 ? XM_F_PROTO : 0) |
			   (i & 2 ? XM_F_DPORT : 0);
		s.family = i & 4 ? 6 : 4;
		/* at least /8: a /0 would take every frame of its family */
		s.src_plen = (__u8)(8 + (i >> 3) % (s.family == 4 ? 25 : 121));
		if (i >= 128) {
			s.fields = XM_F_DST | XM_F_VLAN;
			s.dst_plen = (__u8)(i - 128);
		}
		for (k = 0; k < 3; k++, n++) {
			tc_rule_of(x, &s, &t[n], &nfilter);
			t[n].id = tc_new_id(x);
			t[n].prio = tc_below(x, 300);
		}
	}
	xm_rules_sort(t, n);
	tc_table_run(x, &g, "overflow table", t, n, 10000, 80);
	idx = XM_SEL_IDX(x->tb.ctl->rules_sel);
	printf("# overflow: %u rules of %u shapes: %u tuples, %u residual\n",
	       n, nshapes, x->tb.ctl->gen[idx].ntuples,
	       x->tb.ctl->gen[idx].nresid);
	XM_EXPECT(&g, x->tb.ctl->gen[idx].ntuples == XM_MAX_TUPLES &&
		  x->tb.ctl->gen[idx].nresid > 0,
		  "%u tuples, %u residual: want %u and the rest residual",
		  x->tb.ctl->gen[idx].ntuples, x->tb.ctl->gen[idx].nresid,
		  XM_MAX_TUPLES);
	tc_totals(x, "overflow");
	XM_EXPECT(&g, !x->disagree && x->hashed_hits && x->resid_hits,
		  "%llu disagreements, %llu hashed, %llu residual matches",
		  (unsigned long long)x->disagree,
		  (unsigned long long)x->hashed_hits,
		  (unsigned long long)x->resid_hits);
	xm_tg_end(&x->suite, &g);
}

/* 10 000 hashed rules in a dozen shapes, some keys twice at other
 * priorities: no residual rule at all. */
static void tc_group_10k(struct tc_ctx *x, struct xm_rule *t)
{
	static const struct tc_shape shapes[] = {
		{ XM_F_SRC | XM_F_PROTO | XM_F_DPORT, 4, 32, 0, 0, 0, 0, 0 },
		{ XM_F_DST | XM_F_PROTO, 4, 0, 24, 0, 0, 0, 0 },
		{ XM_F_SRC | XM_F_DPORT, 6, 64, 0, 0, 0, 0, 0 },
		{ XM_F_SRC | XM_F_DST, 6, 128, 48, 0, 0, 0, 0 },
		{ XM_F_VLAN | XM_F_DPORT, 0, 0, 0, 0, 0, 0, 0 },
		{ XM_F_VLAN | XM_F_IVLAN, 0, 0, 0, 0, 0, 0, 0 },
		{ XM_F_PROTO | XM_F_SPORT, 0, 0, 0, 0, 0, 0, 0 },
		{ XM_F_DSCP | XM_F_PROTO | XM_F_DIR, 0, 0, 0, 0, XM_DIR_IN,
		  0, 0 },
		{ XM_F_TCPFLAGS | XM_F_DPORT, 0, 0, 0, 0x12, 0, 0, 0 },
		{ XM_F_DEV | XM_F_SRC, 4, 16, 0, 0, 0, 0, 0 },
		{ XM_F_SRC | XM_F_DST | XM_F_SPORT | XM_F_DPORT | XM_F_PROTO,
		  4, 32, 32, 0, 0, 0, 0 },
		{ XM_F_DIR | XM_F_DPORT, 0, 0, 0, 0, XM_DIR_OUT, 0, 0 },
	};
	const __u32 n = 10000;
	unsigned int nfilter = TC_MAX_FILTER_RULES;
	struct xm_tgroup g;
	__u32 i, idx;

	xm_tg_begin(&g, "classify_10k_hashed");
	tc_totals_reset(x);
	memset(x->id_used, 0, XM_MAX_RULE_ID);
	for (i = 0; i < n; i++) {
		if (i && tc_pct(x, 5))
			t[i] = t[tc_below(x, i)];
		else
			tc_rule_of(x, &shapes[tc_below(x, TC_ARRAY_SIZE(shapes))],
				   &t[i], &nfilter);
		/* wider values than the pools, so that keys spread */
		if ((t[i].fields & XM_F_DPORT) && tc_pct(x, 70))
			t[i].dport_lo = t[i].dport_hi =
				(__u16)tc_below(x, 65536);
		t[i].id = tc_new_id(x);
		t[i].prio = tc_below(x, 5000);
	}
	xm_rules_sort(t, n);
	tc_table_run(x, &g, "10k hashed", t, n, 12000, 85);
	idx = XM_SEL_IDX(x->tb.ctl->rules_sel);
	printf("# 10k: %u rules: %u tuples, %u residual\n", n,
	       x->tb.ctl->gen[idx].ntuples, x->tb.ctl->gen[idx].nresid);
	XM_EXPECT(&g, x->tb.ctl->gen[idx].nresid == 0 &&
		  x->tb.ctl->gen[idx].ntuples == TC_ARRAY_SIZE(shapes),
		  "%u tuples, %u residual: want %zu, 0",
		  x->tb.ctl->gen[idx].ntuples, x->tb.ctl->gen[idx].nresid,
		  TC_ARRAY_SIZE(shapes));
	tc_totals(x, "10k hashed");
	XM_EXPECT(&g, !x->disagree && x->hashed_hits > 5000,
		  "%llu disagreements, %llu hashed matches",
		  (unsigned long long)x->disagree,
		  (unsigned long long)x->hashed_hits);
	/* and back to a small table: 10 000 keys of the half go */
	tc_table_random(x, t, 50, 8);
	tc_table_run(x, &g, "after 10k", t, 50, 2000, 65);
	tc_table_random(x, t, 30, 8);
	tc_table_run(x, &g, "after 10k, other half", t, 30, 2000, 65);
	XM_EXPECT(&g, !x->disagree, "%llu disagreements after the 10k table",
		  (unsigned long long)x->disagree);
	xm_tg_end(&x->suite, &g);
}

/* ---- IPv6 keys hashed alike --------------------------------------------- */

static int tc_u64_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The next random address: base with words lo..3 drawn. */
static void tc_v6_draw(struct tc_ctx *x, const __u8 *base, __u32 lo,
		       __u8 *addr)
{
	__u32 w, word;

	memcpy(addr, base, 16);
	for (w = lo; w < 4; w++) {
		word = (__u32)tc_rnd(x);
		memcpy(addr + 4 * w, &word, 4);
	}
}

/*
 * Two IPv6 addresses that differ under mask but whose key words
 * (xm_key_addr) are equal.  Words lo..3 of base take 2^20 random values
 * (two at least: the hash of addresses that differ in one word never
 * collides), and two of them meet: about a hundred pairs are expected
 * among 2^40 / 2^33.  The draws are replayed from the seed to recover
 * the two addresses.
 */
static int tc_v6_twins(struct tc_ctx *x, const __u8 *base, const __u8 *mask,
		       __u32 lo, __u8 *a, __u8 *b)
{
	const __u32 n = 1u << 20;
	__u64 *v = malloc(n * sizeof(*v)), seed = x->rng;
	__u32 i, ia = 0, ib = 0;
	__u8 addr[16];
	int ret = -1;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		tc_v6_draw(x, base, lo, addr);
		v[i] = (__u64)xm_key_addr(addr, mask, 6) << 32 | i;
	}
	qsort(v, n, sizeof(*v), tc_u64_cmp);
	for (i = 0; i + 1 < n && ret; i++) {
		if (v[i] >> 32 != v[i + 1] >> 32)
			continue;
		ia = (__u32)v[i];
		ib = (__u32)v[i + 1];
		ret = 0;
	}
	free(v);
	if (ret)
		return ret;
	x->rng = seed;
	for (i = 0; i < n; i++) {
		tc_v6_draw(x, base, lo, addr);
		if (i == ia)
			memcpy(a, addr, 16);
		if (i == ib)
			memcpy(b, addr, 16);
	}
	return 0;
}

static void tc_v6_rule(struct xm_rule *r, __u32 id, __u32 prio, __u32 field,
		       const __u8 *addr, __u8 plen)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->prio = prio;
	r->fields = field;
	r->family = 6;
	r->coll_mask = 1;
	if (field == XM_F_SRC) {
		memcpy(r->src, addr, 16);
		r->src_plen = plen;
		tc_mask(r->src_mask, 6, plen);
	} else {
		memcpy(r->dst, addr, 16);
		r->dst_plen = plen;
		tc_mask(r->dst_mask, 6, plen);
	}
}

/* A UDP frame from src to dst. */
static void tc_v6_frame(struct tc_ctx *x, struct xm_tgroup *g, const __u8 *src,
			const __u8 *dst, struct tc_tally *tl)
{
	struct tc_spec sp;
	struct xm_fb fb;

	memset(&sp, 0, sizeof(sp));
	sp.l3 = 6;
	sp.proto = 17;
	sp.sport = 1000;
	sp.dport = 2000;
	sp.ihl = 5;
	sp.payload = 18;
	memcpy(sp.src, src, 16);
	memcpy(sp.dst, dst, 16);
	tc_build(x, &sp, &fb);
	tc_frame(x, g, "hashed IPv6 keys", &fb, tl);
}

/*
 * IPv6 rules of one tuple whose addresses hash to one key word: the best
 * takes the hash entry, the others are searched one by one, and a frame
 * whose address only hashes like a rule's is not taken for it (the
 * search goes on to a rule further down).  Both address fields, /128 and
 * /64.
 */
static void tc_group_v6_hash(struct tc_ctx *x, struct xm_rule *t)
{
	static const struct {
		__u32 field;
		__u8 plen;
		__u32 lo;	/* first word drawn at random */
	} shapes[] = { { XM_F_SRC, 128, 1 }, { XM_F_DST, 64, 0 } };
	__u8 base[16] = { 0x20, 0x01, 0x0d, 0xb8 }, mask[16], other[16];
	__u8 a1[2][16], a2[2][16], b1[2][16], b2[2][16];
	struct tc_tally tl = { 0 };
	struct xm_dev_stats s0;
	struct xm_tgroup g;
	__u32 i, n = 0, idx;
	__u64 q0;

	xm_tg_begin(&g, "classify_ipv6_keys_hashed_alike");
	tc_totals_reset(x);
	memset(other, 0xee, sizeof(other));
	for (i = 0; i < TC_ARRAY_SIZE(shapes); i++) {
		tc_mask(mask, 6, shapes[i].plen);
		if (tc_v6_twins(x, base, mask, shapes[i].lo, a1[i], a2[i]) ||
		    tc_v6_twins(x, base, mask, shapes[i].lo, b1[i], b2[i]))
			goto fail;
		XM_EXPECT(&g, xm_key_addr(a1[i], mask, 6) ==
			  xm_key_addr(a2[i], mask, 6) &&
			  !xm_addr_match(a1[i], a2[i], mask),
			  "shape %u: the twins are not twins", i);
		/* a1 first; a2 twice, later: both searched one by one */
		tc_v6_rule(&t[n++], 10 * i + 1, 10 * i + 1, shapes[i].field,
			   a1[i], shapes[i].plen);
		tc_v6_rule(&t[n++], 10 * i + 2, 10 * i + 2, shapes[i].field,
			   a2[i], shapes[i].plen);
		tc_v6_rule(&t[n++], 10 * i + 3, 10 * i + 3, shapes[i].field,
			   b1[i], shapes[i].plen);
		tc_v6_rule(&t[n++], 10 * i + 4, 10 * i + 4, shapes[i].field,
			   a2[i], shapes[i].plen);
	}
	/* UDP to any port: a port range, residual, last */
	memset(&t[n], 0, sizeof(t[n]));
	t[n].id = t[n].prio = 100;
	t[n].fields = XM_F_PROTO | XM_F_DPORT;
	t[n].proto = 17;
	t[n].dport_lo = 1;
	t[n].dport_hi = 65535;
	t[n++].coll_mask = 1;
	xm_rules_sort(t, n);
	if (tc_publish(x, &g, t, n) || tc_counters_start(x, &g, &s0, &q0))
		goto out;
	idx = XM_SEL_IDX(x->tb.ctl->rules_sel);
	XM_EXPECT(&g, x->tb.ctl->gen[idx].ntuples == 2 &&
		  x->tb.ctl->gen[idx].nresid == 5,
		  "%u tuples, %u residual: want 2, 5 (two twins per shape and the range)",
		  x->tb.ctl->gen[idx].ntuples, x->tb.ctl->gen[idx].nresid);
	for (i = 0; i < TC_ARRAY_SIZE(shapes); i++) {
		const __u8 *addrs[4] = { a1[i], a2[i], b1[i], b2[i] };
		__u32 k;

		for (k = 0; k < 4; k++) {
			if (shapes[i].field == XM_F_SRC)
				tc_v6_frame(x, &g, addrs[k], other, &tl);
			else
				tc_v6_frame(x, &g, other, addrs[k], &tl);
		}
	}
	tc_counters_end(x, &g, "hashed IPv6 keys", &s0, q0, &tl);
	/* per shape: a1, b1 by hash; a2 and b2 (the range) one by one */
	XM_EXPECT(&g, !x->disagree && x->hashed_hits == 4 && x->resid_hits == 4,
		  "%llu disagreements, %llu hashed and %llu residual matches: want 0, 4, 4",
		  (unsigned long long)x->disagree,
		  (unsigned long long)x->hashed_hits,
		  (unsigned long long)x->resid_hits);
	/* and mixed traffic against the same table */
	tc_table_run(x, &g, "hashed IPv6 keys, random frames", t, n, 2000, 90);
	XM_EXPECT(&g, !x->disagree, "%llu disagreements",
		  (unsigned long long)x->disagree);
	goto out;
fail:
	xm_tg_fail(&g, "no two addresses with one key word among 2^20");
out:
	xm_tg_end(&x->suite, &g);
}

/* ---- quiescence --------------------------------------------------------- */

static __u64 tc_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* Add delta to CPU cpu's quiescence counter, as an XDP run would. */
static int tc_qsbr_add(struct tc_ctx *x, int cpu, __u64 delta)
{
	struct xm_qsbr *q = calloc((size_t)x->ncpu, sizeof(*q));
	__u32 key = 0;
	int err = 0;

	if (!q)
		return -ENOMEM;
	if (bpf_map_lookup_elem(x->qsbr_fd, &key, q))
		err = -errno;
	if (!err) {
		q[cpu].seq += delta;
		if (bpf_map_update_elem(x->qsbr_fd, &key, q, BPF_ANY))
			err = -errno;
	}
	free(q);
	return err;
}

struct tc_leaver {
	struct tc_ctx *x;
	int cpu;
	__u64 delta;
	unsigned int after_ms;
	int err;
};

/* The CPU "leaves" its XDP run after a while (a thread standing in for
 * the run that is still going while the writer waits). */
static void *tc_leaver_main(void *arg)
{
	struct tc_leaver *l = arg;
	struct timespec ts = { l->after_ms / 1000,
			       (long)(l->after_ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	l->err = tc_qsbr_add(l->x, l->cpu, l->delta);
	return NULL;
}

/* Publish t while a thread moves cpu's counter by delta after after_ms;
 * returns publish's result, *ms how long it took. */
static int tc_publish_during(struct tc_ctx *x, const struct xm_rule *t,
			     __u32 n, int cpu, __u64 delta,
			     unsigned int after_ms, __u64 *ms)
{
	struct tc_leaver l = { x, cpu, delta, after_ms, 0 };
	pthread_t th;
	__u64 t0;
	int err;

	if (pthread_create(&th, NULL, tc_leaver_main, &l))
		return -EAGAIN;
	t0 = tc_ms();
	err = xm_table_publish(&x->tb, t, n);
	*ms = tc_ms() - t0;
	pthread_join(th, NULL);
	return l.err ? l.err : err;
}

/*
 * A CPU inside an XDP run (odd counter) that stays inside holds a publish
 * off: -ETIMEDOUT after about a second, and nothing changed - live table,
 * rules_sel, rule_gen, the other half and its keys.  Once the counter
 * moves (the run ended, even if another began), the publish proceeds.
 */
static void tc_group_qsbr(struct tc_ctx *x, struct xm_rule *t)
{
	struct xm_rule *a = t, *b = t + 8, *live;
	struct xm_t_kv *kv0 = NULL, *kv1 = NULL;
	__u32 sel, gen, n;
	int cpu = x->ncpu - 1, nkv0, nkv1, err;
	struct tc_tally tl = { 0 };
	struct xm_dev_stats s0;
	__u64 q0;
	struct xm_tgroup g;
	__u64 ms;

	xm_tg_begin(&g, "classify_qsbr_publish_waits");
	tc_totals_reset(x);
	tc_table_random(x, a, 8, 4);
	tc_table_random(x, b, 8, 4);
	live = calloc(XM_MAX_RULES, sizeof(*live));
	if (!live) {
		xm_tg_fail(&g, "out of memory");
		goto out;
	}
	if (tc_publish(x, &g, b, 8) || tc_publish(x, &g, a, 8))
		goto out;
	err = xm_qsbr_wait(x->qsbr_fd, 100);
	XM_EXPECT(&g, !err, "nobody inside: xm_qsbr_wait gave %d", err);

	/* CPU cpu is inside, and stays */
	sel = x->tb.ctl->rules_sel;
	gen = x->tb.ctl->rule_gen;
	nkv0 = xm_t_hash_dump(x->maps.rule_hash, &kv0);
	err = tc_qsbr_add(x, cpu, 1);
	if (err || nkv0 < 0) {
		xm_tg_fail(&g, "marking CPU %d inside: %s", cpu,
			   strerror(err ? -err : -nkv0));
		goto out;
	}
	err = xm_qsbr_wait(x->qsbr_fd, 100);
	XM_EXPECT(&g, err == -ETIMEDOUT,
		  "CPU %d inside: xm_qsbr_wait(100 ms) gave %d, want -ETIMEDOUT",
		  cpu, err);
	ms = tc_ms();
	err = xm_table_publish(&x->tb, b, 8);
	ms = tc_ms() - ms;
	printf("# publish with CPU %d inside: %d after %llu ms\n", cpu, err,
	       (unsigned long long)ms);
	XM_EXPECT(&g, err == -ETIMEDOUT && ms >= 900 && ms < 5000,
		  "CPU %d inside: publish gave %d after %llu ms, want -ETIMEDOUT after about 1 s",
		  cpu, err, (unsigned long long)ms);
	XM_EXPECT(&g, x->tb.ctl->rules_sel == sel &&
		  x->tb.ctl->rule_gen == gen,
		  "failed publish changed rules_sel 0x%x -> 0x%x, rule_gen %u -> %u",
		  sel, x->tb.ctl->rules_sel, gen, x->tb.ctl->rule_gen);
	err = xm_table_read(&x->tb, live, &n);
	XM_EXPECT(&g, !err && n == 8 && !memcmp(live, a, 8 * sizeof(*a)),
		  "failed publish changed the live rules (%d, %u rules)", err,
		  n);
	xm_t_check_half(&g, "after the timeout, live", &x->tb, &x->maps,
			XM_SEL_IDX(sel), a, 8);
	xm_t_check_half(&g, "after the timeout, other", &x->tb, &x->maps,
			XM_SEL_IDX(sel) ^ 1, b, 8);
	nkv1 = xm_t_hash_dump(x->maps.rule_hash, &kv1);
	XM_EXPECT(&g, nkv1 == nkv0 &&
		  !memcmp(kv0, kv1, (size_t)(nkv0 > 0 ? nkv0 : 0) *
			  sizeof(*kv0)),
		  "failed publish changed rule_hash (%d entries, were %d)",
		  nkv1, nkv0);
	/* the program still classifies with A */
	if (!tc_counters_start(x, &g, &s0, &q0))
		tc_frames(x, &g, "A while a publish timed out", 200, 80, &tl);

	/* the CPU leaves after 200 ms: the publish waits for it, then
	 * goes through */
	err = tc_publish_during(x, b, 8, cpu, 1, 200, &ms);
	printf("# publish while CPU %d leaves after 200 ms: %d after %llu ms\n",
	       cpu, err, (unsigned long long)ms);
	XM_EXPECT(&g, !err && ms >= 150 && ms < 900,
		  "CPU leaving after 200 ms: publish gave %d after %llu ms",
		  err, (unsigned long long)ms);
	XM_EXPECT(&g, XM_SEL_IDX(x->tb.ctl->rules_sel) != XM_SEL_IDX(sel) &&
		  x->tb.ctl->rule_gen == gen + 1,
		  "publish after the wait: rules_sel 0x%x rule_gen %u",
		  x->tb.ctl->rules_sel, x->tb.ctl->rule_gen);
	if (!err)
		tc_track(x, b, 8);
	xm_t_check_half(&g, "after the wait, live", &x->tb, &x->maps,
			XM_SEL_IDX(x->tb.ctl->rules_sel), b, 8);

	/* inside again, and a new run begins before the old is seen to
	 * end (+2: still odd, but it moved): that run cannot hold the
	 * half the writer rewrites */
	err = tc_qsbr_add(x, cpu, 1);
	if (!err)
		err = tc_publish_during(x, a, 8, cpu, 2, 100, &ms);
	if (!err)
		tc_track(x, a, 8);
	XM_EXPECT(&g, !err && ms < 900,
		  "CPU moving on (+2) after 100 ms: publish gave %d after %llu ms",
		  err, (unsigned long long)ms);
	err = tc_qsbr_add(x, cpu, 1);	/* even: outside */
	if (!err) {
		ms = tc_ms();
		err = tc_publish(x, &g, b, 8);
		ms = tc_ms() - ms;
	}
	XM_EXPECT(&g, !err && ms < 500,
		  "all CPUs outside: publish gave %d after %llu ms", err,
		  (unsigned long long)ms);
	tc_table_run(x, &g, "after the waits", a, 8, 200, 80);
	XM_EXPECT(&g, !x->disagree, "%llu disagreements",
		  (unsigned long long)x->disagree);
out:
	free(kv0);
	free(kv1);
	free(live);
	xm_tg_end(&x->suite, &g);
}

/* ---- setup ------------------------------------------------------------- */

static int tc_filters_install(struct tc_ctx *x, struct xm_tgroup *g)
{
	char err[256];
	__u32 i, slot;
	int rc;

	for (i = 0; i < TC_NFILTERS; i++) {
		slot = TC_SLOT(i);
		rc = xm_filter_compile(tc_filters[i].expr,
				       &x->filters[slot].prog, err,
				       sizeof(err));
		if (rc) {
			xm_tg_fail(g, "%s", err);
			return rc;
		}
		snprintf(x->filters[slot].expr, sizeof(x->filters[slot].expr),
			 "%s", tc_filters[i].expr);
		if (bpf_map_update_elem(x->maps.filters, &slot,
					&x->filters[slot], BPF_ANY)) {
			rc = -errno;
			xm_tg_fail(g, "writing filters[%u]: %s", slot,
				   strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int tc_open(struct tc_ctx *x)
{
	struct mirror_bpf *s;
	struct xm_tgroup g;
	const char *seed = getenv("XM_SEED");
	int err = 0;

	xm_tg_begin(&g, "classify_load");
	x->rng = seed ? strtoull(seed, NULL, 0) : TC_SEED;
	if (!x->rng)
		x->rng = TC_SEED;
	printf("# seed 0x%llx\n", (unsigned long long)x->rng);
	tc_pools(x);
	x->ncpu = libbpf_num_possible_cpus();
	x->filters = calloc(XM_MAX_FILTERS, sizeof(*x->filters));
	x->tbl = calloc(XM_MAX_RULES, sizeof(*x->tbl));
	x->prev = calloc(XM_MAX_RULES, sizeof(*x->prev));
	x->resid_slot = calloc(XM_MAX_RULES, 1);
	x->id_used = calloc(XM_MAX_RULE_ID, 1);
	x->shadow = calloc(XM_MAX_RULE_ID, sizeof(*x->shadow));
	if (!x->filters || !x->tbl || !x->prev || !x->resid_slot ||
	    !x->id_used || !x->shadow || x->ncpu <= 0) {
		xm_tg_fail(&g, "out of memory");
		err = -ENOMEM;
		goto out;
	}
	/* our own loopback: the ingress device of every test run */
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		xm_tg_fail(&g, "unshare(CLONE_NEWNET): %s", strerror(-err));
		goto out;
	}
	x->skel = s = mirror_bpf__open_and_load();
	if (!s) {
		err = -errno;
		xm_tg_fail(&g, "mirror_bpf__open_and_load: %s", strerror(-err));
		goto out;
	}
	x->prog_fd = bpf_program__fd(s->progs.xm_xdp_mirror);
	x->dev_fd = bpf_map__fd(s->maps.dev_stats);
	x->rstat_fd = bpf_map__fd(s->maps.rule_stats);
	x->qsbr_fd = bpf_map__fd(s->maps.qsbr);
	xm_maps_init(&x->maps);
	x->maps.rules = bpf_map__fd(s->maps.rules);
	x->maps.ctl = bpf_map__fd(s->maps.ctl);
	x->maps.tuples = bpf_map__fd(s->maps.tuples);
	x->maps.resid = bpf_map__fd(s->maps.resid);
	x->maps.rule_hash = bpf_map__fd(s->maps.rule_hash);
	x->maps.filters = bpf_map__fd(s->maps.filters);
	x->maps.qsbr = x->qsbr_fd;
	err = xm_table_open(&x->tb, &x->maps);
	if (err) {
		xm_tg_fail(&g, "xm_table_open: %s", strerror(-err));
		goto out;
	}
	x->tb_open = true;
	err = tc_filters_install(x, &g);
out:
	xm_tg_end(&x->suite, &g);
	return err;
}

static void tc_close(struct tc_ctx *x)
{
	if (x->tb_open)
		xm_table_close(&x->tb);
	mirror_bpf__destroy(x->skel);
	free(x->filters);
	free(x->tbl);
	free(x->prev);
	free(x->resid_slot);
	free(x->id_used);
	free(x->shadow);
}

int main(void)
{
	struct tc_ctx *x = calloc(1, sizeof(*x));
	struct xm_rule *t = calloc(XM_MAX_RULES, sizeof(*t));
	int ret = 1;

	if (!x || !t) {
		printf("FAIL classify_load: out of memory\n");
		goto out;
	}
	if (!tc_open(x)) {
		tc_group_random(x, t);
		tc_group_overflow(x, t);
		tc_group_10k(x, t);
		tc_group_v6_hash(x, t);
		tc_group_qsbr(x, t);
	}
	ret = xm_tsuite_exit(&x->suite);
	tc_close(x);
out:
	free(t);
	free(x);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * test_xdp_prog - the appliance XDP program under BPF_PROG_TEST_RUN.
 *
 * The skeleton is loaded but attached nowhere.  Rule tables are installed
 * the way mirrorctl does it, with xm_table_publish() on the mmapped maps
 * (rules, tuples, residual list, hash keys, then the rules_sel flip), and
 * crafted frames run through the program twice, as received on queue 0 of
 * the loopback device (ifindex 1) of a private network namespace:
 *   pass A: no socket in xsks, so bpf_redirect_map falls back to XDP_PASS;
 *           a match counts xsk_missing and the frame comes back untouched;
 *   pass B: an AF_XDP socket (bound to that loopback) sits in xsks[0]; a
 *           match returns XDP_REDIRECT and data_out starts with the
 *           xm_meta the program wrote (the kernel copies out from
 *           data_meta, and ctx_out.data is the meta length).
 * Every frame is also parsed and classified by the user-space reference
 * (xm_classify_table, a linear first match) on the same table; both must
 * pick the same rule, the meta must carry the same flow hash and the
 * rule's snaplen, and dev_stats/rule_stats must equal the counts this
 * test predicts after every frame.  Actions (skip, sample) and the table
 * generations have groups of their own; tests/unit/test_classify.c holds
 * the randomised differential test of the tuple-space classifier.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/xsk.h>

#include "xm_types.h"
#include "xm_parse.h"
#include "xm_classify.h"
#include "xm_addr.h"
#include "xm_filter.h"
#include "xm_maps.h"
#include "xm_table.h"
#include "mirror.skel.h"
#include "xm_test.h"

#define XT_MAX_TBL 32		/* rules in one test table */
#define XT_MAX_ID 64		/* rule ids used by the tests: 1..63 */
#define XT_UMEM_FRAMES 64
#define XT_FRAME_SIZE 4096
#define XT_META_LEN ((unsigned int)sizeof(struct xm_meta))
#define XT_NSTATS (sizeof(struct xm_dev_stats) / sizeof(__u64))
#define XT_IFINDEX 1		/* lo: the ingress device of every test run */

struct xt_ctx {
	struct mirror_bpf *skel;
	int prog_fd, dev_fd, rstat_fd, xsks_fd, filters_fd, hash_fd;
	/* the classifier's maps, mmapped by xm_table_open() */
	struct xm_maps maps;
	struct xm_table tb;
	bool tb_open;
	/* what the filters map holds, for the user-space reference */
	struct xm_filter *filters;
	/* AF_XDP socket used only as an xsks map entry */
	void *umem_area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	/* the live table as published, and its half */
	struct xm_rule tbl[XT_MAX_TBL];
	__u32 ntbl;
	__u32 live;
	/* the loaded program's pass_neigh (rodata) */
	bool pass_neigh;
	/* counters this test predicts */
	struct xm_dev_stats exp;
	__u64 exp_pkts[XT_MAX_ID];
	__u64 exp_bytes[XT_MAX_ID];
	struct xm_tsuite suite;
};

static int xt_use_skel(struct xt_ctx *x, struct mirror_bpf *skel);

/* ---- rules ------------------------------------------------------------ */

static struct xm_rule xt_rule(__u32 id, __u32 prio)
{
	struct xm_rule r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.prio = prio;
	/* distinct per rule so the meta check sees the right rule's mask */
	r.coll_mask = (1ull << (id % 64)) | (1ull << 63);
	return r;
}

static struct xm_rule xt_src(struct xm_rule r, const char *pfx)
{
	if (xm_prefix_parse(pfx, r.src, r.src_mask, &r.src_plen, &r.family))
		r.id = 0;	/* marks the rule invalid: xt_publish fails */
	r.fields |= XM_F_SRC;
	return r;
}

static struct xm_rule xt_dst(struct xm_rule r, const char *pfx)
{
	if (xm_prefix_parse(pfx, r.dst, r.dst_mask, &r.dst_plen, &r.family))
		r.id = 0;
	r.fields |= XM_F_DST;
	return r;
}

static struct xm_rule xt_proto(struct xm_rule r, __u8 proto)
{
	r.proto = proto;
	r.fields |= XM_F_PROTO;
	return r;
}

static struct xm_rule xt_sport(struct xm_rule r, __u16 lo, __u16 hi)
{
	r.sport_lo = lo;
	r.sport_hi = hi;
	r.fields |= XM_F_SPORT;
	return r;
}

static struct xm_rule xt_dport(struct xm_rule r, __u16 lo, __u16 hi)
{
	r.dport_lo = lo;
	r.dport_hi = hi;
	r.fields |= XM_F_DPORT;
	return r;
}

static struct xm_rule xt_vlan(struct xm_rule r, __u16 vlan)
{
	r.vlan = vlan;
	r.fields |= XM_F_VLAN;
	return r;
}

static struct xm_rule xt_ivlan(struct xm_rule r, __u16 vlan)
{
	r.ivlan = vlan;
	r.fields |= XM_F_IVLAN;
	return r;
}

static struct xm_rule xt_dev(struct xm_rule r, __u32 ifindex)
{
	r.ifindex = ifindex;
	r.fields |= XM_F_DEV;
	return r;
}

static struct xm_rule xt_dir(struct xm_rule r, __u8 dir)
{
	r.dir = dir;
	r.fields |= XM_F_DIR;
	return r;
}

static struct xm_rule xt_dscp(struct xm_rule r, __u8 dscp)
{
	r.dscp = dscp;
	r.fields |= XM_F_DSCP;
	return r;
}

static struct xm_rule xt_tcpflags(struct xm_rule r, __u8 flags, __u8 mask)
{
	r.tcp_flags = flags;
	r.tcp_mask = mask;
	r.fields |= XM_F_TCPFLAGS;
	return r;
}

static struct xm_rule xt_filter(struct xm_rule r, __u32 slot)
{
	r.filter = slot;
	r.fields |= XM_F_FILTER;
	return r;
}

static struct xm_rule xt_skip(struct xm_rule r)
{
	r.action = XM_ACT_SKIP;
	return r;
}

static struct xm_rule xt_snaplen(struct xm_rule r, __u16 snaplen)
{
	r.snaplen = snaplen;
	return r;
}

static struct xm_rule xt_sample(struct xm_rule r, __u32 n)
{
	r.sample = n;
	return r;
}

/* An empty table (xm_table_publish copies from t even when n is 0). */
static const struct xm_rule xt_none[1];

static __u32 xt_rules_sel(const struct xt_ctx *x)
{
	return __atomic_load_n(&x->tb.ctl->rules_sel, __ATOMIC_ACQUIRE);
}

/*
 * Make t (in (prio, id) order) the live table with xm_table_publish(),
 * as mirrorctl does.  The flip must select the other half with count n
 * and bump rule_gen once.
 */
static int xt_publish(struct xt_ctx *x, struct xm_tgroup *g,
		      const struct xm_rule *t, __u32 n)
{
	__u32 sel0 = xt_rules_sel(x), gen0 = x->tb.ctl->rule_gen, sel, i;
	int err;

	for (i = 0; i < n; i++) {
		if (!t[i].id || t[i].id >= XT_MAX_ID || n > XT_MAX_TBL ||
		    (i && !xm_rule_before(t[i - 1].prio, t[i - 1].id,
					  t[i].prio, t[i].id))) {
			xm_tg_fail(g, "test table entry %u is invalid or out of order",
				   i);
			return -EINVAL;
		}
	}
	err = xm_table_publish(&x->tb, t, n);
	if (err) {
		xm_tg_fail(g, "publishing %u rules: %s", n, strerror(-err));
		return err;
	}
	sel = xt_rules_sel(x);
	XM_EXPECT(g, XM_SEL_IDX(sel) == (XM_SEL_IDX(sel0) ^ 1u) &&
		  XM_SEL_COUNT(sel) == n,
		  "publish of %u rules: rules_sel 0x%x -> 0x%x", n, sel0, sel);
	XM_EXPECT(g, x->tb.ctl->rule_gen == gen0 + 1,
		  "publish: rule_gen %u -> %u, want one step", gen0,
		  x->tb.ctl->rule_gen);
	/* the half just written holds t exactly, keys included */
	xm_t_check_half(g, "publish", &x->tb, &x->maps, XM_SEL_IDX(sel), t,
			n);
	if (n)
		memcpy(x->tbl, t, n * sizeof(*t));
	x->ntbl = n;
	x->live = XM_SEL_IDX(sel);
	return 0;
}

#define XT_PUBLISH(x, g, arr) xt_publish((x), (g), (arr), sizeof(arr) / sizeof((arr)[0]))

/* ---- counters --------------------------------------------------------- */

static int xt_read_dev(struct xt_ctx *x, struct xm_dev_stats *st)
{
	return xm_percpu_sum(x->dev_fd, 0, (__u64 *)st, XT_NSTATS);
}

/* dev_stats must equal the prediction exactly. */
static void xt_check_dev(struct xt_ctx *x, struct xm_tgroup *g,
			 const char *what)
{
	struct xm_dev_stats st;
	const __u64 *got = (const __u64 *)&st;
	const __u64 *want = (const __u64 *)&x->exp;
	unsigned int i;
	int err;

	err = xt_read_dev(x, &st);
	if (err) {
		xm_tg_fail(g, "%s: reading dev_stats: %s", what, strerror(-err));
		return;
	}
	for (i = 0; i < XT_NSTATS; i++) {
		if (got[i] != want[i]) {
			xm_tg_fail(g, "%s: dev_stats.%s is %llu, want %llu", what,
				   xm_t_dev_stat_name(i),
				   (unsigned long long)got[i],
				   (unsigned long long)want[i]);
			return;
		}
	}
}

static void xt_check_rule_stats(struct xt_ctx *x, struct xm_tgroup *g,
				const char *what, __u32 id)
{
	struct xm_rule_stats rs;
	int err;

	err = xm_percpu_sum(x->rstat_fd, id, (__u64 *)&rs, 2);
	if (err) {
		xm_tg_fail(g, "%s: reading rule_stats[%u]: %s", what, id,
			   strerror(-err));
		return;
	}
	XM_EXPECT(g, rs.packets == x->exp_pkts[id] &&
		  rs.bytes == x->exp_bytes[id],
		  "%s: rule_stats[%u] is %llu pkts/%llu bytes, want %llu/%llu (BPF matched another rule than user space)",
		  what, id, (unsigned long long)rs.packets,
		  (unsigned long long)rs.bytes,
		  (unsigned long long)x->exp_pkts[id],
		  (unsigned long long)x->exp_bytes[id]);
}

/* Rule counters of every id in the live table. */
static void xt_check_table_stats(struct xt_ctx *x, struct xm_tgroup *g,
				 const char *what)
{
	__u32 i;

	for (i = 0; i < x->ntbl; i++)
		xt_check_rule_stats(x, g, what, x->tbl[i].id);
}

/* The identities of include/xm_types.h, on the kernel's counters. */
static void xt_check_identities(struct xt_ctx *x, struct xm_tgroup *g)
{
	struct xm_dev_stats s;
	__u32 id;

	if (xt_read_dev(x, &s)) {
		xm_tg_fail(g, "reading dev_stats");
		return;
	}
	XM_EXPECT(g, s.rx == s.matched + s.not_matched,
		  "rx %llu != matched %llu + not_matched %llu",
		  (unsigned long long)s.rx, (unsigned long long)s.matched,
		  (unsigned long long)s.not_matched);
	XM_EXPECT(g, s.matched == s.to_xsk + s.xsk_missing + s.meta_fail +
		  s.skipped + s.sampled_out,
		  "matched %llu != to_xsk + xsk_missing + meta_fail + skipped + sampled_out",
		  (unsigned long long)s.matched);
	XM_EXPECT(g, s.passed == s.not_matched + s.xsk_missing + s.meta_fail +
		  s.skipped + s.sampled_out,
		  "passed %llu != not_matched + xsk_missing + meta_fail + skipped + sampled_out",
		  (unsigned long long)s.passed);
	XM_EXPECT(g, s.neigh_passed <= s.not_matched,
		  "neigh_passed %llu > not_matched %llu",
		  (unsigned long long)s.neigh_passed,
		  (unsigned long long)s.not_matched);
	xt_check_dev(x, g, "identities");
	for (id = 1; id < XT_MAX_ID; id++)
		xt_check_rule_stats(x, g, "all rules", id);
}

/* ---- running frames --------------------------------------------------- */

/* struct xm_t_run and the run itself: xm_t_xdp_run() in xm_test.h. */
static int xt_test_run_n(struct xt_ctx *x, const __u8 *frame, __u32 len,
			 __u32 premeta, __u32 repeat, struct xm_t_run *r)
{
	return xm_t_xdp_run(x->prog_fd, XT_IFINDEX, frame, len, premeta,
			    repeat, r);
}

static int xt_test_run(struct xt_ctx *x, const __u8 *frame, __u32 len,
		       __u32 premeta, struct xm_t_run *r)
{
	return xt_test_run_n(x, frame, len, premeta, 1, r);
}

static int xt_xsk_set(struct xt_ctx *x, bool on)
{
	__u32 key = 0;
	int fd = xsk_socket__fd(x->xsk);

	if (on)
		return bpf_map_update_elem(x->xsks_fd, &key, &fd, BPF_ANY) ?
			-errno : 0;
	if (bpf_map_delete_elem(x->xsks_fd, &key) && errno != ENOENT)
		return -errno;
	return 0;
}

/* A frame that matched a mirror rule is taken (redirected or counted
 * xsk_missing / meta_fail); a skip rule's frame is only passed.  The
 * sample of a rule is not predicted here: frame-by-frame groups use
 * rules that take every frame. */
static bool xt_takes(const struct xm_rule *rule)
{
	return rule && rule->action != XM_ACT_SKIP;
}

/* neigh: passed unclassified as ARP/ND (rule is then NULL). */
static void xt_count(struct xt_ctx *x, __u32 len, int mal,
		     const struct xm_rule *rule, bool xsk, bool meta_room,
		     bool neigh)
{
	x->exp.rx++;
	x->exp.rx_bytes += len;
	x->exp.malformed += mal ? 1 : 0;
	if (!rule) {
		x->exp.not_matched++;
		x->exp.neigh_passed += neigh ? 1 : 0;
		x->exp.passed++;
		return;
	}
	x->exp.matched++;
	x->exp.matched_bytes += len;
	x->exp_pkts[rule->id]++;
	x->exp_bytes[rule->id] += len;
	if (rule->action == XM_ACT_SKIP) {
		x->exp.skipped++;
		x->exp.passed++;
	} else if (!meta_room) {
		x->exp.meta_fail++;
		x->exp.passed++;
	} else if (xsk) {
		x->exp.to_xsk++;
	} else {
		x->exp.xsk_missing++;
		x->exp.passed++;
	}
}

/* Pass A: no socket; everything comes back as XDP_PASS, unchanged. */
static void xt_pass_a(struct xt_ctx *x, struct xm_tgroup *g, const char *name,
		      const __u8 *frame, __u32 len, int mal, int idx,
		      bool neigh)
{
	const struct xm_rule *rule = idx >= 0 ? &x->tbl[idx] : NULL;
	struct xm_t_run r;
	int err;

	err = xt_xsk_set(x, false);
	if (!err)
		err = xt_test_run(x, frame, len, 0, &r);
	if (err) {
		xm_tg_fail(g, "%s: test run: %s", name, strerror(-err));
		return;
	}
	xt_count(x, len, mal, rule, false, true, neigh);
	XM_EXPECT(g, r.retval == XDP_PASS, "%s: no socket: retval %u, want XDP_PASS",
		  name, r.retval);
	XM_EXPECT(g, r.meta_len == 0 && r.out_len == len &&
		  !memcmp(r.out, frame, len),
		  "%s: no socket: frame not handed back unchanged (meta %u, len %u/%u)",
		  name, r.meta_len, r.out_len, len);
	xt_check_table_stats(x, g, name);
	xt_check_dev(x, g, name);
}

/* The xm_meta the program put in front of a frame of rule. */
static void xt_check_meta(struct xm_tgroup *g, const char *name,
			  const struct xm_meta *m, const struct xm_rule *rule,
			  __u32 hash)
{
	XM_EXPECT(g, m->rule_id == rule->id,
		  "%s: meta rule_id %u, user space picked %u", name,
		  m->rule_id, rule->id);
	XM_EXPECT(g, m->coll_mask == rule->coll_mask,
		  "%s: meta coll_mask 0x%llx, want 0x%llx", name,
		  (unsigned long long)m->coll_mask,
		  (unsigned long long)rule->coll_mask);
	XM_EXPECT(g, m->flow_hash == hash,
		  "%s: meta flow_hash 0x%08x, user space 0x%08x", name,
		  m->flow_hash, hash);
	XM_EXPECT(g, m->magic == XM_META_MAGIC && m->orig_len == 0,
		  "%s: meta magic 0x%08x orig_len %u", name, m->magic,
		  m->orig_len);
	XM_EXPECT(g, m->snaplen == rule->snaplen,
		  "%s: meta snaplen %u, rule %u has %u", name, m->snaplen,
		  rule->id, rule->snaplen);
	XM_EXPECT(g, m->dir == XM_DIR_IN && !m->pad && !m->pad2,
		  "%s: meta dir %u pad %u/%u, want %u and zeros", name,
		  m->dir, m->pad, m->pad2, XM_DIR_IN);
}

/* Pass B: socket present; a match is redirected with xm_meta in front. */
static void xt_pass_b(struct xt_ctx *x, struct xm_tgroup *g, const char *name,
		      const __u8 *frame, __u32 len, int mal, int idx,
		      __u32 hash, bool neigh)
{
	const struct xm_rule *rule = idx >= 0 ? &x->tbl[idx] : NULL;
	struct xm_meta m;
	struct xm_t_run r;
	int err;

	err = xt_xsk_set(x, true);
	if (!err)
		err = xt_test_run(x, frame, len, 0, &r);
	if (!err)
		err = xt_xsk_set(x, false);
	if (err) {
		xm_tg_fail(g, "%s: socket run: %s", name, strerror(-err));
		return;
	}
	xt_count(x, len, mal, rule, true, true, neigh);
	if (!xt_takes(rule)) {
		XM_EXPECT(g, r.retval == XDP_PASS && r.meta_len == 0 &&
			  r.out_len == len && !memcmp(r.out, frame, len),
			  "%s: %s with socket: retval %u meta %u len %u, want XDP_PASS, unchanged",
			  name, rule ? "skipped" : "unmatched", r.retval,
			  r.meta_len, r.out_len);
	} else if (r.retval != XDP_REDIRECT || r.meta_len != XT_META_LEN ||
		   r.out_len != len + XT_META_LEN) {
		xm_tg_fail(g, "%s: with socket: retval %u meta %u len %u, want XDP_REDIRECT, %u, %u",
			   name, r.retval, r.meta_len, r.out_len, XT_META_LEN,
			   len + XT_META_LEN);
	} else {
		memcpy(&m, r.out, sizeof(m));
		xt_check_meta(g, name, &m, rule, hash);
		XM_EXPECT(g, !memcmp(r.out + XT_META_LEN, frame, len),
			  "%s: frame after meta changed", name);
	}
	xt_check_dev(x, g, name);
	xt_check_table_stats(x, g, name);
}

/* The parse the XDP program works on: received on XT_IFINDEX, inbound. */
static void xt_parse(const struct xm_fb *fb, struct xm_flow *f)
{
	memset(f, 0, sizeof(*f));
	xm_parse(fb->d, fb->d + fb->len, f);
	f->dir = XM_DIR_IN;
	f->ifindex = XT_IFINDEX;
}

/* The user-space reference on the live table: index or -1. */
static int xt_classify(const struct xt_ctx *x, const struct xm_fb *fb,
		       const struct xm_flow *f)
{
	return xm_classify_table(x->tbl, x->ntbl, f, fb->d, fb->len,
				 x->filters);
}

/*
 * Run one frame: user space decides, the test expectation must agree
 * (want_id 0 = no match, want_mal = counted malformed, neigh = the frame
 * is ARP or ICMPv6 ND, -1 = not stated, only allowed while pass_neigh is
 * off), then the kernel must agree with both in passes A and B.  With
 * pass_neigh on, a neighbour frame is passed unclassified whatever the
 * table says.
 */
static void xt_frame_nd(struct xt_ctx *x, struct xm_tgroup *g,
			const char *name, const struct xm_fb *fb,
			__u32 want_id, int want_mal, int neigh)
{
	struct xm_flow f;
	struct xm_t_run r;
	bool skip;
	__u32 uid;
	int idx, err;

	if (fb->overflow) {
		xm_tg_fail(g, "%s: frame builder overflow", name);
		return;
	}
	xt_parse(fb, &f);
	idx = xt_classify(x, fb, &f);
	uid = idx >= 0 ? x->tbl[idx].id : 0;
	XM_EXPECT(g, uid == want_id, "%s: user-space classifier picked rule %u, want %u",
		  name, uid, want_id);
	XM_EXPECT(g, !!f.malformed == !!want_mal,
		  "%s: user-space malformed=%u, want %s", name, f.malformed,
		  want_mal ? "set" : "0");
	if (neigh < 0 && x->pass_neigh) {
		xm_tg_fail(g, "%s: test bug: neighbour-ness not stated", name);
		return;
	}
	if (neigh >= 0)
		XM_EXPECT(g, xm_flow_is_neigh(&f) == neigh,
			  "%s: xm_flow_is_neigh() is %d, want %d", name,
			  xm_flow_is_neigh(&f), neigh);
	skip = x->pass_neigh && neigh > 0;
	if (skip) {
		idx = -1;
		uid = 0;
	}

	if (fb->len < 14) {
		/* BPF_PROG_TEST_RUN refuses frames shorter than ETH_HLEN,
		 * so such frames are checked in user space only. */
		err = xt_test_run(x, fb->d, fb->len, 0, &r);
		XM_EXPECT(g, err == -EINVAL,
			  "%s: test run of a %u-byte frame returned %d, want -EINVAL",
			  name, fb->len, err);
		return;
	}
	xt_pass_a(x, g, name, fb->d, fb->len, f.malformed, idx, skip);
	xt_pass_b(x, g, name, fb->d, fb->len, f.malformed, idx,
		  xm_flow_hash(&f), skip);
}

static void xt_frame(struct xt_ctx *x, struct xm_tgroup *g, const char *name,
		     const struct xm_fb *fb, __u32 want_id, int want_mal)
{
	xt_frame_nd(x, g, name, fb, want_id, want_mal, -1);
}

/* ---- frame shorthands ------------------------------------------------- */

#define V4S "10.1.2.3"
#define V4D "192.168.7.9"
#define V6S "2001:db8:1:2::10"
#define V6D "2001:db8:ffff::1"

static void xt_v4(struct xm_fb *fb, __u8 proto, const char *s, const char *d)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0800);
	xm_fb_ipv4(fb, proto, s, d, 5, 0);
}

static void xt_v6(struct xm_fb *fb, __u8 nh, const char *s, const char *d)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x86dd);
	xm_fb_ipv6(fb, nh, s, d);
}

static void xt_v4_tcp(struct xm_fb *fb, const char *s, const char *d,
		      __u16 sp, __u16 dp)
{
	xt_v4(fb, 6, s, d);
	xm_fb_tcp(fb, sp, dp, 5);
	xm_fb_bytes(fb, 6, 0x5a);
	xm_fb_finish(fb);
}

static void xt_v4_udp(struct xm_fb *fb, const char *s, const char *d,
		      __u16 sp, __u16 dp)
{
	xt_v4(fb, 17, s, d);
	xm_fb_udp(fb, sp, dp);
	xm_fb_bytes(fb, 18, 0x5a);
	xm_fb_finish(fb);
}

static void xt_v6_l4(struct xm_fb *fb, __u8 proto, const char *s,
		     const char *d, __u16 sp, __u16 dp)
{
	xt_v6(fb, proto, s, d);
	if (proto == 6)
		xm_fb_tcp(fb, sp, dp, 5);
	else if (proto == 17)
		xm_fb_udp(fb, sp, dp);
	else if (proto == 132)
		xm_fb_sctp(fb, sp, dp);
	else
		xm_fb_icmp(fb, 128, 0);
	xm_fb_finish(fb);
}

static void xt_arp(struct xm_fb *fb)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0806);
	xm_fb_bytes(fb, 28, 0x0a);
	xm_fb_put32(fb, 14, 0x00010800);	/* Ethernet, IPv4 */
	xm_fb_put32(fb, 18, 0x06040001);	/* request */
}

/* ---- groups ----------------------------------------------------------- */

/*
 * Start a group from the kernel's counters as they are, so that a
 * difference found in one group is reported there and not again by
 * every later group.
 */
/* Take the kernel's counters as the prediction from here on. */
static void xt_resync(struct xt_ctx *x, struct xm_tgroup *g)
{
	struct xm_rule_stats rs;
	__u32 id;

	if (xt_read_dev(x, &x->exp))
		xm_tg_fail(g, "reading dev_stats");
	for (id = 1; id < XT_MAX_ID; id++) {
		if (xm_percpu_sum(x->rstat_fd, id, (__u64 *)&rs, 2)) {
			xm_tg_fail(g, "reading rule_stats[%u]", id);
			continue;
		}
		x->exp_pkts[id] = rs.packets;
		x->exp_bytes[id] = rs.bytes;
	}
}

static void xt_begin(struct xt_ctx *x, struct xm_tgroup *g, const char *name)
{
	xm_tg_begin(g, name);
	xt_resync(x, g);
}

static void xt_end(struct xt_ctx *x, struct xm_tgroup *g)
{
	xt_check_identities(x, g);
	xm_tg_end(&x->suite, g);
}

static void xt_group_ethernet(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_proto(xt_rule(1, 10), 6), 80, 80),
		xt_proto(xt_rule(2, 20), 17),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_ethernet_basic");
	if (!XT_PUBLISH(x, &g, t)) {
		xt_v4_tcp(&fb, V4S, V4D, 1234, 80);
		xt_frame(x, &g, "v4 tcp :80", &fb, 1, 0);
		xt_v4_tcp(&fb, V4S, V4D, 1234, 81);
		xt_frame(x, &g, "v4 tcp :81", &fb, 0, 0);
		xt_v4_udp(&fb, V4S, V4D, 1234, 80);
		xt_frame(x, &g, "v4 udp :80", &fb, 2, 0);
		xt_v6_l4(&fb, 6, V6S, V6D, 1234, 80);
		xt_frame(x, &g, "v6 tcp :80", &fb, 1, 0);
	}
	xt_end(x, &g);
}

static void xt_vlan_frame(struct xm_fb *fb, __u16 tpid1, __u16 tci1,
			  __u16 tpid2, __u16 tci2, __u8 proto)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, tpid1);
	if (tpid2) {
		xm_fb_vlan(fb, tci1, tpid2);
		xm_fb_vlan(fb, tci2, 0x0800);
	} else {
		xm_fb_vlan(fb, tci1, 0x0800);
	}
	xm_fb_ipv4(fb, proto, V4S, V4D, 5, 0);
	if (proto == 6)
		xm_fb_tcp(fb, 1000, 80, 5);
	else
		xm_fb_udp(fb, 1000, 53);
	xm_fb_finish(fb);
}

static void xt_group_vlan(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_proto(xt_vlan(xt_rule(1, 10), 200), 17),
		xt_vlan(xt_rule(2, 20), 100),
		xt_dport(xt_vlan(xt_rule(3, 30), 300), 80, 80),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_vlan_qinq");
	if (!XT_PUBLISH(x, &g, t)) {
		xt_vlan_frame(&fb, 0x8100, 100, 0, 0, 17);
		xt_frame(x, &g, "1q vid 100 udp", &fb, 2, 0);
		xt_vlan_frame(&fb, 0x8100, 0xe000 | 100, 0, 0, 6);
		xt_frame(x, &g, "1q pcp7 vid 100 tcp", &fb, 2, 0);
		xt_vlan_frame(&fb, 0x8100, 200, 0, 0, 17);
		xt_frame(x, &g, "1q vid 200 udp", &fb, 1, 0);
		xt_vlan_frame(&fb, 0x8100, 200, 0, 0, 6);
		xt_frame(x, &g, "1q vid 200 tcp", &fb, 0, 0);
		xt_vlan_frame(&fb, 0x88a8, 200, 0x8100, 100, 17);
		xt_frame(x, &g, "qinq 200/100 udp", &fb, 1, 0);
		/* the rule on vid 100 looks at the outer tag only */
		xt_vlan_frame(&fb, 0x88a8, 200, 0x8100, 100, 6);
		xt_frame(x, &g, "qinq 200/100 tcp", &fb, 0, 0);
		xt_vlan_frame(&fb, 0x88a8, 300, 0x8100, 100, 6);
		xt_frame(x, &g, "qinq 300/100 tcp :80", &fb, 3, 0);
		xt_vlan_frame(&fb, 0x8100, 300, 0x8100, 200, 6);
		xt_frame(x, &g, "1q-in-1q 300/200 tcp :80", &fb, 3, 0);
		xt_v4_udp(&fb, V4S, V4D, 1000, 53);
		xt_frame(x, &g, "untagged udp", &fb, 0, 0);
	}
	xt_end(x, &g);
}

static void xt_group_ipv4_options(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_proto(xt_rule(1, 10), 6), 443, 443),
		xt_sport(xt_proto(xt_rule(2, 20), 17), 5353, 5353),
	};
	struct xm_tgroup g;
	struct xm_fb fb;
	char name[64];
	unsigned int ihl;

	xt_begin(x, &g, "xdp_ipv4_options");
	if (!XT_PUBLISH(x, &g, t)) {
		for (ihl = 6; ihl <= 15; ihl++) {
			snprintf(name, sizeof(name), "ihl %u tcp :443", ihl);
			xm_fb_init(&fb);
			xm_fb_eth(&fb, 0x0800);
			xm_fb_ipv4(&fb, 6, V4S, V4D, ihl, 0);
			xm_fb_tcp(&fb, 1000, 443, 5);
			xm_fb_finish(&fb);
			xt_frame(x, &g, name, &fb, 1, 0);
			snprintf(name, sizeof(name), "ihl %u udp 5353", ihl);
			xm_fb_init(&fb);
			xm_fb_eth(&fb, 0x0800);
			xm_fb_ipv4(&fb, 17, V4S, V4D, ihl, 0);
			xm_fb_udp(&fb, 5353, 9);
			xm_fb_finish(&fb);
			xt_frame(x, &g, name, &fb, 2, 0);
		}
		xm_fb_init(&fb);
		xm_fb_eth(&fb, 0x0800);
		xm_fb_ipv4(&fb, 6, V4S, V4D, 15, 0);
		xm_fb_tcp(&fb, 1000, 444, 5);
		xm_fb_finish(&fb);
		xt_frame(x, &g, "ihl 15 tcp :444", &fb, 0, 0);
	}
	xt_end(x, &g);
}

static void xt_v4_frag(struct xm_fb *fb, __u8 proto, const char *src,
		       __u16 frag)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0800);
	xm_fb_ipv4(fb, proto, src, V4D, 5, frag);
	/* a non-first fragment starts with data that looks like ports */
	if (proto == 6)
		xm_fb_tcp(fb, 40000, 53, 5);
	else
		xm_fb_udp(fb, 40000, 53);
	xm_fb_bytes(fb, 24, 0x33);
	xm_fb_finish(fb);
}

static void xt_group_ipv4_frag(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_rule(1, 10), 53, 53),
		xt_src(xt_rule(2, 20), "10.9.0.0/16"),
		xt_proto(xt_rule(3, 30), 17),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_ipv4_fragments");
	if (!XT_PUBLISH(x, &g, t)) {
		xt_v4_frag(&fb, 17, "10.9.1.1", 0x2000);
		xt_frame(x, &g, "first frag udp :53", &fb, 1, 0);
		xt_v4_frag(&fb, 6, "10.8.1.1", 0x2000);
		xt_frame(x, &g, "first frag tcp :53", &fb, 1, 0);
		xt_v4_frag(&fb, 17, "10.9.1.1", 0x2000 | 185);
		xt_frame(x, &g, "middle frag, src rule", &fb, 2, 0);
		xt_v4_frag(&fb, 17, "10.8.1.1", 185);
		xt_frame(x, &g, "last frag, proto rule", &fb, 3, 0);
		xt_v4_frag(&fb, 6, "10.8.1.1", 0x2000 | 1);
		xt_frame(x, &g, "tcp frag off 8, no rule", &fb, 0, 0);
		xt_v4_frag(&fb, 6, "10.8.1.1", 0x4000);
		xt_frame(x, &g, "DF only, not a fragment", &fb, 1, 0);
	}
	xt_end(x, &g);
}

/* IPv6 frame with a chain of extension headers given as (type, len)
 * pairs, ending in a TCP or UDP header. */
static void xt_v6_chain(struct xm_fb *fb, const char *src, const __u8 *types,
			const unsigned int *lens, unsigned int n, __u8 l4,
			__u16 frag_off)
{
	unsigned int i;
	__u8 next;

	xt_v6(fb, n ? types[0] : l4, src, V6D);
	for (i = 0; i < n; i++) {
		next = i + 1 < n ? types[i + 1] : l4;
		if (types[i] == 44)
			xm_fb_ip6_frag(fb, next, frag_off, 1);
		else
			xm_fb_ip6_ext(fb, types[i], next, lens[i]);
	}
	if (l4 == 6)
		xm_fb_tcp(fb, 50000, 22, 5);
	else
		xm_fb_udp(fb, 50000, 22);
	xm_fb_finish(fb);
}

static void xt_group_ipv6_ext(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_proto(xt_rule(1, 10), 6), 22, 22),
		xt_src(xt_rule(2, 20), "2001:db8:1:2::/64"),
		xt_proto(xt_rule(3, 30), 17),
	};
	static const __u8 hbh[] = { 0 }, rt[] = { 43 }, dst[] = { 60 },
		frag[] = { 44 }, ah[] = { 51 },
		mix[] = { 0, 43, 44, 51, 60 },
		six[] = { 0, 60, 43, 60, 51, 60 },
		seven[] = { 0, 60, 43, 60, 51, 60, 60 };
	static const unsigned int l8[] = { 8 }, l24[] = { 24 },
		l16[] = { 16 }, lmix[] = { 16, 24, 8, 12, 8 },
		lsix[] = { 8, 8, 8, 8, 16, 8 },
		lseven[] = { 8, 8, 8, 8, 16, 8, 8 };
	const char *other = "2001:db8:9::1";
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_ipv6_exthdrs");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v6_chain(&fb, other, hbh, l8, 1, 6, 0);
	xt_frame(x, &g, "hop-by-hop tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, other, rt, l24, 1, 6, 0);
	xt_frame(x, &g, "routing tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, other, dst, l16, 1, 6, 0);
	xt_frame(x, &g, "dstopts tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, other, ah, l24, 1, 6, 0);
	xt_frame(x, &g, "AH tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, other, frag, l8, 1, 6, 0);
	xt_frame(x, &g, "first frag tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, V6S, frag, l8, 1, 6, 100);
	xt_frame(x, &g, "non-first frag, src rule", &fb, 2, 0);
	xt_v6_chain(&fb, other, frag, l8, 1, 6, 100);
	xt_frame(x, &g, "non-first frag tcp, no rule", &fb, 0, 0);
	xt_v6_chain(&fb, other, frag, l8, 1, 17, 100);
	xt_frame(x, &g, "non-first frag udp, proto rule", &fb, 3, 0);
	xt_v6_chain(&fb, other, mix, lmix, 5, 6, 0);
	xt_frame(x, &g, "hbh+rt+frag+ah+dst tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, other, six, lsix, 6, 6, 0);
	xt_frame(x, &g, "6 exthdrs tcp :22", &fb, 1, 0);
	xt_v6_chain(&fb, V6S, seven, lseven, 7, 6, 0);
	xt_frame(x, &g, "7 exthdrs, src rule", &fb, 2, 0);
	xt_v6_chain(&fb, other, seven, lseven, 7, 6, 0);
	xt_frame(x, &g, "7 exthdrs tcp :22, L3 only", &fb, 0, 0);
	xt_v6_chain(&fb, other, seven, lseven, 7, 17, 0);
	xt_frame(x, &g, "7 exthdrs udp, proto unknown", &fb, 0, 0);
out:
	xt_end(x, &g);
}

static void xt_group_l4(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_proto(xt_rule(1, 10), 132), 2905, 2905),
		xt_proto(xt_rule(2, 20), 1),
		xt_proto(xt_rule(3, 30), 58),
		xt_sport(xt_proto(xt_rule(4, 40), 17), 1000, 1000),
		xt_sport(xt_proto(xt_rule(5, 50), 6), 1000, 1000),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_l4_protocols");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4(&fb, 132, V4S, V4D);
	xm_fb_sctp(&fb, 1000, 2905);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v4 sctp :2905", &fb, 1, 0);
	xt_v6_l4(&fb, 132, V6S, V6D, 1000, 2905);
	xt_frame(x, &g, "v6 sctp :2905", &fb, 1, 0);
	xt_v6_l4(&fb, 132, V6S, V6D, 1000, 2906);
	xt_frame(x, &g, "v6 sctp :2906", &fb, 0, 0);
	xt_v4(&fb, 1, V4S, V4D);
	xm_fb_icmp(&fb, 8, 0);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v4 icmp", &fb, 2, 0);
	xt_v6_l4(&fb, 58, V6S, V6D, 0, 0);
	xt_frame(x, &g, "v6 icmpv6", &fb, 3, 0);
	xt_v4_udp(&fb, V4S, V4D, 1000, 7);
	xt_frame(x, &g, "v4 udp sport 1000", &fb, 4, 0);
	xt_v6_l4(&fb, 17, V6S, V6D, 1000, 7);
	xt_frame(x, &g, "v6 udp sport 1000", &fb, 4, 0);
	xt_v4_tcp(&fb, V4S, V4D, 1000, 7);
	xt_frame(x, &g, "v4 tcp sport 1000", &fb, 5, 0);
	xt_v6_l4(&fb, 6, V6S, V6D, 1001, 7);
	xt_frame(x, &g, "v6 tcp sport 1001", &fb, 0, 0);
out:
	xt_end(x, &g);
}

static void xt_group_prefix_v4(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_src(xt_rule(1, 10), "10.1.2.3/32"),
		xt_src(xt_rule(2, 20), "10.1.2.77/24"),	/* host bits cleared */
		xt_dst(xt_rule(3, 30), "172.16.0.0/8"),
		xt_dst(xt_src(xt_rule(4, 40), "11.0.0.0/8"), "0.0.0.0/0"),
		xt_src(xt_rule(5, 50), "0.0.0.0/0"),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_prefix_v4");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4_tcp(&fb, "10.1.2.3", V4D, 1, 2);
	xt_frame(x, &g, "src /32", &fb, 1, 0);
	xt_v4_tcp(&fb, "10.1.2.4", V4D, 1, 2);
	xt_frame(x, &g, "src /24 (.4)", &fb, 2, 0);
	xt_v4_tcp(&fb, "10.1.2.255", V4D, 1, 2);
	xt_frame(x, &g, "src /24 (.255)", &fb, 2, 0);
	xt_v4_tcp(&fb, "10.1.3.0", "172.255.255.255", 1, 2);
	xt_frame(x, &g, "dst /8 top", &fb, 3, 0);
	xt_v4_tcp(&fb, "10.1.1.255", "173.0.0.0", 1, 2);
	xt_frame(x, &g, "outside /24 and /8", &fb, 5, 0);
	xt_v4_udp(&fb, "11.255.0.1", "1.2.3.4", 1, 2);
	xt_frame(x, &g, "src /8 + dst /0", &fb, 4, 0);
	xt_v4_udp(&fb, "12.0.0.0", "255.255.255.255", 1, 2);
	xt_frame(x, &g, "src /0", &fb, 5, 0);
	xt_v6_l4(&fb, 6, "::a01:203", V6D, 1, 2);
	xt_frame(x, &g, "v6 is not v4 /0", &fb, 0, 0);
	xt_arp(&fb);
	xt_frame(x, &g, "arp is not v4 /0", &fb, 0, 0);
out:
	xt_end(x, &g);
}

static void xt_group_prefix_v6(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dst(xt_rule(1, 10), "2001:db8:ffff::1/128"),
		xt_src(xt_rule(2, 20), "2001:db8:1:2::/64"),
		xt_dst(xt_rule(3, 30), "2001:db8:ffff::/64"),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_prefix_v6");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v6_l4(&fb, 17, "2001:db8:5::1", "2001:db8:ffff::1", 1, 2);
	xt_frame(x, &g, "dst /128", &fb, 1, 0);
	xt_v6_l4(&fb, 17, "2001:db8:5::1", "2001:db8:ffff::2", 1, 2);
	xt_frame(x, &g, "dst /128 +1, /64", &fb, 3, 0);
	xt_v6_l4(&fb, 17, "2001:db8:5::1", "2001:db8:ffff:0:ffff:ffff:ffff:ffff", 1, 2);
	xt_frame(x, &g, "dst /64 top", &fb, 3, 0);
	xt_v6_l4(&fb, 17, "2001:db8:5::1", "2001:db8:ffff:1::", 1, 2);
	xt_frame(x, &g, "dst next /64", &fb, 0, 0);
	xt_v6_l4(&fb, 6, "2001:db8:1:2:ffff:ffff:ffff:ffff", "::1", 1, 2);
	xt_frame(x, &g, "src /64 top", &fb, 2, 0);
	xt_v6_l4(&fb, 6, "2001:db8:1:2::", "::1", 1, 2);
	xt_frame(x, &g, "src /64 bottom", &fb, 2, 0);
	xt_v6_l4(&fb, 6, "2001:db8:1:1:ffff:ffff:ffff:ffff", "::1", 1, 2);
	xt_frame(x, &g, "src below /64", &fb, 0, 0);
	/* IPv4 bytes equal to the start of the v6 prefix: family differs */
	xt_v4_tcp(&fb, "32.1.13.184", "32.1.13.184", 1, 2);
	xt_frame(x, &g, "v4 with v6-prefix bytes", &fb, 0, 0);
out:
	xt_end(x, &g);
}

static void xt_group_ports(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_rule(1, 10), 1000, 2000),
		xt_sport(xt_proto(xt_rule(2, 20), 17), 30000, 30010),
		xt_sport(xt_rule(3, 30), 65535, 65535),
		xt_dport(xt_rule(4, 40), 0, 0),
	};
	static const struct {
		int udp;
		__u16 sp, dp;
		__u32 id;
	} c[] = {
		{ 0, 5, 999, 0 }, { 0, 5, 1000, 1 }, { 0, 5, 2000, 1 },
		{ 0, 5, 2001, 0 }, { 1, 29999, 5, 0 }, { 1, 30000, 5, 2 },
		{ 1, 30010, 5, 2 }, { 1, 30011, 5, 0 }, { 0, 30005, 5, 0 },
		{ 0, 65535, 5, 3 }, { 0, 65534, 5, 0 }, { 1, 5, 0, 4 },
		{ 1, 5, 1, 0 },
	};
	struct xm_tgroup g;
	struct xm_fb fb;
	char name[64];
	unsigned int i;

	xt_begin(x, &g, "xdp_port_ranges");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(name, sizeof(name), "%s %u->%u", c[i].udp ? "udp" : "tcp",
			 c[i].sp, c[i].dp);
		if (c[i].udp)
			xt_v4_udp(&fb, V4S, V4D, c[i].sp, c[i].dp);
		else
			xt_v6_l4(&fb, 6, V6S, V6D, c[i].sp, c[i].dp);
		xt_frame(x, &g, name, &fb, c[i].id, 0);
	}
	/* ICMP has no ports: a port rule never matches it */
	xt_v4(&fb, 1, V4S, V4D);
	xm_fb_icmp(&fb, 8, 0);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "icmp vs port rules", &fb, 0, 0);
out:
	xt_end(x, &g);
}

static void xt_group_proto_numbers(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_proto(xt_rule(1, 10), 47),
		xt_proto(xt_rule(2, 20), 59),
		xt_proto(xt_rule(3, 30), 255),
		xt_proto(xt_rule(4, 40), 0),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_proto_numbers");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4(&fb, 47, V4S, V4D);
	xm_fb_bytes(&fb, 4, 0);
	xm_fb_put16(&fb, fb.len - 2, 0x6558);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v4 gre", &fb, 1, 0);
	xt_v6(&fb, 47, V6S, V6D);
	xm_fb_bytes(&fb, 4, 0);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v6 gre", &fb, 1, 0);
	xt_v6(&fb, 59, V6S, V6D);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v6 no next header", &fb, 2, 0);
	xt_v4(&fb, 255, V4S, V4D);
	xm_fb_bytes(&fb, 10, 0);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v4 proto 255", &fb, 3, 0);
	xt_v4(&fb, 0, V4S, V4D);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v4 proto 0", &fb, 4, 0);
	xt_v4(&fb, 50, V4S, V4D);
	xm_fb_bytes(&fb, 16, 0);
	xm_fb_finish(&fb);
	xt_frame(x, &g, "v4 esp, no rule", &fb, 0, 0);
	xt_arp(&fb);
	xt_frame(x, &g, "arp vs proto 0", &fb, 0, 0);
out:
	xt_end(x, &g);
}

static void xt_group_priority(struct xt_ctx *x)
{
	/* (prio, id) order: id 9 first despite its larger id */
	const struct xm_rule t[] = {
		xt_dport(xt_rule(9, 10), 80, 80),
		xt_proto(xt_rule(3, 20), 6),
		xt_src(xt_rule(5, 20), "10.0.0.0/8"),
		xt_rule(7, 30),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_priority_first_match");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4_tcp(&fb, V4S, V4D, 1, 80);
	xt_frame(x, &g, "all four match", &fb, 9, 0);
	xt_v4_tcp(&fb, V4S, V4D, 1, 81);
	xt_frame(x, &g, "tcp and src match", &fb, 3, 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 80);
	xt_frame(x, &g, "udp :80", &fb, 9, 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 81);
	xt_frame(x, &g, "udp src", &fb, 5, 0);
	xt_v4_udp(&fb, "11.0.0.1", V4D, 1, 81);
	xt_frame(x, &g, "catch-all last", &fb, 7, 0);
out:
	xt_end(x, &g);
}

static void xt_group_match_all(struct xt_ctx *x)
{
	const struct xm_rule t[] = { xt_rule(11, 100) };
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_match_all");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_arp(&fb);
	xt_frame(x, &g, "arp", &fb, 11, 0);
	xt_v4_tcp(&fb, V4S, V4D, 1, 2);
	xt_frame(x, &g, "v4 tcp", &fb, 11, 0);
	xt_v6_l4(&fb, 17, V6S, V6D, 1, 2);
	xt_frame(x, &g, "v6 udp", &fb, 11, 0);
	xt_vlan_frame(&fb, 0x88a8, 1, 0x8100, 2, 6);
	xt_frame(x, &g, "qinq tcp", &fb, 11, 0);
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x88cc);
	xm_fb_bytes(&fb, 46, 0x02);
	xt_frame(x, &g, "lldp", &fb, 11, 0);
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xt_frame(x, &g, "14 bytes, empty IPv4", &fb, 11, 1);
out:
	xt_end(x, &g);
}

/* ---- malformed frames ------------------------------------------------- */

enum xt_mal_layer { XT_L2 = 1, XT_L3, XT_L4 };

struct xt_mal {
	const char *name;
	int layer;
	__u8 l4;		/* 6/17/1 when L3 parsed and says so */
	void (*build)(struct xm_fb *fb);
};

static void xt_mal_short(struct xm_fb *fb)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0800);
	fb->len = 13;
}

static void xt_mal_vlan_cut(struct xm_fb *fb)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x8100);
	xm_fb_bytes(fb, 3, 0);
}

static void xt_mal_qinq_cut(struct xm_fb *fb)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x88a8);
	xm_fb_vlan(fb, 5, 0x8100);
	xm_fb_bytes(fb, 2, 0);
}

static void xt_mal_v4_cut(struct xm_fb *fb)
{
	xt_v4_tcp(fb, V4S, V4D, 1, 80);
	fb->len = 14 + 19;
}

static void xt_mal_ihl4(struct xm_fb *fb)
{
	xt_v4_tcp(fb, V4S, V4D, 1, 80);
	fb->d[14] = 0x44;
}

static void xt_mal_v4_ver(struct xm_fb *fb)
{
	xt_v4_tcp(fb, V4S, V4D, 1, 80);
	fb->d[14] = 0x65;
}

static void xt_mal_totlen_big(struct xm_fb *fb)
{
	xt_v4_tcp(fb, V4S, V4D, 1, 80);
	xm_fb_put16(fb, 16, (__u16)(fb->len - 14 + 1));
}

static void xt_mal_totlen_small(struct xm_fb *fb)
{
	xt_v4_tcp(fb, V4S, V4D, 1, 80);
	xm_fb_put16(fb, 16, 19);
}

static void xt_mal_ihl_beyond(struct xm_fb *fb)
{
	xt_v4(fb, 6, V4S, V4D);
	fb->d[14] = 0x4f;	/* 60-byte header in a 20-byte frame */
	xm_fb_bytes(fb, 10, 1);
}

static void xt_mal_v6_cut(struct xm_fb *fb)
{
	xt_v6_l4(fb, 6, V6S, V6D, 1, 80);
	fb->len = 14 + 39;
}

static void xt_mal_v6_plen(struct xm_fb *fb)
{
	xt_v6_l4(fb, 6, V6S, V6D, 1, 80);
	xm_fb_put16(fb, 18, (__u16)(fb->len - 54 + 1));
}

static void xt_mal_doff4(struct xm_fb *fb)
{
	xt_v4(fb, 6, V4S, V4D);
	xm_fb_tcp(fb, 1, 80, 4);
	xm_fb_bytes(fb, 8, 0);
	xm_fb_finish(fb);
}

static void xt_mal_tcp_opts_cut(struct xm_fb *fb)
{
	xt_v4(fb, 6, V4S, V4D);
	xm_fb_tcp(fb, 1, 80, 5);
	xm_fb_finish(fb);
	fb->d[fb->l4_off + 12] = 8 << 4;	/* 32 bytes, frame has 20 */
}

/* Options would fit the frame only by reading the Ethernet padding. */
static void xt_mal_tcp_opts_pad(struct xm_fb *fb)
{
	xt_mal_tcp_opts_cut(fb);
	xm_fb_bytes(fb, 12, 0x01);
}

static void xt_mal_tcp_cut(struct xm_fb *fb)
{
	xt_v4(fb, 6, V4S, V4D);
	xm_fb_tcp(fb, 1, 80, 5);
	fb->len -= 10;
	xm_fb_finish(fb);
}

static void xt_mal_v6_tcp_cut(struct xm_fb *fb)
{
	xt_v6_l4(fb, 6, V6S, V6D, 1, 80);
	fb->len -= 1;
	xm_fb_finish(fb);
}

static void xt_mal_udp_len(struct xm_fb *fb)
{
	xt_v4_udp(fb, V4S, V4D, 1, 53);
	xm_fb_put16(fb, 34 + 4, 7);
}

static void xt_mal_udp_cut(struct xm_fb *fb)
{
	xt_v4(fb, 17, V4S, V4D);
	xm_fb_udp(fb, 1, 53);
	fb->len -= 4;
	fb->udp = 0;
	xm_fb_finish(fb);
}

static void xt_mal_icmp_cut(struct xm_fb *fb)
{
	xt_v4(fb, 1, V4S, V4D);
	xm_fb_bytes(fb, 3, 8);
	xm_fb_finish(fb);
}

static void xt_mal_ext_cut(struct xm_fb *fb)
{
	xt_v6(fb, 0, V6S, V6D);
	xm_fb_ip6_ext(fb, 0, 6, 8);
	fb->d[fb->len - 7] = 1;	/* claims 16 bytes, 8 present */
	xm_fb_finish(fb);
}

static void xt_mal_frag_cut(struct xm_fb *fb)
{
	xt_v6(fb, 44, V6S, V6D);
	xm_fb_bytes(fb, 4, 0);
	fb->d[fb->len - 4] = 6;
	xm_fb_finish(fb);
}

static void xt_mal_ext_plen(struct xm_fb *fb)
{
	/* the ext header fits the frame but not payload_len */
	xt_v6(fb, 60, V6S, V6D);
	xm_fb_ip6_ext(fb, 60, 6, 16);
	xm_fb_finish(fb);
	xm_fb_bytes(fb, 40, 0);
	xm_fb_put16(fb, 18, 8);
}

static const struct xt_mal xt_mals[] = {
	{ "13 bytes", XT_L2, 0, xt_mal_short },
	{ "vlan cut short", XT_L2, 0, xt_mal_vlan_cut },
	{ "qinq inner tag cut", XT_L2, 0, xt_mal_qinq_cut },
	{ "ipv4 header cut", XT_L3, 0, xt_mal_v4_cut },
	{ "ipv4 ihl 4", XT_L3, 0, xt_mal_ihl4 },
	{ "ipv4 version 6", XT_L3, 0, xt_mal_v4_ver },
	{ "ipv4 ihl beyond frame", XT_L3, 0, xt_mal_ihl_beyond },
	{ "ipv4 tot_len > frame", XT_L3, 0, xt_mal_totlen_big },
	{ "ipv4 tot_len < ihl", XT_L3, 0, xt_mal_totlen_small },
	{ "ipv6 header cut", XT_L3, 0, xt_mal_v6_cut },
	{ "ipv6 payload_len > frame", XT_L3, 0, xt_mal_v6_plen },
	{ "ipv6 ext header cut", XT_L3, 0, xt_mal_ext_cut },
	{ "ipv6 frag header cut", XT_L3, 0, xt_mal_frag_cut },
	{ "ipv6 ext header > payload_len", XT_L3, 0, xt_mal_ext_plen },
	{ "tcp doff 4", XT_L4, 6, xt_mal_doff4 },
	{ "tcp options cut", XT_L4, 6, xt_mal_tcp_opts_cut },
	{ "tcp options in padding", XT_L4, 6, xt_mal_tcp_opts_pad },
	{ "tcp header cut", XT_L4, 6, xt_mal_tcp_cut },
	{ "ipv6 tcp header cut", XT_L4, 6, xt_mal_v6_tcp_cut },
	{ "udp len 7", XT_L4, 17, xt_mal_udp_len },
	{ "udp header cut", XT_L4, 17, xt_mal_udp_cut },
	{ "icmp header cut", XT_L4, 1, xt_mal_icmp_cut },
};

#define XT_NMAL (sizeof(xt_mals) / sizeof(xt_mals[0]))

/* Port rules that every malformed frame would match if it parsed. */
#define XT_PORT_RULES                                                     \
	xt_dport(xt_proto(xt_rule(1, 10), 6), 80, 80),                    \
	xt_dport(xt_proto(xt_rule(2, 20), 17), 53, 53),                   \
	xt_sport(xt_rule(3, 30), 0, 65535),                               \
	xt_dport(xt_rule(4, 40), 0, 65535)

static void xt_group_malformed(struct xt_ctx *x)
{
	const struct xm_rule ports[] = { XT_PORT_RULES };
	const struct xm_rule all[] = { XT_PORT_RULES, xt_rule(9, 90) };
	struct xm_tgroup g;
	struct xm_fb fb;
	unsigned int i;

	xt_begin(x, &g, "xdp_malformed_port_rules");
	if (!XT_PUBLISH(x, &g, ports))
		for (i = 0; i < XT_NMAL; i++) {
			xt_mals[i].build(&fb);
			xt_frame(x, &g, xt_mals[i].name, &fb, 0, 1);
		}
	xt_end(x, &g);

	xt_begin(x, &g, "xdp_malformed_match_all");
	if (!XT_PUBLISH(x, &g, all))
		for (i = 0; i < XT_NMAL; i++) {
			xt_mals[i].build(&fb);
			xt_frame(x, &g, xt_mals[i].name, &fb, 9, 1);
		}
	xt_end(x, &g);
}

/*
 * Proto rules on malformed frames.  The brief for these tests says a
 * malformed frame is never matched by a proto rule; include/xm_parse.h
 * documents that the parse keeps every layer that was good, and the IP
 * protocol field belongs to a good L3 header when only L4 is broken.
 * This group checks the header's documented behaviour: proto rules do
 * not match frames broken at L2/L3 and do match when only L4 is broken.
 */
static void xt_group_malformed_proto(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		XT_PORT_RULES,
		xt_proto(xt_rule(5, 50), 6),
		xt_proto(xt_rule(6, 60), 17),
		xt_proto(xt_rule(7, 70), 1),
	};
	struct xm_tgroup g;
	struct xm_fb fb;
	unsigned int i;
	__u32 want;

	xt_begin(x, &g, "xdp_malformed_proto_rules");
	if (!XT_PUBLISH(x, &g, t))
		for (i = 0; i < XT_NMAL; i++) {
			want = 0;
			if (xt_mals[i].layer == XT_L4)
				want = xt_mals[i].l4 == 6 ? 5 :
				       xt_mals[i].l4 == 17 ? 6 : 7;
			xt_mals[i].build(&fb);
			xt_frame(x, &g, xt_mals[i].name, &fb, want, 1);
		}
	xt_end(x, &g);
}

static void xt_group_padding_arp(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dport(xt_proto(xt_rule(1, 10), 6), 80, 80),
		xt_dport(xt_proto(xt_rule(2, 20), 17), 53, 53),
		xt_proto(xt_rule(3, 30), 1),
		xt_src(xt_rule(4, 40), "0.0.0.0/0"),
		xt_dst(xt_rule(5, 50), "::/0"),
		xt_vlan(xt_rule(6, 60), 0),
		xt_rule(8, 80),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_padding_not_malformed");
	if (XT_PUBLISH(x, &g, t)) {
		xt_end(x, &g);
		return;
	}
	xt_v4(&fb, 17, V4S, V4D);
	xm_fb_udp(&fb, 1, 53);
	xm_fb_finish(&fb);
	xm_fb_bytes(&fb, 60 - fb.len, 0xff);
	xt_frame(x, &g, "udp 28 bytes padded to 60", &fb, 2, 0);
	xt_v4(&fb, 6, V4S, V4D);
	xm_fb_tcp(&fb, 1, 80, 5);
	xm_fb_finish(&fb);
	xm_fb_bytes(&fb, 60 - fb.len, 0);
	xt_frame(x, &g, "tcp 40 bytes padded to 60", &fb, 1, 0);
	xt_v4(&fb, 1, V4S, V4D);
	xm_fb_icmp(&fb, 8, 0);
	xm_fb_finish(&fb);
	xm_fb_bytes(&fb, 60 - fb.len, 0xaa);
	xt_frame(x, &g, "icmp padded to 60", &fb, 3, 0);
	xt_v6_l4(&fb, 17, V6S, V6D, 1, 53);
	xm_fb_bytes(&fb, 8, 0);
	xt_frame(x, &g, "v6 udp with trailing bytes", &fb, 2, 0);
	xt_end(x, &g);

	xt_begin(x, &g, "xdp_arp_only_match_all");
	xt_arp(&fb);
	xt_frame(x, &g, "arp", &fb, 8, 0);
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x8100);
	xm_fb_vlan(&fb, 0, 0x0806);
	xm_fb_bytes(&fb, 28, 0);
	xt_frame(x, &g, "arp vlan 0", &fb, 6, 0);
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x8100);
	xm_fb_vlan(&fb, 5, 0x0806);
	xm_fb_bytes(&fb, 28, 0);
	xt_frame(x, &g, "arp vlan 5", &fb, 8, 0);
	xt_end(x, &g);
}


/* ---- neighbour resolution (pass_neigh) -------------------------------- */

#define V6LL "fe80::1"
#define V6SN "ff02::1:ff00:2"	/* solicited-node multicast */

/* ARP request, behind the given VLAN tags (tpid 0: none). */
static void xt_nd_arp_tags(struct xm_fb *fb, __u16 tpid1, __u16 tci1,
			   __u16 tpid2, __u16 tci2)
{
	xm_fb_init(fb);
	if (!tpid1) {
		xt_arp(fb);
		return;
	}
	xm_fb_eth(fb, tpid1);
	if (tpid2) {
		xm_fb_vlan(fb, tci1, tpid2);
		xm_fb_vlan(fb, tci2, 0x0806);
	} else {
		xm_fb_vlan(fb, tci1, 0x0806);
	}
	xm_fb_bytes(fb, 28, 0x0a);
}

/* ICMPv6 message of the given type from a link-local address; ext: a
 * destination options header (60) or a first fragment (44) in front,
 * 0 for none; vid: an 802.1Q tag (0: untagged). */
static void xt_nd_icmp6(struct xm_fb *fb, __u8 type, __u8 ext, __u16 vid)
{
	xm_fb_init(fb);
	if (vid) {
		xm_fb_eth(fb, 0x8100);
		xm_fb_vlan(fb, vid, 0x86dd);
	} else {
		xm_fb_eth(fb, 0x86dd);
	}
	xm_fb_ipv6(fb, ext ? ext : 58, V6LL, V6SN);
	if (ext == 60)
		xm_fb_ip6_ext(fb, 60, 58, 8);
	else if (ext == 44)
		xm_fb_ip6_frag(fb, 58, 0, 1);
	xm_fb_icmp(fb, type, 0);
	xm_fb_bytes(fb, 16, 0x22);	/* target address */
	xm_fb_finish(fb);
}

static void xt_nd_arp(struct xm_fb *fb) { xt_nd_arp_tags(fb, 0, 0, 0, 0); }
static void xt_nd_arp_vlan(struct xm_fb *fb) { xt_nd_arp_tags(fb, 0x8100, 5, 0, 0); }
static void xt_nd_arp_qinq(struct xm_fb *fb) { xt_nd_arp_tags(fb, 0x88a8, 300, 0x8100, 5); }
static void xt_nd_rs(struct xm_fb *fb) { xt_nd_icmp6(fb, 133, 0, 0); }
static void xt_nd_ra(struct xm_fb *fb) { xt_nd_icmp6(fb, 134, 0, 0); }
static void xt_nd_ns(struct xm_fb *fb) { xt_nd_icmp6(fb, 135, 0, 0); }
static void xt_nd_na_vlan(struct xm_fb *fb) { xt_nd_icmp6(fb, 136, 0, 5); }
static void xt_nd_redirect(struct xm_fb *fb) { xt_nd_icmp6(fb, 137, 0, 0); }
static void xt_nd_ns_dstopts(struct xm_fb *fb) { xt_nd_icmp6(fb, 135, 60, 0); }
static void xt_nd_ns_frag(struct xm_fb *fb) { xt_nd_icmp6(fb, 135, 44, 0); }
static void xt_nd_echo6(struct xm_fb *fb) { xt_nd_icmp6(fb, 128, 0, 0); }
static void xt_nd_mld_done(struct xm_fb *fb) { xt_nd_icmp6(fb, 132, 0, 0); }
static void xt_nd_renum(struct xm_fb *fb) { xt_nd_icmp6(fb, 138, 0, 0); }

static void xt_nd_icmp4_135(struct xm_fb *fb)
{
	xt_v4(fb, 1, V4S, V4D);
	xm_fb_icmp(fb, 135, 0);
	xm_fb_finish(fb);
}

/* An NS whose ICMPv6 header is cut to 3 bytes: malformed at L4. */
static void xt_nd_ns_cut(struct xm_fb *fb)
{
	xt_v6(fb, 58, V6LL, V6SN);
	xm_fb_bytes(fb, 3, 135);
	xm_fb_finish(fb);
}

static void xt_nd_udp(struct xm_fb *fb) { xt_v4_udp(fb, V4S, V4D, 1, 53); }

struct xt_nd {
	const char *name;
	void (*build)(struct xm_fb *fb);
	__u32 id;		/* rule the table picks when classified */
	int mal;
	int neigh;		/* ARP or ND: passed when pass_neigh is set */
};

/* Against xt_nd_table: rule 5 takes VLAN 5, rule 7 ICMPv6, 9 the rest. */
static const struct xt_nd xt_nds[] = {
	{ "arp", xt_nd_arp, 9, 0, 1 },
	{ "arp vlan 5", xt_nd_arp_vlan, 5, 0, 1 },
	{ "arp qinq 300/5", xt_nd_arp_qinq, 9, 0, 1 },
	{ "ipv6 rs", xt_nd_rs, 7, 0, 1 },
	{ "ipv6 ra", xt_nd_ra, 7, 0, 1 },
	{ "ipv6 ns", xt_nd_ns, 7, 0, 1 },
	{ "ipv6 na vlan 5", xt_nd_na_vlan, 5, 0, 1 },
	{ "ipv6 redirect", xt_nd_redirect, 7, 0, 1 },
	{ "ipv6 ns behind dstopts", xt_nd_ns_dstopts, 7, 0, 1 },
	{ "ipv6 ns in a fragment", xt_nd_ns_frag, 7, 0, 0 },
	{ "ipv6 ns header cut", xt_nd_ns_cut, 7, 1, 0 },
	{ "icmpv6 echo", xt_nd_echo6, 7, 0, 0 },
	{ "icmpv6 132", xt_nd_mld_done, 7, 0, 0 },
	{ "icmpv6 138", xt_nd_renum, 7, 0, 0 },
	{ "icmpv4 type 135", xt_nd_icmp4_135, 9, 0, 0 },
	{ "udp", xt_nd_udp, 9, 0, 0 },
};

#define XT_NND (sizeof(xt_nds) / sizeof(xt_nds[0]))

/* Run every xt_nds frame against a table ending in a match-all rule;
 * returns how many of them are neighbour frames. */
static unsigned int xt_nd_run(struct xt_ctx *x, struct xm_tgroup *g)
{
	const struct xm_rule t[] = {
		xt_vlan(xt_rule(5, 10), 5),
		xt_proto(xt_rule(7, 20), 58),
		xt_rule(9, 90),
	};
	struct xm_fb fb;
	unsigned int i, n = 0;

	if (XT_PUBLISH(x, g, t))
		return 0;
	for (i = 0; i < XT_NND; i++) {
		xt_nds[i].build(&fb);
		xt_frame_nd(x, g, xt_nds[i].name, &fb, xt_nds[i].id,
			    xt_nds[i].mal, xt_nds[i].neigh);
		n += xt_nds[i].neigh ? 1 : 0;
	}
	return n;
}

/*
 * pass_neigh off (the default): ARP and ND are classified like anything
 * else.  pass_neigh on, in a second program instance loaded with the
 * rodata set: they are passed unclassified whatever the table says and
 * counted as not_matched and neigh_passed; everything else is unchanged.
 * Each frame runs twice (passes A and B).
 */
static void xt_group_neigh(struct xt_ctx *x)
{
	struct xm_rule tbl[XT_MAX_TBL];
	__u32 ntbl, live;
	struct mirror_bpf *skel;
	struct xm_dev_stats st;
	struct xm_tgroup g;
	unsigned int n;
	int err;

	xt_begin(x, &g, "xdp_neigh_classified_by_default");
	n = xt_nd_run(x, &g);
	if (!xt_read_dev(x, &st))
		XM_EXPECT(&g, n == 9 && st.neigh_passed == 0,
			  "pass_neigh off: %u neighbour frames, neigh_passed %llu, want 9, 0",
			  n, (unsigned long long)st.neigh_passed);
	xt_end(x, &g);

	/* the first program's table state, restored at the end */
	memcpy(tbl, x->tbl, sizeof(tbl));
	ntbl = x->ntbl;
	live = x->live;
	xm_tg_begin(&g, "xdp_neigh_load_pass_neigh");
	skel = mirror_bpf__open();
	if (!skel) {
		xm_tg_fail(&g, "mirror_bpf__open: %s", strerror(errno));
		xm_tg_end(&x->suite, &g);
		return;
	}
	skel->rodata->pass_neigh = 1;
	err = mirror_bpf__load(skel);
	if (err) {
		xm_tg_fail(&g, "mirror_bpf__load with pass_neigh=1: %s",
			   strerror(-err));
		xm_tg_end(&x->suite, &g);
		mirror_bpf__destroy(skel);
		return;
	}
	err = xt_use_skel(x, skel);
	if (err) {
		xm_tg_fail(&g, "mapping the tables of the pass_neigh program: %s",
			   strerror(-err));
		xm_tg_end(&x->suite, &g);
		mirror_bpf__destroy(skel);
		xt_use_skel(x, x->skel);
		return;
	}
	x->live = XM_SEL_IDX(xt_rules_sel(x));
	x->ntbl = 0;
	XM_EXPECT(&g, xt_rules_sel(x) == 0 && x->tb.ctl->rule_gen == 0,
		  "fresh program: rules_sel 0x%x rule_gen %u, want 0, 0",
		  xt_rules_sel(x), x->tb.ctl->rule_gen);
	xm_tg_end(&x->suite, &g);

	xt_begin(x, &g, "xdp_neigh_passed");
	/* a fresh program: the totals below are absolute */
	XM_EXPECT(&g, x->exp.rx == 0, "fresh program has rx %llu",
		  (unsigned long long)x->exp.rx);
	n = xt_nd_run(x, &g);
	if (!xt_read_dev(x, &st)) {
		XM_EXPECT(&g, n == 9 && st.neigh_passed == 2 * n &&
			  st.not_matched == 2 * n &&
			  st.matched == 2 * (XT_NND - n) &&
			  st.rx == 2 * XT_NND && st.passed == 2 * n +
			  (XT_NND - n) && st.to_xsk == XT_NND - n &&
			  st.malformed == 2,
			  "totals: %u neighbour frames, rx %llu matched %llu not_matched %llu neigh_passed %llu passed %llu to_xsk %llu malformed %llu",
			  n, (unsigned long long)st.rx,
			  (unsigned long long)st.matched,
			  (unsigned long long)st.not_matched,
			  (unsigned long long)st.neigh_passed,
			  (unsigned long long)st.passed,
			  (unsigned long long)st.to_xsk,
			  (unsigned long long)st.malformed);
	}
	xt_end(x, &g);

	/* back to the first program and its table */
	xm_tg_begin(&g, "xdp_neigh_back_to_first_program");
	xm_table_close(&x->tb);
	x->tb_open = false;
	mirror_bpf__destroy(skel);
	err = xt_use_skel(x, x->skel);
	XM_EXPECT(&g, !err, "mapping the first program's tables again: %s",
		  strerror(-err));
	memcpy(x->tbl, tbl, sizeof(tbl));
	x->ntbl = ntbl;
	x->live = live;
	if (!err)
		XM_EXPECT(&g, XM_SEL_IDX(xt_rules_sel(x)) == live &&
			  XM_SEL_COUNT(xt_rules_sel(x)) == ntbl,
			  "first program's rules_sel is 0x%x, want half %u with %u rules",
			  xt_rules_sel(x), live, ntbl);
	xm_tg_end(&x->suite, &g);
}

/* ---- the fields added with the tuple classifier ------------------------ */

/* TCP over IPv4 or IPv6 with the given DSCP and TCP flags. */
static void xt_tcp_ds(struct xm_fb *fb, int v6, __u8 dscp, __u8 flags,
		      __u16 dp)
{
	if (v6) {
		xt_v6_l4(fb, 6, V6S, V6D, 1000, dp);
		/* version 6, traffic class dscp << 2 | ECN 1, flow label */
		xm_fb_put32(fb, 14, 0x60000000u | (__u32)dscp << 22 |
			    1u << 20 | 0x12345);
	} else {
		xt_v4(fb, 6, V4S, V4D);
		fb->d[15] = (__u8)(dscp << 2 | 1);
		xm_fb_tcp(fb, 1000, dp, 5);
	}
	fb->d[fb->l4_off + 13] = flags;
	xm_fb_finish(fb);
}

/*
 * Ingress device (every test run arrives on XT_IFINDEX), direction (always
 * inbound here), DSCP, TCP flags under a mask and the inner VLAN tag; in
 * hashed rules and behind port ranges in residual ones.
 */
static void xt_group_fields(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_dev(xt_rule(1, 10), XT_IFINDEX + 1),
		xt_dir(xt_rule(2, 11), XM_DIR_OUT),
		xt_dscp(xt_proto(xt_rule(3, 20), 6), 46),
		xt_tcpflags(xt_rule(4, 30), 0x02, 0x12),	/* SYN, no ACK */
		xt_ivlan(xt_vlan(xt_rule(5, 40), 10), 20),
		xt_dport(xt_dir(xt_dev(xt_rule(6, 50), XT_IFINDEX),
				XM_DIR_IN), 7, 7),
		xt_dport(xt_dir(xt_rule(7, 60), XM_DIR_IN | XM_DIR_OUT), 8, 9),
		xt_sport(xt_dev(xt_rule(8, 70), XT_IFINDEX), 100, 200),
		xt_sport(xt_dev(xt_rule(9, 80), XT_IFINDEX + 1), 0, 65535),
		xt_sport(xt_dir(xt_rule(10, 90), XM_DIR_OUT), 0, 65535),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_fields_dev_dir_dscp_flags_ivlan");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_tcp_ds(&fb, 0, 46, 0x10, 80);
	xt_frame(x, &g, "v4 tcp dscp 46", &fb, 3, 0);
	xt_tcp_ds(&fb, 1, 46, 0x10, 80);
	xt_frame(x, &g, "v6 tcp dscp 46", &fb, 3, 0);
	xt_tcp_ds(&fb, 0, 45, 0x10, 80);
	xt_frame(x, &g, "v4 tcp dscp 45 ack", &fb, 0, 0);
	xt_tcp_ds(&fb, 1, 47, 0x02, 80);
	xt_frame(x, &g, "v6 tcp dscp 47 syn", &fb, 4, 0);
	xt_tcp_ds(&fb, 0, 0, 0x03, 80);
	xt_frame(x, &g, "v4 tcp syn+fin", &fb, 4, 0);
	xt_tcp_ds(&fb, 0, 0, 0x12, 80);
	xt_frame(x, &g, "v4 tcp syn+ack", &fb, 0, 0);
	xt_tcp_ds(&fb, 0, 0, 0x12, 7);
	xt_frame(x, &g, "tcp :7, dev 1 dir in", &fb, 6, 0);
	xt_v4_udp(&fb, V4S, V4D, 5000, 9);
	xt_frame(x, &g, "udp :9, both directions", &fb, 7, 0);
	xt_v4_udp(&fb, V4S, V4D, 150, 10);
	xt_frame(x, &g, "udp sport 150, dev 1", &fb, 8, 0);
	xt_v4_udp(&fb, V4S, V4D, 201, 10);
	xt_frame(x, &g, "udp sport 201", &fb, 0, 0);
	xt_vlan_frame(&fb, 0x88a8, 10, 0x8100, 20, 17);
	xt_frame(x, &g, "qinq 10/20", &fb, 5, 0);
	xt_vlan_frame(&fb, 0x88a8, 10, 0x8100, 21, 17);
	xt_frame(x, &g, "qinq 10/21", &fb, 0, 0);
	xt_vlan_frame(&fb, 0x8100, 20, 0x8100, 10, 17);
	xt_frame(x, &g, "qinq 20/10", &fb, 0, 0);
	xt_vlan_frame(&fb, 0x8100, 10, 0, 0, 17);
	xt_frame(x, &g, "single tag 10", &fb, 0, 0);
	xt_arp(&fb);
	xt_frame(x, &g, "arp", &fb, 0, 0);
out:
	xt_end(x, &g);
}

/* Write expr, compiled, into filters slot (and the reference's copy);
 * NULL clears the slot. */
static int xt_filter_set(struct xt_ctx *x, struct xm_tgroup *g, __u32 slot,
			 const char *expr)
{
	struct xm_filter *f = &x->filters[slot];
	char err[256];
	int rc;

	memset(f, 0, sizeof(*f));
	if (expr) {
		rc = xm_filter_compile(expr, &f->prog, err, sizeof(err));
		if (rc) {
			xm_tg_fail(g, "xm_filter_compile: %s", err);
			return rc;
		}
		snprintf(f->expr, sizeof(f->expr), "%s", expr);
	}
	if (bpf_map_update_elem(x->filters_fd, &slot, f, BPF_ANY)) {
		rc = -errno;
		xm_tg_fail(g, "writing filters[%u]: %s", slot, strerror(-rc));
		return rc;
	}
	return 0;
}

/*
 * pcap-filter rules (residual): the program decides on the frame bytes,
 * both in the XDP program and in the reference; an empty slot never
 * matches; a filter rule's other fields still apply.
 */
static void xt_group_filter(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_filter(xt_rule(1, 10), 5),
		xt_filter(xt_dport(xt_proto(xt_rule(2, 20), 17), 53, 53), 6),
		xt_filter(xt_rule(3, 30), 7),		/* slot left empty */
		xt_filter(xt_vlan(xt_rule(4, 40), 10), 8),
		xt_dport(xt_rule(5, 50), 80, 80),
		xt_rule(9, 90),
	};
	struct xm_tgroup g;
	struct xm_fb fb;

	xt_begin(x, &g, "xdp_filter_rules");
	if (xt_filter_set(x, &g, 5, "tcp dst port 80 and src net 10.0.0.0/8") ||
	    xt_filter_set(x, &g, 6, "udp and src port 1000") ||
	    xt_filter_set(x, &g, 7, NULL) ||
	    xt_filter_set(x, &g, 8, "vlan 10 and udp"))
		goto out;
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4_tcp(&fb, V4S, V4D, 1, 80);
	xt_frame(x, &g, "tcp 10.1.2.3 -> :80", &fb, 1, 0);
	xt_v4_tcp(&fb, "11.1.2.3", V4D, 1, 80);
	xt_frame(x, &g, "tcp 11.1.2.3 -> :80", &fb, 5, 0);
	xt_v4_udp(&fb, V4S, V4D, 1000, 53);
	xt_frame(x, &g, "udp 1000 -> 53", &fb, 2, 0);
	xt_v4_udp(&fb, V4S, V4D, 1001, 53);
	xt_frame(x, &g, "udp 1001 -> 53", &fb, 9, 0);
	xt_v4_udp(&fb, V4S, V4D, 1000, 54);
	xt_frame(x, &g, "udp 1000 -> 54", &fb, 9, 0);
	xt_vlan_frame(&fb, 0x8100, 10, 0, 0, 17);
	xt_frame(x, &g, "vlan 10 udp", &fb, 4, 0);
	/* pcap offsets move behind a tag: the tcp filter fails there */
	xt_vlan_frame(&fb, 0x8100, 11, 0, 0, 6);
	xt_frame(x, &g, "vlan 11 tcp :80", &fb, 5, 0);
	xt_arp(&fb);
	xt_frame(x, &g, "arp", &fb, 9, 0);
	/* no live rule refers to the slots when they are cleared */
	xt_publish(x, &g, xt_none, 0);
out:
	xt_filter_set(x, &g, 5, NULL);
	xt_filter_set(x, &g, 6, NULL);
	xt_filter_set(x, &g, 8, NULL);
	xt_end(x, &g);
}

/* ---- actions ------------------------------------------------------------ */

/*
 * A skip rule's frames are counted as matched, skipped and passed (and on
 * the rule) but never redirected, socket or not; it wins over any later
 * mirror rule, hashed or residual, and loses to an earlier one.  A mirror
 * rule's snaplen travels in the metadata (checked by pass B).
 */
static void xt_group_skip(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_skip(xt_src(xt_proto(xt_rule(41, 10), 6), "10.0.0.0/8")),
		xt_dport(xt_proto(xt_rule(46, 12), 17), 1200, 1200),
		xt_skip(xt_dport(xt_rule(42, 15), 1000, 2000)),
		xt_snaplen(xt_proto(xt_rule(43, 20), 6), 128),
		xt_snaplen(xt_dport(xt_rule(44, 30), 1500, 1500), 64),
		xt_snaplen(xt_dport(xt_rule(47, 31), 2500, 2600), 65535),
		xt_skip(xt_rule(45, 90)),
	};
	struct xm_tgroup g;
	struct xm_dev_stats st;
	struct xm_fb fb;
	__u64 skipped0;

	xt_begin(x, &g, "xdp_action_skip_snaplen");
	skipped0 = x->exp.skipped;
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4_tcp(&fb, V4S, V4D, 1, 80);
	xt_frame(x, &g, "tcp from 10/8: skip before mirror", &fb, 41, 0);
	xt_v4_tcp(&fb, "11.0.0.1", V4D, 1, 80);
	xt_frame(x, &g, "tcp from 11/8: mirror, snaplen 128", &fb, 43, 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 1200);
	xt_frame(x, &g, "udp :1200: hashed mirror before residual skip", &fb,
		 46, 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 1300);
	xt_frame(x, &g, "udp :1300: residual skip", &fb, 42, 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 1500);
	xt_frame(x, &g, "udp :1500: residual skip before hashed mirror", &fb,
		 42, 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 2550);
	xt_frame(x, &g, "udp :2550: residual mirror, snaplen 65535", &fb, 47,
		 0);
	xt_v4_udp(&fb, V4S, V4D, 1, 5);
	xt_frame(x, &g, "udp :5: skip catch-all", &fb, 45, 0);
	xt_arp(&fb);
	xt_frame(x, &g, "arp: skip catch-all", &fb, 45, 0);
	/* 41 once, 42 and 45 twice, each in passes A and B */
	if (!xt_read_dev(x, &st))
		XM_EXPECT(&g, st.skipped - skipped0 == 10,
			  "skipped +%llu, want 10",
			  (unsigned long long)(st.skipped - skipped0));
out:
	xt_end(x, &g);
}

static __u64 xt_isqrt(__u64 v)
{
	__u64 r = 0;

	while ((r + 1) * (r + 1) <= v)
		r++;
	return r;
}

/* |taken - n/k| within 5 standard deviations of Binomial(n, 1/k). */
static bool xt_binomial_ok(__u64 taken, __u64 n, __u64 k)
{
	__u64 mean = n / k, var = n * (k - 1) / (k * k);
	__u64 bound = 5 * xt_isqrt(var) + 5;

	return taken + bound >= mean && taken <= mean + bound;
}

/*
 * Sample 1 in N: every matched frame is counted on the rule and as
 * matched; the ones the sample does not take are sampled_out and passed,
 * the others go on as usual (xsk_missing without a socket, to_xsk with
 * one).  Sample 0 and 1 take every frame.
 */
static void xt_group_sample(struct xt_ctx *x)
{
	const struct xm_rule t[] = {
		xt_sample(xt_proto(xt_rule(51, 10), 17), 4),
		xt_sample(xt_proto(xt_rule(52, 20), 6), 1),
		xt_proto(xt_rule(53, 30), 1),
	};
	const __u32 n = 20000, nsock = 2000;
	struct xm_dev_stats s0, s1;
	struct xm_rule_stats rs0, rs1;
	struct xm_tgroup g;
	struct xm_fb fb;
	struct xm_t_run r;
	struct xm_meta m;
	__u64 taken, redirected = 0, other = 0;
	unsigned int i;
	int err;

	xt_begin(x, &g, "xdp_action_sample");
	if (XT_PUBLISH(x, &g, t))
		goto out;

	/* no socket: repeat in the kernel, the frame comes back as it went */
	xt_v4_udp(&fb, V4S, V4D, 1, 53);
	err = xt_read_dev(x, &s0);
	if (!err)
		err = xm_percpu_sum(x->rstat_fd, 51, (__u64 *)&rs0, 2);
	if (!err)
		err = xt_test_run_n(x, fb.d, fb.len, 0, n, &r);
	if (!err)
		err = xt_read_dev(x, &s1);
	if (!err)
		err = xm_percpu_sum(x->rstat_fd, 51, (__u64 *)&rs1, 2);
	if (err) {
		xm_tg_fail(&g, "sample 4, %u runs: %s", n, strerror(-err));
		goto out;
	}
	taken = s1.xsk_missing - s0.xsk_missing;
	printf("# sample 4: %llu of %u frames taken (expected %u)\n",
	       (unsigned long long)taken, n, n / 4);
	XM_EXPECT(&g, r.retval == XDP_PASS, "sample 4: retval %u", r.retval);
	XM_EXPECT(&g, s1.rx - s0.rx == n && s1.matched - s0.matched == n &&
		  s1.passed - s0.passed == n && s1.to_xsk == s0.to_xsk &&
		  s1.meta_fail == s0.meta_fail && s1.skipped == s0.skipped,
		  "sample 4, %u frames: rx +%llu matched +%llu passed +%llu",
		  n, (unsigned long long)(s1.rx - s0.rx),
		  (unsigned long long)(s1.matched - s0.matched),
		  (unsigned long long)(s1.passed - s0.passed));
	XM_EXPECT(&g, s1.sampled_out - s0.sampled_out == n - taken,
		  "sample 4: sampled_out +%llu, want matched - taken = %llu",
		  (unsigned long long)(s1.sampled_out - s0.sampled_out),
		  (unsigned long long)(n - taken));
	XM_EXPECT(&g, xt_binomial_ok(taken, n, 4),
		  "sample 4: %llu of %u frames taken, outside 5 sigma of %u",
		  (unsigned long long)taken, n, n / 4);
	XM_EXPECT(&g, rs1.packets - rs0.packets == n &&
		  rs1.bytes - rs0.bytes == (__u64)n * fb.len,
		  "sample 4: rule_stats +%llu pkts, want every frame (%u)",
		  (unsigned long long)(rs1.packets - rs0.packets), n);

	/* with a socket, frame by frame: taken ones carry the meta */
	err = xt_read_dev(x, &s0);
	if (!err)
		err = xt_xsk_set(x, true);
	for (i = 0; !err && i < nsock; i++) {
		err = xt_test_run(x, fb.d, fb.len, 0, &r);
		if (err)
			break;
		if (r.retval == XDP_REDIRECT && r.meta_len == XT_META_LEN) {
			memcpy(&m, r.out, sizeof(m));
			if (m.rule_id == 51 && m.magic == XM_META_MAGIC)
				redirected++;
			else
				other++;
		} else if (r.retval != XDP_PASS || r.meta_len ||
			   r.out_len != fb.len) {
			other++;
		}
	}
	if (xt_xsk_set(x, false) && !err)
		err = -EIO;
	if (!err)
		err = xt_read_dev(x, &s1);
	if (err) {
		xm_tg_fail(&g, "sample 4 with a socket: %s", strerror(-err));
		goto out;
	}
	printf("# sample 4 with socket: %llu of %u frames redirected\n",
	       (unsigned long long)redirected, nsock);
	XM_EXPECT(&g, !other, "sample 4 with socket: %llu odd results",
		  (unsigned long long)other);
	XM_EXPECT(&g, s1.to_xsk - s0.to_xsk == redirected &&
		  s1.sampled_out - s0.sampled_out == nsock - redirected &&
		  s1.matched - s0.matched == nsock &&
		  s1.xsk_missing == s0.xsk_missing,
		  "sample 4 with socket: to_xsk +%llu sampled_out +%llu for %llu redirected of %u",
		  (unsigned long long)(s1.to_xsk - s0.to_xsk),
		  (unsigned long long)(s1.sampled_out - s0.sampled_out),
		  (unsigned long long)redirected, nsock);
	XM_EXPECT(&g, xt_binomial_ok(redirected, nsock, 4),
		  "sample 4 with socket: %llu of %u redirected, outside 5 sigma",
		  (unsigned long long)redirected, nsock);

	/* sample 1 and no sample: every frame */
	xt_v4_tcp(&fb, V4S, V4D, 1, 80);
	err = xt_read_dev(x, &s0);
	if (!err)
		err = xt_test_run_n(x, fb.d, fb.len, 0, 1000, &r);
	xt_v4(&fb, 1, V4S, V4D);
	xm_fb_icmp(&fb, 8, 0);
	xm_fb_finish(&fb);
	if (!err)
		err = xt_test_run_n(x, fb.d, fb.len, 0, 1000, &r);
	if (!err)
		err = xt_read_dev(x, &s1);
	if (err) {
		xm_tg_fail(&g, "sample 1/0 runs: %s", strerror(-err));
		goto out;
	}
	XM_EXPECT(&g, s1.xsk_missing - s0.xsk_missing == 2000 &&
		  s1.sampled_out == s0.sampled_out,
		  "sample 1 and 0: xsk_missing +%llu sampled_out +%llu, want 2000, 0",
		  (unsigned long long)(s1.xsk_missing - s0.xsk_missing),
		  (unsigned long long)(s1.sampled_out - s0.sampled_out));
out:
	/* the counts are checked above; identities and rule counters next */
	xt_resync(x, &g);
	xt_end(x, &g);
}

/* ---- generations ------------------------------------------------------ */

/* Both halves must hold exactly their tables and hash keys: the live one
 * the table just published, the other the one live before it. */
static void xt_check_halves(struct xt_ctx *x, struct xm_tgroup *g,
			    const char *what, const struct xm_rule *prev,
			    __u32 nprev)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%s, live half", what);
	xm_t_check_half(g, buf, &x->tb, &x->maps, x->live, x->tbl, x->ntbl);
	snprintf(buf, sizeof(buf), "%s, previous half", what);
	xm_t_check_half(g, buf, &x->tb, &x->maps, x->live ^ 1, prev, nprev);
}

/*
 * Bring both halves and rule_hash back to a state xm_table_publish()
 * trusts (no keys, empty halves), then publish the live table twice so
 * that both halves hold it: after a group that left them inconsistent,
 * later groups start clean.
 */
static void xt_tables_reset(struct xt_ctx *x, struct xm_tgroup *g)
{
	struct xm_rule tbl[XT_MAX_TBL];
	struct xm_t_kv *kv = NULL;
	__u32 n = x->ntbl;
	int i, nkv;

	memcpy(tbl, x->tbl, sizeof(tbl));
	nkv = xm_t_hash_dump(x->hash_fd, &kv);
	for (i = 0; i < nkv; i++)
		bpf_map_delete_elem(x->hash_fd, &kv[i].key);
	free(kv);
	memset(&x->tb.rules[0], 0, sizeof(x->tb.rules[0]));
	memset(&x->tb.rules[XM_MAX_RULES], 0, sizeof(x->tb.rules[0]));
	if (!xt_publish(x, g, tbl, n))
		xt_publish(x, g, tbl, n);
}

/*
 * Publishing flips to the other half at once and rewrites only that half:
 * its rules, tuples, residual list and hash keys are replaced exactly
 * (nothing stale from the table it held two generations ago), while the
 * previous generation's half stays as it was.  A rule written past the
 * live count is never seen.
 */
static void xt_group_generation(struct xt_ctx *x)
{
	const struct xm_rule a[] = {
		xt_dport(xt_rule(21, 10), 80, 80),
		xt_proto(xt_rule(22, 20), 17),
	};
	const struct xm_rule b[] = {
		xt_dport(xt_rule(31, 10), 443, 443),
		xt_src(xt_rule(32, 20), "10.0.0.0/8"),
		xt_proto(xt_rule(33, 30), 6),
		xt_dport(xt_rule(34, 40), 1000, 2000),	/* residual */
	};
	const struct xm_rule catch_all[] = { xt_rule(40, 1) };
	struct xm_rule *slot;
	struct xm_tgroup g;
	struct xm_fb f80, f443, fudp, farp, f1500;
	__u32 old;

	xt_v4_tcp(&f80, "11.0.0.1", V4D, 1, 80);
	xt_v4_tcp(&f443, "11.0.0.1", V4D, 1, 443);
	xt_v4_udp(&fudp, V4S, V4D, 1, 5);
	xt_v4_udp(&f1500, "11.0.0.1", V4D, 1, 1500);
	xt_arp(&farp);

	xt_begin(x, &g, "xdp_generation_flip");
	if (XT_PUBLISH(x, &g, a))
		goto out;
	old = x->live;
	xt_frame(x, &g, "gen A :80", &f80, 21, 0);
	xt_frame(x, &g, "gen A :443", &f443, 0, 0);
	xt_frame(x, &g, "gen A udp", &fudp, 22, 0);
	if (XT_PUBLISH(x, &g, b))
		goto out;
	XM_EXPECT(&g, x->live != old, "publish did not switch generation");
	xt_check_halves(x, &g, "B after A", a, 2);
	xt_frame(x, &g, "gen B :80", &f80, 33, 0);
	xt_frame(x, &g, "gen B :443", &f443, 31, 0);
	xt_frame(x, &g, "gen B udp", &fudp, 32, 0);
	xt_frame(x, &g, "gen B udp :1500", &f1500, 34, 0);

	/* Past the live count: no tuple, residual entry or key refers to
	 * the slot, so the rule there is never seen. */
	slot = &x->tb.rules[(size_t)x->live * XM_MAX_RULES + x->ntbl];
	*slot = catch_all[0];
	xt_frame(x, &g, "arp, catch-all past the count", &farp, 0, 0);
	memset(slot, 0, sizeof(*slot));

	/* Each publish goes live at once and replaces the keys of the
	 * half it writes: A's there give way to the catch-all's ... */
	if (XT_PUBLISH(x, &g, catch_all))
		goto out;
	xt_check_halves(x, &g, "catch-all over A", b, 4);
	xt_frame(x, &g, "arp, catch-all", &farp, 40, 0);
	xt_frame(x, &g, "udp, catch-all", &fudp, 40, 0);
	/* ... B's to B's ... */
	if (XT_PUBLISH(x, &g, b))
		goto out;
	xt_check_halves(x, &g, "B over B", catch_all, 1);
	xt_frame(x, &g, "B again :443", &f443, 31, 0);
	xt_frame(x, &g, "B again arp", &farp, 0, 0);
	/* ... the catch-all's to none: nothing matches ... */
	if (xt_publish(x, &g, xt_none, 0))
		goto out;
	xt_check_halves(x, &g, "empty over catch-all", b, 4);
	xt_frame(x, &g, "empty table udp", &fudp, 0, 0);
	xt_frame(x, &g, "empty table arp", &farp, 0, 0);
	/* ... and B's to A's. */
	if (XT_PUBLISH(x, &g, a))
		goto out;
	xt_check_halves(x, &g, "A over B", xt_none, 0);
	xt_frame(x, &g, "A after empty :80", &f80, 21, 0);
	xt_frame(x, &g, "A after empty :443", &f443, 0, 0);
	xt_frame(x, &g, "A after empty udp :1500", &f1500, 22, 0);
out:
	xt_end(x, &g);
}

/*
 * A rule written into the inactive half's rules array without publishing
 * is never seen; publishing a table with it makes it live at once, and
 * the half then holds exactly that table's keys.  The write stands for
 * what an interrupted publish (a writer killed between the key update
 * and the rules copy, or a failed key update) leaves behind: the next
 * publish must not trust the half's rules array to describe its keys.
 */
static void xt_group_inactive_write(struct xt_ctx *x)
{
	const struct xm_rule a[] = {
		xt_dport(xt_rule(21, 10), 80, 80),
		xt_proto(xt_rule(22, 20), 17),
	};
	const struct xm_rule b[] = {
		xt_dport(xt_rule(31, 10), 443, 443),
		xt_proto(xt_rule(33, 30), 6),
	};
	const struct xm_rule catch_all[] = { xt_rule(40, 1) };
	struct xm_rule *slot;
	struct xm_tgroup g;
	struct xm_fb f80, fudp, farp;
	__u32 sel;

	xt_v4_tcp(&f80, "11.0.0.1", V4D, 1, 80);
	xt_v4_udp(&fudp, V4S, V4D, 1, 5);
	xt_arp(&farp);

	xt_begin(x, &g, "xdp_generation_inactive_write");
	if (XT_PUBLISH(x, &g, a) || XT_PUBLISH(x, &g, b))
		goto out;
	/* the inactive half holds A; the catch-all goes over A's rule 21 */
	slot = &x->tb.rules[(size_t)(x->live ^ 1) * XM_MAX_RULES];
	*slot = catch_all[0];
	sel = xt_rules_sel(x);
	xt_frame(x, &g, "inactive catch-all ignored, tcp :80", &f80, 33, 0);
	xt_frame(x, &g, "inactive catch-all ignored, arp", &farp, 0, 0);
	XM_EXPECT(&g, xt_rules_sel(x) == sel,
		  "rules_sel changed from 0x%x to 0x%x without a publish",
		  sel, xt_rules_sel(x));
	if (XT_PUBLISH(x, &g, catch_all))
		goto out;
	xt_check_halves(x, &g, "catch-all published", b, 2);
	xt_frame(x, &g, "arp after publish", &farp, 40, 0);
	xt_frame(x, &g, "udp after publish", &fudp, 40, 0);
	xt_frame(x, &g, "tcp :80 after publish", &f80, 40, 0);
	if (XT_PUBLISH(x, &g, b))
		goto out;
	xt_check_halves(x, &g, "B over B", catch_all, 1);
	if (XT_PUBLISH(x, &g, b))
		goto out;
	xt_check_halves(x, &g, "B over catch-all", b, 2);
	xt_frame(x, &g, "B: tcp :80", &f80, 33, 0);
	xt_frame(x, &g, "B: udp", &fudp, 0, 0);
out:
	if (g.nfail)
		xt_tables_reset(x, &g);
	xt_end(x, &g);
}

/* Existing metadata in front of the frame: with 200 bytes there is no
 * room for ours (the headroom must keep struct xdp_frame), so a match is
 * counted meta_fail and passed; with 8 bytes ours goes in front of it. */
static void xt_group_meta(struct xt_ctx *x)
{
	const struct xm_rule t[] = { xt_dport(xt_rule(12, 10), 80, 80) };
	struct xm_tgroup g;
	struct xm_fb fb;
	struct xm_t_run r;
	struct xm_meta m;
	int err;

	xt_begin(x, &g, "xdp_meta_room");
	if (XT_PUBLISH(x, &g, t))
		goto out;
	xt_v4_tcp(&fb, V4S, V4D, 1, 80);

	err = xt_xsk_set(x, true);
	if (!err)
		err = xt_test_run(x, fb.d, fb.len, 200, &r);
	if (err) {
		xm_tg_fail(&g, "run with 200 bytes of metadata: %s", strerror(-err));
		goto out;
	}
	xt_count(x, fb.len, 0, &t[0], true, false, false);
	XM_EXPECT(&g, r.retval == XDP_PASS && r.meta_len == 200 &&
		  r.out_len == 200 + fb.len && !memcmp(r.out + 200, fb.d, fb.len),
		  "no room: retval %u meta %u len %u, want XDP_PASS, 200, %u",
		  r.retval, r.meta_len, r.out_len, 200 + fb.len);
	xt_check_dev(x, &g, "no room for meta");
	xt_check_table_stats(x, &g, "no room for meta");

	err = xt_test_run(x, fb.d, fb.len, 8, &r);
	if (err) {
		xm_tg_fail(&g, "run with 8 bytes of metadata: %s", strerror(-err));
		goto out;
	}
	xt_count(x, fb.len, 0, &t[0], true, true, false);
	memcpy(&m, r.out, sizeof(m));
	XM_EXPECT(&g, r.retval == XDP_REDIRECT && r.meta_len == 8 + XT_META_LEN &&
		  m.rule_id == 12 && m.magic == XM_META_MAGIC &&
		  r.out[XT_META_LEN] == 0xee &&
		  !memcmp(r.out + XT_META_LEN + 8, fb.d, fb.len),
		  "meta in front of 8 bytes: retval %u meta %u rule %u magic 0x%x",
		  r.retval, r.meta_len, m.rule_id, m.magic);
	xt_check_dev(x, &g, "meta before existing meta");
	xt_check_table_stats(x, &g, "meta before existing meta");
out:
	if (xt_xsk_set(x, false))
		xm_tg_fail(&g, "removing the socket");
	xt_end(x, &g);
}

/* ---- setup ------------------------------------------------------------ */

/* Point the test at skel's program and maps, and map its tables. */
static int xt_use_skel(struct xt_ctx *x, struct mirror_bpf *skel)
{
	struct xm_maps m;

	x->prog_fd = bpf_program__fd(skel->progs.xm_xdp_mirror);
	x->dev_fd = bpf_map__fd(skel->maps.dev_stats);
	x->rstat_fd = bpf_map__fd(skel->maps.rule_stats);
	x->xsks_fd = bpf_map__fd(skel->maps.xsks);
	x->filters_fd = bpf_map__fd(skel->maps.filters);
	x->hash_fd = bpf_map__fd(skel->maps.rule_hash);
	x->pass_neigh = skel->rodata->pass_neigh != 0;
	/* only the classifier's maps: the rest stays -1 */
	xm_t_skel_table_maps(skel, &m);
	x->maps = m;
	if (x->tb_open)
		xm_table_close(&x->tb);
	x->tb_open = false;
	if (xm_table_open(&x->tb, &m))
		return -errno ? -errno : -EIO;
	x->tb_open = true;
	return 0;
}

/* An AF_XDP socket on the loopback device of a private network namespace:
 * it only has to exist for the xsks map; nothing is received on it, and
 * no interface of the host is touched. */
static int xt_xsk_open(struct xt_ctx *x)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t size = (size_t)XT_UMEM_FRAMES * XT_FRAME_SIZE;
	int err;

	if (unshare(CLONE_NEWNET))
		return -errno;
	x->umem_area = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->umem_area == MAP_FAILED) {
		x->umem_area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&x->umem, x->umem_area, size, &x->fq, &x->cq,
			       NULL);
	if (err)
		return err;
	return xsk_socket__create(&x->xsk, "lo", 0, x->umem, &x->rx, &x->tx,
				  &cfg);
}

static void xt_close(struct xt_ctx *x)
{
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->umem_area)
		munmap(x->umem_area, (size_t)XT_UMEM_FRAMES * XT_FRAME_SIZE);
	if (x->tb_open)
		xm_table_close(&x->tb);
	free(x->filters);
	mirror_bpf__destroy(x->skel);
}

static int xt_open(struct xt_ctx *x)
{
	struct xm_tgroup g;
	int err = 0;

	xm_tg_begin(&g, "xdp_load");
	x->skel = mirror_bpf__open_and_load();
	if (!x->skel) {
		err = -errno;
		xm_tg_fail(&g, "mirror_bpf__open_and_load: %s", strerror(-err));
		goto out;
	}
	err = xt_use_skel(x, x->skel);
	if (err) {
		xm_tg_fail(&g, "xm_table_open: %s", strerror(-err));
		goto out;
	}
	x->filters = calloc(XM_MAX_FILTERS, sizeof(*x->filters));
	if (!x->filters) {
		err = -ENOMEM;
		xm_tg_fail(&g, "out of memory");
		goto out;
	}
	XM_EXPECT(&g, x->skel->rodata->pass_neigh == 0,
		  "pass_neigh defaults to %u, want 0",
		  x->skel->rodata->pass_neigh);
	err = xt_xsk_open(x);
	if (err) {
		xm_tg_fail(&g, "AF_XDP socket for the xsks map: %s",
			   strerror(-err));
		goto out;
	}
	/* a fresh program: every counter starts at zero */
	xt_check_dev(x, &g, "fresh");
out:
	xm_tg_end(&x->suite, &g);
	return err ? err : (g.nfail ? -EIO : 0);
}

int main(void)
{
	struct xt_ctx *x;
	int ret;

	x = calloc(1, sizeof(*x));
	if (!x) {
		printf("FAIL xdp_load: out of memory\n");
		return 1;
	}
	if (xt_open(x)) {
		xt_close(x);
		free(x);
		return 1;
	}
	xt_group_ethernet(x);
	xt_group_vlan(x);
	xt_group_ipv4_options(x);
	xt_group_ipv4_frag(x);
	xt_group_ipv6_ext(x);
	xt_group_l4(x);
	xt_group_prefix_v4(x);
	xt_group_prefix_v6(x);
	xt_group_ports(x);
	xt_group_proto_numbers(x);
	xt_group_priority(x);
	xt_group_match_all(x);
	xt_group_malformed(x);
	xt_group_malformed_proto(x);
	xt_group_padding_arp(x);
	xt_group_fields(x);
	xt_group_filter(x);
	xt_group_skip(x);
	xt_group_sample(x);
	xt_group_generation(x);
	xt_group_inactive_write(x);
	xt_group_meta(x);
	xt_group_neigh(x);
	ret = xm_tsuite_exit(&x->suite);
	xt_close(x);
	free(x);
	return ret;
}

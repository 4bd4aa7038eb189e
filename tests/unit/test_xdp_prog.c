// SPDX-License-Identifier: GPL-2.0
/*
 * test_xdp_prog - the appliance XDP program under BPF_PROG_TEST_RUN.
 *
 * The skeleton is loaded but attached nowhere.  Rules are written into
 * the rules map and published through ctl.rules_sel, then crafted frames
 * run through the program twice:
 *   pass A: no socket in xsks, so bpf_redirect_map falls back to XDP_PASS;
 *           a match counts xsk_missing and the frame comes back untouched;
 *   pass B: an AF_XDP socket (bound to the loopback of a private network
 *           namespace) sits in xsks[0]; a match returns XDP_REDIRECT and
 *           data_out starts with the xm_meta the program wrote (the kernel
 *           copies out from data_meta, and ctx_out.data is the meta length).
 * Every frame is also parsed and classified by the user-space build of the
 * same headers on the same table; both must pick the same rule, the meta
 * must carry the same flow hash, and dev_stats/rule_stats must equal the
 * counts this test predicts after every frame.
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
#include "xm_maps.h"
#include "mirror.skel.h"
#include "xm_test.h"

#define XT_MAX_TBL 32		/* rules in one test table */
#define XT_MAX_ID 64		/* rule ids used by the tests: 1..63 */
#define XT_UMEM_FRAMES 64
#define XT_FRAME_SIZE 4096
#define XT_META_LEN ((unsigned int)sizeof(struct xm_meta))
#define XT_OUT_MAX 4096
#define XT_NSTATS (sizeof(struct xm_dev_stats) / sizeof(__u64))

struct xt_ctx {
	struct mirror_bpf *skel;
	int prog_fd, rules_fd, ctl_fd, dev_fd, rstat_fd, xsks_fd;
	/* AF_XDP socket used only as an xsks map entry */
	void *umem_area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	/* the live table as published, and its generation */
	struct xm_rule tbl[XT_MAX_TBL];
	__u32 ntbl;
	__u32 live;
	__u32 rule_gen;
	/* the loaded program's pass_neigh (rodata) */
	bool pass_neigh;
	/* counters this test predicts */
	struct xm_dev_stats exp;
	__u64 exp_pkts[XT_MAX_ID];
	__u64 exp_bytes[XT_MAX_ID];
	struct xm_tsuite suite;
};

static void xt_use_skel(struct xt_ctx *x, struct mirror_bpf *skel);

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

/* Write t into slots [gen * XM_MAX_RULES, +n) without publishing. */
static int xt_write_table(struct xt_ctx *x, __u32 gen, const struct xm_rule *t,
			  __u32 n)
{
	__u32 i, slot;

	for (i = 0; i < n; i++) {
		slot = gen * XM_MAX_RULES + i;
		if (bpf_map_update_elem(x->rules_fd, &slot, &t[i], BPF_ANY))
			return -errno;
	}
	return 0;
}

static int xt_write_ctl(struct xt_ctx *x, __u32 sel)
{
	struct xm_ctl c = { .rules_sel = sel, .rule_gen = ++x->rule_gen };
	__u32 key = 0;

	if (bpf_map_update_elem(x->ctl_fd, &key, &c, BPF_ANY))
		return -errno;
	return 0;
}

/* Write t into the inactive generation and make it live. */
static int xt_publish(struct xt_ctx *x, struct xm_tgroup *g,
		      const struct xm_rule *t, __u32 n)
{
	__u32 gen = x->live ^ 1;
	__u32 i;
	int err;

	for (i = 0; i < n; i++) {
		if (!t[i].id || t[i].id >= XT_MAX_ID || n > XT_MAX_TBL) {
			xm_tg_fail(g, "test table entry %u is invalid", i);
			return -EINVAL;
		}
	}
	err = xt_write_table(x, gen, t, n);
	if (!err)
		err = xt_write_ctl(x, XM_SEL_MAKE(gen, n));
	if (err) {
		xm_tg_fail(g, "publishing %u rules: %s", n, strerror(-err));
		return err;
	}
	memcpy(x->tbl, t, n * sizeof(*t));
	x->ntbl = n;
	x->live = gen;
	return 0;
}

#define XT_PUBLISH(x, g, arr) xt_publish((x), (g), (arr), sizeof(arr) / sizeof((arr)[0]))

/* ---- counters --------------------------------------------------------- */

static const char *const xt_stat_names[] = {
	"rx", "rx_bytes", "matched", "matched_bytes", "not_matched",
	"passed", "malformed", "to_xsk", "xsk_missing", "meta_fail",
	"neigh_passed",
};

_Static_assert(sizeof(xt_stat_names) / sizeof(xt_stat_names[0]) == XT_NSTATS,
	       "xt_stat_names out of date with struct xm_dev_stats");

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
				   xt_stat_names[i], (unsigned long long)got[i],
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
	XM_EXPECT(g, s.matched == s.to_xsk + s.xsk_missing + s.meta_fail,
		  "matched %llu != to_xsk + xsk_missing + meta_fail",
		  (unsigned long long)s.matched);
	XM_EXPECT(g, s.passed == s.not_matched + s.xsk_missing + s.meta_fail,
		  "passed %llu != not_matched + xsk_missing + meta_fail",
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

struct xt_run {
	__u32 retval;
	__u32 out_len;
	__u32 meta_len;		/* ctx_out.data - ctx_out.data_meta */
	__u8 out[XT_OUT_MAX];
};

/* One BPF_PROG_TEST_RUN of frame (with premeta bytes of existing
 * metadata in front) on RX queue 0. */
static int xt_test_run(struct xt_ctx *x, const __u8 *frame, __u32 len,
		       __u32 premeta, struct xt_run *r)
{
	__u8 in[XT_OUT_MAX];
	struct xdp_md ci, co;
	int err;

	if (premeta + len > sizeof(in))
		return -E2BIG;
	memset(in, 0xee, premeta);
	memcpy(in + premeta, frame, len);
	memset(&ci, 0, sizeof(ci));
	memset(&co, 0, sizeof(co));
	ci.data = premeta;
	ci.data_end = premeta + len;

	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = premeta + len,
		.data_out = r->out,
		.data_size_out = sizeof(r->out),
		.ctx_in = &ci,
		.ctx_size_in = sizeof(ci),
		.ctx_out = &co,
		.ctx_size_out = sizeof(co),
		.repeat = 1,
	);
	err = bpf_prog_test_run_opts(x->prog_fd, &o);
	if (err)
		return -errno;
	r->retval = o.retval;
	r->out_len = o.data_size_out;
	r->meta_len = co.data - co.data_meta;
	return 0;
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

/* neigh: passed unclassified as ARP/ND (id is then 0). */
static void xt_count(struct xt_ctx *x, __u32 len, int mal, __u32 id,
		     bool xsk, bool meta_room, bool neigh)
{
	x->exp.rx++;
	x->exp.rx_bytes += len;
	x->exp.malformed += mal ? 1 : 0;
	if (!id) {
		x->exp.not_matched++;
		x->exp.neigh_passed += neigh ? 1 : 0;
		x->exp.passed++;
		return;
	}
	x->exp.matched++;
	x->exp.matched_bytes += len;
	x->exp_pkts[id]++;
	x->exp_bytes[id] += len;
	if (!meta_room) {
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
		      const __u8 *frame, __u32 len, int mal, __u32 id,
		      bool neigh)
{
	struct xt_run r;
	int err;

	err = xt_xsk_set(x, false);
	if (!err)
		err = xt_test_run(x, frame, len, 0, &r);
	if (err) {
		xm_tg_fail(g, "%s: test run: %s", name, strerror(-err));
		return;
	}
	xt_count(x, len, mal, id, false, true, neigh);
	XM_EXPECT(g, r.retval == XDP_PASS, "%s: no socket: retval %u, want XDP_PASS",
		  name, r.retval);
	XM_EXPECT(g, r.meta_len == 0 && r.out_len == len &&
		  !memcmp(r.out, frame, len),
		  "%s: no socket: frame not handed back unchanged (meta %u, len %u/%u)",
		  name, r.meta_len, r.out_len, len);
	xt_check_table_stats(x, g, name);
	xt_check_dev(x, g, name);
}

/* Pass B: socket present; a match is redirected with xm_meta in front. */
static void xt_pass_b(struct xt_ctx *x, struct xm_tgroup *g, const char *name,
		      const __u8 *frame, __u32 len, int mal, int idx,
		      __u32 hash, bool neigh)
{
	const struct xm_rule *rule = idx >= 0 ? &x->tbl[idx] : NULL;
	__u32 id = rule ? rule->id : 0;
	struct xm_meta m;
	struct xt_run r;
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
	xt_count(x, len, mal, id, true, true, neigh);
	if (!rule) {
		XM_EXPECT(g, r.retval == XDP_PASS && r.meta_len == 0 &&
			  r.out_len == len && !memcmp(r.out, frame, len),
			  "%s: unmatched with socket: retval %u meta %u len %u, want XDP_PASS, unchanged",
			  name, r.retval, r.meta_len, r.out_len);
	} else if (r.retval != XDP_REDIRECT || r.meta_len != XT_META_LEN ||
		   r.out_len != len + XT_META_LEN) {
		xm_tg_fail(g, "%s: with socket: retval %u meta %u len %u, want XDP_REDIRECT, %u, %u",
			   name, r.retval, r.meta_len, r.out_len, XT_META_LEN,
			   len + XT_META_LEN);
	} else {
		memcpy(&m, r.out, sizeof(m));
		XM_EXPECT(g, m.rule_id == id,
			  "%s: meta rule_id %u, user space picked %u", name,
			  m.rule_id, id);
		XM_EXPECT(g, m.coll_mask == rule->coll_mask,
			  "%s: meta coll_mask 0x%llx, want 0x%llx", name,
			  (unsigned long long)m.coll_mask,
			  (unsigned long long)rule->coll_mask);
		XM_EXPECT(g, m.flow_hash == hash,
			  "%s: meta flow_hash 0x%08x, user space 0x%08x", name,
			  m.flow_hash, hash);
		XM_EXPECT(g, m.magic == XM_META_MAGIC && m.orig_len == 0,
			  "%s: meta magic 0x%08x orig_len %u", name, m.magic,
			  m.orig_len);
		XM_EXPECT(g, !memcmp(r.out + XT_META_LEN, frame, len),
			  "%s: frame after meta changed", name);
	}
	xt_check_dev(x, g, name);
	xt_check_table_stats(x, g, name);
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
	struct xt_run r;
	bool skip;
	__u32 uid;
	int idx, err;

	if (fb->overflow) {
		xm_tg_fail(g, "%s: frame builder overflow", name);
		return;
	}
	memset(&f, 0, sizeof(f));
	xm_parse(fb->d, fb->d + fb->len, &f);
	idx = xm_classify_table(x->tbl, x->ntbl, &f);
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
	xt_pass_a(x, g, name, fb->d, fb->len, f.malformed, uid, skip);
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
static void xt_begin(struct xt_ctx *x, struct xm_tgroup *g, const char *name)
{
	struct xm_rule_stats rs;
	__u32 id;

	xm_tg_begin(g, name);
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
	__u32 ntbl, live, rule_gen;
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
	rule_gen = x->rule_gen;
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
	xt_use_skel(x, skel);
	x->live = 0;
	x->ntbl = 0;
	x->rule_gen = 0;
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
	mirror_bpf__destroy(skel);
	xt_use_skel(x, x->skel);
	memcpy(x->tbl, tbl, sizeof(tbl));
	x->ntbl = ntbl;
	x->live = live;
	x->rule_gen = rule_gen;
}

/* ---- generations ------------------------------------------------------ */

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
	};
	const struct xm_rule catch_all = xt_rule(40, 1);
	struct xm_tgroup g;
	struct xm_fb f80, f443, fudp;
	__u32 old;

	xt_v4_tcp(&f80, "11.0.0.1", V4D, 1, 80);
	xt_v4_tcp(&f443, "11.0.0.1", V4D, 1, 443);
	xt_v4_udp(&fudp, V4S, V4D, 1, 5);

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
	xt_frame(x, &g, "gen B :80", &f80, 33, 0);
	xt_frame(x, &g, "gen B :443", &f443, 31, 0);
	xt_frame(x, &g, "gen B udp", &fudp, 32, 0);

	/* Rules written to the inactive table are not live until the flip. */
	if (xt_write_table(x, x->live ^ 1, &catch_all, 1)) {
		xm_tg_fail(&g, "writing the inactive table");
		goto out;
	}
	xt_frame(x, &g, "inactive catch-all ignored", &f80, 33, 0);
	xm_fb_init(&f80);
	xm_fb_eth(&f80, 0x0806);
	xm_fb_bytes(&f80, 28, 0);
	xt_frame(x, &g, "arp, inactive catch-all", &f80, 0, 0);
	/* Entries beyond the live count are ignored too. */
	{
		__u32 slot = x->live * XM_MAX_RULES + x->ntbl;

		if (bpf_map_update_elem(x->rules_fd, &slot, &catch_all, BPF_ANY))
			xm_tg_fail(&g, "writing past the live count");
	}
	xt_frame(x, &g, "arp, catch-all past the count", &f80, 0, 0);
	/* Selecting the other table with count 1 makes it live at once. */
	if (xt_write_ctl(x, XM_SEL_MAKE(x->live ^ 1, 1))) {
		xm_tg_fail(&g, "flipping rules_sel");
		goto out;
	}
	x->live ^= 1;
	x->tbl[0] = catch_all;
	x->ntbl = 1;
	xt_frame(x, &g, "arp after flip", &f80, 40, 0);
	xt_frame(x, &g, "udp after flip", &fudp, 40, 0);
	/* Count 0: nothing matches. */
	if (xt_write_ctl(x, XM_SEL_MAKE(x->live, 0))) {
		xm_tg_fail(&g, "empty table");
		goto out;
	}
	x->ntbl = 0;
	xt_frame(x, &g, "empty table", &fudp, 0, 0);
out:
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
	struct xt_run r;
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
	xt_count(x, fb.len, 0, 12, true, false, false);
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
	xt_count(x, fb.len, 0, 12, true, true, false);
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

/* Point the test at skel's program and maps. */
static void xt_use_skel(struct xt_ctx *x, struct mirror_bpf *skel)
{
	x->prog_fd = bpf_program__fd(skel->progs.xm_xdp_mirror);
	x->rules_fd = bpf_map__fd(skel->maps.rules);
	x->ctl_fd = bpf_map__fd(skel->maps.ctl);
	x->dev_fd = bpf_map__fd(skel->maps.dev_stats);
	x->rstat_fd = bpf_map__fd(skel->maps.rule_stats);
	x->xsks_fd = bpf_map__fd(skel->maps.xsks);
	x->pass_neigh = skel->rodata->pass_neigh != 0;
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
	xt_use_skel(x, x->skel);
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
	xt_group_generation(x);
	xt_group_meta(x);
	xt_group_neigh(x);
	ret = xm_tsuite_exit(&x->suite);
	xt_close(x);
	free(x);
	return ret;
}

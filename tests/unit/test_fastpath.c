// SPDX-License-Identifier: GPL-2.0
/*
 * test_fastpath - the XDP fast path of xdp/mirror.bpf.c (xm_fast_send)
 * under BPF_PROG_TEST_RUN, against the AF_XDP workers' user-space code.
 *
 * The skeleton is loaded with fast_on = 1 and attached nowhere; the rule
 * table is published with xm_table_publish() as mirrorctl does.  For each
 * encapsulation over IPv4 and IPv6 the test writes the two collectors'
 * entries into the live half of the fast map exactly as the daemon builds
 * them (xm_tmpl_build, max_inner from the TX MTU, the collector's
 * snaplen, path XDP - or AFXDP for UDP over IPv6, whose checksum XDP does
 * not compute), runs frames through the program as received on lo, and
 * compares the output byte for byte with what a worker would send:
 * xm_tmpl_apply() with an xm_encap_pkt filled as datapath/worker.c fills
 * it (flow hash of the parsed frame, the sequence number the seqs map
 * held, the inner VLAN tag, xm_copy_cut's length and cut) followed by the
 * inner bytes.  Only the ERSPAN III timestamp differs by construction
 * (the worker reads the clock per batch): it is checked against
 * CLOCK_REALTIME instead.  Counters (fast_stats, dev_stats, seqs) must
 * move by exactly one copy per run; frames the fast path must not take
 * (two collectors, an AFXDP entry) must come back untouched as
 * xsk_missing, since no socket is bound.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "xm_types.h"
#include "xm_parse.h"
#include "xm_encap.h"
#include "xm_maps.h"
#include "xm_table.h"
#include "mirror.skel.h"
#include "xm_test.h"

#define FP_IFINDEX 1		/* lo: ingress device and TX device */
/* The TX MTU the entries are built for: a 1400-byte frame does not fit
 * with any header, so it is cut to max_inner (MTU + Ethernet is below a
 * UMEM frame, the daemon's other limit). */
#define FP_MTU 1400
#define FP_BIG 1400
#define FP_COLL1_SNAP 300
#define FP_RULE_SNAP 100
#define FP_NCOLL 2
#define FP_SEQ0 0xfffffffeull	/* collector 0's first sequence number:
				 * the 32-bit field wraps during the test */

/* Rule ids, one UDP destination port each. */
enum {
	FP_R_A = 1,		/* dport 6000 -> collector 0 */
	FP_R_B,			/* dport 6001, snaplen 100 -> collector 1 */
	FP_R_C,			/* dport 6002 -> collectors 0 and 1 */
	FP_R_D,			/* dport 6003 -> collector 1 (its snaplen) */
};

#define FP_PORT(rule) ((__u16)(6000 + (rule) - 1))

struct fp_ctx {
	struct mirror_bpf *skel;
	struct xm_table tb;
	bool tb_open;
	int prog_fd, dev_fd, fast_fd, fstat_fd, seqs_fd, txp_fd;
	/* the entries of the current case, as written to the live half */
	struct xm_tmpl_ent ent[FP_NCOLL];
	struct xm_tsuite suite;
};

struct fp_frame {
	const char *name;
	__u8 d[FP_BIG];
	__u32 len;
	__u16 rule_snap;	/* of the rule it matches */
};

#define FP_NCASES XM_T_NCASES

/* ---- frames ------------------------------------------------------------ */

static void fp_put16(__u8 *p, __u32 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* Ethernet (+ one 802.1Q tag when tci) / IPv4 / UDP to port dport, len
 * bytes in all, with a payload pattern that differs per frame. */
static int fp_frame(struct fp_frame *f, const char *name, __u16 dport,
		    __u16 tci, __u32 len, __u16 rule_snap)
{
	struct xm_fb fb;
	__u8 *ip;
	__u32 i;

	xm_fb_init(&fb);
	if (tci) {
		xm_fb_eth(&fb, 0x8100);
		xm_fb_vlan(&fb, tci, 0x0800);
	} else {
		xm_fb_eth(&fb, 0x0800);
	}
	xm_fb_ipv4(&fb, 17, "10.1.2.3", "10.9.8.7", 5, 0);
	xm_fb_udp(&fb, (__u16)(40000 + dport % 1000), dport);
	if (fb.overflow || len < fb.len || len > sizeof(f->d))
		return -EINVAL;
	/* the builder holds 1 KiB: the headers are copied out and their
	 * lengths and checksum filled in for the whole frame here */
	memcpy(f->d, fb.d, fb.len);
	for (i = fb.len; i < len; i++)
		f->d[i] = (__u8)(i * 7 + dport);
	ip = f->d + fb.l3_off;
	fp_put16(f->d + fb.l4_off + 4, len - fb.l4_off);
	fp_put16(ip + 2, len - fb.l3_off);
	fp_put16(ip + 10, xm_t_csum(ip, 20));
	f->name = name;
	f->len = len;
	f->rule_snap = rule_snap;
	return 0;
}

/* ---- counters ---------------------------------------------------------- */

#define FP_DEV_WORDS (sizeof(struct xm_dev_stats) / sizeof(__u64))
#define FP_COLL_WORDS (sizeof(struct xm_coll_stats) / sizeof(__u64))

struct fp_counts {
	struct xm_dev_stats dev;
	struct xm_coll_stats cs[FP_NCOLL];
	__u64 seq[FP_NCOLL];
};

static int fp_read(struct fp_ctx *x, struct fp_counts *c)
{
	struct xm_seq sq;
	__u32 id;
	int err;

	err = xm_percpu_sum(x->dev_fd, 0, (__u64 *)&c->dev, FP_DEV_WORDS);
	for (id = 0; !err && id < FP_NCOLL; id++) {
		err = xm_percpu_sum(x->fstat_fd, id, (__u64 *)&c->cs[id],
				    FP_COLL_WORDS);
		if (!err && bpf_map_lookup_elem(x->seqs_fd, &id, &sq))
			err = -errno;
		if (!err)
			c->seq[id] = sq.next;
	}
	return err;
}

/* Every dev_stats word but those named moved as want says. */
static void fp_check_dev(struct xm_tgroup *g, const char *what,
			 const struct xm_dev_stats *a,
			 const struct xm_dev_stats *b,
			 const struct xm_dev_stats *want)
{
	const __u64 *pa = (const __u64 *)a, *pb = (const __u64 *)b;
	const __u64 *pw = (const __u64 *)want;
	unsigned int i;

	for (i = 0; i < FP_DEV_WORDS; i++)
		XM_EXPECT(g, pb[i] - pa[i] == pw[i],
			  "%s: dev_stats.%s moved by %llu, want %llu", what,
			  xm_t_dev_stat_name(i),
			  (unsigned long long)(pb[i] - pa[i]),
			  (unsigned long long)pw[i]);
}

static void fp_check_coll(struct xm_tgroup *g, const char *what, __u32 id,
			  const struct xm_coll_stats *a,
			  const struct xm_coll_stats *b,
			  const struct xm_coll_stats *want)
{
	const __u64 *pa = (const __u64 *)a, *pb = (const __u64 *)b;
	const __u64 *pw = (const __u64 *)want;
	static const char *const names[] = {
		"sent", "sent_bytes", "drop_no_neigh", "drop_tx_full",
		"drop_no_frame", "drop_no_collector", "truncated_snap",
		"truncated_mtu",
	};
	unsigned int i;

	_Static_assert(sizeof(names) / sizeof(names[0]) == FP_COLL_WORDS,
		       "names out of date with struct xm_coll_stats");
	for (i = 0; i < FP_COLL_WORDS; i++)
		XM_EXPECT(g, pb[i] - pa[i] == pw[i],
			  "%s: fast_stats[%u].%s moved by %llu, want %llu",
			  what, id, names[i],
			  (unsigned long long)(pb[i] - pa[i]),
			  (unsigned long long)pw[i]);
}

/* ---- the fast map ------------------------------------------------------ */

/*
 * Collector id's entry as datapath/daemon.c builds it (xm_coll_tmpl,
 * xm_coll_fast) for a TX device of MTU FP_MTU that takes redirects
 * (path XDP) or is the RX device (XDP_TX).
 */
static void fp_entry(const struct xm_t_encap_case *c, int family, __u32 id,
		     bool xdp_tx, struct xm_tmpl_ent *e)
{
	struct xm_encap_params p;
	__u32 room = FP_MTU + XM_ETH_HLEN;

	memset(e, 0, sizeof(*e));
	xm_t_coll_params(c, family, id, &p);
	xm_tmpl_build(&e->t, &p);
	e->max_inner = (__u16)(room - e->t.len);
	e->snaplen = id ? FP_COLL1_SNAP : 0;
	e->state = XM_TE_READY;
	if (e->t.flags & XM_TMPL_F_UDP_CSUM) {
		e->path = XM_PATH_AFXDP;
		e->why_slow = XM_SLOW_UDP6_CSUM;
	} else {
		e->path = xdp_tx ? XM_PATH_XDP_TX : XM_PATH_XDP;
	}
}

/* Write both entries into the half sel and make it live, as
 * xm_fast_publish does (the other half keeps the previous case's
 * entries: reading it would show up as wrong bytes). */
static int fp_publish(struct fp_ctx *x, __u32 sel)
{
	__u32 id, key;

	for (id = 0; id < FP_NCOLL; id++) {
		key = sel * XM_MAX_COLLECTORS + id;
		if (bpf_map_update_elem(x->fast_fd, &key, &x->ent[id], BPF_ANY))
			return -errno;
	}
	__atomic_store_n(&x->tb.ctl->fast_sel, sel, __ATOMIC_RELEASE);
	return 0;
}

/* ---- one frame --------------------------------------------------------- */

/* The first few differing bytes, for the failure message. */
static void fp_diff(char *s, size_t n, const __u8 *got, const __u8 *want,
		    __u32 len, __u32 skip_lo, __u32 skip_hi)
{
	size_t used = 0;
	__u32 i, shown = 0;

	s[0] = '\0';
	for (i = 0; i < len && shown < 6; i++) {
		if ((i >= skip_lo && i < skip_hi) || got[i] == want[i])
			continue;
		used += (size_t)snprintf(s + used, n - used,
					 "%s[%u] %02x want %02x",
					 shown ? ", " : "", i, got[i], want[i]);
		if (used >= n)
			break;
		shown++;
	}
}

/*
 * Run frame f, which matches a rule with the single collector id: the
 * output must be what a worker sends, and every counter must move by one
 * copy.  what names the check in failures.
 */
static void fp_fast_frame(struct fp_ctx *x, struct xm_tgroup *g,
			  const char *what, const struct fp_frame *f, __u32 id)
{
	const struct xm_tmpl_ent *e = &x->ent[id];
	__u32 tlen = e->t.len, n, ts_lo = 0, ts_hi = 0, t0 = 0, t1 = 0;
	__u32 got_ts;
	struct xm_coll_stats wcs[FP_NCOLL];
	struct fp_counts a, b;
	struct xm_dev_stats wd;
	struct xm_encap_pkt p;
	struct xm_t_run r;
	struct xm_flow fl;
	__u8 want[XM_T_RUN_MAX];
	char diff[160];
	__u8 cut;
	int err;

	err = fp_read(x, &a);
	if (!err) {
		t0 = xm_t_clock_100ns(CLOCK_REALTIME);
		err = xm_t_xdp_run(x->prog_fd, FP_IFINDEX, f->d, f->len, 0, 1,
				   &r);
		t1 = xm_t_clock_100ns(CLOCK_REALTIME);
	}
	if (!err)
		err = fp_read(x, &b);
	if (err) {
		xm_tg_fail(g, "%s: %s", what, strerror(-err));
		return;
	}

	/* the worker's view: datapath/worker.c xm_worker_frame,
	 * xm_copy_len, xm_copy_pkt */
	memset(&fl, 0, sizeof(fl));
	xm_parse(f->d, f->d + f->len, &fl);
	fl.dir = XM_DIR_IN;
	fl.ifindex = FP_IFINDEX;
	memset(&p, 0, sizeof(p));
	p.hash = xm_flow_hash(&fl);
	p.egress = 0;
	p.tagged = (__u8)xm_encap_inner_vlan(f->d, f->len, &p.vlan_tci);
	n = xm_copy_cut(f->len, 0, e->max_inner, f->rule_snap, e->snaplen,
			&cut);
	p.len = n;
	p.truncated = cut != XM_CUT_NONE;
	if (e->t.seq_off)
		p.seq = (__u32)a.seq[id];
	if (e->t.ers_ver == XM_ERSPAN_VER_III) {
		ts_lo = e->t.ers_off + 4u;
		ts_hi = ts_lo + 4u;
		/* the stamp is compared with the clock below */
		p.tstamp = r.out_len >= ts_hi ? xm_t_be32(r.out + ts_lo) : 0;
	}
	xm_tmpl_apply(want, &e->t, &p);
	memcpy(want + tlen, f->d, n);

	XM_EXPECT(g, r.retval == (e->path == XM_PATH_XDP_TX ? XDP_TX :
							       XDP_REDIRECT),
		  "%s: retval %u, want %s", what, r.retval,
		  e->path == XM_PATH_XDP_TX ? "XDP_TX" : "XDP_REDIRECT");
	if (r.out_len != tlen + n || r.meta_len) {
		xm_tg_fail(g, "%s: %u bytes out (meta %u), want %u header + %u inner",
			   what, r.out_len, r.meta_len, tlen, n);
	} else if (memcmp(r.out, want, ts_lo ? ts_lo : tlen + n) ||
		   memcmp(r.out + ts_hi, want + ts_hi, tlen + n - ts_hi)) {
		fp_diff(diff, sizeof(diff), r.out, want, tlen + n, ts_lo,
			ts_hi);
		xm_tg_fail(g, "%s: bytes differ from xm_tmpl_apply (header %u): %s",
			   what, tlen, diff);
	}
	if (ts_lo && r.out_len >= ts_hi) {
		got_ts = xm_t_be32(r.out + ts_lo);
		/* modulo 2^32: the field wraps every 7 minutes */
		XM_EXPECT(g, (__s32)(got_ts - t0) >= -10000000 &&
			  (__s32)(t1 - got_ts) >= -10000000,
			  "%s: ERSPAN III timestamp %u not within 1 s of CLOCK_REALTIME [%u, %u]",
			  what, got_ts, t0, t1);
	}

	memset(&wd, 0, sizeof(wd));
	wd.rx = 1;
	wd.rx_bytes = f->len;
	wd.matched = 1;
	wd.matched_bytes = f->len;
	wd.to_fast = 1;
	fp_check_dev(g, what, &a.dev, &b.dev, &wd);
	memset(wcs, 0, sizeof(wcs));
	wcs[id].sent = 1;
	wcs[id].sent_bytes = tlen + n;
	wcs[id].truncated_snap = cut == XM_CUT_SNAP;
	wcs[id].truncated_mtu = cut == XM_CUT_MTU;
	fp_check_coll(g, what, 0, &a.cs[0], &b.cs[0], &wcs[0]);
	fp_check_coll(g, what, 1, &a.cs[1], &b.cs[1], &wcs[1]);
	XM_EXPECT(g, b.seq[id] - a.seq[id] == (e->t.seq_off ? 1u : 0u) &&
		  b.seq[id ^ 1] == a.seq[id ^ 1],
		  "%s: seqs[%u] moved by %llu, seqs[%u] by %llu, want %u and 0",
		  what, id, (unsigned long long)(b.seq[id] - a.seq[id]),
		  id ^ 1, (unsigned long long)(b.seq[id ^ 1] - a.seq[id ^ 1]),
		  e->t.seq_off ? 1 : 0);
}

/* Run frame f, which the fast path must leave to AF_XDP: with no socket
 * it comes back untouched, counted xsk_missing, and no fast-path counter
 * or sequence number moves. */
static void fp_slow_frame(struct fp_ctx *x, struct xm_tgroup *g,
			  const char *what, const struct fp_frame *f)
{
	struct xm_coll_stats wcs;
	struct fp_counts a, b;
	struct xm_dev_stats wd;
	struct xm_t_run r;
	int err;

	err = fp_read(x, &a);
	if (!err)
		err = xm_t_xdp_run(x->prog_fd, FP_IFINDEX, f->d, f->len, 0, 1,
				   &r);
	if (!err)
		err = fp_read(x, &b);
	if (err) {
		xm_tg_fail(g, "%s: %s", what, strerror(-err));
		return;
	}
	XM_EXPECT(g, r.retval == XDP_PASS && !r.meta_len &&
		  r.out_len == f->len && !memcmp(r.out, f->d, f->len),
		  "%s: retval %u, %u bytes (meta %u): want XDP_PASS and the frame unchanged",
		  what, r.retval, r.out_len, r.meta_len);
	memset(&wd, 0, sizeof(wd));
	wd.rx = 1;
	wd.rx_bytes = f->len;
	wd.matched = 1;
	wd.matched_bytes = f->len;
	wd.xsk_missing = 1;
	wd.passed = 1;
	fp_check_dev(g, what, &a.dev, &b.dev, &wd);
	memset(&wcs, 0, sizeof(wcs));
	fp_check_coll(g, what, 0, &a.cs[0], &b.cs[0], &wcs);
	fp_check_coll(g, what, 1, &a.cs[1], &b.cs[1], &wcs);
	XM_EXPECT(g, a.seq[0] == b.seq[0] && a.seq[1] == b.seq[1],
		  "%s: a sequence number was taken", what);
}

/* ---- groups ------------------------------------------------------------ */

struct fp_frames {
	struct fp_frame small;	/* rule A */
	struct fp_frame vlan;	/* rule A, tagged */
	struct fp_frame big;	/* rule A, 1400 bytes: cut to max_inner */
	struct fp_frame snap;	/* rule B, 1400 bytes: cut to 100 */
	struct fp_frame snap_short; /* rule B, 90 bytes: not cut */
	struct fp_frame coll_snap; /* rule D, 1400 bytes: cut to 300 */
	struct fp_frame two;	/* rule C: two collectors */
};

static int fp_frames_build(struct fp_frames *fr)
{
	/* PCP 5, DEI 1, VID 0xabc: every ERSPAN VLAN/COS bit can go wrong */
	return fp_frame(&fr->small, "udp", FP_PORT(FP_R_A), 0, 74, 0) ||
	       fp_frame(&fr->vlan, "vlan", FP_PORT(FP_R_A), 0xbabc, 82, 0) ||
	       fp_frame(&fr->big, "1400 B (max_inner)", FP_PORT(FP_R_A), 0,
			FP_BIG, 0) ||
	       fp_frame(&fr->snap, "1400 B (rule snaplen)", FP_PORT(FP_R_B),
			0, FP_BIG, FP_RULE_SNAP) ||
	       fp_frame(&fr->snap_short, "90 B (rule snaplen)",
			FP_PORT(FP_R_B), 0, 90, FP_RULE_SNAP) ||
	       fp_frame(&fr->coll_snap, "1400 B (collector snaplen)",
			FP_PORT(FP_R_D), 0, FP_BIG, 0) ||
	       fp_frame(&fr->two, "two collectors", FP_PORT(FP_R_C), 0, 74,
			0);
}

/*
 * One encapsulation over one family: both entries live, every frame.
 * IPv4 sends collector 0 by redirect and collector 1 by XDP_TX, IPv6 the
 * other way round.  Runs twice, so sequence numbers move on.
 */
static void fp_group_case(struct fp_ctx *x, const struct xm_t_encap_case *c,
			  int family, __u32 sel, const struct fp_frames *fr)
{
	const struct fp_frame *one[] = { &fr->small, &fr->vlan, &fr->big };
	const struct fp_frame *other[] = { &fr->snap, &fr->snap_short,
					   &fr->coll_snap };
	char name[64], what[160];
	struct xm_tgroup g;
	unsigned int i, round;
	bool slow;
	int err;

	snprintf(name, sizeof(name), "fast_%s_ipv%d", c->name, family);
	xm_tg_begin(&g, name);
	fp_entry(c, family, 0, family == 6, &x->ent[0]);
	fp_entry(c, family, 1, family == 4, &x->ent[1]);
	err = fp_publish(x, sel);
	if (err) {
		xm_tg_fail(&g, "writing the fast map: %s", strerror(-err));
		goto out;
	}
	slow = x->ent[0].path == XM_PATH_AFXDP;
	XM_EXPECT(&g, slow == (family == 6 && xm_encap_is_udp(c->encap)),
		  "the daemon's choice gives path %u for template flags 0x%x",
		  x->ent[0].path, x->ent[0].t.flags);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 3; i++) {
			snprintf(what, sizeof(what), "%s, collector 0, round %u",
				 one[i]->name, round);
			if (slow)
				fp_slow_frame(x, &g, what, one[i]);
			else
				fp_fast_frame(x, &g, what, one[i], 0);
			snprintf(what, sizeof(what), "%s, collector 1, round %u",
				 other[i]->name, round);
			if (slow)
				fp_slow_frame(x, &g, what, other[i]);
			else
				fp_fast_frame(x, &g, what, other[i], 1);
		}
		fp_slow_frame(x, &g, "two collectors", &fr->two);
	}
out:
	xm_tg_end(&x->suite, &g);
}

/*
 * Entries the fast path must not use: not READY (no neighbour yet, no
 * collector) or sent by AF_XDP (--datapath afxdp, a TX device without
 * ndo_xdp_xmit); fast_on off is the test of test_xdp_prog.  Each frame
 * must come back untouched as xsk_missing.
 */
static void fp_group_not_fast(struct fp_ctx *x, const struct fp_frames *fr,
			      __u32 *sel)
{
	static const struct {
		const char *what;
		__u8 state, path, why;
	} bad[] = {
		{ "state NO_NEIGH", XM_TE_NO_NEIGH, XM_PATH_XDP, 0 },
		{ "state EMPTY", XM_TE_EMPTY, XM_PATH_XDP, 0 },
		{ "path AFXDP (asked)", XM_TE_READY, XM_PATH_AFXDP,
		  XM_SLOW_ASKED },
		{ "path AFXDP (no xmit)", XM_TE_READY, XM_PATH_AFXDP,
		  XM_SLOW_NO_XMIT },
	};
	struct xm_tgroup g;
	unsigned int i;
	int err;

	xm_tg_begin(&g, "fast_not_taken");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fp_entry(&xm_t_encap_cases[0], 4, 0, false, &x->ent[0]);
		fp_entry(&xm_t_encap_cases[0], 4, 1, false, &x->ent[1]);
		x->ent[0].state = x->ent[1].state = bad[i].state;
		x->ent[0].path = x->ent[1].path = bad[i].path;
		x->ent[0].why_slow = x->ent[1].why_slow = bad[i].why;
		*sel ^= 1;
		err = fp_publish(x, *sel);
		if (err) {
			xm_tg_fail(&g, "writing the fast map: %s",
				   strerror(-err));
			break;
		}
		fp_slow_frame(x, &g, bad[i].what, &fr->small);
		fp_slow_frame(x, &g, bad[i].what, &fr->coll_snap);
	}
	xm_tg_end(&x->suite, &g);
}

/* The counting identity of include/xm_types.h over everything run. */
static void fp_group_identity(struct fp_ctx *x)
{
	struct xm_tgroup g;
	struct fp_counts c;
	int err;

	xm_tg_begin(&g, "fast_identity");
	err = fp_read(x, &c);
	if (err) {
		xm_tg_fail(&g, "reading counters: %s", strerror(-err));
	} else {
		XM_EXPECT(&g, c.dev.matched == c.dev.skipped +
			  c.dev.sampled_out + c.dev.to_xsk + c.dev.to_fast +
			  c.dev.xsk_missing + c.dev.meta_fail,
			  "matched %llu != skipped + sampled_out + to_xsk + to_fast %llu + xsk_missing %llu + meta_fail",
			  (unsigned long long)c.dev.matched,
			  (unsigned long long)c.dev.to_fast,
			  (unsigned long long)c.dev.xsk_missing);
		XM_EXPECT(&g, c.dev.rx == c.dev.matched + c.dev.not_matched,
			  "rx %llu != matched + not_matched",
			  (unsigned long long)c.dev.rx);
		XM_EXPECT(&g, c.cs[0].sent + c.cs[1].sent == c.dev.to_fast,
			  "fast_stats sent %llu + %llu != to_fast %llu",
			  (unsigned long long)c.cs[0].sent,
			  (unsigned long long)c.cs[1].sent,
			  (unsigned long long)c.dev.to_fast);
		printf("# %llu frames, %llu through the fast path\n",
		       (unsigned long long)c.dev.rx,
		       (unsigned long long)c.dev.to_fast);
	}
	xm_tg_end(&x->suite, &g);
}

/* ---- setup ------------------------------------------------------------- */

static int fp_rules(struct fp_ctx *x)
{
	struct xm_rule t[4];
	__u32 i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < 4; i++) {
		t[i].id = FP_R_A + i;
		t[i].prio = 10 * (i + 1);
		t[i].fields = XM_F_PROTO | XM_F_DPORT;
		t[i].proto = 17;
		t[i].dport_lo = t[i].dport_hi = FP_PORT(FP_R_A + i);
	}
	t[FP_R_A - 1].coll_mask = 1ull << 0;
	t[FP_R_B - 1].coll_mask = 1ull << 1;
	t[FP_R_B - 1].snaplen = FP_RULE_SNAP;
	t[FP_R_C - 1].coll_mask = 1ull << 0 | 1ull << 1;
	t[FP_R_D - 1].coll_mask = 1ull << 1;
	return xm_table_publish(&x->tb, t, 4);
}

static int fp_open(struct fp_ctx *x)
{
	struct timespec rt, mono;
	struct xm_tgroup g;
	struct xm_maps m;
	struct xm_seq sq;
	__u32 key = 0, ifindex = FP_IFINDEX;
	int err = 0;

	xm_tg_begin(&g, "fast_load");
	x->skel = mirror_bpf__open();
	if (!x->skel) {
		err = -errno;
		xm_tg_fail(&g, "mirror_bpf__open: %s", strerror(-err));
		goto out;
	}
	x->skel->rodata->fast_on = 1;
	err = mirror_bpf__load(x->skel);
	if (err) {
		xm_tg_fail(&g, "mirror_bpf__load with fast_on: %s",
			   strerror(-err));
		goto out;
	}
	x->prog_fd = bpf_program__fd(x->skel->progs.xm_xdp_mirror);
	x->dev_fd = bpf_map__fd(x->skel->maps.dev_stats);
	x->fast_fd = bpf_map__fd(x->skel->maps.fast);
	x->fstat_fd = bpf_map__fd(x->skel->maps.fast_stats);
	x->seqs_fd = bpf_map__fd(x->skel->maps.seqs);
	x->txp_fd = bpf_map__fd(x->skel->maps.tx_ports);
	xm_t_skel_table_maps(x->skel, &m);
	if (xm_table_open(&x->tb, &m)) {
		err = -errno ? -errno : -EIO;
		xm_tg_fail(&g, "xm_table_open: %s", strerror(-err));
		goto out;
	}
	x->tb_open = true;
	err = fp_rules(x);
	if (err) {
		xm_tg_fail(&g, "publishing the rules: %s", strerror(-err));
		goto out;
	}
	if (bpf_map_update_elem(x->txp_fd, &key, &ifindex, BPF_ANY)) {
		err = -errno;
		xm_tg_fail(&g, "tx_ports[0] = lo: %s", strerror(-err));
		goto out;
	}
	memset(&sq, 0, sizeof(sq));
	sq.next = FP_SEQ0;
	if (bpf_map_update_elem(x->seqs_fd, &key, &sq, BPF_ANY)) {
		err = -errno;
		xm_tg_fail(&g, "seqs[0]: %s", strerror(-err));
		goto out;
	}
	/* the daemon's xm_daemon_clock: ERSPAN III stamps in XDP take
	 * CLOCK_MONOTONIC plus this */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	x->tb.ctl->rt_off_ns = ((__s64)rt.tv_sec - mono.tv_sec) * 1000000000LL +
			       (rt.tv_nsec - mono.tv_nsec);
out:
	xm_tg_end(&x->suite, &g);
	return err ? err : (g.nfail ? -EIO : 0);
}

static void fp_close(struct fp_ctx *x)
{
	if (x->tb_open)
		xm_table_close(&x->tb);
	mirror_bpf__destroy(x->skel);
}

int main(void)
{
	struct fp_frames *fr;
	struct fp_ctx *x;
	__u32 sel = 0;
	unsigned int i;
	int family, ret = 1;

	x = calloc(1, sizeof(*x));
	fr = calloc(1, sizeof(*fr));
	if (!x || !fr || fp_frames_build(fr)) {
		printf("FAIL fast_load: out of memory or bad test frame\n");
		goto out;
	}
	if (fp_open(x))
		goto out;
	for (family = 4; family <= 6; family += 2) {
		for (i = 0; i < FP_NCASES; i++) {
			/* alternate halves: a run reading the idle one
			 * gets the previous case's template */
			sel ^= 1;
			fp_group_case(x, &xm_t_encap_cases[i], family, sel, fr);
		}
	}
	fp_group_not_fast(x, fr, &sel);
	fp_group_identity(x);
	ret = xm_tsuite_exit(&x->suite);
out:
	if (x)
		fp_close(x);
	free(x);
	free(fr);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * test_kpath - host mode's kernel path (xdp/host.bpf.c, xm_host_tc_kpath)
 * under BPF_PROG_TEST_RUN, against the user-space template code.
 *
 * The host skeleton is loaded with kpath_on and attached nowhere.  For
 * each encapsulation over IPv4 and IPv6, and a host frame of each family
 * (IPv4 and IPv6 TCP), collector 1's entry is written
 * into the live half of the fast map as the daemon builds it in host mode
 * (xm_tmpl_build, path TC; AFXDP for UDP over IPv6), and a clone is run
 * through the program with the mark the NIC's program gives it, in each
 * direction.  The output must be what a worker would send for the same
 * frame: xm_tmpl_apply() with the flow hash of the parsed frame, the
 * sequence number the seqs map held and the direction, followed by the
 * frame unchanged; its mark XM_MARK_COPY; the verdict TC_ACT_REDIRECT;
 * and the counters (host k_rx, k_sent, fast_stats, seqs) must move by one
 * copy.  The ERSPAN III timestamp is checked against CLOCK_MONOTONIC (the
 * daemon's realtime offset is 0 here).  An entry not on the kernel path
 * must leave the clone untouched for the AF_XDP path (k_fallback,
 * clone_segs), a mark that is not a kernel-path clone's is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "xm_types.h"
#include "xm_parse.h"
#include "xm_encap.h"
#include "xm_maps.h"
#include "host.skel.h"
#include "xm_test.h"

#define KP_COLL 1		/* the collector id under test */
#define KP_MTU 1500
#define KP_LEN 200		/* bytes of the test frame */
#define KP_SEQ0 0xfffffffeull	/* the 32-bit field wraps in the test */
#define KP_NIC 1
#define KP_IN_IF 2		/* in_ifindex, out_ifindex: only their */
#define KP_OUT_IF 3		/* values matter, nothing is sent */
#define KP_OUT_MAX 512

struct kp_ctx {
	struct host_bpf *skel;
	int prog_fd, dev_fd, fast_fd, fstat_fd, seqs_fd;
	struct xm_tmpl_ent ent;
	__u8 frame[KP_LEN];
	struct xm_tsuite suite;
};

struct kp_counts {
	struct xm_dev_stats dev;
	struct xm_coll_stats cs;
	__u64 seq;
};

struct kp_run {
	__u8 out[KP_OUT_MAX];
	__u32 out_len;
	__u32 retval;
	__u32 mark;
};

#define KP_DEV_WORDS (sizeof(struct xm_dev_stats) / sizeof(__u64))
#define KP_COLL_WORDS (sizeof(struct xm_coll_stats) / sizeof(__u64))

static int kp_read(const struct kp_ctx *x, struct kp_counts *c)
{
	__u32 id = KP_COLL;
	struct xm_seq sq;
	int err;

	err = xm_percpu_sum(x->dev_fd, 0, (__u64 *)&c->dev, KP_DEV_WORDS);
	if (!err)
		err = xm_percpu_sum(x->fstat_fd, id, (__u64 *)&c->cs,
				    KP_COLL_WORDS);
	if (!err && bpf_map_lookup_elem(x->seqs_fd, &id, &sq))
		err = -errno;
	if (!err)
		c->seq = sq.next;
	return err;
}

/* One clone with mark through the program. */
static int kp_run(const struct kp_ctx *x, __u32 mark, struct kp_run *r)
{
	struct __sk_buff ci, co;
	int err;

	memset(&ci, 0, sizeof(ci));
	memset(&co, 0, sizeof(co));
	ci.mark = mark;
	err = xm_t_prog_run(x->prog_fd, x->frame, sizeof(x->frame), &ci, &co,
			    sizeof(ci), r->out, sizeof(r->out), 1, &r->retval,
			    &r->out_len);
	r->mark = co.mark;
	return err;
}

/* Ethernet / IPv4 or IPv6 (inner: 4 or 6) / TCP, KP_LEN bytes with a
 * payload pattern: the host's own frame, cloned. */
static int kp_frame(struct kp_ctx *x, int inner)
{
	struct xm_fb fb;
	__u32 i;

	xm_fb_init(&fb);
	if (inner == 4) {
		xm_fb_eth(&fb, 0x0800);
		xm_fb_ipv4(&fb, 6, "10.77.0.1", "10.77.0.2", 5, 0x4000);
	} else {
		xm_fb_eth(&fb, 0x86dd);
		xm_fb_ipv6(&fb, 6, "2001:db8:77::1", "2001:db8:77::2");
	}
	xm_fb_tcp(&fb, 43210, 9091, 0x18);
	for (i = fb.len; i < KP_LEN; i++)
		fb.d[fb.len++] = (__u8)(i * 13);
	xm_fb_finish(&fb);
	if (fb.overflow || fb.len != KP_LEN)
		return -EINVAL;
	memcpy(x->frame, fb.d, KP_LEN);
	return 0;
}

/* Collector KP_COLL's entry as datapath/daemon.c builds it in host mode
 * (xm_coll_tmpl, xm_coll_fast), written to half 0, which is live. */
static int kp_entry(struct kp_ctx *x, const struct xm_t_encap_case *c,
		    int family)
{
	struct xm_encap_params p;
	__u32 key = KP_COLL;

	memset(&x->ent, 0, sizeof(x->ent));
	xm_t_coll_params(c, family, KP_COLL, &p);
	p.dir_opt = 1;		/* host mode's GENEVE direction option */
	xm_tmpl_build(&x->ent.t, &p);
	x->ent.max_inner = (__u16)(KP_MTU + XM_ETH_HLEN - x->ent.t.len);
	x->ent.state = XM_TE_READY;
	if (x->ent.t.flags & XM_TMPL_F_UDP_CSUM) {
		x->ent.path = XM_PATH_AFXDP;
		x->ent.why_slow = XM_SLOW_UDP6_CSUM;
	} else {
		x->ent.path = XM_PATH_TC;
	}
	if (bpf_map_update_elem(x->fast_fd, &key, &x->ent, BPF_ANY))
		return -errno;
	return 0;
}

/* A host counter of direction d, by its place in the struct. */
static __u64 kp_host(const struct kp_counts *c, unsigned int d, size_t off)
{
	return *(const __u64 *)((const __u8 *)&c->dev.host[d] + off);
}

#define KP_MOVED(a, b, d, field)                                           \
	(kp_host(b, d, offsetof(struct xm_host_dir_stats, field)) -        \
	 kp_host(a, d, offsetof(struct xm_host_dir_stats, field)))

/* A clone of direction d the kernel path must encapsulate. */
static void kp_encap(struct kp_ctx *x, struct xm_tgroup *g, const char *what,
		     unsigned int d)
{
	const struct xm_tmpl_ent *e = &x->ent;
	__u32 tlen = e->t.len, ts_lo = 0, ts_hi = 0, t0, t1, got;
	struct xm_encap_pkt p;
	struct kp_counts a, b;
	struct xm_flow fl;
	struct kp_run r;
	__u8 want[KP_OUT_MAX];
	int err;

	err = kp_read(x, &a);
	t0 = xm_t_clock_100ns(CLOCK_MONOTONIC);
	if (!err)
		err = kp_run(x, XM_MARK_KPATH | d << 8 | KP_COLL, &r);
	t1 = xm_t_clock_100ns(CLOCK_MONOTONIC);
	if (!err)
		err = kp_read(x, &b);
	if (err) {
		xm_tg_fail(g, "%s: %s", what, strerror(-err));
		return;
	}

	/* what a worker sends for this frame (datapath/worker.c) */
	memset(&fl, 0, sizeof(fl));
	xm_parse(x->frame, x->frame + KP_LEN, &fl);
	memset(&p, 0, sizeof(p));
	p.hash = xm_flow_hash(&fl);
	p.len = KP_LEN;
	p.egress = d == XM_HOST_OUT;
	if (e->t.seq_off)
		p.seq = (__u32)a.seq;
	if (e->t.ers_ver == XM_ERSPAN_VER_III) {
		ts_lo = e->t.ers_off + 4u;
		ts_hi = ts_lo + 4u;
		p.tstamp = r.out_len >= ts_hi ? xm_t_be32(r.out + ts_lo) : 0;
	}
	xm_tmpl_apply(want, &e->t, &p);
	memcpy(want + tlen, x->frame, KP_LEN);

	XM_EXPECT(g, r.retval == TC_ACT_REDIRECT, "%s: verdict %u, want TC_ACT_REDIRECT",
		  what, r.retval);
	XM_EXPECT(g, r.mark == XM_MARK_COPY, "%s: mark 0x%x, want XM_MARK_COPY",
		  what, r.mark);
	if (r.out_len != tlen + KP_LEN)
		xm_tg_fail(g, "%s: %u bytes out, want %u header + %u frame", what,
			   r.out_len, tlen, KP_LEN);
	else
		XM_EXPECT(g, !memcmp(r.out, want, ts_lo ? ts_lo : tlen + KP_LEN) &&
			  !memcmp(r.out + ts_hi, want + ts_hi, tlen + KP_LEN - ts_hi),
			  "%s: bytes differ from xm_tmpl_apply + the frame", what);
	if (ts_lo && r.out_len >= ts_hi) {
		got = xm_t_be32(r.out + ts_lo);
		XM_EXPECT(g, (__s32)(got - t0) >= 0 && (__s32)(t1 - got) >= 0,
			  "%s: ERSPAN III timestamp %u not in [%u, %u]", what, got,
			  t0, t1);
	}
	XM_EXPECT(g, KP_MOVED(&a, &b, d, k_rx) == 1 &&
		  KP_MOVED(&a, &b, d, k_sent) == 1 &&
		  KP_MOVED(&a, &b, d, k_fallback) == 0 &&
		  KP_MOVED(&a, &b, d, k_drop) == 0 &&
		  KP_MOVED(&a, &b, d, clone_segs) == 0,
		  "%s: host counters moved k_rx %llu k_sent %llu k_fallback %llu k_drop %llu clone_segs %llu, want 1 1 0 0 0",
		  what, (unsigned long long)KP_MOVED(&a, &b, d, k_rx),
		  (unsigned long long)KP_MOVED(&a, &b, d, k_sent),
		  (unsigned long long)KP_MOVED(&a, &b, d, k_fallback),
		  (unsigned long long)KP_MOVED(&a, &b, d, k_drop),
		  (unsigned long long)KP_MOVED(&a, &b, d, clone_segs));
	XM_EXPECT(g, b.cs.sent - a.cs.sent == 1 &&
		  b.cs.sent_bytes - a.cs.sent_bytes == tlen + KP_LEN,
		  "%s: fast_stats sent +%llu bytes +%llu, want 1 and %u", what,
		  (unsigned long long)(b.cs.sent - a.cs.sent),
		  (unsigned long long)(b.cs.sent_bytes - a.cs.sent_bytes),
		  tlen + KP_LEN);
	XM_EXPECT(g, b.seq - a.seq == (e->t.seq_off ? 1u : 0u),
		  "%s: seqs moved by %llu", what,
		  (unsigned long long)(b.seq - a.seq));
}

/* A clone the kernel path must hand on untouched (entry not on it). */
static void kp_fallback(struct kp_ctx *x, struct xm_tgroup *g,
			const char *what, unsigned int d)
{
	struct kp_counts a, b;
	struct kp_run r;
	int err;

	err = kp_read(x, &a);
	if (!err)
		err = kp_run(x, XM_MARK_KPATH | d << 8 | KP_COLL, &r);
	if (!err)
		err = kp_read(x, &b);
	if (err) {
		xm_tg_fail(g, "%s: %s", what, strerror(-err));
		return;
	}
	XM_EXPECT(g, r.retval == TC_ACT_REDIRECT && r.mark == 0 &&
		  r.out_len == KP_LEN && !memcmp(r.out, x->frame, KP_LEN),
		  "%s: verdict %u mark 0x%x, %u bytes out: want the clone unchanged, redirected",
		  what, r.retval, r.mark, r.out_len);
	XM_EXPECT(g, KP_MOVED(&a, &b, d, k_rx) == 1 &&
		  KP_MOVED(&a, &b, d, k_fallback) == 1 &&
		  KP_MOVED(&a, &b, d, clone_segs) == 1 &&
		  KP_MOVED(&a, &b, d, k_sent) == 0 &&
		  b.cs.sent == a.cs.sent && b.seq == a.seq,
		  "%s: counters moved k_rx %llu k_fallback %llu clone_segs %llu k_sent %llu",
		  what, (unsigned long long)KP_MOVED(&a, &b, d, k_rx),
		  (unsigned long long)KP_MOVED(&a, &b, d, k_fallback),
		  (unsigned long long)KP_MOVED(&a, &b, d, clone_segs),
		  (unsigned long long)KP_MOVED(&a, &b, d, k_sent));
}

static void kp_group_case(struct kp_ctx *x, const struct xm_t_encap_case *c,
			  int family, int inner)
{
	static const char *const dirs[] = { "in", "out" };
	struct xm_tgroup g;
	char name[64], what[80];
	unsigned int d;
	int err;

	snprintf(name, sizeof(name), "kpath_%s_ipv%d_inner%d", c->name,
		 family, inner);
	xm_tg_begin(&g, name);
	err = kp_frame(x, inner);
	if (!err)
		err = kp_entry(x, c, family);
	if (err) {
		xm_tg_fail(&g, "frame or fast map: %s", strerror(-err));
	} else {
		for (d = XM_HOST_IN; d <= XM_HOST_OUT; d++) {
			snprintf(what, sizeof(what), "%s %s", name, dirs[d]);
			if (x->ent.path == XM_PATH_TC)
				kp_encap(x, &g, what, d);
			else
				kp_fallback(x, &g, what, d);
		}
	}
	xm_tg_end(&x->suite, &g);
}

/* A mark no kernel-path clone carries: dropped, nothing counted. */
static void kp_group_foreign(struct kp_ctx *x)
{
	struct kp_counts a, b;
	struct xm_tgroup g;
	struct kp_run r;
	int err;

	xm_tg_begin(&g, "kpath_foreign_mark");
	err = kp_read(x, &a);
	if (!err)
		err = kp_run(x, 0x1234, &r);
	if (!err)
		err = kp_read(x, &b);
	if (err)
		xm_tg_fail(&g, "%s", strerror(-err));
	else
		XM_EXPECT(&g, r.retval == TC_ACT_SHOT &&
			  !memcmp(&a.dev, &b.dev, sizeof(a.dev)),
			  "verdict %u (want TC_ACT_SHOT), counters moved: %d",
			  r.retval, !!memcmp(&a.dev, &b.dev, sizeof(a.dev)));
	xm_tg_end(&x->suite, &g);
}

static int kp_open(struct kp_ctx *x)
{
	__u32 id = KP_COLL;
	struct xm_seq sq = { .next = KP_SEQ0 };
	int err;

	x->skel = host_bpf__open();
	if (!x->skel)
		return -errno;
	x->skel->rodata->nic_ifindex = KP_NIC;
	x->skel->rodata->in_ifindex = KP_IN_IF;
	x->skel->rodata->out_ifindex = KP_OUT_IF;
	x->skel->rodata->kpath_on = 1;
	x->skel->rodata->k_ifindex = KP_NIC;
	err = host_bpf__load(x->skel);
	if (err)
		return err;
	x->prog_fd = bpf_program__fd(x->skel->progs.xm_host_tc_kpath);
	x->dev_fd = bpf_map__fd(x->skel->maps.dev_stats);
	x->fast_fd = bpf_map__fd(x->skel->maps.fast);
	x->fstat_fd = bpf_map__fd(x->skel->maps.fast_stats);
	x->seqs_fd = bpf_map__fd(x->skel->maps.seqs);
	if (bpf_map_update_elem(x->seqs_fd, &id, &sq, BPF_ANY))
		return -errno;
	return kp_frame(x, 4);
}

int main(void)
{
	static struct kp_ctx x;
	int err, family, inner;
	size_t i;

	err = kp_open(&x);
	if (err) {
		fprintf(stderr, "FAIL kpath_setup: loading the host program: %s\n",
			strerror(-err));
		host_bpf__destroy(x.skel);
		return 1;
	}
	for (inner = 4; inner <= 6; inner += 2)
		for (family = 4; family <= 6; family += 2)
			for (i = 0; i < XM_T_NCASES; i++)
				kp_group_case(&x, &xm_t_encap_cases[i], family,
					      inner);
	kp_frame(&x, 4);
	kp_group_foreign(&x);
	host_bpf__destroy(x.skel);
	return xm_tsuite_exit(&x.suite);
}

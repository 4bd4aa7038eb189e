// SPDX-License-Identifier: GPL-2.0
/*
 * test_host - host mode's pieces one by one:
 *   - the tc program (xdp/host.bpf.c) under BPF_PROG_TEST_RUN: per
 *     direction counters, the rules' direction field, pcap filters run on
 *     the skb (the skb variant of include/xm_cbpf.h, checked against the
 *     user-space interpreter), the loop guard for every kind of collector,
 *     and bpf_clone_redirect's outcome (cloned / clone_fail);
 *   - the XDP program of the private veth (xdp/host_xdp.bpf.c): metadata
 *     for ingress (to the socket) and egress (XDP_TX across the pair)
 *     clones, stale clones, and frames that come back with metadata;
 *   - the GENEVE direction option of the templates (include/xm_encap.h),
 *     IPv4 and IPv6 (UDP checksum over the option);
 *   - xm_parse_wire(): an skb's headers parsed when its payload is paged.
 * Runs in a private network namespace: its loopback device is where the
 * programs "receive" and where the tc program's clones go.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xm_types.h"
#include "xm_parse.h"
#include "xm_encap.h"
#include "xm_addr.h"
#include "xm_filter.h"
#include "xm_maps.h"
#include "xm_table.h"
#include "host.skel.h"
#include "host_xdp.skel.h"
#include "xm_test.h"

#define HT_LO 1			/* the loopback device: clones succeed */
#define HT_NODEV 999999		/* no such device: clones fail */
#define HT_OUT_MAX 2048
#define HT_FILTER_SLOT 3
#define HT_META_LEN ((__u32)sizeof(struct xm_meta))

/* TC_ACT_UNSPEC: the frame goes on, whatever the program saw. */
#define HT_TC_GO_ON (-1)

struct ht_ctx {
	struct host_bpf *tc;
	struct host_xdp_bpf *xdp_rx;	/* lo is xmr: ingress + socket */
	struct host_xdp_bpf *xdp_peer;	/* lo is xmt: egress, XDP_TX */
	struct xm_maps maps;
	struct xm_table tb;
	bool tb_open;
	struct xm_tsuite suite;
};

/* ---- set-up --------------------------------------------------------- */

static int ht_lo_up(void)
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		err = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			err = -errno;
	}
	close(fd);
	return err;
}

/* Share every map of obj with the tc object's, as the daemon does with
 * the appliance object's. */
static int ht_reuse(struct ht_ctx *x, struct bpf_object *obj)
{
	const struct bpf_map *src;
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map(m, obj) {
		if (bpf_map__is_internal(m))
			continue;
		src = bpf_object__find_map_by_name(x->tc->obj,
						   bpf_map__name(m));
		if (!src)
			return -ENOENT;
		err = bpf_map__reuse_fd(m, bpf_map__fd(src));
		if (err)
			return err;
	}
	return 0;
}

static struct host_xdp_bpf *ht_load_xdp(struct ht_ctx *x, __u32 peer)
{
	struct host_xdp_bpf *s = host_xdp_bpf__open();

	if (!s)
		return NULL;
	s->rodata->nic_ifindex = HT_LO;
	s->rodata->peer_ifindex = peer;
	if (ht_reuse(x, s->obj) || host_xdp_bpf__load(s)) {
		host_xdp_bpf__destroy(s);
		return NULL;
	}
	return s;
}

static int ht_open(struct ht_ctx *x)
{
	struct xm_tgroup g;
	struct xm_maps *m = &x->maps;
	int err = 0;

	xm_tg_begin(&g, "host_load");
	if (unshare(CLONE_NEWNET) || ht_lo_up()) {
		err = -errno;
		xm_tg_fail(&g, "private network namespace: %s", strerror(errno));
		goto out;
	}
	x->tc = host_bpf__open();
	if (!x->tc) {
		err = -errno;
		xm_tg_fail(&g, "host_bpf__open: %s", strerror(-err));
		goto out;
	}
	/* ingress clones go out of lo, egress ones nowhere */
	x->tc->rodata->nic_ifindex = HT_LO;
	x->tc->rodata->in_ifindex = HT_LO;
	x->tc->rodata->out_ifindex = HT_NODEV;
	err = host_bpf__load(x->tc);
	if (err) {
		xm_tg_fail(&g, "loading the tc programs: %s", strerror(-err));
		goto out;
	}
	/* lo as xmr<N> (its peer is elsewhere), then lo as xmt<N> */
	x->xdp_rx = ht_load_xdp(x, HT_NODEV);
	x->xdp_peer = ht_load_xdp(x, HT_LO);
	if (!x->xdp_rx || !x->xdp_peer) {
		err = -EIO;
		xm_tg_fail(&g, "loading the XDP program on the tc object's maps");
		goto out;
	}
	xm_maps_init(m);
	m->rules = bpf_map__fd(x->tc->maps.rules);
	m->ctl = bpf_map__fd(x->tc->maps.ctl);
	m->tuples = bpf_map__fd(x->tc->maps.tuples);
	m->resid = bpf_map__fd(x->tc->maps.resid);
	m->rule_hash = bpf_map__fd(x->tc->maps.rule_hash);
	m->filters = bpf_map__fd(x->tc->maps.filters);
	m->qsbr = bpf_map__fd(x->tc->maps.qsbr);
	m->dev_stats = bpf_map__fd(x->tc->maps.dev_stats);
	m->rule_stats = bpf_map__fd(x->tc->maps.rule_stats);
	m->collectors = bpf_map__fd(x->tc->maps.collectors);
	if (xm_table_open(&x->tb, m)) {
		err = -EIO;
		xm_tg_fail(&g, "xm_table_open: %s", strerror(errno));
		goto out;
	}
	x->tb_open = true;
out:
	xm_tg_end(&x->suite, &g);
	return err;
}

static void ht_close(struct ht_ctx *x)
{
	if (x->tb_open)
		xm_table_close(&x->tb);
	host_xdp_bpf__destroy(x->xdp_rx);
	host_xdp_bpf__destroy(x->xdp_peer);
	host_bpf__destroy(x->tc);
}

/* ---- rules, collectors, counters -------------------------------------- */

static struct xm_rule ht_rule(__u32 id, __u32 fields)
{
	struct xm_rule r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.prio = id;
	r.fields = fields;
	r.coll_mask = 1ull << id;
	return r;
}

static int ht_publish(struct ht_ctx *x, struct xm_tgroup *g,
		      const struct xm_rule *t, __u32 n)
{
	int err = xm_table_publish(&x->tb, t, n);

	if (err)
		xm_tg_fail(g, "publishing %u rules: %s", n, strerror(-err));
	return err;
}

static int ht_collector(struct ht_ctx *x, struct xm_tgroup *g, __u32 id,
			const char *name, __u8 encap, const char *remote,
			__u16 dport)
{
	struct xm_collector c;

	memset(&c, 0, sizeof(c));
	if (name) {
		snprintf(c.name, sizeof(c.name), "%s", name);
		c.encap = encap;
		c.dport = dport;
		if (xm_addr_parse(remote, c.remote, &c.family)) {
			xm_tg_fail(g, "bad test address %s", remote);
			return -EINVAL;
		}
	}
	if (bpf_map_update_elem(x->maps.collectors, &id, &c, BPF_ANY)) {
		xm_tg_fail(g, "collectors[%u]: %s", id, strerror(errno));
		return -errno;
	}
	return 0;
}

/* dev_stats summed over the CPUs; zeroed before each group. */
static int ht_stats(struct ht_ctx *x, struct xm_dev_stats *st)
{
	return xm_percpu_sum(x->maps.dev_stats, 0, (__u64 *)st,
			     sizeof(*st) / sizeof(__u64));
}

static void ht_stats_reset(struct ht_ctx *x)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = 0;
	void *zero = calloc((size_t)ncpu, sizeof(struct xm_dev_stats));

	if (zero) {
		bpf_map_update_elem(x->maps.dev_stats, &key, zero, BPF_ANY);
		free(zero);
	}
}

/* ---- frames ----------------------------------------------------------- */

static void ht_udp4(struct xm_fb *fb, const char *dst, __u16 dport)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0800);
	xm_fb_ipv4(fb, 17, "10.0.0.1", dst, 5, 0);
	xm_fb_udp(fb, 4000, dport);
	xm_fb_bytes(fb, 32, 0xab);
	xm_fb_finish(fb);
}

static void ht_udp6(struct xm_fb *fb, const char *dst, __u16 dport)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x86dd);
	xm_fb_ipv6(fb, 17, "fd00::1", dst);
	xm_fb_udp(fb, 4000, dport);
	xm_fb_bytes(fb, 32, 0xab);
	xm_fb_finish(fb);
}

static void ht_gre4(struct xm_fb *fb, const char *dst)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0800);
	xm_fb_ipv4(fb, 47, "10.0.0.1", dst, 5, 0);
	xm_fb_bytes(fb, 4, 0);
	xm_fb_put16(fb, fb->len - 2, 0x22eb);
	xm_fb_bytes(fb, 40, 0xcd);
	xm_fb_finish(fb);
}

static void ht_tcp4(struct xm_fb *fb, __u16 sport, __u16 dport)
{
	xm_fb_init(fb);
	xm_fb_eth(fb, 0x0800);
	xm_fb_ipv4(fb, 6, "10.0.0.1", "10.0.0.2", 5, 0);
	xm_fb_tcp(fb, sport, dport, 5);
	xm_fb_bytes(fb, 100, 0x11);
	xm_fb_finish(fb);
}

/* Run the tc program of direction d (XM_HOST_IN / XM_HOST_OUT). */
static int ht_tc(struct ht_ctx *x, struct xm_tgroup *g, int d,
		 const struct xm_fb *fb)
{
	struct bpf_program *p = d == XM_HOST_IN ? x->tc->progs.xm_host_tc_in :
						  x->tc->progs.xm_host_tc_out;
	__u8 out[HT_OUT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fb->d,
		    .data_size_in = fb->len, .data_out = out,
		    .data_size_out = sizeof(out));

	if (bpf_prog_test_run_opts(bpf_program__fd(p), &o)) {
		xm_tg_fail(g, "test run: %s", strerror(errno));
		return -errno;
	}
	XM_EXPECT(g, (int)o.retval == HT_TC_GO_ON,
		  "tc program returned %d, want TC_ACT_UNSPEC", (int)o.retval);
	/* the frame goes on exactly as it came */
	XM_EXPECT(g, o.data_size_out == fb->len && !memcmp(out, fb->d, fb->len),
		  "tc program changed the frame");
	return 0;
}

/* ---- the tc program ------------------------------------------------------ */

/*
 * Rule 1 mirrors TCP to port 9091 in both directions, rule 2 TCP from
 * port 9091 only on egress (dir out), rule 3 is a pcap filter.  Ingress
 * clones go out of lo (cloned), egress ones to a missing device
 * (clone_fail); the counters of each direction must add up.
 */
static void ht_group_tc_rules(struct ht_ctx *x)
{
	struct xm_rule t[3];
	struct xm_dev_stats st;
	const struct xm_host_dir_stats *in = &st.host[XM_HOST_IN];
	const struct xm_host_dir_stats *out = &st.host[XM_HOST_OUT];
	struct xm_filter flt;
	struct xm_tgroup g;
	struct xm_fb fb;
	char err[256];
	__u32 slot = HT_FILTER_SLOT;

	xm_tg_begin(&g, "host_tc_rules");
	ht_stats_reset(x);
	t[0] = ht_rule(1, XM_F_PROTO | XM_F_DPORT);
	t[0].proto = 6;
	t[0].dport_lo = t[0].dport_hi = 9091;
	t[1] = ht_rule(2, XM_F_PROTO | XM_F_SPORT | XM_F_DIR);
	t[1].proto = 6;
	t[1].sport_lo = t[1].sport_hi = 9091;
	t[1].dir = XM_DIR_OUT;
	t[2] = ht_rule(3, XM_F_FILTER);
	t[2].filter = HT_FILTER_SLOT;
	memset(&flt, 0, sizeof(flt));
	if (xm_filter_compile("udp and dst port 5353", &flt.prog, err,
			      sizeof(err))) {
		xm_tg_fail(&g, "xm_filter_compile: %s", err);
		goto out;
	}
	if (bpf_map_update_elem(x->maps.filters, &slot, &flt, BPF_ANY) ||
	    ht_publish(x, &g, t, 3))
		goto out;

	ht_tcp4(&fb, 1234, 9091);		/* rule 1 */
	ht_tc(x, &g, XM_HOST_IN, &fb);
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_tcp4(&fb, 9091, 1234);		/* rule 2: egress only */
	ht_tc(x, &g, XM_HOST_IN, &fb);
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_udp4(&fb, "10.0.0.2", 5353);		/* rule 3, the filter */
	XM_EXPECT(&g, xm_cbpf_run_user(&flt.prog, fb.d, fb.len) != 0,
		  "user-space interpreter: filter does not match its frame");
	ht_tc(x, &g, XM_HOST_IN, &fb);
	ht_udp4(&fb, "10.0.0.2", 53);		/* nothing */
	XM_EXPECT(&g, xm_cbpf_run_user(&flt.prog, fb.d, fb.len) == 0,
		  "user-space interpreter: filter matches port 53");
	ht_tc(x, &g, XM_HOST_IN, &fb);
	ht_tc(x, &g, XM_HOST_OUT, &fb);

	if (ht_stats(x, &st)) {
		xm_tg_fail(&g, "reading dev_stats");
		goto out;
	}
	XM_EXPECT(&g, in->seen == 4 && out->seen == 3,
		  "seen in %llu out %llu, want 4 and 3",
		  (unsigned long long)in->seen, (unsigned long long)out->seen);
	XM_EXPECT(&g, in->mirror == 2 && out->mirror == 2,
		  "mirror in %llu out %llu, want 2 and 2",
		  (unsigned long long)in->mirror,
		  (unsigned long long)out->mirror);
	XM_EXPECT(&g, in->cloned == 2 && in->clone_fail == 0 &&
		  in->clone_segs == 2,
		  "ingress cloned %llu fail %llu segs %llu, want 2 0 2",
		  (unsigned long long)in->cloned,
		  (unsigned long long)in->clone_fail,
		  (unsigned long long)in->clone_segs);
	XM_EXPECT(&g, out->cloned == 0 && out->clone_fail == 2,
		  "egress cloned %llu fail %llu, want 0 2",
		  (unsigned long long)out->cloned,
		  (unsigned long long)out->clone_fail);
	XM_EXPECT(&g, st.rx == 7 && st.matched == 4 && st.not_matched == 3 &&
		  st.malformed == 0,
		  "rx %llu matched %llu not_matched %llu malformed %llu",
		  (unsigned long long)st.rx, (unsigned long long)st.matched,
		  (unsigned long long)st.not_matched,
		  (unsigned long long)st.malformed);
	XM_EXPECT(&g, in->loop_guard + out->loop_guard == 0 &&
		  in->xdp_rx + out->xdp_rx == 0 && st.to_xsk == 0,
		  "counters of other stages moved");
out:
	ht_publish(x, &g, t, 0);
	memset(&flt, 0, sizeof(flt));
	bpf_map_update_elem(x->maps.filters, &slot, &flt, BPF_ANY);
	xm_tg_end(&x->suite, &g);
}

/*
 * Under a match-all rule, frames carrying a collector's encapsulation to
 * it are not classified (loop_guard, counted in not_matched); the same
 * protocols to another port or address, or in another collector's
 * encapsulation, are mirrored as usual.
 */
static void ht_group_loop_guard(struct ht_ctx *x)
{
	struct xm_rule all = ht_rule(5, 0);
	struct xm_dev_stats st;
	struct xm_tgroup g;
	struct xm_fb fb;
	__u64 guard;

	xm_tg_begin(&g, "host_loop_guard");
	ht_stats_reset(x);
	if (ht_collector(x, &g, 0, "vx", XM_ENCAP_VXLAN, "10.9.9.9", 0) ||
	    ht_collector(x, &g, 1, "e3", XM_ENCAP_ERSPAN3, "10.9.9.8", 0) ||
	    ht_collector(x, &g, 5, "gn6", XM_ENCAP_GENEVE, "fd00::9", 7000) ||
	    ht_publish(x, &g, &all, 1))
		goto out;
	/* guarded: 4 frames */
	ht_udp4(&fb, "10.9.9.9", 4789);
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_tc(x, &g, XM_HOST_IN, &fb);
	ht_gre4(&fb, "10.9.9.8");
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_udp6(&fb, "fd00::9", 7000);
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	/* not guarded: 5 frames */
	ht_udp4(&fb, "10.9.9.9", 4790);		/* another port */
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_gre4(&fb, "10.9.9.9");		/* GRE to a VXLAN collector */
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_udp4(&fb, "10.9.9.8", 4789);		/* UDP to a GRE collector */
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_udp6(&fb, "fd00::9", 6081);		/* the default is not its port */
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	ht_udp4(&fb, "10.9.9.7", 4789);		/* no collector there */
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	if (ht_stats(x, &st)) {
		xm_tg_fail(&g, "reading dev_stats");
		goto out;
	}
	guard = st.host[XM_HOST_IN].loop_guard + st.host[XM_HOST_OUT].loop_guard;
	XM_EXPECT(&g, guard == 4 && st.host[XM_HOST_IN].loop_guard == 1,
		  "loop_guard %llu (in %llu), want 4 (in 1)",
		  (unsigned long long)guard,
		  (unsigned long long)st.host[XM_HOST_IN].loop_guard);
	XM_EXPECT(&g, st.not_matched == 4 && st.matched == 5 &&
		  st.host[XM_HOST_OUT].mirror == 5,
		  "not_matched %llu matched %llu mirror(out) %llu, want 4 5 5",
		  (unsigned long long)st.not_matched,
		  (unsigned long long)st.matched,
		  (unsigned long long)st.host[XM_HOST_OUT].mirror);
	/* a deleted collector guards nothing any more */
	ht_collector(x, &g, 1, NULL, 0, NULL, 0);
	ht_gre4(&fb, "10.9.9.8");
	ht_tc(x, &g, XM_HOST_OUT, &fb);
	if (!ht_stats(x, &st))
		XM_EXPECT(&g, st.host[XM_HOST_OUT].loop_guard == 3 &&
			  st.host[XM_HOST_OUT].mirror == 6,
			  "after collector del: loop_guard %llu mirror %llu",
			  (unsigned long long)st.host[XM_HOST_OUT].loop_guard,
			  (unsigned long long)st.host[XM_HOST_OUT].mirror);
out:
	ht_publish(x, &g, &all, 0);
	ht_collector(x, &g, 0, NULL, 0, NULL, 0);
	ht_collector(x, &g, 5, NULL, 0, NULL, 0);
	xm_tg_end(&x->suite, &g);
}

/* ---- the XDP program of the private veth -------------------------------- */

struct ht_xrun {
	__u32 retval;
	__u32 meta_len;
	__u8 out[HT_OUT_MAX];
};

/* Run prog on fb as received on lo queue 0; meta, when given, already
 * sits in front of the frame (an egress clone back from xmt<N>). */
static int ht_xdp(struct xm_tgroup *g, struct host_xdp_bpf *s,
		  const struct xm_fb *fb, const struct xm_meta *meta,
		  struct ht_xrun *r)
{
	__u8 in[HT_OUT_MAX];
	__u32 pre = meta ? HT_META_LEN : 0;
	struct xdp_md ci = { .data = pre, .data_end = pre + fb->len,
			     .ingress_ifindex = HT_LO };
	struct xdp_md co;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = pre + fb->len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ci,
		    .ctx_size_in = sizeof(ci), .ctx_out = &co,
		    .ctx_size_out = sizeof(co));

	if (meta)
		memcpy(in, meta, HT_META_LEN);
	memcpy(in + pre, fb->d, fb->len);
	memset(&co, 0, sizeof(co));
	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.xm_host_xdp),
				   &o)) {
		xm_tg_fail(g, "XDP test run: %s", strerror(errno));
		return -errno;
	}
	r->retval = o.retval;
	r->meta_len = co.data - co.data_meta;
	return 0;
}

/* The metadata a clone of fb, matched by rule r in direction dir, must
 * carry. */
static void ht_check_meta(struct xm_tgroup *g, const char *what,
			  const struct ht_xrun *r, const struct xm_fb *fb,
			  const struct xm_rule *rule, __u8 dir)
{
	struct xm_flow f;
	struct xm_meta m;

	if (r->meta_len != HT_META_LEN) {
		xm_tg_fail(g, "%s: metadata of %u bytes, want %u", what,
			   r->meta_len, HT_META_LEN);
		return;
	}
	memcpy(&m, r->out, sizeof(m));
	memset(&f, 0, sizeof(f));
	xm_parse(fb->d, fb->d + fb->len, &f);
	XM_EXPECT(g, m.magic == XM_META_MAGIC && m.dir == dir &&
		  m.rule_id == rule->id && m.coll_mask == rule->coll_mask &&
		  m.snaplen == rule->snaplen && m.orig_len == 0 &&
		  m.flow_hash == xm_flow_hash(&f),
		  "%s: meta magic 0x%x dir %u rule %u mask 0x%llx snaplen %u hash 0x%x",
		  what, m.magic, m.dir, m.rule_id,
		  (unsigned long long)m.coll_mask, m.snaplen, m.flow_hash);
	XM_EXPECT(g, !memcmp(r->out + HT_META_LEN, fb->d, fb->len),
		  "%s: the frame behind the metadata changed", what);
}

static void ht_group_xdp(struct ht_ctx *x)
{
	struct xm_rule r = ht_rule(7, XM_F_PROTO | XM_F_DPORT);
	struct xm_dev_stats st;
	struct ht_xrun run;
	struct xm_tgroup g;
	struct xm_meta m;
	struct xm_fb fb;

	xm_tg_begin(&g, "host_xdp_meta");
	ht_stats_reset(x);
	r.proto = 17;
	r.dport_lo = r.dport_hi = 5000;
	r.snaplen = 128;
	if (ht_publish(x, &g, &r, 1))
		goto out;
	ht_udp4(&fb, "10.0.0.2", 5000);
	/* xmr<N>: an ingress clone gets its metadata and goes to the
	 * socket (none here: xsk_missing, dropped) */
	if (!ht_xdp(&g, x->xdp_rx, &fb, NULL, &run)) {
		XM_EXPECT(&g, run.retval == XDP_DROP,
			  "ingress clone without socket: verdict %u",
			  run.retval);
		ht_check_meta(&g, "ingress", &run, &fb, &r, XM_DIR_IN);
	}
	/* xmt<N>: an egress clone gets its metadata and goes back across
	 * the pair */
	if (!ht_xdp(&g, x->xdp_peer, &fb, NULL, &run)) {
		XM_EXPECT(&g, run.retval == XDP_TX, "egress clone: verdict %u",
			  run.retval);
		ht_check_meta(&g, "egress", &run, &fb, &r, XM_DIR_OUT);
		memcpy(&m, run.out, sizeof(m));
	}
	/* ... and arrives at xmr<N> with it: not classified again */
	if (!ht_xdp(&g, x->xdp_rx, &fb, &m, &run)) {
		XM_EXPECT(&g, run.retval == XDP_DROP,
			  "returning egress clone: verdict %u", run.retval);
		ht_check_meta(&g, "returning egress", &run, &fb, &r,
			      XM_DIR_OUT);
	}
	/* a clone no rule takes any more (the table changed after the tc
	 * program cloned it): stale, dropped, no metadata */
	ht_udp4(&fb, "10.0.0.2", 5001);
	if (!ht_xdp(&g, x->xdp_rx, &fb, NULL, &run))
		XM_EXPECT(&g, run.retval == XDP_DROP && run.meta_len == 0,
			  "stale clone: verdict %u, %u bytes of metadata",
			  run.retval, run.meta_len);
	if (ht_stats(x, &st)) {
		xm_tg_fail(&g, "reading dev_stats");
		goto out;
	}
	XM_EXPECT(&g, st.host[XM_HOST_IN].xdp_rx == 2 &&
		  st.host[XM_HOST_IN].stale == 1 &&
		  st.host[XM_HOST_OUT].xdp_rx == 1 &&
		  st.host[XM_HOST_OUT].stale == 0,
		  "xdp_rx in %llu out %llu, stale in %llu out %llu; want 2 1 1 0",
		  (unsigned long long)st.host[XM_HOST_IN].xdp_rx,
		  (unsigned long long)st.host[XM_HOST_OUT].xdp_rx,
		  (unsigned long long)st.host[XM_HOST_IN].stale,
		  (unsigned long long)st.host[XM_HOST_OUT].stale);
	XM_EXPECT(&g, st.xsk_missing == 2 && st.to_xsk == 0 &&
		  st.meta_fail == 0 && st.rx == 0,
		  "xsk_missing %llu to_xsk %llu meta_fail %llu rx %llu",
		  (unsigned long long)st.xsk_missing,
		  (unsigned long long)st.to_xsk,
		  (unsigned long long)st.meta_fail, (unsigned long long)st.rx);
out:
	ht_publish(x, &g, &r, 0);
	xm_tg_end(&x->suite, &g);
}

/* ---- the GENEVE direction option ------------------------------------------ */

static void ht_group_geneve_dir(struct ht_ctx *x)
{
	static const char *const addrs[2][2] = {
		{ "192.0.2.1", "192.0.2.9" }, { "2001:db8::1", "2001:db8::9" },
	};
	struct xm_encap_params p;
	struct xm_encap_pkt pkt;
	struct xm_tmpl plain, t;
	__u8 buf[XM_TMPL_MAX + 64], pseudo[40 + 256];
	struct xm_tgroup g;
	unsigned int f, eg, l4, opt, ulen;
	__u8 fam;

	xm_tg_begin(&g, "host_geneve_dir_option");
	for (f = 0; f < 2; f++) {
		memset(&p, 0, sizeof(p));
		p.encap = XM_ENCAP_GENEVE;
		p.vni = 77;
		if (xm_addr_parse(addrs[f][0], p.saddr, &fam) ||
		    xm_addr_parse(addrs[f][1], p.daddr, &p.family)) {
			xm_tg_fail(&g, "bad test address");
			break;
		}
		xm_tmpl_build(&plain, &p);
		p.dir_opt = 1;
		xm_tmpl_build(&t, &p);
		l4 = t.l4_off;
		opt = l4 + 16;
		XM_EXPECT(&g, t.len == plain.len + 8 &&
			  (t.flags & XM_TMPL_F_DIR_OPT) &&
			  !(plain.flags & XM_TMPL_F_DIR_OPT),
			  "IPv%u: template %u bytes (plain %u), flags 0x%x",
			  p.family, t.len, plain.len, t.flags);
		for (eg = 0; eg < 2; eg++) {
			memset(&pkt, 0, sizeof(pkt));
			pkt.len = 64;
			pkt.hash = 0x1234;
			pkt.egress = (__u8)eg;
			memset(buf, 0, sizeof(buf));
			memset(buf + t.len, 0x5a, pkt.len);
			pkt.payload_sum = xm_csum_partial(buf + t.len, pkt.len);
			xm_tmpl_apply(buf, &t, &pkt);
			/* ver 0, opt_len 2 words; class 0xFF58, type 1, one
			 * word of data: 0 0 0 dir */
			XM_EXPECT(&g, buf[l4 + 8] == 2 && buf[opt] == 0xff &&
				  buf[opt + 1] == 0x58 && buf[opt + 2] == 0x01 &&
				  buf[opt + 3] == 0x01 && buf[opt + 4] == 0 &&
				  buf[opt + 5] == 0 && buf[opt + 6] == 0 &&
				  buf[opt + 7] == (eg ? 2 : 1),
				  "IPv%u %s: GENEVE header and option %02x.. %02x%02x %02x %02x %02x%02x%02x%02x",
				  p.family, eg ? "egress" : "ingress",
				  buf[l4 + 8], buf[opt], buf[opt + 1],
				  buf[opt + 2], buf[opt + 3], buf[opt + 4],
				  buf[opt + 5], buf[opt + 6], buf[opt + 7]);
			ulen = (unsigned int)(buf[l4 + 4] << 8 | buf[l4 + 5]);
			XM_EXPECT(&g, ulen == t.len - l4 + pkt.len,
				  "IPv%u: UDP length %u", p.family, ulen);
			if (p.family != 6)
				continue;
			/* the UDP checksum, over the option too, checks out */
			memcpy(pseudo, p.saddr, 16);
			memcpy(pseudo + 16, p.daddr, 16);
			memset(pseudo + 32, 0, 8);
			pseudo[34] = (__u8)(ulen >> 8);
			pseudo[35] = (__u8)ulen;
			pseudo[39] = 17;
			memcpy(pseudo + 40, buf + l4, ulen);
			XM_EXPECT(&g, xm_t_csum(pseudo, 40 + ulen) == 0,
				  "IPv6 %s: UDP checksum does not verify",
				  eg ? "egress" : "ingress");
		}
	}
	(void)x;
	xm_tg_end(&x->suite, &g);
}

/* ---- headers of a paged skb ------------------------------------------------ */

static void ht_group_parse_wire(struct ht_ctx *x)
{
	struct xm_tgroup g;
	struct xm_flow f;
	struct xm_fb fb;
	unsigned int i, hl;

	xm_tg_begin(&g, "host_parse_wire");
	for (i = 0; i < 2; i++) {
		xm_fb_init(&fb);
		xm_fb_eth(&fb, i ? 0x86dd : 0x0800);
		if (i)
			xm_fb_ipv6(&fb, 6, "fd00::1", "fd00::2");
		else
			xm_fb_ipv4(&fb, 6, "10.0.0.1", "10.0.0.2", 5, 0);
		xm_fb_tcp(&fb, 1234, 9091, 8);
		hl = fb.len;
		xm_fb_bytes(&fb, 900, 0x22);
		xm_fb_finish(&fb);
		/* only the headers readable: a frame cut short... */
		memset(&f, 0, sizeof(f));
		xm_parse(fb.d, fb.d + hl, &f);
		XM_EXPECT(&g, f.malformed == XM_MAL_L3,
			  "IPv%u headers alone: malformed %u, want L3",
			  i ? 6 : 4, f.malformed);
		/* ... unless the rest is known to follow in pages */
		memset(&f, 0, sizeof(f));
		xm_parse_wire(fb.d, fb.d + hl, fb.len, &f);
		XM_EXPECT(&g, !f.malformed && f.family == (i ? 6 : 4) &&
			  f.l4_ok && f.sport == 1234 && f.dport == 9091,
			  "IPv%u paged: malformed %u family %u l4 %u ports %u %u",
			  i ? 6 : 4, f.malformed, f.family, f.l4_ok, f.sport,
			  f.dport);
		/* a length field beyond the frame is still caught */
		memset(&f, 0, sizeof(f));
		xm_parse_wire(fb.d, fb.d + hl, fb.len - 1, &f);
		XM_EXPECT(&g, f.malformed == XM_MAL_L3,
			  "IPv%u: IP length past the frame: malformed %u",
			  i ? 6 : 4, f.malformed);
	}
	xm_tg_end(&x->suite, &g);
}

int main(void)
{
	struct ht_ctx *x;
	int ret;

	x = calloc(1, sizeof(*x));
	if (!x) {
		printf("FAIL host_load: out of memory\n");
		return 1;
	}
	ht_group_geneve_dir(x);
	ht_group_parse_wire(x);
	if (!ht_open(x)) {
		ht_group_tc_rules(x);
		ht_group_loop_guard(x);
		ht_group_xdp(x);
	}
	ret = xm_tsuite_exit(&x->suite);
	ht_close(x);
	free(x);
	return ret;
}

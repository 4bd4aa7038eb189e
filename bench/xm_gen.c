// SPDX-License-Identifier: GPL-2.0
/*
 * xm-gen - an AF_XDP packet generator for benchmarks and tests.
 *
 * Sends UDP frames (IPv4 or IPv6) of a fixed size over a number of flows
 * from a TX-only AF_XDP socket.  A full TX ring is retried, never given up
 * on, so the offered load is what the peer can absorb up to --rate.
 * Prints one JSON line with what it sent.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "xm_addr.h"
#include "xm_compat.h"
#include "xm_encap.h"
#include "proto/l2l3.h"

#define GEN_FRAMES 4096
#define GEN_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define GEN_BATCH 64

struct gen_opts {
	const char *dev;
	__u32 queue;
	__u32 size;		/* frame size without FCS */
	__u32 flows;
	__u64 count;		/* 0: until duration */
	double duration;	/* seconds, 0: until count */
	__u64 rate;		/* frames/s, 0: as fast as possible */
	__u8 family;
	__u8 src_mac[6], dst_mac[6];
	__u8 src_ip[16], dst_ip[16];
	__u16 dport;
	int copy_mode;
};

struct gen_ctx {
	struct gen_opts o;
	void *umem_area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	__u64 sent, completed, kicks;
	__u32 next;
};

static volatile sig_atomic_t gen_stop;

static void gen_on_signal(int sig)
{
	(void)sig;
	gen_stop = 1;
}

static double gen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Build frame i of flow (i % flows): UDP, source port varies per flow. */
static void gen_build_frame(const struct gen_opts *o, __u8 *p, __u32 flow)
{
	struct xm_ethhdr *eth = (void *)p;
	struct xm_udphdr *uh;
	__u32 l3len = o->size - sizeof(*eth);
	__u32 i;

	memset(p, 0, o->size);
	memcpy(eth->dst, o->dst_mac, 6);
	memcpy(eth->src, o->src_mac, 6);
	if (o->family == 4) {
		struct xm_iphdr *iph = (void *)(eth + 1);

		eth->proto = xm_htons(XM_ETH_P_IP);
		iph->ver_ihl = 0x45;
		iph->tot_len = xm_htons((__u16)l3len);
		iph->ttl = 64;
		iph->proto = XM_IPPROTO_UDP;
		memcpy(&iph->saddr, o->src_ip, 4);
		memcpy(&iph->daddr, o->dst_ip, 4);
		iph->check = (__u16)~xm_csum_fold(xm_csum_add(0, iph, 20));
		uh = (void *)(iph + 1);
		uh->len = xm_htons((__u16)(l3len - sizeof(*iph)));
	} else {
		struct xm_ipv6hdr *ip6 = (void *)(eth + 1);

		eth->proto = xm_htons(XM_ETH_P_IPV6);
		ip6->ver_tc_flow = xm_htonl(6u << 28);
		ip6->payload_len = xm_htons((__u16)(l3len - sizeof(*ip6)));
		ip6->nexthdr = XM_IPPROTO_UDP;
		ip6->hop_limit = 64;
		memcpy(ip6->saddr, o->src_ip, 16);
		memcpy(ip6->daddr, o->dst_ip, 16);
		uh = (void *)(ip6 + 1);
		uh->len = ip6->payload_len;
	}
	uh->source = xm_htons((__u16)(10000 + flow));
	uh->dest = xm_htons(o->dport);
	for (i = (__u32)((__u8 *)(uh + 1) - p); i < o->size; i++)
		p[i] = (__u8)i;
}

static int gen_setup(struct gen_ctx *g)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	size_t len = (size_t)GEN_FRAMES * GEN_FRAME_SIZE;
	__u32 i;
	int err;

	g->umem_area = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->umem_area == MAP_FAILED)
		return -errno;
	for (i = 0; i < GEN_FRAMES; i++)
		gen_build_frame(&g->o, (__u8 *)g->umem_area +
				(size_t)i * GEN_FRAME_SIZE, i % g->o.flows);
	err = xsk_umem__create(&g->umem, g->umem_area, len, &g->fq, &g->cq,
			       NULL);
	if (err)
		goto err_unmap;
	cfg.bind_flags |= g->o.copy_mode ? XDP_COPY : 0;
	err = xsk_socket__create(&g->xsk, g->o.dev, g->o.queue, g->umem, NULL,
				 &g->tx, &cfg);
	if (err)
		goto err_umem;
	return 0;

err_umem:
	xsk_umem__delete(g->umem);
err_unmap:
	munmap(g->umem_area, len);
	return err;
}

static void gen_teardown(struct gen_ctx *g)
{
	xsk_socket__delete(g->xsk);
	xsk_umem__delete(g->umem);
	munmap(g->umem_area, (size_t)GEN_FRAMES * GEN_FRAME_SIZE);
}

static void gen_reap(struct gen_ctx *g)
{
	__u32 idx, n;

	n = xsk_ring_cons__peek(&g->cq, GEN_BATCH * 4, &idx);
	if (n) {
		xsk_ring_cons__release(&g->cq, n);
		g->completed += n;
	}
}

/* Queue up to want frames; returns how many went on the ring. */
static __u32 gen_push(struct gen_ctx *g, __u32 want)
{
	__u32 idx, n, i;

	/* Frames are read-only templates: only cap frames in flight. */
	if (g->sent - g->completed + want > XSK_RING_PROD__DEFAULT_NUM_DESCS)
		want = (__u32)(XSK_RING_PROD__DEFAULT_NUM_DESCS -
			       (g->sent - g->completed));
	n = want ? xsk_ring_prod__reserve(&g->tx, want, &idx) : 0;
	for (i = 0; i < n; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&g->tx, idx + i);

		d->addr = (__u64)g->next * GEN_FRAME_SIZE;
		d->len = g->o.size;
		d->options = 0;
		g->next = (g->next + 1) % GEN_FRAMES;
	}
	if (n) {
		xsk_ring_prod__submit(&g->tx, n);
		g->sent += n;
	}
	if (xsk_ring_prod__needs_wakeup(&g->tx)) {
		g->kicks++;
		sendto(xsk_socket__fd(g->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0);
	}
	return n;
}

/*
 * With --rate, frames falling more than this behind the schedule (the
 * generator was not running) are given up rather than sent in one burst:
 * a burst of thousands overflows the receiver's 256-entry veth ring and
 * measures the burst, not the rate.
 */
#define GEN_LAG_MAX (2 * GEN_BATCH)

static void gen_run(struct gen_ctx *g)
{
	double start = gen_now(), now = start, pace0 = start, t, due;
	__u64 target;

	while (!gen_stop) {
		now = gen_now();
		if (g->o.duration > 0 && now - start >= g->o.duration)
			break;
		if (g->o.count && g->sent >= g->o.count)
			break;
		target = GEN_BATCH;
		if (g->o.count && g->o.count - g->sent < target)
			target = g->o.count - g->sent;
		if (g->o.rate) {
			due = (now - pace0) * (double)g->o.rate;
			if (due - (double)g->sent > GEN_LAG_MAX)
				pace0 = now - ((double)g->sent + GEN_LAG_MAX) /
						      (double)g->o.rate;
			if ((double)g->sent >= due) {
				gen_reap(g);
				continue;
			}
		}
		gen_push(g, (__u32)target);
		gen_reap(g);
	}
	/* Let the last frames complete so the count is what left. */
	for (t = gen_now(); g->completed < g->sent && gen_now() - t < 1.0;) {
		if (xsk_ring_prod__needs_wakeup(&g->tx))
			sendto(xsk_socket__fd(g->xsk), NULL, 0, MSG_DONTWAIT,
			       NULL, 0);
		gen_reap(g);
	}
	printf("{\"dev\":\"%s\",\"size\":%u,\"flows\":%u,\"sent\":%llu,"
	       "\"completed\":%llu,\"kicks\":%llu,\"seconds\":%.3f,"
	       "\"pps\":%.0f}\n",
	       g->o.dev, g->o.size, g->o.flows,
	       (unsigned long long)g->sent, (unsigned long long)g->completed,
	       (unsigned long long)g->kicks, now - start,
	       (double)g->completed / (now - start));
}

static int gen_parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (__u8)b[i];
	}
	return 0;
}

static void gen_usage(FILE *f)
{
	fprintf(f,
		"usage: xm-gen --dev IFACE [--queue N] [--size BYTES] [--flows N]\n"
		"              [--count N | --duration SEC] [--rate PPS] [--ipv6]\n"
		"              [--src-mac MAC] [--dst-mac MAC] [--src IP] [--dst IP]\n"
		"              [--dport N] [--copy]\n"
		"Sends UDP frames from an AF_XDP socket; prints a JSON summary.\n");
}

static int gen_parse_u64(const char *opt, const char *s, __u64 min, __u64 max,
			 __u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !*s || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "xm-gen: bad value '%s' for %s (%llu-%llu)\n",
			s, opt, (unsigned long long)min,
			(unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int gen_parse_args(int argc, char **argv, struct gen_opts *o)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "queue", required_argument, NULL, 'q' },
		{ "size", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "src-mac", required_argument, NULL, 'S' },
		{ "dst-mac", required_argument, NULL, 'D' },
		{ "src", required_argument, NULL, 'a' },
		{ "dst", required_argument, NULL, 'b' },
		{ "dport", required_argument, NULL, 'p' },
		{ "copy", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *src = NULL, *dst = NULL;
	__u64 v;
	__u8 fam;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->dev = optarg; break;
		case 'q':
			if (gen_parse_u64("--queue", optarg, 0, 1023, &v))
				return -EINVAL;
			o->queue = (__u32)v;
			break;
		case 's':
			if (gen_parse_u64("--size", optarg, 60, 3000, &v))
				return -EINVAL;
			o->size = (__u32)v;
			break;
		case 'f':
			if (gen_parse_u64("--flows", optarg, 1, 65535, &v))
				return -EINVAL;
			o->flows = (__u32)v;
			break;
		case 'n':
			if (gen_parse_u64("--count", optarg, 1, ~0ull, &o->count))
				return -EINVAL;
			break;
		case 't':
			o->duration = strtod(optarg, NULL);
			if (o->duration <= 0) {
				fprintf(stderr, "xm-gen: bad value '%s' for --duration\n", optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			if (gen_parse_u64("--rate", optarg, 1, ~0ull, &o->rate))
				return -EINVAL;
			break;
		case '6': o->family = 6; break;
		case 'S':
		case 'D':
			if (gen_parse_mac(optarg, c == 'S' ? o->src_mac : o->dst_mac)) {
				fprintf(stderr, "xm-gen: bad MAC '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'a': src = optarg; break;
		case 'b': dst = optarg; break;
		case 'p':
			if (gen_parse_u64("--dport", optarg, 0, 65535, &v))
				return -EINVAL;
			o->dport = (__u16)v;
			break;
		case 'c': o->copy_mode = 1; break;
		case 'h': gen_usage(stdout); exit(0);
		default: gen_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xm-gen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->dev) {
		fprintf(stderr, "xm-gen: --dev is required\n");
		return -EINVAL;
	}
	if (!src)
		src = o->family == 6 ? "2001:db8:9::1" : "10.9.0.1";
	if (!dst)
		dst = o->family == 6 ? "2001:db8:9::2" : "10.9.0.2";
	if (xm_addr_parse(src, o->src_ip, &fam) || fam != o->family) {
		fprintf(stderr, "xm-gen: bad --src '%s' for IPv%u\n", src, o->family);
		return -EINVAL;
	}
	if (xm_addr_parse(dst, o->dst_ip, &fam) || fam != o->family) {
		fprintf(stderr, "xm-gen: bad --dst '%s' for IPv%u\n", dst, o->family);
		return -EINVAL;
	}
	if (o->family == 6 && o->size < 62) {
		fprintf(stderr, "xm-gen: --size must be >= 62 for IPv6 UDP\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct gen_ctx g = {
		.o = { .size = 60, .flows = 1, .family = 4, .dport = 5000,
		       .src_mac = { 2, 0, 0, 0, 0, 1 },
		       .dst_mac = { 2, 0, 0, 0, 0, 2 } },
	};
	int err;

	if (gen_parse_args(argc, argv, &g.o))
		return 1;
	if (!g.o.count && g.o.duration <= 0)
		g.o.duration = 5;
	signal(SIGINT, gen_on_signal);
	signal(SIGTERM, gen_on_signal);
	err = gen_setup(&g);
	if (err) {
		fprintf(stderr, "xm-gen: AF_XDP socket on %s queue %u: %s\n",
			g.o.dev, g.o.queue, strerror(-err));
		return 1;
	}
	gen_run(&g);
	gen_teardown(&g);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * xm-ref - the benchmark's reference systems and its frame counter.
 *
 *   xm-ref count  --dev IFACE
 *       XDP program that counts frames (all, VXLAN, per VNI) and drops
 *       them: the collector of every system, and the bare XDP_DROP peer.
 *   xm-ref native --rx IFACE --tx IFACE HEADER
 *       The XDP-native limit: VXLAN header prepended in XDP, frame
 *       XDP_REDIRECTed to --tx through a devmap.
 *   xm-ref xsk    --rx IFACE --tx IFACE HEADER [--cpu N]
 *       The AF_XDP ceiling: XDP redirects every frame to an AF_XDP socket
 *       on --rx; a thread pinned to CPU N writes the VXLAN header into the
 *       frame's headroom and sends it from the same UMEM chunk with an
 *       AF_XDP socket on --tx.  A second collector gets a copy in another
 *       chunk.  No classification, same rings and idle policy (poll) as
 *       the appliance.
 *   HEADER := --src-mac MAC --dst-mac MAC --src IPV4 --dst IPV4
 *             [--dst2 IPV4] [--collectors 1|2]
 *       Collector i (0, 1) gets VNI i + 1 at --dst / --dst2.
 *
 * Prints {"ready":...} once attached, then one JSON line of counters for
 * every "stats" line read on stdin; detaches and exits on EOF, "quit",
 * SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "xm_addr.h"
#include "xm_compat.h"
#include "proto/l2l3.h"
#include "proto/vxlan.h"
#include "bench_ref.h"

#include "count.skel.h"
#include "ref_native.skel.h"
#include "ref_xsk.skel.h"

#define REF_FRAMES 4096u
#define REF_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define REF_CHUNK_MASK ((__u64)REF_FRAME_SIZE - 1)
#define REF_RING 2048u
#define REF_BATCH 64u
#define REF_IDLE_POLL_MS 10
#define REF_KICK_MAX 64
#define REF_XDP_FLAGS XDP_FLAGS_DRV_MODE

enum ref_mode { REF_COUNT, REF_NATIVE, REF_XSK };

struct ref_opts {
	enum ref_mode mode;
	const char *dev, *rx, *tx;
	__u8 src_mac[6], dst_mac[6];
	__u8 src_ip[4], dst_ip[XM_REF_MAX_COLL][4];
	unsigned int ncoll;
	int cpu;
	bool have_smac, have_dmac, have_src, have_dst, have_dst2;
};

/* The AF_XDP ceiling's state; counters are written by the worker only
 * and read racily by the stats printer (64-bit loads, good enough). */
struct ref_xsk {
	void *area;
	size_t size;
	struct xsk_umem *umem;
	struct xsk_socket *rx_xsk, *tx_xsk;
	struct xsk_ring_prod fill, tx, tx_fill;
	struct xsk_ring_cons comp, rx, tx_comp;
	struct xm_ref_hdr hdr[XM_REF_MAX_COLL];
	unsigned int ncoll;
	__u64 *free;
	__u32 nfree;
	pthread_t thread;
	bool started;
	int cpu;
	volatile __u64 rx_frames, tx_frames, tx_full, no_frame, completed;
};

static volatile sig_atomic_t ref_stop;

static void ref_on_signal(int sig)
{
	(void)sig;
	ref_stop = 1;
}

static int ref_libbpf_print(enum libbpf_print_level level, const char *fmt,
			    va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- the VXLAN header every reference system prepends ---------------- */

static __u16 ref_ip_csum(const void *buf, unsigned int len)
{
	const __u8 *p = buf;
	__u32 sum = 0;
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return xm_htons((__u16)~sum);
}

/* Collector i's header with tot_len and UDP length 0 (filled per frame). */
static void ref_build_hdr(const struct ref_opts *o, unsigned int i,
			  struct xm_ref_hdr *h)
{
	struct xm_ethhdr *eth = (void *)h->b;
	struct xm_iphdr *iph = (void *)(h->b + XM_REF_IP_OFF);
	struct xm_udphdr *uh = (void *)(h->b + XM_REF_UDP_OFF);
	struct xm_vxlanhdr *vh = (void *)(uh + 1);

	memset(h, 0, sizeof(*h));
	memcpy(eth->dst, o->dst_mac, 6);
	memcpy(eth->src, o->src_mac, 6);
	eth->proto = xm_htons(XM_ETH_P_IP);
	iph->ver_ihl = 0x45;
	iph->frag_off = xm_htons(XM_IP_DF);
	iph->ttl = 64;
	iph->proto = XM_IPPROTO_UDP;
	memcpy(&iph->saddr, o->src_ip, 4);
	memcpy(&iph->daddr, o->dst_ip[i], 4);
	iph->check = ref_ip_csum(iph, sizeof(*iph));
	uh->source = xm_htons(XM_UDP_SPORT_BASE + i);
	uh->dest = xm_htons(4789);
	vh->flags = XM_VXLAN_FLAG_I;
	vh->vni_res = xm_htonl((i + 1) << 8);
}

/* Per frame: lengths, and the checksum's length term. */
static inline void ref_fix_hdr(__u8 *p, __u32 inner)
{
	struct xm_iphdr *iph = (void *)(p + XM_REF_IP_OFF);
	struct xm_udphdr *uh = (void *)(p + XM_REF_UDP_OFF);
	__u32 sum;

	iph->tot_len = xm_htons((__u16)(inner + 36));
	uh->len = xm_htons((__u16)(inner + 16));
	sum = (__u16)~iph->check;
	sum += iph->tot_len;
	sum = (sum & 0xffff) + (sum >> 16);
	iph->check = (__u16)~sum;
}

/* ---- XDP attach helpers ----------------------------------------------- */

static int ref_ifindex(const char *opt, const char *dev)
{
	int idx = (int)if_nametoindex(dev);

	if (!idx)
		fprintf(stderr, "xm-ref: %s '%s': no such device\n", opt, dev);
	return idx;
}

static int ref_attach(int ifindex, int prog_fd, const char *dev)
{
	int err = bpf_xdp_attach(ifindex, prog_fd, REF_XDP_FLAGS, NULL);

	if (err)
		fprintf(stderr, "xm-ref: attach XDP to %s: %s\n", dev,
			strerror(-err));
	return err;
}

static void ref_detach(int ifindex)
{
	if (ifindex)
		bpf_xdp_detach(ifindex, REF_XDP_FLAGS, NULL);
}

/* Sum a per-CPU array of n __u64 counters into out[]. */
static int ref_sum_percpu(int map_fd, unsigned int n, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;
	__u32 k;
	int c;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(map_fd, &k, v))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

/* ---- the AF_XDP ceiling ----------------------------------------------- */

static inline __u32 ref_tx_unconsumed(const struct xsk_ring_prod *tx)
{
	return tx->cached_prod - __atomic_load_n(tx->consumer,
						 __ATOMIC_ACQUIRE);
}

static void ref_xsk_kick(struct ref_xsk *x)
{
	int i;

	for (i = 0; i < REF_KICK_MAX && ref_tx_unconsumed(&x->tx); i++) {
		if (!xsk_ring_prod__needs_wakeup(&x->tx))
			return;
		if (sendto(xsk_socket__fd(x->tx_xsk), NULL, 0, MSG_DONTWAIT,
			   NULL, 0) < 0 && errno != EAGAIN)
			return;
	}
}

/* Chunks back: onto the fill ring first, the rest onto the free list. */
static void ref_xsk_refill(struct ref_xsk *x, const __u64 *chunks, __u32 n)
{
	__u32 room = xsk_prod_nb_free(&x->fill, n), idx, i;

	if (room > n)
		room = n;
	if (room && xsk_ring_prod__reserve(&x->fill, room, &idx) == room) {
		for (i = 0; i < room; i++)
			*xsk_ring_prod__fill_addr(&x->fill, idx + i) = chunks[i];
		xsk_ring_prod__submit(&x->fill, room);
	} else {
		room = 0;
	}
	for (i = room; i < n; i++)
		x->free[x->nfree++] = chunks[i];
}

static void ref_xsk_complete(struct ref_xsk *x)
{
	__u64 chunks[REF_BATCH * XM_REF_MAX_COLL];
	__u32 n, i, idx;

	n = xsk_ring_cons__peek(&x->tx_comp, REF_BATCH * XM_REF_MAX_COLL,
				&idx);
	if (!n)
		return;
	for (i = 0; i < n; i++)
		chunks[i] = *xsk_ring_cons__comp_addr(&x->tx_comp, idx + i) &
			    ~REF_CHUNK_MASK;
	xsk_ring_cons__release(&x->tx_comp, n);
	x->completed += n;
	ref_xsk_refill(x, chunks, n);
}

static void ref_xsk_step(struct ref_xsk *x)
{
	__u32 n, i, c, idx, tidx = 0, avail, used = 0, want, ndrop = 0;
	__u64 drop[REF_BATCH];
	struct pollfd pfd;

	ref_xsk_complete(x);
	n = xsk_ring_cons__peek(&x->rx, REF_BATCH, &idx);
	if (!n) {
		if (ref_tx_unconsumed(&x->tx)) {
			ref_xsk_kick(x);
			return;
		}
		pfd.fd = xsk_socket__fd(x->rx_xsk);
		pfd.events = POLLIN;
		poll(&pfd, 1, REF_IDLE_POLL_MS);
		return;
	}
	/* Reserve what the ring has room for; what stays unused is handed
	 * back before anything is submitted. */
	want = n * x->ncoll;
	avail = xsk_prod_nb_free(&x->tx, want);
	if (avail > want)
		avail = want;
	if (avail && xsk_ring_prod__reserve(&x->tx, avail, &tidx) != avail)
		avail = 0;
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
		__u8 *data = (__u8 *)x->area + d->addr;
		bool in_place = false;

		x->rx_frames++;
		for (c = 0; c < x->ncoll; c++) {
			struct xdp_desc *t;
			__u8 *out;
			__u64 a;

			if (used == avail) {
				x->tx_full++;
				continue;
			}
			if (c == 0) {
				/* The first collector's copy is the frame
				 * itself, its header in the headroom. */
				a = d->addr - XM_REF_HDR_LEN;
				out = data - XM_REF_HDR_LEN;
				in_place = true;
			} else {
				if (!x->nfree) {
					x->no_frame++;
					continue;
				}
				a = x->free[--x->nfree];
				out = (__u8 *)x->area + a;
				memcpy(out + XM_REF_HDR_LEN, data, d->len);
			}
			memcpy(out, x->hdr[c].b, XM_REF_HDR_LEN);
			ref_fix_hdr(out, d->len);
			t = xsk_ring_prod__tx_desc(&x->tx, tidx + used++);
			t->addr = a;
			t->len = d->len + XM_REF_HDR_LEN;
			t->options = 0;
			x->tx_frames++;
		}
		if (!in_place)
			drop[ndrop++] = d->addr & ~REF_CHUNK_MASK;
	}
	xsk_ring_cons__release(&x->rx, n);
	x->tx.cached_prod -= avail - used;
	if (used)
		xsk_ring_prod__submit(&x->tx, used);
	if (ndrop)
		ref_xsk_refill(x, drop, ndrop);
	ref_xsk_kick(x);
}

static void *ref_xsk_main(void *arg)
{
	struct ref_xsk *x = arg;

	while (!ref_stop)
		ref_xsk_step(x);
	return NULL;
}

static int ref_xsk_open(struct ref_xsk *x, const char *rx, const char *tx,
			int xsks_fd)
{
	struct xsk_umem_config ucfg = {
		.fill_size = REF_RING,
		.comp_size = REF_RING,
		.frame_size = REF_FRAME_SIZE,
	};
	struct xsk_socket_config cfg = {
		.rx_size = REF_RING,
		.tx_size = REF_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP | XDP_COPY,
	};
	__u32 i, idx, nfill = REF_RING;
	int err;

	x->size = (size_t)REF_FRAMES * REF_FRAME_SIZE;
	x->area = mmap(NULL, x->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	x->free = calloc(REF_FRAMES, sizeof(*x->free));
	if (!x->free)
		return -ENOMEM;
	err = xsk_umem__create(&x->umem, x->area, x->size, &x->fill, &x->comp,
			       &ucfg);
	if (err) {
		x->umem = NULL;
		fprintf(stderr, "xm-ref: UMEM: %s\n", strerror(-err));
		return err;
	}
	err = xsk_socket__create_shared(&x->rx_xsk, rx, 0, x->umem, &x->rx,
					NULL, &x->fill, &x->comp, &cfg);
	if (err) {
		x->rx_xsk = NULL;
		fprintf(stderr, "xm-ref: AF_XDP socket on %s: %s\n", rx,
			strerror(-err));
		return err;
	}
	err = xsk_socket__create_shared(&x->tx_xsk, tx, 0, x->umem, NULL,
					&x->tx, &x->tx_fill, &x->tx_comp, &cfg);
	if (err) {
		x->tx_xsk = NULL;
		fprintf(stderr, "xm-ref: AF_XDP socket on %s: %s\n", tx,
			strerror(-err));
		return err;
	}
	err = xsk_socket__update_xskmap(x->rx_xsk, xsks_fd);
	if (err) {
		fprintf(stderr, "xm-ref: xsks map: %s\n", strerror(-err));
		return err;
	}
	if (xsk_ring_prod__reserve(&x->fill, nfill, &idx) != nfill)
		return -ENOSPC;
	for (i = 0; i < nfill; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) =
			(__u64)i * REF_FRAME_SIZE;
	xsk_ring_prod__submit(&x->fill, nfill);
	for (i = nfill; i < REF_FRAMES; i++)
		x->free[x->nfree++] = (__u64)i * REF_FRAME_SIZE;
	return 0;
}

static int ref_xsk_start(struct ref_xsk *x)
{
	cpu_set_t set;
	int err;

	err = pthread_create(&x->thread, NULL, ref_xsk_main, x);
	if (err)
		return -err;
	x->started = true;
	if (x->cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(x->cpu, &set);
	err = pthread_setaffinity_np(x->thread, sizeof(set), &set);
	if (err)
		fprintf(stderr, "xm-ref: pin to CPU %d: %s\n", x->cpu,
			strerror(err));
	return -err;
}

static void ref_xsk_close(struct ref_xsk *x)
{
	if (x->started)
		pthread_join(x->thread, NULL);
	if (x->tx_xsk)
		xsk_socket__delete(x->tx_xsk);
	if (x->rx_xsk)
		xsk_socket__delete(x->rx_xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, x->size);
	free(x->free);
}

static void ref_xsk_print(const struct ref_xsk *x)
{
	struct xdp_statistics rs = { 0 }, ts = { 0 };
	socklen_t len = sizeof(rs);

	getsockopt(xsk_socket__fd(x->rx_xsk), SOL_XDP, XDP_STATISTICS, &rs,
		   &len);
	len = sizeof(ts);
	getsockopt(xsk_socket__fd(x->tx_xsk), SOL_XDP, XDP_STATISTICS, &ts,
		   &len);
	printf("{\"rx\":%llu,\"tx\":%llu,\"completed\":%llu,\"tx_full\":%llu,"
	       "\"no_frame\":%llu,\"xsk_rx_dropped\":%llu,"
	       "\"xsk_rx_ring_full\":%llu,\"xsk_fill_empty\":%llu,"
	       "\"xsk_tx_invalid\":%llu}\n",
	       (unsigned long long)x->rx_frames,
	       (unsigned long long)x->tx_frames,
	       (unsigned long long)x->completed,
	       (unsigned long long)x->tx_full,
	       (unsigned long long)x->no_frame,
	       (unsigned long long)rs.rx_dropped,
	       (unsigned long long)rs.rx_ring_full,
	       (unsigned long long)rs.rx_fill_ring_empty_descs,
	       (unsigned long long)ts.tx_invalid_descs);
	fflush(stdout);
}

/* ---- command loop ------------------------------------------------------ */

struct ref_run {
	struct ref_opts o;
	int rx_ifindex, tx_ifindex;
	struct count_bpf *cnt;
	struct ref_native_bpf *nat;
	struct ref_xsk_bpf *xskp;
	struct ref_xsk x;
};

static void ref_print_stats(struct ref_run *r)
{
	__u64 v[XM_CNT_MAX];

	switch (r->o.mode) {
	case REF_COUNT:
		ref_sum_percpu(bpf_map__fd(r->cnt->maps.counts), XM_CNT_MAX, v);
		printf("{\"frames\":%llu,\"bytes\":%llu,\"vxlan\":%llu,"
		       "\"vxlan_bytes\":%llu,\"vni1\":%llu,\"vni2\":%llu}\n",
		       (unsigned long long)v[XM_CNT_FRAMES],
		       (unsigned long long)v[XM_CNT_BYTES],
		       (unsigned long long)v[XM_CNT_VXLAN],
		       (unsigned long long)v[XM_CNT_VXLAN_BYTES],
		       (unsigned long long)v[XM_CNT_VNI1],
		       (unsigned long long)v[XM_CNT_VNI2]);
		break;
	case REF_NATIVE:
		ref_sum_percpu(bpf_map__fd(r->nat->maps.nat_counts), XM_NAT_MAX,
			       v);
		printf("{\"rx\":%llu,\"no_room\":%llu}\n",
		       (unsigned long long)v[XM_NAT_RX],
		       (unsigned long long)v[XM_NAT_NO_ROOM]);
		break;
	case REF_XSK:
		ref_xsk_print(&r->x);
		break;
	}
	fflush(stdout);
}

static int ref_setup_count(struct ref_run *r)
{
	r->cnt = count_bpf__open_and_load();
	if (!r->cnt) {
		fprintf(stderr, "xm-ref: load count program: %s\n",
			strerror(errno));
		return -errno;
	}
	return ref_attach(r->rx_ifindex,
			  bpf_program__fd(r->cnt->progs.xm_count), r->o.dev);
}

static int ref_setup_native(struct ref_run *r)
{
	struct bpf_devmap_val val = { .ifindex = (__u32)r->tx_ifindex };
	unsigned int i;
	__u32 k;
	int err;

	r->nat = ref_native_bpf__open();
	if (!r->nat)
		return -errno;
	for (i = 0; i < r->o.ncoll; i++)
		ref_build_hdr(&r->o, i, &r->nat->bss->tmpl[i]);
	r->nat->data->ncoll = r->o.ncoll;
	err = ref_native_bpf__load(r->nat);
	if (err) {
		fprintf(stderr, "xm-ref: load native program: %s\n",
			strerror(-err));
		return err;
	}
	for (k = 0; k < r->o.ncoll; k++) {
		val.bpf_prog.fd = r->o.ncoll > 1 ?
			bpf_program__fd(r->nat->progs.xm_ref_dev) : 0;
		err = bpf_map_update_elem(bpf_map__fd(r->nat->maps.tx_port), &k,
					  &val, 0);
		if (err) {
			fprintf(stderr, "xm-ref: devmap entry %u: %s\n", k,
				strerror(errno));
			return -errno;
		}
	}
	return ref_attach(r->rx_ifindex,
			  bpf_program__fd(r->nat->progs.xm_ref_native),
			  r->o.rx);
}

static int ref_setup_xsk(struct ref_run *r)
{
	unsigned int i;
	int err;

	r->xskp = ref_xsk_bpf__open_and_load();
	if (!r->xskp) {
		fprintf(stderr, "xm-ref: load xsk program: %s\n",
			strerror(errno));
		return -errno;
	}
	err = ref_attach(r->rx_ifindex,
			 bpf_program__fd(r->xskp->progs.xm_ref_xsk), r->o.rx);
	if (err)
		return err;
	r->x.ncoll = r->o.ncoll;
	r->x.cpu = r->o.cpu;
	for (i = 0; i < r->o.ncoll; i++)
		ref_build_hdr(&r->o, i, &r->x.hdr[i]);
	err = ref_xsk_open(&r->x, r->o.rx, r->o.tx,
			   bpf_map__fd(r->xskp->maps.xsks));
	if (err)
		return err;
	return ref_xsk_start(&r->x);
}

static void ref_teardown(struct ref_run *r)
{
	ref_stop = 1;
	ref_detach(r->rx_ifindex);
	ref_xsk_close(&r->x);
	count_bpf__destroy(r->cnt);
	ref_native_bpf__destroy(r->nat);
	ref_xsk_bpf__destroy(r->xskp);
}

/* ---- arguments --------------------------------------------------------- */

static void ref_usage(FILE *f)
{
	fputs("usage: xm-ref count  --dev IFACE\n"
	      "       xm-ref native --rx IFACE --tx IFACE HEADER\n"
	      "       xm-ref xsk    --rx IFACE --tx IFACE HEADER [--cpu N]\n"
	      "HEADER := --src-mac MAC --dst-mac MAC --src IPV4 --dst IPV4\n"
	      "          [--dst2 IPV4] [--collectors 1|2]\n"
	      "Benchmark reference systems (XDP-native, AF_XDP ceiling) and the\n"
	      "XDP frame counter.  Prints {\"ready\":...} when attached, a JSON line\n"
	      "of counters per \"stats\" line on stdin; exits on EOF or \"quit\".\n",
	      f);
}

static int ref_parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (__u8)b[i];
	}
	return 0;
}

static int ref_parse_ip4(const char *opt, const char *s, __u8 out[4])
{
	__u8 a[16], fam;

	if (xm_addr_parse(s, a, &fam) || fam != 4) {
		fprintf(stderr, "xm-ref: bad IPv4 address '%s' for %s\n", s,
			opt);
		return -EINVAL;
	}
	memcpy(out, a, 4);
	return 0;
}

static int ref_parse_uint(const char *opt, const char *s, long min, long max,
			  long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max) {
		fprintf(stderr, "xm-ref: bad value '%s' for %s (%ld-%ld)\n", s,
			opt, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int ref_parse_args(int argc, char **argv, struct ref_opts *o)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "rx", required_argument, NULL, 'r' },
		{ "tx", required_argument, NULL, 't' },
		{ "src-mac", required_argument, NULL, 'S' },
		{ "dst-mac", required_argument, NULL, 'D' },
		{ "src", required_argument, NULL, 'a' },
		{ "dst", required_argument, NULL, 'b' },
		{ "dst2", required_argument, NULL, 'B' },
		{ "collectors", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	long v;
	int c;

	if (argc < 2) {
		ref_usage(stderr);
		return -EINVAL;
	}
	mode = argv[1];
	if (!strcmp(mode, "count")) {
		o->mode = REF_COUNT;
	} else if (!strcmp(mode, "native")) {
		o->mode = REF_NATIVE;
	} else if (!strcmp(mode, "xsk")) {
		o->mode = REF_XSK;
	} else if (!strcmp(mode, "--help") || !strcmp(mode, "-h")) {
		ref_usage(stdout);
		exit(0);
	} else {
		fprintf(stderr, "xm-ref: unknown mode '%s'\n", mode);
		ref_usage(stderr);
		return -EINVAL;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->dev = optarg; break;
		case 'r': o->rx = optarg; break;
		case 't': o->tx = optarg; break;
		case 'S':
		case 'D':
			if (ref_parse_mac(optarg, c == 'S' ? o->src_mac : o->dst_mac)) {
				fprintf(stderr, "xm-ref: bad MAC '%s'\n", optarg);
				return -EINVAL;
			}
			if (c == 'S')
				o->have_smac = true;
			else
				o->have_dmac = true;
			break;
		case 'a':
			if (ref_parse_ip4("--src", optarg, o->src_ip))
				return -EINVAL;
			o->have_src = true;
			break;
		case 'b':
			if (ref_parse_ip4("--dst", optarg, o->dst_ip[0]))
				return -EINVAL;
			o->have_dst = true;
			break;
		case 'B':
			if (ref_parse_ip4("--dst2", optarg, o->dst_ip[1]))
				return -EINVAL;
			o->have_dst2 = true;
			break;
		case 'n':
			if (ref_parse_uint("--collectors", optarg, 1,
					   XM_REF_MAX_COLL, &v))
				return -EINVAL;
			o->ncoll = (unsigned int)v;
			break;
		case 'c':
			if (ref_parse_uint("--cpu", optarg, 0, CPU_SETSIZE - 1, &v))
				return -EINVAL;
			o->cpu = (int)v;
			break;
		case 'h': ref_usage(stdout); exit(0);
		default: ref_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xm-ref: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->mode == REF_COUNT) {
		if (!o->dev) {
			fprintf(stderr, "xm-ref: count needs --dev\n");
			return -EINVAL;
		}
		return 0;
	}
	if (!o->rx || !o->tx) {
		fprintf(stderr, "xm-ref: %s needs --rx and --tx\n", mode);
		return -EINVAL;
	}
	if (!o->have_smac || !o->have_dmac || !o->have_src || !o->have_dst) {
		fprintf(stderr, "xm-ref: %s needs --src-mac, --dst-mac, --src and --dst\n",
			mode);
		return -EINVAL;
	}
	if (o->ncoll > 1 && !o->have_dst2) {
		fprintf(stderr, "xm-ref: --collectors 2 needs --dst2\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ref_run r = { .o = { .ncoll = 1, .cpu = -1 } };
	struct sigaction sa = { .sa_handler = ref_on_signal };
	char line[64];
	int err;

	if (ref_parse_args(argc, argv, &r.o))
		return 1;
	libbpf_set_print(ref_libbpf_print);
	r.rx_ifindex = ref_ifindex(r.o.mode == REF_COUNT ? "--dev" : "--rx",
				   r.o.mode == REF_COUNT ? r.o.dev : r.o.rx);
	if (!r.rx_ifindex)
		return 1;
	if (r.o.mode != REF_COUNT) {
		r.tx_ifindex = ref_ifindex("--tx", r.o.tx);
		if (!r.tx_ifindex)
			return 1;
	}
	/* No SA_RESTART: a signal ends the blocking read of stdin. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	switch (r.o.mode) {
	case REF_COUNT: err = ref_setup_count(&r); break;
	case REF_NATIVE: err = ref_setup_native(&r); break;
	default: err = ref_setup_xsk(&r); break;
	}
	if (err) {
		fprintf(stderr, "xm-ref: %s: setup failed: %s\n", argv[1],
			strerror(-err));
		ref_teardown(&r);
		return 1;
	}
	printf("{\"ready\":\"%s\",\"collectors\":%u}\n", argv[1], r.o.ncoll);
	fflush(stdout);
	while (!ref_stop && fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "stats", 5))
			ref_print_stats(&r);
		else if (!strncmp(line, "quit", 4))
			break;
	}
	ref_teardown(&r);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * daemon.c - bring the appliance up (XDP program, pinned maps, sockets,
 * workers), keep the collectors' templates current, tear it down.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mirror.skel.h"
#include "daemon.h"
#include "xm_addr.h"

#define XM_CTL_POLL_MS 100
#define XM_RESOLVE_MS 200
#define XM_SOLICIT_MS 1000
#define XM_PROG_NAME "xm_xdp_mirror"

static __u64 xm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* ---- XDP attachment ------------------------------------------------ */

/* Is the program with this id our XDP program? */
static bool xm_prog_is_ours(__u32 id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool ours = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		ours = strcmp(info.name, XM_PROG_NAME) == 0;
	close(fd);
	return ours;
}

int xm_xdp_detach_ours(unsigned int ifindex)
{
	static const __u32 modes[] = { XDP_FLAGS_DRV_MODE,
				       XDP_FLAGS_SKB_MODE };
	unsigned int i;
	int detached = 0;
	__u32 id;

	for (i = 0; i < 2; i++) {
		id = 0;
		if (bpf_xdp_query_id((int)ifindex, (int)modes[i], &id) || !id)
			continue;
		if (!xm_prog_is_ours(id))
			continue;
		if (!bpf_xdp_detach((int)ifindex, modes[i], NULL))
			detached++;
	}
	return detached;
}

static int xm_xdp_attached_id(unsigned int ifindex, __u32 *id)
{
	*id = 0;
	if (!bpf_xdp_query_id((int)ifindex, XDP_FLAGS_DRV_MODE, id) && *id)
		return 0;
	*id = 0;
	if (!bpf_xdp_query_id((int)ifindex, XDP_FLAGS_SKB_MODE, id) && *id)
		return 0;
	*id = 0;
	return -ENOENT;
}

/* pid recorded in a device's pinned dpinfo, 0 when none. */
__u32 xm_pinned_pid(const char *dev)
{
	struct xm_dpinfo info;
	char path[256];
	__u32 key = 0;
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/%s/%s", XM_PIN_ROOT, dev,
		     XM_MAP_DPINFO);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_map_lookup_elem(fd, &key, &info))
		info.pid = 0;
	close(fd);
	return info.pid;
}

bool xm_pid_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	bool alive = false;
	FILE *f;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return false;
	/* A killed daemon stays a zombie until its reaper runs: dead. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return alive;
}

/* Refuse a device in use; clear what a crashed daemon left behind. */
static int xm_daemon_check(struct xm_daemon *d, char *msg, size_t len)
{
	const char *dev = d->opt.dev;
	char path[256];
	struct stat st;
	__u32 pid, id;
	int err;

	err = xm_pin_dir(dev, path, sizeof(path));
	if (err)
		return err;
	if (stat(path, &st) == 0) {
		pid = xm_pinned_pid(dev);
		if (xm_pid_alive((pid_t)pid)) {
			snprintf(msg, len, "already running on %s (pid %u)",
				 dev, pid);
			return -EEXIST;
		}
		xm_log("stale state on %s from a crashed appliance (pid %u): cleaning up",
		       dev, pid);
		if (xm_xdp_detach_ours(d->opt.ifindex))
			xm_log("detached the stale XDP program from %s", dev);
		err = xm_maps_unpin(dev);
		if (err) {
			snprintf(msg, len, "cannot remove stale pins %s: %s",
				 path, strerror(-err));
			return err;
		}
	}
	if (!xm_xdp_attached_id(d->opt.ifindex, &id)) {
		snprintf(msg, len,
			 "%s already has an XDP program (id %u); detach it first",
			 dev, id);
		return -EBUSY;
	}
	return 0;
}

static int xm_daemon_load(struct xm_daemon *d, char *msg, size_t len)
{
	struct mirror_bpf *s;
	int err, fd;

	s = mirror_bpf__open();
	if (!s) {
		err = -errno;
		snprintf(msg, len, "opening the XDP program: %s",
			 strerror(-err));
		return err;
	}
	d->skel = s;
	/* Sending on the RX device: its ARP/ND must reach the stack, or
	 * the collectors' neighbours never resolve under a match-all. */
	s->rodata->pass_neigh = d->opt.ifindex == d->opt.tx_ifindex;
	err = mirror_bpf__load(s);
	if (err) {
		snprintf(msg, len, "loading the XDP program: %s",
			 strerror(-err));
		return err;
	}
	d->maps.rules = bpf_map__fd(s->maps.rules);
	d->maps.ctl = bpf_map__fd(s->maps.ctl);
	d->maps.collectors = bpf_map__fd(s->maps.collectors);
	d->maps.dev_stats = bpf_map__fd(s->maps.dev_stats);
	d->maps.rule_stats = bpf_map__fd(s->maps.rule_stats);
	d->maps.coll_stats = bpf_map__fd(s->maps.coll_stats);
	d->maps.worker_stats = bpf_map__fd(s->maps.worker_stats);
	d->maps.xsks = bpf_map__fd(s->maps.xsks);
	d->maps.dpinfo = bpf_map__fd(s->maps.dpinfo);
	d->maps.tuples = bpf_map__fd(s->maps.tuples);
	d->maps.resid = bpf_map__fd(s->maps.resid);
	d->maps.rule_hash = bpf_map__fd(s->maps.rule_hash);
	d->maps.filters = bpf_map__fd(s->maps.filters);
	d->maps.qsbr = bpf_map__fd(s->maps.qsbr);

	err = xm_maps_pin(d->opt.dev, &d->maps);
	if (err) {
		snprintf(msg, len, "pinning maps under %s/%s: %s",
			 XM_PIN_ROOT, d->opt.dev, strerror(-err));
		return err;
	}
	d->pinned = true;
	/* Claim the pin directory at once (ready = 0) so a second start
	 * sees a live owner instead of stale pins. */
	{
		struct xm_dpinfo info = { .pid = (__u32)getpid() };
		__u32 key = 0;

		bpf_map_update_elem(d->maps.dpinfo, &key, &info, BPF_ANY);
	}

	fd = bpf_program__fd(s->progs.xm_xdp_mirror);
	d->attach_flags = XDP_FLAGS_DRV_MODE;
	err = bpf_xdp_attach((int)d->opt.ifindex, fd, d->attach_flags, NULL);
	if (err) {
		xm_log("native XDP on %s failed (%s), using generic (skb) mode",
		       d->opt.dev, strerror(-err));
		d->attach_flags = XDP_FLAGS_SKB_MODE;
		err = bpf_xdp_attach((int)d->opt.ifindex, fd, d->attach_flags,
				     NULL);
	}
	if (err) {
		snprintf(msg, len, "attaching XDP to %s: %s", d->opt.dev,
			 strerror(-err));
		return err;
	}
	d->attached = true;
	return 0;
}

static void *xm_map_mmap(int fd, size_t *len_out, int prot)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	size_t sz;
	void *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return NULL;
	sz = (size_t)info.value_size * info.max_entries;
	sz = (sz + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, sz, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*len_out = sz;
	return p;
}

static int xm_daemon_mmap(struct xm_daemon *d, char *msg, size_t len)
{
	d->coll_stats_mem = xm_map_mmap(d->maps.coll_stats,
					&d->coll_stats_len,
					PROT_READ | PROT_WRITE);
	d->worker_stats_mem = xm_map_mmap(d->maps.worker_stats,
					  &d->worker_stats_len,
					  PROT_READ | PROT_WRITE);
	d->ctl = xm_map_mmap(d->maps.ctl, &d->ctl_len, PROT_READ);
	if (!d->coll_stats_mem || !d->worker_stats_mem || !d->ctl) {
		int err = errno ? -errno : -ENOMEM;

		snprintf(msg, len, "mmap of the counter/ctl maps: %s",
			 strerror(-err));
		return err;
	}
	return 0;
}

/* ---- collector templates -------------------------------------------- */

static bool xm_warn_once(__u64 *mask, __u32 id)
{
	bool first = !(*mask & (1ULL << id));

	*mask |= 1ULL << id;
	return first;
}

static void xm_solicit(struct xm_daemon *d, __u32 id, __u8 family,
		       __u32 oif, const __u8 nh[16])
{
	__u64 *last = d->last_solicit;
	__u64 now = xm_now_ms();
	int err;

	/* Our own NTF_USE produces neighbour events; a rate limit keeps
	 * that from turning into a loop. */
	if (now - last[id] < XM_SOLICIT_MS)
		return;
	last[id] = now;
	err = xm_nh_solicit(&d->nl, family, oif, nh);
	if (err)
		xm_log("neighbour resolution request for collector %u: %s", id,
		       strerror(-err));
}

/* Log why collector id cannot be sent to, once until it becomes ready. */
static void xm_coll_warn(struct xm_daemon *d, __u32 id,
			 const struct xm_collector *c, const char *why,
			 const char *addr)
{
	if (xm_warn_once(&d->warned_route, id))
		xm_log("collector %u (%s): %s %s", id, c->name, why, addr);
}

/* Route, source address and next-hop MAC of collector c into p.
 * Returns 0 when the collector can be sent to now. */
static int xm_coll_path(struct xm_daemon *d, __u32 id,
			const struct xm_collector *c,
			struct xm_encap_params *p)
{
	__u32 alen = c->family == 6 ? 16 : 4;
	struct xm_route rt;
	const __u8 *nh;
	bool stale = false;
	char a[64];
	int err;

	xm_addr_str(c->remote, c->family, a, sizeof(a));
	err = xm_nh_route(&d->nl, c->family, c->remote, &rt);
	if (err) {
		xm_coll_warn(d, id, c, "no route to", a);
		return -ENETUNREACH;
	}
	if (rt.oif != d->opt.tx_ifindex) {
		xm_coll_warn(d, id, c,
			     "route leaves not via the tx device for", a);
		return -ENETUNREACH;
	}
	nh = rt.has_gw ? rt.gateway : c->remote;
	err = xm_nh_neigh(&d->nl, c->family, rt.oif, nh, p->dst_mac, &stale);
	if (err || stale)
		xm_solicit(d, id, c->family, rt.oif, nh);
	if (err)
		return err;
	if (c->flags & XM_COLL_F_LOCAL) {
		memcpy(p->saddr, c->local, alen);
	} else if (rt.has_src) {
		memcpy(p->saddr, rt.prefsrc, alen);
	} else {
		xm_coll_warn(d, id, c, "no source address for", a);
		return -EADDRNOTAVAIL;
	}
	memcpy(p->daddr, c->remote, alen);
	return 0;
}

/* Fill e for collector id; leaves XM_TE_NO_NEIGH when it cannot be sent
 * to (yet).  Logs each reason once until the collector becomes ready. */
static void xm_coll_tmpl(struct xm_daemon *d, __u32 id,
			 const struct xm_collector *c, struct xm_tmpl_ent *e)
{
	struct xm_encap_params p;
	__u32 room;

	if (!c->name[0])
		return;		/* calloc'd: XM_TE_EMPTY */
	e->state = XM_TE_NO_NEIGH;
	if ((c->family != 4 && c->family != 6) || c->encap > XM_ENCAP_ERSPAN3) {
		if (xm_warn_once(&d->warned_dev, id))
			xm_log("collector %u (%s): bad family %u or encap %u",
			       id, c->name, c->family, c->encap);
		return;
	}
	if (c->ifindex && c->ifindex != d->opt.tx_ifindex) {
		if (xm_warn_once(&d->warned_dev, id))
			xm_log("collector %u (%s): device %u is not the tx device %s",
			       id, c->name, c->ifindex, d->opt.tx_dev);
		return;
	}
	memset(&p, 0, sizeof(p));
	if (xm_coll_path(d, id, c, &p))
		return;
	memcpy(p.src_mac, d->tx_mac, 6);
	p.family = c->family;
	p.encap = c->encap;
	p.coll_flags = c->flags;
	p.dscp = c->dscp;
	p.ttl = c->ttl;
	p.hwid = c->hwid;
	p.session = c->session;
	p.vni = c->vni;
	p.key = c->key;
	p.dport = c->dport;
	xm_tmpl_build(&e->t, &p);
	/* The encapsulated IP packet must fit the TX MTU and the whole
	 * frame a UMEM chunk; longer copies are truncated, not dropped. */
	room = d->tx_mtu + XM_ETH_HLEN;
	if (room > XM_FRAME_SIZE)
		room = XM_FRAME_SIZE;
	e->max_inner = room > e->t.len ? (__u16)(room - e->t.len) : 0;
	e->snaplen = c->snaplen;
	e->state = XM_TE_READY;
	if ((d->warned_dev | d->warned_route) & (1ULL << id))
		xm_log("collector %u (%s): ready", id, c->name);
	d->warned_dev &= ~(1ULL << id);
	d->warned_route &= ~(1ULL << id);
}

/* Free retired tables no worker can still be reading. */
static void xm_tmpl_reclaim(struct xm_daemon *d)
{
	__u64 min = ~0ULL, g;
	unsigned int i, n = 0;

	for (i = 0; i < d->opt.queues; i++) {
		g = __atomic_load_n(&d->w[i].seen_gen, __ATOMIC_ACQUIRE);
		if (d->w[i].started && g < min)
			min = g;
	}
	for (i = 0; i < d->nretired; i++) {
		if (d->retired[i]->gen < min)
			free(d->retired[i]);
		else
			d->retired[n++] = d->retired[i];
	}
	d->nretired = n;
}

static void xm_tmpl_refresh(struct xm_daemon *d)
{
	struct xm_tmpl_table *t, *cur = d->tmpl;
	struct xm_collector c;
	__u32 id;

	xm_tmpl_reclaim(d);
	if (d->nretired == XM_RETIRED_MAX)
		return;		/* workers lag; try again next tick */
	/* MTU changes come as link events; keep the last good value. */
	xm_dev_mtu(d->opt.tx_dev, &d->tx_mtu);
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	for (id = 0; id < XM_MAX_COLLECTORS; id++) {
		memset(&c, 0, sizeof(c));
		if (bpf_map_lookup_elem(d->maps.collectors, &id, &c))
			continue;
		c.name[XM_NAME_LEN - 1] = '\0';
		xm_coll_tmpl(d, id, &c, &t->ent[id]);
	}
	if (cur && !memcmp(cur->ent, t->ent, sizeof(t->ent))) {
		free(t);
		return;
	}
	t->gen = cur ? cur->gen + 1 : 1;
	__atomic_store_n(&d->tmpl, t, __ATOMIC_RELEASE);
	if (cur)
		d->retired[d->nretired++] = cur;
}

/* ---- lifecycle ------------------------------------------------------ */

static int xm_daemon_workers(struct xm_daemon *d, char *msg, size_t len)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int i;
	int err, cpu;

	if (ncpu < 1)
		ncpu = 1;
	for (i = 0; i < d->opt.queues; i++) {
		cpu = d->opt.ncores ? d->opt.cores[i % d->opt.ncores] :
				      (int)(i % (unsigned long)ncpu);
		err = xm_worker_init(&d->w[i], d, i, cpu);
		if (err) {
			snprintf(msg, len, "worker %u: %s", i, strerror(-err));
			return err;
		}
	}
	for (i = 0; i < d->opt.queues; i++) {
		err = xm_worker_start(&d->w[i]);
		if (err) {
			snprintf(msg, len, "worker %u on CPU %d: %s", i,
				 d->w[i].cpu, strerror(-err));
			return err;
		}
	}
	return 0;
}

int xm_daemon_start(struct xm_daemon *d, char *msg, size_t len)
{
	int err;

	err = xm_bpffs_ensure();
	if (err) {
		snprintf(msg, len, "cannot mount bpffs on /sys/fs/bpf: %s",
			 strerror(-err));
		return err;
	}
	xm_maps_init(&d->maps);
	err = xm_daemon_check(d, msg, len);
	if (err)
		return err;
	err = xm_daemon_load(d, msg, len);
	if (err)
		return err;
	err = xm_daemon_mmap(d, msg, len);
	if (err)
		return err;
	err = xm_dev_mac(d->opt.tx_dev, d->tx_mac);
	if (err) {
		snprintf(msg, len, "MAC address of %s: %s", d->opt.tx_dev,
			 strerror(-err));
		return err;
	}
	err = xm_dev_mtu(d->opt.tx_dev, &d->tx_mtu);
	if (err) {
		snprintf(msg, len, "MTU of %s: %s", d->opt.tx_dev,
			 strerror(-err));
		return err;
	}
	err = xm_nl_open(&d->nl);
	if (err) {
		snprintf(msg, len, "rtnetlink: %s", strerror(-err));
		return err;
	}
	d->nl_open = true;
	xm_tmpl_refresh(d);
	if (!d->tmpl) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	err = xm_xsk_setup(&d->xsk, d->opt.dev, d->opt.tx_dev, d->opt.queues,
			   d->maps.xsks, msg, len);
	if (err)
		return err;
	return xm_daemon_workers(d, msg, len);
}

int xm_daemon_publish_ready(struct xm_daemon *d)
{
	struct xm_dpinfo info = {
		.pid = (__u32)getpid(),
		.ifindex = d->opt.ifindex,
		.tx_ifindex = d->opt.tx_ifindex,
		.queues = d->opt.queues,
		.zerocopy = d->xsk->zerocopy,
		.ready = 1,
	};
	__u32 key = 0;

	if (bpf_map_update_elem(d->maps.dpinfo, &key, &info, BPF_ANY))
		return -errno;
	return 0;
}

/* Copy each socket's XDP_STATISTICS into its worker's row, so that
 * frames the kernel could not give us are in our counters too.  These
 * fields are written by this thread only. */
static void xm_daemon_xsk_stats(struct xm_daemon *d)
{
	struct xdp_statistics rx, tx;
	struct xm_worker_stats *ws;
	unsigned int i;

	if (!d->xsk)
		return;
	for (i = 0; i < d->xsk->queues; i++) {
		if (xm_xsk_queue_stats(&d->xsk->q[i], &rx, &tx))
			continue;
		ws = (struct xm_worker_stats *)d->worker_stats_mem + i;
		__atomic_store_n(&ws->xsk_rx_dropped, rx.rx_dropped,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&ws->xsk_rx_ring_full, rx.rx_ring_full,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&ws->xsk_fill_empty,
				 rx.rx_fill_ring_empty_descs, __ATOMIC_RELAXED);
		__atomic_store_n(&ws->xsk_rx_invalid, rx.rx_invalid_descs,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&ws->xsk_tx_invalid,
				 rx.tx_invalid_descs + tx.tx_invalid_descs,
				 __ATOMIC_RELAXED);
	}
}

void xm_daemon_run(struct xm_daemon *d, volatile const int *quit)
{
	struct pollfd pfd = { .fd = xm_nl_event_fd(&d->nl), .events = POLLIN };
	__u32 coll_gen = d->ctl->coll_gen;
	__u64 last = xm_now_ms(), now;
	bool dirty;

	while (!*quit) {
		dirty = false;
		if (poll(&pfd, 1, XM_CTL_POLL_MS) > 0 &&
		    xm_nl_drain_events(&d->nl) > 0)
			dirty = true;
		if (__atomic_load_n(&d->ctl->coll_gen, __ATOMIC_ACQUIRE) !=
		    coll_gen) {
			coll_gen = d->ctl->coll_gen;
			dirty = true;
		}
		now = xm_now_ms();
		if (now - last >= XM_RESOLVE_MS)
			dirty = true;
		if (dirty) {
			xm_tmpl_refresh(d);
			last = now;
		}
		xm_tmpl_reclaim(d);
		xm_daemon_xsk_stats(d);
	}
}

void xm_daemon_stop(struct xm_daemon *d)
{
	unsigned int i;
	int err;

	/* No new frames first, then the threads, then what they used. */
	if (d->attached) {
		err = bpf_xdp_detach((int)d->opt.ifindex, d->attach_flags,
				     NULL);
		if (err)
			xm_log("detaching XDP from %s: %s", d->opt.dev,
			       strerror(-err));
		d->attached = false;
	}
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < d->opt.queues; i++) {
		xm_worker_join(&d->w[i]);
		xm_worker_fini(&d->w[i]);
	}
	/* Last word of the sockets' own counters before they close. */
	if (d->worker_stats_mem)
		xm_daemon_xsk_stats(d);
	xm_xsk_teardown(d->xsk);
	d->xsk = NULL;
	if (d->nl_open)
		xm_nl_close(&d->nl);
	d->nl_open = false;
	if (d->ctl)
		munmap((void *)d->ctl, d->ctl_len);
	if (d->coll_stats_mem)
		munmap(d->coll_stats_mem, d->coll_stats_len);
	if (d->worker_stats_mem)
		munmap(d->worker_stats_mem, d->worker_stats_len);
	d->ctl = NULL;
	d->coll_stats_mem = d->worker_stats_mem = NULL;
	if (d->pinned) {
		err = xm_maps_unpin(d->opt.dev);
		if (err)
			xm_log("unpinning maps of %s: %s", d->opt.dev,
			       strerror(-err));
		d->pinned = false;
	}
	mirror_bpf__destroy(d->skel);
	d->skel = NULL;
	for (i = 0; i < d->nretired; i++)
		free(d->retired[i]);
	d->nretired = 0;
	free(d->tmpl);
	d->tmpl = NULL;
}

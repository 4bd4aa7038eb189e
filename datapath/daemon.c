// SPDX-License-Identifier: GPL-2.0
/*
 * daemon.c - bring the appliance up (XDP program, pinned maps, sockets,
 * workers), keep the collectors' templates current, tear it down.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mirror.skel.h"
#include "daemon.h"
#include "xdpfeat.h"
#include "xm_addr.h"
#include "host.h"
#include "xm_table.h"

#define XM_CTL_POLL_MS 100
#define XM_RESOLVE_MS 200
/* How long a fast-path table publish waits for XDP runs to finish. */
#define XM_FAST_QSBR_MS 100
#define XM_SOLICIT_MS 1000
#define XM_PROG_NAME "xm_xdp_mirror"

static __u64 xm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* ---- XDP attachment ------------------------------------------------ */

/* Does the program with this id have a name starting with prefix (one
 * of ours, left by a daemon that died)? */
bool xm_prog_named(__u32 id, const char *prefix)
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
		ours = !strncmp(info.name, prefix, strlen(prefix));
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
		if (!xm_prog_named(id, XM_PROG_NAME))
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
		/* host mode (issue 6): its veth pair and clsact filters */
		if (xm_host_cleanup_stale(d->opt.ifindex))
			xm_log("removed the stale host-mode veth/tc filters of %s",
			       dev);
		err = xm_maps_unpin(dev);
		if (err) {
			snprintf(msg, len, "cannot remove stale pins %s: %s",
				 path, strerror(-err));
			return err;
		}
	}
	/* Host mode attaches no XDP program to the NIC. */
	if (d->opt.mode != XM_MODE_HOST &&
	    !xm_xdp_attached_id(d->opt.ifindex, &id)) {
		snprintf(msg, len,
			 "%s already has an XDP program (id %u); detach it first",
			 dev, id);
		return -EBUSY;
	}
	return 0;
}

static void xm_daemon_clock(struct xm_daemon *d);

/* tracefs, for the tracepoints that count refused redirects. */
static void xm_tracefs_ensure(void)
{
	struct stat st;

	if (!stat("/sys/kernel/tracing/events", &st) ||
	    !stat("/sys/kernel/debug/tracing/events", &st))
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		xm_log("cannot mount tracefs: %s", strerror(errno));
}

/*
 * What the XDP fast path needs besides its template entries: the TX
 * device in tx_ports, our RX device and tx_ports' id for the tracepoint
 * programs, and those programs attached.  A tracepoint that cannot be
 * attached only costs the fast_xmit_err counter, so it is not fatal.
 */
static int xm_daemon_fast_setup(struct xm_daemon *d, char *msg, size_t len)
{
	struct mirror_bpf *s = d->skel;
	struct bpf_map_info info;
	__u32 ilen = sizeof(info), key = 0, txi = d->opt.tx_ifindex;
	struct bpf_program *progs[3] = { s->progs.xm_tp_devmap_xmit,
					 s->progs.xm_tp_redirect_err,
					 s->progs.xm_tp_exception };
	unsigned int i;

	/* Host mode's kernel path is its tc programs: no XDP redirects. */
	if (d->opt.datapath == XM_DP_AFXDP || d->opt.mode == XM_MODE_HOST)
		return 0;
	if (txi != d->opt.ifindex &&
	    bpf_map_update_elem(d->maps.tx_ports, &key, &txi, BPF_ANY)) {
		snprintf(msg, len, "adding %s to the tx_ports devmap: %s",
			 d->opt.tx_dev, strerror(errno));
		return -errno;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(d->maps.tx_ports, &info, &ilen)) {
		snprintf(msg, len, "tx_ports map info: %s", strerror(errno));
		return -errno;
	}
	s->bss->tx_ports_id = info.id;
	s->bss->rx_ifindex = d->opt.ifindex;
	xm_tracefs_ensure();
	for (i = 0; i < 3; i++) {
		d->tp[i] = bpf_program__attach(progs[i]);
		if (!d->tp[i]) {
			xm_log("attaching %s: %s; fast_xmit_err will miss what it counts",
			       bpf_program__name(progs[i]), strerror(errno));
		}
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
	s->rodata->fast_on = d->opt.datapath != XM_DP_AFXDP;
	/* Host mode needs this object's maps, not its programs. */
	if (d->opt.mode == XM_MODE_HOST) {
		struct bpf_program *p;

		bpf_object__for_each_program(p, s->obj)
			bpf_program__set_autoload(p, false);
	}
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
	d->maps.fast = bpf_map__fd(s->maps.fast);
	d->maps.fast_stats = bpf_map__fd(s->maps.fast_stats);
	d->maps.seqs = bpf_map__fd(s->maps.seqs);
	d->maps.tx_ports = bpf_map__fd(s->maps.tx_ports);
	err = xm_daemon_fast_setup(d, msg, len);
	if (err)
		return err;

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
	/* Host mode (host.c): tc on the NIC, XDP on a private veth. */
	if (d->opt.mode == XM_MODE_HOST)
		return xm_host_start(d, msg, len);

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
	d->ctl = xm_map_mmap(d->maps.ctl, &d->ctl_len,
			     PROT_READ | PROT_WRITE);
	d->seq = xm_map_mmap(d->maps.seqs, &d->seq_len,
			     PROT_READ | PROT_WRITE);
	if (!d->coll_stats_mem || !d->worker_stats_mem || !d->ctl || !d->seq) {
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

/* What mirrorctl status shows about the daemon. */
static int xm_daemon_dpinfo(const struct xm_daemon *d)
{
	struct xm_dpinfo info = {
		.pid = (__u32)getpid(),
		.ifindex = d->opt.ifindex,
		.tx_ifindex = d->opt.tx_ifindex,
		.queues = d->opt.queues,
		.zerocopy = d->xsk && d->xsk->zerocopy,
		.ready = d->ready,
		.datapath = d->opt.datapath,
		.tx_xmit = d->tx_xmit,
		.mode = d->opt.mode,
		.host_dir = d->opt.host_dir,
	};
	__u32 key = 0;

	if (bpf_map_update_elem(d->maps.dpinfo, &key, &info, BPF_ANY))
		return -errno;
	return 0;
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

/* Which datapath sends the single copies of ready collector e. */
static void xm_coll_fast(const struct xm_daemon *d, struct xm_tmpl_ent *e)
{
	e->path = XM_PATH_AFXDP;
	if (d->opt.datapath == XM_DP_AFXDP)
		e->why_slow = XM_SLOW_ASKED;
	else if (e->t.flags & XM_TMPL_F_UDP_CSUM)
		/* A checksum over the whole copy costs XDP more than the
		 * AF_XDP path saves; the kernel path's GSO would need the
		 * checksummed tunnel variant, which adjust_room cannot set. */
		e->why_slow = XM_SLOW_UDP6_CSUM;
	else if (d->opt.mode == XM_MODE_HOST)
		e->path = XM_PATH_TC;
	else if (d->opt.tx_ifindex == d->opt.ifindex)
		e->path = XM_PATH_XDP_TX;
	else if (!d->tx_xmit)
		e->why_slow = XM_SLOW_NO_XMIT;
	else
		e->path = XM_PATH_XDP;
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
	/* Host mode: GENEVE copies say which way the frame went. */
	p.dir_opt = d->opt.mode == XM_MODE_HOST;
	xm_tmpl_build(&e->t, &p);
	/* The encapsulated IP packet must fit the TX MTU and the whole
	 * frame a UMEM chunk; longer copies are truncated, not dropped. */
	room = d->tx_mtu + XM_ETH_HLEN;
	if (room > XM_FRAME_SIZE)
		room = XM_FRAME_SIZE;
	e->max_inner = room > e->t.len ? (__u16)(room - e->t.len) : 0;
	/* No more than a socket takes, so a copy is the same length
	 * whichever datapath makes it. */
	if (e->max_inner > XM_XSK_DATA_MAX)
		e->max_inner = XM_XSK_DATA_MAX;
	e->snaplen = c->snaplen;
	e->state = XM_TE_READY;
	xm_coll_fast(d, e);
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

/* Whether the TX device takes XDP redirects now.  A veth does only
 * while its peer can receive XDP frames, which can change at any time. */
static void xm_tx_xmit_check(struct xm_daemon *d)
{
	bool was = d->tx_xmit;
	__u64 feat = 0;
	int err;

	if (d->opt.datapath == XM_DP_AFXDP) {
		d->tx_xmit = false;
		return;
	}
	if (d->opt.tx_ifindex == d->opt.ifindex ||
	    d->attach_flags == XDP_FLAGS_SKB_MODE) {
		/* XDP_TX, or generic XDP: redirected skbs take the normal
		 * transmit path of the device. */
		d->tx_xmit = true;
		return;
	}
	err = xm_xdp_features(d->opt.tx_ifindex, &feat);
	d->tx_xmit = !err && (feat & XM_NETDEV_XDP_ACT_NDO_XMIT);
	if (d->tx_xmit != was)
		xm_log("%s %s XDP redirects%s%s", d->opt.tx_dev,
		       d->tx_xmit ? "takes" : "does not take",
		       err ? ": " : "", err ? strerror(-err) : "");
}

/* Write table t into the fast map's idle half and make it live.  The
 * idle half may only be rewritten once no XDP run can still be reading
 * it since the last flip: the per-CPU quiescence wait of the rule
 * tables. */
static int xm_fast_publish(struct xm_daemon *d, const struct xm_tmpl_table *t)
{
	__u32 next = (d->ctl->fast_sel & 1) ^ 1, id, key;
	int err;

	err = xm_qsbr_wait(d->maps.qsbr, XM_FAST_QSBR_MS);
	if (err) {
		xm_log("fast path table: %s; retrying", strerror(-err));
		return err;
	}
	for (id = 0; id < XM_MAX_COLLECTORS; id++) {
		key = next * XM_MAX_COLLECTORS + id;
		if (bpf_map_update_elem(d->maps.fast, &key, &t->ent[id],
					BPF_ANY)) {
			err = -errno;
			xm_log("fast path table: %s", strerror(-err));
			return err;
		}
	}
	__atomic_store_n(&d->ctl->fast_sel, next, __ATOMIC_RELEASE);
	xm_daemon_dpinfo(d);
	return 0;
}

/* Idle workers sleep in poll: wake them to pick up a new table, so the
 * old one can be freed. */
static void xm_daemon_wake_workers(struct xm_daemon *d)
{
	unsigned int i;

	for (i = 0; i < d->opt.queues; i++)
		if (d->w[i].started)
			xm_worker_wake(&d->w[i]);
}

/* Every collector slot into c[XM_MAX_COLLECTORS] (a free or unreadable
 * slot reads as zeros): one batch read of the array map, where a lookup
 * per slot would cost 64 syscalls each refresh; one lookup per slot where
 * the kernel has no batch operations. */
static void xm_read_collectors(struct xm_daemon *d, struct xm_collector *c)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 keys[XM_MAX_COLLECTORS], count = XM_MAX_COLLECTORS, id, out;

	memset(c, 0, XM_MAX_COLLECTORS * sizeof(*c));
	if (!bpf_map_lookup_batch(d->maps.collectors, NULL, &out, keys, c,
				  &count, &opts) || errno == ENOENT) {
		if (count == XM_MAX_COLLECTORS)
			return;
	}
	for (id = 0; id < XM_MAX_COLLECTORS; id++)
		if (bpf_map_lookup_elem(d->maps.collectors, &id, &c[id]))
			memset(&c[id], 0, sizeof(c[id]));
}

/* Returns 0 once the live templates match the collectors read, or a
 * negative errno (the next tick tries again). */
static int xm_tmpl_refresh(struct xm_daemon *d)
{
	struct xm_tmpl_table *t, *cur = d->tmpl;
	struct xm_collector *c = d->coll_buf;
	__u32 id;
	int err;

	xm_tmpl_reclaim(d);
	if (d->nretired == XM_RETIRED_MAX)
		return -EBUSY;	/* workers lag */
	/* MTU changes come as link events; keep the last good value. */
	xm_dev_mtu(d->opt.tx_dev, &d->tx_mtu);
	xm_tx_xmit_check(d);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	xm_read_collectors(d, c);
	for (id = 0; id < XM_MAX_COLLECTORS; id++) {
		c[id].name[XM_NAME_LEN - 1] = '\0';
		xm_coll_tmpl(d, id, &c[id], &t->ent[id]);
	}
	if (cur && !memcmp(cur->ent, t->ent, sizeof(t->ent))) {
		free(t);
		return 0;
	}
	/* The XDP program's copy first: should it fail (a CPU stuck in
	 * the XDP program), both keep the old table and the next tick
	 * tries again. */
	err = xm_fast_publish(d, t);
	if (err) {
		free(t);
		return err;
	}
	t->gen = cur ? cur->gen + 1 : 1;
	__atomic_store_n(&d->tmpl, t, __ATOMIC_RELEASE);
	if (cur)
		d->retired[d->nretired++] = cur;
	xm_daemon_wake_workers(d);
	return 0;
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
	unsigned int i;
	__u32 gen;
	int err;

	/* Before anything can fail: stop closes what workers opened. */
	for (i = 0; i < XM_MAX_QUEUES; i++)
		d->w[i].wake_fd = -1;
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
	xm_daemon_clock(d);
	gen = __atomic_load_n(&d->ctl->coll_gen, __ATOMIC_ACQUIRE);
	if (!xm_tmpl_refresh(d))
		__atomic_store_n(&d->ctl->coll_seen, gen, __ATOMIC_RELEASE);
	if (!d->tmpl) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	if (d->opt.datapath == XM_DP_XDP && !d->tx_xmit) {
		snprintf(msg, len,
			 "--datapath xdp: %s takes no XDP redirects (no ndo_xdp_xmit; a veth needs an XDP program or GRO on its peer)",
			 d->opt.tx_dev);
		return -EOPNOTSUPP;
	}
	/* Host mode receives on its veth, sends on the NIC. */
	err = xm_xsk_setup(&d->xsk, d->host ? d->host->rx_dev : d->opt.dev,
			   d->opt.tx_dev, d->opt.queues, d->maps.xsks, msg,
			   len);
	if (err)
		return err;
	err = xm_daemon_workers(d, msg, len);
	if (err || !d->host)
		return err;
	return xm_host_attach(d, msg, len);
}

int xm_daemon_publish_ready(struct xm_daemon *d)
{
	d->ready = true;
	return xm_daemon_dpinfo(d);
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

/* The fast path's ERSPAN III clock: CLOCK_REALTIME as an offset from
 * the monotonic clock XDP reads, kept current against clock steps. */
static void xm_daemon_clock(struct xm_daemon *d)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	__atomic_store_n(&d->ctl->rt_off_ns,
			 ((__s64)rt.tv_sec - mono.tv_sec) * 1000000000LL +
				 (rt.tv_nsec - mono.tv_nsec),
			 __ATOMIC_RELAXED);
}

void xm_daemon_run(struct xm_daemon *d, volatile const int *quit)
{
	struct pollfd pfd = { .fd = xm_nl_event_fd(&d->nl), .events = POLLIN };
	struct timespec tick = { 0, XM_CTL_POLL_MS * 1000000L };
	__u32 coll_gen = d->ctl->coll_gen, gen;
	__u64 last = xm_now_ms(), now;
	sigset_t waitmask;
	bool dirty;

	/* SIGUSR1 (mirrorctl: collectors changed) is blocked everywhere
	 * but here, so it cuts this wait short and no other. */
	pthread_sigmask(SIG_BLOCK, NULL, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	while (!*quit) {
		dirty = false;
		if (ppoll(&pfd, 1, &tick, &waitmask) > 0 &&
		    xm_nl_drain_events(&d->nl) > 0)
			dirty = true;
		gen = __atomic_load_n(&d->ctl->coll_gen, __ATOMIC_ACQUIRE);
		if (gen != coll_gen) {
			coll_gen = gen;
			dirty = true;
		}
		now = xm_now_ms();
		if (now - last >= XM_RESOLVE_MS)
			dirty = true;
		if (dirty) {
			if (!xm_tmpl_refresh(d))
				__atomic_store_n(&d->ctl->coll_seen, gen,
						 __ATOMIC_RELEASE);
			last = now;
		}
		xm_tmpl_reclaim(d);
		xm_daemon_xsk_stats(d);
		xm_daemon_clock(d);
	}
}

void xm_daemon_stop(struct xm_daemon *d)
{
	unsigned int i;
	int err;

	/* No new frames first, then the threads, then what they used. */
	xm_host_detach(d);
	if (d->attached) {
		err = bpf_xdp_detach((int)d->opt.ifindex, d->attach_flags,
				     NULL);
		if (err)
			xm_log("detaching XDP from %s: %s", d->opt.dev,
			       strerror(-err));
		d->attached = false;
	}
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELAXED);
	xm_daemon_wake_workers(d);
	for (i = 0; i < d->opt.queues; i++) {
		xm_worker_join(&d->w[i]);
		xm_worker_fini(&d->w[i]);
	}
	/* Last word of the sockets' own counters before they close. */
	if (d->worker_stats_mem)
		xm_daemon_xsk_stats(d);
	xm_xsk_teardown(d->xsk);
	d->xsk = NULL;
	xm_host_destroy(d);
	if (d->nl_open)
		xm_nl_close(&d->nl);
	d->nl_open = false;
	for (i = 0; i < 3; i++) {
		bpf_link__destroy(d->tp[i]);
		d->tp[i] = NULL;
	}
	if (d->ctl)
		munmap(d->ctl, d->ctl_len);
	if (d->seq)
		munmap(d->seq, d->seq_len);
	d->seq = NULL;
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

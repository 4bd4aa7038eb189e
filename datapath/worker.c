// SPDX-License-Identifier: GPL-2.0
/*
 * worker.c - the per-queue batch loop: RX descriptors in, encapsulated
 * copies out on the TX socket of the same UMEM, frames recycled.
 *
 * A worker owns a disjoint range of UMEM frames and its own rows of the
 * counter maps, so the hot path takes no lock and uses no atomics except
 * the template-table pointer and its epoch.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define XM_BATCH 64u
/* An idle worker sleeps until frames arrive or the daemon wakes it (stop,
 * new template table); the timeout is only a safety net.  Each wakeup of
 * an idle thread costs tens of microseconds of CPU in a VM. */
#define XM_IDLE_POLL_MS 1000
#define XM_KICK_MAX 64		/* copy mode sends 32 frames per sendto */
#define XM_CHUNK_MASK ((__u64)XM_FRAME_SIZE - 1)

static inline void xm_recycle(struct xm_worker *w, __u64 chunk)
{
	w->recycle[w->nrecycle++] = chunk;
}

/* Frames kept off the fill ring for the extra copies of replication. */
#define XM_FREE_RESERVE 256u

/*
 * Frames sent in place stay with the kernel until their TX completes, so
 * under load the fill ring drains faster than completions refill it and
 * the kernel drops frames (xsk_fill_empty).  Top it up from the free
 * list, keeping a reserve for extra copies.
 */
static void xm_worker_refill(struct xm_worker *w)
{
	struct xsk_ring_prod *fq = &w->q->fill;
	__u32 want, i, idx;

	if (w->nfree <= XM_FREE_RESERVE)
		return;
	want = w->nfree - XM_FREE_RESERVE;
	if (want > XM_BATCH)
		want = XM_BATCH;
	want = xsk_prod_nb_free(fq, want);
	if (want > XM_BATCH)
		want = XM_BATCH;
	if (!want || xsk_ring_prod__reserve(fq, want, &idx) != want)
		return;
	for (i = 0; i < want; i++)
		*xsk_ring_prod__fill_addr(fq, idx + i) = w->free[--w->nfree];
	xsk_ring_prod__submit(fq, want);
}

/* Recycled frames go onto the fill ring first (RX never starves), the
 * rest onto the free list for extra copies. */
static void xm_worker_flush_recycle(struct xm_worker *w)
{
	struct xsk_ring_prod *fq = &w->q->fill;
	__u32 n = w->nrecycle, room, i, idx;

	if (!n)
		return;
	room = xsk_prod_nb_free(fq, n);
	if (room > n)
		room = n;
	if (room && xsk_ring_prod__reserve(fq, room, &idx) == room) {
		for (i = 0; i < room; i++)
			*xsk_ring_prod__fill_addr(fq, idx + i) = w->recycle[i];
		xsk_ring_prod__submit(fq, room);
	} else {
		room = 0;
	}
	for (i = room; i < n; i++) {
		w->free[w->nfree++] = w->recycle[i];
		w->ws->fill_short++;
	}
	w->nrecycle = 0;
	xm_worker_refill(w);
}

static void xm_worker_complete(struct xm_worker *w)
{
	struct xsk_ring_cons *cq = w->q->cq;
	__u32 n, i, idx;

	n = xsk_ring_cons__peek(cq, w->recycle_cap - w->nrecycle, &idx);
	if (!n)
		return;
	for (i = 0; i < n; i++)
		xm_recycle(w, *xsk_ring_cons__comp_addr(cq, idx + i) &
				      ~XM_CHUNK_MASK);
	xsk_ring_cons__release(cq, n);
	w->ws->tx_completed += n;
	xm_worker_flush_recycle(w);
}

/* Descriptors on the TX ring the kernel has not taken yet. */
static inline __u32 xm_tx_unconsumed(const struct xsk_ring_prod *tx)
{
	return tx->cached_prod - __atomic_load_n(tx->consumer,
						 __ATOMIC_ACQUIRE);
}

static void xm_worker_kick(struct xm_worker *w)
{
	struct xm_xsk_queue *q = w->q;
	int i;

	for (i = 0; i < XM_KICK_MAX && xm_tx_unconsumed(&q->tx); i++) {
		if (!xsk_ring_prod__needs_wakeup(&q->tx))
			return;
		w->ws->wakeups++;
		if (sendto(q->tx_fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			continue;
		/* EAGAIN: batch limit reached, go on.  ENOBUFS/EBUSY: wait
		 * for completions; the next loop kicks again. */
		if (errno != EAGAIN)
			return;
	}
}

/* What one RX frame needs for its copies, worked out once. */
struct xm_frame {
	__u64 addr;		/* RX address of the frame data */
	__u8 *data;
	__u32 len;
	__u32 orig_len;		/* > len: XDP cut the frame to fit */
	__u32 snaplen;		/* the rule's; 0: whole frame */
	bool in_place;		/* the RX chunk already carries a copy */
	struct xm_encap_pkt pkt;
	__u32 sum_len;		/* bytes covered by pkt.payload_sum */
	bool have_sum;
};

/* Bytes of frame f that go to the collector of e; a cut copy is counted
 * once, under the limit that decided its length. */
static __u32 xm_copy_len(const struct xm_tmpl_ent *e,
			 struct xm_coll_stats *cs, const struct xm_frame *f,
			 __u8 *trunc)
{
	__u8 cut;
	__u32 len = xm_copy_cut(f->len, f->orig_len, e->max_inner, f->snaplen,
				e->snaplen, &cut);

	if (cut == XM_CUT_SNAP)
		cs->truncated_snap++;
	else if (cut == XM_CUT_MTU)
		cs->truncated_mtu++;
	*trunc = cut != XM_CUT_NONE;
	return len;
}

/* Fill the per-copy fields of f->pkt for template e. */
static void xm_copy_pkt(struct xm_worker *w, const struct xm_tmpl_ent *e,
			__u32 id, struct xm_frame *f, __u32 len, __u8 trunc)
{
	f->pkt.len = len;
	f->pkt.truncated = trunc;
	if (e->t.seq_off)
		f->pkt.seq = (__u32)__atomic_fetch_add(&w->d->seq[id].next, 1,
						       __ATOMIC_RELAXED);
	/* The UDP-over-IPv6 checksum covers the inner bytes: summed once
	 * per frame and length, shared by the collectors that need it. */
	if ((e->t.flags & XM_TMPL_F_UDP_CSUM) &&
	    (!f->have_sum || f->sum_len != len)) {
		f->pkt.payload_sum = xm_csum_partial(f->data, len);
		f->sum_len = len;
		f->have_sum = true;
	}
}

/* One encapsulated copy of frame f for collector id.  Returns 1 when a
 * descriptor was queued. */
static int xm_worker_copy(struct xm_worker *w, const struct xm_tmpl_ent *e,
			  __u32 id, struct xm_frame *f)
{
	struct xm_coll_stats *cs = &w->cs[id];
	__u32 tlen = e->t.len, idx, len;
	struct xdp_desc *txd;
	__u64 txaddr;
	__u8 *out, trunc;
	bool use_rx;

	if (e->state == XM_TE_EMPTY) {
		cs->drop_no_collector++;
		return 0;
	}
	if (e->state != XM_TE_READY) {
		cs->drop_no_neigh++;
		return 0;
	}
	use_rx = !f->in_place && (f->addr & XM_CHUNK_MASK) >= tlen;
	if (!use_rx && !w->nfree) {
		cs->drop_no_frame++;
		return 0;
	}
	if (xsk_ring_prod__reserve(&w->q->tx, 1, &idx) != 1) {
		cs->drop_tx_full++;
		return 0;
	}
	len = xm_copy_len(e, cs, f, &trunc);
	if (use_rx) {
		txaddr = f->addr - tlen;
		out = f->data - tlen;
		f->in_place = true;
	} else {
		txaddr = w->free[--w->nfree];
		out = w->area + txaddr;
		memcpy(out + tlen, f->data, len);
	}
	xm_copy_pkt(w, e, id, f, len, trunc);
	xm_tmpl_apply(out, &e->t, &f->pkt);
	txd = xsk_ring_prod__tx_desc(&w->q->tx, idx);
	txd->addr = txaddr;
	txd->len = tlen + len;
	txd->options = 0;
	cs->sent++;
	cs->sent_bytes += tlen + len;
	return 1;
}

static __u32 xm_worker_frame(struct xm_worker *w,
			     const struct xm_tmpl_table *t,
			     const struct xdp_desc *rxd)
{
	struct xm_frame f = {
		.addr = rxd->addr,
		.data = w->area + rxd->addr,
		.len = rxd->len,
	};
	struct xm_meta meta;
	__u32 ntx = 0, id;
	__u64 mask;

	w->ws->rx++;
	w->ws->rx_bytes += rxd->len;
	/* Copy the metadata out: the first copy's header overwrites it. */
	if ((f.addr & XM_CHUNK_MASK) < sizeof(meta))
		goto bad;
	memcpy(&meta, f.data - sizeof(meta), sizeof(meta));
	if (meta.magic != XM_META_MAGIC)
		goto bad;
	f.pkt.hash = meta.flow_hash;
	f.orig_len = meta.orig_len;
	f.snaplen = meta.snaplen;
	f.pkt.egress = meta.dir == XM_DIR_OUT;
	f.pkt.tstamp = w->tstamp;
	f.pkt.tagged = (__u8)xm_encap_inner_vlan(f.data, f.len,
						 &f.pkt.vlan_tci);
	for (mask = meta.coll_mask; mask; mask &= mask - 1) {
		id = (__u32)__builtin_ctzll(mask);
		ntx += xm_worker_copy(w, &t->ent[id], id, &f);
	}
	if (!f.in_place)
		xm_recycle(w, f.addr & ~XM_CHUNK_MASK);
	return ntx;
bad:
	w->ws->bad_meta++;
	xm_recycle(w, f.addr & ~XM_CHUNK_MASK);
	return 0;
}

/* ERSPAN III timestamp: CLOCK_REALTIME in 100 ns units, low 32 bits;
 * read once per batch. */
static __u32 xm_erspan_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u32)((__u64)ts.tv_sec * 10000000u +
		       (__u64)ts.tv_nsec / 100u);
}

static void xm_worker_idle(struct xm_worker *w)
{
	struct pollfd pfd[2] = {
		{ .fd = w->q->rx_fd, .events = POLLIN },
		{ .fd = w->wake_fd, .events = POLLIN },
	};
	__u64 n;

	if (xm_tx_unconsumed(&w->q->tx)) {
		xm_worker_kick(w);
		return;
	}
	w->ws->wakeups++;
	if (poll(pfd, 2, XM_IDLE_POLL_MS) > 0 && (pfd[1].revents & POLLIN) &&
	    read(w->wake_fd, &n, sizeof(n)) < 0)
		return;	/* EAGAIN: another read drained it */
}

/* Make an idle worker go round its loop once: it then sees a stop
 * request and moves its template epoch, which lets the daemon free old
 * tables. */
void xm_worker_wake(struct xm_worker *w)
{
	__u64 one = 1;

	if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0)
		return;	/* the counter is full: a wakeup is pending anyway */
}

static void xm_worker_step(struct xm_worker *w)
{
	const struct xm_tmpl_table *t;
	struct xm_xsk_queue *q = w->q;
	__u32 n, i, idx, ntx = 0;

	t = __atomic_load_n(&w->d->tmpl, __ATOMIC_ACQUIRE);
	/* Everything this worker did with older tables is done. */
	__atomic_store_n(&w->seen_gen, t->gen, __ATOMIC_RELEASE);

	xm_worker_complete(w);
	n = xsk_ring_cons__peek(&q->rx, XM_BATCH, &idx);
	if (!n) {
		xm_worker_idle(w);
		return;
	}
	w->tstamp = xm_erspan_now();
	for (i = 0; i < n; i++)
		ntx += xm_worker_frame(w, t,
				       xsk_ring_cons__rx_desc(&q->rx, idx + i));
	xsk_ring_cons__release(&q->rx, n);
	if (ntx)
		xsk_ring_prod__submit(&q->tx, ntx);
	xm_worker_flush_recycle(w);
	xm_worker_kick(w);
}

static void *xm_worker_main(void *arg)
{
	struct xm_worker *w = arg;

	while (!__atomic_load_n(&w->d->stop, __ATOMIC_RELAXED))
		xm_worker_step(w);
	/* Leave the epoch past every table so the main thread never waits
	 * for a stopped worker. */
	__atomic_store_n(&w->seen_gen, ~0ULL, __ATOMIC_RELEASE);
	return NULL;
}

int xm_worker_init(struct xm_worker *w, struct xm_daemon *d,
		   unsigned int id, int cpu)
{
	__u64 base = (__u64)id * XM_FRAMES_PER_QUEUE * XM_FRAME_SIZE;
	__u32 nfill = XM_FRAMES_PER_QUEUE / 2, i, idx;

	memset(w, 0, sizeof(*w));
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0)
		return -errno;
	w->d = d;
	w->id = id;
	w->cpu = cpu;
	w->q = &d->xsk->q[id];
	w->area = d->xsk->area;
	w->cs = (struct xm_coll_stats *)d->coll_stats_mem +
		(size_t)id * XM_MAX_COLLECTORS;
	w->ws = (struct xm_worker_stats *)d->worker_stats_mem + id;
	w->free_cap = XM_FRAMES_PER_QUEUE;
	w->recycle_cap = XM_RING_SIZE + XM_BATCH;
	w->free = calloc(w->free_cap, sizeof(*w->free));
	w->recycle = calloc(w->recycle_cap, sizeof(*w->recycle));
	if (!w->free || !w->recycle) {
		xm_worker_fini(w);
		return -ENOMEM;
	}
	if (nfill > XM_RING_SIZE)
		nfill = XM_RING_SIZE;
	if (xsk_ring_prod__reserve(&w->q->fill, nfill, &idx) != nfill) {
		xm_worker_fini(w);
		return -ENOSPC;
	}
	for (i = 0; i < nfill; i++)
		*xsk_ring_prod__fill_addr(&w->q->fill, idx + i) =
			base + (__u64)i * XM_FRAME_SIZE;
	xsk_ring_prod__submit(&w->q->fill, nfill);
	for (i = nfill; i < XM_FRAMES_PER_QUEUE; i++)
		w->free[w->nfree++] = base + (__u64)i * XM_FRAME_SIZE;
	return 0;
}

int xm_worker_start(struct xm_worker *w)
{
	cpu_set_t set;
	int err;

	err = pthread_create(&w->thread, NULL, xm_worker_main, w);
	if (err)
		return -err;
	w->started = true;
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	err = pthread_setaffinity_np(w->thread, sizeof(set), &set);
	if (err)
		return -err;
	return 0;
}

void xm_worker_join(struct xm_worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void xm_worker_fini(struct xm_worker *w)
{
	free(w->free);
	free(w->recycle);
	w->free = w->recycle = NULL;
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	w->wake_fd = -1;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xsk.h - the shared UMEM and the per-queue AF_XDP sockets.
 */
#ifndef XM_XSK_H
#define XM_XSK_H

#include <stdbool.h>
#include <stddef.h>
#include <xdp/xsk.h>

#define XM_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define XM_FRAMES_PER_QUEUE 4096u
#define XM_RING_SIZE 2048u

/* The sockets of one queue.  When tx-dev is dev, tx_xsk == rx_xsk and
 * the RX socket's own TX ring and completion ring are used. */
struct xm_xsk_queue {
	struct xsk_socket *rx_xsk;
	struct xsk_socket *tx_xsk;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;	/* RX socket's fill ring */
	struct xsk_ring_cons comp;	/* RX socket's completion ring */
	struct xsk_ring_prod tx_fill;	/* TX socket's, stays empty */
	struct xsk_ring_cons tx_comp;	/* TX socket's completion ring */
	struct xsk_ring_cons *cq;	/* where TX completions arrive */
	int rx_fd;
	int tx_fd;
};

struct xm_xsk_set {
	struct xsk_umem *umem;
	void *area;
	size_t size;
	unsigned int queues;
	bool zerocopy;
	struct xm_xsk_queue q[];
};

/*
 * Create the UMEM and the sockets of queues 0..queues-1 on dev (RX) and
 * tx_dev (TX), insert the RX sockets into xsks_fd.  Tries zero-copy
 * first and falls back to copy mode.  err_msg gets a reason on failure.
 */
int xm_xsk_setup(struct xm_xsk_set **out, const char *dev,
		 const char *tx_dev, unsigned int queues, int xsks_fd,
		 char *err_msg, size_t err_len);
void xm_xsk_teardown(struct xm_xsk_set *s);
/* The kernel's XDP_STATISTICS of a queue's RX socket and, when it is a
 * separate socket, its TX socket (else *tx is zeroed). */
int xm_xsk_queue_stats(const struct xm_xsk_queue *q,
		       struct xdp_statistics *rx, struct xdp_statistics *tx);

#endif /* XM_XSK_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * xsk.c - one UMEM shared by every socket of the daemon.
 *
 * Sharing one UMEM between the RX sockets on dev and the TX sockets on
 * tx-dev is what lets a worker transmit a received frame from the chunk
 * it arrived in, with the tunnel header written into its headroom.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>

#include "xsk.h"

static void xm_xsk_close_all(struct xm_xsk_set *s)
{
	unsigned int i;

	for (i = 0; i < s->queues; i++) {
		struct xm_xsk_queue *q = &s->q[i];

		if (q->tx_xsk && q->tx_xsk != q->rx_xsk)
			xsk_socket__delete(q->tx_xsk);
		if (q->rx_xsk)
			xsk_socket__delete(q->rx_xsk);
		q->tx_xsk = q->rx_xsk = NULL;
	}
	if (s->umem)
		xsk_umem__delete(s->umem);
	s->umem = NULL;
}

static int xm_xsk_queue_open(struct xm_xsk_set *s, unsigned int qid,
			     const char *dev, const char *tx_dev,
			     __u16 mode, char *err_msg, size_t err_len)
{
	struct xm_xsk_queue *q = &s->q[qid];
	struct xsk_socket_config cfg = {
		.rx_size = XM_RING_SIZE,
		.tx_size = XM_RING_SIZE,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP | mode,
	};
	bool same = strcmp(dev, tx_dev) == 0;
	int err;

	err = xsk_socket__create_shared(&q->rx_xsk, dev, qid, s->umem, &q->rx,
					same ? &q->tx : NULL, &q->fill,
					&q->comp, &cfg);
	if (err) {
		q->rx_xsk = NULL;
		snprintf(err_msg, err_len, "AF_XDP socket on %s queue %u: %s",
			 dev, qid, strerror(-err));
		return err;
	}
	q->rx_fd = xsk_socket__fd(q->rx_xsk);
	if (same) {
		q->tx_xsk = q->rx_xsk;
		q->tx_fd = q->rx_fd;
		q->cq = &q->comp;
		return 0;
	}
	err = xsk_socket__create_shared(&q->tx_xsk, tx_dev, qid, s->umem,
					NULL, &q->tx, &q->tx_fill,
					&q->tx_comp, &cfg);
	if (err) {
		q->tx_xsk = NULL;
		snprintf(err_msg, err_len,
			 "AF_XDP TX socket on %s queue %u: %s (--queues N needs N queues on both devices)",
			 tx_dev, qid, strerror(-err));
		return err;
	}
	q->tx_fd = xsk_socket__fd(q->tx_xsk);
	q->cq = &q->tx_comp;
	return 0;
}

static int xm_xsk_try(struct xm_xsk_set *s, const char *dev,
		      const char *tx_dev, int xsks_fd, __u16 mode,
		      char *err_msg, size_t err_len)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XM_RING_SIZE,
		.comp_size = XM_RING_SIZE,
		.frame_size = XM_FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	unsigned int i;
	int err;

	err = xsk_umem__create(&s->umem, s->area, s->size, &s->q[0].fill,
			       &s->q[0].comp, &ucfg);
	if (err) {
		s->umem = NULL;
		snprintf(err_msg, err_len, "UMEM: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < s->queues; i++) {
		err = xm_xsk_queue_open(s, i, dev, tx_dev, mode, err_msg,
					err_len);
		if (err)
			goto err_close;
		err = xsk_socket__update_xskmap(s->q[i].rx_xsk, xsks_fd);
		if (err) {
			snprintf(err_msg, err_len, "xsks map: %s",
				 strerror(-err));
			goto err_close;
		}
	}
	s->zerocopy = mode == XDP_ZEROCOPY;
	return 0;

err_close:
	xm_xsk_close_all(s);
	return err;
}

int xm_xsk_setup(struct xm_xsk_set **out, const char *dev,
		 const char *tx_dev, unsigned int queues, int xsks_fd,
		 char *err_msg, size_t err_len)
{
	struct xm_xsk_set *s;
	int err;

	s = calloc(1, sizeof(*s) + queues * sizeof(s->q[0]));
	if (!s)
		return -ENOMEM;
	s->queues = queues;
	s->size = (size_t)queues * XM_FRAMES_PER_QUEUE * XM_FRAME_SIZE;
	s->area = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (s->area == MAP_FAILED) {
		err = -errno;
		snprintf(err_msg, err_len, "UMEM area: %s", strerror(-err));
		goto err_free;
	}
	/* The mode of the first socket binds the whole UMEM, so a failure
	 * anywhere in zero-copy mode restarts everything in copy mode. */
	err = xm_xsk_try(s, dev, tx_dev, xsks_fd, XDP_ZEROCOPY, err_msg,
			 err_len);
	if (err) {
		memset(s->q, 0, queues * sizeof(s->q[0]));
		err = xm_xsk_try(s, dev, tx_dev, xsks_fd, XDP_COPY, err_msg,
				 err_len);
	}
	if (err)
		goto err_unmap;
	*out = s;
	return 0;

err_unmap:
	munmap(s->area, s->size);
err_free:
	free(s);
	return err;
}

void xm_xsk_teardown(struct xm_xsk_set *s)
{
	if (!s)
		return;
	xm_xsk_close_all(s);
	munmap(s->area, s->size);
	free(s);
}

int xm_xsk_queue_stats(const struct xm_xsk_queue *q,
		       struct xdp_statistics *rx, struct xdp_statistics *tx)
{
	socklen_t len = sizeof(*rx);

	memset(rx, 0, sizeof(*rx));
	memset(tx, 0, sizeof(*tx));
	if (getsockopt(q->rx_fd, SOL_XDP, XDP_STATISTICS, rx, &len))
		return -errno;
	if (q->tx_fd == q->rx_fd)
		return 0;
	len = sizeof(*tx);
	if (getsockopt(q->tx_fd, SOL_XDP, XDP_STATISTICS, tx, &len))
		return -errno;
	return 0;
}

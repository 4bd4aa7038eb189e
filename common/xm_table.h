/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_table.h - reading and publishing the classifier's tables (rules,
 * tuples, residual list, hash keys) of one device, generation by
 * generation.
 *
 * A change is written into the table half that is not live, after every
 * XDP run that could still be reading that half has finished (the
 * quiescence wait on the qsbr map); one 32-bit store then makes the half
 * live.  So no frame is ever classified against a half-written table, and
 * a change (or a whole batch) becomes visible all at once.
 */
#ifndef XM_TABLE_H
#define XM_TABLE_H

#include <linux/types.h>

#include "xm_maps.h"
#include "xm_types.h"

struct xm_layout;

/* The mmapped tables of a device plus the fds of the rest. */
struct xm_table {
	struct xm_ctl *ctl;
	struct xm_rule *rules;		/* 2 * XM_MAX_RULES */
	struct xm_tuple *tuples;	/* 2 * XM_MAX_TUPLES */
	__u64 *resid;			/* 2 * XM_MAX_RULES */
	int hash_fd;
	int qsbr_fd;
	struct xm_layout *scratch[2];	/* publish's work space */
};

/* Map the tables of maps m (read-write, shared). */
int xm_table_open(struct xm_table *tb, const struct xm_maps *m);
void xm_table_close(struct xm_table *tb);

/* The live rules, in (prio, id) order, into t (room for XM_MAX_RULES). */
int xm_table_read(const struct xm_table *tb, struct xm_rule *t, __u32 *n);
/* The rules of the half that is not live (the previous generation). */
int xm_table_read_old(const struct xm_table *tb, struct xm_rule *t,
		      __u32 *n);

/*
 * Make the (prio, id)-sorted rules t[0..n) the live table.  Waits (up to
 * one second, -ETIMEDOUT) for XDP runs on the inactive half to finish,
 * rewrites it (only the hash keys that differ), then flips.  -E2BIG when
 * n exceeds XM_MAX_RULES.
 */
int xm_table_publish(struct xm_table *tb, const struct xm_rule *t, __u32 n);

/* Wait until no XDP run that started before this call is still running
 * (per-CPU entry/exit counters).  0 or -ETIMEDOUT. */
int xm_qsbr_wait(int qsbr_fd, unsigned int timeout_ms);

#endif /* XM_TABLE_H */

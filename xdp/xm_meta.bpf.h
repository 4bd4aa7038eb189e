/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_meta.bpf.h - the struct xm_meta an XDP program writes in front of a
 * frame it hands to the AF_XDP datapath (bpf_xdp_adjust_meta), for every
 * XDP program of xdp-mirror: the appliance's and host mode's.
 */
#ifndef XM_META_BPF_H
#define XM_META_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xm_types.h"

/*
 * Put the metadata of a frame that matched rule r, seen in direction dir
 * (XM_DIR_*), in front of it.  orig_len: its length before the program
 * cut it to fit a UMEM frame, 0 when it was not cut.  Returns 0, or -1
 * when the frame has no room for it.
 */
static __always_inline int xm_meta_push(struct xdp_md *ctx,
					const struct xm_rule *r, __u32 hash,
					__u32 orig_len, __u8 dir)
{
	struct xm_meta *m;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return -1;
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data)
		return -1;
	m->coll_mask = r->coll_mask;
	m->rule_id = r->id;
	m->flow_hash = hash;
	m->magic = XM_META_MAGIC;
	m->orig_len = orig_len;
	m->snaplen = r->snaplen;
	m->dir = dir;
	m->pad = 0;
	m->pad2 = 0;
	return 0;
}

/* The metadata already in front of the frame, or NULL when there is
 * none (a frame from the stack has none) or it is not ours. */
static __always_inline struct xm_meta *xm_meta_get(struct xdp_md *ctx)
{
	struct xm_meta *m = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;

	if ((void *)(m + 1) > data || m->magic != XM_META_MAGIC)
		return NULL;
	return m;
}

#endif /* XM_META_BPF_H */

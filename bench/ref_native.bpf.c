// SPDX-License-Identifier: GPL-2.0
/*
 * ref_native.bpf.c - the XDP-native limit: no AF_XDP, no skb.  Every
 * frame gets a VXLAN header (Ethernet + IPv4 + UDP + VXLAN, 50 bytes)
 * written into its headroom and is XDP_REDIRECTed to the TX device
 * through a devmap.  No classification.
 *
 * One collector: the XDP program writes the header and redirects to
 * devmap entry 0.  Two collectors: XDP cannot duplicate a frame itself,
 * so the program broadcasts it to devmap entries 0 and 1 (both the TX
 * device; the kernel clones the frame for all but the last) and a
 * devmap program writes each copy's header.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "proto/l2l3.h"
#include "bench_ref.h"

/* Written by the loader before load. */
struct xm_ref_hdr tmpl[XM_REF_MAX_COLL] = {};
__u32 ncoll = 1;

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, XM_REF_MAX_COLL);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XM_NAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} nat_counts SEC(".maps");

static __always_inline void nat_add(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&nat_counts, &idx);

	if (c)
		*c += 1;
}

/* Prepend collector i's header to the frame in ctx.  Returns 0 or -1. */
static __always_inline int ref_encap(struct xdp_md *ctx, __u32 i)
{
	__u32 len = ctx->data_end - ctx->data;
	const struct xm_ref_hdr *t;
	struct xm_iphdr *iph;
	struct xm_udphdr *uh;
	void *data, *data_end;
	__u32 sum;

	if (i >= XM_REF_MAX_COLL)
		return -1;
	t = &tmpl[i];
	if (bpf_xdp_adjust_head(ctx, -XM_REF_HDR_LEN))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + XM_REF_HDR_LEN > data_end)
		return -1;
	__builtin_memcpy(data, t->b, XM_REF_HDR_LEN);
	iph = data + XM_REF_IP_OFF;
	uh = data + XM_REF_UDP_OFF;
	iph->tot_len = xm_htons((__u16)(len + 36));
	uh->len = xm_htons((__u16)(len + 16));
	/* The template's checksum covers tot_len 0: add the length. */
	sum = (__u16)~iph->check;
	sum += iph->tot_len;
	sum = (sum & 0xffff) + (sum >> 16);
	iph->check = (__u16)~sum;
	return 0;
}

SEC("xdp")
int xm_ref_native(struct xdp_md *ctx)
{
	nat_add(XM_NAT_RX);
	if (ncoll > 1)
		return bpf_redirect_map(&tx_port, 0, BPF_F_BROADCAST);
	if (ref_encap(ctx, 0)) {
		nat_add(XM_NAT_NO_ROOM);
		return XDP_DROP;
	}
	return bpf_redirect_map(&tx_port, 0, 0);
}

/*
 * Broadcast copies both run this program: the kernel batches frames per
 * TX device and runs one devmap program per batch (the first entry's),
 * so per-entry programs cannot tell the copies apart.  The copies of a
 * frame reach it one after the other, so alternating the template per
 * CPU gives each frame one copy for each collector.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} turn SEC(".maps");

SEC("xdp/devmap")
int xm_ref_dev(struct xdp_md *ctx)
{
	__u32 zero = 0, i;
	__u32 *t = bpf_map_lookup_elem(&turn, &zero);

	if (!t)
		return XDP_DROP;
	i = *t;
	*t = i ? 0 : 1;
	if (ref_encap(ctx, i)) {
		nat_add(XM_NAT_NO_ROOM);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

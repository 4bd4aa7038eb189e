// SPDX-License-Identifier: GPL-2.0
/*
 * ref_xsk.bpf.c - XDP half of the AF_XDP ceiling: every frame goes to
 * the AF_XDP socket of its RX queue, no parsing, no classification.  What
 * xdp-mirror's XDP program adds on top of this is its classifier.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xm_ref_xsk(struct xdp_md *ctx)
{
	/* No socket on the queue: hand the frame to the stack, as the
	 * appliance does. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

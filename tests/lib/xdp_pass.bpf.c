// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_pass.bpf.c - passes every frame.  Tests attach it to the collector
 * side of a veth: a veth delivers XDP-redirected frames (the appliance's
 * fast path) only when its peer runs NAPI, which an XDP program turns on
 * without the GRO that would merge what the collector captures.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int xm_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

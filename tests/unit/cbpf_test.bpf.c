// SPDX-License-Identifier: GPL-2.0
/*
 * cbpf_test.bpf.c - the classic BPF interpreter of include/xm_cbpf.h in an
 * XDP program of its own, for tests/unit/test_cbpf.c: it runs the filter
 * in cbpf_prog[0] on each frame BPF_PROG_TEST_RUN hands it, stores the
 * exact return value in cbpf_ret and returns XDP_PASS for a match,
 * XDP_DROP for none (XDP_ABORTED if the map lookup fails).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xm_cbpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_cbpf_prog);
} cbpf_prog SEC(".maps");

/* Written on every run: the test reads them through the skeleton. */
__u32 cbpf_ret;
__u32 cbpf_runs;

SEC("xdp")
int xm_cbpf_test(struct xdp_md *ctx)
{
	const struct xm_cbpf_prog *p;
	__u32 key = 0;
	__u32 ret;

	p = bpf_map_lookup_elem(&cbpf_prog, &key);
	if (!p)
		return XDP_ABORTED;
	ret = xm_cbpf_run_xdp(p, ctx);
	cbpf_ret = ret;
	cbpf_runs++;
	return ret ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

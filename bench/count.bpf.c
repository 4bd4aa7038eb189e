// SPDX-License-Identifier: GPL-2.0
/*
 * count.bpf.c - the benchmark's frame counter: the collector end of every
 * system under test, and the bare XDP_DROP peer that measures what the
 * generator alone costs.  Counting in XDP (not tcpdump) keeps the
 * collector's own cost per frame small and the same for every system.
 *
 * Counts every frame and byte, and separately the VXLAN-over-IPv4 frames
 * (UDP dport 4789) overall and for VNI 1 and VNI 2 (the two collectors of
 * a two-collector run); everything is dropped.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "proto/l2l3.h"
#include "proto/vxlan.h"

#include "bench_ref.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void cnt_add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &idx);

	if (c)
		*c += v;
}

SEC("xdp")
int xm_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xm_ethhdr *eth = data;
	struct xm_iphdr *iph;
	struct xm_udphdr *uh;
	struct xm_vxlanhdr *vh;
	__u32 vni;

	cnt_add(XM_CNT_FRAMES, 1);
	cnt_add(XM_CNT_BYTES, (__u64)(data_end - data));
	iph = (void *)(eth + 1);
	uh = (void *)(iph + 1);
	vh = (void *)(uh + 1);
	if ((void *)(vh + 1) > data_end)
		return XDP_DROP;
	if (eth->proto != xm_htons(XM_ETH_P_IP) || iph->ver_ihl != 0x45 ||
	    iph->proto != XM_IPPROTO_UDP || uh->dest != xm_htons(4789))
		return XDP_DROP;
	cnt_add(XM_CNT_VXLAN, 1);
	cnt_add(XM_CNT_VXLAN_BYTES, (__u64)(data_end - data));
	vni = xm_ntohl(vh->vni_res) >> 8;
	if (vni == 1)
		cnt_add(XM_CNT_VNI1, 1);
	else if (vni == 2)
		cnt_add(XM_CNT_VNI2, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

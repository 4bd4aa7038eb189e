// SPDX-License-Identifier: GPL-2.0
/*
 * tc_count.bpf.c - "somebody else's" tc program: counts the frames it
 * sees in tc_count_seen and lets them go on (TC_ACT_UNSPEC).  The host
 * mode test attaches it to the NIC before starting the mirror, to show
 * that other tc programs keep running and stay attached after stop.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

__u64 tc_count_seen = 0;

SEC("tc")
int xm_tc_count(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tc_count_seen, 1);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";

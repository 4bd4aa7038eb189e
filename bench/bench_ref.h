/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench_ref.h - what the benchmark's BPF programs (count, ref_xsk,
 * ref_native) and their loader xm-ref agree on.
 */
#ifndef XM_BENCH_REF_H
#define XM_BENCH_REF_H

/* count.bpf.c: per-CPU counters, summed by the loader. */
enum {
	XM_CNT_FRAMES,
	XM_CNT_BYTES,
	XM_CNT_VXLAN,		/* IPv4 UDP dport 4789 */
	XM_CNT_VXLAN_BYTES,
	XM_CNT_VNI1,
	XM_CNT_VNI2,
	XM_CNT_MAX,
};

/* Ethernet + IPv4 + UDP + VXLAN: what every reference system prepends. */
#define XM_REF_HDR_LEN 50
#define XM_REF_IP_OFF 14
#define XM_REF_UDP_OFF 34

/* One collector's header, built by the loader.  The IPv4 checksum is
 * computed with tot_len 0 and the UDP checksum is 0, so per frame only
 * the two lengths and the checksum's length term change. */
struct xm_ref_hdr {
	__u8 b[52];		/* XM_REF_HDR_LEN, padded to 4 bytes */
};

/* ref_native.bpf.c counters (per CPU). */
enum {
	XM_NAT_RX,
	XM_NAT_NO_ROOM,		/* bpf_xdp_adjust_head refused */
	XM_NAT_MAX,
};

#define XM_REF_MAX_COLL 2

#endif /* XM_BENCH_REF_H */

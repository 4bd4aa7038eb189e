/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Wire headers used by the parser and the encapsulation templates.
 * Own definitions (not linux/ipv6.h) so that user space can include them
 * next to glibc's netinet headers without redefinition clashes.
 */
#ifndef XM_PROTO_L2L3_H
#define XM_PROTO_L2L3_H

#include "../xm_compat.h"

struct xm_ethhdr {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
} __attribute__((packed));

struct xm_vlanhdr {
	__be16 tci;
	__be16 proto;		/* encapsulated ethertype */
} __attribute__((packed));

struct xm_iphdr {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 proto;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
} __attribute__((packed));

#define XM_IP_DF 0x4000
#define XM_IP_MF 0x2000
#define XM_IP_OFFMASK 0x1fff

struct xm_ipv6hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
} __attribute__((packed));

struct xm_ipv6_opthdr {
	__u8 nexthdr;
	__u8 hdrlen;		/* 8-octet units, not counting the first 8 */
} __attribute__((packed));

struct xm_ipv6_fraghdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset << 3 | M */
	__be32 ident;
} __attribute__((packed));

struct xm_udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__u16 check;
} __attribute__((packed));

struct xm_tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res;		/* data offset in the high nibble */
	__u8 flags;
	__be16 window;
	__u16 check;
	__be16 urg_ptr;
} __attribute__((packed));

/* Ports sit first in SCTP's common header too. */
struct xm_sctphdr {
	__be16 source;
	__be16 dest;
	__be32 vtag;
	__be32 checksum;
} __attribute__((packed));

struct xm_icmphdr {
	__u8 type;
	__u8 code;
	__u16 check;
} __attribute__((packed));

#endif /* XM_PROTO_L2L3_H */

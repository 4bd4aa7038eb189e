/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_encap.h - encapsulation header templates and their per-packet
 * update.  A template is built once per collector (when it or its next
 * hop changes); per packet only lengths, the checksum and the flow-hash
 * source port are written.  One implementation for the AF_XDP datapath,
 * the XDP fast path and the tests.
 */
#ifndef XM_ENCAP_H
#define XM_ENCAP_H

#include "xm_compat.h"
#include "proto/l2l3.h"
#include "proto/vxlan.h"

#define XM_TMPL_MAX 128

/* Bytes VXLAN over IPv4 puts in front of the mirrored frame. */
#define XM_VXLAN4_LEN                                                     \
	(sizeof(struct xm_ethhdr) + sizeof(struct xm_iphdr) +             \
	 sizeof(struct xm_udphdr) + sizeof(struct xm_vxlanhdr))

struct xm_tmpl {
	__u16 len;		/* bytes of hdr[] prepended to the frame */
	__u16 ip_off;		/* offset of the outer IPv4 header */
	__u16 udp_off;		/* offset of the UDP header */
	__u16 pad;
	__u32 ip_sum;		/* folded 16-bit sum of the IPv4 header with
				 * tot_len and check zero */
	__u8 hdr[XM_TMPL_MAX];
};

XM_INLINE __u32 xm_csum_add(__u32 sum, const void *buf, __u32 len)
{
	const __u16 *w = buf;
	__u32 i;

	for (i = 0; i < len / 2; i++)
		sum += w[i];
	return sum;
}

XM_INLINE __u16 xm_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

struct xm_vxlan4_params {
	__u8 src_mac[6];
	__u8 dst_mac[6];
	__be32 saddr;
	__be32 daddr;
	__u32 vni;
	__u16 dport;		/* host order */
	__u8 ttl;
	__u8 tos;
};

/* Build the Ethernet/IPv4/UDP/VXLAN template for one collector. */
static inline void xm_tmpl_vxlan4(struct xm_tmpl *t,
				  const struct xm_vxlan4_params *p)
{
	struct xm_ethhdr *eth = (void *)t->hdr;
	struct xm_iphdr *iph = (void *)(eth + 1);
	struct xm_udphdr *uh = (void *)(iph + 1);
	struct xm_vxlanhdr *vh = (void *)(uh + 1);

	__builtin_memset(t, 0, sizeof(*t));
	t->len = XM_VXLAN4_LEN;
	t->ip_off = sizeof(*eth);
	t->udp_off = sizeof(*eth) + sizeof(*iph);

	__builtin_memcpy(eth->dst, p->dst_mac, 6);
	__builtin_memcpy(eth->src, p->src_mac, 6);
	eth->proto = xm_htons(XM_ETH_P_IP);

	iph->ver_ihl = 0x45;
	iph->tos = p->tos;
	/* DF: never fragment a mirrored copy; it is truncated instead. */
	iph->frag_off = xm_htons(XM_IP_DF);
	iph->ttl = p->ttl ? p->ttl : 64;
	iph->proto = XM_IPPROTO_UDP;
	iph->saddr = p->saddr;
	iph->daddr = p->daddr;
	t->ip_sum = xm_csum_fold(xm_csum_add(0, iph, sizeof(*iph)));

	uh->dest = xm_htons(p->dport);
	/* UDP checksum zero is allowed for VXLAN over IPv4 (RFC 7348). */
	vh->flags = XM_VXLAN_FLAG_I;
	vh->vni_res = xm_htonl((p->vni & 0xffffff) << 8);
}

/* Write the filled-in header of template t at out, in front of a frame of
 * inner_len bytes whose flow hash is hash.  out must have t->len bytes. */
XM_INLINE void xm_tmpl_apply_vxlan4(void *out, const struct xm_tmpl *t,
				    __u32 inner_len, __u32 hash)
{
	struct xm_iphdr *iph;
	struct xm_udphdr *uh;
	__u16 tot;

	__builtin_memcpy(out, t->hdr, XM_VXLAN4_LEN);
	iph = (void *)((__u8 *)out + sizeof(struct xm_ethhdr));
	uh = (void *)(iph + 1);

	tot = (__u16)(inner_len + XM_VXLAN4_LEN - sizeof(struct xm_ethhdr));
	iph->tot_len = xm_htons(tot);
	iph->check = (__u16)~xm_csum_fold(t->ip_sum + xm_htons(tot));
	uh->len = xm_htons((__u16)(tot - sizeof(*iph)));
	uh->source = xm_htons((__u16)(XM_UDP_SPORT_BASE |
				      (hash & XM_UDP_SPORT_MASK)));
}

#endif /* XM_ENCAP_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_parse.h - the one frame parser, used by the XDP program and by user
 * space (tests, the differential classifier check).  It works on a
 * [data, data_end) pair so the BPF verifier sees every bounds check.
 *
 * Parsing never guesses: a header that does not fit, or whose lengths
 * contradict each other, stops the parse at the last good layer and sets
 * flow->malformed.  Later layers then stay "absent" and only rules that do
 * not ask for them can match.
 */
#ifndef XM_PARSE_H
#define XM_PARSE_H

#include "xm_compat.h"
#include "proto/l2l3.h"

#define XM_MAX_VLANS 2
#define XM_MAX_EXTHDRS 6	/* IPv6 extension headers we walk through */

enum xm_malformed {
	XM_MAL_NONE = 0,
	XM_MAL_L2,		/* Ethernet or VLAN header cut short */
	XM_MAL_L3,		/* IP header cut short or inconsistent */
	XM_MAL_L4,		/* transport header cut short or inconsistent */
};

struct xm_flow {
	__u8 family;		/* 0 (not IP), 4 or 6: set once L3 is valid */
	__u8 proto;		/* upper-layer protocol when family != 0 */
	__u8 l4_ok;		/* sport/dport valid (TCP, UDP, SCTP) */
	__u8 malformed;		/* enum xm_malformed */
	__u8 nvlan;
	__u8 frag;		/* 1: fragment, 2: non-first fragment */
	__u16 sport, dport;	/* host order */
	__u16 vlan[XM_MAX_VLANS]; /* VLAN ids, outer first */
	__u16 l3_off, l4_off;
	__u16 ethertype;	/* host order, after VLAN tags */
	__u8 src[16];		/* IPv4 in the first 4 bytes */
	__u8 dst[16];
	__u8 icmp_type;		/* ICMP/ICMPv6 type when icmp_ok */
	__u8 icmp_ok;		/* an ICMP or ICMPv6 header parsed */
	__u8 dscp;		/* when family != 0 */
	__u8 tcp_flags;		/* when proto is TCP and l4_ok */
	__u8 dir;		/* XM_DIR_*: set by the caller */
	__u8 pad;
	__u32 ifindex;		/* ingress device: set by the caller */
};

XM_INLINE __u32 xm_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

XM_INLINE __u32 xm_hash_round(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = xm_rol32(k, 15) * 0x1b873593u;
	return xm_rol32(h ^ k, 13) * 5 + 0xe6546b64u;
}

/* Flow hash over addresses and ports (murmur3-style mixing): spreads
 * flows over a collector's RSS queues via the outer UDP source port.
 * An IPv4 address is one word: three rounds instead of nine. */
XM_INLINE __u32 xm_flow_hash(const struct xm_flow *f)
{
	const __u32 *s = (const __u32 *)f->src;
	const __u32 *d = (const __u32 *)f->dst;
	__u32 h = 0x9747b28cu ^ f->proto;
	int i;

	if (f->family == 4) {
		h = xm_hash_round(h, s[0]);
		h = xm_hash_round(h, d[0]);
	} else {
		XM_UNROLL
		for (i = 0; i < 4; i++)
			h = xm_hash_round(h, s[i]);
		XM_UNROLL
		for (i = 0; i < 4; i++)
			h = xm_hash_round(h, d[i]);
	}
	h = xm_hash_round(h, ((__u32)f->sport << 16) | f->dport);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * p: transport header, end: end of the frame (the only bound the BPF
 * verifier learns from), avail: bytes the IP header says follow p, which
 * excludes Ethernet padding.  Both must hold.
 */
XM_INLINE void xm_parse_l4(const __u8 *p, const __u8 *end, __u32 avail,
			   struct xm_flow *f)
{
	if (f->frag == 2)
		return;	/* non-first fragment: no transport header here */

	switch (f->proto) {
	case XM_IPPROTO_TCP: {
		const struct xm_tcphdr *th = (const void *)p;

		__u32 doff;

		if ((const __u8 *)(th + 1) > end || avail < sizeof(*th)) {
			f->malformed = XM_MAL_L4;
			return;
		}
		doff = (__u32)(th->doff_res >> 4) * 4;
		if (doff < sizeof(*th) || doff > avail ||
		    p + doff > end) {
			f->malformed = XM_MAL_L4;
			return;
		}
		f->sport = xm_ntohs(th->source);
		f->dport = xm_ntohs(th->dest);
		f->tcp_flags = th->flags;
		f->l4_ok = 1;
		return;
	}
	case XM_IPPROTO_UDP: {
		const struct xm_udphdr *uh = (const void *)p;

		if ((const __u8 *)(uh + 1) > end || avail < sizeof(*uh) ||
		    xm_ntohs(uh->len) < sizeof(*uh)) {
			f->malformed = XM_MAL_L4;
			return;
		}
		f->sport = xm_ntohs(uh->source);
		f->dport = xm_ntohs(uh->dest);
		f->l4_ok = 1;
		return;
	}
	case XM_IPPROTO_SCTP: {
		const struct xm_sctphdr *sh = (const void *)p;

		if ((const __u8 *)(sh + 1) > end || avail < sizeof(*sh)) {
			f->malformed = XM_MAL_L4;
			return;
		}
		f->sport = xm_ntohs(sh->source);
		f->dport = xm_ntohs(sh->dest);
		f->l4_ok = 1;
		return;
	}
	case XM_IPPROTO_ICMP:
	case XM_IPPROTO_ICMPV6: {
		const struct xm_icmphdr *ih = (const void *)p;

		if ((const __u8 *)(ih + 1) > end || avail < sizeof(*ih)) {
			f->malformed = XM_MAL_L4;
			return;
		}
		f->icmp_type = ih->type;
		f->icmp_ok = 1;
		return;
	}
	default:
		return;
	}
}

/*
 * The frame as a whole, for length checks: wirelen bytes from start.  A
 * tc program can read only an skb's linear part, [start, end), the rest
 * of the frame is in pages.  wirelen 0: end is the frame's end (XDP and
 * user space).
 */
struct xm_wire {
	const __u8 *start;
	__u32 wirelen;
};

/* Would n bytes from p run past the frame's end?  Only length checks
 * use this, never reads: those stay bounded by end. */
XM_INLINE int xm_past_end(const __u8 *p, const __u8 *end,
			  const struct xm_wire *w, __u32 n)
{
	if (!w->wirelen)
		return p + n > end;
	return (__u64)(p - w->start) + n > w->wirelen;
}

XM_INLINE void xm_parse_ipv4(const __u8 *p, const __u8 *end,
			     const struct xm_wire *w, struct xm_flow *f)
{
	const struct xm_iphdr *iph = (const void *)p;
	__u32 ihl, tot;
	__u16 frag;

	if ((const __u8 *)(iph + 1) > end) {
		f->malformed = XM_MAL_L3;
		return;
	}
	ihl = (iph->ver_ihl & 0x0f) * 4;
	tot = xm_ntohs(iph->tot_len);
	if ((iph->ver_ihl >> 4) != 4 || ihl < 20 || p + ihl > end ||
	    tot < ihl || xm_past_end(p, end, w, tot)) {
		f->malformed = XM_MAL_L3;
		return;
	}
	f->family = 4;
	f->proto = iph->proto;
	f->dscp = iph->tos >> 2;
	__builtin_memcpy(f->src, &iph->saddr, 4);
	__builtin_memcpy(f->dst, &iph->daddr, 4);
	frag = xm_ntohs(iph->frag_off);
	if (frag & (XM_IP_MF | XM_IP_OFFMASK))
		f->frag = (frag & XM_IP_OFFMASK) ? 2 : 1;
	f->l4_off = f->l3_off + ihl;
	/* Ethernet padding beyond tot_len is not transport data. */
	xm_parse_l4(p + ihl, end, tot - ihl, f);
}

XM_INLINE int xm_ipv6_is_ext(__u8 nh)
{
	return nh == XM_IPPROTO_HOPOPTS || nh == XM_IPPROTO_ROUTING ||
	       nh == XM_IPPROTO_DSTOPTS || nh == XM_IPPROTO_FRAGMENT ||
	       nh == XM_IPPROTO_AH;
}

XM_INLINE void xm_parse_ipv6(const __u8 *p, const __u8 *end,
			     const struct xm_wire *w, struct xm_flow *f)
{
	const struct xm_ipv6hdr *ip6 = (const void *)p;
	__u32 avail;		/* payload bytes left after p */
	__u8 nh;
	int i;

	if ((const __u8 *)(ip6 + 1) > end ||
	    (xm_ntohl(ip6->ver_tc_flow) >> 28) != 6) {
		f->malformed = XM_MAL_L3;
		return;
	}
	avail = xm_ntohs(ip6->payload_len);
	if (xm_past_end((const __u8 *)(ip6 + 1), end, w, avail)) {
		f->malformed = XM_MAL_L3;
		return;
	}
	f->family = 6;
	f->dscp = (__u8)((xm_ntohl(ip6->ver_tc_flow) >> 22) & 0x3f);
	__builtin_memcpy(f->src, ip6->saddr, 16);
	__builtin_memcpy(f->dst, ip6->daddr, 16);
	nh = ip6->nexthdr;
	p = (const __u8 *)(ip6 + 1);

	XM_UNROLL
	for (i = 0; i < XM_MAX_EXTHDRS; i++) {
		const struct xm_ipv6_opthdr *oh = (const void *)p;
		__u32 len;

		if (!xm_ipv6_is_ext(nh))
			break;
		if ((const __u8 *)(oh + 1) > end || avail < sizeof(*oh)) {
			f->malformed = XM_MAL_L3;
			return;
		}
		if (nh == XM_IPPROTO_FRAGMENT) {
			const struct xm_ipv6_fraghdr *fh = (const void *)p;

			if ((const __u8 *)(fh + 1) > end ||
			    avail < sizeof(*fh)) {
				f->malformed = XM_MAL_L3;
				return;
			}
			f->frag = (xm_ntohs(fh->frag_off) & 0xfff8) ? 2 : 1;
			len = 8;
		} else if (nh == XM_IPPROTO_AH) {
			len = ((__u32)oh->hdrlen + 2) * 4;
		} else {
			len = ((__u32)oh->hdrlen + 1) * 8;
		}
		if (len > avail) {
			f->malformed = XM_MAL_L3;
			return;
		}
		nh = oh->nexthdr;
		p += len;
		avail -= len;
	}
	f->proto = nh;
	if (xm_ipv6_is_ext(nh))
		return;	/* more extension headers than we walk: L3 only */
	f->l4_off = (__u16)(p - (const __u8 *)ip6) + f->l3_off;
	xm_parse_l4(p, end, avail, f);
}

/* Parse one frame into *f (which the caller zeroes).  Always succeeds in
 * the sense that f describes what could be parsed; see f->malformed.
 * wirelen: the frame's length when only [data, data_end) of it can be
 * read (an skb with paged data); 0 when that is the whole frame. */
XM_INLINE void xm_parse_wire(const void *data, const void *data_end,
			     __u32 wirelen, struct xm_flow *f)
{
	const struct xm_wire w = { .start = data, .wirelen = wirelen };
	const __u8 *p = data;
	const __u8 *end = data_end;
	const struct xm_ethhdr *eth = data;
	__u16 proto;
	int i;

	if ((const __u8 *)(eth + 1) > end) {
		f->malformed = XM_MAL_L2;
		return;
	}
	proto = xm_ntohs(eth->proto);
	p = (const __u8 *)(eth + 1);

	XM_UNROLL
	for (i = 0; i < XM_MAX_VLANS; i++) {
		const struct xm_vlanhdr *vh = (const void *)p;

		if (proto != XM_ETH_P_8021Q && proto != XM_ETH_P_8021AD)
			break;
		if ((const __u8 *)(vh + 1) > end) {
			f->malformed = XM_MAL_L2;
			return;
		}
		f->vlan[i] = xm_ntohs(vh->tci) & 0x0fff;
		f->nvlan = i + 1;
		proto = xm_ntohs(vh->proto);
		p = (const __u8 *)(vh + 1);
	}
	f->ethertype = proto;
	f->l3_off = (__u16)(p - (const __u8 *)data);

	if (proto == XM_ETH_P_IP)
		xm_parse_ipv4(p, end, &w, f);
	else if (proto == XM_ETH_P_IPV6)
		xm_parse_ipv6(p, end, &w, f);
}

XM_INLINE void xm_parse(const void *data, const void *data_end,
			struct xm_flow *f)
{
	xm_parse_wire(data, data_end, 0, f);
}

/*
 * Does the parsed frame belong to neighbour resolution: ARP (also behind
 * VLAN tags), or ICMPv6 router/neighbour discovery?  The ICMPv6 message
 * must be whole and unfragmented: RFC 6980 has receivers drop
 * fragmented ND, so a fragment is ordinary traffic.
 */
XM_INLINE int xm_flow_is_neigh(const struct xm_flow *f)
{
	if (f->ethertype == XM_ETH_P_ARP)
		return 1;
	return f->family == 6 && f->proto == XM_IPPROTO_ICMPV6 &&
	       !f->frag && !f->malformed && f->icmp_ok &&
	       f->icmp_type >= XM_ICMPV6_ND_FIRST &&
	       f->icmp_type <= XM_ICMPV6_ND_LAST;
}

#endif /* XM_PARSE_H */

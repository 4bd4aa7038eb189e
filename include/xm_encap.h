/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_encap.h - encapsulation header templates and their per-packet
 * update, for every format: VXLAN, GENEVE, GRE (TEB), ERSPAN II and III,
 * over IPv4 or IPv6.  A template is built once per collector (when it or
 * its next hop changes); per packet only lengths, checksums, the
 * flow-hash fields, the sequence number and the ERSPAN per-frame fields
 * are written.  One implementation for the AF_XDP datapath, the XDP fast
 * path and the tests.
 */
#ifndef XM_ENCAP_H
#define XM_ENCAP_H

#include "xm_compat.h"
#include "xm_types.h"
#include "proto/l2l3.h"
#include "proto/vxlan.h"
#include "proto/tunnel.h"

/* Largest header: Ethernet + IPv6 + GRE with key and sequence + ERSPAN
 * III is 14 + 40 + 12 + 12 = 78 bytes. */
#define XM_TMPL_MAX 96
#define XM_ETH_HLEN 14
/* Field offsets in a template are at most 62 (ERSPAN over IPv6): masking
 * one with this changes nothing, and shows the verifier that the widest
 * access from it (12 bytes of ERSPAN III) stays inside hdr[]. */
#define XM_TMPL_OFF_MASK 0x3f

/* Where the per-packet fields of a template are. */
enum {
	XM_TMPL_F_UDP = 1 << 0,		/* UDP tunnel: length, source port */
	XM_TMPL_F_UDP_CSUM = 1 << 1,	/* UDP over IPv6: checksum too */
	XM_TMPL_F_DIR_OPT = 1 << 2,	/* GENEVE direction option (host
					 * mode): its last byte per copy */
};

struct xm_tmpl {
	__u16 len;		/* bytes of hdr[] prepended to the frame */
	__u16 l4_off;		/* UDP or GRE header */
	__u16 seq_off;		/* GRE sequence number; 0: none */
	__u16 ers_off;		/* ERSPAN header; 0: none */
	__u8 family;		/* 4 or 6 */
	__u8 encap;		/* enum xm_encap */
	__u8 flags;		/* XM_TMPL_F_* */
	__u8 ers_ver;		/* XM_ERSPAN_VER_* when ers_off */
	/* IPv4: folded sum of the IP header with tot_len and check zero.
	 * UDP over IPv6: folded sum of everything in the UDP checksum that
	 * is fixed per collector (addresses, next header, destination port,
	 * tunnel header). */
	__u32 sum;
	__u8 hdr[XM_TMPL_MAX];
};

/* Per-collector input of the template builder. */
struct xm_encap_params {
	__u8 src_mac[6];
	__u8 dst_mac[6];
	__u8 family;		/* 4 or 6 */
	__u8 encap;		/* enum xm_encap */
	__u8 coll_flags;	/* XM_COLL_F_KEY, XM_COLL_F_SEQ */
	__u8 dscp;
	__u8 ttl;		/* 0: XM_TTL_DEFAULT */
	__u8 hwid;
	__u16 session;
	__u32 vni;
	__u32 key;
	__u16 dport;		/* host order; 0: the format's default */
	__u8 dir_opt;		/* GENEVE: carry the direction option */
	__u8 pad;
	__u8 saddr[16];		/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
};

/* Per-copy input of the update. */
struct xm_encap_pkt {
	__u32 len;		/* inner bytes sent (after truncation) */
	__u32 hash;		/* flow hash of the inner frame */
	__u32 seq;		/* GRE sequence number */
	__u32 tstamp;		/* ERSPAN III timestamp, 100 ns units */
	__u32 payload_sum;	/* xm_csum_partial of the inner bytes sent;
				 * read only for XM_TMPL_F_UDP_CSUM */
	__u16 vlan_tci;		/* inner frame's outer tag, when tagged */
	__u8 tagged;
	__u8 truncated;		/* ERSPAN T bit */
	__u8 egress;		/* ERSPAN III D bit */
	__u8 pad[3];
};

/* ---- ones' complement sums (RFC 1071), on words as stored --------- */

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

#ifndef __bpf__
/*
 * Sum of len bytes of any length and alignment, folded to 32 bits; an
 * odd last byte is padded with zero as RFC 768 says.  User space only:
 * 32-bit loads into a 64-bit accumulator keep it at a few hundred
 * cycles for a 1500-byte frame.
 */
static inline __u32 xm_csum_partial(const void *buf, __u32 len)
{
	const __u8 *p = buf;
	__u64 sum = 0;
	__u32 w;
	__u16 h;

	for (; len >= 4; len -= 4, p += 4) {
		__builtin_memcpy(&w, p, 4);
		sum += w;
	}
	if (len >= 2) {
		__builtin_memcpy(&h, p, 2);
		sum += h;
		len -= 2;
		p += 2;
	}
	if (len) {
		__u8 last[2] = { p[0], 0 };

		__builtin_memcpy(&h, last, 2);
		sum += h;
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	return (__u32)sum;
}
#endif

/* The inner frame's outer 802.1Q/802.1ad tag, for ERSPAN's VLAN and COS
 * fields.  Returns 1 and sets *tci when the frame is tagged. */
XM_INLINE int xm_encap_inner_vlan(const __u8 *frame, __u32 len, __u16 *tci)
{
	__u16 proto;

	if (len < XM_ETH_HLEN + 4)
		return 0;
	proto = (__u16)(frame[12] << 8 | frame[13]);
	if (proto != XM_ETH_P_8021Q && proto != XM_ETH_P_8021AD)
		return 0;
	*tci = (__u16)(frame[14] << 8 | frame[15]);
	return 1;
}

/* ---- building a template (once per collector) -------------------- */

static inline __u16 xm_encap_default_port(__u8 encap)
{
	return encap == XM_ENCAP_GENEVE ? XM_GENEVE_PORT : XM_VXLAN_PORT;
}

static inline int xm_encap_is_udp(__u8 encap)
{
	return encap == XM_ENCAP_VXLAN || encap == XM_ENCAP_GENEVE;
}

/* Header words are only 2-byte aligned: go through memcpy. */
XM_INLINE void xm_put32(__u8 *p, __u32 host)
{
	__be32 v = xm_htonl(host);

	__builtin_memcpy(p, &v, 4);
}

XM_INLINE void xm_or32(__u8 *p, __u32 host)
{
	__be32 v;

	__builtin_memcpy(&v, p, 4);
	v |= xm_htonl(host);
	__builtin_memcpy(p, &v, 4);
}

/* The outer IP header at p; returns its length. */
static inline __u16 xm_tmpl_ip(struct xm_tmpl *t, __u8 *p,
			       const struct xm_encap_params *e, __u8 proto)
{
	__u8 ttl = e->ttl ? e->ttl : XM_TTL_DEFAULT;

	if (e->family == 4) {
		struct xm_iphdr *iph = (void *)p;

		iph->ver_ihl = 0x45;
		iph->tos = (__u8)((e->dscp & 0x3f) << 2);
		/* DF: a mirrored copy is truncated to fit, never
		 * fragmented. */
		iph->frag_off = xm_htons(XM_IP_DF);
		iph->ttl = ttl;
		iph->proto = proto;
		__builtin_memcpy(&iph->saddr, e->saddr, 4);
		__builtin_memcpy(&iph->daddr, e->daddr, 4);
		t->sum = xm_csum_fold(xm_csum_add(0, iph, sizeof(*iph)));
		return sizeof(*iph);
	}
	{
		struct xm_ipv6hdr *ip6 = (void *)p;

		ip6->ver_tc_flow = xm_htonl(6u << 28 |
					    (__u32)((e->dscp & 0x3f) << 2) << 20);
		ip6->nexthdr = proto;
		ip6->hop_limit = ttl;
		__builtin_memcpy(ip6->saddr, e->saddr, 16);
		__builtin_memcpy(ip6->daddr, e->daddr, 16);
		return sizeof(*ip6);
	}
}

/* UDP + VXLAN or GENEVE header at p; returns its length. */
static inline __u16 xm_tmpl_udp(__u8 *p, const struct xm_encap_params *e)
{
	struct xm_udphdr *uh = (void *)p;
	__u32 vni = xm_htonl((e->vni & 0xffffff) << 8);

	uh->dest = xm_htons(e->dport ? e->dport :
				       xm_encap_default_port(e->encap));
	if (e->encap == XM_ENCAP_VXLAN) {
		struct xm_vxlanhdr *vh = (void *)(uh + 1);

		vh->flags = XM_VXLAN_FLAG_I;
		vh->vni_res = vni;
	} else {
		struct xm_genevehdr *gh = (void *)(uh + 1);
		struct xm_geneve_opt *opt = (void *)(gh + 1);

		gh->proto = xm_htons(XM_ETH_P_TEB);
		gh->vni_res = vni;
		if (e->dir_opt) {
			/* Option length in 4-byte words; the data stays
			 * zero until a copy fills in its direction. */
			gh->ver_optlen = XM_GENEVE_OPT_DIR_LEN / 4;
			opt->opt_class = xm_htons(XM_GENEVE_OPT_CLASS);
			opt->type = XM_GENEVE_OPT_TYPE_DIR;
			opt->len = (XM_GENEVE_OPT_DIR_LEN - sizeof(*opt)) / 4;
			return sizeof(*uh) + 8 + XM_GENEVE_OPT_DIR_LEN;
		}
	}
	return sizeof(*uh) + 8;
}

/* GRE (and ERSPAN) header at p; returns its length. */
static inline __u16 xm_tmpl_gre(struct xm_tmpl *t, __u8 *p,
				const struct xm_encap_params *e)
{
	struct xm_grehdr *gre = (void *)p;
	__u16 flags = 0, off = sizeof(*gre);
	__u32 w0;

	if (e->encap == XM_ENCAP_GRE) {
		gre->proto = xm_htons(XM_ETH_P_TEB);
		if (e->coll_flags & XM_COLL_F_KEY) {
			flags |= XM_GRE_F_KEY;
			xm_put32(p + off, e->key);
			off += 4;
		}
		if (e->coll_flags & XM_COLL_F_SEQ) {
			flags |= XM_GRE_F_SEQ;
			t->seq_off = (__u16)(t->l4_off + off);
			off += 4;
		}
		gre->flags = xm_htons(flags);
		return off;
	}
	/* ERSPAN always carries a sequence number, never a key. */
	gre->flags = xm_htons(XM_GRE_F_SEQ);
	t->seq_off = (__u16)(t->l4_off + off);
	off += 4;
	t->ers_off = (__u16)(t->l4_off + off);
	t->ers_ver = e->encap == XM_ENCAP_ERSPAN2 ? XM_ERSPAN_VER_II :
						    XM_ERSPAN_VER_III;
	w0 = (__u32)t->ers_ver << XM_ERSPAN_VER_SHIFT |
	     (e->session & XM_ERSPAN_SESSION_MASK);
	xm_put32(p + off, w0);
	if (e->encap == XM_ENCAP_ERSPAN2) {
		gre->proto = xm_htons(XM_ETH_P_ERSPAN2);
		return (__u16)(off + XM_ERSPAN2_LEN);
	}
	gre->proto = xm_htons(XM_ETH_P_ERSPAN3);
	xm_put32(p + off + 8, XM_ERSPAN3_P |
				      (__u32)(e->hwid & 0x3f)
					      << XM_ERSPAN3_HWID_SHIFT |
				      XM_ERSPAN3_GRA_100NS
					      << XM_ERSPAN3_GRA_SHIFT);
	return (__u16)(off + XM_ERSPAN3_LEN);
}

/* Build the complete header template for one collector. */
static inline void xm_tmpl_build(struct xm_tmpl *t,
				 const struct xm_encap_params *e)
{
	struct xm_ethhdr *eth = (void *)t->hdr;
	int udp = xm_encap_is_udp(e->encap);
	__u16 l3len;

	__builtin_memset(t, 0, sizeof(*t));
	t->family = e->family;
	t->encap = e->encap;
	__builtin_memcpy(eth->dst, e->dst_mac, 6);
	__builtin_memcpy(eth->src, e->src_mac, 6);
	eth->proto = xm_htons(e->family == 4 ? XM_ETH_P_IP : XM_ETH_P_IPV6);
	l3len = xm_tmpl_ip(t, t->hdr + XM_ETH_HLEN, e,
			   udp ? XM_IPPROTO_UDP : XM_IPPROTO_GRE);
	t->l4_off = (__u16)(XM_ETH_HLEN + l3len);
	if (udp) {
		t->flags = XM_TMPL_F_UDP;
		if (e->encap == XM_ENCAP_GENEVE && e->dir_opt)
			t->flags |= XM_TMPL_F_DIR_OPT;
		t->len = (__u16)(t->l4_off + xm_tmpl_udp(t->hdr + t->l4_off, e));
	} else {
		t->len = (__u16)(t->l4_off +
				 xm_tmpl_gre(t, t->hdr + t->l4_off, e));
	}
	/* UDP over IPv4 may leave the checksum zero (RFC 7348, RFC 8926);
	 * over IPv6 it is mandatory (RFC 8200). */
	if (udp && e->family == 6) {
		const struct xm_ipv6hdr *ip6 = (void *)(t->hdr + XM_ETH_HLEN);
		__u32 s = xm_htons(XM_IPPROTO_UDP);

		t->flags |= XM_TMPL_F_UDP_CSUM;
		s = xm_csum_add(s, ip6->saddr, 32);
		s = xm_csum_add(s, t->hdr + t->l4_off,
				(__u32)(t->len - t->l4_off));
		t->sum = xm_csum_fold(s);
	}
}

/* ---- the per-packet update ---------------------------------------- */

XM_INLINE void xm_tmpl_apply_ip(__u8 *o, const struct xm_tmpl *t,
				__u32 l3len, __u32 hash)
{
	if (t->family == 4) {
		struct xm_iphdr *iph = (void *)(o + XM_ETH_HLEN);
		__u16 tot = xm_htons((__u16)l3len);

		iph->tot_len = tot;
		iph->check = (__u16)~xm_csum_fold(t->sum + tot);
	} else {
		struct xm_ipv6hdr *ip6 = (void *)(o + XM_ETH_HLEN);

		/* Flow label from the inner flow (RFC 6438): ECMP on the
		 * way to the collector keeps each flow on one path. */
		ip6->ver_tc_flow |= xm_htonl(hash & 0xfffff);
		ip6->payload_len = xm_htons((__u16)(l3len - sizeof(*ip6)));
	}
}

/* The GENEVE direction option's last data byte for copy p, and the
 * 16-bit word it sits in as the checksum adds it (0 without option). */
XM_INLINE __u8 xm_tmpl_dir(const struct xm_encap_pkt *p)
{
	return p->egress ? XM_DIR_OUT : XM_DIR_IN;
}

XM_INLINE __u16 xm_tmpl_dir_word(const struct xm_tmpl *t,
				 const struct xm_encap_pkt *p)
{
	if (!(t->flags & XM_TMPL_F_DIR_OPT))
		return 0;
	return xm_htons(xm_tmpl_dir(p));
}

XM_INLINE void xm_tmpl_apply_udp(__u8 *o, const struct xm_tmpl *t,
				 __u32 l3len, const struct xm_encap_pkt *p)
{
	struct xm_udphdr *uh = (void *)(o + (t->l4_off & XM_TMPL_OFF_MASK));
	__u16 ulen = xm_htons((__u16)(l3len - (t->l4_off - XM_ETH_HLEN)));
	__u16 sport = xm_htons((__u16)(XM_UDP_SPORT_BASE |
				       (p->hash & XM_UDP_SPORT_MASK)));
	__u16 sum;

	uh->len = ulen;
	uh->source = sport;
	if (!(t->flags & XM_TMPL_F_UDP_CSUM))
		return;
	/* The length counts twice: pseudo-header and UDP header. */
	sum = (__u16)~xm_csum_fold(t->sum + ulen + ulen + sport +
				   xm_csum_fold(p->payload_sum) +
				   xm_tmpl_dir_word(t, p));
	uh->check = sum ? sum : 0xffff;
}

XM_INLINE void xm_tmpl_apply_erspan(__u8 *o, const struct xm_tmpl *t,
				    const struct xm_encap_pkt *p)
{
	__u8 *w = o + (t->ers_off & XM_TMPL_OFF_MASK);
	__u32 w0 = 0;

	if (p->tagged)
		w0 = (__u32)(p->vlan_tci & 0xfff) << XM_ERSPAN_VLAN_SHIFT |
		     (__u32)(p->vlan_tci >> 13) << XM_ERSPAN_COS_SHIFT;
	/* Type II's En says the tag is still in the frame; in type III
	 * the same bits are BSO, where 0 means a good frame. */
	if (p->tagged && t->ers_ver == XM_ERSPAN_VER_II)
		w0 |= XM_ERSPAN_EN_INFRAME << XM_ERSPAN_EN_SHIFT;
	if (p->truncated)
		w0 |= XM_ERSPAN_T;
	xm_or32(w, w0);
	if (t->ers_ver == XM_ERSPAN_VER_III) {
		xm_put32(w + 4, p->tstamp);
		if (p->egress)
			xm_or32(w + 8, XM_ERSPAN3_D);
	}
}

/*
 * Fill in the per-packet fields of a header already copied from template
 * t to o, for an inner frame described by p.  The XDP fast path runs this
 * on a stack copy of the whole hdr[]: the offsets are masked so the
 * verifier sees every write inside it (valid templates are unaffected).
 */
XM_INLINE void xm_tmpl_fill(__u8 *o, const struct xm_tmpl *t,
			    const struct xm_encap_pkt *p)
{
	__u32 l3len = t->len - XM_ETH_HLEN + p->len;

	xm_tmpl_apply_ip(o, t, l3len, p->hash);
	if (t->flags & XM_TMPL_F_UDP)
		xm_tmpl_apply_udp(o, t, l3len, p);
	if (t->seq_off)
		xm_put32(o + (t->seq_off & XM_TMPL_OFF_MASK), p->seq);
	if (t->ers_off)
		xm_tmpl_apply_erspan(o, t, p);
	if (t->flags & XM_TMPL_F_DIR_OPT) {
		/* UDP + GENEVE + option header, then the data's last byte;
		 * the bound check is for the verifier (templates fit). */
		__u32 off = t->l4_off + 8u + 8u + 4u + 3u;

		if (off < XM_TMPL_MAX)
			o[off] = xm_tmpl_dir(p);
	}
}

#ifndef __bpf__
/* Write the filled-in header of template t at out (t->len bytes), in
 * front of an inner frame described by p. */
static inline void xm_tmpl_apply(void *out, const struct xm_tmpl *t,
				 const struct xm_encap_pkt *p)
{
	__builtin_memcpy(out, t->hdr, t->len);
	xm_tmpl_fill(out, t, p);
}
#endif

/* ---- what a copy carries ------------------------------------------ */

/* How a copy was cut (xm_copy_cut). */
enum {
	XM_CUT_NONE = 0,
	XM_CUT_SNAP,		/* to the rule's or collector's snaplen */
	XM_CUT_MTU,		/* to fit the TX MTU / a UMEM frame */
};

/*
 * Inner bytes of a copy of a len-byte frame (orig_len > len when XDP
 * already cut it) for a collector that fits max_inner bytes: cut to the
 * shorter of the rule's and the collector's snaplen, or else to what
 * fits.  *cut says which limit decided; one definition for the XDP fast
 * path and the AF_XDP workers, so both count a copy the same way.
 */
XM_INLINE __u32 xm_copy_cut(__u32 len, __u32 orig_len, __u32 max_inner,
			    __u32 rule_snap, __u32 coll_snap, __u8 *cut)
{
	__u32 full = orig_len > len ? orig_len : len;
	__u32 limit = len < max_inner ? len : max_inner;
	__u32 snap = coll_snap;

	if (rule_snap && (!snap || rule_snap < snap))
		snap = rule_snap;
	if (snap && snap < limit && full > snap) {
		*cut = XM_CUT_SNAP;
		return snap;
	}
	if (full > limit) {
		*cut = XM_CUT_MTU;
		return limit;
	}
	*cut = XM_CUT_NONE;
	return len;
}

/* ---- one collector, as the datapaths see it ----------------------- */

/* xm_tmpl_ent.state */
enum {
	XM_TE_EMPTY = 0,	/* no collector: drop_no_collector */
	XM_TE_NO_NEIGH,		/* no route/neighbour/device: drop_no_neigh */
	XM_TE_READY,
};

/* xm_tmpl_ent.path: who sends this collector's single copies. */
enum {
	XM_PATH_AFXDP = 0,
	XM_PATH_XDP = 1,	/* the XDP program: redirect via tx_ports */
	XM_PATH_XDP_TX = 2,	/* the XDP program: XDP_TX (TX = RX dev) */
	XM_PATH_TC = 3,		/* host mode's kernel path: tc programs */
};

/*
 * A collector's template and limits: the workers' table entry, and the
 * value of the fast map (two halves of XM_MAX_COLLECTORS, ctl.fast_sel
 * says which is live) that the XDP fast path reads.
 */
struct xm_tmpl_ent {
	__u8 state;		/* XM_TE_* */
	__u8 path;		/* XM_PATH_*; why not XDP: why_slow */
	__u8 why_slow;		/* XM_SLOW_* */
	__u8 pad;
	__u16 snaplen;		/* 0: whole frame */
	__u16 max_inner;	/* inner bytes that fit the MTU and a frame */
	struct xm_tmpl t;
};

/* xm_tmpl_ent.why_slow: why a ready collector is not on the fast path. */
enum {
	XM_SLOW_NONE = 0,
	XM_SLOW_ASKED,		/* --datapath afxdp */
	XM_SLOW_NO_XMIT,	/* TX device refuses XDP_REDIRECT */
	XM_SLOW_UDP6_CSUM,	/* UDP checksum over the whole copy */
	XM_SLOW_NOT_READY,	/* no route/neighbour yet */
};

#endif /* XM_ENCAP_H */

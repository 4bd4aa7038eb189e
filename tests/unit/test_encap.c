// SPDX-License-Identifier: GPL-2.0
/*
 * test_encap - the encapsulation templates of include/xm_encap.h (VXLAN,
 * GENEVE, GRE-TEB, ERSPAN II and III over IPv4 and IPv6) and their
 * per-packet update, against headers written here byte by byte from the
 * RFC / draft layouts (RFC 791, 8200, 768, 7348, 8926, 2784, 2890,
 * draft-foschiano-erspan-03).  The expected bytes never go through the
 * project's protocol structs or macros, so a wrong layout in include/
 * shows up as a failure instead of cancelling out.  Checksums are
 * checked with a plain RFC 1071 sum.
 *
 * Without arguments: run the tests, one PASS/FAIL line per group.
 * With --pcap FILE: write FILE, one frame per (encap, family, inner
 * frame), each an outer header plus a real inner Ethernet/IPv4/UDP
 * frame, and print on stdout what an independent decoder must find in
 * every frame (see tests/unit/test_encap_tshark.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xm_encap.h"
#include "xm_types.h"
#include "xm_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define T_CANARY 0xa5
#define T_ODD 3			/* headroom is not aligned in general */
#define T_HMAX 128
#define T_PAYLOAD_MAX 65536

/* ---- test input: independent of the project's structs ------------- */

/* One collector. */
struct tc {
	int encap;		/* XM_ENCAP_* */
	int family;		/* 4 or 6 */
	int key;		/* GRE: K bit wanted */
	int seq;		/* GRE: S bit wanted */
	__u8 smac[6];
	__u8 dmac[6];
	const char *saddr;
	const char *daddr;
	__u8 dscp;
	__u8 ttl;
	__u8 hwid;
	__u16 session;
	__u16 dport;
	__u32 vni;
	__u32 gre_key;
};

/* One copy. */
struct tp {
	__u32 len;
	__u32 hash;
	__u32 seq;
	__u32 tstamp;
	__u16 tci;
	int tagged;
	int truncated;
	int egress;
	const __u8 *payload;	/* len inner bytes */
};

static const struct tc tc_v4 = {
	.smac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	.dmac = { 0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
	.family = 4,
	.saddr = "192.0.2.1",
	.daddr = "198.51.100.200",
};

static const struct tc tc_v6 = {
	.smac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	.dmac = { 0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
	.family = 6,
	.saddr = "2001:db8::1",
	.daddr = "2001:db8:ffff:1::c8",
};

static __u8 g_payload[T_PAYLOAD_MAX];

/* xorshift32: reproducible "random" payloads and values. */
static __u32 rnd_state = 0x2545f491;

static __u32 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void rnd_fill(__u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (__u8)rnd();
}

static const char *encap_name(int encap)
{
	switch (encap) {
	case XM_ENCAP_VXLAN: return "vxlan";
	case XM_ENCAP_GENEVE: return "geneve";
	case XM_ENCAP_GRE: return "gre";
	case XM_ENCAP_ERSPAN2: return "erspan2";
	case XM_ENCAP_ERSPAN3: return "erspan3";
	}
	return "?";
}

static int is_udp(int encap)
{
	return encap == XM_ENCAP_VXLAN || encap == XM_ENCAP_GENEVE;
}

static int is_erspan(int encap)
{
	return encap == XM_ENCAP_ERSPAN2 || encap == XM_ENCAP_ERSPAN3;
}

/* ---- expected header: fields placed by hand ------------------------ */

/*
 * A field: nbytes at off, read big-endian, of which width bits at
 * shift (value fields, nbytes <= 4), or nbytes compared as they are
 * (blobs: addresses).  Fields are recorded so that a mismatch can be
 * reported by name.
 */
struct xf {
	const char *name;
	unsigned int off;
	unsigned int nbytes;
	unsigned int shift;
	unsigned int width;	/* 0: blob */
};

#define XF_MAX 48

struct xhdr {
	__u8 b[T_HMAX];
	unsigned int len;
	unsigned int nf;
	struct xf f[XF_MAX];
};

static __u32 rd_be(const __u8 *p, unsigned int n)
{
	__u32 v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void wr_be(__u8 *p, unsigned int n, __u32 v)
{
	while (n--) {
		p[n] = (__u8)v;
		v >>= 8;
	}
}

static __u32 xf_mask(unsigned int width)
{
	return width >= 32 ? 0xffffffffu : (1u << width) - 1;
}

static void xh_add(struct xhdr *h, const char *name, unsigned int off,
		   unsigned int nbytes, unsigned int shift, unsigned int width)
{
	if (h->nf < XF_MAX)
		h->f[h->nf++] = (struct xf){ name, off, nbytes, shift, width };
}

/* A value field, ORed into the (zeroed) header. */
static void xh_bits(struct xhdr *h, const char *name, unsigned int off,
		    unsigned int nbytes, unsigned int shift,
		    unsigned int width, __u32 v)
{
	__u32 w = rd_be(h->b + off, nbytes);

	w |= (v & xf_mask(width)) << shift;
	wr_be(h->b + off, nbytes, w);
	xh_add(h, name, off, nbytes, shift, width);
}

static void xh_val(struct xhdr *h, const char *name, unsigned int off,
		   unsigned int nbytes, __u32 v)
{
	xh_bits(h, name, off, nbytes, 0, nbytes * 8, v);
}

static void xh_blob(struct xhdr *h, const char *name, unsigned int off,
		    const void *p, unsigned int n)
{
	memcpy(h->b + off, p, n);
	xh_add(h, name, off, n, 0, 0);
}

static int parse_addr(int family, const char *s, __u8 *out)
{
	memset(out, 0, 16);
	return inet_pton(family == 4 ? AF_INET : AF_INET6, s, out) == 1 ? 0
									 : -1;
}

/* Inner bytes sent: the random pool unless the copy brings its own. */
static const __u8 *tp_payload(const struct tp *p)
{
	return p->payload ? p->payload : g_payload;
}

/* RFC 1071 over the IPv6 pseudo-header (RFC 8200 8.1), the UDP header
 * and tunnel header hdr (hlen bytes, checksum field as it is) and the
 * payload: the folded, inverted sum in host order. */
static __u16 udp6_csum(const __u8 *src, const __u8 *dst, const __u8 *hdr,
		       unsigned int hlen, const __u8 *payload,
		       unsigned int plen)
{
	static __u8 buf[40 + T_HMAX + T_PAYLOAD_MAX];
	__u32 ulen = hlen + plen;

	memcpy(buf, src, 16);
	memcpy(buf + 16, dst, 16);
	wr_be(buf + 32, 4, ulen);
	memset(buf + 36, 0, 3);
	buf[39] = 17;
	memcpy(buf + 40, hdr, hlen);
	if (plen)
		memcpy(buf + 40 + hlen, payload, plen);
	return xm_t_csum(buf, 40 + ulen);
}

/* Offset of the UDP / GRE header: Ethernet + IPv4 or IPv6. */
static unsigned int exp_l4(const struct tc *c)
{
	return c->family == 4 ? 14 + 20 : 14 + 40;
}

/* Length of what follows the IP header; 0 for an unknown encap. */
static unsigned int exp_tunnel_len(const struct tc *c)
{
	switch (c->encap) {
	case XM_ENCAP_VXLAN:
	case XM_ENCAP_GENEVE:
		return 8 + 8;		/* UDP + VXLAN / GENEVE */
	case XM_ENCAP_GRE:
		return 4 + (c->key ? 4 : 0) + (c->seq ? 4 : 0);
	case XM_ENCAP_ERSPAN2:
		return 8 + 8;		/* GRE + seq, ERSPAN II */
	case XM_ENCAP_ERSPAN3:
		return 8 + 12;		/* GRE + seq, ERSPAN III */
	}
	return 0;
}

/* The header a correct implementation writes for collector c and copy
 * p, every field placed at its offset from the wire formats. */
static int exp_build(const struct tc *c, const struct tp *p, struct xhdr *h)
{
	__u8 sa[16], da[16];
	unsigned int l4 = exp_l4(c), tl = exp_tunnel_len(c), off, l3len;

	memset(h, 0, sizeof(*h));
	if (!tl || parse_addr(c->family, c->saddr, sa) ||
	    parse_addr(c->family, c->daddr, da))
		return -1;
	h->len = l4 + tl;
	l3len = h->len - 14 + p->len;

	/* Ethernet II */
	xh_blob(h, "eth dst", 0, c->dmac, 6);
	xh_blob(h, "eth src", 6, c->smac, 6);
	xh_val(h, "eth type", 12, 2, c->family == 4 ? 0x0800 : 0x86dd);

	if (c->family == 4) {
		/* RFC 791; RFC 2474 DSCP in the upper 6 bits of TOS */
		xh_bits(h, "ip version", 14, 1, 4, 4, 4);
		xh_bits(h, "ip ihl", 14, 1, 0, 4, 5);
		xh_bits(h, "ip dscp", 15, 1, 2, 6, c->dscp);
		xh_bits(h, "ip ecn", 15, 1, 0, 2, 0);
		xh_val(h, "ip total length", 16, 2, l3len);
		xh_val(h, "ip id", 18, 2, 0);
		xh_bits(h, "ip flag reserved", 20, 2, 15, 1, 0);
		xh_bits(h, "ip flag DF", 20, 2, 14, 1, 1);
		xh_bits(h, "ip flag MF", 20, 2, 13, 1, 0);
		xh_bits(h, "ip fragment offset", 20, 2, 0, 13, 0);
		xh_val(h, "ip ttl", 22, 1, c->ttl ? c->ttl : 64);
		xh_val(h, "ip protocol", 23, 1, is_udp(c->encap) ? 17 : 47);
		xh_blob(h, "ip saddr", 26, sa, 4);
		xh_blob(h, "ip daddr", 30, da, 4);
	} else {
		/* RFC 8200; traffic class = DSCP << 2 | ECN */
		xh_bits(h, "ip6 version", 14, 4, 28, 4, 6);
		xh_bits(h, "ip6 dscp", 14, 4, 22, 6, c->dscp);
		xh_bits(h, "ip6 ecn", 14, 4, 20, 2, 0);
		xh_bits(h, "ip6 flow label", 14, 4, 0, 20, p->hash & 0xfffff);
		xh_val(h, "ip6 payload length", 18, 2, l3len - 40);
		xh_val(h, "ip6 next header", 20, 1, is_udp(c->encap) ? 17 : 47);
		xh_val(h, "ip6 hop limit", 21, 1, c->ttl ? c->ttl : 64);
		xh_blob(h, "ip6 saddr", 22, sa, 16);
		xh_blob(h, "ip6 daddr", 38, da, 16);
	}

	if (is_udp(c->encap)) {
		/* RFC 768 */
		xh_val(h, "udp sport", l4, 2, 49152 | (p->hash & 0x3fff));
		xh_val(h, "udp dport", l4 + 2, 2,
		       c->dport ? c->dport :
		       c->encap == XM_ENCAP_GENEVE ? 6081 : 4789);
		xh_val(h, "udp length", l4 + 4, 2, l3len - (l4 - 14));
		xh_val(h, "udp checksum", l4 + 6, 2, 0);	/* below */
		if (c->encap == XM_ENCAP_VXLAN) {
			/* RFC 7348 section 5 */
			xh_val(h, "vxlan flags", l4 + 8, 1, 0x08);
			xh_val(h, "vxlan reserved1", l4 + 9, 3, 0);
			xh_val(h, "vxlan vni", l4 + 12, 3, c->vni);
			xh_val(h, "vxlan reserved2", l4 + 15, 1, 0);
		} else {
			/* RFC 8926 section 3.4 */
			xh_bits(h, "geneve version", l4 + 8, 1, 6, 2, 0);
			xh_bits(h, "geneve opt len", l4 + 8, 1, 0, 6, 0);
			xh_bits(h, "geneve O", l4 + 9, 1, 7, 1, 0);
			xh_bits(h, "geneve C", l4 + 9, 1, 6, 1, 0);
			xh_bits(h, "geneve reserved flags", l4 + 9, 1, 0, 6, 0);
			xh_val(h, "geneve protocol", l4 + 10, 2, 0x6558);
			xh_val(h, "geneve vni", l4 + 12, 3, c->vni);
			xh_val(h, "geneve reserved", l4 + 15, 1, 0);
		}
	} else {
		/* RFC 2784 / 2890: C R K S, reserved, version 0 */
		int k = c->encap == XM_ENCAP_GRE && c->key;
		int s = c->encap != XM_ENCAP_GRE || c->seq;

		xh_bits(h, "gre C", l4, 2, 15, 1, 0);
		xh_bits(h, "gre R", l4, 2, 14, 1, 0);
		xh_bits(h, "gre K", l4, 2, 13, 1, (__u32)k);
		xh_bits(h, "gre S", l4, 2, 12, 1, (__u32)s);
		xh_bits(h, "gre reserved0", l4, 2, 3, 9, 0);
		xh_bits(h, "gre version", l4, 2, 0, 3, 0);
		xh_val(h, "gre protocol", l4 + 2, 2,
		       c->encap == XM_ENCAP_GRE ? 0x6558 :
		       c->encap == XM_ENCAP_ERSPAN2 ? 0x88be : 0x22eb);
		off = l4 + 4;
		if (k) {
			xh_val(h, "gre key", off, 4, c->gre_key);
			off += 4;
		}
		if (s) {
			xh_val(h, "gre seq", off, 4, p->seq);
			off += 4;
		}
		if (is_erspan(c->encap)) {
			int v3 = c->encap == XM_ENCAP_ERSPAN3;

			/* draft-foschiano-erspan-03, 4.2 / 4.3: word 0 is
			 * ver | vlan | cos | En (II) or BSO (III) | T |
			 * session. */
			xh_bits(h, "erspan ver", off, 4, 28, 4, v3 ? 2 : 1);
			xh_bits(h, "erspan vlan", off, 4, 16, 12,
				p->tagged ? p->tci & 0xfff : 0);
			xh_bits(h, "erspan cos", off, 4, 13, 3,
				p->tagged ? p->tci >> 13 : 0);
			if (v3)
				/* Bad/Short/Oversized: 00 good or
				 * unknown; 11 would say bad CRC. */
				xh_bits(h, "erspan III BSO", off, 4, 11, 2, 0);
			else
				/* En 11: the tag is kept in the frame. */
				xh_bits(h, "erspan II En", off, 4, 11, 2,
					p->tagged ? 3 : 0);
			xh_bits(h, "erspan T", off, 4, 10, 1, !!p->truncated);
			xh_bits(h, "erspan session", off, 4, 0, 10,
				c->session);
			if (!v3) {
				xh_bits(h, "erspan II reserved", off + 4, 4, 20,
					12, 0);
				xh_bits(h, "erspan II index", off + 4, 4, 0, 20,
					0);
			} else {
				xh_val(h, "erspan III timestamp", off + 4, 4,
				       p->tstamp);
				xh_bits(h, "erspan III sgt", off + 8, 4, 16, 16,
					0);
				/* P = 1: the payload is an Ethernet frame (as
				 * Linux and Wireshark read it). */
				xh_bits(h, "erspan III P", off + 8, 4, 15, 1, 1);
				xh_bits(h, "erspan III FT", off + 8, 4, 10, 5,
					0);
				xh_bits(h, "erspan III hwid", off + 8, 4, 4, 6,
					c->hwid);
				xh_bits(h, "erspan III D", off + 8, 4, 3, 1,
					!!p->egress);
				/* Gra 01: 100 ns units */
				xh_bits(h, "erspan III Gra", off + 8, 4, 1, 2,
					1);
				xh_bits(h, "erspan III O", off + 8, 4, 0, 1, 0);
			}
		}
	}

	if (c->family == 4) {
		/* Computed with the checksum field zero, as placed above. */
		xh_add(h, "ip checksum", 24, 2, 0, 16);
		wr_be(h->b + 24, 2, xm_t_csum(h->b + 14, 20));
	} else if (is_udp(c->encap)) {
		__u16 s = udp6_csum(sa, da, h->b + l4, h->len - l4,
				    tp_payload(p), p->len);

		/* RFC 768: a computed zero is sent as all ones. */
		wr_be(h->b + l4 + 6, 2, s ? s : 0xffff);
	}
	return 0;
}

/* First difference between out and the expected header, by field name;
 * returns 0 when every byte matches. */
static int xh_diff(const struct xhdr *h, const __u8 *out, char *why,
		   size_t n)
{
	unsigned int i, j;

	if (!memcmp(out, h->b, h->len))
		return 0;
	for (i = 0; i < h->nf; i++) {
		const struct xf *f = &h->f[i];

		if (!f->width) {
			char g[40], w[40];

			if (!memcmp(out + f->off, h->b + f->off, f->nbytes))
				continue;
			for (j = 0; j < f->nbytes && j < 16; j++) {
				sprintf(g + 2 * j, "%02x", out[f->off + j]);
				sprintf(w + 2 * j, "%02x", h->b[f->off + j]);
			}
			snprintf(why, n, "%s (byte %u): got %s, want %s",
				 f->name, f->off, g, w);
			return -1;
		} else {
			__u32 m = xf_mask(f->width);
			__u32 g = rd_be(out + f->off, f->nbytes) >> f->shift & m;
			__u32 w = rd_be(h->b + f->off, f->nbytes) >> f->shift & m;

			if (g == w)
				continue;
			snprintf(why, n, "%s (byte %u): got 0x%x, want 0x%x",
				 f->name, f->off, g, w);
			return -1;
		}
	}
	for (i = 0; i < h->len; i++) {
		if (out[i] != h->b[i]) {
			snprintf(why, n, "byte %u (no field): got 0x%02x, want 0x%02x",
				 i, out[i], h->b[i]);
			return -1;
		}
	}
	return -1;
}

/* ---- running one case through the API ------------------------------ */

static void tc_desc(const struct tc *c, const struct tp *p, char *s, size_t n)
{
	snprintf(s, n,
		 "%s/ipv%d%s%s len %u hash 0x%x vni 0x%x dscp %u ttl %u dport %u session %u hwid %u key 0x%x seq 0x%x ts 0x%x tci 0x%x%s%s%s",
		 encap_name(c->encap), c->family, c->key ? "+key" : "",
		 c->seq ? "+seq" : "", p->len, p->hash, c->vni, c->dscp,
		 c->ttl, c->dport, c->session, c->hwid, c->gre_key, p->seq,
		 p->tstamp, p->tci, p->tagged ? " tagged" : "",
		 p->truncated ? " truncated" : "", p->egress ? " egress" : "");
}

static int tc_params(const struct tc *c, struct xm_encap_params *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->src_mac, c->smac, 6);
	memcpy(e->dst_mac, c->dmac, 6);
	e->family = (__u8)c->family;
	e->encap = (__u8)c->encap;
	e->coll_flags = (__u8)((c->key ? XM_COLL_F_KEY : 0) |
			       (c->seq ? XM_COLL_F_SEQ : 0));
	e->dscp = c->dscp;
	e->ttl = c->ttl;
	e->hwid = c->hwid;
	e->session = c->session;
	e->vni = c->vni;
	e->key = c->gre_key;
	e->dport = c->dport;
	if (parse_addr(c->family, c->saddr, e->saddr) ||
	    parse_addr(c->family, c->daddr, e->daddr))
		return -1;
	return 0;
}

static void tc_template(const struct tc *c, struct xm_tmpl *t)
{
	struct xm_encap_params e;

	tc_params(c, &e);
	/* The builder must not depend on what t held before. */
	memset(t, T_CANARY, sizeof(*t));
	xm_tmpl_build(t, &e);
}

static void tp_pkt(const struct tp *p, const struct xm_tmpl *t,
		   struct xm_encap_pkt *k)
{
	memset(k, 0, sizeof(*k));
	k->len = p->len;
	k->hash = p->hash;
	k->seq = p->seq;
	k->tstamp = p->tstamp;
	k->vlan_tci = p->tci;
	k->tagged = (__u8)!!p->tagged;
	k->truncated = (__u8)!!p->truncated;
	k->egress = (__u8)!!p->egress;
	/* Only UDP over IPv6 reads the payload sum: anything else gets
	 * garbage that must not matter. */
	k->payload_sum = t->flags & XM_TMPL_F_UDP_CSUM ?
			 xm_csum_partial(tp_payload(p), p->len) : 0xdeadbeef;
}

/* The transmitted UDP checksum over IPv6 verifies: the sum over
 * pseudo-header, UDP header, tunnel header and payload is all ones. */
static int udp6_verifies(const __u8 *out, unsigned int hlen,
			 const struct tp *p)
{
	return udp6_csum(out + 22, out + 38, out + 54, hlen - 54,
			 tp_payload(p), p->len) == 0;
}

/*
 * Build the template for c, apply it for p at an odd offset of a
 * canary-filled buffer, and check length, flags, every byte, that
 * nothing outside t.len was written, and that the checksums verify.
 * Records the first failure in g; returns 0 when all held.
 */
static int run_case(struct xm_tgroup *g, const struct tc *c,
		    const struct tp *p)
{
	__u8 buf[T_HMAX + 2 * 16];
	__u8 *out = buf + T_ODD;
	struct xm_encap_pkt k;
	struct xm_tmpl t;
	struct xhdr h;
	char d[320], why[160];
	unsigned int i, flags;

	tc_desc(c, p, d, sizeof(d));
	if (exp_build(c, p, &h)) {
		xm_tg_fail(g, "%s: bad test case", d);
		return -1;
	}
	tc_template(c, &t);
	if (t.len != h.len) {
		xm_tg_fail(g, "%s: template length %u, want %u", d, t.len,
			   h.len);
		return -1;
	}
	flags = is_udp(c->encap) ? XM_TMPL_F_UDP : 0;
	if (is_udp(c->encap) && c->family == 6)
		flags |= XM_TMPL_F_UDP_CSUM;
	if (t.flags != flags) {
		xm_tg_fail(g, "%s: template flags 0x%x, want 0x%x", d, t.flags,
			   flags);
		return -1;
	}
	tp_pkt(p, &t, &k);
	memset(buf, T_CANARY, sizeof(buf));
	xm_tmpl_apply(out, &t, &k);
	if (xh_diff(&h, out, why, sizeof(why))) {
		xm_tg_fail(g, "%s: %s", d, why);
		return -1;
	}
	for (i = 0; i < sizeof(buf); i++) {
		if ((i < T_ODD || i >= T_ODD + h.len) && buf[i] != T_CANARY) {
			xm_tg_fail(g, "%s: wrote outside the %u header bytes (at %d)",
				   d, h.len, (int)i - T_ODD);
			return -1;
		}
	}
	/* A correct IPv4 header sums to all ones. */
	if (c->family == 4 && xm_t_csum(out + 14, 20) != 0) {
		xm_tg_fail(g, "%s: IPv4 header checksum does not verify", d);
		return -1;
	}
	if (c->family == 6 && is_udp(c->encap) && !udp6_verifies(out, h.len, p)) {
		xm_tg_fail(g, "%s: UDP checksum does not verify", d);
		return -1;
	}
	return 0;
}

/* ---- groups ---------------------------------------------------------- */

static const __u32 hashes[] = { 0, 1, 0x3fff, 0x4000, 0xc000, 0xfffff,
				0x100000, 0x12345678, 0xdeadbeef, 0xffffffff };
static const __u32 lens[] = { 0, 1, 14, 60, 61, 1500, 1501, 9000 };
static const __u32 vnis[] = { 0, 1, 0x123456, 0xffffff, 0x800000 };
static const __u8 dscps[] = { 0, 1, 10, 46, 63 };
static const __u8 ttls[] = { 0, 1, 64, 128, 255 };
static const __u16 sessions[] = { 0, 1, 0x2aa, 0x155, 1023 };
static const __u8 hwids[] = { 0, 1, 0x2a, 0x15, 63 };
static const __u32 seqs[] = { 0, 1, 0x80000000, 0xfffffffe, 0xffffffff };
static const __u32 keys[] = { 0, 1, 0x01020304, 0x80000001, 0xffffffff };
static const __u16 tcis[] = { 0x0001, 0x0fff, 0xa064, 0xe001, 0xffff,
			      0x1000, 0x6abc };

#define N_VAR 240

/* Variation i of a case: every field walks its own list, with list
 * lengths chosen so that the combinations differ for a long time.
 * tagged: 0 never, 1 always, 2 every other copy. */
static void vary(const struct tc *base, unsigned int i, int tagged,
		 struct tc *c, struct tp *p)
{
	*c = *base;
	memset(p, 0, sizeof(*p));
	c->vni = vnis[i % ARRAY_SIZE(vnis)];
	c->dscp = dscps[(i / 2) % ARRAY_SIZE(dscps)];
	c->ttl = ttls[(i / 3) % ARRAY_SIZE(ttls)];
	c->session = sessions[(i / 4) % ARRAY_SIZE(sessions)];
	c->hwid = hwids[(i / 5) % ARRAY_SIZE(hwids)];
	c->gre_key = keys[(i / 6) % ARRAY_SIZE(keys)];
	c->dport = (i % 7 == 3) ? 8472 : (i % 7 == 5) ? 65535 : 0;
	p->hash = hashes[i % ARRAY_SIZE(hashes)];
	p->len = lens[(i / 3) % ARRAY_SIZE(lens)];
	p->seq = seqs[(i / 2) % ARRAY_SIZE(seqs)];
	p->tstamp = i * 0x9e3779b9u;
	p->truncated = (i / 4) % 2;
	p->egress = (i / 8) % 2;
	if (tagged == 1 || (tagged == 2 && i % 2)) {
		p->tagged = 1;
		p->tci = tcis[i % ARRAY_SIZE(tcis)];
	}
}

static void group_fields(struct xm_tsuite *s, int encap, int family,
			 int tagged)
{
	struct xm_tgroup g;
	char name[64];
	struct tc c, base = family == 4 ? tc_v4 : tc_v6;
	struct tp p;
	unsigned int i, ks;

	snprintf(name, sizeof(name), "encap_%s%s%d%s", encap_name(encap),
		 is_erspan(encap) ? "_" : "", family,
		 tagged ? "_tagged" : "");
	xm_tg_begin(&g, name);
	base.encap = encap;
	for (ks = 0; ks < (encap == XM_ENCAP_GRE ? 4u : 1u); ks++) {
		base.key = ks & 1;
		base.seq = ks >> 1 & 1;
		for (i = 0; i < N_VAR && !g.nfail; i++) {
			/* Formats without a VLAN field must ignore the
			 * inner tag. */
			vary(&base, i, is_erspan(encap) ? tagged : 2, &c, &p);
			run_case(&g, &c, &p);
		}
	}
	xm_tg_end(s, &g);
}

/* The documented header lengths and defaults, stated once more as plain
 * numbers. */
static void group_lengths(struct xm_tsuite *s)
{
	static const struct {
		int encap, family, key, seq;
		unsigned int len;
	} want[] = {
		{ XM_ENCAP_VXLAN, 4, 0, 0, 50 },
		{ XM_ENCAP_VXLAN, 6, 0, 0, 70 },
		{ XM_ENCAP_GENEVE, 4, 0, 0, 50 },
		{ XM_ENCAP_GENEVE, 6, 0, 0, 70 },
		{ XM_ENCAP_GRE, 4, 0, 0, 38 },
		{ XM_ENCAP_GRE, 4, 1, 0, 42 },
		{ XM_ENCAP_GRE, 4, 0, 1, 42 },
		{ XM_ENCAP_GRE, 4, 1, 1, 46 },
		{ XM_ENCAP_GRE, 6, 0, 0, 58 },
		{ XM_ENCAP_GRE, 6, 1, 0, 62 },
		{ XM_ENCAP_GRE, 6, 0, 1, 62 },
		{ XM_ENCAP_GRE, 6, 1, 1, 66 },
		{ XM_ENCAP_ERSPAN2, 4, 0, 0, 50 },
		{ XM_ENCAP_ERSPAN2, 6, 0, 0, 70 },
		{ XM_ENCAP_ERSPAN3, 4, 0, 0, 54 },
		{ XM_ENCAP_ERSPAN3, 6, 0, 0, 74 },
	};
	struct xm_tgroup g;
	struct xm_tmpl t;
	unsigned int i;

	xm_tg_begin(&g, "encap_header_lengths");
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		struct tc c = want[i].family == 4 ? tc_v4 : tc_v6;

		c.encap = want[i].encap;
		c.key = want[i].key;
		c.seq = want[i].seq;
		tc_template(&c, &t);
		XM_EXPECT(&g, t.len == want[i].len && t.len <= XM_TMPL_MAX,
			  "%s%d%s%s: len %u, want %u", encap_name(c.encap),
			  c.family, c.key ? "+key" : "", c.seq ? "+seq" : "",
			  t.len, want[i].len);
	}
	xm_tg_end(s, &g);
}

/* ttl 0 -> 64, dport 0 -> the format's IANA port. */
static void group_defaults(struct xm_tsuite *s)
{
	static const int encaps[] = { XM_ENCAP_VXLAN, XM_ENCAP_GENEVE,
				      XM_ENCAP_GRE, XM_ENCAP_ERSPAN2,
				      XM_ENCAP_ERSPAN3 };
	struct xm_tgroup g;
	struct xm_encap_pkt k;
	struct xm_tmpl t;
	struct tp p = { .len = 100 };
	__u8 out[T_HMAX];
	unsigned int i, f;

	xm_tg_begin(&g, "encap_defaults");
	for (i = 0; i < ARRAY_SIZE(encaps); i++) {
		for (f = 0; f < 2; f++) {
			struct tc c = f ? tc_v6 : tc_v4;
			unsigned int l4 = f ? 54 : 34;

			c.encap = encaps[i];
			tc_template(&c, &t);
			tp_pkt(&p, &t, &k);
			xm_tmpl_apply(out, &t, &k);
			XM_EXPECT(&g, out[f ? 21 : 22] == 64,
				  "%s%d: ttl 0 gave %u, want 64",
				  encap_name(c.encap), c.family,
				  out[f ? 21 : 22]);
			if (c.encap == XM_ENCAP_VXLAN)
				XM_EXPECT(&g, rd_be(out + l4 + 2, 2) == 4789,
					  "vxlan%d: dport 0 gave %u, want 4789",
					  c.family, rd_be(out + l4 + 2, 2));
			if (c.encap == XM_ENCAP_GENEVE)
				XM_EXPECT(&g, rd_be(out + l4 + 2, 2) == 6081,
					  "geneve%d: dport 0 gave %u, want 6081",
					  c.family, rd_be(out + l4 + 2, 2));
			run_case(&g, &c, &p);
		}
	}
	xm_tg_end(s, &g);
}

/*
 * Every inner length the 16-bit IPv4 total length can carry, with
 * addresses chosen so that the template's partial sum is large: catches
 * a missing end-around carry in the incremental checksum.
 */
static void group_ipv4_every_length(struct xm_tsuite *s)
{
	static const char *const addrs[][2] = {
		{ "192.0.2.1", "198.51.100.200" },
		{ "255.255.255.254", "255.255.255.255" },
		{ "0.0.0.0", "0.0.0.1" },
	};
	static const struct {
		int encap, key, seq;
	} tun[] = {
		{ XM_ENCAP_VXLAN, 0, 0 },
		{ XM_ENCAP_GENEVE, 0, 0 },
		{ XM_ENCAP_GRE, 0, 0 },
		{ XM_ENCAP_GRE, 1, 1 },
		{ XM_ENCAP_ERSPAN2, 0, 0 },
		{ XM_ENCAP_ERSPAN3, 0, 0 },
	};
	struct xm_tgroup g;
	struct tc c = tc_v4;
	struct tp p;
	unsigned int a, u, hl;
	__u32 len;

	xm_tg_begin(&g, "encap_ipv4_csum_every_length");
	for (u = 0; u < ARRAY_SIZE(tun) && !g.nfail; u++) {
		for (a = 0; a < ARRAY_SIZE(addrs) && !g.nfail; a++) {
			c.encap = tun[u].encap;
			c.key = tun[u].key;
			c.seq = tun[u].seq;
			c.saddr = addrs[a][0];
			c.daddr = addrs[a][1];
			c.dscp = a ? 63 : 0;
			c.ttl = a ? 255 : 0;
			c.gre_key = 0xffffffff;
			memset(&p, 0, sizeof(p));
			hl = exp_l4(&c) + exp_tunnel_len(&c);
			for (len = 0; len <= 65535 - (hl - 14) && !g.nfail;
			     len++) {
				p.len = len;
				p.hash = len * 2654435761u;
				p.seq = ~len;
				run_case(&g, &c, &p);
			}
		}
	}
	xm_tg_end(s, &g);
}

/* UDP over IPv4 leaves its checksum zero (RFC 7348, RFC 8926). */
static void group_udp4_csum_zero(struct xm_tsuite *s)
{
	struct xm_tgroup g;
	struct xm_encap_pkt k;
	struct xm_tmpl t;
	struct tc c = tc_v4;
	struct tp p;
	__u8 out[T_HMAX];
	unsigned int i, e;

	xm_tg_begin(&g, "encap_udp4_csum_zero");
	for (e = 0; e < 2; e++) {
		c.encap = e ? XM_ENCAP_GENEVE : XM_ENCAP_VXLAN;
		for (i = 0; i < 64; i++) {
			memset(&p, 0, sizeof(p));
			p.len = rnd() % 9000;
			p.hash = rnd();
			tc_template(&c, &t);
			tp_pkt(&p, &t, &k);
			xm_tmpl_apply(out, &t, &k);
			XM_EXPECT(&g, out[40] == 0 && out[41] == 0,
				  "%s4 len %u: UDP checksum 0x%02x%02x, want 0",
				  encap_name(c.encap), p.len, out[40], out[41]);
		}
	}
	xm_tg_end(s, &g);
}

/*
 * UDP over IPv6: the checksum over pseudo-header, headers and real
 * random payloads of every length up to 1600 (odd and even, 0 and 1
 * included) and a few large ones, at several flow hashes (the source
 * port is in the sum) and addresses.
 */
static void group_udp6_csum(struct xm_tsuite *s)
{
	static const char *const addrs[][2] = {
		{ "2001:db8::1", "2001:db8:ffff:1::c8" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "::", "::1" },
	};
	static const __u32 big[] = { 8999, 9000, 65518, 65519 };
	struct xm_tgroup g;
	struct tc c = tc_v6;
	struct tp p;
	unsigned int a, e;
	__u32 len, i;

	xm_tg_begin(&g, "encap_udp6_csum_payloads");
	for (e = 0; e < 2 && !g.nfail; e++) {
		for (a = 0; a < ARRAY_SIZE(addrs) && !g.nfail; a++) {
			c.encap = e ? XM_ENCAP_GENEVE : XM_ENCAP_VXLAN;
			c.saddr = addrs[a][0];
			c.daddr = addrs[a][1];
			c.vni = rnd() & 0xffffff;
			c.dport = a == 1 ? 65535 : 0;
			memset(&p, 0, sizeof(p));
			for (len = 0; len <= 1600 && !g.nfail; len++) {
				rnd_fill(g_payload, len);
				p.len = len;
				p.hash = rnd();
				run_case(&g, &c, &p);
			}
			for (i = 0; i < ARRAY_SIZE(big) && !g.nfail; i++) {
				rnd_fill(g_payload, big[i]);
				p.len = big[i];
				p.hash = rnd();
				run_case(&g, &c, &p);
			}
			/* All-ones payload: the largest sums. */
			memset(g_payload, 0xff, 65519);
			p.hash = 0xffffffff;
			for (i = 0; i < ARRAY_SIZE(big) && !g.nfail; i++) {
				p.len = big[i];
				run_case(&g, &c, &p);
			}
		}
	}
	rnd_fill(g_payload, sizeof(g_payload));
	xm_tg_end(s, &g);
}

/*
 * A computed UDP checksum of zero is sent as 0xffff (RFC 768; zero means
 * "no checksum", which IPv6 forbids).  The payload's last 16-bit word is
 * chosen to make the sum all ones: with it zero the checksum is C =
 * ~S, so a last word of C makes the sum S + ~S = 0xffff.
 */
static void group_udp6_csum_ffff(struct xm_tsuite *s)
{
	static __u8 pay[2000];
	struct xm_tgroup g;
	struct xm_encap_pkt k;
	struct xm_tmpl t;
	struct xhdr h;
	struct tc c = tc_v6;
	struct tp p;
	__u8 out[T_HMAX];
	unsigned int e, i;

	xm_tg_begin(&g, "encap_udp6_csum_zero_sent_as_ffff");
	for (e = 0; e < 2; e++) {
		for (i = 0; i < 8; i++) {
			__u8 z[16];
			__u16 cs;

			c.encap = e ? XM_ENCAP_GENEVE : XM_ENCAP_VXLAN;
			c.vni = rnd() & 0xffffff;
			memset(&p, 0, sizeof(p));
			p.len = 2 + 2 * (rnd() % 900);	/* even */
			p.hash = rnd();
			p.payload = pay;
			rnd_fill(pay, p.len);
			pay[p.len - 2] = 0;
			pay[p.len - 1] = 0;
			if (exp_build(&c, &p, &h))
				break;
			cs = (__u16)rd_be(h.b + 54 + 6, 2);
			/* Already all ones (sent as 0xffff): a last word of
			 * 0 keeps it so. */
			if (cs == 0xffff)
				cs = 0;
			pay[p.len - 2] = (__u8)(cs >> 8);
			pay[p.len - 1] = (__u8)cs;
			/* Independent check that the construction worked:
			 * with the checksum field zero the sum is now all
			 * ones. */
			exp_build(&c, &p, &h);
			memcpy(z, h.b + 54, 16);
			z[6] = z[7] = 0;
			XM_EXPECT(&g, udp6_csum(h.b + 22, h.b + 38, z, 16, pay,
						p.len) == 0,
				  "test construction: the sum is not all ones");
			tc_template(&c, &t);
			tp_pkt(&p, &t, &k);
			xm_tmpl_apply(out, &t, &k);
			XM_EXPECT(&g, out[60] == 0xff && out[61] == 0xff,
				  "%s6 len %u hash 0x%x: checksum 0x%02x%02x, want 0xffff",
				  encap_name(c.encap), p.len, p.hash, out[60],
				  out[61]);
			run_case(&g, &c, &p);
		}
	}
	xm_tg_end(s, &g);
}

/* The same output buffer reused: a copy with every per-packet bit set,
 * then a plain one, must give the plain header (no leftovers). */
static void group_apply_reuse(struct xm_tsuite *s)
{
	static const int encaps[] = { XM_ENCAP_VXLAN, XM_ENCAP_GENEVE,
				      XM_ENCAP_GRE, XM_ENCAP_ERSPAN2,
				      XM_ENCAP_ERSPAN3 };
	struct xm_tgroup g;
	struct xm_encap_pkt k;
	struct xm_tmpl t;
	struct xhdr h;
	struct tp busy = { .len = 9000, .hash = 0xffffffff, .seq = 0xffffffff,
			   .tstamp = 0xffffffff, .tci = 0xffff, .tagged = 1,
			   .truncated = 1, .egress = 1 };
	struct tp plain = { .len = 60, .hash = 0, .seq = 1 };
	__u8 out[T_HMAX];
	char why[160];
	unsigned int i, f;

	xm_tg_begin(&g, "encap_apply_reuse_buffer");
	for (i = 0; i < ARRAY_SIZE(encaps); i++) {
		for (f = 0; f < 2; f++) {
			struct tc c = f ? tc_v6 : tc_v4;

			c.encap = encaps[i];
			c.key = c.seq = 1;
			c.session = 5;
			c.hwid = 3;
			tc_template(&c, &t);
			tp_pkt(&busy, &t, &k);
			xm_tmpl_apply(out, &t, &k);
			tp_pkt(&plain, &t, &k);
			xm_tmpl_apply(out, &t, &k);
			exp_build(&c, &plain, &h);
			if (xh_diff(&h, out, why, sizeof(why)))
				xm_tg_fail(&g, "%s%d second copy: %s",
					   encap_name(c.encap), c.family, why);
		}
	}
	xm_tg_end(s, &g);
}

/* xm_encap_inner_vlan: the outer tag of 802.1Q and 802.1ad frames. */
static void group_inner_vlan(struct xm_tsuite *s)
{
	struct xm_tgroup g;
	struct xm_fb fb;
	__u16 tci;
	int r;

	xm_tg_begin(&g, "encap_inner_vlan");

	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x8100);
	xm_fb_vlan(&fb, 0xa064, 0x0800);
	xm_fb_ipv4(&fb, 17, "10.0.0.1", "10.0.0.2", 5, 0);
	tci = 0;
	r = xm_encap_inner_vlan(fb.d, fb.len, &tci);
	XM_EXPECT(&g, r == 1 && tci == 0xa064, "802.1Q: %d 0x%x, want 1 0xa064",
		  r, tci);

	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x88a8);
	xm_fb_vlan(&fb, 0x2123, 0x8100);
	xm_fb_vlan(&fb, 0xe456, 0x0800);
	tci = 0;
	r = xm_encap_inner_vlan(fb.d, fb.len, &tci);
	XM_EXPECT(&g, r == 1 && tci == 0x2123,
		  "802.1ad+802.1Q: %d 0x%x, want 1 0x2123 (outer tag)", r, tci);

	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xm_fb_ipv4(&fb, 17, "10.0.0.1", "10.0.0.2", 5, 0);
	tci = 0x5555;
	r = xm_encap_inner_vlan(fb.d, fb.len, &tci);
	XM_EXPECT(&g, r == 0 && tci == 0x5555, "untagged: %d 0x%x, want 0",
		  r, tci);

	/* Tag cut off: 17 bytes cannot hold Ethernet + a tag. */
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x8100);
	xm_fb_vlan(&fb, 0x0064, 0x0800);
	tci = 0x5555;
	r = xm_encap_inner_vlan(fb.d, 17, &tci);
	XM_EXPECT(&g, r == 0, "17-byte 802.1Q frame: %d, want 0", r);
	r = xm_encap_inner_vlan(fb.d, 18, &tci);
	XM_EXPECT(&g, r == 1 && tci == 0x0064,
		  "18-byte 802.1Q frame: %d 0x%x, want 1 0x64", r, tci);
	r = xm_encap_inner_vlan(fb.d, 0, &tci);
	XM_EXPECT(&g, r == 0, "empty frame: %d, want 0", r);

	/* 0x9100 (old QinQ) is not one of the two tag types. */
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x9100);
	xm_fb_vlan(&fb, 0x0064, 0x0800);
	r = xm_encap_inner_vlan(fb.d, fb.len, &tci);
	XM_EXPECT(&g, r == 0, "0x9100 frame: %d, want 0", r);
	xm_tg_end(s, &g);
}

/* xm_csum_partial, which callers use for payload_sum, against the plain
 * sum: folded, it equals the RFC 1071 sum of the bytes as stored, for
 * every length and start alignment. */
static void group_csum_partial(struct xm_tsuite *s)
{
	static __u8 buf[2100];
	struct xm_tgroup g;
	unsigned int off, len;

	xm_tg_begin(&g, "encap_csum_partial");
	for (off = 0; off < 8 && !g.nfail; off++) {
		for (len = 0; len <= 2048 && !g.nfail; len++) {
			__u8 *p = buf + off;
			__u16 want, got;

			rnd_fill(p, len);
			if (len % 97 == 5)
				memset(p, 0xff, len);
			/* Both in wire order: the partial sum is of words
			 * as stored, so fold it and look at its bytes. */
			want = (__u16)~xm_t_csum(p, len);
			got = xm_csum_fold(xm_csum_partial(p, len));
			got = (__u16)(((const __u8 *)&got)[0] << 8 |
				      ((const __u8 *)&got)[1]);
			/* 0 and 0xffff are the same ones' complement
			 * number. */
			if (want == 0xffff)
				want = 0;
			if (got == 0xffff)
				got = 0;
			XM_EXPECT(&g, want == got,
				  "offset %u len %u: 0x%04x, want 0x%04x", off,
				  len, got, want);
		}
	}
	xm_tg_end(s, &g);
}

/* ---- pcap for an independent decoder ------------------------------- */

struct pcap_hdr {
	__u32 magic;
	__u16 major;
	__u16 minor;
	__s32 thiszone;
	__u32 sigfigs;
	__u32 snaplen;
	__u32 linktype;
};

struct pcap_rec {
	__u32 ts_sec;
	__u32 ts_usec;
	__u32 incl_len;
	__u32 orig_len;
};

/* What the decoder must report per frame, column by column; the script
 * passes the same names to tshark -e.  A value may be a comma list (one
 * per occurrence, outer first), "*" matches anything, "" means absent. */
static const char *const pc_fields[] = {
	"frame.protocols",
	"ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"ip.dsfield.dscp", "ipv6.tclass.dscp", "ip.ttl", "ipv6.hlim",
	"ip.flags.df", "ipv6.flow", "ip.checksum.status",
	"udp.srcport", "udp.dstport", "udp.checksum.status",
	"vxlan.vni", "geneve.vni", "geneve.proto_type",
	"gre.proto", "gre.flags.key", "gre.flags.sequence_number", "gre.key",
	"gre.sequence_number",
	"erspan.version", "erspan.spanid", "erspan.vlan", "erspan.cos",
	"erspan.encap", "erspan.bso", "erspan.truncated", "erspan.index",
	"erspan.timestamp", "erspan.sgt", "erspan.p", "erspan.ft",
	"erspan.hw", "erspan.direction", "erspan.gra", "erspan.o",
	"ip.len", "ipv6.plen", "udp.length", "_ws.expert.message",
};

enum { PC_NF = ARRAY_SIZE(pc_fields) };

#define PC_VLEN 160

struct pc_row {
	char v[PC_NF][PC_VLEN];
};

__attribute__((format(printf, 3, 4)))
static void pc_set(struct pc_row *r, const char *field, const char *fmt, ...)
{
	va_list ap;
	unsigned int i;

	for (i = 0; i < PC_NF; i++) {
		if (strcmp(pc_fields[i], field))
			continue;
		va_start(ap, fmt);
		vsnprintf(r->v[i], PC_VLEN, fmt, ap);
		va_end(ap);
		return;
	}
	fprintf(stderr, "test_encap: no column %s\n", field);
	exit(2);
}

/* Inner frames: IPv4/UDP from 10.1.0.1:40000 to 10.1.0.2:7777. */
enum { IN_PLAIN, IN_TAGGED, IN_TRUNC, IN_N };

#define IN_TCI 0xa064		/* PCP 5, VID 100 */
#define IN_SNAP 96		/* truncated frames: bytes kept */

static void inner_frame(int kind, struct xm_fb *fb, __u32 *sent)
{
	__u8 *pl;
	unsigned int n, i;

	xm_fb_init(fb);
	if (kind == IN_TAGGED) {
		xm_fb_eth(fb, 0x8100);
		xm_fb_vlan(fb, IN_TCI, 0x0800);
	} else {
		xm_fb_eth(fb, 0x0800);
	}
	xm_fb_ipv4(fb, 17, "10.1.0.1", "10.1.0.2", 5, 0);
	xm_fb_udp(fb, 40000, 7777);
	n = kind == IN_TRUNC ? 333 : kind == IN_TAGGED ? 64 : 51;
	pl = xm_fb_room(fb, n);
	for (i = 0; pl && i < n; i++)
		pl[i] = (__u8)(0x20 + i % 90);
	xm_fb_finish(fb);
	*sent = kind == IN_TRUNC ? IN_SNAP : fb->len;
}

/* What tshark must decode from the frame of collector c, copy p and
 * inner frame fb (kind IN_*, sent bytes of it) - from the inputs alone. */
static void pc_expect(const struct tc *c, const struct tp *p,
		      const struct xm_fb *fb, int kind, struct pc_row *r)
{
	int udp = is_udp(c->encap), v6 = c->family == 6;
	int v3 = c->encap == XM_ENCAP_ERSPAN3;
	unsigned int hl = exp_l4(c) + exp_tunnel_len(c);
	__u8 ttl = c->ttl ? c->ttl : 64;
	const char *tun;

	memset(r, 0, sizeof(*r));
	tun = c->encap == XM_ENCAP_VXLAN ? "udp:vxlan" :
	      c->encap == XM_ENCAP_GENEVE ? "udp:geneve" :
	      c->encap == XM_ENCAP_GRE ? "gre" : "gre:erspan";
	pc_set(r, "frame.protocols",
	       "eth:ethertype:%s:%s:eth:ethertype:%sip:udp:data",
	       v6 ? "ipv6" : "ip", tun,
	       kind == IN_TAGGED ? "vlan:ethertype:" : "");

	/* Outer IP (then the inner IPv4 where the field is shared). */
	pc_set(r, "ip.src", "%s10.1.0.1", v6 ? "" : "192.0.2.1,");
	pc_set(r, "ip.dst", "%s10.1.0.2", v6 ? "" : "198.51.100.200,");
	pc_set(r, "ipv6.src", "%s", v6 ? "2001:db8::1" : "");
	pc_set(r, "ipv6.dst", "%s", v6 ? "2001:db8:ffff:1::c8" : "");
	if (v6) {
		pc_set(r, "ip.dsfield.dscp", "0");
		pc_set(r, "ipv6.tclass.dscp", "%u", c->dscp);
		pc_set(r, "ip.ttl", "64");
		pc_set(r, "ipv6.hlim", "%u", ttl);
		pc_set(r, "ip.flags.df", "0");
		pc_set(r, "ipv6.flow", "0x%06x", p->hash & 0xfffff);
		/* 1: good (the inner header checksum) */
		pc_set(r, "ip.checksum.status", "1");
	} else {
		pc_set(r, "ip.dsfield.dscp", "%u,0", c->dscp);
		pc_set(r, "ip.ttl", "%u,64", ttl);
		pc_set(r, "ip.flags.df", "1,0");
		pc_set(r, "ip.checksum.status", "1,1");
	}

	if (udp) {
		pc_set(r, "udp.srcport", "%u,40000",
		       49152 | (p->hash & 0x3fff));
		pc_set(r, "udp.dstport", "%u,7777",
		       c->encap == XM_ENCAP_GENEVE ? 6081 : 4789);
		/* Outer: good (1) over IPv6, absent (3) over IPv4; the
		 * inner one is not ours. */
		pc_set(r, "udp.checksum.status", "%s,*", v6 ? "1" : "3");
	} else {
		pc_set(r, "udp.srcport", "40000");
		pc_set(r, "udp.dstport", "7777");
		pc_set(r, "udp.checksum.status", "*");
	}
	if (c->encap == XM_ENCAP_VXLAN)
		pc_set(r, "vxlan.vni", "%u", c->vni);
	if (c->encap == XM_ENCAP_GENEVE) {
		pc_set(r, "geneve.vni", "0x%06x", c->vni);
		pc_set(r, "geneve.proto_type", "0x6558");
	}
	if (!udp) {
		int kb = c->encap == XM_ENCAP_GRE && c->key;
		int sb = c->encap != XM_ENCAP_GRE || c->seq;

		pc_set(r, "gre.proto", "0x%04x",
		       c->encap == XM_ENCAP_GRE ? 0x6558 :
		       c->encap == XM_ENCAP_ERSPAN2 ? 0x88be : 0x22eb);
		pc_set(r, "gre.flags.key", "%d", kb);
		pc_set(r, "gre.flags.sequence_number", "%d", sb);
		if (kb)
			pc_set(r, "gre.key", "0x%08x", c->gre_key);
		if (sb)
			pc_set(r, "gre.sequence_number", "%u", p->seq);
	}
	if (is_erspan(c->encap)) {
		pc_set(r, "erspan.version", "%u", v3 ? 2 : 1);
		pc_set(r, "erspan.spanid", "%u", c->session);
		pc_set(r, "erspan.vlan", "%u", p->tagged ? p->tci & 0xfff : 0);
		pc_set(r, "erspan.cos", "%u", p->tagged ? p->tci >> 13 : 0);
		pc_set(r, "erspan.truncated", "%u", !!p->truncated);
		if (!v3) {
			pc_set(r, "erspan.encap", "%u", p->tagged ? 3 : 0);
			pc_set(r, "erspan.index", "0");
		} else {
			pc_set(r, "erspan.bso", "0");
			pc_set(r, "erspan.timestamp", "%u", p->tstamp);
			pc_set(r, "erspan.sgt", "0");
			pc_set(r, "erspan.p", "1");
			pc_set(r, "erspan.ft", "0");
			pc_set(r, "erspan.hw", "%u", c->hwid);
			pc_set(r, "erspan.direction", "%d", !!p->egress);
			pc_set(r, "erspan.gra", "1");
			pc_set(r, "erspan.o", "0");
		}
	}

	/* Lengths: outer from the header sizes, inner as built (a cut
	 * frame keeps its original lengths). */
	if (v6) {
		pc_set(r, "ip.len", "%u", fb->len - fb->l3_off);
		pc_set(r, "ipv6.plen", "%u", hl - 54 + p->len);
	} else {
		pc_set(r, "ip.len", "%u,%u", hl - 14 + p->len,
		       fb->len - fb->l3_off);
	}
	if (udp)
		pc_set(r, "udp.length", "%u,%u", hl - exp_l4(c) + p->len,
		       fb->len - fb->l4_off);
	else
		pc_set(r, "udp.length", "%u", fb->len - fb->l4_off);
	/* No complaint at all, except that a cut inner frame is shorter
	 * than its own IP and UDP lengths say. */
	pc_set(r, "_ws.expert.message", kind == IN_TRUNC ? "*" : "");
}

/* Frame number n: collector (encap, family, GRE key/seq bits ks), inner
 * frame kind; appended to fp, its table row printed.  -1 on a write
 * error (errno set). */
static int pcap_frame(FILE *fp, unsigned int n, int encap, int family,
		      unsigned int ks, int kind)
{
	static const char *const kinds[] = { "plain", "tagged", "truncated" };
	__u8 frame[T_HMAX + XM_FB_MAX];
	struct xm_encap_pkt k;
	struct pcap_rec pr;
	struct xm_tmpl t;
	struct xm_fb fb;
	struct pc_row r;
	struct tc c = family == 6 ? tc_v6 : tc_v4;
	struct tp p;
	unsigned int i;

	c.encap = encap;
	c.key = ks & 1;
	c.seq = ks >> 1 & 1;
	c.dscp = (__u8)(10 + n % 40);
	c.ttl = (__u8)(n % 3 ? 32 + n : 0);
	c.vni = 0x10000 * (__u32)(encap + 1) + 0x100 * (__u32)family +
		ks * 16 + (__u32)kind + 1;
	c.gre_key = 0xa0b0c000u + n;
	c.session = (__u16)((17 * n + 1) & 0x3ff);
	c.hwid = (__u8)(n % 64);

	memset(&p, 0, sizeof(p));
	inner_frame(kind, &fb, &p.len);
	p.payload = fb.d;
	p.hash = 0x9e3779b9u * (n + 1);
	p.seq = 1000 + n;
	p.tstamp = 0x12345600u + n;
	p.truncated = kind == IN_TRUNC;
	p.tagged = xm_encap_inner_vlan(fb.d, p.len, &p.tci);
	p.egress = kind == IN_TAGGED;

	tc_template(&c, &t);
	tp_pkt(&p, &t, &k);
	xm_tmpl_apply(frame, &t, &k);
	memcpy(frame + t.len, fb.d, p.len);
	pr.ts_sec = 1700000000u + n;
	pr.ts_usec = 0;
	pr.incl_len = pr.orig_len = t.len + p.len;
	if (fwrite(&pr, sizeof(pr), 1, fp) != 1 ||
	    fwrite(frame, pr.incl_len, 1, fp) != 1)
		return -1;

	pc_expect(&c, &p, &fb, kind, &r);
	printf("%s_v%d%s%s_%s", encap_name(c.encap), c.family,
	       c.key ? "_key" : "", c.seq ? "_seq" : "", kinds[kind]);
	for (i = 0; i < PC_NF; i++)
		printf("\t%s", r.v[i]);
	printf("\n");
	return 0;
}

static int pcap_mode(const char *path)
{
	static const int encaps[] = { XM_ENCAP_VXLAN, XM_ENCAP_GENEVE,
				      XM_ENCAP_GRE, XM_ENCAP_ERSPAN2,
				      XM_ENCAP_ERSPAN3 };
	/* pcap 2.4, native byte order (the magic tells), Ethernet */
	struct pcap_hdr ph = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };
	unsigned int e, f, ks, nks, i, n = 0;
	int kind, err = 0;
	FILE *fp;

	fp = fopen(path, "wb");
	if (!fp) {
		fprintf(stderr, "test_encap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (fwrite(&ph, sizeof(ph), 1, fp) != 1)
		err = -1;
	printf("#fields");
	for (i = 0; i < PC_NF; i++)
		printf("\t%s", pc_fields[i]);
	printf("\n");

	for (e = 0; e < ARRAY_SIZE(encaps) && !err; e++) {
		nks = encaps[e] == XM_ENCAP_GRE ? 4 : 1;
		for (f = 4; f <= 6 && !err; f += 2) {
			for (ks = 0; ks < nks && !err; ks++) {
				for (kind = 0; kind < IN_N && !err; kind++)
					err = pcap_frame(fp, n++, encaps[e],
							 (int)f, ks, kind);
			}
		}
	}
	if (err) {
		fprintf(stderr, "test_encap: writing %s: %s\n", path,
			strerror(errno));
		fclose(fp);
		return 1;
	}
	if (fclose(fp)) {
		fprintf(stderr, "test_encap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const int encaps[] = { XM_ENCAP_VXLAN, XM_ENCAP_GENEVE,
				      XM_ENCAP_GRE, XM_ENCAP_ERSPAN2,
				      XM_ENCAP_ERSPAN3 };
	struct xm_tsuite s = { 0 };
	unsigned int e, f;

	rnd_fill(g_payload, sizeof(g_payload));
	if (argc == 3 && !strcmp(argv[1], "--pcap"))
		return pcap_mode(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--pcap FILE]\n", argv[0]);
		return 2;
	}

	group_lengths(&s);
	group_defaults(&s);
	for (e = 0; e < ARRAY_SIZE(encaps); e++) {
		for (f = 4; f <= 6; f += 2) {
			group_fields(&s, encaps[e], (int)f, 0);
			if (is_erspan(encaps[e]))
				group_fields(&s, encaps[e], (int)f, 1);
		}
	}
	group_ipv4_every_length(&s);
	group_udp4_csum_zero(&s);
	group_udp6_csum(&s);
	group_udp6_csum_ffff(&s);
	group_apply_reuse(&s);
	group_inner_vlan(&s);
	group_csum_partial(&s);
	return xm_tsuite_exit(&s);
}

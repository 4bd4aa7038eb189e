/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_test.h - helpers shared by the unit tests: PASS/FAIL reporting per
 * check group, and a small frame builder.  Header-only; the frame builder
 * writes wire formats from the RFCs directly (it does not use the
 * project's protocol structs) so that a wrong struct layout in include/
 * shows up as a test failure instead of cancelling out.
 */
#ifndef XM_TEST_H
#define XM_TEST_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>

/* ---- reporting ------------------------------------------------------ */

struct xm_tsuite {
	int passed;
	int failed;
};

struct xm_tgroup {
	const char *name;
	int nfail;
	char reason[512];	/* first failure: the one worth reading */
};

static inline void xm_tg_begin(struct xm_tgroup *g, const char *name)
{
	g->name = name;
	g->nfail = 0;
	g->reason[0] = '\0';
}

__attribute__((format(printf, 2, 3)))
static inline void xm_tg_fail(struct xm_tgroup *g, const char *fmt, ...)
{
	va_list ap;

	if (!g->nfail++) {
		va_start(ap, fmt);
		vsnprintf(g->reason, sizeof(g->reason), fmt, ap);
		va_end(ap);
	}
}

#define XM_EXPECT(g, cond, ...)                                           \
	do {                                                              \
		if (!(cond))                                              \
			xm_tg_fail((g), __VA_ARGS__);                     \
	} while (0)

/* Print the group's one result line; returns 0 when it passed. */
static inline int xm_tg_end(struct xm_tsuite *s, struct xm_tgroup *g)
{
	if (!g->nfail) {
		printf("PASS %s\n", g->name);
		s->passed++;
	} else if (g->nfail == 1) {
		printf("FAIL %s: %s\n", g->name, g->reason);
		s->failed++;
	} else {
		printf("FAIL %s: %s (and %d more)\n", g->name, g->reason,
		       g->nfail - 1);
		s->failed++;
	}
	fflush(stdout);
	return g->nfail ? -1 : 0;
}

static inline int xm_tsuite_exit(const struct xm_tsuite *s)
{
	return s->failed || !s->passed ? 1 : 0;
}

/* ---- checksums ------------------------------------------------------ */

/* RFC 1071 one's-complement sum, folded and inverted, over len bytes
 * taken as big-endian 16-bit words.  Returned in host order. */
static inline __u16 xm_t_csum(const void *buf, unsigned int len)
{
	const __u8 *b = buf;
	__u32 sum = 0;
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* ---- frame builder -------------------------------------------------- */

#define XM_FB_MAX 1024

struct xm_fb {
	__u8 d[XM_FB_MAX];
	unsigned int len;
	int ip;			/* 0, 4 or 6: last IP header added */
	unsigned int l3_off;
	unsigned int l4_off;
	int udp;		/* last transport header is UDP */
	int overflow;		/* a write did not fit */
};

static inline void xm_fb_init(struct xm_fb *fb)
{
	memset(fb, 0, sizeof(*fb));
}

static inline __u8 *xm_fb_room(struct xm_fb *fb, unsigned int n)
{
	__u8 *p;

	if (fb->len + n > XM_FB_MAX) {
		fb->overflow = 1;
		return NULL;
	}
	p = fb->d + fb->len;
	memset(p, 0, n);
	fb->len += n;
	return p;
}

static inline void xm_fb_put16(struct xm_fb *fb, unsigned int off, __u16 v)
{
	if (off > XM_FB_MAX - 2) {
		fb->overflow = 1;
		return;
	}
	fb->d[off] = (__u8)(v >> 8);
	fb->d[off + 1] = (__u8)v;
}

static inline void xm_fb_put32(struct xm_fb *fb, unsigned int off, __u32 v)
{
	xm_fb_put16(fb, off, (__u16)(v >> 16));
	xm_fb_put16(fb, off + 2, (__u16)v);
}

/* n bytes of value byte (payload, padding, raw headers). */
static inline void xm_fb_bytes(struct xm_fb *fb, unsigned int n, __u8 byte)
{
	__u8 *p = xm_fb_room(fb, n);

	if (p)
		memset(p, byte, n);
}

static inline void xm_fb_eth(struct xm_fb *fb, __u16 type)
{
	static const __u8 dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	unsigned int off = fb->len;
	__u8 *p = xm_fb_room(fb, 14);

	if (!p)
		return;
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	xm_fb_put16(fb, off + 12, type);
}

/* One VLAN tag: tci (PCP/DEI/VID) then the ethertype that follows it. */
static inline void xm_fb_vlan(struct xm_fb *fb, __u16 tci, __u16 next)
{
	unsigned int off = fb->len;

	if (!xm_fb_room(fb, 4))
		return;
	xm_fb_put16(fb, off, tci);
	xm_fb_put16(fb, off + 2, next);
}

/* IPv4 header of ihl 32-bit words; options are NOPs (0x01).  frag is
 * the whole flags/offset field.  Lengths/checksum: xm_fb_finish(). */
static inline void xm_fb_ipv4(struct xm_fb *fb, __u8 proto, const char *src,
			      const char *dst, unsigned int ihl, __u16 frag)
{
	unsigned int off = fb->len;
	__u8 *p = xm_fb_room(fb, ihl * 4);

	if (!p)
		return;
	p[0] = (__u8)(0x40 | (ihl & 0x0f));
	xm_fb_put16(fb, off + 4, 0x1234);
	xm_fb_put16(fb, off + 6, frag);
	p[8] = 64;
	p[9] = proto;
	if (inet_pton(AF_INET, src, p + 12) != 1 ||
	    inet_pton(AF_INET, dst, p + 16) != 1)
		fb->overflow = 1;
	if (ihl > 5)
		memset(p + 20, 0x01, (ihl - 5) * 4);
	fb->ip = 4;
	fb->l3_off = off;
	fb->l4_off = off + ihl * 4;
	fb->udp = 0;
}

static inline void xm_fb_ipv6(struct xm_fb *fb, __u8 nexthdr, const char *src,
			      const char *dst)
{
	unsigned int off = fb->len;
	__u8 *p = xm_fb_room(fb, 40);

	if (!p)
		return;
	xm_fb_put32(fb, off, 0x60012345);
	p[6] = nexthdr;
	p[7] = 64;
	if (inet_pton(AF_INET6, src, p + 8) != 1 ||
	    inet_pton(AF_INET6, dst, p + 24) != 1)
		fb->overflow = 1;
	fb->ip = 6;
	fb->l3_off = off;
	fb->l4_off = off + 40;
	fb->udp = 0;
}

/* IPv6 option-style extension header (hop-by-hop, routing, destination
 * options: len a multiple of 8; AH: a multiple of 4, at least 12). */
static inline void xm_fb_ip6_ext(struct xm_fb *fb, __u8 type, __u8 nexthdr,
				 unsigned int len)
{
	__u8 *p = xm_fb_room(fb, len);

	if (!p)
		return;
	p[0] = nexthdr;
	p[1] = (__u8)(type == 51 ? len / 4 - 2 : len / 8 - 1);
	fb->l4_off = fb->len;
}

/* IPv6 fragment header: offset in 8-byte units, more = M flag. */
static inline void xm_fb_ip6_frag(struct xm_fb *fb, __u8 nexthdr,
				  __u16 offset, int more)
{
	unsigned int off = fb->len;
	__u8 *p = xm_fb_room(fb, 8);

	if (!p)
		return;
	p[0] = nexthdr;
	xm_fb_put16(fb, off + 2, (__u16)(offset << 3 | (more ? 1 : 0)));
	xm_fb_put32(fb, off + 4, 0xabcd0001);
	fb->l4_off = fb->len;
}

/* TCP header of doff 32-bit words; options are NOPs. */
static inline void xm_fb_tcp(struct xm_fb *fb, __u16 sport, __u16 dport,
			     unsigned int doff)
{
	unsigned int off = fb->len;
	unsigned int n = doff >= 5 ? doff * 4 : 20;
	__u8 *p = xm_fb_room(fb, n);

	if (!p)
		return;
	xm_fb_put16(fb, off, sport);
	xm_fb_put16(fb, off + 2, dport);
	xm_fb_put32(fb, off + 4, 1000);
	p[12] = (__u8)((doff & 0x0f) << 4);
	p[13] = 0x10;		/* ACK */
	xm_fb_put16(fb, off + 14, 512);
	if (doff > 5)
		memset(p + 20, 0x01, (doff - 5) * 4);
	fb->l4_off = off;
	fb->udp = 0;
}

static inline void xm_fb_udp(struct xm_fb *fb, __u16 sport, __u16 dport)
{
	unsigned int off = fb->len;

	if (!xm_fb_room(fb, 8))
		return;
	xm_fb_put16(fb, off, sport);
	xm_fb_put16(fb, off + 2, dport);
	fb->l4_off = off;
	fb->udp = 1;
}

static inline void xm_fb_sctp(struct xm_fb *fb, __u16 sport, __u16 dport)
{
	unsigned int off = fb->len;

	if (!xm_fb_room(fb, 12))
		return;
	xm_fb_put16(fb, off, sport);
	xm_fb_put16(fb, off + 2, dport);
	xm_fb_put32(fb, off + 4, 0x01020304);
	fb->l4_off = off;
	fb->udp = 0;
}

/* ICMP or ICMPv6 echo header (8 bytes). */
static inline void xm_fb_icmp(struct xm_fb *fb, __u8 type, __u8 code)
{
	unsigned int off = fb->len;
	__u8 *p = xm_fb_room(fb, 8);

	if (!p)
		return;
	p[0] = type;
	p[1] = code;
	xm_fb_put32(fb, off + 4, 0x00010001);
	fb->l4_off = off;
	fb->udp = 0;
}

/* Fill in the lengths of the last IP header and UDP header from what was
 * built so far, and the IPv4 header checksum.  Bytes added afterwards
 * (Ethernet padding) are not covered; patch fields afterwards to build
 * inconsistent frames. */
static inline void xm_fb_finish(struct xm_fb *fb)
{
	unsigned int l3 = fb->l3_off;
	unsigned int ihl;

	if (fb->udp)
		xm_fb_put16(fb, fb->l4_off + 4, (__u16)(fb->len - fb->l4_off));
	if (fb->ip == 6) {
		xm_fb_put16(fb, l3 + 4, (__u16)(fb->len - l3 - 40));
	} else if (fb->ip == 4) {
		ihl = (fb->d[l3] & 0x0f) * 4u;
		xm_fb_put16(fb, l3 + 2, (__u16)(fb->len - l3));
		xm_fb_put16(fb, l3 + 10, 0);
		if (ihl >= 20 && l3 + ihl <= fb->len)
			xm_fb_put16(fb, l3 + 10, xm_t_csum(fb->d + l3, ihl));
	}
}

#endif /* XM_TEST_H */

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
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	/* XM_TEST_VERBOSE=1: every failure, not only the group's first */
	if (getenv("XM_TEST_VERBOSE")) {
		printf("#   %s: ", g->name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
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

/* The clock in ERSPAN III units (100 ns), low 32 bits. */
static inline __u32 xm_t_clock_100ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u32)((__u64)ts.tv_sec * 10000000u + (__u64)ts.tv_nsec / 100u);
}

static inline __u32 xm_t_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
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

/* ---- collectors of every encapsulation ---------------------------------
 * For the tests that run the BPF encapsulation against the user-space
 * template code (test_fastpath, test_kpath): xm_encap.h before this.
 */
#ifdef XM_ENCAP_H
/* One encapsulation, for collectors 0 and 1. */
struct xm_t_encap_case {
	const char *name;
	__u8 encap;
	__u8 coll_flags;
};

static const struct xm_t_encap_case xm_t_encap_cases[] = {
	{ "vxlan", XM_ENCAP_VXLAN, 0 },
	{ "geneve", XM_ENCAP_GENEVE, 0 },
	{ "gre", XM_ENCAP_GRE, 0 },
	{ "gre_key", XM_ENCAP_GRE, XM_COLL_F_KEY },
	{ "gre_seq", XM_ENCAP_GRE, XM_COLL_F_SEQ },
	{ "gre_key_seq", XM_ENCAP_GRE, XM_COLL_F_KEY | XM_COLL_F_SEQ },
	{ "erspan2", XM_ENCAP_ERSPAN2, 0 },
	{ "erspan3", XM_ENCAP_ERSPAN3, 0 },
};

#define XM_T_NCASES (sizeof(xm_t_encap_cases) / sizeof(xm_t_encap_cases[0]))

/* Collector id's parameters for encap c over family: every field differs
 * between collectors 0 and 1. */
static inline void xm_t_coll_params(const struct xm_t_encap_case *c,
				    int family, __u32 id,
				    struct xm_encap_params *p)
{
	static const __u8 smac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };
	static const __u8 dmac[6] = { 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const __u8 s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const __u8 d6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7,
				     [14] = 0x12, [15] = 0x34 };
	static const __u8 s4[4] = { 192, 0, 2, 1 };
	static const __u8 d4[4] = { 198, 51, 100, 7 };

	memset(p, 0, sizeof(*p));
	memcpy(p->src_mac, smac, 6);
	memcpy(p->dst_mac, dmac, 6);
	p->dst_mac[5] = (__u8)(0x55 + id);
	p->family = (__u8)family;
	p->encap = c->encap;
	p->coll_flags = c->coll_flags;
	p->dscp = id ? 46 : 0;
	p->ttl = id ? 17 : 0;
	p->hwid = (__u8)(id ? 63 : 5);
	p->session = (__u16)(id ? 1023 : 0x155);
	p->vni = id ? 0xabcdef : 42;
	p->key = id ? 0xdeadbeef : 0x01020304;
	p->dport = id ? 9999 : 0;
	if (family == 4) {
		memcpy(p->saddr, s4, 4);
		memcpy(p->daddr, d4, 4);
		p->daddr[3] = (__u8)(p->daddr[3] + id);
	} else {
		memcpy(p->saddr, s6, 16);
		memcpy(p->daddr, d6, 16);
		p->daddr[15] = (__u8)(p->daddr[15] + id);
	}
}
#endif /* XM_ENCAP_H */

/* ---- classifier tables ------------------------------------------------
 * Only for tests that include xm_table.h (and so libbpf and xm_maps.h)
 * before this header: the layout check of one table half.
 */
#ifdef XM_TABLE_H
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

#include "xm_classify.h"

/* One rule_hash entry: key and the table slot it leads to. */
struct xm_t_kv {
	struct xm_rule_key key;
	__u32 slot;
};

static inline int xm_t_kv_cmp(const void *a, const void *b)
{
	const struct xm_t_kv *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Every rule_hash entry, sorted, into *out (free() it).  Returns the
 * count or a negative errno. */
static inline int xm_t_hash_dump(int fd, struct xm_t_kv **out)
{
	struct xm_rule_key cur, next;
	size_t n = 0, cap = 256;
	struct xm_t_kv *v = malloc(cap * sizeof(*v)), *nv;
	const void *prev = NULL;
	__u32 slot;

	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &slot))
			continue;	/* deleted meanwhile: no writer here */
		if (n == cap) {
			cap *= 2;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].key = cur;
		v[n++].slot = slot;
	}
	if (errno != ENOENT) {
		free(v);
		return -errno;
	}
	qsort(v, n, sizeof(*v), xm_t_kv_cmp);
	*out = v;
	return (int)n;
}

static inline int xm_t_tuple_same(const struct xm_tuple *a,
				  const struct xm_tuple *b)
{
	struct xm_tuple x = *a, y = *b;

	x.min_prio = y.min_prio = 0;
	x.solo = y.solo = 0;
	return !memcmp(&x, &y, sizeof(x));
}

/* Element key of an array map into val (the map's whole value size):
 * 0 or a negative errno. */
static inline int xm_t_elem(int fd, __u32 key, void *val)
{
	return bpf_map_lookup_elem(fd, &key, val) ? -errno : 0;
}

/* A resid entry: the slot, whether the map stores it in 4 or 8 bytes
 * (little-endian; the buffer takes either). */
static inline int xm_t_resid(int fd, __u32 key, __u32 *slot)
{
	__u64 v = 0;
	int err = xm_t_elem(fd, key, &v);

	*slot = (__u32)v;
	return err;
}

/*
 * Half idx must hold exactly the (prio, id)-sorted table t[0..n): its
 * rules (ended by a zero id), a residual list in slot order, tuples of
 * distinct shapes sorted by min_prio, every rule either residual or
 * hashable into one of the half's tuples (whose min_prio does not exceed
 * its prio), and in rule_hash exactly the keys of the hashed rules for
 * this half, each leading to the first slot with that key: no key
 * missing, none stale.  Everything but the tuple and residual counts
 * (ctl, one element) is read through the map fds of m, as the kernel
 * sees it, not through the mmapped view the writer used.  Failures go to
 * g, prefixed with what.  Returns the number of keys of the half, or -1
 * after a failure.
 */
static inline int xm_t_check_half(struct xm_tgroup *g, const char *what,
				  const struct xm_table *tb,
				  const struct xm_maps *m, __u32 idx,
				  const struct xm_rule *t, __u32 n)
{
	__u32 nt = tb->ctl->gen[idx].ntuples, nr = tb->ctl->gen[idx].nresid;
	struct xm_t_kv *want = NULL, *got = NULL;
	struct xm_tuple tu[XM_MAX_TUPLES], shape;
	int nfail = g->nfail, ngot, err, ret = -1;
	__u32 i, j, s, nw = 0, nh = 0, *res = NULL;
	struct xm_rule r;
	__u8 *inres = NULL;

	for (s = 0; s <= n && s < XM_MAX_RULES; s++) {
		err = xm_t_elem(m->rules, idx * XM_MAX_RULES + s, &r);
		if (err) {
			xm_tg_fail(g, "%s: reading rules[%u]: %s", what,
				   idx * XM_MAX_RULES + s, strerror(-err));
			return -1;
		}
		if (s < n && memcmp(&r, &t[s], sizeof(r))) {
			xm_tg_fail(g, "%s: half %u slot %u holds rule %u, want rule %u",
				   what, idx, s, r.id, t[s].id);
			return -1;
		}
		if (s == n && r.id) {
			xm_tg_fail(g, "%s: half %u has rule %u past its %u rules",
				   what, idx, r.id, n);
			return -1;
		}
	}
	if (nt > XM_MAX_TUPLES || nr > n) {
		xm_tg_fail(g, "%s: half %u has %u tuples, %u residual rules for %u rules",
			   what, idx, nt, nr, n);
		return -1;
	}
	for (i = 0; i < nt; i++) {
		err = xm_t_elem(m->tuples, idx * XM_MAX_TUPLES + i, &tu[i]);
		if (err) {
			xm_tg_fail(g, "%s: reading tuples: %s", what,
				   strerror(-err));
			return -1;
		}
		for (j = 0; j < i; j++)
			XM_EXPECT(g, !xm_t_tuple_same(&tu[i], &tu[j]),
				  "%s: half %u tuples %u and %u have one shape",
				  what, idx, j, i);
		XM_EXPECT(g, !i || tu[i - 1].min_prio <= tu[i].min_prio,
			  "%s: half %u tuple %u min_prio %u after %u", what,
			  idx, i, tu[i].min_prio, tu[i - 1].min_prio);
	}
	inres = calloc(n ? n : 1, 1);
	want = calloc(n ? n : 1, sizeof(*want));
	res = calloc(nr ? nr : 1, sizeof(*res));
	if (!inres || !want || !res) {
		xm_tg_fail(g, "%s: out of memory", what);
		goto out;
	}
	for (i = 0; i < nr; i++) {
		err = xm_t_resid(m->resid, idx * XM_MAX_RULES + i, &res[i]);
		if (err) {
			xm_tg_fail(g, "%s: reading resid: %s", what,
				   strerror(-err));
			goto out;
		}
		if (res[i] >= n || (i && res[i] <= res[i - 1])) {
			xm_tg_fail(g, "%s: half %u residual entry %u is slot %u (of %u rules; entry %u is slot %u)",
				   what, idx, i, res[i], n, i ? i - 1 : 0,
				   i ? res[i - 1] : res[0]);
			goto out;
		}
		inres[res[i]] = 1;
	}
	for (s = 0; s < n; s++) {
		if (inres[s])
			continue;
		if (!xm_rule_hashable(&t[s])) {
			xm_tg_fail(g, "%s: half %u: rule %u (slot %u) is neither residual nor hashable",
				   what, idx, t[s].id, s);
			goto out;
		}
		xm_tuple_of(&t[s], &shape);
		for (i = 0; i < nt && !xm_t_tuple_same(&tu[i], &shape); i++)
			;
		if (i == nt) {
			xm_tg_fail(g, "%s: half %u: rule %u (slot %u) is not residual and has no tuple",
				   what, idx, t[s].id, s);
			goto out;
		}
		XM_EXPECT(g, tu[i].min_prio <= t[s].prio,
			  "%s: half %u tuple %u min_prio %u > prio %u of its rule %u",
			  what, idx, i, tu[i].min_prio, t[s].prio, t[s].id);
		xm_rule_key_of_rule(&t[s], &tu[i], i, idx, &want[nw].key);
		want[nw++].slot = s;
	}
	/* equal keys: the first slot, the best (prio, id), is the entry;
	 * a later rule with that key must match the same frames, or be
	 * residual (IPv6 addresses hashed alike) */
	qsort(want, nw, sizeof(*want), xm_t_kv_cmp);
	for (i = 0, j = 0; i < nw; i++) {
		const struct xm_rule *ra, *rb;

		if (!j || memcmp(&want[i].key, &want[j - 1].key,
				 sizeof(want[i].key))) {
			want[j++] = want[i];
			continue;
		}
		ra = &t[want[j - 1].slot];
		rb = &t[want[i].slot];
		XM_EXPECT(g, xm_tuple_addrs_same(&tu[want[i].key.tuple],
						 ra->src, ra->dst, rb->src,
						 rb->dst),
			  "%s: half %u: rule %u shares the key of rule %u (tuple %u) with other addresses and is not residual",
			  what, idx, rb->id, ra->id, want[i].key.tuple);
	}
	nw = j;
	/* A tuple with one distinct key names its rule (slot + 1). */
	for (i = 0; i < nt; i++) {
		__u32 cnt = 0, solo = 0;

		for (j = 0; j < nw; j++)
			if (want[j].key.tuple == i) {
				cnt++;
				solo = want[j].slot + 1;
			}
		XM_EXPECT(g, tu[i].solo == (cnt == 1 ? solo : 0),
			  "%s: half %u tuple %u: solo %u with %u keys (want %u)",
			  what, idx, i, tu[i].solo, cnt, cnt == 1 ? solo : 0);
	}

	ngot = xm_t_hash_dump(m->rule_hash, &got);
	if (ngot < 0) {
		xm_tg_fail(g, "%s: reading rule_hash: %s", what,
			   strerror(-ngot));
		goto out;
	}
	for (i = 0, j = 0; i < (__u32)ngot; i++) {
		if (got[i].key.gen > 1) {
			xm_tg_fail(g, "%s: rule_hash key of half %u", what,
				   got[i].key.gen);
			goto out;
		}
		if (got[i].key.gen == idx)
			got[j++] = got[i];
	}
	nh = j;
	for (i = 0, j = 0; i < nw || j < nh;) {
		int c = i == nw ? 1 : j == nh ? -1 :
			memcmp(&want[i].key, &got[j].key, sizeof(want[i].key));

		if (c < 0) {
			xm_tg_fail(g, "%s: half %u: key of rule %u (slot %u, tuple %u) missing from rule_hash",
				   what, idx, t[want[i].slot].id, want[i].slot,
				   want[i].key.tuple);
			goto out;
		}
		if (c > 0) {
			xm_tg_fail(g, "%s: half %u: stale rule_hash key (tuple %u, slot %u, sport %u dport %u proto %u vlan %u) matches no rule of the half",
				   what, idx, got[j].key.tuple, got[j].slot,
				   got[j].key.sport, got[j].key.dport,
				   got[j].key.proto, got[j].key.vlan);
			goto out;
		}
		if (want[i].slot != got[j].slot) {
			xm_tg_fail(g, "%s: half %u: key of rule %u (tuple %u) leads to slot %u, want %u",
				   what, idx, t[want[i].slot].id,
				   want[i].key.tuple, got[j].slot, want[i].slot);
			goto out;
		}
		i++;
		j++;
	}
	if (g->nfail == nfail)
		ret = (int)nw;
out:
	free(inres);
	free(want);
	free(res);
	free(got);
	return ret;
}
#endif /* XM_TABLE_H */

/* ---- counters ----------------------------------------------------------
 * Only for tests that include xm_types.h before this header.
 */
#ifdef XM_TYPES_H
/* The name of __u64 word i of struct xm_dev_stats, for failure lines. */
static inline const char *xm_t_dev_stat_name(unsigned int i)
{
	static const char *const names[] = {
		"rx", "rx_bytes", "matched", "matched_bytes", "not_matched",
		"passed", "malformed", "to_xsk", "xsk_missing", "meta_fail",
		"neigh_passed", "skipped", "sampled_out", "to_fast",
		"fast_fallback", "fast_xmit_err",
		/* host[] (host mode): the appliance program leaves them
		 * at 0 */
		"host.in.seen", "host.in.seen_bytes", "host.in.loop_guard",
		"host.in.mirror", "host.in.cloned", "host.in.clone_fail",
		"host.in.clone_segs", "host.in.xdp_rx", "host.in.stale",
		"host.in.k_cloned", "host.in.k_rx", "host.in.k_sent",
		"host.in.k_fallback", "host.in.k_drop", "host.in.own_tx",
		"host.out.seen", "host.out.seen_bytes", "host.out.loop_guard",
		"host.out.mirror", "host.out.cloned", "host.out.clone_fail",
		"host.out.clone_segs", "host.out.xdp_rx", "host.out.stale",
		"host.out.k_cloned", "host.out.k_rx", "host.out.k_sent",
		"host.out.k_fallback", "host.out.k_drop", "host.out.own_tx",
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
			       sizeof(struct xm_dev_stats) / sizeof(__u64),
		       "names out of date with struct xm_dev_stats");
	return i < sizeof(names) / sizeof(names[0]) ? names[i] : "?";
}
#endif /* XM_TYPES_H */

/* ---- running an XDP program -------------------------------------------
 * Only for tests that include <bpf/bpf.h> before this header.
 */
#ifdef __LIBBPF_BPF_H
#include <errno.h>
#include <linux/bpf.h>

#define XM_T_RUN_MAX 4096	/* bytes of frame in and out */

struct xm_t_run {
	__u32 retval;
	__u32 out_len;
	__u32 meta_len;		/* ctx_out.data - ctx_out.data_meta */
	__u8 out[XM_T_RUN_MAX];
};

/*
 * Run frame (with premeta bytes of existing metadata, 0xee, in front)
 * repeat times through BPF_PROG_TEST_RUN of XDP program prog_fd, as
 * received on RX queue 0 of ifindex.  The kernel does not reset the
 * frame between repeats: repeat only frames that come back as they went
 * in.  0 or a negative errno.
 */
/* BPF_PROG_TEST_RUN of any program type: data in, context in and out
 * (ctx_size bytes each), data out. */
static inline int xm_t_prog_run(int prog_fd, const void *in, __u32 in_len,
				void *ctx_in, void *ctx_out, __u32 ctx_size,
				void *out, __u32 out_size, __u32 repeat,
				__u32 *retval, __u32 *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = in_len,
		.data_out = out,
		.data_size_out = out_size,
		.ctx_in = ctx_in,
		.ctx_size_in = ctx_size,
		.ctx_out = ctx_out,
		.ctx_size_out = ctx_size,
		.repeat = repeat,
	);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*retval = o.retval;
	*out_len = o.data_size_out;
	return 0;
}

static inline int xm_t_xdp_run(int prog_fd, __u32 ifindex, const __u8 *frame,
			       __u32 len, __u32 premeta, __u32 repeat,
			       struct xm_t_run *r)
{
	__u8 in[XM_T_RUN_MAX];
	struct xdp_md ci, co;
	int err;

	if (premeta + len > sizeof(in))
		return -E2BIG;
	memset(in, 0xee, premeta);
	memcpy(in + premeta, frame, len);
	memset(&ci, 0, sizeof(ci));
	memset(&co, 0, sizeof(co));
	ci.data = premeta;
	ci.data_end = premeta + len;
	ci.ingress_ifindex = ifindex;
	ci.rx_queue_index = 0;

	err = xm_t_prog_run(prog_fd, in, premeta + len, &ci, &co, sizeof(ci),
			    r->out, sizeof(r->out), repeat, &r->retval,
			    &r->out_len);
	if (err)
		return err;
	r->meta_len = co.data - co.data_meta;
	return 0;
}
#endif /* __LIBBPF_BPF_H */

/* ---- the appliance skeleton's maps --------------------------------------
 * Only for tests that include xm_table.h and mirror.skel.h before this
 * header.
 */
#if defined(XM_TABLE_H) && defined(__MIRROR_BPF_SKEL_H__)
/* The fds of the classifier's maps of skel (what xm_table_open() needs)
 * into m; every other fd is -1. */
static inline void xm_t_skel_table_maps(const struct mirror_bpf *skel,
					struct xm_maps *m)
{
	xm_maps_init(m);
	m->rules = bpf_map__fd(skel->maps.rules);
	m->ctl = bpf_map__fd(skel->maps.ctl);
	m->tuples = bpf_map__fd(skel->maps.tuples);
	m->resid = bpf_map__fd(skel->maps.resid);
	m->rule_hash = bpf_map__fd(skel->maps.rule_hash);
	m->filters = bpf_map__fd(skel->maps.filters);
	m->qsbr = bpf_map__fd(skel->maps.qsbr);
}
#endif

#endif /* XM_TEST_H */

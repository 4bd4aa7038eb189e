// SPDX-License-Identifier: GPL-2.0
/*
 * test_encap - the VXLAN/IPv4 template and its per-packet update
 * (include/xm_encap.h) against headers built here by hand, byte by byte,
 * with the IPv4 checksum computed by a plain RFC 1071 sum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xm_encap.h"
#include "xm_types.h"
#include "xm_test.h"

#define VX_LEN 50
#define VX_CANARY 0xa5

struct vx_case {
	__u8 src_mac[6];
	__u8 dst_mac[6];
	const char *saddr;
	const char *daddr;
	__u32 vni;
	__u16 dport;
	__u8 ttl;
	__u8 tos;
	__u32 inner_len;
	__u32 hash;
};

static const struct vx_case vx_base = {
	.src_mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	.dst_mac = { 0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
	.saddr = "192.0.2.1",
	.daddr = "198.51.100.200",
	.vni = 0,
	.dport = XM_VXLAN_PORT,
	.inner_len = 60,
};

static void vx_put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* The expected header, written from RFC 791 / 768 / 7348 field by field. */
static int vx_expected(const struct vx_case *c, __u8 *e)
{
	__u32 tot = c->inner_len + 36;
	__u32 vni = c->vni & 0xffffff;

	memset(e, 0, VX_LEN);
	memcpy(e, c->dst_mac, 6);
	memcpy(e + 6, c->src_mac, 6);
	vx_put16(e + 12, 0x0800);
	e[14] = 0x45;
	e[15] = c->tos;
	vx_put16(e + 16, (__u16)tot);
	vx_put16(e + 18, 0);		/* id */
	vx_put16(e + 20, 0x4000);	/* DF, offset 0 */
	e[22] = c->ttl ? c->ttl : 64;
	e[23] = 17;
	if (inet_pton(AF_INET, c->saddr, e + 26) != 1 ||
	    inet_pton(AF_INET, c->daddr, e + 30) != 1)
		return -1;
	vx_put16(e + 24, xm_t_csum(e + 14, 20));
	vx_put16(e + 34, (__u16)(49152 | (c->hash & 0x3fff)));
	vx_put16(e + 36, c->dport);
	vx_put16(e + 38, (__u16)(tot - 20));
	/* UDP checksum 0 (bytes 40-41), VXLAN flags I, VNI, reserved. */
	e[42] = 0x08;
	e[46] = (__u8)(vni >> 16);
	e[47] = (__u8)(vni >> 8);
	e[48] = (__u8)vni;
	return 0;
}

/* Build the template, apply it at an odd offset of a canary-filled
 * buffer and compare every byte.  Returns 0 or records a failure. */
static int vx_check(struct xm_tgroup *g, const struct vx_case *c)
{
	struct xm_vxlan4_params p;
	struct xm_tmpl t;
	__u8 buf[VX_LEN + 16], want[VX_LEN];
	__u8 *out = buf + 3;	/* headroom is not aligned in general */
	unsigned int i;

	memset(&p, 0, sizeof(p));
	memcpy(p.src_mac, c->src_mac, 6);
	memcpy(p.dst_mac, c->dst_mac, 6);
	if (inet_pton(AF_INET, c->saddr, &p.saddr) != 1 ||
	    inet_pton(AF_INET, c->daddr, &p.daddr) != 1 ||
	    vx_expected(c, want)) {
		xm_tg_fail(g, "bad test address %s/%s", c->saddr, c->daddr);
		return -1;
	}
	p.vni = c->vni;
	p.dport = c->dport;
	p.ttl = c->ttl;
	p.tos = c->tos;

	memset(buf, VX_CANARY, sizeof(buf));
	xm_tmpl_vxlan4(&t, &p);
	xm_tmpl_apply_vxlan4(out, &t, c->inner_len, c->hash);

	if (t.len != VX_LEN || t.ip_off != 14 || t.udp_off != 34) {
		xm_tg_fail(g, "template len/ip_off/udp_off %u/%u/%u, want 50/14/34",
			   t.len, t.ip_off, t.udp_off);
		return -1;
	}
	for (i = 0; i < VX_LEN; i++) {
		if (out[i] != want[i]) {
			xm_tg_fail(g, "inner %u hash 0x%x vni 0x%x dport %u: byte %u is 0x%02x, want 0x%02x",
				   c->inner_len, c->hash, c->vni, c->dport, i,
				   out[i], want[i]);
			return -1;
		}
	}
	for (i = 0; i < sizeof(buf); i++) {
		if ((i < 3 || i >= 3 + VX_LEN) && buf[i] != VX_CANARY) {
			xm_tg_fail(g, "wrote outside the 50 header bytes (buffer byte %u)",
				   i);
			return -1;
		}
	}
	/* A correct header sums to 0xffff (its checksum verifies). */
	if (xm_t_csum(out + 14, 20) != 0) {
		xm_tg_fail(g, "inner %u: IPv4 checksum does not verify",
			   c->inner_len);
		return -1;
	}
	return 0;
}

static void vx_inner_lengths(struct xm_tsuite *s)
{
	static const __u32 lens[] = { 60, 1500, 9000 };
	struct xm_tgroup g;
	struct vx_case c = vx_base;
	unsigned int i;

	xm_tg_begin(&g, "encap_vxlan4_inner_len");
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		c.inner_len = lens[i];
		vx_check(&g, &c);
	}
	xm_tg_end(s, &g);
}

static void vx_hashes(struct xm_tsuite *s)
{
	static const __u32 hashes[] = { 0, 1, 0x3fff, 0x4000, 0xc000,
					0x12345678, 0xdeadbeef, 0xffffffff };
	struct xm_tgroup g;
	struct vx_case c = vx_base;
	unsigned int i;

	xm_tg_begin(&g, "encap_vxlan4_sport_hash");
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		c.hash = hashes[i];
		c.inner_len = 1500;
		vx_check(&g, &c);
	}
	xm_tg_end(s, &g);
}

static void vx_vnis(struct xm_tsuite *s)
{
	static const __u32 vnis[] = { 0, 1, 0xffffff, 0x123456 };
	struct xm_tgroup g;
	struct vx_case c = vx_base;
	unsigned int i;

	xm_tg_begin(&g, "encap_vxlan4_vni");
	for (i = 0; i < sizeof(vnis) / sizeof(vnis[0]); i++) {
		c.vni = vnis[i];
		vx_check(&g, &c);
	}
	xm_tg_end(s, &g);
}

static void vx_dports(struct xm_tsuite *s)
{
	static const __u16 ports[] = { XM_VXLAN_PORT, 8472, 1, 65535 };
	struct xm_tgroup g;
	struct vx_case c = vx_base;
	unsigned int i;

	xm_tg_begin(&g, "encap_vxlan4_dport");
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		c.dport = ports[i];
		c.hash = 0x4242 * i;
		vx_check(&g, &c);
	}
	xm_tg_end(s, &g);
}

static void vx_ttl_tos(struct xm_tsuite *s)
{
	struct xm_tgroup g;
	struct vx_case c = vx_base;

	xm_tg_begin(&g, "encap_vxlan4_ttl_tos");
	c.ttl = 0;		/* default 64 */
	vx_check(&g, &c);
	c.ttl = 1;
	c.tos = 0xb8;
	vx_check(&g, &c);
	c.ttl = 255;
	c.tos = 0xff;
	vx_check(&g, &c);
	xm_tg_end(s, &g);
}

/*
 * Every inner length the 16-bit total length can carry, with addresses
 * chosen so the template's partial sum is large: catches a missing
 * end-around carry in the incremental checksum.
 */
static void vx_all_lengths(struct xm_tsuite *s)
{
	static const char *const addrs[][2] = {
		{ "192.0.2.1", "198.51.100.200" },
		{ "255.255.255.254", "255.255.255.255" },
		{ "0.0.0.0", "0.0.0.1" },
	};
	struct xm_tgroup g;
	struct vx_case c = vx_base;
	unsigned int a;
	__u32 len;

	xm_tg_begin(&g, "encap_vxlan4_csum_every_length");
	for (a = 0; a < sizeof(addrs) / sizeof(addrs[0]) && !g.nfail; a++) {
		c.saddr = addrs[a][0];
		c.daddr = addrs[a][1];
		c.tos = a ? 0xff : 0;
		c.ttl = a ? 255 : 0;
		for (len = 0; len <= 65535 - 36 && !g.nfail; len++) {
			c.inner_len = len;
			c.hash = len * 2654435761u;
			vx_check(&g, &c);
		}
	}
	xm_tg_end(s, &g);
}

int main(void)
{
	struct xm_tsuite s = { 0 };

	vx_inner_lengths(&s);
	vx_hashes(&s);
	vx_vnis(&s);
	vx_dports(&s);
	vx_ttl_tos(&s);
	vx_all_lengths(&s);
	return xm_tsuite_exit(&s);
}

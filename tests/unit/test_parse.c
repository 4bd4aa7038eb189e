// SPDX-License-Identifier: GPL-2.0
/*
 * test_parse - field extraction of the user-space build of xm_parse()
 * (include/xm_parse.h) on a handful of hand-built frames: exact values of
 * every field the classifier and the flow hash use.
 */
#include <stdio.h>
#include <string.h>

#include "xm_parse.h"
#include "xm_test.h"

/* What a frame must parse into. */
struct px_want {
	__u8 family, proto, l4_ok, malformed, nvlan, frag;
	__u16 sport, dport;
	__u16 vlan0, vlan1;
	__u16 l3_off, l4_off, ethertype;
	const char *src, *dst;	/* NULL: all-zero */
};

#define PX_FIELD(g, name, got, want)                                      \
	XM_EXPECT(g, (got) == (want), "%s: " #got " is %u, want %u", name, \
		  (unsigned int)(got), (unsigned int)(want))

static void px_addr(struct xm_tgroup *g, const char *name, const char *what,
		    const __u8 *got, const char *want, __u8 family)
{
	__u8 exp[16] = { 0 };

	if (want && inet_pton(family == 6 ? AF_INET6 : AF_INET, want, exp) != 1) {
		xm_tg_fail(g, "%s: bad test address %s", name, want);
		return;
	}
	XM_EXPECT(g, !memcmp(got, exp, 16), "%s: %s address differs from %s",
		  name, what, want ? want : "zero");
}

static void px_check(struct xm_tgroup *g, const char *name,
		     const struct xm_fb *fb, const struct px_want *w)
{
	struct xm_flow f;

	if (fb->overflow) {
		xm_tg_fail(g, "%s: frame builder overflow", name);
		return;
	}
	memset(&f, 0, sizeof(f));
	xm_parse(fb->d, fb->d + fb->len, &f);
	PX_FIELD(g, name, f.family, w->family);
	PX_FIELD(g, name, f.proto, w->proto);
	PX_FIELD(g, name, f.l4_ok, w->l4_ok);
	PX_FIELD(g, name, f.malformed, w->malformed);
	PX_FIELD(g, name, f.nvlan, w->nvlan);
	PX_FIELD(g, name, f.frag, w->frag);
	PX_FIELD(g, name, f.sport, w->sport);
	PX_FIELD(g, name, f.dport, w->dport);
	PX_FIELD(g, name, f.vlan[0], w->vlan0);
	PX_FIELD(g, name, f.vlan[1], w->vlan1);
	PX_FIELD(g, name, f.l3_off, w->l3_off);
	PX_FIELD(g, name, f.l4_off, w->l4_off);
	PX_FIELD(g, name, f.ethertype, w->ethertype);
	px_addr(g, name, "src", f.src, w->src, w->family);
	px_addr(g, name, "dst", f.dst, w->dst, w->family);
}

static void px_ipv4(struct xm_tsuite *s)
{
	struct xm_tgroup g;
	struct xm_fb fb;

	xm_tg_begin(&g, "parse_ipv4_tcp");
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xm_fb_ipv4(&fb, 6, "10.1.2.3", "192.168.7.9", 5, 0x4000);
	xm_fb_tcp(&fb, 1234, 80, 5);
	xm_fb_finish(&fb);
	px_check(&g, "v4 tcp", &fb, &(struct px_want){
		.family = 4, .proto = 6, .l4_ok = 1, .sport = 1234,
		.dport = 80, .l3_off = 14, .l4_off = 34, .ethertype = 0x0800,
		.src = "10.1.2.3", .dst = "192.168.7.9" });
	xm_tg_end(s, &g);

	xm_tg_begin(&g, "parse_ipv4_options_sctp");
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xm_fb_ipv4(&fb, 132, "10.0.0.1", "10.0.0.2", 8, 0);
	xm_fb_sctp(&fb, 2905, 36412);
	xm_fb_finish(&fb);
	px_check(&g, "v4 ihl 8 sctp", &fb, &(struct px_want){
		.family = 4, .proto = 132, .l4_ok = 1, .sport = 2905,
		.dport = 36412, .l3_off = 14, .l4_off = 46,
		.ethertype = 0x0800, .src = "10.0.0.1", .dst = "10.0.0.2" });
	xm_tg_end(s, &g);

	xm_tg_begin(&g, "parse_ipv4_fragments");
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xm_fb_ipv4(&fb, 17, "10.0.0.1", "10.0.0.2", 5, 0x2000);
	xm_fb_udp(&fb, 5353, 53);
	xm_fb_bytes(&fb, 16, 0);
	xm_fb_finish(&fb);
	px_check(&g, "first fragment", &fb, &(struct px_want){
		.family = 4, .proto = 17, .l4_ok = 1, .frag = 1,
		.sport = 5353, .dport = 53, .l3_off = 14, .l4_off = 34,
		.ethertype = 0x0800, .src = "10.0.0.1", .dst = "10.0.0.2" });
	xm_fb_put16(&fb, 14 + 6, 0x0003);	/* offset 24 bytes, last */
	xm_fb_finish(&fb);
	px_check(&g, "non-first fragment", &fb, &(struct px_want){
		.family = 4, .proto = 17, .frag = 2, .l3_off = 14,
		.l4_off = 34, .ethertype = 0x0800, .src = "10.0.0.1",
		.dst = "10.0.0.2" });
	xm_tg_end(s, &g);
}

static void px_vlan_ipv6(struct xm_tsuite *s)
{
	struct xm_tgroup g;
	struct xm_fb fb;
	int i;

	xm_tg_begin(&g, "parse_qinq_ipv6_udp");
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x88a8);
	xm_fb_vlan(&fb, 0x2000 | 200, 0x8100);
	xm_fb_vlan(&fb, 0xf000 | 100, 0x86dd);
	xm_fb_ipv6(&fb, 17, "2001:db8::1", "2001:db8::2");
	xm_fb_udp(&fb, 40000, 4789);
	xm_fb_finish(&fb);
	px_check(&g, "qinq v6 udp", &fb, &(struct px_want){
		.family = 6, .proto = 17, .l4_ok = 1, .nvlan = 2,
		.sport = 40000, .dport = 4789, .vlan0 = 200, .vlan1 = 100,
		.l3_off = 22, .l4_off = 62, .ethertype = 0x86dd,
		.src = "2001:db8::1", .dst = "2001:db8::2" });
	xm_tg_end(s, &g);

	xm_tg_begin(&g, "parse_ipv6_exthdrs");
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x86dd);
	xm_fb_ipv6(&fb, 0, "2001:db8::1", "2001:db8::2");
	xm_fb_ip6_ext(&fb, 0, 43, 8);
	xm_fb_ip6_ext(&fb, 43, 51, 24);
	xm_fb_ip6_ext(&fb, 51, 60, 16);
	xm_fb_ip6_ext(&fb, 60, 6, 8);
	xm_fb_tcp(&fb, 22, 50000, 5);
	xm_fb_finish(&fb);
	px_check(&g, "hbh+rt+ah+dst tcp", &fb, &(struct px_want){
		.family = 6, .proto = 6, .l4_ok = 1, .sport = 22,
		.dport = 50000, .l3_off = 14, .l4_off = 14 + 40 + 56,
		.ethertype = 0x86dd, .src = "2001:db8::1",
		.dst = "2001:db8::2" });

	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x86dd);
	xm_fb_ipv6(&fb, 0, "2001:db8::1", "2001:db8::2");
	xm_fb_ip6_ext(&fb, 0, 44, 8);
	xm_fb_ip6_frag(&fb, 6, 100, 1);
	xm_fb_tcp(&fb, 22, 50000, 5);
	xm_fb_finish(&fb);
	px_check(&g, "hbh+frag non-first", &fb, &(struct px_want){
		.family = 6, .proto = 6, .frag = 2, .l3_off = 14,
		.l4_off = 70, .ethertype = 0x86dd, .src = "2001:db8::1",
		.dst = "2001:db8::2" });

	/* One more extension header than the parser walks: L3 only. */
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x86dd);
	xm_fb_ipv6(&fb, 60, "2001:db8::1", "2001:db8::2");
	for (i = 0; i < XM_MAX_EXTHDRS; i++)
		xm_fb_ip6_ext(&fb, 60, 60, 8);
	xm_fb_ip6_ext(&fb, 60, 6, 8);
	xm_fb_tcp(&fb, 22, 50000, 5);
	xm_fb_finish(&fb);
	px_check(&g, "too many exthdrs", &fb, &(struct px_want){
		.family = 6, .proto = 60, .l3_off = 14, .ethertype = 0x86dd,
		.src = "2001:db8::1", .dst = "2001:db8::2" });
	xm_tg_end(s, &g);
}

static void px_other(struct xm_tsuite *s)
{
	struct xm_tgroup g;
	struct xm_fb fb;

	xm_tg_begin(&g, "parse_arp_icmp");
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0806);
	xm_fb_bytes(&fb, 28, 0x11);
	px_check(&g, "arp", &fb, &(struct px_want){
		.l3_off = 14, .ethertype = 0x0806 });
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x8100);
	xm_fb_vlan(&fb, 7, 0x0800);
	xm_fb_ipv4(&fb, 1, "10.0.0.1", "10.0.0.2", 5, 0);
	xm_fb_icmp(&fb, 8, 0);
	xm_fb_finish(&fb);
	px_check(&g, "vlan icmp", &fb, &(struct px_want){
		.family = 4, .proto = 1, .nvlan = 1, .vlan0 = 7, .l3_off = 18,
		.l4_off = 38, .ethertype = 0x0800, .src = "10.0.0.1",
		.dst = "10.0.0.2" });
	xm_tg_end(s, &g);

	xm_tg_begin(&g, "parse_malformed_layers");
	xm_fb_init(&fb);
	xm_fb_bytes(&fb, 13, 0);
	px_check(&g, "13 bytes", &fb, &(struct px_want){
		.malformed = XM_MAL_L2 });
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x8100);
	xm_fb_bytes(&fb, 3, 0);
	px_check(&g, "vlan cut", &fb, &(struct px_want){
		.malformed = XM_MAL_L2 });
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xm_fb_ipv4(&fb, 6, "10.0.0.1", "10.0.0.2", 5, 0);
	xm_fb_tcp(&fb, 1, 2, 5);
	xm_fb_finish(&fb);
	xm_fb_put16(&fb, 16, (__u16)(fb.len - 14 + 1));
	px_check(&g, "tot_len > frame", &fb, &(struct px_want){
		.malformed = XM_MAL_L3, .l3_off = 14, .ethertype = 0x0800 });
	xm_fb_init(&fb);
	xm_fb_eth(&fb, 0x0800);
	xm_fb_ipv4(&fb, 6, "10.0.0.1", "10.0.0.2", 5, 0);
	xm_fb_tcp(&fb, 1, 2, 4);
	xm_fb_finish(&fb);
	px_check(&g, "tcp doff 4", &fb, &(struct px_want){
		.family = 4, .proto = 6, .malformed = XM_MAL_L4, .l3_off = 14,
		.l4_off = 34, .ethertype = 0x0800, .src = "10.0.0.1",
		.dst = "10.0.0.2" });
	xm_tg_end(s, &g);
}

int main(void)
{
	struct xm_tsuite s = { 0 };

	px_ipv4(&s);
	px_vlan_ipv6(&s);
	px_other(&s);
	return xm_tsuite_exit(&s);
}

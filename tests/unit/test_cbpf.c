// SPDX-License-Identifier: GPL-2.0
/*
 * test_cbpf - the classic BPF interpreter of include/xm_cbpf.h against
 * libpcap's own bpf_filter().
 *
 * A deterministic corpus of frames (Ethernet, 802.1Q, QinQ, IPv4 with
 * options and fragments, IPv6 with extension headers, TCP, UDP, ICMP,
 * ICMPv6, SCTP, GRE, ARP, 802.3, truncated frames, mutated frames and
 * random bytes; lengths 0 to 1514) is run through the programs libpcap
 * compiles for typical tcpdump expressions, three ways:
 *   libpcap's bpf_filter(), xm_cbpf_run_user(), and the interpreter in an
 *   XDP program (tests/unit/cbpf_test.bpf.c) under BPF_PROG_TEST_RUN.
 * The exact return values must agree everywhere.  BPF_PROG_TEST_RUN
 * refuses XDP frames shorter than ETH_HLEN (14 bytes), so those frames
 * are compared in user space only (and the refusal itself is checked).
 *
 * Hand-written programs then cover every opcode, including those libpcap
 * does not emit for Ethernet, and the interpreter's limits; and the error
 * cases of xm_filter_compile().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
/*
 * libpcap's classic struct bpf_insn and the kernel's eBPF one (from
 * libbpf's headers) share a name; libpcap's is renamed here.  Only the
 * name changes: bpf_filter() links by its own name and takes the same
 * 8-byte instructions.
 */
#define bpf_insn pcap_bpf_insn
#include <pcap/pcap.h>
#undef bpf_insn

#include "xm_cbpf.h"
#include "xm_filter.h"
#include "cbpf_test.skel.h"
#include "xm_test.h"

#define TC_MAX_FRAME 1514
#define TC_NFRAMES 3000
#define TC_MIN_XDP 14		/* ETH_HLEN: BPF_PROG_TEST_RUN's minimum */
#define TC_MIN_XDP_EVALS 100000

/* The expressions: what tcpdump users type. */
static const char *const tc_exprs[] = {
	"tcp port 9091 and not host 10.1.1.1",
	"host 10.1.1.1",
	"src host 10.1.1.2",
	"dst host 192.168.1.10",
	"net 10.0.0.0/8",
	"src net 192.168.0.0/16",
	"dst net 172.16.0.0 mask 255.240.0.0",
	"net 10.1.0.0/16 and not net 10.1.1.0/24",
	"port 53",
	"udp port 53",
	"tcp dst port 80",
	"src port 443",
	"portrange 1000-2000",
	"tcp portrange 8000-9100",
	"udp dst portrange 100-200",
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
	"tcp[tcpflags] & (tcp-rst|tcp-fin) != 0",
	"tcp[tcpflags] = tcp-push|tcp-ack",
	"ip[2:2] > 100",
	"ip[8] < 64",
	"ip[6:2] & 0x1fff != 0",
	"ip[6] & 0x20 != 0",
	"ip[0] & 0xf > 5",
	"vlan",
	"vlan 10",
	"vlan 10 and tcp port 80",
	"vlan and vlan 20",
	"vlan 100 and ip6",
	"ip6",
	"ip6 and tcp",
	"ip6 and udp port 53",
	"ip6 host 2001:db8::1",
	"ip6 net 2001:db8::/32 and not ip6 net 2001:db8:1::/48",
	"ip6 multicast",
	"ip6 proto 6",
	"ip6 protochain 6",
	"ip6[6] = 0",
	"icmp",
	"icmp[icmptype] = icmp-echo",
	"icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"icmp6",
	"icmp6 and ip6[40] = 128",
	"greater 1000",
	"less 128",
	"len > 60 and len < 200",
	"ether host 02:00:00:00:00:01",
	"ether src 02:00:00:00:00:01 and ether dst 02:00:00:00:00:02",
	"ether broadcast",
	"ether multicast",
	"ether[12:2] = 0x88a8",
	"arp",
	"arp and host 10.1.1.1",
	"ip proto 47",
	"proto gre or sctp",
	"sctp port 3868",
	"ip multicast",
	"ip and not tcp and not udp",
	"not ip and not ip6",
	"tcp or udp",
	"(tcp port 80 or tcp port 443) and src net 10.0.0.0/8",
	"ip[9] = 6 and tcp[13] & 2 = 2",
	"tcp[2:2] = 9091",
	"udp[4:2] > 100",
	"ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) > 0",
	"tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
	"ip and ((ip[2:2] * 3) / 7) % 5 = 2",
	"ip and ((ip[4:2] ^ 0x1234) | 1) & 0xff = 0x35",
	"ip and -ip[8] & 0xff > 200",
	"ip and ip[4:2] >> 3 > 4000",
	"ip[2:2] + ip[4:2] > len",
	"host 10.1.1.1 and port 9091 and (tcp or udp)",
	"src host 10.1.1.1 or dst host 10.2.2.2",
	"udp and ip[6:2] & 0x1fff = 0 and udp[2:2] = 53",
	"ip and ip[1] & 0xfc = 0xb8",
};

#define TC_NEXPRS (sizeof(tc_exprs) / sizeof(tc_exprs[0]))

struct tc_frame {
	__u32 len;
	__u8 d[TC_MAX_FRAME];
};

struct tc_ctx {
	struct cbpf_test_bpf *skel;
	int prog_fd, map_fd;
	struct tc_frame *frames;
	unsigned int nframes;
	__u64 rng;
	struct xm_tsuite suite;
};

/* ---- deterministic randomness ---------------------------------------- */

static __u64 tc_rand(struct tc_ctx *t)
{
	/* xorshift64* */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n). */
static __u32 tc_below(struct tc_ctx *t, __u32 n)
{
	return n ? (__u32)(tc_rand(t) % n) : 0;
}

/* 1 with probability pct percent. */
static int tc_chance(struct tc_ctx *t, unsigned int pct)
{
	return tc_below(t, 100) < pct;
}

#define TC_PICK(t, arr) ((arr)[tc_below((t), sizeof(arr) / sizeof((arr)[0]))])

/* ---- frame writer ---------------------------------------------------- */

/* Headers are written here; frames longer than TC_MAX_FRAME are cut. */
struct tc_w {
	__u8 d[2048];
	__u32 len;
};

static void tc_put8(struct tc_w *w, __u8 v)
{
	if (w->len < sizeof(w->d))
		w->d[w->len++] = v;
}

static void tc_put16(struct tc_w *w, __u16 v)
{
	tc_put8(w, (__u8)(v >> 8));
	tc_put8(w, (__u8)v);
}

static void tc_put32(struct tc_w *w, __u32 v)
{
	tc_put16(w, (__u16)(v >> 16));
	tc_put16(w, (__u16)v);
}

static void tc_set16(struct tc_w *w, __u32 off, __u16 v)
{
	if (off + 2 <= sizeof(w->d)) {
		w->d[off] = (__u8)(v >> 8);
		w->d[off + 1] = (__u8)v;
	}
}

static void tc_rand_bytes(struct tc_ctx *t, struct tc_w *w, __u32 n)
{
	while (n--)
		tc_put8(w, (__u8)tc_rand(t));
}

static void tc_put_bytes(struct tc_w *w, const __u8 *b, __u32 n)
{
	while (n--)
		tc_put8(w, *b++);
}

/* ---- pools: values the expressions ask about, and some that miss ---- */

static const char *const tc_v4[] = {
	"10.1.1.1", "10.1.1.2", "10.2.2.2", "10.1.2.3", "10.9.8.7",
	"192.168.1.10", "192.168.7.7", "172.16.5.4", "172.31.255.1",
	"172.32.0.1", "8.8.8.8", "224.0.0.251", "255.255.255.255",
};

static const char *const tc_v6[] = {
	"2001:db8::1", "2001:db8::2", "2001:db8:1::5", "2001:db9::1",
	"fe80::1", "ff02::1", "ff05::1:3", "::1",
};

static const __u16 tc_ports[] = {
	9091, 80, 443, 53, 22, 1500, 1000, 2000, 8080, 3868, 9100, 150,
	123, 8999, 65535,
};

static const __u8 tc_macs[][6] = {
	{ 0x02, 0, 0, 0, 0, 0x01 }, { 0x02, 0, 0, 0, 0, 0x02 },
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
	{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
	{ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
};

static const __u16 tc_vids[] = { 10, 20, 100, 10, 4095, 0 };

static void tc_addr4(struct tc_ctx *t, struct tc_w *w)
{
	__u8 a[4];
	__u32 i;

	if (tc_chance(t, 10)) {
		tc_rand_bytes(t, w, 4);
		return;
	}
	if (inet_pton(AF_INET, TC_PICK(t, tc_v4), a) != 1)
		memset(a, 0, sizeof(a));
	for (i = 0; i < 4; i++)
		tc_put8(w, a[i]);
}

static void tc_addr6(struct tc_ctx *t, struct tc_w *w)
{
	__u8 a[16];

	if (tc_chance(t, 10)) {
		tc_rand_bytes(t, w, 16);
		return;
	}
	if (inet_pton(AF_INET6, TC_PICK(t, tc_v6), a) != 1)
		memset(a, 0, sizeof(a));
	tc_put_bytes(w, a, 16);
}

static __u16 tc_port(struct tc_ctx *t)
{
	return tc_chance(t, 15) ? (__u16)tc_rand(t) : TC_PICK(t, tc_ports);
}

static void tc_mac(struct tc_ctx *t, struct tc_w *w)
{
	if (tc_chance(t, 10))
		tc_rand_bytes(t, w, 6);
	else
		tc_put_bytes(w, TC_PICK(t, tc_macs), 6);
}

/* Ethernet header and 0-2 VLAN tags; type is the innermost ethertype. */
static void tc_l2(struct tc_ctx *t, struct tc_w *w, __u16 type)
{
	static const __u16 tpids[] = { 0x8100, 0x88a8, 0x9100 };
	unsigned int ntags = 0, r = tc_below(t, 100), i;

	tc_mac(t, w);
	tc_mac(t, w);
	if (r >= 70)
		ntags = r >= 90 ? 2 : 1;
	for (i = 0; i < ntags; i++) {
		/* QinQ: an outer 802.1ad tag is the usual, not the only, case */
		tc_put16(w, i == 0 ? TC_PICK(t, tpids) : 0x8100);
		tc_put16(w, (__u16)((tc_below(t, 8) << 13) | TC_PICK(t, tc_vids)));
	}
	tc_put16(w, type);
}

/* Payload up to a random total length, at most TC_MAX_FRAME. */
static void tc_payload(struct tc_ctx *t, struct tc_w *w)
{
	__u32 want, r = tc_below(t, 100);

	if (r < 40)
		want = w->len + tc_below(t, 64);
	else if (r < 80)
		want = w->len + tc_below(t, 400);
	else
		want = w->len + tc_below(t, TC_MAX_FRAME);
	if (want > TC_MAX_FRAME)
		want = TC_MAX_FRAME;
	if (tc_chance(t, 10)) {
		/* something for "tcp[...] = 0x47455420" to find */
		tc_put32(w, 0x47455420);
	}
	while (w->len < want)
		tc_put8(w, (__u8)tc_rand(t));
}

static void tc_tcp(struct tc_ctx *t, struct tc_w *w)
{
	static const __u8 flags[] = {
		0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x29, 0x00,
	};
	unsigned int doff = tc_chance(t, 70) ? 5 : 5 + tc_below(t, 11), i;

	tc_put16(w, tc_port(t));
	tc_put16(w, tc_port(t));
	tc_put32(w, (__u32)tc_rand(t));
	tc_put32(w, (__u32)tc_rand(t));
	tc_put8(w, (__u8)(doff << 4));
	tc_put8(w, tc_chance(t, 90) ? TC_PICK(t, flags) : (__u8)tc_rand(t));
	tc_put16(w, 65535);
	tc_put32(w, 0);
	for (i = 5; i < doff; i++)
		tc_put32(w, 0x01010101);	/* NOP options */
}

/* The transport header for proto, or random bytes for others. */
static void tc_l4(struct tc_ctx *t, struct tc_w *w, __u8 proto, int v6)
{
	static const __u8 icmp4[] = { 0, 8, 3, 11, 5 };
	static const __u8 icmp6[] = { 128, 129, 135, 136, 1, 2 };

	switch (proto) {
	case XM_IPPROTO_TCP:
		tc_tcp(t, w);
		break;
	case XM_IPPROTO_UDP:
		tc_put16(w, tc_port(t));
		tc_put16(w, tc_port(t));
		tc_put16(w, (__u16)(8 + tc_below(t, 300)));
		tc_put16(w, 0);
		break;
	case XM_IPPROTO_ICMP:
	case XM_IPPROTO_ICMPV6:
		tc_put8(w, tc_chance(t, 85) ?
			(v6 ? TC_PICK(t, icmp6) : TC_PICK(t, icmp4)) :
			(__u8)tc_rand(t));
		tc_put8(w, 0);
		tc_put16(w, 0);
		tc_put32(w, 0x00010001);
		break;
	case XM_IPPROTO_SCTP:
		tc_put16(w, tc_port(t));
		tc_put16(w, tc_port(t));
		tc_put32(w, 0x01020304);
		tc_put32(w, 0);
		break;
	case XM_IPPROTO_GRE:
		tc_put16(w, 0);
		tc_put16(w, tc_chance(t, 50) ? 0x0800 : XM_ETH_P_TEB);
		break;
	default:
		break;
	}
}

static __u8 tc_proto(struct tc_ctx *t, int v6)
{
	static const __u8 v4p[] = {
		XM_IPPROTO_TCP, XM_IPPROTO_TCP, XM_IPPROTO_TCP, XM_IPPROTO_UDP,
		XM_IPPROTO_UDP, XM_IPPROTO_ICMP, XM_IPPROTO_SCTP,
		XM_IPPROTO_GRE, 2, 89,
	};
	static const __u8 v6p[] = {
		XM_IPPROTO_TCP, XM_IPPROTO_TCP, XM_IPPROTO_UDP,
		XM_IPPROTO_UDP, XM_IPPROTO_ICMPV6, XM_IPPROTO_SCTP,
		XM_IPPROTO_GRE, XM_IPPROTO_NONE,
	};

	return v6 ? TC_PICK(t, v6p) : TC_PICK(t, v4p);
}

static void tc_ipv4(struct tc_ctx *t, struct tc_w *w)
{
	static const __u8 tos[] = { 0, 0, 0xb8, 0x10, 0x02 };
	unsigned int ihl = tc_chance(t, 75) ? 5 : 6 + tc_below(t, 10);
	__u32 l3, i;
	__u16 frag = 0;
	__u8 proto = tc_proto(t, 0);
	__u32 r = tc_below(t, 100);

	if (r < 15)
		frag = 0x4000;			/* DF */
	else if (r < 22)
		frag = 0x2000;			/* first fragment */
	else if (r < 30)
		frag = (__u16)(tc_chance(t, 50) ? 0x2000 : 0) |
		       (__u16)(1 + tc_below(t, 0x1fff));
	tc_l2(t, w, XM_ETH_P_IP);
	l3 = w->len;
	tc_put8(w, (__u8)(0x40 | ihl));
	tc_put8(w, TC_PICK(t, tos));
	tc_put16(w, 0);				/* total length: below */
	tc_put16(w, (__u16)tc_rand(t));
	tc_put16(w, frag);
	tc_put8(w, (__u8)(1 + tc_below(t, 255)));
	tc_put8(w, proto);
	tc_put16(w, 0);
	tc_addr4(t, w);
	tc_addr4(t, w);
	for (i = 5; i < ihl; i++)
		tc_put32(w, 0x01010101);
	if (!(frag & 0x1fff))
		tc_l4(t, w, proto, 0);
	tc_payload(t, w);
	if (tc_chance(t, 90))
		tc_set16(w, l3 + 2, (__u16)(w->len - l3));
	else
		tc_set16(w, l3 + 2, (__u16)tc_rand(t));
}

static void tc_ipv6(struct tc_ctx *t, struct tc_w *w)
{
	static const __u8 exts[] = {
		XM_IPPROTO_HOPOPTS, XM_IPPROTO_DSTOPTS, XM_IPPROTO_ROUTING,
		XM_IPPROTO_FRAGMENT, XM_IPPROTO_AH,
	};
	__u8 chain[4];
	unsigned int next_at, l3, n = 0, i, hl;
	__u8 proto = tc_proto(t, 1);
	int first_frag = 1;

	if (tc_chance(t, 35))
		n = 1 + tc_below(t, 3);
	for (i = 0; i < n; i++)
		chain[i] = TC_PICK(t, exts);
	tc_l2(t, w, XM_ETH_P_IPV6);
	l3 = w->len;
	tc_put32(w, 0x60000000 | (__u32)tc_below(t, 1 << 20));
	tc_put16(w, 0);				/* payload length: below */
	tc_put8(w, 0);				/* next header: below */
	tc_put8(w, 64);
	tc_addr6(t, w);
	tc_addr6(t, w);
	next_at = l3 + 6;
	for (i = 0; i < n; i++) {
		w->d[next_at] = chain[i];
		next_at = w->len;
		if (chain[i] == XM_IPPROTO_FRAGMENT) {
			__u16 off = tc_chance(t, 50) ? 0 :
				(__u16)(1 + tc_below(t, 100));

			tc_put8(w, 0);
			tc_put8(w, 0);
			tc_put16(w, (__u16)(off << 3 | tc_below(t, 2)));
			tc_put32(w, (__u32)tc_rand(t));
			if (off)
				first_frag = 0;
		} else if (chain[i] == XM_IPPROTO_AH) {
			hl = 1 + tc_below(t, 3);	/* (hl + 2) * 4 bytes */
			tc_put8(w, 0);
			tc_put8(w, (__u8)hl);
			tc_rand_bytes(t, w, (hl + 2) * 4 - 2);
		} else {
			hl = tc_below(t, 3);		/* (hl + 1) * 8 bytes */
			tc_put8(w, 0);
			tc_put8(w, (__u8)hl);
			tc_rand_bytes(t, w, (hl + 1) * 8 - 2);
		}
	}
	w->d[next_at] = proto;
	if (first_frag)
		tc_l4(t, w, proto, 1);
	tc_payload(t, w);
	tc_set16(w, l3 + 4, (__u16)(w->len - l3 - 40));
}

static void tc_arp(struct tc_ctx *t, struct tc_w *w)
{
	tc_l2(t, w, XM_ETH_P_ARP);
	tc_put16(w, 1);
	tc_put16(w, XM_ETH_P_IP);
	tc_put8(w, 6);
	tc_put8(w, 4);
	tc_put16(w, (__u16)(1 + tc_below(t, 2)));
	tc_mac(t, w);
	tc_addr4(t, w);
	tc_mac(t, w);
	tc_addr4(t, w);
	if (tc_chance(t, 50))
		while (w->len < 60)
			tc_put8(w, 0);
}

/* 802.3 length field with LLC, LLDP, or an unknown ethertype. */
static void tc_other_l2(struct tc_ctx *t, struct tc_w *w)
{
	static const __u16 types[] = { 0x88cc, 0x8847, 0x88e5, 0x9000 };

	if (tc_chance(t, 50)) {
		tc_l2(t, w, (__u16)(46 + tc_below(t, 1400)));
		tc_put8(w, 0x42);
		tc_put8(w, 0x42);
		tc_put8(w, 0x03);
	} else {
		tc_l2(t, w, TC_PICK(t, types));
	}
	tc_payload(t, w);
}

static void tc_store(struct tc_ctx *t, const struct tc_w *w, __u32 len)
{
	struct tc_frame *f = &t->frames[t->nframes++];

	if (len > w->len)
		len = w->len;
	if (len > TC_MAX_FRAME)
		len = TC_MAX_FRAME;
	f->len = len;
	memcpy(f->d, w->d, len);
}

static void tc_build_corpus(struct tc_ctx *t)
{
	struct tc_w w;
	__u32 r, i, len;

	t->rng = 0x5eed0f00dcafe123ull;
	/* every length below ETH_HLEN, some twice */
	for (len = 0; len < TC_MIN_XDP; len++) {
		w.len = 0;
		tc_rand_bytes(t, &w, len);
		tc_store(t, &w, len);
		w.len = 0;
		tc_ipv4(t, &w);
		tc_store(t, &w, len);
	}
	while (t->nframes < TC_NFRAMES) {
		w.len = 0;
		r = tc_below(t, 100);
		if (r < 40)
			tc_ipv4(t, &w);
		else if (r < 65)
			tc_ipv6(t, &w);
		else if (r < 72)
			tc_arp(t, &w);
		else if (r < 77)
			tc_other_l2(t, &w);
		else if (r < 85) {
			tc_rand_bytes(t, &w, tc_below(t, TC_MAX_FRAME + 1));
		} else {
			/* a valid frame, cut short or with bytes changed */
			if (tc_chance(t, 50))
				tc_ipv4(t, &w);
			else
				tc_ipv6(t, &w);
			if (tc_chance(t, 60)) {
				tc_store(t, &w, tc_below(t, w.len));
				continue;
			}
			for (i = 1 + tc_below(t, 4); i; i--)
				w.d[tc_below(t, w.len)] = (__u8)tc_rand(t);
		}
		tc_store(t, &w, w.len);
	}
}

/* ---- running ---------------------------------------------------------- */

static void tc_to_pcap(const struct xm_cbpf_prog *p, struct pcap_bpf_insn *out)
{
	__u32 i;

	for (i = 0; i < p->len && i < XM_CBPF_MAX_INSNS; i++) {
		out[i].code = p->insns[i].code;
		out[i].jt = p->insns[i].jt;
		out[i].jf = p->insns[i].jf;
		out[i].k = p->insns[i].k;
	}
}

static int tc_load_prog(struct tc_ctx *t, const struct xm_cbpf_prog *p)
{
	__u32 key = 0;

	return bpf_map_update_elem(t->map_fd, &key, p, BPF_ANY) ? -errno : 0;
}

/* One XDP run: the exact interpreter result in *ret. */
static int tc_xdp(struct tc_ctx *t, const __u8 *d, __u32 len, __u32 *ret)
{
	__u32 runs = t->skel->bss->cbpf_runs;
	int err;

	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = d,
		.data_size_in = len,
		.repeat = 1,
	);
	err = bpf_prog_test_run_opts(t->prog_fd, &o);
	if (err)
		return -errno;
	if (t->skel->bss->cbpf_runs != runs + 1)
		return -EPROTO;
	*ret = t->skel->bss->cbpf_ret;
	/* the return code must say the same as the value */
	if (o.retval != (*ret ? XDP_PASS : XDP_DROP))
		return -EBADMSG;
	return 0;
}

struct tc_counts {
	__u64 user_evals;	/* libpcap vs user space */
	__u64 xdp_evals;	/* libpcap vs XDP */
	__u64 matches;
	__u64 user_diff;
	__u64 xdp_diff;
	__u64 xdp_err;
	__u64 short_refused;
	__u64 short_frames;
};

/* Every frame through one program, three ways. */
static void tc_run_expr(struct tc_ctx *t, struct xm_tgroup *gu,
			struct xm_tgroup *gx, struct xm_tgroup *gc,
			const char *expr, const struct xm_cbpf_prog *p,
			const struct pcap_bpf_insn *pc, struct tc_counts *c)
{
	__u32 i, want, got, xret;
	__u64 hits = 0, misses = 0;
	int err;

	err = tc_load_prog(t, p);
	if (err) {
		xm_tg_fail(gx, "'%s': loading the program map: %s", expr,
			   strerror(-err));
		return;
	}
	for (i = 0; i < t->nframes; i++) {
		const struct tc_frame *f = &t->frames[i];

		want = bpf_filter(pc, f->d, f->len, f->len);
		got = xm_cbpf_run_user(p, f->d, f->len);
		c->user_evals++;
		if (got != want) {
			c->user_diff++;
			xm_tg_fail(gu, "'%s', frame %u (%u bytes): libpcap %u, xm_cbpf_run_user %u",
				   expr, i, f->len, want, got);
		}
		if (want) {
			hits++;
			c->matches++;
		} else {
			misses++;
		}
		if (f->len < TC_MIN_XDP)
			continue;
		err = tc_xdp(t, f->d, f->len, &xret);
		if (err) {
			c->xdp_err++;
			xm_tg_fail(gx, "'%s', frame %u: XDP test run: %s", expr,
				   i, strerror(-err));
			continue;
		}
		c->xdp_evals++;
		if (xret != want) {
			c->xdp_diff++;
			xm_tg_fail(gx, "'%s', frame %u (%u bytes): libpcap %u, XDP %u",
				   expr, i, f->len, want, xret);
		}
	}
	if (!hits || !misses)
		printf("# '%s': %llu matches, %llu misses\n", expr,
		       (unsigned long long)hits, (unsigned long long)misses);
	XM_EXPECT(gc, hits && misses,
		  "'%s' matched %llu and rejected %llu frames: the corpus does not exercise it",
		  expr, (unsigned long long)hits, (unsigned long long)misses);
}

/* Name of an opcode, for the census of what libpcap emits. */
static const char *tc_opname(__u16 code)
{
	static const char *const alu[] = {
		"add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "neg",
		"mod", "xor",
	};
	static const char *const jmp[] = { "ja", "jeq", "jgt", "jge", "jset" };
	static char buf[32];
	unsigned int op = (code & 0xf0) >> 4;
	const char *src = (code & XM_CBPF_X) ? "x" : "#k";

	switch (code) {
	case XM_CBPF_RET | XM_CBPF_K: return "ret#k";
	case XM_CBPF_RET | XM_CBPF_A: return "ret-a";
	case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_ABS: return "ld[k]";
	case XM_CBPF_LD | XM_CBPF_H | XM_CBPF_ABS: return "ldh[k]";
	case XM_CBPF_LD | XM_CBPF_B | XM_CBPF_ABS: return "ldb[k]";
	case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_IND: return "ld[x+k]";
	case XM_CBPF_LD | XM_CBPF_H | XM_CBPF_IND: return "ldh[x+k]";
	case XM_CBPF_LD | XM_CBPF_B | XM_CBPF_IND: return "ldb[x+k]";
	case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_LEN: return "ld-len";
	case XM_CBPF_LD | XM_CBPF_IMM: return "ld#k";
	case XM_CBPF_LD | XM_CBPF_MEM: return "ld-M";
	case XM_CBPF_LDX | XM_CBPF_IMM: return "ldx#k";
	case XM_CBPF_LDX | XM_CBPF_MEM: return "ldx-M";
	case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_LEN: return "ldx-len";
	case XM_CBPF_LDX | XM_CBPF_B | XM_CBPF_MSH: return "ldxb-msh";
	case XM_CBPF_ST: return "st";
	case XM_CBPF_STX: return "stx";
	case XM_CBPF_MISC | XM_CBPF_TAX: return "tax";
	case XM_CBPF_MISC | XM_CBPF_TXA: return "txa";
	case XM_CBPF_ALU | XM_CBPF_NEG: return "neg";
	case XM_CBPF_JMP | XM_CBPF_JA: return "ja";
	}
	if (XM_CBPF_CLASS(code) == XM_CBPF_ALU && op < 11)
		snprintf(buf, sizeof(buf), "%s%s", alu[op], src);
	else if (XM_CBPF_CLASS(code) == XM_CBPF_JMP && op < 5)
		snprintf(buf, sizeof(buf), "%s%s", jmp[op], src);
	else
		snprintf(buf, sizeof(buf), "0x%02x", code);
	return buf;
}

static void tc_group_differential(struct tc_ctx *t)
{
	static const struct xm_cbpf_prog zero;
	struct xm_tgroup gcomp, gu, gx, gc, gs;
	struct tc_counts c = { 0 };
	struct xm_cbpf_prog *p = malloc(sizeof(*p));
	struct pcap_bpf_insn *pc = malloc(XM_CBPF_MAX_INSNS * sizeof(*pc));
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, XM_FILTER_SNAPLEN);
	struct bpf_program bp;
	static unsigned char seen[256];
	char err[512];
	__u32 i, j, maxlen = 0, xret;
	size_t e;
	int rc;

	xm_tg_begin(&gcomp, "cbpf_compile_corpus");
	xm_tg_begin(&gu, "cbpf_user_vs_libpcap");
	xm_tg_begin(&gx, "cbpf_xdp_vs_libpcap");
	xm_tg_begin(&gc, "cbpf_corpus_exercises_every_expression");
	xm_tg_begin(&gs, "cbpf_xdp_refuses_short_frames");
	if (!p || !pc || !dead) {
		xm_tg_fail(&gcomp, "out of memory");
		goto out;
	}
	for (e = 0; e < TC_NEXPRS; e++) {
		const char *expr = tc_exprs[e];

		*p = zero;
		rc = xm_filter_compile(expr, p, err, sizeof(err));
		if (rc) {
			xm_tg_fail(&gcomp, "xm_filter_compile('%s'): %d: %s",
				   expr, rc, err);
			continue;
		}
		if (p->len > maxlen)
			maxlen = p->len;
		for (j = 0; j < p->len; j++)
			seen[p->insns[j].code & 0xff] = 1;
		/* libpcap's own program, compiled here, is the reference */
		if (pcap_compile(dead, &bp, expr, 1, PCAP_NETMASK_UNKNOWN)) {
			xm_tg_fail(&gcomp, "'%s': pcap_compile: %s", expr,
				   pcap_geterr(dead));
			continue;
		}
		tc_to_pcap(p, pc);
		if (bp.bf_len != p->len ||
		    memcmp(bp.bf_insns, pc, p->len * sizeof(*pc)))
			xm_tg_fail(&gcomp, "'%s': xm_filter_compile's program differs from libpcap's",
				   expr);
		else
			tc_run_expr(t, &gu, &gx, &gc, expr, p, bp.bf_insns, &c);
		pcap_freecode(&bp);
	}

	/* Frames below ETH_HLEN: the kernel refuses to run them. */
	for (i = 0; i < t->nframes; i++) {
		if (t->frames[i].len >= TC_MIN_XDP)
			continue;
		c.short_frames++;
		rc = tc_xdp(t, t->frames[i].d, t->frames[i].len, &xret);
		if (rc == -EINVAL)
			c.short_refused++;
		else
			xm_tg_fail(&gs, "XDP test run of a %u-byte frame: %d, want -EINVAL",
				   t->frames[i].len, rc);
	}
	XM_EXPECT(&gs, c.short_frames > 0, "no short frames in the corpus");

	printf("# %s\n", pcap_lib_version());
	printf("# %zu expressions (longest program %u insns), %u frames (%llu below %u bytes: user space only)\n",
	       TC_NEXPRS, maxlen, t->nframes,
	       (unsigned long long)c.short_frames, TC_MIN_XDP);
	printf("# libpcap vs xm_cbpf_run_user: %llu evaluations, %llu disagreements\n",
	       (unsigned long long)c.user_evals,
	       (unsigned long long)c.user_diff);
	printf("# libpcap vs XDP: %llu evaluations, %llu disagreements, %llu run errors; %llu matches in all\n",
	       (unsigned long long)c.xdp_evals,
	       (unsigned long long)c.xdp_diff,
	       (unsigned long long)c.xdp_err,
	       (unsigned long long)c.matches);
	printf("# opcodes libpcap emitted:");
	for (j = 0; j < 256; j++)
		if (seen[j])
			printf(" %s", tc_opname((__u16)j));
	printf("\n");
	XM_EXPECT(&gx, c.xdp_evals >= TC_MIN_XDP_EVALS,
		  "only %llu XDP evaluations, want >= %u",
		  (unsigned long long)c.xdp_evals, TC_MIN_XDP_EVALS);
out:
	xm_tg_end(&t->suite, &gcomp);
	xm_tg_end(&t->suite, &gu);
	xm_tg_end(&t->suite, &gx);
	xm_tg_end(&t->suite, &gc);
	xm_tg_end(&t->suite, &gs);
	if (dead)
		pcap_close(dead);
	free(p);
	free(pc);
}

/* How long the XDP program takes for the first expression on a frame it
 * matches and on one it rejects (information only: no PASS/FAIL). */
static void tc_timing(struct tc_ctx *t)
{
	struct xm_cbpf_prog *p = malloc(sizeof(*p));
	__u32 i, ret, done = 0;
	char err[256];

	if (!p || xm_filter_compile(tc_exprs[0], p, err, sizeof(err)) ||
	    tc_load_prog(t, p))
		goto out;
	for (i = 0; i < t->nframes && done != 3; i++) {
		const struct tc_frame *f = &t->frames[i];

		if (f->len < TC_MIN_XDP)
			continue;
		ret = xm_cbpf_run_user(p, f->d, f->len);
		if (done & (ret ? 1 : 2))
			continue;
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = f->d,
			.data_size_in = f->len,
			.repeat = 20000,
		);
		if (bpf_prog_test_run_opts(t->prog_fd, &o))
			break;
		printf("# XDP run of '%s' on a %u-byte frame it %s: %u ns\n",
		       tc_exprs[0], f->len, ret ? "matches" : "rejects",
		       o.duration);
		done |= ret ? 1 : 2;
	}
out:
	free(p);
}

/* ---- hand-written programs -------------------------------------------- */

#define S(c, kk) { .code = (c), .jt = 0, .jf = 0, .k = (kk) }
#define J(c, kk, t, f) { .code = (c), .jt = (t), .jf = (f), .k = (kk) }
#define LD XM_CBPF_LD
#define LDX XM_CBPF_LDX
#define ALU XM_CBPF_ALU
#define JMP XM_CBPF_JMP
#define RET XM_CBPF_RET
#define W XM_CBPF_W
#define H XM_CBPF_H
#define B XM_CBPF_B
#define K XM_CBPF_K
#define X XM_CBPF_X
#define A XM_CBPF_A

struct tc_hand {
	const char *name;
	struct xm_cbpf_insn insns[16];
	__u32 len;
	__u32 want;
	int pcap;		/* libpcap 1.10 defines the result: ask it too */
	int valid;		/* xm_cbpf_check() accepts it */
};

/* The frame the hand-written programs read: 64 bytes, byte i = 7i + 3. */
#define TC_HFRAME 64
#define FB(i) ((__u32)(__u8)(3 + 7 * (i)))

/* What the ALU chains below compute, in plain C. */
static __u32 tc_alu_k(__u32 a, __u32 v)
{
	a += v;
	a *= v;
	a -= v;
	a /= v;
	a %= 1000;
	a |= v;
	a &= 0xfffff;
	a ^= v;
	a <<= 3;
	a >>= 1;
	return 0u - a;
}

static __u32 tc_alu_x(__u32 a, __u32 v)
{
	a += v;
	a *= v;
	a -= v;
	a /= v;
	a %= 1000;
	a |= v;
	a &= 0xfffff;
	return a ^ v;
}

static void tc_group_hand(struct tc_ctx *t)
{
	const __u32 v = 0x1234, a0 = 0x87654321;
	const struct tc_hand hand[] = {
		{ "ld w abs", { S(LD | W | XM_CBPF_ABS, 0), S(RET | A, 0) }, 2,
		  FB(0) << 24 | FB(1) << 16 | FB(2) << 8 | FB(3), 1, 1 },
		{ "ld h abs at the end", { S(LD | H | XM_CBPF_ABS, 62),
		  S(RET | A, 0) }, 2, FB(62) << 8 | FB(63), 1, 1 },
		{ "ld h abs past the end", { S(LD | H | XM_CBPF_ABS, 63),
		  S(RET | K, 1) }, 2, 0, 1, 1 },
		{ "ld w abs huge k", { S(LD | W | XM_CBPF_ABS, 0xfffffffe),
		  S(RET | K, 1) }, 2, 0, 1, 1 },
		{ "ld b abs last", { S(LD | B | XM_CBPF_ABS, 63), S(RET | A, 0) },
		  2, FB(63), 1, 1 },
		{ "ld b abs past the end", { S(LD | B | XM_CBPF_ABS, 64),
		  S(RET | K, 1) }, 2, 0, 1, 1 },
		{ "ld w ind at the end", { S(LDX | W | XM_CBPF_IMM, 10),
		  S(LD | W | XM_CBPF_IND, 50), S(RET | A, 0) }, 3,
		  FB(60) << 24 | FB(61) << 16 | FB(62) << 8 | FB(63), 1, 1 },
		{ "ld w ind past the end", { S(LDX | W | XM_CBPF_IMM, 11),
		  S(LD | W | XM_CBPF_IND, 50), S(RET | K, 1) }, 3, 0, 1, 1 },
		{ "ld b ind, x wrapping", { S(LDX | W | XM_CBPF_IMM, 0xffffffff),
		  S(LD | B | XM_CBPF_IND, 2), S(RET | K, 1) }, 3, 0, 1, 1 },
		{ "ld h ind", { S(LDX | W | XM_CBPF_IMM, 1),
		  S(LD | H | XM_CBPF_IND, 1), S(RET | A, 0) }, 3,
		  FB(2) << 8 | FB(3), 1, 1 },
		{ "ld len", { S(LD | W | XM_CBPF_LEN, 0), S(RET | A, 0) }, 2,
		  TC_HFRAME, 1, 1 },
		{ "ldx len, txa", { S(LDX | W | XM_CBPF_LEN, 0),
		  S(XM_CBPF_MISC | XM_CBPF_TXA, 0), S(RET | A, 0) }, 3,
		  TC_HFRAME, 1, 1 },
		{ "ldx msh", { S(LDX | B | XM_CBPF_MSH, 2),
		  S(XM_CBPF_MISC | XM_CBPF_TXA, 0), S(RET | A, 0) }, 3,
		  (FB(2) & 0xf) << 2, 1, 1 },
		{ "ldx msh past the end", { S(LDX | B | XM_CBPF_MSH, 64),
		  S(RET | K, 1) }, 2, 0, 1, 1 },
		{ "st, ldx mem", { S(LD | XM_CBPF_IMM, 0xdeadbeef),
		  S(XM_CBPF_ST, 5), S(LD | XM_CBPF_IMM, 0),
		  S(LDX | XM_CBPF_MEM, 5), S(XM_CBPF_MISC | XM_CBPF_TXA, 0),
		  S(RET | A, 0) }, 6, 0xdeadbeef, 1, 1 },
		{ "stx, ld mem 15", { S(LDX | XM_CBPF_IMM, 77),
		  S(XM_CBPF_STX, 15), S(LD | XM_CBPF_MEM, 15), S(RET | A, 0) },
		  4, 77, 1, 1 },
		{ "tax, txa", { S(LD | XM_CBPF_IMM, 9),
		  S(XM_CBPF_MISC | XM_CBPF_TAX, 0), S(LD | XM_CBPF_IMM, 0),
		  S(XM_CBPF_MISC | XM_CBPF_TXA, 0), S(RET | A, 0) }, 5, 9, 1, 1 },
		{ "alu k chain", { S(LD | XM_CBPF_IMM, a0),
		  S(ALU | XM_CBPF_ADD | K, v), S(ALU | XM_CBPF_MUL | K, v),
		  S(ALU | XM_CBPF_SUB | K, v), S(ALU | XM_CBPF_DIV | K, v),
		  S(ALU | XM_CBPF_MOD | K, 1000), S(ALU | XM_CBPF_OR | K, v),
		  S(ALU | XM_CBPF_AND | K, 0xfffff), S(ALU | XM_CBPF_XOR | K, v),
		  S(ALU | XM_CBPF_LSH | K, 3), S(ALU | XM_CBPF_RSH | K, 1),
		  S(ALU | XM_CBPF_NEG, 0), S(RET | A, 0) }, 13, tc_alu_k(a0, v),
		  1, 1 },
		{ "alu x chain", { S(LDX | XM_CBPF_IMM, v),
		  S(LD | XM_CBPF_IMM, a0), S(ALU | XM_CBPF_ADD | X, 0),
		  S(ALU | XM_CBPF_MUL | X, 0), S(ALU | XM_CBPF_SUB | X, 0),
		  S(ALU | XM_CBPF_DIV | X, 0), S(ALU | XM_CBPF_MOD | K, 1000),
		  S(ALU | XM_CBPF_OR | X, 0), S(ALU | XM_CBPF_AND | K, 0xfffff),
		  S(ALU | XM_CBPF_XOR | X, 0), S(RET | A, 0) }, 11,
		  tc_alu_x(a0, v), 1, 1 },
		{ "alu x shifts, mod", { S(LDX | XM_CBPF_IMM, 3),
		  S(LD | XM_CBPF_IMM, 0x101), S(ALU | XM_CBPF_LSH | X, 0),
		  S(ALU | XM_CBPF_RSH | X, 0), S(ALU | XM_CBPF_RSH | X, 0),
		  S(ALU | XM_CBPF_MOD | X, 0), S(RET | A, 0) }, 7,
		  (0x101u >> 3) % 3, 1, 1 },
		{ "lsh x by 32 gives 0", { S(LDX | XM_CBPF_IMM, 32),
		  S(LD | XM_CBPF_IMM, 1), S(ALU | XM_CBPF_LSH | X, 0),
		  S(ALU | XM_CBPF_ADD | K, 7), S(RET | A, 0) }, 5, 7, 1, 1 },
		{ "rsh x by 40 gives 0", { S(LDX | XM_CBPF_IMM, 40),
		  S(LD | XM_CBPF_IMM, 0x80000000), S(ALU | XM_CBPF_RSH | X, 0),
		  S(ALU | XM_CBPF_ADD | K, 7), S(RET | A, 0) }, 5, 7, 1, 1 },
		{ "div x by 0", { S(LDX | XM_CBPF_IMM, 0),
		  S(LD | XM_CBPF_IMM, 5), S(ALU | XM_CBPF_DIV | X, 0),
		  S(RET | K, 1) }, 4, 0, 1, 1 },
		{ "mod x by 0", { S(LDX | XM_CBPF_IMM, 0),
		  S(LD | XM_CBPF_IMM, 5), S(ALU | XM_CBPF_MOD | X, 0),
		  S(RET | K, 1) }, 4, 0, 1, 1 },
		{ "neg of INT_MIN", { S(LD | XM_CBPF_IMM, 0x80000000),
		  S(ALU | XM_CBPF_NEG, 0), S(RET | A, 0) }, 3, 0x80000000, 1, 1 },
		{ "jeq/jgt/jge/jset k", { S(LD | XM_CBPF_IMM, 10),
		  J(JMP | XM_CBPF_JEQ | K, 10, 0, 6),
		  J(JMP | XM_CBPF_JGT | K, 10, 5, 0),
		  J(JMP | XM_CBPF_JGE | K, 10, 0, 4),
		  J(JMP | XM_CBPF_JSET | K, 5, 3, 0),
		  J(JMP | XM_CBPF_JSET | K, 2, 0, 2),
		  S(RET | K, 0x12345), S(RET | K, 1), S(RET | K, 2) }, 9,
		  0x12345, 1, 1 },
		{ "jeq/jgt/jge/jset x", { S(LD | XM_CBPF_IMM, 10),
		  S(LDX | XM_CBPF_IMM, 11), J(JMP | XM_CBPF_JEQ | X, 0, 6, 0),
		  J(JMP | XM_CBPF_JGT | X, 0, 5, 0),
		  J(JMP | XM_CBPF_JGE | X, 0, 4, 0),
		  J(JMP | XM_CBPF_JSET | X, 0, 0, 3),
		  S(XM_CBPF_MISC | XM_CBPF_TAX, 0),
		  J(JMP | XM_CBPF_JGE | X, 0, 0, 1),
		  S(RET | K, 0xabc), S(RET | K, 1) }, 10, 0xabc, 1, 1 },
		{ "ja forward", { J(JMP | XM_CBPF_JA, 1, 0, 0), S(RET | K, 1),
		  S(RET | K, 2) }, 3, 2, 1, 1 },
		{ "ret k exact", { S(RET | K, 0xfffffffe) }, 1, 0xfffffffe, 1, 1 },
		/* backward loops: M[0] counts to N, one backward jump less */
		{ "9 backward jumps", { S(LD | XM_CBPF_IMM, 0), S(XM_CBPF_ST, 0),
		  S(LD | XM_CBPF_MEM, 0), S(ALU | XM_CBPF_ADD | K, 1),
		  S(XM_CBPF_ST, 0), J(JMP | XM_CBPF_JGE | K, 10, 1, 0),
		  J(JMP | XM_CBPF_JA, (__u32)-5, 0, 0), S(RET | A, 0) }, 8, 10,
		  1, 1 },
		{ "64 backward jumps", { S(LD | XM_CBPF_IMM, 0), S(XM_CBPF_ST, 0),
		  S(LD | XM_CBPF_MEM, 0), S(ALU | XM_CBPF_ADD | K, 1),
		  S(XM_CBPF_ST, 0), J(JMP | XM_CBPF_JGE | K, 65, 1, 0),
		  J(JMP | XM_CBPF_JA, (__u32)-5, 0, 0), S(RET | A, 0) }, 8, 65,
		  1, 1 },
		/*
		 * The rest is outside what libpcap 1.10's bpf_filter() defines
		 * (it has no backward-jump limit, aborts, divides by zero or
		 * reads beyond the program); the values are those of current
		 * libpcap.
		 */
		{ "65 backward jumps", { S(LD | XM_CBPF_IMM, 0), S(XM_CBPF_ST, 0),
		  S(LD | XM_CBPF_MEM, 0), S(ALU | XM_CBPF_ADD | K, 1),
		  S(XM_CBPF_ST, 0), J(JMP | XM_CBPF_JGE | K, 66, 1, 0),
		  J(JMP | XM_CBPF_JA, (__u32)-5, 0, 0), S(RET | A, 0) }, 8, 0,
		  0, 1 },
		{ "ja to itself", { J(JMP | XM_CBPF_JA, (__u32)-1, 0, 0),
		  S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "ja before the start", { J(JMP | XM_CBPF_JA, 1, 0, 0),
		  S(RET | K, 1), J(JMP | XM_CBPF_JA, (__u32)-4, 0, 0),
		  S(RET | K, 1) }, 4, 0, 0, 0 },
		{ "ja past the end", { J(JMP | XM_CBPF_JA, 5, 0, 0),
		  S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "jeq past the end", { J(JMP | XM_CBPF_JEQ | K, 0, 200, 200),
		  S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "no ret at the end", { S(LD | XM_CBPF_IMM, 1) }, 1, 0, 0, 0 },
		{ "div k by 0", { S(LD | XM_CBPF_IMM, 5),
		  S(ALU | XM_CBPF_DIV | K, 0), S(RET | K, 1) }, 3, 0, 0, 0 },
		{ "mod k by 0", { S(LD | XM_CBPF_IMM, 5),
		  S(ALU | XM_CBPF_MOD | K, 0), S(RET | K, 1) }, 3, 0, 0, 0 },
		{ "lsh k by 32 gives 0", { S(LD | XM_CBPF_IMM, 1),
		  S(ALU | XM_CBPF_LSH | K, 32), S(ALU | XM_CBPF_ADD | K, 7),
		  S(RET | A, 0) }, 4, 7, 0, 0 },
		{ "st to M[16]", { S(LD | XM_CBPF_IMM, 1),
		  S(XM_CBPF_ST, 16), S(RET | K, 1) }, 3, 0, 0, 0 },
		{ "ldx from M[99]", { S(LDX | XM_CBPF_MEM, 99),
		  S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "unknown opcode 0xff", { S(0xff, 0), S(RET | K, 1) }, 2, 0, 0,
		  0 },
		{ "ret x is no opcode", { S(RET | X, 0), S(RET | K, 1) }, 2, 0, 0,
		  0 },
		{ "neg with the x bit", { S(ALU | XM_CBPF_NEG | X, 0),
		  S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "alu op 0xb0", { S(ALU | 0xb0, 1), S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "jmp op 0x50", { J(JMP | 0x50, 1, 0, 0), S(RET | K, 1) }, 2, 0,
		  0, 0 },
		{ "ld h len is no opcode", { S(LD | H | XM_CBPF_LEN, 0),
		  S(RET | K, 1) }, 2, 0, 0, 0 },
		{ "code above 0xff", { S(0x106, 5) }, 1, 0, 0, 0 },
		{ "length 0", { S(RET | K, 1) }, 0, 0, 0, 0 },
		{ "length 513", { S(RET | K, 1) }, XM_CBPF_MAX_INSNS + 1, 0, 0,
		  0 },
	};
	struct xm_cbpf_prog *p = calloc(1, sizeof(*p));
	struct pcap_bpf_insn pc[16];
	struct xm_tgroup g, gl;
	__u8 frame[TC_HFRAME];
	__u32 i, want, got, xret = 0;
	size_t h;
	int err, chk;

	for (i = 0; i < TC_HFRAME; i++)
		frame[i] = (__u8)FB(i);
	xm_tg_begin(&g, "cbpf_handwritten_opcodes");
	xm_tg_begin(&gl, "cbpf_limits");
	if (!p) {
		xm_tg_fail(&g, "out of memory");
		goto out;
	}
	for (h = 0; h < sizeof(hand) / sizeof(hand[0]); h++) {
		const struct tc_hand *hp = &hand[h];
		struct xm_tgroup *gg = hp->pcap ? &g : &gl;

		memset(p, 0, sizeof(*p));
		p->len = hp->len;
		memcpy(p->insns, hp->insns, sizeof(hp->insns));
		want = hp->want;
		if (hp->pcap) {
			tc_to_pcap(p, pc);
			got = bpf_filter(pc, frame, TC_HFRAME, TC_HFRAME);
			XM_EXPECT(gg, got == want,
				  "%s: libpcap returns %u, the test expects %u",
				  hp->name, got, want);
		}
		got = xm_cbpf_run_user(p, frame, TC_HFRAME);
		XM_EXPECT(gg, got == want, "%s: xm_cbpf_run_user %u, want %u",
			  hp->name, got, want);
		err = tc_load_prog(t, p);
		if (!err)
			err = tc_xdp(t, frame, TC_HFRAME, &xret);
		if (err)
			xm_tg_fail(gg, "%s: XDP run: %s", hp->name,
				   strerror(-err));
		else
			XM_EXPECT(gg, xret == want, "%s: XDP %u, want %u",
				  hp->name, xret, want);
		chk = xm_cbpf_check(p);
		XM_EXPECT(gg, (chk < 0) == hp->valid,
			  "%s: xm_cbpf_check returns %d, want %s", hp->name, chk,
			  hp->valid ? "-1 (valid)" : "an index (invalid)");
	}

	/* The longest program, straight through: 511 loads and a RET. */
	memset(p, 0, sizeof(*p));
	for (i = 0; i < XM_CBPF_MAX_INSNS - 1; i++) {
		p->insns[i].code = LD | B | XM_CBPF_ABS;
		p->insns[i].k = i % TC_HFRAME;
	}
	p->insns[i].code = RET | A;
	p->len = XM_CBPF_MAX_INSNS;
	want = frame[(XM_CBPF_MAX_INSNS - 2) % TC_HFRAME];
	got = xm_cbpf_run_user(p, frame, TC_HFRAME);
	XM_EXPECT(&gl, got == want, "512-insn program: user %u, want %u",
		  got, want);
	err = tc_load_prog(t, p);
	if (!err)
		err = tc_xdp(t, frame, TC_HFRAME, &xret);
	XM_EXPECT(&gl, !err && xret == want,
		  "512-insn program: XDP err %d ret %u, want %u", err, xret,
		  want);
	XM_EXPECT(&gl, xm_cbpf_check(p) < 0, "512-insn program: check %d",
		  xm_cbpf_check(p));
out:
	xm_tg_end(&t->suite, &g);
	xm_tg_end(&t->suite, &gl);
	free(p);
}

/* ---- xm_filter_compile() errors --------------------------------------- */

static void tc_group_compile_errors(struct tc_ctx *t)
{
	struct xm_cbpf_prog *p = malloc(sizeof(*p));
	struct xm_tgroup g;
	char err[512], *big = NULL;
	unsigned int n, i;
	size_t off = 0, cap = 16384;
	int rc;

	xm_tg_begin(&g, "cbpf_compile_errors");
	if (!p || !(big = malloc(cap))) {
		xm_tg_fail(&g, "out of memory");
		goto out;
	}

	memset(p, 0xa5, sizeof(*p));
	rc = xm_filter_compile("tcp port", p, err, sizeof(err));
	XM_EXPECT(&g, rc == -EINVAL, "'tcp port': %d, want -EINVAL", rc);
	XM_EXPECT(&g, strstr(err, "'tcp port'") && strstr(err, "syntax error"),
		  "'tcp port': message '%s' lacks the expression or libpcap's text",
		  err);
	XM_EXPECT(&g, p->len == 0xa5a5a5a5u, "*out changed on failure");

	rc = xm_filter_compile("tcp port frobnicate", p, err, sizeof(err));
	XM_EXPECT(&g, rc == -EINVAL && strstr(err, "frobnicate"),
		  "unknown port: %d '%s'", rc, err);

	rc = xm_filter_compile("host 10.1.1.1 and (", p, err, sizeof(err));
	XM_EXPECT(&g, rc == -EINVAL && strstr(err, "'host 10.1.1.1 and ('"),
		  "unbalanced parenthesis: %d '%s'", rc, err);

	rc = xm_filter_compile("ip[2:3] = 1", p, err, sizeof(err));
	XM_EXPECT(&g, rc == -EINVAL && strlen(err) > strlen("bad filter 'ip[2:3] = 1': "),
		  "bad load size: %d '%s'", rc, err);

	/* A message that does not fit is cut, and still terminated. */
	memset(err, 'x', sizeof(err));
	rc = xm_filter_compile("tcp port", p, err, 8);
	XM_EXPECT(&g, rc == -EINVAL && strlen(err) == 7,
		  "short buffer: %d, length %zu", rc, strnlen(err, sizeof(err)));
	rc = xm_filter_compile("tcp port", p, NULL, 0);
	XM_EXPECT(&g, rc == -EINVAL, "no message buffer: %d", rc);
	rc = xm_filter_compile(NULL, p, err, sizeof(err));
	XM_EXPECT(&g, rc == -EINVAL, "NULL expression: %d", rc);

	/* Too long: ports until libpcap's program exceeds 512 insns. */
	for (i = 1; i <= 200 && off + 32 < cap; i++)
		off += (size_t)snprintf(big + off, cap - off, "%sport %u",
					i > 1 ? " or " : "", 1000 + i);
	rc = xm_filter_compile(big, p, err, sizeof(err));
	XM_EXPECT(&g, rc == -E2BIG, "200 ports: %d, want -E2BIG (%s)", rc, err);
	n = 0;
	{
		const char *s = strstr(err, "compiles to ");

		if (s)
			n = (unsigned int)strtoul(s + strlen("compiles to "),
						  NULL, 10);
		XM_EXPECT(&g, s && n > XM_CBPF_MAX_INSNS &&
			  strstr(err, "instructions (max 512): 'port 1001 or "),
			  "too long: message '%.120s'", err);
	}
	XM_EXPECT(&g, p->len == 0xa5a5a5a5u, "*out changed on failure");

	/* The empty expression matches everything, as in tcpdump. */
	rc = xm_filter_compile("", p, err, sizeof(err));
	XM_EXPECT(&g, rc == 0 && p->len == 1 &&
		  p->insns[0].code == (RET | K) &&
		  p->insns[0].k == XM_FILTER_SNAPLEN,
		  "empty expression: %d, len %u", rc, p->len);
	XM_EXPECT(&g, rc != 0 || p->pad == 0, "pad not zeroed");
	printf("# a syntax error reads: ");
	xm_filter_compile("tcp port", p, err, sizeof(err));
	printf("%s\n", err);
out:
	xm_tg_end(&t->suite, &g);
	free(big);
	free(p);
}

/* ---- setup ------------------------------------------------------------ */

int main(void)
{
	struct tc_ctx *t = calloc(1, sizeof(*t));
	struct xm_tgroup g;
	int ret;

	if (!t) {
		printf("FAIL cbpf_load: out of memory\n");
		return 1;
	}
	xm_tg_begin(&g, "cbpf_load");
	t->frames = calloc(TC_NFRAMES, sizeof(*t->frames));
	t->skel = cbpf_test_bpf__open_and_load();
	if (!t->frames)
		xm_tg_fail(&g, "out of memory");
	else if (!t->skel)
		xm_tg_fail(&g, "cbpf_test_bpf__open_and_load: %s",
			   strerror(errno));
	if (xm_tg_end(&t->suite, &g)) {
		cbpf_test_bpf__destroy(t->skel);
		free(t->frames);
		free(t);
		return 1;
	}
	t->prog_fd = bpf_program__fd(t->skel->progs.xm_cbpf_test);
	t->map_fd = bpf_map__fd(t->skel->maps.cbpf_prog);
	tc_build_corpus(t);

	tc_group_compile_errors(t);
	tc_group_hand(t);
	tc_group_differential(t);
	tc_timing(t);

	ret = xm_tsuite_exit(&t->suite);
	cbpf_test_bpf__destroy(t->skel);
	free(t->frames);
	free(t);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_types.h - the one definition of every struct shared by the XDP
 * program, the datapath daemon and mirrorctl.  Plain fixed-width types
 * only: compiled by clang -target bpf and by gcc alike.
 *
 * Maps are the API.  They are pinned under XM_PIN_ROOT/<dev>/ with the
 * names below; nothing else is shared between the components.
 */
#ifndef XM_TYPES_H
#define XM_TYPES_H

#include <linux/types.h>

#include "xm_cbpf.h"

#define XM_PIN_ROOT "/sys/fs/bpf/xdp-mirror"
#define XM_RUN_DIR "/run/xdp-mirror"

/* Pinned map names (files under XM_PIN_ROOT/<dev>/). */
#define XM_MAP_RULES "rules"
#define XM_MAP_CTL "ctl"
#define XM_MAP_COLLECTORS "collectors"
#define XM_MAP_DEV_STATS "dev_stats"
#define XM_MAP_RULE_STATS "rule_stats"
#define XM_MAP_COLL_STATS "coll_stats"
#define XM_MAP_WORKER_STATS "worker_stats"
#define XM_MAP_XSKS "xsks"
#define XM_MAP_DPINFO "dpinfo"
#define XM_MAP_TUPLES "tuples"
#define XM_MAP_RESID "resid"
#define XM_MAP_RULE_HASH "rule_hash"
#define XM_MAP_FILTERS "filters"
#define XM_MAP_QSBR "qsbr"
#define XM_MAP_FAST "fast"
#define XM_MAP_FAST_STATS "fast_stats"
#define XM_MAP_SEQS "seqs"
#define XM_MAP_TX_PORTS "tx_ports"

#define XM_MAX_RULES 16384	/* rules in one table generation */
#define XM_MAX_RULE_ID 65536	/* rule ids are 1..XM_MAX_RULE_ID-1 */
#define XM_MAX_TUPLES 64	/* hashed rule shapes per generation */
#define XM_MAX_FILTERS 256	/* pcap-filter programs */
#define XM_MAX_COLLECTORS 64	/* one bit each in a rule's coll_mask */
#define XM_MAX_QUEUES 64	/* RX queues / worker threads */
#define XM_NAME_LEN 32

/* ---- rules ------------------------------------------------------- */

/* xm_rule.fields: which match fields are set (unset = wildcard). */
enum {
	XM_F_SRC = 1 << 0,
	XM_F_DST = 1 << 1,
	XM_F_PROTO = 1 << 2,
	XM_F_SPORT = 1 << 3,
	XM_F_DPORT = 1 << 4,
	XM_F_VLAN = 1 << 5,	/* outer VLAN id */
	XM_F_IVLAN = 1 << 6,	/* inner VLAN id (second tag) */
	XM_F_DEV = 1 << 7,	/* ingress ifindex */
	XM_F_DIR = 1 << 8,	/* direction */
	XM_F_DSCP = 1 << 9,
	XM_F_TCPFLAGS = 1 << 10, /* (flags & tcp_mask) == tcp_flags */
	XM_F_FILTER = 1 << 11,	/* pcap-filter program `filter` */
};

enum xm_action {
	XM_ACT_MIRROR = 0,
	XM_ACT_SKIP = 1,	/* matched frames are not mirrored */
};

/* Directions, a mask in rules, one bit in a frame's flow. */
enum {
	XM_DIR_IN = 1,
	XM_DIR_OUT = 2,
};

/*
 * One rule.  The rules map holds two tables of XM_MAX_RULES entries
 * (generation 0 at index 0, generation 1 at XM_MAX_RULES), each sorted by
 * (prio, id); xm_ctl.rules_sel says which one is live.  Addresses are in
 * network order, IPv4 in the first four bytes; masks are precomputed from
 * the prefix length so the match is a plain xor-and-compare.
 */
struct xm_rule {
	__u32 id;
	__u32 prio;
	__u32 fields;		/* XM_F_* */
	__u8 family;		/* 0 any, 4 or 6 (set when src/dst is) */
	__u8 proto;		/* IPPROTO_* when XM_F_PROTO */
	__u8 src_plen;
	__u8 dst_plen;
	__u16 sport_lo, sport_hi;	/* host order, inclusive */
	__u16 dport_lo, dport_hi;
	__u16 vlan;		/* outer VLAN id when XM_F_VLAN */
	__u16 ivlan;		/* inner VLAN id when XM_F_IVLAN */
	__u32 ifindex;		/* ingress device when XM_F_DEV */
	__u8 dir;		/* XM_DIR_* mask when XM_F_DIR */
	__u8 dscp;		/* when XM_F_DSCP */
	__u8 tcp_flags;		/* when XM_F_TCPFLAGS: wanted values ... */
	__u8 tcp_mask;		/* ... of these flag bits */
	__u8 action;		/* enum xm_action */
	__u8 pad;
	__u16 snaplen;		/* 0: whole frame */
	__u32 sample;		/* 0 or 1: every frame; N: 1 in N */
	__u32 filter;		/* filters map slot when XM_F_FILTER */
	__u8 src[16], src_mask[16];
	__u8 dst[16], dst_mask[16];
	__u64 coll_mask;	/* bit n: collector id n gets a copy */
};

/*
 * Control block, a single-entry BPF_F_MMAPABLE array.  rules_sel packs
 * the live table index (bit 0) and its rule count (bits 1..31) into one
 * word, so the XDP program can never see a count from one generation
 * and a table from the other.
 */
struct xm_gen_info {
	__u32 ntuples;		/* hashed rule shapes, sorted by min_prio */
	__u32 nresid;		/* rules searched one by one */
};

struct xm_ctl {
	__u32 rules_sel;
	__u32 rule_gen;		/* bumped on every rule table change */
	__u32 coll_gen;		/* bumped on every collector change */
	/* Live half of the fast map (0 or 1); written by the daemon only. */
	__u32 fast_sel;
	/* Per table half; written before the flip that makes it live. */
	struct xm_gen_info gen[2];
	/* CLOCK_REALTIME minus CLOCK_MONOTONIC in ns, kept by the daemon:
	 * the XDP fast path stamps ERSPAN III copies with the same clock
	 * as the AF_XDP datapath. */
	__s64 rt_off_ns;
	/* The coll_gen the daemon's templates were last built from: after a
	 * collector change mirrorctl wakes the daemon (SIGUSR1) and waits
	 * until it is caught up, so a command returns once in effect. */
	__u32 coll_seen;
	__u32 pad;
};

/*
 * The classifier (tuple space search).  A rule whose fields are all exact
 * values or prefixes (no port range, no filter) is "hashed": rules with
 * the same set of fields and prefix lengths share a tuple, and the frame's
 * fields under the tuple's masks form a key into the rule_hash map, whose
 * value is the table slot of the best (prio, id) rule with that key.
 * Tuples are sorted by the best prio among their rules, so the search
 * stops at the first tuple that cannot beat the match found so far.  Other
 * rules are "residual": slots in the resid map, in (prio, id) order,
 * matched one by one.  Per frame the cost grows with the number of tuples
 * and residual rules, not with the number of hashed rules.
 *
 * Tuples and residual lists exist per table half (index XM_SEL_IDX *
 * XM_MAX_TUPLES / XM_MAX_RULES + i); hash keys carry their half in gen.
 */
struct xm_tuple {
	__u32 fields;		/* XM_F_* of its rules */
	__u32 min_prio;		/* best prio among its rules */
	__u8 family;
	__u8 src_plen;
	__u8 dst_plen;
	__u8 tcp_mask;
	__u8 dir;
	__u8 pad;
	/* 1 + the slot of the tuple's only rule, 0 when it has several:
	 * one rule is checked directly, which is cheaper than hashing the
	 * frame's key (a SPAN feed often has one rule per shape). */
	__u16 solo;
	__u8 src_mask[16];
	__u8 dst_mask[16];
};

/*
 * Fields a tuple does not use are zero.  The key is kept small because
 * the kernel hashes and compares all of it on every lookup: the tuple
 * number stands for the family and the direction mask, and an address is
 * one word, the IPv4 address or a hash of the IPv6 one under the tuple's
 * mask (xm_key_addr).  Two IPv6 rules of a tuple whose keys are equal but
 * whose addresses differ cannot share an entry: the writer makes every
 * one after the first residual, and the classifier checks the addresses
 * of the rule an IPv6 key leads to.
 */
struct xm_rule_key {
	__u16 tuple;
	__u8 gen;		/* table half */
	__u8 proto;
	__u8 dscp;
	__u8 tcp_flags;
	__u16 sport;
	__u16 dport;
	__u16 vlan;
	__u16 ivlan;
	__u16 pad;
	__u32 ifindex;
	__u32 src;
	__u32 dst;
};

/* A pcap-filter rule's program and the expression it came from (for
 * `rule show`).  Immutable while any table half refers to its slot. */
#define XM_FILTER_EXPR_MAX 256

struct xm_filter {
	struct xm_cbpf_prog prog;
	char expr[XM_FILTER_EXPR_MAX];	/* NUL-terminated */
};

/*
 * Quiescence: every XDP run adds one to its CPU's counter on entry and
 * one on exit (odd = inside).  Before rewriting the half that was live
 * until the last flip, the writer waits until every CPU that was inside
 * at the flip has moved on, so no run still reads what it rewrites.
 */
struct xm_qsbr {
	__u64 seq;
};

#define XM_SEL_IDX(sel) ((sel) & 1u)
#define XM_SEL_COUNT(sel) ((sel) >> 1)
#define XM_SEL_MAKE(idx, n) (((__u32)(n) << 1) | ((idx) & 1u))

/* ---- collectors ---------------------------------------------------- */

enum xm_encap {
	XM_ENCAP_VXLAN = 0,
	XM_ENCAP_GENEVE,
	XM_ENCAP_GRE,
	XM_ENCAP_ERSPAN2,
	XM_ENCAP_ERSPAN3,
};

enum {
	XM_COLL_F_LOCAL = 1 << 0,	/* local address given */
	XM_COLL_F_DEV = 1 << 1,		/* ifindex given */
	XM_COLL_F_KEY = 1 << 2,		/* GRE: key present */
	XM_COLL_F_SEQ = 1 << 3,		/* GRE: sequence number present */
};

#define XM_VXLAN_PORT 4789
#define XM_GENEVE_PORT 6081
#define XM_TTL_DEFAULT 64
#define XM_SESSION_MAX 1023		/* ERSPAN session id: 10 bits */
#define XM_HWID_MAX 63			/* ERSPAN III hardware id: 6 bits */
#define XM_SNAPLEN_MIN 64

/*
 * Collector id n lives at index n of the collectors array map.  Which
 * fields apply depends on encap: vni (VXLAN, GENEVE), dport (UDP
 * formats), key and XM_COLL_F_SEQ (GRE), session (ERSPAN II/III), hwid
 * (ERSPAN III).  Unused fields are zero.
 */
struct xm_collector {
	char name[XM_NAME_LEN];	/* NUL-terminated; empty = free slot */
	__u8 family;		/* 4 or 6: outer header */
	__u8 encap;		/* enum xm_encap */
	__u8 flags;		/* XM_COLL_F_* */
	__u8 dscp;		/* 6 bits, outer DSCP */
	__u32 vni;		/* 24 bits used */
	__u32 key;		/* GRE key, host order */
	__u16 dport;		/* host order */
	__u16 session;		/* ERSPAN session id */
	__u16 snaplen;		/* 0: whole frame */
	__u8 ttl;		/* outer TTL / hop limit; 0: XM_TTL_DEFAULT */
	__u8 hwid;		/* ERSPAN III hardware id */
	__u32 ifindex;		/* TX device; 0 = the daemon's --tx-dev */
	__u8 remote[16];
	__u8 local[16];
};

/* ---- metadata XDP -> AF_XDP (in front of the frame, bpf_xdp_adjust_meta) */

#define XM_META_MAGIC 0x584d4d31	/* "XMM1" */

struct xm_meta {
	__u64 coll_mask;
	__u32 rule_id;
	__u32 flow_hash;
	__u32 magic;
	__u32 orig_len;		/* frame length before XDP cut it to fit a
				 * UMEM frame; 0 when it was not cut */
	__u16 snaplen;		/* the rule's; 0: whole frame */
	__u8 dir;		/* XM_DIR_* the frame was seen in */
	__u8 pad;
	__u32 pad2;
};

/*
 * Bytes of frame data an AF_XDP socket takes per UMEM frame: the 4 KiB
 * frame less the kernel's XDP_PACKET_HEADROOM (256).  Longer matched
 * frames (jumbo MTU in generic XDP mode) are cut to this before the
 * redirect, instead of being dropped by the socket.
 */
#define XM_XSK_DATA_MAX (4096 - 256)

/* ---- counters ------------------------------------------------------ */

/* ---- host mode (issue 6) ------------------------------------------ */

/* mirror-appliance start --mode. */
enum xm_mode {
	XM_MODE_APPLIANCE = 0,	/* XDP on --dev: a mirror feed */
	XM_MODE_HOST = 1,	/* tc on --dev: the host's own traffic */
};

/* Index of a direction's counters in xm_dev_stats.host[]. */
#define XM_HOST_IN 0
#define XM_HOST_OUT 1

/*
 * skb->mark of a clone on its way to host mode's kernel path: the
 * collector and the direction (XM_HOST_*), decided once by the NIC's tc
 * program, which puts the host's own mark back on the frame right after
 * making the clone.  The copy the kernel path sends carries
 * XM_MARK_COPY, so the NIC's egress program lets it pass unclassified
 * (and clears it).
 */
#define XM_MARK_KIND 0xffff0000u
#define XM_MARK_KPATH 0x584b0000u	/* "XK" | dir << 8 | collector */
#define XM_MARK_COPY 0x584d4350u	/* "XMCP" */

/*
 * Host mode, one direction (tc ingress or egress of --dev).  The tc
 * program counts seen .. clone_segs, the XDP programs on the private
 * veth count xdp_rx and stale.  Per direction:
 *   mirror = cloned + clone_fail
 *   xdp_rx = clone_segs - frames the private veth dropped (its own
 *	      `ip -s link` counters; none unless its ring overflows)
 * and over both directions, with the device counters of the struct:
 *   rx = host[0].seen + host[1].seen = matched + not_matched
 *   loop_guard (both) is part of not_matched
 *   matched = mirror (both) + skipped + sampled_out
 *   xdp_rx - stale (both) = to_xsk + xsk_missing + meta_fail
 *	      (+ egress frames lost in the veth between its two ends)
 * The kernel path, per direction:
 *   k_rx = k_cloned - clones the backlog queue dropped (the kernel's
 *	    softnet drop counter; none unless it overflows)
 *   k_rx = k_sent + k_fallback + k_drop
 *   own_tx (egress) = k_sent (both), once the copies have left
 */
struct xm_host_dir_stats {
	__u64 seen;		/* frames the tc program ran on */
	__u64 seen_bytes;
	__u64 loop_guard;	/* our encapsulation to a collector: ignored */
	__u64 mirror;		/* first match mirrors it, sample kept it */
	__u64 cloned;		/* cloned into the private veth */
	__u64 clone_fail;	/* bpf_clone_redirect failed: no copy */
	__u64 clone_segs;	/* frames the clones became (GSO segments) */
	__u64 xdp_rx;		/* clones the private veth's XDP received */
	__u64 stale;		/* ... that no mirror rule matched any more
				 * (table changed meanwhile): dropped */
	/* The kernel path (--datapath auto|tc): the tc program of the NIC
	 * clones into the receive end's ingress, whose tc program
	 * encapsulates the clone and redirects it to the NIC, GSO intact. */
	__u64 k_cloned;		/* of cloned: to the kernel path */
	__u64 k_rx;		/* clones its tc program received */
	__u64 k_sent;		/* ... encapsulated, redirected to the NIC */
	__u64 k_fallback;	/* ... not for it (collector moved meanwhile,
				 * skb already a tunnel's): on to the AF_XDP
				 * path, their segments in clone_segs */
	__u64 k_drop;		/* ... changed, then not finished: dropped */
	__u64 own_tx;		/* tc egress: our copies, not classified */
};

/*
 * Per-CPU, one entry per device.  Identities:
 *   rx = matched + not_matched
 *   matched = to_xsk + xsk_missing + meta_fail + skipped + sampled_out
 *   passed = not_matched + xsk_missing + meta_fail + skipped + sampled_out
 * malformed counts frames whose headers were cut short or inconsistent;
 * they are classified on what did parse (a match-all rule still takes
 * them) and are included in the identity above.
 * neigh_passed is a subset of not_matched: ARP and ICMPv6 router/
 * neighbour discovery passed to the stack unclassified because the
 * program was loaded with pass_neigh set (TX device = RX device).
 */
struct xm_dev_stats {
	__u64 rx;
	__u64 rx_bytes;
	__u64 matched;
	__u64 matched_bytes;
	__u64 not_matched;
	__u64 passed;
	__u64 malformed;
	__u64 to_xsk;
	__u64 xsk_missing;	/* matched, no socket on the queue: passed */
	__u64 meta_fail;	/* matched, no room for metadata: passed */
	__u64 neigh_passed;	/* not classified: ARP / ND (pass_neigh) */
	__u64 skipped;		/* first match was an action skip rule */
	__u64 sampled_out;	/* matched, not taken by the rule's sample */
	/* XDP fast path (issue 8): encapsulated and redirected in XDP.
	 * matched = skipped + sampled_out + to_xsk + to_fast + xsk_missing
	 *	     + meta_fail */
	__u64 to_fast;
	__u64 fast_fallback;	/* fast path could not finish: to AF_XDP */
	/* Counted by tracepoints on the kernel's redirect: fast-path frames
	 * the TX device refused after the program returned (included in
	 * the fast-path sent counts). */
	__u64 fast_xmit_err;
	/* Host mode (--mode host), [XM_HOST_IN] and [XM_HOST_OUT]; in
	 * host mode rx .. sampled_out are counted by the tc program and
	 * to_xsk, xsk_missing, meta_fail by the XDP one.  Keep this last:
	 * mirrorctl prints the fields before it by name. */
	struct xm_host_dir_stats host[2];
};

/* Per-CPU, indexed by rule id. */
struct xm_rule_stats {
	__u64 packets;
	__u64 bytes;
};

/*
 * Written by the datapath workers into an mmapable array, one row per
 * (worker, collector): key = worker * XM_MAX_COLLECTORS + collector id.
 * Each row has a single writer, so no atomics on the hot path.
 * For every collector: copies = sent + sum of drop_*.
 */
struct xm_coll_stats {
	__u64 sent;
	__u64 sent_bytes;
	__u64 drop_no_neigh;	/* next hop not resolved yet */
	__u64 drop_tx_full;	/* TX ring full */
	__u64 drop_no_frame;	/* no free UMEM frame for an extra copy */
	__u64 drop_no_collector; /* collector deleted while in flight */
	/* Sent, but cut short (included in sent): to the collector's
	 * snaplen, or to fit the TX device MTU / a UMEM frame. */
	__u64 truncated_snap;
	__u64 truncated_mtu;
};

/* One row per worker in the mmapable worker_stats array. */
struct xm_worker_stats {
	__u64 rx;		/* descriptors taken from the RX ring */
	__u64 rx_bytes;
	__u64 bad_meta;		/* no valid xm_meta in front of the frame */
	__u64 tx_completed;
	__u64 fill_short;	/* fill ring had no room for a recycled frame */
	__u64 wakeups;		/* sendto/poll syscalls */
	/* The socket's XDP_STATISTICS, copied by the control thread:
	 * frames the kernel could not hand to us. */
	__u64 xsk_rx_dropped;	/* e.g. larger than a UMEM frame */
	__u64 xsk_rx_ring_full;	/* RX ring full: we were too slow */
	__u64 xsk_fill_empty;	/* fill ring empty when a frame came */
	__u64 xsk_rx_invalid;
	__u64 xsk_tx_invalid;
};

/*
 * dpinfo: single-entry array written by the daemon at start, read by
 * mirrorctl status.
 */
struct xm_dpinfo {
	__u32 pid;
	__u32 ifindex;
	__u32 tx_ifindex;
	__u32 queues;
	__u32 zerocopy;		/* 1 when every socket bound in zero-copy */
	__u32 ready;
	__u32 datapath;		/* enum xm_datapath asked for at start */
	__u32 tx_xmit;		/* 1: the TX device takes XDP_REDIRECT */
	__u32 mode;		/* enum xm_mode (host mode: issue 6) */
	__u32 host_dir;		/* host mode: XM_DIR_* mask mirrored */
};

/* mirror-appliance start --datapath. */
enum xm_datapath {
	XM_DP_AUTO = 0,		/* fast path wherever it applies */
	XM_DP_XDP = 1,		/* as auto, but refuse to start without it */
	XM_DP_AFXDP = 2,	/* every copy through AF_XDP */
	XM_DP_TC = 3,		/* host mode: as auto (the kernel path) */
};

/*
 * GRE/ERSPAN sequence number of one collector, shared by the XDP fast
 * path and the AF_XDP workers (one atomic add per copy in either).  On
 * its own cache line: an mmapable array lays elements out value_size
 * apart.
 */
struct xm_seq {
	__u64 next;		/* 64 bits: BPF's fetch-and-add needs no -mcpu=v3 */
	__u64 pad[7];
};

#endif /* XM_TYPES_H */

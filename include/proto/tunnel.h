/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunnel headers beside VXLAN: GENEVE (RFC 8926), GRE (RFC 2784/2890)
 * and ERSPAN types II and III (draft-foschiano-erspan).  ERSPAN fields
 * are bit-packed; they are built with the shift/mask macros below on
 * host-order words and stored big-endian, never with C bitfields, so one
 * definition serves every compiler and byte order.
 */
#ifndef XM_PROTO_TUNNEL_H
#define XM_PROTO_TUNNEL_H

#include "../xm_compat.h"

/* GENEVE: version 0, no options, Ethernet payload. */
struct xm_genevehdr {
	__u8 ver_optlen;	/* version (2 bits) | option length (6) */
	__u8 flags;		/* O | C | reserved */
	__be16 proto;		/* XM_ETH_P_TEB */
	__be32 vni_res;		/* VNI in the upper 24 bits */
} __attribute__((packed));

/*
 * The GENEVE option xdp-mirror adds in host mode: which way the mirrored
 * frame went.  Class 0xFF58 lies in the range RFC 8926 leaves for
 * experimental use (0xFF00-0xFFFF); type 1 with the critical bit (0x80)
 * clear, so a receiver that does not know it ignores it; 4 bytes of
 * data: three zero bytes, then XM_DIR_IN (1: received by the host) or
 * XM_DIR_OUT (2: sent by it).
 */
struct xm_geneve_opt {
	__be16 opt_class;
	__u8 type;
	__u8 len;		/* reserved (3 bits) | data length in words (5) */
} __attribute__((packed));

#define XM_GENEVE_OPT_CLASS 0xFF58
#define XM_GENEVE_OPT_TYPE_DIR 0x01
#define XM_GENEVE_OPT_DIR_LEN 8	/* option header + 4 bytes of data */

/* GRE base header; key and sequence number follow when K / S are set
 * (in that order). */
struct xm_grehdr {
	__be16 flags;
	__be16 proto;
} __attribute__((packed));

#define XM_GRE_F_KEY 0x2000
#define XM_GRE_F_SEQ 0x1000

#define XM_ETH_P_ERSPAN2 0x88BE
#define XM_ETH_P_ERSPAN3 0x22EB

/*
 * ERSPAN word 0, both types:
 *   ver(4) | vlan(12) | cos(3) | en or bso(2) | T(1) | session id(10)
 * Type II word 1: reserved(12) | index(20).
 * Type III: word 1 timestamp, word 2: sgt(16) | P(1) | FT(5) | hw id(6) |
 *   D(1) | Gra(2) | O(1).
 */
#define XM_ERSPAN_VER_II 1u
#define XM_ERSPAN_VER_III 2u
#define XM_ERSPAN_VER_SHIFT 28
#define XM_ERSPAN_VLAN_SHIFT 16
#define XM_ERSPAN_COS_SHIFT 13
#define XM_ERSPAN_EN_SHIFT 11
#define XM_ERSPAN_T (1u << 10)
#define XM_ERSPAN_SESSION_MASK 0x3ffu
/* En: the mirrored frame still carries its 802.1Q tag. */
#define XM_ERSPAN_EN_INFRAME 3u

/* P: the payload is an Ethernet frame (FT 0 then says which kind). */
#define XM_ERSPAN3_P (1u << 15)
#define XM_ERSPAN3_HWID_SHIFT 4
#define XM_ERSPAN3_D (1u << 3)
#define XM_ERSPAN3_GRA_SHIFT 1
/* Gra 01: the timestamp counts 100 ns units. */
#define XM_ERSPAN3_GRA_100NS 1u

#define XM_ERSPAN2_LEN 8
#define XM_ERSPAN3_LEN 12

#endif /* XM_PROTO_TUNNEL_H */

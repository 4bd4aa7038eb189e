/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_compat.h - the few definitions that differ between a BPF build and a
 * user-space build of the shared headers.  Everything else in include/
 * is written once against these.
 */
#ifndef XM_COMPAT_H
#define XM_COMPAT_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define XM_INLINE static __always_inline

/*
 * Ask for a fully unrolled loop.  Only clang knows "#pragma unroll": the
 * BPF build uses it so the verifier sees straight-line code, while gcc
 * warns about the unknown pragma and user space builds with -Werror.  In
 * user space unrolling is only an optimisation, so gcc gets nothing.
 */
#ifdef __clang__
#define XM_UNROLL _Pragma("unroll")
#else
#define XM_UNROLL
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define xm_htons(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define xm_htonl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#else
#define xm_htons(x) ((__u16)(x))
#define xm_htonl(x) ((__u32)(x))
#endif
#define xm_ntohs(x) xm_htons(x)
#define xm_ntohl(x) xm_htonl(x)

/* Protocol numbers, kept here so user space need not mix linux/in.h
 * with netinet/in.h. */
#define XM_IPPROTO_HOPOPTS 0
#define XM_IPPROTO_ICMP 1
#define XM_IPPROTO_TCP 6
#define XM_IPPROTO_UDP 17
#define XM_IPPROTO_ROUTING 43
#define XM_IPPROTO_FRAGMENT 44
#define XM_IPPROTO_GRE 47
#define XM_IPPROTO_AH 51
#define XM_IPPROTO_ICMPV6 58
#define XM_IPPROTO_NONE 59
#define XM_IPPROTO_DSTOPTS 60
#define XM_IPPROTO_SCTP 132

/* ICMPv6 router and neighbour discovery (RFC 4861): router
 * solicitation, router advertisement, neighbour solicitation, neighbour
 * advertisement, redirect - a contiguous range of types. */
#define XM_ICMPV6_ND_FIRST 133
#define XM_ICMPV6_ND_LAST 137

#define XM_ETH_P_IP 0x0800
#define XM_ETH_P_ARP 0x0806
#define XM_ETH_P_IPV6 0x86DD
#define XM_ETH_P_8021Q 0x8100
#define XM_ETH_P_8021AD 0x88A8
#define XM_ETH_P_TEB 0x6558

#endif /* XM_COMPAT_H */

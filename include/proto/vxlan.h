/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* VXLAN, RFC 7348. */
#ifndef XM_PROTO_VXLAN_H
#define XM_PROTO_VXLAN_H

#include "../xm_compat.h"

#define XM_VXLAN_FLAG_I 0x08	/* the VNI field is valid */

struct xm_vxlanhdr {
	__u8 flags;
	__u8 reserved1[3];
	__be32 vni_res;		/* VNI in the upper 24 bits */
} __attribute__((packed));

/* RFC 7348 section 5: source port from a hash of the inner frame, in the
 * dynamic range, so that collectors' RSS spreads flows. */
#define XM_UDP_SPORT_BASE 49152u
#define XM_UDP_SPORT_MASK 0x3fffu

#endif /* XM_PROTO_VXLAN_H */

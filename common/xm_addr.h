/* SPDX-License-Identifier: GPL-2.0 */
/* Address and prefix parsing shared by mirrorctl, the daemon and tests. */
#ifndef XM_ADDR_H
#define XM_ADDR_H

#include <linux/types.h>

/*
 * Parse "ADDR" or "ADDR/LEN" (IPv4 or IPv6) into a 16-byte network-order
 * address (IPv4 in the first four bytes), the mask for the prefix length
 * and the family (4 or 6).  Host bits beyond the prefix are cleared.
 * Returns 0 or -EINVAL.
 */
int xm_prefix_parse(const char *s, __u8 addr[16], __u8 mask[16], __u8 *plen,
		    __u8 *family);

/* Parse a plain address (no prefix).  Returns 0 or -EINVAL. */
int xm_addr_parse(const char *s, __u8 addr[16], __u8 *family);

/* Format addr of the given family into buf (INET6_ADDRSTRLEN bytes). */
const char *xm_addr_str(const __u8 addr[16], __u8 family, char *buf,
			unsigned int len);

#endif /* XM_ADDR_H */

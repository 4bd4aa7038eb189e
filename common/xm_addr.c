// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xm_addr.h"

int xm_addr_parse(const char *s, __u8 addr[16], __u8 *family)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

static void xm_mask_from_len(__u8 mask[16], unsigned int plen)
{
	unsigned int i;

	memset(mask, 0, 16);
	for (i = 0; i < plen / 8; i++)
		mask[i] = 0xff;
	if (plen % 8)
		mask[i] = (__u8)(0xff << (8 - plen % 8));
}

int xm_prefix_parse(const char *s, __u8 addr[16], __u8 mask[16], __u8 *plen,
		    __u8 *family)
{
	char buf[64];
	const char *slash;
	unsigned long len;
	unsigned int max, i;
	char *end;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = '\0';
	if (xm_addr_parse(buf, addr, family))
		return -EINVAL;
	max = *family == 4 ? 32 : 128;
	len = max;
	if (slash) {
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || len > max)
			return -EINVAL;
	}
	*plen = (__u8)len;
	xm_mask_from_len(mask, (unsigned int)len);
	for (i = 0; i < 16; i++)
		addr[i] &= mask[i];
	return 0;
}

const char *xm_addr_str(const __u8 addr[16], __u8 family, char *buf,
			unsigned int len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, len))
		return "?";
	return buf;
}

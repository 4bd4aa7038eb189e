// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xm_addr.h"
#include "xm_rules.h"

static const struct {
	const char *name;
	__u8 proto;
} xm_protos[] = {
	{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 },
	{ "sctp", 132 },
};

int xm_proto_parse(const char *s, __u8 *proto)
{
	unsigned long v;
	unsigned int i;
	char *end;

	for (i = 0; i < sizeof(xm_protos) / sizeof(xm_protos[0]); i++) {
		if (!strcmp(s, xm_protos[i].name)) {
			*proto = xm_protos[i].proto;
			return 0;
		}
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 255)
		return -EINVAL;
	*proto = (__u8)v;
	return 0;
}

const char *xm_proto_name(__u8 proto)
{
	unsigned int i;

	for (i = 0; i < sizeof(xm_protos) / sizeof(xm_protos[0]); i++)
		if (xm_protos[i].proto == proto)
			return xm_protos[i].name;
	return NULL;
}

int xm_rule_set_prefix(struct xm_rule *r, bool dst, const char *s)
{
	__u8 addr[16], mask[16], plen, family;
	__u32 other = dst ? XM_F_SRC : XM_F_DST;

	if (xm_prefix_parse(s, addr, mask, &plen, &family))
		return -EINVAL;
	/* One family per rule: the classifier compares it first. */
	if ((r->fields & other) && r->family != family)
		return -EAFNOSUPPORT;
	r->family = family;
	if (dst) {
		memcpy(r->dst, addr, 16);
		memcpy(r->dst_mask, mask, 16);
		r->dst_plen = plen;
		r->fields |= XM_F_DST;
	} else {
		memcpy(r->src, addr, 16);
		memcpy(r->src_mask, mask, 16);
		r->src_plen = plen;
		r->fields |= XM_F_SRC;
	}
	return 0;
}

int xm_rule_set_ports(struct xm_rule *r, bool dst, __u16 lo, __u16 hi)
{
	if (lo > hi)
		return -EINVAL;
	if (dst) {
		r->dport_lo = lo;
		r->dport_hi = hi;
		r->fields |= XM_F_DPORT;
	} else {
		r->sport_lo = lo;
		r->sport_hi = hi;
		r->fields |= XM_F_SPORT;
	}
	return 0;
}

void xm_rule_set_proto(struct xm_rule *r, __u8 proto)
{
	r->proto = proto;
	r->fields |= XM_F_PROTO;
}

int xm_rule_set_vlan(struct xm_rule *r, __u16 vlan)
{
	if (vlan > 4095)
		return -ERANGE;
	r->vlan = vlan;
	r->fields |= XM_F_VLAN;
	return 0;
}

int xm_rule_cmp(const void *a, const void *b)
{
	const struct xm_rule *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

void xm_rules_sort(struct xm_rule *t, __u32 n)
{
	qsort(t, n, sizeof(*t), xm_rule_cmp);
}

int xm_rules_find(const struct xm_rule *t, __u32 n, __u32 id)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (t[i].id == id)
			return (int)i;
	return -1;
}

__u32 xm_rules_free_id(const struct xm_rule *t, __u32 n,
		       const struct xm_rule *also, __u32 m)
{
	unsigned char used[XM_MAX_RULE_ID] = { 0 };
	__u32 i;

	for (i = 0; i < n; i++)
		if (t[i].id < XM_MAX_RULE_ID)
			used[t[i].id] = 1;
	for (i = 0; also && i < m; i++)
		if (also[i].id < XM_MAX_RULE_ID)
			used[also[i].id] = 1;
	for (i = 1; i < XM_MAX_RULE_ID; i++)
		if (!used[i])
			return i;
	return 0;
}

int xm_rule_stats_zero(int rule_stats_fd, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xm_rule_stats *zero;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(rule_stats_fd, &id, zero, BPF_ANY))
		err = -errno;
	free(zero);
	return err;
}

/* ---- setters of the fields added with actions, filters and sampling ---- */

int xm_rule_set_ivlan(struct xm_rule *r, __u16 vlan)
{
	if (vlan > 4095)
		return -ERANGE;
	r->ivlan = vlan;
	r->fields |= XM_F_IVLAN;
	return 0;
}

void xm_rule_set_ifindex(struct xm_rule *r, __u32 ifindex)
{
	r->ifindex = ifindex;
	r->fields |= XM_F_DEV;
}

int xm_rule_set_dir(struct xm_rule *r, __u8 mask)
{
	const __u8 both = XM_DIR_IN | XM_DIR_OUT;

	if (!mask || (mask & ~both))
		return -EINVAL;
	/* Both directions is no condition at all: keep the rule a wildcard
	 * there, so it has the same shape as one that never named dir. */
	if (mask == both) {
		r->dir = 0;
		r->fields &= ~(__u32)XM_F_DIR;
		return 0;
	}
	r->dir = mask;
	r->fields |= XM_F_DIR;
	return 0;
}

int xm_rule_set_dscp(struct xm_rule *r, __u8 dscp)
{
	if (dscp > 63)
		return -ERANGE;
	r->dscp = dscp;
	r->fields |= XM_F_DSCP;
	return 0;
}

int xm_rule_set_tcp_flags(struct xm_rule *r, __u8 flags, __u8 mask)
{
	if (!mask || (flags & ~mask))
		return -EINVAL;
	r->tcp_flags = flags;
	r->tcp_mask = mask;
	r->fields |= XM_F_TCPFLAGS;
	return 0;
}

void xm_rule_set_filter(struct xm_rule *r, __u32 slot)
{
	r->filter = slot;
	r->fields |= XM_F_FILTER;
}

int xm_rule_set_action(struct xm_rule *r, unsigned int action)
{
	if (action != XM_ACT_MIRROR && action != XM_ACT_SKIP)
		return -EINVAL;
	r->action = (__u8)action;
	return 0;
}

int xm_rule_set_sample(struct xm_rule *r, __u32 n)
{
	if (!n || n > XM_SAMPLE_MAX)
		return -ERANGE;
	r->sample = n == 1 ? 0 : n;	/* 0 and 1 both mean every frame */
	return 0;
}

int xm_rule_set_snaplen(struct xm_rule *r, __u32 snaplen)
{
	if (snaplen < XM_SNAPLEN_MIN || snaplen > 65535)
		return -ERANGE;
	r->snaplen = (__u16)snaplen;
	return 0;
}

/* Bit n of the TCP flags byte (fin is bit 0, cwr bit 7). */
static const char *const xm_tcp_flag_names[8] = {
	"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr",
};

int xm_tcp_flags_parse(const char *s, __u8 *bits, size_t *bad, size_t *badlen)
{
	const char *p = s, *comma;
	__u8 out = 0;
	size_t len;
	unsigned int i;

	do {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < 8; i++)
			if (strlen(xm_tcp_flag_names[i]) == len &&
			    !strncmp(p, xm_tcp_flag_names[i], len))
				break;
		if (i == 8 || (out & (1u << i))) {
			*bad = (size_t)(p - s);
			*badlen = len;
			return i == 8 ? -EINVAL : -EEXIST;
		}
		out |= (__u8)(1u << i);
		p = comma + 1;
	} while (comma);
	*bits = out;
	return 0;
}

const char *xm_tcp_flags_str(__u8 bits, char *buf, size_t len)
{
	size_t off = 0, n;
	unsigned int i;

	if (!len)
		return buf;
	for (i = 0; i < 8; i++) {
		if (!(bits & (1u << i)))
			continue;
		n = strlen(xm_tcp_flag_names[i]);
		/* separator, name and the terminator must fit */
		if (off + !!off + n >= len)
			break;
		if (off)
			buf[off++] = ',';
		memcpy(buf + off, xm_tcp_flag_names[i], n);
		off += n;
	}
	buf[off] = '\0';
	return buf;
}

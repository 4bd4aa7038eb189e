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

static size_t xm_ctl_map_len(void)
{
	long pg = sysconf(_SC_PAGESIZE);

	return pg > 0 ? (size_t)pg : 4096;
}

struct xm_ctl *xm_ctl_map(int ctl_fd)
{
	void *p;

	p = mmap(NULL, xm_ctl_map_len(), PROT_READ | PROT_WRITE, MAP_SHARED,
		 ctl_fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void xm_ctl_unmap(struct xm_ctl *ctl)
{
	if (ctl)
		munmap(ctl, xm_ctl_map_len());
}

int xm_rules_read(int rules_fd, const struct xm_ctl *ctl,
		  struct xm_rule *t, __u32 *n)
{
	__u32 sel = __atomic_load_n(&ctl->rules_sel, __ATOMIC_ACQUIRE);
	__u32 cnt = XM_SEL_COUNT(sel), base, i, key;

	if (cnt > XM_MAX_RULES)
		return -EUCLEAN;
	base = XM_SEL_IDX(sel) * XM_MAX_RULES;
	for (i = 0; i < cnt; i++) {
		key = base + i;
		if (bpf_map_lookup_elem(rules_fd, &key, &t[i]))
			return -errno;
	}
	*n = cnt;
	return 0;
}

int xm_rules_publish(int rules_fd, struct xm_ctl *ctl,
		     const struct xm_rule *t, __u32 n)
{
	__u32 sel = __atomic_load_n(&ctl->rules_sel, __ATOMIC_ACQUIRE);
	__u32 idx = XM_SEL_IDX(sel) ^ 1u, base = idx * XM_MAX_RULES, i, key;

	if (n > XM_MAX_RULES)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		key = base + i;
		if (bpf_map_update_elem(rules_fd, &key, &t[i], BPF_ANY))
			return -errno;
	}
	/* The flip: table index and count change together in one word. */
	__atomic_store_n(&ctl->rules_sel, XM_SEL_MAKE(idx, n), __ATOMIC_RELEASE);
	__atomic_fetch_add(&ctl->rule_gen, 1, __ATOMIC_RELEASE);
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

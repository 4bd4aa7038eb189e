// SPDX-License-Identifier: GPL-2.0
/* rule.c - `mirrorctl rule add|del|show`. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "json.h"
#include "mirrorctl.h"
#include "xm_addr.h"
#include "xm_rules.h"

#define XM_CTX_ADD "rule add"
#define XM_CTX_DEL "rule del"

/* Keywords that later issues will implement. */
static const char *const xm_rule_later[] = { "dir", "filter", "sample",
					     "snaplen", "action" };

enum {
	XM_KW_PRIO, XM_KW_DEV, XM_KW_SRC, XM_KW_DST, XM_KW_PROTO, XM_KW_SPORT,
	XM_KW_DPORT, XM_KW_VLAN, XM_KW_COLL, XM_KW_N,
};

static const char *const xm_rule_kws[XM_KW_N] = {
	"prio", "dev", "src", "dst", "proto", "sport", "dport", "vlan",
	"collector",
};

void xm_rule_usage(FILE *f)
{
	fputs("mirrorctl rule add [prio N] [dev IFACE] [src PREFIX] [dst PREFIX]\n"
	      "                   [proto tcp|udp|icmp|icmpv6|sctp|N] [sport N[-M]]\n"
	      "                   [dport N[-M]] [vlan N] collector NAME[,NAME...]\n"
	      "mirrorctl rule del ID [dev IFACE]\n"
	      "mirrorctl rule show [dev IFACE]\n"
	      "  Rules are tried in (prio, id) order, lowest first; default prio 100.\n"
	      "  A rule without match fields matches every frame.\n", f);
}

static int xm_port_num(const struct xm_cli *cli, const char *kw,
		       const char *s, __u16 *out)
{
	__u32 v;
	int err;

	if (*s < '0' || *s > '9') {
		xm_err(cli, XM_CTX_ADD ": bad port '%s' for '%s'", s, kw);
		return -EINVAL;
	}
	err = xm_arg_u32(cli, XM_CTX_ADD, "port", s, 65535, &v);
	*out = (__u16)v;
	return err;
}

/* "N" or "N-M" with N <= M. */
static int xm_port_range(const struct xm_cli *cli, const char *kw,
			 const char *s, struct xm_rule *r)
{
	char buf[32], *dash;
	__u16 lo, hi;
	int err;

	if (strlen(s) >= sizeof(buf)) {
		xm_err(cli, XM_CTX_ADD ": bad port '%s' for '%s'", s, kw);
		return -EINVAL;
	}
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	err = xm_port_num(cli, kw, buf, &lo);
	if (err)
		return err;
	hi = lo;
	if (dash) {
		err = xm_port_num(cli, kw, dash + 1, &hi);
		if (err)
			return err;
	}
	if (xm_rule_set_ports(r, !strcmp(kw, "dport"), lo, hi)) {
		xm_err(cli, XM_CTX_ADD ": bad port range '%s' (N-M needs N<=M)", s);
		return -EINVAL;
	}
	return 0;
}

static int xm_rule_proto(const struct xm_cli *cli, const char *s,
			 struct xm_rule *r)
{
	__u32 v;
	__u8 p;

	if (*s >= '0' && *s <= '9') {
		if (xm_arg_u32(cli, XM_CTX_ADD, "protocol", s, 255, &v))
			return -EINVAL;
		xm_rule_set_proto(r, (__u8)v);
		return 0;
	}
	if (xm_proto_parse(s, &p)) {
		xm_err(cli, XM_CTX_ADD ": unknown protocol '%s'", s);
		return -EINVAL;
	}
	xm_rule_set_proto(r, p);
	return 0;
}

/* "a,b,c": names only here; they are resolved when applied. */
static int xm_rule_colls(const struct xm_cli *cli, const char *s,
			 struct xm_cmd *cmd)
{
	const char *p = s, *comma;
	size_t len;

	do {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len || len >= XM_NAME_LEN) {
			xm_err(cli, XM_CTX_ADD ": bad collector list '%s'", s);
			return -EINVAL;
		}
		if (cmd->radd.ncoll == XM_MAX_COLLECTORS) {
			xm_err(cli, XM_CTX_ADD ": more than %d collectors in '%s'",
			       XM_MAX_COLLECTORS, s);
			return -EINVAL;
		}
		memcpy(cmd->radd.coll[cmd->radd.ncoll], p, len);
		cmd->radd.coll[cmd->radd.ncoll++][len] = '\0';
		p = comma + 1;
	} while (comma);
	return 0;
}

static int xm_rule_prefix(const struct xm_cli *cli, bool dst, const char *s,
			  const char *other, struct xm_rule *r)
{
	int err = xm_rule_set_prefix(r, dst, s);

	if (err == -EAFNOSUPPORT)
		xm_err(cli, XM_CTX_ADD ": src and dst of different address families ('%s' and '%s')",
		       other, s);
	else if (err)
		xm_err(cli, XM_CTX_ADD ": bad prefix '%s'", s);
	return err;
}

static bool xm_rule_is_later(const char *kw)
{
	unsigned int i;

	for (i = 0; i < sizeof(xm_rule_later) / sizeof(xm_rule_later[0]); i++)
		if (!strcmp(kw, xm_rule_later[i]))
			return true;
	return false;
}

/* One `keyword value` pair; vals[] keeps what was given so far. */
static int xm_rule_kw(struct xm_cli *cli, int k, const char *val,
		      const char **vals, struct xm_cmd *cmd)
{
	struct xm_rule *r = &cmd->radd.rule;
	__u32 v;

	switch (k) {
	case XM_KW_PRIO:
		return xm_arg_u32(cli, XM_CTX_ADD, "prio", val, UINT32_MAX,
				  &r->prio);
	case XM_KW_DEV:
		return xm_arg_dev(cli, XM_CTX_ADD, val, cmd->dev);
	case XM_KW_SRC:
		return xm_rule_prefix(cli, false, val, vals[XM_KW_DST], r);
	case XM_KW_DST:
		return xm_rule_prefix(cli, true, val, vals[XM_KW_SRC], r);
	case XM_KW_PROTO:
		return xm_rule_proto(cli, val, r);
	case XM_KW_SPORT:
	case XM_KW_DPORT:
		return xm_port_range(cli, xm_rule_kws[k], val, r);
	case XM_KW_VLAN:
		if (xm_arg_u32(cli, XM_CTX_ADD, "vlan", val, 4095, &v))
			return -EINVAL;
		return xm_rule_set_vlan(r, (__u16)v);
	default:
		return xm_rule_colls(cli, val, cmd);
	}
}

static int xm_rule_kw_find(const char *s)
{
	int k;

	for (k = 0; k < XM_KW_N; k++)
		if (!strcmp(s, xm_rule_kws[k]))
			return k;
	return -1;
}

int xm_rule_parse_add(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd)
{
	const char *vals[XM_KW_N] = { NULL };
	const char *val;
	int i, k, err;

	cmd->kind = XM_CMD_RULE_ADD;
	cmd->radd.rule.prio = XM_PRIO_DEFAULT;
	for (i = 0; i < argc; i++) {
		if (xm_rule_is_later(argv[i])) {
			xm_err(cli, XM_CTX_ADD ": '%s' not yet supported", argv[i]);
			return -EOPNOTSUPP;
		}
		k = xm_rule_kw_find(argv[i]);
		if (k < 0) {
			xm_err(cli, XM_CTX_ADD ": unknown keyword '%s'", argv[i]);
			return -EINVAL;
		}
		if (vals[k]) {
			xm_err(cli, XM_CTX_ADD ": '%s' given twice", argv[i]);
			return -EINVAL;
		}
		val = xm_arg_next(cli, XM_CTX_ADD, argc, argv, &i);
		if (!val)
			return -EINVAL;
		err = xm_rule_kw(cli, k, val, vals, cmd);
		if (err)
			return err;
		vals[k] = val;
	}
	if (!vals[XM_KW_COLL]) {
		xm_err(cli, XM_CTX_ADD ": 'collector' is required");
		return -EINVAL;
	}
	return 0;
}

int xm_rule_parse_del(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd)
{
	const char *val;
	int i;

	cmd->kind = XM_CMD_RULE_DEL;
	if (argc < 1) {
		xm_err(cli, XM_CTX_DEL ": missing ID");
		return -EINVAL;
	}
	if (xm_arg_u32(cli, XM_CTX_DEL, "id", argv[0], XM_MAX_RULE_ID - 1,
		       &cmd->id))
		return -EINVAL;
	if (!cmd->id) {
		xm_err(cli, XM_CTX_DEL ": id '%s' out of range 1-%d", argv[0],
		       XM_MAX_RULE_ID - 1);
		return -ERANGE;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "dev")) {
			xm_err(cli, XM_CTX_DEL ": unknown keyword '%s'", argv[i]);
			return -EINVAL;
		}
		val = xm_arg_next(cli, XM_CTX_DEL, argc, argv, &i);
		if (!val || xm_arg_dev(cli, XM_CTX_DEL, val, cmd->dev))
			return -EINVAL;
	}
	return 0;
}

static int xm_rule_apply_add(const struct xm_cli *cli, struct xm_state *st,
			     const struct xm_cmd *cmd)
{
	struct xm_rule r = cmd->radd.rule;
	unsigned int i;
	int id;

	for (i = 0; i < cmd->radd.ncoll; i++) {
		id = xm_coll_find(st, cmd->radd.coll[i]);
		if (id < 0) {
			xm_err(cli, XM_CTX_ADD ": unknown collector '%s'",
			       cmd->radd.coll[i]);
			return -ENOENT;
		}
		r.coll_mask |= 1ull << id;
	}
	if (st->nrules >= XM_MAX_RULES) {
		xm_err(cli, XM_CTX_ADD ": rule table full (%d rules)",
		       XM_MAX_RULES);
		return -ENOSPC;
	}
	r.id = xm_rules_free_id(st->rules, st->nrules, st->rules_orig,
				st->nrules_orig);
	if (!r.id) {
		xm_err(cli, XM_CTX_ADD ": no free rule id");
		return -ENOSPC;
	}
	st->rules[st->nrules++] = r;
	st->rules_dirty = true;
	return 0;
}

static int xm_rule_apply_del(const struct xm_cli *cli, struct xm_state *st,
			     __u32 id)
{
	int i = xm_rules_find(st->rules, st->nrules, id);

	if (i < 0) {
		xm_err(cli, XM_CTX_DEL ": no rule with id %u", id);
		return -ENOENT;
	}
	memmove(&st->rules[i], &st->rules[i + 1],
		(st->nrules - (__u32)i - 1) * sizeof(st->rules[0]));
	st->nrules--;
	st->rules_dirty = true;
	return 0;
}

int xm_rule_apply(const struct xm_cli *cli, struct xm_state *st,
		  const struct xm_cmd *cmd)
{
	if (cmd->kind == XM_CMD_RULE_ADD)
		return xm_rule_apply_add(cli, st, cmd);
	return xm_rule_apply_del(cli, st, cmd->id);
}

/* ---- show ---- */

static const char *xm_prefix_str(const __u8 addr[16], __u8 plen, __u8 family,
				 char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", xm_addr_str(addr, family, a, sizeof(a)),
		 plen);
	return buf;
}

static const char *xm_range_str(__u16 lo, __u16 hi, char *buf, size_t len)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
	return buf;
}

static void xm_rule_print_colls(const struct xm_state *st, __u64 mask)
{
	const char *sep = " collector ";
	int i;

	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!(mask & (1ull << i)))
			continue;
		if (st->coll[i].name[0])
			printf("%s%s", sep, st->coll[i].name);
		else
			printf("%s#%d", sep, i);	/* dangling: stands out */
		sep = ",";
	}
}

static void xm_rule_print(const struct xm_state *st, const struct xm_rule *r)
{
	char buf[64];
	const char *pn;

	printf("rule add prio %u", r->prio);
	if (r->fields & XM_F_SRC)
		printf(" src %s", xm_prefix_str(r->src, r->src_plen, r->family,
						buf, sizeof(buf)));
	if (r->fields & XM_F_DST)
		printf(" dst %s", xm_prefix_str(r->dst, r->dst_plen, r->family,
						buf, sizeof(buf)));
	if (r->fields & XM_F_PROTO) {
		pn = xm_proto_name(r->proto);
		if (pn)
			printf(" proto %s", pn);
		else
			printf(" proto %u", r->proto);
	}
	if (r->fields & XM_F_SPORT)
		printf(" sport %s", xm_range_str(r->sport_lo, r->sport_hi, buf,
						 sizeof(buf)));
	if (r->fields & XM_F_DPORT)
		printf(" dport %s", xm_range_str(r->dport_lo, r->dport_hi, buf,
						 sizeof(buf)));
	if (r->fields & XM_F_VLAN)
		printf(" vlan %u", r->vlan);
	xm_rule_print_colls(st, r->coll_mask);
	printf("  # id %u\n", r->id);
}

static void xm_rule_json(struct xm_json *j, const struct xm_state *st,
			 const struct xm_rule *r)
{
	char buf[64];
	int i;

	xm_json_obj_begin(j, NULL);
	xm_json_u64(j, "id", r->id);
	xm_json_u64(j, "prio", r->prio);
	if (r->family)
		xm_json_u64(j, "family", r->family);
	if (r->fields & XM_F_SRC)
		xm_json_str(j, "src", xm_prefix_str(r->src, r->src_plen,
						    r->family, buf, sizeof(buf)));
	if (r->fields & XM_F_DST)
		xm_json_str(j, "dst", xm_prefix_str(r->dst, r->dst_plen,
						    r->family, buf, sizeof(buf)));
	if (r->fields & XM_F_PROTO)
		xm_json_u64(j, "proto", r->proto);
	if (r->fields & XM_F_SPORT) {
		xm_json_u64(j, "sport_lo", r->sport_lo);
		xm_json_u64(j, "sport_hi", r->sport_hi);
	}
	if (r->fields & XM_F_DPORT) {
		xm_json_u64(j, "dport_lo", r->dport_lo);
		xm_json_u64(j, "dport_hi", r->dport_hi);
	}
	if (r->fields & XM_F_VLAN)
		xm_json_u64(j, "vlan", r->vlan);
	xm_json_u64(j, "coll_mask", r->coll_mask);
	xm_json_arr_begin(j, "collectors");
	for (i = 0; i < XM_MAX_COLLECTORS; i++)
		if ((r->coll_mask & (1ull << i)) && st->coll[i].name[0])
			xm_json_str(j, NULL, st->coll[i].name);
	xm_json_arr_end(j);
	xm_json_obj_end(j);
}

int xm_rule_show(struct xm_cli *cli, struct xm_state *st)
{
	struct xm_json j;
	__u32 i;

	if (!cli->json) {
		for (i = 0; i < st->nrules; i++)
			xm_rule_print(st, &st->rules[i]);
		return 0;
	}
	xm_json_init(&j, stdout);
	xm_json_arr_begin(&j, NULL);
	for (i = 0; i < st->nrules; i++)
		xm_rule_json(&j, st, &st->rules[i]);
	xm_json_arr_end(&j);
	xm_json_finish(&j);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* rule.c - `mirrorctl rule add|del|show`. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "json.h"
#include "mirrorctl.h"
#include "xm_addr.h"
#include "xm_filter.h"
#include "xm_rules.h"

#define XM_CTX_ADD "rule add"
#define XM_CTX_DEL "rule del"

enum {
	XM_KW_PRIO, XM_KW_DEV, XM_KW_ACTION, XM_KW_SRC, XM_KW_DST, XM_KW_PROTO,
	XM_KW_SPORT, XM_KW_DPORT, XM_KW_VLAN, XM_KW_IVLAN, XM_KW_IIF,
	XM_KW_DIR, XM_KW_DSCP, XM_KW_TCPFLAGS, XM_KW_FILTER, XM_KW_SAMPLE,
	XM_KW_SNAPLEN, XM_KW_COLL, XM_KW_N,
};

static const char *const xm_rule_kws[XM_KW_N] = {
	"prio", "dev", "action", "src", "dst", "proto", "sport", "dport",
	"vlan", "inner-vlan", "iif", "dir", "dscp", "tcp-flags", "filter",
	"sample", "snaplen", "collector",
};

#define XM_N(a) (sizeof(a) / sizeof((a)[0]))

/* What a skip rule refuses: it sends no copy to cut, sample or send. */
static const int xm_rule_mirror_only[] = {
	XM_KW_COLL, XM_KW_SAMPLE, XM_KW_SNAPLEN,
};

void xm_rule_usage(FILE *f)
{
	fputs("mirrorctl rule add [prio N] [dev IFACE] [action mirror|skip]\n"
	      "                   [src PREFIX] [dst PREFIX] [proto tcp|udp|icmp|icmpv6|sctp|N]\n"
	      "                   [sport N[-M]] [dport N[-M]] [vlan N] [inner-vlan N]\n"
	      "                   [iif IFACE] [dir in|out|both] [dscp N]\n"
	      "                   [tcp-flags FLAGS[/MASK]] [filter 'EXPRESSION']\n"
	      "                   [sample N] [snaplen N] [collector NAME[,NAME...]]\n"
	      "mirrorctl rule del ID [dev IFACE]\n"
	      "mirrorctl rule show [dev IFACE]\n"
	      "  Rules are tried in (prio, id) order, lowest first; default prio 100.\n"
	      "  The first rule that matches decides: action mirror (default) sends a\n"
	      "  copy to its collectors (required), action skip sends none.\n"
	      "  A rule without match fields matches every frame.\n"
	      "  dev selects the appliance; iif matches the device a frame came in on.\n"
	      "  vlan is the outer tag, inner-vlan the second one.\n"
	      "  tcp-flags: names fin,syn,rst,psh,ack,urg,ece,cwr; 'syn' = SYN set,\n"
	      "  'syn/syn,ack' = SYN set and ACK clear, 'none/rst' = RST clear; implies\n"
	      "  proto tcp.\n"
	      "  filter: a pcap-filter expression (as tcpdump takes), one quoted word.\n"
	      "  sample N: mirror 1 in N matched frames; snaplen N (64-65535): cut copies.\n",
	      f);
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

static int xm_rule_action(const struct xm_cli *cli, const char *s,
			  struct xm_rule *r)
{
	if (!strcmp(s, "mirror"))
		return xm_rule_set_action(r, XM_ACT_MIRROR);
	if (!strcmp(s, "skip"))
		return xm_rule_set_action(r, XM_ACT_SKIP);
	xm_err(cli, XM_CTX_ADD ": bad value '%s' for 'action' (use mirror or skip)",
	       s);
	return -EINVAL;
}

static int xm_rule_dir(const struct xm_cli *cli, const char *s,
		       struct xm_rule *r)
{
	if (!strcmp(s, "in"))
		return xm_rule_set_dir(r, XM_DIR_IN);
	if (!strcmp(s, "out"))
		return xm_rule_set_dir(r, XM_DIR_OUT);
	if (!strcmp(s, "both"))
		return xm_rule_set_dir(r, XM_DIR_IN | XM_DIR_OUT);
	xm_err(cli, XM_CTX_ADD ": bad value '%s' for 'dir' (use in, out or both)",
	       s);
	return -EINVAL;
}

/* The ingress device, resolved now like a collector's dev. */
static int xm_rule_iif(const struct xm_cli *cli, const char *s,
		       struct xm_rule *r)
{
	unsigned int ifindex;

	/* A longer name would be cut to one that may exist. */
	if (!*s || strlen(s) >= IF_NAMESIZE) {
		xm_err(cli, XM_CTX_ADD ": bad device name '%s'", s);
		return -EINVAL;
	}
	ifindex = if_nametoindex(s);
	if (!ifindex) {
		xm_err(cli, XM_CTX_ADD ": unknown device '%s'", s);
		return -ENODEV;
	}
	xm_rule_set_ifindex(r, ifindex);
	return 0;
}

/* One list of flag names out of "FLAGS/MASK"; s is that whole value. */
static int xm_rule_flag_list(const struct xm_cli *cli, const char *s,
			     const char *list, __u8 *bits)
{
	size_t bad, badlen;
	int err;

	err = xm_tcp_flags_parse(list, bits, &bad, &badlen);
	if (!err)
		return 0;
	if (!badlen)
		xm_err(cli, XM_CTX_ADD ": bad tcp-flags '%s'", s);
	else if (err == -EEXIST)
		xm_err(cli, XM_CTX_ADD ": tcp flag '%.*s' given twice in '%s'",
		       (int)badlen, list + bad, s);
	else
		xm_err(cli, XM_CTX_ADD ": unknown tcp flag '%.*s' in '%s' (use fin, syn, rst, psh, ack, urg, ece or cwr)",
		       (int)badlen, list + bad, s);
	return -EINVAL;
}

/*
 * "FLAGS" matches frames with all of FLAGS set; "FLAGS/MASK" frames whose
 * MASK bits are FLAGS exactly (set in FLAGS, clear otherwise).  FLAGS may
 * be "none" when a mask follows.
 */
static int xm_rule_tcp_flags(const struct xm_cli *cli, const char *s,
			     struct xm_rule *r)
{
	char buf[128], *slash, name[8];
	__u8 flags = 0, mask, extra;
	int err;

	if (strlen(s) >= sizeof(buf)) {
		xm_err(cli, XM_CTX_ADD ": bad tcp-flags '%s'", s);
		return -EINVAL;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (!strcmp(buf, "none")) {
		if (!slash) {
			xm_err(cli, XM_CTX_ADD ": tcp-flags 'none' without a mask matches every frame (use none/MASK)");
			return -EINVAL;
		}
	} else {
		err = xm_rule_flag_list(cli, s, buf, &flags);
		if (err)
			return err;
	}
	mask = flags;
	if (slash) {
		err = xm_rule_flag_list(cli, s, slash + 1, &mask);
		if (err)
			return err;
	}
	extra = flags & (__u8)~mask;
	if (extra) {
		/* the lowest such bit, named */
		xm_tcp_flags_str(extra & (__u8)-extra, name, sizeof(name));
		xm_err(cli, XM_CTX_ADD ": tcp-flags '%s': flag '%s' is not in the mask",
		       s, name);
		return -EINVAL;
	}
	return xm_rule_set_tcp_flags(r, flags, mask);
}

/* Compile now, so a bad expression fails before any map is opened. */
static int xm_rule_filter(const struct xm_cli *cli, const char *s,
			  struct xm_cmd *cmd)
{
	char err[512], prefix[XM_FILTER_EXPR_MAX + 32];
	const char *p;
	size_t plen;
	int ret;

	if (strlen(s) >= XM_FILTER_EXPR_MAX) {
		xm_err(cli, XM_CTX_ADD ": filter expression longer than %d characters",
		       XM_FILTER_EXPR_MAX - 1);
		return -EINVAL;
	}
	if (!s[strspn(s, " \t")]) {
		xm_err(cli, XM_CTX_ADD ": empty filter expression");
		return -EINVAL;
	}
	/* rule show prints it back on one line of a batch file */
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t') {
			xm_err(cli, XM_CTX_ADD ": filter '%s': control character 0x%02x",
			       s, (unsigned int)(unsigned char)*p);
			return -EINVAL;
		}
		if (*p == 0x7f) {
			xm_err(cli, XM_CTX_ADD ": filter '%s': control character 0x7f",
			       s);
			return -EINVAL;
		}
	}
	err[0] = '\0';
	ret = xm_filter_compile(s, &cmd->radd.prog, err, sizeof(err));
	if (ret) {
		/* xm_filter_compile names the expression itself; the
		 * libpcap case gets the "filter 'EXPR': why" shape. */
		snprintf(prefix, sizeof(prefix), "bad filter '%s': ", s);
		plen = strlen(prefix);
		if (!strncmp(err, prefix, plen))
			xm_err(cli, XM_CTX_ADD ": filter '%s': %s", s,
			       err + plen);
		else if (err[0])
			xm_err(cli, XM_CTX_ADD ": %s", err);
		else
			xm_err(cli, XM_CTX_ADD ": filter '%s': %s", s,
			       strerror(-ret));
		return ret;
	}
	strcpy(cmd->radd.expr, s);
	cmd->radd.has_filter = true;
	/* The slot is taken when the command is applied. */
	cmd->radd.rule.fields |= XM_F_FILTER;
	return 0;
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
	case XM_KW_ACTION:
		return xm_rule_action(cli, val, r);
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
	case XM_KW_IVLAN:
		if (xm_arg_range(cli, XM_CTX_ADD, "inner-vlan", val, 0, 4095,
				 &v))
			return -EINVAL;
		return xm_rule_set_ivlan(r, (__u16)v);
	case XM_KW_IIF:
		return xm_rule_iif(cli, val, r);
	case XM_KW_DIR:
		return xm_rule_dir(cli, val, r);
	case XM_KW_DSCP:
		if (xm_arg_range(cli, XM_CTX_ADD, "dscp", val, 0, 63, &v))
			return -EINVAL;
		return xm_rule_set_dscp(r, (__u8)v);
	case XM_KW_TCPFLAGS:
		return xm_rule_tcp_flags(cli, val, r);
	case XM_KW_FILTER:
		return xm_rule_filter(cli, val, cmd);
	case XM_KW_SAMPLE:
		if (xm_arg_range(cli, XM_CTX_ADD, "sample", val, 1,
				 XM_SAMPLE_MAX, &v))
			return -EINVAL;
		return xm_rule_set_sample(r, v);
	case XM_KW_SNAPLEN:
		if (xm_arg_range(cli, XM_CTX_ADD, "snaplen", val,
				 XM_SNAPLEN_MIN, 65535, &v))
			return -EINVAL;
		return xm_rule_set_snaplen(r, v);
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

/* Checks between keywords, once the whole line is known. */
static int xm_rule_check(const struct xm_cli *cli, const char **vals,
			 const int *pos, struct xm_rule *r)
{
	unsigned int i;
	int k, first = -1;

	if (r->action == XM_ACT_SKIP) {
		/* name the first one on the line */
		for (i = 0; i < XM_N(xm_rule_mirror_only); i++) {
			k = xm_rule_mirror_only[i];
			if (vals[k] && (first < 0 || pos[k] < pos[first]))
				first = k;
		}
		if (first >= 0) {
			xm_err(cli, XM_CTX_ADD ": '%s' does not apply to action skip",
			       xm_rule_kws[first]);
			return -EINVAL;
		}
	} else if (!vals[XM_KW_COLL]) {
		xm_err(cli, XM_CTX_ADD ": 'collector' is required");
		return -EINVAL;
	}
	/* TCP flags exist only in TCP: the proto is implied, or must agree. */
	if (vals[XM_KW_TCPFLAGS]) {
		if (!vals[XM_KW_PROTO]) {
			xm_rule_set_proto(r, XM_IPPROTO_TCP);
		} else if (r->proto != XM_IPPROTO_TCP) {
			xm_err(cli, XM_CTX_ADD ": 'tcp-flags' needs proto tcp, not '%s'",
			       vals[XM_KW_PROTO]);
			return -EINVAL;
		}
	}
	return 0;
}

int xm_rule_parse_add(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd)
{
	const char *vals[XM_KW_N] = { NULL };
	int pos[XM_KW_N] = { 0 };
	const char *val;
	int i, k, err;

	cmd->kind = XM_CMD_RULE_ADD;
	cmd->radd.rule.prio = XM_PRIO_DEFAULT;
	for (i = 0; i < argc; i++) {
		k = xm_rule_kw_find(argv[i]);
		if (k < 0) {
			xm_err(cli, XM_CTX_ADD ": unknown keyword '%s'", argv[i]);
			return -EINVAL;
		}
		if (vals[k]) {
			xm_err(cli, XM_CTX_ADD ": '%s' given twice", argv[i]);
			return -EINVAL;
		}
		pos[k] = i;
		val = xm_arg_next(cli, XM_CTX_ADD, argc, argv, &i);
		if (!val)
			return -EINVAL;
		err = xm_rule_kw(cli, k, val, vals, cmd);
		if (err)
			return err;
		vals[k] = val;
	}
	return xm_rule_check(cli, vals, pos, &cmd->radd.rule);
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
	__u32 slot;
	int id, err;

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
	/* Last, when nothing else can fail: it takes a slot. */
	if (cmd->radd.has_filter) {
		err = xm_state_filter_add(cli, st, cmd->radd.expr,
					  &cmd->radd.prog, &slot);
		if (err)
			return err;
		xm_rule_set_filter(&r, slot);
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

/*
 * s as one word for both the shell and -batch: in single quotes, each
 * single quote inside written as '"'"' (close, a double-quoted quote,
 * reopen).
 */
static void xm_print_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\"'\"'", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* "syn", "syn/syn,ack" or "none/rst", as tcp-flags takes it. */
static const char *xm_tcp_flags_arg(const struct xm_rule *r, char *buf,
				    size_t len)
{
	char f[64], m[64];

	xm_tcp_flags_str(r->tcp_mask, m, sizeof(m));
	if (r->tcp_flags == r->tcp_mask) {
		snprintf(buf, len, "%s", m);
		return buf;
	}
	xm_tcp_flags_str(r->tcp_flags, f, sizeof(f));
	snprintf(buf, len, "%s/%s", r->tcp_flags ? f : "none", m);
	return buf;
}

static const char *xm_dir_name(__u8 dir)
{
	return dir == XM_DIR_IN ? "in" : dir == XM_DIR_OUT ? "out" : "both";
}

/* Every field, in the syntax and order of `rule add`, so the output is
 * a batch file that recreates the table. */
static void xm_rule_print(const struct xm_state *st, const struct xm_rule *r)
{
	char buf[160], ifname[IF_NAMESIZE];
	const char *pn, *expr = NULL;

	printf("rule add prio %u", r->prio);
	if (r->action == XM_ACT_SKIP)
		printf(" action skip");
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
	if (r->fields & XM_F_IVLAN)
		printf(" inner-vlan %u", r->ivlan);
	/* A device that went away has no name: print one that `add`
	 * refuses (':' is never in a device name), not a rule that
	 * matches every device. */
	if ((r->fields & XM_F_DEV) && if_indextoname(r->ifindex, ifname))
		printf(" iif %s", ifname);
	else if (r->fields & XM_F_DEV)
		printf(" iif ifindex:%u", r->ifindex);
	if (r->fields & XM_F_DIR)
		printf(" dir %s", xm_dir_name(r->dir));
	if (r->fields & XM_F_DSCP)
		printf(" dscp %u", r->dscp);
	if (r->fields & XM_F_TCPFLAGS)
		printf(" tcp-flags %s", xm_tcp_flags_arg(r, buf, sizeof(buf)));
	if (r->fields & XM_F_FILTER) {
		expr = xm_state_filter_expr(st, r->filter);
		if (!expr)
			expr = "";
		/* Unknown text stays '', which `add` refuses: a reload
		 * fails instead of dropping the condition. */
		fputs(" filter ", stdout);
		xm_print_quoted(expr);
	}
	if (r->sample > 1)
		printf(" sample %u", r->sample);
	if (r->snaplen)
		printf(" snaplen %u", r->snaplen);
	if (r->action != XM_ACT_SKIP)
		xm_rule_print_colls(st, r->coll_mask);
	printf("  # id %u", r->id);
	if (expr && !*expr)
		printf(", expression of filter slot %u unknown", r->filter);
	putchar('\n');
}

static void xm_rule_json(struct xm_json *j, const struct xm_state *st,
			 const struct xm_rule *r)
{
	char buf[160], ifname[IF_NAMESIZE];
	const char *expr;
	int i;

	xm_json_obj_begin(j, NULL);
	xm_json_u64(j, "id", r->id);
	xm_json_u64(j, "prio", r->prio);
	xm_json_str(j, "action", r->action == XM_ACT_SKIP ? "skip" : "mirror");
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
	if (r->fields & XM_F_IVLAN)
		xm_json_u64(j, "inner-vlan", r->ivlan);
	if (r->fields & XM_F_DEV) {
		xm_json_u64(j, "ifindex", r->ifindex);
		if (if_indextoname(r->ifindex, ifname))
			xm_json_str(j, "iif", ifname);
	}
	if (r->fields & XM_F_DIR)
		xm_json_str(j, "dir", xm_dir_name(r->dir));
	if (r->fields & XM_F_DSCP)
		xm_json_u64(j, "dscp", r->dscp);
	if (r->fields & XM_F_TCPFLAGS) {
		xm_json_str(j, "tcp-flags", xm_tcp_flags_arg(r, buf, sizeof(buf)));
		xm_json_u64(j, "tcp_flags", r->tcp_flags);
		xm_json_u64(j, "tcp_mask", r->tcp_mask);
	}
	if (r->fields & XM_F_FILTER) {
		xm_json_u64(j, "filter_slot", r->filter);
		expr = xm_state_filter_expr(st, r->filter);
		if (expr && *expr)
			xm_json_str(j, "filter", expr);
	}
	xm_json_u64(j, "sample", r->sample > 1 ? r->sample : 1);
	xm_json_u64(j, "snaplen", r->snaplen);
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

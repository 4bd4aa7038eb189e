// SPDX-License-Identifier: GPL-2.0
/* collector.c - `mirrorctl collector add|del|show`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "json.h"
#include "mirrorctl.h"
#include "xm_addr.h"

#define XM_CTX_ADD "collector add"
#define XM_CTX_DEL "collector del"
#define XM_VNI_MAX 0xffffff

static const char *const xm_encap_names[] = {
	[XM_ENCAP_VXLAN] = "vxlan",
	[XM_ENCAP_GENEVE] = "geneve",
	[XM_ENCAP_GRE] = "gre",
	[XM_ENCAP_ERSPAN2] = "erspan2",
	[XM_ENCAP_ERSPAN3] = "erspan3",
};

#define XM_NENCAP (sizeof(xm_encap_names) / sizeof(xm_encap_names[0]))

/* Encapsulation sets, one bit per enum xm_encap. */
#define XM_E(x) (1u << XM_ENCAP_##x)
#define XM_E_UDP (XM_E(VXLAN) | XM_E(GENEVE))
#define XM_E_ERSPAN (XM_E(ERSPAN2) | XM_E(ERSPAN3))
#define XM_E_ALL ((1u << XM_NENCAP) - 1)

enum xm_coll_kwid {
	XM_KW_REMOTE,
	XM_KW_LOCAL,
	XM_KW_ENCAP,
	XM_KW_VNI,
	XM_KW_DPORT,
	XM_KW_KEY,
	XM_KW_SEQ,
	XM_KW_SESSION,
	XM_KW_HWID,
	XM_KW_DSCP,
	XM_KW_TTL,
	XM_KW_SNAPLEN,
	XM_KW_DEV,
	XM_KW_N,
};

/* Keywords of collector add and the encapsulations each applies to. */
static const struct {
	const char *name;
	unsigned int encaps;
} xm_coll_kws[XM_KW_N] = {
	[XM_KW_REMOTE] = { "remote", XM_E_ALL },
	[XM_KW_LOCAL] = { "local", XM_E_ALL },
	[XM_KW_ENCAP] = { "encap", XM_E_ALL },
	[XM_KW_VNI] = { "vni", XM_E_UDP },
	[XM_KW_DPORT] = { "dport", XM_E_UDP },
	[XM_KW_KEY] = { "key", XM_E(GRE) },
	[XM_KW_SEQ] = { "seq", XM_E(GRE) },
	[XM_KW_SESSION] = { "session", XM_E_ERSPAN },
	[XM_KW_HWID] = { "hwid", XM_E(ERSPAN3) },
	[XM_KW_DSCP] = { "dscp", XM_E_ALL },
	[XM_KW_TTL] = { "ttl", XM_E_ALL },
	[XM_KW_SNAPLEN] = { "snaplen", XM_E_ALL },
	[XM_KW_DEV] = { "dev", XM_E_ALL },
};

_Static_assert(XM_KW_N <= 32, "keyword set must fit the 'seen' bitmap");

void xm_coll_usage(FILE *f)
{
	fputs("mirrorctl collector add NAME remote IP [local IP]\n"
	      "                        [encap vxlan|geneve|gre|erspan2|erspan3]\n"
	      "                        [vni N] [dport N] [key N] [seq on|off]\n"
	      "                        [session N] [hwid N] [dscp N] [ttl N]\n"
	      "                        [snaplen N] [dev IFACE]\n"
	      "mirrorctl collector del NAME\n"
	      "mirrorctl collector show\n"
	      "  NAME: up to 31 of [A-Za-z0-9_.-]; IP: IPv4 or IPv6, local of the\n"
	      "  same family as remote (default: the TX device's address)\n"
	      "  encap (default vxlan) decides which options apply:\n"
	      "    vxlan, geneve     vni 0-16777215 (0), dport 1-65535\n"
	      "                      (4789 vxlan, 6081 geneve)\n"
	      "    gre               key 0-4294967295 (none), seq on|off (off)\n"
	      "    erspan2, erspan3  session 0-1023 (0); always sequenced\n"
	      "    erspan3           hwid 0-63 (0)\n"
	      "    all               dscp 0-63 (0), ttl 1-255 (64),\n"
	      "                      snaplen 64-65535 (0: whole frame, the default),\n"
	      "                      dev IFACE: TX device (default: the daemon's)\n",
	      f);
}

static const char *xm_encap_name(__u8 encap)
{
	return encap < XM_NENCAP ? xm_encap_names[encap] : "?";
}

static int xm_coll_name_check(const struct xm_cli *cli, const char *ctx,
			      const char *s)
{
	const char *p;

	if (strlen(s) >= XM_NAME_LEN) {
		xm_err(cli, "%s: name '%s' too long (max %d characters)", ctx, s,
		       XM_NAME_LEN - 1);
		return -EINVAL;
	}
	for (p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		    *p == '-')
			continue;
		break;
	}
	if (!*s || *p) {
		xm_err(cli, "%s: bad name '%s' (use [A-Za-z0-9_.-])", ctx, s);
		return -EINVAL;
	}
	return 0;
}

/* Why addr cannot be an end of the tunnel, or NULL when it can. */
static const char *xm_coll_addr_bad(const __u8 a[16], __u8 family)
{
	static const __u8 v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const __u8 zero[16];

	if (family == 4) {
		if (!memcmp(a, zero, 4))
			return "is unspecified";
		if ((a[0] & 0xf0) == 0xe0)
			return "is multicast";
		if (a[0] == 0xff && a[1] == 0xff && a[2] == 0xff && a[3] == 0xff)
			return "is the broadcast address";
		return NULL;
	}
	if (!memcmp(a, zero, 16))
		return "is unspecified";
	if (a[0] == 0xff)
		return "is multicast";
	/* The outer header would be IPv6 towards an IPv4 host. */
	if (!memcmp(a, v4mapped, sizeof(v4mapped)))
		return "is IPv4-mapped (give the IPv4 address)";
	return NULL;
}

static int xm_coll_addr(const struct xm_cli *cli, const char *kw,
			const char *s, __u8 addr[16], __u8 *family)
{
	const char *why;

	if (xm_addr_parse(s, addr, family)) {
		xm_err(cli, XM_CTX_ADD ": bad address '%s' for '%s'", s, kw);
		return -EINVAL;
	}
	why = xm_coll_addr_bad(addr, *family);
	if (why) {
		xm_err(cli, XM_CTX_ADD ": %s '%s' %s", kw, s, why);
		return -EINVAL;
	}
	return 0;
}

static int xm_coll_encap(const struct xm_cli *cli, const char *s, __u8 *encap)
{
	unsigned int i;

	for (i = 0; i < XM_NENCAP; i++) {
		if (!strcmp(s, xm_encap_names[i])) {
			*encap = (__u8)i;
			return 0;
		}
	}
	xm_err(cli, XM_CTX_ADD ": unknown encap '%s' (use vxlan, geneve, gre, erspan2 or erspan3)",
	       s);
	return -EINVAL;
}

/* What collector add has seen, for the checks that need every keyword. */
struct xm_coll_args {
	unsigned int seen;		/* 1 << enum xm_coll_kwid */
	unsigned int order[XM_KW_N];	/* keywords in command-line order */
	unsigned int n;
	const char *remote, *local;	/* their tokens, for messages */
	__u8 local_family;
};

/* One `keyword value` pair: syntax and range only. */
static int xm_coll_kw(const struct xm_cli *cli, enum xm_coll_kwid kw,
		      const char *val, struct xm_collector *c,
		      struct xm_coll_args *a)
{
	const char *name = xm_coll_kws[kw].name;
	__u32 v = 0;
	int err;

	switch (kw) {
	case XM_KW_REMOTE:
		a->remote = val;
		return xm_coll_addr(cli, name, val, c->remote, &c->family);
	case XM_KW_LOCAL:
		a->local = val;
		c->flags |= XM_COLL_F_LOCAL;
		return xm_coll_addr(cli, name, val, c->local, &a->local_family);
	case XM_KW_ENCAP:
		return xm_coll_encap(cli, val, &c->encap);
	case XM_KW_VNI:
		err = xm_arg_range(cli, XM_CTX_ADD, name, val, 0, XM_VNI_MAX,
				   &v);
		c->vni = v;
		return err;
	case XM_KW_DPORT:
		err = xm_arg_range(cli, XM_CTX_ADD, name, val, 1, 65535, &v);
		c->dport = (__u16)v;
		return err;
	case XM_KW_KEY:
		err = xm_arg_range(cli, XM_CTX_ADD, name, val, 0, 0xffffffffu,
				   &v);
		c->key = v;
		c->flags |= XM_COLL_F_KEY;
		return err;
	case XM_KW_SEQ:
		if (!strcmp(val, "on")) {
			c->flags |= XM_COLL_F_SEQ;
			return 0;
		}
		if (!strcmp(val, "off"))
			return 0;
		xm_err(cli, XM_CTX_ADD ": bad value '%s' for 'seq' (use on or off)",
		       val);
		return -EINVAL;
	case XM_KW_SESSION:
		err = xm_arg_range(cli, XM_CTX_ADD, name, val, 0,
				   XM_SESSION_MAX, &v);
		c->session = (__u16)v;
		return err;
	case XM_KW_HWID:
          err = xm_arg_range(cli, XM_CTX_ADD, name, val, 0, XM_HWID_MAX, &v);
	  c->hwid = (__u8)v;
	  return err;
	case XM_KW_DSCP:
          err = xm_arg_range(cli, XM_CTX_ADD, name, val, 0, 63, &v);
	  c->dscp = (__u8)v;
	  return err;
	case XM_KW_TTL:
          err = xm_arg_range(cli, XM_CTX_ADD, name, val, 1, 255, &v);
          c->ttl = (__u8)v;
	  return err;
	case XM_KW_SNAPLEN:
		/* 0 is the default, whole frames, so it may be said too. */
                err = xm_arg_range(cli, XM_CTX_ADD, name, val, 0, 65535, &v);
                if (!err && v && v < XM_SNAPLEN_MIN) {
			xm_err(cli, XM_CTX_ADD ": snaplen '%s' out of range %d-65535 (0: whole frame)",
			       val, XM_SNAPLEN_MIN);
			err = -ERANGE;
		}
		c->snaplen = (__u16)v;
		return err;
	case XM_KW_DEV:
		c->ifindex = if_nametoindex(val);
		if (!c->ifindex) {
			xm_err(cli, XM_CTX_ADD ": unknown device '%s'", val);
			return -ENODEV;
		}
		c->flags |= XM_COLL_F_DEV;
		return 0;
	case XM_KW_N:
		break;
	}
	return -EINVAL;
}

/* Checks that need the whole command: encap may come last. */
static int xm_coll_check(const struct xm_cli *cli, struct xm_collector *c,
			 const struct xm_coll_args *a)
{
	unsigned int i, kw;

	if (!(a->seen & (1u << XM_KW_REMOTE))) {
		xm_err(cli, XM_CTX_ADD ": 'remote' is required");
		return -EINVAL;
	}
	for (i = 0; i < a->n; i++) {
		kw = a->order[i];
		if (xm_coll_kws[kw].encaps & (1u << c->encap))
			continue;
		xm_err(cli, XM_CTX_ADD ": '%s' does not apply to encap %s",
		       xm_coll_kws[kw].name, xm_encap_name(c->encap));
		return -EINVAL;
	}
	if (a->local && a->local_family != c->family) {
		xm_err(cli, XM_CTX_ADD ": local '%s' is IPv%u but remote '%s' is IPv%u",
		       a->local, a->local_family, a->remote, c->family);
		return -EINVAL;
	}
	if (!(a->seen & (1u << XM_KW_DPORT))) {
		if (c->encap == XM_ENCAP_VXLAN)
			c->dport = XM_VXLAN_PORT;
		else if (c->encap == XM_ENCAP_GENEVE)
			c->dport = XM_GENEVE_PORT;
	}
	return 0;
}

int xm_coll_parse_add(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd)
{
	struct xm_collector *c = &cmd->coll;
	struct xm_coll_args a = { 0 };
	const char *val;
	unsigned int k;
	int i, err;

	cmd->kind = XM_CMD_COLL_ADD;
	if (argc < 1) {
		xm_err(cli, XM_CTX_ADD ": missing NAME");
		return -EINVAL;
	}
	err = xm_coll_name_check(cli, XM_CTX_ADD, argv[0]);
	if (err)
		return err;
	strcpy(c->name, argv[0]);
	c->encap = XM_ENCAP_VXLAN;
	for (i = 1; i < argc; i++) {
		for (k = 0; k < XM_KW_N; k++)
			if (!strcmp(argv[i], xm_coll_kws[k].name))
				break;
		if (k == XM_KW_N) {
			xm_err(cli, XM_CTX_ADD ": unknown keyword '%s'", argv[i]);
			return -EINVAL;
		}
		if (a.seen & (1u << k)) {
			xm_err(cli, XM_CTX_ADD ": '%s' given twice", argv[i]);
			return -EINVAL;
		}
		a.seen |= 1u << k;
		a.order[a.n++] = k;
		val = xm_arg_next(cli, XM_CTX_ADD, argc, argv, &i);
		if (!val)
			return -EINVAL;
		err = xm_coll_kw(cli, (enum xm_coll_kwid)k, val, c, &a);
		if (err)
			return err;
	}
	return xm_coll_check(cli, c, &a);
}

int xm_coll_parse_del(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd)
{
	cmd->kind = XM_CMD_COLL_DEL;
	if (argc < 1) {
		xm_err(cli, XM_CTX_DEL ": missing NAME");
		return -EINVAL;
	}
	if (argc > 1) {
		xm_err(cli, XM_CTX_DEL ": unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	if (xm_coll_name_check(cli, XM_CTX_DEL, argv[0]))
		return -EINVAL;
	strcpy(cmd->name, argv[0]);
	return 0;
}

/* Lowest slot free now; prefer one that was also free before this
 * change, so frames still in flight for a deleted collector never meet
 * its successor's header template. */
static int xm_coll_slot(const struct xm_state *st)
{
	int i, reuse = -1;

	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (st->coll[i].name[0])
			continue;
		if (!st->coll_orig[i].name[0])
			return i;
		if (reuse < 0)
			reuse = i;
	}
	return reuse;
}

static int xm_coll_apply_add(const struct xm_cli *cli, struct xm_state *st,
			     const struct xm_collector *c)
{
	int id;

	if (xm_coll_find(st, c->name) >= 0) {
		xm_err(cli, XM_CTX_ADD ": collector '%s' already exists", c->name);
		return -EEXIST;
	}
	id = xm_coll_slot(st);
	if (id < 0) {
		xm_err(cli, XM_CTX_ADD ": collector table full (%d)",
		       XM_MAX_COLLECTORS);
		return -ENOSPC;
	}
	st->coll[id] = *c;
	return 0;
}

static int xm_coll_apply_del(const struct xm_cli *cli, struct xm_state *st,
			     const char *name)
{
	char ids[256] = "";
	size_t len = 0;
	unsigned int used = 0;
	__u32 i;
	int id;

	id = xm_coll_find(st, name);
	if (id < 0) {
		xm_err(cli, XM_CTX_DEL ": unknown collector '%s'", name);
		return -ENOENT;
	}
	for (i = 0; i < st->nrules; i++) {
		if (!(st->rules[i].coll_mask & (1ull << id)))
			continue;
		if (len + 16 < sizeof(ids))
			len += (size_t)snprintf(ids + len, sizeof(ids) - len,
						"%s%u", used ? ", " : "",
						st->rules[i].id);
		used++;
	}
	if (used) {
		xm_err(cli, XM_CTX_DEL ": collector '%s' is used by rule%s %s (delete %s first)",
		       name, used > 1 ? "s" : "", ids, used > 1 ? "them" : "it");
		return -EBUSY;
	}
	memset(&st->coll[id], 0, sizeof(st->coll[id]));
	return 0;
}

int xm_coll_apply(const struct xm_cli *cli, struct xm_state *st,
		  const struct xm_cmd *cmd)
{
	if (cmd->kind == XM_CMD_COLL_ADD)
		return xm_coll_apply_add(cli, st, &cmd->coll);
	return xm_coll_apply_del(cli, st, cmd->name);
}

static bool xm_coll_has(const struct xm_collector *c, enum xm_coll_kwid kw)
{
	return c->encap < XM_NENCAP && (xm_coll_kws[kw].encaps & (1u << c->encap));
}

static unsigned int xm_coll_ttl(const struct xm_collector *c)
{
	return c->ttl ? c->ttl : XM_TTL_DEFAULT;
}

/*
 * One `collector add` line that -batch takes back: encap always, the
 * options of that encap, the ones that apply to all only when they are
 * not the default.
 */
static void xm_coll_print(const struct xm_collector *c, int id)
{
	char buf[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];

	printf("collector add %s remote %s", c->name,
	       xm_addr_str(c->remote, c->family, buf, sizeof(buf)));
	if (c->flags & XM_COLL_F_LOCAL)
		printf(" local %s",
		       xm_addr_str(c->local, c->family, buf, sizeof(buf)));
	printf(" encap %s", xm_encap_name(c->encap));
	if (xm_coll_has(c, XM_KW_VNI))
		printf(" vni %u dport %u", c->vni, c->dport);
	if (xm_coll_has(c, XM_KW_KEY) && (c->flags & XM_COLL_F_KEY))
		printf(" key %u", c->key);
	if (xm_coll_has(c, XM_KW_SEQ) && (c->flags & XM_COLL_F_SEQ))
		printf(" seq on");
	if (xm_coll_has(c, XM_KW_SESSION))
		printf(" session %u", c->session);
	if (xm_coll_has(c, XM_KW_HWID))
		printf(" hwid %u", c->hwid);
	if (c->dscp)
		printf(" dscp %u", c->dscp);
	if (xm_coll_ttl(c) != XM_TTL_DEFAULT)
		printf(" ttl %u", xm_coll_ttl(c));
	if (c->snaplen)
		printf(" snaplen %u", c->snaplen);
	/* A device that went away cannot be named; say so in the comment
	 * rather than print something `add` rejects. */
	if ((c->flags & XM_COLL_F_DEV) && if_indextoname(c->ifindex, ifname))
		printf(" dev %s  # id %d\n", ifname, id);
	else if (c->flags & XM_COLL_F_DEV)
		printf("  # id %d, dev ifindex %u is gone\n", id, c->ifindex);
	else
		printf("  # id %d\n", id);
}

/* Every field that applies to the encap, defaults included. */
static void xm_coll_json(struct xm_json *j, const struct xm_collector *c,
			 int id)
{
	char buf[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];

	xm_json_obj_begin(j, NULL);
	xm_json_u64(j, "id", (__u64)id);
	xm_json_str(j, "name", c->name);
	xm_json_u64(j, "family", c->family);
	xm_json_str(j, "encap", xm_encap_name(c->encap));
	xm_json_str(j, "remote", xm_addr_str(c->remote, c->family, buf,
					     sizeof(buf)));
	if (c->flags & XM_COLL_F_LOCAL)
		xm_json_str(j, "local", xm_addr_str(c->local, c->family, buf,
						    sizeof(buf)));
	if (xm_coll_has(c, XM_KW_VNI)) {
		xm_json_u64(j, "vni", c->vni);
		xm_json_u64(j, "dport", c->dport);
	}
	if (xm_coll_has(c, XM_KW_KEY) && (c->flags & XM_COLL_F_KEY))
		xm_json_u64(j, "key", c->key);
	if (xm_coll_has(c, XM_KW_SEQ))
		xm_json_bool(j, "seq", c->flags & XM_COLL_F_SEQ);
	if (xm_coll_has(c, XM_KW_SESSION))
		xm_json_u64(j, "session", c->session);
	if (xm_coll_has(c, XM_KW_HWID))
		xm_json_u64(j, "hwid", c->hwid);
	xm_json_u64(j, "dscp", c->dscp);
	xm_json_u64(j, "ttl", xm_coll_ttl(c));
	xm_json_u64(j, "snaplen", c->snaplen);
	if (c->flags & XM_COLL_F_DEV) {
		xm_json_u64(j, "ifindex", c->ifindex);
		if (if_indextoname(c->ifindex, ifname))
			xm_json_str(j, "dev", ifname);
	}
	xm_json_obj_end(j);
}

int xm_coll_show(struct xm_cli *cli, struct xm_state *st)
{
	struct xm_json j;
	int i;

	if (cli->json) {
		xm_json_init(&j, stdout);
		xm_json_arr_begin(&j, NULL);
	}
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		if (cli->json)
			xm_coll_json(&j, &st->coll[i], i);
		else
			xm_coll_print(&st->coll[i], i);
	}
	if (cli->json) {
		xm_json_arr_end(&j);
		xm_json_finish(&j);
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* collector.c - `mirrorctl collector add|del|show`. */
#include <errno.h>
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

/* Keywords that later encapsulations will take. */
static const char *const xm_coll_later[] = { "session", "key", "dscp", "ttl" };

void xm_coll_usage(FILE *f)
{
	fputs("mirrorctl collector add NAME remote IP [local IP] [encap vxlan] [vni N]\n"
	      "                        [dport N] [dev IFACE]\n"
	      "mirrorctl collector del NAME\n"
	      "mirrorctl collector show\n"
	      "  NAME: up to 31 of [A-Za-z0-9_.-]; defaults: encap vxlan, vni 0, dport 4789\n",
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

static int xm_coll_addr(const struct xm_cli *cli, const char *kw,
			const char *s, __u8 addr[16], __u8 *family)
{
	if (xm_addr_parse(s, addr, family)) {
		xm_err(cli, XM_CTX_ADD ": bad address '%s' for '%s'", s, kw);
		return -EINVAL;
	}
	if (*family == 6) {
		xm_err(cli, XM_CTX_ADD ": IPv6 %s '%s' not yet supported", kw, s);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int xm_coll_encap(const struct xm_cli *cli, const char *s, __u8 *encap)
{
	unsigned int i;

	for (i = 0; i < XM_NENCAP; i++) {
		if (strcmp(s, xm_encap_names[i]))
			continue;
		if (i != XM_ENCAP_VXLAN) {
			xm_err(cli, XM_CTX_ADD ": encap '%s' not yet supported", s);
			return -EOPNOTSUPP;
		}
		*encap = (__u8)i;
		return 0;
	}
	xm_err(cli, XM_CTX_ADD ": unknown encap '%s'", s);
	return -EINVAL;
}

static bool xm_coll_is_later(const char *kw)
{
	unsigned int i;

	for (i = 0; i < sizeof(xm_coll_later) / sizeof(xm_coll_later[0]); i++)
		if (!strcmp(kw, xm_coll_later[i]))
			return true;
	return false;
}

/* One `keyword value` pair of collector add. */
static int xm_coll_kw(const struct xm_cli *cli, const char *kw,
		      const char *val, struct xm_collector *c)
{
	__u8 fam;
	__u32 v;
	int err;

	if (!strcmp(kw, "remote"))
		return xm_coll_addr(cli, kw, val, c->remote, &c->family);
	if (!strcmp(kw, "local")) {
		c->flags |= XM_COLL_F_LOCAL;
		return xm_coll_addr(cli, kw, val, c->local, &fam);
	}
	if (!strcmp(kw, "encap"))
		return xm_coll_encap(cli, val, &c->encap);
	if (!strcmp(kw, "vni")) {
		err = xm_arg_u32(cli, XM_CTX_ADD, kw, val, XM_VNI_MAX, &v);
		c->vni = v;
		return err;
	}
	if (!strcmp(kw, "dport")) {
		err = xm_arg_u32(cli, XM_CTX_ADD, kw, val, 65535, &v);
		if (!err && !v) {
			xm_err(cli, XM_CTX_ADD ": dport '%s' out of range 1-65535",
			       val);
			err = -ERANGE;
		}
		c->dport = (__u16)v;
		return err;
	}
	/* dev */
	c->ifindex = if_nametoindex(val);
	if (!c->ifindex) {
		xm_err(cli, XM_CTX_ADD ": unknown device '%s'", val);
		return -ENODEV;
	}
	c->flags |= XM_COLL_F_DEV;
	return 0;
}

int xm_coll_parse_add(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd)
{
	static const char *const kws[] = { "remote", "local", "encap", "vni",
					   "dport", "dev" };
	struct xm_collector *c = &cmd->coll;
	unsigned int seen = 0, k;
	const char *val;
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
	c->dport = XM_VXLAN_PORT;
	for (i = 1; i < argc; i++) {
		if (xm_coll_is_later(argv[i])) {
			xm_err(cli, XM_CTX_ADD ": '%s' not yet supported", argv[i]);
			return -EOPNOTSUPP;
		}
		for (k = 0; k < sizeof(kws) / sizeof(kws[0]); k++)
			if (!strcmp(argv[i], kws[k]))
				break;
		if (k == sizeof(kws) / sizeof(kws[0])) {
			xm_err(cli, XM_CTX_ADD ": unknown keyword '%s'", argv[i]);
			return -EINVAL;
		}
		if (seen & (1u << k)) {
			xm_err(cli, XM_CTX_ADD ": '%s' given twice", argv[i]);
			return -EINVAL;
		}
		seen |= 1u << k;
		val = xm_arg_next(cli, XM_CTX_ADD, argc, argv, &i);
		if (!val)
			return -EINVAL;
		err = xm_coll_kw(cli, kws[k], val, c);
		if (err)
			return err;
	}
	if (!(seen & 1u)) {
		xm_err(cli, XM_CTX_ADD ": 'remote' is required");
		return -EINVAL;
	}
	return 0;
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

static void xm_coll_print(const struct xm_collector *c, int id)
{
	char buf[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];

	printf("collector add %s remote %s", c->name,
	       xm_addr_str(c->remote, c->family, buf, sizeof(buf)));
	if (c->flags & XM_COLL_F_LOCAL)
		printf(" local %s",
		       xm_addr_str(c->local, c->family, buf, sizeof(buf)));
	printf(" encap %s vni %u dport %u", xm_encap_name(c->encap), c->vni,
	       c->dport);
	/* A device that went away cannot be named; say so in the comment
	 * rather than print something `add` rejects. */
	if ((c->flags & XM_COLL_F_DEV) && if_indextoname(c->ifindex, ifname))
		printf(" dev %s  # id %d\n", ifname, id);
	else if (c->flags & XM_COLL_F_DEV)
		printf("  # id %d, dev ifindex %u is gone\n", id, c->ifindex);
	else
		printf("  # id %d\n", id);
}

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
	xm_json_u64(j, "vni", c->vni);
	xm_json_u64(j, "dport", c->dport);
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

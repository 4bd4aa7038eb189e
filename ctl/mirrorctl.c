// SPDX-License-Identifier: GPL-2.0
/*
 * mirrorctl - control tool of the xdp-mirror appliance.  Commands follow
 * the iproute2 shape `mirrorctl [OPTIONS] OBJECT VERB ARGS`; the tables
 * below map each object and verb to a parser (changes) or a printer
 * (read-only commands).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mirrorctl.h"

struct xm_verb {
	const char *name;
	/* Changes: parse into a command, applied by xm_cmds_exec(). */
	int (*parse)(struct xm_cli *cli, int argc, char **argv,
		     struct xm_cmd *cmd);
	/* Read-only: print from a loaded state. */
	int (*show)(struct xm_cli *cli, struct xm_state *st);
};

struct xm_object {
	const char *name;
	const struct xm_verb *verbs;	/* NULL: the object is the command */
	int (*show)(struct xm_cli *cli, struct xm_state *st);
	void (*usage)(FILE *f);
};

static const struct xm_verb xm_coll_verbs[] = {
	{ "add", xm_coll_parse_add, NULL },
	{ "del", xm_coll_parse_del, NULL },
	{ "show", NULL, xm_coll_show },
	{ NULL, NULL, NULL },
};

static const struct xm_verb xm_rule_verbs[] = {
	{ "add", xm_rule_parse_add, NULL },
	{ "del", xm_rule_parse_del, NULL },
	{ "show", NULL, xm_rule_show },
	{ NULL, NULL, NULL },
};

static const struct xm_object xm_objects[] = {
	{ "collector", xm_coll_verbs, NULL, xm_coll_usage },
	{ "rule", xm_rule_verbs, NULL, xm_rule_usage },
	{ "stats", NULL, xm_stats_show, xm_stats_usage },
	{ "status", NULL, xm_status_show, xm_stats_usage },
	{ NULL, NULL, NULL, NULL },
};

static void xm_usage(FILE *f)
{
	fputs("Usage: mirrorctl [-j] [-d IFACE] OBJECT COMMAND [ARGS]\n"
	      "       mirrorctl [-d IFACE] -batch FILE\n"
	      "       mirrorctl help [OBJECT]\n"
	      "OBJECT := collector | rule | stats | status\n"
	      "Options:\n"
	      "  -j, -json        JSON output\n"
	      "  -d IFACE         appliance device (default: the only one running)\n"
	      "  -batch FILE      apply the commands of FILE ('-' = stdin) at once\n"
	      "\n", f);
	xm_coll_usage(f);
	xm_rule_usage(f);
	xm_stats_usage(f);
}

void xm_err(const struct xm_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mirrorctl: %s", cli->where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int xm_arg_range(const struct xm_cli *cli, const char *ctx, const char *kw,
		 const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9') {
		xm_err(cli, "%s: bad value '%s' for '%s'", ctx, s, kw);
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end) {
		xm_err(cli, "%s: bad value '%s' for '%s'", ctx, s, kw);
		return -EINVAL;
	}
	if (errno || v < min || v > max) {
		xm_err(cli, "%s: %s '%s' out of range %u-%u", ctx, kw, s, min,
		       max);
		return -ERANGE;
	}
	*out = (__u32)v;
	return 0;
}

int xm_arg_u32(const struct xm_cli *cli, const char *ctx, const char *kw,
	       const char *s, __u32 max, __u32 *out)
{
	return xm_arg_range(cli, ctx, kw, s, 0, max, out);
}

const char *xm_arg_next(const struct xm_cli *cli, const char *ctx, int argc,
			char **argv, int *i)
{
	if (*i + 1 >= argc) {
		xm_err(cli, "%s: '%s' needs a value", ctx, argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

int xm_arg_dev(const struct xm_cli *cli, const char *ctx, const char *s,
	       char out[IF_NAMESIZE])
{
	if (!*s || strlen(s) >= IF_NAMESIZE || strchr(s, '/')) {
		xm_err(cli, "%s: bad device name '%s'", ctx, s);
		return -EINVAL;
	}
	strcpy(out, s);
	return 0;
}

static bool xm_is_json_opt(const char *s)
{
	return !strcmp(s, "-j") || !strcmp(s, "-json") || !strcmp(s, "--json");
}

static const struct xm_object *xm_object_find(const char *name)
{
	const struct xm_object *o;

	for (o = xm_objects; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static const struct xm_verb *xm_verb_find(const struct xm_object *o,
					  const char *name)
{
	const struct xm_verb *v;

	for (v = o->verbs; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

int xm_cmd_parse(struct xm_cli *cli, int argc, char **argv,
		 struct xm_cmd *cmd)
{
	const struct xm_object *o = xm_object_find(argv[0]);
	const struct xm_verb *v;

	if (!o) {
		xm_err(cli, "unknown object '%s' (try: mirrorctl help)", argv[0]);
		return -EINVAL;
	}
	v = o->verbs && argc > 1 ? xm_verb_find(o, argv[1]) : NULL;
	if (!v || !v->parse) {
		xm_err(cli, "%s: only 'add' and 'del' commands can be batched, not '%s%s%s'",
		       o->name, o->name, argc > 1 ? " " : "",
		       argc > 1 ? argv[1] : "");
		return -EINVAL;
	}
	memset(cmd, 0, sizeof(*cmd));
	memcpy(cmd->where, cli->where, sizeof(cmd->where));
	return v->parse(cli, argc - 2, argv + 2, cmd);
}

/* One device for all commands: -d, or the `dev` they name, which must
 * then agree. */
static int xm_cmds_dev(struct xm_cli *cli, const struct xm_cmd *cmds,
		       unsigned int n, char dev[IF_NAMESIZE])
{
	const char *want = cli->dev;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!cmds[i].dev[0])
			continue;
		if (want && strcmp(want, cmds[i].dev)) {
			memcpy(cli->where, cmds[i].where, sizeof(cli->where));
			xm_err(cli, "device '%s' differs from '%s' chosen before",
			       cmds[i].dev, want);
			return -EINVAL;
		}
		want = cmds[i].dev;
	}
	cli->where[0] = '\0';
	return xm_dev_resolve(cli, want, dev);
}

int xm_cmds_exec(struct xm_cli *cli, struct xm_cmd *cmds, unsigned int n)
{
	char dev[IF_NAMESIZE];
	struct xm_state *st;
	unsigned int i;
	int err;

	err = xm_cmds_dev(cli, cmds, n, dev);
	if (err)
		return err;
	err = xm_state_open(cli, dev, true, &st);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		memcpy(cli->where, cmds[i].where, sizeof(cli->where));
		if (cmds[i].kind == XM_CMD_COLL_ADD ||
		    cmds[i].kind == XM_CMD_COLL_DEL)
			err = xm_coll_apply(cli, st, &cmds[i]);
		else
			err = xm_rule_apply(cli, st, &cmds[i]);
	}
	cli->where[0] = '\0';
	if (!err)
		err = xm_state_commit(cli, st);
	xm_state_close(st);
	return err;
}

/* Read-only commands take only `dev IFACE` and -j. */
static int xm_show_run(struct xm_cli *cli, const char *ctx, int argc,
		       char **argv,
		       int (*show)(struct xm_cli *, struct xm_state *))
{
	char want[IF_NAMESIZE] = "", dev[IF_NAMESIZE];
	struct xm_state *st;
	const char *val;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (xm_is_json_opt(argv[i])) {
			cli->json = true;
		} else if (!strcmp(argv[i], "dev")) {
			val = xm_arg_next(cli, ctx, argc, argv, &i);
			if (!val || xm_arg_dev(cli, ctx, val, want))
				return -EINVAL;
		} else {
			xm_err(cli, "%s: unknown keyword '%s'", ctx, argv[i]);
			return -EINVAL;
		}
	}
	if (want[0] && cli->dev && strcmp(want, cli->dev)) {
		xm_err(cli, "%s: device '%s' differs from -d %s", ctx, want,
		       cli->dev);
		return -EINVAL;
	}
	err = xm_dev_resolve(cli, want[0] ? want : cli->dev, dev);
	if (err)
		return err;
	err = xm_state_open(cli, dev, false, &st);
	if (err)
		return err;
	err = show(cli, st);
	xm_state_close(st);
	return err;
}

static int xm_object_run(struct xm_cli *cli, int argc, char **argv)
{
	const struct xm_object *o = xm_object_find(argv[0]);
	const struct xm_verb *v;
	struct xm_cmd *cmd;
	char ctx[64];
	int err;

	if (!o) {
		xm_err(cli, "unknown object '%s' (try: mirrorctl help)", argv[0]);
		return -EINVAL;
	}
	if (argc > 1 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
			 !strcmp(argv[1], "--help"))) {
		o->usage(stdout);
		return 0;
	}
	if (!o->verbs)
		return xm_show_run(cli, o->name, argc - 1, argv + 1, o->show);
	/* Like iproute2, an object alone lists it. */
	v = xm_verb_find(o, argc > 1 ? argv[1] : "show");
	if (!v) {
		xm_err(cli, "%s: unknown command '%s' (try: mirrorctl %s help)",
		       o->name, argv[1], o->name);
		return -EINVAL;
	}
	snprintf(ctx, sizeof(ctx), "%s %s", o->name, v->name);
	if (v->show)
		return xm_show_run(cli, ctx, argc > 1 ? argc - 2 : 0,
				   argv + 2, v->show);
	cmd = malloc(sizeof(*cmd));
	if (!cmd)
		return -ENOMEM;
	err = xm_cmd_parse(cli, argc, argv, cmd);
	if (!err)
		err = xm_cmds_exec(cli, cmd, 1);
	free(cmd);
	return err;
}

static int xm_help(int argc, char **argv)
{
	const struct xm_object *o;

	if (argc < 2) {
		xm_usage(stdout);
		return 0;
	}
	o = xm_object_find(argv[1]);
	if (!o) {
		fprintf(stderr, "mirrorctl: help: unknown object '%s'\n",
			argv[1]);
		return -EINVAL;
	}
	o->usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct xm_cli cli = { 0 };
	const char *batch = NULL;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (xm_is_json_opt(o)) {
			cli.json = true;
		} else if (!strcmp(o, "-d") || !strcmp(o, "--dev")) {
			if (++i >= argc) {
				xm_err(&cli, "option '%s' needs a device", o);
				return 1;
			}
			cli.dev = argv[i];
		} else if (!strcmp(o, "-batch") || !strcmp(o, "--batch") ||
			   !strcmp(o, "-b")) {
			if (++i >= argc) {
				xm_err(&cli, "option '%s' needs a file", o);
				return 1;
			}
			batch = argv[i];
		} else if (!strcmp(o, "-h") || !strcmp(o, "-help") ||
			   !strcmp(o, "--help")) {
			xm_usage(stdout);
			return 0;
		} else {
			xm_err(&cli, "unknown option '%s' (try: mirrorctl --help)",
			       o);
			return 1;
		}
	}
	if (cli.dev && (!*cli.dev || strlen(cli.dev) >= IF_NAMESIZE)) {
		xm_err(&cli, "bad device name '%s'", cli.dev);
		return 1;
	}
	if (batch) {
		if (i < argc) {
			xm_err(&cli, "-batch takes no command, got '%s'", argv[i]);
			return 1;
		}
		return xm_batch_run(&cli, batch) ? 1 : 0;
	}
	if (i >= argc) {
		xm_usage(stderr);
		return 1;
	}
	if (!strcmp(argv[i], "help"))
		return xm_help(argc - i, argv + i) ? 1 : 0;
	return xm_object_run(&cli, argc - i, argv + i) ? 1 : 0;
}

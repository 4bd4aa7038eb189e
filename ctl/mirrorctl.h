/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mirrorctl.h - internals of the control tool.
 *
 * Every change goes through two steps: parse (syntax only, no maps) into
 * a struct xm_cmd, then apply to an in-memory copy of the device's tables
 * (struct xm_state) where the semantic checks happen.  Only when every
 * command of an invocation or batch file applied cleanly is the copy
 * written back, so bad input never changes anything.
 */
#ifndef XM_MIRRORCTL_H
#define XM_MIRRORCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <net/if.h>

#include "xm_cbpf.h"
#include "xm_maps.h"
#include "xm_table.h"
#include "xm_types.h"

#define XM_WHERE_LEN 300

struct xm_cli {
	bool json;
	const char *dev;		/* -d IFACE, or NULL */
	char where[XM_WHERE_LEN];	/* "FILE:LINE: " while in a batch */
};

void xm_err(const struct xm_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

enum xm_cmd_kind {
	XM_CMD_COLL_ADD,
	XM_CMD_COLL_DEL,
	XM_CMD_RULE_ADD,
	XM_CMD_RULE_DEL,
};

struct xm_cmd {
	enum xm_cmd_kind kind;
	char dev[IF_NAMESIZE];		/* `dev IFACE` selecting the appliance */
	char where[XM_WHERE_LEN];	/* error prefix of its batch line */
	union {
		struct xm_collector coll;		/* COLL_ADD */
		char name[XM_NAME_LEN];			/* COLL_DEL */
		struct {
			struct xm_rule rule;	/* XM_F_FILTER set, slot not */
			unsigned int ncoll;
			char coll[XM_MAX_COLLECTORS][XM_NAME_LEN];
			bool has_filter;
			/* Compiled at parse time: a bad expression is a
			 * syntax error, found before any map is opened. */
			struct xm_cbpf_prog prog;
			char expr[XM_FILTER_EXPR_MAX];
		} radd;					/* RULE_ADD */
		__u32 id;				/* RULE_DEL */
	};
};

/* A device's maps and an editable copy of its tables. */
struct xm_state {
	char dev[IF_NAMESIZE];
	struct xm_maps maps;
	struct xm_table tb;		/* mmapped rule tables */
	struct xm_ctl *ctl;		/* tb.ctl */
	int lock_fd;
	struct xm_collector coll[XM_MAX_COLLECTORS];
	struct xm_collector coll_orig[XM_MAX_COLLECTORS];
	struct xm_rule rules[XM_MAX_RULES];
	struct xm_rule rules_orig[XM_MAX_RULES];
	/* The half live before this one: XDP runs may still use it. */
	struct xm_rule rules_prev[XM_MAX_RULES];
	__u32 nrules, nrules_orig, nrules_prev;
	bool rules_dirty;
	/* Expressions of the filter slots the live or new rules use. */
	char fexpr[XM_MAX_FILTERS][XM_FILTER_EXPR_MAX];
	/* Filters added by this change, written at commit (fnew[slot]). */
	struct xm_filter *fnew;
	bool fpend[XM_MAX_FILTERS];
};

/* ---- command table (mirrorctl.c) ---- */
int xm_cmd_parse(struct xm_cli *cli, int argc, char **argv,
		 struct xm_cmd *cmd);
int xm_cmds_exec(struct xm_cli *cli, struct xm_cmd *cmds, unsigned int n);

/* ---- state.c ---- */
int xm_dev_resolve(const struct xm_cli *cli, const char *want,
		   char out[IF_NAMESIZE]);
int xm_state_open(const struct xm_cli *cli, const char *dev, bool write,
		  struct xm_state **out);
int xm_state_commit(const struct xm_cli *cli, struct xm_state *st);
void xm_state_close(struct xm_state *st);
int xm_coll_find(const struct xm_state *st, const char *name);

/*
 * pcap-filter programs of rules.  filter_add finds the filters-map slot
 * for a rule being added (one with the same expression, or a free one)
 * and returns it in *slot, printing its own error; filter_expr gives the
 * expression text of a slot the rules use ("" when unknown).
 */
int xm_state_filter_add(const struct xm_cli *cli, struct xm_state *st,
			const char *expr, const struct xm_cbpf_prog *prog,
			__u32 *slot);
const char *xm_state_filter_expr(const struct xm_state *st, __u32 slot);

/* ---- argument helpers (mirrorctl.c) ---- */
/* Parse an unsigned number in [0, max]; messages name the keyword. */
int xm_arg_u32(const struct xm_cli *cli, const char *ctx, const char *kw,
	       const char *s, __u32 max, __u32 *out);
/* The same for [min, max]. */
int xm_arg_range(const struct xm_cli *cli, const char *ctx, const char *kw,
		 const char *s, __u32 min, __u32 max, __u32 *out);
/* Value of keyword argv[*i]: advances *i, error when missing. */
const char *xm_arg_next(const struct xm_cli *cli, const char *ctx, int argc,
			char **argv, int *i);
int xm_arg_dev(const struct xm_cli *cli, const char *ctx, const char *s,
	       char out[IF_NAMESIZE]);

/* ---- collector.c ---- */
int xm_coll_parse_add(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd);
int xm_coll_parse_del(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd);
int xm_coll_apply(const struct xm_cli *cli, struct xm_state *st,
		  const struct xm_cmd *cmd);
int xm_coll_show(struct xm_cli *cli, struct xm_state *st);
void xm_coll_usage(FILE *f);

/* ---- rule.c ---- */
int xm_rule_parse_add(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd);
int xm_rule_parse_del(struct xm_cli *cli, int argc, char **argv,
		      struct xm_cmd *cmd);
int xm_rule_apply(const struct xm_cli *cli, struct xm_state *st,
		  const struct xm_cmd *cmd);
int xm_rule_show(struct xm_cli *cli, struct xm_state *st);
void xm_rule_usage(FILE *f);

/* ---- stats.c ---- */
int xm_stats_show(struct xm_cli *cli, struct xm_state *st);
int xm_status_show(struct xm_cli *cli, struct xm_state *st);
void xm_stats_usage(FILE *f);

/* ---- batch.c ---- */
int xm_batch_run(struct xm_cli *cli, const char *file);

#endif /* XM_MIRRORCTL_H */

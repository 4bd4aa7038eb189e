// SPDX-License-Identifier: GPL-2.0
/*
 * state.c - device selection, loading a device's tables into memory and
 * writing the edited copy back in an order the datapath can follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "mirrorctl.h"
#include "xm_encap.h"
#include "xm_rules.h"
#include "xm_table.h"

#define XM_MAX_DEVS 64

int xm_dev_resolve(const struct xm_cli *cli, const char *want,
		   char out[IF_NAMESIZE])
{
	char names[XM_MAX_DEVS][IF_NAMESIZE];
	char list[XM_MAX_DEVS * (IF_NAMESIZE + 2)] = "";
	int n, i;

	if (want && *want) {
		if (strlen(want) >= IF_NAMESIZE) {
			xm_err(cli, "bad device name '%s'", want);
			return -EINVAL;
		}
		strcpy(out, want);
		return 0;
	}
	n = xm_pinned_devs(names, XM_MAX_DEVS);
	if (n < 0) {
		xm_err(cli, "cannot list %s: %s", XM_PIN_ROOT, strerror(-n));
		return n;
	}
	if (n == 0) {
		xm_err(cli, "no appliance running (start one with: mirror-appliance start --dev IFACE)");
		return -ENOENT;
	}
	if (n > 1) {
		for (i = 0; i < n; i++) {
			if (i)
				strcat(list, ", ");
			strcat(list, names[i]);
		}
		xm_err(cli, "several appliances running (%s): choose one with 'dev IFACE' or -d IFACE",
		       list);
		return -EEXIST;
	}
	strcpy(out, names[0]);
	return 0;
}

/* What a map of this build must look like; a mismatch means the daemon
 * and mirrorctl come from different versions of xm_types.h. */
static const struct {
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
} xm_map_shape[XM_NMAPS] = {
	{ sizeof(__u32), sizeof(struct xm_rule), 2 * XM_MAX_RULES },
	{ sizeof(__u32), sizeof(struct xm_ctl), 1 },
	{ sizeof(__u32), sizeof(struct xm_collector), XM_MAX_COLLECTORS },
	{ sizeof(__u32), sizeof(struct xm_dev_stats), 1 },
	{ sizeof(__u32), sizeof(struct xm_rule_stats), XM_MAX_RULE_ID },
	{ sizeof(__u32), sizeof(struct xm_coll_stats),
	  XM_MAX_QUEUES * XM_MAX_COLLECTORS },
	{ sizeof(__u32), sizeof(struct xm_worker_stats), XM_MAX_QUEUES },
	{ sizeof(__u32), sizeof(__u32), XM_MAX_QUEUES },
	{ sizeof(__u32), sizeof(struct xm_dpinfo), 1 },
	{ sizeof(__u32), sizeof(struct xm_tuple), 2 * XM_MAX_TUPLES },
	{ sizeof(__u32), sizeof(__u64), 2 * XM_MAX_RULES },
	{ sizeof(struct xm_rule_key), sizeof(__u32), 2 * XM_MAX_RULES },
	{ sizeof(__u32), sizeof(struct xm_filter), XM_MAX_FILTERS },
	{ sizeof(__u32), sizeof(struct xm_qsbr), 1 },
	{ sizeof(__u32), sizeof(struct xm_tmpl_ent), 2 * XM_MAX_COLLECTORS },
	{ sizeof(__u32), sizeof(struct xm_coll_stats), XM_MAX_COLLECTORS },
	{ sizeof(__u32), sizeof(struct xm_seq), XM_MAX_COLLECTORS },
	{ sizeof(__u32), sizeof(__u32), 1 },
};

static int xm_maps_check(const struct xm_cli *cli, const struct xm_state *st)
{
	const int *fd = (const int *)&st->maps;
	struct bpf_map_info info;
	__u32 len;
	unsigned int i;

	for (i = 0; i < XM_NMAPS; i++) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd[i], &info, &len)) {
			xm_err(cli, "cannot inspect map '%s': %s",
			       xm_map_name(i), strerror(errno));
			return -errno;
		}
		if (info.key_size != xm_map_shape[i].key_size ||
		    info.value_size != xm_map_shape[i].value_size ||
		    info.max_entries < xm_map_shape[i].max_entries) {
			xm_err(cli, "map '%s' of '%s' has key size %u, value size %u and %u entries, expected %u, %u and %u (mirrorctl and daemon versions differ)",
			       xm_map_name(i), st->dev, info.key_size,
			       info.value_size, info.max_entries,
			       xm_map_shape[i].key_size,
			       xm_map_shape[i].value_size,
			       xm_map_shape[i].max_entries);
			return -EPROTO;
		}
	}
	return 0;
}

/* Expressions of the filters the live rules use, for rule show. */
static int xm_state_load_filters(const struct xm_cli *cli,
				 struct xm_state *st)
{
	struct xm_filter *f;
	__u32 i, slot;
	int err = 0;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (i = 0; i < st->nrules && !err; i++) {
		if (!(st->rules[i].fields & XM_F_FILTER))
			continue;
		slot = st->rules[i].filter;
		if (slot >= XM_MAX_FILTERS || st->fexpr[slot][0])
			continue;
		if (bpf_map_lookup_elem(st->maps.filters, &slot, f)) {
			err = -errno;
			xm_err(cli, "cannot read map 'filters': %s",
			       strerror(-err));
			break;
		}
		f->expr[XM_FILTER_EXPR_MAX - 1] = '\0';
		memcpy(st->fexpr[slot], f->expr, XM_FILTER_EXPR_MAX);
	}
	free(f);
	return err;
}

static int xm_state_load(const struct xm_cli *cli, struct xm_state *st)
{
	__u32 i;
	int err;

	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (bpf_map_lookup_elem(st->maps.collectors, &i, &st->coll[i])) {
			err = -errno;
			xm_err(cli, "cannot read map 'collectors': %s",
			       strerror(-err));
			return err;
		}
		/* Never trust a name without its terminator. */
		st->coll[i].name[XM_NAME_LEN - 1] = '\0';
	}
	memcpy(st->coll_orig, st->coll, sizeof(st->coll));
	err = xm_table_read(&st->tb, st->rules, &st->nrules);
	if (!err)
		err = xm_table_read_old(&st->tb, st->rules_prev,
					&st->nrules_prev);
	if (err) {
		xm_err(cli, "cannot read map 'rules': %s", strerror(-err));
		return err;
	}
	memcpy(st->rules_orig, st->rules, st->nrules * sizeof(st->rules[0]));
	st->nrules_orig = st->nrules;
	return xm_state_load_filters(cli, st);
}

int xm_state_open(const struct xm_cli *cli, const char *dev, bool write,
		  struct xm_state **out)
{
	struct xm_state *st;
	int err;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	strcpy(st->dev, dev);
	st->lock_fd = -1;
	err = xm_maps_open(dev, &st->maps);
	if (err == -ENOENT) {
		xm_err(cli, "no appliance running on '%s' (start one with: mirror-appliance start --dev %s)",
		       dev, dev);
		goto err_free;
	}
	if (err) {
		xm_err(cli, "cannot open the maps of '%s': %s", dev,
		       strerror(-err));
		goto err_free;
	}
	err = xm_maps_check(cli, st);
	if (err)
		goto err_close;
	if (write) {
		st->lock_fd = xm_lock(dev);
		if (st->lock_fd < 0) {
			err = st->lock_fd;
			xm_err(cli, "cannot lock '%s': %s", dev, strerror(-err));
			goto err_close;
		}
	}
	err = xm_table_open(&st->tb, &st->maps);
	if (err) {
		xm_err(cli, "cannot mmap the rule tables of '%s': %s", dev,
		       strerror(-err));
		goto err_unlock;
	}
	st->ctl = st->tb.ctl;
	err = xm_state_load(cli, st);
	if (err)
		goto err_unmap;
	*out = st;
	return 0;

err_unmap:
	xm_table_close(&st->tb);
err_unlock:
	xm_unlock(st->lock_fd);
err_close:
	xm_maps_close(&st->maps);
err_free:
	free(st);
	return err;
}

void xm_state_close(struct xm_state *st)
{
	if (!st)
		return;
	xm_table_close(&st->tb);
	xm_unlock(st->lock_fd);
	xm_maps_close(&st->maps);
	free(st->fnew);
	free(st);
}

int xm_coll_find(const struct xm_state *st, const char *name)
{
	int i;

	for (i = 0; i < XM_MAX_COLLECTORS; i++)
		if (st->coll[i].name[0] && !strcmp(st->coll[i].name, name))
			return i;
	return -1;
}

/* Write collector slots; was_used selects the slots that were in use
 * before this change (true) or free (false). */
static int xm_coll_write(const struct xm_cli *cli, struct xm_state *st,
			 bool was_used, bool *changed)
{
	__u32 i;

	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!!st->coll_orig[i].name[0] != was_used)
			continue;
		if (!memcmp(&st->coll[i], &st->coll_orig[i], sizeof(st->coll[i])))
			continue;
		if (bpf_map_update_elem(st->maps.collectors, &i, &st->coll[i],
					BPF_ANY)) {
			xm_err(cli, "cannot update map 'collectors': %s",
			       strerror(errno));
			return -errno;
		}
		*changed = true;
	}
	return 0;
}

static int xm_filters_commit(const struct xm_cli *cli, struct xm_state *st);

static int xm_rules_commit(const struct xm_cli *cli, struct xm_state *st)
{
	__u32 i;
	int err;

	xm_rules_sort(st->rules, st->nrules);
	for (i = 0; i < st->nrules; i++) {
		if (xm_rules_find(st->rules_orig, st->nrules_orig,
				  st->rules[i].id) >= 0)
			continue;
		err = xm_rule_stats_zero(st->maps.rule_stats, st->rules[i].id);
		if (err) {
			xm_err(cli, "cannot reset map 'rule_stats': %s",
			       strerror(-err));
			return err;
		}
	}
	err = xm_table_publish(&st->tb, st->rules, st->nrules);
	if (err == -ETIMEDOUT)
		xm_err(cli, "XDP program on '%s' did not leave the old rule table within 1 s; nothing changed",
		       st->dev);
	else if (err)
		xm_err(cli, "cannot update the rule tables: %s",
		       strerror(-err));
	return err;
}

/*
 * The daemon's pid when one is running and ready, else 0.  dpinfo may
 * hold the pid of a daemon that died, since reused by another program,
 * which SIGUSR1 would kill: the process must be a mirror-appliance (its
 * comm, cut to 15 characters).
 */
static pid_t xm_daemon_pid(const struct xm_state *st)
{
	struct xm_dpinfo dp;
	char path[64], comm[32];
	__u32 key = 0;
	ssize_t n;
	int fd;

	if (bpf_map_lookup_elem(st->maps.dpinfo, &key, &dp) || !dp.pid ||
	    !dp.ready)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/comm", dp.pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	return strncmp(comm, "mirror-applianc", 15) ? 0 : (pid_t)dp.pid;
}

/*
 * Wake the daemon (SIGUSR1) and wait, a second at most, until its
 * templates are built from collector generation gen: a collector is in
 * effect on every datapath when the command returns.  Without a daemon
 * (or with one that does not answer) it will be at the daemon's start
 * or next pass.
 */
static void xm_daemon_sync(const struct xm_state *st, __u32 gen)
{
	struct timespec ms = { 0, 1000000 };
	pid_t pid = xm_daemon_pid(st);
	int i;

	if (!pid || kill(pid, SIGUSR1))
		return;
	for (i = 0; i < 1000; i++) {
		if ((__s32)(__atomic_load_n(&st->ctl->coll_seen,
					    __ATOMIC_ACQUIRE) - gen) >= 0)
			return;
		nanosleep(&ms, NULL);
	}
}

/*
 * Order matters for frames in flight: new collectors appear before rules
 * that point at them, and collectors go away only after the rule table
 * that referenced them has been replaced.
 */
static void xm_coll_changed(const struct xm_state *st)
{
	xm_daemon_sync(st, __atomic_add_fetch(&st->ctl->coll_gen, 1,
					      __ATOMIC_RELEASE));
}

int xm_state_commit(const struct xm_cli *cli, struct xm_state *st)
{
	bool added = false, removed = false;
	int err;

	/* New collectors' templates are live before a rule points at
	 * them. */
	err = xm_coll_write(cli, st, false, &added);
	if (added)
		xm_coll_changed(st);
	if (err)
		return err;
	if (st->rules_dirty) {
		err = xm_filters_commit(cli, st);
		if (!err)
			err = xm_rules_commit(cli, st);
		if (err)
			return err;
	}
	err = xm_coll_write(cli, st, true, &removed);
	if (removed)
		xm_coll_changed(st);
	return err;
}

/* Is filter slot i referred to by a rule of t[0..n)? */
static bool xm_filter_used_by(const struct xm_rule *t, __u32 n, __u32 i)
{
	__u32 k;

	for (k = 0; k < n; k++)
		if ((t[k].fields & XM_F_FILTER) && t[k].filter == i)
			return true;
	return false;
}

/*
 * A filters-map slot for expr: one already holding (or about to hold)
 * the same expression, or one that no table half (live, previous, or the
 * one being built) refers to, so a program is never rewritten while an
 * XDP run may still execute it.  New programs are written at commit:
 * until then nothing changes.
 */
int xm_state_filter_add(const struct xm_cli *cli, struct xm_state *st,
			const char *expr, const struct xm_cbpf_prog *prog,
			__u32 *slot)
{
	int free_slot = -1;
	__u32 i;

	for (i = 0; i < XM_MAX_FILTERS; i++) {
		bool used = st->fpend[i] ||
			    xm_filter_used_by(st->rules, st->nrules, i) ||
			    xm_filter_used_by(st->rules_orig, st->nrules_orig, i) ||
			    xm_filter_used_by(st->rules_prev, st->nrules_prev, i);

		if (!used) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (!strcmp(st->fexpr[i], expr)) {
			*slot = i;
			return 0;
		}
	}
	if (free_slot < 0) {
		xm_err(cli, "rule add: filter table full (%d distinct filters)",
		       XM_MAX_FILTERS);
		return -ENOSPC;
	}
	if (!st->fnew)
		st->fnew = calloc(XM_MAX_FILTERS, sizeof(*st->fnew));
	if (!st->fnew)
		return -ENOMEM;
	i = (__u32)free_slot;
	memset(&st->fnew[i], 0, sizeof(st->fnew[i]));
	st->fnew[i].prog = *prog;
	snprintf(st->fnew[i].expr, sizeof(st->fnew[i].expr), "%s", expr);
	snprintf(st->fexpr[i], sizeof(st->fexpr[i]), "%s", expr);
	st->fpend[i] = true;
	*slot = i;
	return 0;
}

/* Write the programs of filters this change added (before the rules
 * that use them go live). */
static int xm_filters_commit(const struct xm_cli *cli, struct xm_state *st)
{
	__u32 i;

	for (i = 0; i < XM_MAX_FILTERS; i++) {
		if (!st->fpend[i])
			continue;
		if (bpf_map_update_elem(st->maps.filters, &i, &st->fnew[i],
					BPF_ANY)) {
			xm_err(cli, "cannot update map 'filters': %s",
			       strerror(errno));
			return -errno;
		}
		st->fpend[i] = false;
	}
	return 0;
}

const char *xm_state_filter_expr(const struct xm_state *st, __u32 slot)
{
	return slot < XM_MAX_FILTERS ? st->fexpr[slot] : "";
}


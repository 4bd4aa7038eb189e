// SPDX-License-Identifier: GPL-2.0
/* stats.c - `mirrorctl stats` and `mirrorctl status`. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "json.h"
#include "mirrorctl.h"
#include "xm_addr.h"
#include "xm_encap.h"

/*
 * Counter names, in struct order: every counter struct is a run of __u64,
 * so one printer handles all of them and the JSON keys are exactly the
 * field names.
 */
static const char *const xm_dev_fields[] = {
	"rx", "rx_bytes", "matched", "matched_bytes", "not_matched", "passed",
	"malformed", "to_xsk", "xsk_missing", "meta_fail", "neigh_passed",
	"skipped", "sampled_out", "to_fast", "fast_fallback", "fast_xmit_err",
};
static const char *const xm_rule_fields[] = { "packets", "bytes" };
static const char *const xm_coll_fields[] = {
	"sent", "sent_bytes", "drop_no_neigh", "drop_tx_full",
	"drop_no_frame", "drop_no_collector",
	"truncated_snap", "truncated_mtu",
};
static const char *const xm_worker_fields[] = {
	"rx", "rx_bytes", "bad_meta", "tx_completed", "fill_short", "wakeups",
	"xsk_rx_dropped", "xsk_rx_ring_full", "xsk_fill_empty",
	"xsk_rx_invalid", "xsk_tx_invalid",
};

#define XM_N(a) (sizeof(a) / sizeof((a)[0]))

/* The text output splits the worker counters: the datapath's own, then
 * the socket's XDP_STATISTICS (from xsk_rx_dropped on). */
#define XM_WORKER_XSK 6

/* host[] (host mode) ends the struct and is printed on its own. */
_Static_assert(XM_N(xm_dev_fields) * 8 ==
		       offsetof(struct xm_dev_stats, host),
	       "dev_stats names out of date");
_Static_assert(XM_N(xm_rule_fields) * 8 == sizeof(struct xm_rule_stats),
	       "rule_stats names out of date");
_Static_assert(XM_N(xm_coll_fields) * 8 == sizeof(struct xm_coll_stats),
	       "coll_stats names out of date");
_Static_assert(XM_N(xm_worker_fields) * 8 == sizeof(struct xm_worker_stats),
	       "worker_stats names out of date");
_Static_assert(XM_WORKER_XSK * 8 ==
	       offsetof(struct xm_worker_stats, xsk_rx_dropped),
	       "worker_stats split out of date");

/* Everything stats prints, read before anything is printed. */
struct xm_stats_snap {
	struct xm_dpinfo dp;
	__u64 dev[sizeof(struct xm_dev_stats) / 8];	/* host[] too */
	__u64 rule[XM_MAX_RULES][XM_N(xm_rule_fields)];
	__u64 coll[XM_MAX_COLLECTORS][XM_N(xm_coll_fields)];
	/* The same per datapath: [0] AF_XDP workers, [1] XDP fast path. */
	__u64 coll_path[XM_MAX_COLLECTORS][2][XM_N(xm_coll_fields)];
	__u64 worker[XM_MAX_QUEUES][XM_N(xm_worker_fields)];
	__u32 nworkers;
};

void xm_stats_usage(FILE *f)
{
	fputs("mirrorctl stats [-j] [dev IFACE]\n"
	      "mirrorctl status [-j] [dev IFACE]\n", f);
}

static int xm_lookup(const struct xm_cli *cli, int fd, const char *map,
		     __u32 key, void *val)
{
	if (!bpf_map_lookup_elem(fd, &key, val))
		return 0;
	xm_err(cli, "cannot read map '%s': %s", map, strerror(errno));
	return -errno;
}

static int xm_coll_sum(const struct xm_cli *cli, const struct xm_state *st,
		       __u32 id, __u64 *out)
{
	__u64 row[XM_N(xm_coll_fields)];
	unsigned int w, k;
	int err;

	memset(out, 0, sizeof(row));
	/* Rows of every possible worker: one that exited keeps its counts. */
	for (w = 0; w < XM_MAX_QUEUES; w++) {
		err = xm_lookup(cli, st->maps.coll_stats, "coll_stats",
				w * XM_MAX_COLLECTORS + id, row);
		if (err)
			return err;
		for (k = 0; k < XM_N(xm_coll_fields); k++)
			out[k] += row[k];
	}
	return 0;
}

/* The second path is the XDP fast path, or host mode's kernel path. */
static const char *xm_path_name(const struct xm_stats_snap *s, unsigned int k)
{
	if (!k)
		return "afxdp";
	return s->dp.mode == XM_MODE_HOST ? "tc" : "xdp";
}

/* A collector's counters: the workers' rows plus the fast path's. */
static int xm_coll_read(const struct xm_cli *cli, const struct xm_state *st,
			__u32 id, struct xm_stats_snap *s)
{
	unsigned int k;
	int err;

	err = xm_coll_sum(cli, st, id, s->coll_path[id][0]);
	if (err)
		return err;
	err = xm_percpu_sum(st->maps.fast_stats, id, s->coll_path[id][1],
			    XM_N(xm_coll_fields));
	if (err) {
		xm_err(cli, "cannot read map 'fast_stats': %s", strerror(-err));
		return err;
	}
	for (k = 0; k < XM_N(xm_coll_fields); k++)
		s->coll[id][k] = s->coll_path[id][0][k] + s->coll_path[id][1][k];
	return 0;
}

static int xm_stats_read(const struct xm_cli *cli, const struct xm_state *st,
			 struct xm_stats_snap *s)
{
	__u32 i;
	int err;

	err = xm_lookup(cli, st->maps.dpinfo, "dpinfo", 0, &s->dp);
	if (err)
		return err;
	err = xm_percpu_sum(st->maps.dev_stats, 0, s->dev, XM_N(s->dev));
	for (i = 0; !err && i < st->nrules; i++)
		err = xm_percpu_sum(st->maps.rule_stats, st->rules[i].id,
				    s->rule[i], XM_N(s->rule[i]));
	if (err) {
		xm_err(cli, "cannot read per-CPU counters: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		err = xm_coll_read(cli, st, i, s);
		if (err)
			return err;
	}
	s->nworkers = s->dp.queues < XM_MAX_QUEUES ? s->dp.queues
						    : XM_MAX_QUEUES;
	for (i = 0; i < s->nworkers; i++) {
		err = xm_lookup(cli, st->maps.worker_stats, "worker_stats", i,
				s->worker[i]);
		if (err)
			return err;
	}
	return 0;
}

static void xm_json_fields(struct xm_json *j, const char *const *names,
			   const __u64 *v, unsigned int n)
{
	unsigned int k;

	for (k = 0; k < n; k++)
		xm_json_u64(j, names[k], v[k]);
}

/* ---- host mode (issue 6) ----------------------------------------- */

static const char *const xm_host_fields[] = {
	"seen", "seen_bytes", "loop_guard", "mirror", "cloned", "clone_fail",
	"clone_segs", "xdp_rx", "stale", "k_cloned", "k_rx", "k_sent",
	"k_fallback", "k_drop", "own_tx",
};
static const char *const xm_host_dirs[] = { "in", "out" };

_Static_assert(XM_N(xm_host_fields) * 8 ==
		       sizeof(struct xm_host_dir_stats),
	       "host stats names out of date");
_Static_assert(offsetof(struct xm_dev_stats, host) +
		       2 * sizeof(struct xm_host_dir_stats) ==
		       sizeof(struct xm_dev_stats),
	       "host[] must end xm_dev_stats");

static void xm_table_head(const char *first, const char *const *names,
			  unsigned int n);
static void xm_table_row(const char *first, const char *const *names,
			 const __u64 *v, unsigned int n);

/* The counters of direction d (XM_HOST_IN, XM_HOST_OUT). */
static const __u64 *xm_host_row(const struct xm_stats_snap *s, unsigned int d)
{
	return s->dev + (offsetof(struct xm_dev_stats, host) +
			 d * sizeof(struct xm_host_dir_stats)) / 8;
}

static void xm_stats_host_json(struct xm_json *j,
			       const struct xm_stats_snap *s)
{
	unsigned int d;

	if (s->dp.mode != XM_MODE_HOST)
		return;
	xm_json_obj_begin(j, "host");
	for (d = 0; d < 2; d++) {
		xm_json_obj_begin(j, xm_host_dirs[d]);
		xm_json_fields(j, xm_host_fields, xm_host_row(s, d),
			       XM_N(xm_host_fields));
		xm_json_obj_end(j);
	}
	xm_json_obj_end(j);
}

/* The identities are those of struct xm_host_dir_stats (xm_types.h):
 *   mirror = cloned + clone_fail, per direction;
 *   rx = seen (both) = matched + not_matched, loop_guard in not_matched;
 *   matched = mirror (both) + skipped + sampled_out;
 *   xdp_rx - stale (both) = to_xsk + xsk_missing + meta_fail. */
static void xm_stats_host_text(const struct xm_stats_snap *s)
{
	unsigned int d;

	if (s->dp.mode != XM_MODE_HOST)
		return;
	printf("host mode, by tc hook (mirror = cloned + clone_fail; xdp_rx - stale = to_xsk + xsk_missing + meta_fail;\n"
	       "kernel path: k_rx = k_sent + k_fallback + k_drop, k_cloned - k_rx lost in the backlog queue)\n");
	xm_table_head("dir", xm_host_fields, XM_N(xm_host_fields));
	for (d = 0; d < 2; d++)
		xm_table_row(xm_host_dirs[d], xm_host_fields,
			     xm_host_row(s, d), XM_N(xm_host_fields));
}

static void xm_stats_json(const struct xm_state *st,
			  const struct xm_stats_snap *s)
{
	struct xm_json j;
	__u32 i, k;

	xm_json_init(&j, stdout);
	xm_json_obj_begin(&j, NULL);
	xm_json_str(&j, "dev", st->dev);
	xm_json_obj_begin(&j, "device");
	xm_json_fields(&j, xm_dev_fields, s->dev, XM_N(xm_dev_fields));
	xm_json_obj_end(&j);
	xm_stats_host_json(&j, s);
	xm_json_arr_begin(&j, "rules");
	for (i = 0; i < st->nrules; i++) {
		xm_json_obj_begin(&j, NULL);
		xm_json_u64(&j, "id", st->rules[i].id);
		xm_json_fields(&j, xm_rule_fields, s->rule[i],
			       XM_N(xm_rule_fields));
		xm_json_obj_end(&j);
	}
	xm_json_arr_end(&j);
	xm_json_arr_begin(&j, "collectors");
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		xm_json_obj_begin(&j, NULL);
		xm_json_u64(&j, "id", i);
		xm_json_str(&j, "name", st->coll[i].name);
		xm_json_fields(&j, xm_coll_fields, s->coll[i],
			       XM_N(xm_coll_fields));
		for (k = 0; k < 2; k++) {
			xm_json_obj_begin(&j, xm_path_name(s, k));
			xm_json_fields(&j, xm_coll_fields, s->coll_path[i][k],
				       XM_N(xm_coll_fields));
			xm_json_obj_end(&j);
		}
		xm_json_obj_end(&j);
	}
	xm_json_arr_end(&j);
	xm_json_arr_begin(&j, "workers");
	for (i = 0; i < s->nworkers; i++) {
		xm_json_obj_begin(&j, NULL);
		xm_json_u64(&j, "id", i);
		xm_json_fields(&j, xm_worker_fields, s->worker[i],
			       XM_N(xm_worker_fields));
		xm_json_obj_end(&j);
	}
	xm_json_arr_end(&j);
	xm_json_obj_end(&j);
	xm_json_finish(&j);
}

/* One table: a header of field names, then one row per entry. */
static void xm_table_head(const char *first, const char *const *names,
			  unsigned int n)
{
	unsigned int k;

	printf("  %-16s", first);
	for (k = 0; k < n; k++)
		printf(" %*s", (int)(strlen(names[k]) > 10 ? strlen(names[k]) : 10),
		       names[k]);
	putchar('\n');
}

static void xm_table_row(const char *first, const char *const *names,
			 const __u64 *v, unsigned int n)
{
	unsigned int k;

	printf("  %-16s", first);
	for (k = 0; k < n; k++)
		printf(" %*" PRIu64,
		       (int)(strlen(names[k]) > 10 ? strlen(names[k]) : 10),
		       (uint64_t)v[k]);
	putchar('\n');
}

static void xm_stats_text(const struct xm_state *st,
			  const struct xm_stats_snap *s)
{
	char label[48];
	unsigned int k;
	__u32 i;

	printf("device %s\n", st->dev);
	for (k = 0; k < XM_N(xm_dev_fields); k++)
		printf("  %-14s %" PRIu64 "\n", xm_dev_fields[k],
		       (uint64_t)s->dev[k]);
	xm_stats_host_text(s);
	printf("rules\n");
	xm_table_head("id", xm_rule_fields, XM_N(xm_rule_fields));
	for (i = 0; i < st->nrules; i++) {
		snprintf(label, sizeof(label), "%u", st->rules[i].id);
		xm_table_row(label, xm_rule_fields, s->rule[i],
			     XM_N(xm_rule_fields));
	}
	/* The identity the counters keep, where the reader needs it. */
	printf("collectors (copies = sent + drop_*; truncated_* are part of sent)\n");
	xm_table_head("id:name", xm_coll_fields, XM_N(xm_coll_fields));
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		snprintf(label, sizeof(label), "%u:%s", i, st->coll[i].name);
		xm_table_row(label, xm_coll_fields, s->coll[i],
			     XM_N(xm_coll_fields));
	}
	printf("collectors by datapath (the rows above are their sums)\n");
	xm_table_head("id:name/path", xm_coll_fields, XM_N(xm_coll_fields));
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		for (k = 0; k < 2; k++) {
			snprintf(label, sizeof(label), "%u:%s/%s", i,
				 st->coll[i].name, xm_path_name(s, k));
			xm_table_row(label, xm_coll_fields, s->coll_path[i][k],
				     XM_N(xm_coll_fields));
		}
	}
	printf("workers\n");
	xm_table_head("id", xm_worker_fields, XM_WORKER_XSK);
	for (i = 0; i < s->nworkers; i++) {
		snprintf(label, sizeof(label), "%u", i);
		xm_table_row(label, xm_worker_fields, s->worker[i],
			     XM_WORKER_XSK);
	}
	printf("worker sockets (XDP_STATISTICS: frames the kernel could not hand over)\n");
	xm_table_head("id", xm_worker_fields + XM_WORKER_XSK,
		      XM_N(xm_worker_fields) - XM_WORKER_XSK);
	for (i = 0; i < s->nworkers; i++) {
		snprintf(label, sizeof(label), "%u", i);
		xm_table_row(label, xm_worker_fields + XM_WORKER_XSK,
			     s->worker[i] + XM_WORKER_XSK,
			     XM_N(xm_worker_fields) - XM_WORKER_XSK);
	}
}

int xm_stats_show(struct xm_cli *cli, struct xm_state *st)
{
	struct xm_stats_snap *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	err = xm_stats_read(cli, st, s);
	if (!err && cli->json)
		xm_stats_json(st, s);
	else if (!err)
		xm_stats_text(st, s);
	free(s);
	return err;
}

/* Daemon state as a word: the pid in dpinfo may be stale after a crash. */
static const char *xm_daemon_state(const struct xm_dpinfo *dp)
{
	if (!dp->pid)
		return "none";
	if (kill((pid_t)dp->pid, 0) && errno == ESRCH)
		return "gone";
	return "running";
}

static int xm_ncoll(const struct xm_state *st)
{
	int i, n = 0;

	for (i = 0; i < XM_MAX_COLLECTORS; i++)
		n += st->coll[i].name[0] != '\0';
	return n;
}

static const char *const xm_dp_names[] = { "auto", "xdp", "afxdp", "tc" };
static const char *const xm_slow_names[] = {
	[XM_SLOW_NONE] = "", [XM_SLOW_ASKED] = "datapath afxdp",
	[XM_SLOW_NO_XMIT] = "tx device takes no XDP redirect",
	[XM_SLOW_UDP6_CSUM] = "UDP checksum over IPv6",
	[XM_SLOW_NOT_READY] = "next hop not resolved",
};

static const char *xm_dp_name(__u32 dp)
{
	return dp < XM_N(xm_dp_names) ? xm_dp_names[dp] : "?";
}

/* Which datapath sends collector id's single copies, as the daemon last
 * published it: "xdp" or "afxdp", and why not xdp. */
static const char *xm_coll_path(const struct xm_state *st, __u32 id,
				const char **why)
{
	struct xm_tmpl_ent e;
	__u32 key;

	key = (st->ctl->fast_sel & 1) * XM_MAX_COLLECTORS + id;
	*why = "";
	if (bpf_map_lookup_elem(st->maps.fast, &key, &e))
		return "afxdp";
	if (e.state != XM_TE_READY) {
		*why = xm_slow_names[XM_SLOW_NOT_READY];
		return "afxdp";
	}
	if (e.path == XM_PATH_TC)
		return "tc";
	if (e.path != XM_PATH_AFXDP)
		return "xdp";
	if (e.why_slow < XM_N(xm_slow_names))
		*why = xm_slow_names[e.why_slow];
	return "afxdp";
}

static void xm_status_json(const struct xm_state *st,
			   const struct xm_dpinfo *dp)
{
	const char *why;
	char buf[INET6_ADDRSTRLEN];
	struct xm_json j;
	int i;

	xm_json_init(&j, stdout);
	xm_json_obj_begin(&j, NULL);
	xm_json_str(&j, "dev", st->dev);
	xm_json_u64(&j, "pid", dp->pid);
	xm_json_str(&j, "daemon", xm_daemon_state(dp));
	xm_json_u64(&j, "ifindex", dp->ifindex);
	xm_json_u64(&j, "tx_ifindex", dp->tx_ifindex);
	xm_json_u64(&j, "queues", dp->queues);
	xm_json_u64(&j, "zerocopy", dp->zerocopy);
	xm_json_str(&j, "mode", dp->zerocopy ? "zerocopy" : "copy");
	xm_json_str(&j, "datapath", xm_dp_name(dp->datapath));
	xm_json_bool(&j, "tx_xdp_xmit", dp->tx_xmit);
	xm_json_bool(&j, "ready", dp->ready);
	xm_json_u64(&j, "rules", st->nrules);
	xm_json_u64(&j, "rule_gen", st->ctl->rule_gen);
	xm_json_u64(&j, "coll_gen", st->ctl->coll_gen);
	xm_json_arr_begin(&j, "collectors");
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		xm_json_obj_begin(&j, NULL);
		xm_json_u64(&j, "id", (__u64)i);
		xm_json_str(&j, "name", st->coll[i].name);
		xm_json_str(&j, "remote", xm_addr_str(st->coll[i].remote,
						      st->coll[i].family, buf,
						      sizeof(buf)));
		xm_json_str(&j, "path", xm_coll_path(st, (__u32)i, &why));
		xm_json_str(&j, "path_why", why);
		xm_json_obj_end(&j);
	}
	xm_json_arr_end(&j);
	xm_json_obj_end(&j);
	xm_json_finish(&j);
}

static void xm_status_text(const struct xm_state *st,
			   const struct xm_dpinfo *dp)
{
	char buf[INET6_ADDRSTRLEN];
	const char *path, *why;
	int i;

	printf("dev %s: daemon pid %u (%s), queues %u, mode %s, ready %s\n",
	       st->dev, dp->pid, xm_daemon_state(dp), dp->queues,
	       dp->zerocopy ? "zerocopy" : "copy", dp->ready ? "yes" : "no");
	if (dp->mode == XM_MODE_HOST)
		printf("datapath %s (host mode: kernel path %s)\n",
		       xm_dp_name(dp->datapath),
		       dp->datapath == XM_DP_AFXDP ? "off" : "on");
	else
		printf("datapath %s, tx device %s XDP redirects\n",
		       xm_dp_name(dp->datapath),
		       dp->tx_xmit ? "takes" : "refuses");
	printf("rules %u (generation %u), collectors %d (generation %u)\n",
	       st->nrules, st->ctl->rule_gen, xm_ncoll(st), st->ctl->coll_gen);
	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (!st->coll[i].name[0])
			continue;
		path = xm_coll_path(st, (__u32)i, &why);
		printf("collector %d %s remote %s path %s%s%s%s\n", i,
		       st->coll[i].name,
		       xm_addr_str(st->coll[i].remote, st->coll[i].family, buf,
				   sizeof(buf)),
		       path, *why ? " (" : "", why, *why ? ")" : "");
	}
}

int xm_status_show(struct xm_cli *cli, struct xm_state *st)
{
	struct xm_dpinfo dp;
	int err;

	err = xm_lookup(cli, st->maps.dpinfo, "dpinfo", 0, &dp);
	if (err)
		return err;
	if (cli->json)
		xm_status_json(st, &dp);
	else
		xm_status_text(st, &dp);
	return 0;
}

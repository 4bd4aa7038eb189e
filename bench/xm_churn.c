// SPDX-License-Identifier: GPL-2.0
/*
 * xm-churn - publish rule tables as fast as possible, to measure the
 * publish rate and latency and to let a test look for torn reads.
 *
 * Three rules are published in a cycle of three table generations:
 *
 *   r1: udp dport P1 -> collector 1
 *   r2: udp dport P2 -> collector 2
 *   r3: udp dport P3 -> collectors 1 and 2
 *
 * Each generation puts the rules in a different (prio) order, so every
 * rule's table slot changes from one generation to the next, and the
 * generations differ in shape as well: all three hashed in one tuple,
 * r3 residual (a port range), or hashed on the port alone (no protocol,
 * another tuple).  A frame classified with the hash keys, tuples or
 * residual list of one generation and the rules array of another lands
 * on another rule, and its copy reaches the wrong collector (a P1 frame
 * at collector 2 or a P2 frame at collector 1) or none at all.
 *
 * Why three and not two: the table has two halves that are written
 * alternately, so with two generations each half would always receive
 * the generation it already holds and a publish would rewrite nothing.
 * With three, every publish changes every slot and key of the half it
 * writes.
 *
 * The device lock is held for the whole run so that no mirrorctl change
 * is lost under the churn; the table that was live at the start is
 * published again at the end (unless --keep).  Prints one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "xm_maps.h"
#include "xm_rules.h"
#include "xm_table.h"

#define CHURN_NGEN 3
#define CHURN_NRULES 3

struct churn_opts {
	const char *dev;
	const char *coll[2];
	__u16 port[CHURN_NRULES];
	double duration;
	int keep;
};

static volatile sig_atomic_t churn_stop;

static void churn_on_signal(int sig)
{
	(void)sig;
	churn_stop = 1;
}

static __u64 churn_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static void churn_usage(FILE *f)
{
	fputs("usage: xm-churn --dev IFACE --coll1 NAME --coll2 NAME [--duration SEC]\n"
	      "                [--port1 N] [--port2 N] [--port3 N] [--keep]\n"
	      "Publishes three generations of three rules (udp dport port1 -> coll1,\n"
	      "port2 -> coll2, port3 -> both; default ports 1000 2000 3000) in a cycle,\n"
	      "as fast as it can for SEC seconds (default 3), holding the device lock;\n"
	      "then restores the table that was live (unless --keep).  Prints JSON:\n"
	      "publishes, publishes per second, publish latency avg/p50/p99/max (us).\n",
	      f);
}

static int churn_num(const char *opt, const char *s, unsigned long max,
		     unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > max) {
		fprintf(stderr, "xm-churn: bad value '%s' for %s (0-%lu)\n", s,
			opt, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int churn_parse(int argc, char **argv, struct churn_opts *o)
{
	static const struct option lopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "coll1", required_argument, NULL, '1' },
		{ "coll2", required_argument, NULL, '2' },
		{ "duration", required_argument, NULL, 't' },
		{ "port1", required_argument, NULL, 'a' },
		{ "port2", required_argument, NULL, 'b' },
		{ "port3", required_argument, NULL, 'c' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int c, i, j;

	o->port[0] = 1000;
	o->port[1] = 2000;
	o->port[2] = 3000;
	o->duration = 3;
	while ((c = getopt_long(argc, argv, "d:t:kh", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->dev = optarg;
			break;
		case '1':
		case '2':
			o->coll[c - '1'] = optarg;
			break;
		case 't':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !(o->duration > 0 && o->duration <= 3600)) {
				fprintf(stderr, "xm-churn: bad value '%s' for --duration (0-3600 s)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'a':
		case 'b':
		case 'c':
			/* port3 is a range of 10 ports in one generation */
			if (churn_num(c == 'a' ? "--port1" :
				      c == 'b' ? "--port2" : "--port3",
				      optarg, c == 'c' ? 65535 - 9 : 65535, &v))
				return -EINVAL;
			o->port[c - 'a'] = (__u16)v;
			break;
		case 'k':
			o->keep = 1;
			break;
		case 'h':
			churn_usage(stdout);
			exit(0);
		default:
			churn_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xm-churn: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->dev || !o->coll[0] || !o->coll[1]) {
		churn_usage(stderr);
		return -EINVAL;
	}
	/* Distinct ports, and port3's range (port3..port3+9) apart from
	 * the others, so each frame matches exactly one rule. */
	for (i = 0; i < CHURN_NRULES; i++)
		for (j = i + 1; j < CHURN_NRULES; j++)
			if (o->port[i] == o->port[j]) {
				fprintf(stderr, "xm-churn: ports must differ (%u given twice)\n",
					o->port[i]);
				return -EINVAL;
			}
	for (i = 0; i < 2; i++)
		if (o->port[i] >= o->port[2] && o->port[i] <= o->port[2] + 9) {
			fprintf(stderr, "xm-churn: port%d %u is inside port3's range %u-%u\n",
				i + 1, o->port[i], o->port[2], o->port[2] + 9);
			return -EINVAL;
		}
	return 0;
}

/* Collector id of name, or a negative errno. */
static int churn_coll_id(int fd, const char *name)
{
	struct xm_collector c;
	__u32 i;

	for (i = 0; i < XM_MAX_COLLECTORS; i++) {
		if (bpf_map_lookup_elem(fd, &i, &c))
			return -errno;
		c.name[XM_NAME_LEN - 1] = '\0';
		if (c.name[0] && !strcmp(c.name, name))
			return (int)i;
	}
	fprintf(stderr, "xm-churn: no collector '%s'\n", name);
	return -ENOENT;
}

/*
 * Generation g of the rules, sorted.  Rule k gets prio 10 * (1 + (k - g)
 * mod 3): generation 0 orders r1 r2 r3, generation 1 r3 r1 r2, generation
 * 2 r2 r3 r1, so each rule's slot moves every time.
 */
static void churn_gen(const struct churn_opts *o, const __u32 *ids,
		      const __u64 *masks, int g, struct xm_rule *t)
{
	int k;

	for (k = 0; k < CHURN_NRULES; k++) {
		struct xm_rule *r = &t[k];
		__u16 hi = o->port[k];

		memset(r, 0, sizeof(*r));
		r->id = ids[k];
		r->prio = 10 * (1 + (__u32)((k - g + CHURN_NGEN) % CHURN_NGEN));
		r->coll_mask = masks[k];
		/* Generation 2: the port alone, another tuple shape. */
		if (g != 2)
			xm_rule_set_proto(r, 17);
		/* Generation 1: r3 as a range, a residual rule. */
		if (g == 1 && k == 2)
			hi = (__u16)(o->port[k] + 9);
		xm_rule_set_ports(r, true, o->port[k], hi);
	}
	xm_rules_sort(t, CHURN_NRULES);
}

static int churn_u64_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct xm_rule gen[CHURN_NGEN][CHURN_NRULES];
	struct xm_rule *orig = NULL, *prev = NULL;
	__u64 *lat = NULL, t0, t1, start, end, sum = 0, masks[CHURN_NRULES];
	size_t nlat = 0, cap = 0;
	struct churn_opts o = { 0 };
	struct xm_maps maps;
	struct xm_table tb;
	__u32 norig = 0, nprev = 0, ids[CHURN_NRULES];
	int lock = -1, err, k, cid[2], opened = 0;
	double secs;

	xm_maps_init(&maps);
	if (churn_parse(argc, argv, &o))
		return 2;
	signal(SIGINT, churn_on_signal);
	signal(SIGTERM, churn_on_signal);

	err = xm_maps_open(o.dev, &maps);
	if (err) {
		fprintf(stderr, "xm-churn: cannot open the maps of '%s': %s\n",
			o.dev, strerror(-err));
		return 1;
	}
	lock = xm_lock(o.dev);
	if (lock < 0) {
		err = lock;
		fprintf(stderr, "xm-churn: cannot lock '%s': %s\n", o.dev,
			strerror(-err));
		goto out;
	}
	err = xm_table_open(&tb, &maps);
	if (err) {
		fprintf(stderr, "xm-churn: cannot map the tables: %s\n",
			strerror(-err));
		goto out;
	}
	opened = 1;
	orig = calloc(XM_MAX_RULES, sizeof(*orig));
	prev = calloc(XM_MAX_RULES, sizeof(*prev));
	if (!orig || !prev) {
		err = -ENOMEM;
		goto out;
	}
	err = xm_table_read(&tb, orig, &norig);
	if (!err)
		err = xm_table_read_old(&tb, prev, &nprev);
	if (err) {
		fprintf(stderr, "xm-churn: cannot read the rule table: %s\n",
			strerror(-err));
		goto out;
	}
	for (k = 0; k < 2; k++) {
		cid[k] = churn_coll_id(maps.collectors, o.coll[k]);
		if (cid[k] < 0) {
			err = cid[k];
			goto out;
		}
	}
	masks[0] = 1ull << cid[0];
	masks[1] = 1ull << cid[1];
	masks[2] = masks[0] | masks[1];
	/* Ids used by neither half (one may still be read) nor each other;
	 * their counters start at zero like a new rule's. */
	if (norig > XM_MAX_RULES - CHURN_NRULES) {
		fprintf(stderr, "xm-churn: the rule table is full\n");
		err = -ENOSPC;
		goto out;
	}
	for (k = 0; k < CHURN_NRULES; k++) {
		ids[k] = xm_rules_free_id(orig, norig + (__u32)k, prev, nprev);
		if (!ids[k]) {
			fprintf(stderr, "xm-churn: no free rule id\n");
			err = -ENOSPC;
			goto out;
		}
		/* Reserve it: the room after the live rules is spare. */
		orig[norig + (__u32)k].id = ids[k];
		err = xm_rule_stats_zero(maps.rule_stats, ids[k]);
		if (err) {
			fprintf(stderr, "xm-churn: cannot reset rule counters: %s\n",
				strerror(-err));
			goto out;
		}
	}
	for (k = 0; k < CHURN_NGEN; k++)
		churn_gen(&o, ids, masks, k, gen[k]);

	start = churn_ns();
	end = start + (__u64)(o.duration * 1e9);
	for (t1 = start; t1 < end && !churn_stop;) {
		if (nlat == cap) {
			__u64 *p = realloc(lat, (cap ? cap * 2 : 65536) * sizeof(*lat));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			lat = p;
			cap = cap ? cap * 2 : 65536;
		}
		t0 = churn_ns();
		err = xm_table_publish(&tb, gen[nlat % CHURN_NGEN],
				       CHURN_NRULES);
		t1 = churn_ns();
		if (err) {
			fprintf(stderr, "xm-churn: publish %zu failed: %s\n",
				nlat + 1, strerror(-err));
			break;
		}
		lat[nlat++] = t1 - t0;
		sum += t1 - t0;
	}
	secs = (double)(t1 - start) / 1e9;
	/* Even after a failed publish: leave the operator's table live. */
	if (!o.keep) {
		int err2 = xm_table_publish(&tb, orig, norig);

		if (err2)
			fprintf(stderr, "xm-churn: cannot restore the rule table: %s\n",
				strerror(-err2));
		if (!err)
			err = err2;
	}
	if (err)
		goto out;
	if (!nlat) {
		fprintf(stderr, "xm-churn: no publish done\n");
		err = -EINTR;
		goto out;
	}
	qsort(lat, nlat, sizeof(*lat), churn_u64_cmp);
	printf("{\"dev\": \"%s\", \"generations\": %d, \"rule_ids\": [%u, %u, %u], "
	       "\"seconds\": %.3f, \"publishes\": %zu, \"publishes_per_s\": %.1f, "
	       "\"latency_us\": {\"avg\": %.1f, \"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}, "
	       "\"restored\": %s}\n",
	       o.dev, CHURN_NGEN, ids[0], ids[1], ids[2], secs, nlat,
	       secs > 0 ? (double)nlat / secs : 0.0,
	       (double)sum / (double)nlat / 1e3,
	       (double)lat[(nlat - 1) / 2] / 1e3,
	       (double)lat[(nlat - 1) * 99 / 100] / 1e3,
	       (double)lat[nlat - 1] / 1e3, o.keep ? "false" : "true");
	err = 0;
out:
	if (opened)
		xm_table_close(&tb);
	xm_unlock(lock);
	xm_maps_close(&maps);
	free(orig);
	free(prev);
	free(lat);
	return err ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/* xm_table.c - generations of the classifier's tables; see xm_table.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xm_classify.h"
#include "xm_table.h"

/* A hash entry of one half: key and the table slot it leads to. */
struct xm_kv {
	struct xm_rule_key key;
	__u32 slot;
};

/* The tables of one half as computed from its rules. */
struct xm_layout {
	struct xm_tuple tuples[XM_MAX_TUPLES];
	__u32 ntuples;
	__u32 *resid;		/* XM_MAX_RULES */
	__u32 nresid;
	struct xm_kv *kv;	/* XM_MAX_RULES */
	__u32 nkv;
	struct xm_rule_key *bkeys;	/* XM_HASH_CHUNK, for batch reads */
	__u32 *bvals;
};

static size_t xm_page_round(size_t sz)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	return (sz + p - 1) & ~(p - 1);
}

static void *xm_map_rw(int fd, size_t sz)
{
	void *p = mmap(NULL, xm_page_round(sz), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void xm_unmap(void *p, size_t sz)
{
	if (p)
		munmap(p, xm_page_round(sz));
}

/* An mmapped array map places elements round_up(value_size, 8) apart:
 * the value types below must already be multiples of 8 to be indexed
 * as C arrays. */
_Static_assert(sizeof(struct xm_rule) % 8 == 0, "xm_rule stride");
_Static_assert(sizeof(struct xm_tuple) % 8 == 0, "xm_tuple stride");
_Static_assert(XM_MAX_RULES < 0xffff, "xm_tuple.solo holds a slot + 1");

#define XM_RULES_SZ (2 * (size_t)XM_MAX_RULES * sizeof(struct xm_rule))
#define XM_TUPLES_SZ (2 * (size_t)XM_MAX_TUPLES * sizeof(struct xm_tuple))
#define XM_RESID_SZ (2 * (size_t)XM_MAX_RULES * sizeof(__u64))

int xm_table_open(struct xm_table *tb, const struct xm_maps *m)
{
	memset(tb, 0, sizeof(*tb));
	tb->hash_fd = m->rule_hash;
	tb->qsbr_fd = m->qsbr;
	tb->ctl = xm_map_rw(m->ctl, sizeof(struct xm_ctl));
	tb->rules = xm_map_rw(m->rules, XM_RULES_SZ);
	tb->tuples = xm_map_rw(m->tuples, XM_TUPLES_SZ);
	tb->resid = xm_map_rw(m->resid, XM_RESID_SZ);
	if (!tb->ctl || !tb->rules || !tb->tuples || !tb->resid) {
		int err = errno ? -errno : -ENOMEM;

		xm_table_close(tb);
		return err;
	}
	return 0;
}

static void xm_layout_free(struct xm_layout *l);
static struct xm_layout *xm_layout_new(void);

void xm_table_close(struct xm_table *tb)
{
	xm_layout_free(tb->scratch[0]);
	xm_layout_free(tb->scratch[1]);
	xm_unmap(tb->ctl, sizeof(struct xm_ctl));
	xm_unmap(tb->rules, XM_RULES_SZ);
	xm_unmap(tb->tuples, XM_TUPLES_SZ);
	xm_unmap(tb->resid, XM_RESID_SZ);
	memset(tb, 0, sizeof(*tb));
	tb->hash_fd = tb->qsbr_fd = -1;
}

static int xm_table_read_half(const struct xm_table *tb, __u32 idx,
			      __u32 cnt, struct xm_rule *t, __u32 *n)
{
	if (cnt > XM_MAX_RULES)
		return -EUCLEAN;
	memcpy(t, tb->rules + (size_t)idx * XM_MAX_RULES, cnt * sizeof(*t));
	*n = cnt;
	return 0;
}

int xm_table_read(const struct xm_table *tb, struct xm_rule *t, __u32 *n)
{
	__u32 sel = __atomic_load_n(&tb->ctl->rules_sel, __ATOMIC_ACQUIRE);

	return xm_table_read_half(tb, XM_SEL_IDX(sel), XM_SEL_COUNT(sel), t,
				  n);
}

/* Rules in a half: a zero id ends it (xm_table_publish writes one). */
static __u32 xm_half_count(const struct xm_rule *half)
{
	__u32 n = 0;

	while (n < XM_MAX_RULES && half[n].id)
		n++;
	return n;
}

int xm_table_read_old(const struct xm_table *tb, struct xm_rule *t,
		      __u32 *n)
{
	__u32 sel = __atomic_load_n(&tb->ctl->rules_sel, __ATOMIC_ACQUIRE);
	__u32 idx = XM_SEL_IDX(sel) ^ 1u;

	return xm_table_read_half(tb, idx,
				  xm_half_count(tb->rules +
						(size_t)idx * XM_MAX_RULES),
				  t, n);
}

/* ---- quiescence ------------------------------------------------------ */

static __u64 xm_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

static int xm_qsbr_read(int fd, struct xm_qsbr *v)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(fd, &key, v) ? -errno : 0;
}

int xm_qsbr_wait(int qsbr_fd, unsigned int timeout_ms)
{
	int ncpu = libbpf_num_possible_cpus(), i, err, busy;
	struct xm_qsbr *snap = NULL, *now = NULL;
	struct timespec pause = { 0, 20000 };
	__u64 deadline = xm_ms() + timeout_ms;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	snap = calloc((size_t)ncpu, sizeof(*snap));
	now = calloc((size_t)ncpu, sizeof(*now));
	err = snap && now ? xm_qsbr_read(qsbr_fd, snap) : -ENOMEM;
	while (!err) {
		err = xm_qsbr_read(qsbr_fd, now);
		if (err)
			break;
		/* A CPU that was inside at the snapshot blocks us until
		 * its counter moves; one that was outside never does. */
		for (i = 0, busy = 0; i < ncpu; i++)
			busy |= (snap[i].seq & 1) && now[i].seq == snap[i].seq;
		if (!busy)
			break;
		if (xm_ms() > deadline) {
			err = -ETIMEDOUT;
			break;
		}
		nanosleep(&pause, NULL);
	}
	free(snap);
	free(now);
	return err;
}

/* ---- layout of one half ------------------------------------------------ */

static int xm_tuple_same(const struct xm_tuple *a, const struct xm_tuple *b)
{
	struct xm_tuple x = *a, y = *b;

	x.min_prio = y.min_prio = 0;
	x.solo = y.solo = 0;
	return !memcmp(&x, &y, sizeof(x));
}

static int xm_kv_cmp(const void *a, const void *b)
{
	const struct xm_kv *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Tuple number of hashed rule r, adding a tuple when there is room;
 * -1 when the rule has to be residual. */
static int xm_layout_tuple(struct xm_layout *l, const struct xm_rule *r)
{
	struct xm_tuple t;
	__u32 i;

	xm_tuple_of(r, &t);
	for (i = 0; i < l->ntuples; i++)
		if (xm_tuple_same(&l->tuples[i], &t))
			return (int)i;
	if (l->ntuples == XM_MAX_TUPLES)
		return -1;
	/* Rules come in (prio, id) order: the first one sets min_prio,
	 * and tuples end up sorted by it. */
	t.min_prio = r->prio;
	l->tuples[l->ntuples] = t;
	return (int)l->ntuples++;
}

/* Mark the tuples left with one distinct key: the classifier checks
 * that rule directly.  Its hash entry stays (the table stays whole). */
static void xm_layout_solo(struct xm_layout *l)
{
	__u32 count[XM_MAX_TUPLES] = { 0 }, last[XM_MAX_TUPLES] = { 0 };
	__u32 i, ti;

	for (i = 0; i < l->nkv; i++) {
		ti = l->kv[i].key.tuple;
		if (ti >= XM_MAX_TUPLES)
			continue;
		count[ti]++;
		last[ti] = l->kv[i].slot;
	}
	for (ti = 0; ti < l->ntuples; ti++)
		l->tuples[ti].solo = count[ti] == 1 ? (__u16)(last[ti] + 1) : 0;
}

static int xm_u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* 1 when kv entry b has the key of a but its rule matches other frames:
 * different IPv6 addresses whose hashes are alike (xm_key_addr). */
static int xm_layout_collides(const struct xm_layout *l,
			      const struct xm_rule *t, const struct xm_kv *a,
			      const struct xm_kv *b)
{
	const struct xm_tuple *tu = &l->tuples[a->key.tuple];
	const struct xm_rule *ra = &t[a->slot], *rb = &t[b->slot];

	return xm_tuple_hashes_addr(tu) &&
	       !xm_tuple_addrs_same(tu, ra->src, ra->dst, rb->src, rb->dst);
}

/* Tuples, residual list and sorted, de-duplicated hash entries of the
 * sorted rules t[0..n) for half idx. */
static void xm_layout_build(struct xm_layout *l, const struct xm_rule *t,
			    __u32 n, __u32 idx)
{
	__u32 i, j, nresid;
	int ti;

	l->ntuples = l->nresid = l->nkv = 0;
	for (i = 0; i < n; i++) {
		ti = xm_rule_hashable(&t[i]) ? xm_layout_tuple(l, &t[i]) : -1;
		if (ti < 0) {
			l->resid[l->nresid++] = i;
			continue;
		}
		xm_rule_key_of_rule(&t[i], &l->tuples[ti], (__u32)ti, idx,
				    &l->kv[l->nkv].key);
		l->kv[l->nkv++].slot = i;
	}
	qsort(l->kv, l->nkv, sizeof(*l->kv), xm_kv_cmp);
	nresid = l->nresid;
	for (i = 0, j = 0; i < l->nkv; i++) {
		if (!j || memcmp(&l->kv[i].key, &l->kv[j - 1].key,
				 sizeof(l->kv[i].key))) {
			l->kv[j++] = l->kv[i];
			continue;
		}
		/* The first rule of equal keys (lowest slot, best (prio, id))
		 * takes the entry.  A later one matching the same frames can
		 * never win; one whose IPv6 addresses only hash alike is
		 * searched on its own. */
		if (xm_layout_collides(l, t, &l->kv[j - 1], &l->kv[i]))
			l->resid[l->nresid++] = l->kv[i].slot;
	}
	l->nkv = j;
	/* The residual list is searched in (prio, id), that is slot, order:
	 * rules moved there by a key collision must be merged in. */
	if (l->nresid != nresid)
		qsort(l->resid, l->nresid, sizeof(*l->resid), xm_u32_cmp);
	xm_layout_solo(l);
}

#define XM_HASH_CHUNK 1024

/*
 * The hash entries half idx holds now, read from the map itself rather
 * than derived from the half's rules: a publish that failed half way, or
 * was killed, leaves the two out of step, and stale keys would then
 * outlive every later publish.  Sorted like xm_layout_build's.
 */
static int xm_hash_read_half(int fd, __u32 idx, struct xm_layout *l)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 token = 0, count, i;
	void *in = NULL;
	int err;

	l->nkv = 0;
	for (;;) {
		count = XM_HASH_CHUNK;
		err = bpf_map_lookup_batch(fd, in, &token, l->bkeys, l->bvals,
					   &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < count; i++) {
			if (l->bkeys[i].gen != idx)
				continue;
			if (l->nkv == XM_MAX_RULES)
				return -EUCLEAN;
			l->kv[l->nkv].key = l->bkeys[i];
			l->kv[l->nkv++].slot = l->bvals[i];
		}
		if (err)
			break;	/* ENOENT: that was the last batch */
		in = &token;
	}
	qsort(l->kv, l->nkv, sizeof(*l->kv), xm_kv_cmp);
	return 0;
}

/* Work space for one half's layout, allocated once per xm_table: a
 * publish then costs no allocation (churn publishes thousands a second). */
static struct xm_layout *xm_layout_new(void)
{
	struct xm_layout *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->resid = calloc(XM_MAX_RULES, sizeof(*l->resid));
	l->kv = calloc(XM_MAX_RULES, sizeof(*l->kv));
	l->bkeys = calloc(XM_HASH_CHUNK, sizeof(*l->bkeys));
	l->bvals = calloc(XM_HASH_CHUNK, sizeof(*l->bvals));
	if (!l->resid || !l->kv || !l->bkeys || !l->bvals) {
		xm_layout_free(l);
		return NULL;
	}
	return l;
}

static void xm_layout_free(struct xm_layout *l)
{
	if (!l)
		return;
	free(l->resid);
	free(l->kv);
	free(l->bkeys);
	free(l->bvals);
	free(l);
}

/* Bring the hash entries of a half from old to new: delete what went
 * away, write what is new or leads elsewhere.  Both are sorted. */
static int xm_hash_sync(int fd, const struct xm_layout *old,
			const struct xm_layout *new)
{
	__u32 i = 0, j = 0;
	int c;

	while (i < old->nkv || j < new->nkv) {
		if (i == old->nkv)
			c = 1;
		else if (j == new->nkv)
			c = -1;
		else
			c = memcmp(&old->kv[i].key, &new->kv[j].key,
				   sizeof(old->kv[i].key));
		if (c < 0) {
			if (bpf_map_delete_elem(fd, &old->kv[i].key) &&
			    errno != ENOENT)
				return -errno;
			i++;
			continue;
		}
		if (c > 0 || old->kv[i].slot != new->kv[j].slot) {
			if (bpf_map_update_elem(fd, &new->kv[j].key,
						&new->kv[j].slot, BPF_ANY))
				return -errno;
		}
		if (c == 0)
			i++;
		j++;
	}
	return 0;
}

int xm_table_publish(struct xm_table *tb, const struct xm_rule *t, __u32 n)
{
	__u32 sel = __atomic_load_n(&tb->ctl->rules_sel, __ATOMIC_ACQUIRE);
	__u32 idx = XM_SEL_IDX(sel) ^ 1u, i;
	struct xm_rule *half = tb->rules + (size_t)idx * XM_MAX_RULES;
	__u64 *res = tb->resid + (size_t)idx * XM_MAX_RULES;
	struct xm_layout *old, *new;
	int err;

	if (n > XM_MAX_RULES)
		return -E2BIG;
	if (!tb->scratch[0])
		tb->scratch[0] = xm_layout_new();
	if (!tb->scratch[1])
		tb->scratch[1] = xm_layout_new();
	old = tb->scratch[0];
	new = tb->scratch[1];
	if (!old || !new)
		return -ENOMEM;
	/* Nothing may still be reading the half we are about to change. */
	err = xm_qsbr_wait(tb->qsbr_fd, 1000);
	if (err)
		return err;
	/* The keys the half holds now, and what it must hold. */
	err = xm_hash_read_half(tb->hash_fd, idx, old);
	if (err)
		return err;
	xm_layout_build(new, t, n, idx);
	err = xm_hash_sync(tb->hash_fd, old, new);
	if (err)
		return err;
	if (n)
		memcpy(half, t, n * sizeof(*t));
	/* A zero id ends the half (xm_half_count). */
	if (n < XM_MAX_RULES)
		memset(&half[n], 0, sizeof(*half));
	memcpy(tb->tuples + (size_t)idx * XM_MAX_TUPLES, new->tuples,
	       new->ntuples * sizeof(new->tuples[0]));
	for (i = 0; i < new->nresid; i++)
		res[i] = new->resid[i];
	tb->ctl->gen[idx].ntuples = new->ntuples;
	tb->ctl->gen[idx].nresid = new->nresid;
	/* The flip: everything above is visible before the new index. */
	__atomic_store_n(&tb->ctl->rules_sel, XM_SEL_MAKE(idx, n),
			 __ATOMIC_RELEASE);
	__atomic_fetch_add(&tb->ctl->rule_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

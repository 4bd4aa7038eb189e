/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon.h - the mirror-appliance daemon's context, shared by main.c,
 * daemon.c and worker.c.
 */
#ifndef XM_DAEMON_H
#define XM_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/types.h>
#include <net/if.h>

#include "xm_types.h"
#include "xm_encap.h"
#include "xm_maps.h"
#include "nexthop.h"
#include "xsk.h"

struct xm_opts {
	char dev[IF_NAMESIZE];
	char tx_dev[IF_NAMESIZE];
	unsigned int ifindex;
	unsigned int tx_ifindex;
	unsigned int queues;
	unsigned int ncores;		/* 0: worker i on CPU i % nproc */
	int cores[XM_MAX_QUEUES];
	__u32 datapath;			/* enum xm_datapath */
	bool foreground;
	/* host mode (issue 6): --mode, --direction (XM_DIR_* mask) */
	__u32 mode;			/* enum xm_mode */
	__u32 host_dir;
};

/* Immutable once published; replaced as a whole. */
struct xm_tmpl_table {
	__u64 gen;
	struct xm_tmpl_ent ent[XM_MAX_COLLECTORS];
};

struct xm_daemon;

/* One per RX queue; only its own thread touches the hot fields. */
struct xm_worker {
	struct xm_daemon *d;
	unsigned int id;
	int cpu;
	pthread_t thread;
	bool started;
	struct xm_xsk_queue *q;
	__u8 *area;
	struct xm_coll_stats *cs;	/* this worker's XM_MAX_COLLECTORS rows */
	struct xm_worker_stats *ws;
	__u64 *free;			/* free frames (chunk addresses) */
	__u32 nfree;
	__u32 free_cap;
	__u64 *recycle;			/* frames to give back this batch */
	__u32 nrecycle;
	__u32 recycle_cap;
	__u32 tstamp;			/* ERSPAN III time of this batch */
	/* Generation of the template table this worker last picked up;
	 * written by the worker, read by the main thread. */
	__u64 seen_gen;
	int wake_fd;			/* eventfd: stop, or a new table */
};

#define XM_RETIRED_MAX 16

struct xm_daemon {
	struct xm_opts opt;
	struct mirror_bpf *skel;
	struct xm_host *host;		/* host mode (host.c), else NULL */
	struct xm_maps maps;		/* fds of the skeleton's maps */
	__u32 attach_flags;		/* XDP mode actually attached */
	bool attached;
	bool pinned;
	struct xm_xsk_set *xsk;
	void *coll_stats_mem;
	size_t coll_stats_len;
	void *worker_stats_mem;
	size_t worker_stats_len;
	struct xm_ctl *ctl;		/* mmap; we write fast_sel, rt_off_ns */
	size_t ctl_len;
	struct xm_nl nl;
	bool nl_open;
	bool tx_xmit;			/* TX device takes XDP redirects */
	bool ready;			/* published to dpinfo */
	struct bpf_link *tp[3];		/* fast-path redirect failure counters */
	__u8 tx_mac[6];
	__u32 tx_mtu;
	struct xm_tmpl_table *tmpl;	/* published, atomic acquire/release */
	struct xm_tmpl_table *retired[XM_RETIRED_MAX];
	unsigned int nretired;
	__u64 warned_dev;		/* collectors whose bad dev was logged */
	__u64 warned_route;		/* ... whose missing route was logged */
	__u64 last_solicit[XM_MAX_COLLECTORS];	/* ms, per collector */
	/* GRE/ERSPAN sequence numbers: the mmapped seqs map, shared with
	 * the XDP fast path. */
	struct xm_seq *seq;
	size_t seq_len;
	int stop;			/* atomic: workers exit when set */
	struct xm_worker w[XM_MAX_QUEUES];
	struct xm_collector coll_buf[XM_MAX_COLLECTORS];	/* refresh's */
};

/* daemon.c */
int xm_daemon_start(struct xm_daemon *d, char *msg, size_t len);
void xm_daemon_run(struct xm_daemon *d, volatile const int *quit);
void xm_daemon_stop(struct xm_daemon *d);
int xm_daemon_publish_ready(struct xm_daemon *d);

/* worker.c */
int xm_worker_init(struct xm_worker *w, struct xm_daemon *d,
		   unsigned int id, int cpu);
int xm_worker_start(struct xm_worker *w);
void xm_worker_wake(struct xm_worker *w);
void xm_worker_join(struct xm_worker *w);
void xm_worker_fini(struct xm_worker *w);

int xm_xdp_detach_ours(unsigned int ifindex);
bool xm_prog_named(__u32 id, const char *prefix);
__u32 xm_pinned_pid(const char *dev);
bool xm_pid_alive(pid_t pid);

/* main.c helpers used by daemon.c */
void xm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* XM_DAEMON_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_maps.h - user-space access to a device's pinned maps, shared by the
 * daemon (which creates and pins them) and mirrorctl (which opens them).
 */
#ifndef XM_MAPS_H
#define XM_MAPS_H

#include <stddef.h>
#include <net/if.h>

#include "xm_types.h"

struct xm_maps {
	int rules;
	int ctl;
	int collectors;
	int dev_stats;
	int rule_stats;
	int coll_stats;
	int worker_stats;
	int xsks;
	int dpinfo;
	int tuples;
	int resid;
	int rule_hash;
	int filters;
	int qsbr;
	int fast;
	int fast_stats;
	int seqs;
	int tx_ports;
};

#define XM_NMAPS (sizeof(struct xm_maps) / sizeof(int))

/* Pinned file name of the i-th fd of struct xm_maps. */
const char *xm_map_name(unsigned int i);

/* Mount bpffs on /sys/fs/bpf when nothing is mounted there. */
int xm_bpffs_ensure(void);

/* XM_PIN_ROOT/<dev> into buf. -ENAMETOOLONG when it does not fit. */
int xm_pin_dir(const char *dev, char *buf, size_t len);

/* Open every pinned map of dev; -ENOENT when no appliance runs there.
 * On error no fd is left open. */
int xm_maps_open(const char *dev, struct xm_maps *m);
void xm_maps_init(struct xm_maps *m);	/* all fds -1 */
void xm_maps_close(struct xm_maps *m);

/* Pin the maps (mode 0600) under XM_PIN_ROOT/<dev>/; unpin removes the
 * files and the directory.  Unpin ignores files already gone. */
int xm_maps_pin(const char *dev, const struct xm_maps *m);
int xm_maps_unpin(const char *dev);

/* Names of devices that have a pin directory; returns the count (at most
 * max) or a negative errno. */
int xm_pinned_devs(char (*names)[IF_NAMESIZE], int max);

/* Sum a per-CPU stats value of nwords __u64 counters into out. */
int xm_percpu_sum(int map_fd, __u32 key, __u64 *out, unsigned int nwords);

/* Serialise writers of one device's tables (flock on a file in the pin
 * directory).  Returns an fd to pass to xm_unlock, or a negative errno. */
int xm_lock(const char *dev);
void xm_unlock(int fd);

#endif /* XM_MAPS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_maps.bpf.h - the maps every xdp-mirror BPF object defines: rules,
 * classifier state, collectors and counters.  mirrorctl and the datapath
 * find them by these names under the device's pin directory, whichever
 * object (appliance or host mode) created them.
 */
#ifndef XM_MAPS_BPF_H
#define XM_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xm_types.h"
#include "xm_encap.h"

/* Both table halves; mmapable so that mirrorctl writes 10 000 rules with
 * memcpy, not 10 000 system calls. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_TUPLES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_tuple);
} tuples SEC(".maps");

/* __u64 values: an mmapped array lays elements out 8 bytes apart. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} resid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * XM_MAX_RULES);
	__type(key, struct xm_rule_key);
	__type(value, __u32);
} rule_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct xm_filter);
} filters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_qsbr);
} qsbr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_ctl);
} ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_COLLECTORS);
	__type(key, __u32);
	__type(value, struct xm_collector);
} collectors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_dev_stats);
} dev_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XM_MAX_RULE_ID);
	__type(key, __u32);
	__type(value, struct xm_rule_stats);
} rule_stats SEC(".maps");

/* Written by the datapath through mmap; pinned here so every counter of
 * a device lives under one directory. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_QUEUES * XM_MAX_COLLECTORS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_coll_stats);
} coll_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_QUEUES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_worker_stats);
} worker_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xm_dpinfo);
} dpinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XM_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* Collector templates for the XDP fast path: two halves of
 * XM_MAX_COLLECTORS, ctl.fast_sel says which is live.  Written by the
 * daemon (the same entries its workers use). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XM_MAX_COLLECTORS);
	__type(key, __u32);
	__type(value, struct xm_tmpl_ent);
} fast SEC(".maps");

/* The fast path's copies, per collector: the same counters as the
 * workers' rows in coll_stats. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XM_MAX_COLLECTORS);
	__type(key, __u32);
	__type(value, struct xm_coll_stats);
} fast_stats SEC(".maps");

/* GRE/ERSPAN sequence numbers, mmapped by the workers. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XM_MAX_COLLECTORS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xm_seq);
} seqs SEC(".maps");

/* Key 0: the TX device the fast path redirects to. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

#endif /* XM_MAPS_BPF_H */

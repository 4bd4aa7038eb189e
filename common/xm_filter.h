/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xm_filter.h - pcap-filter expressions ("tcp port 9091 and not host
 * 10.1.1.1") compiled by libpcap into the classic BPF program the XDP
 * program interprets (include/xm_cbpf.h).
 */
#ifndef XM_FILTER_H
#define XM_FILTER_H

#include <stddef.h>

#include "xm_cbpf.h"

/* Snap length of the dead handle: what a matching program returns. */
#define XM_FILTER_SNAPLEN 65535

/*
 * Compile expr for Ethernet frames (DLT_EN10MB, optimised) into *out.
 * Returns 0, or a negative errno with a message naming the expression in
 * err (when err is not NULL; errlen bytes, always terminated):
 *   -EINVAL  libpcap rejected the expression (its own error text follows);
 *   -E2BIG   it compiles to more than XM_CBPF_MAX_INSNS instructions;
 *   -ENOTSUP libpcap emitted an instruction the interpreter does not run;
 *   -ENOMEM  no pcap handle.
 * *out is only written on success.
 */
int xm_filter_compile(const char *expr, struct xm_cbpf_prog *out, char *err,
		      size_t errlen);

#endif /* XM_FILTER_H */

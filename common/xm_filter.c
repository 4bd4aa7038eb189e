// SPDX-License-Identifier: GPL-2.0
/*
 * xm_filter.c - compile pcap-filter expressions with libpcap.
 *
 * A dead handle stands in for a capture: compiling needs only the link
 * type, and DLT_EN10MB on a dead handle makes libpcap test VLAN tags in
 * the frame itself instead of asking Linux for the tag the NIC stripped
 * (SKF_AD_VLAN_TAG), which an XDP program could not answer the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "xm_filter.h"

_Static_assert(sizeof(struct xm_cbpf_insn) == sizeof(struct bpf_insn),
	       "struct xm_cbpf_insn must have libpcap's struct bpf_insn layout");

__attribute__((format(printf, 3, 4)))
static void xm_filter_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int xm_filter_compile(const char *expr, struct xm_cbpf_prog *out, char *err,
		      size_t errlen)
{
	struct bpf_program bp = { 0 };
	struct xm_cbpf_prog *prog = NULL;
	pcap_t *p;
	u_int i;
	int bad, ret = 0;

	if (!expr || !out) {
		xm_filter_err(err, errlen, "no filter expression");
		return -EINVAL;
	}
	p = pcap_open_dead(DLT_EN10MB, XM_FILTER_SNAPLEN);
	if (!p) {
		xm_filter_err(err, errlen, "filter '%s': cannot open a pcap handle",
			      expr);
		return -ENOMEM;
	}
	if (pcap_compile(p, &bp, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		xm_filter_err(err, errlen, "bad filter '%s': %s", expr,
			      pcap_geterr(p));
		ret = -EINVAL;
		goto out_close;
	}
	if (!bp.bf_len || bp.bf_len > XM_CBPF_MAX_INSNS) {
		xm_filter_err(err, errlen,
			      "filter compiles to %u instructions (max %u): '%s'",
			      bp.bf_len, XM_CBPF_MAX_INSNS, expr);
		ret = -E2BIG;
		goto out_free;
	}
	/* Built aside so that *out stays untouched on failure. */
	prog = calloc(1, sizeof(*prog));
	if (!prog) {
		xm_filter_err(err, errlen, "filter '%s': out of memory", expr);
		ret = -ENOMEM;
		goto out_free;
	}
	prog->len = bp.bf_len;
	for (i = 0; i < bp.bf_len; i++) {
		prog->insns[i].code = bp.bf_insns[i].code;
		prog->insns[i].jt = bp.bf_insns[i].jt;
		prog->insns[i].jf = bp.bf_insns[i].jf;
		prog->insns[i].k = bp.bf_insns[i].k;
	}
	/* The interpreter would reject these frame by frame (no match);
	 * refusing the rule says why. */
	bad = xm_cbpf_check(prog);
	if (bad >= 0) {
		xm_filter_err(err, errlen,
			      "filter '%s': instruction %d (code 0x%02x) is not supported by the XDP filter",
			      expr, bad, (unsigned int)(bad < (int)bp.bf_len ?
				bp.bf_insns[bad].code : 0));
		ret = -ENOTSUP;
		goto out_free;
	}
	memcpy(out, prog, sizeof(*out));
out_free:
	free(prog);
	pcap_freecode(&bp);
out_close:
	pcap_close(p);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * xm_progcost.c - CPU cost of the XDP program attached to a device, per
 * frame, without a generator: BPF_PROG_TEST_RUN in live-frame mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES) runs the program on fresh copies of one
 * frame, as if received on the device, and really performs its
 * redirects (devmap transmit, AF_XDP socket).  The kernel's own timing
 * of the loop is divided by the repetitions.  The machine's noise is
 * what is left; compare programs measured in one run.
 *
 *   xm-progcost --dev IFACE --frame FILE [--repeat N] [--runs R]
 *
 * Prints one JSON line: the program id and the ns per frame of each run.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PC_FRAME_MAX 4096
#define PC_BATCH 64

struct pc_opts {
	const char *dev;
	const char *frame;
	unsigned int repeat;
	unsigned int runs;
};

static int pc_usage(FILE *f, int rc)
{
	fputs("usage: xm-progcost --dev IFACE --frame FILE [--repeat N] [--runs R]\n"
	      "Runs the XDP program attached to IFACE on FILE (one frame) N times\n"
	      "per run (default 1000000, 3 runs), live: redirects really happen.\n",
	      f);
	return rc;
}

static int pc_uint(const char *opt, const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || !v || v > 100000000UL) {
		fprintf(stderr, "xm-progcost: %s '%s': not a count\n", opt, s);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int pc_parse(int argc, char **argv, struct pc_opts *o)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "frame", required_argument, NULL, 'f' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->dev = optarg; break;
		case 'f': o->frame = optarg; break;
		case 'n': if (pc_uint("--repeat", optarg, &o->repeat)) return -EINVAL; break;
		case 'r': if (pc_uint("--runs", optarg, &o->runs)) return -EINVAL; break;
		case 'h': exit(pc_usage(stdout, 0));
		default: return -EINVAL;
		}
	}
	if (!o->dev || !o->frame || optind != argc) {
		pc_usage(stderr, 1);
		return -EINVAL;
	}
	return 0;
}

/* The program attached to ifindex, native mode first. */
static int pc_prog_fd(unsigned int ifindex, __u32 *id)
{
	if ((bpf_xdp_query_id((int)ifindex, XDP_FLAGS_DRV_MODE, id) || !*id) &&
	    (bpf_xdp_query_id((int)ifindex, XDP_FLAGS_SKB_MODE, id) || !*id))
		return -ENOENT;
	return bpf_prog_get_fd_by_id(*id);
}

static int pc_read_frame(const char *path, unsigned char *buf, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	*len = fread(buf, 1, PC_FRAME_MAX, f);
	fclose(f);
	return *len >= 14 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct pc_opts o = { .repeat = 1000000, .runs = 3 };
	unsigned char frame[PC_FRAME_MAX];
	unsigned int ifindex, i;
	struct xdp_md ctx;
	size_t len = 0;
	__u32 id = 0;
	int fd, err;

	if (pc_parse(argc, argv, &o))
		return 1;
	ifindex = if_nametoindex(o.dev);
	if (!ifindex) {
		fprintf(stderr, "xm-progcost: --dev '%s': no such device\n", o.dev);
		return 1;
	}
	err = pc_read_frame(o.frame, frame, &len);
	if (err) {
		fprintf(stderr, "xm-progcost: --frame '%s': %s\n", o.frame,
			strerror(-err));
		return 1;
	}
	fd = pc_prog_fd(ifindex, &id);
	if (fd < 0) {
		fprintf(stderr, "xm-progcost: %s has no XDP program\n", o.dev);
		return 1;
	}
	printf("{\"prog_id\":%u,\"ns_per_frame\":[", id);
	for (i = 0; i < o.runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame,
			    .data_size_in = (__u32)len, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = o.repeat,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = PC_BATCH);

		memset(&ctx, 0, sizeof(ctx));
		ctx.data_end = (__u32)len;
		ctx.ingress_ifindex = ifindex;
		err = bpf_prog_test_run_opts(fd, &t);
		if (err) {
			fprintf(stderr, "\nxm-progcost: test run: %s\n",
				strerror(-err));
			close(fd);
			return 1;
		}
		printf("%s%u", i ? "," : "", t.duration);
	}
	printf("]}\n");
	close(fd);
	return 0;
}

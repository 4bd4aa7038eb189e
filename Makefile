# SPDX-License-Identifier: GPL-2.0
# xdp-mirror build.  `make` builds build/mirror-appliance and build/mirrorctl;
# `make SAN=1 O=build/san` builds the ASan/UBSan variant the tests use.

O ?= build
SAN ?= 0
PREFIX ?= /usr/local

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH_INC := /usr/include/$(shell gcc -dumpmachine)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Icommon -I$(O)
LDLIBS := -lxdp -lbpf -lelf -lz -lmnl -lpthread
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -Iinclude -I$(ARCH_INC)

HDRS := $(wildcard include/*.h include/proto/*.h common/*.h datapath/*.h ctl/*.h)
COMMON_SRCS := $(wildcard common/*.c)
DP_SRCS := $(wildcard datapath/*.c)
CTL_SRCS := $(wildcard ctl/*.c)

COMMON_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(COMMON_SRCS))
DP_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(DP_SRCS))
CTL_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(CTL_SRCS))

SKELS := $(O)/mirror.skel.h $(O)/host.skel.h $(O)/host_xdp.skel.h
BINS := $(O)/mirror-appliance $(O)/mirrorctl $(O)/xm-gen $(O)/xm-churn
BPF_OBJS := $(O)/mirror.bpf.o $(O)/host.bpf.o $(O)/host_xdp.bpf.o
TEST_BINS := $(patsubst tests/unit/%.c,$(O)/%,$(wildcard tests/unit/test_*.c))

.PRECIOUS: $(O)/%.bpf.o $(O)/%.skel.h
.PHONY: all deps install uninstall clean test test-bins demo bench bench-quick xdp-cost fmt

all: $(BINS)

$(O)/%.bpf.o: xdp/%.bpf.c $(HDRS) $(wildcard xdp/*.bpf.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(O)/obj/%.o: %.c $(HDRS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/mirror-appliance: $(DP_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/mirrorctl: $(CTL_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/xm-gen: $(O)/obj/bench/xm_gen.o $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/xm-churn: $(O)/obj/bench/xm_churn.o $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/test_%: tests/unit/test_%.c $(COMMON_OBJS) $(HDRS) $(SKELS) $(wildcard tests/unit/*.h)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON_OBJS) $(LDLIBS)

# pcap-filter rules: common/xm_filter.c compiles them with libpcap.  The
# cBPF interpreter's test runs it in an XDP program of its own.
LDLIBS += -lpcap
$(O)/%.bpf.o: tests/unit/%.bpf.c $(HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(O)/test_cbpf: $(O)/cbpf_test.skel.h
# NAPI on a collector-side veth, so the appliance's XDP fast path can
# redirect into it (tests/lib/netns.sh).
$(O)/%.bpf.o: tests/lib/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

test-bins: $(BINS) $(TEST_BINS) $(BPF_OBJS) $(O)/xdp_pass.bpf.o
# Another party's tc program next to host mode (tests/e2e/test_host_mode.sh).
test-bins: $(O)/tc_count.bpf.o

# Benchmark (issue 7): xm-ref loads the reference systems (AF_XDP
# ceiling, XDP-native limit) and the XDP frame counter of bench/*.bpf.c;
# bench/bench.py runs every system.  `make test` runs bench-quick through
# tests/bench/test_bench_quick.sh, so the san build needs xm-ref too.
BENCH_SKELS := $(O)/count.skel.h $(O)/ref_xsk.skel.h $(O)/ref_native.skel.h
$(O)/%.bpf.o: bench/%.bpf.c bench/bench_ref.h $(HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(O)/obj/bench/xm_ref.o: $(BENCH_SKELS) bench/bench_ref.h
$(O)/xm-ref: $(O)/obj/bench/xm_ref.o $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
test-bins: $(O)/xm-ref
# The XDP programs' own cost per frame (bench/xdp_cost.sh).
$(O)/xm-progcost: $(O)/obj/bench/xm_progcost.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
xdp-cost: all $(O)/xm-ref $(O)/xm-progcost $(O)/xdp_pass.bpf.o
	XM_BIN=$(CURDIR)/$(O) bench/xdp_cost.sh
bench: deps all $(O)/xm-ref
	XM_BIN=$(CURDIR)/$(O) /usr/bin/python3 bench/bench.py
bench-quick: all $(O)/xm-ref
	XM_BIN=$(CURDIR)/$(O) /usr/bin/python3 bench/bench.py --quick

# Debian packages the project needs to build, test, demo and bench.
DEPS := clang llvm gcc make pkg-config bpftool libbpf-dev libxdp-dev \
	libelf-dev zlib1g-dev libpcap-dev libmnl-dev libcmocka-dev \
	iproute2 ethtool tcpdump tshark python3-scapy iperf3 \
	python3-matplotlib
deps:
	@if dpkg-query -W -f='$${Status}\n' $(DEPS) 2>/dev/null | grep -vq 'install ok installed' || \
	   [ "$$(dpkg-query -W -f='$${Status}\n' $(DEPS) 2>/dev/null | wc -l)" -ne "$(words $(DEPS))" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEPS); \
	else echo "deps: all $(words $(DEPS)) packages present"; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(O)/mirror-appliance $(O)/mirrorctl $(DESTDIR)$(PREFIX)/sbin/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/mirror-appliance $(DESTDIR)$(PREFIX)/sbin/mirrorctl

test: deps
	$(MAKE) O=build/san SAN=1 test-bins
	XM_BIN=$(CURDIR)/build/san tests/run.sh

demo: deps all $(O)/xdp_pass.bpf.o
	XM_BIN=$(CURDIR)/$(O) scripts/demo.sh $(DEV)

clean:
	rm -rf build

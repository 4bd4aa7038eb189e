#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make xdp-cost: the CPU cost per 64-byte frame of each XDP program on the
# same veth topology (tests/lib/netns.sh; the collector side drops with
# xm-ref count), measured by xm-progcost (BPF_PROG_TEST_RUN, live frames:
# redirects and transmits really happen, no generator in the figure):
#   xdp-native        xm-ref native: prepend a fixed header, redirect
#   xdp-mirror/xdp    the appliance's XDP fast path (parse, classify,
#                     template, redirect)
#   xdp-mirror/afxdp  the appliance's XDP program handing frames to
#                     AF_XDP (the worker's own cost is not in it)
# Prints a table of the medians and the ratios to xdp-native.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export XM_BIN=${XM_BIN:-$here/../build} XM_TESTS=$here/../tests
REPEAT=${REPEAT:-1000000}
. "$XM_TESTS/lib/netns.sh"
tmp=$(mktemp -d)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null
	xm_topo_down; rm -rf "$tmp"
}
trap cleanup EXIT

xm_topo_up || { echo "xdp-cost: could not build namespaces" >&2; exit 1; }
# As in make bench: a single-buffer XDP program needs a small peer MTU,
# and the collector drops (an XDP counter) rather than feeding a stack.
in_ns "$NS_COL" ip link set dev "$DEV_CB" xdpdrv off
in_ns "$NS_COL" ip link set "$DEV_CB" mtu 2000
in_ns "$NS_DUT" ip link set "$DEV_DB" mtu 2000
colmac=$(xm_mac "$NS_COL" "$DEV_CB")
dbmac=$(xm_mac "$NS_DUT" "$DEV_DB")
in_ns "$NS_DUT" ip neigh replace "$COL_IP" lladdr "$colmac" dev "$DEV_DB" nud permanent
# xm-ref runs until its stdin closes: a FIFO this script holds open.
mkfifo "$tmp/in" && exec 3<>"$tmp/in"
ref() { local ns=$1; shift; ip netns exec "$ns" "$XM_BIN/xm-ref" "$@" <"$tmp/in" >/dev/null 2>&1 & pids+=($!); }
ref "$NS_COL" count --dev "$DEV_CB"
"$PY" -c "
from scapy.all import Ether, IP, UDP, Raw
f = Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02') / \
    IP(src='10.9.0.1', dst='10.9.0.2') / UDP(sport=1234, dport=5000) / Raw(b'x' * 18)
open('$tmp/f64.bin', 'wb').write(bytes(f))"

cost() { in_dut "$XM_BIN/xm-progcost" --dev "$DEV_DA" --frame "$tmp/f64.bin" --repeat "$REPEAT" --runs 5; }
median() { "$PY" -c "import json,statistics,sys; print(int(statistics.median(json.loads(sys.stdin.read())['ns_per_frame'])))"; }
declare -A ns
CTL="$XM_BIN/mirrorctl -d $DEV_DA"
# mirror DATAPATH RULES: start the appliance with RULES rules of one
# shape (one hash of the classifier), the matching one last, as make
# bench loads them; print the median ns/frame.
mirror() {
	local dp=$1 n=$2 i
	in_dut "$XM_BIN/mirror-appliance" start --dev "$DEV_DA" --tx-dev "$DEV_DB" --datapath "$dp" >/dev/null || return 1
	in_dut $CTL collector add c1 remote "$COL_IP" vni 1
	for ((i = 0; i < n - 1; i++)); do
		echo "rule add prio $((i + 1)) dst 10.$((100 + i / 65536)).$((i / 256 % 256)).$((i % 256))/32 proto udp dport 5000 collector c1"
	done >"$tmp/rules.batch"
	echo "rule add prio $n dst 10.9.0.2/32 proto udp dport 5000 collector c1" >>"$tmp/rules.batch"
	in_dut $CTL -batch "$tmp/rules.batch" || return 1
	xm_wait 5 bash -c "nsenter --net=/run/netns/$NS_DUT $CTL status | grep -q 'path $dp'" ||
		{ echo "xdp-cost: collector not on path $dp" >&2; return 1; }
	cost | median
	in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA" >/dev/null
}
for dp in xdp afxdp; do
	ns[xdp-mirror/$dp]=$(mirror "$dp" 1) || exit 1
done
# The rule count's own cost: 1 and RULES rules back to back, ROUNDS
# times (the order alternates); the machine drifts by more than the
# difference between rounds, so the figure is the median of the rounds'
# ratios.
RULES=${RULES:-10000}
ROUNDS=${ROUNDS:-3}
r1=() rn=() ratios=()
for ((k = 0; k < ROUNDS; k++)); do
	if ((k % 2)); then
		b=$(mirror xdp "$RULES") && a=$(mirror xdp 1) || exit 1
	else
		a=$(mirror xdp 1) && b=$(mirror xdp "$RULES") || exit 1
	fi
	r1+=("$a") rn+=("$b")
	ratios+=("$("$PY" -c "print('%.3f' % ($b / $a))")")
done
ref "$NS_DUT" native --rx "$DEV_DA" --tx "$DEV_DB" --src-mac "$dbmac" --dst-mac "$colmac" \
	--src "$DUT_IP" --dst "$COL_IP" --collectors 1
xm_wait 5 bash -c "ip -n $NS_DUT link show $DEV_DA | grep -q xdp" || { echo "xdp-cost: xm-ref native did not attach" >&2; exit 1; }
ns[xdp-native]=$(cost | median)

echo "XDP program cost per 64-byte frame (median of 5 runs of $REPEAT, live frames):"
printf '| %-18s | %8s | %11s |\n|---|---:|---:|\n' program "ns/frame" "/ xdp-native"
for k in xdp-native xdp-mirror/xdp xdp-mirror/afxdp; do
	printf '| %-18s | %8s | %11s |\n' "$k" "${ns[$k]}" "$("$PY" -c "print('%.2f' % (${ns[$k]} / ${ns[xdp-native]}))")"
done
echo
echo "The fast path with $RULES rules in one shape against 1 rule, back to back, $ROUNDS rounds:"
printf '| %-6s | %10s | %14s | %11s |\n|---:|---:|---:|---:|\n' round "1 rule ns" "$RULES rules ns" "ratio"
for ((k = 0; k < ROUNDS; k++)); do
	printf '| %-6s | %10s | %14s | %11s |\n' "$((k + 1))" "${r1[k]}" "${rn[k]}" "${ratios[k]}"
done
echo "median ratio: $(printf '%s\n' "${ratios[@]}" | "$PY" -c "import statistics,sys; print('%.2f' % statistics.median(float(x) for x in sys.stdin))")"

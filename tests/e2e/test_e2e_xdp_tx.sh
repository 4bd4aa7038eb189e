#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One port for the feed and the collector (--tx-dev = --dev): the fast
# path sends its copies back out of the RX device with XDP_TX, the
# collector's ARP replies still reach the kernel (never classified), and
# the copies match what the AF_XDP datapath sends on the same port.
# The collector sits on the generator's side: ns gen, gA 10.$o.9.2/24;
# the appliance's dA is 10.$o.9.1/24.
set -u
. "$(dirname "$0")/../lib/netns.sh"
xm_e2e_begin
GEN_IP=10.$XM_O.9.2
DA_IP=10.$XM_O.9.1

xm_topo_up || { fail xtx_topology "could not build namespaces"; exit 1; }
xm_addr "$NS_GEN" "$DEV_GA" "$GEN_IP/24" && xm_addr "$NS_DUT" "$DEV_DA" "$DA_IP/24" ||
	{ fail xtx_topology "could not add addresses"; exit 1; }
# XDP_TX on a veth reaches the peer only when the peer runs NAPI.
xm_napi "$NS_GEN" "$DEV_GA" || { fail xtx_topology "could not attach XDP to $DEV_GA"; exit 1; }

stat() { in_dut $CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
path() { in_dut $CTL status -j | "$PY" -c "import json,sys;print(json.load(sys.stdin)['collectors'][0]['path'])"; }
path_is() { [ "$(path)" = "$1" ]; }

# run DATAPATH: mirror 20 UDP frames to a collector on gA, capture there.
run() {
	local dp=$1 n=20
	out=$(in_dut "$XM_BIN/mirror-appliance" start --dev "$DEV_DA" --tx-dev "$DEV_DA" --datapath "$dp" 2>&1)
	check_eq "xtx_${dp}_start" "$?" 0 || { echo "$out"; return 1; }
	in_dut $CTL collector add c1 remote "$GEN_IP" encap gre key 9 seq on
	in_dut $CTL rule add proto udp dport 7100 collector c1
	# The next hop resolves through ARP on the RX device itself.
	check "xtx_${dp}_path" xm_wait 10 path_is "$([ "$dp" = afxdp ] && echo afxdp || echo xdp)"
	ip netns exec "$NS_GEN" tcpdump -i "$DEV_GA" -Q in -U -n -s 0 -w "$tmp/$dp.pcap" \
		ip proto 47 2>"$tmp/tcpdump.err" &
	cap_pid=$!
	xm_wait 10 grep -q "listening on" "$tmp/tcpdump.err" || fail "xtx_${dp}_capture" "tcpdump did not start"
	in_ns "$NS_GEN" "$PY" - "$DEV_GA" "$n" <<'PYEOF' || fail "xtx_${dp}_send" "sending failed"
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp
dev, n = sys.argv[1], int(sys.argv[2])
sendp([Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
       IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=3000 + i, dport=7100) /
       Raw(bytes(range(i + 10))) for i in range(n)], iface=dev, verbose=False)
PYEOF
	captured() { [ "$(tshark -r "$tmp/$dp.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$n" ]; }
	xm_wait 10 captured || fail "xtx_${dp}_capture_complete" "fewer than $n copies captured"
	kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=
	fast=$n; [ "$dp" = afxdp ] && fast=0
	check_eq "xtx_${dp}_to_fast" "$(stat "d['device']['to_fast']")" "$fast"
	check_eq "xtx_${dp}_sent" "$(stat "d['collectors'][0]['sent']")" "$n"
	check_eq "xtx_${dp}_xmit_err" "$(stat "d['device']['fast_xmit_err']")" 0
	# The first run resolves the collector through ARP on the RX port:
	# the reply was passed to the kernel, not classified.
	[ "$dp" = xdp ] && check "xtx_${dp}_neigh_passed" [ "$(stat "d['device']['neigh_passed']")" -ge 1 ]
	# tshark: GRE key 9, sequence numbers 0..n-1, inner UDP port 7100.
	check_eq "xtx_${dp}_tshark" "$(tshark -r "$tmp/$dp.pcap" -T fields -e gre.key -e gre.sequence_number -e udp.dstport 2>/dev/null |
		awk -F'\t' '$1 == 9 && $2 == NR - 1 && $3 == 7100 {n++} END {print n+0}')" "$n"
	in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA" >/dev/null 2>&1
}

run xdp
run afxdp
"$PY" "$XM_TESTS/lib/dpcompare.py" compare --prefix xtx_bytes afxdp="$tmp/afxdp.pcap" xdp="$tmp/xdp.pcap" ||
	xm_fail_count=$((xm_fail_count + 1))
[ "$xm_fail_count" -eq 0 ]

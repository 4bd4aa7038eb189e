#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: build a namespace topology, start the appliance, add a
# collector and rules, send real traffic and show what the collector
# decodes and what the counters say.  Cleans up on exit.
#
#   gen (gA) ---> dut (dA: XDP + AF_XDP)   dut (dB) ---> col (cB: tshark)
set -u
XM_BIN=${XM_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build}
XM_TESTS=$(cd "$(dirname "$0")/../tests" && pwd)
. "$XM_TESTS/lib/netns.sh"
if [ -n "${1:-}" ]; then
	echo "demo: it builds its own namespaces; to run on a NIC use:" >&2
	echo "  mirror-appliance start --dev $1; mirrorctl collector add ...; mirrorctl rule add ..." >&2
	exit 2
fi
tmp=$(mktemp -d)
cap_pid=
cleanup() { [ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null; wait 2>/dev/null; xm_topo_down; rm -rf "$tmp"; }
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { echo "\$ $*"; "$@"; }

say "topology: $NS_GEN/$DEV_GA -> $NS_DUT/$DEV_DA [appliance] $NS_DUT/$DEV_DB $DUT_IP -> $NS_COL/$DEV_CB $COL_IP"
xm_topo_up || exit 1

say "start the appliance on $DEV_DA, sending to the collector over $DEV_DB"
run in_dut "$XM_BIN/mirror-appliance" start --dev "$DEV_DA" --tx-dev "$DEV_DB" || exit 1
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" collector add col1 remote "$COL_IP" vni 100
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" collector add span7 remote "$COL_IP" encap erspan3 session 7 snaplen 128
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" rule add prio 5 filter 'udp dst port 5005 and ip' collector span7
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" rule add prio 10 proto icmp collector col1,span7
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" rule add prio 20 proto udp dport 5000-5010 collector col1
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" rule show

in_ns "$NS_COL" tcpdump -i "$DEV_CB" -U -n -w "$tmp/col.pcap" 'udp port 4789 or ip proto 47' 2>"$tmp/tcpdump.err" &
cap_pid=$!
xm_wait 10 grep -q "listening on" "$tmp/tcpdump.err"

say "traffic: 5 ICMP echo requests from gen, plus 400 mixed TCP/UDP IPv4/IPv6 frames"
# Built with scapy like the rest: ping (iputils-ping) is not one of the
# dependencies, and the appliance's feed port answers neither ARP nor
# echo requests anyway.
in_ns "$NS_GEN" "$PY" - "$DEV_GA" "$(xm_mac "$NS_GEN" "$DEV_GA")" \
	"$(xm_mac "$NS_DUT" "$DEV_DA")" "10.$XM_O.1.2" "10.$XM_O.1.1" <<'EOF' || exit 1
import sys
from scapy.all import ICMP, IP, Ether, Raw, sendp
dev, smac, dmac, src, dst = sys.argv[1:6]
sendp([Ether(src=smac, dst=dmac) / IP(src=src, dst=dst) /
       ICMP(id=0x584d, seq=i) / Raw(b"xdp-mirror demo")
       for i in range(1, 6)], iface=dev, verbose=False)
EOF
in_ns "$NS_GEN" "$PY" "$XM_TESTS/lib/frames.py" --count 400 --manifest "$tmp/m.json" --send "$DEV_GA"
stat() { in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
# Done when every frame the XDP program matched is accounted for.
done_() { stat "int(sum(c['sent']+sum(v for k,v in c.items() if k.startswith('drop_')) for c in d['collectors']) >= d['device']['matched'])" | grep -q 1; }
xm_wait 10 done_
n=$(stat "sum(c['sent'] for c in d['collectors'])")
xm_wait 10 bash -c "[ \$(tshark -r $tmp/col.pcap -T fields -e frame.number 2>/dev/null | wc -l) -ge $n ]"
kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=

say "what the collector receives (tshark decode, first 12 of $n frames)"
tshark -r "$tmp/col.pcap" -c 12 -o ip.check_checksum:TRUE \
	-T fields -E header=y -e frame.number -e ip.src -e ip.dst -e udp.srcport \
	-e vxlan.vni -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null | column -t -s $'\t' | cut -c1-150
say "the ERSPAN III copies (pcap filter 'udp dst port 5005 and ip', and the pings; snaplen 128)"
tshark -r "$tmp/col.pcap" -Y erspan -T fields -E header=y -e frame.number \
	-e gre.sequence_number -e erspan.spanid -e erspan.truncated -e erspan.timestamp \
	-e frame.len -e _ws.col.Info 2>/dev/null | head -12 | column -t -s $'\t' | cut -c1-150

say "counters"
run in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" stats

say "stop"
run in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Jumbo frames on the feed port: with a 9000-byte MTU the kernel refuses
# our (single-buffer) XDP program in native mode, the appliance falls back
# to generic XDP, and frames longer than a UMEM frame takes are cut by the
# XDP program to XM_XSK_DATA_MAX (3840) bytes.  They must arrive at the
# collector truncated and counted (truncated_mtu), never dropped silently;
# frames that fit arrive whole.
set -u
. "$(dirname "$0")/../lib/netns.sh"
xm_e2e_begin
XSK_MAX=3840

xm_topo_up || { fail jumbo_topology "could not build namespaces"; exit 1; }
in_ns "$NS_GEN" ip link set "$DEV_GA" mtu 9000
in_ns "$NS_DUT" ip link set "$DEV_DA" mtu 9000

out=$(xm_start 2>&1)
check_eq jumbo_start_exit "$?" 0
echo "$out"
in_dut $CTL collector add c1 remote "$COL_IP" vni 7 || fail jumbo_collector "collector add failed"
in_dut $CTL rule add proto udp dport 7000 collector c1 || fail jumbo_rule "rule add failed"

in_ns "$NS_COL" tcpdump -i "$DEV_CB" -U -n -s 0 -w "$tmp/col.pcap" udp port 4789 2>"$tmp/tcpdump.err" &
cap_pid=$!
xm_wait 10 grep -q "listening on" "$tmp/tcpdump.err" || fail jumbo_capture "tcpdump did not start"

# Ethernet frame sizes: two that fit, three that do not.
sizes="1000 3840 3841 5000 9014"
in_ns "$NS_GEN" "$PY" - "$DEV_GA" $sizes <<'EOF' || fail jumbo_send "sending failed"
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp
dev, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
frames = []
for i, n in enumerate(sizes):
    hdr = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
        IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=1000 + i, dport=7000)
    frames.append(hdr / Raw(bytes((i + j) & 0xff for j in range(n - len(hdr)))))
sendp(frames, iface=dev, verbose=False)
EOF

stat() { in_dut $CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
n=$(echo $sizes | wc -w)
sent_all() { [ "$(stat "d['collectors'][0]['sent']")" -ge "$n" ]; }
xm_wait 10 sent_all || fail jumbo_accounted "fewer than $n copies sent"
captured() { [ "$(tshark -r "$tmp/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$n" ]; }
xm_wait 10 captured || fail jumbo_capture_complete "capture has fewer than $n frames"
kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=

in_dut $CTL stats
check_eq jumbo_matched "$(stat "d['device']['matched']")" "$n"
check_eq jumbo_sent "$(stat "d['collectors'][0]['sent']")" "$n"
check_eq jumbo_truncated_mtu "$(stat "d['collectors'][0]['truncated_mtu']")" 3
check_eq jumbo_xsk_dropped "$(stat "sum(w['xsk_rx_dropped'] for w in d['workers'])")" 0
# Inner frame lengths at the collector, decoded by tshark: VXLAN adds 50.
want=""
for s in $sizes; do [ "$s" -gt $XSK_MAX ] && s=$XSK_MAX; want="$want $((s + 50))"; done
got=$(tshark -r "$tmp/col.pcap" -T fields -e frame.len 2>/dev/null | tr '\n' ' ')
check_eq jumbo_lengths "$(echo $got)" "$(echo $want)"
check_eq jumbo_vni "$(tshark -r "$tmp/col.pcap" -T fields -e vxlan.vni 2>/dev/null | sort -u)" 7

[ "$xm_fail_count" -eq 0 ]

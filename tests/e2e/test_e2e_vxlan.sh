#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end: gen -> appliance (XDP classify -> AF_XDP -> VXLAN) -> collector.
# A known mix of frames is sent; exactly the matching ones must arrive at
# the collector, byte-identical inside VXLAN with the right VNI and outer
# addresses, and mirrorctl stats must agree with the counts.
set -u
. "$(dirname "$0")/../lib/netns.sh"
tmp=$(mktemp -d)
cleanup() { kill "$cap_pid" 2>/dev/null; wait 2>/dev/null; xm_topo_down; rm -rf "$tmp"; }
cap_pid=
trap cleanup EXIT
CTL="$XM_BIN/mirrorctl -d $DEV_DA"

xm_topo_up || { fail e2e_topology "could not build namespaces"; exit 1; }

out=$(xm_start 2>&1)
rc=$?
check_eq e2e_start_exit "$rc" 0
[ $rc -eq 0 ] || { echo "$out"; exit 1; }
echo "$out"

in_dut $CTL collector add c1 remote "$COL_IP" vni 42
in_dut $CTL rule add prio 10 proto udp dport 5000-5010 collector c1
in_dut $CTL rule add prio 20 dst 2001:db8:1::/64 proto tcp collector c1
in_dut $CTL rule add prio 30 src 10.1.0.0/16 proto tcp dport 9091 collector c1
in_dut $CTL rule show

# Capture at the collector; tcpdump says "listening on" once it captures.
in_ns "$NS_COL" tcpdump -i "$DEV_CB" -U -n -w "$tmp/col.pcap" udp port 4789 2>"$tmp/tcpdump.err" &
cap_pid=$!
xm_wait 10 grep -q "listening on" "$tmp/tcpdump.err" || fail e2e_capture "tcpdump did not start"

in_ns "$NS_GEN" "$PY" "$XM_TESTS/lib/frames.py" --count 400 --seed 11 \
	--manifest "$tmp/manifest.json" --send "$DEV_GA" || fail e2e_send "frames.py failed"
total=$("$PY" -c "import json;print(len(json.load(open('$tmp/manifest.json'))['frames']))")
matched=$("$PY" -c "import json;print(sum(1 for f in json.load(open('$tmp/manifest.json'))['frames'] if f['rule']>=0))")
per_rule=$("$PY" -c "import json;m=json.load(open('$tmp/manifest.json'));print(' '.join(str(sum(1 for f in m['frames'] if f['rule']==i)) for i in range(3)))")

stat() { in_dut $CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
# Every matched frame is accounted for once the collector's sent+drops
# reach the number matched; then the capture must have all sent frames.
acct() { [ "$(stat "sum(c['sent']+sum(v for k,v in c.items() if k.startswith('drop_')) for c in d['collectors'])")" -ge "$matched" ]; }
xm_wait 20 acct || fail e2e_accounted "collector never accounted $matched copies"
sent=$(stat "sum(c['sent'] for c in d['collectors'])")
captured() { [ "$(tshark -r "$tmp/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$sent" ]; }
xm_wait 10 captured || fail e2e_capture_complete "capture has fewer than $sent frames"
kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=

in_dut $CTL stats
check_eq e2e_dev_rx "$(stat "d['device']['rx']")" "$total"
check_eq e2e_dev_matched "$(stat "d['device']['matched']")" "$matched"
check_eq e2e_dev_not_matched "$(stat "d['device']['not_matched']")" "$((total - matched))"
# One collector per frame: every copy takes the fast path unless the
# datapath was forced to AF_XDP.
fast=$matched; [ "$XM_DATAPATH" = afxdp ] && fast=0
check_eq e2e_dev_to_xsk "$(stat "d['device']['to_xsk']")" "$((matched - fast))"
check_eq e2e_dev_to_fast "$(stat "d['device']['to_fast']")" "$fast"
check_eq e2e_coll_path "$(in_dut $CTL status -j | "$PY" -c "import json,sys;print(json.load(sys.stdin)['collectors'][0]['path'])")" \
	"$([ "$XM_DATAPATH" = afxdp ] && echo afxdp || echo xdp)"
check_eq e2e_dev_malformed "$(stat "d['device']['malformed']")" 0
check_eq e2e_rule_counts "$(stat "' '.join(str(r['packets']) for r in sorted(d['rules'], key=lambda r: r['id']))")" "$per_rule"
check_eq e2e_coll_sent "$sent" "$matched"
check_eq e2e_coll_drops "$(stat "sum(v for c in d['collectors'] for k,v in c.items() if k.startswith('drop_'))")" 0

"$PY" "$XM_TESTS/lib/encapcheck.py" check --manifest "$tmp/manifest.json" --pcap "$tmp/col.pcap" \
	--collector "name=c1,encap=vxlan,rules=0+1+2,vni=42,src=$DUT_IP,dst=$COL_IP,smac=$(xm_mac "$NS_DUT" "$DEV_DB"),dmac=$(xm_mac "$NS_COL" "$DEV_CB")" \
	--prefix e2e || xm_fail_count=$((xm_fail_count + 1))

# An independent decoder: tshark must see VNI 42 and a good outer IPv4
# checksum on every captured frame.
tshark -r "$tmp/col.pcap" -o ip.check_checksum:TRUE -T fields \
	-e vxlan.vni -e ip.checksum.status >"$tmp/tshark.txt" 2>/dev/null
bad=$(awk -F'\t' '{split($2, s, ","); if ($1 != "42" || s[1] != "1") n++} END {print n+0}' "$tmp/tshark.txt")
check_eq e2e_tshark_frames "$(wc -l <"$tmp/tshark.txt")" "$matched"
check_eq e2e_tshark_vni_checksum "$bad" 0

# stop removes exactly what start added.
in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA" >/dev/null 2>&1
check_eq e2e_stop_exit "$?" 0
check e2e_stop_detached bash -c "! ip netns exec $NS_DUT ip link show $DEV_DA | grep -q xdp"
check e2e_stop_unpinned test ! -e "/sys/fs/bpf/xdp-mirror/$DEV_DA"

[ "$xm_fail_count" -eq 0 ]

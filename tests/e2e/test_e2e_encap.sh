#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every tunnel format over both outer families, in one run: twelve
# collectors (VXLAN, GENEVE, GRE plain / keyed / sequenced, ERSPAN II and
# III, each over IPv4 and IPv6, with different VNIs, keys, sessions,
# DSCP, TTL, dport and local address), each fed by a known subset of the
# frames.py mix plus VLAN-tagged frames (802.1Q, QinQ, priority-tagged).
# At the collector namespace, tshark (checksum validation on) and
# encapcheck.py decode every copy: outer headers, tunnel fields, sequence
# numbers, ERSPAN VLAN/COS/T/direction/timestamp, the inner frame
# byte-identical; exact frame counts, and mirrorctl stats agree.
set -u
. "$(dirname "$0")/../lib/netns.sh"
xm_e2e_begin
CHECK="$XM_TESTS/lib/encapcheck.py"

xm_topo_up && xm_topo_ipv6 || { fail encap_topology "could not build namespaces"; exit 1; }
# One outer destination per collector (the capture is demultiplexed by
# it), and a second dut address for `local`.  The default source is the
# kernel's choice (route get); the IPv6 one is deprecated so that the
# kernel keeps choosing DUT_IP6 (the newest address would win a tie).
N4=10.$XM_O.2
N6=fd00:$XM_O:2:
L6=$N6:3
xm_addr "$NS_COL" "$DEV_CB" $N4.10/24 $N4.11/24 $N4.12/24 $N4.13/24 $N4.14/24 $N4.15/24 \
	$N6:10/64 $N6:11/64 $N6:12/64 $N6:13/64 $N6:14/64 $N6:15/64 &&
	xm_addr "$NS_DUT" "$DEV_DB" $N4.3/24 &&
	in_ns "$NS_DUT" ip -6 addr add $L6/64 dev "$DEV_DB" nodad preferred_lft 0 ||
	{ fail encap_topology "could not add addresses"; exit 1; }

out=$(xm_start 2>&1)
rc=$?
check_eq encap_start_exit "$rc" 0
[ $rc -eq 0 ] || { echo "$out"; exit 1; }

# name | mirrorctl collector options | frames.py rules (0 udp 5000-5010,
# 1 IPv6 tcp to 2001:db8:1::/64, 2 tcp 9091 from 10.1/16) | what the
# capture must show beyond the options (outer source address).
COLLS=(
	"vx4|remote $N4.10 encap vxlan vni 4242 dscp 46 ttl 9|0 1 2|src=$DUT_IP,vni=4242,dscp=46,ttl=9"
	"vx6|remote $N6:10 encap vxlan vni 16777215 dport 4790|0|src=$DUT_IP6,vni=16777215,dport=4790"
	"gn4|remote $N4.11 encap geneve vni 1|1|src=$DUT_IP,vni=1"
	"gn6|remote $N6:11 local $L6 encap geneve vni 99 dscp 10 ttl 200|0 2|src=$L6,vni=99,dscp=10,ttl=200"
	"gr4|remote $N4.12 encap gre|2|src=$DUT_IP"
	"gk4|remote $N4.13 local $N4.3 encap gre key 3735928559 seq on|0|src=$N4.3,key=3735928559,seq=1"
	"gr6|remote $N6:12 encap gre key 7 seq off|1|src=$DUT_IP6,key=7"
	"gk6|remote $N6:13 encap gre seq on|0 1|src=$DUT_IP6,seq=1"
	"e2v4|remote $N4.14 encap erspan2 session 1|0|src=$DUT_IP,session=1"
	"e2v6|remote $N6:14 encap erspan2 session 1023 dscp 63 snaplen 100|1 2|src=$DUT_IP6,session=1023,dscp=63,snaplen=100"
	"e3v4|remote $N4.15 encap erspan3 session 300 hwid 63|0 1 2|src=$DUT_IP,session=300,hwid=63"
	"e3v6|remote $N6:15 encap erspan3 session 5 hwid 1|0|src=$DUT_IP6,session=5,hwid=1"
)
smac=$(xm_mac "$NS_DUT" "$DEV_DB")
dmac=$(xm_mac "$NS_COL" "$DEV_CB")
specs=()
# opt KEYWORD WORDS...: the word after KEYWORD.
opt() { local k=$1; shift; while [ $# -gt 1 ]; do [ "$1" == "$k" ] && { echo "$2"; return; }; shift; done; }
declare -A rule_colls
for c in "${COLLS[@]}"; do
	IFS='|' read -r name opts rules extra <<<"$c"
	in_dut $CTL collector add "$name" $opts || fail encap_collector_add "collector add $name $opts"
	specs+=(--collector "name=$name,encap=$(opt encap $opts),dst=$(opt remote $opts),smac=$smac,dmac=$dmac,rules=${rules// /+},$extra")
	for r in $rules; do rule_colls[$r]+=${rule_colls[$r]:+,}$name; done
done
in_dut $CTL rule add prio 10 proto udp dport 5000-5010 collector "${rule_colls[0]}" &&
	in_dut $CTL rule add prio 20 dst 2001:db8:1::/64 proto tcp collector "${rule_colls[1]}" &&
	in_dut $CTL rule add prio 30 src 10.1.0.0/16 proto tcp dport 9091 collector "${rule_colls[2]}" ||
	fail encap_rule_add "rule add failed"
in_dut $CTL collector show
in_dut $CTL rule show

in_ns "$NS_COL" tcpdump -i "$DEV_CB" -Q in -U -n -s 0 -w "$tmp/col.pcap" \
	'udp or ip proto 47 or ip6 proto 47' 2>"$tmp/tcpdump.err" &
cap_pid=$!
xm_wait 10 grep -q "listening on" "$tmp/tcpdump.err" || fail encap_capture "tcpdump did not start"

in_ns "$NS_GEN" "$PY" "$XM_TESTS/lib/frames.py" --count 400 --seed 11 \
	--manifest "$tmp/mix.json" --send "$DEV_GA" || fail encap_send "frames.py failed"
in_ns "$NS_GEN" "$PY" "$CHECK" frames --kind vlan --manifest "$tmp/vlan.json" \
	--send "$DEV_GA" || fail encap_send_vlan "sending tagged frames failed"
mans=(--manifest "$tmp/mix.json" --manifest "$tmp/vlan.json")
read -r copies _ <<<"$("$PY" "$CHECK" count "${mans[@]}" "${specs[@]}")"
total=$("$PY" -c "import json;print(sum(len(json.load(open(f))['frames']) for f in ('$tmp/mix.json','$tmp/vlan.json')))")
matched=$("$PY" -c "import json;print(sum(1 for f in ('$tmp/mix.json','$tmp/vlan.json') for x in json.load(open(f))['frames'] if x['rule']>=0))")

stat() { in_dut $CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
# Every copy is accounted for once sent + drops reach the number the
# rules ask for; then the capture must hold every sent copy.
acct() { [ "$(stat "sum(c['sent']+sum(v for k,v in c.items() if k.startswith('drop_')) for c in d['collectors'])")" -ge "$copies" ]; }
xm_wait 20 acct || fail encap_accounted "collectors never accounted $copies copies"
sent=$(stat "sum(c['sent'] for c in d['collectors'])")
captured() { [ "$(tshark -r "$tmp/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$sent" ]; }
xm_wait 10 captured || fail encap_capture_complete "capture has fewer than $sent frames"
kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=

in_dut $CTL stats
in_dut $CTL stats -j >"$tmp/stats.json"
check_eq encap_dev_rx "$(stat "d['device']['rx']")" "$total"
check_eq encap_dev_matched "$(stat "d['device']['matched']")" "$matched"
# Every rule has several collectors: no copy can take the fast path.
check_eq encap_dev_to_xsk "$(stat "d['device']['to_xsk']")" "$matched"
check_eq encap_dev_to_fast "$(stat "d['device']['to_fast']")" 0
check_eq encap_copies_sent "$sent" "$copies"
check_eq encap_capture_frames "$(tshark -r "$tmp/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" "$copies"

"$PY" "$CHECK" check --pcap "$tmp/col.pcap" "${mans[@]}" "${specs[@]}" \
	--stats "$tmp/stats.json" --prefix encap || xm_fail_count=$((xm_fail_count + 1))

[ "$xm_fail_count" -eq 0 ]

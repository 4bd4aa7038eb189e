#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Next hops and truncation, end to end.
# - A collector behind a router (the col namespace forwards to a far
#   namespace): copies leave with the router's MAC and arrive at the far
#   collector.  With the route deleted every copy is counted as
#   drop_no_neigh (none lost silently, none using a sequence number); once
#   it is back copies flow again, and the far capture shows consecutive
#   ERSPAN sequence numbers across the whole run.
# - snaplen 100: longer frames arrive cut to 100 bytes of inner frame
#   (ERSPAN T bit set), counted in truncated_snap.
# - TX MTU 1280 (IPv6's minimum; below it the kernel drops IPv6 from the
#   link): frames that do not fit arrive cut so that the outer IP packet
#   is exactly 1280 bytes, counted in truncated_mtu; frames that fit
#   arrive whole.  Five formats, IPv4 and IPv6 outer.
set -u
. "$(dirname "$0")/../lib/netns.sh"
tmp=$(mktemp -d)
cap_pids=
SND_PID=
cleanup() {
	[ -n "$SND_PID" ] && kill "$SND_PID" 2>/dev/null
	[ -n "$cap_pids" ] && kill $cap_pids 2>/dev/null
	wait 2>/dev/null
	xm_far_down; xm_topo_down; rm -rf "$tmp"
}
trap cleanup EXIT
CTL="$XM_BIN/mirrorctl -d $DEV_DA"
CHECK="$XM_TESTS/lib/encapcheck.py"
MTU=1280

xm_topo_up && xm_topo_ipv6 && xm_topo_far || { fail route_topology "could not build namespaces"; exit 1; }
N4=10.$XM_O.2
N6=fd00:$XM_O:2:
xm_addr "$NS_COL" "$DEV_CB" $N4.10/24 $N4.11/24 $N4.12/24 $N4.13/24 \
	$N6:10/64 $N6:11/64 $N6:12/64 $N6:13/64 || { fail route_topology "could not add addresses"; exit 1; }
# The TX device's MTU, set before start.
in_ns "$NS_DUT" ip link set "$DEV_DB" mtu $MTU && in_ns "$NS_COL" ip link set "$DEV_CB" mtu $MTU ||
	{ fail route_topology "could not set the MTU"; exit 1; }

out=$(xm_start 2>&1)
rc=$?
check_eq route_start_exit "$rc" 0
[ $rc -eq 0 ] || { echo "$out"; exit 1; }

smac=$(xm_mac "$NS_DUT" "$DEV_DB")
dmac=$(xm_mac "$NS_COL" "$DEV_CB")
# name | collector options | what the capture must show.  Rule 0 (udp
# dport 6000) feeds the truncation collectors, rule 1 (udp dport 7000)
# the far one.
COLLS=(
	"sv4|remote $N4.10 encap vxlan vni 100 snaplen 100|encap=vxlan,src=$DUT_IP,vni=100,snaplen=100"
	"se2|remote $N4.11 encap erspan2 session 2 snaplen 100|encap=erspan2,src=$DUT_IP,session=2,snaplen=100"
	"se3|remote $N6:10 encap erspan3 session 3 hwid 3 snaplen 100|encap=erspan3,src=$DUT_IP6,session=3,hwid=3,snaplen=100"
	"mv4|remote $N4.12 encap vxlan vni 200|encap=vxlan,src=$DUT_IP,vni=200"
	"me3|remote $N4.13 encap erspan3 session 4|encap=erspan3,src=$DUT_IP,session=4"
	"mg6|remote $N6:11 encap gre key 9 seq on|encap=gre,src=$DUT_IP6,key=9,seq=1"
	"mn6|remote $N6:12 encap geneve vni 300|encap=geneve,src=$DUT_IP6,vni=300"
	"me2|remote $N6:13 encap erspan2 session 6|encap=erspan2,src=$DUT_IP6,session=6"
)
specs=()
names=
for c in "${COLLS[@]}"; do
	IFS='|' read -r name opts extra <<<"$c"
	in_dut $CTL collector add "$name" $opts || fail route_collector_add "collector add $name $opts"
	set -- $opts
	specs+=(--collector "name=$name,dst=$2,smac=$smac,dmac=$dmac,rules=0,mtu=$MTU,$extra")
	names+=${names:+,}$name
done
in_dut $CTL collector add far remote "$FAR_IP" encap erspan2 session 77 ||
	fail route_collector_add "collector add far"
far="name=far,encap=erspan2,src=$DUT_IP,dst=$FAR_IP,rules=1,session=77"
in_dut $CTL rule add prio 10 proto udp dport 6000 collector "$names" &&
	in_dut $CTL rule add prio 20 proto udp dport 7000 collector far ||
	fail route_rule_add "rule add failed"

# Captures: at the router's inbound port (every copy, the far ones still
# addressed to the router) and at the far collector.
in_ns "$NS_COL" tcpdump -i "$DEV_CB" -Q in -U -n -s 0 -w "$tmp/col.pcap" \
	'udp or ip proto 47 or ip6 proto 47' 2>"$tmp/col.err" &
cap_pids=$!
in_ns "$NS_FAR" tcpdump -i "$DEV_FR" -Q in -U -n -s 0 -w "$tmp/far.pcap" 'ip proto 47' 2>"$tmp/far.err" &
cap_pids+=" $!"
xm_wait 10 grep -q "listening on" "$tmp/col.err" && xm_wait 10 grep -q "listening on" "$tmp/far.err" ||
	fail route_capture "tcpdump did not start"

# One sender for the whole test; `send N SIZE DPORT RULE [optional]`
# returns once the frames are on the wire.
coproc SND { in_ns "$NS_GEN" "$PY" "$CHECK" sender --iface "$DEV_GA" --manifest "$tmp/sent.json"; }
read -r -t 30 -u "${SND[0]}" line && [ "$line" == ready ] || { fail route_sender "sender did not start"; exit 1; }
send() { local r; echo "$*" >&"${SND[1]}" && read -r -t 30 -u "${SND[0]}" r && [ "$r" == ok ]; }

stat() { in_dut $CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
fstat() { stat "[c for c in d['collectors'] if c['name']=='far'][0]['$1']"; }
copies() { stat "sum(c['sent']+sum(v for k,v in c.items() if k.startswith('drop_')) for c in d['collectors'] if c['name'] $1)"; }
accounted() { [ "$(copies "$1")" -ge "$2" ]; }

# ---- truncation --------------------------------------------------------
# Around 100 and around the largest inner frame of each format: MTU
# minus 36 (VXLAN/IPv4), 40 (ERSPAN III/IPv4), 52 (GRE key+seq/IPv6),
# 56 (GENEVE and ERSPAN II/IPv6).
sizes="60 64 99 100 101 200 1000 1400 1514"
for o in 36 40 52 56; do sizes+=" $((MTU - o - 1)) $((MTU - o)) $((MTU - o + 1))"; done
for s in $sizes; do send 1 "$s" 6000 0 || fail route_send "sending $s bytes failed"; done
ntrunc=$(( $(echo $sizes | wc -w) * ${#COLLS[@]} ))
xm_wait 20 accounted "!='far'" $ntrunc || fail route_trunc_accounted "never accounted $ntrunc copies"

# ---- the far collector, through the router -----------------------------
# Probe until the daemon has acted on a route change: send one frame and
# wait until its copy is accounted.  want=sent: until it is sent;
# want=dropped: until it is not.  Counts the dropped probes in pdrop.
nfar=0
pdrop=0
probe() {
	local s0 _
	for _ in $(seq 100); do
		s0=$(fstat sent)
		send 1 200 7000 1 optional || return 1
		nfar=$((nfar + 1))
		xm_wait 5 accounted "=='far'" $nfar || return 1
		if [ "$(fstat sent)" -gt "$s0" ]; then
			[ "$1" == sent ] && return 0
		else
			pdrop=$((pdrop + 1))
			[ "$1" == dropped ] && return 0
		fi
	done
	return 1
}

send 20 200 7000 1 || fail route_send "sending failed"
nfar=20
xm_wait 10 accounted "=='far'" $nfar || fail route_far_accounted "far never accounted $nfar copies"
check_eq route_far_sent "$(fstat sent)" 20

xm_far_route del || fail route_del "ip route del failed"
probe dropped || fail route_del_noticed "copies still sent with the route gone"
s0=$(fstat sent)
d0=$(fstat drop_no_neigh)
send 20 200 7000 -1 || fail route_send "sending failed"
nfar=$((nfar + 20))
xm_wait 10 accounted "=='far'" $nfar || fail route_nonroute_accounted "far never accounted $nfar copies"
check_eq route_noroute_drop_no_neigh "$(fstat drop_no_neigh)" $((d0 + 20))
check_eq route_noroute_sent "$(fstat sent)" "$s0"

xm_far_route add || fail route_add "ip route add failed"
probe sent || fail route_add_noticed "copies not sent after the route came back"
s0=$(fstat sent)
send 20 200 7000 1 || fail route_send "sending failed"
nfar=$((nfar + 20))
xm_wait 10 accounted "=='far'" $nfar || fail route_far_accounted "far never accounted $nfar copies"
check_eq route_readd_sent "$(fstat sent)" $((s0 + 20))

# Every far copy is sent or counted as a drop for want of a next hop.
check_eq route_far_identity "$(fstat sent) $(fstat drop_no_neigh)" "$((nfar - pdrop - 20)) $((pdrop + 20))"
check_eq route_far_other_drops "$(stat "sum(v for c in d['collectors'] for k,v in c.items() if k.startswith('drop_') and k!='drop_no_neigh')")" 0

# ---- captures ----------------------------------------------------------
fd=${SND[1]}
exec {fd}>&-
wait "$SND_PID" 2>/dev/null
SND_PID=
sent_all=$(stat "sum(c['sent'] for c in d['collectors'])")
sent_far=$(fstat sent)
nframes() { tshark -r "$1" -T fields -e frame.number 2>/dev/null | wc -l; }
captured() { [ "$(nframes "$1")" -ge "$2" ]; }
xm_wait 10 captured "$tmp/col.pcap" "$sent_all" || fail route_capture_complete "router capture has fewer than $sent_all frames"
xm_wait 10 captured "$tmp/far.pcap" "$sent_far" || fail route_capture_complete "far capture has fewer than $sent_far frames"
kill -TERM $cap_pids; wait $cap_pids 2>/dev/null; cap_pids=
in_dut $CTL stats
in_dut $CTL stats -j >"$tmp/stats.json"
check_eq route_router_frames "$(nframes "$tmp/col.pcap")" "$sent_all"
check_eq route_far_frames "$(nframes "$tmp/far.pcap")" "$sent_far"
# No copy's IP packet exceeds the MTU, and the cut ones fill it exactly.
check_eq route_mtu_largest "$(tshark -r "$tmp/col.pcap" -T fields -e frame.len 2>/dev/null |
	awk '$1 - 14 > m {m = $1 - 14} END {print m}')" $MTU

# At the router's port: the far copies carry the router's MAC.
"$PY" "$CHECK" check --pcap "$tmp/col.pcap" --manifest "$tmp/sent.json" "${specs[@]}" \
	--collector "$far,smac=$smac,dmac=$dmac" --stats "$tmp/stats.json" --drops-ok far \
	--prefix route || xm_fail_count=$((xm_fail_count + 1))
# At the far collector: forwarded once (TTL 63), consecutive sequence
# numbers although some copies were dropped.
"$PY" "$CHECK" check --pcap "$tmp/far.pcap" --manifest "$tmp/sent.json" \
	--collector "$far,ttl=63,smac=$(xm_mac "$NS_COL" "$DEV_CR"),dmac=$(xm_mac "$NS_FAR" "$DEV_FR")" \
	--stats "$tmp/stats.json" --drops-ok far --prefix route_farside || xm_fail_count=$((xm_fail_count + 1))

[ "$xm_fail_count" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The three datapaths side by side (issue 8).  Twelve collectors (every
# encapsulation over IPv4 and IPv6) each get their own rule, so a copy of
# each frame may take the XDP fast path; one more rule feeds two
# collectors, which only the AF_XDP datapath can serve.  The same frames
# go through the appliance started with --datapath xdp, afxdp and auto:
# the counters must show which path made each copy, tshark must find the
# outer checksums good, and every collector must receive the same bytes
# from all three (only the ERSPAN III timestamp may differ).  Then the
# start-up check and the fallback when the TX veth stops taking XDP
# redirects.
set -u
. "$(dirname "$0")/../lib/netns.sh"
xm_e2e_begin
CMP="$XM_TESTS/lib/dpcompare.py"

xm_topo_up && xm_topo_ipv6 || { fail dp_topology "could not build namespaces"; exit 1; }
N4=10.$XM_O.2
N6=fd00:$XM_O:2:
xm_addr "$NS_COL" "$DEV_CB" $N4.10/24 $N4.11/24 $N4.12/24 $N4.13/24 $N4.14/24 $N4.15/24 \
	$N6:10/64 $N6:11/64 $N6:12/64 $N6:13/64 $N6:14/64 $N6:15/64 ||
	{ fail dp_topology "could not add addresses"; exit 1; }

# name | collector options | path with a fast path allowed.  Rule k
# (udp dport 6000+k) feeds collector k alone; gk4's rule cuts to 200
# bytes, e2v6 cuts to 100 as a collector.
COLLS=(
	"vx4|remote $N4.10 encap vxlan vni 4242 dscp 46 ttl 9|xdp"
	"vx6|remote $N6:10 encap vxlan vni 77|afxdp"
	"gn4|remote $N4.11 encap geneve vni 1|xdp"
	"gn6|remote $N6:11 encap geneve vni 99|afxdp"
	"gr4|remote $N4.12 encap gre|xdp"
	"gk4|remote $N4.13 encap gre key 3735928559 seq on|xdp"
	"gr6|remote $N6:12 encap gre key 7|xdp"
	"gk6|remote $N6:13 encap gre seq on|xdp"
	"e2v4|remote $N4.14 encap erspan2 session 1|xdp"
	"e2v6|remote $N6:14 encap erspan2 session 1023 snaplen 100|xdp"
	"e3v4|remote $N4.15 encap erspan3 session 300 hwid 63|xdp"
	"e3v6|remote $N6:15 encap erspan3 session 5 hwid 1|xdp"
)
nframes=$("$PY" "$CMP" send --count x)
per=$((nframes / (${#COLLS[@]} + 1)))	# frames per rule
matched=$nframes
copies=$((nframes + per))		# the last rule makes two copies each
nfast=0
for c in "${COLLS[@]}"; do [ "${c##*|}" = xdp ] && nfast=$((nfast + per)); done

stat() { in_dut $CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }
paths() { in_dut $CTL status -j | "$PY" -c "import json,sys;print(' '.join(c['path'] for c in json.load(sys.stdin)['collectors']))"; }
paths_are() { [ "$(paths)" = "$1" ]; }
status_has() { in_dut $CTL status | grep -q "$1"; }

# run_mode DATAPATH: start, configure, send, check, save the capture.
run_mode() {
	local dp=$1 k=0 name opts want want_paths="" fast xsk
	out=$(XM_DATAPATH=$dp xm_start 2>&1)
	check_eq "dp_${dp}_start" "$?" 0 || { echo "$out"; return 1; }
	for c in "${COLLS[@]}"; do
		IFS='|' read -r name opts want <<<"$c"
		in_dut $CTL collector add "$name" $opts || fail "dp_${dp}_collector" "$name $opts"
		snap=""; [ "$name" = gk4 ] && snap="snaplen 200"
		in_dut $CTL rule add prio $((10 + k)) proto udp dport $((6000 + k)) $snap collector "$name" ||
			fail "dp_${dp}_rule" "rule for $name"
		[ "$dp" = afxdp ] && want=afxdp
		want_paths+="${want_paths:+ }$want"
		k=$((k + 1))
	done
	in_dut $CTL rule add prio 99 proto udp dport 6100 collector vx4,gr4 || fail "dp_${dp}_rule" "two-collector rule"
	# Paths are published once every next hop resolved.
	xm_wait 10 paths_are "$want_paths"
	check_eq "dp_${dp}_paths" "$(paths)" "$want_paths"

	# Not through in_ns: $! must be tcpdump itself, so that it stops.
	ip netns exec "$NS_COL" tcpdump -i "$DEV_CB" -Q in -U -n -s 0 -w "$tmp/$dp.pcap" \
		'udp or ip proto 47 or ip6 proto 47' 2>"$tmp/tcpdump.err" &
	cap_pid=$!
	xm_wait 10 grep -q "listening on" "$tmp/tcpdump.err" || fail "dp_${dp}_capture" "tcpdump did not start"
	in_ns "$NS_GEN" "$PY" "$CMP" send "$DEV_GA" || fail "dp_${dp}_send" "sending failed"
	acct() { [ "$(stat "sum(c['sent']+sum(v for k,v in c.items() if k.startswith('drop_')) for c in d['collectors'])")" -ge "$copies" ]; }
	xm_wait 20 acct || fail "dp_${dp}_accounted" "collectors never accounted $copies copies"
	captured() { [ "$(tshark -r "$tmp/$dp.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$copies" ]; }
	xm_wait 10 captured || fail "dp_${dp}_capture_complete" "capture has fewer than $copies frames"
	kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=

	fast=$nfast; [ "$dp" = afxdp ] && fast=0
	xsk=$((matched - fast))
	check_eq "dp_${dp}_matched" "$(stat "d['device']['matched']")" "$matched"
	check_eq "dp_${dp}_to_fast" "$(stat "d['device']['to_fast']")" "$fast"
	check_eq "dp_${dp}_to_xsk" "$(stat "d['device']['to_xsk']")" "$xsk"
	check_eq "dp_${dp}_fast_fallback" "$(stat "d['device']['fast_fallback']")" 0
	check_eq "dp_${dp}_fast_xmit_err" "$(stat "d['device']['fast_xmit_err']")" 0
	check_eq "dp_${dp}_sent" "$(stat "sum(c['sent'] for c in d['collectors'])")" "$copies"
	check_eq "dp_${dp}_sent_by_xdp" "$(stat "sum(c['xdp']['sent'] for c in d['collectors'])")" "$fast"
	check_eq "dp_${dp}_drops" "$(stat "sum(v for c in d['collectors'] for k,v in c.items() if k.startswith('drop_'))")" 0
	check_eq "dp_${dp}_capture_frames" "$(tshark -r "$tmp/$dp.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" "$copies"
	# tshark: no outer IPv4 header or UDP checksum is bad (status 0;
	# a zero UDP checksum over IPv4 is "unverified", 2).
	check_eq "dp_${dp}_tshark_checksums" "$(tshark -r "$tmp/$dp.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-T fields -e ip.checksum.status -e udp.checksum.status 2>/dev/null |
		awk -F'\t' '{split($1, a, ","); split($2, b, ","); if (a[1] == "0" || b[1] == "0") n++} END {print n+0}')" 0
	check_eq "dp_${dp}_truncated" "$(stat "sum(c['truncated_snap'] for c in d['collectors'])")" \
		"$("$PY" -c "print(sum(1 for n in (60, 300, 1400) for t in (0, 4) if n + t > 100) + sum(1 for n in (60, 300, 1400) for t in (0, 4) if n + t > 200))")"
	in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA" >/dev/null 2>&1
	check_eq "dp_${dp}_stop" "$?" 0
}

for dp in afxdp xdp auto; do
	run_mode $dp
done
"$PY" "$CMP" compare --prefix dp_bytes afxdp="$tmp/afxdp.pcap" xdp="$tmp/xdp.pcap" auto="$tmp/auto.pcap" ||
	xm_fail_count=$((xm_fail_count + 1))

# Bad input names the token and starts nothing.
out=$(xm_start --datapath fast 2>&1)
rc=$?
check "dp_bad_token" [ "$rc" -ne 0 ]
check "dp_bad_token_message" grep -q "'fast'" <<<"$out"

# The collector-side veth without NAPI takes no XDP redirects: xdp
# refuses to start, auto starts on AF_XDP and moves to the fast path as
# soon as the peer can take redirects again.
in_ns "$NS_COL" ip link set dev "$DEV_CB" xdpdrv off
out=$(XM_DATAPATH=xdp xm_start 2>&1)
rc=$?
check "dp_xdp_refused" [ "$rc" -ne 0 ]
check "dp_xdp_refused_message" grep -q "takes no XDP redirects" <<<"$out"
check "dp_xdp_refused_clean" test ! -e "/sys/fs/bpf/xdp-mirror/$DEV_DA"
out=$(XM_DATAPATH=auto xm_start 2>&1)
check_eq dp_auto_start_noxmit "$?" 0
in_dut $CTL collector add vx4 remote "$N4.10" encap vxlan vni 4242
check "dp_auto_noxmit_afxdp" xm_wait 10 status_has 'path afxdp (tx device takes no XDP redirect)'
check_eq dp_auto_noxmit_dpinfo "$(in_dut $CTL status -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);print(d['datapath'], d['tx_xdp_xmit'])")" "auto False"
xm_napi "$NS_COL" "$DEV_CB"
check "dp_auto_back_to_xdp" xm_wait 5 status_has 'vx4 remote .* path xdp$'

# A redirect that cannot start (the TX device gone from the devmap) is
# counted, not lost silently: the copies are in sent and in
# fast_xmit_err.
in_dut $CTL rule add proto udp dport 6000 collector vx4
bpftool map delete pinned "/sys/fs/bpf/xdp-mirror/$DEV_DA/tx_ports" key 0 0 0 0 ||
	fail dp_xmit_err_setup "could not empty tx_ports"
in_ns "$NS_GEN" "$PY" "$CMP" send "$DEV_GA" || fail dp_xmit_err_send "sending failed"
check "dp_xmit_err_counted" xm_wait 5 bash -c "[ \"\$(nsenter --net=/run/netns/$NS_DUT $CTL stats -j |
	$PY -c \"import json,sys;d=json.load(sys.stdin);print(d['device']['fast_xmit_err'], d['collectors'][0]['xdp']['sent'])\")\" = '$per $per' ]"
in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA" >/dev/null 2>&1

[ "$xm_fail_count" -eq 0 ]

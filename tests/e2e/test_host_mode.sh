#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host mode (issue 6): a host mirrors its own traffic over its only NIC.
#
#   ns hxh: NIC 10.o.77.1 ==veth== ns hxn: bridge 10.o.77.2 (the TCP peer)
#                                            |
#                                    ns hxc: 10.o.77.3, .4 (collectors)
#
# The NIC carries the production traffic and the mirror's output.  Every
# frame of a TCP transfer on port 9091, in both directions, must reach
# the collector exactly once, byte-identical to what a capture on the NIC
# saw, with its direction in the encapsulation (ERSPAN III D bit, GENEVE
# option), and nothing else may: no loop, no other traffic.  Then: GSO and
# checksum offloads on, through the kernel path (super-frames copied
# whole) and through AF_XDP (segmented, checksums finished), the loop
# guard under a match-all rule, --direction in, coexistence with another
# tc program, the clsact fallback, stop after a crash, bad arguments, and
# TCP throughput with and without the mirror (printed, not asserted).
set -u
S=$$
o=$((S % 200 + 20))
# The single-NIC topology of tests/lib/host.sh, on a subnet of this run's
# own, with room for a copy of a 1514-byte frame plus its encapsulation
# (MTU 9000) while the host and the peer keep to 1500 bytes between them
# (route MTU, so TCP's MSS is 1460), as on a link whose MTU the mirror
# cannot raise.
HX_PREFIX=10.$o.77
HX_MTU=9000
. "$(dirname "$0")/../lib/host.sh"

NS_H=$HX_NS_HOST
NS_N=$HX_NS_NET
NS_C=$HX_NS_COL
NIC=$HX_NIC
WIRE=$HX_WIRE
CDEV=$HX_CDEV
PEER_IP=$HX_PEER_IP
COL_IP=$HX_COL_IP
GRE_IP=$HX_COL2_IP
PORT=9091
APP=$XM_BIN/mirror-appliance
CHECK=$XM_TESTS/lib/hostcheck.py
tmp=$(mktemp -d)
caps=()
bg=()

hm_h() { hx_host "$@"; }
hm_n() { hx_net "$@"; }
hm_c() { hx_col "$@"; }
# The host namespace with the root mount namespace: bpffs pins.
hm_root() { hx_host_root "$@"; }
CTL="hm_root $XM_BIN/mirrorctl -d $NIC"

cleanup() {
	local p
	for p in "${caps[@]}" "${bg[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	hm_root "$APP" stop --dev "$NIC" >/dev/null 2>&1
	hx_topo_down
	rm -f "/run/xdp-mirror/$NIC.pid"
	# HM_KEEP=DIR keeps the captures for a closer look.
	[ -n "${HM_KEEP:-}" ] && mkdir -p "$HM_KEEP" && cp "$tmp"/*.pcap "$HM_KEEP"/
	rm -rf "$tmp"
}
trap cleanup EXIT

hm_offloads() { hx_offloads "$@"; }
hm_mac() { hx_mac "$@"; }

# ---- helpers -----------------------------------------------------------

hm_start() { hm_root "$APP" start --dev "$NIC" --mode host "$@"; }
hm_stop() { hm_root "$APP" stop --dev "$NIC"; }

# hm_stat EXPR: a Python expression over d = mirrorctl stats -j.
hm_stat() {
	$CTL stats -j | "$PY" -c "import json,sys;d=json.load(sys.stdin);h=d.get('host',{});print($1)"
}

# hm_rules_clear: delete every rule.
hm_rules_clear() {
	local id
	for id in $($CTL rule show | sed -n 's/.*# id \([0-9]*\).*/\1/p'); do
		$CTL rule del "$id" || return 1
	done
}

# hm_wait_pcap FILE N: until FILE holds at least N frames.
hm_pcap_ge() { [ "$(hm_pcap_count "$1")" -ge "$2" ]; }

# hm_capture NS DEV FILE [FILTER...]: tcpdump in the background, ready
# once it says it is listening.
hm_capture() {
	local rc
	hx_capture "$@"
	rc=$?
	caps+=("$hx_cap_pid")
	return $rc
}

hm_capture_stop() {
	local p f
	for p in "${caps[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${caps[@]}"; do wait "$p" 2>/dev/null; done
	caps=()
	for f in "$tmp"/*.pcap.err; do
		grep -q "^[1-9][0-9]* packets dropped by kernel" "$f" &&
			fail host_capture_lossless "$(basename "$f" .err): $(grep "dropped by kernel" "$f")"
		rm -f "$f"
	done
	return 0
}

hm_pcap_count() { "$PY" "$CHECK" count "$1"; }

# hm_transfer PORT OUT BACK: OUT bytes host -> peer, BACK bytes back.
# hm_transfer PORT BYTES_OUT BYTES_BACK [PACE bytes/s]
hm_transfer() {
	local ready=$tmp/ready.$1 srv rc
	rm -f "$ready"
	hm_n "$PY" "$CHECK" serve --ip "$PEER_IP" --port "$1" --bytes "$2" --back "$3" \
		--pace "${4:-0}" --ready "$ready" &
	srv=$!
	xm_wait 10 test -e "$ready" || { kill $srv; return 1; }
	hm_h timeout 30 "$PY" "$CHECK" send --ip "$PEER_IP" --port "$1" --bytes "$2" --back "$3" \
		--pace "${4:-0}"
	rc=$?
	wait $srv || rc=1
	return $rc
}

# The copies are all out once the collector has sent as many as the tc
# programs cloned frames (GSO segments counted; a kernel-path clone is
# one copy, GSO or not) and the capture has them.
hm_sent() { hm_stat "sum(c['sent'] for c in d['collectors'])"; }
hm_segs() { hm_stat "sum(h[k]['clone_segs'] + h[k]['k_cloned'] - h[k]['k_fallback'] for k in ('in', 'out'))"; }
hm_settled() { [ "$(hm_sent)" -ge "$(hm_segs)" ]; }
hm_wait_copies() {
	xm_wait 20 hm_settled || fail "$1_settled" "sent $(hm_sent) < cloned segments $(hm_segs)"
	local n=$(($(hm_sent) - ${3:-0}))
	xm_wait 10 hm_pcap_ge "$2" "$n" ||
		fail "$1_capture" "collector capture has $(hm_pcap_count "$2") of $n copies"
}

# The counter identities of struct xm_host_dir_stats, exactly.
hm_identities() {
	local p=$1 r
	r=$(hm_stat "' '.join(str(x) for x in (
		d['device']['rx'] == h['in']['seen'] + h['out']['seen'],
		d['device']['rx'] == d['device']['matched'] + d['device']['not_matched'],
		d['device']['matched'] == h['in']['mirror'] + h['out']['mirror'] + d['device']['skipped'] + d['device']['sampled_out'],
		all(h[k]['mirror'] == h[k]['cloned'] + h[k]['clone_fail'] for k in ('in', 'out')),
		h['in']['xdp_rx'] + h['out']['xdp_rx'] - h['in']['stale'] - h['out']['stale'] ==
			d['device']['to_xsk'] + d['device']['xsk_missing'] + d['device']['meta_fail'],
		all(h[k]['xdp_rx'] == h[k]['clone_segs'] for k in ('in', 'out')),
		h['in']['clone_fail'] + h['out']['clone_fail'] + h['in']['stale'] + h['out']['stale'] +
			d['device']['xsk_missing'] + d['device']['meta_fail'] == 0,
		sum(c['sent'] for c in d['collectors']) == d['device']['to_xsk'] + h['in']['k_sent'] + h['out']['k_sent'],
		sum(v for c in d['collectors'] for k, v in c.items() if k.startswith('drop_')) == 0,
		all(h[k]['k_cloned'] == h[k]['k_rx'] == h[k]['k_sent'] + h[k]['k_fallback'] + h[k]['k_drop'] for k in ('in', 'out')),
		h['in']['k_drop'] + h['out']['k_drop'] + h['in']['own_tx'] == 0,
		h['out']['own_tx'] == h['in']['k_sent'] + h['out']['k_sent'],
		sum(c['tc']['sent'] for c in d['collectors']) == h['in']['k_sent'] + h['out']['k_sent']))")
	check_eq "${p}_counters" "$r" "True True True True True True True True True True True True True"
}

# hm_kpath_share P MIN: at least MIN copies went by the kernel path (so
# a test of it cannot pass on the AF_XDP path alone); printed.
hm_kpath_share() {
	local k
	k=$(hm_stat "h['in']['k_sent'] + h['out']['k_sent']")
	echo "# $1: $k copies by the kernel path, $(hm_stat "d['device']['to_xsk']") by AF_XDP"
	check "$1_kernel_path" test "$k" -ge "$2"
}

# Another party's tc program: its id on a hook, its frame count.
hm_other_id() {
	hm_h tc filter show dev "$NIC" "$1" | sed -n 's/.*name xm_tc_count.* id \([0-9]*\).*/\1/p;s/.* id \([0-9]*\) name xm_tc_count.*/\1/p' | head -1
}
hm_other_count() {
	local map
	map=$(bpftool prog show id "$1" -j | "$PY" -c "import json,sys;print(json.load(sys.stdin)['map_ids'][0])")
	bpftool map dump id "$map" -j | "$PY" -c "
import json, sys
d = json.load(sys.stdin)[0]['formatted']['value']['.bss']
print([v for x in d for k, v in x.items() if k == 'tc_count_seen'][0])"
}

# hm_our_progs: "id name" of the programs this daemon loaded, found by
# the maps they use (our pinned dev_stats): other host-mode daemons on
# the machine have programs of the same names.  Remembered in ours_ids.
ours_ids=""
hm_our_progs() {
	local map
	map=$(bpftool map show pinned "/sys/fs/bpf/xdp-mirror/$NIC/dev_stats" -j 2>/dev/null |
		"$PY" -c "import json,sys;print(json.load(sys.stdin)['id'])") || return 1
	bpftool prog show -j | "$PY" -c "
import json, sys
for p in json.load(sys.stdin):
	if $map in p.get('map_ids', []) and p.get('name', '').startswith('xm_host_'):
		print(p['id'], p['name'])"
}
hm_remember_progs() {
	ours_ids=$(hm_our_progs | awk '{print $1}')
	[ -n "$ours_ids" ]
}
# Does any program remembered by hm_remember_progs still exist?
hm_progs_left() {
	local id
	for id in $ours_ids; do
		bpftool prog show id "$id" >/dev/null 2>&1 && return 0
	done
	return 1
}

hm_ours_gone() {
	! hm_h test -e "/sys/class/net/xmr$nic_idx" &&
		! hm_h test -e "/sys/class/net/xmt$nic_idx" &&
		! hm_progs_left &&
		[ ! -e "/sys/fs/bpf/xdp-mirror/$NIC" ]
}

# ---- go ----------------------------------------------------------------

hx_topo_up || { fail host_topology "could not build the namespaces"; exit 1; }
nic_idx=$(hm_h cat "/sys/class/net/$NIC/ifindex")
hmac=$(hm_mac "$NS_H" "$NIC")

# Bad arguments: a clear message naming the token, non-zero exit.
out=$(hm_root "$APP" start --dev "$NIC" --mode hots 2>&1)
rc=$?
check host_bad_mode test $rc -ne 0 -a "$(echo "$out" | grep -c "'hots'")" -ge 1
out=$(hm_root "$APP" start --dev "$NIC" --mode host --direction sideways 2>&1)
rc=$?
check host_bad_direction test $rc -ne 0 -a "$(echo "$out" | grep -c "'sideways'")" -ge 1
out=$(hm_root "$APP" start --dev "$NIC" --direction in 2>&1)
rc=$?
check host_direction_needs_host test $rc -ne 0 -a "$(echo "$out" | grep -c "needs --mode host")" -ge 1
out=$(hm_root "$APP" start --dev "$NIC" --mode host --queues 2 2>&1)
rc=$?
check host_one_queue test $rc -ne 0 -a "$(echo "$out" | grep -c "queue")" -ge 1
out=$(hm_root "$APP" start --dev "$NIC" --mode host --datapath xdp 2>&1)
rc=$?
check host_no_datapath_xdp test $rc -ne 0 -a "$(echo "$out" | grep -c "datapath tc, not xdp")" -ge 1
out=$(hm_root "$APP" start --dev "$NIC" --datapath tc 2>&1)
rc=$?
check host_datapath_tc_needs_host test $rc -ne 0 -a "$(echo "$out" | grep -c "datapath tc needs --mode host")" -ge 1
check host_bad_args_left_nothing hm_ours_gone

# Another party's tc programs on both hooks, before we start.
hm_h tc qdisc add dev "$NIC" clsact
for hook in ingress egress; do
	hm_h tc filter add dev "$NIC" $hook pref 7 bpf da obj "$XM_BIN/tc_count.bpf.o" sec tc ||
		fail host_other_attach "tc filter add $hook failed"
done
other_in=$(hm_other_id ingress)
other_out=$(hm_other_id egress)

# ---- A: ERSPAN III, both directions, wire-like links ----------------------

out=$(hm_start 2>&1)
check_eq host_start_exit "$?" 0
echo "$out"
check host_veth_pair hm_h test -e "/sys/class/net/xmr$nic_idx"
check host_progs_loaded hm_remember_progs
check_eq host_progs "$(hm_our_progs | awk '{print $2}' | sort | tr '\n' ' ')" \
	"xm_host_tc_in xm_host_tc_kpath xm_host_tc_out xm_host_xdp "
$CTL collector add e3 remote "$COL_IP" encap erspan3 session 7
$CTL rule add proto tcp dport $PORT collector e3
$CTL rule add proto tcp sport $PORT collector e3
o_in0=$(hm_other_count "$other_in")
o_out0=$(hm_other_count "$other_out")

hm_capture "$NS_H" "$NIC" "$tmp/a_nic.pcap" || fail host_a_capture "NIC capture did not start"
hm_capture "$NS_C" "$CDEV" "$tmp/a_col.pcap" ip and dst host "$COL_IP" ||
	fail host_a_capture "collector capture did not start"
# Traffic the rules do not take, around the transfer.
hm_udp() {
	hm_h "$PY" -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
	s.sendto(b"not mirrored", (sys.argv[1], 9))' "$PEER_IP" "$1"
}
hm_udp 5
check host_a_transfer hm_transfer $PORT 400000 150000
check host_a_other_transfer hm_transfer 9092 50000 20000
hm_wait_copies host_a "$tmp/a_col.pcap"
hm_capture_stop
"$PY" "$CHECK" compare --nic "$tmp/a_nic.pcap" --col "$tmp/a_col.pcap" --host-mac "$hmac" \
	--coll-ip "$COL_IP" --encap erspan3 --port $PORT --prefix host_a ||
	xm_fail_count=$((xm_fail_count + 1))
hm_identities host_a
hm_kpath_share host_a 1
# tshark, an independent decoder: D = 0 for the ingress copies, 1 for the
# egress ones, as many as the tc programs cloned.
tshark -r "$tmp/a_col.pcap" -T fields -e erspan.direction -e erspan.spanid >"$tmp/a_ts.txt" 2>/dev/null
check_eq host_a_tshark_dir \
	"$(awk '$1 == 0 && $2 == 7 {i++} $1 == 1 && $2 == 7 {o++} END {print i+0, o+0}' "$tmp/a_ts.txt")" \
	"$(hm_stat "'%d %d' % (h['in']['cloned'], h['out']['cloned'])")"
check host_a_other_prog_ran test "$(hm_other_count "$other_in")" -gt "$o_in0" -a \
	"$(hm_other_count "$other_out")" -gt "$o_out0"
hm_root "$XM_BIN/mirrorctl" -d "$NIC" stats | sed -n '/^host mode/,/^rules/p'

# ---- B: GENEVE with the direction option ----------------------------------

$CTL collector add g1 remote "$COL_IP" encap geneve vni 77
# In effect when the command returns (the daemon was woken and caught up).
check_eq host_b_collector_live "$($CTL status -j | "$PY" -c "import json,sys;print([c['path'] for c in json.load(sys.stdin)['collectors'] if c['name'] == 'g1'][0])")" tc
hm_rules_clear
$CTL rule add proto tcp dport $PORT collector g1
$CTL rule add proto tcp sport $PORT collector g1
b0=$(hm_stat "'%d %d' % (h['in']['cloned'], h['out']['cloned'])")
sent0=$(hm_sent)
hm_capture "$NS_H" "$NIC" "$tmp/b_nic.pcap" || fail host_b_capture "NIC capture did not start"
hm_capture "$NS_C" "$CDEV" "$tmp/b_col.pcap" ip and dst host "$COL_IP" ||
	fail host_b_capture "collector capture did not start"
check host_b_transfer hm_transfer $PORT 200000 100000
hm_wait_copies host_b "$tmp/b_col.pcap" "$sent0"
hm_capture_stop
"$PY" "$CHECK" compare --nic "$tmp/b_nic.pcap" --col "$tmp/b_col.pcap" --host-mac "$hmac" \
	--coll-ip "$COL_IP" --encap geneve --port $PORT --prefix host_b ||
	xm_fail_count=$((xm_fail_count + 1))
tshark -r "$tmp/b_col.pcap" -T fields -e geneve.vni -e geneve.option.class \
	-e geneve.option.type -e geneve.option.unknown.data >"$tmp/b_ts.txt" 2>/dev/null
read -r bi0 bo0 <<<"$b0"
read -r bi1 bo1 <<<"$(hm_stat "'%d %d' % (h['in']['cloned'], h['out']['cloned'])")"
check_eq host_b_tshark_option \
	"$(awk -F'\t' '$1 == "0x00004d" && $2 == "0xff58" && $3 == "0x01" {n[$4]++} END {print n["00000001"]+0, n["00000002"]+0}' "$tmp/b_ts.txt")" \
	"$((bi1 - bi0)) $((bo1 - bo0))"
hm_kpath_share host_b 100
check_eq host_b_status_path "$($CTL status -j | "$PY" -c "import json,sys;print(' '.join(c['name'] + ':' + c['path'] for c in json.load(sys.stdin)['collectors']))")" \
	"e3:tc g1:tc"
check host_b_status_text eval '$CTL status | grep -q "^datapath auto (host mode: kernel path on)"'
check host_b_stats_text eval '$CTL stats | grep -q "^  1:g1/tc "'

# ---- C: offloads on, the kernel path: GSO super-frames copied whole ------

# On a veth the "wire" carries super-frames with CHECKSUM_PARTIAL: the
# peer receives them so, a capture on the NIC shows them so, and the
# kernel path copies them so, one encapsulated skb each (a real NIC
# would segment the copy and finish its checksums, as it does the
# host's own frames).  Unpaced: no ring to overflow on this path.
hm_offloads on
hm_capture "$NS_H" "$NIC" "$tmp/c_nic.pcap" || fail host_c_capture "NIC capture did not start"
hm_capture "$NS_C" "$CDEV" "$tmp/c_col.pcap" ip and dst host "$COL_IP" ||
	fail host_c_capture "collector capture did not start"
c0=$(hm_stat "' '.join(str(h[k][f]) for k in ('in', 'out') for f in ('cloned', 'k_sent'))")
sent0=$(hm_sent)
check host_c_transfer hm_transfer $PORT 1000000 300000
hm_wait_copies host_c "$tmp/c_col.pcap" "$sent0"
hm_capture_stop
"$PY" "$CHECK" compare --nic "$tmp/c_nic.pcap" --col "$tmp/c_col.pcap" --host-mac "$hmac" \
	--coll-ip "$COL_IP" --encap geneve --port $PORT --prefix host_c ||
	xm_fail_count=$((xm_fail_count + 1))
c1=$(hm_stat "' '.join(str(h[k][f]) for k in ('in', 'out') for f in ('cloned', 'k_sent'))")
read -r ci0 ck0 co0 cko0 <<<"$c0"
read -r ci1 ck1 co1 cko1 <<<"$c1"
echo "# host_c: ingress $((ci1 - ci0)) skbs cloned, $((ck1 - ck0)) by the kernel path; egress $((co1 - co0)), $((cko1 - cko0))"
check_eq host_c_all_kernel_path "$((ck1 - ck0)) $((cko1 - cko0))" "$((ci1 - ci0)) $((co1 - co0))"
# TSO on the host's side: some egress copies were super-frames, whole.
big=$("$PY" -c '
import os, sys
sys.path.insert(0, os.environ["XM_TESTS"] + "/lib")
import hostcheck
print(sum(1 for f in hostcheck.pcap_frames(sys.argv[1]) if len(f) > 1514 + 58))
' "$tmp/c_col.pcap")
echo "# host_c: $big copies longer than a 1514-byte frame plus its GENEVE header"
check host_c_gso_whole test "$big" -gt 0
hm_identities host_c
hm_offloads off

# ---- D: loop guard, and no loop under a match-all rule ----------------------

hm_rules_clear
$CTL collector del e3
$CTL collector add e4 remote "$GRE_IP" encap erspan3
$CTL rule add collector g1
lg0=$(hm_stat "h['out']['loop_guard']")
seen0=$(hm_stat "h['out']['seen']")
sent0=$(hm_sent)
tx0=$(hm_h cat "/sys/class/net/$NIC/statistics/tx_packets")
hm_capture "$NS_C" "$CDEV" "$tmp/d_col.pcap" ip and dst host "$COL_IP" ||
	fail host_d_capture "collector capture did not start"
# Our encapsulations to our collectors (GENEVE to g1's port, GRE to e4):
# guarded.  The same protocols elsewhere (UDP 6082, GRE to g1, which is
# a UDP collector): mirrored like anything else.
hm_h "$PY" -c '
import socket, sys
col, gre = sys.argv[1], sys.argv[2]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
g = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
for i in range(20):
	u.sendto(b"guarded %d" % i, (col, 6081))
	g.sendto(b"\x00\x00\x65\x58guarded", (gre, 0))
for i in range(7):
	u.sendto(b"other %d" % i, (col, 6082))
	g.sendto(b"\x00\x00\x65\x58other", (col, 0))
' "$COL_IP" "$GRE_IP"
xm_wait 20 eval '[ "$(hm_sent)" -ge $((sent0 + 14)) ]'
sleep 0.3
tx_frames=$(( $(hm_h cat "/sys/class/net/$NIC/statistics/tx_packets") - tx0 ))
hm_capture_stop
check_eq host_d_loop_guard "$(hm_stat "h['out']['loop_guard']")" $((lg0 + 40))
# What the collector got: the 34 originals sent to it (not copies) and
# copies of exactly the 14 unguarded frames, none of the 40 guarded ones.
"$PY" - "$tmp/d_col.pcap" "$COL_IP" >"$tmp/d_kinds.txt" <<'EOF'
import ipaddress, os, sys
sys.path.insert(0, os.environ["XM_TESTS"] + "/lib")
import hostcheck
n = {"guarded": 0, "other": 0, "else": 0, "original": 0}
for raw in hostcheck.pcap_frames(sys.argv[1]):
	try:
		f, _ = hostcheck.decap(raw, "geneve", ipaddress.ip_address(sys.argv[2]))
	except ValueError:
		n["original"] += 1
		continue
	n["guarded" if b"guarded" in f else "other" if b"other" in f else "else"] += 1
print(n["guarded"], n["other"], n["else"], n["original"])
EOF
check_eq host_d_guarded_not_mirrored "$(cat "$tmp/d_kinds.txt")" "0 14 0 34"
# The copies left by AF_XDP TX, below tc: the NIC sent the host's 54
# frames and the 14 copies, tc egress saw only the host's.  No loop.
sent_d=$(( $(hm_sent) - sent0 ))
check_eq host_d_sent "$sent_d" 14
check_eq host_d_output_not_classified "$(( $(hm_stat "h['out']['seen']") - seen0 )) $tx_frames" \
	"54 $((54 + sent_d))"
hm_identities host_d

# ---- E: --direction in ------------------------------------------------------

hm_stop >/dev/null
check host_stop_removed hm_ours_gone
out=$(hm_start --direction in 2>&1)
check_eq host_e_start_exit "$?" 0
echo "$out"
check host_e_progs_loaded hm_remember_progs
check_eq host_e_no_egress_prog "$(hm_our_progs | awk '{print $2}' | sort | tr '\n' ' ')" \
	"xm_host_tc_in xm_host_tc_kpath xm_host_xdp "
$CTL collector add e3 remote "$COL_IP" encap erspan3
$CTL rule add proto tcp dport $PORT collector e3
$CTL rule add proto tcp sport $PORT collector e3
hm_capture "$NS_H" "$NIC" "$tmp/e_nic.pcap" || fail host_e_capture "NIC capture did not start"
hm_capture "$NS_C" "$CDEV" "$tmp/e_col.pcap" ip and dst host "$COL_IP" ||
	fail host_e_capture "collector capture did not start"
check host_e_transfer hm_transfer $PORT 100000 100000
hm_wait_copies host_e "$tmp/e_col.pcap"
hm_capture_stop
"$PY" "$CHECK" compare --nic "$tmp/e_nic.pcap" --col "$tmp/e_col.pcap" --host-mac "$hmac" \
	--coll-ip "$COL_IP" --encap erspan3 --port $PORT --dirs in --prefix host_e ||
	xm_fail_count=$((xm_fail_count + 1))
check_eq host_e_egress_untouched "$(hm_stat "h['out']['seen']")" 0

# ---- F: stop removes exactly what start added ------------------------------

hm_stop >/dev/null
check host_f_stop_removed hm_ours_gone
check_eq host_f_other_still_attached "$(hm_other_id ingress) $(hm_other_id egress)" "$other_in $other_out"
o_out0=$(hm_other_count "$other_out")
hm_udp 3
check host_f_other_still_runs test "$(hm_other_count "$other_out")" -ge $((o_out0 + 3))

# ---- G: the clsact fallback (kernels before tcx) ---------------------------

out=$(XM_HOST_TC=clsact hm_start 2>&1)
check_eq host_g_start_exit "$?" 0
hm_remember_progs
check host_g_clsact_filter eval 'hm_h tc filter show dev "$NIC" ingress | grep -q "xm_host_tc_in"'
$CTL collector add e3 remote "$COL_IP" encap erspan3
$CTL rule add proto tcp dport $PORT collector e3
check host_g_transfer hm_transfer $PORT 20000 20000
xm_wait 20 eval '[ "$(hm_sent)" -gt 0 ]' || fail host_g_copies "no copy sent"
hm_stop >/dev/null
check host_g_stop_removed hm_ours_gone
check_eq host_g_other_kept "$(hm_other_id ingress) $(hm_other_id egress)" "$other_in $other_out"
check_eq host_g_only_other_filters \
	"$(hm_h tc filter show dev "$NIC" ingress | grep -c "^filter.*handle")" 1
# Without anybody else's filter, the clsact qdisc we create goes too.
hm_h tc qdisc del dev "$NIC" clsact
XM_HOST_TC=clsact hm_start >/dev/null 2>&1
check host_g_made_clsact eval 'hm_h tc qdisc show dev "$NIC" | grep -q clsact'
hm_remember_progs
hm_stop >/dev/null
check host_g_stop_removed_again hm_ours_gone
check host_g_removed_clsact eval '! hm_h tc qdisc show dev "$NIC" | grep -q clsact'

# ---- H: a crashed daemon's leftovers ---------------------------------------

hm_start >/dev/null 2>&1
hm_remember_progs
tc_ids=$(hm_our_progs | awk '$2 ~ /^xm_host_tc/ {print $1}')
pid=$(cat "/run/xdp-mirror/$NIC.pid")
kill -9 "$pid"
xm_wait 10 eval '! kill -0 '"$pid"' 2>/dev/null'
# tcx links die with their process, and the tc programs with them.
hm_tc_gone() {
	local id
	for id in $tc_ids; do
		bpftool prog show id "$id" >/dev/null 2>&1 && return 1
	done
	return 0
}
check host_h_tcx_died_with_daemon eval '[ -n "$tc_ids" ] && xm_wait 5 hm_tc_gone'
check host_h_veth_left hm_h test -e "/sys/class/net/xmr$nic_idx"
out=$(hm_stop 2>&1)
check_eq host_h_stop_exit "$?" 0
check host_h_cleaned hm_ours_gone

# ---- J: offloads on, --datapath afxdp: GSO segmented, checksums finished --

hm_start --datapath afxdp >/dev/null 2>&1
check host_j_no_kpath_prog eval '! hm_our_progs | grep -q xm_host_tc_kpath'
$CTL collector add g1 remote "$COL_IP" encap geneve vni 77
$CTL rule add proto tcp dport $PORT collector g1
$CTL rule add proto tcp sport $PORT collector g1
check_eq host_j_status_path "$($CTL status -j | "$PY" -c "import json,sys;print(json.load(sys.stdin)['collectors'][0]['path'])")" afxdp
hm_offloads on
hm_capture "$NS_C" "$CDEV" "$tmp/j_col.pcap" ip and dst host "$COL_IP" ||
	fail host_j_capture "collector capture did not start"
# Paced (25 MB/s): unpaced, several super-frames segmented back to back
# can overflow the private veth's 256-entry ring now and then (counted:
# clone_segs - xdp_rx, as in the throughput runs below), and this test
# wants every copy.
check host_j_transfer hm_transfer $PORT 1000000 300000 25000000
hm_wait_copies host_j "$tmp/j_col.pcap"
hm_capture_stop
"$PY" "$CHECK" stream --col "$tmp/j_col.pcap" --coll-ip "$COL_IP" --encap geneve --port $PORT \
	--peer-ip "$PEER_IP" --bytes-out 1000000 --bytes-in 300000 --prefix host_j ||
	xm_fail_count=$((xm_fail_count + 1))
read -r ci1 cs1 co1 cso1 <<<"$(hm_stat "' '.join(str(h[k][f]) for k in ('in', 'out') for f in ('cloned', 'clone_segs'))")"
echo "# host_j: ingress $ci1 skbs cloned -> $cs1 frames; egress $co1 skbs -> $cso1 frames"
# TSO on the host's side: the egress clones were super-frames.
check host_j_gso_segmented test "$cso1" -gt "$co1"
check_eq host_j_no_kpath "$(hm_stat "h['in']['k_cloned'] + h['out']['k_cloned']")" 0
hm_identities host_j
hm_offloads off
hm_stop >/dev/null

# ---- I: TCP throughput with and without the mirror (printed only) ---------

# hm_iperf [ARGS]: one 2-second iperf3 run host -> peer; prints Mbit/s
# received.  With the mirror on, also what became of the copies.
hm_iperf() {
	hm_h iperf3 -c "$PEER_IP" -p 5201 -t 2 -J "$@" 2>/dev/null | "$PY" -c \
		"import json,sys;print('%.0f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second'] / 1e6))"
}
hm_med() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# The far end of the wire drops the copies (a classic BPF filter on the
# peer side's ingress, which sees the frame from its Ethernet header:
# IPv4 to the collector), as a network would carry
# them away: the collector namespace shares this machine's two CPUs, and
# bridging each copy to it would be charged to the host.  The clsact
# qdisc's drop counter says how many arrived.
hm_far_drop_on() {
	local a b c e dst
	IFS=. read -r a b c e <<<"$COL_IP"
	dst=$(( (a << 24) | (b << 16) | (c << 8) | e ))
	hm_n tc qdisc add dev "$WIRE" clsact &&
		hm_n tc filter add dev "$WIRE" ingress protocol ip pref 1 bpf da \
			bytecode "4,32 0 0 30,21 0 1 $dst,6 0 0 2,6 0 0 4294967295"
}
hm_far_drops() {
	hm_n tc -s -j qdisc show dev "$WIRE" | "$PY" -c "
import json, sys
print(sum(q.get('drops', 0) for q in json.load(sys.stdin) if q.get('kind') == 'clsact'))"
}

# hm_throughput LABEL ENCAP DATAPATH RUNS [IPERF ARGS]: RUNS runs
# without and RUNS with the mirror (rules for the iperf3 flow, one
# collector), interleaved; medians and the ratio.
hm_throughput() {
	local label=$1 enc=$2 dp=$3 runs=$4 i mw mo lost=() copies=() kern=() far=() sent=() f0
	shift 4
	local without=() with=()
	for i in $(seq "$runs"); do
		without+=("$(hm_iperf "$@")")
		hm_start --datapath "$dp" >/dev/null 2>&1
		$CTL collector add e3 remote "$COL_IP" encap "$enc"
		$CTL rule add proto tcp dport 5201 collector e3
		$CTL rule add proto tcp sport 5201 collector e3
		f0=$(hm_far_drops)
		with+=("$(hm_iperf "$@")")
		xm_wait 5 hm_settled
		# Copies to make: AF_XDP frames (GSO segments) and kernel-path
		# skbs; of them by the kernel path; lost, counted: the AF_XDP
		# socket's ring full, the private veth's ring (segments never
		# seen), the kernel path's backlog queue or its drops.
		copies+=("$(hm_stat "sum(h[k]['clone_segs'] + h[k]['k_cloned'] - h[k]['k_fallback'] for k in ('in', 'out'))")")
		kern+=("$(hm_stat "h['in']['k_sent'] + h['out']['k_sent']")")
		lost+=("$(hm_stat "sum(w['xsk_rx_ring_full'] + w['xsk_rx_dropped'] for w in d['workers']) + sum(h[k]['clone_segs'] - h[k]['xdp_rx'] + h[k]['k_cloned'] - h[k]['k_rx'] + h[k]['k_drop'] for k in ('in', 'out'))")")
		far+=($(( $(hm_far_drops) - f0 )))
		sent+=("$(hm_sent)")
		hm_stop >/dev/null
	done
	mw=$(hm_med "${with[@]}")
	mo=$(hm_med "${without[@]}")
	echo "$label without mirror: ${without[*]} Mbit/s (median $mo)"
	echo "$label with mirror:    ${with[*]} Mbit/s (median $mw); copies to make ${copies[*]}, by the kernel path ${kern[*]}, lost (counted) ${lost[*]}; sent ${sent[*]}, at the far end of the wire ${far[*]}"
	echo "$label ratio with/without: $(awk -v a="$mw" -v b="$mo" 'BEGIN {printf "%.2f", b ? a / b : 0}') (medians); median of the $runs paired ratios $(hm_med $(for i in $(seq 0 $((runs - 1))); do awk -v a="${with[$i]}" -v b="${without[$i]}" 'BEGIN {printf "%.2f\n", b ? a / b : 0}'; done))"
	# Every copy sent crossed the wire; with VXLAN every copy is the
	# kernel path's, the first included (collector add returns once
	# the daemon has its template).
	[ -n "$mw" ] && [ -n "$mo" ] && [ "${far[*]}" = "${sent[*]}" ] &&
		{ [ "$enc/$dp" != vxlan/auto ] || [ "${kern[*]}" = "${copies[*]}" ]; }
}

if command -v iperf3 >/dev/null; then
	hm_offloads on
	hm_n iperf3 -s -B "$PEER_IP" -p 5201 -D --pidfile "$tmp/iperf3.pid" >/dev/null 2>&1
	xm_wait 10 test -s "$tmp/iperf3.pid"
	bg+=("$(cat "$tmp/iperf3.pid")")
	hm_far_drop_on || fail host_i_far_drop "the far end's filter could not be added"
	echo "=== host mode throughput: iperf3 -t 2, one TCP flow host -> peer, veth offloads on, $(nproc) CPUs; copies dropped at the far end of the wire"
	# HM_RUNS=N for a longer series of the main figure.
	check host_i_iperf_unlimited hm_throughput "unlimited, VXLAN, kernel path:" vxlan auto "${HM_RUNS:-5}"
	check host_i_iperf_paced hm_throughput "paced 2 Gbit/s, VXLAN, kernel path:" vxlan auto 3 -b 2G
	check host_i_iperf_erspan hm_throughput "unlimited, ERSPAN III (GSO frames by AF_XDP):" erspan3 auto 3
	check host_i_iperf_afxdp hm_throughput "unlimited, VXLAN, --datapath afxdp:" vxlan afxdp 3
	echo "==="
else
	fail host_i_iperf "iperf3 is not installed (make deps)"
fi

[ "$xm_fail_count" -eq 0 ]

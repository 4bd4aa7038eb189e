#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Rule tables replaced under traffic.  UDP frames to ports 1000, 2000 and
# 3000 flow steadily while bench's xm-churn publishes, as fast as it can
# for about 3 s, three generations of the rules "dport 1000 -> c1, dport
# 2000 -> c2, dport 3000 -> c1,c2" in which every rule's table slot, hash
# key and tuple change (see bench/xm_churn.c).  Before and after, the
# same rules are installed with mirrorctl, so every frame matches at every
# moment.  A frame classified against a torn table (keys or tuples of one
# generation, rules of another) would reach the wrong collector or none:
# so every copy at c1 must be a port 1000 or 3000 frame and every copy at
# c2 a port 2000 or 3000 frame, each sent frame exactly once per
# collector, and the stats identities exact.  The publish rate and
# latency are printed for information; only a low floor is asserted.
set -u
. "$(dirname "$0")/../lib/netns.sh"
tmp=$(mktemp -d)
cap_pid=
gen_pid=
cleanup() {
	[ -n "$gen_pid" ] && kill "$gen_pid" 2>/dev/null
	[ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null
	wait 2>/dev/null
	xm_topo_down
	rm -rf "$tmp"
}
trap cleanup EXIT
CTL="$XM_BIN/mirrorctl -d $DEV_DA"
RC="$XM_TESTS/lib/rulecheck.py"
C2_IP=10.$XM_O.2.3
DURATION=${XM_CHURN_SECONDS:-3}

xm_topo_up && xm_addr "$NS_COL" "$DEV_CB" "$C2_IP/24" ||
	{ fail churn_topology "could not build namespaces"; exit 1; }

out=$(xm_start 2>&1)
rc=$?
check_eq churn_start_exit "$rc" 0
[ $rc -eq 0 ] || { echo "$out"; exit 1; }
echo "$out"

in_dut $CTL collector add c1 remote "$COL_IP" vni 1 &&
	in_dut $CTL collector add c2 remote "$C2_IP" vni 2 &&
	in_dut $CTL rule add prio 10 proto udp dport 1000 collector c1 &&
	in_dut $CTL rule add prio 20 proto udp dport 2000 collector c2 &&
	in_dut $CTL rule add prio 30 proto udp dport 3000 collector c1,c2 ||
	{ fail churn_setup "collector/rule add failed"; exit 1; }
in_dut $CTL rule show

# Resolve both collectors' neighbours before the first copy (copies to
# an unresolved collector are dropped, and this test allows no drops).
for a in "$COL_IP" "$C2_IP"; do in_ns "$NS_DUT" ping -c1 -W1 -q "$a" >/dev/null 2>&1; done
resolved() { [ "$(in_ns "$NS_DUT" ip -4 neigh show dev "$DEV_DB" nud reachable | grep -c lladdr)" -ge 2 ]; }
xm_wait 10 resolved || fail churn_neigh "collector neighbours did not resolve"

# ip netns exec execs its command: the pids are tcpdump's and python's.
ip netns exec "$NS_COL" tcpdump -i "$DEV_CB" -Q in -U -n -s 0 -B 32768 -w "$tmp/col.pcap" udp port 4789 \
	2>"$tmp/tcpdump.err" &
cap_pid=$!
xm_wait 10 grep -qs "listening on" "$tmp/tcpdump.err" || fail churn_capture "tcpdump did not start"

stats() { in_dut $CTL stats -j; }
stat() { stats | "$PY" -c "import json,sys;d=json.load(sys.stdin);print($1)"; }

ip netns exec "$NS_GEN" "$PY" "$RC" churn-send --iface "$DEV_GA" --out "$tmp/sent.json" \
	--rate "${XM_CHURN_RATE:-8000}" >"$tmp/gen.out" 2>&1 &
gen_pid=$!
xm_wait 10 grep -qs ready "$tmp/gen.out" || fail churn_traffic "sender did not start"
# Traffic is flowing (and being mirrored) before the churn starts.
mirrored_over() { [ "$(stat "d['device']['to_xsk'] + d['device']['to_fast']")" -gt "$1" ]; }
rx_at_least() { [ "$(stat "d['device']['rx']")" -ge "$1" ]; }
xm_wait 10 mirrored_over 100 ||
	fail churn_traffic "no frames mirrored before the churn"

in_dut "$XM_BIN/xm-churn" --dev "$DEV_DA" --coll1 c1 --coll2 c2 --duration "$DURATION" \
	>"$tmp/churn.json" 2>"$tmp/churn.err"
rc=$?
cat "$tmp/churn.json" "$tmp/churn.err"
check_eq churn_tool_exit "$rc" 0

# Some traffic after the table went back to mirrorctl's rules, then stop.
xm_wait 10 rx_at_least $(($(stat "d['device']['rx']") + 500)) ||
	fail churn_traffic "traffic stalled after the churn"
kill -TERM "$gen_pid"; wait "$gen_pid"; gen_pid=
[ -s "$tmp/sent.json" ] || { fail churn_sender_done "no sent.json: $(cat "$tmp/gen.out")"; exit 1; }
total=$("$PY" -c "import json;print(sum(json.load(open('$tmp/sent.json'))['sent']))")
copies=$("$PY" -c "import json;s=json.load(open('$tmp/sent.json'))['sent'];print(s[0]+s[1]+2*s[2])")

acct() { [ "$(stat "d['device']['rx']")" -ge "$total" ] &&
	[ "$(stat "sum(c['sent']+sum(v for k,v in c.items() if k.startswith('drop_')) for c in d['collectors'])")" -ge "$copies" ]; }
xm_wait 20 acct || fail churn_accounted "frames or copies not all accounted for (sent $total frames, $copies copies)"
sent=$(stat "sum(c['sent'] for c in d['collectors'])")
captured() { [ "$(tshark -r "$tmp/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$sent" ]; }
xm_wait 20 captured || fail churn_capture_complete "capture has fewer than $sent frames"
kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=
grep -i "dropped by kernel" "$tmp/tcpdump.err"
stats >"$tmp/stats.json"
in_dut $CTL stats

"$PY" "$RC" churn-check --pcap "$tmp/col.pcap" --sent "$tmp/sent.json" --stats "$tmp/stats.json" \
	--c1 "$COL_IP" --c2 "$C2_IP" --prefix churn || xm_fail_count=$((xm_fail_count + 1))

# mirrorctl's rules are live again, and rule show still works.
check_eq churn_rules_restored "$(in_dut $CTL rule show | grep -c '^rule add')" 3

# Rate and latency: information, plus a floor far below the expected
# >= 1000/s.  A sanitizer build is far slower (ASan zeroes and maps the
# ~2 MB xm_table_publish allocates per call), so its floor is lower.
read -r rate p50 p99 max n <<<"$("$PY" -c "
import json; d = json.load(open('$tmp/churn.json')); l = d['latency_us']
print(d['publishes_per_s'], l['p50'], l['p99'], l['max'], d['publishes'])" 2>/dev/null)"
echo "INFO churn: $n publishes, ${rate:-?} publishes/s, latency p50 ${p50:-?} us, p99 ${p99:-?} us, max ${max:-?} us"
floor=200
if ldd "$XM_BIN/xm-churn" 2>/dev/null | grep -q libasan; then
	floor=50
	echo "INFO churn: sanitizer build, floor $floor publishes/s"
fi
check churn_rate_floor "$PY" -c "import sys; sys.exit(0 if float('${rate:-0}') >= $floor else 1)"

[ "$xm_fail_count" -eq 0 ]

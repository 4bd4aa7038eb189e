#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end, the rule engine: one appliance, one table of rules covering
# every match field (src/dst prefixes v4 and v6, proto, sport/dport exact
# and ranges, vlan, inner-vlan, iif, dir in/out, dscp, tcp-flags with a
# mask, pcap filters), priorities and ties, skip rules inside a broader
# mirror rule, sampling, snaplen (rule vs collector) and replication.
# Each rule has collectors of its own, so the collector a copy reaches
# names the rule that matched.  tests/lib/rulecheck.py builds the frames
# with scapy and decides, independently of the C classifier, which rule
# each frame must match; the capture at the collectors (decoded with
# encapcheck.py's parser and tshark) and mirrorctl stats must agree with
# it exactly.
set -u
. "$(dirname "$0")/../lib/netns.sh"
xm_e2e_begin
RC="$XM_TESTS/lib/rulecheck.py"

xm_topo_up || { fail rules_topology "could not build namespaces"; exit 1; }

"$PY" "$RC" plan --plan "$tmp/plan.json" --pcap "$tmp/frames.pcap" \
	--net4 "10.$XM_O.2" --iif "$DEV_DA" --other-dev "$DEV_DB" ||
	{ fail rules_plan "rulecheck.py plan failed"; exit 1; }
# One outer destination per collector: the capture is split by it.
addrs=$("$PY" "$RC" addrs --plan "$tmp/plan.json")
# shellcheck disable=SC2086
xm_addr "$NS_COL" "$DEV_CB" $addrs || { fail rules_topology "could not add collector addresses"; exit 1; }

out=$(xm_start 2>&1)
rc=$?
check_eq rules_start_exit "$rc" 0
[ $rc -eq 0 ] || { echo "$out"; exit 1; }
echo "$out"

in_dut "$PY" "$RC" setup --plan "$tmp/plan.json" --ids "$tmp/ids.json" --ctl "$CTL" ||
	{ xm_fail_count=$((xm_fail_count + 1)); exit 1; }
in_dut $CTL rule show
in_dut $CTL collector show

# Resolve every collector's neighbour before the first copy: the
# daemon's resolution is asynchronous, and copies to an unresolved
# collector are dropped (drop_no_neigh), which this test does not allow.
ncoll=$(wc -w <<<"$addrs")
for a in $addrs; do in_ns "$NS_DUT" ping -c1 -W1 -q "${a%/24}" >/dev/null 2>&1; done
resolved() { [ "$(in_ns "$NS_DUT" ip -4 neigh show dev "$DEV_DB" nud reachable | grep -c lladdr)" -ge "$ncoll" ]; }
xm_wait 10 resolved || fail rules_neigh "collector neighbours did not resolve"

# ip netns exec execs tcpdump: cap_pid is tcpdump's.
ip netns exec "$NS_COL" tcpdump -i "$DEV_CB" -Q in -U -n -s 0 -w "$tmp/col.pcap" udp port 4789 \
	2>"$tmp/tcpdump.err" &
cap_pid=$!
xm_wait 10 grep -qs "listening on" "$tmp/tcpdump.err" || fail rules_capture "tcpdump did not start"

in_ns "$NS_GEN" "$PY" "$RC" send --plan "$tmp/plan.json" --iface "$DEV_GA" ||
	fail rules_send "sending frames failed"

stats() { in_dut $CTL stats -j; }
settled() { stats | "$PY" "$RC" settled --plan "$tmp/plan.json" --ids "$tmp/ids.json"; }
xm_wait 30 settled || fail rules_accounted "frames or copies not all accounted for: $(stats | "$PY" "$RC" settled -v --plan "$tmp/plan.json" --ids "$tmp/ids.json")"
sent=$(stats | "$PY" -c "import json,sys;print(sum(c['sent'] for c in json.load(sys.stdin)['collectors']))")
captured() { [ "$(tshark -r "$tmp/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge "$sent" ]; }
xm_wait 10 captured || fail rules_capture_complete "capture has fewer than $sent frames"
kill -TERM "$cap_pid"; wait "$cap_pid" 2>/dev/null; cap_pid=
stats >"$tmp/stats.json"
in_dut $CTL stats

"$PY" "$RC" check --plan "$tmp/plan.json" --ids "$tmp/ids.json" --pcap "$tmp/col.pcap" \
	--frames-pcap "$tmp/frames.pcap" --stats "$tmp/stats.json" --src "$DUT_IP" \
	--smac "$(xm_mac "$NS_DUT" "$DEV_DB")" --dmac "$(xm_mac "$NS_COL" "$DEV_CB")" \
	--prefix rules || xm_fail_count=$((xm_fail_count + 1))

check_eq rules_workers_no_loss "$("$PY" -c "import json;print(sum(w['xsk_rx_dropped']+w['xsk_rx_ring_full']+w['bad_meta'] for w in json.load(open('$tmp/stats.json'))['workers']))")" 0

[ "$xm_fail_count" -eq 0 ]

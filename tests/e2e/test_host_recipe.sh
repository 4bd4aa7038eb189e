#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The tc mirred recipe on a host with one NIC, set up exactly as users do,
# and measured: what the collector, a local capture and the stack get.
#   (a) tc ... ingress/egress bpf 'tcp port 9091' action mirred egress
#       mirror dev lo: the copies keep their foreign destination MAC,
#       loopback_xmit's eth_type_trans marks them PACKET_OTHERHOST and
#       ip_rcv drops them; which counter, if any, says so.
#   (b) the same into a vxlan device whose underlay is the same NIC:
#       with the narrow filter the copies go out once each (fragmented
#       when the copy exceeds the MTU) and the vxlan device adds its own
#       IPv6 chatter; with a broader filter ('net <peer subnet>') the
#       copies are classified again on the NIC's egress and nest until
#       the kernel's dead-loop guard drops them.
# Real traffic: a TCP echo transfer on port 9091 between the host and the
# peer.  The failures are asserted as measured facts; the figures are
# printed between "=== recipe figures" markers for the README.
set -u
. "$(dirname "$0")/../lib/host.sh"
tmp=$(mktemp -d)
caps=()
hx_srv_pid=
cleanup() {
	hx_capture_stop "${caps[@]}"
	[ -n "$hx_srv_pid" ] && kill "$hx_srv_pid" 2>/dev/null
	wait 2>/dev/null
	hx_topo_down
	rm -rf "$tmp"
}
trap cleanup EXIT

HX_VX=hxvx$HX_SFX
NARROW='tcp port 9091'
BROAD="net $HX_SUBNET"

# Decode a capture with tshark (no IP reassembly: a fragment is counted
# as the frame it is) and summarise it as JSON.  Per frame: VXLAN depth
# (number of VXLAN headers), whether the outer IPv4 packet is a first or
# a later fragment, and what the innermost frame is.
cat >"$tmp/ana.py" <<'EOF'
import collections, json, struct, subprocess, sys

def frames(path):
	b = open(path, "rb").read()
	e = "<" if b[:4] == b"\xd4\xc3\xb2\xa1" else ">"
	o = 24
	while o + 16 <= len(b):
		n = struct.unpack(e + "I", b[o + 8:o + 12])[0]
		yield b[o + 16:o + 16 + n]
		o += 16 + n

def ipv4(f):
	return len(f) >= 34 and f[12:14] == b"\x08\x00"

def is_9091(f):
	if not ipv4(f) or f[23] != 6:
		return False
	p = 14 + (f[14] & 15) * 4
	return 9091 in struct.unpack("!HH", f[p:p + 4])

# "inner COL WIRE": are the copies at the collector (outer IPv4
# fragments reassembled, one VXLAN header removed) byte-identical to the
# tcp/9091 frames seen on the wire?  Prints "identical copies originals".
if sys.argv[1] == "inner":
	parts = collections.defaultdict(dict)
	inner = collections.Counter()
	for f in frames(sys.argv[2]):
		if not ipv4(f):
			continue
		hl = (f[14] & 15) * 4
		tot, ident, fo = struct.unpack("!H H H", f[16:22])
		key = (f[26:34], ident)
		parts[key][(fo & 0x1fff) * 8] = f[14 + hl:14 + tot]
		if fo & 0x2000:
			continue
		pl = b"".join(v for k, v in sorted(parts.pop(key).items()))
		if f[23] == 17 and len(pl) > 16 and struct.unpack("!H", pl[2:4])[0] == 4789:
			inner[pl[16:]] += 1
	orig = collections.Counter(f for f in frames(sys.argv[3]) if is_9091(f))
	print(sum((inner & orig).values()), sum(inner.values()), sum(orig.values()))
	sys.exit()

pcap, host, peer, col = sys.argv[1:5]
fields = ["frame.time_epoch", "frame.len", "eth.type", "ip.flags.mf",
	  "ip.frag_offset", "ip.dst", "vxlan.vni", "tcp.srcport",
	  "tcp.dstport", "tcp.flags", "icmpv6.type"]
cmd = ["tshark", "-n", "-o", "ip.defragment:FALSE", "-r", pcap, "-T", "fields",
       "-E", "occurrence=a", "-E", "aggregator=,"]
for f in fields:
	cmd += ["-e", f]
out = subprocess.run(cmd, capture_output=True, text=True).stdout
s = {"frames": 0, "bytes": 0, "by_depth": {}, "copies": 0, "copy_bytes": 0,
     "copies_9091": 0, "copies_frag": 0, "tails": 0, "orig_in": 0, "orig_out": 0,
     "orig_bytes": 0, "orig_long": 0, "v6": {}, "other": 0, "max_depth": 0,
     "syn_orig": 0, "syn_copies": 0, "syn_span_us": 0.0, "syn_orig_last": False}
syn_t = []
syn_o = []
icmp6 = {"133": "RS", "135": "NS", "143": "MLDv2 report", "131": "MLD report", "134": "RA"}
for line in out.splitlines():
	v = [x.split(",") if x else [] for x in line.split("\t")]
	v += [[]] * (len(fields) - len(v))
	t, ln, et, mf, off, dst, vni, sp, dp, fl, i6 = v
	ln = int(ln[0])
	d = len(vni)
	s["frames"] += 1
	s["bytes"] += ln
	if off and int(off[0]) > 0:
		s["tails"] += 1	# a later fragment: no UDP/VXLAN header in it
		continue
	s["by_depth"][d] = s["by_depth"].get(d, 0) + 1
	s["max_depth"] = max(s["max_depth"], d)
	tcp9091 = "9091" in sp + dp and not (off and int(off[-1]) > 0)
	if d == 0:
		if tcp9091:
			s["orig_out" if dst[-1] == peer else "orig_in"] += 1
			s["orig_bytes"] += ln
			s["orig_long"] += ln > 1464	# its VXLAN copy exceeds 1500
		elif et and et[-1] == "0x86dd":
			s["v6"][i6[-1] if i6 else "?"] = s["v6"].get(i6[-1] if i6 else "?", 0) + 1
		else:
			s["other"] += 1
	else:
		s["copies"] += 1
		s["copy_bytes"] += ln
		s["copies_frag"] += bool(mf and mf[0] == "1")
		if tcp9091:
			s["copies_9091"] += 1
		elif et and et[-1] == "0x86dd":
			k = icmp6.get(i6[-1], "icmpv6 " + i6[-1]) if i6 else "ipv6"
			s["v6"][k] = s["v6"].get(k, 0) + 1
		else:
			s["other"] += 1
	if tcp9091 and fl and int(fl[-1], 16) & 0x12 == 0x02:
		s["syn_copies" if d else "syn_orig"] += 1
		syn_t.append(float(t[0]))
		if not d:
			syn_o.append(float(t[0]))
if syn_t:
	s["syn_span_us"] = round((max(syn_t) - min(syn_t)) * 1e6, 1)
	# The copies are made and sent inside the original's transmit call.
	s["syn_orig_last"] = bool(syn_o) and max(syn_o) == max(syn_t)
json.dump(s, sys.stdout)
EOF
ana() { "$PY" "$tmp/ana.py" "$1" "$HX_HOST_IP" "$HX_PEER_IP" "$HX_COL_IP" >"$1.json"; }
# j FILE.json EXPR: a value of a summary (d is the dict).
j() { "$PY" -c "import json; d = json.load(open('$1')); print($2)"; }
# The action counters of the mirred filters: "IN OUT" packets.
mirred_pkts() {
	local dir n
	for dir in ingress egress; do
		n=$(hx_host tc -s filter show dev "$HX_NIC" "$dir" | awk '/Sent .* pkt/ { s += $4 } END { print s + 0 }')
		printf '%s ' "$n"
	done
}
nstat_snap() { NSTAT_HISTORY=$tmp/nstat.hist hx_host nstat -asz | awk 'NF >= 2 && $1 !~ /^#/ { print $1, $2 }' | sort; }
# Pairs "name delta" of the counters that moved between two snapshots.
nstat_delta() { join "$1" "$2" | awk '$3 != $2 { print $1, $3 - $2 }'; }
# Wait until every capture file holds what its device counted so far.
cap_settle() {
	local f n
	while [ $# -ge 2 ]; do
		f=$1 n=$2
		shift 2
		xm_wait 5 bash -c "[ \$(hx_pcap_count '$f') -ge $n ]" || return 1
	done
}
export -f hx_pcap_count
export PY
start_cap() {
	hx_capture "$@" || { fail recipe_capture "tcpdump on $2 did not start"; exit 1; }
	caps+=("$hx_cap_pid")
}
stop_caps() { hx_capture_stop "${caps[@]}"; caps=(); }
delta() { echo $(($2 - $1)); }

hx_topo_up || { fail recipe_topology "could not build the namespaces"; exit 1; }
hx_host tc qdisc add dev "$HX_NIC" clsact || { fail recipe_clsact "tc qdisc add clsact failed"; exit 1; }

# ---- (a) mirror to lo ----------------------------------------------
bc=$(tcpdump -ddd "$NARROW" 2>/dev/null | tr '\n' ',')
for dir in ingress egress; do
	hx_host tc filter add dev "$HX_NIC" "$dir" bpf bytecode "$bc" action mirred egress mirror dev lo ||
		{ fail recipe_lo_filter "tc filter add $dir failed"; exit 1; }
done
start_cap "$HX_NS_HOST" lo "$tmp/lo.pcap" -B 32768
start_cap "$HX_NS_HOST" "$HX_NIC" "$tmp/nic_a.pcap"
start_cap "$HX_NS_COL" "$HX_CDEV" "$tmp/col_a.pcap"
nstat_snap >"$tmp/nstat0"
lo_rx0=$(hx_link_stat "$HX_NS_HOST" lo rx.packets)
lo_oh0=$(hx_link_stat "$HX_NS_HOST" lo rx.otherhost)
nic_rx0=$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" rx.packets)
nic_tx0=$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" tx.packets)

hx_tcp_transfer 9091 100000 "$tmp"
check_eq recipe_lo_transfer "$?" 0

read -r m_in m_out < <(mirred_pkts)
mirrored=$((m_in + m_out))
lo_rx=$(delta "$lo_rx0" "$(hx_link_stat "$HX_NS_HOST" lo rx.packets)")
lo_oh=$(delta "$lo_oh0" "$(hx_link_stat "$HX_NS_HOST" lo rx.otherhost)")
nic_rx=$(delta "$nic_rx0" "$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" rx.packets)")
nic_tx=$(delta "$nic_tx0" "$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" tx.packets)")
cap_settle "$tmp/lo.pcap" "$lo_rx" "$tmp/nic_a.pcap" "$((nic_rx + nic_tx))"
nstat_snap >"$tmp/nstat1"
stop_caps
nstat_delta "$tmp/nstat0" "$tmp/nstat1" >"$tmp/nstat.delta"
ana "$tmp/nic_a.pcap"
lo_cap=$(hx_pcap_count "$tmp/lo.pcap")
col_a=$(hx_pcap_count "$tmp/col_a.pcap")
orig_a=$(j "$tmp/nic_a.pcap.json" "d['orig_in'] + d['orig_out']")
ip_in=$(awk '$1 == "IpInReceives" { print $2 }' "$tmp/nstat.delta")
ip_in=${ip_in:-0}
# Counters that could plausibly record a drop in ip_rcv.
drops=$(awk '$1 ~ /^Ip(InAddrErrors|InHdrErrors|InDiscards|InUnknownProtos|ExtInNoRoutes|ExtInTruncatedPkts|ExtInCsumErrors)$/ { s += $2 } END { print s + 0 }' "$tmp/nstat.delta")
# Any SNMP counter that grew by as much as the copies on lo?
big=$(awk -v n="$lo_rx" '$2 >= n && $1 !~ /Octets$/ { printf "%s+%s ", $1, $2 }' "$tmp/nstat.delta")
echo "nstat deltas in the host namespace during (a):"
sed 's/^/  /' "$tmp/nstat.delta"

if [ "$mirrored" -gt 0 ] && [ "$mirrored" -eq "$orig_a" ]; then
	pass "recipe_lo_mirrored: tc mirrored $mirrored frames to lo ($m_in in, $m_out out) = the $orig_a tcp/9091 frames on the NIC"
else
	fail recipe_lo_mirrored "tc mirrored $mirrored ($m_in in, $m_out out), NIC carried $orig_a tcp/9091 frames"
fi
check_eq "recipe_lo_rx: lo received every copy (lo RX +$lo_rx)" "$lo_rx" "$mirrored"
check_eq "recipe_lo_capture: tcpdump -i lo saw every copy ($lo_cap)" "$lo_cap" "$mirrored"
# IpInReceives counts what entered ip_rcv past the OTHERHOST check: the
# NIC's frames only, so none of the copies.
check_eq "recipe_lo_not_in_stack: IpInReceives +$ip_in = NIC RX $nic_rx, so 0 of $lo_rx copies entered IP" "$ip_in" "$nic_rx"
check_eq "recipe_lo_no_snmp_counter: IP drop counters moved by $drops" "$drops" 0
check_eq "recipe_lo_no_counter_grew_by_n: nstat counters grown by >= $lo_rx: ${big:-none}" "${big:-none}" none
check_eq "recipe_lo_otherhost: lo rx_otherhost_dropped +$lo_oh (ip -s -s link only)" "$lo_oh" "$lo_rx"
check_eq "recipe_lo_collector: the collector got $col_a frames" "$col_a" 0
fig_lo="recipe/lo: $mirrored frames mirrored ($m_in in, $m_out out); lo RX +$lo_rx, tcpdump -i lo $lo_cap; reached IP 0 (IpInReceives +$ip_in = NIC RX $nic_rx); collector 0; counters moved: lo rx_otherhost_dropped +$lo_oh (ip -s -s link), no nstat/SNMP counter"
hx_host tc filter del dev "$HX_NIC" ingress
hx_host tc filter del dev "$HX_NIC" egress

# ---- (b1) mirror into a vxlan device over the same NIC, narrow filter
col_rx0=$(hx_link_stat "$HX_NS_COL" "$HX_CDEV" rx.packets)
start_cap "$HX_NS_COL" "$HX_CDEV" "$tmp/col_b.pcap"
start_cap "$HX_NS_NET" "$HX_WIRE" "$tmp/wire_b.pcap"
# As users create it: IPv6 left as the system default (on).
hx_host ip link add "$HX_VX" type vxlan id 42 remote "$HX_COL_IP" dstport 4789 dev "$HX_NIC" &&
	hx_host ip link set "$HX_VX" up || { fail recipe_vxlan_dev "could not create $HX_VX"; exit 1; }
vx_t0=$SECONDS
for dir in ingress egress; do
	hx_host tc filter add dev "$HX_NIC" "$dir" bpf bytecode "$bc" action mirred egress mirror dev "$HX_VX" ||
		{ fail recipe_vxlan_filter "tc filter add $dir failed"; exit 1; }
done
nic_tx0=$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" tx.packets)
hx_tcp_transfer 9091 100000 "$tmp"
check_eq recipe_vxlan_transfer "$?" 0
# The vxlan device's own router solicitation comes after DAD (~1-2 s).
rs() { [ "$(tcpdump -r "$tmp/col_b.pcap" 'udp dst port 4789 and udp[36] = 58 and udp[70] = 133' 2>/dev/null | grep -c .)" -ge 1 ]; }
xm_wait 8 rs
vx_secs=$((SECONDS - vx_t0))
read -r m_in m_out < <(mirred_pkts)
nic_tx=$(delta "$nic_tx0" "$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" tx.packets)")
col_rx=$(delta "$col_rx0" "$(hx_link_stat "$HX_NS_COL" "$HX_CDEV" rx.packets)")
cap_settle "$tmp/col_b.pcap" "$col_rx"
stop_caps
ana "$tmp/col_b.pcap"
ana "$tmp/wire_b.pcap"
C=$tmp/col_b.pcap.json W=$tmp/wire_b.pcap.json
orig_b=$(j "$W" "d['orig_in'] + d['orig_out']")
copies_b=$(j "$C" "d['copies_9091']")
frag_b=$(j "$C" "d['copies_frag']")
long_b=$(j "$W" "d['orig_long']")
tails_b=$(j "$C" "d['tails']")
noise_b=$(j "$C" "sum(d['v6'].values())")
noise_kinds=$(j "$C" "', '.join('%s %d' % kv for kv in sorted(d['v6'].items()))")
other_b=$(j "$C" "d['other']")
read -r ident_b ninner_b norig_b < <("$PY" "$tmp/ana.py" inner "$tmp/col_b.pcap" "$tmp/wire_b.pcap")
if [ "$orig_b" -gt 0 ] && [ "$m_in" -gt 0 ] && [ "$m_out" -gt 0 ] && [ $((m_in + m_out)) -eq "$orig_b" ]; then
	pass "recipe_vxlan_mirrored: tc mirrored $((m_in + m_out)) frames ($m_in in, $m_out out) = the $orig_b tcp/9091 frames on the wire"
else
	fail recipe_vxlan_mirrored "tc mirrored $m_in in + $m_out out, wire carried $orig_b tcp/9091 frames"
fi
check_eq "recipe_vxlan_narrow_once: $orig_b originals -> $copies_b copies at the collector (no loop: the outer UDP does not match '$NARROW')" "$copies_b" "$orig_b"
check_eq "recipe_vxlan_fragmented: $frag_b copies fragmented (+$tails_b trailing fragments), one per original longer than 1464 bytes ($long_b)" "$frag_b" "$long_b"
check_eq "recipe_vxlan_identical: $ident_b of $norig_b originals arrived byte-identical (after reassembly; copies $ninner_b)" "$ident_b" "$norig_b"
check "recipe_vxlan_ipv6_noise: the vxlan device's own IPv6 reached the collector: $noise_b frames in ${vx_secs}s ($noise_kinds)" test "$noise_b" -gt 0
check_eq "recipe_vxlan_nothing_else: other frames at the collector" "$other_b" 0
fig_vx="recipe/vxlan '$NARROW': $orig_b originals -> $copies_b copies at the collector (1 each, no loop, $ident_b byte-identical after reassembly, no direction mark: one VNI both ways); $frag_b copies fragmented (copy > NIC MTU 1500, +$tails_b fragments); + $noise_b IPv6 frames of the vxlan device itself in ${vx_secs}s ($noise_kinds); NIC TX $nic_tx frames for $(j "$W" "d['orig_out']") production ones"

# ---- (b2) broader filter: the copies are classified again ------------
hx_host tc filter del dev "$HX_NIC" ingress
hx_host tc filter del dev "$HX_NIC" egress
# The users' fix for the IPv6 chatter; nothing of it may arrive below.
hx_host sysctl -qw "net.ipv6.conf.$HX_VX.disable_ipv6=1"
bcb=$(tcpdump -ddd "$BROAD" 2>/dev/null | tr '\n' ',')
for dir in ingress egress; do
	hx_host tc filter add dev "$HX_NIC" "$dir" bpf bytecode "$bcb" action mirred egress mirror dev "$HX_VX" ||
		{ fail recipe_loop_filter "tc filter add $dir failed"; exit 1; }
done
col_rx0=$(hx_link_stat "$HX_NS_COL" "$HX_CDEV" rx.packets)
start_cap "$HX_NS_COL" "$HX_CDEV" "$tmp/col_c.pcap"
start_cap "$HX_NS_NET" "$HX_WIRE" "$tmp/wire_c.pcap"
vx_err0=$(hx_link_stat "$HX_NS_HOST" "$HX_VX" tx.errors)
nic_tx0=$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" tx.packets)
dead0=$(dmesg | grep -c "Dead loop on virtual device $HX_VX,")
# A short transfer: the kernel bounds the nesting, but keep it small.
hx_tcp_transfer 9091 20000 "$tmp"
check_eq recipe_loop_transfer "$?" 0
vx_err=$(delta "$vx_err0" "$(hx_link_stat "$HX_NS_HOST" "$HX_VX" tx.errors)")
nic_tx=$(delta "$nic_tx0" "$(hx_link_stat "$HX_NS_HOST" "$HX_NIC" tx.packets)")
col_rx=$(delta "$col_rx0" "$(hx_link_stat "$HX_NS_COL" "$HX_CDEV" rx.packets)")
cap_settle "$tmp/wire_c.pcap" "$nic_tx" "$tmp/col_c.pcap" "$col_rx"
stop_caps
dead=$(delta "$dead0" "$(dmesg | grep -c "Dead loop on virtual device $HX_VX,")")
ana "$tmp/col_c.pcap"
ana "$tmp/wire_c.pcap"
C=$tmp/col_c.pcap.json W=$tmp/wire_c.pcap.json
orig_c=$(j "$W" "d['orig_in'] + d['orig_out']")
obytes_c=$(j "$W" "d['orig_bytes']")
cframes=$(j "$C" "d['frames']")
cbytes=$(j "$C" "d['bytes']")
depth=$(j "$C" "d['max_depth']")
by_depth=$(j "$C" "' '.join('d%s:%d' % kv for kv in sorted(d['by_depth'].items()))")
ratio=$(j "$C" "'%.1f' % (d['frames'] / max(1, $orig_c))")
bratio=$(j "$C" "'%.1f' % (d['bytes'] / max(1, $obytes_c))")
syn_o=$(j "$W" "d['syn_orig']")
syn_c=$(j "$W" "d['syn_copies']")
syn_us=$(j "$W" "d['syn_span_us']")
syn_last=$(j "$W" "'the SYN itself left last' if d['syn_orig_last'] else 'the SYN left before its copies'")
noise_c=$(j "$C" "sum(d['v6'].values())")
if [ "$orig_c" -gt 0 ] && [ "$cframes" -gt "$orig_c" ] && [ "$depth" -ge 2 ]; then
	pass "recipe_loop_amplified: '$BROAD': $orig_c originals -> $cframes frames at the collector (${ratio}x frames, ${bratio}x bytes), copies of copies nested up to $depth VXLAN headers deep ($by_depth)"
else
	fail recipe_loop_amplified "'$BROAD': $orig_c originals -> $cframes frames at the collector, max depth $depth"
fi
if [ "$syn_o" -eq 1 ] && [ "$syn_c" -ge 2 ]; then
	pass "recipe_loop_one_frame: 1 original frame (the SYN) -> $syn_c copies on the wire within $syn_us us; $syn_last"
else
	fail recipe_loop_one_frame "SYN: $syn_o originals, $syn_c copies"
fi
check "recipe_loop_dead_loop_guard: the kernel dropped $vx_err nested copies (tx_errors of $HX_VX; dmesg 'Dead loop on virtual device': $dead lines, rate-limited)" test "$vx_err" -gt 0
check_eq "recipe_loop_ipv6_off: IPv6 frames of the vxlan device after disable_ipv6=1" "$noise_c" 0
fig_loop="recipe/vxlan '$BROAD': $orig_c originals -> $cframes frames at the collector (${ratio}x frames, ${bratio}x bytes), nested up to $depth VXLAN deep; 1 frame (SYN) -> $syn_c copies within $syn_us us ($syn_last); $vx_err copies dropped by the kernel's dead-loop guard ($HX_VX tx_errors)"

echo "=== recipe figures (tests/e2e/test_host_recipe.sh, kernel $(uname -r)) ==="
echo "$fig_lo"
echo "$fig_vx"
echo "$fig_loop"
echo "=== end recipe figures ==="

[ "$xm_fail_count" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Smoke test of mirror-appliance: start/stop contract, one collector
# (written straight into the pinned map with bpftool, so the layout of
# struct xm_collector is checked independently of mirrorctl), a match-all
# rule, 20 frames from scapy, VXLAN copies with the inner frame
# byte-identical at the collector, counters read back with bpftool.
here=$(cd "$(dirname "$0")" && pwd)
XM_BIN=${XM_BIN:-$here/../../build}
. "$here/../lib/netns.sh"
APP=$XM_BIN/mirror-appliance
WORK=$(mktemp -d)
PINS=/sys/fs/bpf/xdp-mirror/$DEV_DA

cleanup() {
	[ -n "${TCPDUMP_PID:-}" ] && kill "$TCPDUMP_PID" 2>/dev/null
	# Show the daemon's log where a failure needs it; xm_topo_down
	# removes it.
	[ "$xm_fail_count" -ne 0 ] && cat "/run/xdp-mirror/$DEV_DA.log" >&2
	xm_topo_down
	rm -f "/run/xdp-mirror/$DEV_DA.pid"
	rm -rf "$WORK"
}
trap cleanup EXIT

# Map writes through bpftool; struct layouts from include/xm_types.h.
maps_py() {
	$PY - "$PINS" "$@" <<'PYEOF'
import json, socket, struct, subprocess, sys
pins, cmd = sys.argv[1], sys.argv[2]
def hx(b): return ["%02x" % x for x in b]
def update(m, key, val):
    subprocess.check_call(["bpftool", "map", "update", "pinned", pins + "/" + m,
                           "key", "hex"] + hx(struct.pack("<I", key)) + ["value", "hex"] + hx(val))
def lookup(m, key):
    out = json.loads(subprocess.check_output(["bpftool", "-j", "map", "lookup", "pinned",
                     pins + "/" + m, "key", "hex"] + hx(struct.pack("<I", key))))
    return bytes(int(x, 16) for x in out["value"])
if cmd == "setup":
    remote, vni = sys.argv[3], int(sys.argv[4])
    # struct xm_collector: name, family, encap, flags, dscp, vni, key, dport,
    # session, snaplen, ttl, hwid, ifindex, remote, local
    update("collectors", 0, struct.pack("<32sBBBBIIHHHBBI16s16s", b"col0", 4, 0, 0, 0, vni,
                                        0, 4789, 0, 0, 0, 0, 0,
                                        socket.inet_aton(remote) + bytes(12), bytes(16)))
    # The daemon picks collectors up when coll_gen moves.
    c = bytearray(lookup("ctl", 0))
    struct.pack_into("<I", c, 8, struct.unpack_from("<I", c, 8)[0] + 1)
    update("ctl", 0, bytes(c))
elif cmd == "stats":
    b = lookup("coll_stats", 0)
    cs = struct.unpack("<%dQ" % (len(b) // 8), b)
    # The XDP fast path's copies: per-CPU rows of the same layout.
    out = json.loads(subprocess.check_output(["bpftool", "-j", "map", "lookup", "pinned",
                     pins + "/fast_stats", "key", "hex"] + hx(struct.pack("<I", 0))))
    for v in out["values"]:
        b = bytes(int(x, 16) for x in v["value"])
        cs = [a + c for a, c in zip(cs, struct.unpack("<%dQ" % (len(b) // 8), b))]
    b = lookup("worker_stats", 0)
    ws = struct.unpack("<%dQ" % (len(b) // 8), b)
    # coll_stats: sent, sent_bytes, drop_*..., truncated_snap, truncated_mtu
    print("sent=%d bytes=%d drops=%d rx=%d bad_meta=%d" % (cs[0], cs[1], sum(cs[2:-2]), ws[0], ws[2]))
PYEOF
}

if ! xm_topo_up; then
	fail topology "could not create namespaces"
	exit 1
fi

# -- argument errors change nothing
out=$(in_dut "$APP" start --dev "$DEV_DA" --queues 0 2>&1); rc=$?
check_eq args_queues "$rc:$out" "1:mirror-appliance: --queues '0': must be 1..64"
out=$(in_dut "$APP" start --dev "$DEV_DA" --mode hostx 2>&1); rc=$?
check_eq args_mode "$rc:$out" "1:mirror-appliance: --mode 'hostx': must be appliance or host"
out=$(in_dut "$APP" start --dev nosuchdev0 2>&1); rc=$?
check_eq args_nodev "$rc:$out" "1:mirror-appliance: --dev 'nosuchdev0': no such device"
check args_no_pins test ! -e "$PINS"

# -- start, readiness line, second start refused
out=$(in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" --datapath "$XM_DATAPATH" 2>&1); rc=$?
check_eq start "$rc:$out" "0:mirror-appliance: ready on $DEV_DA: 1 queue, copy mode, tx $DEV_DB"
pid=$(cat "/run/xdp-mirror/$DEV_DA.pid" 2>/dev/null)
out=$(in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" 2>&1); rc=$?
check_eq start_twice "$rc:$out" "1:mirror-appliance: already running on $DEV_DA (pid $pid)"

# -- one collector, match-all rule, 20 frames
maps_py setup "$COL_IP" 4242 || fail maps "bpftool update failed"
in_dut "$XM_BIN/mirrorctl" -d "$DEV_DA" rule add collector col0 || fail rule "rule add failed"
in_ns "$NS_COL" tcpdump -i "$DEV_CB" -w "$WORK/col.pcap" -U udp port 4789 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
xm_wait 10 grep -q "listening on" "$WORK/tcpdump.err" || fail capture "tcpdump did not start"
# The collector is usable once its neighbour resolved: the daemon asks
# the kernel for it, so wait for the entry instead of sleeping.
xm_wait 10 bash -c "ip -n $NS_DUT neigh show $COL_IP | grep -qE 'REACHABLE|STALE|DELAY'" ||
	fail neigh "collector neighbour never resolved"
in_ns "$NS_GEN" $PY - "$DEV_GA" "$WORK/sent.pcap" <<'PYEOF'
import sys
from scapy.all import Ether, IP, UDP, TCP, Raw, sendp, wrpcap
fr = []
for i in range(20):
    l4 = UDP(sport=1000 + i, dport=5000) if i % 2 else TCP(sport=2000 + i, dport=80)
    fr.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
              IP(src="10.1.0.%d" % (i + 1), dst="10.2.0.1") / l4 / Raw(b"m" * (i * 37)))
wrpcap(sys.argv[2], fr)
sendp(fr, iface=sys.argv[1], verbose=0)
PYEOF
captured() { [ "$(tshark -r "$WORK/col.pcap" -T fields -e frame.number 2>/dev/null | wc -l)" -ge 20 ]; }
xm_wait 10 captured || fail capture_complete "fewer than 20 copies captured"
kill "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null; TCPDUMP_PID=

res=$($PY - "$WORK/sent.pcap" "$WORK/col.pcap" "$DUT_IP" "$COL_IP" "$(xm_mac "$NS_COL" "$DEV_CB")" <<'PYEOF'
import socket, struct, sys
from scapy.all import rdpcap
sent = [bytes(p) for p in rdpcap(sys.argv[1])]
got = [bytes(p) for p in rdpcap(sys.argv[2])]
dut, col, colmac = sys.argv[3], sys.argv[4], bytes.fromhex(sys.argv[5].replace(":", ""))
def csum_ok(h):
    s = sum((h[i] << 8) | h[i + 1] for i in range(0, len(h), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s == 0xffff
bad = 0
for g in got:
    ok = (g[0:6] == colmac and g[12:14] == b"\x08\x00" and csum_ok(g[14:34]) and
          g[26:30] == socket.inet_aton(dut) and g[30:34] == socket.inet_aton(col) and
          struct.unpack("!H", g[36:38])[0] == 4789 and
          struct.unpack("!H", g[16:18])[0] == len(g) - 14 and
          g[42] == 0x08 and struct.unpack("!I", g[46:50])[0] >> 8 == 4242)
    bad += not ok
inner = sorted(g[50:] for g in got)
print("count=%d bad_hdr=%d inner_equal=%d" % (len(got), bad, inner == sorted(sent)))
PYEOF
)
check_eq vxlan_frames "$res" "count=20 bad_hdr=0 inner_equal=1"
bytes=$($PY -c "from scapy.all import rdpcap; print(sum(len(p) for p in rdpcap('$WORK/col.pcap')))")
# One collector: with a fast path allowed, no frame reaches a worker.
wrx=0; [ "$XM_DATAPATH" = afxdp ] && wrx=20
check_eq counters "$(maps_py stats)" "sent=20 bytes=$bytes drops=0 rx=$wrx bad_meta=0"

# -- stop removes everything; a second stop says nothing runs
out=$(in_dut "$APP" stop --dev "$DEV_DA" 2>&1); rc=$?
check_eq stop "$rc:$out" "0:mirror-appliance: stopped on $DEV_DA (pid $pid)"
check stop_pins_gone test ! -e "$PINS"
check stop_xdp_gone bash -c "! ip -n $NS_DUT link show $DEV_DA | grep -q xdp"
out=$(in_dut "$APP" stop --dev "$DEV_DA" 2>&1); rc=$?
check_eq stop_again "$rc:$out" "1:mirror-appliance: no appliance running on $DEV_DA"

# -- a crashed daemon's state is cleaned up by the next start
in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" >/dev/null 2>&1
crashed=$(cat "/run/xdp-mirror/$DEV_DA.pid")
kill -9 "$crashed"
xm_wait 5 bash -c "! kill -0 $crashed 2>/dev/null" || fail crash "daemon $crashed did not die"
out=$(in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" 2>&1); rc=$?
check_eq restart_after_crash "$rc:$out" "0:mirror-appliance: ready on $DEV_DA: 1 queue, copy mode, tx $DEV_DB"
in_dut "$APP" stop --dev "$DEV_DA" >/dev/null 2>&1

[ "$xm_fail_count" -eq 0 ]

# SPDX-License-Identifier: GPL-2.0
# The single-NIC host scenario, for host-mode tests and the tc recipe
# comparison: source this file (it sources netns.sh for pass/fail/check,
# in_ns, xm_wait, PY), then call hx_topo_up; hx_topo_down in the trap.
#
#   ns host (hxh):  HX_NIC 10.77.0.1/24      the host's only NIC
#        |  veth
#   ns net  (hxn):  HX_WIRE -- bridge HX_BR 10.77.0.2/24 (the TCP peer)
#                              |
#                              HX_CPORT
#        |  veth
#   ns col  (hxc):  HX_CDEV 10.77.0.3/24     the collector
#
# The peer and the collector are both behind the host's one NIC, so the
# mirror output shares the link with the production traffic it copies.
# The collector is a pure sink: a tc ingress filter drops every IPv4
# packet after the taps (tcpdump still sees all of it), so it never
# answers mirror copies with ICMP errors that would travel back to the
# host and be classified again.
#
# By default the veths behave like a wire (HX_OFFLOADS=1 keeps the veth
# defaults; hx_offloads on|off switches later): no TSO/GSO/GRO and one
# segment per skb, so every skb that tc, XDP or a capture sees is one
# wire frame, at most 1514 bytes with MTU 1500; no checksum offload, so
# frames on the wire carry valid checksums.  TCP still hands
# CHECKSUM_PARTIAL skbs to tc egress: the checksum is finished after tc,
# so a clone taken there is unfinished.  IPv6 is off on all test links
# (no RS/MLD/DAD noise), neighbours are static (no ARP on the wire), so
# frame counts are exact.
#
# Set before sourcing, for tests that need them: HX_SFX (name suffix,
# default the PID), HX_PREFIX (the /24, default 10.77.0), HX_MTU (of
# every link; the host and the peer then keep to HX_ROUTE_MTU between
# them with /32 routes, as on a link whose MTU the mirror cannot raise).
# The collector has a second address, HX_COL2_IP, for a second
# collector.

[ -n "${XM_TESTS:-}" ] || XM_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
declare -F xm_wait >/dev/null || . "$XM_TESTS/lib/netns.sh"

HX_SFX=${HX_SFX:-$$}
HX_NS_HOST=hxh$HX_SFX
HX_NS_NET=hxn$HX_SFX
HX_NS_COL=hxc$HX_SFX
HX_NIC=hxnic$HX_SFX
HX_WIRE=hxw$HX_SFX
HX_BR=hxbr$HX_SFX
HX_CPORT=hxcp$HX_SFX
HX_CDEV=hxcol$HX_SFX
HX_PREFIX=${HX_PREFIX:-10.77.0}
HX_HOST_IP=$HX_PREFIX.1
HX_PEER_IP=$HX_PREFIX.2
HX_COL_IP=$HX_PREFIX.3
HX_COL2_IP=$HX_PREFIX.4
HX_PLEN=24
HX_SUBNET=$HX_PREFIX.0/$HX_PLEN
HX_MTU=${HX_MTU:-}
HX_ROUTE_MTU=${HX_ROUTE_MTU:-1500}

hx_host() { ip netns exec "$HX_NS_HOST" "$@"; }
hx_net() { ip netns exec "$HX_NS_NET" "$@"; }
hx_col() { ip netns exec "$HX_NS_COL" "$@"; }
# In the host namespace but the root mount namespace, so bpffs pins made
# there stay visible (ip netns exec remounts /sys).
hx_host_root() { nsenter --net="/run/netns/$HX_NS_HOST" "$@"; }

hx_mac() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }

# hx_wire NS DEV off: no segmentation, coalescing or checksum offloads;
# on: the veth defaults back (TSO/GSO super-frames, CHECKSUM_PARTIAL;
# GRO stays off).
hx_wire() {
	local segs=1
	[ "$3" = on ] && segs=65535
	# Off: checksums are finished before the frame leaves (as a NIC does
	# in hardware), so captures on the wire show valid checksums.
	ip netns exec "$1" ethtool -K "$2" tx "$3" tso "$3" gso "$3" gro off >/dev/null 2>&1
	# TCP hands GSO super-skbs to the device even with gso off (it is
	# segmented after tc); one segment per skb makes tc see wire frames.
	ip netns exec "$1" ip link set dev "$2" gso_max_segs $segs
}

# The links of the topology as NS:DEV.
hx_links() {
	echo "$HX_NS_HOST:$HX_NIC $HX_NS_NET:$HX_WIRE $HX_NS_NET:$HX_CPORT $HX_NS_NET:$HX_BR $HX_NS_COL:$HX_CDEV"
}

# hx_offloads on|off: every link at once.
hx_offloads() {
	local l
	for l in $(hx_links); do hx_wire "${l%%:*}" "${l#*:}" "$1"; done
}

hx_topo_down() {
	ip netns del "$HX_NS_HOST" 2>/dev/null
	ip netns del "$HX_NS_NET" 2>/dev/null
	ip netns del "$HX_NS_COL" 2>/dev/null
	rm -rf "/sys/fs/bpf/xdp-mirror/$HX_NIC" 2>/dev/null
	rm -f "/run/xdp-mirror/$HX_NIC.log"
	return 0
}

hx_topo_up() {
	local l ns dev
	ip netns add "$HX_NS_HOST" && ip netns add "$HX_NS_NET" && ip netns add "$HX_NS_COL" || return 1
	ip link add "$HX_NIC" netns "$HX_NS_HOST" type veth peer name "$HX_WIRE" netns "$HX_NS_NET" || return 1
	ip link add "$HX_CPORT" netns "$HX_NS_NET" type veth peer name "$HX_CDEV" netns "$HX_NS_COL" || return 1
	hx_net ip link add "$HX_BR" type bridge stp_state 0 mcast_snooping 0 || return 1
	hx_net ip link set "$HX_WIRE" master "$HX_BR" || return 1
	hx_net ip link set "$HX_CPORT" master "$HX_BR" || return 1
	for l in $(hx_links); do
		ns=${l%%:*} dev=${l#*:}
		xm_quiet_if "$ns" "$dev"
		[ "${HX_OFFLOADS:-0}" = 1 ] || hx_wire "$ns" "$dev" off
		if [ -n "$HX_MTU" ]; then
			ip netns exec "$ns" ip link set "$dev" mtu "$HX_MTU" || return 1
		fi
	done
	hx_host ip addr add "$HX_HOST_IP/$HX_PLEN" dev "$HX_NIC" || return 1
	hx_net ip addr add "$HX_PEER_IP/$HX_PLEN" dev "$HX_BR" || return 1
	hx_col ip addr add "$HX_COL_IP/$HX_PLEN" dev "$HX_CDEV" || return 1
	hx_col ip addr add "$HX_COL2_IP/$HX_PLEN" dev "$HX_CDEV" || return 1
	for l in $(hx_links) "$HX_NS_HOST:lo" "$HX_NS_NET:lo" "$HX_NS_COL:lo"; do
		ip netns exec "${l%%:*}" ip link set "${l#*:}" up || return 1
	done
	if [ -n "$HX_MTU" ]; then
		hx_host ip route replace "$HX_PEER_IP/32" dev "$HX_NIC" mtu "$HX_ROUTE_MTU" &&
			hx_net ip route replace "$HX_HOST_IP/32" dev "$HX_BR" mtu "$HX_ROUTE_MTU" ||
			return 1
	fi
	# Static neighbours: no ARP frames in the counts.
	local hmac pmac cmac
	hmac=$(hx_mac "$HX_NS_HOST" "$HX_NIC") && pmac=$(hx_mac "$HX_NS_NET" "$HX_BR") &&
		cmac=$(hx_mac "$HX_NS_COL" "$HX_CDEV") || return 1
	hx_host ip neigh replace "$HX_PEER_IP" lladdr "$pmac" dev "$HX_NIC" nud permanent &&
		hx_host ip neigh replace "$HX_COL_IP" lladdr "$cmac" dev "$HX_NIC" nud permanent &&
		hx_host ip neigh replace "$HX_COL2_IP" lladdr "$cmac" dev "$HX_NIC" nud permanent &&
		hx_net ip neigh replace "$HX_HOST_IP" lladdr "$hmac" dev "$HX_BR" nud permanent &&
		hx_net ip neigh replace "$HX_COL_IP" lladdr "$cmac" dev "$HX_BR" nud permanent &&
		hx_col ip neigh replace "$HX_HOST_IP" lladdr "$hmac" dev "$HX_CDEV" nud permanent &&
		hx_col ip neigh replace "$HX_PEER_IP" lladdr "$pmac" dev "$HX_CDEV" nud permanent || return 1
	# The collector swallows IPv4 after the taps: no ICMP errors back.
	# (No gact module here: a one-instruction classic BPF program in
	# direct-action mode returns TC_ACT_SHOT, 2.)
	hx_col tc qdisc add dev "$HX_CDEV" clsact &&
		hx_col tc filter add dev "$HX_CDEV" ingress protocol ip pref 1 bpf da bytecode "1,6 0 0 2" ||
		return 1
	# The bridge forwards at once (no STP), but learns MACs from the first
	# frames: make the bridge know both ports now, so nothing is flooded.
	hx_net bridge fdb replace "$hmac" dev "$HX_WIRE" master static &&
		hx_net bridge fdb replace "$cmac" dev "$HX_CPORT" master static || return 1
	# Bridge ports forward once linkwatch has seen their carrier (up to
	# a second): a SYN sent before that is lost and retransmitted.
	xm_wait 10 hx_br_forwarding "$HX_WIRE" && xm_wait 10 hx_br_forwarding "$HX_CPORT"
}

hx_br_forwarding() { hx_net bridge link show dev "$1" | grep -q "state forwarding"; }

# hx_capture NS DEV FILE [FILTER...]: start tcpdump in the background
# writing FILE; returns once tcpdump is capturing.  Sets hx_cap_pid
# (append it to a list to stop it later with hx_capture_stop).
hx_capture() {
	local ns=$1 dev=$2 file=$3
	shift 3
	# A large buffer: captures must not lose frames at veth speed (a
	# caller can check "dropped by kernel" in FILE.err).
	ip netns exec "$ns" tcpdump -i "$dev" -B 131072 --immediate-mode -U -n -s 0 -w "$file" "$@" 2>"$file.err" &
	hx_cap_pid=$!
	xm_wait 10 grep -q "listening on" "$file.err"
}

# hx_capture_stop PID...: stop captures and wait until their files are
# complete.
hx_capture_stop() {
	local p
	for p in "$@"; do kill -INT "$p" 2>/dev/null; done
	for p in "$@"; do wait "$p" 2>/dev/null; done
	return 0
}

# hx_tcp_server PORT BYTES READYFILE: in the net namespace, accept one
# connection on HX_PEER_IP:PORT, read BYTES, send BYTES back, close.
# Touches READYFILE once listening.  Sets hx_srv_pid.
hx_tcp_server() {
	ip netns exec "$HX_NS_NET" "$PY" -c '
import socket, sys
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[4], port))
s.listen(1)
open(ready, "w").close()
c, _ = s.accept()
got = 0
while got < n:
	b = c.recv(65536)
	if not b:
		break
	got += len(b)
c.sendall(bytes(n))
c.close()
sys.exit(0 if got == n else 1)
' "$1" "$2" "$3" "$HX_PEER_IP" &
	hx_srv_pid=$!
}

# hx_tcp_client PORT BYTES: from the host namespace, send BYTES to the
# peer and read BYTES back; exit status 0 when all came back.
hx_tcp_client() {
	hx_host timeout 20 "$PY" -c '
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = socket.create_connection((sys.argv[3], port), timeout=15)
c.sendall(bytes(n))
c.shutdown(socket.SHUT_WR)
got = 0
while True:
	b = c.recv(65536)
	if not b:
		break
	got += len(b)
sys.exit(0 if got == n else 1)
' "$1" "$2" "$HX_PEER_IP"
}

# hx_tcp_transfer PORT BYTES TMPDIR: one echo transfer of BYTES each way
# between the host and the peer; 0 on success.
hx_tcp_transfer() {
	local ready=$3/hx_srv_ready.$1 rc
	rm -f "$ready"
	hx_tcp_server "$1" "$2" "$ready"
	xm_wait 10 test -e "$ready" || { kill "$hx_srv_pid" 2>/dev/null; return 1; }
	hx_tcp_client "$1" "$2"
	rc=$?
	wait "$hx_srv_pid" || rc=1
	return $rc
}

# hx_pcap_count FILE: number of records in a pcap file being written.
hx_pcap_count() {
	"$PY" -c '
import struct, sys
try:
	b = open(sys.argv[1], "rb").read()
except OSError:
	print(0); sys.exit()
if len(b) < 24:
	print(0); sys.exit()
e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
n, o = 0, 24
while o + 16 <= len(b):
	o += 16 + struct.unpack(e + "I", b[o + 8:o + 12])[0]
	if o <= len(b):
		n += 1
print(n)
' "$1"
}

# hx_link_stat NS DEV FIELD: one counter of `ip -s -s link` (JSON names:
# rx.packets, tx.bytes, rx.otherhost_dropped ...); 0 when absent.
hx_link_stat() {
	ip netns exec "$1" ip -j -s -s link show dev "$2" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)[0]["stats64"]
k = sys.argv[1].split(".")
print(d.get(k[0], {}).get(k[1], 0))
' "$3"
}

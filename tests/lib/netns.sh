# SPDX-License-Identifier: GPL-2.0
# Helpers for namespaced tests: source this file, then call xm_topo_up.
# Topology (names carry a per-run suffix):
#   ns gen: gA  <-veth->  ns dut: dA (appliance RX)
#   ns dut: dB 10.$o.2.1/24 <-veth-> ns col: cB 10.$o.2.2/24 (collector)
# The appliance and mirrorctl run in dut through nsenter, which keeps the
# root mount namespace so that bpffs pins stay visible (ip netns exec
# remounts /sys).

XM_SFX=${XM_SFX:-$$}
XM_O=${XM_O:-$((($$ % 200) + 20))}
NS_GEN=xmgen$XM_SFX
NS_DUT=xmdut$XM_SFX
NS_COL=xmcol$XM_SFX
DEV_GA=gA$XM_SFX
DEV_DA=dA$XM_SFX
DEV_DB=dB$XM_SFX
DEV_CB=cB$XM_SFX
DUT_IP=10.$XM_O.2.1
COL_IP=10.$XM_O.2.2
PY=/usr/bin/python3
# mirror-appliance --datapath for xm_start: auto, xdp or afxdp.
XM_DATAPATH=${XM_DATAPATH:-auto}

xm_fail_count=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; xm_fail_count=$((xm_fail_count + 1)); }
# check NAME COND-COMMAND...: PASS when the command succeeds.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}
check_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected '$3', got '$2'"; fi
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Run in the dut namespace but the root mount namespace (bpffs pins).
in_dut() { nsenter --net=/run/netns/$NS_DUT "$@"; }

xm_topo_down() {
	in_dut "$XM_BIN/mirror-appliance" stop --dev "$DEV_DA" >/dev/null 2>&1
	ip netns del "$NS_GEN" 2>/dev/null
	ip netns del "$NS_DUT" 2>/dev/null
	ip netns del "$NS_COL" 2>/dev/null
	rm -rf "/sys/fs/bpf/xdp-mirror/$DEV_DA" 2>/dev/null
	rm -f "/run/xdp-mirror/$DEV_DA.log"
	return 0
}

# The usual start of an e2e test after sourcing this file: $tmp (a work
# directory), $cap_pid (a capture to stop, if set), $CTL, and a trap that
# stops the capture, takes the topology down and removes $tmp, even when
# the test fails.
xm_e2e_cleanup() {
	[ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null
	wait 2>/dev/null
	xm_topo_down
	rm -rf "$tmp"
}
xm_e2e_begin() {
	tmp=$(mktemp -d)
	cap_pid=
	trap xm_e2e_cleanup EXIT
	CTL="$XM_BIN/mirrorctl -d $DEV_DA"
}

xm_quiet_if() {
	# No IPv6 autoconf, RS, MLD or DAD noise on test links.
	in_ns "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
}

xm_topo_up() {
	ip netns add "$NS_GEN" && ip netns add "$NS_DUT" && ip netns add "$NS_COL" || return 1
	ip link add "$DEV_GA" netns "$NS_GEN" type veth peer name "$DEV_DA" netns "$NS_DUT" || return 1
	ip link add "$DEV_DB" netns "$NS_DUT" type veth peer name "$DEV_CB" netns "$NS_COL" || return 1
	xm_quiet_if "$NS_GEN" "$DEV_GA"; xm_quiet_if "$NS_DUT" "$DEV_DA"
	xm_quiet_if "$NS_DUT" "$DEV_DB"; xm_quiet_if "$NS_COL" "$DEV_CB"
	# VXLAN adds 50 bytes: a jumbo underlay carries 1500-byte originals.
	in_ns "$NS_DUT" ip link set "$DEV_DB" mtu 9000
	in_ns "$NS_COL" ip link set "$DEV_CB" mtu 9000
	in_ns "$NS_DUT" ip addr add "$DUT_IP/24" dev "$DEV_DB"
	in_ns "$NS_COL" ip addr add "$COL_IP/24" dev "$DEV_CB"
	for l in "$NS_GEN:$DEV_GA" "$NS_DUT:$DEV_DA" "$NS_DUT:$DEV_DB" "$NS_COL:$DEV_CB" "$NS_GEN:lo" "$NS_DUT:lo" "$NS_COL:lo"; do
		in_ns "${l%%:*}" ip link set "${l#*:}" up || return 1
	done
	# The generator sends raw frames with scapy; keep offloads out of it.
	in_ns "$NS_GEN" ethtool -K "$DEV_GA" tx off >/dev/null 2>&1
	xm_napi "$NS_COL" "$DEV_CB"
}

# NAPI on a veth that receives the appliance's XDP fast path: without it
# (an XDP program or GRO on the receiving side) the sending veth takes no
# XDP redirects, and --datapath xdp refuses to start.
xm_napi() {
	in_ns "$1" ip link set dev "$2" xdpdrv obj "$XM_BIN/xdp_pass.bpf.o" sec xdp.frags
}

# Start the appliance in dut on dA, sending from dB, with $XM_DATAPATH.
xm_start() {
	in_dut "$XM_BIN/mirror-appliance" start --dev "$DEV_DA" --tx-dev "$DEV_DB" \
		--datapath "$XM_DATAPATH" "$@"
}

# Wait (up to $2 seconds, default 10) until command $3... succeeds.
xm_wait() {
	local deadline=$((SECONDS + ${1:-10})); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
	return 0
}

xm_mac() { in_ns "$1" cat "/sys/class/net/$2/address"; }

# ---- IPv6 on the dut-col link, and a collector behind a router ------

DUT_IP6=fd00:$XM_O:2::1
COL_IP6=fd00:$XM_O:2::2

# Enable IPv6 on dB and cB (xm_topo_up leaves it off) with static
# addresses: no RA, autoconf, router solicitation or DAD, so addresses are
# usable at once and the link carries only neighbour discovery, MLD and
# what the test sends.  The link-local address stays: the kernel sources
# a neighbour solicitation that no packet triggered (ip neigh ... use,
# the daemon's way) from it, and sends none without it.
xm_v6_if() {
	local ns=$1 dev=$2 k
	for k in accept_ra=0 autoconf=0 router_solicitations=0 \
		accept_dad=0 dad_transmits=0; do
		in_ns "$ns" sysctl -qw "net.ipv6.conf.$dev.$k" || return 1
	done
	in_ns "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=0"
}

# xm_addr NS DEV ADDR/LEN...: add addresses (IPv6 ones without DAD, so
# they are usable at once).
xm_addr() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) in_ns "$ns" ip -6 addr add "$a" dev "$dev" nodad || return 1 ;;
		*) in_ns "$ns" ip addr add "$a" dev "$dev" || return 1 ;;
		esac
	done
}

xm_topo_ipv6() {
	xm_v6_if "$NS_DUT" "$DEV_DB" && xm_v6_if "$NS_COL" "$DEV_CB" &&
		xm_addr "$NS_DUT" "$DEV_DB" "$DUT_IP6/64" &&
		xm_addr "$NS_COL" "$DEV_CB" "$COL_IP6/64"
}

# A far collector, FAR_IP, in its own namespace behind the col namespace
# acting as router:
#   ns col: cR 10.$o.3.1/24 <-veth-> ns far: fR 10.$o.3.2/24
# dut reaches 10.$o.3.0/24 via COL_IP (xm_far_route add|del).
NS_FAR=xmfar$XM_SFX
DEV_CR=cR$XM_SFX
DEV_FR=fR$XM_SFX
RTR_IP=10.$XM_O.3.1
FAR_IP=10.$XM_O.3.2
FAR_NET=10.$XM_O.3.0/24

xm_far_route() {
	in_ns "$NS_DUT" ip route "$1" "$FAR_NET" via "$COL_IP" dev "$DEV_DB"
}

xm_topo_far() {
	ip netns add "$NS_FAR" || return 1
	ip link add "$DEV_CR" netns "$NS_COL" type veth peer name "$DEV_FR" netns "$NS_FAR" || return 1
	xm_quiet_if "$NS_COL" "$DEV_CR"; xm_quiet_if "$NS_FAR" "$DEV_FR"
	in_ns "$NS_COL" ip link set "$DEV_CR" mtu 9000
	in_ns "$NS_FAR" ip link set "$DEV_FR" mtu 9000
	xm_addr "$NS_COL" "$DEV_CR" "$RTR_IP/24" && xm_addr "$NS_FAR" "$DEV_FR" "$FAR_IP/24" || return 1
	in_ns "$NS_COL" ip link set "$DEV_CR" up && in_ns "$NS_FAR" ip link set "$DEV_FR" up &&
		in_ns "$NS_FAR" ip link set lo up || return 1
	in_ns "$NS_COL" sysctl -qw net.ipv4.ip_forward=1 || return 1
	in_ns "$NS_FAR" ip route add default via "$RTR_IP" || return 1
	xm_far_route add
}

xm_far_down() {
	ip netns del "$NS_FAR" 2>/dev/null
	return 0
}

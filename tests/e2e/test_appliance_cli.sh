#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mirror-appliance start/stop: bad input is refused with a message naming
# it, a device with a foreign XDP program is left alone, a second start is
# refused, and stop removes exactly what start added.
set -u
. "$(dirname "$0")/../lib/netns.sh"
tmp=$(mktemp -d)
cleanup() { rm -f "/sys/fs/bpf/xmcli$XM_SFX"; xm_topo_down; rm -rf "$tmp"; }
trap cleanup EXIT
APP="$XM_BIN/mirror-appliance"

xm_topo_up || { fail cli_topology "could not build namespaces"; exit 1; }

# expect_err NAME EXPECTED-SUBSTRING ARGS...: exit 1 and the message.
expect_err() {
	local name=$1 want=$2 out rc; shift 2
	out=$(in_dut "$APP" "$@" 2>&1); rc=$?
	if [ $rc -ne 1 ]; then fail "$name" "exit $rc, want 1 ($out)"
	elif [[ $out != *"$want"* ]]; then fail "$name" "message '$out' lacks '$want'"
	else pass "$name"; fi
}

expect_err app_no_command "usage" 
expect_err app_bad_command "'frobnicate'" frobnicate
expect_err app_no_dev "--dev" start
expect_err app_bad_dev "'nosuchdev0'" start --dev nosuchdev0
expect_err app_bad_txdev "'nosuchdev1'" start --dev "$DEV_DA" --tx-dev nosuchdev1
expect_err app_bad_queues "'0'" start --dev "$DEV_DA" --queues 0
expect_err app_bad_queues_word "'many'" start --dev "$DEV_DA" --queues many
expect_err app_bad_cores "'x9'" start --dev "$DEV_DA" --cores x9
expect_err app_unknown_opt "--frob" start --dev "$DEV_DA" --frob
expect_err app_bad_mode "'tap'" start --dev "$DEV_DA" --mode tap
expect_err app_bad_datapath "'fast'" start --dev "$DEV_DA" --datapath fast
expect_err app_stop_not_running "no appliance running on $DEV_DA" stop --dev "$DEV_DA"
check app_bad_input_changed_nothing bash -c "! ip netns exec $NS_DUT ip link show $DEV_DA | grep -q xdp && test ! -e /sys/fs/bpf/xdp-mirror/$DEV_DA"
out=$(in_dut "$APP" --help 2>&1); check_eq app_help_exit "$?" 0
check app_help_text grep -q "start --dev" <<<"$out"

# A device that already runs someone else's XDP program is refused.
bpftool prog load "$XM_BIN/xdp_pass.bpf.o" "/sys/fs/bpf/xmcli$XM_SFX" type xdp >/dev/null 2>&1
in_dut bpftool net attach xdp pinned "/sys/fs/bpf/xmcli$XM_SFX" dev "$DEV_DA"
expect_err app_foreign_xdp "already has an XDP program" start --dev "$DEV_DA" --tx-dev "$DEV_DB"
in_dut bpftool net detach xdp dev "$DEV_DA"
rm -f "/sys/fs/bpf/xmcli$XM_SFX"

# start, second start refused, stop cleans up.
out=$(in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" 2>&1); rc=$?
check_eq app_start "$rc" 0
check app_start_reports_mode grep -Eq "copy|zero-copy" <<<"$out"
check app_pinned test -d "/sys/fs/bpf/xdp-mirror/$DEV_DA"
check app_attached bash -c "ip netns exec $NS_DUT ip link show $DEV_DA | grep -q xdp"
expect_err app_second_start "already running" start --dev "$DEV_DA" --tx-dev "$DEV_DB"
out=$(in_dut "$APP" stop --dev "$DEV_DA" 2>&1); check_eq app_stop "$?" 0
check app_stop_detached bash -c "! ip netns exec $NS_DUT ip link show $DEV_DA | grep -q xdp"
check app_stop_unpinned test ! -e "/sys/fs/bpf/xdp-mirror/$DEV_DA"

# A daemon killed by SIGKILL leaves its program and pins behind; stop
# cleans up after it and a new start works.
in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" >/dev/null 2>&1
pid=$(pgrep -f "mirror-appliance start --dev $DEV_DA " | head -1)
[ -n "$pid" ] && kill -9 "$pid"
xm_wait 5 bash -c "! kill -0 $pid 2>/dev/null"
out=$(in_dut "$APP" stop --dev "$DEV_DA" 2>&1); check_eq app_stop_after_crash "$?" 0
check app_crash_cleaned bash -c "! ip netns exec $NS_DUT ip link show $DEV_DA | grep -q xdp && test ! -e /sys/fs/bpf/xdp-mirror/$DEV_DA"
out=$(in_dut "$APP" start --dev "$DEV_DA" --tx-dev "$DEV_DB" 2>&1); check_eq app_restart_after_crash "$?" 0
in_dut "$APP" stop --dev "$DEV_DA" >/dev/null 2>&1

[ "$xm_fail_count" -eq 0 ]

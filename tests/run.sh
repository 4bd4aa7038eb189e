#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test: unit binaries from $XM_BIN (test_*), then the shell
# suites tests/*/test_*.sh.  Each prints PASS/FAIL lines; this script
# counts them and ends with "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
export XM_BIN=${XM_BIN:-$here/../build/san}
export XM_TESTS=$here
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
only=${1:-}

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run_one() {
	local name=$1; shift
	local rc p f
	echo "== $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited $rc without a FAIL line"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$XM_BIN"/test_*; do
	[ -x "$t" ] || continue
	[ -n "$only" ] && [[ $(basename "$t") != *$only* ]] && continue
	run_one "$(basename "$t")" "$t"
done
# The end-to-end tests of the slice and the encapsulations run once per
# datapath (mirror-appliance --datapath, through xm_start in
# tests/lib/netns.sh); the others with the default, auto.
XM_DP_TESTS=" test_datapath_smoke.sh test_e2e_vxlan.sh test_e2e_encap.sh test_e2e_route.sh test_e2e_jumbo.sh "
for t in "$here"/*/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	[ -n "$only" ] && [[ $name != *$only* ]] && continue
	if [[ $XM_DP_TESTS == *" $name "* ]]; then
		for dp in xdp afxdp auto; do
			XM_DATAPATH=$dp run_one "$name [--datapath $dp]" bash "$t"
		done
	else
		run_one "$name" bash "$t"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_cli.sh - mirrorctl against a fake appliance: the pinned maps are
# created here with bpftool (same names, types, sizes and flags as the
# daemon's) under a device directory that no real interface has, and
# every command runs with -d on it.  No daemon, no network.
#
# Output: one `PASS name` / `FAIL name: reason` line per check group;
# exit status non-zero when any group failed.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${XM_BIN:-$ROOT/build}
MC=$BIN/mirrorctl
PY=/usr/bin/python3
DEV=xmtest$$
PINROOT=/sys/fs/bpf/xdp-mirror
PIN=$PINROOT/$DEV
TMP=$(mktemp -d /tmp/xm_cli.XXXXXX)
FAILED=0

cleanup() {
	rm -rf "$PIN"
	rmdir "$PINROOT" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILED=1; }

# ---- fixture --------------------------------------------------------

# Struct sizes from the one definition in include/, not written down here.
sizes() {
	cat > "$TMP/sz.c" <<'EOF'
#include <stdio.h>
#include "xm_types.h"
int main(void)
{
	printf("%zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct xm_rule),
	       sizeof(struct xm_ctl), sizeof(struct xm_collector),
	       sizeof(struct xm_dev_stats), sizeof(struct xm_rule_stats),
	       sizeof(struct xm_coll_stats), sizeof(struct xm_worker_stats),
	       sizeof(struct xm_dpinfo));
	return 0;
}
EOF
	cc -I"$ROOT/include" -o "$TMP/sz" "$TMP/sz.c" && "$TMP/sz"
}

mkmap() { # name type value entries [flags]
	bpftool map create "$PIN/$1" type "$2" key 4 value "$3" entries "$4" \
		name "$1" ${5:+flags $5}
}

setup() {
	local s
	s=($(sizes)) || return 1
	[ ${#s[@]} -eq 8 ] || return 1
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || return 1
	mkdir -p "$PIN" || return 1
	mkmap rules array "${s[0]}" 2048 &&
	mkmap ctl array "${s[1]}" 1 1024 &&
	mkmap collectors array "${s[2]}" 64 &&
	mkmap dev_stats percpu_array "${s[3]}" 1 &&
	mkmap rule_stats percpu_array "${s[4]}" 4096 &&
	mkmap coll_stats array "${s[5]}" 4096 1024 &&
	mkmap worker_stats array "${s[6]}" 64 1024 &&
	mkmap xsks xskmap 4 64 &&
	mkmap dpinfo array "${s[7]}" 1
}

if [ "$(id -u)" -ne 0 ] || ! command -v bpftool >/dev/null; then
	fail cli_setup "needs root and bpftool"
	exit 1
fi
if [ ! -x "$MC" ]; then
	fail cli_setup "$MC not built"
	exit 1
fi
if ! setup; then
	fail cli_setup "cannot create the fake appliance maps under $PIN"
	exit 1
fi
pass cli_setup

# ---- helpers ----------------------------------------------------------

mc() { "$MC" -d "$DEV" "$@"; }

# Everything a command could change: tables as shown plus raw maps.
snapshot() {
	mc collector show
	mc rule show
	bpftool map dump pinned "$PIN/ctl"
	bpftool map dump pinned "$PIN/collectors" | md5sum
	bpftool map dump pinned "$PIN/rules" | md5sum
}

# ctl word N (0 rules_sel, 1 rule_gen, 2 coll_gen) as a number.
ctl_word() {
	bpftool -j map dump pinned "$PIN/ctl" | $PY -c '
import json, sys
v = [int(b, 16) for b in json.load(sys.stdin)[0]["value"]]
i = int(sys.argv[1]) * 4
print(int.from_bytes(bytes(v[i:i + 4]), "little"))' "$1"
}

# expect_err GROUP 'message substring' ARGS...: exit 1, message on
# stderr, nothing changed.  Appends to ERRS on failure.
ERRS=""
expect_err() {
	local grp=$1 msg=$2 rc before after
	shift 2
	before=$(snapshot)
	mc "$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	after=$(snapshot)
	if [ $rc -ne 1 ]; then
		ERRS="$ERRS [$*: exit $rc, want 1]"
	elif ! grep -qF -- "$msg" "$TMP/err"; then
		ERRS="$ERRS [$*: stderr '$(cat "$TMP/err")' lacks '$msg']"
	elif [ "$before" != "$after" ]; then
		ERRS="$ERRS [$*: state changed]"
	fi
}

group_done() { # name
	if [ -z "$ERRS" ]; then pass "$1"; else fail "$1" "$ERRS"; fi
	ERRS=""
}

# ---- help -------------------------------------------------------------

ERRS=""
for a in "--help" "help" "help rule" "rule help" "collector help" "stats help"; do
	# shellcheck disable=SC2086
	"$MC" $a > "$TMP/out" 2>&1 || ERRS="$ERRS [$a: exit $?]"
	grep -q "mirrorctl" "$TMP/out" || ERRS="$ERRS [$a: no usage text]"
done
"$MC" > /dev/null 2>&1 && ERRS="$ERRS [no args: exit 0]"
group_done cli_help

# ---- device selection ---------------------------------------------------

ERRS=""
out=$("$MC" -d nosuch$$ rule show 2>&1)
[ $? -eq 1 ] || ERRS="$ERRS [missing dev: exit not 1]"
echo "$out" | grep -qF "mirrorctl: no appliance running on 'nosuch$$' (start one with: mirror-appliance start --dev nosuch$$)" ||
	ERRS="$ERRS [missing dev: '$out']"
# Without -d, only checkable when ours is the only appliance pinned.
if [ "$(ls "$PINROOT")" = "$DEV" ]; then
	"$MC" rule show > /dev/null 2>&1 || ERRS="$ERRS [auto-select failed]"
	mkdir "$PINROOT/xmtestb$$"
	out=$("$MC" rule show 2>&1)
	[ $? -eq 1 ] || ERRS="$ERRS [two devs: exit not 1]"
	echo "$out" | grep -qF "several appliances running" ||
		ERRS="$ERRS [two devs: '$out']"
	rmdir "$PINROOT/xmtestb$$"
fi
expect_err dev "differs from" rule add dev other$$ collector x
group_done cli_dev_select

# ---- collectors -----------------------------------------------------------

ERRS=""
mc collector add c1 remote 192.0.2.1 || ERRS="$ERRS [add c1 failed]"
mc collector add c2 remote 192.0.2.2 local 192.0.2.9 vni 77 dport 8472 dev lo ||
	ERRS="$ERRS [add c2 failed]"
want='collector add c1 remote 192.0.2.1 encap vxlan vni 0 dport 4789  # id 0
collector add c2 remote 192.0.2.2 local 192.0.2.9 encap vxlan vni 77 dport 8472 dev lo  # id 1'
got=$(mc collector show)
[ "$got" = "$want" ] || ERRS="$ERRS [show: '$got']"
[ "$(ctl_word 2)" = 2 ] || ERRS="$ERRS [coll_gen $(ctl_word 2), want 2]"
mc -j collector show | $PY -m json.tool > /dev/null || ERRS="$ERRS [-j not JSON]"
group_done cli_collector_add_show

C=collector
expect_err "$C" "collector add: collector 'c1' already exists" $C add c1 remote 192.0.2.5
expect_err "$C" "collector add: bad name 'a/b'" $C add a/b remote 192.0.2.5
expect_err "$C" "collector add: name 'abcdefghijabcdefghijabcdefghijabc' too long (max 31 characters)" \
	$C add abcdefghijabcdefghijabcdefghijabc remote 192.0.2.5
for e in geneve gre erspan2 erspan3; do
	expect_err "$C" "collector add: encap '$e' not yet supported" $C add c3 remote 192.0.2.5 encap $e
done
expect_err "$C" "collector add: unknown encap 'foo'" $C add c3 remote 192.0.2.5 encap foo
expect_err "$C" "collector add: IPv6 remote '2001:db8::1' not yet supported" $C add c3 remote 2001:db8::1
expect_err "$C" "collector add: IPv6 local '2001:db8::2' not yet supported" $C add c3 remote 192.0.2.5 local 2001:db8::2
for k in session key dscp ttl; do
	expect_err "$C" "collector add: '$k' not yet supported" $C add c3 remote 192.0.2.5 $k 1
done
expect_err "$C" "collector add: 'remote' is required" $C add c3 vni 5
expect_err "$C" "collector add: bad address '192.0.2' for 'remote'" $C add c3 remote 192.0.2
expect_err "$C" "collector add: unknown keyword 'remot'" $C add c3 remot 192.0.2.5
expect_err "$C" "collector add: vni '16777216' out of range 0-16777215" $C add c3 remote 192.0.2.5 vni 16777216
expect_err "$C" "collector add: dport '0' out of range 1-65535" $C add c3 remote 192.0.2.5 dport 0
expect_err "$C" "collector add: unknown device 'nosuch$$'" $C add c3 remote 192.0.2.5 dev nosuch$$
expect_err "$C" "collector add: 'vni' needs a value" $C add c3 remote 192.0.2.5 vni
expect_err "$C" "collector add: 'vni' given twice" $C add c3 remote 192.0.2.5 vni 1 vni 2
expect_err "$C" "collector del: unknown collector 'nope'" $C del nope
group_done cli_collector_errors

# ---- rules ------------------------------------------------------------------

ERRS=""
gen0=$(ctl_word 1)
mc rule add prio 200 dst 10.9.0.0/16 collector c2 || ERRS="$ERRS [add 1]"
mc rule add src 10.0.0.0/8 proto tcp dport 9091 collector c1 || ERRS="$ERRS [add 2]"
mc rule add prio 50 src 2001:db8::/32 dst 2001:db8:1::/48 proto udp sport 1000-2000 vlan 7 collector c1,c2 ||
	ERRS="$ERRS [add 3]"
mc rule add prio 100 proto 47 collector c2 || ERRS="$ERRS [add 4]"
want='rule add prio 50 src 2001:db8::/32 dst 2001:db8:1::/48 proto udp sport 1000-2000 vlan 7 collector c1,c2  # id 3
rule add prio 100 src 10.0.0.0/8 proto tcp dport 9091 collector c1  # id 2
rule add prio 100 proto 47 collector c2  # id 4
rule add prio 200 dst 10.9.0.0/16 collector c2  # id 1'
got=$(mc rule show)
[ "$got" = "$want" ] || ERRS="$ERRS [show order: '$got']"
[ "$(ctl_word 1)" = $((gen0 + 4)) ] || ERRS="$ERRS [rule_gen $(ctl_word 1), want $((gen0 + 4))]"
sel=$(ctl_word 0)
[ $((sel >> 1)) = 4 ] || ERRS="$ERRS [rules_sel count $((sel >> 1)), want 4]"
mc -j rule show | $PY -c '
import json, sys
r = json.load(sys.stdin)
assert [x["id"] for x in r] == [3, 2, 4, 1], r
assert r[0]["collectors"] == ["c1", "c2"] and r[0]["sport_lo"] == 1000, r[0]
assert r[1]["src"] == "10.0.0.0/8" and r[1]["proto"] == 6, r[1]' 2> "$TMP/err" ||
	ERRS="$ERRS [rule show -j: $(tail -1 "$TMP/err")]"
# Host bits are cleared, so what show prints is what matches.
mc rule add src 10.1.2.3/8 collector c1 && mc rule show | grep -qF "src 10.0.0.0/8 collector c1  # id 5" ||
	ERRS="$ERRS [host bits not cleared]"
mc rule del 5 || ERRS="$ERRS [del 5]"
mc rule show | grep -q "# id 5" && ERRS="$ERRS [id 5 still shown]"
group_done cli_rule_add_show

R=rule
expect_err "$R" "mirrorctl: rule add: bad prefix '10.0.0.0/33'" $R add src 10.0.0.0/33 collector c1
expect_err "$R" "mirrorctl: rule add: bad prefix '10.0.0.300'" $R add dst 10.0.0.300 collector c1
expect_err "$R" "mirrorctl: rule add: unknown keyword 'dprot'" $R add dprot 80 collector c1
expect_err "$R" "mirrorctl: rule add: port '70000' out of range 0-65535" $R add dport 70000 collector c1
expect_err "$R" "mirrorctl: rule add: port '70000' out of range 0-65535" $R add sport 1-70000 collector c1
expect_err "$R" "mirrorctl: rule add: bad port range '90-80' (N-M needs N<=M)" $R add dport 90-80 collector c1
expect_err "$R" "mirrorctl: rule add: bad port 'x' for 'dport'" $R add dport x collector c1
expect_err "$R" "mirrorctl: rule add: unknown collector 'nope'" $R add collector c1,nope
expect_err "$R" "mirrorctl: rule add: bad collector list 'c1,,c2'" $R add collector c1,,c2
expect_err "$R" "mirrorctl: rule add: 'dport' needs a value" $R add collector c1 dport
expect_err "$R" "mirrorctl: rule add: 'collector' is required" $R add dport 80
expect_err "$R" "mirrorctl: rule add: 'src' given twice" $R add src 10.0.0.0/8 src 10.0.0.0/8 collector c1
expect_err "$R" "mirrorctl: rule add: src and dst of different address families ('10.0.0.0/8' and '2001:db8::/32')" \
	$R add src 10.0.0.0/8 dst 2001:db8::/32 collector c1
expect_err "$R" "mirrorctl: rule add: unknown protocol 'tcpp'" $R add proto tcpp collector c1
expect_err "$R" "mirrorctl: rule add: protocol '256' out of range 0-255" $R add proto 256 collector c1
expect_err "$R" "mirrorctl: rule add: vlan '4096' out of range 0-4095" $R add vlan 4096 collector c1
expect_err "$R" "mirrorctl: rule add: bad value '-1' for 'prio'" $R add prio -1 collector c1
for k in dir filter sample snaplen action; do
	expect_err "$R" "mirrorctl: rule add: '$k' not yet supported" $R add $k x collector c1
done
expect_err "$R" "mirrorctl: rule del: no rule with id 999" $R del 999
expect_err "$R" "mirrorctl: rule del: id '0' out of range 1-4095" $R del 0
expect_err "$R" "mirrorctl: rule del: bad value 'x' for 'id'" $R del x
expect_err "$R" "mirrorctl: rule: unknown command 'ad'" $R ad collector c1
expect_err "$R" "mirrorctl: unknown object 'rules'" rules show
group_done cli_rule_errors

# ---- collector del while referenced ------------------------------------------------

expect_err coll_ref "mirrorctl: collector del: collector 'c1' is used by rules 3, 2 (delete them first)" collector del c1
expect_err coll_ref "mirrorctl: collector del: collector 'c2' is used by rules 3, 4, 1 (delete them first)" collector del c2
ERRS2=$ERRS
ERRS=""
mc collector add c3 remote 192.0.2.3 && mc rule add collector c3 || ERRS="$ERRS [add c3]"
expect_err coll_ref "collector 'c3' is used by rule 5 (delete it first)" collector del c3
mc rule del 5 && mc collector del c3 || ERRS="$ERRS [del c3 after its rule]"
mc collector show | grep -q c3 && ERRS="$ERRS [c3 still shown]"
ERRS="$ERRS2$ERRS"
group_done cli_collector_del_referenced

# ---- round trip through -batch -------------------------------------------------------

ERRS=""
{ mc collector show; mc rule show; } > "$TMP/dump"
strip() { sed 's/  # id .*//' "$1"; }
strip "$TMP/dump" > "$TMP/dump.noid"
for id in $(mc -j rule show | $PY -c 'import json,sys; print(*[r["id"] for r in json.load(sys.stdin)])'); do
	mc rule del "$id" || ERRS="$ERRS [del $id]"
done
mc collector del c1 && mc collector del c2 || ERRS="$ERRS [collector del]"
[ -z "$(mc rule show)$(mc collector show)" ] || ERRS="$ERRS [not empty after deleting]"
gen0=$(ctl_word 1)
"$MC" -d "$DEV" -batch "$TMP/dump" || ERRS="$ERRS [batch of dump failed]"
{ mc collector show; mc rule show; } > "$TMP/dump2"
strip "$TMP/dump2" > "$TMP/dump2.noid"
cmp -s "$TMP/dump.noid" "$TMP/dump2.noid" ||
	ERRS="$ERRS [round trip differs: $(diff "$TMP/dump.noid" "$TMP/dump2.noid" | tr '\n' ' ')]"
[ "$(ctl_word 1)" = $((gen0 + 1)) ] || ERRS="$ERRS [batch made $(($(ctl_word 1) - gen0)) rule flips, want 1]"
group_done cli_batch_roundtrip

# ---- a bad batch line changes nothing ----------------------------------------

ERRS=""
cat > "$TMP/bad" <<'EOF'
# comment line

collector add c9 remote 192.0.2.99   # trailing comment
rule add prio 5 proto icmp collector c9
rule add src 10.0.0.0/33 collector c9
EOF
expect_err batch "mirrorctl: $TMP/bad:5: rule add: bad prefix '10.0.0.0/33'" -batch "$TMP/bad"
# A semantic error (known only against the tables) counts the same.
printf 'collector add c9 remote 192.0.2.99\nrule add collector c9\nrule add collector c10\n' > "$TMP/bad2"
expect_err batch "mirrorctl: $TMP/bad2:3: rule add: unknown collector 'c10'" -batch "$TMP/bad2"
printf 'rule show\n' > "$TMP/bad3"
expect_err batch "mirrorctl: $TMP/bad3:1: rule: only 'add' and 'del' commands can be batched" -batch "$TMP/bad3"
printf "rule add filter 'tcp port 80 collector c1\n" > "$TMP/bad4"
expect_err batch "mirrorctl: $TMP/bad4:1: unterminated quote" -batch "$TMP/bad4"
expect_err batch "mirrorctl: cannot open '$TMP/none'" -batch "$TMP/none"
# Collectors and rules of one batch may refer to each other.
printf 'collector add c9 remote 192.0.2.99\nrule add prio 1 collector c9\nrule del 5\n' > "$TMP/good"
mc rule add collector c1 > /dev/null 2>&1	# id 5: the round trip used 1-4
n0=$(mc rule show | wc -l)
"$MC" -d "$DEV" -batch "$TMP/good" || ERRS="$ERRS [good batch failed]"
[ "$(mc rule show | wc -l)" = "$n0" ] || ERRS="$ERRS [good batch: rule count]"
mc rule show | head -1 | grep -qF "rule add prio 1 collector c9" || ERRS="$ERRS [good batch: first rule]"
group_done cli_batch_errors

# ---- table limits -----------------------------------------------------------------

ERRS=""
have=$(mc rule show | wc -l)
{ for ((i = have; i < 1024; i++)); do echo "rule add prio $((i % 7)) collector c1"; done; } > "$TMP/fill"
"$MC" -d "$DEV" -batch "$TMP/fill" || ERRS="$ERRS [fill failed]"
[ "$(mc rule show | wc -l)" = 1024 ] || ERRS="$ERRS [not 1024 rules]"
expect_err limits "mirrorctl: rule add: rule table full (1024 rules)" rule add collector c1
# Sorted by (prio, id) across the whole table.
mc -j rule show | $PY -c '
import json, sys
r = json.load(sys.stdin)
k = [(x["prio"], x["id"]) for x in r]
assert k == sorted(k) and len(set(x["id"] for x in r)) == 1024' || ERRS="$ERRS [full table order]"
group_done cli_rule_table_full

# Back to a small table for the stats checks.
mc -j rule show | $PY -c 'import json,sys; [print("rule del", r["id"]) for r in json.load(sys.stdin)]' > "$TMP/clear"
"$MC" -d "$DEV" -batch "$TMP/clear" || fail cli_clear "batch delete of all rules failed"

# ---- stats and status ----------------------------------------------------------

ERRS=""
ncpu=$(bpftool -j map lookup pinned "$PIN/dev_stats" key 0 0 0 0 | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["values"]))')
# bpftool writes the same value to every CPU of a per-CPU map.
bpftool map update pinned "$PIN/dev_stats" key 0 0 0 0 value $(printf '3 0 0 0 0 0 0 0 %.0s' {1..10})
# Counters left by an earlier rule with id 1 must not show on the new one.
bpftool map update pinned "$PIN/rule_stats" key 1 0 0 0 value $(printf '9 0 0 0 0 0 0 0 %.0s' {1..2})
mc rule add collector c1 || ERRS="$ERRS [rule add]"
# dpinfo: pid 0, ifindex 1, tx 1, queues 2, zerocopy 0, ready 1.
bpftool map update pinned "$PIN/dpinfo" key 0 0 0 0 value 0 0 0 0 1 0 0 0 1 0 0 0 2 0 0 0 0 0 0 0 1 0 0 0
# coll_stats rows of workers 0 and 1 for collector 0 (c1): sent 5 and 6.
bpftool map update pinned "$PIN/coll_stats" key 0 0 0 0 value 5 0 0 0 0 0 0 0 $(printf '0 %.0s' {1..48})
bpftool map update pinned "$PIN/coll_stats" key 64 0 0 0 value 6 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0 $(printf '0 %.0s' {1..32})
bpftool map update pinned "$PIN/worker_stats" key 1 0 0 0 value 4 0 0 0 0 0 0 0 $(printf '0 %.0s' {1..40})
mc stats -j > "$TMP/stats.json" || ERRS="$ERRS [stats -j failed]"
$PY -m json.tool "$TMP/stats.json" > /dev/null || ERRS="$ERRS [stats -j is not JSON]"
$PY - "$TMP/stats.json" "$DEV" "$ncpu" <<'EOF' 2> "$TMP/err" || ERRS="$ERRS [stats values: $(tail -1 "$TMP/err")]"
import json, sys
s = json.load(open(sys.argv[1]))
ncpu = int(sys.argv[3])
assert s["dev"] == sys.argv[2], s["dev"]
d = s["device"]
assert list(d) == ["rx", "rx_bytes", "matched", "matched_bytes", "not_matched",
                   "passed", "malformed", "to_xsk", "xsk_missing", "meta_fail"], list(d)
assert all(v == 3 * ncpu for v in d.values()), d
assert s["rules"] == [{"id": 1, "packets": 0, "bytes": 0}], s["rules"]
c = s["collectors"]
assert [x["name"] for x in c] == ["c1", "c2", "c9"], c
assert c[0]["sent"] == 11 and c[0]["drop_no_neigh"] == 2 and c[0]["drop_no_collector"] == 0, c[0]
assert set(c[0]) == {"id", "name", "sent", "sent_bytes", "drop_no_neigh", "drop_tx_full",
                     "drop_no_frame", "drop_too_big", "drop_no_collector"}, c[0]
w = s["workers"]
assert [x["id"] for x in w] == [0, 1] and w[1]["rx"] == 4 and w[0]["rx"] == 0, w
EOF
mc stats > "$TMP/stats.txt" || ERRS="$ERRS [stats failed]"
grep -qE '^  rx +'$((3 * ncpu))'$' "$TMP/stats.txt" || ERRS="$ERRS [stats text: no rx line]"
grep -qE '^  0:c1 +11 ' "$TMP/stats.txt" || ERRS="$ERRS [stats text: no c1 row]"
"$MC" -j -d "$DEV" status | $PY -c '
import json, sys
s = json.load(sys.stdin)
assert s["queues"] == 2 and s["ready"] is True and s["mode"] == "copy", s
assert s["collectors"][0] == {"id": 0, "name": "c1", "remote": "192.0.2.1"}, s' 2> "$TMP/err" ||
	ERRS="$ERRS [status -j: $(tail -1 "$TMP/err")]"
mc status > "$TMP/status.txt" || ERRS="$ERRS [status failed]"
grep -qF "queues 2, mode copy, ready yes" "$TMP/status.txt" || ERRS="$ERRS [status text: $(head -1 "$TMP/status.txt")]"
grep -qxF "collector 0 c1 remote 192.0.2.1" "$TMP/status.txt" || ERRS="$ERRS [status text: no collector line]"
group_done cli_stats_status

if [ $FAILED -ne 0 ]; then
	exit 1
fi
exit 0

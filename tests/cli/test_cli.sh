#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_cli.sh - mirrorctl against a fake appliance: the pinned maps are
# created here from the daemon's BPF object (same names, types, sizes and
# flags as the daemon's; no program is loaded) under a device directory
# that no real interface has, and every command runs with -d on it.  No
# daemon, no network.
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

# Create and pin the maps the daemon's BPF object declares, with their
# names, types, sizes and flags, as the daemon would (it pins them under
# their own names); nothing is loaded.
mkmaps() { # OBJ DIR
	cat > "$TMP/mkmaps.c" <<'EOF'
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	struct bpf_object *obj;
	struct bpf_map *m;
	char path[4096];
	int fd;

	if (argc != 3)
		return 2;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__is_internal(m))	/* .bss, .rodata: no API */
			continue;
		o.map_flags = bpf_map__map_flags(m);
		fd = bpf_map_create(bpf_map__type(m), bpf_map__name(m),
				    bpf_map__key_size(m), bpf_map__value_size(m),
				    bpf_map__max_entries(m), &o);
		snprintf(path, sizeof(path), "%s/%s", argv[2], bpf_map__name(m));
		if (fd < 0 || bpf_obj_pin(fd, path)) {
			fprintf(stderr, "map %s: cannot create or pin\n",
				bpf_map__name(m));
			return 1;
		}
	}
	bpf_object__close(obj);
	return 0;
}
EOF
	cc -o "$TMP/mkmaps" "$TMP/mkmaps.c" -lbpf && "$TMP/mkmaps" "$@"
}

# Table limits from the headers: XM_MAX_RULES XM_MAX_RULE_ID.
limits() {
	cat > "$TMP/limits.c" <<'EOF'
#include <stdio.h>
#include "xm_types.h"
int main(void)
{
	printf("%d %d\n", XM_MAX_RULES, XM_MAX_RULE_ID);
	return 0;
}
EOF
	cc -I"$ROOT/include" -o "$TMP/limits" "$TMP/limits.c" && "$TMP/limits"
}

# A hash of every entry of each table map given, so that snapshot() can
# tell whether a command wrote anything without dumping tens of thousands
# of entries through bpftool.  Mmapable arrays are hashed in place; the
# other maps entry by entry, summed so a hash map's order does not count.
mapsum_build() {
	cat > "$TMP/mapsum.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
static unsigned long long fnv(const unsigned char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}
int main(int argc, char **argv)
{
	struct bpf_map_info info;
	unsigned long long sum;
	unsigned char *kv;
	size_t len;
	__u32 ilen;
	void *m;
	int i, fd;

	for (i = 1; i < argc; i++) {
		fd = bpf_obj_get(argv[i]);
		memset(&info, 0, sizeof(info));
		ilen = sizeof(info);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			printf("%s cannot be read\n", argv[i]);
			return 1;
		}
		sum = 0;
		if (info.map_flags & 1024) {	/* BPF_F_MMAPABLE */
			len = (size_t)info.value_size * info.max_entries;
			m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
			if (m == MAP_FAILED)
				return 1;
			sum = fnv(m, len);
			munmap(m, len);
		} else {
			/* key, value, then the next key; a per-CPU map's
			 * value is one 8-byte-aligned copy per CPU */
			if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
			    info.type == BPF_MAP_TYPE_PERCPU_HASH)
				info.value_size = ((info.value_size + 7) & ~7u) *
						  libbpf_num_possible_cpus();
			kv = calloc(1, 2 * info.key_size + info.value_size);
			if (!kv)
				return 1;
			if (!bpf_map_get_next_key(fd, NULL, kv)) {
				do {
					if (bpf_map_lookup_elem(fd, kv, kv + info.key_size))
						return 1;
					sum += fnv(kv, info.key_size + info.value_size);
					memcpy(kv + info.key_size + info.value_size, kv,
					       info.key_size);
				} while (!bpf_map_get_next_key(fd, kv + info.key_size + info.value_size, kv));
			}
			free(kv);
		}
		printf("%s %016llx\n", argv[i], sum);
		close(fd);
	}
	return 0;
}
EOF
	cc -o "$TMP/mapsum" "$TMP/mapsum.c" -lbpf
}

# Struct sizes, in the order sizes() prints them; table limits.
SZ=()
MAX_RULES=0
MAX_RULE_ID=0

setup() {
	local s
	s=($(sizes)) || return 1
	[ ${#s[@]} -eq 8 ] || return 1
	SZ=("${s[@]}")
	read -r MAX_RULES MAX_RULE_ID < <(limits)
	[ "$MAX_RULE_ID" -gt 0 ] 2>/dev/null || return 1
	mapsum_build || return 1
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || return 1
	mkdir -p "$PIN" || return 1
	mkmaps "$BIN/mirror.bpf.o" "$PIN"
}

if [ "$(id -u)" -ne 0 ] || ! command -v bpftool >/dev/null; then
	fail cli_setup "needs root and bpftool"
	exit 1
fi
if [ ! -x "$MC" ] || [ ! -f "$BIN/mirror.bpf.o" ]; then
	fail cli_setup "$MC or $BIN/mirror.bpf.o not built"
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
	# Every table map; counters and the socket map are not tables.
	find "$PIN" -mindepth 1 -maxdepth 1 -type f ! -name '*stats' \
		! -name xsks ! -name dpinfo ! -name qsbr |
		sort | xargs "$TMP/mapsum"
}

# u64s SIZE V...: the values as little-endian __u64 bytes for bpftool,
# zero-filled to SIZE bytes (a counter struct of the current header).
u64s() {
	local size=$1 n=0 v b out=""
	shift
	for v; do
		for b in 0 1 2 3 4 5 6 7; do
			out="$out $(((v >> (8 * b)) & 255))"
		done
		n=$((n + 8))
	done
	for ((; n < size; n++)); do out="$out 0"; done
	echo $out
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
	# Another run of this suite may pin its device meanwhile.
	"$MC" rule show > /dev/null 2>&1 || [ "$(ls "$PINROOT")" != "$DEV" ] ||
		ERRS="$ERRS [auto-select failed]"
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
expect_err "$C" "collector add: unknown encap 'foo' (use vxlan, geneve, gre, erspan2 or erspan3)" \
	$C add c3 remote 192.0.2.5 encap foo
expect_err "$C" "collector add: unknown encap 'erspan'" $C add c3 remote 192.0.2.5 encap erspan
expect_err "$C" "collector add: 'remote' is required" $C add c3 vni 5
expect_err "$C" "collector add: bad address '192.0.2' for 'remote'" $C add c3 remote 192.0.2
expect_err "$C" "collector add: unknown keyword 'remot'" $C add c3 remot 192.0.2.5
expect_err "$C" "collector add: vni '16777216' out of range 0-16777215" $C add c3 remote 192.0.2.5 vni 16777216
expect_err "$C" "collector add: dport '0' out of range 1-65535" $C add c3 remote 192.0.2.5 dport 0
expect_err "$C" "collector add: unknown device 'nosuch$$'" $C add c3 remote 192.0.2.5 dev nosuch$$
expect_err "$C" "collector add: 'vni' needs a value" $C add c3 remote 192.0.2.5 vni
expect_err "$C" "collector add: 'vni' given twice" $C add c3 remote 192.0.2.5 vni 1 vni 2
expect_err "$C" "collector add: 'encap' given twice" $C add c3 remote 192.0.2.5 encap gre encap gre
expect_err "$C" "collector add: 'snaplen' needs a value" $C add c3 remote 192.0.2.5 snaplen
expect_err "$C" "collector del: unknown collector 'nope'" $C del nope
group_done cli_collector_errors

# Ranges of the new keywords; every value is checked whatever the encap.
R4=192.0.2.5
expect_err "$C" "collector add: bad value 'x' for 'vni'" $C add c3 remote $R4 vni x
expect_err "$C" "collector add: dport '65536' out of range 1-65535" $C add c3 remote $R4 dport 65536
expect_err "$C" "collector add: dport '0' out of range 1-65535" $C add c3 remote $R4 encap geneve dport 0
expect_err "$C" "collector add: key '4294967296' out of range 0-4294967295" $C add c3 remote $R4 encap gre key 4294967296
expect_err "$C" "collector add: bad value '-1' for 'key'" $C add c3 remote $R4 encap gre key -1
expect_err "$C" "collector add: bad value 'yes' for 'seq' (use on or off)" $C add c3 remote $R4 encap gre seq yes
expect_err "$C" "collector add: 'seq' needs a value" $C add c3 remote $R4 encap gre seq
expect_err "$C" "collector add: session '1024' out of range 0-1023" $C add c3 remote $R4 encap erspan2 session 1024
expect_err "$C" "collector add: bad value '0x5' for 'session'" $C add c3 remote $R4 encap erspan3 session 0x5
expect_err "$C" "collector add: hwid '64' out of range 0-63" $C add c3 remote $R4 encap erspan3 hwid 64
expect_err "$C" "collector add: dscp '64' out of range 0-63" $C add c3 remote $R4 dscp 64
expect_err "$C" "collector add: ttl '0' out of range 1-255" $C add c3 remote $R4 ttl 0
expect_err "$C" "collector add: ttl '256' out of range 1-255" $C add c3 remote $R4 encap gre ttl 256
expect_err "$C" "collector add: snaplen '63' out of range 64-65535 (0: whole frame)" $C add c3 remote $R4 snaplen 63
expect_err "$C" "collector add: snaplen '1' out of range 64-65535 (0: whole frame)" $C add c3 remote $R4 snaplen 1
expect_err "$C" "collector add: snaplen '65536' out of range 0-65535" $C add c3 remote $R4 snaplen 65536
expect_err "$C" "collector add: 'session' given twice" $C add c3 remote $R4 encap erspan2 session 1 session 1
expect_err "$C" "collector add: unknown keyword 'sesion'" $C add c3 remote $R4 encap erspan2 sesion 1
group_done cli_collector_ranges

# An option of another encap names itself and the encap, wherever encap
# is on the line; the default encap is vxlan.
na() { # keyword encap ARGS...
	local kw=$1 e=$2
	shift 2
	expect_err "$C" "collector add: '$kw' does not apply to encap $e" $C add c3 remote $R4 "$@"
}
na key vxlan key 1
na seq vxlan seq on
na session vxlan session 1
na hwid vxlan hwid 1
na key geneve key 1 encap geneve
na session geneve encap geneve session 3
na hwid geneve hwid 1 encap geneve
na vni gre encap gre vni 5
na dport gre dport 4789 encap gre
na session gre encap gre session 1
na hwid gre encap gre hwid 1
na vni erspan2 vni 5 encap erspan2
na dport erspan2 encap erspan2 dport 4789
na key erspan2 encap erspan2 key 1
na seq erspan2 encap erspan2 seq on
na hwid erspan2 hwid 1 encap erspan2
na vni erspan3 encap erspan3 vni 1
na dport erspan3 dport 1 encap erspan3
na key erspan3 key 7 encap erspan3
na seq erspan3 encap erspan3 seq off
# The first misplaced keyword of the line is the one named.
na dport erspan3 dport 1 key 7 encap erspan3
group_done cli_collector_not_applicable

# Addresses: either family, local of remote's, never an address no
# tunnel can end at.
expect_err "$C" "collector add: local '2001:db8::2' is IPv6 but remote '192.0.2.5' is IPv4" \
	$C add c3 remote $R4 local 2001:db8::2
expect_err "$C" "collector add: local '192.0.2.9' is IPv4 but remote '2001:db8::1' is IPv6" \
	$C add c3 local 192.0.2.9 remote 2001:db8::1 encap gre
expect_err "$C" "collector add: bad address '2001:db8::g' for 'remote'" $C add c3 remote 2001:db8::g
expect_err "$C" "collector add: bad address '192.0.2.1/32' for 'local'" $C add c3 remote $R4 local 192.0.2.1/32
expect_err "$C" "collector add: remote '0.0.0.0' is unspecified" $C add c3 remote 0.0.0.0
expect_err "$C" "collector add: remote '::' is unspecified" $C add c3 remote ::
expect_err "$C" "collector add: remote '224.0.0.1' is multicast" $C add c3 remote 224.0.0.1
expect_err "$C" "collector add: remote '239.255.255.255' is multicast" $C add c3 remote 239.255.255.255
expect_err "$C" "collector add: remote 'ff02::1' is multicast" $C add c3 remote ff02::1 encap geneve
expect_err "$C" "collector add: remote '255.255.255.255' is the broadcast address" $C add c3 remote 255.255.255.255
expect_err "$C" "collector add: remote '::ffff:192.0.2.1' is IPv4-mapped (give the IPv4 address)" \
	$C add c3 remote ::ffff:192.0.2.1
expect_err "$C" "collector add: local 'ff05::2' is multicast" $C add c3 remote 2001:db8::1 local ff05::2
expect_err "$C" "collector add: local '0.0.0.0' is unspecified" $C add c3 remote $R4 local 0.0.0.0
group_done cli_collector_addresses

# ---- every encap, both families: show, -j, round trip through -batch ------

ERRS=""
E4=192.0.2
E6=2001:db8:
while read -r line; do
	# shellcheck disable=SC2086
	mc collector add $line || ERRS="$ERRS [add $line]"
done <<EOF
e_vx4 remote $E4.10
e_vx6 remote $E6:10 local $E6:1 encap vxlan vni 16777215 dport 1 dscp 63 ttl 255 snaplen 65535
e_gnv4 remote $E4.11 encap geneve
e_gnv6 vni 9 dport 65535 ttl 1 snaplen 64 remote $E6:11 encap geneve
e_gre4 remote $E4.12 encap gre
e_gre4k remote $E4.13 local $E4.1 encap gre key 4294967295 seq on dscp 10
e_gre6 remote $E6:12 encap gre key 0 seq off ttl 64 snaplen 0 dscp 0
e_gre6s seq on encap gre remote $E6:13
e_es2_4 remote $E4.14 encap erspan2
e_es2_6 remote $E6:14 encap erspan2 session 1023 dscp 46 dev lo
e_es3_4 session 5 hwid 63 snaplen 128 remote $E4.15 encap erspan3
e_es3_6 remote $E6:15 local $E6:2 encap erspan3
EOF
want="collector add c1 remote 192.0.2.1 encap vxlan vni 0 dport 4789  # id 0
collector add c2 remote 192.0.2.2 local 192.0.2.9 encap vxlan vni 77 dport 8472 dev lo  # id 1
collector add e_vx4 remote $E4.10 encap vxlan vni 0 dport 4789  # id 2
collector add e_vx6 remote $E6:10 local $E6:1 encap vxlan vni 16777215 dport 1 dscp 63 ttl 255 snaplen 65535  # id 3
collector add e_gnv4 remote $E4.11 encap geneve vni 0 dport 6081  # id 4
collector add e_gnv6 remote $E6:11 encap geneve vni 9 dport 65535 ttl 1 snaplen 64  # id 5
collector add e_gre4 remote $E4.12 encap gre  # id 6
collector add e_gre4k remote $E4.13 local $E4.1 encap gre key 4294967295 seq on dscp 10  # id 7
collector add e_gre6 remote $E6:12 encap gre key 0  # id 8
collector add e_gre6s remote $E6:13 encap gre seq on  # id 9
collector add e_es2_4 remote $E4.14 encap erspan2 session 0  # id 10
collector add e_es2_6 remote $E6:14 encap erspan2 session 1023 dscp 46 dev lo  # id 11
collector add e_es3_4 remote $E4.15 encap erspan3 session 5 hwid 63 snaplen 128  # id 12
collector add e_es3_6 remote $E6:15 local $E6:2 encap erspan3 session 0 hwid 0  # id 13"
got=$(mc collector show)
[ "$got" = "$want" ] || ERRS="$ERRS [show: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')]"
mc -j collector show > "$TMP/coll.json"
$PY - "$TMP/coll.json" <<'PYEOF' 2> "$TMP/err" || ERRS="$ERRS [-j: $(tail -1 "$TMP/err")]"
import json, sys
c = {x["name"]: x for x in json.load(open(sys.argv[1]))}
base = {"id", "name", "family", "encap", "remote", "dscp", "ttl", "snaplen"}
only = {"vxlan": {"vni", "dport"}, "geneve": {"vni", "dport"}, "gre": {"seq"},
        "erspan2": {"session"}, "erspan3": {"session", "hwid"}}
for n, x in c.items():
    extra = set(x) - base - only[x["encap"]]
    assert extra <= {"local", "key", "ifindex", "dev"}, (n, extra)
    assert only[x["encap"]] <= set(x), (n, x)
v = c["e_vx6"]
assert (v["family"], v["local"], v["vni"], v["dport"], v["dscp"], v["ttl"], v["snaplen"]) == \
    (6, "2001:db8::1", 16777215, 1, 63, 255, 65535), v
g = c["e_gnv4"]
assert (g["vni"], g["dport"], g["ttl"], g["snaplen"], g["family"]) == (0, 6081, 64, 0, 4), g
g = c["e_gre4k"]
assert (g["key"], g["seq"], g["dscp"], g["local"]) == (4294967295, True, 10, "192.0.2.1"), g
g = c["e_gre4"]
assert "key" not in g and g["seq"] is False, g
assert c["e_gre6"]["key"] == 0 and c["e_gre6"]["ttl"] == 64, c["e_gre6"]
e = c["e_es2_6"]
assert (e["session"], e["dscp"], e["dev"], e["remote"]) == (1023, 46, "lo", "2001:db8::14"), e
e = c["e_es3_4"]
assert (e["session"], e["hwid"], e["snaplen"]) == (5, 63, 128), e
assert c["e_es3_6"]["hwid"] == 0 and c["e_es3_6"]["local"] == "2001:db8::2", c["e_es3_6"]
PYEOF
group_done cli_collector_encaps

ERRS=""
mc collector show > "$TMP/colls"
mc -j collector show > "$TMP/colls.json"
names=$($PY -c 'import json,sys; print(*[c["name"] for c in json.load(open(sys.argv[1]))])' "$TMP/colls.json")
for n in $names; do
	echo "collector del $n"
done > "$TMP/colls.del"
"$MC" -d "$DEV" -batch "$TMP/colls.del" || ERRS="$ERRS [delete all failed]"
[ -z "$(mc collector show)" ] || ERRS="$ERRS [not empty after deleting]"
"$MC" -d "$DEV" -batch "$TMP/colls" || ERRS="$ERRS [batch of show output failed]"
mc collector show > "$TMP/colls2"
cmp -s "$TMP/colls" "$TMP/colls2" ||
	ERRS="$ERRS [show differs: $(diff "$TMP/colls" "$TMP/colls2" | tr '\n' ' ')]"
mc -j collector show > "$TMP/colls2.json"
cmp -s "$TMP/colls.json" "$TMP/colls2.json" || ERRS="$ERRS [-j differs]"
# Back to c1 and c2 only for what follows.
for n in $names; do
	case $n in e_*) echo "collector del $n" ;; esac
done > "$TMP/colls.del"
"$MC" -d "$DEV" -batch "$TMP/colls.del" || ERRS="$ERRS [delete e_* failed]"
[ "$(mc collector show | wc -l)" = 2 ] || ERRS="$ERRS [not back to two collectors]"
group_done cli_collector_encaps_roundtrip

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
expect_err "$R" "mirrorctl: rule del: no rule with id 999" $R del 999
expect_err "$R" "mirrorctl: rule del: id '0' out of range 1-$((MAX_RULE_ID - 1))" $R del 0
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
{ for ((i = have; i < MAX_RULES; i++)); do echo "rule add prio $((i % 7)) collector c1"; done; } > "$TMP/fill"
"$MC" -d "$DEV" -batch "$TMP/fill" || ERRS="$ERRS [fill failed]"
[ "$(mc rule show | wc -l)" = "$MAX_RULES" ] || ERRS="$ERRS [not $MAX_RULES rules]"
expect_err limits "mirrorctl: rule add: rule table full ($MAX_RULES rules)" rule add collector c1
# Sorted by (prio, id) across the whole table.
mc -j rule show | $PY -c '
import json, sys
r = json.load(sys.stdin)
k = [(x["prio"], x["id"]) for x in r]
assert k == sorted(k) and len(set(x["id"] for x in r)) == int(sys.argv[1])' "$MAX_RULES" ||
	ERRS="$ERRS [full table order]"
group_done cli_rule_table_full

# Back to a small table for the stats checks.
mc -j rule show | $PY -c 'import json,sys; [print("rule del", r["id"]) for r in json.load(sys.stdin)]' > "$TMP/clear"
"$MC" -d "$DEV" -batch "$TMP/clear" || fail cli_clear "batch delete of all rules failed"

# ---- stats and status ----------------------------------------------------------

ERRS=""
ncpu=$(bpftool -j map lookup pinned "$PIN/dev_stats" key 0 0 0 0 | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["values"]))')
# bpftool writes the same value to every CPU of a per-CPU map.
bpftool map update pinned "$PIN/dev_stats" key 0 0 0 0 value $(u64s ${SZ[3]} $(printf '3 %.0s' $(seq $((SZ[3] / 8)))))
# Counters left by an earlier rule with id 1 must not show on the new one.
bpftool map update pinned "$PIN/rule_stats" key 1 0 0 0 value $(u64s ${SZ[4]} 9 9)
mc rule add collector c1 || ERRS="$ERRS [rule add]"
# dpinfo: pid 0, ifindex 1, tx 1, queues 2, zerocopy 0, ready 1, the
# rest (datapath auto, ...) 0.
bpftool map update pinned "$PIN/dpinfo" key 0 0 0 0 value 0 0 0 0 1 0 0 0 1 0 0 0 2 0 0 0 0 0 0 0 1 0 0 0 \
	$(printf '0 %.0s' $(seq $((SZ[7] - 24))))
# coll_stats rows of workers 0 and 1 for collector 0 (c1): sent 5 and 6,
# of which truncated to the snaplen 1 + 2 and to the MTU 3; 2 dropped.
bpftool map update pinned "$PIN/coll_stats" key 0 0 0 0 value $(u64s ${SZ[5]} 5 0 0 0 0 0 1 0)
bpftool map update pinned "$PIN/coll_stats" key 64 0 0 0 value $(u64s ${SZ[5]} 6 0 2 0 0 0 2 3)
# Worker 1: rx 4, then the socket's XDP_STATISTICS 7 8 9 10 11.
bpftool map update pinned "$PIN/worker_stats" key 1 0 0 0 value $(u64s ${SZ[6]} 4 0 0 0 0 0 7 8 9 10 11)
mc stats -j > "$TMP/stats.json" || ERRS="$ERRS [stats -j failed]"
$PY -m json.tool "$TMP/stats.json" > /dev/null || ERRS="$ERRS [stats -j is not JSON]"
$PY - "$TMP/stats.json" "$DEV" "$ncpu" <<'EOF' 2> "$TMP/err" || ERRS="$ERRS [stats values: $(tail -1 "$TMP/err")]"
import json, sys
s = json.load(open(sys.argv[1]))
ncpu = int(sys.argv[3])
assert s["dev"] == sys.argv[2], s["dev"]
d = s["device"]
names = ["rx", "rx_bytes", "matched", "matched_bytes", "not_matched",
         "passed", "malformed", "to_xsk", "xsk_missing", "meta_fail",
         "neigh_passed", "skipped", "sampled_out", "to_fast", "fast_fallback",
         "fast_xmit_err"]
assert list(d)[:len(names)] == names, list(d)
assert all(d[k] == 3 * ncpu for k in names), d
assert s["rules"] == [{"id": 1, "packets": 0, "bytes": 0}], s["rules"]
c = s["collectors"]
assert [x["name"] for x in c] == ["c1", "c2", "c9"], c
assert c[0]["sent"] == 11 and c[0]["drop_no_neigh"] == 2 and c[0]["drop_no_collector"] == 0, c[0]
cf = ["sent", "sent_bytes", "drop_no_neigh", "drop_tx_full",
      "drop_no_frame", "drop_no_collector", "truncated_snap", "truncated_mtu"]
assert list(c[0]) == ["id", "name"] + cf + ["afxdp", "xdp"], list(c[0])
# The workers' rows are the AF_XDP path; the XDP fast path made none.
assert all(c[0]["afxdp"][k] == c[0][k] and c[0]["xdp"][k] == 0 for k in cf), c[0]
assert c[0]["truncated_snap"] == 3 and c[0]["truncated_mtu"] == 3, c[0]
w = s["workers"]
assert [x["id"] for x in w] == [0, 1] and w[1]["rx"] == 4 and w[0]["rx"] == 0, w
assert list(w[1]) == ["id", "rx", "rx_bytes", "bad_meta", "tx_completed", "fill_short",
                      "wakeups", "xsk_rx_dropped", "xsk_rx_ring_full", "xsk_fill_empty",
                      "xsk_rx_invalid", "xsk_tx_invalid"], list(w[1])
assert [w[1][k] for k in list(w[1])[7:]] == [7, 8, 9, 10, 11], w[1]
assert all(v == 0 for k, v in w[0].items() if k != "id"), w[0]
EOF
mc stats > "$TMP/stats.txt" || ERRS="$ERRS [stats failed]"
grep -qE '^  rx +'$((3 * ncpu))'$' "$TMP/stats.txt" || ERRS="$ERRS [stats text: no rx line]"
grep -qE '^  0:c1 +11 +0 +2( +0){3} +3 +3$' "$TMP/stats.txt" || ERRS="$ERRS [stats text: no c1 row]"
grep -qF "collectors (copies = sent + drop_*; truncated_* are part of sent)" "$TMP/stats.txt" ||
	ERRS="$ERRS [stats text: no collector identity]"
grep -qE '^  id +xsk_rx_dropped +xsk_rx_ring_full +xsk_fill_empty +xsk_rx_invalid +xsk_tx_invalid$' "$TMP/stats.txt" ||
	ERRS="$ERRS [stats text: no socket table head]"
grep -qE '^  1 +7 +8 +9 +10 +11$' "$TMP/stats.txt" || ERRS="$ERRS [stats text: no socket row of worker 1]"
grep -qE '^  1 +4( +0){5}$' "$TMP/stats.txt" || ERRS="$ERRS [stats text: no worker 1 row]"
"$MC" -j -d "$DEV" status | $PY -c '
import json, sys
s = json.load(sys.stdin)
assert s["queues"] == 2 and s["ready"] is True and s["mode"] == "copy", s
assert s["datapath"] == "auto" and s["tx_xdp_xmit"] is False, s
assert s["collectors"][0] == {"id": 0, "name": "c1", "remote": "192.0.2.1", "path": "afxdp",
                              "path_why": "next hop not resolved"}, s' 2> "$TMP/err" ||
	ERRS="$ERRS [status -j: $(tail -1 "$TMP/err")]"
mc status > "$TMP/status.txt" || ERRS="$ERRS [status failed]"
grep -qF "queues 2, mode copy, ready yes" "$TMP/status.txt" || ERRS="$ERRS [status text: $(head -1 "$TMP/status.txt")]"
grep -qxF "collector 0 c1 remote 192.0.2.1 path afxdp (next hop not resolved)" "$TMP/status.txt" ||
	ERRS="$ERRS [status text: no collector line]"
group_done cli_stats_status

# ---- rule syntax: actions, the newer match fields, filters, sampling ---------
#
# Last in the file, so the groups above keep their rule ids.  Collectors
# c1, c2 and c9 exist here.

clear_rules() {
	mc -j rule show | $PY -c 'import json,sys; [print("rule del", r["id"]) for r in json.load(sys.stdin)]' > "$TMP/clear"
	"$MC" -d "$DEV" -batch "$TMP/clear"
}
noid() { sed 's/  # id [0-9]*$//'; }

ERRS=""
clear_rules || ERRS="$ERRS [clear]"
LONG_OK="tcp$(printf '%252s' '')"	# 255 characters
while read -r line; do
	eval "mc rule add $line" || ERRS="$ERRS [add $line]"
done <<'EOF'
prio 10 action skip src 10.0.0.0/8 vlan 7 inner-vlan 5 iif lo dir in dscp 46 tcp-flags syn/syn,ack
snaplen 128 sample 100 dir out collector c1,c2 prio 20
prio 30 inner-vlan 0 collector c2
prio 40 dir both proto udp collector c2
prio 50 tcp-flags none/rst collector c2
prio 60 tcp-flags fin,syn,rst,psh,ack,urg,ece,cwr proto tcp sample 1 collector c1
prio 70 tcp-flags ack,syn/cwr,syn,ack collector c1
prio 80 action mirror dscp 0 collector c9
prio 90 action skip dir out
prio 95 iif lo dst 2001:db8::/32 dscp 63 sample 2147483648 snaplen 65535 collector c9
prio 96 snaplen 64 inner-vlan 4095 sample 2 collector c1
prio 100 filter 'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0 and not (host 10.0.0.1 or port 53)' collector c1
prio 110 filter $'udp\tport 53' action skip
prio 120 src 10.1.0.0/16 filter 'vlan 7 and (ip or ip6)' sample 10 collector c2
prio 130 filter 'tcp port 80' collector c1
prio 131 filter 'tcp port 80' collector c2
prio 140 filter "$LONG_OK" collector c1
EOF
want="rule add prio 10 action skip src 10.0.0.0/8 proto tcp vlan 7 inner-vlan 5 iif lo dir in dscp 46 tcp-flags syn/syn,ack
rule add prio 20 dir out sample 100 snaplen 128 collector c1,c2
rule add prio 30 inner-vlan 0 collector c2
rule add prio 40 proto udp collector c2
rule add prio 50 proto tcp tcp-flags none/rst collector c2
rule add prio 60 proto tcp tcp-flags fin,syn,rst,psh,ack,urg,ece,cwr collector c1
rule add prio 70 proto tcp tcp-flags syn,ack/syn,ack,cwr collector c1
rule add prio 80 dscp 0 collector c9
rule add prio 90 action skip dir out
rule add prio 95 dst 2001:db8::/32 iif lo dscp 63 sample 2147483648 snaplen 65535 collector c9
rule add prio 96 inner-vlan 4095 sample 2 snaplen 64 collector c1
rule add prio 100 filter 'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0 and not (host 10.0.0.1 or port 53)' collector c1
rule add prio 110 action skip filter 'udp	port 53'
rule add prio 120 src 10.1.0.0/16 filter 'vlan 7 and (ip or ip6)' sample 10 collector c2
rule add prio 130 filter 'tcp port 80' collector c1
rule add prio 131 filter 'tcp port 80' collector c2
rule add prio 140 filter '$LONG_OK' collector c1"
got=$(mc rule show | noid)
[ "$got" = "$want" ] || ERRS="$ERRS [show: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')]"
mc -j rule show > "$TMP/rules.json"
$PY - "$TMP/rules.json" "$LONG_OK" <<'PYEOF' 2> "$TMP/err" || ERRS="$ERRS [-j: $(tail -1 "$TMP/err")]"
import json, sys
r = {x["prio"]: x for x in json.load(open(sys.argv[1]))}
x = r[10]
assert (x["action"], x["proto"], x["vlan"], x["inner-vlan"], x["iif"], x["ifindex"],
        x["dir"], x["dscp"], x["tcp-flags"], x["tcp_flags"], x["tcp_mask"],
        x["collectors"], x["coll_mask"]) == \
    ("skip", 6, 7, 5, "lo", 1, "in", 46, "syn/syn,ack", 2, 18, [], 0), x
x = r[20]
assert (x["action"], x["dir"], x["sample"], x["snaplen"], x["collectors"]) == \
    ("mirror", "out", 100, 128, ["c1", "c2"]), x
assert r[30]["inner-vlan"] == 0 and "vlan" not in r[30], r[30]
assert "dir" not in r[40] and r[40]["proto"] == 17, r[40]
assert (r[50]["tcp-flags"], r[50]["tcp_flags"], r[50]["tcp_mask"], r[50]["proto"]) == \
    ("none/rst", 0, 4, 6), r[50]
assert r[60]["tcp_flags"] == r[60]["tcp_mask"] == 255 and r[60]["sample"] == 1, r[60]
assert r[70]["tcp-flags"] == "syn,ack/syn,ack,cwr", r[70]
assert r[80]["dscp"] == 0 and r[80]["action"] == "mirror", r[80]
for p in (10, 20, 30, 40, 50, 60, 70, 80, 90):
    assert "filter" not in r[p] and "filter_slot" not in r[p], r[p]
    assert r[p]["snaplen"] == (128 if p == 20 else 0), r[p]
assert (r[95]["sample"], r[95]["snaplen"], r[95]["dst"], r[95]["family"]) == \
    (2147483648, 65535, "2001:db8::/32", 6), r[95]
assert r[100]["filter"] == "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0 and not (host 10.0.0.1 or port 53)", r[100]
assert r[110]["filter"] == "udp\tport 53" and r[110]["action"] == "skip", r[110]
assert r[120]["filter"] == "vlan 7 and (ip or ip6)" and r[120]["src"] == "10.1.0.0/16", r[120]
assert r[140]["filter"] == sys.argv[2] and len(sys.argv[2]) == 255, r[140]
slots = {p: r[p]["filter_slot"] for p in (100, 110, 120, 130, 131, 140)}
# One program per distinct expression.
assert slots[130] == slots[131] and len(set(slots.values())) == 5, slots
PYEOF
group_done cli_rule_fields

# Bad values of every keyword: the token is named, nothing changes.
R=rule
expect_err "$R" "mirrorctl: rule add: bad value 'drop' for 'action' (use mirror or skip)" $R add action drop collector c1
expect_err "$R" "mirrorctl: rule add: 'action' needs a value" $R add collector c1 action
expect_err "$R" "mirrorctl: rule add: 'action' given twice" $R add action skip action skip
expect_err "$R" "mirrorctl: rule add: inner-vlan '4096' out of range 0-4095" $R add inner-vlan 4096 collector c1
expect_err "$R" "mirrorctl: rule add: bad value 'x' for 'inner-vlan'" $R add inner-vlan x collector c1
expect_err "$R" "mirrorctl: rule add: bad value '-1' for 'inner-vlan'" $R add inner-vlan -1 collector c1
expect_err "$R" "mirrorctl: rule add: unknown keyword 'inner_vlan'" $R add inner_vlan 1 collector c1
expect_err "$R" "mirrorctl: rule add: unknown device 'nosuch$$'" $R add iif nosuch$$ collector c1
expect_err "$R" "mirrorctl: rule add: bad device name 'abcdefghijklmnopq'" $R add iif abcdefghijklmnopq collector c1
expect_err "$R" "mirrorctl: rule add: unknown device 'ifindex:1'" $R add iif ifindex:1 collector c1
expect_err "$R" "mirrorctl: rule add: bad value 'sideways' for 'dir' (use in, out or both)" $R add dir sideways collector c1
expect_err "$R" "mirrorctl: rule add: bad value 'IN' for 'dir' (use in, out or both)" $R add dir IN collector c1
expect_err "$R" "mirrorctl: rule add: 'dir' given twice" $R add dir in dir out collector c1
expect_err "$R" "mirrorctl: rule add: dscp '64' out of range 0-63" $R add dscp 64 collector c1
expect_err "$R" "mirrorctl: rule add: bad value '0x10' for 'dscp'" $R add dscp 0x10 collector c1
expect_err "$R" "mirrorctl: rule add: sample '0' out of range 1-2147483648" $R add sample 0 collector c1
expect_err "$R" "mirrorctl: rule add: sample '2147483649' out of range 1-2147483648" $R add sample 2147483649 collector c1
expect_err "$R" "mirrorctl: rule add: sample '99999999999999999999' out of range 1-2147483648" $R add sample 99999999999999999999 collector c1
expect_err "$R" "mirrorctl: rule add: bad value '1/2' for 'sample'" $R add sample 1/2 collector c1
expect_err "$R" "mirrorctl: rule add: snaplen '63' out of range 64-65535" $R add snaplen 63 collector c1
expect_err "$R" "mirrorctl: rule add: snaplen '0' out of range 64-65535" $R add snaplen 0 collector c1
expect_err "$R" "mirrorctl: rule add: snaplen '65536' out of range 64-65535" $R add snaplen 65536 collector c1
expect_err "$R" "mirrorctl: rule add: 'snaplen' needs a value" $R add collector c1 snaplen
group_done cli_rule_fields_errors

T=tcp_flags
expect_err "$T" "mirrorctl: rule add: unknown tcp flag 'foo' in 'syn,foo' (use fin, syn, rst, psh, ack, urg, ece or cwr)" \
	$R add tcp-flags syn,foo collector c1
expect_err "$T" "mirrorctl: rule add: unknown tcp flag 'SYN' in 'SYN'" $R add tcp-flags SYN collector c1
expect_err "$T" "mirrorctl: rule add: unknown tcp flag 'ack/rst' in 'syn/ack/rst'" $R add tcp-flags syn/ack/rst collector c1
expect_err "$T" "mirrorctl: rule add: unknown tcp flag 'none' in 'syn/none'" $R add tcp-flags syn/none collector c1
expect_err "$T" "mirrorctl: rule add: tcp flag 'syn' given twice in 'syn,ack,syn'" $R add tcp-flags syn,ack,syn collector c1
expect_err "$T" "mirrorctl: rule add: tcp flag 'ack' given twice in 'syn/ack,ack'" $R add tcp-flags syn/ack,ack collector c1
expect_err "$T" "mirrorctl: rule add: bad tcp-flags 'syn,'" $R add tcp-flags syn, collector c1
expect_err "$T" "mirrorctl: rule add: bad tcp-flags 'syn/'" $R add tcp-flags syn/ collector c1
expect_err "$T" "mirrorctl: rule add: bad tcp-flags '/syn'" $R add tcp-flags /syn collector c1
expect_err "$T" "mirrorctl: rule add: bad tcp-flags ''" $R add tcp-flags '' collector c1
expect_err "$T" "mirrorctl: rule add: tcp-flags 'none' without a mask matches every frame (use none/MASK)" \
	$R add tcp-flags none collector c1
expect_err "$T" "mirrorctl: rule add: tcp-flags 'syn,ack/syn': flag 'ack' is not in the mask" \
	$R add tcp-flags syn,ack/syn collector c1
expect_err "$T" "mirrorctl: rule add: tcp-flags 'fin,rst/ack': flag 'fin' is not in the mask" \
	$R add tcp-flags fin,rst/ack collector c1
# Implied proto tcp: another proto is refused whichever comes first.
expect_err "$T" "mirrorctl: rule add: 'tcp-flags' needs proto tcp, not 'udp'" $R add proto udp tcp-flags syn collector c1
expect_err "$T" "mirrorctl: rule add: 'tcp-flags' needs proto tcp, not '17'" $R add tcp-flags syn proto 17 collector c1
expect_err "$T" "mirrorctl: rule add: 'tcp-flags' needs proto tcp, not 'icmp'" $R add tcp-flags rst action skip proto icmp
group_done cli_rule_tcp_flags_errors

# action skip sends no copy: collector, sample and snaplen are refused,
# the first of them on the line named; mirror still needs a collector.
S=skip
expect_err "$S" "mirrorctl: rule add: 'collector' does not apply to action skip" $R add action skip collector c1
expect_err "$S" "mirrorctl: rule add: 'collector' does not apply to action skip" $R add collector c1 snaplen 64 action skip
expect_err "$S" "mirrorctl: rule add: 'snaplen' does not apply to action skip" $R add action skip snaplen 64 collector c1
expect_err "$S" "mirrorctl: rule add: 'sample' does not apply to action skip" $R add sample 2 action skip
expect_err "$S" "mirrorctl: rule add: 'sample' does not apply to action skip" $R add action skip sample 1
expect_err "$S" "mirrorctl: rule add: 'collector' is required" $R add action mirror dscp 1
expect_err "$S" "mirrorctl: rule add: 'collector' is required" $R add sample 5
group_done cli_rule_skip_errors

F=filter
expect_err "$F" "mirrorctl: rule add: filter 'tcp port': " $R add filter 'tcp port' collector c1
expect_err "$F" "mirrorctl: rule add: filter 'port 99999': " $R add filter 'port 99999' collector c1
expect_err "$F" "mirrorctl: rule add: empty filter expression" $R add filter '' collector c1
expect_err "$F" "mirrorctl: rule add: empty filter expression" $R add filter ' 	 ' collector c1
expect_err "$F" "mirrorctl: rule add: filter expression longer than 255 characters" $R add filter "$LONG_OK " collector c1
expect_err "$F" "port 80': control character 0x0a" $R add filter $'tcp\nport 80' collector c1
expect_err "$F" "mirrorctl: rule add: 'filter' needs a value" $R add collector c1 filter
expect_err "$F" "mirrorctl: rule add: 'filter' given twice" $R add filter tcp filter udp collector c1
# Compiled before the tables are looked at: a bad filter wins over an
# unknown collector.
expect_err "$F" "mirrorctl: rule add: filter 'tcp port': " $R add collector nope filter 'tcp port'
group_done cli_rule_filter_errors

# Quotes in a batch file: either kind groups; a bad line after a filter
# rule leaves everything as it was (the filters map included).
ERRS=""
cat > "$TMP/fb" <<'EOF'
rule add prio 200 filter "udp and port 53" collector c1
rule add prio 201 filter 'icmp or icmp6' action skip   # a comment
rule add prio 202 filter 'ip'"6 and tcp" collector c2
EOF
"$MC" -d "$DEV" -batch "$TMP/fb" || ERRS="$ERRS [batch with filters failed]"
got=$(mc rule show | noid | grep -E '^rule add prio 20[0-2] ')
want="rule add prio 200 filter 'udp and port 53' collector c1
rule add prio 201 action skip filter 'icmp or icmp6'
rule add prio 202 filter 'ip6 and tcp' collector c2"
[ "$got" = "$want" ] || ERRS="$ERRS [show: '$got']"
group_done cli_rule_filter_batch

printf "rule add prio 210 filter 'tcp port 4242' collector c1\nrule add collector nope\n" > "$TMP/fbad"
expect_err filter_batch_bad "mirrorctl: $TMP/fbad:2: rule add: unknown collector 'nope'" -batch "$TMP/fbad"
printf "rule add prio 211 filter 'tcp port 4343' collector c1\nrule add filter 'tcp port' collector c1\n" > "$TMP/fbad2"
expect_err filter_batch_bad "mirrorctl: $TMP/fbad2:2: rule add: filter 'tcp port': " -batch "$TMP/fbad2"
group_done cli_rule_filter_batch_errors

# Round trip: what show prints, fed back through -batch, is the same
# table again (ids aside: they are handed out anew).
ERRS=""
mc rule show > "$TMP/rt"
mc -j rule show > "$TMP/rt.json"
clear_rules || ERRS="$ERRS [clear]"
[ -z "$(mc rule show)" ] || ERRS="$ERRS [not empty after deleting]"
"$MC" -d "$DEV" -batch "$TMP/rt" || ERRS="$ERRS [batch of show output failed]"
mc rule show > "$TMP/rt2"
cmp -s <(noid < "$TMP/rt") <(noid < "$TMP/rt2") ||
	ERRS="$ERRS [show differs: $(diff <(noid < "$TMP/rt") <(noid < "$TMP/rt2") | tr '\n' ' ')]"
mc -j rule show > "$TMP/rt2.json"
$PY - "$TMP/rt.json" "$TMP/rt2.json" <<'PYEOF' 2> "$TMP/err" || ERRS="$ERRS [-j differs: $(tail -1 "$TMP/err")]"
import json, sys
def norm(f):
    return [{k: v for k, v in r.items() if k not in ("id", "filter_slot")}
            for r in json.load(open(f))]
a, b = norm(sys.argv[1]), norm(sys.argv[2])
assert len(a) == 20 and a == b, (len(a), [x for x in zip(a, b) if x[0] != x[1]][:1])
PYEOF
group_done cli_rule_fields_roundtrip

clear_rules || fail cli_rule_clear "batch delete of all rules failed"

if [ $FAILED -ne 0 ]; then
	exit 1
fi
exit 0

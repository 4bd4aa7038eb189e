#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_encap_tshark.sh - the encapsulation templates checked by an
# independent decoder.  `test_encap --pcap FILE` writes one frame per
# (encap, outer family, GRE key/seq variant, inner frame: plain, VLAN
# tagged, truncated), each an outer header from include/xm_encap.h plus
# a real inner Ethernet/IPv4/UDP frame, and prints a table: a "#fields"
# line naming tshark fields, then per frame its name and the value every
# field must decode to (computed from the inputs, not from the bytes).
# tshark decodes the pcap with IPv4 and UDP checksum validation on and
# every field is compared.
#
# Table values: one per occurrence, comma-separated, outer header first
# ("192.0.2.1,10.1.0.1" is the outer then the inner ip.src); "*" matches
# anything (alone or as one element); an empty value means the field
# must be absent.
#
# Output: one `PASS tshark_<frame>` / `FAIL tshark_<frame>: why` line per
# frame, plus setup checks; exit status non-zero when any failed.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${XM_BIN:-$ROOT/build}
TMP=$(mktemp -d /tmp/xm_encap.XXXXXX)
FAILED=0

cleanup() {
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILED=1; }

if ! command -v tshark >/dev/null 2>&1; then
	fail tshark_present "tshark not installed (make deps)"
	exit 1
fi
if [ ! -x "$BIN/test_encap" ]; then
	fail tshark_pcap_written "$BIN/test_encap not built (make test-bins)"
	exit 1
fi

if ! "$BIN/test_encap" --pcap "$TMP/encap.pcap" >"$TMP/expect" 2>"$TMP/gen.err"; then
	fail tshark_pcap_written "test_encap --pcap failed: $(head -c 300 "$TMP/gen.err")"
	exit 1
fi
nframes=$(grep -vc '^#' "$TMP/expect")
if [ "$nframes" -lt 1 ] || ! head -1 "$TMP/expect" | grep -q '^#fields'; then
	fail tshark_pcap_written "no frames or no #fields line in the table"
	exit 1
fi
pass tshark_pcap_written

# -e for every field of the table header.
fields=()
for f in $(head -1 "$TMP/expect" | cut -f2-); do
	fields+=(-e "$f")
done

# A private configuration directory: no personal preferences or
# decode-as entries of whoever runs the tests.
if ! HOME=$TMP XDG_CONFIG_HOME=$TMP tshark -n -r "$TMP/encap.pcap" \
	-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
	-T fields -E separator=/t -E occurrence=a -E aggregator=, \
	"${fields[@]}" >"$TMP/got" 2>"$TMP/tshark.err"; then
	fail tshark_decode "tshark failed: $(grep -v 'Running as user' "$TMP/tshark.err" | head -c 300)"
	exit 1
fi
ngot=$(wc -l <"$TMP/got")
if [ "$ngot" -ne "$nframes" ]; then
	fail tshark_decode "tshark decoded $ngot frames, the pcap has $nframes"
	exit 1
fi
pass tshark_decode

# Frame n of the table against line n of tshark's output.
grep -v '^#' "$TMP/expect" | paste - "$TMP/got" |
awk -F'\t' -v hdr="$(head -1 "$TMP/expect")" '
function match1(want, got,    nw, ng, w, g, i) {
	if (want == "*")
		return 1
	nw = split(want, w, ",")
	ng = split(got, g, ",")
	if (nw != ng)
		return 0
	for (i = 1; i <= nw; i++)
		if (w[i] != "*" && w[i] != g[i])
			return 0
	return 1
}
BEGIN {
	nf = split(hdr, name, "\t") - 1	# name[2..] are the fields
}
{
	frame = $1
	why = ""
	nbad = 0
	for (i = 1; i <= nf; i++) {
		want = $(1 + i)
		got = $(1 + nf + i)
		if (match1(want, got))
			continue
		if (nbad++ < 3)
			why = why (why == "" ? "" : "; ") name[i + 1] \
			      " is \"" got "\", want \"" want "\""
	}
	if (nbad == 0)
		print "PASS tshark_" frame
	else
		print "FAIL tshark_" frame ": " why \
		      (nbad > 3 ? " (and " nbad - 3 " more)" : "")
}' >"$TMP/result"
cat "$TMP/result"
if [ "$(grep -c '^PASS ' "$TMP/result")" -ne "$nframes" ]; then
	FAILED=1
fi

exit $FAILED

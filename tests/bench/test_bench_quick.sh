#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Keeps the benchmark harness working: runs `bench.py --quick` (what
# `make bench-quick` runs) against $XM_BIN and checks that its JSON has
# every system with sane, consistent figures: non-negative counts, rates
# and CPU times, no more copies at a collector than frames sent times
# collectors, loss = sent - delivered, the rule sweep, the markdown table
# and the plot; and that it cleaned up.  No timing assertions: the rates
# and CPU figures of this shared machine are reported, never judged.
here=$(cd "$(dirname "$0")" && pwd)
XM_BIN=${XM_BIN:-$here/../../build}
. "$here/../lib/netns.sh"
ROOT=$(cd "$here/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$XM_BIN/xm-ref" ]; then
	fail bench_quick_build "$XM_BIN/xm-ref missing (make test-bins)"
	exit 1
fi

# ASan reports leaks of the daemon into its log; the harness reads stats.
XM_BIN=$XM_BIN $PY "$ROOT/bench/bench.py" --quick --out "$WORK" \
	>"$WORK/out.txt" 2>"$WORK/err.txt"
rc=$?
if [ "$rc" -ne 0 ]; then
	fail bench_quick_run "exit $rc: $(tail -5 "$WORK/err.txt")"
else
	pass bench_quick_run
fi
json=$(ls "$WORK"/*.json 2>/dev/null | head -1)
if [ -z "$json" ]; then
	fail bench_quick_json "no JSON written"
	exit 1
fi
pass bench_quick_json
base=${json%.json}
check bench_quick_markdown grep -q '^| xdp-mirror | 64 |' "$base.md"
check bench_quick_png test -s "$base.png"

$PY - "$json" <<'PYEOF'
import json, math, statistics, sys
res = json.load(open(sys.argv[1]))
systems = ["xdp-mirror", "xdp-mirror-afxdp", "tc-recipe", "afxdp-ceiling", "xdp-native"]

def result(name, ok, why):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))

m = res["meta"]["machine"]
result("bench_quick_machine", m["nproc"] >= 1 and m["cpu_model"] and m["kernel"],
       "machine line incomplete: %r" % m)
result("bench_quick_no_errors", not res["errors"], "errors: %r" % res["errors"])

rows = res["summary"]["rows"]
trials = res["trials"]
for s in systems:
    r = [x for x in rows if x["system"] == s and x["group"] == "sizes"]
    if not r:
        result("bench_quick_%s" % s, False, "no result row")
        continue
    r = r[0]
    bad = []
    for k in ("offered_pps", "delivered_pps", "loss_pct", "cost_offered_pps"):
        if r.get(k) is None or r[k] < 0:
            bad.append("%s=%r" % (k, r.get(k)))
    if r["offered_pps"] and r["offered_pps"] <= 0:
        bad.append("nothing offered")
    if r.get("loss_pct") is not None and r["loss_pct"] > 100:
        bad.append("loss %r%% > 100" % r["loss_pct"])
    # A difference of two CPU measurements: must exist and be finite;
    # its size and sign are timing, not asserted.
    c = r.get("cpu_ns_per_frame")
    if c is None or not math.isfinite(c):
        bad.append("cpu_ns_per_frame=%r" % c)
    if "stages" not in r or r["stages"].get("offered", 0) <= 0:
        bad.append("no stage counters")
    result("bench_quick_%s" % s, not bad, ", ".join(bad))
    print("   %s: cpu %s ns/frame, offered %.0f pps, delivered %.0f pps, loss %.1f%%" % (
        s, "n/a" if c is None else "%.0f" % c, r["offered_pps"] or 0,
        r["delivered_pps"] or 0, r["loss_pct"] or 0))

bad = []
for t in trials:
    n = t["collectors"]
    tag = "%s/%s/%s" % (t["system"], t["mode"], t["tag"])
    for k in ("sent", "delivered_copies", "window_sent", "window_copies",
              "cpu_window_ns", "seconds"):
        if t[k] < 0:
            bad.append("%s %s=%r" % (tag, k, t[k]))
    if t["delivered_copies"] > t["sent"] * n:
        bad.append("%s: %d copies for %d frames x %d collectors" % (
            tag, t["delivered_copies"], t["sent"], n))
    if t["lost_copies"] != t["sent"] * n - t["delivered_copies"]:
        bad.append("%s: lost %d != sent - delivered" % (tag, t["lost_copies"]))
    if t["system"] != "baseline" and t["stages"]["offered"] != t["sent"]:
        bad.append("%s: stage offered %d != sent %d" % (tag, t["stages"]["offered"], t["sent"]))
result("bench_quick_trials_consistent", not bad, "; ".join(bad[:5]))

g = res["summary"]["gen_cost"]
result("bench_quick_baseline", all(v["cpu_ns_per_frame"] and v["cpu_ns_per_frame"] > 0
                                   for v in g.values()) and g,
       "generator baseline missing: %r" % g)

rr = sorted(x["rules"] for x in rows if x["system"] == "xdp-mirror" and x["size"] == 64
            and x["collectors"] == 1 and x["group"] in ("sizes", "rules"))
result("bench_quick_rules", rr == [1, 100], "rule counts measured: %r" % rr)
ref = [x for x in rows if x["system"] == "xdp-mirror" and x["group"] == "rules-ref100"]
result("bench_quick_rules_ref", len(ref) == 1 and ref[0]["rules"] == 1 and
       ref[0]["cpu_ns_per_frame"] is not None, "1-rule run next to 100 rules: %r" % ref)
rp = res["summary"].get("rule_pairs", {}).get("100")
result("bench_quick_rule_pairs", rp is not None and
       len(rp["ratios"]) == res["meta"]["config"]["reps"] and
       all(x > 0 for x in rp["ratios"] + rp["n_ns"] + rp["one_ns"]) and
       rp["median"] == statistics.median(rp["ratios"]),
       "100 rules paired with 1 rule per repetition: %r" % rp)
zl = res.get("zero_loss", {})
result("bench_quick_zero_loss", all("%s/64" % s in zl and zl["%s/64" % s]["zero_loss_pps"] >= 0
                                    for s in systems), "zero-loss search: %r" % zl)
fl = res.get("loss_floor", {}).get("64")
result("bench_quick_loss_floor", fl and fl["steps"] and
       fl["tolerance_pct"] == max(st["loss_pct"] for st in fl["steps"]),
       "loss floor: %r" % fl)
tol = fl["tolerance_pct"] if fl else -1
bad = ["%s: %r" % (k, st) for k, v in zl.items() for st in v["steps"]
       if st["ok"] != (st["loss_pct"] <= tol)]
result("bench_quick_zero_loss_floor", zl and not bad, "steps judged wrongly: %r" % bad[:3])
arl = res.get("at_recipe_loss", {}).get("64")
ok = arl is not None and ("recipe_lossless_up_to_pps" in arl or (
    arl["tolerance_pct"] == max([tol] + arl["floor_here_pct"]) and
    sorted(arl["mirrors"]) == sorted(systems[:2]) and
    arl["recipe_drops"] == (arl["recipe_again"]["loss_pct"] > arl["tolerance_pct"]) and
    all(m["sent"] > 0 and 0 <= m["lost"] <= m["sent"] and
        m["loss_pct"] == statistics.median(m["runs_loss_pct"]) and
        m["lossless"] == (m["loss_pct"] <= arl["tolerance_pct"])
        for m in list(arl["mirrors"].values()) + [arl["recipe_again"]])))
result("bench_quick_at_recipe_loss", ok, "at the recipe's loss rate: %r" % arl)
ru = res.get("rule_update", {})
result("bench_quick_rule_update", "latency_us" in ru or "skipped" in ru,
       "rule update: %r" % ru)
PYEOF

# Nothing of the run may stay behind: its namespaces end in its suffix.
sfx=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["meta"]["ns_suffix"])' "$json")
left=$(ip netns list | grep -E "^xb(g|c|d[a-z])$sfx( |\$)" | head -3)
check_eq bench_quick_cleanup "$left" ""
check bench_quick_no_pins test ! -e "/sys/fs/bpf/xdp-mirror/am$sfx"

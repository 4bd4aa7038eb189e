#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
readme.py - put the newest full benchmark result (bench/results/*.md and
.png) into README.md, between the markers of its "Benchmark" section.
Nothing outside the markers changes.  Usage: bench/readme.py [RESULT.json]
"""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BEGIN = "<!-- bench:begin (bench/readme.py writes this part) -->"
END = "<!-- bench:end -->"


def main():
    if len(sys.argv) > 1:
        js = sys.argv[1]
    else:
        runs = sorted(glob.glob(os.path.join(HERE, "results", "*.json")))
        if not runs:
            print("readme.py: no results in bench/results (make bench)", file=sys.stderr)
            return 1
        js = runs[-1]
    base = js[:-len(".json")]
    res = json.load(open(js))
    if res["meta"].get("profile") != "full":
        print("readme.py: %s is not a full run" % js, file=sys.stderr)
        return 1
    m = res["meta"]["machine"]
    with open(base + ".md") as f:
        table = f.read().strip()
    rel = os.path.relpath(base, ROOT)
    block = "\n".join([
        BEGIN,
        "",
        "Latest run: `%s.json` (%s, commit %s, %.0f s): %s, nproc %d, kernel %s." % (
            rel, res["meta"]["timestamp"], res["meta"].get("commit", "?"),
            res.get("elapsed_s") or 0, m["cpu_model"], m["nproc"], m["kernel"]),
        "",
        "![benchmark plot](%s.png)" % rel,
        "",
        table,
        "",
        END,
    ])
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    if BEGIN not in text or END not in text:
        print("readme.py: README.md has no benchmark markers", file=sys.stderr)
        return 1
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    with open(path, "w") as f:
        f.write(head + block + tail)
    print("readme.py: README.md now shows %s" % rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""jmh-table.py RESULT.json : a JMH JSON result (-rf json -rff RESULT.json) as one Markdown table per
benchmark class: a row per parameter value, a column per contender (benchmark method), each cell
"score ± error unit, B/op" (B/op from -prof gc's gc.alloc.rate.norm; left out without -prof gc). The
best score of a row is in bold (the highest in throughput mode, else the lowest). Cells are as JMH reported them over all forks; per-fork spread
shows in the error.

    java -jar benchmarks/target/netpoll-benchmarks.jar buffer -prof gc -f 3 -rf json -rff /tmp/r.json
    benchmarks/scripts/jmh-table.py /tmp/r.json
"""
import json
import sys


def fmt(x):
    return f"{x:,.1f}" if x < 1000 else f"{x:,.0f}"


def main(path):
    runs = json.load(open(path))
    tables = {}  # class -> row key -> method -> (score, error, unit, alloc); dicts keep JMH's order
    methods = {}  # class -> its methods, in order
    higher_better = {}  # class -> True for throughput results
    for r in runs:
        cls, method = r["benchmark"].rsplit(".", 1)
        cls = cls.rsplit(".", 1)[-1]
        row = ", ".join(f"{k}={v}" for k, v in sorted(r.get("params", {}).items())) or "-"
        m = r["primaryMetric"]
        alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score")
        err = m.get("scoreError")
        err = None if err is None else float(err)  # JMH writes "NaN" (a string) with one iteration
        err = None if err != err else err
        tables.setdefault(cls, {}).setdefault(row, {})[method] = (m["score"], err, m["scoreUnit"], alloc)
        methods.setdefault(cls, {})[method] = None
        higher_better[cls] = r["mode"] == "thrpt"
    for cls, rows in tables.items():
        print(f"### {cls}\n")
        print("| params | " + " | ".join(methods[cls]) + " |")
        print("|---|" + "---:|" * len(methods[cls]))
        for row, cells in rows.items():
            best = (max if higher_better[cls] else min)(c[0] for c in cells.values())
            out = []
            for meth in methods[cls]:
                if meth not in cells:
                    out.append("—")
                    continue
                score, err, unit, alloc = cells[meth]
                s = fmt(score) + (f" ± {fmt(err)}" if err is not None else "") + f" {unit}"
                if score == best:
                    s = f"**{s}**"
                if alloc is not None:
                    s += f", {alloc:,.0f} B" if alloc >= 0.5 else ", 0 B"
                out.append(s)
            print(f"| {row} | " + " | ".join(out) + " |")
        print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

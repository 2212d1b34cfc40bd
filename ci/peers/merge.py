#!/usr/bin/env python3
"""Helpers for ci/peers.sh: re-run lists and merging of runs split in passes.

A peer that crashes (the PHP seeds do, on some inputs) is restarted by ci/peers.sh, but the cases that tried to
connect while it was down never reached it: wsharness rates them ERRORED ("cannot connect"), and Autobahn stops
its whole run at the first refused connection. ci/peers.sh runs such cases again on a fresh peer and merges the
passes with this script, so that every case is judged against a running server. Nothing is re-judged here: a
case's result is copied from the pass that ran it.

  merge.py refused REPORT.json
      print the ids of the cases that found the server down: NOT RUN (it stopped accepting connections), or
      ERRORED because it refused the connection
  merge.py wsharness OUT.json [--order CASES.json] REPORT.json [REPORT.json ...]
      our report: every case of the reports (several shards and passes), each with its result in the latest report
      that ran it; in the order of CASES.json (`wsharness cases list --json`) if given, else first seen; the
      summary recounted, the duration the longest, the other fields from the first report
  merge.py summary REPORT.json
      one line: the verdict counts of a report
  merge.py autobahn OUTDIR PASSDIR [PASSDIR ...]
      Autobahn: OUTDIR/index.json = the union of PASSDIR/index.json (a later pass wins), reportfile paths made
      relative to OUTDIR; prints the case ids merged so far, comma-separated (for the next pass's --exclude)
  merge.py exclude-ours CASES.json PATTERN[,PATTERN...]
      print the ids of our cases (from `wsharness cases list --json`) whose Autobahn id matches a pattern

Exit: 0, or 2 when an input cannot be read.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys

VERDICTS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "ERRORED", "NOT RUN"]
REFUSED = "cannot connect to "


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"merge.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def refused(report) -> list[str]:
    return [
        c["id"]
        for c in report["cases"]
        if c.get("verdict") == "NOT RUN"
        or c.get("verdict") == "ERRORED" and (c.get("reason") or "").startswith(REFUSED)
    ]


def merge_wsharness(out, paths, order=None):
    reports = [load(p) for p in paths]
    latest = {}
    for r in reports:
        for c in r["cases"]:
            latest[c["id"]] = c
    ids = list(latest)
    if order is not None:
        rank = {c["id"]: i for i, c in enumerate(load(order))}
        ids.sort(key=lambda cid: rank.get(cid, len(rank)))
    cases = [latest[cid] for cid in ids]
    merged = dict(reports[0])
    merged["cases"] = cases
    merged["summary"] = summary(cases)
    # shards run side by side: the run took as long as the longest one
    merged["duration_ms"] = max(r.get("duration_ms", 0) for r in reports)
    merged["complete"] = all(r.get("complete", True) for r in reports)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(merged, f, indent=2, ensure_ascii=False)
        f.write("\n")


def summary(cases):
    counts = {v: 0 for v in VERDICTS}
    for c in cases:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    counts["total"] = len(cases)
    return counts


def merge_autobahn(outdir, passdirs):
    merged = {}
    for d in passdirs:
        path = os.path.join(d, "index.json")
        if not os.path.exists(path):
            continue
        rel = os.path.relpath(d, outdir)
        for agent, cases in load(path).items():
            for cid, r in cases.items():
                r = dict(r)
                if r.get("reportfile"):
                    r["reportfile"] = os.path.join(rel, r["reportfile"])
                merged.setdefault(agent, {})[cid] = r
    if merged:
        with open(os.path.join(outdir, "index.json"), "w", encoding="utf-8") as f:
            json.dump(merged, f, indent=2)
            f.write("\n")
    print(",".join(sorted({cid for cases in merged.values() for cid in cases})))


def exclude_ours(cases_json, patterns):
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    for c in load(cases_json):
        ab = c.get("autobahn")
        if ab and any(fnmatch.fnmatchcase(ab, p) for p in pats):
            print(c["id"])


def main(argv):
    if len(argv) >= 2 and argv[0] == "refused":
        for cid in refused(load(argv[1])):
            print(cid)
    elif len(argv) >= 3 and argv[0] == "wsharness":
        out, rest, order = argv[1], argv[2:], None
        if rest[0] == "--order" and len(rest) >= 3:
            order, rest = rest[1], rest[2:]
        merge_wsharness(out, rest, order)
    elif len(argv) == 2 and argv[0] == "summary":
        counts = summary(load(argv[1])["cases"])
        print(f"total {counts.pop('total')}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    elif len(argv) >= 3 and argv[0] == "autobahn":
        merge_autobahn(argv[1], argv[2:])
    elif len(argv) == 3 and argv[0] == "exclude-ours":
        exclude_ours(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

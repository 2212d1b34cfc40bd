#!/usr/bin/env python3
"""Fails (exit 1) when a conformance run took longer than a bound, or did not pass.

    python3 ci/suite_time.py REPORT.json MAX_SECONDS

Reads the run's own `duration_ms` from report.json, so build time and report writing do not count.
"""
import json
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, bound = sys.argv[1], float(sys.argv[2])
    try:
        with open(path) as f:
            report = json.load(f)
        seconds = report["duration_ms"] / 1000.0
        cases = report["summary"]["total"]
        failed = report["summary"].get("FAILED", 0) + report["summary"].get("ERRORED", 0)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"{path}: not a conformance report: {e}", file=sys.stderr)
        return 2
    print(f"{cases} cases in {seconds:.2f} s (bound {bound:.0f} s), {failed} FAILED or ERRORED")
    if seconds >= bound or failed:
        print(f"{path}: too slow or not passing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

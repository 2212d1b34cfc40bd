#!/usr/bin/env python3
"""Compare two fuzzing servers' verdicts on the same clients: Autobahn's index.json and ours (wsharness serve).

Usage: agreement.py AUTOBAHN_INDEX WSHARNESS_INDEX [--jobs AB_JOBS:OURS_JOBS] [--times AGENT=AB_SECONDS:OURS_SECONDS ...]

For every agent in both files, over the cases Autobahn ran (the mapped cases: our index has the same keys for
them, and our client-only cases besides), prints how many behaviour verdicts agree, each disagreement
(case, Autobahn's verdict, ours), the close verdicts that differ, and the wall-time ratio when given (with the
number of cases each runner ran at once, when --jobs gives it).
Exit 0 always: the numbers are for the reader (cases/README.md explains each disagreement).
"""

import json
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    ab = json.load(open(argv[1]))
    ours = json.load(open(argv[2]))
    times = {}
    jobs = None
    rest = iter(argv[3:])
    for arg in rest:
        if arg == "--times":
            continue
        if arg == "--jobs":
            jobs = next(rest, "").split(":")
            continue
        agent, _, pair = arg.partition("=")
        a, _, o = pair.partition(":")
        times[agent] = (float(a), float(o))
    for agent in sorted(set(ab) & set(ours)):
        a, o = ab[agent], ours[agent]
        common = sorted(k for k in a if k in o)
        same = [k for k in common if a[k]["behavior"] == o[k]["behavior"]]
        close = [k for k in common if a[k]["behaviorClose"] != o[k]["behaviorClose"]]
        only_ab = sorted(k for k in a if k not in o)
        own = sorted(k for k in o if k not in a)
        pct = 100.0 * len(same) / len(common) if common else 0.0
        print(f"{agent}: {len(same)} of {len(common)} mapped cases agree ({pct:.1f}%); "
              f"{len(own)} more cases of ours (client-only and our own variants); {len(only_ab)} of Autobahn's not run by us")
        for k in common:
            if a[k]["behavior"] != o[k]["behavior"]:
                print(f"  {k:10} Autobahn {a[k]['behavior']:14} wsharness {o[k]['behavior']}")
        if close:
            print(f"  close verdicts that differ: " + ", ".join(
                f"{k} ({a[k]['behaviorClose']} / {o[k]['behaviorClose']})" for k in close))
        if agent in times:
            ta, to = times[agent]
            at_once = f" ({jobs[0]} and {jobs[1]} cases at once)" if jobs and len(jobs) == 2 else ""
            print(f"  wall: Autobahn {ta:.1f} s, wsharness {to:.1f} s{at_once}: {ta / to:.1f}x")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:
        sys.exit(0)

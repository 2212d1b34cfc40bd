#!/usr/bin/env python3
"""Compare a wsharness conformance report with Autobahn|Testsuite's verdicts on the same server.

Usage: compare_autobahn.py OURS.json AUTOBAHN_INDEX.json [--agent NAME] [--json OUT] [--min-agreement PCT]

  OURS.json            report.json of `wsharness conformance` (reports/src/conformance.rs)
  AUTOBAHN_INDEX.json  index.json of an Autobahn fuzzingclient run (agent -> case id -> behavior, behaviorClose, ...)
  --agent NAME         the Autobahn agent to read (default: the only one in the index)
  --json OUT           also write the comparison as JSON
  --min-agreement PCT  exit 1 when fewer than PCT % of the mapped cases agree (or none is mapped)

Mapped cases: every case of ours whose `autobahn` field names a case that Autobahn also ran. Cases of ours without
an Autobahn id, and Autobahn cases that this run left out, are counted but not compared.

How verdicts are compared. Both tools judge a case twice: what the server did (our `verdict`, Autobahn's `behavior`,
on the same scale OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED) and how the connection ended (our
`close_verdict`, Autobahn's `behaviorClose`: OK, WRONG CODE, UNCLEAN, INFORMATIONAL, FAILED, and Autobahn's FAILED BY
CLIENT, "the server did not close TCP, the client had to"). The two tools do not split the work the same way: for
"the server must fail the connection with 1002", Autobahn's behavior only checks that nothing was echoed and leaves
the missing close to behaviorClose, while our case has an `expect = "close"` step and says FAILED in `verdict`.
Comparing verdict with behavior alone would count that split as a disagreement. So the headline compares like with
like at the level both tools answer, the case's outcome:

    outcome = the worse of (behavior verdict, close verdict as a behavior verdict)

where a close verdict counts as OK (OK), INFORMATIONAL (INFORMATIONAL) or FAILED (WRONG CODE, UNCLEAN, FAILED,
FAILED BY CLIENT), and verdicts rank OK < NON-STRICT < INFORMATIONAL < UNIMPLEMENTED < FAILED. A case of ours
without a close verdict (the handshake under test) uses its behavior verdict; an ERRORED case of ours (the harness
could not judge) never agrees. The two halves are also compared on their own (behavior with behavior, close with
close, where we judged the close) and printed as secondary figures.

Each disagreement is tagged [pass/fail] when exactly one side's outcome is FAILED (or ours ERRORED), else [grade]
(e.g. OK against NON-STRICT).

Exit: 0 (whatever the agreement), 1 below --min-agreement, 2 unreadable or malformed input.
"""

from __future__ import annotations

import argparse
import json
import sys

RANK = {"OK": 0, "NON-STRICT": 1, "INFORMATIONAL": 2, "UNIMPLEMENTED": 3, "FAILED": 4, "ERRORED": 5, "NOT RUN": 6}
CLOSE_AS_BEHAVIOR = {
    "OK": "OK",
    "INFORMATIONAL": "INFORMATIONAL",
    "WRONG CODE": "FAILED",
    "UNCLEAN": "FAILED",
    "FAILED": "FAILED",
    "FAILED BY CLIENT": "FAILED",
}
# our close verdicts have no FAILED BY CLIENT: a server that never closes TCP is FAILED
CLOSE_CLASS = {"FAILED BY CLIENT": "FAILED"}


class InputError(Exception):
    """An input file that cannot be read or is not what it should be."""


def case_key(cid: str):
    return tuple(int(x) if x.isdigit() else 0 for x in cid.split("."))


def worse(a: str, b: str) -> str:
    return a if RANK.get(a, RANK["FAILED"]) >= RANK.get(b, RANK["FAILED"]) else b


def behavior_class(v: str) -> str:
    """A behavior verdict on the common scale (anything unknown counts as FAILED)."""
    return v if v in RANK else "FAILED"


def outcome(behavior: str, close: str | None) -> str:
    b = behavior_class(behavior)
    if close is None:
        return b
    return worse(b, CLOSE_AS_BEHAVIOR.get(close, "FAILED"))


def load_json(path: str, what: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"cannot read {what} {path}: {e.strerror}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{what} {path} is not JSON: {e}") from e


def load_ours(path: str):
    report = load_json(path, "wsharness report")
    if not isinstance(report, dict) or report.get("kind") != "conformance" or not isinstance(report.get("cases"), list):
        raise InputError(f"{path} is not a wsharness conformance report (no kind=conformance with a cases list)")
    for i, c in enumerate(report["cases"]):
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or not isinstance(c.get("verdict"), str):
            raise InputError(f"{path}: case #{i + 1} has no id or verdict")
    return report


def load_autobahn(path: str, agent: str | None):
    index = load_json(path, "Autobahn index")
    if not isinstance(index, dict) or not index or not all(isinstance(v, dict) for v in index.values()):
        raise InputError(f"{path} is not an Autobahn index.json (agent -> case id -> result)")
    if agent is None:
        if len(index) > 1:
            raise InputError(f"{path} holds several agents ({', '.join(sorted(index))}): choose one with --agent")
        agent = next(iter(index))
    if agent not in index:
        raise InputError(f"{path} has no agent {agent!r} (it has {', '.join(sorted(index))})")
    cases = index[agent]
    for cid, r in cases.items():
        if not isinstance(r, dict) or not isinstance(r.get("behavior"), str) or "behaviorClose" not in r:
            raise InputError(f"{path}: case {cid} of {agent} has no behavior/behaviorClose")
    return agent, cases


def compare(report, agent: str, ab_cases) -> dict:
    mapped, agree, disagreements = 0, 0, []
    beh_n = beh_agree = close_n = close_agree = 0
    no_autobahn, not_run = 0, []
    for c in report["cases"]:
        ab_id = c.get("autobahn")
        if not ab_id:
            no_autobahn += 1
            continue
        ab = ab_cases.get(ab_id)
        if ab is None:
            not_run.append(ab_id)
            continue
        mapped += 1
        ours_close = c.get("close_verdict")
        ab_beh, ab_close = ab["behavior"], ab["behaviorClose"]
        ours_out = "ERRORED" if c["verdict"] == "ERRORED" else outcome(c["verdict"], ours_close)
        ab_out = outcome(ab_beh, ab_close)
        beh_n += 1
        beh_agree += c["verdict"] == behavior_class(ab_beh)
        if ours_close is not None and ab_close is not None:
            close_n += 1
            close_agree += ours_close == CLOSE_CLASS.get(ab_close, ab_close)
        if ours_out == ab_out:
            agree += 1
            continue
        failing = {"FAILED", "ERRORED"}
        kind = "pass/fail" if (ours_out in failing) != (ab_out in failing) else "grade"
        disagreements.append(
            {
                "id": c["id"],
                "autobahn": ab_id,
                "kind": kind,
                "ours": {
                    "outcome": ours_out,
                    "verdict": c["verdict"],
                    "close_verdict": ours_close,
                    "reason": c.get("reason"),
                    "close_reason": (c.get("close") or {}).get("reason"),
                    "server_close_code": (c.get("close") or {}).get("server_code"),
                },
                "autobahn_result": {
                    "outcome": ab_out,
                    "behavior": ab_beh,
                    "behaviorClose": ab_close,
                    "remoteCloseCode": ab.get("remoteCloseCode"),
                    "reportfile": ab.get("reportfile"),
                },
            }
        )
    disagreements.sort(key=lambda d: (case_key(d["autobahn"]), d["id"]))
    pct = lambda a, n: round(100.0 * a / n, 1) if n else None  # noqa: E731
    return {
        "peer": agent,
        "target": (report.get("target") or {}).get("url"),
        "complete": report.get("complete", True),
        "ours_cases": len(report["cases"]),
        "autobahn_cases": len(ab_cases),
        "mapped": mapped,
        "agree": agree,
        "agreement_percent": pct(agree, mapped),
        "behavior_agree": beh_agree,
        "behavior_compared": beh_n,
        "close_agree": close_agree,
        "close_compared": close_n,
        "ours_without_autobahn_id": no_autobahn,
        "autobahn_ids_not_run": sorted(set(not_run), key=case_key),
        "autobahn_not_mapped": sorted(set(ab_cases) - {c.get("autobahn") for c in report["cases"]}, key=case_key),
        "disagreements": disagreements,
    }


def fmt_pct(p) -> str:
    return "n/a" if p is None else f"{p:.1f}%"


def print_result(r: dict) -> None:
    n = lambda a, b: f"{a}/{b} ({fmt_pct(round(100.0 * a / b, 1) if b else None)})"  # noqa: E731
    print(f"{r['peer']}: {r['agree']}/{r['mapped']} mapped cases agree ({fmt_pct(r['agreement_percent'])})")
    print(
        f"  behavior alone {n(r['behavior_agree'], r['behavior_compared'])}, "
        f"close alone {n(r['close_agree'], r['close_compared'])}"
    )
    extra = []
    if r["ours_without_autobahn_id"]:
        extra.append(f"{r['ours_without_autobahn_id']} of our cases have no Autobahn id")
    if r["autobahn_ids_not_run"]:
        ids = r["autobahn_ids_not_run"]
        extra.append(
            f"{len(ids)} Autobahn ids of ours were not in this Autobahn run "
            f"({', '.join(ids[:6])}{', ...' if len(ids) > 6 else ''})"
        )
    if r["autobahn_not_mapped"]:
        ids = r["autobahn_not_mapped"]
        extra.append(
            f"{len(ids)} Autobahn cases have no case of ours ({', '.join(ids[:6])}{', ...' if len(ids) > 6 else ''})"
        )
    if not r["complete"]:
        extra.append("our report is marked incomplete (interrupted run)")
    for e in extra:
        print(f"  not compared: {e}")
    d = r["disagreements"]
    if d:
        kinds = {k: sum(1 for x in d if x["kind"] == k) for k in ("pass/fail", "grade")}
        print(f"  disagreements: {len(d)} ({kinds['pass/fail']} pass/fail, {kinds['grade']} grade)")
    for x in d:
        o, a = x["ours"], x["autobahn_result"]
        why = o["reason"] or o["close_reason"] or ""
        if o["reason"] and o["close_reason"]:
            why = f"{o['reason']}; close: {o['close_reason']}"
        print(
            f"  [{x['kind']}] {x['id']} (Autobahn {x['autobahn']}): ours {o['verdict']}"
            f"/close {o['close_verdict'] or '-'}{': ' + why if why else ''}"
            f" | Autobahn {a['behavior']}/close {a['behaviorClose']}"
            f" (remote close code {a['remoteCloseCode'] if a['remoteCloseCode'] is not None else '-'})"
        )


def main(argv) -> int:
    p = argparse.ArgumentParser(
        prog="compare_autobahn.py",
        description="Compare a wsharness conformance report with an Autobahn|Testsuite index.json.",
    )
    p.add_argument("ours", metavar="OURS.json")
    p.add_argument("autobahn", metavar="AUTOBAHN_INDEX.json")
    p.add_argument("--agent", help="Autobahn agent to read (default: the only one)")
    p.add_argument("--json", metavar="OUT", help="also write the comparison as JSON")
    p.add_argument("--min-agreement", type=float, metavar="PCT", help="exit 1 below this agreement percentage")
    args = p.parse_args(argv)
    try:
        report = load_ours(args.ours)
        agent, ab_cases = load_autobahn(args.autobahn, args.agent)
    except InputError as e:
        print(f"compare_autobahn.py: {e}", file=sys.stderr)
        return 2
    result = compare(report, agent, ab_cases)
    result["inputs"] = {"ours": args.ours, "autobahn": args.autobahn}
    print_result(result)
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2, ensure_ascii=False)
                f.write("\n")
        except OSError as e:
            print(f"compare_autobahn.py: cannot write {args.json}: {e.strerror}", file=sys.stderr)
            return 2
    if args.min_agreement is not None:
        pct = result["agreement_percent"]
        exact = 100.0 * result["agree"] / result["mapped"] if result["mapped"] else None
        if exact is None or exact < args.min_agreement:
            print(
                f"compare_autobahn.py: agreement {fmt_pct(pct)} is below --min-agreement {args.min_agreement:g}%",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

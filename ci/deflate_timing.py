#!/usr/bin/env python3
"""Time our permessage-deflate suite against Autobahn|Testsuite's 12.x/13.x on the same server, and compare verdicts.

    python3 ci/deflate_timing.py [--server reference|node-ws|python-websockets ...] [--no-autobahn]
                                 [--out DIR] [--min-speedup X] [--min-agreement PCT]

For each server: start a fresh instance, run `wsharness conformance URL --filter 'rfc7692/*-x1000'` (our one-to-one
equivalents of Autobahn 12.x and 13.x: the same sizes, fragmentation, offers and 1000 messages per case), then on
another fresh instance Autobahn's fuzzingclient with cases 12.* and 13.*. For each run it prints the wall time, the
CPU time of the tool (wsharness, or Autobahn's wstest) and of the server process (utime + stime from /proc, the
server's own threads), the speed-up, and whether the harness used less CPU than the server. Then the verdicts are
compared case by case with ci/compare_autobahn.py (outcome agreement, disagreements listed).

Servers: `reference` (target/release/reference-server, deflate on by default), `node-ws` (ci/peers/node-ws with
WS_DEFLATE=1, perMessageDeflate on), `python-websockets` (ci/peers/python-websockets with WS_DEFLATE=1). Node and
Python peers must be installed (ci/peers.sh installs them into ~/.cache/wsharness).

Exit: 0; 1 when --min-speedup or --min-agreement is not met; 2 setup error.
Env: SHARED_DIR (../shared beside the repository), AUTOBAHN_VENV, PEERS_CACHE (~/.cache/wsharness).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
CACHE = Path(os.environ.get("PEERS_CACHE", Path.home() / ".cache" / "wsharness"))
FILTER = "rfc7692/*-x1000"
TICK = os.sysconf("SC_CLK_TCK")


def server_command(name: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, WS_DEFLATE="1")
    if name == "reference":
        return [str(ROOT / "target/release/reference-server"), "--listen", "127.0.0.1:0", "--log", "warn"], env
    if name == "node-ws":
        env["NODE_PATH"] = str(CACHE / "node-ws" / "node_modules")
        return ["node", str(ROOT / "ci/peers/node-ws/echo.js"), "0"], env
    if name == "python-websockets":
        py = CACHE / "python-websockets-venv" / "bin" / "python"
        return [str(py), str(ROOT / "ci/peers/python-websockets/echo.py"), "0"], env
    raise SystemExit(f"deflate_timing.py: unknown server {name!r}")


class Server:
    """A server process on a free loopback port, its URL read from its first line."""

    def __init__(self, name: str):
        cmd, env = server_command(name)
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 20
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            line = self.proc.stdout.readline() if self.proc.stdout else ""
            if not line and self.proc.poll() is not None:
                break
            m = re.search(r"(ws://127\.0\.0\.1:\d+/?)", line)
            if m:
                self.url = m.group(1)
        if self.url is None:
            self.stop()
            raise SystemExit(f"deflate_timing.py: {name} did not start ({' '.join(cmd)})")

    def cpu(self) -> float:
        """utime + stime of the server process so far, in seconds."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def timed(cmd: list[str], server: Server, log: Path) -> dict:
    """Runs `cmd` to the end; its wall time, its CPU (children rusage) and the server's CPU meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server.cpu()
    start = time.monotonic()
    with open(log, "w") as out:
        rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tool_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": rc, "wall": wall, "tool_cpu": tool_cpu, "server_cpu": server.cpu() - server_before}


def run_ours(name: str, out: Path) -> dict:
    server = Server(name)
    try:
        wsh = str(ROOT / "target/release/wsharness")
        cmd = [wsh, "conformance", server.url, "--filter", FILTER, "--out", str(out / "wsharness"), "-q"]
        result = timed(cmd, server, out / "wsharness.log")
    finally:
        server.stop()
    report = json.loads((out / "wsharness" / "report.json").read_text())
    result["cases"] = len(report["cases"])
    result["summary"] = {k: v for k, v in report["summary"].items() if v}
    return result


def run_autobahn(name: str, out: Path) -> dict:
    server = Server(name)
    try:
        cmd = ["bash", str(SHARED / "autobahn/autobahn.sh"), "--quiet", "--timeout", "1800", server.url,
               str(out / "autobahn"), "12.*,13.*"]
        result = timed(cmd, server, out / "autobahn.log")
    finally:
        server.stop()
    index = json.loads((out / "autobahn" / "index.json").read_text())
    cases = next(iter(index.values()), {})
    result["cases"] = len(cases)
    counts: dict[str, int] = {}
    for c in cases.values():
        counts[c["behavior"]] = counts.get(c["behavior"], 0) + 1
    result["summary"] = counts
    return result


def line(tool: str, r: dict) -> str:
    return (f"  {tool:<10} {r['cases']:>4} cases  wall {r['wall']:7.1f} s  tool CPU {r['tool_cpu']:7.1f} s  "
            f"server CPU {r['server_cpu']:7.1f} s  {r['summary']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", action="append", choices=["reference", "node-ws", "python-websockets"])
    ap.add_argument("--no-autobahn", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "target/deflate-timing"))
    ap.add_argument("--min-speedup", type=float, default=0.0)
    ap.add_argument("--min-agreement", type=float, default=0.0)
    args = ap.parse_args()
    servers = args.server or ["reference", "node-ws"]
    subprocess.check_call(["cargo", "build", "--release", "--quiet", "--locked", "-p", "wsharness", "-p",
                           "reference-server"], cwd=ROOT)
    if not args.no_autobahn:
        subprocess.check_call(["bash", str(SHARED / "autobahn/install.sh")], stdout=subprocess.DEVNULL)
    ok = True
    for name in servers:
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        ours = run_ours(name, out)
        print(f"{name}:")
        print(line("wsharness", ours))
        held_back = ours["tool_cpu"] >= ours["server_cpu"]
        print(f"  harness CPU {'>=' if held_back else '<'} server CPU"
              + (" (the harness may be what holds the run back)" if held_back else ""))
        if args.no_autobahn:
            continue
        ab = run_autobahn(name, out)
        print(line("autobahn", ab))
        speedup = ab["wall"] / ours["wall"] if ours["wall"] > 0 else float("inf")
        print(f"  speed-up: {speedup:.1f}x (Autobahn wall / ours, same server, same cases)")
        if speedup < args.min_speedup:
            ok = False
        cmp = subprocess.run([sys.executable, str(ROOT / "ci/compare_autobahn.py"), str(out / "wsharness/report.json"),
                              str(out / "autobahn/index.json"), "--json", str(out / "compare.json"),
                              "--min-agreement", str(args.min_agreement)], capture_output=True, text=True)
        (out / "compare.txt").write_text(cmp.stdout + cmp.stderr)
        print("  " + "\n  ".join(cmp.stdout.strip().splitlines()[:12]))
        if cmp.returncode != 0:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

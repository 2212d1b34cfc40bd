#!/usr/bin/env python3
"""CPU per echoed message: `wsharness load` against an echo server, one core each.

The generator runs pinned to CPU 0 and the server to CPU 1 (taskset); for each round the script
reads the generator's CPU time (user + system, from the kernel's accounting of the finished child)
and the server's (from /proc/PID/stat, all its threads) over the same run, and divides both by the
echoes the generator received. The generator must cost less per echo than the server it loads, so
that it is never the bottleneck: with --gate, exit 1 when the median ratio of the rounds is 1 or
more.

usage: python3 ci/load_cpu.py --wsharness BIN [--server CMD] [--rounds N] [--gate] [load options]
  --server CMD   the server to start (it must print its ws:// URL on stdout; port 0 = a free port);
                 default: the reference server, one thread
Load options: -d/--duration, --in-flight, -c/--connections, --size, --io, --warmup (passed on), and
--deflate[=PARAMS] (permessage-deflate; the compression ratio each way is printed too).
"""

import argparse
import json
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading


def ticks(pid):
    """User + system clock ticks of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start_server(cmd):
    """Starts `cmd` on CPU 1; returns (process, URL)."""
    proc = subprocess.Popen(["taskset", "-c", "1"] + shlex.split(cmd), stdout=subprocess.PIPE, text=True)
    found = {}

    def read():
        for line in proc.stdout:
            m = re.search(r"ws://\S+", line)
            if m and "url" not in found:
                found["url"] = m.group(0)
                done.set()
        done.set()

    done = threading.Event()
    threading.Thread(target=read, daemon=True).start()
    if not done.wait(30) or "url" not in found:
        proc.kill()
        sys.exit(f"load_cpu.py: the server printed no ws:// URL within 30 s: {cmd}")
    return proc, found["url"]


def one_round(args, url, server, out):
    cmd = ["taskset", "-c", "0", args.wsharness, "load", url, "-c", str(args.connections),
           "--in-flight", str(args.in_flight), "-d", args.duration, "--warmup", args.warmup,
           "--size", args.size, "--io", args.io, "--threads", "1", "--quiet", "--out", out]
    if args.deflate is not None:
        cmd.append(f"--deflate={args.deflate}" if args.deflate else "--deflate")
    before, s0 = resource.getrusage(resource.RUSAGE_CHILDREN), ticks(server.pid)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    after, s1 = resource.getrusage(resource.RUSAGE_CHILDREN), ticks(server.pid)
    if p.returncode != 0:
        sys.exit(f"load_cpu.py: wsharness load exited {p.returncode}:\n{p.stderr}")
    with open(os.path.join(out, "report.json")) as f:
        r = json.load(f)
    total = sum(pt["received"] for pt in r["series"])
    if total == 0:
        sys.exit("load_cpu.py: no echo received")
    gen_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    srv_s = (s1 - s0) / os.sysconf("SC_CLK_TCK")
    return {"throughput": r["summary"]["throughput_per_s"], "errors": r["summary"]["errors"],
            "deflate": r["summary"].get("deflate"),
            "latency": r["latency_us"], "echoes": total, "gen_ns": gen_s * 1e9 / total,
            "srv_ns": srv_s * 1e9 / total, "gen_s": gen_s, "srv_s": srv_s}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wsharness", required=True)
    ap.add_argument("--server", default=None)
    ap.add_argument("--reference-server", default="target/release/reference-server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gate", action="store_true")
    ap.add_argument("-d", "--duration", default="10s")
    ap.add_argument("--warmup", default="1s")
    ap.add_argument("--in-flight", type=int, default=128)
    ap.add_argument("-c", "--connections", type=int, default=50)
    ap.add_argument("--size", default="64")
    ap.add_argument("--io", default="io-uring")
    ap.add_argument("--deflate", nargs="?", const="", default=None, metavar="PARAMS")
    args = ap.parse_args()
    server_cmd = args.server or f"{args.reference_server} --listen 127.0.0.1:0 --threads 1 --log off"

    with open("/proc/loadavg") as f:
        print("load average before the run: " + " ".join(f.read().split()[:3]))
    print(f"server: {server_cmd}")
    print(f"generator: {args.connections} connections, --in-flight {args.in_flight}, {args.size}-byte messages, "
          f"{args.duration} measured after {args.warmup} of warm-up, {args.io} driver; {args.rounds} rounds")
    server, url = start_server(server_cmd)
    rounds = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.rounds):
                r = one_round(args, url, server, os.path.join(tmp, f"round{i}"))
                rounds.append(r)
                lat = r["latency"]
                print(f"round {i + 1}: {r['throughput']:>12,.0f} echoes/s  errors {r['errors']}  "
                      f"p50/p99 {lat['p50']}/{lat['p99']} µs  CPU per echo: generator {r['gen_ns']:.0f} ns, "
                      f"server {r['srv_ns']:.0f} ns, ratio {r['gen_ns'] / r['srv_ns']:.2f}", flush=True)
                if r["deflate"]:
                    d = r["deflate"]
                    print(f"         permessage-deflate ({d['compression']}): compression ratio sent "
                          f"{d['ratio_sent']:.2f}, received {d['ratio_received']:.2f}", flush=True)
    finally:
        server.kill()
        server.wait()
    ratio = statistics.median(r["gen_ns"] / r["srv_ns"] for r in rounds)
    gen_ns = statistics.median(r["gen_ns"] for r in rounds)
    print(f"median echoes/s:                  {statistics.median(r['throughput'] for r in rounds):,.0f}")
    print(f"median CPU per echo, generator:   {gen_ns:.0f} ns")
    print(f"median CPU per echo, server:      {statistics.median(r['srv_ns'] for r in rounds):.0f} ns")
    print(f"median generator / server ratio:  {ratio:.2f}")
    print(f"one core at the generator's cost: {1e9 / gen_ns:,.0f} echoes/s")
    if any(r["errors"] for r in rounds):
        sys.exit("load_cpu.py: the runs had errors")
    if args.gate and ratio >= 1:
        sys.exit(f"load_cpu.py: the generator used more CPU per echo than the server (median ratio {ratio:.2f})")


if __name__ == "__main__":
    main()

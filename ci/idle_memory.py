#!/usr/bin/env python3
"""Measure the reference server's memory per idle WebSocket connection.

Starts target/release/reference-server on a free loopback port, opens N
connections (default 5000), echoes one message on each so every connection has
used and returned its buffers, then reports the growth of the server's resident
memory per connection. Usage: python3 ci/idle_memory.py [N] [SERVER ARGS...]   (e.g. `10000 --io tokio`)
(builds target/release/reference-server first)
"""
import os, re, resource, socket, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "reference-server")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
# anything after N goes to the server (e.g. `--io tokio` for the tokio server)
EXTRA = sys.argv[2:]

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < N + 100:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 100), hard))
# build (a no-op when fresh): a stale binary would measure old code
if subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "reference-server"], cwd=ROOT).returncode != 0:
    sys.exit("idle_memory.py: cargo build --release -p reference-server failed")

server = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--log", "off", *EXTRA], stdout=subprocess.PIPE, text=True)
try:
    m = re.search(r"ws://([\d.]+):(\d+)/", server.stdout.readline())
    if not m:
        sys.exit("idle_memory.py: the server did not print its address")
    addr = (m.group(1), int(m.group(2)))

    def rss_kib():
        with open(f"/proc/{server.pid}/status") as f:
            return int(next(l for l in f if l.startswith("VmRSS")).split()[1])

    request = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    key = [1, 2, 3, 4]
    echo = bytes([0x81, 0x85, *key]) + bytes(b ^ key[i % 4] for i, b in enumerate(b"hello"))
    before = rss_kib()
    socks = []
    for _ in range(N):
        s = socket.create_connection(addr)
        s.sendall(request)
        socks.append(s)
    for s in socks:
        head = s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        s.sendall(echo)
    for s in socks:
        assert s.recv(64) == b"\x81\x05hello"
    time.sleep(0.5)
    after = rss_kib()
    print(f"{N} idle connections: server RSS {before} KiB -> {after} KiB, "
          f"{(after - before) * 1024 / N:.0f} bytes per connection")
finally:
    server.terminate()
    server.wait(timeout=10)

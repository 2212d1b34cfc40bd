#!/usr/bin/env python3
"""Measure what permessage-deflate (RFC 7692) costs the reference server in memory.

idle (default): starts target/release/reference-server, opens N connections
(default 10000) that each negotiate permessage-deflate with the given offer and
echo a few compressed messages (so each has used, and put away, its inflater,
its deflater and its history), then reports the growth of the server's resident
memory per connection. The same run without the extension is the baseline.

bomb: starts the server with --max-message-size 1MiB, opens one connection
(context takeover, window 15), warms it up, then sends on it one compressed
message of 512 MiB of zeros (about 0.5 MiB on the wire, 1028:1), expects close
1009, and reports how much the bomb raised the server's RSS: the peak resident
memory while the bomb is handled (VmHWM, reset to the current RSS just before
it through /proc/PID/clear_refs) minus the RSS just before it (VmRSS). It fails
beyond the limit + 64 KiB. `--threads 1` makes the figure steadier; the thread
count is printed with it.

Usage: python3 ci/idle_memory_deflate.py [N] [--offer plain|takeover|no-takeover] [--bomb [--threads T]]
(builds the release reference-server first, and runs the binary cargo built: CARGO_TARGET_DIR is honoured)
"""
import json, os, re, resource, socket, subprocess, sys, time, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OFFERS = {
    "plain": None,
    "takeover": "permessage-deflate; client_max_window_bits",
    "no-takeover": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
}
args = sys.argv[1:]
N = int(args[0]) if args and args[0].isdigit() else 10000
OFFER = OFFERS[args[args.index("--offer") + 1]] if "--offer" in args else OFFERS["takeover"]
BOMB = "--bomb" in args
EXTRA = ["--threads", args[args.index("--threads") + 1]] if "--threads" in args else []

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < N + 100:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 100), hard))
# build (a no-op when fresh): a stale binary would measure old code
if subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "reference-server"], cwd=ROOT).returncode != 0:
    sys.exit("idle_memory_deflate.py: cargo build --release -p reference-server failed")
# the binary just built, wherever cargo puts it (CARGO_TARGET_DIR, .cargo/config.toml): not a stale target/ copy
_meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, capture_output=True, text=True)
if _meta.returncode != 0:
    sys.exit("idle_memory_deflate.py: cargo metadata failed")
BIN = os.path.join(json.loads(_meta.stdout)["target_directory"], "release", "reference-server")


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith(field)).split()[1])


def frame(b0, payload):
    """A client frame masked with the all-zero key (valid, RFC 6455 §5.3, and the payload stays readable)."""
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n <= 0xFFFF:
        head = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


def request(offer):
    ext = f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else ""
    return (f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode()


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def read_frame(s):
    b0, b1 = recv_exactly(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exactly(s, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exactly(s, 8), "big")
    return b0, recv_exactly(s, n)


def start(*extra):
    server = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--log", "off", *extra], stdout=subprocess.PIPE, text=True)
    m = re.search(r"ws://([\d.]+):(\d+)/", server.stdout.readline())
    if not m:
        sys.exit("idle_memory_deflate.py: the server did not print its address")
    return server, (m.group(1), int(m.group(2)))


def idle():
    server, addr = start()
    try:
        # 40,000 bytes of text fill the 32 KiB history that context takeover keeps (the worst idle case)
        text = b" ".join(str(i * 7919 % 100003).encode() for i in range(7000))[:40000]
        messages = [b"Hello", text, b"Hello, hello, hello: a message that compresses well, well, well"]
        before = status_kib(server.pid, "VmRSS")
        socks = []
        for _ in range(N):
            s = socket.create_connection(addr)
            s.sendall(request(OFFER))
            socks.append(s)
        for s in socks:
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            assert head.startswith(b"HTTP/1.1 101"), head
            assert (b"permessage-deflate" in head) == bool(OFFER), head
        # every connection gets the same messages, so the same compressed bytes both ways: one client codec serves all
        no_context = bool(OFFER) and "no_context" in OFFER
        deflate, inflate = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)
        for message in messages:
            if OFFER:
                if no_context:
                    deflate, inflate = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)
                sent = frame(0xC1, (deflate.compress(message) + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4])
            else:
                sent = frame(0x81, message)
            for s in socks:
                s.sendall(sent)
            echoes = {read_frame(s) for s in socks}
            assert len(echoes) == 1, f"{len(echoes)} different echoes"
            b0, payload = echoes.pop()
            if OFFER:
                assert b0 == 0xC1, hex(b0)
                payload = inflate.decompress(payload + b"\0\0\xff\xff")
            assert payload == message, payload
        time.sleep(0.5)
        after = status_kib(server.pid, "VmRSS")
        print(f"{N} idle connections, offer {OFFER!r}: server RSS {before} KiB -> {after} KiB, "
              f"{(after - before) * 1024 / N:.0f} bytes per connection")
    finally:
        server.terminate()
        server.wait(timeout=30)


def bomb():
    limit = 1 << 20
    server, addr = start("--max-message-size", "1MiB", *EXTRA)
    try:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        zeros = bytes(1 << 20)
        inflated = 512 << 20
        payload = b"".join(c.compress(zeros) for _ in range(inflated >> 20)) + c.flush(zlib.Z_SYNC_FLUSH)
        payload = payload[:-4]
        # warm up: one connection that negotiates and echoes a compressed message and a plain one of 60000 bytes,
        # so the runtime exists and the per-thread pool of 64 KiB read and write buffers has been touched
        s = socket.create_connection(addr)
        s.sendall(request(OFFERS["takeover"]))
        assert s.recv(4096).startswith(b"HTTP/1.1 101")
        s.sendall(frame(0xC1, bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])))
        assert read_frame(s)[0] == 0xC1
        for _ in range(4):
            s.sendall(frame(0x82, bytes(60000)))
            assert read_frame(s)[0] == 0x82
        time.sleep(0.2)
        # the peak must be the bomb's alone: a VmHWM that starts from the warm-up's peak would hide memory the
        # warm-up touched and freed and the bomb touches again. "5" resets VmHWM to the current RSS (Linux >= 4.0;
        # the process's owner may write it)
        try:
            with open(f"/proc/{server.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError as e:
            sys.exit(f"idle_memory_deflate.py: cannot reset the server's peak RSS ({e}): no bomb figure")
        before = status_kib(server.pid, "VmRSS")
        s.sendall(frame(0xC2, payload))
        b0, body = read_frame(s)
        code = int.from_bytes(body[:2], "big")
        time.sleep(0.2)
        after = status_kib(server.pid, "VmHWM")
        threads = EXTRA[1] if EXTRA else "default"
        print(f"bomb: {len(payload)} bytes inflating to {inflated} ({inflated // len(payload)}:1), limit {limit}, "
              f"one connection, --threads {threads}: close {code}; server RSS before {before} KiB, peak during the "
              f"bomb {after} KiB: +{after - before} KiB, limit + {after - before - limit // 1024} KiB")
        assert b0 == 0x88 and code == 1009, (hex(b0), code)
        # the message stops at the limit, allocated once (no reallocation copy); beyond it the inflater's fixed
        # allocation (zlib-rs allocates its state and a 32 KiB window whatever the window bits: 47,552 bytes in
        # reference-server/tests/bomb_heap.rs) and the allocator's page granularity
        if after - before > limit // 1024 + 64:
            sys.exit("the bomb raised the RSS beyond the limit + 64 KiB")
    finally:
        server.terminate()
        server.wait(timeout=30)


bomb() if BOMB else idle()

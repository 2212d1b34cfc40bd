#!/usr/bin/env python3
"""Echo server on the `websockets` library (version pinned in requirements.txt): a widely used,
well-tested peer that wsharness and Autobahn|Testsuite should both rate OK.

Usage: python echo.py PORT        (loopback only; port 0 picks a free port)
Prints "python-websockets listening on ws://127.0.0.1:PORT/" once it accepts connections.
Every text or binary message is sent back as received (text as str, binary as bytes); the library
answers pings, validates UTF-8 and runs the closing handshake. Compression and keepalive pings are
off so that the only frames on the wire are the ones the test provokes; WS_DEFLATE=1 turns
permessage-deflate on with the library's defaults (its default when not told otherwise).
"""

import asyncio
import os
import signal
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port):
    # 64 MiB: above Autobahn 9.x's largest message (16 MiB)
    async with serve(
        echo,
        "127.0.0.1",
        port,
        compression="deflate" if os.environ.get("WS_DEFLATE") == "1" else None,
        max_size=64 * 1024 * 1024,
        ping_interval=None,
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"python-websockets listening on ws://127.0.0.1:{bound}/", flush=True)
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        await stop


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) > 65535:
        sys.exit("usage: echo.py PORT")
    asyncio.run(main(int(sys.argv[1])))

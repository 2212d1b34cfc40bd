#!/usr/bin/env python3
"""Autobahn|Testsuite client runner for the `websockets` library (the version in
ci/peers/python-websockets/requirements.txt): the client half under test.

Usage: python runner.py [BASE_URL] [AGENT]     (default ws://127.0.0.1:9001, python-websockets)
Env: JOBS (default 1): cases run at once, each on its own connection (Autobahn's runners run one at a time).

Speaks the fuzzing server's API (Autobahn's `wstest -m fuzzingserver`, later `wsharness serve`):
GET /getCaseCount (a text message with the count), then /runCase?case=N&agent=AGENT for N = 1..count
(every message echoed as received until the server closes), then /updateReports?agent=AGENT.
The library keeps its defaults (compression offered, UTF-8 checked, pings answered) except the
message size limit: Autobahn 9.x sends up to 16 MiB. Keepalive pings are off so that the only
frames on the wire are the ones a case provokes.
"""

import asyncio
import os
import sys
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

BASE = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
AGENT = sys.argv[2] if len(sys.argv) > 2 else "python-websockets"
# the agent as a query value (a name with spaces or & must reach the server whole)
AGENT_Q = quote(AGENT, safe="")
try:
    JOBS = max(1, int(os.environ.get("JOBS") or 1))
except ValueError:
    raise SystemExit(f"JOBS={os.environ['JOBS']!r}: a number of cases to run at once, 1 or more")
OPTIONS = {"max_size": 64 * 1024 * 1024, "ping_interval": None, "open_timeout": 30, "close_timeout": 10}


async def case_count():
    async with connect(f"{BASE}/getCaseCount", **OPTIONS) as ws:
        return int(await ws.recv())


async def run_case(n):
    try:
        async with connect(f"{BASE}/runCase?case={n}&agent={AGENT_Q}", **OPTIONS) as ws:
            async for message in ws:
                await ws.send(message)
    except (WebSocketException, OSError, asyncio.TimeoutError):
        # the case failed the connection on purpose, or the client refused something: the server judges
        pass


async def main():
    count = await case_count()
    if count < 1:
        raise SystemExit(f"{AGENT}: getCaseCount gave {count} cases (is the server at {BASE}?)")
    print(f"{AGENT}: {count} cases", flush=True)
    cases = iter(range(1, count + 1))

    async def worker():
        for n in cases:
            await run_case(n)

    await asyncio.gather(*(worker() for _ in range(JOBS)))
    async with connect(f"{BASE}/updateReports?agent={AGENT_Q}", **OPTIONS) as ws:
        await ws.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())

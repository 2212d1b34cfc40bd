#!/usr/bin/env python3
"""A TCP relay that holds every byte for DELAY_MS in each direction: netem's `delay` in user space.

ci/netns_shards.sh proves the load generator's latency figures with a known added delay. The kernel's netem qdisc
(sch_netem) is the tool for that; where the kernel lacks it, this relay stands in: the shards connect to it and it
to the server, and every chunk read on one side is written to the other DELAY_MS after it was read, in order. A
round through the relay with --delay-ms 0 is the baseline, so the relay's own cost is in both rounds and only the
delay differs.

usage: delay_relay.py --listen HOST:PORT --to HOST:PORT --delay-ms D [--max-connections N]
Prints "delay_relay listening on HOST:PORT" once it accepts. Bounded: at most --max-connections relayed at once
(more are refused), and at most 4 MiB held per direction of a connection (reading pauses until it drains).
Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import signal
import sys

CHUNK = 64 * 1024
HELD_CAP = 4 * 1024 * 1024


def host_port(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


async def pump(reader, writer, delay_s):
    """Copies reader to writer, each chunk written delay_s after it was read, in order."""
    loop = asyncio.get_running_loop()
    held = asyncio.Queue()
    room = asyncio.Semaphore(HELD_CAP // CHUNK)

    async def read_side():
        while True:
            await room.acquire()
            data = await reader.read(CHUNK)
            await held.put((loop.time() + delay_s, data))
            if not data:
                return

    async def write_side():
        while True:
            due, data = await held.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            room.release()
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read_side(), write_side())


async def relay(args, client_reader, client_writer, slots):
    if slots.locked():
        client_writer.close()
        return
    async with slots:
        try:
            up_reader, up_writer = await asyncio.open_connection(*args.to)
        except OSError as e:
            print(f"delay_relay: cannot reach {args.to[0]}:{args.to[1]}: {e}", file=sys.stderr)
            client_writer.close()
            return
        delay_s = args.delay_ms / 1000
        try:
            await asyncio.gather(pump(client_reader, up_writer, delay_s), pump(up_reader, client_writer, delay_s))
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (client_writer, up_writer):
                w.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=host_port, required=True)
    parser.add_argument("--to", type=host_port, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--max-connections", type=int, default=1024)
    args = parser.parse_args()
    if args.delay_ms < 0:
        parser.error("--delay-ms must not be negative")
    slots = asyncio.Semaphore(args.max_connections)
    server = await asyncio.start_server(lambda r, w: relay(args, r, w, slots), *args.listen)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print(f"delay_relay listening on {args.listen[0]}:{args.listen[1]}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())

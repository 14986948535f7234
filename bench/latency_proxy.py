"""A TCP proxy that makes a fast server slow: what the client sends reaches the server
``--delay`` seconds later (answers come back at once), so each HTTP request takes about
that much longer, as Avarda's do over the internet.

    python -m bench.latency_proxy --port 8001 --target 127.0.0.1:5001 --delay 0.1

It also counts the Avarda calls passing through: one line per request on stdout,
``<unix time> <method name>`` (for example ``GetPaymentStatus``), and one line
``<unix time> purchase <id>`` per ``PurchaseId`` in a request body, flushed at once.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time

CALL = re.compile(rb"POST /CheckOut2/CheckOut2Api/(?:Commerce/)?(\w+) HTTP/1\.[01]\r\n")
PURCHASE = re.compile(rb'"PurchaseId"\s*:\s*"([0-9A-Za-z_-]{1,64})"')


async def _forward_delayed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def feed() -> None:
        tail = b""
        while data := await reader.read(65536):
            seen = tail + data
            for match in CALL.finditer(seen):
                if match.end() > len(tail):  # not counted with the previous chunk
                    print(f"{time.time():.6f} {match.group(1).decode()}", flush=True)
            for match in PURCHASE.finditer(seen):
                if match.end() > len(tail):
                    print(f"{time.time():.6f} purchase {match.group(1).decode()}", flush=True)
            tail = seen[-200:]
            await queue.put((loop.time() + delay, data))
        await queue.put((loop.time() + delay, b""))

    async def drain() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(feed(), drain())


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def _serve(port: int, host: str, target_port: int, delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, target_port)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(
                _forward_delayed(client_r, server_w, delay), _forward(server_r, client_w)
            )
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (server_w, client_w):
                w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True, help="host:port of the real server")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds (default 0.1)")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    asyncio.run(_serve(args.port, host, int(port), args.delay))


if __name__ == "__main__":
    main()

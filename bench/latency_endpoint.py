"""A stand-in of API Gateway's ``@connections`` on 127.0.0.1 with injected latency (benchmark 3).

``python -m bench.latency_endpoint --delay-ms 5`` prints ``{"port": N}`` and then answers every
``POST /{stage}/@connections/{id}`` with ``200`` (empty body, kept alive) ``delay-ms`` after
the request arrived, each request on its own timer (so concurrent requests overlap, as they do
against a service a few ms away). ``GET /count`` answers how many posts were answered so far.

Why not the emulator behind a delay proxy: the emulator then also has to push each message to a
WebSocket client, and on this machine that bounds the figure at a few thousand messages per
second, whoever sends (issue 12 §5: earlier figures measured the receiver, not the sender). This
process does only what a nearby API Gateway does for the sender: read the request, wait, answer.
It is an ``asyncio.Protocol`` with a minimal parser (request head + ``Content-Length``): no
per-request task, so it is never the slower side at the rates measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

__all__ = ["main"]

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"


class _Counter:
    def __init__(self) -> None:
        self.answered = 0


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float, counter: _Counter) -> None:
        self.loop = loop
        self.delay = delay
        self.counter = counter
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)])
            if len(buffer) < end + 4 + length:
                return
            del buffer[: end + 4 + length]
            if head.startswith(b"GET /count"):
                body = json.dumps({"answered": self.counter.answered}).encode()
                self._write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            elif self.delay > 0:
                self.loop.call_later(self.delay, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        self.counter.answered += 1
        self._write(_OK)

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def _serve(delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    counter = _Counter()
    server = await loop.create_server(
        lambda: _Connection(loop, delay_ms / 1000, counter), "127.0.0.1", 0, backlog=512
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()
    # Serve until stdin closes (the benchmark ends or dies): no orphan left behind.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_endpoint")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(_serve(args.delay_ms))


if __name__ == "__main__":
    main()

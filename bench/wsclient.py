"""The WebSocket client the emulator benchmarks run, in its own process (the same script for
cdk-ws-api and serverless-offline). Only ``ws://127.0.0.1`` URLs; every wait is bounded.

``python -m bench.wsclient load URL --action echo --clients 20 --messages 100``
    Closed loop: each client sends ``{"action": ..., "c": i, "n": n}`` and waits for the
    echo before the next; warm-up messages first, then all clients start together. Prints
    one JSON line: received, elapsed, msgs/s, p50/p99 latency (ms), errors.

``python -m bench.wsclient hold URL --clients N``
    Opens N connections (for at most ``--open-seconds``) and prints ``{"connected",
    "failed", "ids", "seconds"}`` (ids via ``whoami`` when ``--ids``); then obeys stdin
    lines: ``count TAG EXPECTED TIMEOUT`` (wait until EXPECTED text frames equal to TAG
    arrived, print ``{"received", "last"}`` with ``last`` on ``time.monotonic()``),
    ``probe K`` (K random connections, one after the other, send ``reply`` and must get
    their echo back, print ``{"probed", "echoed", "open"}``), ``open`` and ``quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .core import percentile
from .proc import raise_file_limit

__all__ = ["main"]

MESSAGE_TIMEOUT = 15.0


def _check_url(url: str) -> str:
    if not url.startswith(("ws://127.0.0.1:", "ws://localhost:")):
        raise SystemExit(f"refusing {url!r}: the benchmarks only target 127.0.0.1")
    return url


async def _open(url: str) -> ClientConnection:
    return await connect(
        url, open_timeout=60, close_timeout=2, ping_interval=None, compression=None, max_size=None
    )


async def _roundtrip(ws: ClientConnection, message: dict[str, Any]) -> float:
    """Send ``message`` and wait for the same text back; returns the latency in seconds."""
    text = json.dumps(message, separators=(",", ":"))
    started = time.perf_counter()
    # One deadline for the whole round trip with asyncio.timeout: wait_for would start a task
    # per receive, CPU the client shares with the server under test on this machine.
    async with asyncio.timeout(MESSAGE_TIMEOUT):
        await ws.send(text)
        while True:
            answer = await ws.recv()
            if answer == text or json.loads(answer) == message:
                return time.perf_counter() - started


async def _load(args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    ready = 0
    all_ready = asyncio.Event()

    def arrived() -> None:
        nonlocal ready
        ready += 1
        if ready == args.clients:
            all_ready.set()

    async def client(index: int) -> None:
        try:
            ws = await _open(args.url)
        except Exception as exc:
            errors[f"connect: {type(exc).__name__}"] += 1
            arrived()
            return
        try:
            for n in range(args.warmup):
                await _roundtrip(ws, {"action": args.action, "c": index, "n": -1 - n})
            arrived()
            await all_ready.wait()
            for n in range(args.messages):
                latencies.append(await _roundtrip(ws, {"action": args.action, "c": index, "n": n}))
        except Exception as exc:
            errors[type(exc).__name__] += 1
            arrived()
        finally:
            await ws.close()

    tasks = [asyncio.create_task(client(i)) for i in range(args.clients)]
    await all_ready.wait()
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {
        "received": len(latencies),
        "expected": args.clients * args.messages,
        "elapsed": elapsed,
        "rate": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": dict(errors),
    }


class _Holder:
    """N open connections counting the frames they receive."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sockets: list[ClientConnection] = []
        self.ids: list[str] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.last: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.failed = 0
        self.replies: dict[int, asyncio.Future[str]] = {}

    async def open(self, clients: int, parallel: int, with_ids: bool) -> None:
        gate = asyncio.Semaphore(parallel)

        async def one() -> None:
            async with gate:
                try:
                    ws = await _open(self.url)
                    if with_ids:
                        await ws.send('{"action":"whoami"}')
                        answer = await asyncio.wait_for(ws.recv(), MESSAGE_TIMEOUT)
                        self.ids.append(json.loads(answer)["connectionId"])
                except Exception:
                    self.failed += 1
                    return
            self.sockets.append(ws)
            asyncio.get_running_loop().create_task(self._listen(ws))

        await asyncio.gather(*(one() for _ in range(clients)))

    async def _listen(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                text = frame if isinstance(frame, str) else frame.decode()
                future = self.replies.pop(id(ws), None)
                if future is not None and not future.done():
                    future.set_result(text)
                    continue
                self.counts[text] += 1
                self.last[text] = time.monotonic()
                self.changed.set()
        except Exception:  # a closed connection stops counting; that is the measurement
            return

    async def count(self, tag: str, expected: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while self.counts[tag] < expected and time.monotonic() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
        return {"received": self.counts[tag], "last": self.last.get(tag)}

    async def probe(self, sample: int) -> dict[str, Any]:
        chosen = random.sample(self.sockets, min(sample, len(self.sockets)))

        async def one(ws: ClientConnection, n: int) -> bool:
            message = json.dumps({"action": "reply", "probe": n}, separators=(",", ":"))
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self.replies[id(ws)] = future
            try:
                await ws.send(message)
                return await asyncio.wait_for(future, MESSAGE_TIMEOUT) == message
            except Exception:
                return False
            finally:
                self.replies.pop(id(ws), None)

        # One at a time: the probe checks that idle connections still work, not a burst.
        results = [await one(ws, n) for n, ws in enumerate(chosen)]
        return {"probed": len(chosen), "echoed": sum(results), "open": self._open_count()}

    def _open_count(self) -> int:
        return sum(1 for ws in self.sockets if ws.close_code is None)

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


def _emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def _hold(args: argparse.Namespace) -> None:
    holder = _Holder(args.url)
    started = time.perf_counter()
    opening = asyncio.ensure_future(holder.open(args.clients, args.parallel, args.ids))
    try:  # bounded: past --open-seconds, what is connected is what gets reported
        await asyncio.wait_for(asyncio.shield(opening), args.open_seconds)
    except asyncio.TimeoutError:
        opening.cancel()
        await asyncio.gather(opening, return_exceptions=True)
    _emit(
        {
            "connected": len(holder.sockets),
            "failed": holder.failed,
            "ids": holder.ids,
            "seconds": time.perf_counter() - started,
        }
    )
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(
                loop.run_in_executor(None, sys.stdin.readline), deadline - time.monotonic()
            )
            words = line.split()
            if not words or words[0] == "quit":
                return
            if words[0] == "count":
                tag, expected, timeout = words[1], int(words[2]), float(words[3])
                _emit(await holder.count(tag, expected, timeout))
            elif words[0] == "probe":
                _emit(await holder.probe(int(words[1])))
            elif words[0] == "open":
                _emit({"open": holder._open_count()})
    except asyncio.TimeoutError:
        return
    finally:
        await holder.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wsclient")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load")
    load.add_argument("url", type=_check_url)
    load.add_argument("--action", default="echo", choices=["echo", "reply"])
    load.add_argument("--clients", type=int, default=20)
    load.add_argument("--messages", type=int, default=100)
    load.add_argument("--warmup", type=int, default=5)
    load.add_argument("--max-seconds", type=float, default=300.0)
    hold = commands.add_parser("hold")
    hold.add_argument("url", type=_check_url)
    hold.add_argument("--clients", type=int, default=1000)
    hold.add_argument("--parallel", type=int, default=100)
    hold.add_argument("--ids", action="store_true", help="learn each connection id (whoami)")
    hold.add_argument("--open-seconds", type=float, default=300.0)
    hold.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    raise_file_limit(2 * args.clients + 1000)
    if args.command == "load":
        try:
            result = asyncio.run(asyncio.wait_for(_load(args), args.max_seconds))
        except asyncio.TimeoutError:
            result = {"error": f"did not finish in {args.max_seconds:g} s"}
        _emit(result)
    else:
        asyncio.run(_hold(args))


if __name__ == "__main__":
    main()

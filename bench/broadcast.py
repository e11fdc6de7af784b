"""Benchmark 3, broadcast: what the sender costs, and what a user would otherwise write.

Three senders post the same ~100-byte message to 1,000 connection ids of an ``@connections``
stand-in on 127.0.0.1 (:mod:`bench.latency_endpoint`, another process) that answers each post
``200`` after 0 ms or 5 ms of injected latency (in-region API Gateway is a few ms away):

- **naive loop**: ``post_to_connection`` per id, one after the other, a default boto3 client;
- **thread pool**: what a competent user writes: ``ThreadPoolExecutor(16)`` mapping
  ``post_to_connection`` over the ids, one boto3 client with ``max_pool_connections=16``;
- **ours**: ``Connections(endpoint).broadcast(ids, message)`` (defaults: ``max_workers=16``).

Measures, per variant and latency, each from one *round*: the sender sends the whole id list
again and again until at least ``SECONDS`` of sending have passed, then

- **sender CPU per 1,000 deliveries**: ``time.process_time()`` of this process (the sender
  only: user + system time of all its threads; the endpoint is another process) over the
  posts the endpoint answered;
- **delivered msgs/s**: posts the endpoint answered (its own count, read before and after)
  over the round's wall time.

Every round runs all six (variant, latency) pairs, in an order rotated from round to round,
after one warm-up pass of each (clients, connections and credentials made; not measured).
Medians over the rounds are reported, with each round's figures in the notes.

Run alone: ``python -m bench.broadcast [--quick]``.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from .core import ROOT, Report, Row, main, median, python

__all__ = ["FAKE_AWS", "SENDERS", "LatencyEndpoint", "run"]

NAIVE, POOL, OURS = "naive loop", "ThreadPoolExecutor(16)", "Connections.broadcast"
LATENCIES_MS = (0.0, 5.0)
SECONDS = 5.0  # of sending per variant per round, at least
ROUNDS = 5
IDS = 1000
MESSAGE = json.dumps({"action": "chat", "data": {"text": "x" * 60, "from": "bench"}}).encode()
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHBROADCAST00",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}

#: Sends ``message`` once to every id.
Send = Callable[[list[str], bytes], None]


def naive(endpoint: str) -> Send:
    import boto3

    client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)

    def send(ids: list[str], message: bytes) -> None:
        for connection_id in ids:
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=message)
            except Exception:
                continue

    return send


def thread_pool(endpoint: str) -> Send:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        config=Config(max_pool_connections=16),
    )

    def post(connection_id: str, message: bytes) -> None:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=message)
        except Exception:
            return

    def send(ids: list[str], message: bytes) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(post, ids, [message] * len(ids)))

    return send


def ours(endpoint: str) -> Send:
    from lambda_runtime import Connections

    connections = Connections(endpoint)

    def send(ids: list[str], message: bytes) -> None:
        connections.broadcast(ids, message)

    return send


SENDERS: dict[str, Callable[[str], Send]] = {NAIVE: naive, POOL: thread_pool, OURS: ours}


class LatencyEndpoint:
    """``with LatencyEndpoint(delay_ms) as endpoint:`` → ``endpoint.url`` (a stage URL) and
    ``endpoint.answered()`` (posts answered so far)."""

    def __init__(self, delay_ms: float) -> None:
        self.process = subprocess.Popen(
            [python(), "-m", "bench.latency_endpoint", "--delay-ms", str(delay_ms)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("bench.latency_endpoint did not start")
        self.port = int(json.loads(line)["port"])
        self.url = f"http://127.0.0.1:{self.port}/bench"

    def answered(self) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/count")
            return int(json.loads(connection.getresponse().read())["answered"])
        finally:
            connection.close()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # it serves until its stdin closes
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> LatencyEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Figures:
    """One round of one variant at one latency."""

    def __init__(self, delivered: int, wall: float, cpu: float) -> None:
        self.delivered = delivered
        self.wall = wall
        self.cpu = cpu

    @property
    def rate(self) -> float:
        return self.delivered / self.wall

    @property
    def cpu_ms_per_1000(self) -> float:
        return self.cpu * 1000 * 1000 / max(self.delivered, 1)


def measure(send: Send, ids: list[str], endpoint: LatencyEndpoint, seconds: float) -> Figures:
    before = endpoint.answered()
    cpu = time.process_time()
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        send(ids, MESSAGE)
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu
    return Figures(endpoint.answered() - before, wall, cpu)


def run(quick: bool) -> Report:
    os.environ.update(FAKE_AWS)
    rounds, seconds, count = (1, 1.0, 100) if quick else (ROUNDS, SECONDS, IDS)
    ids = [f"bench-{i:05d}AAAA=" for i in range(count)]
    report = Report(
        name="broadcast",
        title=f"3. Broadcast to {count:,} connections: sender CPU and delivered msgs/s "
        "(0 ms and 5 ms per @connections request)",
        command="python -m bench.broadcast",
    )
    figures: dict[tuple[str, float], list[Figures]] = {
        (name, latency): [] for name in SENDERS for latency in LATENCIES_MS
    }
    endpoints = {latency: LatencyEndpoint(latency) for latency in LATENCIES_MS}
    try:
        senders = {
            (name, latency): make(endpoints[latency].url)
            for name, make in SENDERS.items()
            for latency in LATENCIES_MS
        }
        for send in senders.values():  # warm-up: clients, connections, credentials
            send(ids[:50], MESSAGE)
        pairs = list(senders)
        for round_index in range(rounds):
            shift = round_index % len(pairs)
            for pair in pairs[shift:] + pairs[:shift]:  # rotated: each runs early and late
                figures[pair].append(measure(senders[pair], ids, endpoints[pair[1]], seconds))
    finally:
        for endpoint in endpoints.values():
            endpoint.close()
    _rows(report, figures)
    report.notes += [
        f"{rounds} round(s), each sending the {count:,} ids again and again for at least "
        f"{seconds:g} s per variant and latency; the six (variant, latency) pairs rotate their "
        "order from round to round. Medians over the rounds.",
        "Sender CPU is time.process_time() of the benchmark process (the sender alone: all its "
        "threads, user + system); the @connections stand-in (bench/latency_endpoint.py) runs in "
        "another process and answers each post 200 after the injected delay.",
    ]
    for (name, latency), values in figures.items():
        report.notes.append(
            f"{name} at {latency:g} ms, per round: "
            + "; ".join(
                f"{f.rate:,.0f} msgs/s, {f.cpu_ms_per_1000:,.1f} ms CPU/1,000 "
                f"({f.delivered:,} in {f.wall:.1f} s)"
                for f in values
            )
        )
    return report


def _rows(report: Report, figures: dict[tuple[str, float], list[Figures]]) -> None:
    def cpu(f: Figures) -> float:
        return f.cpu_ms_per_1000

    def rate(f: Figures) -> float:
        return f.rate

    # (metric, unit, figure, higher is better, latencies with a target, (peer, factor)...)
    measures: list[tuple[str, str, Callable[[Figures], float], bool, tuple[float, ...], Any]] = [
        (
            "sender CPU per 1,000 deliveries",
            "ms",
            cpu,
            False,
            LATENCIES_MS,
            ((NAIVE, 10), (POOL, 5)),
        ),
        ("delivered msgs/s", "msgs/s", rate, True, (5.0,), ((NAIVE, 10), (POOL, 1))),
    ]
    for metric, unit, figure, higher, targeted, peers in measures:
        for latency in LATENCIES_MS:
            for peer, factor in peers:
                ours_value = median([figure(f) for f in figures[(OURS, latency)]])
                peer_value = median([figure(f) for f in figures[(peer, latency)]])
                if latency not in targeted:
                    target, met = "", None
                elif higher:
                    target, met = f"≥ {factor}x the {peer}'s", ours_value >= factor * peer_value
                else:
                    target, met = f"≤ 1/{factor} of the {peer}'s", ours_value * factor <= peer_value
                report.rows.append(
                    Row(
                        metric=f"{metric}, {latency:g} ms latency",
                        ours=ours_value,
                        peer=peer_value,
                        unit=unit,
                        peer_name=peer,
                        target=target,
                        met=met,
                        higher_is_better=higher,
                    )
                )


if __name__ == "__main__":
    main(run, __name__)

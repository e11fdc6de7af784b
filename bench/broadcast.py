"""Benchmark 3, broadcast fan-out through ``@connections`` on the local emulator.

1,000 WebSocket clients (another process, :mod:`bench.holder`) connect to the emulator and
learn their connection ids. This process then sends one message to all of them, alternately
with ``lambda_runtime.Connections.broadcast`` (defaults: 16 threads, one shared client) and
with a naive sequential boto3 loop (``post_to_connection`` per id, a default client). Only
the frames the clients actually received count: the rate is received frames divided by the
time from the first send to the last frame's arrival (``time.monotonic`` in both processes).
Every round uses its own payload; rounds alternate; medians are reported.

Run alone: ``python -m bench.broadcast [--quick]``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .core import Deadline, Report, Row, main, median
from .emulator import LocalEmulator
from .holder import Holder
from .proc import raise_file_limit

__all__ = ["run"]

OURS, PEER = "Connections.broadcast", "naive boto3 loop"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHBROADCAST00",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}

Sender = Callable[[list[str], str, Deadline], None]


def _ours(endpoint: str) -> Sender:
    from lambda_runtime import Connections

    connections = Connections(endpoint)

    def send(ids: list[str], payload: str, deadline: Deadline) -> None:
        connections.broadcast(ids, payload)

    return send


def _naive(endpoint: str) -> Sender:
    import boto3

    client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)

    def send(ids: list[str], payload: str, deadline: Deadline) -> None:
        for connection_id in ids:
            if deadline.expired:  # bounded: what was not sent is simply not received
                return
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=payload.encode())
            except Exception:
                continue

    return send


def run(quick: bool) -> Report:
    raise_file_limit()
    os.environ.update(FAKE_AWS)
    clients, rounds = (100, 1) if quick else (1000, 3)
    rates: dict[str, list[float]] = {OURS: [], PEER: []}
    received: dict[str, list[int]] = {OURS: [], PEER: []}
    report = Report(
        name="broadcast",
        title=f"3. Broadcast fan-out to {clients:,} clients through @connections (emulator)",
        command="python -m bench.broadcast",
    )
    with (
        LocalEmulator() as emulator,
        Holder(emulator.websocket_url, clients=clients, ids=True) as holder,
    ):
        ids: list[str] = holder.opened["ids"]
        senders = {OURS: _ours(emulator.management_url), PEER: _naive(emulator.management_url)}
        for round_index in range(rounds + 1):  # round 0 warms both up
            for name, send in senders.items():
                tag = f"round-{round_index}-{name.split()[0]}"
                started = time.monotonic()
                send(ids, tag, Deadline(300))
                sent = time.monotonic() - started
                counted = holder.ask(f"count {tag} {len(ids)} {max(30.0, sent)}", timeout=400)
                if round_index == 0:
                    continue
                last = counted["last"] or time.monotonic()
                received[name].append(int(counted["received"]))
                rates[name].append(counted["received"] / max(last - started, 1e-9))
        report.notes.append(
            f"{holder.opened['connected']} of {clients} clients connected "
            f"({holder.opened['failed']} failed) in {holder.opened['seconds']:.1f} s; "
            f"{len(ids)} connection ids learned."
        )
    ours, peer = median(rates[OURS]), median(rates[PEER])
    report.rows.append(
        Row(
            metric="delivered messages/s (received by the clients, median)",
            ours=ours,
            peer=peer,
            unit="msgs/s",
            peer_name=PEER,
            target="≥ 10x the naive loop",
            met=ours >= 10 * peer,
        )
    )
    report.rows.append(
        Row(
            metric="delivered messages/s, absolute target of the issue",
            ours=ours,
            peer=None,
            unit="msgs/s",
            target="≥ 1,000 msgs/s on this machine",
            met=ours >= 1000,
        )
    )
    report.notes += [
        f"{rounds} round(s) after one warm-up round, alternating; frames received per round: "
        f"{OURS} {received[OURS]}, {PEER} {received[PEER]} (of {clients}).",
        "The sender runs in the benchmark's process, the clients in another; the emulator in "
        "a third (with its workers, and moto if it started one).",
    ]
    return report


if __name__ == "__main__":
    main(run, __name__)

"""Benchmark 7, fan-out: one broadcast through the SQS fan-out against one
``Connections.broadcast``, to connections held by the emulator, counting what they received.

The emulator serves the echo service (:mod:`bench.emulator`); a client process
(:mod:`bench.holder`) holds the connections and counts the frames each tag arrived as. Then,
alternating, round after round:

- **direct**: one ``Connections(management_url).broadcast(ids, tag)`` from this process (what
  one invocation does);
- **fan-out**: ``lambda_runtime.fanout.publish(tag, connection_ids=ids)`` to a queue on a moto
  server, and ``lambda_runtime.fanout.FanoutWorker`` fed from that queue the way Lambda's SQS
  event source feeds the consumer (receive up to 10, handle, delete what succeeded), one
  batch at a time like the emulator's event source (so: one consumer, no parallelism).

The time of a variant runs from its first call to the last frame counted; every variant must
deliver to every connection. Locally the fan-out can only add its overhead (SQS round trips,
message encoding), as one consumer on a 2-core machine shares the sender's CPU; on AWS its
consumers run in parallel (see ``docs/fanout.md`` for that arithmetic).

Run alone: ``python -m bench.fanout [--quick]``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import statistics
import time
import uuid
from typing import Any

from .broadcast import FAKE_AWS
from .core import Report, Row, main
from .emulator import LocalEmulator
from .holder import Holder
from .proc import raise_file_limit

__all__ = ["run"]

OURS, PEER = "fan-out (SQS + consumer)", "one Connections.broadcast"
#: Connections opened at a time (each runs $connect and whoami).
PARALLEL = 50
#: The fan-out's pace: the account quota (the local run is bound by the machine, not this).
RATE = 10_000


def _consume(worker: Any, sqs: Any, url: str) -> int:
    """Feed ``worker`` from the queue until it is empty; return the batches handled."""
    from cdk_ws_api.local.event_sources import sqs_event
    from cdk_ws_api.local.specs import EventSourceMappingSpec, QueueSpec

    name = url.rsplit("/", 1)[-1]
    queue = QueueSpec("Queue", name, f"arn:aws:sqs:us-east-1:123456789012:{name}")
    mapping = EventSourceMappingSpec("Mapping", "Consumer", queue, batch_size=10)
    batches = idle = 0
    while idle < 2:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            idle += 1
            continue
        idle = 0
        event = sqs_event(messages, mapping, "us-east-1")  # the emulator's event shape
        failed = {f["itemIdentifier"] for f in worker.handle(event)["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        batches += 1
    return batches


def run(quick: bool) -> Report:
    import boto3
    from moto.server import ThreadedMotoServer

    from lambda_runtime import Connections, fanout

    raise_file_limit()
    os.environ.update(FAKE_AWS)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log
    clients, rounds = (200, 1) if quick else (10_000, 3)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    sqs = boto3.client("sqs", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
    url = sqs.create_queue(QueueName="bench-fanout", Attributes={"VisibilityTimeout": "300"})[
        "QueueUrl"
    ]
    times: dict[str, list[float]] = {OURS: [], PEER: []}
    received: dict[str, list[int]] = {OURS: [], PEER: []}
    messages: list[int] = []
    try:
        with (
            LocalEmulator() as server,
            Holder(
                server.websocket_url, clients=clients, ids=True, parallel=PARALLEL, timeout=1800
            ) as holder,
        ):
            ids: list[str] = holder.opened["ids"]
            connections = Connections(server.management_url)
            worker = fanout.FanoutWorker(connections=connections, rate=RATE, concurrency=1)
            connections.broadcast(ids[:20], "warm-up")  # clients, credentials, keep-alive

            def direct(tag: str) -> None:
                result = connections.broadcast(ids, tag)
                assert result.ok, list(result.failed.items())[:3]

            def fanned(tag: str) -> None:
                fanout.publish(tag, connection_ids=ids, queue_url=url, client=sqs)
                messages.append(_consume(worker, sqs, url))

            for round_index in range(rounds):
                order = [(OURS, fanned), (PEER, direct)]
                if round_index % 2:
                    order.reverse()
                for name, send in order:
                    tag = f"{name[:3]}-{round_index}-{uuid.uuid4().hex[:6]}"
                    started = time.monotonic()
                    with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
                        send(tag)
                    counted = holder.ask(f"count {tag} {len(ids)} 600", timeout=660)
                    received[name].append(counted["received"])
                    times[name].append((counted["last"] or time.monotonic()) - started)
            opened = holder.opened
    finally:
        moto.stop()
    return _report(clients, rounds, opened, ids, times, received, messages)


def _report(
    clients: int,
    rounds: int,
    opened: dict[str, Any],
    ids: list[str],
    times: dict[str, list[float]],
    received: dict[str, list[int]],
    messages: list[int],
) -> Report:
    held = len(ids)
    report = Report(
        name="fanout",
        title=f"8. One broadcast to {held:,} held connections: through the SQS fan-out and "
        "through one Connections.broadcast",
        command="python -m bench.fanout",
    )
    ours, peer = statistics.median(times[OURS]), statistics.median(times[PEER])
    report.rows += [
        Row(
            metric="connections that received the fan-out's message (every round)",
            ours=min(received[OURS]),
            peer=min(received[PEER]),
            unit=f"of {held:,}",
            peer_name=PEER,
            target="all delivered",
            met=min(received[OURS]) == held and min(received[PEER]) == held,
        ),
        Row(
            metric="time from the call to the last frame received (median)",
            ours=ours,
            peer=peer,
            unit="s",
            peer_name=PEER,
            higher_is_better=False,
        ),
        Row(
            metric="delivered msgs/s (median)",
            ours=held / ours,
            peer=held / peer,
            unit="msgs/s",
            peer_name=PEER,
        ),
    ]
    report.notes += [
        f"{clients:,} connections asked for, {opened['connected']:,} opened "
        f"({opened['failed']} failed) in {opened['seconds']:.0f} s, {PARALLEL} at a time.",
        f"{rounds} round(s), the two variants alternating first. Per round: "
        + "; ".join(
            f"fan-out {a:.2f} s ({ra:,} received), direct {b:.2f} s ({rb:,} received)"
            for a, b, ra, rb in zip(
                times[OURS], times[PEER], received[OURS], received[PEER], strict=True
            )
        )
        + f". Consumer batches per fan-out round: {messages}.",
        f"Fan-out: {fanout_messages(held)} SQS messages of at most "
        "500 ids on a moto server, one consumer handling batches of up to 10 (as the "
        "emulator's SQS event source runs one batch at a time), paced at 10,000 posts/s. "
        "On AWS, reserved_concurrency consumers deliver in parallel: at 10,000 posts/s "
        f"{held:,} connections take {held / 10_000:.1f} s, 1,000,000 take 100 s "
        "(docs/fanout.md).",
    ]
    return report


def fanout_messages(connections: int) -> int:
    from lambda_runtime.fanout import DEFAULT_IDS_PER_MESSAGE

    return -(-connections // DEFAULT_IDS_PER_MESSAGE)


if __name__ == "__main__":
    main(run, __name__)

"""End to end: ``BroadcastFanout`` in a real ``cdk-ws-api local`` process (queue and
dead-letter queue on the embedded moto server, the consumer run by the emulator's SQS event
source), with real WebSocket clients (``fanout_app/``)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import recv_json, synth
from integration_helpers import aws_client
from websockets.sync.client import ClientConnection

from cdk_ws_api.testing import LocalProcess, run_local

APP = Path(__file__).resolve().parent / "fanout_app" / "app.py"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    assembly = synth(APP, tmp_path_factory.mktemp("fanout-app"))
    running = run_local(["--assembly", str(assembly), "--stack", "FanoutStack"])
    yield running
    assert running.stop() == 0


def _queues(emulator: LocalProcess) -> tuple[str, str]:
    urls = aws_client(emulator, "sqs").list_queues()["QueueUrls"]
    (queue,) = [u for u in urls if "FanoutQueue" in u]
    (dead,) = [u for u in urls if "FanoutDeadLetters" in u]
    return queue, dead


def _empty(emulator: LocalProcess, url: str, timeout: float = 120) -> None:
    """Wait until no message is on ``url``, visible or in flight."""
    sqs = aws_client(emulator, "sqs")
    deadline = time.monotonic() + timeout
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if all(attributes[n] == "0" for n in names):
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} still holds messages:\n{emulator.log[-3000:]}")


def _room(
    stack: contextlib.ExitStack, emulator: LocalProcess, room: str, count: int
) -> list[ClientConnection]:
    return [stack.enter_context(emulator.connect(f"room={room}")) for _ in range(count)]


def _publish(emulator: LocalProcess, room: str, data: Any, per: int) -> str:
    with emulator.connect("room=publishers") as ws:
        ws.send(json.dumps({"action": "publish", "room": room, "data": data, "per": per}))
        answer = recv_json(ws, timeout=60)
    assert isinstance(answer.get("trackingId"), str), answer
    return str(answer["trackingId"])


def _copies(clients: list[ClientConnection], timeout: float) -> list[list[Any]]:
    """What each client received: one message each (waiting up to ``timeout``), then
    anything more that arrives within 2 s."""
    received: list[list[Any]] = []
    deadline = time.monotonic() + timeout
    for ws in clients:
        received.append([json.loads(ws.recv(timeout=max(1.0, deadline - time.monotonic())))])
    extra_until = time.monotonic() + 2
    for ws, got in zip(clients, received, strict=True):
        try:
            while True:
                got.append(json.loads(ws.recv(timeout=max(0.01, extra_until - time.monotonic()))))
        except TimeoutError:
            pass
    return received


def test_every_member_of_the_room_gets_exactly_one_copy(emulator: LocalProcess) -> None:
    queue, _ = _queues(emulator)
    with contextlib.ExitStack() as clients:
        members = _room(clients, emulator, "r1", 12)
        others = _room(clients, emulator, "r2", 3)
        # WHEN one publish to r1, 6 ids per message (two messages, two consumers)
        tracking_id = _publish(emulator, "r1", {"text": "hello"}, per=6)
        # THEN each member got exactly one copy, and nobody else any
        received = _copies(members, timeout=90)
        assert all(got == [{"text": "hello"}] for got in received), received
        _empty(emulator, queue)
        for ws in others:
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.5)
        assert tracking_id in emulator.log  # the metric lines carry it
        delivered = [
            json.loads(line[line.index("{") :])
            for line in emulator.log.splitlines()
            if '"event":"delivered"' in line and tracking_id in line
        ]
        assert sum(m["Delivered"] for m in delivered) == 12


def test_a_delivery_that_outlasts_the_consumer_resumes_without_duplicates(
    emulator: LocalProcess,
) -> None:
    # GIVEN 25 clients in one message: at 2 posts/s a consumer needs 12.5 s, its timeout is 10 s
    queue, _ = _queues(emulator)
    with contextlib.ExitStack() as clients:
        members = _room(clients, emulator, "long", 25)
        tracking_id = _publish(emulator, "long", {"copy": "once"}, per=25)
        # THEN the first delivery stopped before its timeout and the redelivery finished it
        received = _copies(members, timeout=150)
        assert all(got == [{"copy": "once"}] for got in received), received
        _empty(emulator, queue)
        lines = [
            json.loads(line[line.index("{") :])
            for line in emulator.log.splitlines()
            if '"_aws"' in line and tracking_id in line and '"part"' in line
        ]
        events = [(m["event"], m["receiveCount"]) for m in lines]
        assert ("incomplete", 1) in events and ("delivered", 2) in events, events
        assert sum(m["Delivered"] for m in lines) == 25


def test_a_poison_message_goes_to_the_dead_letter_queue(emulator: LocalProcess) -> None:
    queue, dead = _queues(emulator)
    sqs = aws_client(emulator, "sqs")
    sqs.send_message(QueueUrl=queue, MessageBody="not a fan-out message")
    deadline = time.monotonic() + 120
    moved: list[dict[str, Any]] = []
    while not moved and time.monotonic() < deadline:
        moved = sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in moved] == ["not a fan-out message"]
    assert emulator.log.count('"event":"unreadable"') >= 2  # received twice, then moved

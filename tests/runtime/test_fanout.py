"""lambda_runtime.fanout against real servers on loopback: SQS and DynamoDB on moto, the
``@connections`` API on the API Gateway stub (which answers 410 for unknown ids)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from lambda_runtime import Connections, ConnectionStore, PayloadTooLargeError, env, fanout
from lambda_runtime.exceptions import ConfigurationError

from .apigw_stub import ApiGatewayStub


@pytest.fixture
def sqs(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_url)
    return boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")


@pytest.fixture
def queue(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = sqs.create_queue(QueueName=f"fanout-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    monkeypatch.setenv(env.FANOUT_QUEUE_URL, url)
    yield url
    sqs.delete_queue(QueueUrl=url)


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on the queue (received once, not deleted: they stay invisible)."""
    messages: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=300
        ).get("Messages", [])
        if not got:
            return messages
        messages.extend(got)


def _event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
    }


def _metrics(out: str, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [line for line in lines if line.get("event") == event]


def _worker(apigw: ApiGatewayStub, **options: Any) -> fanout.FanoutWorker:
    options.setdefault("rate", 100_000)
    return fanout.FanoutWorker(connections=Connections(apigw.endpoint_url), **options)


def _posts(apigw: ApiGatewayStub) -> list[str]:
    return [r.connection_id for r in apigw.requests if r.method == "POST"]


def test_a_group_is_read_page_by_page_and_cut_into_bounded_messages(
    connection_table: str, queue: str, sqs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 250 connections in room-1 and 7 in another room
    store = ConnectionStore()
    members = {f"m{n:04d}=" for n in range(250)}
    for cid in [*members, *(f"x{n}=" for n in range(7))]:
        store.put(_connect(cid), group="room-1" if cid in members else "room-2")
    # WHEN one publish with 40 ids per message, 25 items per page
    tracking_id = fanout.publish(
        {"text": "hi"}, group="room-1", action="chat", ids_per_message=40, page_size=25
    )
    # THEN 7 messages hold exactly room-1, none over 40 ids, all with the tracking id
    messages = [json.loads(m["Body"]) for m in _drain(sqs, queue)]
    assert len(messages) == 7
    assert {m["trackingId"] for m in messages} == {tracking_id}
    assert sorted(m["part"] for m in messages) == list(range(7))
    assert all(len(m["ids"]) <= 40 for m in messages)
    seen = [cid for m in messages for cid in m["ids"]]
    assert sorted(seen) == sorted(members)
    envelope = json.loads(messages[0]["text"])
    assert envelope["action"] == "chat" and envelope["data"] == {"text": "hi"}
    (metric,) = _metrics(capsys.readouterr().out, "published")
    assert (metric["Connections"], metric["Messages"], metric["Invalid"]) == (250, 7, 0)
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == fanout.METRICS_NAMESPACE


def _connect(connection_id: str) -> dict[str, Any]:
    return {
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "connectionId": connection_id,
            "stage": "test",
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc",
            "requestId": "r",
            "connectedAt": 1700000000000,
        },
        "isBase64Encoded": False,
    }


def test_the_audience_is_streamed_not_held(queue: str, sqs: Any) -> None:
    # GIVEN an audience as a generator that counts what it handed out
    handed = 0
    at_send: list[int] = []

    def audience() -> Iterator[str]:
        nonlocal handed
        for n in range(3_000):
            handed += 1
            yield f"c{n}="

    class Recording:
        def send_message_batch(self, **kwargs: Any) -> Any:
            at_send.append(handed)
            return sqs.send_message_batch(**kwargs)

    # WHEN it is published, 20 ids per message
    fanout.publish("x", connection_ids=audience(), ids_per_message=20, client=Recording())
    # THEN each batch of 10 messages went out after ~200 more ids, not after the whole audience
    assert len(at_send) == 15
    assert at_send[0] <= 11 * 20 + 1  # the 11th message flushes the first 10
    assert all(b - a <= 10 * 20 for a, b in itertools.pairwise(at_send))
    assert sum(len(json.loads(m["Body"])["ids"]) for m in _drain(sqs, queue)) == 3_000


def test_ids_no_message_can_carry_are_skipped_and_counted(
    queue: str, sqs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    audience: list[Any] = ["a=", "", "\ud800", 7, "x" * 300_000, "b="]
    fanout.publish("x", connection_ids=audience)
    (message,) = [json.loads(m["Body"]) for m in _drain(sqs, queue)]
    assert message["ids"] == ["a=", "b="]
    (metric,) = _metrics(capsys.readouterr().out, "published")
    assert (metric["Connections"], metric["Invalid"]) == (2, 4)


def test_over_128_kib_is_refused_before_anything_is_queued(queue: str, sqs: Any) -> None:
    with pytest.raises(PayloadTooLargeError):
        fanout.publish("x" * (131072 + 1), connection_ids=["a="])
    with pytest.raises(PayloadTooLargeError):  # the envelope counts
        fanout.publish("x" * 131060, connection_ids=["a="], action="chat")
    assert _drain(sqs, queue) == []


def test_a_128_kib_binary_payload_fits_one_message(
    queue: str, sqs: Any, apigw: ApiGatewayStub
) -> None:
    payload = bytes(range(256)) * 512  # 131072 bytes, not UTF-8: sent as base64
    apigw.known.update({"a=", "b="})
    fanout.publish(payload, connection_ids=["a=", "b="])
    messages = _drain(sqs, queue)
    assert len(messages) == 1 and "base64" in json.loads(messages[0]["Body"])
    assert _worker(apigw).handle(_event(messages)) == {"batchItemFailures": []}
    assert [r.body for r in apigw.requests] == [payload, payload]


def test_bad_arguments_and_missing_configuration_name_the_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match=env.FANOUT_QUEUE_URL):
        fanout.publish("x", connection_ids=["a="])
    monkeypatch.setenv(env.FANOUT_QUEUE_URL, "https://sqs.us-east-1.amazonaws.com/1/q")
    with pytest.raises(TypeError, match="exactly one"):
        fanout.publish("x", group="g", connection_ids=["a="])
    with pytest.raises(TypeError, match="exactly one"):
        fanout.publish("x")
    with pytest.raises(ValueError, match="ids_per_message"):
        fanout.publish("x", connection_ids=["a="], ids_per_message=0)
    with pytest.raises(ConfigurationError, match=env.CONNECTION_TABLE):
        fanout.publish("x", group="g")
    monkeypatch.setenv(env.FANOUT_RATE, "fast")
    with pytest.raises(ConfigurationError, match=env.FANOUT_RATE):
        fanout.FanoutWorker(connections=Connections("http://127.0.0.1:9/x"))


def test_the_consumer_delivers_once_purges_gone_ids_and_reports_metrics(
    connection_table: str,
    queue: str,
    sqs: Any,
    apigw: ApiGatewayStub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN 60 connections in a room, 5 of them gone from API Gateway
    store = ConnectionStore()
    ids = [f"k{n:03d}=" for n in range(60)]
    for cid in ids:
        store.put(_connect(cid), group="room")
    apigw.known.update(ids[5:])
    tracking_id = fanout.publish("hello", group="room", ids_per_message=25)
    capsys.readouterr()
    # WHEN the consumer gets the 3 messages in one batch
    answer = _worker(apigw).handle(_event(_drain(sqs, queue)))
    # THEN every live connection got exactly one post, gone ones were purged, nothing failed
    assert answer == {"batchItemFailures": []}
    assert sorted(_posts(apigw)) == sorted(ids)
    assert all(r.body == b"hello" for r in apigw.requests)
    assert sorted(store.ids("room")) == sorted(ids[5:])
    metrics = _metrics(capsys.readouterr().out, "delivered")
    assert {m["trackingId"] for m in metrics} == {tracking_id}
    assert sum(m["Delivered"] for m in metrics) == 55
    assert sum(m["Gone"] for m in metrics) == 5
    assert sum(m["Failed"] for m in metrics) == 0
    # AND the progress markers are not connections
    assert not [cid for cid in store.ids() if cid.startswith(env.FANOUT_MARKER_PREFIX)]


class _Clock:
    """A Lambda context whose remaining time runs out after ``slices`` checks."""

    def __init__(self, slices: int) -> None:
        self.left = slices

    def get_remaining_time_in_millis(self) -> int:
        self.left -= 1
        return 60_000 if self.left >= 0 else 100


def test_a_redelivery_posts_only_to_the_ids_not_done(
    connection_table: str, queue: str, sqs: Any, apigw: ApiGatewayStub
) -> None:
    # GIVEN one message of 100 ids, delivered 10 per slice
    ids = [f"r{n:03d}=" for n in range(100)]
    apigw.known.update(ids)
    fanout.publish("x", connection_ids=ids)
    event = _event(_drain(sqs, queue))
    slow = _worker(apigw, rate=100, concurrency=1)
    assert slow.slice_size == 10
    # WHEN the first invocation runs out of time after 3 slices
    first = slow.handle(event, _Clock(3))
    # THEN it asks for a redelivery, having posted to 30 ids
    assert first == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(_posts(apigw)) == 30
    # AND the redelivery posts to the 70 others only
    assert slow.handle(event, _Clock(100)) == {"batchItemFailures": []}
    assert sorted(_posts(apigw)) == sorted(ids)
    # AND a third delivery (the delete was lost) posts nothing
    assert slow.handle(event) == {"batchItemFailures": []}
    assert len(_posts(apigw)) == 100


def test_failed_ids_fail_the_record_and_only_they_are_retried(
    connection_table: str, queue: str, sqs: Any, apigw: ApiGatewayStub
) -> None:
    ids = [f"f{n}=" for n in range(8)]
    apigw.known.update(ids)
    apigw.script("f3=", 500)  # one error that broadcast does not retry
    fanout.publish("x", connection_ids=ids)
    event = _event(_drain(sqs, queue))
    worker = _worker(apigw)
    assert worker.handle(event)["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][0]["messageId"]}
    ]
    assert worker.handle(event) == {"batchItemFailures": []}
    assert sorted(_posts(apigw)) == sorted([*ids, "f3="])


def test_a_poison_message_is_reported_failed(
    apigw: ApiGatewayStub, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {
        "Records": [
            {"messageId": "m1", "body": "not json"},
            {"messageId": "m2", "body": json.dumps({"v": 1, "trackingId": "t", "part": 0})},
        ]
    }
    answer = _worker(apigw).handle(event)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert len(_metrics(capsys.readouterr().out, "unreadable")) == 2
    assert apigw.requests == []


def test_delivery_is_paced_to_the_rate(queue: str, sqs: Any, apigw: ApiGatewayStub) -> None:
    # GIVEN 60 ids and a rate of 400/s shared by 2 consumers: 200/s here, 20 per slice
    ids = [f"p{n}=" for n in range(60)]
    apigw.known.update(ids)
    fanout.publish("x", connection_ids=ids)
    worker = _worker(apigw, rate=400, concurrency=2)
    assert worker.slice_size == 20
    started = time.monotonic()
    assert worker.handle(_event(_drain(sqs, queue))) == {"batchItemFailures": []}
    # THEN it took at least the first two slices' share of time (a loaded machine only adds)
    assert time.monotonic() - started >= 2 * 20 / 200
    assert sorted(_posts(apigw)) == sorted(ids)


def test_an_invocation_that_dies_midway_is_resumed_from_its_marker(
    connection_table: str, queue: str, sqs: Any, apigw: ApiGatewayStub
) -> None:
    # GIVEN 50 ids, 10 per slice, and an endpoint that fails the whole third slice (as an
    # invocation killed there would leave it: two slices done and marked, nothing more)
    ids = [f"d{n:02d}=" for n in range(50)]
    apigw.known.update(ids)
    fanout.publish("x", connection_ids=ids)
    event = _event(_drain(sqs, queue))

    class Dying(Connections):
        calls = 0

        def broadcast(self, *args: Any, **kwargs: Any) -> Any:
            Dying.calls += 1
            if Dying.calls == 3:
                raise ConnectionResetError("the invocation died here")
            return super().broadcast(*args, **kwargs)

    dying = fanout.FanoutWorker(connections=Dying(apigw.endpoint_url), rate=100)
    assert dying.handle(event)["batchItemFailures"]
    assert len(_posts(apigw)) == 20
    # WHEN it is delivered again THEN only the 30 not done are posted
    assert _worker(apigw, rate=100).handle(event) == {"batchItemFailures": []}
    assert sorted(_posts(apigw)) == sorted(ids)

"""SQS event source mappings: the Lambda event, the batch item failure rules, and the
batching window, against an in-memory stand-in for the queue (the poller end to end against
moto is in tests/e2e/test_integrations_plain.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cdk_ws_api.local.event_sources import SqsPoller, failed_ids, sqs_event
from cdk_ws_api.local.exceptions import FunctionError
from cdk_ws_api.local.integrations.aws import LocalAws
from cdk_ws_api.local.specs import EventSourceMappingSpec, QueueSpec

QUEUE = QueueSpec("Q", "stack-Q", "arn:aws:sqs:us-east-1:123456789012:stack-Q")


def _message(n: int) -> dict[str, Any]:
    return {
        "MessageId": f"m{n}",
        "ReceiptHandle": f"r{n}",
        "Body": f'{{"n": {n}}}',
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MessageAttributes": {"connectionId": {"StringValue": "C=", "DataType": "String"}},
    }


def test_sqs_event_has_lambdas_record_shape() -> None:
    mapping = EventSourceMappingSpec("M", "Fn", QUEUE)
    (record,) = sqs_event([_message(1)], mapping, "us-east-1")["Records"]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": '{"n": 1}',
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {
            "connectionId": {
                "stringValue": "C=",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE.arn,
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        # an invalid report fails the whole batch, as on AWS
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),
        ({"batchItemFailures": "b"}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "b"}]}, {"a", "b"}),
    ],
)
def test_batch_item_failures(result: Any, kept: set[str]) -> None:
    assert failed_ids(result, ["a", "b"]) == kept


class _FakeQueue(SqsPoller):
    """The poller with SQS calls answered from a list (receive) and recorded (delete)."""

    def __init__(self, mapping: EventSourceMappingSpec, invoke: Any, arrivals: list[Any]) -> None:
        super().__init__(mapping, LocalAws(lambda: None, "us-east-1"), invoke, account="1")
        self.arrivals = arrivals
        self.deleted: list[str] = []

    async def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "ReceiveMessage":
            await asyncio.sleep(0.01)
            batch = self.arrivals.pop(0) if self.arrivals else []
            return {"Messages": batch[: params["MaxNumberOfMessages"]]}
        self.deleted += [e["ReceiptHandle"] for e in params["Entries"]]
        return {}


def test_window_gathers_a_batch_and_failures_are_not_deleted() -> None:
    mapping = EventSourceMappingSpec(
        "M", "Fn", QUEUE, batch_size=3, batch_window=0.5, report_batch_item_failures=True
    )
    events: list[Any] = []

    async def invoke(function: str, event: Any) -> Any:
        events.append(event)
        return {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    async def scenario() -> _FakeQueue:
        poller = _FakeQueue(mapping, invoke, [[_message(1)], [], [_message(2), _message(3)]])
        await poller.process(await poller.next_batch())
        return poller

    poller = asyncio.run(scenario())
    assert [r["messageId"] for r in events[0]["Records"]] == ["m1", "m2", "m3"]
    assert poller.deleted == ["r1", "r3"]


def test_no_window_invokes_with_what_arrived_and_a_failure_deletes_nothing() -> None:
    mapping = EventSourceMappingSpec("M", "Fn", QUEUE, batch_size=10)

    async def invoke(function: str, event: Any) -> Any:
        raise FunctionError("Boom", "failed")

    async def scenario() -> tuple[_FakeQueue, int]:
        poller = _FakeQueue(mapping, invoke, [[], [_message(1)], [_message(2)]])
        batch = await poller.next_batch()
        await poller.process(batch)
        return poller, len(batch)

    poller, size = asyncio.run(scenario())
    assert size == 1 and poller.deleted == []

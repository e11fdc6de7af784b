"""SQS event source mappings: a template's ``AWS::Lambda::EventSourceMapping`` from one of
its queues runs the function locally on the queue's messages, as Lambda's poller does.

One poller task per enabled mapping long-polls the queue in the embedded moto server
(``ReceiveMessage``, up to 10 messages per call) and gathers a batch of at most
``BatchSize`` messages: with ``MaximumBatchingWindowInSeconds`` 0 it invokes as soon as a
receive returned messages, otherwise it keeps receiving until the batch is full or the window
is over. The function gets Lambda's SQS event (``Records`` with ``messageId``,
``receiptHandle``, ``body``, ``attributes``, ``messageAttributes``, ``md5OfBody``,
``eventSource``, ``eventSourceARN``, ``awsRegion``), with its own timeout.

- Success: the whole batch is deleted. With ``ReportBatchItemFailures``, the ids in the
  answer's ``batchItemFailures`` (``itemIdentifier``) are kept and the rest deleted; an
  answer that is not a valid failure report fails the whole batch, as on AWS.
- Failure (the handler raised, timed out, crashed): nothing is deleted. The messages come back
  once the queue's visibility timeout is over, and moto moves a message to the dead-letter
  queue of the queue's ``RedrivePolicy`` once it was received ``maxReceiveCount`` times.

A failing poll (moto not reachable yet) is logged once and retried with a back-off; the
poller never stops on its own and never runs two batches of one mapping at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .exceptions import InvocationError, LocalEmulatorError
from .integrations.aws import LocalAws
from .specs import EventSourceMappingSpec

__all__ = ["EventSources", "SqsPoller", "failed_ids", "sqs_event"]

logger = logging.getLogger("cdk_ws_api.local")

Invoke = Callable[[str, Any], Awaitable[Any]]
"""Runs a function (logical id) on an event with its own timeout; returns its result."""

_JSON = {"Content-Type": "application/x-amz-json-1.0"}
#: Long-poll length of one ReceiveMessage while the batch is empty (short, so stop is quick).
_LONG_POLL = 1
_BACKOFF = (0.2, 0.5, 1.0, 2.0)


def _record(
    message: dict[str, Any], mapping: EventSourceMappingSpec, region: str
) -> dict[str, Any]:
    attributes = {str(k): str(v) for k, v in (message.get("Attributes") or {}).items()}
    message_attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType", "String"),
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = value["BinaryValue"]
        message_attributes[str(name)] = entry
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue.arn,
        "awsRegion": region,
    }


def sqs_event(
    messages: list[dict[str, Any]], mapping: EventSourceMappingSpec, region: str
) -> dict[str, Any]:
    """Lambda's SQS event for ``messages`` (as ``ReceiveMessage`` returns them)."""
    return {"Records": [_record(m, mapping, region) for m in messages]}


def failed_ids(result: Any, batch: list[str]) -> set[str]:
    """The message ids a ``ReportBatchItemFailures`` answer keeps on the queue. An answer
    that is not a dict with a list of ``{"itemIdentifier": <id of the batch>}`` fails all."""
    if result is None or (isinstance(result, dict) and not result.get("batchItemFailures")):
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not isinstance(failures, list):
        return set(batch)
    ids = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(item, str) or item not in batch:
            return set(batch)  # an invalid report: the whole batch is retried, as on AWS
        ids.add(item)
    return ids


class SqsPoller:
    """Feeds one mapping's function from its queue until cancelled."""

    def __init__(
        self, mapping: EventSourceMappingSpec, aws: LocalAws, invoke: Invoke, *, account: str
    ) -> None:
        self.mapping = mapping
        self.aws = aws
        self.invoke = invoke
        self.queue_url = f"https://sqs.{aws.region}.amazonaws.com/{account}/{mapping.queue.name}"
        self.batches = 0

    async def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        credentials = await self.aws.credentials(None)
        headers = {**_JSON, "X-Amz-Target": f"AmazonSQS.{operation}"}
        answer = await self.aws.send(
            "sqs", "POST", "/", json.dumps(params), headers, credentials, timeout=30
        )
        if answer.status != 200:
            raise LocalEmulatorError(f"SQS {operation} answered {answer.status}: {answer.body}")
        parsed: dict[str, Any] = json.loads(answer.body or "{}")
        return parsed

    async def receive(self, limit: int, wait: float) -> list[dict[str, Any]]:
        answer = await self._call(
            "ReceiveMessage",
            {
                "QueueUrl": self.queue_url,
                "MaxNumberOfMessages": max(1, min(10, limit)),
                "WaitTimeSeconds": max(0, min(20, int(wait))),
                "MessageSystemAttributeNames": ["All"],
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            },
        )
        messages: list[dict[str, Any]] = answer.get("Messages") or []
        return messages

    async def next_batch(self) -> list[dict[str, Any]]:
        """Wait for messages, then gather a batch (see the module docstring)."""
        mapping = self.mapping
        batch: list[dict[str, Any]] = []
        while not batch:
            batch = await self.receive(mapping.batch_size, _LONG_POLL)
        loop = asyncio.get_running_loop()
        window_end = loop.time() + mapping.batch_window
        while len(batch) < mapping.batch_size and loop.time() < window_end:
            more = await self.receive(mapping.batch_size - len(batch), 0)
            if more:
                batch.extend(more)
            else:
                await asyncio.sleep(min(0.1, max(0.0, window_end - loop.time())))
        return batch

    async def process(self, batch: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        event = sqs_event(batch, mapping, self.aws.region)
        ids = [m["MessageId"] for m in batch]
        self.batches += 1
        try:
            result = await self.invoke(mapping.function, event)
        except InvocationError as error:
            logger.warning(
                "event source %s: %s failed on %d message(s), they return after the visibility "
                "timeout: %s",
                mapping.logical_id,
                mapping.function,
                len(batch),
                error,
            )
            return
        keep = failed_ids(result, ids) if mapping.report_batch_item_failures else set()
        done = [m for m in batch if m["MessageId"] not in keep]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            await self._call("DeleteMessageBatch", {"QueueUrl": self.queue_url, "Entries": entries})

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                batch = await self.next_batch()
                await self.process(batch)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # moto not up yet, a malformed answer: retry
                if failures == 0:
                    logger.warning("event source %s: %s", self.mapping.logical_id, error)
                await asyncio.sleep(_BACKOFF[min(failures, len(_BACKOFF) - 1)])
                failures += 1


class EventSources:
    """The pollers of every enabled mapping, started and stopped together."""

    def __init__(self, pollers: list[SqsPoller]) -> None:
        self.pollers = pollers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(p.run()) for p in self.pollers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

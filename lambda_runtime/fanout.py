"""Broadcast to audiences beyond one invocation: SQS messages of bounded size, each delivered
by a consumer invocation (``cdk_ws_api.BroadcastFanout`` provisions the queue and consumer).

::

    from lambda_runtime import fanout

    tracking_id = fanout.publish({"text": "hi"}, group="room-1", action="chat")

    # the consumer function (BroadcastFanout sets this handler):
    handler = fanout.handler

**Publish.** ``publish`` serialises the message once (as ``Connections.send`` does) and
refuses it with ``PayloadTooLargeError`` over 128 KiB before anything is queued. It then reads
the audience lazily: ``connection_ids`` as given, or the group from the connection table's
group index, page by page (``ConnectionStore.ids``), and cuts it into SQS messages of at most
``ids_per_message`` ids (default 500) and at most 256 KiB each, sent 10 per
``SendMessageBatch``. Only one message and one batch are in memory at a time, whatever the
audience. It returns the tracking id that every message, log line and metric of this
broadcast carries.

**Deliver.** ``handler`` is the consumer (an SQS event source with
``ReportBatchItemFailures``). Each message is delivered with ``Connections().broadcast`` in
slices, paced so that all consumers together stay under ``WS_API_FANOUT_RATE`` posts/s
(each gets ``rate / WS_API_FANOUT_CONCURRENCY``; API Gateway's 10,000 requests/s is an
account-wide quota shared with every other API and route). ``broadcast`` retries
``LimitExceeded`` with jittered backoff and purges gone ids from the store.

**Redelivery without duplicates.** With a connection table (``WS_API_CONNECTION_TABLE``), after
each slice the consumer writes a progress marker for the message in that table, key
``#fanout#{trackingId}#{part}`` (``env.FANOUT_MARKER_PREFIX``; no group attribute, so group
queries never see it, and ``ConnectionStore.ids()`` filters it out of scans), holding how many
of the message's ids are done and which of them failed. A redelivered message (a consumer that
timed out, crashed or reported a failure) resumes there: the failed ids are tried again, the
ids already delivered are not posted again. At most the one slice in flight when an
invocation died can be posted twice. Markers expire through the table's TTL (14 days, SQS's
longest retention). Without a table nothing can tell, and a redelivery posts again to all.
The marker is in the table rather than in the message because an SQS message cannot be
changed once sent.

**Failures.** A message whose ids still failed after ``broadcast``'s retries (or that could
not be read, or whose invocation ran out of time) is reported in ``batchItemFailures``: SQS
delivers it again after the visibility timeout, and after the queue's ``maxReceiveCount``
moves it to the dead-letter queue (a poison message ends there).

**Metrics.** Every publish and every message delivered prints one CloudWatch embedded metric
format line (namespace ``cdk-ws-api/Fanout``, dimension ``FunctionName``): ``Connections``,
``Messages``, ``Invalid`` for a publish; ``Delivered``, ``Gone``, ``Failed``, ``Skipped`` (done
by an earlier delivery) per message, with ``trackingId``, ``part`` and ``receiveCount`` as
properties to search the logs by.

Standard library at import; boto3 on the first SQS or DynamoDB call.
"""

from __future__ import annotations

import json
import os

from . import _aws
from .connections import Connections, _check_size, encode_message
from .env import (
    CONNECTION_TABLE,
    FANOUT_CONCURRENCY,
    FANOUT_MARKER_PREFIX,
    FANOUT_QUEUE_URL,
    FANOUT_RATE,
    PARTITION_KEY,
)
from .exceptions import ConfigurationError, EventParseError, FanoutError
from .store import ConnectionStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any

__all__ = [
    "ACCOUNT_RATE_LIMIT",
    "DEFAULT_IDS_PER_MESSAGE",
    "DEFAULT_RATE",
    "MAX_IDS_PER_MESSAGE",
    "METRICS_NAMESPACE",
    "SQS_MAX_MESSAGE_BYTES",
    "FanoutMessage",
    "FanoutWorker",
    "handler",
    "marker_key",
    "publish",
]

#: API Gateway's account-wide quota of requests per second (``PostToConnection`` included).
ACCOUNT_RATE_LIMIT = 10_000
#: Posts per second of the whole fan-out when ``WS_API_FANOUT_RATE`` is unset.
DEFAULT_RATE = 1_000
DEFAULT_IDS_PER_MESSAGE = 500
#: A message's failed ids go in its progress marker: 1,000 ids stay far below DynamoDB's
#: 400 KB item limit.
MAX_IDS_PER_MESSAGE = 1_000
#: SQS's classic message size limit (queues may allow 1 MiB since 2025; 256 KiB works on all).
SQS_MAX_MESSAGE_BYTES = 262_144
METRICS_NAMESPACE = "cdk-ws-api/Fanout"
#: The body's format version (``"v"``).
MESSAGE_VERSION = 1

_BATCH_ENTRIES = 10  # SendMessageBatch's limit
_SEND_ATTEMPTS = 5
_SLICES_PER_SECOND = 10  # pacing granularity: one slice (and one marker write) per 0.1 s
_MAX_SLICE = 1_000
_MARKER_TTL_SECONDS = 14 * 86_400
#: Room for the body's fixed fields (version, tracking id, part number).
_HEADER_BYTES = 160
#: Stop a message when less than this is left of the invocation (plus two slices' time).
_MARGIN_SECONDS = 1.0


def _emit(metrics: Mapping[str, int], **properties: Any) -> None:
    """One CloudWatch embedded metric format line on stdout (Lambda sends it to the logs)."""
    import time

    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in metrics],
                }
            ],
        },
        "FunctionName": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        **metrics,
        **properties,
    }
    print(json.dumps(line, separators=(",", ":")), flush=True)


def marker_key(tracking_id: str, part: int) -> str:
    """The connection-table key of one message's progress marker."""
    return f"{FANOUT_MARKER_PREFIX}{tracking_id}#{part}"


# -- publish ---------------------------------------------------------------------------------


def _queue_url(queue_url: str | None) -> str:
    url = queue_url or os.environ.get(FANOUT_QUEUE_URL)
    if not url:
        raise ConfigurationError(
            f"no fan-out queue: pass queue_url or set {FANOUT_QUEUE_URL} "
            "(BroadcastFanout.grant_publish sets it)"
        )
    return url


def _payload_field(payload: bytes) -> str:
    """The body's payload member: ``"text"`` when the bytes are UTF-8 and its JSON form fits
    the message, else ``"base64"`` (at most 174,764 bytes for 128 KiB)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        member = '"text":' + json.dumps(text, ensure_ascii=False)
        if len(member.encode("utf-8")) <= SQS_MAX_MESSAGE_BYTES // 2:
            return member
    import base64

    return '"base64":"' + base64.b64encode(payload).decode("ascii") + '"'


class _Batcher:
    """Queues message bodies 10 (and at most 256 KiB) per ``SendMessageBatch``, retrying the
    entries SQS failed on its side with backoff."""

    def __init__(self, client: Any, queue_url: str, tracking_id: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self.tracking_id = tracking_id
        self.entries: list[str] = []
        self.size = 0
        self.queued = 0

    def add(self, body: str) -> None:
        size = len(body.encode("utf-8"))
        if self.entries and (
            len(self.entries) == _BATCH_ENTRIES or self.size + size > SQS_MAX_MESSAGE_BYTES
        ):
            self.flush()
        self.entries.append(body)
        self.size += size

    def flush(self) -> None:
        import random
        import time

        from botocore.exceptions import BotoCoreError, ClientError

        pending = {str(index): body for index, body in enumerate(self.entries)}
        self.entries, self.size = [], 0
        for attempt in range(_SEND_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.1 * 2**attempt))
            entries = [{"Id": key, "MessageBody": body} for key, body in pending.items()]
            try:
                answer = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                raise self._error(f"SendMessageBatch: {exc}", code) from exc
            except BotoCoreError as exc:
                if attempt + 1 == _SEND_ATTEMPTS:
                    raise self._error(f"SendMessageBatch: {exc}", type(exc).__name__) from exc
                continue
            for ok in answer.get("Successful", []):
                if pending.pop(ok.get("Id"), None) is not None:
                    self.queued += 1
            failed = answer.get("Failed", [])
            sender_fault = [f for f in failed if f.get("SenderFault")]
            if sender_fault:  # retrying cannot help: the request itself is wrong
                first = sender_fault[0]
                raise self._error(
                    f"SQS refused a message: {first.get('Message') or first.get('Code')}",
                    first.get("Code"),
                )
            if not pending:
                return
        raise self._error(f"SQS still failed {len(pending)} message(s) after retries", None)

    def _error(self, message: str, code: str | None) -> FanoutError:
        return FanoutError(
            f"fan-out {self.tracking_id}: {message} ({self.queued} message(s) already queued)",
            tracking_id=self.tracking_id,
            queued=self.queued,
            code=code,
        )


def _audience(
    group: str | None,
    connection_ids: Iterable[str] | None,
    store: ConnectionStore | None,
    page_size: int | None,
) -> Iterator[object]:
    if (group is None) == (connection_ids is None):
        raise TypeError("publish needs exactly one of group=... or connection_ids=...")
    if connection_ids is not None:
        if isinstance(connection_ids, str):
            raise TypeError("connection_ids must be an iterable of ids, not one string")
        return iter(connection_ids)
    if not isinstance(group, str) or not group:
        raise ValueError(f"group must be a non-empty string, got {group!r}")
    store = store or ConnectionStore()
    store.table_name, store.group_index  # noqa: B018 - their ConfigurationError, up front
    return store.ids(group, page_size=page_size)


def publish(
    message: Any,
    *,
    group: str | None = None,
    connection_ids: Iterable[str] | None = None,
    action: str | None = None,
    queue_url: str | None = None,
    ids_per_message: int = DEFAULT_IDS_PER_MESSAGE,
    store: ConnectionStore | None = None,
    page_size: int | None = None,
    client: Any = None,
) -> str:
    """Queue ``message`` for every connection of ``group`` (read from the connection table's
    group index, ``page_size`` items per query) or of ``connection_ids``; returns the tracking
    id.

    ``message`` and ``action`` are serialised as ``Connections.send`` does, once.
    ``queue_url`` defaults to ``WS_API_FANOUT_QUEUE_URL``; ``client`` replaces the cached
    boto3 SQS client. Ids that are not non-empty strings, or too long to fit a message, are
    skipped and counted as ``Invalid``.

    Raises, before anything is queued: ``PayloadTooLargeError`` when the payload is over
    128 KiB, ``ConfigurationError`` without a queue (or a table for ``group``), ``TypeError``
    / ``ValueError`` for bad arguments. ``FanoutError`` when SQS still refuses messages after
    retries (its ``queued`` says how many it had accepted).
    """
    import uuid

    payload = encode_message(message, action=action)
    _check_size(payload, None)
    if isinstance(ids_per_message, bool) or not isinstance(ids_per_message, int):
        raise TypeError(f"ids_per_message must be an int, got {ids_per_message!r}")
    if not 1 <= ids_per_message <= MAX_IDS_PER_MESSAGE:
        raise ValueError(f"ids_per_message must be 1-{MAX_IDS_PER_MESSAGE}, got {ids_per_message}")
    url = _queue_url(queue_url)
    audience = _audience(group, connection_ids, store, page_size)
    tracking_id = uuid.uuid4().hex
    tail = "]," + _payload_field(payload) + "}"
    budget = SQS_MAX_MESSAGE_BYTES - _HEADER_BYTES - len(tail.encode("utf-8"))
    batcher = _Batcher(client or _aws.client("sqs"), url, tracking_id)
    part = connections = invalid = 0
    chunk: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal part, chunk, size
        head = f'{{"v":{MESSAGE_VERSION},"trackingId":"{tracking_id}","part":{part},"ids":['
        batcher.add(head + ",".join(chunk) + tail)
        part += 1
        chunk, size = [], 0

    for connection_id in audience:
        if not isinstance(connection_id, str) or not connection_id:
            invalid += 1
            continue
        encoded = json.dumps(connection_id, ensure_ascii=False)
        try:
            cost = len(encoded.encode("utf-8")) + 1
        except UnicodeEncodeError:  # a lone surrogate: no URL (and no SQS body) can carry it
            invalid += 1
            continue
        if cost > budget:
            invalid += 1
            continue
        if chunk and (len(chunk) == ids_per_message or size + cost > budget):
            flush()
        chunk.append(encoded)
        size += cost
        connections += 1
    if chunk:
        flush()
    if batcher.entries:
        batcher.flush()
    _emit(
        {"Connections": connections, "Messages": part, "Invalid": invalid},
        trackingId=tracking_id,
        event="published",
    )
    return tracking_id


# -- deliver ---------------------------------------------------------------------------------


class FanoutMessage:
    """One SQS message of a fan-out: its tracking id, part number, ids and payload."""

    __slots__ = ("ids", "part", "payload", "tracking_id")

    def __init__(self, tracking_id: str, part: int, ids: list[str], payload: bytes) -> None:
        self.tracking_id = tracking_id
        self.part = part
        self.ids = ids
        self.payload = payload

    @classmethod
    def parse(cls, body: object) -> FanoutMessage:
        """The message in an SQS body; ``EventParseError`` naming the field when it is not one
        ``publish`` wrote."""
        if not isinstance(body, str):
            raise EventParseError("body", "must be a string")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise EventParseError("body", f"is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise EventParseError("body", "must be a JSON object")
        if data.get("v") != MESSAGE_VERSION:
            raise EventParseError("body.v", f"must be {MESSAGE_VERSION}, got {data.get('v')!r}")
        tracking_id, part, ids = data.get("trackingId"), data.get("part"), data.get("ids")
        if not isinstance(tracking_id, str) or not tracking_id:
            raise EventParseError("body.trackingId", "must be a non-empty string")
        if isinstance(part, bool) or not isinstance(part, int) or part < 0:
            raise EventParseError("body.part", f"must be an integer >= 0, got {part!r}")
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise EventParseError("body.ids", "must be a list of non-empty strings")
        if len(ids) > MAX_IDS_PER_MESSAGE:
            raise EventParseError("body.ids", f"has over {MAX_IDS_PER_MESSAGE} ids")
        if isinstance(data.get("text"), str):
            payload = data["text"].encode("utf-8", "surrogatepass")
        elif isinstance(data.get("base64"), str):
            import base64
            import binascii

            try:
                payload = base64.b64decode(data["base64"], validate=True)
            except binascii.Error as exc:
                raise EventParseError("body.base64", f"is not base64 ({exc})") from None
        else:
            raise EventParseError("body", "has neither 'text' nor 'base64'")
        return cls(tracking_id, part, ids, payload)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ConfigurationError(f"{name} must be a positive number, got {raw!r}")
    return value


class FanoutWorker:
    """The consumer: delivers the messages of an SQS event (see the module docstring).

    Every argument is optional: ``connections`` defaults to ``Connections()`` (the
    ``WS_API_MANAGEMENT_ENDPOINT`` publishers get), ``store`` to ``ConnectionStore()`` when
    ``WS_API_CONNECTION_TABLE`` is set (else no purge and no progress markers), ``rate`` to
    ``WS_API_FANOUT_RATE`` (else 1,000) posts/s in all, shared by ``concurrency``
    (``WS_API_FANOUT_CONCURRENCY``, else 1) consumers; ``max_workers`` is ``broadcast``'s.
    """

    def __init__(
        self,
        *,
        connections: Connections | None = None,
        store: ConnectionStore | None = None,
        rate: float | None = None,
        concurrency: float | None = None,
        max_workers: int = 16,
    ) -> None:
        self.connections = connections if connections is not None else Connections()
        if store is None and os.environ.get(CONNECTION_TABLE):
            store = ConnectionStore()
        self.store = store
        total = rate if rate is not None else _number(FANOUT_RATE, DEFAULT_RATE)
        sharing = concurrency if concurrency is not None else _number(FANOUT_CONCURRENCY, 1)
        if not total > 0 or not sharing > 0:
            raise ValueError("rate and concurrency must be positive")
        #: Posts per second this invocation may make.
        self.rate = total / sharing
        self.max_workers = max_workers

    @property
    def slice_size(self) -> int:
        return max(1, min(_MAX_SLICE, int(self.rate / _SLICES_PER_SECOND)))

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """Deliver every record; the answer lists the records to deliver again."""
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list):
            raise EventParseError("Records", "must be a list (an SQS event)")
        failures: list[dict[str, str]] = []
        for record in records:
            message_id = record.get("messageId") if isinstance(record, dict) else None
            if not isinstance(message_id, str):
                raise EventParseError("Records[].messageId", "must be a string")
            if not self._deliver(record, context):
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}

    def _deliver(self, record: Mapping[str, Any], context: Any) -> bool:
        """Deliver one record; True when nothing is left to do for it."""
        import logging

        logger = logging.getLogger("lambda_runtime.fanout")
        attributes = record.get("attributes") or {}
        receive_count = int(attributes.get("ApproximateReceiveCount") or 1)
        try:
            message = FanoutMessage.parse(record.get("body"))
        except EventParseError as error:
            logger.error("fan-out message %s cannot be read: %s", record.get("messageId"), error)
            _emit({"Unreadable": 1}, messageId=record.get("messageId"), event="unreadable")
            return False
        counts = {"Delivered": 0, "Gone": 0, "Failed": 0, "Skipped": 0}
        properties = {
            "trackingId": message.tracking_id,
            "part": message.part,
            "receiveCount": receive_count,
        }
        try:
            complete = self._deliver_message(message, context, counts)
        except Exception as error:  # the store or endpoint failed: deliver again later
            logger.error("fan-out %s part %d: %s", message.tracking_id, message.part, error)
            complete = False
        _emit(counts, **properties, event="delivered" if complete else "incomplete")
        return complete

    def _deliver_message(
        self, message: FanoutMessage, context: Any, counts: dict[str, int]
    ) -> bool:
        import time

        ids = message.ids
        done, retry = self._progress(message)
        counts["Skipped"] = done - len(retry)
        failed: list[str] = []
        slice_size = self.slice_size
        while retry or done < len(ids):
            seconds = slice_size / self.rate
            if _out_of_time(context, seconds):
                return False
            started = time.monotonic()
            batch = retry[:slice_size]
            retry = retry[len(batch) :]
            take = slice_size - len(batch)
            batch += ids[done : done + take]
            done = min(len(ids), done + take)
            result = self.connections.broadcast(
                batch, message.payload, store=self.store, max_workers=self.max_workers
            )
            counts["Delivered"] += len(result.sent)
            counts["Gone"] += len(result.gone)
            failed += list(result.failed)
            self._save(message, done, retry + failed)
            left = seconds - (time.monotonic() - started)
            if left > 0 and (retry or done < len(ids)):
                time.sleep(left)
        counts["Failed"] = len(failed)
        return not failed

    def _progress(self, message: FanoutMessage) -> tuple[int, list[str]]:
        if self.store is None:
            return 0, []
        item = self.store.get(marker_key(message.tracking_id, message.part))
        if item is None:
            return 0, []
        done = item.get("done")
        failed = item.get("failed")
        if not isinstance(done, int) or not isinstance(failed, list):
            return 0, []  # not a marker this module wrote: start over
        done = max(0, min(done, len(message.ids)))
        return done, [str(connection_id) for connection_id in failed]

    def _save(self, message: FanoutMessage, done: int, failed: list[str]) -> None:
        if self.store is None:
            return
        import time

        store = self.store
        item = {
            PARTITION_KEY: {"S": marker_key(message.tracking_id, message.part)},
            "done": {"N": str(done)},
            "failed": {"L": [{"S": connection_id} for connection_id in failed]},
            store.ttl_attribute: {"N": str(int(time.time()) + _MARKER_TTL_SECONDS)},
        }
        store._call("put_item", TableName=store.table_name, Item=item)


def _out_of_time(context: Any, slice_seconds: float) -> bool:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return False
    return float(remaining()) / 1000 < _MARGIN_SECONDS + 2 * slice_seconds


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The consumer function's handler (``lambda_runtime.fanout.handler``)."""
    return FanoutWorker().handle(event, context)

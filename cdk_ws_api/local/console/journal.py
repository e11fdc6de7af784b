"""The console's memory of what happened, built from the event bus's records (pure).

:class:`Journal` turns each record into the small JSON-able entry the page shows, keeps the
last entries for a page opened later, keeps the last invocations (event and result, by
reference) for a click on a log line, and attaches to each access line the invocations that
produced it: the unclaimed invocations of the same connection, published before it (one
connection's messages are handled in order by default; with ``--concurrent-messages`` two
racing messages of one connection may show each other's invocation).

Everything is bounded: the log, the invocations, the unclaimed lists and the per-function
summaries drop their oldest entries past their limits. An access line lists the sequence
numbers of its invocations; one forgotten since is answered "no longer kept".
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from ..bus import (
    AccessRecord,
    ConnectionClosedRecord,
    ConnectionOpenedRecord,
    InvocationRecord,
    OutputRecord,
)

__all__ = ["ROW_FIELDS", "FeedQueue", "Journal", "connection_view", "expand", "json_safe"]

#: The two entries there is one of per event, access lines and handler output, travel as
#: arrays in this field order (the snapshot sends it to the page): encoding a list costs a
#: quarter of a dict with its keys, and these are built and sent for every message. ``t`` is
#: epoch milliseconds, ``us`` the duration in microseconds.
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "access": ("kind", "seq", "t", "type", "route", "connectionId", "status", "us", "invocations"),
    "output": ("kind", "seq", "t", "function", "line"),
}


def expand(entry: Any) -> dict[str, Any]:
    """An entry as a dict, whether it travels as an array (:data:`ROW_FIELDS`) or not."""
    if isinstance(entry, list):
        return dict(zip(ROW_FIELDS[entry[0]], entry, strict=True))
    return dict(entry)


#: Access kinds whose ``target`` is a client connection (invocations are paired with them).
_CONNECTION_KINDS = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})


def json_safe(value: Any) -> Any:
    """``value`` as JSON-able data (anything unknown as its ``str``)."""
    return json.loads(json.dumps(value, default=str))


def connection_view(connection: Any) -> dict[str, Any]:
    """What the console shows of a registry :class:`~..registry.Connection`."""
    return {
        "connectionId": connection.connection_id,
        "connectedAt": connection.connected_at,
        "sourceIp": connection.source_ip,
        "userAgent": connection.user_agent,
        "query": [list(pair) for pair in connection.query],
        "authorizer": json_safe(connection.authorizer) if connection.authorizer else None,
        "lastActiveAt": connection.last_active_at,
        "framesIn": connection.frames_in,
        "framesOut": connection.frames_out,
    }


def _status_of(result: Any) -> int:
    if isinstance(result, dict) and "statusCode" in result:
        try:
            return int(result["statusCode"])
        except (TypeError, ValueError):
            return 200
    return 200


class FeedQueue:
    """One console client's entries not sent yet: at most ``limit``, the oldest dropped (and
    counted) past it, so a client that reads slowly costs bounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[Any] = deque()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: Any) -> None:
        if len(self._items) >= self.limit:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)

    def take(self) -> tuple[list[Any], int]:
        """The pending entries and how many were dropped since the last take."""
        items, dropped = list(self._items), self.dropped
        self._items.clear()
        self.dropped = 0
        return items, dropped


class Journal:
    """Entries for the console from bus records; ``add`` returns the entry to push (or None).

    This runs once per record while a console is enabled, so it does as little as it can:
    an invocation is stored as its record (its summary is built when a page asks, or for the
    functions' counters once a second) and pushes nothing by itself.
    """

    def __init__(
        self,
        *,
        history: int = 500,
        invocations: int = 300,
        per_function: int = 8,
        functions: dict[str, str] | None = None,
    ) -> None:
        self._seq = 0
        self.log: deque[Any] = deque(maxlen=history)
        # Plain dicts keep insertion order: the first key is the oldest.
        self._invocations: dict[int, InvocationRecord] = {}
        self._invocation_limit = invocations
        self._recent: dict[str, deque[int]] = {}
        self._per_function_limit = per_function
        self._unclaimed: dict[str, list[int]] = {}
        #: Function display names by logical id.
        self._names = dict(functions or {})

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def add(self, record: Any) -> Any:
        """The entry for ``record`` (an array for access and output lines, else a dict), or
        ``None`` when it pushes nothing."""
        kind = type(record)
        if kind is AccessRecord:
            return self._access(record)
        if kind is InvocationRecord:
            self._invocation(record)
            return None
        if kind is OutputRecord:
            line = ["output", self._next(), int(record.at * 1000), record.function, record.line]
            self.log.append(line)
            return line
        if kind is ConnectionOpenedRecord:
            at = int(record.at * 1000)
            return {"kind": "open", "t": at, **connection_view(record.connection)}
        if kind is ConnectionClosedRecord:
            return {
                "kind": "close",
                "t": int(record.at * 1000),
                "connectionId": record.connection_id,
                "code": record.code,
                "reason": record.reason,
            }
        # Records of other publishers (IAM denials, ...): shown in the log by their fields.
        fields = record._asdict() if hasattr(record, "_asdict") else {"value": record}
        at = fields.pop("at", None)
        entry = {
            "seq": self._next(),
            "kind": "record",
            "type": kind.__name__,
            "t": int(at * 1000) if isinstance(at, (int, float)) else None,
            "fields": json_safe(fields),
        }
        self.log.append(entry)
        return entry

    def _access(self, record: AccessRecord) -> list[Any]:
        claimed: list[int] = []
        if record.kind in _CONNECTION_KINDS:
            claimed = self._unclaimed.pop(record.target, claimed)
        self._seq += 1
        line = [
            "access",
            self._seq,
            int(record.at * 1000),
            record.kind,
            record.route,
            record.target,
            record.status,
            int(record.duration_ms * 1000),
            claimed,
        ]
        self.log.append(line)
        return line

    def _invocation(self, record: InvocationRecord) -> None:
        seq = self._next()
        invocations = self._invocations
        invocations[seq] = record
        if len(invocations) > self._invocation_limit:
            del invocations[next(iter(invocations))]
        recent = self._recent.get(record.function)
        if recent is None:
            recent = self._recent[record.function] = deque(maxlen=self._per_function_limit)
        recent.append(seq)
        event = record.event
        context = event.get("requestContext") if type(event) is dict else None
        connection_id = context.get("connectionId") if type(context) is dict else None
        if type(connection_id) is not str:
            return
        pending = self._unclaimed.get(connection_id)
        if pending is None:
            self._unclaimed[connection_id] = [seq]
            if len(self._unclaimed) > 1000:  # connections whose line never came
                del self._unclaimed[next(iter(self._unclaimed))]
        else:
            pending.append(seq)
            if len(pending) > 8:  # an access line claims at most the last few
                del pending[0]

    def _summary(self, seq: int, record: InvocationRecord) -> dict[str, Any]:
        event = record.event if isinstance(record.event, dict) else {}
        context = event.get("requestContext") or {}
        return {
            "seq": seq,
            "kind": "invocation",
            "t": int(record.at * 1000),
            "function": record.function,
            "functionName": self._names.get(record.function, record.function),
            "route": context.get("routeKey") or context.get("eventType") or "",
            "eventType": context.get("eventType") or event.get("type") or "",
            "connectionId": context.get("connectionId"),
            "requestId": record.request_id,
            "status": "error" if record.error is not None else _status_of(record.result),
            "error": record.error,
            "ms": round(record.duration_ms, 1),
        }

    def recent_invocations(self, function: str) -> list[dict[str, Any]]:
        """Summaries of ``function``'s last invocations still kept, oldest first."""
        kept = self._invocations
        return [
            self._summary(seq, kept[seq]) for seq in self._recent.get(function, ()) if seq in kept
        ]

    def invocation(self, seq: int) -> dict[str, Any] | None:
        """The full invocation ``seq`` (event and result), or ``None`` once forgotten."""
        record = self._invocations.get(seq)
        if record is None:
            return None
        return {
            **self._summary(seq, record),
            "event": json_safe(record.event),
            "result": json_safe(record.result),
        }

    def recent(self) -> list[Any]:
        """The log entries kept, oldest first."""
        return list(self.log)

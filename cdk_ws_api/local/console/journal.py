"""The console's memory of what happened, built from the event bus's records (pure).

:class:`Journal` keeps the bus's records themselves, not entries made from them: the last log
records (access lines, handler output, other publishers' records) for a page opened later,
and the last invocations (the event as its JSON text, the result by reference) for a click.
Turning a batch of records into what the feed sends costs two tuples per log record
(``(kind, fields)``, ``fields`` the record's own fields as a plain tuple, which orjson
encodes natively as a JSON array, named by :data:`ROW_FIELDS`) and nothing per invocation:
this runs for every message while a console is enabled. An invocation's event is decoded
only when a page asks for it.

Everything a page only looks at now and then is computed when it asks:

- the invocations behind an access line (:meth:`Journal.line`): those of the same connection
  published after that connection's previous line and before this one (one connection's
  messages are handled in order by default; with ``--concurrent-messages`` two racing
  messages of one connection may show each other's invocation), the last
  :data:`MAX_CLAIMED`;
- a function's last invocations (:meth:`Journal.recent_invocations`, read once a second for
  the functions' view), found among the invocations kept.

Log records are numbered in order (``seq``, from 1): a batch says the number of its first log
record, the page counts the rest. Invocations are numbered on their own (``id``). Everything
is bounded: the log and the invocations drop their oldest past their limits; a line or an
invocation forgotten since is answered "no longer kept".
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from ..bus import (
    AccessRecord,
    ConnectionClosedRecord,
    ConnectionOpenedRecord,
    InvocationRecord,
    OutputRecord,
)

__all__ = [
    "MAX_CLAIMED",
    "ROW_FIELDS",
    "FeedQueue",
    "Journal",
    "connection_view",
    "expand",
    "expand_batch",
    "json_safe",
]

#: The page's names of the fields of the log records that travel as arrays
#: (``[kind, [field, ...]]``), position by position the bus records' own fields (the
#: snapshot sends this to the page): ``at`` is epoch seconds, ``ms`` milliseconds.
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "access": ("type", "route", "connectionId", "status", "ms", "at"),
    "output": ("function", "line", "at"),
}

#: Invocations an access line shows at most (an authorizer and a ``$connect`` are two).
MAX_CLAIMED = 8

#: Access kinds whose ``target`` is a client connection (invocations are paired with them).
_CONNECTION_KINDS = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})


def expand(item: Any, seq: int | None = None) -> dict[str, Any]:
    """A feed item as a dict (what the page makes of it): ``[kind, fields]`` (a log record,
    numbered ``seq``; :data:`ROW_FIELDS`) or a dict already (a connection opened or closed, a
    test connection's event)."""
    if isinstance(item, (list, tuple)):
        kind, fields = item
        if kind in ROW_FIELDS:
            entry = dict(zip(ROW_FIELDS[kind], fields, strict=True))
        else:
            entry = dict(fields)
        return {**entry, "kind": kind, "seq": seq}
    return dict(item)


def expand_batch(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A batch's (or the snapshot's log's) items as dicts, log records numbered from the
    batch's ``seq`` on (the page does the same)."""
    seq = message.get("seq", message.get("logSeq", 0))
    entries = []
    for item in message.get("items", message.get("log", [])):
        if isinstance(item, (list, tuple)):
            entries.append(expand(item, seq))
            seq += 1
        else:
            entries.append(expand(item))
    return entries


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


def _context_of(event: Any) -> dict[str, Any]:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return context if isinstance(context, dict) else {}


def _connection_of(record: InvocationRecord) -> Any:
    return _context_of(record.event).get("connectionId")


def _foreign(record: Any) -> dict[str, Any]:
    # Records of other publishers (IAM denials, ...): shown in the log by their fields.
    fields = record._asdict() if hasattr(record, "_asdict") else {"value": record}
    at = fields.pop("at", None)
    return {
        "type": type(record).__name__,
        "at": at if isinstance(at, (int, float)) else None,
        "fields": json_safe(fields),
    }


class FeedQueue:
    """One console client's items not sent yet, each with its weight (the entries it
    carries): at most ``limit`` entries, the oldest items dropped (and their entries
    counted) past it, so a client that reads slowly costs bounded memory. The newest item
    is always kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[tuple[Any, int]] = deque()
        self._weight = 0
        self.dropped = 0

    def __len__(self) -> int:
        """The entries waiting."""
        return self._weight

    def push(self, item: Any, weight: int = 1) -> None:
        self._items.append((item, weight))
        self._weight += weight
        while self._weight > self.limit and len(self._items) > 1:
            _, gone = self._items.popleft()
            self._weight -= gone
            self.dropped += gone

    def take(self) -> tuple[list[Any], int]:
        """The pending items and how many entries were dropped since the last take."""
        items, dropped = [item for item, _ in self._items], self.dropped
        self._items.clear()
        self._weight = self.dropped = 0
        return items, dropped


class Journal:
    """The records a page may ask about; :meth:`add` turns a batch of bus records into the
    feed's items (see the module docstring)."""

    def __init__(
        self,
        *,
        history: int = 500,
        invocations: int = 300,
        per_function: int = 8,
        functions: Mapping[str, str] | None = None,
    ) -> None:
        #: The last log records and the number of the newest (0: none yet).
        self._log: deque[Any] = deque(maxlen=history)
        self._logged = 0
        #: The last invocations, the number of the newest, and for each one the number of
        #: the last log record published before it (pairs it with its line on a click).
        self._invocations: deque[InvocationRecord] = deque(maxlen=invocations)
        self._positions: deque[int] = deque(maxlen=invocations)
        self._invoked = 0
        self._per_function = per_function
        #: Function display names by logical id (read at each use: the console passes a live
        #: view, so that functions a re-synthesized app adds under --watch are named too).
        self._names = functions if functions is not None else {}

    @property
    def history(self) -> int:
        """Log records kept at most."""
        return self._log.maxlen or 0

    @property
    def kept(self) -> int:
        """Invocations kept at most."""
        return self._invocations.maxlen or 0

    # -- on every batch (keep it cheap) -----------------------------------------------------

    def add(self, records: Iterable[Any]) -> tuple[int, list[Any]]:
        """Keep ``records``; returns the number of the first log record among them and the
        feed's items for them, in order: ``(kind, record)`` for log records, dicts for a
        connection opened or closed; invocations add none."""
        first = self._logged + 1
        items: list[Any] = []
        log, push = self._log, items.append
        for record in records:
            kind = type(record)
            if kind is AccessRecord:
                log.append(record)
                self._logged += 1
                push(("access", record[:]))
            elif kind is InvocationRecord:
                self._invocations.append(record)
                self._positions.append(self._logged)
                self._invoked += 1
            elif kind is OutputRecord:
                log.append(record)
                self._logged += 1
                push(("output", record[:]))
            elif kind is ConnectionOpenedRecord:
                push({"kind": "open", "at": record.at, **connection_view(record.connection)})
            elif kind is ConnectionClosedRecord:
                push(
                    {
                        "kind": "close",
                        "at": record.at,
                        "connectionId": record.connection_id,
                        "code": record.code,
                        "reason": record.reason,
                    }
                )
            else:
                log.append(record)
                self._logged += 1
                push(("record", _foreign(record)))
        return first, items

    # -- when a page asks -------------------------------------------------------------------

    def recent(self) -> tuple[int, list[Any]]:
        """The log records kept, oldest first, as feed items, with the first one's number."""
        items = [self._item(record) for record in self._log]
        return self._logged - len(self._log) + 1, items

    @staticmethod
    def _item(record: Any) -> Any:
        kind = type(record)
        if kind is AccessRecord:
            return ("access", record[:])
        if kind is OutputRecord:
            return ("output", record[:])
        return ("record", _foreign(record))

    def line(self, seq: int) -> list[dict[str, Any]] | None:
        """The invocations (each with its event and result) behind log record ``seq``,
        ``[]`` when it has none, ``None`` once the line is forgotten."""
        oldest = self._logged - len(self._log) + 1
        if not oldest <= seq <= self._logged:
            return None
        record = self._log[seq - oldest]
        if type(record) is not AccessRecord or record.kind not in _CONNECTION_KINDS:
            return []
        # The connection's previous line, or the oldest line kept: an invocation published
        # after the line before the oldest kept one has its own line among those kept.
        since = oldest - 1
        for back in range(seq - 1, oldest - 1, -1):
            earlier = self._log[back - oldest]
            if (
                type(earlier) is AccessRecord
                and earlier.target == record.target
                and earlier.kind in _CONNECTION_KINDS
            ):
                since = back
                break
        claimed: list[int] = []
        first_id = self._invoked - len(self._invocations) + 1
        for index in range(len(self._invocations) - 1, -1, -1):
            position = self._positions[index]
            if position < since:
                break
            if position < seq and _connection_of(self._invocations[index]) == record.target:
                claimed.append(first_id + index)
                if len(claimed) == MAX_CLAIMED:
                    break
        return [self._detail(i) for i in reversed(claimed)]

    def invocation(self, invocation_id: int) -> dict[str, Any] | None:
        """The invocation ``invocation_id`` (event and result), or ``None`` once forgotten."""
        first_id = self._invoked - len(self._invocations) + 1
        if not first_id <= invocation_id <= self._invoked:
            return None
        return self._detail(invocation_id)

    def _detail(self, invocation_id: int) -> dict[str, Any]:
        first_id = self._invoked - len(self._invocations) + 1
        record = self._invocations[invocation_id - first_id]
        event = record.event
        return {
            **self._summary(invocation_id, record, event),
            "event": event,
            "result": json_safe(record.result),
        }

    def _summary(
        self, invocation_id: int, record: InvocationRecord, event: Any = None
    ) -> dict[str, Any]:
        event = record.event if event is None else event
        context = _context_of(event)
        event = event if isinstance(event, dict) else {}
        return {
            "id": invocation_id,
            "kind": "invocation",
            "at": record.at,
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
        return self.recent_by_function().get(function, [])

    def recent_by_function(self) -> dict[str, list[dict[str, Any]]]:
        """Every function's last invocations still kept (summaries, oldest first)."""
        found: dict[str, list[dict[str, Any]]] = {}
        first_id = self._invoked - len(self._invocations) + 1
        for index in range(len(self._invocations) - 1, -1, -1):
            record = self._invocations[index]
            recent = found.setdefault(record.function, [])
            if len(recent) < self._per_function:
                recent.append(self._summary(first_id + index, record))
        return {function: recent[::-1] for function, recent in found.items()}

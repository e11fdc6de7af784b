"""The emulator's observer hook: what happened, published as records to whoever listens.

The gateway, the ``@connections`` shell and the worker pools publish; the console (and the
IAM checks' denials, and tests) subscribe. A publisher checks :attr:`EventBus.active` before
it builds a record, so a bus nobody listens to costs one attribute read per event::

    if bus.active:
        bus.publish(AccessRecord("MESSAGE", "send", connection_id, 200, 1.8, time.time()))

Subscribers are plain synchronous callables run in the event loop, in the publisher's call:
they must only copy what they need into their own bounded buffers and return (the console
does its JSON and socket work later, batched, in its own task). A subscriber that raises is
logged and skipped; it never breaks the message path.

Records are named tuples (cheap to build, read by field name). Their ``type`` is the class
name; the console shows any record it does not know by its fields, so a new publisher adds a
record class and nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "AccessRecord",
    "ConnectionClosedRecord",
    "ConnectionOpenedRecord",
    "EventBus",
    "InvocationRecord",
    "OutputRecord",
    "Subscriber",
]

logger = logging.getLogger("cdk_ws_api.local")

Subscriber = Callable[[Any], None]


class AccessRecord(NamedTuple):
    """One access-log line: ``kind`` is ``CONNECT``/``MESSAGE``/``DISCONNECT`` or the HTTP
    method of an ``@connections`` call; ``target`` the connection id (or the AWS service of
    an unemulated call); ``at`` epoch seconds."""

    kind: str
    route: str
    target: str
    status: int
    duration_ms: float
    at: float


class OutputRecord(NamedTuple):
    """One line a handler wrote to stdout or stderr."""

    function: str
    line: str
    at: float


class InvocationRecord(NamedTuple):
    """One Lambda invocation: the event sent and the result returned, or ``error`` (the
    function's error type and message, a timeout or a crash). ``event_json`` is the event as
    the JSON text the worker got (encoded once, for the worker; :attr:`event` decodes it);
    ``result`` is the object the worker gave, not a copy: subscribers must not mutate it.

    Text, not the event's dicts: a subscriber that keeps records a while (the console keeps
    the last few hundred) would otherwise keep every event's dicts alive long enough for the
    garbage collector to walk them through all its generations, on every message."""

    function: str
    request_id: str
    event_json: str
    result: Any
    error: str | None
    duration_ms: float
    at: float

    @property
    def event(self) -> Any:
        """The event, decoded (a new object at each read)."""
        return json.loads(self.event_json)


class ConnectionOpenedRecord(NamedTuple):
    """A client connection finished its handshake (``connection`` is the registry's
    :class:`~cdk_ws_api.local.registry.Connection`, live: read it, do not keep it)."""

    connection: Any
    at: float


class ConnectionClosedRecord(NamedTuple):
    """A client connection is gone, with the status ``$disconnect`` reports."""

    connection_id: str
    code: int
    reason: str
    at: float


class EventBus:
    """Synchronous fan-out of records to subscribers (see the module docstring)."""

    __slots__ = ("_subscribers", "active")

    def __init__(self) -> None:
        self._subscribers: tuple[Subscriber, ...] = ()
        #: Whether anyone listens; publishers skip building records when not.
        self.active = False

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns the function that removes it."""
        self._subscribers = (*self._subscribers, subscriber)
        self.active = True

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)
            self.active = bool(self._subscribers)

        return unsubscribe

    def publish(self, record: Any) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(record)
            except Exception:  # an observer must never break the data plane
                logger.exception("event bus subscriber %r failed", subscriber)

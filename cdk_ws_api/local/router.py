"""The HTTP plane of the emulator's port: every request that is not a WebSocket upgrade.

:class:`HttpRouter` dispatches on path prefixes: ``mount("/*/@connections", handler)``; the
longest matching prefix wins, ``*`` matches any one segment, ``/`` matches every path, and a
request no mount matches goes to the fallback. Prefixes are compared with the path's decoded
segments (split once per request, then handed to the handler), so ``/dev/%40connections/x``
matches ``/*/@connections`` as API Gateway accepts both spellings.

The emulator (:mod:`.emulator`) mounts the planes: ``@connections``, the answer for AWS
services it does not emulate, the Lambda Invoke API; the console (``/_console/``) and static
files (``/``) mount here too. :class:`~.gateway.Gateway` serves WebSocket only and hands every
other request to :meth:`HttpRouter.handle`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

from .bus import AccessRecord, EventBus
from .httpparse import HttpRequest
from .management import HttpResponse, segments

__all__ = [
    "AccessLog",
    "AccessLogger",
    "HttpRouter",
    "PlaneHandler",
    "escape_field",
    "json_response",
]

PlaneHandler = Callable[[HttpRequest, list[str]], Awaitable[HttpResponse]]
"""``(request, decoded path segments)`` → response; ``segments[0]`` is ``""`` (leading ``/``)."""

AccessLog = Callable[[str], None]
"""Receives one formatted access-log line per request, connection event or message."""

_WILDCARD = "*"


class AccessLogger:
    """Writes one access-log line per event (``MESSAGE    send   <id> 200 12ms``) to ``sink``
    and publishes it as an :class:`~.bus.AccessRecord` when the bus has listeners; the gateway
    and the HTTP planes share one."""

    def __init__(self, sink: AccessLog, bus: EventBus) -> None:
        self._sink = sink
        self._bus = bus

    def __call__(self, kind: str, route: str, target: str, status: int, started: float) -> None:
        """``started``: ``time.monotonic()`` when the event began. ``kind``, ``route`` and
        ``target`` are escaped (:func:`escape_field`): a client-chosen connection id or path
        (``%0A`` decodes to a line feed) cannot forge an access-log line."""
        duration = (time.monotonic() - started) * 1000
        kind, route, target = escape_field(kind), escape_field(route), escape_field(target)
        self._sink(f"{kind:<10} {route:<16} {target} {status} {duration:.0f}ms")
        if self._bus.active:
            self._bus.publish(AccessRecord(kind, route, target, status, duration, time.time()))


def escape_field(value: str) -> str:
    """``value`` as one access-log field: control characters, spaces, backslashes and
    non-ASCII escaped (``\\n``, ``\\x20``, ``\\u00e9``); ``-`` when empty. Connection ids,
    route keys and method names are printable ASCII already and pass unchanged."""
    if value.isascii() and value.isprintable() and " " not in value and "\\" not in value:
        return value or "-"
    return value.encode("unicode_escape").decode("ascii").replace(" ", "\\x20")


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON answer (``Content-Type: application/json`` plus ``headers``)."""
    return HttpResponse(
        status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def _split(prefix: str) -> tuple[str, ...]:
    if not prefix.startswith("/"):
        raise ValueError(f"mount prefix must start with '/': {prefix!r}")
    stripped = prefix.strip("/")
    return tuple(stripped.split("/")) if stripped else ()


def _matches(parts: list[str], prefix: tuple[str, ...]) -> bool:
    if len(parts) - 1 < len(prefix):
        return False
    for index, expected in enumerate(prefix, start=1):
        if expected != _WILDCARD and parts[index] != expected:
            return False
    return True


async def forbidden(request: HttpRequest, parts: list[str]) -> HttpResponse:
    """API Gateway's answer to a path it does not serve."""
    return json_response(403, {"message": "Forbidden"}, {"x-amzn-ErrorType": "ForbiddenException"})


class HttpRouter:
    """Path prefix → :data:`PlaneHandler`, longest prefix first."""

    def __init__(self, fallback: PlaneHandler = forbidden) -> None:
        self._fallback = fallback
        self._mounts: list[tuple[tuple[str, ...], PlaneHandler]] = []

    @property
    def prefixes(self) -> list[str]:
        """The mounted prefixes, in matching order."""
        return ["/" + "/".join(prefix) for prefix, _ in self._mounts]

    def mount(self, prefix: str, handler: PlaneHandler) -> None:
        """Serve paths starting with ``prefix`` by ``handler``; raises ``ValueError`` when the
        prefix is taken (two planes never share one silently)."""
        key = _split(prefix)
        if any(existing == key for existing, _ in self._mounts):
            raise ValueError(f"{prefix!r} is already mounted")
        self._mounts.append((key, handler))
        # Longest first; among equal lengths literal segments before wildcards.
        self._mounts.sort(key=lambda item: (-len(item[0]), item[0].count(_WILDCARD)))

    def unmount(self, prefix: str) -> None:
        key = _split(prefix)
        self._mounts = [(p, h) for p, h in self._mounts if p != key]

    def resolve(self, path: str) -> PlaneHandler:
        """The handler that would serve ``path`` (the fallback when no prefix matches)."""
        parts = segments(path)
        for prefix, handler in self._mounts:
            if _matches(parts, prefix):
                return handler
        return self._fallback

    async def handle(self, request: HttpRequest) -> HttpResponse:
        parts = segments(request.path)  # split and decoded once for routing and the handler
        for prefix, handler in self._mounts:
            if _matches(parts, prefix):
                return await handler(request, parts)
        return await self._fallback(request, parts)

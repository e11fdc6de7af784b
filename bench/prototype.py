"""A throw-away typed view of WebSocket events, for the analysis of benchmark 2 only.

It does what ``lambda_runtime.parse_event`` does on the read the benchmark makes (type-checked
connection id, route key, source IP, body JSON with base64), written for speed: ``type(x) is
str`` checks inline, no helper per field, no object for the identity, ``json.loads`` bound at
import. It shows how fast a validating view can be; it is not product code.
"""

from __future__ import annotations

import json
from base64 import b64decode
from typing import Any

__all__ = ["make_prototype"]

_loads = json.loads


class _Event:
    __slots__ = ("_ctx", "raw")

    def __init__(self, raw: dict[str, Any], ctx: dict[str, Any]) -> None:
        self.raw = raw
        self._ctx = ctx

    @property
    def connection_id(self) -> str:
        value: str = self._ctx["connectionId"]
        return value

    @property
    def route_key(self) -> str:
        value = self._ctx.get("routeKey")
        if type(value) is str:
            return value
        raise TypeError("requestContext.routeKey: expected a string")

    @property
    def source_ip(self) -> str | None:
        identity = self._ctx.get("identity")
        value = identity.get("sourceIp") if type(identity) is dict else None
        if value is None or type(value) is str:
            return value
        raise TypeError("requestContext.identity.sourceIp: expected a string")


class _Message(_Event):
    __slots__ = ()

    def json(self) -> Any:
        raw = self.raw
        body: Any = raw.get("body")
        if raw.get("isBase64Encoded") is True:
            return _loads(b64decode(body))
        return _loads(body)


_CLASSES = {"MESSAGE": _Message, "CONNECT": _Event, "DISCONNECT": _Event}


def _parse(event: Any) -> _Event:
    if type(event) is not dict:
        raise TypeError("event: expected an object")
    ctx = event.get("requestContext")
    if type(ctx) is not dict:
        raise TypeError("requestContext: expected an object")
    connection_id = ctx.get("connectionId")
    if type(connection_id) is not str or not connection_id:
        raise TypeError("requestContext.connectionId: expected a non-empty string")
    return _CLASSES[ctx["eventType"]](event, ctx)


def make_prototype() -> Any:
    def read(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        parsed = _parse(event)
        body = parsed.json() if type(parsed) is _Message else None
        return parsed.connection_id, parsed.route_key, body, parsed.source_ip

    return read

"""The Lambda events API Gateway sends for WebSocket APIs, built from plain data (pure).

Shapes follow captured AWS events (``$connect`` with headers, ``multiValueHeaders`` and query
parameters; messages with ``messageId`` and no headers; ``$disconnect`` with placeholder
headers, ``disconnectStatusCode`` and ``disconnectReason``; the ``REQUEST`` authorizer event
with its ``methodArn``). ``requestTime`` is in CLF (``11/Nov/2024:11:35:24 +0000``) and all
epochs are milliseconds. ``domainName`` is the local ``HOST:PORT`` the client connected to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .registry import Connection, new_aws_id
from .specs import ApiSpec

__all__ = [
    "EventSource",
    "authorizer_event",
    "clf_time",
    "connect_event",
    "disconnect_event",
    "disconnect_reason",
    "message_event",
    "multi_value",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clf_time(epoch_ms: int) -> str:
    """``requestTime`` format, always English month names and UTC (locale-independent)."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def multi_value(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``(single, multi)`` maps as API Gateway builds them: the single-value map keeps the last
    value of a repeated name, the multi-value map all of them in order."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


@dataclass(frozen=True)
class EventSource:
    """What every event of one API shares: the API and the domain clients connect to."""

    api: ApiSpec
    domain_name: str

    def request_context(
        self, connection: Connection, *, route_key: str, event_type: str, now_ms: int
    ) -> dict[str, Any]:
        request_id = new_aws_id()
        identity: dict[str, str] = {"sourceIp": connection.source_ip}
        if connection.user_agent is not None:
            identity["userAgent"] = connection.user_agent
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": clf_time(now_ms),
            "messageDirection": "IN",
            "stage": self.api.stage,
            "connectedAt": connection.connected_at,
            "requestTimeEpoch": now_ms,
            "identity": identity,
            "requestId": request_id,
            "domainName": self.domain_name,
            "connectionId": connection.connection_id,
            "apiId": self.api.api_id,
        }
        if connection.authorizer is not None:
            context["authorizer"] = dict(connection.authorizer)
        return context

    def _handshake_headers(self, connection: Connection) -> list[tuple[str, str]]:
        # API Gateway adds its proxy headers; the client's own are passed through.
        present = {name.lower() for name, _ in connection.headers}
        headers = list(connection.headers)
        added = {
            "X-Forwarded-For": connection.source_ip,
            "X-Forwarded-Port": self.domain_name.rpartition(":")[2] or "80",
            "X-Forwarded-Proto": "http",
        }
        for name, value in added.items():
            if name.lower() not in present:
                headers.append((name, value))
        return headers

    def _stage_variables(self, event: dict[str, Any]) -> None:
        if self.api.stage_variables:
            event["stageVariables"] = dict(self.api.stage_variables)


def connect_event(source: EventSource, connection: Connection, *, now_ms: int) -> dict[str, Any]:
    """The ``$connect`` route event (the authorizer's ``context`` already on ``connection``)."""
    headers, multi_headers = multi_value(source._handshake_headers(connection))
    event: dict[str, Any] = {"headers": headers, "multiValueHeaders": multi_headers}
    if connection.query:
        query, multi_query = multi_value(connection.query)
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    source._stage_variables(event)
    event["requestContext"] = source.request_context(
        connection, route_key="$connect", event_type="CONNECT", now_ms=now_ms
    )
    event["isBase64Encoded"] = False
    return event


def authorizer_event(source: EventSource, connection: Connection, *, now_ms: int) -> dict[str, Any]:
    """The Lambda ``REQUEST`` authorizer event for the ``$connect`` of ``connection``."""
    headers, multi_headers = multi_value(source._handshake_headers(connection))
    query, multi_query = multi_value(connection.query)
    context = source.request_context(
        connection, route_key="$connect", event_type="CONNECT", now_ms=now_ms
    )
    context.pop("authorizer", None)
    return {
        "type": "REQUEST",
        "methodArn": source.api.method_arn("$connect"),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "stageVariables": dict(source.api.stage_variables),
        "requestContext": context,
    }


def message_event(
    source: EventSource, connection: Connection, *, route_key: str, body: str, now_ms: int
) -> dict[str, Any]:
    """A message event (custom route or ``$default``): ``messageId``, no headers."""
    context = source.request_context(
        connection, route_key=route_key, event_type="MESSAGE", now_ms=now_ms
    )
    context["messageId"] = new_aws_id()
    event: dict[str, Any] = {"requestContext": context}
    source._stage_variables(event)
    event["body"] = body
    event["isBase64Encoded"] = False
    return event


def disconnect_event(
    source: EventSource,
    connection: Connection,
    *,
    status_code: int,
    reason: str,
    now_ms: int,
) -> dict[str, Any]:
    """The ``$disconnect`` event, with AWS's placeholder headers (its handshake headers are
    long gone by then)."""
    headers = {
        "Host": source.domain_name,
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    context = source.request_context(
        connection, route_key="$disconnect", event_type="DISCONNECT", now_ms=now_ms
    )
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    event: dict[str, Any] = {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
    }
    source._stage_variables(event)
    event["requestContext"] = context
    event["isBase64Encoded"] = False
    return event


_DEFAULT_REASONS = {
    1000: "Connection Closed Normally",
    1001: "Going away",
    1005: "Client-side close frame status not set",
    1006: "Connection closed abnormally",
}


def disconnect_reason(code: int, reason: str = "") -> str:
    """``disconnectReason`` for a close ``code``: the peer's reason when it gave one, else the
    text API Gateway uses for that code."""
    return reason or _DEFAULT_REASONS.get(code, "")

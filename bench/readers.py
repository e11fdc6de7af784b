"""The same work done with each parser: parse a route event and read what an app reads
(connection id, route key, the body as JSON, the source IP).

``make_*()`` imports its library and returns the reader, so a cold-import benchmark times
the import by calling the factory. This module imports only ``json`` (the Lambda runtime's
bootstrap has imported it before any handler runs); every library is imported lazily.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: it would pre-load modules for everyone
    from collections.abc import Callable
    from typing import Any

    Reader = Callable[[dict[str, Any]], tuple[Any, Any, Any, Any]]

__all__ = ["READERS", "make_dataclasses", "make_ours", "make_parser", "make_raw"]


def make_ours() -> Reader:
    """``lambda_runtime.parse_event`` and its properties."""
    from lambda_runtime import MessageEvent, parse_event

    def read(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        parsed = parse_event(event)
        body = parsed.json() if isinstance(parsed, MessageEvent) else None
        return parsed.connection_id, parsed.route_key, body, parsed.source_ip

    return read


def make_dataclasses() -> Reader:
    """Powertools data classes: ``APIGatewayWebSocketEvent``."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent

    def read(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        parsed = APIGatewayWebSocketEvent(event)
        context = parsed.request_context
        return (
            context.connection_id,
            context.route_key,
            parsed.json_body,
            context.identity.source_ip,
        )

    return read


def make_parser() -> Reader:
    """Powertools parser: ``parse(event, model)`` with its WebSocket models, the model chosen
    by ``requestContext.eventType`` (one function serving every route must dispatch so)."""
    from aws_lambda_powertools.utilities.parser import parse
    from aws_lambda_powertools.utilities.parser.models import (
        APIGatewayWebSocketConnectEventModel,
        APIGatewayWebSocketDisconnectEventModel,
        APIGatewayWebSocketMessageEventModel,
    )

    models: dict[str, Any] = {
        "CONNECT": APIGatewayWebSocketConnectEventModel,
        "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
        "MESSAGE": APIGatewayWebSocketMessageEventModel,
    }

    def read(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        model = parse(event, models[event["requestContext"]["eventType"]])
        context = model.request_context
        body = getattr(model, "body", None)
        if body is not None:
            if model.is_base64_encoded:
                from base64 import b64decode

                body = b64decode(body)
            body = json.loads(body)
        # source_ip is an IPvAnyNetwork: reading the attribute is enough, no str() is charged.
        return context.connection_id, context.route_key, body, context.identity.source_ip

    return read


def make_raw() -> Reader:
    """No library: plain dict access (the floor, for reference; not a target)."""

    def read(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        context = event["requestContext"]
        body = event.get("body")
        if body is not None:
            if event.get("isBase64Encoded"):
                from base64 import b64decode

                body = b64decode(body)
            body = json.loads(body)
        return context["connectionId"], context["routeKey"], body, context["identity"]["sourceIp"]

    return read


READERS: dict[str, Callable[[], Reader]] = {
    "lambda_runtime": make_ours,
    "powertools-parser": make_parser,
    "powertools-dataclasses": make_dataclasses,
    "raw-dict": make_raw,
}

"""How API Gateway calls its Lambda proxy integrations, without sockets.

:class:`Integrations` turns a connection's events into invocations and their results into
what API Gateway does next:

- :meth:`~Integrations.authorize`: a route requiring an API key without ``x-api-key`` → 403;
  ``AWS_IAM`` without a SigV4 signature (header or presigned query) → 403 (signatures are
  not verified); for a Lambda authorizer, identity sources missing → 401 without calling the
  function; the function raising ``Unauthorized`` → 401; ``Deny``, no ``Allow`` on the exact
  method ARN, an invalid answer or any other failure → 403. On success the
  ``requestContext.authorizer`` of every later event is stored on the connection.
- :meth:`~Integrations.connect`: an integration error → 500; the answer's ``statusCode``
  decides the handshake; a ``Sec-WebSocket-Protocol`` header is to be echoed.
- :meth:`~Integrations.message`: route selection; no route → the ``Forbidden`` frame; an
  error or the integration timeout → the ``Internal server error`` frame; the function's
  ``body`` is the reply only on routes with a route response.
- :meth:`~Integrations.disconnect`: ``$disconnect`` with its status code and reason.

Every invocation is bounded by the integration timeout (29 s on AWS): past it the caller gets
:class:`InvocationError`, while the function runs on until its own timeout, as on AWS.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .events import (
    EventSource,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_event,
)
from .exceptions import (
    FunctionError,
    HandshakeRejected,
    InvalidAuthorizerResponse,
    InvocationError,
)
from .policy import (
    evaluate,
    missing_identity_sources,
    requestcontext_authorizer,
)
from .registry import Connection
from .routing import CONNECT, DEFAULT, DISCONNECT, select_route
from .specs import ApiSpec
from .workers import Invocation, WorkerPools

__all__ = ["ConnectOutcome", "Integrations", "MessageOutcome", "error_frame"]

logger = logging.getLogger("cdk_ws_api.local")


@dataclass(frozen=True)
class ConnectOutcome:
    status: int
    subprotocol: str | None = None


@dataclass(frozen=True)
class MessageOutcome:
    """``route_key`` as logged, the status for the access log, and the message to send back
    (``None``: nothing is sent; ``bytes``: a base64 body, sent as a binary frame)."""

    route_key: str
    status: int
    reply: str | bytes | None


def error_frame(message: str, connection_id: str, request_id: str) -> str:
    """API Gateway's error frame: ``{"message", "connectionId", "requestId"}``."""
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})


def _consume_result(future: asyncio.Future[Any]) -> None:
    # An invocation the client stopped waiting for: its outcome is only logged.
    if not future.cancelled() and future.exception() is not None:
        logger.warning("late invocation failed: %s", future.exception())


def _reply_body(result: Any) -> str | bytes | None:
    if isinstance(result, dict):
        body = result.get("body")
        if body is None:
            return None
        if result.get("isBase64Encoded") is True and isinstance(body, str):
            with contextlib.suppress(ValueError):
                return base64.b64decode(body, validate=True)  # sent as a binary frame
        return body if isinstance(body, str) else json.dumps(body)
    if result is None:
        return None
    return result if isinstance(result, str) else json.dumps(result)


def _status(result: Any, default: int = 200) -> int:
    if isinstance(result, dict) and "statusCode" in result:
        with contextlib.suppress(TypeError, ValueError):
            return int(result["statusCode"])
    return default


class Integrations:
    """The integrations of one API; ``now`` gives epoch milliseconds for the events."""

    def __init__(
        self,
        api: ApiSpec,
        pools: WorkerPools,
        *,
        timeout: float,
        now: Callable[[], int],
    ) -> None:
        self.api = api
        self.pools = pools
        self.timeout = timeout
        self._now = now

    async def invoke(self, function: str | None, event: dict[str, Any]) -> Invocation:
        """Invoke ``function`` (a logical id); raises :class:`InvocationError` when it fails,
        times out, or has no local integration."""
        pool = self.pools.get(function or "")
        if pool is None:
            raise InvocationError(f"no local integration for {function or 'this route'}")
        invocation = asyncio.ensure_future(pool.invoke(event))
        try:
            return await asyncio.wait_for(asyncio.shield(invocation), self.timeout)
        except asyncio.TimeoutError:
            invocation.add_done_callback(_consume_result)
            raise InvocationError(f"integration timeout ({self.timeout:g}s)") from None

    async def authorize(self, connection: Connection, source: EventSource) -> None:
        """Authorize the ``$connect`` handshake; raises :class:`HandshakeRejected`."""
        route = self.api.routes.get(CONNECT)
        if route is None:
            return
        headers = {name.lower(): value for name, value in connection.headers}
        query = dict(connection.query)
        if route.api_key_required and not headers.get("x-api-key"):
            raise HandshakeRejected(403, "Forbidden")
        if route.authorization_type == "AWS_IAM":
            # Signatures cannot be verified locally; an unsigned request is refused as on AWS.
            signed = headers.get("authorization", "").startswith("AWS4-HMAC-SHA256")
            if not (signed or query.get("X-Amz-Signature")):
                raise HandshakeRejected(403, "Forbidden")
        if route.authorizer is None:
            return
        authorizer = self.api.authorizers.get(route.authorizer)
        if authorizer is None or authorizer.function is None:
            raise HandshakeRejected(500, "Internal server error")
        missing = missing_identity_sources(
            authorizer.identity_sources,
            headers=connection.headers,
            query=connection.query,
            stage_variables=self.api.stage_variables,
        )
        if missing:
            raise HandshakeRejected(401, "Unauthorized")
        event = authorizer_event(source, connection, now_ms=self._now())
        try:
            invocation = await self.invoke(authorizer.function, event)
        except FunctionError as error:
            if error.error_message == "Unauthorized":
                raise HandshakeRejected(401, "Unauthorized") from error
            logger.warning("authorizer %s failed: %s", authorizer.name, error)
            raise HandshakeRejected(403, "Forbidden") from error
        except InvocationError as error:
            logger.warning("authorizer %s failed: %s", authorizer.name, error)
            raise HandshakeRejected(403, "Forbidden") from error
        try:
            decision = evaluate(invocation.result, self.api.method_arn(CONNECT))
        except InvalidAuthorizerResponse as error:
            logger.warning("authorizer %s: %s", authorizer.name, error)
            raise HandshakeRejected(403, "Forbidden") from error
        if not decision.allowed:
            raise HandshakeRejected(403, "Forbidden")
        context = requestcontext_authorizer(decision)
        context["integrationLatency"] = round(invocation.duration_ms)
        connection.authorizer = context

    async def connect(self, connection: Connection, source: EventSource) -> ConnectOutcome:
        """Run ``$connect``, if any; raises :class:`HandshakeRejected` unless it answered 2xx."""
        route = self.api.routes.get(CONNECT)
        if route is None:
            return ConnectOutcome(200)
        event = connect_event(source, connection, now_ms=self._now())
        try:
            invocation = await self.invoke(route.function, event)
        except InvocationError as error:
            logger.warning("$connect failed: %s", error)
            raise HandshakeRejected(500, "Internal server error") from error
        result = invocation.result
        status = _status(result)
        if not 200 <= status < 300:
            raise HandshakeRejected(status, "Forbidden" if status == 403 else "HandshakeRejected")
        subprotocol = None
        headers = result.get("headers") if isinstance(result, dict) else None
        if isinstance(headers, dict):
            for name, value in headers.items():
                if str(name).lower() == "sec-websocket-protocol":
                    subprotocol = str(value)
        return ConnectOutcome(status, subprotocol)

    async def message(
        self, connection: Connection, source: EventSource, body: str
    ) -> MessageOutcome:
        """Route and deliver one text message."""
        key = select_route(self.api.route_selection_expression, body, self.api.routes.keys())
        event = message_event(
            source, connection, route_key=key or DEFAULT, body=body, now_ms=self._now()
        )
        request_id = event["requestContext"]["requestId"]
        if key is None:
            frame = error_frame("Forbidden", connection.connection_id, request_id)
            return MessageOutcome(DEFAULT, 403, frame)
        route = self.api.routes[key]
        try:
            invocation = await self.invoke(route.function, event)
        except InvocationError as error:
            logger.warning("route %s failed: %s", key, error)
            frame = error_frame("Internal server error", connection.connection_id, request_id)
            return MessageOutcome(key, 500, frame)
        reply = _reply_body(invocation.result) if route.return_response else None
        return MessageOutcome(key, _status(invocation.result), reply)

    async def disconnect(
        self, connection: Connection, source: EventSource, *, code: int, reason: str
    ) -> int | None:
        """Run ``$disconnect``, if any; returns the status for the access log."""
        route = self.api.routes.get(DISCONNECT)
        if route is None:
            return None
        event = disconnect_event(
            source, connection, status_code=code, reason=reason, now_ms=self._now()
        )
        try:
            await self.invoke(route.function, event)
        except InvocationError as error:
            logger.warning("$disconnect failed: %s", error)
            return 500
        return 200

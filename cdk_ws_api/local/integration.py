"""How API Gateway calls a route's integration, without sockets.

:class:`Integrations` turns a connection's events into calls of the route's invoker (one per
integration kind, built once per route by :func:`.integrations.build_invoker`: Lambda proxy
and custom, MOCK, HTTP/HTTP_PROXY, AWS against moto) and their outcomes into what API Gateway
does next:

- :meth:`~Integrations.authorize`: a route requiring an API key without ``x-api-key`` → 403;
  ``AWS_IAM`` without a SigV4 signature (header or presigned query) → 403 (signatures are
  not verified); for a Lambda authorizer, identity sources missing → 401 without calling the
  function; the function raising ``Unauthorized`` → 401; ``Deny``, no ``Allow`` on the exact
  method ARN, an invalid answer or any other failure → 403. On success the
  ``requestContext.authorizer`` of every later event is stored on the connection.
- :meth:`~Integrations.connect`: a required route parameter missing → 400; an integration
  error → 500; the outcome's status decides the handshake; a ``Sec-WebSocket-Protocol``
  header is to be echoed.
- :meth:`~Integrations.message`: route selection; no route → the ``Forbidden`` frame; a body
  the route's request model rejects → the ``Invalid request body`` frame (:mod:`.models`);
  an error (function, VTL, HTTP or AWS call) or the integration timeout → the ``Internal
  server error`` frame and a log line with the cause; the reply is sent only on routes with a
  route response.
- :meth:`~Integrations.disconnect`: ``$disconnect`` with its status code and reason.

Every invocation is bounded by the integration timeout (29 s on AWS, or the integration's
``TimeoutInMillis`` when shorter): past it the caller gets :class:`InvocationError`, while a
function runs on until its own timeout, as on AWS.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection
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
    RequestRejected,
)
from .integrations import (
    IntegrationOutcome,
    IntegrationRequest,
    IntegrationServices,
    Invoker,
    LocalAws,
    build_invoker,
)
from .models import validate_request
from .policy import (
    evaluate,
    missing_identity_sources,
    requestcontext_authorizer,
)
from .registry import Connection
from .routing import CONNECT, DEFAULT, DISCONNECT, select_route
from .specs import ApiSpec, RouteSpec
from .vtl import RequestParams
from .workers import Invocation, WorkerPools, within

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


#: Message and ``$disconnect`` requests carry no headers or query string on WebSocket APIs.
_NO_PARAMS = RequestParams(header=None)


def _handshake_params(connection: Connection) -> RequestParams:
    return RequestParams(querystring=dict(connection.query), header=dict(connection.headers))


def _require_parameters(route: RouteSpec, params: RequestParams) -> None:
    for name in route.required_parameters:
        kind, _, key = name.removeprefix("route.request.").partition(".")
        present = (
            key in params.querystring
            if kind == "querystring"
            else any(h.lower() == key.lower() for h in params.header)
        )
        if not present:
            raise RequestRejected(400, "Bad Request", f"missing required parameter {name}")


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
        self.services = IntegrationServices(run_function=self.invoke, timeout=timeout)
        self._invokers: dict[str, Invoker] = {}

    def rebind(self, api: ApiSpec) -> None:
        """Serve ``api``'s routes from the next event on (a re-synthesized app under
        ``--watch``): invokers are built again, an event in flight finishes on the old one."""
        self.api = api
        self._invokers = {}

    def use_local_aws(self, aws: LocalAws) -> None:
        """Send ``AWS`` integrations to ``aws`` (the embedded moto server)."""
        self.services.aws = aws
        self._invokers.clear()

    def allow_http_hosts(self, hosts: Collection[str]) -> None:
        """Let ``HTTP``/``HTTP_PROXY`` integrations reach ``hosts`` besides loopback."""
        self.services.allowed_http_hosts = frozenset(h.lower() for h in hosts)
        self._invokers.clear()

    def _invoker(self, route: RouteSpec) -> Invoker:
        invoker = self._invokers.get(route.key)
        if invoker is None:
            invoker = self._invokers[route.key] = build_invoker(route.integration, self.services)
        return invoker

    async def _run(
        self, route: RouteSpec, event: dict[str, Any], body: str, params: RequestParams
    ) -> IntegrationOutcome:
        request = IntegrationRequest(event, body, params, self.api.stage_variables)
        spec_timeout = route.integration.timeout if route.integration else None
        timeout = min(spec_timeout or self.timeout, self.timeout)
        try:
            return await within(self._invoker(route).invoke(request), timeout)
        except asyncio.TimeoutError:
            raise InvocationError(f"integration timeout ({timeout:g}s)") from None

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
        params = _handshake_params(connection)
        try:
            _require_parameters(route, params)
            outcome = await self._run(route, event, "", params)
        except RequestRejected as rejected:
            logger.warning("$connect rejected: %s", rejected)
            raise HandshakeRejected(rejected.status, rejected.message) from rejected
        except InvocationError as error:
            logger.warning("$connect failed: %s", error)
            raise HandshakeRejected(500, "Internal server error") from error
        status = outcome.status
        if not 200 <= status < 300:
            raise HandshakeRejected(status, "Forbidden" if status == 403 else "HandshakeRejected")
        subprotocol = None
        for name, value in outcome.headers.items():
            if name.lower() == "sec-websocket-protocol":
                subprotocol = value
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
            validate_request(self.api, route, body)
            outcome = await self._run(route, event, body, _NO_PARAMS)
        except RequestRejected as rejected:
            logger.warning("route %s rejected the message: %s", key, rejected)
            frame = error_frame(rejected.message, connection.connection_id, request_id)
            return MessageOutcome(key, rejected.status, frame)
        except InvocationError as error:
            logger.warning("route %s failed: %s", key, error)
            frame = error_frame("Internal server error", connection.connection_id, request_id)
            return MessageOutcome(key, 500, frame)
        reply = outcome.reply if route.return_response else None
        return MessageOutcome(key, outcome.status, reply)

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
            outcome = await self._run(route, event, "", _NO_PARAMS)
        except (InvocationError, RequestRejected) as error:
            logger.warning("$disconnect failed: %s", error)
            return 500
        return outcome.status

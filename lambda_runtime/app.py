"""Route dispatch: one Lambda handler for every route of a WebSocket API.

::

    app = WebSocketApp()

    @app.connect
    def on_connect(event: ConnectEvent) -> None:
        if "token" not in event.query:
            raise Reject(401, "Unauthorized")

    @app.route("sendMessage")
    def send_message(event: MessageEvent, context: LambdaContext) -> dict[str, str]:
        return {"echo": event.json()["text"]}

    handler = app  # the Lambda handler: app(event, context)

What a function returns becomes the integration response (API Gateway forwards its body to
the client only when the route has a route response):

- ``None`` → ``{"statusCode": 200}``
- ``str`` → ``{"statusCode": 200, "body": value}``
- ``bytes`` → ``{"statusCode": 200, "body": <base64>, "isBase64Encoded": True}``
- ``dict``, ``list`` or any other JSON value → ``{"statusCode": 200, "body": <JSON>}``
- a ``Response`` → its status code, body and headers (e.g. ``Sec-WebSocket-Protocol``)
- a ``dict`` that already is a Lambda proxy response (an ``int`` ``statusCode`` and no keys
  but ``statusCode``, ``body``, ``headers``, ``multiValueHeaders``, ``isBase64Encoded``) → as
  it is, so that the habitual ``return {"statusCode": 403}`` in ``$connect`` still refuses

``raise Reject(status, message)`` answers ``{"statusCode": status, "body": message}``; on
``$connect`` API Gateway then refuses the connection with that status. A message whose route
has no function and no ``@app.default`` is answered ``{"statusCode": 400, "body":
'{"message": "No handler for route …"}'}``; ``$connect`` and ``$disconnect`` without a function
are accepted (200). Any other exception is logged to stdout as one JSON line (``level``,
``message``, ``requestId``, ``connectionId``, ``routeKey``, ``exception`` type and traceback)
and answered ``{"statusCode": 500, "body": '{"message": "Internal server error"}'}`` without
the traceback.
"""

from __future__ import annotations

import sys

from .env import CONNECT_ROUTE, DEFAULT_ROUTE, DISCONNECT_ROUTE
from .events import ConnectEvent, DisconnectEvent, MessageEvent, _safe_repr, parse_event
from .exceptions import Reject

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Reject", "Response", "Router", "WebSocketApp"]

CONNECT, DISCONNECT, DEFAULT = CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE

_CO_VARARGS = 0x04


def _takes_context(func: Callable[..., Any]) -> bool:
    """Whether ``func`` accepts a second positional argument (the Lambda context).

    Decided once at registration. Plain functions and methods are read from their code object
    (``inspect`` costs ~10 ms of cold start); other callables fall back on ``inspect``.
    """
    target = getattr(func, "__func__", func)  # bound method → function
    code = getattr(target, "__code__", None)
    if code is not None and not hasattr(func, "__wrapped__"):
        positional = code.co_argcount - (1 if target is not func else 0)
        return positional >= 2 or bool(code.co_flags & _CO_VARARGS)
    import inspect

    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional_kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in positional_kinds for p in params) >= 2


class Response:
    """An explicit integration response, when ``200`` and a plain body are not enough.

    ``body`` is sent as is when a ``str``, base64-encoded when ``bytes``, as JSON otherwise.
    On ``$connect``, set ``headers={"Sec-WebSocket-Protocol": "..."}`` to accept a subprotocol.
    """

    __slots__ = ("body", "headers", "status_code")

    def __init__(
        self,
        status_code: int = 200,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        """The Lambda proxy response API Gateway expects."""
        out: dict[str, Any] = {"statusCode": self.status_code}
        if self.headers:
            out["headers"] = dict(self.headers)
        body = self.body
        if body is None:
            return out
        if isinstance(body, str):
            out["body"] = body
        elif isinstance(body, (bytes, bytearray, memoryview)):
            from base64 import b64encode

            out["body"] = b64encode(bytes(body)).decode("ascii")
            out["isBase64Encoded"] = True
        else:
            import json

            out["body"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        return out

    def __repr__(self) -> str:
        return (
            f"Response({_safe_repr(self.status_code)}, {_safe_repr(self.body)}, "
            f"headers={_safe_repr(self.headers)})"
        )


class _Handler:
    __slots__ = ("func", "takes_context")

    def __init__(self, func: Callable[..., Any]) -> None:
        if not callable(func):
            raise TypeError(f"a route handler must be callable, got {func!r}")
        self.func = func
        self.takes_context = _takes_context(func)


class Router:
    """A registry of route functions; ``WebSocketApp.include_router`` merges it into an app.

    The decorators register the function and return it unchanged. A route key may have only
    one function: registering it twice raises ``ValueError``.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, _Handler] = {}

    def _register(self, route_key: str, func: F) -> F:
        if not isinstance(route_key, str) or not route_key:
            raise ValueError(f"route key must be a non-empty string, got {route_key!r}")
        existing = self._handlers.get(route_key)
        if existing is not None:
            raise ValueError(
                f"route {route_key!r} already has a function ({existing.func!r}); "
                "a route key may have only one"
            )
        self._handlers[route_key] = _Handler(func)
        return func

    def connect(self, func: F) -> F:
        """Register ``func(event: ConnectEvent[, context])`` for ``$connect``."""
        return self._register(CONNECT, func)

    def disconnect(self, func: F) -> F:
        """Register ``func(event: DisconnectEvent[, context])`` for ``$disconnect``."""
        return self._register(DISCONNECT, func)

    def default(self, func: F) -> F:
        """Register ``func(event: MessageEvent[, context])`` for ``$default`` and for every
        message whose route has no function of its own."""
        return self._register(DEFAULT, func)

    def route(self, route_key: str) -> Callable[[F], F]:
        """Register ``func(event: MessageEvent[, context])`` for the route ``route_key``
        (the value the route selection expression picks, e.g. the body's ``action``)."""

        def decorator(func: F) -> F:
            return self._register(route_key, func)

        return decorator

    def include_router(self, router: Router) -> None:
        """Add every function of ``router``; a route key registered in both raises
        ``ValueError``."""
        clashes = sorted(self._handlers.keys() & router._handlers.keys())
        if clashes:
            raise ValueError(f"routes registered twice: {', '.join(clashes)}")
        self._handlers.update(router._handlers)

    @property
    def route_keys(self) -> list[str]:
        """The route keys that have a function, sorted."""
        return sorted(self._handlers)


class WebSocketApp(Router):
    """The Lambda handler for every route: ``handler = app`` (called as ``app(event, context)``).

    See the module docstring for how return values, ``Reject`` and errors are answered.
    """

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """Parse ``event``, call the route's function and return the integration response.

        Raises ``EventParseError`` (failing the invocation) when ``event`` is not a WebSocket
        route event: that is a wiring mistake, not something to answer the client.
        """
        parsed = parse_event(event)
        route_key = parsed.route_key
        handler = self._handlers.get(route_key)
        if handler is None and isinstance(parsed, MessageEvent):
            handler = self._handlers.get(DEFAULT)
        if handler is None:
            if isinstance(parsed, (ConnectEvent, DisconnectEvent)):
                return {"statusCode": 200}
            self._log("WARNING", f"no handler for route {route_key!r}", parsed, context)
            return Response(400, {"message": f"No handler for route {route_key!r}"}).to_dict()
        try:
            if handler.takes_context:
                result = handler.func(parsed, context)
            else:
                result = handler.func(parsed)
            return _to_response(result)
        except Reject as rejection:
            return {"statusCode": rejection.status_code, "body": rejection.message}
        except Exception as exc:
            self._log("ERROR", f"unhandled exception in route {route_key!r}", parsed, context, exc)
            return Response(500, {"message": "Internal server error"}).to_dict()

    def _log(
        self,
        level: str,
        message: str,
        event: ConnectEvent | DisconnectEvent | MessageEvent,
        context: Any,
        exc: BaseException | None = None,
    ) -> None:
        """Write one JSON line to stdout (CloudWatch Logs keeps it as one record)."""
        import json
        import time

        record: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": level,
            "message": message,
            "routeKey": event.route_key,
            "connectionId": event.connection_id,
        }
        try:
            record["requestId"] = event.request_id
        except Exception:
            record["requestId"] = None
        lambda_request_id = getattr(context, "aws_request_id", None)
        if isinstance(lambda_request_id, str):
            record["lambdaRequestId"] = lambda_request_id
        if exc is not None:
            import traceback

            record["exception"] = {
                "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            }
        sys.stdout.write(json.dumps(record, default=repr) + "\n")
        sys.stdout.flush()


_PROXY_KEYS = frozenset(("statusCode", "body", "headers", "multiValueHeaders", "isBase64Encoded"))


def _to_response(result: Any) -> dict[str, Any]:
    if result is None:
        return {"statusCode": 200}
    if isinstance(result, Response):
        return result.to_dict()
    if (
        isinstance(result, dict)
        and type(result.get("statusCode")) is int
        and result.keys() <= _PROXY_KEYS
    ):
        return result
    return Response(200, result).to_dict()

"""Typed, read-only views over API Gateway WebSocket events.

``parse_event(event)`` picks the class by ``requestContext.eventType`` (falling back on
``routeKey``) and checks only what every event must have: ``requestContext`` and its
``connectionId``. Everything else is read from the raw dict when you access it (``.raw`` keeps
the dict untouched), so parsing costs almost nothing. Optional fields that are missing or
``null`` read as ``None`` (or an empty collection); a field of the wrong type raises
``EventParseError`` naming it, and no other exception escapes the parser or the properties.
"""

from __future__ import annotations

# ``_collections_abc`` is what ``collections.abc`` re-exports; importing it directly spares the
# ``collections`` package (about 2.5 ms of cold start) that nothing else here needs.
from _collections_abc import Mapping

from .exceptions import EventParseError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import Any, TypeVar

    _V = TypeVar("_V")
    _T = TypeVar("_T")

__all__ = [
    "AuthorizerEvent",
    "CaseInsensitiveMapping",
    "ConnectEvent",
    "DisconnectEvent",
    "EventParseError",
    "MessageEvent",
    "RequestIdentity",
    "WebSocketEvent",
    "parse_authorizer_event",
    "parse_event",
]

_UNSET: Any = object()


def _get(data: Mapping[str, Any], key: str, kind: type[_T], path: str) -> _T | None:
    """``data[key]`` if it is a ``kind``, None when missing or null, else EventParseError."""
    value = data.get(key)
    if value is None:
        return None
    if type(value) is kind or (  # exact type first: the common case, and the fastest check
        isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    ):
        return value
    raise EventParseError(path, f"expected {kind.__name__}, got {type(value).__name__}")


def _get_map(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise EventParseError(path, f"expected an object, got {type(value).__name__}")


def _epoch_ms(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventParseError(path, f"expected epoch milliseconds, got {type(value).__name__}")
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, ValueError, OSError) as exc:
        raise EventParseError(path, f"not a valid epoch-milliseconds time: {value!r}") from exc


def _str_dict(data: Mapping[str, Any], key: str) -> dict[str, str]:
    """A copy of a ``{str: str}`` object; null values are dropped."""
    out: dict[str, str] = {}
    for name, value in _get_map(data, key, key).items():
        if value is None:
            continue
        if not isinstance(name, str) or not isinstance(value, str):
            raise EventParseError(f"{key}.{name}", "expected a string value")
        out[name] = value
    return out


def _list_dict(data: Mapping[str, Any], key: str) -> dict[str, list[str]]:
    """A copy of a ``{str: [str, ...]}`` object; null lists are dropped."""
    out: dict[str, list[str]] = {}
    for name, values in _get_map(data, key, key).items():
        if values is None:
            continue
        if (
            not isinstance(name, str)
            or not isinstance(values, list)
            or not all(isinstance(v, str) for v in values)
        ):
            raise EventParseError(f"{key}.{name}", "expected a list of strings")
        out[name] = list(values)
    return out


class CaseInsensitiveMapping(Mapping[str, "_V"]):
    """Read-only mapping whose keys compare case-insensitively (``h["host"] == h["Host"]``).

    Iteration yields the keys as they were sent.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, _V] | None = None) -> None:
        self._items: dict[str, tuple[str, _V]] = {}
        for key, value in (items or {}).items():
            self._items[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> _V:
        if not isinstance(key, str):
            raise KeyError(key)
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


class RequestIdentity:
    """``requestContext.identity``: who made the request.

    AWS sends only ``sourceIp`` (and sometimes ``userAgent``) for unauthenticated connections;
    the account, caller, user and access-key fields are filled for IAM-authorized ones, the
    Cognito fields for Cognito identities, ``api_key``/``api_key_id`` when the route requires an
    API key. Every field is ``None`` when missing or null.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def _field(self, key: str) -> str | None:
        return _get(self.raw, key, str, f"requestContext.identity.{key}")

    @property
    def source_ip(self) -> str | None:
        return self._field("sourceIp")

    @property
    def user_agent(self) -> str | None:
        return self._field("userAgent")

    @property
    def account_id(self) -> str | None:
        return self._field("accountId")

    @property
    def caller(self) -> str | None:
        return self._field("caller")

    @property
    def user(self) -> str | None:
        return self._field("user")

    @property
    def user_arn(self) -> str | None:
        return self._field("userArn")

    @property
    def access_key(self) -> str | None:
        return self._field("accessKey")

    @property
    def cognito_identity_pool_id(self) -> str | None:
        return self._field("cognitoIdentityPoolId")

    @property
    def cognito_identity_id(self) -> str | None:
        return self._field("cognitoIdentityId")

    @property
    def cognito_authentication_type(self) -> str | None:
        return self._field("cognitoAuthenticationType")

    @property
    def cognito_authentication_provider(self) -> str | None:
        return self._field("cognitoAuthenticationProvider")

    @property
    def api_key(self) -> str | None:
        return self._field("apiKey")

    @property
    def api_key_id(self) -> str | None:
        return self._field("apiKeyId")

    def __repr__(self) -> str:
        return f"RequestIdentity({dict(self.raw)!r})"


class WebSocketEvent:
    """Properties common to every WebSocket event (all read from ``requestContext``).

    Optional fields read as ``None`` when missing or null; times are aware UTC datetimes.
    """

    __slots__ = ("_ctx", "_identity", "raw")

    #: Event type this class stands for (``"CONNECT"``, ``"DISCONNECT"``, ``"MESSAGE"``).
    EVENT_TYPE = ""

    def __init__(self, raw: Mapping[str, Any], ctx: Mapping[str, Any]) -> None:
        self.raw = raw
        self._ctx = ctx
        self._identity: RequestIdentity | None = None

    def __repr__(self) -> str:
        # Raw values: repr must not raise, even for a mistyped field.
        return (
            f"{type(self).__name__}(route_key={self._ctx.get('routeKey')!r}, "
            f"connection_id={self._ctx.get('connectionId')!r})"
        )

    @property
    def request_context(self) -> Mapping[str, Any]:
        """The raw ``requestContext`` object."""
        return self._ctx

    @property
    def connection_id(self) -> str:
        """The connection's id: pass it to ``Connections.send``."""
        value: str = self._ctx["connectionId"]  # checked by the parser
        return value

    @property
    def route_key(self) -> str:
        """``$connect``, ``$disconnect``, ``$default`` or your route's key."""
        value = _get(self._ctx, "routeKey", str, "requestContext.routeKey")
        if value is not None:
            return value
        return {"CONNECT": "$connect", "DISCONNECT": "$disconnect"}.get(self.event_type, "$default")

    @property
    def event_type(self) -> str:
        value = _get(self._ctx, "eventType", str, "requestContext.eventType")
        return value if value is not None else self.EVENT_TYPE

    @property
    def stage(self) -> str | None:
        return _get(self._ctx, "stage", str, "requestContext.stage")

    @property
    def domain_name(self) -> str | None:
        """The domain the client connected to (an ``execute-api`` or a custom domain)."""
        return _get(self._ctx, "domainName", str, "requestContext.domainName")

    @property
    def api_id(self) -> str | None:
        return _get(self._ctx, "apiId", str, "requestContext.apiId")

    @property
    def request_id(self) -> str | None:
        return _get(self._ctx, "requestId", str, "requestContext.requestId")

    @property
    def extended_request_id(self) -> str | None:
        return _get(self._ctx, "extendedRequestId", str, "requestContext.extendedRequestId")

    @property
    def message_direction(self) -> str | None:
        return _get(self._ctx, "messageDirection", str, "requestContext.messageDirection")

    @property
    def connected_at(self) -> datetime | None:
        """When the connection was established (``connectedAt``), aware UTC."""
        return _epoch_ms(self._ctx.get("connectedAt"), "requestContext.connectedAt")

    @property
    def request_time(self) -> datetime | None:
        """When API Gateway received this request (``requestTimeEpoch``), aware UTC."""
        return _epoch_ms(self._ctx.get("requestTimeEpoch"), "requestContext.requestTimeEpoch")

    @property
    def identity(self) -> RequestIdentity:
        if self._identity is None:
            self._identity = RequestIdentity(
                _get_map(self._ctx, "identity", "requestContext.identity")
            )
        return self._identity

    @property
    def source_ip(self) -> str | None:
        return self.identity.source_ip

    @property
    def user_agent(self) -> str | None:
        return self.identity.user_agent

    @property
    def authorizer(self) -> dict[str, Any]:
        """The context your Lambda authorizer returned (empty when none).

        ``principalId`` and ``integrationLatency``, which API Gateway adds to the same object,
        are left out: read ``principal_id`` for the former.
        """
        raw = _get_map(self._ctx, "authorizer", "requestContext.authorizer")
        return {k: v for k, v in raw.items() if k not in ("principalId", "integrationLatency")}

    @property
    def principal_id(self) -> str | None:
        """The principal your Lambda authorizer returned, None without one."""
        raw = _get_map(self._ctx, "authorizer", "requestContext.authorizer")
        return _get(raw, "principalId", str, "requestContext.authorizer.principalId")


class _HttpRequest(WebSocketEvent):
    """Events of the HTTP upgrade request: headers and query string."""

    __slots__ = ("_headers", "_multi_headers")

    def __init__(self, raw: Mapping[str, Any], ctx: Mapping[str, Any]) -> None:
        super().__init__(raw, ctx)
        self._headers: CaseInsensitiveMapping[str] | None = None
        self._multi_headers: CaseInsensitiveMapping[list[str]] | None = None

    @property
    def headers(self) -> CaseInsensitiveMapping[str]:
        """Request headers, case-insensitive. A header sent several times has its last value;
        headers that AWS lists only in ``multiValueHeaders`` are included too."""
        if self._headers is None:
            merged = {k: v[-1] for k, v in self.multi_value_headers.items() if v}
            merged.update(_str_dict(self.raw, "headers"))
            self._headers = CaseInsensitiveMapping(merged)
        return self._headers

    @property
    def multi_value_headers(self) -> CaseInsensitiveMapping[list[str]]:
        """Every value of every request header, case-insensitive."""
        if self._multi_headers is None:
            self._multi_headers = CaseInsensitiveMapping(_list_dict(self.raw, "multiValueHeaders"))
        return self._multi_headers

    @property
    def query(self) -> dict[str, str]:
        """Query string parameters (last value of repeated ones); a copy, empty when none."""
        merged = {k: v[-1] for k, v in self.multi_value_query.items() if v}
        merged.update(_str_dict(self.raw, "queryStringParameters"))
        return merged

    @property
    def multi_value_query(self) -> dict[str, list[str]]:
        return _list_dict(self.raw, "multiValueQueryStringParameters")


class ConnectEvent(_HttpRequest):
    """``$connect``: a client asks to connect. Raise ``Reject`` to refuse it."""

    __slots__ = ()
    EVENT_TYPE = "CONNECT"


class DisconnectEvent(WebSocketEvent):
    """``$disconnect``: the connection is closed (best effort: not guaranteed to arrive)."""

    __slots__ = ()
    EVENT_TYPE = "DISCONNECT"

    @property
    def status_code(self) -> int | None:
        """The WebSocket close code (e.g. 1000, 1001, 1005), None on older events."""
        return _get(self._ctx, "disconnectStatusCode", int, "requestContext.disconnectStatusCode")

    @property
    def reason(self) -> str | None:
        return _get(self._ctx, "disconnectReason", str, "requestContext.disconnectReason")


class MessageEvent(WebSocketEvent):
    """A message the client sent, on ``$default`` or on a custom route."""

    __slots__ = ("_data", "_json")
    EVENT_TYPE = "MESSAGE"

    def __init__(self, raw: Mapping[str, Any], ctx: Mapping[str, Any]) -> None:
        super().__init__(raw, ctx)
        self._data: bytes | None = None
        self._json: Any = _UNSET

    @property
    def message_id(self) -> str | None:
        return _get(self._ctx, "messageId", str, "requestContext.messageId")

    @property
    def is_base64_encoded(self) -> bool:
        """True for binary frames: ``body`` is then base64 and ``data`` the decoded bytes."""
        return bool(_get(self.raw, "isBase64Encoded", bool, "isBase64Encoded"))

    @property
    def body(self) -> str:
        """The body exactly as API Gateway passed it ("" when missing)."""
        return _get(self.raw, "body", str, "body") or ""

    @property
    def data(self) -> bytes:
        """The message as bytes: base64-decoded for binary frames, else the UTF-8 body."""
        if self._data is None:
            body = self.body
            try:
                if self.is_base64_encoded:
                    from base64 import b64decode

                    self._data = b64decode(body, validate=True)
                else:
                    self._data = body.encode("utf-8")
            except ValueError as exc:  # binascii.Error, UnicodeEncodeError
                raise EventParseError("body", f"cannot decode the body: {exc}") from exc
        return self._data

    def json(self) -> Any:
        """The body parsed as JSON (computed once). Raises ``EventParseError`` when invalid."""
        if self._json is _UNSET:
            import json

            source: str | bytes = self.data if self.is_base64_encoded else self.body
            try:
                self._json = json.loads(source)
            except (ValueError, RecursionError) as exc:
                raise EventParseError("body", f"not valid JSON: {exc}") from exc
        return self._json


class AuthorizerEvent(_HttpRequest):
    """The event of a Lambda ``REQUEST`` authorizer on ``$connect``: answer it with
    ``authorizer.allow(event, ...)`` or ``authorizer.deny(event)``."""

    __slots__ = ()
    EVENT_TYPE = "CONNECT"

    @property
    def type(self) -> str | None:
        """Always ``"REQUEST"`` for WebSocket APIs."""
        return _get(self.raw, "type", str, "type")

    @property
    def method_arn(self) -> str:
        """The exact ARN of the ``$connect`` route (``arn:aws:execute-api:…/{stage}/$connect``)."""
        value: str = self.raw["methodArn"]  # checked by the parser
        return value

    @property
    def stage_variables(self) -> dict[str, str]:
        return _str_dict(self.raw, "stageVariables")


_BY_EVENT_TYPE: dict[str, type[ConnectEvent | DisconnectEvent | MessageEvent]] = {
    "CONNECT": ConnectEvent,
    "DISCONNECT": DisconnectEvent,
    "MESSAGE": MessageEvent,
}
_BY_ROUTE_KEY: dict[str, type[ConnectEvent | DisconnectEvent]] = {
    "$connect": ConnectEvent,
    "$disconnect": DisconnectEvent,
}


def _context(event: object) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    if type(event) is not dict and not isinstance(event, Mapping):
        raise EventParseError("event", f"expected a JSON object, got {type(event).__name__}")
    ctx = event.get("requestContext")
    if type(ctx) is not dict and not isinstance(ctx, Mapping):
        problem = "missing" if ctx is None else f"expected an object, got {type(ctx).__name__}"
        raise EventParseError("requestContext", problem)
    connection_id = ctx.get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        problem = "missing" if connection_id is None else "expected a non-empty string"
        raise EventParseError("requestContext.connectionId", problem)
    return event, ctx


def parse_event(event: object) -> ConnectEvent | DisconnectEvent | MessageEvent:
    """Wrap a route handler's event in its typed view.

    The class comes from ``requestContext.eventType`` (``CONNECT``/``DISCONNECT``/``MESSAGE``)
    or, when that is missing, from ``routeKey`` (``$connect``, ``$disconnect``, anything else
    is a message). Raises ``EventParseError`` when ``event`` is not a WebSocket event.
    """
    raw, ctx = _context(event)
    event_type = _get(ctx, "eventType", str, "requestContext.eventType")
    route_key = _get(ctx, "routeKey", str, "requestContext.routeKey")
    if event_type is not None:
        cls = _BY_EVENT_TYPE.get(event_type)
        if cls is None:
            raise EventParseError("requestContext.eventType", f"unknown event type {event_type!r}")
        return cls(raw, ctx)
    if route_key is None:
        raise EventParseError("requestContext.eventType", "missing (and no routeKey either)")
    return _BY_ROUTE_KEY.get(route_key, MessageEvent)(raw, ctx)


def parse_authorizer_event(event: object) -> AuthorizerEvent:
    """Wrap a Lambda ``REQUEST`` authorizer's event. Raises ``EventParseError`` when ``event``
    has no ``methodArn`` or no ``requestContext.connectionId``."""
    raw, ctx = _context(event)
    method_arn = raw.get("methodArn")
    if not isinstance(method_arn, str) or not method_arn:
        problem = "missing" if method_arn is None else "expected a non-empty string"
        raise EventParseError("methodArn", problem)
    return AuthorizerEvent(raw, ctx)

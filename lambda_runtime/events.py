"""Typed, read-only views over API Gateway WebSocket events.

``parse_event(event)`` picks the class by ``requestContext.eventType`` (falling back on
``routeKey``) and checks only what every event must have: ``requestContext``, its
``connectionId``, and the ``eventType``/``routeKey`` it dispatches on (the connection id and
route key are kept). Everything else is read from the raw dict when you access it (``.raw``
keeps the dict untouched), so parsing costs almost nothing. Optional fields that are missing or
``null`` read as ``None`` (or an empty collection); a field of the wrong type raises
``EventParseError`` naming it, and no other exception escapes the parser or the properties.
"""

from __future__ import annotations

# ``_collections_abc`` is what ``collections.abc`` re-exports; importing it directly spares the
# ``collections`` package (about 2.5 ms of cold start) that nothing else here needs. ``_operator``
# is built into the interpreter: importing it costs nothing.
from _collections_abc import Mapping
from _operator import attrgetter as _attrgetter

from .exceptions import EventParseError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from typing import Any, TypeVar

    _Scanner = Callable[[str, int], tuple[Any, int]]
    _Matcher = Callable[[str, int], Any]  # a match: the pattern matches any string

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
_new = object.__new__

# ``json`` and ``base64`` are imported on first use, not with the module: ``json`` pulls in ``re``
# (several ms of cold start when nothing has loaded it yet). What they give is then kept here, so
# that a read costs a global lookup, not an import statement.
_json_parts: tuple[_Scanner, _Matcher, Callable[[str | bytes], Any]] | None = None
_b64decode: Callable[..., bytes] | None = None


def _load_json() -> tuple[_Scanner, _Matcher, Callable[[str | bytes], Any]]:
    """What ``MessageEvent.json`` parses with: the scanner and whitespace matcher of a default
    ``JSONDecoder`` (``json.loads`` of a ``str`` comes down to them), and ``json.loads``.

    Both are CPython internals (stable since Python 2.7); without them, ``raw_decode`` (which
    raises ``JSONDecodeError`` where the scanner raises ``StopIteration``) and the same pattern
    stand in."""
    global _json_parts
    import json
    import re

    decoder = json.JSONDecoder()
    scan: _Scanner = getattr(decoder, "scan_once", decoder.raw_decode)
    space = getattr(json.decoder, "WHITESPACE", None)
    if not isinstance(space, re.Pattern):
        space = re.compile(r"[ \t\n\r]*", re.VERBOSE | re.MULTILINE | re.DOTALL)
    loads: Callable[[str | bytes], Any] = json.loads
    parts = _json_parts = (scan, space.match, loads)
    return parts


def _load_b64decode() -> Callable[..., bytes]:
    global _b64decode
    from base64 import b64decode

    _b64decode = b64decode
    return b64decode


_repr: Callable[[object], str] | None = None


def _safe_repr(value: object) -> str:
    """``repr(value)`` that never raises: nesting past 8 levels is shown as ``...`` (a deeply
    nested event field would otherwise raise ``RecursionError``), and a value whose own
    ``__repr__`` fails as ``<TypeName instance at 0x…>``. Sizes are bounded too (1,000
    characters per string, 200 items per container), so logging an event stays cheap. Dicts
    keep their order (``reprlib`` alone sorts their keys)."""
    make = _repr or _make_repr()
    try:
        return make(value)
    except Exception:  # e.g. a dict subclass of the caller's whose iteration raises
        return f"<{type(value).__name__} object>"


def _make_repr() -> Callable[[object], str]:
    global _repr
    import reprlib
    from itertools import islice

    class _Bounded(reprlib.Repr):
        def repr_dict(self, x: dict[Any, Any], level: int) -> str:
            if not x:
                return "{}"
            if level <= 0:
                return "{...}"
            pieces = [
                f"{self.repr1(key, level - 1)}: {self.repr1(x[key], level - 1)}"
                for key in islice(x, self.maxdict)
            ]
            if len(x) > self.maxdict:
                pieces.append("...")
            return "{" + ", ".join(pieces) + "}"

    limits = _Bounded()  # attributes, not keywords: keywords need Python 3.12
    limits.maxlevel = 8
    limits.maxdict = limits.maxlist = limits.maxtuple = limits.maxset = 200
    limits.maxfrozenset = limits.maxdeque = limits.maxarray = 200
    limits.maxstring = limits.maxother = limits.maxlong = 1000
    _repr = limits.repr
    return _repr


def _get(data: Mapping[str, Any], key: str, kind: type[_T], path: str) -> _T | None:
    """``data[key]`` if it is a ``kind``, None when missing or null, else EventParseError."""
    value = data.get(key)
    # exact type first (the common case, and the fastest check); a subclass is accepted too,
    # except a bool where a number is expected
    if value is None or type(value) is kind:
        return value
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
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
        return f"{type(self).__name__}({_safe_repr(dict(self._items.values()))})"


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
        return f"RequestIdentity({_safe_repr(self.raw)})"


class WebSocketEvent:
    """Properties common to every WebSocket event (all read from ``requestContext``).

    Optional fields read as ``None`` when missing or null; times are aware UTC datetimes.
    """

    # _connection_id and _route_key are checked and kept when the view is made (parse_event
    # reads both anyway); every other field is read from the raw dict on access.
    __slots__ = ("_connection_id", "_ctx", "_identity", "_route_key", "raw")

    #: Event type this class stands for (``"CONNECT"``, ``"DISCONNECT"``, ``"MESSAGE"``).
    EVENT_TYPE = ""

    def __init__(self, raw: Mapping[str, Any], ctx: Mapping[str, Any]) -> None:
        # parse_event builds the views of the events AWS sends without this call (it sets the
        # same slots itself); keep the two in step.
        self.raw = raw
        self._ctx = ctx
        self._identity: RequestIdentity | None = None
        self._connection_id: str = ctx.get("connectionId")  # type: ignore[assignment]
        self._route_key: str = self._read_route_key()

    def _read_route_key(self) -> str:
        value = _get(self._ctx, "routeKey", str, "requestContext.routeKey")
        if value is not None:
            return value
        return {"CONNECT": "$connect", "DISCONNECT": "$disconnect"}.get(self.event_type, "$default")

    def __repr__(self) -> str:
        # Raw values: repr must not raise, even for a mistyped or deeply nested field.
        ctx = self._ctx
        try:
            route_key, connection_id = ctx.get("routeKey"), ctx.get("connectionId")
        except Exception:  # a Mapping of the caller's whose get raises
            route_key = connection_id = None
        return (
            f"{type(self).__name__}(route_key={_safe_repr(route_key)}, "
            f"connection_id={_safe_repr(connection_id)})"
        )

    @property
    def request_context(self) -> Mapping[str, Any]:
        """The raw ``requestContext`` object."""
        return self._ctx

    if TYPE_CHECKING:

        @property
        def connection_id(self) -> str:
            """The connection's id: pass it to ``Connections.send``."""

        @property
        def route_key(self) -> str:
            """``$connect``, ``$disconnect``, ``$default`` or your route's key."""

    else:  # read-only properties whose getter is C code: no Python frame per read
        connection_id = property(
            _attrgetter("_connection_id"),
            doc="The connection's id: pass it to ``Connections.send``.",
        )
        route_key = property(
            _attrgetter("_route_key"),
            doc="``$connect``, ``$disconnect``, ``$default`` or your route's key.",
        )

    @property
    def event_type(self) -> str:
        value = self._ctx.get("eventType")
        if type(value) is str:
            return value
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

    # source_ip and user_agent read the identity object directly when it holds a string; anything
    # else (missing, null, mistyped) goes through ``identity``, which names a mistyped field.
    @property
    def source_ip(self) -> str | None:
        try:
            value = self._ctx["identity"]["sourceIp"]
            if type(value) is str:
                return value
        except (KeyError, TypeError):  # missing, or identity is null or not an object
            pass
        return self.identity.source_ip

    @property
    def user_agent(self) -> str | None:
        try:
            value = self._ctx["identity"]["userAgent"]
            if type(value) is str:
                return value
        except (KeyError, TypeError):  # missing, or identity is null or not an object
            pass
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
        data = self._data
        if data is None:
            raw = self.raw
            body = raw.get("body")
            encoded = raw.get("isBase64Encoded")
            if type(body) is not str or not (encoded is None or type(encoded) is bool):
                body = self.body  # missing, null or mistyped: read (and checked) the long way
                encoded = self.is_base64_encoded
            try:
                if encoded:
                    data = (_b64decode or _load_b64decode())(body, validate=True)
                else:
                    data = body.encode("utf-8")
            except ValueError as exc:  # binascii.Error, UnicodeEncodeError
                raise EventParseError("body", f"cannot decode the body: {exc}") from exc
            self._data = data
        return data

    def json(self) -> Any:
        """The body parsed as JSON (computed once). Raises ``EventParseError`` when invalid."""
        value = self._json
        if value is _UNSET:
            raw = self.raw
            try:
                body = raw["body"]
                encoded = raw["isBase64Encoded"]
            except KeyError:
                body = raw.get("body")
                encoded = raw.get("isBase64Encoded")
            scan, space, loads = _json_parts or _load_json()
            try:
                if type(body) is str and (encoded is False or encoded is None):
                    # A text frame: json.loads(body) unrolled (what JSONDecoder.decode does,
                    # without its two Python calls, and skipping whitespace only when there is
                    # some). On a failure json.loads runs, and raises its own error.
                    start = 0 if body[:1] not in " \t\n\r" else space(body, 0).end()
                    try:
                        value, end = scan(body, start)
                    except StopIteration:
                        value = loads(body)  # raises "Expecting value"
                    else:
                        if end != len(body) and space(body, end).end() != len(body):
                            value = loads(body)  # raises "Extra data"
                elif encoded is True and type(body) is str and self._data is None:
                    # a binary frame: ``data``'s decoding, inlined
                    try:
                        data = (_b64decode or _load_b64decode())(body, validate=True)
                    except ValueError as exc:  # binascii.Error, non-ASCII
                        raise EventParseError("body", f"cannot decode the body: {exc}") from exc
                    self._data = data
                    value = loads(data)
                else:  # a field to read (and check) the long way
                    value = loads(self.data if self.is_base64_encoded else self.body)
            except EventParseError:  # a field read the long way, or the base64 decoding
                raise
            except (ValueError, RecursionError) as exc:
                raise EventParseError("body", f"not valid JSON: {exc}") from exc
            self._json = value
        return value


class AuthorizerEvent(_HttpRequest):
    """The event of a Lambda ``REQUEST`` authorizer on ``$connect``: answer it with
    ``authorizer.allow(event, ...)`` or ``authorizer.deny(event)``."""

    __slots__ = ()
    EVENT_TYPE = "CONNECT"

    def __init__(self, raw: Mapping[str, Any], ctx: Mapping[str, Any]) -> None:
        # parse_authorizer_event checks only methodArn and connectionId: the route key is read
        # (and checked) on access, like every other field.
        self.raw = raw
        self._ctx = ctx
        self._identity = None
        self._connection_id = ctx.get("connectionId")  # type: ignore[assignment]
        self._headers = None
        self._multi_headers = None

    @property
    def route_key(self) -> str:
        """``$connect``."""
        return self._read_route_key()

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
    # Fast path, for the events AWS sends: plain dicts with a string connectionId, eventType and
    # routeKey. It makes the same checks as _parse_event, which takes (and names) anything else.
    if type(event) is dict:
        try:
            ctx = event["requestContext"]
            if type(ctx) is dict:
                connection_id = ctx["connectionId"]
                event_type = ctx["eventType"]
                route_key = ctx["routeKey"]
                if type(connection_id) is str and connection_id and type(route_key) is str:
                    # What each class's __init__ does, without its frame (which costs as much as
                    # the rest of the parse), and with each class's stores in its own branch (a
                    # store is fast when it always sees the same class). An unknown eventType
                    # goes the long way.
                    if event_type == "MESSAGE":
                        message = _new(MessageEvent)
                        message.raw = event
                        message._ctx = ctx
                        message._identity = None
                        message._connection_id = connection_id
                        message._route_key = route_key
                        message._data = None
                        message._json = _UNSET
                        return message
                    if event_type == "CONNECT":
                        connect = _new(ConnectEvent)
                        connect.raw = event
                        connect._ctx = ctx
                        connect._identity = None
                        connect._connection_id = connection_id
                        connect._route_key = route_key
                        connect._headers = None
                        connect._multi_headers = None
                        return connect
                    if event_type == "DISCONNECT":
                        disconnect = _new(DisconnectEvent)
                        disconnect.raw = event
                        disconnect._ctx = ctx
                        disconnect._identity = None
                        disconnect._connection_id = connection_id
                        disconnect._route_key = route_key
                        return disconnect
        except KeyError:
            pass
    return _parse_event(event)


def _parse_event(event: object) -> ConnectEvent | DisconnectEvent | MessageEvent:
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

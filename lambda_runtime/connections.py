"""The ``@connections`` management API: send to, inspect and close connections, broadcast.

::

    connections = Connections.for_event(event)
    connections.send(event.connection_id, {"text": "hi"}, action="chat")
    result = connections.broadcast(store.ids(group="room-1"), {"text": "hi"}, store=store)

Data is serialised the same way everywhere: ``bytes`` are sent as they are, ``str`` as UTF-8,
anything else as compact JSON. With ``action=...`` the payload is the envelope
``{"action": action, "data": data, "timestamp": "2025-01-27T16:39:47.617Z"}``. A payload over
128 KiB (131072 bytes) raises ``PayloadTooLargeError`` before any request is made.

``broadcast`` does not go through boto3 for each message: botocore spends 1.0-1.5 ms of Python
CPU per ``PostToConnection`` (event hooks, user agent, serialisation, parsing), and under the
GIL a fan-out is bound by that CPU whatever the thread count: ~700-1,000 posts/s per process,
less on Lambda's small memory sizes, which get a fraction of a vCPU. It resolves the
credentials, region and endpoint of the boto3 client once, signs each POST with SigV4 itself
(byte-identical to botocore's signature) and keeps ``max_workers`` kept-alive connections
busy from the calling thread (non-blocking sockets, no thread per request): well under
0.1 ms of CPU per message (see ``_signed`` and ``_transport``). Answers and connection errors
become the same typed errors as ``send`` raises (one code/status table,
``exceptions.management_error``). A ``client=`` that is not a botocore client, or a client
without credentials or behind a proxy, is used as it is, one call per message, and the reason
is logged once as a WARNING (logger ``lambda_runtime.broadcast``).

botocore does not retry these calls (its retries would hide 429s from ``broadcast``'s own
backoff); ``send``, ``get`` and ``delete`` raise ``LimitExceededError`` for you to handle.
"""

from __future__ import annotations

import os

from . import _aws
from .env import MANAGEMENT_ENDPOINT, MESSAGE_BYTES
from .events import WebSocketEvent, parse_event
from .exceptions import (
    ConfigurationError,
    GoneError,
    LimitExceededError,
    ManagementApiError,
    PayloadTooLargeError,
    management_error,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime
    from typing import Any, Protocol

    from .store import ConnectionStore

    class _Poster(Protocol):
        """What ``_fan_out`` sends through: the fast path's ``_signed.Poster``, or the client."""

        def post_many(
            self, connection_ids: Sequence[str], concurrency: int
        ) -> Sequence[Exception | None]: ...


__all__ = [
    "MAX_PAYLOAD_BYTES",
    "BroadcastResult",
    "ConnectionInfo",
    "Connections",
    "encode_message",
    "management_endpoint",
]

#: Largest payload ``PostToConnection`` accepts (the service model's ``Data`` max: 128 KiB).
MAX_PAYLOAD_BYTES = MESSAGE_BYTES

_MAX_BACKOFF_SECONDS = 2.0


def management_endpoint(
    event: WebSocketEvent | Mapping[str, Any], *, endpoint_url: str | None = None
) -> str:
    """The ``@connections`` endpoint for the API and stage ``event`` came through.

    Resolution order:

    1. ``endpoint_url`` when given;
    2. ``https://{domainName}/{stage}`` when ``domainName`` is an ``execute-api`` domain;
    3. ``WS_API_MANAGEMENT_ENDPOINT`` when set (custom domains, the local emulator: a custom
       domain's host alone does not say which API mapping to use);
    4. ``https://{apiId}.execute-api.{AWS_REGION}.{dnsSuffix}/{stage}``, with the DNS suffix
       of the region's partition (``amazonaws.com``, ``amazonaws.com.cn`` for ``cn-*``...:
       see ``_aws.dns_suffix``).

    Raises ``ConfigurationError`` when none applies, ``EventParseError`` for a raw dict that is
    not a WebSocket event.
    """
    if endpoint_url:
        return endpoint_url.rstrip("/")
    parsed = event if isinstance(event, WebSocketEvent) else parse_event(event)
    domain, stage = parsed.domain_name, parsed.stage
    if domain and stage and ".execute-api." in domain:
        return f"https://{domain}/{stage}"
    configured = os.environ.get(MANAGEMENT_ENDPOINT)
    if configured:
        return configured.rstrip("/")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    api_id = parsed.api_id
    if api_id and stage and region:
        return f"https://{api_id}.execute-api.{region}.{_aws.dns_suffix(region)}/{stage}"
    raise ConfigurationError(
        f"cannot tell the @connections endpoint of domain {domain!r}: set {MANAGEMENT_ENDPOINT} "
        "or pass endpoint_url (the event has no execute-api domain, or no apiId/stage, "
        "and AWS_REGION is unset)"
    )


def encode_message(data: Any, *, action: str | None = None) -> bytes:
    """The bytes ``send`` posts for ``data`` (see the module docstring).

    Raises ``TypeError`` for data JSON cannot encode, and for ``bytes`` with an ``action``
    (bytes have no JSON form: decode or base64 them first).
    """
    if action is None:
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data)
        if isinstance(data, str):
            return data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("bytes cannot go in an action envelope: decode or base64 them first")
    else:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        data = {"action": action, "data": data, "timestamp": now.replace("+00:00", "Z")}
    import json

    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _check_size(payload: bytes, connection_id: str | None) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(
            f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit",
            connection_id=connection_id,
        )


def _check_id(connection_id: object) -> str:
    if not isinstance(connection_id, str) or not connection_id:
        raise ValueError(f"connection id must be a non-empty string, got {connection_id!r}")
    if not connection_id.isascii():
        try:
            connection_id.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no URL can carry it
            raise ValueError(
                f"connection id must be valid Unicode (no lone surrogates), got {connection_id!r}"
            ) from None
    return connection_id


def _translate(exc: Exception, connection_id: str | None) -> Exception:
    """botocore's exception → our typed error (other exceptions are returned unchanged)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return management_error(
            error.get("Message"),
            code=error.get("Code"),
            status=status,
            connection_id=connection_id,
        )
    if isinstance(exc, BotoCoreError):
        return ManagementApiError(
            str(exc), connection_id=connection_id, code=type(exc).__name__, status=None
        )
    return exc


class ConnectionInfo:
    """What ``GetConnection`` says about a connection (times are aware UTC datetimes)."""

    __slots__ = (
        "connected_at",
        "connection_id",
        "last_active_at",
        "raw",
        "source_ip",
        "user_agent",
    )

    def __init__(self, connection_id: str, raw: Mapping[str, Any]) -> None:
        from datetime import timezone

        def utc(value: Any) -> datetime | None:
            return value.astimezone(timezone.utc) if value is not None else None

        identity = raw.get("Identity") or {}
        self.connection_id = connection_id
        self.connected_at = utc(raw.get("ConnectedAt"))
        self.last_active_at = utc(raw.get("LastActiveAt"))
        self.source_ip: str | None = identity.get("SourceIp")
        self.user_agent: str | None = identity.get("UserAgent")
        self.raw = raw

    def __repr__(self) -> str:
        return (
            f"ConnectionInfo(connection_id={self.connection_id!r}, "
            f"connected_at={self.connected_at!r}, last_active_at={self.last_active_at!r}, "
            f"source_ip={self.source_ip!r}, user_agent={self.user_agent!r})"
        )


class BroadcastResult:
    """The outcome of ``Connections.broadcast``, ids in the order given.

    ``sent``: delivered; ``gone``: closed connections (410), removed from the store when one
    was given; ``failed``: every other error, by id (e.g. ``LimitExceededError`` after the
    last retry).
    """

    __slots__ = ("failed", "gone", "sent")

    def __init__(self, sent: list[str], gone: list[str], failed: dict[str, Exception]) -> None:
        self.sent = sent
        self.gone = gone
        self.failed = failed

    @property
    def ok(self) -> bool:
        """True when nothing failed (gone connections are not failures)."""
        return not self.failed

    def __repr__(self) -> str:
        return f"BroadcastResult(sent={self.sent!r}, gone={self.gone!r}, failed={self.failed!r})"


class Connections:
    """A client of one API stage's ``@connections`` endpoint.

    ``Connections.for_event(event)`` is what a route handler wants. Give ``endpoint_url``
    (``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}``) to reach another API,
    or ``client`` to use your own boto3 ``apigatewaymanagementapi`` client.

    ``Connections()`` with neither is what a publisher wants (a function no route invokes, to
    which ``add_publisher`` gives the variable): it reads ``WS_API_MANAGEMENT_ENDPOINT`` on
    each use, not when it is made, like ``ConnectionStore()`` reads the table variables, so a
    module-level ``Connections()`` works in tests and the local emulator, which set the
    variable later or change it; a use while it is unset raises ``ConfigurationError``
    naming it.

    The boto3 client is created on the first call and cached per endpoint for the life of the
    execution environment, so creating ``Connections`` objects per invocation costs nothing.
    """

    def __init__(self, endpoint_url: str | None = None, *, client: Any = None) -> None:
        if endpoint_url is None and client is not None:
            endpoint_url = getattr(getattr(client, "meta", None), "endpoint_url", None)
        self._endpoint_url = endpoint_url.rstrip("/") if endpoint_url is not None else None
        self._given_client = client

    @property
    def endpoint_url(self) -> str:
        """The endpoint, ``https://{domain}/{stage}`` (no ``/@connections``): the one given,
        else ``WS_API_MANAGEMENT_ENDPOINT`` as it is now."""
        if self._endpoint_url is not None:
            return self._endpoint_url
        configured = os.environ.get(MANAGEMENT_ENDPOINT)
        if not configured:
            raise ConfigurationError(
                f"no @connections endpoint: pass endpoint_url, set {MANAGEMENT_ENDPOINT} (the "
                "construct sets it on route handlers and publishers), or use "
                "Connections.for_event(event)"
            )
        return configured.rstrip("/")

    @classmethod
    def for_event(
        cls,
        event: WebSocketEvent | Mapping[str, Any],
        *,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> Connections:
        """The endpoint of the API and stage ``event`` came through.

        Resolution order: ``endpoint_url`` if given; ``https://{domainName}/{stage}`` for an
        ``execute-api`` domain; ``WS_API_MANAGEMENT_ENDPOINT`` (set by the construct for custom
        domains, and by the local emulator); ``https://{apiId}.execute-api.{AWS_REGION}
        .{dnsSuffix}/{stage}``. See ``management_endpoint``.
        """
        return cls(management_endpoint(event, endpoint_url=endpoint_url), client=client)

    @property
    def client(self) -> Any:
        """The boto3 ``apigatewaymanagementapi`` client (created on first use, then cached)."""
        if self._given_client is not None:
            return self._given_client
        return _aws.client(
            "apigatewaymanagementapi", endpoint_url=self.endpoint_url, no_retries=True
        )

    def __repr__(self) -> str:
        if self._endpoint_url is None:
            return f"Connections(${MANAGEMENT_ENDPOINT})"
        return f"Connections({self._endpoint_url!r})"

    def send(self, connection_id: str, data: Any, *, action: str | None = None) -> None:
        """Send ``data`` to one connection (``PostToConnection``).

        Raises ``GoneError`` when the connection is closed, ``PayloadTooLargeError`` over
        128 KiB (before any request), ``LimitExceededError`` when throttled or when the
        client's buffer is full, ``ForbiddenError``/``ManagementApiError`` otherwise.
        """
        _check_id(connection_id)
        payload = encode_message(data, action=action)
        _check_size(payload, connection_id)
        self._post(self.client, connection_id, payload)

    def get(self, connection_id: str) -> ConnectionInfo:
        """What API Gateway knows of a connection (``GetConnection``); ``GoneError`` when it
        is closed."""
        _check_id(connection_id)
        try:
            response = self.client.get_connection(ConnectionId=connection_id)
        except Exception as exc:
            raise _translate(exc, connection_id) from exc
        response.pop("ResponseMetadata", None)
        return ConnectionInfo(connection_id, response)

    def delete(self, connection_id: str) -> None:
        """Close a connection (``DeleteConnection``); ``GoneError`` when already closed."""
        _check_id(connection_id)
        try:
            self.client.delete_connection(ConnectionId=connection_id)
        except Exception as exc:
            raise _translate(exc, connection_id) from exc

    def broadcast(
        self,
        connection_ids: Iterable[str],
        data: Any,
        *,
        action: str | None = None,
        max_workers: int = 16,
        max_attempts: int = 4,
        backoff: float = 0.05,
        store: ConnectionStore | None = None,
    ) -> BroadcastResult:
        """Send the same ``data`` to many connections concurrently; never raises for one id.

        ``data`` is serialised once. Up to ``max_workers`` requests are in flight at once,
        each on its own kept-alive connection, all driven by the calling thread; each request
        is signed with the credentials of the boto3 client, resolved once per broadcast (see
        the module docstring). The ids answered ``LimitExceededError`` are retried together,
        up to ``max_attempts`` tries in all, after sleeping a random time up to
        ``backoff * 2**n`` seconds (capped at 2 s). A client the fast path cannot use gets
        ``max_workers`` threads, retried the same way (one retry loop serves both). Duplicate
        ids are sent once. With ``store``, gone connections are deleted from it
        (``store.delete_many``; its errors propagate).

        Raises ``PayloadTooLargeError`` (``connection_id`` None) before sending anything when
        the payload is over 128 KiB.
        """
        if max_workers < 1 or max_attempts < 1:
            raise ValueError("max_workers and max_attempts must be at least 1")
        payload = encode_message(data, action=action)
        _check_size(payload, None)
        ids = list(dict.fromkeys(connection_ids))
        if not ids:
            return BroadcastResult([], [], {})
        client = (
            self._given_client
            if self._given_client is not None
            else _aws.client(
                "apigatewaymanagementapi",
                endpoint_url=self.endpoint_url,
                max_pool_connections=max_workers,
                no_retries=True,
            )
        )
        from . import _signed

        poster: _Poster
        fast = _signed.poster_for(client, max_workers)
        if fast is not None:
            fast.set_payload(payload)
            poster = fast
        else:
            poster = _ClientPoster(self, client, payload)
        outcomes = _fan_out(poster, ids, max_workers, max_attempts, backoff)
        sent: list[str] = []
        gone: list[str] = []
        failed: dict[str, Exception] = {}
        for connection_id, error in zip(ids, outcomes, strict=True):
            if error is None:
                sent.append(connection_id)
            elif isinstance(error, GoneError):
                gone.append(connection_id)
            else:
                failed[connection_id] = error
        if store is not None and gone:
            store.delete_many(gone)
        return BroadcastResult(sent, gone, failed)

    def _post(self, client: Any, connection_id: str, payload: bytes) -> None:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=payload)
        except Exception as exc:
            raise _translate(exc, connection_id) from exc


def _invalid_id(connection_id: object) -> ValueError | None:
    """``_check_id``'s error as a value (a broadcast reports it per id, never raises)."""
    try:
        _check_id(connection_id)
    except ValueError as error:
        return error
    return None


def _sleep_before_retry(backoff: float, retry: int) -> None:
    """Full jitter: a random time up to ``backoff * 2**retry`` (capped), so the retries of
    all the throttled posts spread over the window."""
    import random
    import time

    time.sleep(random.uniform(0, min(_MAX_BACKOFF_SECONDS, backoff * 2**retry)))


class _ClientPoster:
    """Posts through the client itself, ``concurrency`` threads at a time (the fall back for
    a client the fast path cannot use); errors as ``send`` raises them."""

    def __init__(self, connections: Connections, client: Any, payload: bytes) -> None:
        self._connections = connections
        self._client = client
        self._payload = payload

    def post_many(self, connection_ids: Sequence[str], concurrency: int) -> list[Exception | None]:
        from concurrent.futures import ThreadPoolExecutor

        def post(connection_id: str) -> Exception | None:
            try:
                self._connections._post(self._client, connection_id, self._payload)
            except Exception as exc:  # per id: a broadcast never raises for one id
                return exc
            return None

        with ThreadPoolExecutor(max_workers=min(concurrency, len(connection_ids))) as pool:
            return list(pool.map(post, connection_ids))


def _fan_out(
    poster: _Poster,
    ids: list[str],
    concurrency: int,
    max_attempts: int,
    backoff: float,
) -> list[Exception | None]:
    """The one retry loop of both paths: post to every id; the ids throttled (429) are posted
    again, together, after a full-jitter sleep, up to ``max_attempts`` tries in all."""
    outcomes: list[Exception | None] = [_invalid_id(connection_id) for connection_id in ids]
    todo = [index for index, invalid in enumerate(outcomes) if invalid is None]
    for attempt in range(max_attempts):
        if attempt:
            _sleep_before_retry(backoff, attempt - 1)
        errors = poster.post_many([ids[index] for index in todo], concurrency)
        throttled: list[int] = []
        for index, error in zip(todo, errors, strict=True):
            outcomes[index] = error
            if isinstance(error, LimitExceededError):
                throttled.append(index)
        todo = throttled
        if not todo:
            break
    return outcomes

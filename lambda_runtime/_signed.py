"""The fast path of ``Connections.broadcast``: ``PostToConnection`` without botocore's pipeline.

Why: a broadcast is one small request per connection, and botocore spends 1.0-1.5 ms of
Python CPU on each (event hooks, user agent, request serialisation, SigV4, response parsing:
~3,400 Python calls per post). Under the GIL that CPU is serialised whatever the thread count,
so a fan-out through boto3 tops out at ~700-1,000 posts/s per process; on Lambda's small
memory sizes, which get a fraction of a vCPU, it is worse. This module does the same request
with well under 0.1 ms of CPU:

- what it sends as comes from the botocore client the caller uses, through public APIs where
  botocore has one: region, endpoint, timeouts, client certificate, proxies and signing name
  from ``client.meta`` (and ``botocore.utils.get_environ_proxies``); the credentials of the
  clients ``lambda_runtime`` creates from their boto3 ``Session.get_credentials()``. What has no
  public API (a given client's credentials, its ``verify`` setting, the handlers registered on
  its events) is read in one function, :func:`_botocore_internals`, tested against the oldest
  and the newest botocore the package allows. Credentials are frozen once per broadcast
  (``get_frozen_credentials()``: session tokens are sent as ``X-Amz-Security-Token``);
- each POST is signed with SigV4 by hand: the payload hash once per broadcast, the signing
  key once per day, one SHA-256 and one HMAC per request. The canonical request is the one
  botocore builds (same signed headers, same double-encoded canonical URI), so the
  ``Authorization`` header is byte-identical to botocore's for the same time (tested);
- the signed requests are prepared as bytes and sent by ``_transport``: up to ``max_workers``
  in flight on kept-alive non-blocking sockets driven by the calling thread; the idle
  sockets are cached per endpoint for the life of the execution environment, TLS verified
  with botocore's CA bundle (or the client's ``verify``);
- the URL is the client's endpoint URL (stage path included) + ``/@connections/{id}``, the id
  percent-encoded as botocore does (``=`` → ``%3D``, ``/`` → ``%2F``);
- answers become ``lambda_runtime``'s typed errors directly, through
  ``exceptions.management_error`` (the table the boto3 path uses too): the code from
  ``x-amzn-ErrorType`` or the JSON body as botocore's rest-json parser reads it, else the
  status. A request that got no valid answer becomes a ``ManagementApiError`` whose ``code``
  and message are those of the botocore exception the client would have raised
  (``EndpointConnectionError``, ``ReadTimeoutError``, ``ConnectionClosedError``...).

``poster_for(client, max_workers)`` returns None when the fast path cannot be set up (not a
botocore client, no credentials, not SigV4, a proxy, an endpoint URL with a query string, a
handler that is not botocore's own on the call's events: moto's ``mock_aws``, botocore's
``Stubber``, a hook of the caller's; or a botocore whose internals moved): the caller then
uses the client itself, and the reason is logged once per process as a WARNING on the
``lambda_runtime.broadcast`` logger.
"""

from __future__ import annotations

import _thread
import hashlib
import hmac
import time

from .env import REWRITE_URL_ATTRIBUTE
from .exceptions import ManagementApiError, management_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["Poster", "clear_pools", "poster_for"]

#: Where a fall back to the client is reported (a WARNING, once per reason).
LOGGER_NAME = "lambda_runtime.broadcast"

_lock = _thread.allocate_lock()
_pools: dict[tuple[Any, ...], Any] = {}
_warned: set[str] = set()
_USER_AGENT = "cdk-ws-api-lambda-runtime (broadcast)"
_SAFE = "-._~"  # botocore.utils.SAFE_CHARS: what percent_encode leaves alone in a URI label


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def host_header(endpoint_url: str) -> str:
    """The ``Host`` botocore signs for a URL (lowercase, no userinfo, no default port)."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


class Poster:
    """Posts one payload to many connections of one endpoint, signed with fixed credentials.

    ``post_many(ids, concurrency)`` returns, per id, None when delivered, else the typed
    error (never raises for an answer or a connection error).
    """

    def __init__(
        self,
        endpoint_url: str,
        *,
        region: str,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        service: str = "execute-api",
        origin: Any = None,
    ) -> None:
        from urllib.parse import quote, urlsplit

        parts = urlsplit(endpoint_url)
        self.endpoint_url = endpoint_url
        self._origin = f"{parts.scheme}://{parts.netloc}"
        path = parts.path
        # botocore's _urljoin: the operation's "/@connections/{id}" appended to the endpoint's
        # path, without doubling a trailing slash.
        self._prefix = (path[:-1] if path.endswith("/") else path) + "/@connections/"
        self._quote = quote
        from botocore.utils import normalize_url_path

        self._normalize = normalize_url_path
        self.region = region
        self.service = service
        self._access_key = access_key
        self._secret = secret_key
        host = host_header(endpoint_url)
        self._host = host
        # Canonical header values are stripped, inner whitespace collapsed (as botocore does).
        token = " ".join(token.split()) if token else None
        self._token = token
        self._signed_headers = (
            "host;x-amz-date;x-amz-security-token" if token else "host;x-amz-date"
        )
        self._token_line = f"x-amz-security-token:{token}\n" if token else ""
        self._keys: tuple[str, bytes] | None = None
        self._stamp: tuple[int, str] = (-1, "")
        # A ``_transport.Origin``: where requests go and the kept-alive sockets to reuse.
        self._origin_pool = origin
        self._payload: bytes = b""
        self._payload_hash = _sha256_hex(b"")

    def path_for(self, connection_id: str) -> str:
        """The request path for an id (encoded like botocore's ``percent_encode``)."""
        return self._prefix + self._quote(connection_id.encode("utf-8"), safe=_SAFE)

    def set_payload(self, payload: bytes) -> None:
        self._payload = payload
        self._payload_hash = _sha256_hex(payload)

    def _signing_key(self, day: str) -> bytes:
        cached = self._keys
        if cached is not None and cached[0] == day:
            return cached[1]
        key = _hmac(("AWS4" + self._secret).encode("utf-8"), day)
        for part in (self.region, self.service, "aws4_request"):
            key = _hmac(key, part)
        self._keys = (day, key)
        return key

    def _timestamp(self, now: float | None) -> str:
        second = int(time.time() if now is None else now)
        cached = self._stamp
        if cached[0] == second:
            return cached[1]
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        self._stamp = (second, stamp)
        return stamp

    def headers(self, path: str, *, now: float | None = None) -> dict[str, str]:
        """The signed headers of a POST of the current payload to ``path``."""
        stamp = self._timestamp(now)
        day = stamp[:8]
        # botocore's canonical URI quotes the (already encoded) path again: "%3D" → "%253D".
        canonical_uri = self._quote(self._normalize(path), safe="/~")
        canonical = (
            f"POST\n{canonical_uri}\n\nhost:{self._host}\nx-amz-date:{stamp}\n"
            f"{self._token_line}\n{self._signed_headers}\n{self._payload_hash}"
        )
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{_sha256_hex(canonical.encode('utf-8'))}"
        signature = hmac.new(
            self._signing_key(day), to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        headers = {"Host": self._host, "X-Amz-Date": stamp}
        if self._token:
            headers["X-Amz-Security-Token"] = self._token
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._access_key}/{scope}, "
            f"SignedHeaders={self._signed_headers}, Signature={signature}"
        )
        return headers

    def request(self, connection_id: str) -> bytes:
        """The whole signed HTTP/1.1 request that posts the current payload to one id."""
        path = self.path_for(connection_id)
        headers = self.headers(path)
        token = headers.get("X-Amz-Security-Token")
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {headers['Host']}\r\n"
            f"X-Amz-Date: {headers['X-Amz-Date']}\r\n"
            + (f"X-Amz-Security-Token: {token}\r\n" if token else "")
            + f"Authorization: {headers['Authorization']}\r\n"
            f"User-Agent: {_USER_AGENT}\r\nAccept-Encoding: identity\r\n"
            f"Content-Length: {len(self._payload)}\r\n\r\n"
        )
        return head.encode("utf-8") + self._payload

    def post_many(
        self, connection_ids: Sequence[str], concurrency: int
    ) -> list[ManagementApiError | None]:
        """POST the payload to every id, ``concurrency`` at a time; per id, None when
        delivered, else the typed error (never raises for an answer or a connection error)."""
        from . import _transport

        # Built and signed when sent, not all up front: a 128 KiB payload to 100,000 ids would
        # otherwise hold 12 GiB of requests, and signatures made at the start of a long
        # broadcast could expire (SigV4 allows 5 minutes of clock skew) before their turn.
        requests = _JustInTime(self.request, connection_ids)
        answers = _transport.exchange(self._origin_pool, requests, concurrency)
        outcomes: list[ManagementApiError | None] = []
        for connection_id, answer in zip(connection_ids, answers, strict=True):
            if isinstance(answer, _transport.TransportError):
                url = self._origin + self.path_for(connection_id)
                outcomes.append(_transport_error(answer, url, connection_id))
            elif answer.status < 301:  # as botocore's parser: 301 and up are errors
                outcomes.append(None)
            else:
                outcomes.append(
                    _answer_error(answer.status, answer.headers, answer.body, connection_id)
                )
        return outcomes


class _JustInTime:
    """A read-only sequence of the requests for ``ids``, each made when it is read."""

    __slots__ = ("_ids", "_make")

    def __init__(self, make: Callable[[str], bytes], ids: Sequence[str]) -> None:
        self._make = make
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index: int) -> bytes:
        return self._make(self._ids[index])


def answer_code_and_message(status: int, headers: Any, body: bytes) -> tuple[Any, Any]:
    """The error code and message botocore's rest-json parser reads from an error answer:
    ``x-amzn-ErrorType``, else the JSON body's ``__type``/``code``, else the status (for an
    empty or HTML body from a proxy or load balancer, the status and its reason phrase).

    Values are returned as the answer had them (a ``__type`` may be an object); the caller
    (``management_error``) ignores what is not a string. Never raises."""
    stripped = body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        # botocore's "generic" error: an empty or HTML body from a proxy or load balancer.
        import http.client

        return str(status), http.client.responses.get(status, "")
    parsed: Any = {}
    if body:
        import json

        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            parsed = {"message": text}
    if not isinstance(parsed, dict):
        parsed = {}
    message = parsed.get("message", parsed.get("Message", ""))
    code: Any = parsed.get("__type", str(status))
    header_code = headers.get("x-amzn-errortype")
    if header_code is not None:
        code = header_code
    elif "code" in parsed or "Code" in parsed:
        code = parsed.get("code", parsed.get("Code", ""))
    if isinstance(code, str):
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    return code, message


def _answer_error(status: int, headers: Any, body: bytes, connection_id: str) -> ManagementApiError:
    code, message = answer_code_and_message(status, headers, body)
    return management_error(message, code=code, status=status, connection_id=connection_id)


#: For each way a request can fail without an answer: the botocore exception its HTTP session
#: raises for the same failure (as ``botocore.httpsession`` maps urllib3's errors), by name and
#: message template (its ``fmt``; a test compares them with botocore's), so that both paths
#: report a failure with the same ``code`` and text.
TRANSPORT_ERRORS: dict[str, tuple[str, str]] = {
    "tls": ("SSLError", "SSL validation failed for {endpoint_url} {error}"),
    "resolve": (
        "EndpointConnectionError",
        'Could not connect to the endpoint URL: "{endpoint_url}"',
    ),
    "connect": (
        "EndpointConnectionError",
        'Could not connect to the endpoint URL: "{endpoint_url}"',
    ),
    "connect-timeout": ("ConnectTimeoutError", 'Connect timeout on endpoint URL: "{endpoint_url}"'),
    "read-timeout": ("ReadTimeoutError", 'Read timeout on endpoint URL: "{endpoint_url}"'),
    "closed": (
        "ConnectionClosedError",
        "Connection was closed before we received a valid response from endpoint URL: "
        '"{endpoint_url}".',
    ),
}


def _transport_error(error: Any, url: str, connection_id: str) -> ManagementApiError:
    code, template = TRANSPORT_ERRORS.get(error.kind, TRANSPORT_ERRORS["closed"])
    message = template.format(endpoint_url=url, error=error.cause or error)
    typed = ManagementApiError(message, connection_id=connection_id, code=code, status=None)
    typed.__cause__ = error  # the transport's failure: its kind, and the OS error if any
    return typed


def _origin(
    endpoint_url: str,
    concurrency: int,
    verify: Any,
    client_cert: Any,
    connect_timeout: Any,
    read_timeout: Any,
) -> Any:
    """The cached ``_transport.Origin`` (idle kept-alive sockets) of the endpoint's origin."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint_url)
    hostname = parts.hostname or ""
    cert = tuple(client_cert) if isinstance(client_cert, (list, tuple)) else client_cert
    key = (parts.scheme, hostname, parts.port, verify, cert, connect_timeout, read_timeout)
    found = _pools.get(key)
    if found is None:
        with _lock:
            found = _pools.get(key)
            if found is None:
                from . import _transport

                context = _ssl_context(verify, cert) if parts.scheme == "https" else None
                found = _pools[key] = _transport.Origin(
                    hostname,
                    parts.port or (443 if context is not None else 80),
                    ssl_context=context,
                    connect_timeout=float(connect_timeout or 60),
                    read_timeout=float(read_timeout or 60),
                )
    found.max_idle = max(found.max_idle, concurrency)
    return found


def _ssl_context(verify: Any, client_cert: Any = None) -> Any:
    """A client TLS context that verifies as botocore's session does: its CA bundle (or the
    ``verify`` path given), or no verification with ``verify=False``; with the client
    certificate of ``Config(client_cert=...)`` (a path, or a (certificate, key) pair)."""
    import ssl

    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        from botocore.httpsession import get_cert_path

        bundle = get_cert_path(True if verify is None else verify)
        context = ssl.create_default_context(cafile=bundle)
    if isinstance(client_cert, str):
        context.load_cert_chain(client_cert)
    elif client_cert:
        context.load_cert_chain(*client_cert)
    return context


#: The events botocore emits while it makes an API call (``BaseClient._make_api_call`` and
#: ``Endpoint``): a handler on one of them can change, answer or record the request.
_CALL_EVENTS = (
    "provide-client-params",
    "before-parameter-build",
    "before-endpoint-resolution",
    "before-call",
    "request-created",
    "choose-signer",
    "before-sign",
    "before-send",
    "response-received",
    "needs-retry",
    "after-call",
    "after-call-error",
)


class BotocoreInternals:
    """What the fast path needs of a botocore client that botocore has no public API for."""

    __slots__ = ("credentials", "handlers", "verify")

    def __init__(self, credentials: Any, verify: Any, handlers: list[tuple[str, Any]]) -> None:
        #: The signer's credentials object (``None``: the client signs nothing).
        self.credentials = credentials
        #: The HTTP session's ``verify``: True, False, or a CA bundle path.
        self.verify = verify
        #: (event, handler) of every handler registered on PostToConnection's call events.
        self.handlers = handlers


def _botocore_internals(client: Any, *, credentials: bool) -> BotocoreInternals:
    """The one place that reads botocore's private attributes (tested against the oldest and
    the newest botocore allowed; an ``AttributeError`` here means botocore moved them, and
    broadcast then falls back to the client, saying so).

    - ``client._request_signer._credentials``: a given client's credentials (a client
      ``lambda_runtime`` made gets them from its public ``Session.get_credentials()``
      instead: ``credentials=False`` skips this read);
    - ``client._endpoint.http_session._verify``: ``verify=`` as given to the client, or the
      ``ca_bundle`` setting botocore resolved (no public accessor);
    - ``client.meta.events._emitter._handlers.prefix_search``: the handlers on the call's
      events (the event system has ``register``/``unregister`` but no way to list them).
    """
    signer_credentials = client._request_signer._credentials if credentials else None
    verify = client._endpoint.http_session._verify
    emitter = client.meta.events._emitter  # the HierarchicalEmitter behind the aliaser
    operation = f"{client.meta.service_model.service_id.hyphenize()}.PostToConnection"
    handlers = [
        (event, handler)
        for event in _CALL_EVENTS
        for handler in emitter._handlers.prefix_search(f"{event}.{operation}")
    ]
    return BotocoreInternals(signer_credentials, verify, handlers)


def _is_botocores_own(handler: Any) -> bool:
    module = getattr(handler, "__module__", None) or type(handler).__module__
    module = str(module)
    return (module.startswith("botocore.") and module != "botocore.stub") or module.startswith(
        "boto3."
    )


def _endpoint_after_hooks(handlers: list[tuple[str, Any]], endpoint_url: str) -> str | None:
    """The endpoint the fast path may use, or None when a handler on the call's events is not
    botocore's own: moto's ``mock_aws`` (a ``before-send`` answer), botocore's ``Stubber``, a
    tracer or a hook of the caller's expects to see every call, so the calls must go through
    the client. A hook that only moves requests to another base URL (the local emulator's,
    marked with ``env.REWRITE_URL_ATTRIBUTE``) is followed instead, and one that says it is
    off (``enabled = False``, as moto's stubber is whenever ``mock_aws`` is not active) is
    ignored."""
    for event, handler in handlers:
        if event != "before-send" and _is_botocores_own(handler):
            continue
        if getattr(handler, "enabled", None) is False:
            continue  # says it passes calls through (moto's stubber outside mock_aws)
        rewrite = getattr(handler, REWRITE_URL_ATTRIBUTE, None)
        if rewrite is None:
            return None
        endpoint_url = rewrite(endpoint_url)
    return endpoint_url


def _handler_name(handlers: list[tuple[str, Any]]) -> str:
    for event, handler in handlers:
        if (event == "before-send" or not _is_botocores_own(handler)) and getattr(
            handler, "enabled", None
        ) is not False:
            name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
            module = getattr(handler, "__module__", None) or type(handler).__module__
            return f"{module}.{name} on {event!r}"
    return "a handler"  # pragma: no cover - only called when one was found


def poster_for(client: Any, max_workers: int) -> Poster | None:
    """A ``Poster`` that signs and sends as ``client`` would, or None when it cannot (the
    reason is logged once as a WARNING: see the module docstring)."""
    try:
        poster_or_reason = _poster_or_reason(client, max_workers)
    except Exception as exc:  # an unexpected client or botocore: fall back, never fail
        poster_or_reason = f"cannot read the client's settings ({type(exc).__name__}: {exc})"
    if isinstance(poster_or_reason, str):
        _warn_once(poster_or_reason)
        return None
    return poster_or_reason


def _warn_once(reason: str) -> None:
    with _lock:
        if reason in _warned or len(_warned) >= 100:
            return
        _warned.add(reason)
    import logging

    logging.getLogger(LOGGER_NAME).warning(
        "Connections.broadcast sends through the boto3 client, one call per connection "
        "(slower than its fast path): %s",
        reason,
    )


def _poster_or_reason(client: Any, max_workers: int) -> Poster | str:
    from botocore.client import BaseClient

    if not isinstance(client, BaseClient):
        return f"the client is a {type(client).__qualname__}, not a botocore client"
    botocore_client: Any = client  # its meta is not fully in the type stubs
    meta = botocore_client.meta
    config: Any = meta.config
    version = config.signature_version or meta.service_model.signature_version
    if version != "v4":
        return f"the client signs with {version!r}, not SigV4"
    from . import _aws

    own_credentials = _aws.session_credentials_of(botocore_client)
    try:
        internals = _botocore_internals(botocore_client, credentials=own_credentials is None)
    except AttributeError as exc:
        import botocore

        return f"botocore {botocore.__version__} moved an internal the fast path reads ({exc})"
    endpoint_url = _endpoint_after_hooks(internals.handlers, meta.endpoint_url)
    if endpoint_url is None:
        return f"{_handler_name(internals.handlers)} must see every call"
    region: str | None = meta.region_name
    if not region:
        return "the client has no region"
    if "?" in endpoint_url or "#" in endpoint_url:
        return "the endpoint URL has a query or a fragment"
    scheme = endpoint_url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        return f"the endpoint URL's scheme is {scheme!r}"
    from botocore.utils import get_environ_proxies

    # As botocore's EndpointCreator: Config(proxies=...) when given, else the environment's.
    proxies = config.proxies if config.proxies is not None else get_environ_proxies(endpoint_url)
    if proxies.get(scheme):
        return "the client sends through a proxy"
    credentials = own_credentials if own_credentials is not None else internals.credentials
    if credentials is None:
        return "the client has no credentials"
    frozen = credentials.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        return "the client has no credentials"
    origin = _origin(
        endpoint_url,
        max_workers,
        internals.verify,
        config.client_cert,
        config.connect_timeout,
        config.read_timeout,
    )
    return Poster(
        endpoint_url,
        region=region,
        access_key=frozen.access_key,
        secret_key=frozen.secret_key,
        token=frozen.token,
        service=meta.service_model.signing_name,
        origin=origin,
    )


def clear_pools() -> None:
    """Close and forget every cached origin and its idle connections (and which fall backs
    were already reported)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
        _warned.clear()
    for pool in pools:
        pool.close()

"""The fast path of ``Connections.broadcast``: ``PostToConnection`` without botocore's pipeline.

Why: a broadcast is one small request per connection, and botocore spends 1.0-1.5 ms of
Python CPU on each (event hooks, user agent, request serialisation, SigV4, response parsing:
~3,400 Python calls per post). Under the GIL that CPU is serialised whatever the thread count,
so a fan-out through boto3 tops out at ~700-1,000 posts/s per process; on Lambda's small
memory sizes, which get a fraction of a vCPU, it is worse. This module does the same request
with well under 0.1 ms of CPU:

- the credentials are resolved once per broadcast from the botocore client the caller uses
  (its signer's credentials, frozen with ``get_frozen_credentials()``: session tokens are
  sent as ``X-Amz-Security-Token``), with the client's region and signing name;
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
- answers are turned into the botocore exceptions the client would have raised (the
  client's modeled ``ClientError`` subclass for the code from ``x-amzn-ErrorType`` or the
  JSON body,
  ``EndpointConnectionError``...), so that ``connections._translate`` maps both paths to the
  same typed errors.

``poster_for(client, max_workers)`` returns None when the fast path cannot be set up (not a
botocore client, no credentials, not SigV4, a proxy, an endpoint URL with a query string, or
a handler that is not botocore's own on the call's events: moto's ``mock_aws``, botocore's
``Stubber``, a hook of the caller's): the caller then uses the client itself.
"""

from __future__ import annotations

import _thread
import hashlib
import hmac
import time

from .env import REWRITE_URL_ATTRIBUTE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["Poster", "clear_pools", "poster_for"]

_lock = _thread.allocate_lock()
_pools: dict[tuple[Any, ...], Any] = {}
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

    ``post(connection_id)`` returns None when delivered, else the botocore exception the
    client would have raised (never raises for an HTTP or connection error).
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
        exceptions: Any = None,
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
        # The client's modeled exceptions (``client.exceptions``): ClientError subclasses.
        self._exceptions = exceptions
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

    def post_many(self, connection_ids: Sequence[str], concurrency: int) -> list[Exception | None]:
        """POST the payload to every id, ``concurrency`` at a time; per id, None when
        delivered, else the botocore exception the client would have raised (never raises for
        an HTTP or connection error)."""
        from . import _transport

        # Built and signed when sent, not all up front: a 128 KiB payload to 100,000 ids would
        # otherwise hold 12 GiB of requests, and signatures made at the start of a long
        # broadcast could expire (SigV4 allows 5 minutes of clock skew) before their turn.
        requests = _JustInTime(self.request, connection_ids)
        answers = _transport.exchange(self._origin_pool, requests, concurrency)
        outcomes: list[Exception | None] = []
        for connection_id, answer in zip(connection_ids, answers, strict=True):
            if isinstance(answer, _transport.TransportError):
                outcomes.append(
                    _connection_error(answer, self._origin + self.path_for(connection_id))
                )
            elif answer.status < 301:  # as botocore's parser: 301 and up are errors
                outcomes.append(None)
            else:
                outcomes.append(
                    _client_error(answer.status, answer.headers, answer.body, self._exceptions)
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


def _client_error(status: int, headers: Any, body: bytes, exceptions: Any = None) -> Exception:
    """The ``ClientError`` botocore's rest-json parser makes of an error answer (the client's
    modeled subclass for its code, e.g. ``GoneException``, when ``exceptions`` is given)."""
    import json

    stripped = body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        # botocore's "generic" error: an empty or HTML body from a proxy or load balancer.
        import http.client

        return _make_error(
            exceptions, status, headers, str(status), http.client.responses.get(status, "")
        )
    parsed: Any = {}
    if body:
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
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
    return _make_error(exceptions, status, headers, code, message)


def _make_error(exceptions: Any, status: int, headers: Any, code: Any, message: Any) -> Exception:
    from botocore.exceptions import ClientError

    metadata: dict[str, Any] = {
        "HTTPStatusCode": status,
        "HTTPHeaders": {k.lower(): v for k, v in headers.items()},
    }
    request_id = headers.get("x-amzn-requestid")
    if request_id:
        metadata["RequestId"] = request_id
    response: Any = {"Error": {"Message": message, "Code": code}, "ResponseMetadata": metadata}
    cls = exceptions.from_code(code) if exceptions is not None else ClientError
    error: Exception = cls(response, "PostToConnection")
    return error


def _connection_error(error: Any, url: str) -> Exception:
    """The botocore exception its HTTP session raises for the same failure (as httpsession
    maps urllib3's errors)."""
    from botocore import exceptions as b

    kind = error.kind
    cause = error.cause or error
    if kind == "tls":
        return b.SSLError(endpoint_url=url, error=cause)
    if kind in ("resolve", "connect"):
        return b.EndpointConnectionError(endpoint_url=url, error=cause)
    if kind == "connect-timeout":
        return b.ConnectTimeoutError(endpoint_url=url, error=cause)
    if kind == "read-timeout":
        return b.ReadTimeoutError(endpoint_url=url, error=cause)
    return b.ConnectionClosedError(error=cause, request=None, endpoint_url=url)


def _origin(
    endpoint_url: str, concurrency: int, verify: Any, connect_timeout: Any, read_timeout: Any
) -> Any:
    """The cached ``_transport.Origin`` (idle kept-alive sockets) of the endpoint's origin."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint_url)
    hostname = parts.hostname or ""
    key = (parts.scheme, hostname, parts.port, verify, connect_timeout, read_timeout)
    found = _pools.get(key)
    if found is None:
        with _lock:
            found = _pools.get(key)
            if found is None:
                from . import _transport

                context = _ssl_context(verify) if parts.scheme == "https" else None
                found = _pools[key] = _transport.Origin(
                    hostname,
                    parts.port or (443 if context is not None else 80),
                    ssl_context=context,
                    connect_timeout=float(connect_timeout or 60),
                    read_timeout=float(read_timeout or 60),
                )
    found.max_idle = max(found.max_idle, concurrency)
    return found


def _ssl_context(verify: Any) -> Any:
    """A client TLS context that verifies as botocore's session does: its CA bundle (or the
    ``verify`` path given), or no verification with ``verify=False``."""
    import ssl

    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    from botocore.httpsession import get_cert_path

    return ssl.create_default_context(cafile=get_cert_path(True if verify is None else verify))


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


def _is_botocores_own(handler: Any) -> bool:
    module = getattr(handler, "__module__", None) or type(handler).__module__
    module = str(module)
    return (module.startswith("botocore.") and module != "botocore.stub") or module.startswith(
        "boto3."
    )


def _endpoint_after_hooks(client: Any, endpoint_url: str) -> str | None:
    """The endpoint the fast path may use for ``client``, or None when a handler on its call
    events is not botocore's own: moto's ``mock_aws`` (a ``before-send`` answer), botocore's
    ``Stubber``, a tracer or a hook of the caller's expects to see every call, so the calls must
    go through the client. A hook that only moves requests to another base URL (the local
    emulator's) is followed instead, and one that says it is off (``enabled = False``, as
    moto's stubber is whenever ``mock_aws`` is not active) is ignored."""
    emitter = client.meta.events._emitter  # the HierarchicalEmitter behind the aliaser
    operation = f"{client.meta.service_model.service_id.hyphenize()}.PostToConnection"
    for event in _CALL_EVENTS:
        for handler in emitter._handlers.prefix_search(f"{event}.{operation}"):
            if event != "before-send" and _is_botocores_own(handler):
                continue
            if getattr(handler, "enabled", None) is False:
                continue  # says it passes calls through (moto's stubber outside mock_aws)
            rewrite = getattr(handler, REWRITE_URL_ATTRIBUTE, None)
            if rewrite is None:
                return None
            endpoint_url = rewrite(endpoint_url)
    return endpoint_url


def poster_for(client: Any, max_workers: int) -> Poster | None:
    """A ``Poster`` that signs and sends as ``client`` would, or None when it cannot."""
    try:
        from botocore.client import BaseClient
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    if not isinstance(client, BaseClient):
        return None
    botocore_client: Any = client  # its signer and endpoint are not in the type stubs
    try:
        meta = botocore_client.meta
        signer = botocore_client._request_signer
        if getattr(signer, "signature_version", "v4") not in ("v4", "s3v4"):
            return None
        endpoint_url: str | None = _endpoint_after_hooks(botocore_client, meta.endpoint_url)
        region: str | None = meta.region_name
        if not endpoint_url or not region or "?" in endpoint_url or "#" in endpoint_url:
            return None
        scheme = endpoint_url.split("://", 1)[0].lower()
        if scheme not in ("http", "https"):
            return None
        http_session = botocore_client._endpoint.http_session
        proxy_config = getattr(http_session, "_proxy_config", None)
        if proxy_config is None or proxy_config.proxy_url_for(endpoint_url):
            return None
        credentials = signer._credentials
        if credentials is None:
            return None
        frozen = credentials.get_frozen_credentials()
        if not frozen.access_key or not frozen.secret_key:
            return None
        service = getattr(signer, "_signing_name", None) or meta.service_model.signing_name
        config: Any = meta.config
        exceptions = botocore_client.exceptions
        origin = _origin(
            endpoint_url,
            max_workers,
            getattr(http_session, "_verify", True),
            config.connect_timeout,
            config.read_timeout,
        )
    except Exception:
        return None
    return Poster(
        endpoint_url,
        region=region,
        access_key=frozen.access_key,
        secret_key=frozen.secret_key,
        token=frozen.token,
        service=service,
        origin=origin,
        exceptions=exceptions,
    )


def clear_pools() -> None:
    """Close and forget every cached origin and its idle connections."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()

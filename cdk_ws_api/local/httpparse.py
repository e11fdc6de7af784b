"""A minimal HTTP/1.1 request parser for the ``@connections`` requests (pure).

Only what SDKs send is supported: a request line, headers, and a ``Content-Length`` body
(no chunked bodies). :class:`RequestParser` is fed bytes and yields complete requests, so
keep-alive connections carrying several requests work.
"""

from __future__ import annotations

from typing import NamedTuple

from .exceptions import HttpParseError

__all__ = ["HttpRequest", "RequestParser", "is_websocket_upgrade"]

_MAX_HEAD = 65536


class HttpRequest(NamedTuple):
    # A named tuple, not a frozen dataclass: one is built per @connections request, and a
    # frozen dataclass's __init__ costs several times more.
    method: str
    path: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("Connection") or "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, path, version = lines[0].split(" ", 2)
    except ValueError:
        raise HttpParseError(400, f"bad request line {lines[0]!r}") from None
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpParseError(505, f"unsupported version {version}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpParseError(400, f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return method, path, version, headers


def is_websocket_upgrade(head: bytes) -> bool:
    """Whether a request head (up to the blank line) asks for a WebSocket upgrade."""
    try:
        method, _, _, headers = _parse_head(head)
    except HttpParseError:
        return False
    upgrade = next((v for k, v in headers if k.lower() == "upgrade"), "")
    return method == "GET" and upgrade.lower() == "websocket"


class RequestParser:
    """Incremental parser; ``max_body`` bounds the memory one request can take."""

    def __init__(self, *, max_body: int = 8 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max_body = max_body

    def feed(self, data: bytes) -> list[HttpRequest]:
        """Add bytes and return the requests completed by them (possibly none)."""
        self._buffer.extend(data)
        requests: list[HttpRequest] = []
        try:
            return self._parse(requests)
        except HttpParseError as exc:
            exc.requests = requests  # the ones completed before the error
            raise

    def _parse(self, requests: list[HttpRequest]) -> list[HttpRequest]:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    raise HttpParseError(431, "request head too large")
                return requests
            method, path, version, headers = _parse_head(bytes(self._buffer[:end]))
            lowered = {k.lower(): v for k, v in headers}
            if "transfer-encoding" in lowered:
                raise HttpParseError(501, "chunked bodies are not supported")
            try:
                length = int(lowered.get("content-length", "0"))
            except ValueError:
                raise HttpParseError(400, "bad Content-Length") from None
            if length < 0 or length > self._max_body:
                raise HttpParseError(413, "body too large")
            if len(self._buffer) < end + 4 + length:
                return requests
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            requests.append(HttpRequest(method, path, version, headers, body))

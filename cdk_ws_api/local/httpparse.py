"""The HTTP/1.1 request parser of the shared port (pure), strict per RFC 9112.

Only what SDKs send is supported: a request line, headers, and a ``Content-Length`` body
(no chunked bodies: 501). :class:`RequestParser` is fed bytes and yields complete requests, so
keep-alive connections carrying several (pipelined) requests work. Every rule below answers a
status at once and the connection is then closed:

- 400: a request line that is not ``METHOD SP target SP HTTP/x.y``; a method that is not an
  upper-case token (methods are case-sensitive, RFC 9110 §9.1: ``get`` is no method of this
  API); a request target that is not visible ASCII (raw non-ASCII bytes, controls, spaces);
  bare LF or bare CR line endings (RFC 9112 §2.2 allows rejecting them; accepting them would
  let a request mean one thing here and another to the ``websockets`` parser behind us);
  whitespace before a header's colon and obsolete line folding (§5.1, §5.2: "MUST reject");
  a header name that is not a token or a value with control characters; an HTTP/1.1 request
  with no ``Host`` or with several (§3.2, "MUST respond with 400"); a ``Content-Length``
  that is not digits only (no sign, no spaces inside) or several that differ (§6.3).
- 413 (as ``PayloadTooLargeException``, the shape botocore parses): a ``Content-Length``
  over ``max_body``, answered from the head alone, before any of the body is read.
- 431: a head over 64 KiB. 501: ``Transfer-Encoding``. 505: an HTTP version other than 1.x.

Why not ``h11``: ``h11`` (the well-kept pure-Python HTTP/1.1 state machine) was evaluated as
the replacement. It implements RFC 9112 more widely (chunked bodies, which no SDK sends to
this API) but lets through two of the rules above (lower-case methods; bare-LF lines, which
it accepts), and costs 6x the time per request of this parser (``python -m bench.httpparse``:
a boto3 ``PostToConnection`` request, parsed and answered), on the path every
``PostToConnection`` of a broadcast takes. So the parser stays hand-written, and ``h11`` is
used in the tests as the reference: the property tests check that every request this parser
accepts, ``h11`` accepts with the same method, target, headers and body.

The buffer is consumed through an offset and compacted once per :meth:`RequestParser.feed`,
so a chunk holding thousands of pipelined requests is parsed in linear time.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

from .exceptions import HttpParseError
from .management.model import MAX_POST_BYTES

__all__ = [
    "MAX_HEAD_BYTES",
    "HttpRequest",
    "RequestParser",
    "is_websocket_upgrade",
    "upgrade_rejection",
]

#: A request head larger than this is answered 431.
MAX_HEAD_BYTES = 65536

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Methods are case-sensitive tokens; those of HTTP and of every SDK are upper-case.
_METHOD_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Z]+")
# What a head may hold (CR LF checked apart; RFC 9110 §5.5: visible characters, SP, HTAB and
# obs-text), as bytes to delete with ``translate``: one C-speed pass over the whole head.
_HEAD = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F), *range(0x80, 0x100)])


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


def _check_line_endings(head: bytes) -> None:
    # Every LF must end a CRLF and every CR start one (no bare LF, no bare CR).
    crlf = head.count(b"\r\n")
    if head.count(b"\n") != crlf or head.count(b"\r") != crlf:
        raise HttpParseError(400, "bare LF or CR in the request head (lines end with CRLF)")


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]]:
    """Parse a request head (without the final blank line); raises :class:`HttpParseError`."""
    _check_line_endings(head)
    if head.translate(None, _HEAD):
        raise HttpParseError(400, "control character in the request head")
    # One decode, then str operations (this parser is on every PostToConnection's path).
    lines = head.decode("latin-1").split("\r\n")
    request_line = lines[0]
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise HttpParseError(400, f"bad request line {request_line!r}")
    method, target, version = parts
    if not _METHOD_RE.fullmatch(method):
        raise HttpParseError(400, f"bad method {method!r}")
    if not target.isascii() or "\t" in target:
        raise HttpParseError(400, "bad request target (visible ASCII only)")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        number = version[5:]
        if version.startswith("HTTP/") and number.replace(".", "", 1).isdigit():
            raise HttpParseError(505, f"unsupported version {version}")
        raise HttpParseError(400, f"bad request line {request_line!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpParseError(400, f"bad header line {line!r}")
        if not _TOKEN_RE.fullmatch(name):
            # Also catches whitespace before the colon and obs-fold continuation lines.
            raise HttpParseError(400, f"bad header name {name!r}")
        headers.append((name, value.strip(" \t")))
    return method, target, version, headers


def _content_length(values: list[str], max_body: int) -> int:
    # RFC 9110 §8.6: a list of identical values ("5, 5" or repeated fields) is one length.
    lengths = {part.strip(" \t") for value in values for part in value.split(",")}
    if len(lengths) != 1:
        raise HttpParseError(400, "conflicting Content-Length values")
    (text,) = lengths
    if not (text.isascii() and text.isdigit()):
        raise HttpParseError(400, "bad Content-Length")
    length = int(text)
    if length > max_body:
        raise HttpParseError(
            413,
            f"Request body too large: {length} bytes (maximum {max_body})",
            code="PayloadTooLargeException",
        )
    return length


def _framing(version: str, headers: list[tuple[str, str]], max_body: int) -> int:
    """The body length the headers announce; checks ``Host`` and the framing headers."""
    hosts = 0
    lengths: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-length":
            lengths.append(value)
        elif lowered == "host":
            hosts += 1
        elif lowered == "transfer-encoding":
            raise HttpParseError(501, "chunked bodies are not supported")
    if hosts > 1 or (hosts == 0 and version == "HTTP/1.1"):
        raise HttpParseError(400, "an HTTP/1.1 request needs exactly one Host header")
    return _content_length(lengths, max_body) if lengths else 0


def is_websocket_upgrade(head: bytes) -> bool:
    """Whether a valid request head (up to the blank line) asks for a WebSocket upgrade.

    An invalid head is not an upgrade: it goes to the HTTP channel, which answers it 400.
    """
    try:
        method, _, _, headers = _parse_head(head)
    except HttpParseError:
        return False
    upgrade = next((v for k, v in headers if k.lower() == "upgrade"), "")
    return method == "GET" and upgrade.lower() == "websocket"


def upgrade_rejection(headers: list[tuple[str, str]]) -> tuple[int, str] | None:
    """Why a WebSocket upgrade request cannot be accepted (status, message), or ``None``.

    Checked before the authorizer and ``$connect`` run, so no function sees a handshake that
    ``websockets`` would refuse afterwards: 400 for a missing or malformed
    ``Sec-WebSocket-Key`` (16 bytes, base64) or a ``Connection`` without ``upgrade``; 426
    for a ``Sec-WebSocket-Version`` other than 13 (RFC 6455 §4.2.2, §4.4).
    """
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    tokens = {t.strip().lower() for v in values.get("connection", []) for t in v.split(",")}
    if "upgrade" not in tokens:
        return 400, "Connection header must include 'upgrade'"
    keys = values.get("sec-websocket-key", [])
    if len(keys) != 1:
        return 400, "missing or repeated Sec-WebSocket-Key header"
    try:
        key = base64.b64decode(keys[0].encode("latin-1"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 16:
        return 400, "invalid Sec-WebSocket-Key header"
    versions = values.get("sec-websocket-version", [])
    if not versions:
        return 400, "missing Sec-WebSocket-Version header"
    if versions != ["13"]:
        return 426, "unsupported Sec-WebSocket-Version (13 only)"
    return None


class RequestParser:
    """Incremental parser; ``max_body`` (default: ``PostToConnection``'s ``Data`` max,
    128 KiB) bounds the memory one request can take."""

    def __init__(self, *, max_body: int = MAX_POST_BYTES) -> None:
        self._buffer = bytearray()
        self._max_body = max_body

    @property
    def buffered(self) -> int:
        """How many bytes of an incomplete request are buffered (0: none)."""
        return len(self._buffer)

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
        buffer = self._buffer
        start = 0
        try:
            while True:
                end = buffer.find(b"\r\n\r\n", start)
                if end < 0:
                    if len(buffer) - start > MAX_HEAD_BYTES:
                        raise HttpParseError(431, "request head too large")
                    if buffer.find(b"\n\n", start) >= 0:  # a bare-LF head, complete
                        _check_line_endings(bytes(buffer[start:]))
                    return requests
                if end - start > MAX_HEAD_BYTES:
                    raise HttpParseError(431, "request head too large")
                method, path, version, headers = _parse_head(bytes(buffer[start:end]))
                length = _framing(version, headers, self._max_body)
                body_end = end + 4 + length
                if len(buffer) < body_end:
                    return requests
                body = bytes(buffer[end + 4 : body_end])
                start = body_end
                requests.append(HttpRequest(method, path, version, headers, body))
        finally:
            # One compaction per feed: deleting each request's bytes as it is parsed
            # would copy the rest of the buffer once per request (quadratic).
            del buffer[:start]

"""Many small HTTP/1.1 requests to one origin at once, from one thread (stdlib only).

Why not threads over a connection pool (what ``broadcast`` used before): each request then
pays a thread hand-off, the pool's bookkeeping and a blocking ``http.client`` exchange, about
0.4 ms of CPU for a 0.1 ms job, and the threads contend for the GIL. Here one thread keeps up
to ``concurrency`` kept-alive non-blocking sockets busy with ``selectors``: a request is one
``send`` of prepared bytes, an answer one ``recv`` and a small parse.

What it does and does not do:

- one request in flight per connection, no pipelining (every HTTP/1.1 server supports that;
  not every one supports pipelining);
- ``http`` and ``https`` (TLS through ``ssl`` with the caller's context, handshakes
  non-blocking too); answers with ``Content-Length``, ``chunked`` or close-delimited bodies,
  ``1xx`` interim answers skipped; ``Connection: close`` honoured;
- idle connections are kept per origin (:class:`Origin`) between calls, as a Lambda execution
  environment keeps its boto3 pool; one that the server closed while idle is dropped before use,
  and a request that finds its reused connection closed before any byte of answer is sent again
  once on a new one (the server cannot have acted on it: nothing was answered and keep-alive
  closes only happen between requests);
- ``connect_timeout`` bounds connect + TLS handshake, ``read_timeout`` the silence while
  waiting for (the rest of) an answer, as botocore's socket timeouts do.

Failures are returned, not raised, per request: :class:`TransportError` with a ``kind`` the caller
maps (``resolve``, ``connect``, ``connect-timeout``, ``read-timeout``, ``tls``, ``closed``,
``protocol``).

An answer is read strictly (RFC 9112), and anything else is a ``protocol`` failure of that
request, never an answer and never an exception out of :func:`exchange`: a status that is not
three ASCII digits from 100 to 999 (``²00``, ``000``, ``099``, ``1000``; ``http.client``, under
botocore, refuses the same), a ``Content-Length`` that is not digits (``-5``, ``+5``) or
disagrees with another one, a chunk size that is not hex digits, a head over 64 KiB or with
over 100 fields (``http.client``'s own limit on fields), a chunk-size or trailer line over
64 KiB, or a body over 1 MiB (an answer to ``PostToConnection`` is empty or a small JSON error).
"""

from __future__ import annotations

import _thread
import errno
import selectors
import socket
import time
from collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence
    from typing import Any, Protocol

    class Requests(Protocol):
        """What ``exchange`` reads requests from: a list, or a sequence building them."""

        def __len__(self) -> int: ...

        def __getitem__(self, index: int, /) -> bytes: ...


__all__ = ["Origin", "Response", "TransportError", "exchange"]

_RECV = 65536
_MAX_HEAD = 65536  # bytes of an answer's head (status line and fields)
_MAX_FIELDS = 100  # http.client's _MAXHEADERS
_MAX_LINE = 65536  # a chunk-size or trailer line
_MAX_BODY = 1 << 20
_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class Response:
    """An answer: status, headers (names lowercased, last value wins), body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class TransportError(Exception):
    """A request that got no complete answer; ``kind`` says why, ``cause`` is the OS error."""

    def __init__(self, kind: str, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.cause = cause


class Origin:
    """Where requests go (scheme, host, port, TLS settings) and its idle kept-alive sockets.

    Thread-safe: concurrent :func:`exchange` calls take disjoint sets of idle sockets.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
        max_idle: int = 64,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: list[socket.socket] = []
        self._lock = _thread.allocate_lock()

    def take(self, count: int) -> list[socket.socket]:
        """Up to ``count`` idle sockets, without those the server closed meanwhile."""
        with self._lock:
            taken, self._idle = self._idle[:count], self._idle[count:]
        if not taken:
            return taken
        # An idle kept-alive socket is readable only if the server closed it (or sent
        # something unasked for): either way it cannot carry a request. (A selector, not
        # select.select: file numbers over 1023 are fine.)
        readable: list[socket.socket] = []
        with selectors.DefaultSelector() as selector:
            for sock in taken:
                try:
                    selector.register(sock, selectors.EVENT_READ)
                except (OSError, ValueError):  # closed meanwhile
                    readable.append(sock)
            readable += [key.fileobj for key, _ in selector.select(0)]  # type: ignore[misc]
        for sock in readable:
            _close(sock)
        return [sock for sock in taken if sock not in readable]

    def give(self, sockets: Sequence[socket.socket]) -> None:
        with self._lock:
            room = self.max_idle - len(self._idle)
            self._idle.extend(sockets[:room])
            extra = sockets[room:] if room < len(sockets) else ()
        for sock in extra:
            _close(sock)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            _close(sock)


def _close(sock: socket.socket) -> None:
    sock.close()  # never raises for a reset peer (socket.close ignores ECONNRESET)


# Connection states.
_CONNECTING, _HANDSHAKING, _SENDING, _RECEIVING, _IDLE = range(5)


class _Conn:
    """One socket's progress through connect, TLS handshake, send and receive."""

    __slots__ = (
        "address",
        "answer",
        "deadline",
        "inbuf",
        "index",
        "out",
        "reused",
        "sock",
        "state",
        "want_write",
    )

    def __init__(self, sock: socket.socket, state: int, reused: bool) -> None:
        self.sock = sock
        self.state = state
        self.reused = reused
        self.address = 0  # index in the exchange's getaddrinfo answer
        self.index = -1
        self.out = memoryview(b"")
        self.inbuf = bytearray()
        self.deadline = 0.0
        self.want_write = False
        self.answer: _AnswerParser | None = None


class _AnswerParser:
    """Incremental parser of one HTTP/1.1 answer (to a POST: no HEAD special case)."""

    __slots__ = (
        "body",
        "chunk_left",
        "done",
        "headers",
        "keep_alive",
        "length",
        "mode",
        "seen",
        "status",
    )

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.mode = "head"  # head, length, chunk-size, chunk-data, chunk-trailer, close
        self.length = 0
        self.chunk_left = 0
        self.body = bytearray()
        self.keep_alive = True
        self.done = False
        self.seen = False  # any byte of an answer (a 1xx interim one included)

    def feed(self, buf: bytearray) -> None:
        """Consume what it can of ``buf`` (in place); raise TransportError on a malformed
        answer (see the module docstring for what is malformed)."""
        if buf:
            self.seen = True
        while not self.done:
            if self.mode == "head":
                end = buf.find(b"\r\n\r\n")
                if (end < 0 and len(buf) > _MAX_HEAD) or end > _MAX_HEAD:
                    raise TransportError("protocol", f"answer head over {_MAX_HEAD} bytes")
                if end < 0:
                    return
                head = bytes(buf[:end]).decode("latin-1")
                del buf[: end + 4]
                self._head(head)
            elif self.mode == "length":
                take = min(self.length, len(buf))
                self._add_body(buf, take)
                self.length -= take
                if self.length:
                    return
                self.done = True
            elif self.mode == "chunk-size":
                line = self._line(buf)
                if line is None:
                    return
                size_text = line.split(b";", 1)[0].strip().decode("latin-1")
                if not size_text or not _HEX_DIGITS.issuperset(size_text):
                    raise TransportError("protocol", f"bad chunk size {size_text!r}")
                self.chunk_left = int(size_text, 16)
                self.mode = "chunk-data" if self.chunk_left else "chunk-trailer"
            elif self.mode == "chunk-data":
                if len(buf) < self.chunk_left + 2:
                    take = min(self.chunk_left, len(buf))
                    self._add_body(buf, take)
                    self.chunk_left -= take
                    return
                self._add_body(buf, self.chunk_left)
                if buf[:2] != b"\r\n":
                    raise TransportError("protocol", "chunk not followed by CRLF")
                del buf[:2]
                self.chunk_left = 0
                self.mode = "chunk-size"
            elif self.mode == "chunk-trailer":
                line = self._line(buf)
                if line is None:
                    return
                if not line:
                    self.done = True
            else:  # close-delimited: everything until EOF
                self._add_body(buf, len(buf))
                return

    def _line(self, buf: bytearray) -> bytes | None:
        """The next CRLF-terminated line of ``buf`` (taken out of it), None until complete."""
        end = buf.find(b"\r\n")
        if (end < 0 and len(buf) > _MAX_LINE) or end > _MAX_LINE:
            raise TransportError("protocol", f"chunked framing line over {_MAX_LINE} bytes")
        if end < 0:
            return None
        line = bytes(buf[:end])
        del buf[: end + 2]
        return line

    def _add_body(self, buf: bytearray, take: int) -> None:
        if len(self.body) + take > _MAX_BODY:
            raise TransportError("protocol", f"answer body over {_MAX_BODY} bytes")
        self.body += buf[:take]
        del buf[:take]

    def _head(self, head: str) -> None:
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if (
            len(parts) < 2
            or not parts[0].startswith("HTTP/1.")
            or len(parts[1]) != 3
            or not _DIGITS.issuperset(parts[1])
            or parts[1][0] == "0"
        ):
            raise TransportError("protocol", f"bad status line {lines[0][:200]!r}")
        status = int(parts[1])
        if len(lines) - 1 > _MAX_FIELDS:
            raise TransportError("protocol", f"answer head with over {_MAX_FIELDS} fields")
        if status < 200:  # interim answer (100 Continue...): the real one follows
            return
        headers: dict[str, str] = {}
        lengths: set[str] = set()
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                name = name.strip().lower()
                value = value.strip()
                headers[name] = value
                if name == "content-length":
                    lengths.update(v.strip() for v in value.split(","))
        self.status, self.headers = status, headers
        connection = headers.get("connection", "").lower()
        self.keep_alive = (
            connection != "close" if parts[0] == "HTTP/1.1" else connection == "keep-alive"
        )
        if status in (204, 304):
            self.done = True
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.mode = "chunk-size"
        elif lengths:
            # RFC 9112 6.3: an invalid Content-Length (not digits, or several different
            # values) makes the framing unknowable: an unrecoverable error, not an answer.
            (length, *others) = lengths
            if others or not length or not _DIGITS.issuperset(length):
                shown = ", ".join(sorted(lengths))[:100]
                raise TransportError("protocol", f"bad Content-Length {shown!r}")
            self.length = int(length)
            if self.length > _MAX_BODY:
                raise TransportError("protocol", f"answer body over {_MAX_BODY} bytes")
            self.mode = "length"
            self.done = self.length == 0
        else:
            self.mode = "close"
            self.keep_alive = False

    def eof(self) -> bool:
        """At end of stream: whether the answer is complete (close-delimited bodies are)."""
        if self.mode == "close" and self.status:
            self.done = True
        return self.done

    def response(self) -> Response:
        return Response(self.status, self.headers, bytes(self.body))


def exchange(
    origin: Origin, requests: Requests, concurrency: int
) -> list[Response | TransportError]:
    """Send every request (complete HTTP/1.1 request bytes) and return the answers in order.

    Each item of ``requests`` is read when its request is sent (again if it is resent), so a
    lazy sequence can build them just in time."""
    return _Exchange(origin, requests, concurrency).run()


class _Exchange:
    def __init__(self, origin: Origin, requests: Requests, concurrency: int) -> None:
        self.origin = origin
        self.requests = requests
        self.results: list[Response | TransportError | None] = [None] * len(requests)
        self.pending = deque(range(len(requests)))
        self.retried: set[int] = set()
        self.selector = selectors.DefaultSelector()
        self.idle: list[_Conn] = []
        self.busy = 0
        self.concurrency = max(1, min(concurrency, len(requests)))
        self.addresses: list[Any] | None = None  # getaddrinfo's answer, once per exchange
        self.resolve_error: OSError | None = None  # or its failure, once per exchange too
        self.address_index = 0  # the address new connections use; the next after a refusal

    def run(self) -> list[Response | TransportError]:
        for sock in self.origin.take(self.concurrency):
            conn = _Conn(sock, _IDLE, reused=True)
            self.selector.register(sock, selectors.EVENT_READ, conn)
            self.idle.append(conn)
        try:
            self._loop()
        finally:
            keep = []
            for conn in self.idle:
                if conn.state == _IDLE:
                    self.selector.unregister(conn.sock)
                    keep.append(conn.sock)
            for key in list(self.selector.get_map().values()):
                _close(key.fileobj)  # type: ignore[arg-type]
            self.selector.close()
            self.origin.give(keep)
        return [r if r is not None else TransportError("closed", "no answer") for r in self.results]

    def _loop(self) -> None:
        select = self.selector.select
        while True:
            while self.pending and self.busy < self.concurrency:
                index = self.pending.popleft()
                self._start(index)
            if not self.busy:
                return
            now = time.monotonic()
            earliest = self._expire(now)
            if earliest is None:  # every request in flight timed out
                continue
            for key, mask in select(max(0.0, earliest - now)):
                conn: _Conn = key.data
                try:
                    self._on_event(conn, mask)
                except TransportError as exc:
                    self._fail(conn, exc)
                except Exception as exc:  # a defect here fails one request, not the exchange
                    self._fail(
                        conn, TransportError("protocol", f"{type(exc).__name__}: {exc}", exc)
                    )

    def _expire(self, now: float) -> float | None:
        """Fail the requests past their deadline; the earliest deadline of the others."""
        earliest: float | None = None
        for key in list(self.selector.get_map().values()):
            conn: _Conn = key.data
            if conn.state == _IDLE:
                continue
            if conn.deadline <= now:
                kind = "connect-timeout" if conn.state < _SENDING else "read-timeout"
                message = f"{kind.replace('-', ' ')} after {self._timeout_of(conn):g} s"
                self._fail(conn, TransportError(kind, message), retry=False)
            elif earliest is None or conn.deadline < earliest:
                earliest = conn.deadline
        return earliest

    def _timeout_of(self, conn: _Conn) -> float:
        origin = self.origin
        return origin.connect_timeout if conn.state < _SENDING else origin.read_timeout

    # -- starting a request ------------------------------------------------------------------

    def _start(self, index: int) -> None:
        self.busy += 1
        if self.idle and index not in self.retried:  # a resent request gets a new connection
            conn = self.idle.pop()
            try:
                self._send_on(conn, index)
            except TransportError as exc:  # e.g. EPIPE: the server reset it since its last answer
                self._fail(conn, exc)
            except Exception as exc:  # e.g. the caller's request could not be built
                self._fail(conn, _unexpected(exc))
            return
        conn_or_error = self._connect()
        if isinstance(conn_or_error, TransportError):
            self.busy -= 1
            self.results[index] = conn_or_error
            return
        conn_or_error.index = index

    def _connect(self) -> _Conn | TransportError:
        origin = self.origin
        if self.addresses is None:
            if self.resolve_error is not None:
                exc = self.resolve_error
                return TransportError("resolve", f"cannot resolve {origin.host}: {exc}", exc)
            try:
                self.addresses = socket.getaddrinfo(
                    origin.host, origin.port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                self.resolve_error = exc
                return TransportError("resolve", f"cannot resolve {origin.host}: {exc}", exc)
        family, kind, proto, _, address = self.addresses[self.address_index]
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            _close(sock)
            if self._next_address(self.address_index):
                return self._connect()
            error = OSError(code, errno.errorcode.get(code, str(code)))
            return TransportError(
                "connect", f"cannot connect to {origin.host}:{origin.port}: {error}", error
            )
        conn = _Conn(sock, _CONNECTING, reused=False)
        conn.address = self.address_index
        conn.deadline = time.monotonic() + origin.connect_timeout
        conn.want_write = True
        self.selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
        return conn

    def _next_address(self, failed: int) -> bool:
        """After a refused connect to address ``failed``: whether another address is left to
        try (as ``socket.create_connection`` tries each in turn), moving on to it."""
        assert self.addresses is not None
        if failed < self.address_index:
            return True  # another connection already moved on
        if self.address_index + 1 < len(self.addresses):
            self.address_index += 1
            return True
        return False

    def _send_on(self, conn: _Conn, index: int) -> None:
        conn.index = index
        conn.state = _SENDING
        conn.out = memoryview(self.requests[index])
        conn.answer = _AnswerParser()
        conn.deadline = time.monotonic() + self.origin.read_timeout
        self._write(conn)

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, conn: _Conn, mask: int) -> None:
        state = conn.state
        if state == _CONNECTING:
            code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                error = OSError(code, errno.errorcode.get(code, str(code)))
                if self._next_address(conn.address):  # nothing was sent: try the next one
                    raise TransportError("next-address", str(error), error)
                raise TransportError(
                    "connect",
                    f"cannot connect to {self.origin.host}:{self.origin.port}: {error}",
                    error,
                )
            if self.origin.ssl_context is not None:
                self.selector.unregister(conn.sock)
                conn.sock = self.origin.ssl_context.wrap_socket(
                    conn.sock, server_hostname=self.origin.host, do_handshake_on_connect=False
                )
                self.selector.register(
                    conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn
                )
                conn.state = _HANDSHAKING
                self._handshake(conn)
            else:
                self._set_write(conn, False)
                self._send_on(conn, conn.index)
        elif state == _HANDSHAKING:
            self._handshake(conn)
        elif state == _SENDING:
            self._write(conn)
            if conn.state == _RECEIVING and mask & selectors.EVENT_READ:
                self._read(conn)
        elif state == _RECEIVING:
            self._read(conn)
        else:  # idle and readable: closed by the server (or an unasked-for answer)
            self.idle.remove(conn)
            self.selector.unregister(conn.sock)
            _close(conn.sock)

    def _handshake(self, conn: _Conn) -> None:
        import ssl

        sock: ssl.SSLSocket = conn.sock  # type: ignore[assignment]
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._set_write(conn, False)
            return
        except ssl.SSLWantWriteError:
            self._set_write(conn, True)
            return
        except ssl.SSLError as exc:
            raise TransportError(
                "tls", f"TLS handshake with {self.origin.host} failed: {exc}", exc
            ) from exc
        except OSError as exc:
            raise TransportError(
                "connect", f"TLS handshake with {self.origin.host} failed: {exc}", exc
            ) from exc
        self._set_write(conn, False)
        self._send_on(conn, conn.index)

    def _set_write(self, conn: _Conn, want: bool) -> None:
        if conn.want_write != want:
            conn.want_write = want
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want else 0)
            self.selector.modify(conn.sock, events, conn)

    def _write(self, conn: _Conn) -> None:
        out = conn.out
        try:
            while out:
                sent = conn.sock.send(out)
                out = out[sent:]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            if _is_tls_want(exc):
                pass
            else:
                raise self._closed(conn, exc) from exc
        conn.out = out
        if out:
            self._set_write(conn, True)
            return
        self._set_write(conn, False)
        conn.state = _RECEIVING

    def _read(self, conn: _Conn) -> None:
        sock = conn.sock
        while True:
            try:
                data = sock.recv(_RECV)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if _is_tls_want(exc):
                    break
                raise self._closed(conn, exc) from exc
            if not data:
                self._eof(conn)
                return
            conn.inbuf += data
            conn.deadline = time.monotonic() + self.origin.read_timeout
            if self.origin.ssl_context is None or not sock.pending():  # type: ignore[attr-defined]
                break
        answer = conn.answer
        assert answer is not None
        answer.feed(conn.inbuf)
        if answer.done:
            self._finish(conn, answer)

    def _eof(self, conn: _Conn) -> None:
        answer = conn.answer
        if answer is not None and answer.status:
            answer.feed(conn.inbuf)
            if answer.eof():
                answer.keep_alive = False
                self._finish(conn, answer)
                return
        raise self._closed(conn, None)

    def _closed(self, conn: _Conn, cause: BaseException | None) -> TransportError:
        got_bytes = bool(conn.inbuf) or (conn.answer is not None and conn.answer.seen)
        error = TransportError(
            "closed" if not got_bytes else "protocol",
            "connection closed before the answer was complete"
            + (f": {cause}" if cause is not None else ""),
            cause,
        )
        # A reused keep-alive connection closed before any answer: resend once (see module doc).
        if conn.reused and not got_bytes and conn.index not in self.retried:
            error.kind = "retry"
        return error

    def _finish(self, conn: _Conn, answer: _AnswerParser) -> None:
        self.results[conn.index] = answer.response()
        self.busy -= 1
        if answer.keep_alive and not conn.inbuf:
            conn.state = _IDLE
            conn.index = -1
            conn.answer = None
            conn.reused = True
            self.idle.append(conn)
        else:
            self.selector.unregister(conn.sock)
            _close(conn.sock)

    def _fail(self, conn: _Conn, error: TransportError, *, retry: bool = True) -> None:
        self.selector.unregister(conn.sock)
        _close(conn.sock)
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.state == _IDLE:
            return
        self.busy -= 1
        index = conn.index
        if error.kind == "next-address":
            self.pending.appendleft(index)
            return
        if retry and error.kind == "retry":
            self.retried.add(index)
            self.pending.appendleft(index)
            return
        if error.kind == "retry":
            error.kind = "closed"
        self.results[index] = error


def _unexpected(exc: Exception) -> TransportError:
    return TransportError("protocol", f"{type(exc).__name__}: {exc}", exc)


def _is_tls_want(exc: OSError) -> bool:
    import ssl

    return isinstance(exc, (ssl.SSLWantReadError, ssl.SSLWantWriteError))

"""One TCP port for both planes, as on AWS: WebSocket upgrades go to ``websockets``, every
other HTTP request (the ``@connections`` API) to a small keep-alive HTTP/1.1 channel.

:func:`connection_class` returns a ``websockets`` ``ServerConnection`` subclass (passed as
``create_connection`` to ``serve``) that looks at the request head before websockets does:
``websockets`` rejects requests with a body, and ``PostToConnection`` has one.

Serve with ``open_timeout=None``: a plain-HTTP connection stays in websockets' handshake state
for its whole life, so an opening timeout would cut kept-alive ``@connections`` clients.

What one broken or hostile client can hold, and for how long:

- **Unfinished requests**: a request (its head, then its body) must be complete within
  ``header_timeout`` seconds (default 10) of its first byte, the first request of a connection
  within ``header_timeout`` of the connection's opening; otherwise the client gets 408 and the
  connection is closed (slowloris, silence, a head that never ends).
- **Pipelined floods**: the channel parses at most :data:`MAX_PENDING_REQUESTS` requests
  ahead of the one being answered, and stops reading while the answers it wrote wait in the
  write buffer (over the transport's high-water mark, 32 KiB): a client that pipelines
  without reading its answers is held by TCP flow control, not by the server's memory.
- An idle keep-alive connection is closed after :data:`HTTP_IDLE_TIMEOUT` (60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection

from .exceptions import HttpParseError
from .httpparse import MAX_HEAD_BYTES, HttpRequest, RequestParser, is_websocket_upgrade
from .management import HttpResponse

__all__ = [
    "HEADER_TIMEOUT",
    "HTTP_IDLE_TIMEOUT",
    "MAX_PENDING_REQUESTS",
    "REASONS",
    "HttpChannel",
    "HttpHandler",
    "connection_class",
    "error_answer",
]

HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]

#: An idle keep-alive management connection is closed after this many seconds.
HTTP_IDLE_TIMEOUT = 60.0
#: Default seconds a request may take to arrive, from its first byte (``--header-timeout``).
HEADER_TIMEOUT = 10.0
#: Requests parsed ahead of the one being answered before the channel stops reading.
MAX_PENDING_REQUESTS = 64


REASONS = {status.value: status.phrase for status in HTTPStatus}


def _serialize(response: HttpResponse, *, keep_alive: bool, head: bool = False) -> bytes:
    # ``head``: the answer to a HEAD request has the headers of the GET answer, no body
    # (RFC 9110 §9.3.2).
    reason = REASONS.get(response.status, "Unknown")
    head_text = f"HTTP/1.1 {response.status} {reason}\r\n"
    head_text += "".join(
        f"{name}: {value}\r\n"
        for name, value in response.headers.items()
        if name != "Content-Length" and name != "Connection"
    )
    head_text += f"Content-Length: {len(response.body)}\r\n"
    head_text += "Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n"
    return head_text.encode("latin-1") + (b"" if head else response.body)


def error_answer(status: int, message: str, *, code: str | None = None) -> HttpResponse:
    """A JSON ``{"message"}`` error; ``code`` becomes ``x-amzn-ErrorType`` (AWS's shape)."""
    headers = {"Content-Type": "application/json"}
    if code is not None:
        headers["x-amzn-ErrorType"] = code
    return HttpResponse(status, json.dumps({"message": message}).encode(), headers)


def _timeout_bytes() -> bytes:
    return _serialize(error_answer(408, "Request Timeout"), keep_alive=False)


class HttpChannel:
    """Serves the requests of one non-WebSocket connection, in order.

    One task per channel answers the requests as they complete (a client may pipeline them);
    the idle and request timeouts share a single timer re-armed lazily, not a timeout per
    request: this is the path every ``PostToConnection`` of a broadcast takes.
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        handler: HttpHandler,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        request_started: float | None = None,
    ) -> None:
        self._transport = transport
        self._handler = handler
        self._parser = RequestParser()
        self._pending: deque[HttpRequest | HttpResponse | None] = deque()
        self._busy = False
        self._broken = False
        self._header_timeout = header_timeout
        self._wakeup: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._last_activity = loop.time()
        #: When the first byte of the request still incomplete arrived (``None``: none is).
        self._request_started: float | None = None
        self._idle_timer = loop.call_later(HTTP_IDLE_TIMEOUT, self._check_idle)
        self._request_timer: asyncio.TimerHandle | None = None
        self._task = loop.create_task(self._serve())
        if request_started is not None:
            self._start_request_clock(request_started)

    def _push(self, item: HttpRequest | HttpResponse | None) -> None:
        self._pending.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def feed(self, data: bytes) -> None:
        if self._broken:
            return
        now = self._last_activity = self._loop.time()
        try:
            for request in self._parser.feed(data):
                self._push(request)
        except HttpParseError as exc:
            for request in exc.requests:
                self._push(request)
            self._broken = True
            self._request_started = None
            self._transport.pause_reading()
            self._push(error_answer(exc.status, str(exc), code=exc.code))
            return
        if self._parser.buffered:
            if self._request_started is None:
                self._start_request_clock(now)
        else:
            self._request_started = None
        self._update_reading()

    def _start_request_clock(self, started: float) -> None:
        self._request_started = started
        if self._request_timer is None:
            delay = max(started + self._header_timeout - self._loop.time(), 0.0)
            self._request_timer = self._loop.call_later(delay, self._check_request)

    def _check_request(self) -> None:
        self._request_timer = None
        started = self._request_started
        if started is None or self._broken:
            return
        late = started + self._header_timeout - self._loop.time()
        if self._read_paused:
            # The server stopped reading (flow control): the client is not late. The clock
            # restarts when reading resumes.
            late = self._header_timeout
        if late > 0:
            self._request_timer = self._loop.call_later(late, self._check_request)
            return
        # The answers already due are written first (they are in _pending before this).
        self._broken = True
        self._transport.pause_reading()
        self._push(error_answer(408, "Request Timeout"))

    def _update_reading(self) -> None:
        # Read only while the answers flow out and few requests wait: what one client can
        # make the server hold stays bounded whatever it sends.
        pause = self._write_paused or len(self._pending) >= MAX_PENDING_REQUESTS
        if pause and not self._read_paused and not self._broken:
            self._read_paused = True
            self._transport.pause_reading()
        elif not pause and self._read_paused and not self._broken:
            self._read_paused = False
            if self._request_started is not None:
                self._request_started = self._loop.time()
            with contextlib.suppress(RuntimeError):  # transport closing
                self._transport.resume_reading()

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)
        self._update_reading()

    def eof(self) -> None:
        self._push(None)

    def close(self) -> None:
        self._idle_timer.cancel()
        if self._request_timer is not None:
            self._request_timer.cancel()
        self._task.cancel()
        self._transport.close()
        drained = self._drained
        if drained is not None and not drained.done():
            drained.cancel()

    def _check_idle(self) -> None:
        idle_for = self._loop.time() - self._last_activity
        if idle_for >= HTTP_IDLE_TIMEOUT and not self._pending and not self._busy:
            self._push(None)  # the serving task closes the connection
        else:
            self._idle_timer = self._loop.call_later(
                max(HTTP_IDLE_TIMEOUT - idle_for, 0.1), self._check_idle
            )

    async def _serve(self) -> None:
        pending = self._pending
        try:
            while True:
                while not pending:
                    self._wakeup = self._loop.create_future()
                    await self._wakeup
                    self._wakeup = None
                request = pending.popleft()
                if request is None:
                    break
                if isinstance(request, HttpResponse):  # a parse error, after the answers
                    self._transport.write(_serialize(request, keep_alive=False))
                    break
                if self._read_paused:
                    self._update_reading()
                self._busy = True
                try:
                    response = await self._handler(request)
                finally:
                    self._busy = False
                self._last_activity = self._loop.time()
                if self._transport.is_closing():
                    return
                self._transport.write(
                    _serialize(
                        response, keep_alive=request.keep_alive, head=request.method == "HEAD"
                    )
                )
                if not request.keep_alive:
                    break
                if self._write_paused:
                    # The client does not read its answers: wait until it does.
                    self._drained = self._loop.create_future()
                    await self._drained
                    self._drained = None
        finally:
            self._idle_timer.cancel()
            if self._request_timer is not None:
                self._request_timer.cancel()
            self._transport.close()


def connection_class(
    http_handler: HttpHandler,
    channels: set[HttpChannel],
    *,
    header_timeout: float = HEADER_TIMEOUT,
    on_open: Callable[[], None] | None = None,
) -> type[ServerConnection]:
    """A ``ServerConnection`` class that diverts non-upgrade requests to ``http_handler``;
    open channels are kept in ``channels`` so shutdown can close them. A connection whose
    first request head is not complete within ``header_timeout`` seconds gets 408 and is
    closed; ``on_open`` is called for each accepted connection."""

    class SharedPortConnection(ServerConnection):
        session: Any = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._mode: str | None = None
            self._head = bytearray()
            self._http: HttpChannel | None = None
            self._head_timer: asyncio.TimerHandle | None = None
            self._opened_at = 0.0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            loop = asyncio.get_running_loop()
            self._opened_at = loop.time()
            self._head_timer = loop.call_later(header_timeout, self._head_expired)
            if on_open is not None:
                on_open()

        def _head_expired(self) -> None:
            self._head_timer = None
            if self._mode is None:
                self._mode = "timeout"
                self.transport.write(_timeout_bytes())
                self.transport.close()

        def _decided(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def data_received(self, data: bytes) -> None:
            if self._mode == "ws":
                super().data_received(data)
                return
            if self._http is not None:
                self._http.feed(data)
                return
            if self._mode is not None:  # timed out: the answer is on its way
                return
            self._head.extend(data)
            end = self._head.find(b"\r\n\r\n")
            bare_lf = end < 0 and self._head.find(b"\n\n") >= 0
            if end < 0 and not bare_lf and len(self._head) <= MAX_HEAD_BYTES:
                return
            self._decided()
            buffered, self._head = bytes(self._head), bytearray()
            if end >= 0 and is_websocket_upgrade(buffered[:end]):
                self._mode = "ws"
                super().data_received(buffered)
                return
            # Everything else, invalid heads included, is answered by the HTTP channel.
            self._mode = "http"
            self._http = HttpChannel(
                self.transport,
                http_handler,
                header_timeout=header_timeout,
                request_started=self._opened_at,
            )
            channels.add(self._http)
            self._http.feed(buffered)

        def pause_writing(self) -> None:
            if self._http is not None:
                self._http.pause_writing()
            else:
                super().pause_writing()

        def resume_writing(self) -> None:
            if self._http is not None:
                self._http.resume_writing()
            else:
                super().resume_writing()

        def eof_received(self) -> bool | None:  # type: ignore[override]
            if self._http is not None:
                self._http.eof()
                return True  # keep the transport half-open until the answers are written
            return super().eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            self._decided()
            if self._http is not None:
                channels.discard(self._http)
                with contextlib.suppress(RuntimeError):
                    self._http.close()
            super().connection_lost(exc)

    return SharedPortConnection

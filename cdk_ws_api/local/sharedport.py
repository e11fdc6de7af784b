"""One TCP port for both planes, as on AWS: WebSocket upgrades go to ``websockets``, every
other HTTP request (the ``@connections`` API) to a small keep-alive HTTP/1.1 channel.

:func:`connection_class` returns a ``websockets`` ``ServerConnection`` subclass (passed as
``create_connection`` to ``serve``) that looks at the request head before websockets does:
``websockets`` rejects requests with a body, and ``PostToConnection`` has one.

Serve with ``open_timeout=None``: a plain-HTTP connection stays in websockets' handshake state
for its whole life, so an opening timeout would cut kept-alive ``@connections`` clients.
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
from .httpparse import HttpRequest, RequestParser, is_websocket_upgrade
from .management import HttpResponse

__all__ = ["HttpChannel", "HttpHandler", "connection_class"]

HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]

#: An idle keep-alive management connection is closed after this many seconds.
HTTP_IDLE_TIMEOUT = 60.0


_REASONS = {status.value: status.phrase for status in HTTPStatus}


def _serialize(response: HttpResponse, *, keep_alive: bool) -> bytes:
    reason = _REASONS.get(response.status, "Unknown")
    head = f"HTTP/1.1 {response.status} {reason}\r\n"
    head += "".join(
        f"{name}: {value}\r\n"
        for name, value in response.headers.items()
        if name != "Content-Length" and name != "Connection"
    )
    head += f"Content-Length: {len(response.body)}\r\n"
    head += "Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n"
    return head.encode("latin-1") + response.body


class HttpChannel:
    """Serves the requests of one non-WebSocket connection, in order.

    One task per channel answers the requests as they complete (a client may pipeline them);
    the idle timeout is a single timer re-armed lazily, not a timeout per request: this is the
    path every ``PostToConnection`` of a broadcast takes.
    """

    def __init__(self, transport: asyncio.Transport, handler: HttpHandler) -> None:
        self._transport = transport
        self._handler = handler
        self._parser = RequestParser()
        self._pending: deque[HttpRequest | HttpResponse | None] = deque()
        self._busy = False
        self._broken = False
        self._wakeup: asyncio.Future[None] | None = None
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._last_activity = loop.time()
        self._idle_timer = loop.call_later(HTTP_IDLE_TIMEOUT, self._check_idle)
        self._task = loop.create_task(self._serve())

    def _push(self, item: HttpRequest | HttpResponse | None) -> None:
        self._pending.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def feed(self, data: bytes) -> None:
        if self._broken:
            return
        self._last_activity = self._loop.time()
        try:
            for request in self._parser.feed(data):
                self._push(request)
        except HttpParseError as exc:
            for request in exc.requests:
                self._push(request)
            self._broken = True
            self._transport.pause_reading()
            body = json.dumps({"message": str(exc)}).encode()
            self._push(HttpResponse(exc.status, body, {"Content-Type": "application/json"}))

    def eof(self) -> None:
        self._push(None)

    def close(self) -> None:
        self._idle_timer.cancel()
        self._task.cancel()
        self._transport.close()

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
                self._busy = True
                try:
                    response = await self._handler(request)
                finally:
                    self._busy = False
                self._last_activity = self._loop.time()
                if self._transport.is_closing():
                    return
                self._transport.write(_serialize(response, keep_alive=request.keep_alive))
                if not request.keep_alive:
                    break
        finally:
            self._idle_timer.cancel()
            self._transport.close()


def connection_class(
    http_handler: HttpHandler, channels: set[HttpChannel]
) -> type[ServerConnection]:
    """A ``ServerConnection`` class that diverts non-upgrade requests to ``http_handler``;
    open channels are kept in ``channels`` so shutdown can close them."""

    class SharedPortConnection(ServerConnection):
        session: Any = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._mode: str | None = None
            self._head = bytearray()
            self._http: HttpChannel | None = None

        def data_received(self, data: bytes) -> None:
            if self._mode == "ws":
                super().data_received(data)
                return
            if self._http is not None:
                self._http.feed(data)
                return
            self._head.extend(data)
            end = self._head.find(b"\r\n\r\n")
            if end < 0 and len(self._head) <= 65536:
                return
            buffered, self._head = bytes(self._head), bytearray()
            if end >= 0 and is_websocket_upgrade(buffered[:end]):
                self._mode = "ws"
                super().data_received(buffered)
                return
            self._mode = "http"
            self._http = HttpChannel(self.transport, http_handler)
            channels.add(self._http)
            self._http.feed(buffered)

        def eof_received(self) -> bool | None:  # type: ignore[override]
            if self._http is not None:
                self._http.eof()
                return True  # keep the transport half-open until the answers are written
            return super().eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._http is not None:
                channels.discard(self._http)
                with contextlib.suppress(RuntimeError):
                    self._http.close()
            super().connection_lost(exc)

    return SharedPortConnection

"""The data plane: an asyncio WebSocket server shaped like an API Gateway stage (thin shell).

It only moves bytes: API Gateway's decisions are in :mod:`.integration` (authorizer,
``$connect``, routing, replies) and state in :mod:`.registry`. It serves WebSocket only: every
other request on the port (``@connections``, the Invoke API...) goes to the ``http`` handler
it is given, the emulator's :class:`~.router.HttpRouter` (see :mod:`.sharedport`).

The shell's own rules: a handshake on another path than ``/{stage}`` → 403 (503 while
shutting down); a binary frame closes with 1003, a frame over 32 KiB or a message over
128 KiB with 1009 (``websockets`` enforces both sizes); outgoing messages over 32 KiB are
sent in 32 KiB frames.

Messages of one connection reach the integration in the order they were sent, one at a time
(``ordered_messages=True``, the default). AWS promises no order: it may run them concurrently,
and in-order delivery is one of the outcomes it allows. Locally the order is kept so that a
client's ``join`` is handled before its next ``send`` and tests are reproducible;
``ordered_messages=False`` (``--concurrent-messages``) handles them concurrently, as AWS may,
to shake out races between a connection's messages.
Every close (client close, ``DeleteConnection`` → 1000, idle timeout and maximum duration →
1001, shutdown → 1001, a vanished client → 1006) first makes the connection gone (410) and
then runs ``$disconnect`` with the status code and reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .assembly import LocalApp
from .bus import ConnectionClosedRecord, ConnectionOpenedRecord, EventBus
from .events import EventSource, disconnect_reason
from .exceptions import GoneException, HandshakeRejected
from .integration import Integrations
from .options import EmulatorOptions, Limits
from .registry import Connection, ConnectionState, Registry
from .router import AccessLogger
from .routing import CONNECT, DISCONNECT
from .sharedport import HttpChannel, HttpHandler, connection_class
from .workers import WorkerPools

__all__ = ["Gateway", "Limits"]

logger = logging.getLogger("cdk_ws_api.local")


@dataclass(slots=True)
class _Session:
    # One per held connection, so kept small: slots, and the set and lock made on the first
    # message (an idle connection never needs them).
    connection: Connection
    websocket: ServerConnection
    source: EventSource
    cause: tuple[int, str] | None = None
    subprotocol: str | None = None
    #: The connection's message tasks in flight.
    tasks: set[asyncio.Task[None]] | None = None
    #: Held while one of the connection's messages is in its integration (ordered mode);
    #: asyncio.Lock wakes waiters first-in first-out, so arrival order is kept.
    in_order: asyncio.Lock | None = None


#: What a held connection's websockets ``Request``/``Response`` keep as headers once the
#: handshake is over: websockets reads them only during the handshake, the registry has its
#: own copy for the events, and dropping them saves ~3 KiB per connection.
_NO_HEADERS = Headers()


def _text_chunks(text: str, limit: int) -> list[str]:
    # API Gateway sends messages over 32 KiB as several frames; split on characters so each
    # frame's UTF-8 stays under the frame quota.
    encoded = text.encode()
    if len(encoded) <= limit:
        return [text]
    chunks, start, size = [], 0, 0
    for index, char in enumerate(text):
        width = len(char.encode())
        if size + width > limit:
            chunks.append(text[start:index])
            start, size = index, 0
        size += width
    chunks.append(text[start:])
    return chunks


class Gateway:
    """Serves one API stage on ``host:port`` (port 0 picks a free one; read :attr:`port`)."""

    def __init__(
        self,
        app: LocalApp,
        pools: WorkerPools,
        registry: Registry,
        options: EmulatorOptions,
        *,
        http: HttpHandler,
        access: AccessLogger,
        bus: EventBus,
    ) -> None:
        self.app = app
        #: Connections opening/closing are published here (access records by ``access``).
        self.bus = bus
        self.ordered_messages = options.ordered_messages
        self.api = app.api
        self.pools = pools
        self.host = options.host
        self.port = options.port
        self.limits = options.limits
        self.registry = registry
        self._http = http
        self.integrations = Integrations(
            self.api, pools, timeout=self.limits.integration_timeout, now=self.registry.now
        )
        self._log = access
        self._sessions: dict[str, _Session] = {}
        self._channels: set[HttpChannel] = set()
        self._server: Server | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        self._background: set[asyncio.Task[Any]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def domain_name(self) -> str:
        """``HOST:PORT`` clients use (IPv6 hosts in brackets), the events' ``domainName``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start serving; :attr:`port` is the bound port afterwards."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            process_response=self._process_response,
            compression=None,
            # The handshake runs the authorizer and $connect, bounded by their own timeouts.
            open_timeout=None,
            ping_interval=None,
            close_timeout=5,
            max_size=(self.limits.message_bytes, self.limits.frame_bytes),
            max_queue=64,
            server_header=None,
            create_connection=connection_class(self._http, self._channels),
            # Clients reconnecting in bursts must not overflow asyncio's default backlog (100).
            backlog=2048,
        )
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1]
        self._reaper = asyncio.create_task(self._reap())

    async def close(self, *, timeout: float = 15.0) -> None:
        """Close every connection (1001, ``$disconnect`` runs), then stop listening."""
        self._closing = True
        if self._reaper is not None:
            self._reaper.cancel()
        await self.close_connections(timeout=timeout)
        if self._server is not None:
            self._server.close(close_connections=True)
            for channel in list(self._channels):
                channel.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def close_connections(self, *, timeout: float = 15.0) -> int:
        """Close every open connection with 1001 "Going away" and wait up to ``timeout`` for
        their ``$disconnect``; returns how many were closed."""
        closing = list(self._sessions.values())
        for session in closing:
            if session.cause is None:
                session.cause = (1001, "Going away")
            self._spawn(session.websocket.close(1001, "Going away"))
        ids = {s.connection.connection_id for s in closing}
        deadline = time.monotonic() + timeout
        while ids & self._sessions.keys() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return len(closing)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reap(self) -> None:
        interval = max(0.05, min(1.0, self.limits.idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            expired = self.registry.idle(
                idle_ms=int(self.limits.idle_timeout * 1000),
                max_ms=int(self.limits.max_duration * 1000),
            )
            for connection, _why in expired:
                session = self._sessions.get(connection.connection_id)
                if session is None or session.cause is not None:
                    continue
                session.cause = (1001, "Going away")
                self.registry.closing(connection.connection_id)
                self._spawn(session.websocket.close(1001, "Going away"))

    # -- handshake --------------------------------------------------------------------------

    def _source(self, host_header: str | None) -> EventSource:
        return EventSource(self.api, host_header or self.domain_name)

    def _reject(self, ws: ServerConnection, status: int, message: str) -> Response:
        response = ws.respond(status, json.dumps({"message": message}))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        started = time.monotonic()
        parts = urlsplit(request.path)
        if self._closing:
            return self._reject(ws, 503, "Service Unavailable")
        if parts.path.rstrip("/") != f"/{self.api.stage}":
            return self._reject(ws, 403, "Forbidden")
        remote = ws.remote_address
        connection = self.registry.create(
            source_ip=str(remote[0]) if remote else "127.0.0.1",
            user_agent=request.headers.get("User-Agent"),
            headers=list(request.headers.raw_items()),
            query=parse_qsl(parts.query, keep_blank_values=True),
        )
        source = self._source(request.headers.get("Host"))
        session = _Session(connection=connection, websocket=ws, source=source)
        ws.session = session  # type: ignore[attr-defined]
        try:
            await self.integrations.authorize(connection, source)
            outcome = await self.integrations.connect(connection, source)
            session.subprotocol = outcome.subprotocol
        except HandshakeRejected as rejected:
            self.registry.remove(connection.connection_id)
            self._log("CONNECT", CONNECT, connection.connection_id, rejected.status, started)
            return self._reject(ws, rejected.status, rejected.message)
        except BaseException as exc:
            # Never leave a CONNECTING record behind, whatever failed (or was cancelled).
            self.registry.remove(connection.connection_id)
            if isinstance(exc, Exception):
                logger.exception("$connect of %s failed", connection.connection_id)
            raise
        self._sessions[connection.connection_id] = session
        # $disconnect runs once the TCP connection is gone: a callback, not a task waiting
        # for it, so a held connection costs no extra task.
        ws.connection_lost_waiter.add_done_callback(
            lambda _: self._spawn(self._on_close(session, session.source))
        )
        self._log("CONNECT", CONNECT, connection.connection_id, outcome.status, started)
        return None

    def _process_response(
        self, ws: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        session: _Session | None = getattr(ws, "session", None)
        if session is None or response.status_code != 101:
            return None
        if session.subprotocol:
            response.headers["Sec-WebSocket-Protocol"] = session.subprotocol
        connection = self.registry.open(session.connection.connection_id)
        if self.bus.active:
            self.bus.publish(ConnectionOpenedRecord(connection, time.time()))
        return None

    # -- connection -------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        # Only reads; the connection_lost_waiter callback runs $disconnect, also for clients
        # that vanish during the handshake, for which websockets never calls this handler.
        session: _Session = ws.session  # type: ignore[attr-defined]
        connection = session.connection
        for message in (ws.request, ws.response):  # the handshake is over
            if message is not None:
                message.headers = _NO_HEADERS
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                self.registry.touch(connection.connection_id)
                connection.frames_in += 1
                if isinstance(message, bytes):
                    session.cause = (1003, "Binary frames are not supported")
                    self.registry.closing(connection.connection_id)
                    await ws.close(1003, "Binary frames are not supported")
                    return
                task = asyncio.create_task(self._on_message(session, session.source, message))
                if session.tasks is None:
                    session.tasks = set()
                session.tasks.add(task)
                task.add_done_callback(session.tasks.discard)
        # The close frame is in: @connections answers 410 from now on, even before the TCP
        # connection is gone and $disconnect runs.
        self.registry.closing(connection.connection_id)

    def _close_status(self, session: _Session) -> tuple[int, str]:
        if session.cause is not None:
            return session.cause
        protocol = session.websocket.protocol
        sent, received = protocol.close_sent, protocol.close_rcvd
        if sent is not None and (received is None or not protocol.close_rcvd_then_sent):
            return int(sent.code), disconnect_reason(int(sent.code), sent.reason)
        if received is not None:
            return int(received.code), disconnect_reason(int(received.code), received.reason)
        return 1006, disconnect_reason(1006)

    async def _on_close(self, session: _Session, source: EventSource) -> None:
        connection = session.connection
        code, reason = self._close_status(session)
        self.registry.closing(connection.connection_id)
        if self.bus.active:
            closed = ConnectionClosedRecord(connection.connection_id, code, reason, time.time())
            self.bus.publish(closed)
        started = time.monotonic()
        status = await self.integrations.disconnect(connection, source, code=code, reason=reason)
        if status is not None:
            self._log("DISCONNECT", DISCONNECT, connection.connection_id, status, started)
        self.registry.remove(connection.connection_id)
        self._sessions.pop(connection.connection_id, None)

    async def _on_message(self, session: _Session, source: EventSource, body: str) -> None:
        if not self.ordered_messages:
            await self._dispatch(session, source, body)
            return
        if session.in_order is None:
            session.in_order = asyncio.Lock()
        async with session.in_order:
            await self._dispatch(session, source, body)

    async def _dispatch(self, session: _Session, source: EventSource, body: str) -> None:
        connection = session.connection
        started = time.monotonic()
        outcome = await self.integrations.message(connection, source, body)
        self._log("MESSAGE", outcome.route_key, connection.connection_id, outcome.status, started)
        if outcome.reply is not None and connection.state is ConnectionState.OPEN:
            with contextlib.suppress(ConnectionClosed):
                if isinstance(outcome.reply, bytes):
                    await session.websocket.send(outcome.reply)
                else:
                    await self._send_text(session, outcome.reply)

    async def _send_text(self, session: _Session, text: str) -> None:
        chunks = _text_chunks(text, self.limits.frame_bytes)
        if len(chunks) == 1:
            await session.websocket.send(chunks[0])
        else:
            await session.websocket.send(chunks)
        self.registry.touch(session.connection.connection_id)
        session.connection.frames_out += len(chunks)

    # -- ConnectionSink (used by the management API) ------------------------------------------

    async def send(self, connection_id: str, data: bytes) -> None:
        session = self._sessions.get(connection_id)
        if session is None:
            raise GoneException(f"connection {connection_id} is gone")
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
        try:
            if text is None:
                await session.websocket.send(data)
                self.registry.touch(connection_id)
                session.connection.frames_out += 1
            else:
                await self._send_text(session, text)
        except ConnectionClosed as exc:
            raise GoneException(f"connection {connection_id} is gone") from exc

    async def disconnect(self, connection_id: str) -> None:
        session = self._sessions.get(connection_id)
        if session is None:
            raise GoneException(f"connection {connection_id} is gone")
        if session.cause is None:
            session.cause = (1000, disconnect_reason(1000))
        self._spawn(session.websocket.close(1000, ""))

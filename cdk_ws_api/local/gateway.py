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

A client that misbehaves holds a bounded share of the server (see also :mod:`.sharedport`):

- **Closing is bounded.** A close from the server side (``DeleteConnection``, timeouts,
  shutdown, overflow) waits at most ``Limits.close_timeout`` (5 s) for the closing handshake,
  the drain of the write buffer included, then aborts the TCP connection; ``$disconnect``
  always runs.
- **Sending never waits for the client.** ``PostToConnection`` and route responses are
  written to the connection's buffer and answered at once; a connection whose unsent output
  would pass ``Limits.output_buffer_bytes`` (1 MiB) is closed with 1008 "Output buffer
  full" (the post that found it full gets 410 ``GoneException``), then ``$disconnect``
  runs. AWS documents no such bound; 1008 (policy violation) is the code RFC 6455 gives a
  server closing for a reason no other code names.
- **Incoming messages are bounded.** At most ``Limits.queued_messages`` (16) messages of one
  connection wait for their integration; then the gateway stops reading the connection
  (``websockets`` then stops reading the socket, and TCP holds the client back). Messages
  still waiting when the connection closes are dropped (logged); the one in its integration
  finishes.
- **Handshakes are checked before ``$connect``**: a missing or invalid
  ``Sec-WebSocket-Key``/``Version`` gets 400/426 without invoking any function; a
  ``$connect`` answer with a status that is no rejection status (not 300-599, e.g. 0, 101,
  600) gives the client 500, and the access log shows the status the client got.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from .assembly import LocalApp
from .bus import ConnectionClosedRecord, ConnectionOpenedRecord, EventBus
from .descriptors import AcceptGuard, raise_open_files_limit
from .events import EventSource, disconnect_reason
from .exceptions import GoneException, HandshakeRejected
from .httpparse import upgrade_rejection
from .integration import Integrations
from .management import segments
from .options import EmulatorOptions, Limits
from .registry import Connection, ConnectionState, Registry
from .router import AccessLogger
from .routing import CONNECT, DISCONNECT
from .sharedport import REASONS, HttpChannel, HttpHandler, connection_class, error_answer
from .workers import WorkerPools

__all__ = ["Gateway", "Limits", "WebSocketMount"]

logger = logging.getLogger("cdk_ws_api.local")

#: Close status of a connection whose unsent output passed ``Limits.output_buffer_bytes``.
OUTPUT_FULL = (1008, "Output buffer full")


class WebSocketMount(Protocol):
    """A WebSocket endpoint outside the stage path (the console's feed), the WebSocket
    counterpart of the HTTP router's mounts."""

    def claims(self, path: str) -> bool:
        """Whether this mount serves the handshake for request target ``path``."""

    def accept(self, ws: ServerConnection, request: Request) -> Response | None:
        """``None`` to accept the handshake, else the refusal to send."""

    async def serve(self, ws: ServerConnection) -> None:
        """Serve the accepted connection until it closes."""


@dataclass(slots=True)
class _Session:
    # One per held connection, so kept small: slots, and the set and lock made on the first
    # message (an idle connection never needs them).
    connection: Connection
    websocket: ServerConnection
    source: EventSource
    cause: tuple[int, str] | None = None
    subprotocol: str | None = None
    #: The connection's message tasks in flight (ordered mode: the one consumer).
    tasks: set[asyncio.Task[None]] | None = None
    #: Messages waiting for the one in its integration (ordered mode), in arrival order.
    queue: deque[str] | None = None
    #: Set while the reader waits for room in the queue (or for a task to finish).
    room: asyncio.Future[None] | None = None


#: What a held connection's websockets ``Request``/``Response`` keep as headers once the
#: handshake is over: websockets reads them only during the handshake, the registry has its
#: own copy for the events, and dropping them saves ~3 KiB per connection.
_NO_HEADERS = Headers()


def _peer_reset(ws: ServerConnection) -> bool:
    """Whether the kernel holds a pending error (a reset) for the connection's socket."""
    sock = ws.transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    except OSError:
        return True


def _names_stage(path: str, stage: str) -> bool:
    """Whether a request target names ``/{stage}`` (trailing slashes allowed), compared on
    the decoded segments, as the ``@connections`` paths are."""
    parts = segments(path)
    return len(parts) >= 2 and parts[0] == "" and parts[1] == stage and not any(parts[2:])


def _text_chunks(text: str, limit: int) -> list[str]:
    # API Gateway sends messages over 32 KiB as several frames; split on characters so each
    # frame's UTF-8 stays under the frame quota.
    if len(text) * 4 <= limit:  # fits whatever its characters (at most 4 bytes each)
        return [text]
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
        #: Seconds a request may take to arrive, from its first byte (see :mod:`.sharedport`).
        self.header_timeout = options.header_timeout
        self._guard: AcceptGuard | None = None
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
        #: WebSocket endpoints outside the stage path, tried before the stage's rules.
        self.websocket_mounts: list[WebSocketMount] = []

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def domain_name(self) -> str:
        """``HOST:PORT`` clients use (IPv6 hosts in brackets), the events' ``domainName``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start serving; :attr:`port` is the bound port afterwards."""
        raise_open_files_limit()
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
            close_timeout=self.limits.close_timeout,
            max_size=(self.limits.message_bytes, self.limits.frame_bytes),
            max_queue=64,
            # Sends never wait on the buffer (see _write): it is checked against
            # output_buffer_bytes first, and this high-water mark sits above that bound.
            write_limit=self.limits.output_buffer_bytes + self.limits.message_bytes + 65536,
            server_header=None,
            create_connection=connection_class(
                self._http,
                self._channels,
                header_timeout=self.header_timeout,
                on_open=self._accepted,
            ),
            # Clients reconnecting in bursts must not overflow asyncio's default backlog (100).
            backlog=2048,
        )
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1]
        self._guard = AcceptGuard(asyncio.get_running_loop(), sockets)
        self._reaper = asyncio.create_task(self._reap())

    def use_app(self, app: LocalApp) -> None:
        """Serve ``app`` from the next handshake and event on (a re-synthesized app under
        ``--watch``). Open connections stay: their next events are built from the new API.
        Connections of a stage ``app`` no longer has are the caller's to close first
        (:meth:`close_connections`), while their ``$disconnect`` is still the old one."""
        self.app = app
        self.api = app.api
        self.integrations.rebind(app.api)
        for session in self._sessions.values():
            session.source = EventSource(app.api, session.source.domain_name)

    def _accepted(self) -> None:
        if self._guard is not None:
            self._guard.accepted()

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
        if self._guard is not None:
            self._guard.close()
            self._guard = None

    async def close_connections(self, *, timeout: float = 15.0) -> int:
        """Close every open connection with 1001 "Going away" and wait up to ``timeout`` for
        their ``$disconnect``; returns how many were closed."""
        closing = list(self._sessions.values())
        for session in closing:
            self._close(session, 1001, "Going away")
        ids = {s.connection.connection_id for s in closing}
        deadline = time.monotonic() + timeout
        while ids & self._sessions.keys() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return len(closing)

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

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
                self._close(session, 1001, "Going away")

    def _close(self, session: _Session, code: int, reason: str) -> asyncio.Future[None]:
        """Close from the server side: ``@connections`` answers 410 at once, the closing
        handshake runs in the background, bounded (:meth:`_close_bounded`); the future
        returned is done once the TCP connection is gone."""
        if session.cause is None:
            session.cause = (code, disconnect_reason(code, reason))
        self.registry.closing(session.connection.connection_id)
        return self._spawn(self._close_bounded(session.websocket, code, reason))

    async def _close_bounded(self, ws: ServerConnection, code: int, reason: str) -> None:
        # websockets bounds the wait for the client's close frame, not the drain of the
        # write buffer before it: a client that never reads would hold the connection (and
        # its $disconnect) forever. Past the bound the TCP connection is aborted.
        with contextlib.suppress(asyncio.TimeoutError, ConnectionClosed):
            await asyncio.wait_for(ws.close(code, reason), self.limits.close_timeout)
        if not ws.connection_lost_waiter.done():
            ws.transport.abort()

    # -- handshake --------------------------------------------------------------------------

    def _source(self, host_header: str | None) -> EventSource:
        return EventSource(self.api, host_header or self.domain_name)

    def _reject(
        self, status: int, message: str, extra: tuple[tuple[str, str], ...] = ()
    ) -> Response:
        # Built here, not with ws.respond(): that one accepts only statuses of http.HTTPStatus
        # and raises (an unhandled exception, no answer) for any other.
        answer = error_answer(status, message)
        headers = Headers(
            [
                *answer.headers.items(),
                ("Content-Length", str(len(answer.body))),
                ("Connection", "close"),
                *extra,
            ]
        )
        return Response(status, REASONS.get(status, "Unknown"), headers, answer.body)

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        started = time.monotonic()
        if self._closing:
            return self._reject(503, "Service Unavailable")
        for mount in self.websocket_mounts:
            if mount.claims(request.path):
                ws.mount = mount  # type: ignore[attr-defined]
                return mount.accept(ws, request)
        if not _names_stage(request.path, self.api.stage):
            return self._reject(403, "Forbidden")
        raw_headers = list(request.headers.raw_items())
        invalid = upgrade_rejection(raw_headers)
        if invalid is not None:
            status, message = invalid
            self._log("CONNECT", CONNECT, "-", status, started)
            extra = (("Sec-WebSocket-Version", "13"),) if status == 426 else ()
            return self._reject(status, message, extra)
        remote = ws.remote_address
        connection = self.registry.create(
            source_ip=str(remote[0]) if remote else "127.0.0.1",
            user_agent=request.headers.get("User-Agent"),
            headers=raw_headers,
            query=parse_qsl(request.path.partition("?")[2], keep_blank_values=True),
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
            status, message = rejected.status, rejected.message
            if not 300 <= status <= 599:  # 0, 1xx, 600...: no status to answer a handshake
                logger.warning("$connect answered statusCode %s: the client gets 500", status)
                status, message = 500, "Internal server error"
            self._log("CONNECT", CONNECT, connection.connection_id, status, started)
            return self._reject(status, message)
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
        mount: WebSocketMount | None = getattr(ws, "mount", None)
        if mount is not None:
            await mount.serve(ws)
            return
        session: _Session = ws.session  # type: ignore[attr-defined]
        connection = session.connection
        for handshake in (ws.request, ws.response):  # the handshake is over
            if handshake is not None:
                handshake.headers = _NO_HEADERS
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                self.registry.touch(connection.connection_id)
                connection.frames_in += 1
                if isinstance(message, bytes):
                    # Awaited: returning from the handler would make websockets close 1000.
                    await self._close(session, 1003, "Binary frames are not supported")
                    return
                if not await self._enqueue(session, message):
                    return
        # The close frame is in: @connections answers 410 from now on, even before the TCP
        # connection is gone and $disconnect runs.
        self.registry.closing(connection.connection_id)

    async def _enqueue(self, session: _Session, body: str) -> bool:
        """Hand one message to its integration; waits (so stops reading the connection) while
        ``Limits.queued_messages`` wait already. ``False``: the connection closed meanwhile."""
        if session.cause is not None or session.connection.state is not ConnectionState.OPEN:
            return False  # read from websockets' buffer after the client left: dropped
        if not self.ordered_messages:
            self._track(session, asyncio.create_task(self._dispatch(session, body)))
        elif session.queue is None:  # no consumer runs: this message goes at once
            session.queue = deque()
            self._track(session, asyncio.create_task(self._consume(session, body)))
        else:
            session.queue.append(body)
        while self._waiting(session) >= self.limits.queued_messages:
            session.room = asyncio.get_running_loop().create_future()
            await session.room
            session.room = None
            if session.cause is not None or session.connection.state is not ConnectionState.OPEN:
                return False
        return True

    def _waiting(self, session: _Session) -> int:
        if self.ordered_messages:
            return len(session.queue or ())
        return len(session.tasks or ())

    def _track(self, session: _Session, task: asyncio.Task[None]) -> None:
        if session.tasks is None:
            session.tasks = set()
        tasks = session.tasks
        tasks.add(task)

        def done(_: asyncio.Task[None]) -> None:
            tasks.discard(task)
            self._make_room(session)

        task.add_done_callback(done)

    @staticmethod
    def _make_room(session: _Session) -> None:
        room = session.room
        if room is not None and not room.done():
            room.set_result(None)

    async def _consume(self, session: _Session, body: str) -> None:
        # Ordered mode: while a connection has messages, one task runs them in arrival order.
        # session.queue is None exactly when no consumer runs (set before returning, with no
        # await in between, so a message arriving meanwhile starts a new consumer).
        connection = session.connection
        while True:
            await self._dispatch(session, body)
            queue = session.queue
            if not queue:
                session.queue = None
                return
            if connection.state is not ConnectionState.OPEN or _peer_reset(session.websocket):
                # A client that reset the connection while reading was paused is only seen
                # gone once reading resumes: SO_ERROR says so before its next message runs.
                if connection.state is ConnectionState.OPEN:
                    session.websocket.transport.abort()
                self._drop(session)
                session.queue = None
                return
            body = queue.popleft()
            self._make_room(session)

    def _drop(self, session: _Session) -> None:
        # The client left: its messages that never reached an integration never will.
        queue = session.queue
        if queue:
            logger.info(
                "dropped %d queued message(s) of closed connection %s",
                len(queue),
                session.connection.connection_id,
            )
            queue.clear()
        self._make_room(session)

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
        self._drop(session)
        started = time.monotonic()
        status = await self.integrations.disconnect(connection, source, code=code, reason=reason)
        if status is not None:
            self._log("DISCONNECT", DISCONNECT, connection.connection_id, status, started)
        self.registry.remove(connection.connection_id)
        self._sessions.pop(connection.connection_id, None)

    async def _dispatch(self, session: _Session, body: str) -> None:
        connection = session.connection
        started = time.monotonic()
        try:
            outcome = await self.integrations.message(connection, session.source, body)
        except Exception:
            # A bug must still be logged, not vanish with the task.
            logger.exception("message of %s failed", connection.connection_id)
            self._log("MESSAGE", "-", connection.connection_id, 500, started)
            return
        self._log("MESSAGE", outcome.route_key, connection.connection_id, outcome.status, started)
        if outcome.reply is not None and connection.state is ConnectionState.OPEN:
            await self._write(session, outcome.reply)

    async def _write(self, session: _Session, message: str | bytes) -> bool:
        """Send one message without waiting for the client to read it (text in frames of at
        most 32 KiB). ``False`` when it is not sent: the connection is closing, or its unsent
        output would pass ``output_buffer_bytes`` (it is then closed with 1008)."""
        ws = session.websocket
        if ws.state is not State.OPEN or session.cause is not None:
            return False
        chunks: list[str] | list[bytes]
        if isinstance(message, bytes):
            chunks, size = [message], len(message)
        else:
            chunks = _text_chunks(message, self.limits.frame_bytes)
            size = len(message) if len(chunks) == 1 else sum(len(c.encode()) for c in chunks)
        unsent = ws.transport.get_write_buffer_size()
        if unsent + size > self.limits.output_buffer_bytes:
            logger.warning(
                "connection %s does not read (%d bytes unsent): closing it with 1008",
                session.connection.connection_id,
                unsent,
            )
            self._close(session, *OUTPUT_FULL)
            return False
        # Below the write-buffer high-water mark (see start()): send() writes every frame
        # and returns without waiting for a drain.
        try:
            await ws.send(chunks[0] if len(chunks) == 1 else chunks)
        except ConnectionClosed:
            return False
        self.registry.touch(session.connection.connection_id)
        session.connection.frames_out += len(chunks)
        return True

    # -- ConnectionSink (used by the management API) ------------------------------------------

    async def send(self, connection_id: str, data: bytes) -> None:
        session = self._sessions.get(connection_id)
        if session is None:
            raise GoneException(f"connection {connection_id} is gone")
        try:
            message: str | bytes = data.decode()
        except UnicodeDecodeError:
            message = data
        if not await self._write(session, message):
            raise GoneException(f"connection {connection_id} is gone")

    async def disconnect(self, connection_id: str) -> None:
        session = self._sessions.get(connection_id)
        if session is None:
            raise GoneException(f"connection {connection_id} is gone")
        self._close(session, 1000, "")

"""The shared port end to end: raw HTTP/1.1 keep-alive clients and WebSocket upgrades on one
real socket of ``websockets.serve(..., create_connection=connection_class(...))``.

The server runs on its own event loop in a background thread, so the HTTP clients are plain
blocking sockets whose every byte the test controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cdk_ws_api.local import sharedport
from cdk_ws_api.local.httpparse import HttpRequest
from cdk_ws_api.local.management import HttpResponse
from cdk_ws_api.local.sharedport import HttpChannel, connection_class

T = TypeVar("T")


# -- the server -------------------------------------------------------------------------------


async def echo_http(request: HttpRequest) -> HttpResponse:
    """Echoes the request; ``/slow/{seconds}/...`` answers after that many seconds.

    The bogus ``Content-Length`` and ``Connection`` headers prove the channel writes its own.
    """
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "slow":
        await asyncio.sleep(float(parts[2]))
    body = json.dumps(
        {"method": request.method, "path": request.path, "body": request.body.decode()}
    ).encode()
    headers = {"Content-Type": "application/json", "Content-Length": "999", "Connection": "nope"}
    return HttpResponse(200, body, headers)


async def echo_ws(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            await ws.send(message)


class SharedPortServer:
    """``serve(echo_ws, "127.0.0.1", 0, create_connection=connection_class(...))`` on a loop
    of its own thread; :meth:`close` shuts it down as ``Gateway.close`` does."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.channels: set[HttpChannel] = set()
        self.server: Server | None = None
        self.port = 0

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> Server:
        return await serve(
            echo_ws,
            "127.0.0.1",
            0,
            create_connection=connection_class(echo_http, self.channels),
            open_timeout=None,  # as the gateway: the HTTP channels live in the "handshake"
            ping_interval=None,
        )

    async def channel_count(self) -> int:
        return len(self.channels)

    async def _close(self, *, check_channels_needed: bool) -> None:
        # Gateway.close(): stop the server, close the HTTP channels, wait for the rest.
        assert self.server is not None
        self.server.close(close_connections=True)
        if check_channels_needed:
            # websockets waits for every connection handler, HTTP channels included: without
            # the channels set the shutdown would hang on them.
            waiting = asyncio.ensure_future(self.server.wait_closed())
            done, _ = await asyncio.wait([waiting], timeout=0.3)
            assert not done, "wait_closed() returned with an HTTP channel still open"
        for channel in list(self.channels):
            channel.close()
        await asyncio.wait_for(self.server.wait_closed(), 2)

    def close(self, *, check_channels_needed: bool = False) -> None:
        if self.server is None:
            return
        try:
            self.call(self._close(check_channels_needed=check_channels_needed), timeout=4)
        finally:
            self.server = None

    def __enter__(self) -> SharedPortServer:
        self.thread.start()
        self.server = self.call(self._start())
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()


@pytest.fixture
def server() -> Iterator[SharedPortServer]:
    with SharedPortServer() as running:
        yield running


# -- the raw HTTP client ----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) == 1, f"{name}: {values} in {self.headers}"
        return values[0]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
    headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    head = f"{method} {path} {version}\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + body


class RawClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"server closed the connection; unparsed bytes: {self.buffer!r}")
        self.buffer += chunk

    def answer(self) -> Answer:
        self.sock.settimeout(3)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, _reason = status_line.split(" ", 2)
        assert version == "HTTP/1.1"
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]
        answer = Answer(int(status), headers, b"")
        length = int(answer.header("Content-Length"))
        while len(self.buffer) < length:
            self._fill()
        answer.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return answer

    def closed_within(self, seconds: float) -> float:
        """Seconds until the server closes the connection (fails if it sends more first)."""
        started = time.monotonic()
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        except TimeoutError:
            pytest.fail(f"the server kept the connection open for {seconds}s")
        assert data == b"" and self.buffer == b"", f"unexpected bytes {self.buffer + data!r}"
        return time.monotonic() - started

    def is_open(self, wait: float = 0.15) -> bool:
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except ConnectionResetError:
            return False
        assert data == b"", f"unexpected bytes {data!r}"
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def clients(server: SharedPortServer) -> Iterator[Any]:
    opened: list[RawClient] = []

    def open_client() -> RawClient:
        client = RawClient(server.port)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def assert_echo(answer: Answer, method: str, path: str, body: str = "", *, keep: bool = True):
    assert answer.status == 200
    assert answer.json == {"method": method, "path": path, "body": body}
    assert answer.header("Content-Length") == str(len(answer.body))
    assert answer.header("Connection") == ("keep-alive" if keep else "close")
    assert answer.header("Content-Type") == "application/json"


# -- 1. pipelining ----------------------------------------------------------------------------


def test_pipelined_requests_are_answered_in_request_order(clients: Any) -> None:
    client = clients()
    started = time.monotonic()
    client.send(request("POST", "/slow/0.2/first", b"one") + request("GET", "/fast/second"))
    assert_echo(client.answer(), "POST", "/slow/0.2/first", "one")
    assert_echo(client.answer(), "GET", "/fast/second")
    assert time.monotonic() - started >= 0.2

    # Ten in one write, slow ones mixed with fast ones: answers stay in request order.
    paths = [f"/slow/0.0{i % 4}/r{i}" if i % 3 == 0 else f"/fast/r{i}" for i in range(10)]
    bodies = [f"body-{i}-" + "x" * i for i in range(10)]
    client.send(
        b"".join(request("POST", p, b.encode()) for p, b in zip(paths, bodies, strict=True))
    )
    for path, body in zip(paths, bodies, strict=True):
        assert_echo(client.answer(), "POST", path, body)

    # The connection is still usable afterwards.
    assert client.is_open()
    client.send(request("DELETE", "/after"))
    assert_echo(client.answer(), "DELETE", "/after")
    assert client.is_open()


def test_request_split_into_single_bytes_is_answered_once_complete(clients: Any) -> None:
    client = clients()
    # The first request goes through the connection's head sniffing, the second through
    # the channel's parser: both are fed one byte at a time.
    for path in ("/first", "/second"):
        data = request("POST", path, b'{"hello": "world"}')
        for byte in data[:-1]:
            client.send(bytes([byte]))
            time.sleep(0.0005)
        assert client.is_open(0.1), "answered (or closed) before the request was complete"
        client.send(data[-1:])
        assert_echo(client.answer(), "POST", path, '{"hello": "world"}')


# -- 3. Connection: close / HTTP/1.0 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [
        ("HTTP/1.1", "close", False),
        ("HTTP/1.1", "Close", False),
        ("HTTP/1.1", None, True),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
        ("HTTP/1.0", "Keep-Alive", True),
    ],
)
def test_connection_persistence(clients: Any, version: str, connection: str | None, keep: bool):
    client = clients()
    headers = (("Connection", connection),) if connection else ()
    client.send(request("GET", "/one", version=version, headers=headers))
    assert_echo(client.answer(), "GET", "/one", keep=keep)
    if keep:
        assert client.is_open()
        client.send(request("GET", "/two", version=version, headers=headers))
        assert_echo(client.answer(), "GET", "/two", keep=True)
        assert client.is_open()
    else:
        assert client.closed_within(1) < 1


def test_requests_pipelined_after_connection_close_are_not_answered(clients: Any) -> None:
    client = clients()
    client.send(
        request("GET", "/a")
        + request("GET", "/slow/0.05/b", headers=(("Connection", "close"),))
        + request("GET", "/c")
    )
    assert_echo(client.answer(), "GET", "/a")
    assert_echo(client.answer(), "GET", "/slow/0.05/b", keep=False)
    client.closed_within(1)


# -- 4. malformed requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"GARBAGE\r\n\r\n", 400, "bad request line 'GARBAGE'"),
        (b"GET /x HTTP/1.1\r\nno colon here\r\n\r\n", 400, "bad header line 'no colon here'"),
        (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: two\r\n\r\n", 400, "bad Content-Length"),
        (b"GET /x HTTP/3\r\n\r\n", 505, "unsupported version HTTP/3"),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            501,
            "chunked bodies are not supported",
        ),
    ],
)
def test_malformed_request_is_answered_then_closed(
    clients: Any, data: bytes, status: int, message: str
) -> None:
    client = clients()
    client.send(data)
    answer = client.answer()
    assert answer.status == status
    assert answer.json == {"message": message}
    assert answer.header("Connection") == "close"
    assert answer.header("Content-Length") == str(len(answer.body))
    client.closed_within(1)


def test_malformed_request_after_answered_ones(clients: Any) -> None:
    client = clients()
    client.send(request("GET", "/one"))
    assert_echo(client.answer(), "GET", "/one")
    client.send(request("GET", "/two") + request("GET", "/three"))
    assert_echo(client.answer(), "GET", "/two")
    assert_echo(client.answer(), "GET", "/three")
    client.send(b"GET /x HTTP/1.1\r\nbroken\r\n\r\n")
    answer = client.answer()
    assert (answer.status, answer.header("Connection")) == (400, "close")
    client.closed_within(1)


def test_400_message_is_json_whatever_the_bad_line_holds(clients: Any) -> None:
    # The message quotes the offending line: it must be escaped as JSON.
    client = clients()
    client.send(b'GET "/quoted"\r\n\r\n')
    answer = client.answer()
    assert answer.status == 400
    assert answer.json == {"message": "bad request line 'GET \"/quoted\"'"}
    client.closed_within(1)


def test_requests_pipelined_before_a_malformed_one_are_answered_first(clients: Any) -> None:
    # HTTP/1.1 answers in request order: the requests before the broken one get their
    # answers, then the 400, then the connection closes.
    client = clients()
    client.send(request("GET", "/fast/ok") + b"BROKEN\r\n\r\n")
    assert_echo(client.answer(), "GET", "/fast/ok")
    assert client.answer().status == 400
    client.closed_within(1)


def test_malformed_request_does_not_overtake_a_request_in_flight(clients: Any) -> None:
    client = clients()
    client.send(request("GET", "/slow/0.3/in-flight"))
    time.sleep(0.1)  # the handler is running
    client.send(b"BROKEN\r\n\r\n")
    assert_echo(client.answer(), "GET", "/slow/0.3/in-flight")
    assert client.answer().status == 400
    client.closed_within(1)


# -- 5. idle timeout --------------------------------------------------------------------------


@pytest.fixture
def short_idle(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(sharedport, "HTTP_IDLE_TIMEOUT", 0.3)
    return 0.3


def test_idle_keep_alive_connection_is_closed(clients: Any, short_idle: float) -> None:
    client = clients()
    client.send(request("GET", "/one"))
    assert_echo(client.answer(), "GET", "/one")
    idle = client.closed_within(2.5)
    assert short_idle - 0.05 <= idle < short_idle + 1.0


def test_activity_keeps_the_connection_open(clients: Any, short_idle: float) -> None:
    client = clients()
    started = time.monotonic()
    for i in range(10):  # one request every 0.1 s for 1 s: three idle timeouts
        client.send(request("POST", f"/tick/{i}", b"x"))
        assert_echo(client.answer(), "POST", f"/tick/{i}", "x")
        time.sleep(0.1)
    assert time.monotonic() - started >= 3 * short_idle
    assert client.is_open(0.05)
    # Once the activity stops, the re-armed timer still closes it.
    idle = client.closed_within(2.5)
    assert idle < short_idle + 1.0


def test_request_in_flight_is_not_idleness(clients: Any, short_idle: float) -> None:
    # A handler slower than the idle timeout: the connection is busy, not idle, so a request
    # pipelined while it runs is still answered.
    client = clients()
    client.send(request("GET", "/slow/0.6/slow"))
    time.sleep(0.45)
    client.send(request("GET", "/next"))
    assert_echo(client.answer(), "GET", "/slow/0.6/slow")
    assert_echo(client.answer(), "GET", "/next")


# -- 6. half-close ----------------------------------------------------------------------------


def test_half_closed_client_gets_every_answer_then_the_server_closes(clients: Any) -> None:
    client = clients()
    client.send(
        request("POST", "/slow/0.2/a", b"1") + request("POST", "/b", b"2") + request("GET", "/c")
    )
    client.sock.shutdown(socket.SHUT_WR)
    assert_echo(client.answer(), "POST", "/slow/0.2/a", "1")
    assert_echo(client.answer(), "POST", "/b", "2")
    assert_echo(client.answer(), "GET", "/c")
    client.closed_within(1)


def test_half_close_with_a_partial_request_closes(clients: Any) -> None:
    client = clients()
    client.send(request("GET", "/done") + b"GET /never-finished HTTP/1.1\r\nHo")
    client.sock.shutdown(socket.SHUT_WR)
    assert_echo(client.answer(), "GET", "/done")
    client.closed_within(1)


def test_closed_channels_leave_the_channels_set(server: SharedPortServer, clients: Any) -> None:
    first, second = clients(), clients()
    for client in (first, second):
        client.send(request("GET", "/x"))
        client.answer()
    assert server.call(server.channel_count()) == 2
    first.close()
    second.send(request("GET", "/y", headers=(("Connection", "close"),)))
    second.answer()
    second.closed_within(1)
    deadline = time.monotonic() + 2
    while server.call(server.channel_count()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.call(server.channel_count()) == 0


# -- 7. WebSocket on the same port, shutdown --------------------------------------------------


def test_websocket_and_http_share_the_port_and_shutdown_is_prompt(
    server: SharedPortServer, clients: Any
) -> None:
    http = clients()
    http.send(request("GET", "/before"))
    assert_echo(http.answer(), "GET", "/before")

    with connect(f"ws://127.0.0.1:{server.port}/dev", open_timeout=2, close_timeout=1) as ws:
        ws.send("hello")
        assert ws.recv(timeout=2) == "hello"
        ws.send("x" * 5000)
        assert ws.recv(timeout=2) == "x" * 5000
        # Still one HTTP channel: the upgrade went to websockets.
        assert server.call(server.channel_count()) == 1
        http.send(request("POST", "/during", b"body"))
        assert_echo(http.answer(), "POST", "/during", "body")

        # A request in flight during the shutdown must not hold it up.
        busy = clients()
        busy.send(request("GET", "/slow/10/never"))
        time.sleep(0.1)
        assert server.call(server.channel_count()) == 2

        started = time.monotonic()
        server.close(check_channels_needed=True)
        assert time.monotonic() - started < 2.5

        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=2)
        assert ws.close_code == 1001
    http.closed_within(1)
    busy.closed_within(1)
    assert server.channels == set()
    with pytest.raises(OSError):
        RawClient(server.port)

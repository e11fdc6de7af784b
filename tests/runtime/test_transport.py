"""The transport of ``broadcast``'s fast path (``lambda_runtime._transport``) against real servers.

Every server here is a :class:`ScriptedServer`: a raw-socket HTTP/1.1 server on 127.0.0.1 (a
port the OS picks) in daemon threads, where each test decides exactly which bytes answer each
request, in how many writes, and when a connection is closed, reset or left silent. The server
records what it observed (accepted connections, every request it read, on which connection), so
the tests check both what ``exchange`` returns and what went over the wire.
"""

from __future__ import annotations

import errno
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambda_runtime import _transport

from .scripted_server import (
    CLOSE,
    HANG,
    RESET,
    Action,
    Received,
    ScriptedServer,
    answer,
    dribble,
    echo,
    request,
)
from .tls import self_signed_certificate


def ok_body(result: _transport.Response | _transport.TransportError) -> bytes:
    """The body of a 200 answer (fails the test on anything else)."""
    assert isinstance(result, _transport.Response), f"{result.kind}: {result}"
    assert result.status == 200
    return result.body


def kinds(results: Sequence[_transport.Response | _transport.TransportError]) -> list[str | int]:
    """Each result's error kind, or its status for an answer."""
    return [r.kind if isinstance(r, _transport.TransportError) else r.status for r in results]


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    """Start scripted servers (stopped after the test)."""
    servers: list[ScriptedServer] = []

    def start(
        script: Callable[[Received], Sequence[Action]] = echo,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> ScriptedServer:
        server = ScriptedServer(script, tls=tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def origin_of() -> Iterator[Callable[..., _transport.Origin]]:
    """Origins of 127.0.0.1 ports (their idle sockets closed after the test)."""
    origins: list[_transport.Origin] = []

    def make(port: int, **options: object) -> _transport.Origin:
        # Short timeouts by default, so that a regression fails in seconds rather than hangs.
        options = {"connect_timeout": 2.0, "read_timeout": 2.0, **options}
        origin = _transport.Origin("127.0.0.1", port, **options)  # type: ignore[arg-type]
        origins.append(origin)
        return origin

    yield make
    for origin in origins:
        origin.close()


# --- order, concurrency, keep-alive ---------------------------------------------------------


def test_answers_come_back_in_order_over_at_most_concurrency_kept_alive_connections(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server answering each request with its path
    server = serve()
    origin = origin_of(server.port)
    paths = [f"/r/{i}" for i in range(200)]
    # WHEN 200 requests are exchanged with concurrency 8
    results = _transport.exchange(origin, [request(p) for p in paths], 8)
    # THEN every answer is its own request's, in order
    assert [ok_body(r) for r in results] == [p.encode() for p in paths]
    # AND the server read each request once, over exactly 8 connections, each kept alive
    assert sorted(p for _, p in server.paths()) == sorted(paths)
    # (200 requests over 8 accepted connections: they were reused. How many each carried
    # depends on scheduling, so it is not asserted.)
    assert server.accepts == 8
    # AND the answers say which connection carried them (the client saw the same thing)
    carried_by = {r.headers["x-connection"] for r in results if isinstance(r, _transport.Response)}
    assert carried_by == {str(n) for n in range(8)}

    # WHEN the origin is used again
    again = _transport.exchange(origin, [request(f"/again/{i}") for i in range(50)], 8)
    # THEN the idle connections of the first call carry the second, none is opened
    assert [ok_body(r) for r in again] == [f"/again/{i}".encode() for i in range(50)]
    assert server.accepts == 8


def test_no_more_connections_than_requests(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    server = serve()
    results = _transport.exchange(origin_of(server.port), [request("/a"), request("/b")], 16)
    assert [ok_body(r) for r in results] == [b"/a", b"/b"]
    assert server.accepts == 2


def test_nothing_to_send_opens_nothing(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    server = serve()
    assert _transport.exchange(origin_of(server.port), [], 8) == []
    assert server.accepts == 0


def test_the_request_bytes_reach_the_server_unchanged(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN request bodies larger than a socket buffer would take at once
    server = serve()
    bodies = [bytes([i]) * (3_000_000 + i) for i in range(3)]
    # WHEN they are posted
    results = _transport.exchange(
        origin_of(server.port), [request(f"/{i}", b) for i, b in enumerate(bodies)], 2
    )
    # THEN all arrive whole (non-blocking sends resumed until done)
    assert kinds(results) == [200, 200, 200]
    with server.lock:
        assert sorted(r.body for r in server.received) == sorted(bodies)


# --- answer framing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Framing:
    answer: bytes
    status: int
    body: bytes
    headers: dict[str, str]
    reusable: bool  # the connection may carry the next request
    closes: bool = False  # the server closes the connection after the answer


FRAMINGS = {
    "content-length": Framing(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Multi: a\r\nx-multi: b\r\n"
        b"CONTENT-LENGTH:   11  \r\n\r\nhello world",
        200,
        b"hello world",
        {"content-type": "text/plain", "x-multi": "b", "content-length": "11"},
        reusable=True,
    ),
    "empty content-length": Framing(
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202, b"", {}, reusable=True
    ),
    "chunked": Framing(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"4\r\n\r\n\r\n\r\n"  # chunk data that looks like line ends
        b"a ; ext\r\n0123456789\r\n"
        b"0;last=1\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
        200,
        b"hello\r\n\r\n0123456789",
        {"transfer-encoding": "chunked"},
        reusable=True,
    ),
    "chunked without trailer": Framing(
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, Chunked\r\n\r\nA\r\n0123456789\r\n"
        b"0\r\n\r\n",
        201,
        b"0123456789",
        {},
        reusable=True,
    ),
    "close-delimited": Framing(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the\r\n\r\nend",
        200,
        b"until the\r\n\r\nend",
        {"content-type": "text/plain"},
        reusable=False,
        closes=True,
    ),
    "204 without body": Framing(
        b"HTTP/1.1 204 No Content\r\nX-Id: 7\r\n\r\n", 204, b"", {"x-id": "7"}, reusable=True
    ),
    "100 continue first": Framing(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        201,
        b"ok",
        {"content-length": "2"},
        reusable=True,
    ),
    "HTTP/1.0 keep-alive": Framing(
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
        200,
        b"ok",
        {"connection": "Keep-Alive"},
        reusable=True,
    ),
    "HTTP/1.0 without keep-alive": Framing(
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, b"ok", {}, reusable=False
    ),
    "Connection: close": Framing(
        b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nok",
        200,
        b"ok",
        {"connection": "Close"},
        reusable=False,
    ),
}


@pytest.mark.parametrize("written", ["at once", "byte by byte"])
@pytest.mark.parametrize("name", list(FRAMINGS))
def test_answer_framings(
    name: str,
    written: str,
    serve: Callable[..., ScriptedServer],
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN a server answering every request with this framing, in one write or byte by byte
    framing = FRAMINGS[name]

    def script(received: Received) -> list[Action]:
        actions: list[Action] = (
            [framing.answer] if written == "at once" else dribble(framing.answer)
        )
        return [*actions, CLOSE] if framing.closes else actions

    server = serve(script)
    # WHEN three requests are exchanged one at a time
    results = _transport.exchange(
        origin_of(server.port), [request("/1"), request("/2"), request("/3")], 1
    )
    # THEN each is the whole answer: status, body, headers (names lowercased, last one wins)
    for result in results:
        assert isinstance(result, _transport.Response), f"{result.kind}: {result}"
        assert (result.status, result.body) == (framing.status, framing.body)
        assert framing.headers.items() <= result.headers.items()
        assert "link" not in result.headers  # an interim answer's headers are not kept
    # AND the connection was kept for the next request only when the framing allows it
    assert [p for _, p in server.paths()] == ["/1", "/2", "/3"]
    assert server.accepts == (1 if framing.reusable else 3)


@pytest.mark.parametrize("name", list(FRAMINGS))
def test_every_split_of_an_answer_parses_the_same(name: str) -> None:
    # GIVEN an answer that arrives one byte at a time (every possible split point)
    framing = FRAMINGS[name]
    parser = _transport._AnswerParser()
    buffer = bytearray()
    for i in range(len(framing.answer)):
        assert not parser.done, f"complete after {i} of {len(framing.answer)} bytes"
        buffer += framing.answer[i : i + 1]
        parser.feed(buffer)
    # THEN it is complete exactly at its last byte (a close-delimited one at end of stream)
    if framing.closes:
        assert not parser.done
        assert parser.eof()
    assert parser.done and not buffer
    response = parser.response()
    assert (response.status, response.body) == (framing.status, framing.body)
    assert parser.keep_alive == framing.reusable


def test_connection_close_is_honoured_even_if_the_server_keeps_the_connection_open(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that says "Connection: close" but leaves its side open and silent
    def script(received: Received) -> list[Action]:
        return [answer(received.path.encode(), headers=["Connection: close"]), HANG]

    server = serve(script)
    paths = [f"/{i}" for i in range(10)]
    # WHEN ten requests are exchanged with concurrency 3
    results = _transport.exchange(
        origin_of(server.port, read_timeout=2.0), [request(p) for p in paths], 3
    )
    # THEN all succeed, each on a connection of its own (none reused, nothing hangs)
    assert [ok_body(r) for r in results] == [p.encode() for p in paths]
    assert server.accepts == 10
    assert sorted(c for c, _ in server.paths()) == list(range(10))


def test_connection_close_then_close_from_the_server(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that closes every connection after one answer, as it announces
    def script(received: Received) -> list[Action]:
        return [answer(received.path.encode(), headers=["Connection: close"]), CLOSE]

    server = serve(script)
    origin = origin_of(server.port)
    # WHEN requests are exchanged, twice
    first = _transport.exchange(origin, [request(f"/a{i}") for i in range(5)], 2)
    second = _transport.exchange(origin, [request(f"/b{i}") for i in range(3)], 2)
    # THEN every request succeeded on a new connection, and was sent exactly once
    assert [ok_body(r) for r in first + second] == [
        *(f"/a{i}".encode() for i in range(5)),
        *(f"/b{i}".encode() for i in range(3)),
    ]
    assert server.accepts == 8
    assert len(server.paths()) == 8


# --- connections closed by the server -------------------------------------------------------


def test_an_idle_connection_closed_between_calls_is_replaced(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN an origin holding a kept-alive connection, which the server then closes
    server = serve()
    origin = origin_of(server.port)
    assert [ok_body(r) for r in _transport.exchange(origin, [request("/a")], 4)] == [b"/a"]
    server.close_connection(0)
    # WHEN the origin is used again
    results = _transport.exchange(origin, [request("/b"), request("/c")], 1)
    # THEN the requests go over a new connection, each sent exactly once
    assert [ok_body(r) for r in results] == [b"/b", b"/c"]
    assert server.paths() == [(0, "/a"), (1, "/b"), (1, "/c")]
    assert server.accepts == 2


@pytest.mark.parametrize("same_call", [True, False], ids=["same-call", "next-call"])
def test_a_request_on_a_reused_connection_closed_unanswered_is_resent_once(
    same_call: bool,
    serve: Callable[..., ScriptedServer],
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN a server that closes its first connection, unanswered, after reading a 2nd request
    def script(received: Received) -> list[Action]:
        if (received.connection, received.number) == (0, 1):
            return [CLOSE]
        return echo(received)

    server = serve(script)
    origin = origin_of(server.port)
    # WHEN a request goes over that kept-alive connection (in the same call or the next one)
    if same_call:
        results = _transport.exchange(origin, [request("/a"), request("/b")], 1)
    else:
        results = _transport.exchange(origin, [request("/a")], 1)
        results += _transport.exchange(origin, [request("/b")], 1)
    # THEN it is sent again, once, on a new connection, and its answer returned
    assert [ok_body(r) for r in results] == [b"/a", b"/b"]
    assert server.paths() == [(0, "/a"), (0, "/b"), (1, "/b")]
    assert server.accepts == 2


def test_a_resent_request_closed_again_is_reported_closed(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that closes every connection, unanswered, on reading /b
    def script(received: Received) -> list[Action]:
        return [CLOSE] if received.path == "/b" else echo(received)

    server = serve(script)
    # WHEN /b follows /a on a kept-alive connection, and /c follows
    started = time.monotonic()
    results = _transport.exchange(
        origin_of(server.port), [request("/a"), request("/b"), request("/c")], 1
    )
    # THEN /b was sent twice (the reused connection, then a new one) and is "closed"
    assert kinds(results) == [200, "closed", 200]
    assert [p for _, p in server.paths()] == ["/a", "/b", "/b", "/c"]
    assert server.paths()[1:3] == [(0, "/b"), (1, "/b")]
    assert time.monotonic() - started < 2.0


def test_a_request_answered_100_continue_then_closed_is_not_resent(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that, on a kept-alive connection, answers /b "100 Continue" then closes
    def script(received: Received) -> list[Action]:
        if received.path == "/b":
            return [b"HTTP/1.1 100 Continue\r\n\r\n", 0.05, CLOSE]
        return echo(received)

    server = serve(script)
    # WHEN /b follows /a on that connection
    results = _transport.exchange(origin_of(server.port), [request("/a"), request("/b")], 1)
    # THEN /b is an error and was not sent again: bytes of an answer came, so the server did
    # act on it (the resend is only for a stale keep-alive closed before any answer byte)
    assert ok_body(results[0]) == b"/a"
    assert isinstance(results[1], _transport.TransportError)
    assert results[1].kind in ("closed", "protocol")
    assert server.paths() == [(0, "/a"), (0, "/b")]


def test_a_new_connection_closed_unanswered_is_not_resent(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that closes every connection on the first request, unanswered
    server = serve(lambda received: [CLOSE])
    # WHEN two requests are sent, each over a new connection
    results = _transport.exchange(origin_of(server.port), [request("/a"), request("/b")], 2)
    # THEN both are "closed", each sent once (a new connection's close is not a stale keep-alive)
    assert kinds(results) == ["closed", "closed"]
    assert sorted(p for _, p in server.paths()) == ["/a", "/b"]
    assert all(isinstance(r, _transport.TransportError) and r.cause is None for r in results)


def test_a_connection_reset_right_after_an_answer(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that answers with keep-alive, then resets the connection at once (RST)
    def script(received: Received) -> list[Action]:
        return [*echo(received), RESET]

    server = serve(script)
    for attempt in range(5):
        origin = origin_of(server.port)
        paths = [f"/{attempt}/{i}" for i in range(3)]
        # WHEN requests follow each other on that connection (the next one may be sent after
        # the reset arrived: sending fails with EPIPE, or before: the answer is ECONNRESET)
        results = _transport.exchange(origin, [request(p) for p in paths], 1)
        # THEN each is sent again on a new connection and answered; nothing is raised
        assert [ok_body(r) for r in results] == [p.encode() for p in paths]
    # AND the server read each request exactly once
    assert sorted(p for _, p in server.paths()) == sorted(
        f"/{attempt}/{i}" for attempt in range(5) for i in range(3)
    )


# --- timeouts -------------------------------------------------------------------------------


def test_a_silent_server_times_out_and_the_other_requests_succeed(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that reads /hang but never answers it, and answers everything else
    def script(received: Received) -> list[Action]:
        return [HANG] if received.path == "/hang" else echo(received)

    server = serve(script)
    origin = origin_of(server.port, read_timeout=0.3)
    paths = ["/hang", "/1", "/2", "/3", "/4"]
    # WHEN it is part of an exchange with a read timeout of 0.3 s
    started = time.monotonic()
    results = _transport.exchange(origin, [request(p) for p in paths], 2)
    elapsed = time.monotonic() - started
    # THEN it is a "read-timeout" after about 0.3 s, and the others were answered
    assert kinds(results) == ["read-timeout", 200, 200, 200, 200]
    assert [ok_body(r) for r in results[1:]] == [p.encode() for p in paths[1:]]
    assert 0.29 <= elapsed < 1.5
    assert server.accepts == 2
    # AND the silent connection is not kept: the next call is answered at once over the other
    started = time.monotonic()
    assert [ok_body(r) for r in _transport.exchange(origin, [request("/5")], 2)] == [b"/5"]
    assert time.monotonic() - started < 0.25
    assert server.paths()[-1] == (1, "/5")


def test_the_read_timeout_bounds_silence_not_the_whole_answer(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server that takes 0.5 s to answer, in pieces 0.1 s apart
    data = answer(b"slow but steady")
    pieces = [data[start : start + 10] for start in range(0, len(data), 10)]
    assert len(pieces) == 6

    def script(received: Received) -> list[Action]:
        actions: list[Action] = [pieces[0]]
        for piece in pieces[1:]:
            actions += [0.1, piece]
        return actions

    server = serve(script)
    # WHEN the read timeout is 0.3 s
    started = time.monotonic()
    results = _transport.exchange(origin_of(server.port, read_timeout=0.3), [request("/")], 1)
    # THEN the answer is complete
    assert [ok_body(r) for r in results] == [b"slow but steady"]
    assert time.monotonic() - started >= 0.45


def test_silence_in_the_middle_of_a_body_is_a_read_timeout_not_a_short_answer(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    server = serve(lambda received: [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", HANG])
    started = time.monotonic()
    results = _transport.exchange(origin_of(server.port, read_timeout=0.3), [request("/")], 1)
    assert kinds(results) == ["read-timeout"]
    assert 0.29 <= time.monotonic() - started < 1.5


def test_a_server_that_never_accepts_is_a_connect_timeout(
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN a listener whose accept queue is full (backlog 0, one connection never accepted):
    # the kernel drops further SYNs, so connecting hangs
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=1.0)
    try:
        # WHEN requests go to it with a connect timeout of 0.3 s
        started = time.monotonic()
        results = _transport.exchange(
            origin_of(listener.getsockname()[1], connect_timeout=0.3, read_timeout=5.0),
            [request("/a"), request("/b")],
            2,
        )
        elapsed = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    # THEN both are "connect-timeout" after about 0.3 s
    assert kinds(results) == ["connect-timeout", "connect-timeout"]
    assert 0.29 <= elapsed < 1.5


# --- connection and resolution failures -----------------------------------------------------


def test_a_refused_connection_is_a_connect_error_for_every_request(
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN a port bound by nobody listening (kept bound so no one else takes it)
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bound.bind(("127.0.0.1", 0))
    try:
        # WHEN requests go to it
        started = time.monotonic()
        results = _transport.exchange(
            origin_of(bound.getsockname()[1]), [request(f"/{i}") for i in range(5)], 2
        )
    finally:
        bound.close()
    # THEN each is a "connect" error caused by ECONNREFUSED, at once
    assert kinds(results) == ["connect"] * 5
    for result in results:
        assert isinstance(result, _transport.TransportError)
        assert isinstance(result.cause, OSError)
        assert result.cause.errno == errno.ECONNREFUSED
    assert time.monotonic() - started < 1.0


def test_a_refused_address_falls_back_to_the_next_one(
    serve: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a name that resolves to a refused address first, then to a listening one (as a
    # name with an unreachable IPv6 address before a good IPv4 one)
    server = serve()
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bound.bind(("127.0.0.1", 0))
    dead = bound.getsockname()[1]
    stream = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")
    answers = [(*stream, ("127.0.0.1", dead)), (*stream, ("127.0.0.1", server.port))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    origin = _transport.Origin("api.example", 80, connect_timeout=2.0, read_timeout=2.0)
    try:
        # WHEN requests go to it, several connections at once
        paths = [f"/{i}" for i in range(6)]
        results = _transport.exchange(origin, [request(p) for p in paths], 3)
    finally:
        bound.close()
        origin.close()
    # THEN every request went to the second address, once each
    assert [ok_body(r) for r in results] == [p.encode() for p in paths]
    assert sorted(path for _, path in server.paths()) == sorted(paths)


def test_an_unresolvable_host_is_a_resolve_error_for_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a name under the reserved .invalid TLD, which fails to resolve; the failure is made
    # local (no resolver is asked) so the test does not depend on the machine's DNS
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    origin = _transport.Origin("no-such-host.invalid", 443)
    # WHEN requests go to it
    results = _transport.exchange(origin, [request(f"/{i}") for i in range(4)], 2)
    # THEN each is a "resolve" error carrying the resolver's error
    assert kinds(results) == ["resolve"] * 4
    for result in results:
        assert isinstance(result, _transport.TransportError)
        assert isinstance(result.cause, socket.gaierror)
        assert "no-such-host.invalid" in str(result)
    # AND the name was looked up once for the call, not once per request (each lookup blocks
    # the one thread: a resolver timing out would multiply its timeout by the request count)
    assert looked_up == ["no-such-host.invalid"]


# --- malformed answers ----------------------------------------------------------------------

MALFORMED: dict[str, list[Action]] = {
    "bad status code": [b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n"],
    "not HTTP": [b"SSH-2.0-OpenSSH_9.6\r\n\r\n"],
    "HTTP/2 status line": [b"HTTP/2 200\r\ncontent-length: 0\r\n\r\n"],
    "garbage then close": [b"garbage", CLOSE],
    "head cut by close": [b"HTTP/1.1 200 OK\r\nContent-Len", CLOSE],
    "body cut by close": [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", CLOSE],
    "chunk cut by close": [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        CLOSE,
    ],
    "last chunk cut by close": [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        CLOSE,
    ],
    "bad chunk size": [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    "bad Content-Length": [b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\nabc"],
    "endless head": [b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 70_000],
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_answer_is_a_protocol_error(
    name: str, serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a server answering /bad with a malformed answer (and then nothing more, unless it
    # closes), and /good normally
    def script(received: Received) -> list[Action]:
        if received.path == "/bad":
            return [*MALFORMED[name], HANG]
        return echo(received)

    server = serve(script)
    # WHEN /bad then /good are exchanged over one connection at a time
    started = time.monotonic()
    results = _transport.exchange(
        origin_of(server.port, read_timeout=3.0), [request("/bad"), request("/good")], 1
    )
    # THEN /bad is a "protocol" error (never a truncated answer), found without waiting for
    # the read timeout, and /good was answered over a new connection
    assert kinds(results) == ["protocol", 200]
    assert ok_body(results[1]) == b"/good"
    assert time.monotonic() - started < 2.0
    assert server.paths() == [(0, "/bad"), (1, "/good")]


# --- Origin: idle sockets -------------------------------------------------------------------


def connected(server: ScriptedServer, count: int) -> list[socket.socket]:
    """``count`` TCP connections to ``server``, once it accepted them all."""
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(count)]
    deadline = time.monotonic() + 2.0
    while server.accepts < count and time.monotonic() < deadline:
        time.sleep(0.005)
    assert server.accepts == count
    return socks


def test_take_drops_the_idle_sockets_the_server_closed(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN an origin holding three idle connections, the 2nd of which the server closed
    server = serve()
    origin = origin_of(server.port)
    first, second, third = connected(server, 3)
    origin.give([first, second, third])
    server.close_connection(1)
    assert select.select([second], [], [], 2.0)[0] == [second]  # the FIN arrived
    # WHEN sockets are taken
    taken = origin.take(3)
    # THEN the closed one is left out, and closed
    assert taken == [first, third]
    assert second.fileno() == -1
    assert first.fileno() != -1 and third.fileno() != -1
    # AND none is left behind
    assert origin.take(3) == []
    first.close()
    third.close()


def test_take_gives_at_most_what_is_asked(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    server = serve()
    origin = origin_of(server.port)
    socks = connected(server, 3)
    origin.give(socks)
    assert origin.take(2) == socks[:2]
    assert origin.take(2) == socks[2:]
    assert origin.take(2) == []
    for sock in socks:
        assert sock.fileno() != -1
        sock.close()


def test_give_keeps_at_most_max_idle_and_closes_the_others(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    server = serve()
    origin = origin_of(server.port, max_idle=2)
    socks = connected(server, 4)
    # WHEN three are given to an origin keeping two, then one more
    origin.give(socks[:3])
    origin.give(socks[3:])
    # THEN the extra ones are closed, the two kept are open and taken back
    assert [s.fileno() == -1 for s in socks] == [False, False, True, True]
    assert origin.take(5) == socks[:2]
    for sock in socks[:2]:
        sock.close()


def test_close_closes_the_idle_sockets(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    server = serve()
    origin = origin_of(server.port)
    socks = connected(server, 2)
    origin.give(socks)
    origin.close()
    assert [s.fileno() for s in socks] == [-1, -1]
    assert origin.take(2) == []


def test_an_exchange_keeps_at_most_max_idle_connections(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN an origin keeping two idle connections
    server = serve()
    origin = origin_of(server.port, max_idle=2)
    # WHEN two calls use four connections each
    first = _transport.exchange(origin, [request(f"/a{i}") for i in range(8)], 4)
    second = _transport.exchange(origin, [request(f"/b{i}") for i in range(8)], 4)
    # THEN the second reused the two kept and opened two more
    assert len([ok_body(r) for r in first + second]) == 16
    assert server.accepts == 6
    second_connections = {c for c, p in server.paths() if p.startswith("/b")}
    assert len(second_connections) == 4
    assert len(second_connections & {0, 1, 2, 3}) == 2


def test_concurrent_calls_from_threads_share_an_origin_safely(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN one origin used by four threads at once, each making several calls
    server = serve()
    origin = origin_of(server.port)
    answers: dict[int, list[bytes]] = {}
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            got: list[bytes] = []
            for call in range(5):
                paths = [f"/{thread}/{call}/{i}" for i in range(20)]
                got += [
                    ok_body(r) for r in _transport.exchange(origin, [request(p) for p in paths], 4)
                ]
            answers[thread] = got
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # THEN each thread got its own answers, in order (no socket was used by two calls at once)
    assert failures == []
    for n in range(4):
        expected = [f"/{n}/{c}/{i}".encode() for c in range(5) for i in range(20)]
        assert answers[n] == expected
    # AND at most 4 connections per thread were ever opened (idle ones were reused)
    assert server.accepts <= 16
    assert len(server.paths()) == 400


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def big_body(path: str) -> bytes:
    return random.Random(path).randbytes(300_000)


def test_https_with_large_answers_over_kept_alive_connections(
    certificate: tuple[Path, Path],
    serve: Callable[..., ScriptedServer],
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN an HTTPS server answering 300 KB per request (many TLS records), the last
    # request's answer chunked in uneven pieces, each its own TLS record
    def script(received: Received) -> list[Action]:
        body = big_body(received.path)
        if received.path != "/chunked":
            return [answer(body, headers=[f"X-Connection: {received.connection}"])]
        actions: list[Action] = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
        for start in range(0, len(body), 70_001):
            piece = body[start : start + 70_001]
            actions.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        return [*actions, b"0\r\n\r\n"]

    server = serve(script, tls=server_context(certificate))
    context = ssl.create_default_context(cafile=str(certificate[0]))
    origin = origin_of(server.port, ssl_context=context)
    paths = [f"/big/{i}" for i in range(6)]
    # WHEN requests are exchanged with concurrency 2, then once more
    results = _transport.exchange(origin, [request(p, b"x" * 1000) for p in paths], 2)
    again = _transport.exchange(origin, [request("/big/again"), request("/chunked")], 2)
    # THEN every answer is whole and its own
    assert [ok_body(r) for r in results] == [big_body(p) for p in paths]
    assert [ok_body(r) for r in again] == [big_body("/big/again"), big_body("/chunked")]
    # AND two TLS connections carried all of them (kept alive within and across calls)
    assert server.accepts == 2
    assert len(server.paths()) == 8
    assert server.tls_failures == []


def test_https_answers_in_small_tls_records(
    certificate: tuple[Path, Path],
    serve: Callable[..., ScriptedServer],
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN an HTTPS server writing its answer a few bytes per TLS record
    data = answer(b"0123456789" * 20, headers=["X-Small: records"])
    server = serve(
        lambda received: [data[i : i + 7] for i in range(0, len(data), 7)],
        tls=server_context(certificate),
    )
    context = ssl.create_default_context(cafile=str(certificate[0]))
    # WHEN requests are exchanged
    results = _transport.exchange(
        origin_of(server.port, ssl_context=context), [request(f"/{i}") for i in range(4)], 2
    )
    # THEN the answers are whole
    assert [ok_body(r) for r in results] == [b"0123456789" * 20] * 4
    assert server.accepts == 2


def test_a_tls_handshake_that_never_completes_is_a_connect_timeout(
    serve: Callable[..., ScriptedServer], origin_of: Callable[..., _transport.Origin]
) -> None:
    # GIVEN a plain-HTTP server, which reads the client's TLS hello as the start of a request
    # head and waits for its end: the handshake never progresses
    server = serve()
    context = ssl.create_default_context()
    origin = origin_of(server.port, ssl_context=context, connect_timeout=0.3)
    # WHEN HTTPS requests go to it with a connect timeout of 0.3 s
    started = time.monotonic()
    results = _transport.exchange(origin, [request("/a"), request("/b")], 2)
    # THEN both are "connect-timeout" (the timeout covers connect and handshake) after ~0.3 s
    assert kinds(results) == ["connect-timeout", "connect-timeout"]
    assert 0.29 <= time.monotonic() - started < 1.5
    assert server.accepts == 2
    assert server.paths() == []


def test_https_with_an_untrusted_certificate_is_a_tls_error(
    certificate: tuple[Path, Path],
    serve: Callable[..., ScriptedServer],
    origin_of: Callable[..., _transport.Origin],
) -> None:
    # GIVEN an HTTPS server with a self-signed certificate the client's context does not trust
    server = serve(tls=server_context(certificate))
    origin = origin_of(server.port, ssl_context=ssl.create_default_context())
    # WHEN requests go to it
    results = _transport.exchange(origin, [request("/a"), request("/b"), request("/c")], 2)
    # THEN each is a "tls" error caused by the verification failure, and nothing was sent
    assert kinds(results) == ["tls", "tls", "tls"]
    for result in results:
        assert isinstance(result, _transport.TransportError)
        assert isinstance(result.cause, ssl.SSLCertVerificationError)
    assert server.paths() == []

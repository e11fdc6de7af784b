"""``broadcast`` against hostile ``@connections`` answers (issue 9, item 18): every answer that
is not a valid one becomes a per-id failure, as botocore reports it, never an exception out of
``broadcast`` and never a delivery.

Each case is served by a scripted raw-socket server on 127.0.0.1 (``scripted_server``), and
broadcast to through both paths: the fast path, and the boto3 client (the fall back), so that
the fast path's outcome is checked against what botocore itself makes of the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lambda_runtime import (
    BroadcastResult,
    Connections,
    ForbiddenError,
    LimitExceededError,
    ManagementApiError,
    _aws,
    _signed,
    _transport,
)

from .scripted_server import CLOSE, Action, Received, ScriptedServer, answer


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    _aws.clear_client_cache()
    yield
    _aws.clear_client_cache()


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Callable[[Received], list[Action]]) -> ScriptedServer:
        server = ScriptedServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_of(server: ScriptedServer) -> Any:
    """A boto3 client of the server as broadcast makes them (no retries), short timeouts."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{server.port}/s",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=5,
        ),
    )


def broadcast_both_ways(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, ids: list[str]
) -> tuple[BroadcastResult, BroadcastResult]:
    client = client_of(server)
    assert _signed.poster_for(client, 4) is not None  # the first run takes the fast path
    fast = Connections(client=client).broadcast(ids, "x", max_workers=4, max_attempts=1)
    with monkeypatch.context() as patched:
        patched.setattr(_signed, "poster_for", lambda client, max_workers: None)
        slow = Connections(client=client).broadcast(ids, "x", max_workers=4, max_attempts=1)
    return fast, slow


def head(status_line: bytes, *fields: bytes, body: bytes = b"") -> bytes:
    return b"\r\n".join([status_line, *fields]) + b"\r\n\r\n" + body


CLOSED = "ConnectionClosedError"
# Answers http.client (under urllib3, under botocore) refuses: botocore raises
# ConnectionClosedError for each, and so must the fast path.
REFUSED_BY_BOTH: dict[str, bytes] = {
    "non-ASCII digit in the status": head(b"HTTP/1.1 \xb200 OK", b"Content-Length: 0"),
    "status 000": head(b"HTTP/1.1 000 OK", b"Content-Length: 0"),
    "status 099": head(b"HTTP/1.1 099 OK", b"Content-Length: 0"),
    "status 1000": head(b"HTTP/1.1 1000 OK", b"Content-Length: 0"),
    "not HTTP": head(b"HTTX/1.1 200 OK", b"Content-Length: 0"),
    "100 KiB head": head(b"HTTP/1.1 200 OK", b"X-A: " + b"a" * 100 * 1024, b"Content-Length: 0"),
    "2,000 fields": head(
        b"HTTP/1.1 200 OK", *[b"X-%d: a" % i for i in range(2000)], b"Content-Length: 0"
    ),
}


@pytest.mark.parametrize("hostile", list(REFUSED_BY_BOTH), ids=list(REFUSED_BY_BOTH))
def test_answers_botocore_refuses_are_per_id_failures_on_both_paths(
    serve: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch, hostile: str
) -> None:
    # GIVEN a server that answers "bad=" with a hostile answer and everyone else 200
    def script(received: Received) -> list[Action]:
        if received.path.endswith("/bad%3D"):
            return [REFUSED_BY_BOTH[hostile], CLOSE]
        return [answer()]

    server = serve(script)
    # WHEN broadcasting to both, through the fast path and through the boto3 client
    fast, slow = broadcast_both_ways(server, monkeypatch, ["ok=", "bad="])
    # THEN "ok=" was delivered and "bad=" failed, with the code botocore gives it, both ways
    for result in (fast, slow):
        assert result.sent == ["ok="] and result.gone == [] and list(result.failed) == ["bad="]
        error = result.failed["bad="]
        assert type(error) is ManagementApiError
        assert (error.code, error.status, error.connection_id) == (CLOSED, None, "bad=")
    assert str(fast.failed["bad="]) == str(slow.failed["bad="])


# Answers botocore mishandles (counts as sent, waits for a read timeout, or raises TypeError
# from its own error factory): the fast path fails each id at once, with a typed error.
FAST_PATH_ONLY: dict[str, tuple[list[Action], str, type[Exception]]] = {
    "negative Content-Length": (
        [head(b"HTTP/1.1 200 OK", b"Content-Length: -5")],
        CLOSED,
        ManagementApiError,
    ),
    "signed Content-Length": (
        [head(b"HTTP/1.1 200 OK", b"Content-Length: +0"), CLOSE],
        CLOSED,
        ManagementApiError,
    ),
    "conflicting Content-Lengths": (
        [head(b"HTTP/1.1 200 OK", b"Content-Length: 0", b"Content-Length: 3", body=b"abc")],
        CLOSED,
        ManagementApiError,
    ),
    "negative chunk size": (
        [head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", body=b"-5\r\nabc\r\n0\r\n\r\n")],
        CLOSED,
        ManagementApiError,
    ),
    "endless chunk-size line": (
        [head(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked"), b"1" * 70_000, CLOSE],
        CLOSED,
        ManagementApiError,
    ),
    "__type is an object": (
        [answer(b'{"__type": {"a": 1}, "message": "m"}', status="403 No")],
        "403",
        ForbiddenError,
    ),
    "__type is a number": (
        [answer(b'{"__type": 5}', status="429 Slow")],
        "429",
        LimitExceededError,
    ),
    "code is a list": ([answer(b'{"code": ["x"]}', status="400 Bad")], "400", ManagementApiError),
    "message is an object": (
        [answer(b'{"message": {"x": 1}}', status="500 Oops")],
        "500",
        ManagementApiError,
    ),
    "JSON nested 100,000 deep": (
        [answer(b"[" * 100_000, status="502 Bad Gateway")],
        "502",
        ManagementApiError,
    ),
}


@pytest.mark.parametrize("hostile", list(FAST_PATH_ONLY), ids=list(FAST_PATH_ONLY))
def test_answers_botocore_mishandles_are_typed_per_id_failures_on_the_fast_path(
    serve: Callable[..., ScriptedServer], hostile: str
) -> None:
    actions, code, error_class = FAST_PATH_ONLY[hostile]

    def script(received: Received) -> list[Action]:
        return actions if received.path.endswith("/bad%3D") else [answer()]

    server = serve(script)
    # WHEN broadcasting through the fast path
    result = Connections(client=client_of(server)).broadcast(
        ["ok=", "bad="], "x", max_workers=2, max_attempts=1
    )
    # THEN only "bad=" failed, at once (no read timeout), with a typed error naming it
    assert result.sent == ["ok="] and list(result.failed) == ["bad="]
    error = result.failed["bad="]
    assert type(error) is error_class and isinstance(error, ManagementApiError)
    assert (error.code, error.connection_id) == (code, "bad=")
    str(error)  # printable, whatever the answer held


def test_botocore_itself_raises_type_error_for_a_non_string_code(
    serve: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (why the fast path does not copy botocore there: its error factory hashes the code)
    server = serve(lambda received: [answer(b'{"__type": {"a": 1}}', status="410 Gone")])
    fast, slow = broadcast_both_ways(server, monkeypatch, ["a="])
    assert fast.gone == ["a="]  # a 410 is gone, whatever its body says
    assert isinstance(slow.failed["a="], TypeError)  # still a per-id failure on that path


def test_a_defect_while_reading_one_answer_fails_that_id_only(
    serve: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a transport whose answer parser breaks on one answer (a stand-in for any defect)
    server = serve(
        lambda received: [answer(headers=["X-Break: 1"] if "bad" in received.path else [])]
    )
    original = _transport._AnswerParser._head

    def breaking(self: Any, text: str) -> None:
        if "X-Break" in text:
            raise RuntimeError("a defect")
        original(self, text)

    monkeypatch.setattr(_transport._AnswerParser, "_head", breaking)
    # WHEN broadcasting
    result = Connections(client=client_of(server)).broadcast(["a=", "bad=", "b="], "x")
    # THEN the others were delivered, and the broken one failed with the defect chained
    assert result.sent == ["a=", "b="] and list(result.failed) == ["bad="]
    error = result.failed["bad="]
    assert isinstance(error, ManagementApiError) and error.code == CLOSED
    assert isinstance(error.__cause__, _transport.TransportError)
    assert isinstance(error.__cause__.cause, RuntimeError)


def test_an_id_that_is_not_valid_utf8_fails_alone_on_both_paths(
    serve: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(lambda received: [answer()])
    fast, slow = broadcast_both_ways(server, monkeypatch, ["a=", "\ud800"])
    for result in (fast, slow):
        assert result.sent == ["a="]
        assert isinstance(result.failed["\ud800"], ValueError)


def test_transport_error_texts_are_botocores() -> None:
    # the fast path reports a failed request with the name and text of botocore's exception
    from botocore import exceptions

    for code, template in _signed.TRANSPORT_ERRORS.values():
        assert getattr(exceptions, code).fmt == template, code


# --- falling back to the client is said, once -----------------------------------------------


class RecordingClient:
    def __init__(self) -> None:
        self.posted: list[str] = []

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:
        self.posted.append(ConnectionId)


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == _signed.LOGGER_NAME and r.levelno == logging.WARNING
    ]


def test_a_fall_back_is_logged_once_as_a_warning_with_its_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=_signed.LOGGER_NAME)
    client = RecordingClient()
    connections = Connections("http://127.0.0.1:1/s", client=client)
    # WHEN broadcasting three times with a client the fast path cannot use
    for _ in range(3):
        assert connections.broadcast(["a=", "b="], "x").sent == ["a=", "b="]
    # THEN every post went through it, and one warning said why
    assert len(client.posted) == 6
    (warning,) = fallback_warnings(caplog)
    assert "RecordingClient, not a botocore client" in warning


def test_moto_mock_aws_fall_back_names_the_handler(caplog: pytest.LogCaptureFixture) -> None:
    from moto import mock_aws

    caplog.set_level(logging.WARNING, logger=_signed.LOGGER_NAME)
    with mock_aws():
        client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url="https://abc123defg.execute-api.us-east-1.amazonaws.com/prod",
        )
        assert Connections(client=client).broadcast(["a="], "x").sent == ["a="]
    (warning,) = fallback_warnings(caplog)
    assert "moto" in warning and "'before-send'" in warning and "must see every call" in warning


def test_the_fast_path_says_nothing(
    serve: Callable[..., ScriptedServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=_signed.LOGGER_NAME)
    server = serve(lambda received: [answer()])
    assert Connections(client=client_of(server)).broadcast(["a="], "x").sent == ["a="]
    assert fallback_warnings(caplog) == []

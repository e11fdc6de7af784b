"""The shared port's HTTP request parser."""

from __future__ import annotations

import pytest

from cdk_ws_api.local.exceptions import HttpParseError
from cdk_ws_api.local.httpparse import RequestParser, is_websocket_upgrade

POST = (
    b"POST /dev/@connections/abc%3D HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
    b"Authorization: AWS4-HMAC-SHA256 whatever\r\n\r\nhello"
)


def test_pipelined_and_partial_requests() -> None:
    parser = RequestParser()
    data = POST + b"GET /dev/@connections/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    requests = []
    for i in range(len(data)):  # one byte at a time
        requests += parser.feed(data[i : i + 1])
    assert [r.method for r in requests] == ["POST", "GET"]
    assert requests[0].body == b"hello" and requests[0].path == "/dev/@connections/abc%3D"
    assert requests[0].header("content-length") == "5" and requests[0].keep_alive
    assert not requests[1].keep_alive and requests[1].body == b""


def test_http10_closes_unless_keep_alive() -> None:
    (request,) = RequestParser().feed(b"GET / HTTP/1.0\r\n\r\n")
    assert not request.keep_alive


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: nope\r\n\r\n", 400),
        (b"BROKEN\r\n\r\n", 400),
        (b"GET / HTTP/2\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n", 413),
    ],
)
def test_errors(data: bytes, status: int) -> None:
    with pytest.raises(HttpParseError) as info:
        RequestParser().feed(data)
    assert info.value.status == status


def test_head_too_large() -> None:
    with pytest.raises(HttpParseError) as info:
        RequestParser().feed(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 20000)
    assert info.value.status == 431


def test_websocket_upgrade_detection() -> None:
    upgrade = b"GET /dev HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade"
    assert is_websocket_upgrade(upgrade)
    assert not is_websocket_upgrade(b"GET /dev HTTP/1.1\r\nHost: h")
    assert not is_websocket_upgrade(b"POST /dev HTTP/1.1\r\nUpgrade: websocket")
    assert not is_websocket_upgrade(b"garbage")

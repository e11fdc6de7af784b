"""Hostile input for the emulator's pure core (issue 9, items 10, 11, 14, 15, 16).

Property tests check the HTTP parser against ``h11`` (the reference implementation of RFC
9112 in Python) and route selection against any body; the listed inputs are the attack's.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_ws_api.local.exceptions import HttpParseError
from cdk_ws_api.local.gateway import _names_stage
from cdk_ws_api.local.httpparse import (
    HttpRequest,
    RequestParser,
    is_websocket_upgrade,
    upgrade_rejection,
)
from cdk_ws_api.local.management.urls import resolve, segments
from cdk_ws_api.local.router import escape_field
from cdk_ws_api.local.routing import select_route
from cdk_ws_api.local.unemulated import service_of

# -- item 14: RFC 9112 rules --------------------------------------------------------------

OK_HEAD = b"POST /dev/@connections/x HTTP/1.1\r\nHost: h\r\n"

#: (request bytes, status): each must be refused at once with that status.
REJECTED = [
    (b"POST /dev/@connections/x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400),  # no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),  # two Hosts
    (OK_HEAD + b"Content-Length: +5\r\n\r\nhello", 400),  # signed
    (OK_HEAD + b"Content-Length: -1\r\n\r\n", 400),  # negative
    (OK_HEAD + b"Content-Length: 0x10\r\n\r\n", 400),  # not digits
    (OK_HEAD + b"Content-Length: 1 0\r\n\r\n", 400),  # space inside
    (OK_HEAD + "Content-Length: ²\r\n\r\n".encode(), 400),  # a non-ASCII digit
    (OK_HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),  # conflicting
    (OK_HEAD + b"Content-Length: 5, 6\r\n\r\nhello!", 400),  # conflicting, one field
    (b"get /dev HTTP/1.1\r\nHost: h\r\n\r\n", 400),  # lower-case method
    (b"Post /dev HTTP/1.1\r\nHost: h\r\n\r\n", 400),  # mixed-case method
    (b"GET /dev HTTP/1.1\nHost: h\n\n", 400),  # bare LF
    (b"GET /dev HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400),  # bare CR
    (b"GET /dev HTTP/1.1\r\nHost : h\r\n\r\n", 400),  # space before the colon
    (b"GET /dev HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400),  # obs-fold
    (b"GET /dev HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400),  # NUL in a value
    ("GET /dév HTTP/1.1\r\nHost: h\r\n\r\n".encode(), 400),  # raw non-ASCII target
    (b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),  # space in the target
    (b"GET  /dev HTTP/1.1\r\nHost: h\r\n\r\n", 400),  # two spaces
    (b"GET /dev HTTP/1.1 \r\nHost: h\r\n\r\n", 400),  # trailing space
    (b"GET /dev HTTP/2\r\nHost: h\r\n\r\n", 505),
    (b"GET /dev FOO/1.1\r\nHost: h\r\n\r\n", 400),
    (OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
    (OK_HEAD + b"Content-Length: 131073\r\n\r\n", 413),  # one byte over, no body sent
    (OK_HEAD + b"Content-Length: 99999999999999999999\r\n\r\n", 413),
]


@pytest.mark.parametrize(("data", "status"), REJECTED)
def test_rfc9112_violations_are_refused_at_once(data: bytes, status: int) -> None:
    with pytest.raises(HttpParseError) as info:
        RequestParser().feed(data)
    assert info.value.status == status


def test_oversized_body_is_refused_from_the_head_in_aws_shape() -> None:
    with pytest.raises(HttpParseError) as info:
        RequestParser().feed(OK_HEAD + b"Content-Length: 8388608\r\n\r\n")
    assert (info.value.status, info.value.code) == (413, "PayloadTooLargeException")
    # Exactly the Data maximum is accepted.
    (request,) = RequestParser().feed(OK_HEAD + b"Content-Length: 131072\r\n\r\n" + b"x" * 131072)
    assert len(request.body) == 131072


def test_identical_content_lengths_are_one_length() -> None:
    data = OK_HEAD + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
    (request,) = RequestParser().feed(data)
    assert request.body == b"hello"
    (request,) = RequestParser().feed(OK_HEAD + b"Content-Length: 5, 5\r\n\r\nhello")
    assert request.body == b"hello"


def test_http10_needs_no_host() -> None:
    (request,) = RequestParser().feed(b"GET /dev HTTP/1.0\r\n\r\n")
    assert request.version == "HTTP/1.0"


def test_thousands_of_pipelined_requests_parse_in_linear_time() -> None:
    # Deleting each request's bytes from the buffer as it was parsed made this quadratic:
    # one chunk of 20,000 requests (1.3 MB) took seconds and stalled every client.
    one = b"GET /dev/@connections/abc HTTP/1.1\r\nHost: h\r\n\r\n"
    small, large = one * 2000, one * 20000
    parser = RequestParser()

    def cost(data: bytes) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            assert len(parser.feed(data)) == data.count(b"GET ")
            best = min(best, time.perf_counter() - started)
        return best

    # 10x the requests: linear is ~10x the time, quadratic ~100x. 40x leaves room for noise.
    assert cost(large) < 40 * cost(small)


# -- property tests against h11 -----------------------------------------------------------

# CONNECT asks h11 for a tunnel (no SDK sends it here; ours parses it as any method).
_token = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8).filter(
    lambda m: m != "CONNECT"
)
_name = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=1,
    max_size=12,
).filter(
    # Framing and connection-management fields are generated by the test itself.
    lambda n: (
        n.lower()
        not in ("host", "content-length", "transfer-encoding", "connection", "upgrade", "expect")
    )
)
_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(
    str.strip
)
_target = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
    lambda t: "/" + t
)


def _h11_requests(data: bytes) -> list[tuple[str, str, list[tuple[str, str]], bytes]]:
    """What h11 reads from ``data``; raises ``h11.RemoteProtocolError`` when it refuses."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    found: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
    body = b""
    head: Any = None
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
            return found
        if isinstance(event, h11.Request):
            head, body = event, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            headers = [(n.decode().lower(), v.decode("latin-1")) for n, v in head.headers]
            found.append((head.method.decode(), head.target.decode(), headers, body))
            connection.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            connection.send(h11.EndOfMessage())
            connection.start_next_cycle()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            _token,
            _target,
            st.lists(st.tuples(_name, _value), max_size=5),
            st.binary(max_size=64),
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=1, max_value=64),
)
def test_valid_requests_read_as_h11_reads_them(requests: list[Any], chunk: int) -> None:
    data = b""
    for method, target, headers, body in requests:
        head = f"{method} {target} HTTP/1.1\r\nHost: h\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers)
        data += head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    parser = RequestParser()
    parsed: list[HttpRequest] = []
    for start in range(0, len(data), chunk):  # split anywhere
        parsed += parser.feed(data[start : start + chunk])
    reference = _h11_requests(data)
    assert [(r.method, r.path, r.body) for r in parsed] == [
        (method, target, body) for method, target, _, body in reference
    ]
    for ours, theirs in zip(parsed, reference, strict=True):
        assert [(n.lower(), v) for n, v in ours.headers] == theirs[2]


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=200).map(lambda b: b"GET /dev HTTP/1.1\r\nHost: h\r\n" + b)
    | st.binary(max_size=200)
)
def test_whatever_bytes_arrive_the_parser_accepts_only_what_h11_accepts(data: bytes) -> None:
    # Never an exception other than HttpParseError, and nothing h11 would refuse.
    parser = RequestParser()
    try:
        parsed = parser.feed(data)
    except HttpParseError as error:
        assert error.status in (400, 413, 431, 501, 505)
        return
    if not parsed:
        return
    # h11 must accept the bytes of the requests we completed (the rest is still partial).
    reference = _h11_requests(data[: len(data) - parser.buffered])
    assert [(r.method, r.path, r.body) for r in parsed] == [(m, t, b) for m, t, _, b in reference]


# -- item 14: percent-decoding and stages -------------------------------------------------


@settings(max_examples=300)
@given(
    st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s),
    st.text(min_size=1, max_size=20),
    st.data(),
)
def test_percent_encoding_never_changes_the_stage_a_path_names(
    stage: str, connection_id: str, data: st.DataObject
) -> None:
    def encode(segment: str) -> str:
        # Any character may be percent-encoded (and "/" "?" "%" "#" must be).
        out = []
        for char in segment:
            must = char in "/?%# " or not char.isascii() or not char.isprintable()
            if must or data.draw(st.booleans()):
                out.append("".join(f"%{byte:02X}" for byte in char.encode()))
            else:
                out.append(char)
        return "".join(out)

    path = f"/{encode(stage)}/{encode('@connections')}/{encode(connection_id)}"
    route = resolve("GET", path, stages=(stage,))
    assert (route.stage, route.connection_id) == (stage, connection_id)
    assert _names_stage(f"/{encode(stage)}", stage)
    # Another stage is never reached through an encoded separator.
    with pytest.raises(Exception, match="Forbidden"):
        resolve("GET", f"/{encode(stage + '/x')}/@connections/id", stages=(stage, "x"))


@pytest.mark.parametrize(
    "target",
    [
        "//evil/dev/@connections/id",  # an empty first segment, not a host
        "/dev%2F..%2Fprod/@connections/id",
        "/prod/../dev/@connections/id",
        "*",
        "dev/@connections/id",
    ],
)
def test_targets_that_do_not_name_the_stage(target: str) -> None:
    with pytest.raises(Exception, match="Forbidden"):
        resolve("GET", target, stages=("dev", "prod"))


def test_absolute_form_target_names_its_path() -> None:
    assert segments("http://h:3001/dev/@connections/a%3D?x=1") == ["", "dev", "@connections", "a="]


# -- item 16: upgrades --------------------------------------------------------------------

KEY = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
UPGRADE = [("Host", "h"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([*UPGRADE, ("Sec-WebSocket-Version", "13")], 400),  # no key
        ([*UPGRADE, KEY], 400),  # no version
        ([*UPGRADE, ("Sec-WebSocket-Key", "short"), ("Sec-WebSocket-Version", "13")], 400),
        ([*UPGRADE, KEY, KEY, ("Sec-WebSocket-Version", "13")], 400),
        ([*UPGRADE, KEY, ("Sec-WebSocket-Version", "8")], 426),
        ([("Upgrade", "websocket"), KEY, ("Sec-WebSocket-Version", "13")], 400),
    ],
)
def test_invalid_upgrades_are_named(headers: list[tuple[str, str]], status: int) -> None:
    rejection = upgrade_rejection(headers)
    assert rejection is not None and rejection[0] == status


def test_valid_upgrade_passes() -> None:
    assert upgrade_rejection([*UPGRADE, KEY, ("Sec-WebSocket-Version", "13")]) is None


def test_upgrade_with_a_non_ascii_target_is_not_an_upgrade() -> None:
    # It goes to the HTTP channel, which answers 400 (websockets closed it silently).
    head = "GET /dév HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade".encode()
    assert not is_websocket_upgrade(head)
    with pytest.raises(HttpParseError) as info:
        RequestParser().feed(head + b"\r\n\r\n")
    assert info.value.status == 400


# -- item 10: route selection never raises ------------------------------------------------

ROUTES = ("$connect", "$disconnect", "$default", "send")


@pytest.mark.parametrize(
    "body",
    [
        "[" * 14000 + "]" * 14000,
        '{"action":' * 5000 + "1" + "}" * 5000,
        '{"a":' * 100000,
        "[" * 1000000,
    ],
)
def test_deeply_nested_bodies_route_to_default(body: str) -> None:
    assert select_route("$request.body.action", body, ROUTES) == "$default"
    assert select_route("${request.body.action}-v1", body, ROUTES) == "$default"


@settings(max_examples=300)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    ).map(json.dumps)
    | st.text(),
)
def test_any_body_selects_a_route_or_default(body: str) -> None:
    key = select_route("$request.body.action", body, ROUTES)
    assert key in ("send", "$default")
    parsed: Any = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(body)
    expected = "send" if isinstance(parsed, dict) and parsed.get("action") == "send" else None
    assert key == (expected or "$default")


# -- item 11: the credential scope is read in linear time ---------------------------------


def _signed(authorization: str) -> HttpRequest:
    return HttpRequest("POST", "/", "HTTP/1.1", [("Authorization", authorization)], b"")


def test_huge_authorization_header_is_read_in_linear_time() -> None:
    # The regex took 2 s for 65 KB and grew with the square of the length: for 512 KB it
    # took minutes. The linear read takes milliseconds; 5 s is a bound for a loaded machine.
    # Every "Credential=" made the regex scan the rest of the header: quadratic.
    for filler in ("Credential=" * 48000, "Credential=a/" * 43690, "a" * 524288):
        started = time.monotonic()
        assert service_of(_signed(filler)) == "unknown"
        assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("authorization", "service"),
    [
        ("AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sqs/aws4_request, S=1", "sqs"),
        ("AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/s3/aws4_request,S=1", "s3"),
        ("AWS4-HMAC-SHA256 Credential=AK/2026010/us-east-1/sqs/aws4_request", "unknown"),
        ("AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sqs/aws5_request", "unknown"),
        ("AWS4-HMAC-SHA256 Credential=AK/20260101//sqs/aws4_request", "unknown"),
        ("Credential=AK/\uff12\uff10\uff12\uff160101/us-east-1/sqs/aws4_request", "unknown"),
        ("", "unknown"),
    ],
)
def test_credential_scope(authorization: str, service: str) -> None:
    assert service_of(_signed(authorization)) == service


# -- item 15: access-log fields -----------------------------------------------------------


@settings(max_examples=300)
@given(st.text())
def test_escaped_fields_are_one_printable_token(value: str) -> None:
    escaped = escape_field(value)
    assert escaped.isascii() and escaped.isprintable()
    assert " " not in escaped and "\n" not in escaped
    # Distinct values stay distinct (no two ids log the same).
    if value and escaped != value:
        assert escaped.encode().decode("unicode_escape") == value


def test_connection_ids_log_unchanged() -> None:
    assert escape_field("BFHPhfCWIAMCKlQ=") == "BFHPhfCWIAMCKlQ="
    assert escape_field("abc\nMESSAGE    send forged 200 1ms") == (
        "abc\\nMESSAGE\\x20\\x20\\x20\\x20send\\x20forged\\x20200\\x201ms"
    )

"""Hostile HTTP clients against a real emulator on 127.0.0.1 (issue 9, items 8, 11, 13-17).

Each test is one attack from the review, bounded in count and time, against ``HostileStack``
(inline handlers, no table) served with ``--header-timeout 2``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from botocore.config import Config
from e2e_helpers import ROOT
from hostile_clients import RawHttp, gateway_rss_kib
from websockets.exceptions import InvalidStatus

from cdk_ws_api.testing import LocalProcess


def _request(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head.encode("latin-1") + b"\r\n" + body


# -- item 8: unfinished requests ---------------------------------------------------------


def test_slowloris_head_gets_408_and_is_closed(hostile: LocalProcess) -> None:
    client = RawHttp(hostile.management_url)
    started = time.monotonic()
    head = b"GET /h/@connections/x HTTP/1.1\r\nHost: h\r\nX-Slow: "
    try:
        for byte in head + b"a" * 40:  # one byte every 0.25 s: activity, never a full head
            client.send(bytes([byte]))
            time.sleep(0.25)
            if time.monotonic() - started > 8:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = client.answer(timeout=10)
    assert answer.status == 408
    client.closed_within(5)
    assert time.monotonic() - started < 2 + 8  # --header-timeout 2, generous margin


@pytest.mark.parametrize("first", [b"", b"GET /h/@connections/x HTTP/1.1\r\nHost: h\r\n"])
def test_silent_connection_is_closed(hostile: LocalProcess, first: bytes) -> None:
    client = RawHttp(hostile.management_url)
    client.send(first)
    started = time.monotonic()
    assert client.answer(timeout=15).status == 408
    client.closed_within(5)
    assert time.monotonic() - started < 12


def test_slow_body_counts_as_unfinished(hostile: LocalProcess) -> None:
    client = RawHttp(hostile.management_url)
    client.send(_request("POST", "/h/@connections/x", "Host: h", "Content-Length: 100") + b"x")
    assert client.answer(timeout=15).status == 408
    client.closed_within(5)


def test_kept_alive_connection_times_out_only_on_a_request_it_started(
    hostile: LocalProcess,
) -> None:
    client = RawHttp(hostile.management_url)
    for _ in range(3):  # idle gaps longer than the request timeout are fine between requests
        client.send(_request("GET", "/h/@connections/unknown%3D", "Host: h"))
        assert client.answer().status == 410
        time.sleep(2.5)
    client.send(b"GET /h/@conn")
    assert client.answer(timeout=15).status == 408


def test_bare_lf_request_is_refused_at_once(hostile: LocalProcess) -> None:
    client = RawHttp(hostile.management_url)
    client.send(b"GET /h/@connections/x HTTP/1.1\nHost: h\n\n")
    answer = client.answer(timeout=1.5)  # before any timeout could fire
    assert answer.status == 400
    client.closed_within(5)


def test_descriptor_exhaustion_refuses_cleanly_and_logs_once(hostile_assembly: Path) -> None:
    # The emulator starts with a soft limit of 64 and a hard limit of 160: it raises the soft
    # one to 160 at start; then ~200 clients hold every descriptor.
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 160))

    command = [sys.executable, "-m", "cdk_ws_api", "local", "--port", "0"]
    command += ["--assembly", str(hostile_assembly), "--header-timeout", "120"]
    process = subprocess.Popen(
        command,
        cwd=str(ROOT),
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=limits,
    )
    emulator = LocalProcess(process)
    held: list[RawHttp] = []
    try:
        emulator.wait_ready(120)
        limits_text = Path(f"/proc/{process.pid}/limits").read_text()
        assert re.search(r"Max open files\s+160\s+160", limits_text), limits_text
        refused = 0
        for _ in range(200):
            client = RawHttp(emulator.management_url, timeout=10)
            held.append(client)
        for client in held:  # the last ones were accepted only to be refused
            client.sock.settimeout(0.05)
            try:
                data = client.sock.recv(4096)
            except TimeoutError:
                continue
            if data.startswith(b"HTTP/1.1 503 "):
                refused += 1
        assert refused >= 200 - 160
        warnings = [line for line in emulator.lines if "out of file descriptors" in line]
        assert len(warnings) == 1, warnings
        assert "accept() out of system resource" not in emulator.log
        for client in held:
            client.close()
        held.clear()
        time.sleep(0.5)
        with emulator.connect() as ws:  # served again
            ws.send("{}")
            assert json.loads(ws.recv(timeout=30))["route"] == "$default"
    finally:
        for client in held:
            client.close()
        assert emulator.stop() == 0


# -- item 11: a huge Authorization header ------------------------------------------------


def test_huge_authorization_header_does_not_stall_other_clients(hostile: LocalProcess) -> None:
    # 64 KB: each "Credential=" made the old regex scan the rest (2 s per evaluation).
    authorization = "AWS4-HMAC-SHA256 " + "Credential=" * 5900
    answers: list[int] = []

    def attack() -> None:
        for _ in range(2):
            client = RawHttp(hostile.management_url)
            client.send(
                _request(
                    "POST", "/-no-local-service-/", "Host: h", f"Authorization: {authorization}"
                )
            )
            answers.append(client.answer().status)
            client.close()

    attacker = threading.Thread(target=attack)
    attacker.start()
    with hostile.connect() as ws:
        ws.send('{"action": "nothing"}')
        assert json.loads(ws.recv(timeout=30))["route"] == "$default"
    attacker.join(30)
    assert answers == [501, 501]
    hostile.wait_for_log(r"\(AWS\)\s+unknown 501")


# -- item 13: body limits and pipelined floods -------------------------------------------


def test_oversized_content_length_is_refused_before_the_body(hostile: LocalProcess) -> None:
    client = RawHttp(hostile.management_url)
    client.send(_request("POST", "/h/@connections/x", "Host: h", "Content-Length: 8388608"))
    answer = client.answer(timeout=5)  # no body byte sent
    assert answer.status == 413
    assert answer.headers["x-amzn-errortype"] == "PayloadTooLargeException"
    client.closed_within(5)


def test_oversized_post_is_payload_too_large_for_boto3(hostile: LocalProcess) -> None:
    management = hostile.management_client(Config(retries={"max_attempts": 1}))
    with pytest.raises(management.exceptions.PayloadTooLargeException):
        management.post_to_connection(ConnectionId="abc=", Data=b"x" * (200 * 1024))


def test_pipelined_flood_is_held_by_flow_control(hostile: LocalProcess) -> None:
    # 30,000 pipelined PostToConnection requests from a client with a small receive window
    # that reads nothing. The 410 answer names the id, so a 2 KiB id makes each answer 2 KiB:
    # 60 MiB of answers, far more than the kernel's send buffer (4 MiB) holds. The emulator
    # must stop reading once its answers back up, not hold them (before the fix: +60 MiB here).
    count, gone = 30000, "u" * 2048
    post = _request(
        "POST", f"/h/@connections/{gone}", "Host: h", "Content-Length: 16", body=b"x" * 16
    )
    flood = post * count
    pid = hostile.process.pid
    before = gateway_rss_kib(pid)
    flooder = RawHttp(hostile.management_url, rcvbuf=4096)
    sender = threading.Thread(target=lambda: _send_quietly(flooder, flood), daemon=True)
    sender.start()
    # Meanwhile another client is answered, again and again, and the emulator stays small.
    grown, slowest = 0, 0.0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        other = RawHttp(hostile.management_url)
        started = time.monotonic()
        other.send(_request("GET", "/h/@connections/other%3D", "Host: h"))
        assert other.answer(timeout=10).status == 410
        slowest = max(slowest, time.monotonic() - started)
        other.close()
        grown = max(grown, gateway_rss_kib(pid) - before)
        time.sleep(0.25)
    assert grown < 24 * 1024, f"the emulator grew by {grown} KiB"
    assert slowest < 5, f"another client waited {slowest:.1f}s"
    # Pipelining still works: the answers come in order as the flooder reads them.
    for _ in range(1000):
        answer = flooder.answer(timeout=30)
        assert answer.status == 410 and gone.encode() in answer.body
    flooder.sock.shutdown(socket.SHUT_RDWR)  # wakes the sender blocked in sendall()
    flooder.close()
    sender.join(30)
    assert not sender.is_alive()


def _send_quietly(client: RawHttp, data: bytes) -> None:
    try:
        client.sock.settimeout(60)
        client.sock.sendall(data)
    except OSError:
        pass


# -- item 14: RFC 9112 on the wire -------------------------------------------------------

REFUSED_ON_THE_WIRE = [
    _request("POST", "/h/@connections/x", "Content-Length: 1", body=b"x"),  # no Host
    _request("POST", "/h/@connections/x", "Host: h", "Content-Length: +1", body=b"x"),
    _request("POST", "/h/@connections/x", "Host: h", "Content-Length: 1x", body=b"x"),
    _request("POST", "/h/@connections/x", "Host: h", "Content-Length: 1", "Content-Length: 2"),
    _request("get", "/h/@connections/x", "Host: h"),
]


@pytest.mark.parametrize("data", REFUSED_ON_THE_WIRE)
def test_rfc9112_violations_get_400(hostile: LocalProcess, data: bytes) -> None:
    client = RawHttp(hostile.management_url)
    client.send(data)
    answer = client.answer(timeout=5)
    assert answer.status == 400
    client.closed_within(5)


@pytest.mark.parametrize(
    ("path", "status"), [("/h/@connections/unknown%3D", 410), ("/h", 426), ("/nowhere", 403)]
)
def test_head_answers_carry_no_body(hostile: LocalProcess, path: str, status: int) -> None:
    client = RawHttp(hostile.management_url)
    client.send(_request("HEAD", path, "Host: h") + _request("GET", path, "Host: h"))
    head = client.answer(head_only=True)
    assert int(head.headers["content-length"]) > 0  # the length a GET body would have
    get = client.answer()  # reads as the next answer only if the HEAD one had no body
    assert (get.status, json.loads(get.body)["message"] != "") == (status, True)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/%68/@connections/unknown%3D", 410),  # "h", percent-encoded: the same stage
        ("/h%2F..%2Fx/@connections/unknown%3D", 403),  # an encoded "/" is no separator
        ("//x/h/@connections/unknown%3D", 403),  # an empty segment, not a host
        ("/h/%40connections/unknown%3D", 410),
    ],
)
def test_percent_decoding_does_not_change_the_stage(
    hostile: LocalProcess, path: str, status: int
) -> None:
    client = RawHttp(hostile.management_url)
    client.send(_request("GET", path, "Host: h"))
    assert client.answer().status == status


# -- item 15: log injection --------------------------------------------------------------


def test_ids_in_the_access_log_cannot_forge_lines(hostile: LocalProcess) -> None:
    client = RawHttp(hostile.management_url)
    forged = "MESSAGE%20%20%20%20slow%20%20forged%20200%201ms"
    client.send(_request("GET", f"/h/@connections/abc%0A{forged}%0D%0A%1B[2J", "Host: h"))
    assert client.answer().status == 410
    line = hostile.wait_for_log(r"GET\s+@connections\s+abc\\n")
    assert "\\x1b[2J" in line
    assert not any("forged" in seen and seen.startswith("MESSAGE") for seen in hostile.lines)


# -- item 16: invalid upgrades -----------------------------------------------------------

UPGRADE = ("Host: h", "Upgrade: websocket", "Connection: Upgrade")
KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ((*UPGRADE, "Sec-WebSocket-Version: 13"), 400),
        ((*UPGRADE, KEY), 400),
        ((*UPGRADE, "Sec-WebSocket-Key: bm9wZQ==", "Sec-WebSocket-Version: 13"), 400),
        ((*UPGRADE, KEY, "Sec-WebSocket-Version: 7"), 426),
    ],
)
def test_invalid_upgrade_is_refused_before_connect_runs(
    hostile: LocalProcess, headers: tuple[str, ...], status: int
) -> None:
    invoked = sum("connect invoked" in line for line in hostile.lines)
    client = RawHttp(hostile.ws_url)
    client.send(_request("GET", "/h", *headers))
    answer = client.answer()
    assert answer.status == status
    if status == 426:
        assert answer.headers["sec-websocket-version"] == "13"
    hostile.wait_for_log(rf"CONNECT\s+\$connect\s+- {status} ")
    time.sleep(0.3)
    assert sum("connect invoked" in line for line in hostile.lines) == invoked


def test_upgrade_with_raw_non_ascii_target_gets_400(hostile: LocalProcess) -> None:
    client = RawHttp(hostile.ws_url)
    client.send(
        "GET /h?name=é HTTP/1.1\r\n".encode()
        + "\r\n".join((*UPGRADE, KEY)).encode()
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert client.answer(timeout=5).status == 400
    client.closed_within(5)


# -- item 17: invalid $connect statuses --------------------------------------------------


@pytest.mark.parametrize("status", [0, 101, 600, 99])
def test_invalid_connect_status_gives_500(hostile: LocalProcess, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        hostile.connect(f"status={status}")
    assert info.value.response.status_code == 500
    hostile.wait_for_log(r"CONNECT\s+\$connect\s+\S+ 500 ")
    assert "Traceback" not in hostile.log


@pytest.mark.parametrize("status", [302, 401, 429, 599])
def test_rejection_statuses_pass_through(hostile: LocalProcess, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        hostile.connect(f"status={status}")
    assert info.value.response.status_code == status

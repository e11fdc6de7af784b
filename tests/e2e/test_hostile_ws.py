"""Hostile WebSocket clients against a real emulator on 127.0.0.1 (issue 9, items 9, 10, 12).

A client that never reads, a flood of messages for a slow handler, a deeply nested body:
each bounded in count and time, against ``HostileStack`` (see ``conftest.hostile``).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from pathlib import Path

from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from hostile_clients import address, gateway_rss_kib, masked_text_frame, raw_websocket

from cdk_ws_api.testing import LocalProcess


def _management(emulator: LocalProcess, *, read_timeout: float = 10) -> object:
    return emulator.management_client(
        Config(retries={"max_attempts": 1}, read_timeout=read_timeout)
    )


def _connected_id(emulator: LocalProcess, seen: int) -> str:
    """The id of the connection opened after the first ``seen`` CONNECT lines."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = [
            line for line in emulator.lines if re.search(r"CONNECT\s+\$connect\s+\S+ 200", line)
        ]
        if len(lines) > seen:
            return lines[seen].split("CONNECT", 1)[1].split()[1]
        time.sleep(0.05)
    raise AssertionError("no CONNECT line")


def _connects(emulator: LocalProcess) -> int:
    return sum(bool(re.search(r"CONNECT\s+\$connect\s+\S+ 200", line)) for line in emulator.lines)


# -- item 9: a client that never reads ----------------------------------------------------


def test_posts_to_a_client_that_never_reads_are_answered_promptly(hostile: LocalProcess) -> None:
    seen = _connects(hostile)
    client, _ = raw_websocket(hostile.ws_url, "/h", rcvbuf=4096)
    connection_id = _connected_id(hostile, seen)
    management = _management(hostile)
    data = b"x" * (128 * 1024)
    gone = None
    for sent in range(200):  # 25 MiB at most; each post answered within its 10 s timeout
        try:
            management.post_to_connection(ConnectionId=connection_id, Data=data)  # type: ignore[attr-defined]
        except management.exceptions.GoneException:  # type: ignore[attr-defined]
            gone = sent
            break
    assert gone is not None, "200 posts of 128 KiB were all buffered"
    line = hostile.wait_for_log(rf"\] disconnect {re.escape(connection_id)} 1008 ", timeout=30)
    assert "Output buffer full" in line
    client.close()


def test_delete_of_a_client_that_never_reads_closes_and_disconnects(hostile: LocalProcess) -> None:
    seen = _connects(hostile)
    client, _ = raw_websocket(hostile.ws_url, "/h", rcvbuf=4096)
    connection_id = _connected_id(hostile, seen)
    ends = (address(hostile.ws_url)[1], client.sock.getsockname()[1])
    # Fill the kernel's buffers, then the emulator's own: post 128 KiB until the kernel's send
    # queue stops growing (the last frame waits in the emulator) or a post is no longer
    # answered promptly (before the fix: it waited on the drain). Below the 1 MiB bound.
    management = _management(hostile, read_timeout=3)
    data = b"y" * (128 * 1024)
    queued = 0
    for _ in range(40):
        try:
            management.post_to_connection(ConnectionId=connection_id, Data=data)  # type: ignore[attr-defined]
        except ReadTimeoutError:
            break
        now = _send_queue(*ends)
        if now <= queued:
            break
        queued = now
    else:
        raise AssertionError(f"40 posts of 128 KiB, the kernel queue still grows ({queued} B)")
    _management(hostile).delete_connection(ConnectionId=connection_id)  # type: ignore[attr-defined]
    started = time.monotonic()
    # The client still reads nothing: the emulator must close without the drain (aborting
    # the TCP connection), and run $disconnect (before the fix: open forever, no $disconnect).
    while _send_queue(*ends, held=True) >= 0:
        assert time.monotonic() - started < 30, "the emulator still holds the socket after 30 s"
        time.sleep(0.1)
    hostile.wait_for_log(rf"\] disconnect {re.escape(connection_id)} \d+ ", timeout=30)
    client.close()


def _send_queue(server_port: int, client_port: int, *, held: bool = False) -> int:
    """Bytes queued in the kernel by the emulator's socket to ``client_port`` (from
    /proc/net/tcp); -1 once there is none that the emulator holds open (``held``: orphaned
    sockets, closed by the process while the kernel still sends, do not count)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) != server_port:
            continue
        if int(remote.split(":")[1], 16) != client_port:
            continue
        if held and inode == "0":
            continue
        return int(fields[4].split(":")[0], 16)
    return -1


# -- item 10: deep nesting ---------------------------------------------------------------


def test_deeply_nested_body_routes_to_default(hostile: LocalProcess) -> None:
    with hostile.connect() as ws:
        for body in ("[" * 14000, '{"action":' * 2900 + "1" + "}" * 2900):
            ws.send(body)
            assert json.loads(ws.recv(timeout=30)) == {"route": "$default", "size": len(body)}


# -- item 12: a flood of messages for a slow handler --------------------------------------


def test_message_flood_is_bounded_and_dropped_when_the_client_leaves(hostile: LocalProcess) -> None:
    seen = _connects(hostile)
    client, _ = raw_websocket(hostile.ws_url, "/h")
    connection_id = _connected_id(hostile, seen)
    before = gateway_rss_kib(hostile.process.pid)
    pad = "p" * 30_000
    frames = [masked_text_frame(json.dumps({"action": "slow", "seq": 0, "seconds": 3}))]
    frames += [
        masked_text_frame(json.dumps({"action": "slow", "seq": i, "pad": pad}))
        for i in range(1, 1001)
    ]

    def flood() -> None:
        # Stops once TCP has held it back for 2 s: the emulator stopped reading.
        try:
            client.sock.settimeout(2)
            for frame in frames:
                client.sock.sendall(frame)
        except OSError:
            pass

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    hostile.wait_for_log(r"\] slow 0$", timeout=30)
    time.sleep(2)  # the first message is in its handler, the rest wait
    grown = gateway_rss_kib(hostile.process.pid) - before
    assert grown < 24 * 1024, f"the gateway grew by {grown} KiB for one connection's queue"
    sender.join(60)
    assert not sender.is_alive()
    # The client leaves (a reset) while messages wait.
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sock.close()
    dropped = hostile.wait_for_log(
        rf"dropped \d+ queued message\(s\) of closed connection {re.escape(connection_id)}",
        timeout=30,
    )
    hostile.wait_for_log(rf"\] disconnect {re.escape(connection_id)} 1006 ", timeout=30)
    time.sleep(1)
    ran = [line for line in hostile.lines if re.search(r"\] slow \d+$", line)]
    handled = [
        line
        for line in hostile.lines
        if re.search(rf"MESSAGE\s+slow\s+{re.escape(connection_id)} ", line)
    ]
    # The one in its handler finished, and at most the next one; the queue (16) was dropped.
    assert len(handled) <= 3, handled
    assert int(re.search(r"dropped (\d+)", dropped).group(1)) >= 1  # type: ignore[union-attr]
    assert len(ran) <= 3

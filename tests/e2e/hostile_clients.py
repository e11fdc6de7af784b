"""Raw clients for the hostile-client tests: every byte on the wire is the test's own."""

from __future__ import annotations

import base64
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "Answer",
    "RawHttp",
    "address",
    "gateway_rss_kib",
    "masked_text_frame",
    "raw_websocket",
]


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def gateway_rss_kib(pid: int) -> int:
    """Resident memory of the emulator's own process (not its workers), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    raw_head: bytes = field(default=b"", repr=False)


class RawHttp:
    """One TCP connection to the emulator's port."""

    def __init__(self, url: str, *, timeout: float = 15, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect(), so the window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(address(url))
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, *, head_only: bool = False, timeout: float = 15) -> Answer:
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"closed before an answer; got {self.buffer!r}")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = Answer(int(lines[0].split(" ")[1]), headers, raw_head=head)
        if head_only:
            return answer
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        answer.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return answer

    def closed_within(self, seconds: float) -> float:
        """Seconds until the server closes (reading and dropping whatever comes first)."""
        started = time.monotonic()
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(65536):
                if time.monotonic() - started > seconds:
                    raise AssertionError(f"still open after {seconds}s")
        except (ConnectionResetError, BrokenPipeError):
            pass
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open for {seconds}s") from None
        return time.monotonic() - started

    def close(self) -> None:
        self.sock.close()


def raw_websocket(url: str, path: str, *, rcvbuf: int | None = None) -> tuple[RawHttp, str]:
    """A WebSocket connection opened by hand (101 read), that then reads nothing unless the
    test does; returns the client and the server's 101 head."""
    client = RawHttp(url, rcvbuf=rcvbuf)
    key = base64.b64encode(os.urandom(16)).decode()
    host, port = address(url)
    client.send(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = client.answer(head_only=True, timeout=30)
    assert answer.status == 101, answer
    return client, answer.raw_head.decode("latin-1")


def masked_text_frame(text: str) -> bytes:
    """One client text frame (FIN, masked, as RFC 6455 requires of clients)."""
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    return header + mask + masked

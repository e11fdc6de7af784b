"""A raw-socket HTTP/1.1 server on 127.0.0.1 whose every answer a test scripts (byte for byte,
in how many writes, and when a connection is closed, reset or left silent).

It records what it observed (accepted connections, every request it read, on which connection),
so a test checks both what the client returned and what went over the wire.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CLOSE = "close"  # close the connection (FIN) without answering further
RESET = "reset"  # close the connection with a RST (SO_LINGER 0)
HANG = "hang"  # neither answer nor close (nor read) until the server stops
# What a script does after reading a request: send bytes, sleep seconds, or one of the above.
Action = bytes | float | str


@dataclass(frozen=True)
class Received:
    """A request the server read: on which connection (accept order) and its rank on it."""

    connection: int
    number: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def answer(body: bytes = b"", *, status: str = "200 OK", headers: Sequence[str] = ()) -> bytes:
    """An HTTP/1.1 answer with a Content-Length."""
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def echo(received: Received) -> list[Action]:
    """Answer 200 with the request's path as body and the connection's number in a header."""
    return [answer(received.path.encode(), headers=[f"X-Connection: {received.connection}"])]


def dribble(data: bytes, pause: float = 0.0002) -> list[Action]:
    """``data`` one byte per TCP write, with a pause after each."""
    actions: list[Action] = []
    for i in range(len(data)):
        actions += [data[i : i + 1], pause]
    return actions


class ScriptedServer:
    """HTTP/1.1 on 127.0.0.1; ``script(request)`` says what to do after reading each request.

    ``tls``: a server-side context to wrap every accepted socket with (HTTPS).
    """

    def __init__(
        self,
        script: Callable[[Received], Sequence[Action]] = echo,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.script = script
        self.tls = tls
        self.accepts = 0
        self.received: list[Received] = []
        self.tls_failures: list[BaseException] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self._connections: dict[int, socket.socket] = {}
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def paths(self) -> list[tuple[int, str]]:
        """(connection, path) of every request read, in order."""
        with self.lock:
            return [(r.connection, r.path) for r in self.received]

    def close_connection(self, number: int) -> None:
        """Close (FIN) the server side of accepted connection ``number``."""
        with self.lock:
            sock = self._connections[number]
        # The plain socket's shutdown, also for an SSLSocket: the serving thread closes it.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        with self.lock:
            connections = list(self._connections.values())
        for sock in connections:
            with contextlib.suppress(OSError):  # already closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _accept_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                number = self.accepts
                self.accepts += 1
                self._connections[number] = sock
            threading.Thread(target=self._serve, args=(number, sock), daemon=True).start()

    def _serve(self, number: int, sock: socket.socket) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except OSError as exc:
                    self.tls_failures.append(exc)
                    return
                with self.lock:
                    self._connections[number] = sock
            self._requests(number, sock)
        except OSError:
            pass  # the client went away
        finally:
            sock.close()

    def _requests(self, number: int, sock: socket.socket) -> None:
        buffer = bytearray()
        count = 0
        while True:
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
            end = buffer.index(b"\r\n\r\n")
            lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            del buffer[: end + 4]
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(buffer) < length:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
            body = bytes(buffer[:length])
            del buffer[:length]
            received = Received(number, count, method, path, headers, body)
            count += 1
            with self.lock:
                self.received.append(received)
            for action in self.script(received):
                if isinstance(action, bytes):
                    sock.sendall(action)
                elif isinstance(action, float):
                    time.sleep(action)
                elif action == CLOSE:
                    return
                elif action == RESET:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                elif action == HANG:
                    self.stopped.wait()
                    return
                else:
                    raise AssertionError(f"unknown action {action!r}")


def request(path: str, body: bytes = b"") -> bytes:
    """The complete bytes of a POST of ``body`` to ``path``."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

"""File descriptors: the emulator's open-files limit, and what it does when they run out.

- :func:`raise_open_files_limit` (called when the gateway starts): the soft ``RLIMIT_NOFILE``
  is raised to the hard limit. Distributions default the soft limit to 1,024, which 500
  held WebSocket clients and their ``@connections`` callers use up; the hard limit is the
  ceiling the administrator set, so raising to it needs no privilege.
- :class:`AcceptGuard`: once every descriptor is used, asyncio's ``accept()`` fails with
  ``EMFILE``; asyncio logs "socket.accept() out of system resource" (every second), stops
  accepting for a second and retries, while the clients wait in the backlog, unanswered.
  The guard keeps one descriptor in reserve; when the loop reports that failure (through
  the loop's exception handler: the context's ``exception`` and ``socket``, both
  documented keys) it frees the reserve, accepts the waiting clients one at a time and
  answers each ``503 Service Unavailable`` before closing it, then takes the reserve back.
  It logs one warning per exhaustion episode (the next accepted connection ends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import socket
from collections.abc import Iterable
from typing import Any

__all__ = ["REFUSAL", "AcceptGuard", "raise_open_files_limit"]

logger = logging.getLogger("cdk_ws_api.local")

_BODY = b'{"message":"Service Unavailable: the emulator is out of file descriptors"}'
#: What a client accepted while descriptors are exhausted receives before the close.
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(_BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + _BODY
)
#: Clients refused per report of the loop (it reports again a second later if more wait).
_REFUSE_BATCH = 256


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one; returns the (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if target == resource.RLIM_INFINITY:
        # Linux refuses RLIM_INFINITY for RLIMIT_NOFILE: the real ceiling is fs.nr_open.
        try:
            with open("/proc/sys/fs/nr_open") as ceiling:
                target = int(ceiling.read())
        except (OSError, ValueError):
            target = soft
    if soft != resource.RLIM_INFINITY and target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return None


class AcceptGuard:
    """Refuses clients cleanly (503) while the process has no descriptor left."""

    def __init__(self, loop: asyncio.AbstractEventLoop, listeners: Iterable[Any]) -> None:
        self._loop = loop
        # Our own handles on the listening sockets (dup'ed: asyncio's stay its own).
        self._listeners = {
            item.fileno(): socket.fromfd(item.fileno(), item.family, item.type)
            for item in listeners
        }
        for listener in self._listeners.values():
            listener.setblocking(False)
        self._spare = _reserve()
        self._exhausted = False
        self.refused = 0
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self._on_exception)

    def accepted(self) -> None:
        """A connection was accepted: the exhaustion episode, if any, is over."""
        self._exhausted = False

    def close(self) -> None:
        if self._loop.get_exception_handler() == self._on_exception:
            self._loop.set_exception_handler(self._previous)
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    def _on_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        sock = context.get("socket")
        listener = self._listeners.get(sock.fileno()) if sock is not None else None
        if (
            listener is not None
            and isinstance(exc, OSError)
            and exc.errno in (errno.EMFILE, errno.ENFILE)
        ):
            self._refuse(listener)
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def _refuse(self, listener: socket.socket) -> None:
        if not self._exhausted:
            self._exhausted = True
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            logger.warning(
                "out of file descriptors (limit %d): new connections are refused with 503 "
                "until some close",
                soft,
            )
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None
        for _ in range(_REFUSE_BATCH):
            try:
                client, _address = listener.accept()
            except OSError:  # none waiting (EAGAIN), or still no descriptor
                break
            with contextlib.suppress(OSError):
                client.setblocking(False)
                client.send(REFUSAL)
                client.shutdown(socket.SHUT_WR)
                # Read what the client already sent: closing with unread bytes would send
                # a reset, and a reset can destroy the 503 before the client reads it.
                client.recv(65536)
            client.close()
            self.refused += 1
        self._spare = _reserve()

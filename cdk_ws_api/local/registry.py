"""The connections of the emulated API and their lifecycle (pure: no I/O, no asyncio).

A connection is ``CONNECTING`` while its authorizer and ``$connect`` run (API Gateway answers
410 to ``@connections`` calls on it then), ``OPEN`` after the handshake, and is removed when
closed. :meth:`Registry.require_open` is what the management API calls: an unknown, closing or
not-yet-open id raises :class:`GoneException`, never invents a connection.
"""

from __future__ import annotations

import base64
import enum
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .exceptions import GoneException

__all__ = ["Connection", "ConnectionState", "Registry", "new_aws_id"]


def new_aws_id() -> str:
    """An id in API Gateway's format (``BFHPhfCWIAMCKlQ=``): 11 random bytes, URL-safe
    base64, so it ends with one ``=`` that clients must URL-encode in ``@connections`` paths."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


class ConnectionState(enum.Enum):
    CONNECTING = "CONNECTING"
    OPEN = "OPEN"
    CLOSING = "CLOSING"


@dataclass
class Connection:
    """One client connection as API Gateway tracks it.

    ``authorizer`` is the ``requestContext.authorizer`` value (``principalId`` + context) that
    every event of the connection repeats; ``last_active_at`` moves on every frame in either
    direction (``GetConnection``'s ``LastActiveAt`` and the idle timeout read it).
    """

    connection_id: str
    connected_at: int
    source_ip: str
    user_agent: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    authorizer: dict[str, Any] | None = None
    state: ConnectionState = ConnectionState.CONNECTING
    last_active_at: int = 0
    messages_in: int = 0
    #: Messages received from the client (a fragmented message counts once) and frames
    #: sent to it (a message over 32 KiB goes out as several); shown by the console.
    frames_in: int = 0
    frames_out: int = 0

    def __post_init__(self) -> None:
        if not self.last_active_at:
            self.last_active_at = self.connected_at


def _now_ms() -> int:
    return int(time.time() * 1000)


class Registry:
    """All live connections by id. ``clock`` returns epoch milliseconds (injectable for tests)."""

    def __init__(self, clock: Callable[[], int] = _now_ms) -> None:
        self._clock = clock
        self._connections: dict[str, Connection] = {}

    def __len__(self) -> int:
        return len(self._connections)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._connections.values()))

    def now(self) -> int:
        return self._clock()

    def create(
        self,
        *,
        source_ip: str,
        user_agent: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> Connection:
        """Register a new ``CONNECTING`` connection with a fresh id."""
        connection_id = new_aws_id()
        while connection_id in self._connections:
            connection_id = new_aws_id()
        connection = Connection(
            connection_id=connection_id,
            connected_at=self._clock(),
            source_ip=source_ip,
            user_agent=user_agent,
            headers=list(headers or []),
            query=list(query or []),
        )
        self._connections[connection_id] = connection
        return connection

    def get(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    def open(self, connection_id: str) -> Connection:
        """Mark a connection open once its handshake succeeded."""
        connection = self._connections[connection_id]
        connection.state = ConnectionState.OPEN
        connection.last_active_at = self._clock()
        return connection

    def closing(self, connection_id: str) -> Connection | None:
        """Mark a connection as closing: from now on ``@connections`` answers 410 for it."""
        connection = self._connections.get(connection_id)
        if connection is not None:
            connection.state = ConnectionState.CLOSING
        return connection

    def remove(self, connection_id: str) -> Connection | None:
        return self._connections.pop(connection_id, None)

    def touch(self, connection_id: str) -> None:
        """Record activity (a frame in either direction)."""
        connection = self._connections.get(connection_id)
        if connection is not None:
            connection.last_active_at = self._clock()

    def require_open(self, connection_id: str) -> Connection:
        """The open connection ``connection_id``; raises :class:`GoneException` otherwise."""
        connection = self._connections.get(connection_id)
        if connection is None or connection.state is not ConnectionState.OPEN:
            raise GoneException(f"connection {connection_id} is gone")
        return connection

    def idle(self, *, idle_ms: int, max_ms: int) -> list[tuple[Connection, str]]:
        """Open connections past the idle timeout or the maximum duration, with the reason."""
        now = self._clock()
        expired: list[tuple[Connection, str]] = []
        for connection in self._connections.values():
            if connection.state is not ConnectionState.OPEN:
                continue
            if now - connection.connected_at >= max_ms:
                expired.append((connection, "max-duration"))
            elif now - connection.last_active_at >= idle_ms:
                expired.append((connection, "idle"))
        return expired

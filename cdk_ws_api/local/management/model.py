"""The ``@connections`` operations over the connection registry (state, no wire format).

The gateway is reached through the :class:`ConnectionSink` protocol so this module has no
socket code: ``PostToConnection`` checks the connection is open and the size limit, then
asks the sink to send a frame; ``DeleteConnection`` marks it closing (later calls get 410)
and asks the sink to close it, which runs ``$disconnect``.
"""

from __future__ import annotations

from typing import Protocol

from ..exceptions import PayloadTooLargeException
from ..options import MESSAGE_BYTES
from ..registry import Connection, Registry

__all__ = ["MAX_POST_BYTES", "ConnectionSink", "ManagementBackend"]

#: ``Data`` max of the service model (128 KiB).
MAX_POST_BYTES = MESSAGE_BYTES


class ConnectionSink(Protocol):
    """What the data plane offers the management API."""

    async def send(self, connection_id: str, data: bytes) -> None:
        """Send ``data`` as one message (text if UTF-8, else binary)."""

    async def disconnect(self, connection_id: str) -> None:
        """Close the connection from the server side (``DeleteConnection``)."""


class ManagementBackend:
    def __init__(self, registry: Registry, sink: ConnectionSink) -> None:
        self.registry = registry
        self.sink = sink

    async def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Raises :class:`GoneException` (unknown, closing, in ``$connect``) or
        :class:`PayloadTooLargeException`."""
        if len(data) > MAX_POST_BYTES:
            raise PayloadTooLargeException(
                f"Message too long: {len(data)} bytes (maximum {MAX_POST_BYTES})"
            )
        self.registry.require_open(connection_id)
        await self.sink.send(connection_id, data)

    def get_connection(self, connection_id: str) -> Connection:
        return self.registry.require_open(connection_id)

    async def delete_connection(self, connection_id: str) -> None:
        self.registry.require_open(connection_id)
        self.registry.closing(connection_id)
        await self.sink.disconnect(connection_id)

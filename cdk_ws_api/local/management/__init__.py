"""The ``@connections`` management API of the emulated stage, laid out like an emulated AWS
service: :mod:`.urls` (routing), :mod:`.model` (state), :mod:`.responses` (wire format).

:class:`ManagementApi` is the only entry the HTTP shell calls: one request in, one
:class:`HttpResponse` out, every failure already rendered in AWS's error shape.
"""

from __future__ import annotations

from ..exceptions import ManagementApiError
from ..registry import Registry
from .model import MAX_POST_BYTES, ConnectionSink, ManagementBackend
from .responses import HttpResponse, empty, error_response, get_connection_response
from .urls import is_management_path, resolve, segments

__all__ = [
    "MAX_POST_BYTES",
    "ConnectionSink",
    "HttpResponse",
    "ManagementApi",
    "is_management_path",
    "segments",
]


class ManagementApi:
    def __init__(self, registry: Registry, sink: ConnectionSink, *, stages: tuple[str, ...]):
        self.backend = ManagementBackend(registry, sink)
        self.stages = stages

    async def handle(self, method: str, path: str | list[str], body: bytes) -> HttpResponse:
        """Answer one request; ``path`` is the request target or its ``urls.segments``."""
        try:
            route = resolve(method, path, stages=self.stages)
            if route.operation == "PostToConnection":
                await self.backend.post_to_connection(route.connection_id, body)
                return empty(200)
            if route.operation == "GetConnection":
                return get_connection_response(self.backend.get_connection(route.connection_id))
            await self.backend.delete_connection(route.connection_id)
            return empty(204)
        except ManagementApiError as error:
            return error_response(error)

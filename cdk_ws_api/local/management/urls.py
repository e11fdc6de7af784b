"""``@connections`` URL routing: which operation a method and path name (pure).

boto3 sends ``{METHOD} /{stage}/@connections/{url-encoded id}``; ids end with ``=`` so they
arrive as ``%3D`` and are URL-decoded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..exceptions import BadRequestException, ForbiddenException

__all__ = ["OPERATIONS", "Route", "is_management_path", "resolve"]

#: HTTP method → AWS operation name (service model ``apigatewaymanagementapi``).
OPERATIONS = {
    "POST": "PostToConnection",
    "GET": "GetConnection",
    "DELETE": "DeleteConnection",
}


@dataclass(frozen=True)
class Route:
    operation: str
    stage: str
    connection_id: str


def is_management_path(path: str) -> bool:
    """Whether ``path`` looks like ``/{stage}/@connections/...`` (before any validation)."""
    parts = urlsplit(path).path.split("/")
    return len(parts) >= 3 and parts[2] == "@connections"


def resolve(method: str, path: str, *, stages: tuple[str, ...]) -> Route:
    """The operation for ``method path``.

    Raises :class:`ForbiddenException` when the path is not an ``@connections`` path of one of
    ``stages`` (API Gateway's answer to unknown paths) and :class:`BadRequestException` for
    other methods or an empty id.
    """
    parts = urlsplit(path).path.split("/")
    if len(parts) != 4 or parts[0] != "" or parts[2] != "@connections":
        raise ForbiddenException("Forbidden")
    stage = unquote(parts[1])
    if stage not in stages:
        raise ForbiddenException("Forbidden")
    connection_id = unquote(parts[3])
    if not connection_id:
        raise BadRequestException("Invalid connectionId")
    operation = OPERATIONS.get(method.upper())
    if operation is None:
        raise BadRequestException(f"Unsupported method {method}")
    return Route(operation, stage, connection_id)

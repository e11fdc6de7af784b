"""``@connections`` URL routing: which operation a method and path name (pure).

boto3 sends ``{METHOD} /{stage}/@connections/{url-encoded id}``; ids end with ``=`` so they
arrive as ``%3D`` and are URL-decoded here. Other SDKs (and signing libraries) percent-encode
the ``@`` as ``%40``; API Gateway accepts both spellings, so segments are compared decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from ..exceptions import BadRequestException, ForbiddenException

__all__ = [
    "CONNECTIONS_SEGMENT",
    "OPERATIONS",
    "Route",
    "is_management_path",
    "resolve",
    "segments",
    "target_path",
]

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


#: The path segment after the stage on the @connections endpoint (the router mounts on it).
CONNECTIONS_SEGMENT = "@connections"


def target_path(target: str) -> str:
    """The path of a request target (origin-form ``/p?q`` or absolute-form
    ``http://h/p?q``), still percent-encoded; ``""`` for the other forms (``*``, ``h:443``).

    Not ``urlsplit``: it reads ``//x/dev/...`` (an origin-form path whose first segment is
    empty) as host ``x`` and path ``/dev/...``, so such a target would name stage ``dev``.
    """
    if target.startswith("/"):
        return target.partition("?")[0]
    scheme, sep, rest = target.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        slash = rest.find("/")
        return rest[slash:].partition("?")[0] if slash >= 0 else "/"
    return ""


def segments(path: str) -> list[str]:
    """The decoded segments of a request target's path (``""`` first for a leading ``/``).

    Split first, then decode each segment: percent-decoding never changes which stage (or
    id) a segment names, and an encoded ``/`` (``%2F``) stays inside its segment.
    """
    return [unquote(part) for part in target_path(path).split("/")]


def is_management_path(path: str | list[str]) -> bool:
    """Whether ``path`` (or its :func:`segments`) looks like ``/{stage}/@connections/...``
    (before any validation)."""
    parts = segments(path) if isinstance(path, str) else path
    return len(parts) >= 3 and parts[2] == CONNECTIONS_SEGMENT


def resolve(method: str, path: str | list[str], *, stages: tuple[str, ...]) -> Route:
    """The operation for ``method path``.

    Raises :class:`ForbiddenException` when the path is not an ``@connections`` path of one of
    ``stages`` (API Gateway's answer to unknown paths) and :class:`BadRequestException` for
    other methods or an empty id. ``path`` may be given as its :func:`segments` already.
    """
    parts = segments(path) if isinstance(path, str) else path
    if len(parts) != 4 or parts[0] != "" or parts[2] != CONNECTIONS_SEGMENT:
        raise ForbiddenException("Forbidden")
    stage = parts[1]
    if stage not in stages:
        raise ForbiddenException("Forbidden")
    connection_id = parts[3]
    if not connection_id:
        raise BadRequestException("Invalid connectionId")
    operation = OPERATIONS.get(method.upper())
    if operation is None:
        raise BadRequestException(f"Unsupported method {method}")
    return Route(operation, stage, connection_id)

"""The ``@connections`` wire format: rest-json bodies, AWS error shapes (pure).

Errors carry ``x-amzn-ErrorType`` (botocore reads the code from it) and a
``{"message": ...}`` body; timestamps are ISO 8601 with milliseconds, UTC.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field

from ..exceptions import ManagementApiError
from ..registry import Connection

__all__ = ["HttpResponse", "empty", "error_response", "get_connection_response", "iso8601"]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def iso8601(epoch_ms: int) -> str:
    """``2024-11-11T13:45:46.514Z``: the ``__timestampIso8601`` format of the service."""
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _request_id() -> str:
    # A version-4 UUID from the random module: uuid.uuid4() reads os.urandom (a system call)
    # per answer, and these ids only need to be unique, not unpredictable.
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": _request_id()}
    headers.update(extra or {})
    return headers


def empty(status: int) -> HttpResponse:
    """A success without payload (``PostToConnection`` 200, ``DeleteConnection`` 204)."""
    return HttpResponse(status, b"", _headers())


def get_connection_response(connection: Connection) -> HttpResponse:
    """``GetConnection``'s 200: ``connectedAt``, ``lastActiveAt``, ``identity``."""
    identity = {"sourceIp": connection.source_ip, "userAgent": connection.user_agent or ""}
    body = {
        "connectedAt": iso8601(connection.connected_at),
        "identity": identity,
        "lastActiveAt": iso8601(connection.last_active_at),
    }
    return HttpResponse(200, json.dumps(body).encode(), _headers())


def error_response(error: ManagementApiError) -> HttpResponse:
    body = {"message": error.message}
    return HttpResponse(
        error.status, json.dumps(body).encode(), _headers({"x-amzn-ErrorType": error.code})
    )

"""The ``@connections`` API's routing, state and wire format, without sockets."""

from __future__ import annotations

import asyncio
import json

import pytest

from cdk_ws_api.local.exceptions import BadRequestException, ForbiddenException
from cdk_ws_api.local.management import ManagementApi
from cdk_ws_api.local.management.responses import iso8601
from cdk_ws_api.local.management.urls import is_management_path, resolve
from cdk_ws_api.local.registry import ConnectionState, Registry


class RecordingSink:
    """A ConnectionSink that records what the data plane would have done."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.closed: list[str] = []

    async def send(self, connection_id: str, data: bytes) -> None:
        self.sent.append((connection_id, data))

    async def disconnect(self, connection_id: str) -> None:
        self.closed.append(connection_id)


def test_resolve_paths() -> None:
    route = resolve("POST", "/dev/@connections/BFHPhfCWIAMCKlQ%3D", stages=("dev",))
    assert (route.operation, route.stage, route.connection_id) == (
        "PostToConnection",
        "dev",
        "BFHPhfCWIAMCKlQ=",
    )
    assert resolve("get", "/dev/@connections/a?x=1", stages=("dev",)).operation == "GetConnection"
    assert resolve("DELETE", "/dev/@connections/a", stages=("dev",)).operation == (
        "DeleteConnection"
    )
    for path in ("/prod/@connections/a", "/dev/connections/a", "/dev/@connections/a/b", "/"):
        with pytest.raises(ForbiddenException):
            resolve("POST", path, stages=("dev",))
    with pytest.raises(BadRequestException):
        resolve("PUT", "/dev/@connections/a", stages=("dev",))
    with pytest.raises(BadRequestException):
        resolve("GET", "/dev/@connections/", stages=("dev",))
    assert is_management_path("/dev/@connections/x") and not is_management_path("/dev")


def test_percent_encoded_at_sign_is_the_same_path() -> None:
    # Some SDKs send "%40connections"; API Gateway accepts it like "@connections".
    path = "/dev/%40connections/BFHPhfCWIAMCKlQ%3D"
    assert is_management_path(path)
    route = resolve("GET", path, stages=("dev",))
    assert (route.operation, route.connection_id) == ("GetConnection", "BFHPhfCWIAMCKlQ=")
    # an encoded "/" stays inside the id instead of adding a path segment
    assert resolve("GET", "/dev/@connections/a%2Fb", stages=("dev",)).connection_id == "a/b"


def test_iso8601() -> None:
    assert iso8601(1731324924553) == "2024-11-11T11:35:24.553Z"
    assert iso8601(0) == "1970-01-01T00:00:00.000Z"


def test_operations_and_errors() -> None:
    registry = Registry(lambda: 1731324924553)
    sink = RecordingSink()
    api = ManagementApi(registry, sink, stages=("dev",))
    connection = registry.create(source_ip="1.1.1.1", user_agent=None)
    path = f"/dev/@connections/{connection.connection_id.replace('=', '%3D')}"

    async def run() -> None:
        early = await api.handle("POST", path, b"too early")
        assert early.status == 410
        assert early.headers["x-amzn-ErrorType"] == "GoneException"
        registry.open(connection.connection_id)
        assert (await api.handle("POST", path, b"hi")).status == 200
        assert sink.sent == [(connection.connection_id, b"hi")]
        too_big = await api.handle("POST", path, b"x" * 131073)
        assert too_big.status == 413
        assert too_big.headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
        assert (await api.handle("POST", path, b"x" * 131072)).status == 200
        got = await api.handle("GET", path, b"")
        assert json.loads(got.body) == {
            "connectedAt": "2024-11-11T11:35:24.553Z",
            "identity": {"sourceIp": "1.1.1.1", "userAgent": ""},
            "lastActiveAt": "2024-11-11T11:35:24.553Z",
        }
        assert (await api.handle("DELETE", path, b"")).status == 204
        assert sink.closed == [connection.connection_id]
        assert connection.state is ConnectionState.CLOSING
        assert (await api.handle("GET", path, b"")).status == 410
        assert (await api.handle("DELETE", path, b"")).status == 410
        forbidden = await api.handle("POST", "/prod/@connections/x", b"")
        assert forbidden.status == 403
        assert json.loads(forbidden.body) == {"message": "Forbidden"}

    asyncio.run(run())

"""The connection registry without sockets."""

from __future__ import annotations

import pytest

from cdk_ws_api.local.exceptions import GoneException
from cdk_ws_api.local.registry import ConnectionState, Registry


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def test_lifecycle_and_gone() -> None:
    clock = Clock()
    registry = Registry(clock)
    connection = registry.create(source_ip="1.2.3.4", user_agent="ua", query=[("a", "b")])
    assert connection.state is ConnectionState.CONNECTING
    assert connection.connected_at == connection.last_active_at == clock.now
    with pytest.raises(GoneException):  # inside $connect, as on AWS
        registry.require_open(connection.connection_id)
    clock.now += 5
    registry.open(connection.connection_id)
    assert registry.require_open(connection.connection_id) is connection
    assert connection.last_active_at == clock.now
    registry.closing(connection.connection_id)
    with pytest.raises(GoneException):
        registry.require_open(connection.connection_id)
    assert registry.remove(connection.connection_id) is connection
    assert len(registry) == 0
    with pytest.raises(GoneException):
        registry.require_open(connection.connection_id)
    with pytest.raises(GoneException):
        registry.require_open("never-issued")


def test_touch_and_expiry() -> None:
    clock = Clock()
    registry = Registry(clock)
    quiet = registry.create(source_ip="a")
    busy = registry.create(source_ip="b")
    pending = registry.create(source_ip="c")
    registry.open(quiet.connection_id)
    registry.open(busy.connection_id)
    for _ in range(5):
        clock.now += 400
        registry.touch(busy.connection_id)
    assert busy.last_active_at == clock.now
    expired = {c.connection_id: why for c, why in registry.idle(idle_ms=1000, max_ms=10_000)}
    assert expired == {quiet.connection_id: "idle"}  # CONNECTING ones are not reaped
    clock.now += 9_000
    registry.touch(busy.connection_id)
    expired = {c.connection_id: why for c, why in registry.idle(idle_ms=1000, max_ms=10_000)}
    assert expired[busy.connection_id] == "max-duration"
    assert pending.connection_id not in expired


def test_ids_are_unique() -> None:
    registry = Registry()
    ids = {registry.create(source_ip="x").connection_id for _ in range(1000)}
    assert len(ids) == len(registry) == 1000

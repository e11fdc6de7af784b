"""The observer hook: subscription, isolation of failing subscribers."""

from __future__ import annotations

import logging

import pytest

from cdk_ws_api.local.bus import AccessRecord, EventBus


def _record(status: int = 200) -> AccessRecord:
    return AccessRecord("MESSAGE", "send", "abc=", status, 1.5, 0.0)


def test_inactive_until_subscribed_and_after_the_last_unsubscribes() -> None:
    bus = EventBus()
    assert not bus.active
    seen: list[object] = []
    unsubscribe = bus.subscribe(seen.append)
    assert bus.active
    bus.publish(_record())
    unsubscribe()
    assert not bus.active
    bus.publish(_record(500))
    assert seen == [_record()]


def test_every_subscriber_gets_every_record_in_order() -> None:
    bus = EventBus()
    first: list[object] = []
    second: list[object] = []
    bus.subscribe(first.append)
    unsubscribe_second = bus.subscribe(second.append)
    bus.publish(_record(200))
    unsubscribe_second()
    bus.publish(_record(403))
    assert first == [_record(200), _record(403)]
    assert second == [_record(200)]
    assert bus.active


def test_a_failing_subscriber_is_logged_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()

    def broken(record: object) -> None:
        raise RuntimeError("observer bug")

    seen: list[object] = []
    bus.subscribe(broken)
    bus.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="cdk_ws_api.local"):
        bus.publish(_record())  # must not raise into the publisher
    assert seen == [_record()]
    assert "observer bug" in caplog.text

"""Error paths of the @connections API against a local server that answers like API Gateway:
typed errors, 128 KiB limit, broadcast retries, gone connections and store cleanup."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from lambda_runtime import (
    Connections,
    ConnectionStore,
    ForbiddenError,
    GoneError,
    LimitExceededError,
    ManagementApiError,
    PayloadTooLargeError,
    WebSocketRuntimeError,
    parse_event,
)

from .apigw_stub import ApiGatewayStub
from .conftest import load_event


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (410, GoneError, "GoneException"),
        (403, ForbiddenError, "ForbiddenException"),
        (413, PayloadTooLargeError, "PayloadTooLargeException"),
        (429, LimitExceededError, "LimitExceededException"),
        (500, ManagementApiError, "InternalServerErrorException"),
    ],
)
def test_error_answers_become_typed_errors(
    apigw: ApiGatewayStub, status: int, error_class: type, code: str
) -> None:
    # GIVEN a known connection whose next request fails with ``status``
    apigw.known.add("c1=")
    apigw.script("c1=", status)
    # WHEN something is sent to it
    with pytest.raises(error_class) as caught:
        Connections(apigw.endpoint_url).send("c1=", "hello")
    # THEN the error says what AWS said, about which connection, and is not retried
    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, ManagementApiError) and isinstance(error, WebSocketRuntimeError)
    assert (error.status, error.code, error.connection_id) == (status, code, "c1=")
    assert error.__cause__ is not None  # the botocore ClientError
    assert len(apigw.requests_for("c1=")) == 1


def test_unknown_connection_is_gone_for_every_operation(apigw: ApiGatewayStub) -> None:
    connections = Connections(apigw.endpoint_url)
    for call in (
        lambda: connections.send("nobody=", "x"),
        lambda: connections.get("nobody="),
        lambda: connections.delete("nobody="),
    ):
        with pytest.raises(GoneError) as caught:
            call()
        assert caught.value.connection_id == "nobody="
        assert "410" in str(caught.value) and "nobody=" in str(caught.value)


def test_wrong_stage_is_forbidden(apigw: ApiGatewayStub) -> None:
    apigw.known.add("c1=")
    endpoint = apigw.endpoint_url.replace("/test", "/prod")
    with pytest.raises(ForbiddenError):
        Connections(endpoint).send("c1=", "x")


def test_get_parses_the_service_model_response(apigw: ApiGatewayStub) -> None:
    apigw.known.add("c1=")
    info = Connections(apigw.endpoint_url).get("c1=")
    assert info.connected_at is not None
    assert info.connected_at.isoformat() == "2025-01-27T16:39:47.617000+00:00"
    assert info.last_active_at is not None
    assert info.last_active_at.isoformat() == "2025-01-27T16:41:02.001000+00:00"
    assert (info.source_ip, info.user_agent) == ("93.108.161.96", "test-client/1.0")


def test_delete_closes_the_connection(apigw: ApiGatewayStub) -> None:
    apigw.known.add("c1=")
    connections = Connections(apigw.endpoint_url)
    connections.delete("c1=")
    with pytest.raises(GoneError):
        connections.send("c1=", "x")


def test_payload_limit_is_exactly_128_kib(apigw: ApiGatewayStub) -> None:
    apigw.known.add("c1=")
    connections = Connections(apigw.endpoint_url)
    connections.send("c1=", b"x" * 131072)
    assert len(apigw.requests_for("c1=")[0].body) == 131072
    with pytest.raises(PayloadTooLargeError) as caught:
        connections.send("c1=", b"x" * 131073)
    assert caught.value.status == 413 and caught.value.connection_id == "c1="
    assert len(apigw.requests) == 1  # the oversized payload never left


def test_payload_limit_counts_the_serialised_envelope(apigw: ApiGatewayStub) -> None:
    apigw.known.add("c1=")
    with pytest.raises(PayloadTooLargeError):
        Connections(apigw.endpoint_url).send("c1=", "x" * 131050, action="chat")
    with pytest.raises(PayloadTooLargeError):
        Connections(apigw.endpoint_url).send("c1=", "é" * 65537)  # 131074 bytes in UTF-8
    assert apigw.requests == []


def test_oversized_broadcast_sends_nothing(apigw: ApiGatewayStub) -> None:
    apigw.known.update({"a=", "b="})
    with pytest.raises(PayloadTooLargeError) as caught:
        Connections(apigw.endpoint_url).broadcast(["a=", "b="], b"x" * 200_000)
    assert caught.value.connection_id is None
    assert apigw.requests == []


def test_unreachable_endpoint_is_a_management_api_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ManagementApiError) as caught:
        Connections(f"http://127.0.0.1:{port}/test").send("c1=", "x")
    assert caught.value.status is None
    assert caught.value.code == "EndpointConnectionError"


# --- broadcast ----------------------------------------------------------------------------


def test_broadcast_retries_throttling_then_succeeds(apigw: ApiGatewayStub) -> None:
    # GIVEN a connection throttled twice before it accepts
    apigw.known.update({"a=", "b="})
    apigw.script("a=", 429, 429)
    # WHEN broadcasting
    result = Connections(apigw.endpoint_url).broadcast(["a=", "b="], {"n": 1}, backoff=0.01)
    # THEN both were delivered, "a=" on its third try, with the same bytes each time
    assert result.sent == ["a=", "b="] and result.ok
    attempts = apigw.requests_for("a=")
    assert len(attempts) == 3
    assert {r.body for r in attempts} == {b'{"n":1}'}
    assert len(apigw.requests_for("b=")) == 1


def test_broadcast_gives_up_after_max_attempts(apigw: ApiGatewayStub) -> None:
    apigw.known.add("a=")
    apigw.script("a=", *[429] * 10)
    result = Connections(apigw.endpoint_url).broadcast(["a="], "x", max_attempts=3, backoff=0.001)
    assert result.sent == [] and not result.ok
    assert isinstance(result.failed["a="], LimitExceededError)
    assert len(apigw.requests_for("a=")) == 3


def test_broadcast_sorts_outcomes_and_never_raises_for_one_id(apigw: ApiGatewayStub) -> None:
    # GIVEN live, gone, forbidden and failing connections
    apigw.known.update({"live1=", "live2=", "forbidden=", "broken="})
    apigw.script("forbidden=", 403)
    apigw.script("broken=", 500)
    ids = ["live1=", "gone1=", "forbidden=", "broken=", "gone2=", "live2="]
    # WHEN broadcasting to all of them
    result = Connections(apigw.endpoint_url).broadcast(ids, "hello", max_workers=4)
    # THEN each id lands in exactly one bucket, in the order given
    assert result.sent == ["live1=", "live2="]
    assert result.gone == ["gone1=", "gone2="]
    assert list(result.failed) == ["forbidden=", "broken="]
    assert isinstance(result.failed["forbidden="], ForbiddenError)
    assert type(result.failed["broken="]) is ManagementApiError
    assert result.failed["broken="].status == 500
    assert "gone1=" in repr(result)


def test_broadcast_with_action_sends_the_envelope(apigw: ApiGatewayStub) -> None:
    apigw.known.update({"a=", "b="})
    Connections(apigw.endpoint_url).broadcast(["a=", "b="], {"text": "hi"}, action="chat")
    bodies = [json.loads(r.body) for r in apigw.requests]
    assert [b["action"] for b in bodies] == ["chat", "chat"]
    assert bodies[0] == bodies[1]  # serialised once: same timestamp
    assert bodies[0]["data"] == {"text": "hi"}


def test_broadcast_removes_gone_connections_from_the_store(
    apigw: ApiGatewayStub, connection_table: str
) -> None:
    # GIVEN a store with four connections, two of which API Gateway no longer knows
    store = ConnectionStore()
    for cid in ("a=", "b=", "c=", "d="):
        raw = load_event("connect.json")
        raw["requestContext"]["connectionId"] = cid
        store.put(parse_event(raw))
    apigw.known.update({"a=", "c="})
    # WHEN broadcasting to everyone in the store
    result = Connections(apigw.endpoint_url).broadcast(store.ids(), "hi", store=store)
    # THEN the gone ones are deleted from it and the live ones stay
    assert sorted(result.gone) == ["b=", "d="]
    assert sorted(store.ids()) == ["a=", "c="]


def test_broadcast_many_connections_concurrently(apigw: ApiGatewayStub) -> None:
    ids = [f"id{i}=" for i in range(200)]
    apigw.known.update(ids[::2])
    result = Connections(apigw.endpoint_url).broadcast(ids, "x", max_workers=16)
    assert result.sent == ids[::2]
    assert result.gone == ids[1::2]
    assert len(apigw.requests) == 200


def test_broadcast_refuses_nonsense_options(apigw: ApiGatewayStub) -> None:
    connections = Connections(apigw.endpoint_url)
    with pytest.raises(ValueError):
        connections.broadcast(["a="], "x", max_workers=0)
    with pytest.raises(ValueError):
        connections.broadcast(["a="], "x", max_attempts=0)


def test_broadcast_reports_invalid_ids_as_failures(apigw: ApiGatewayStub) -> None:
    apigw.known.add("a=")
    ids: list[Any] = ["a=", ""]
    result = Connections(apigw.endpoint_url).broadcast(ids, "x")
    assert result.sent == ["a="]
    assert isinstance(result.failed[""], ValueError)


def test_broadcast_backoff_is_jittered_exponential_and_capped(
    apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a connection throttled five times, and sleeps that only record their bounds
    import random
    import time

    apigw.known.add("a=")
    apigw.script("a=", *[429] * 5)
    windows: list[float] = []

    def record(low: float, high: float) -> float:
        windows.append(high)
        return low

    monkeypatch.setattr(random, "uniform", record)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    # WHEN broadcasting with room for six tries
    result = Connections(apigw.endpoint_url).broadcast(["a="], "x", max_attempts=6, backoff=0.5)
    # THEN each wait is drawn from a window doubling from ``backoff`` and capped at 2 s
    assert result.sent == ["a="]
    assert windows == [0.5, 1.0, 2.0, 2.0, 2.0]

"""Lambda events built without sockets, compared with captured AWS events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cdk_ws_api.local.events import (
    EventSource,
    authorizer_event,
    clf_time,
    connect_event,
    disconnect_event,
    disconnect_reason,
    message_event,
    multi_value,
)
from cdk_ws_api.local.registry import Connection, new_aws_id
from cdk_ws_api.local.specs import ApiSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"
API = ApiSpec(
    logical_id="Api",
    name="api",
    api_id="abcdefghij",
    stage="prod",
    stages=("prod",),
    route_selection_expression="$request.body.action",
    routes={},
    authorizers={},
    region="eu-west-1",
    account="111122223333",
)
SOURCE = EventSource(API, "127.0.0.1:3001")


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _connection(**kwargs: Any) -> Connection:
    defaults: dict[str, Any] = {
        "connection_id": "BFHPhfCWIAMCKlQ=",
        "connected_at": 1731324924553,
        "source_ip": "10.0.0.1",
        "user_agent": "agent/1",
        "headers": [("Host", "127.0.0.1:3001"), ("X-Multi", "a"), ("X-Multi", "b")],
        "query": [("token", "t"), ("x", "1"), ("x", "2")],
    }
    defaults.update(kwargs)
    return Connection(**defaults)


def test_ids_have_api_gateway_format() -> None:
    ids = {new_aws_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{15}=", i) for i in ids)


def test_clf_time_is_locale_independent_utc() -> None:
    assert clf_time(1731324924553) == "11/Nov/2024:11:35:24 +0000"
    assert clf_time(0) == "01/Jan/1970:00:00:00 +0000"


def test_multi_value_keeps_last_and_all() -> None:
    single, multi = multi_value([("a", "1"), ("b", "2"), ("a", "3")])
    assert single == {"a": "3", "b": "2"}
    assert multi == {"a": ["1", "3"], "b": ["2"]}


def test_connect_event_matches_aws_shape() -> None:
    aws = _fixture("connect.json")
    event = connect_event(SOURCE, _connection(), now_ms=1731324924561)
    assert set(aws) <= set(event)
    assert set(aws["requestContext"]) <= set(event["requestContext"])
    ctx = event["requestContext"]
    assert ctx["eventType"] == "CONNECT" and ctx["routeKey"] == "$connect"
    assert ctx["connectedAt"] == 1731324924553 and ctx["requestTimeEpoch"] == 1731324924561
    assert ctx["requestId"] == ctx["extendedRequestId"]
    assert ctx["domainName"] == "127.0.0.1:3001" and ctx["apiId"] == "abcdefghij"
    assert ctx["identity"] == {"sourceIp": "10.0.0.1", "userAgent": "agent/1"}
    assert event["headers"]["X-Multi"] == "b"
    assert event["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == "3001"
    assert event["queryStringParameters"] == {"token": "t", "x": "2"}
    assert event["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert "authorizer" not in ctx


def test_connect_without_query_has_no_query_maps() -> None:
    event = connect_event(SOURCE, _connection(query=[]), now_ms=1)
    assert "queryStringParameters" not in event


def test_message_event_matches_aws_shape_and_carries_authorizer() -> None:
    aws = _fixture("message.json")
    connection = _connection(authorizer={"principalId": "u", "user": "u"})
    event = message_event(SOURCE, connection, route_key="chat", body='{"a":1}', now_ms=5)
    assert set(aws) == set(event)
    assert set(aws["requestContext"]) <= set(event["requestContext"])
    assert event["requestContext"]["authorizer"] == {"principalId": "u", "user": "u"}
    assert event["body"] == '{"a":1}' and event["isBase64Encoded"] is False
    other = message_event(SOURCE, connection, route_key="chat", body="", now_ms=6)
    assert other["requestContext"]["messageId"] != event["requestContext"]["messageId"]


def test_disconnect_event_matches_aws_shape() -> None:
    aws = _fixture("disconnect.json")
    event = disconnect_event(
        SOURCE, _connection(), status_code=1005, reason=disconnect_reason(1005), now_ms=9
    )
    assert set(aws) == set(event)
    assert set(aws["requestContext"]) <= set(event["requestContext"])
    assert set(aws["headers"]) == set(event["headers"])
    assert event["requestContext"]["disconnectStatusCode"] == 1005
    assert event["requestContext"]["disconnectReason"] == aws["requestContext"]["disconnectReason"]


def test_authorizer_event_matches_aws_shape() -> None:
    aws = _fixture("authorizer-request.json")
    event = authorizer_event(SOURCE, _connection(authorizer={"x": "y"}), now_ms=3)
    assert set(aws) == set(event)
    assert set(aws["requestContext"]) <= set(event["requestContext"])
    assert (
        event["methodArn"] == "arn:aws:execute-api:eu-west-1:111122223333:abcdefghij/prod/$connect"
    )
    assert "authorizer" not in event["requestContext"]
    assert event["queryStringParameters"]["token"] == "t"


def test_stage_variables_are_passed() -> None:
    api = ApiSpec(**{**API.__dict__, "stage_variables": {"v": "1"}})
    event = message_event(EventSource(api, "h:1"), _connection(), route_key="x", body="", now_ms=1)
    assert event["stageVariables"] == {"v": "1"}


def test_disconnect_reasons() -> None:
    assert disconnect_reason(1005) == "Client-side close frame status not set"
    assert disconnect_reason(1001) == "Going away"
    assert disconnect_reason(4000, "custom") == "custom"
    assert disconnect_reason(4000) == ""

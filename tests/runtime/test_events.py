"""Typed events: every fixture parses, and every property equals the raw field it reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import pytest

from lambda_runtime import (
    AuthorizerEvent,
    CaseInsensitiveMapping,
    ConnectEvent,
    DisconnectEvent,
    EventParseError,
    MessageEvent,
    parse_authorizer_event,
    parse_event,
)

from .conftest import FIXTURES, load_event

ROUTE_EVENTS = {
    "connect.json": ConnectEvent,
    "connect-iam.json": ConnectEvent,
    "connect-api-key.json": ConnectEvent,
    "connect-custom-domain-authorizer.json": ConnectEvent,
    "disconnect.json": DisconnectEvent,
    "disconnect-null-status.json": DisconnectEvent,
    "message.json": MessageEvent,
    "message-null-identity.json": MessageEvent,
    "message-base64.json": MessageEvent,
    "message-authorizer-context.json": MessageEvent,
}
AUTHORIZER_EVENTS = ["authorizer-request.json", "authorizer-request-query.json"]

IDENTITY_FIELDS = {
    "source_ip": "sourceIp",
    "user_agent": "userAgent",
    "account_id": "accountId",
    "caller": "caller",
    "user": "user",
    "user_arn": "userArn",
    "access_key": "accessKey",
    "cognito_identity_pool_id": "cognitoIdentityPoolId",
    "cognito_identity_id": "cognitoIdentityId",
    "cognito_authentication_type": "cognitoAuthenticationType",
    "cognito_authentication_provider": "cognitoAuthenticationProvider",
    "api_key": "apiKey",
    "api_key_id": "apiKeyId",
}
CONTEXT_FIELDS = {
    "connection_id": "connectionId",
    "route_key": "routeKey",
    "event_type": "eventType",
    "stage": "stage",
    "domain_name": "domainName",
    "api_id": "apiId",
    "request_id": "requestId",
    "extended_request_id": "extendedRequestId",
    "message_direction": "messageDirection",
}


def utc_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def check_common(event: Any, raw: dict[str, Any]) -> None:
    ctx = raw["requestContext"]
    assert event.raw is raw
    assert event.request_context is ctx
    for prop, key in CONTEXT_FIELDS.items():
        assert getattr(event, prop) == ctx.get(key), prop
    assert event.connected_at == utc_ms(ctx["connectedAt"])
    assert event.connected_at.tzinfo is timezone.utc
    assert event.request_time == utc_ms(ctx["requestTimeEpoch"])
    assert round(event.request_time.timestamp() * 1000) == ctx["requestTimeEpoch"]
    identity = ctx.get("identity") or {}
    assert event.identity.raw == identity
    for prop, key in IDENTITY_FIELDS.items():
        assert getattr(event.identity, prop) == identity.get(key), prop
    assert event.source_ip == identity.get("sourceIp")
    assert event.user_agent == identity.get("userAgent")
    authorizer = dict(ctx.get("authorizer") or {})
    assert event.principal_id == authorizer.pop("principalId", None)
    authorizer.pop("integrationLatency", None)
    assert event.authorizer == authorizer


def check_http_request(event: Any, raw: dict[str, Any]) -> None:
    headers = raw.get("headers") or {}
    multi = raw.get("multiValueHeaders") or {}
    assert isinstance(event.headers, CaseInsensitiveMapping)
    for name, value in headers.items():
        assert event.headers[name] == value
        assert event.headers[name.lower()] == value
        assert event.headers[name.upper()] == value
    for name, values in multi.items():
        assert list(event.multi_value_headers[name.lower()]) == values
        # headers AWS lists only in multiValueHeaders are still readable, last value wins
        assert event.headers[name] == headers.get(name, values[-1])
    assert set(event.headers) == set(headers) | set(multi)
    query = raw.get("queryStringParameters") or {}
    multi_query = raw.get("multiValueQueryStringParameters") or {}
    assert event.multi_value_query == multi_query
    for name, value in query.items():
        assert event.query[name] == value
    assert set(event.query) == set(query) | set(multi_query)


@pytest.mark.parametrize("name", sorted(ROUTE_EVENTS))
def test_every_route_fixture_parses_with_every_property_matching_raw(name: str) -> None:
    # GIVEN a real or documented event
    raw = load_event(name)
    # WHEN it is parsed
    event = parse_event(raw)
    # THEN it has the right class and every property is the raw field it reads
    assert type(event) is ROUTE_EVENTS[name]
    check_common(event, raw)
    if isinstance(event, ConnectEvent):
        check_http_request(event, raw)
    elif isinstance(event, DisconnectEvent):
        assert event.status_code == raw["requestContext"].get("disconnectStatusCode")
        assert event.reason == raw["requestContext"].get("disconnectReason")
        assert not hasattr(event, "headers")  # placeholder headers are not exposed
    else:
        assert isinstance(event, MessageEvent)
        assert event.message_id == raw["requestContext"].get("messageId")
        assert event.body == raw["body"]
        assert event.is_base64_encoded is raw["isBase64Encoded"]
        expected = base64.b64decode(raw["body"]) if raw["isBase64Encoded"] else raw["body"].encode()
        assert event.data == expected
        assert event.json() == json.loads(expected)


@pytest.mark.parametrize("name", AUTHORIZER_EVENTS)
def test_every_authorizer_fixture_parses_with_every_property_matching_raw(name: str) -> None:
    raw = load_event(name)
    event = parse_authorizer_event(raw)
    assert isinstance(event, AuthorizerEvent)
    check_common(event, raw)
    check_http_request(event, raw)
    assert event.type == "REQUEST"
    assert event.method_arn == raw["methodArn"]
    assert event.stage_variables == (raw.get("stageVariables") or {})


def test_all_fixtures_are_covered() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.json")}
    assert on_disk == set(ROUTE_EVENTS) | set(AUTHORIZER_EVENTS)


def test_real_connect_event_values() -> None:
    event = parse_event(load_event("connect.json"))
    assert isinstance(event, ConnectEvent)
    assert event.connection_id == "BFHPhfCWIAMCKlQ="
    assert event.route_key == "$connect"
    assert event.source_ip == "166.90.225.1"
    assert event.user_agent is None
    assert event.connected_at == datetime(2024, 11, 11, 11, 35, 24, 553000, tzinfo=timezone.utc)
    assert event.headers["sec-websocket-key"] == "+W5xw47OHh3OTFsWKjGu9Q=="
    assert event.query == {}
    assert event.authorizer == {}
    assert event.principal_id is None


def test_real_disconnect_event_values() -> None:
    event = parse_event(load_event("disconnect.json"))
    assert isinstance(event, DisconnectEvent)
    assert event.status_code == 1005
    assert event.reason == "Client-side close frame status not set"


def test_message_json_is_parsed_once() -> None:
    event = parse_event(load_event("message.json"))
    assert isinstance(event, MessageEvent)
    assert event.json() == {"action": "chat", "message": "Hello from client"}
    assert event.json() is event.json()


def test_iam_identity_is_fully_populated() -> None:
    identity = parse_event(load_event("connect-iam.json")).identity
    assert identity.account_id == "123456789012"
    assert identity.user_arn == "arn:aws:sts::123456789012:assumed-role/chat-client/session-1"
    assert identity.access_key == "ASIAEXAMPLEKEY"
    assert identity.cognito_authentication_type == "authenticated"


def test_null_identity_fields_and_null_message_id_read_as_none() -> None:
    event = parse_event(load_event("message-null-identity.json"))
    assert isinstance(event, MessageEvent)
    assert event.message_id is None
    assert event.identity.account_id is None
    assert event.user_agent is None
    assert event.source_ip == "192.0.2.33"


def test_null_disconnect_status_reads_as_none() -> None:
    event = parse_event(load_event("disconnect-null-status.json"))
    assert isinstance(event, DisconnectEvent)
    assert event.status_code is None
    assert event.reason is None


def test_base64_body_is_decoded_into_data() -> None:
    event = parse_event(load_event("message-base64.json"))
    assert isinstance(event, MessageEvent)
    assert event.body == "eyJhY3Rpb24iOiAicGluZyIsICJiaW4iOiB0cnVlfQ=="
    assert event.data == b'{"action": "ping", "bin": true}'
    assert event.json() == {"action": "ping", "bin": True}


def test_authorizer_context_excludes_principal_and_latency() -> None:
    event = parse_event(load_event("message-authorizer-context.json"))
    assert event.principal_id == "user-42"
    assert event.authorizer == {"role": "admin", "tenant": "acme", "quota": 5, "beta": True}


def test_non_ascii_body_round_trips() -> None:
    event = parse_event(load_event("message-authorizer-context.json"))
    assert isinstance(event, MessageEvent)
    assert event.json()["text"] == "h\u00e9llo \u2603"
    assert event.data == event.body.encode("utf-8")


def test_repeated_query_parameter_keeps_last_value_and_all_values() -> None:
    event = parse_event(load_event("connect-custom-domain-authorizer.json"))
    assert isinstance(event, ConnectEvent)
    assert event.query == {"token": "abc123", "tag": "blue"}
    assert event.multi_value_query["tag"] == ["red", "blue"]
    assert event.domain_name == "ws.example.com"


def test_null_query_objects_read_as_empty() -> None:
    event = parse_event(load_event("connect-api-key.json"))
    assert isinstance(event, ConnectEvent)
    assert event.query == {}
    assert event.multi_value_query == {}
    assert event.identity.api_key_id == "a1b2c3d4e5"


def test_header_only_in_multi_value_headers_is_readable() -> None:
    event = parse_authorizer_event(load_event("authorizer-request.json"))
    assert event.headers["Sec-WebSocket-Key"] == "CYZZrfNgEcgzzzwL44qytQ=="
    assert "sec-websocket-key" in event.headers
    assert 42 not in event.headers  # type: ignore[comparison-overlap]


def test_headers_are_read_only_and_cached() -> None:
    event = parse_event(load_event("connect.json"))
    assert isinstance(event, ConnectEvent)
    assert event.headers is event.headers
    with pytest.raises(TypeError):
        event.headers["Host"] = "x"  # type: ignore[index]
    assert "Host" in repr(event.headers)


def test_copies_do_not_write_through_to_raw() -> None:
    raw = load_event("connect-custom-domain-authorizer.json")
    event = parse_event(raw)
    assert isinstance(event, ConnectEvent)
    event.query["token"] = "changed"
    event.multi_value_query["tag"].append("green")
    event.authorizer["role"] = "nobody"
    assert raw["queryStringParameters"]["token"] == "abc123"
    assert raw["multiValueQueryStringParameters"]["tag"] == ["red", "blue"]
    assert raw["requestContext"]["authorizer"]["role"] == "admin"


# --- how events without eventType, or hand-built, are classified -------------------------


def minimal(**ctx: Any) -> dict[str, Any]:
    return {"requestContext": {"connectionId": "abc=", **ctx}}


@pytest.mark.parametrize(
    ("route_key", "cls"),
    [("$connect", ConnectEvent), ("$disconnect", DisconnectEvent), ("$default", MessageEvent)],
)
def test_route_key_is_the_fallback_without_event_type(route_key: str, cls: type) -> None:
    event = parse_event(minimal(routeKey=route_key))
    assert type(event) is cls
    assert event.event_type == cls.EVENT_TYPE


def test_event_type_wins_and_route_key_is_derived_when_missing() -> None:
    assert parse_event(minimal(eventType="DISCONNECT")).route_key == "$disconnect"
    assert parse_event(minimal(eventType="MESSAGE")).route_key == "$default"


def test_minimal_event_reads_missing_fields_as_none_or_empty() -> None:
    event = parse_event(minimal(routeKey="chat"))
    assert isinstance(event, MessageEvent)
    assert event.stage is None
    assert event.connected_at is None
    assert event.request_time is None
    assert event.identity.source_ip is None
    assert event.authorizer == {}
    assert event.body == ""
    assert event.data == b""
    assert event.is_base64_encoded is False
    assert "chat" in repr(event)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (None, "event"),
        ([], "event"),
        ({}, "requestContext"),
        ({"requestContext": "x"}, "requestContext"),
        ({"requestContext": {}}, "requestContext.connectionId"),
        ({"requestContext": {"connectionId": 5}}, "requestContext.connectionId"),
        ({"requestContext": {"connectionId": ""}}, "requestContext.connectionId"),
        (minimal(), "requestContext.eventType"),
        (minimal(eventType="UPGRADE"), "requestContext.eventType"),
        (minimal(eventType=1), "requestContext.eventType"),
        (minimal(routeKey=["$connect"]), "requestContext.routeKey"),
    ],
)
def test_not_a_websocket_event_names_the_field(event: Any, field: str) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_event(event)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("ctx", "prop", "field"),
    [
        ({"stage": 5}, "stage", "requestContext.stage"),
        ({"connectedAt": "yesterday"}, "connected_at", "requestContext.connectedAt"),
        ({"connectedAt": True}, "connected_at", "requestContext.connectedAt"),
        ({"requestTimeEpoch": 10**30}, "request_time", "requestContext.requestTimeEpoch"),
        ({"identity": []}, "identity", "requestContext.identity"),
        ({"identity": {"sourceIp": 1}}, "source_ip", "requestContext.identity.sourceIp"),
        ({"authorizer": "x"}, "authorizer", "requestContext.authorizer"),
        (
            {"authorizer": {"principalId": 7}},
            "principal_id",
            "requestContext.authorizer.principalId",
        ),
    ],
)
def test_mistyped_field_raises_on_access_naming_it(
    ctx: dict[str, Any], prop: str, field: str
) -> None:
    event = parse_event(minimal(routeKey="$default", **ctx))
    with pytest.raises(EventParseError) as caught:
        getattr(event, prop)
    assert caught.value.field == field


def test_disconnect_status_must_be_an_int_not_a_bool() -> None:
    event = parse_event(minimal(routeKey="$disconnect", disconnectStatusCode=True))
    with pytest.raises(EventParseError, match="disconnectStatusCode"):
        _ = event.status_code  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"headers": {"Host": 1}}, "headers.Host"),
        ({"headers": []}, "headers"),
        ({"multiValueHeaders": {"Host": "x"}}, "multiValueHeaders.Host"),
        ({"queryStringParameters": {"a": ["b"]}}, "queryStringParameters.a"),
    ],
)
def test_mistyped_request_fields_name_the_field(raw: dict[str, Any], field: str) -> None:
    event = parse_event({**minimal(routeKey="$connect"), **raw})
    assert isinstance(event, ConnectEvent)
    with pytest.raises(EventParseError) as caught:
        _ = event.headers, event.query
    assert caught.value.field == field


@pytest.mark.parametrize(
    "body",
    [
        {"body": "{not json", "isBase64Encoded": False},
        {"body": "%%%", "isBase64Encoded": True},
        {"body": "\u00e9t\u00e9", "isBase64Encoded": True},
    ],
)
def test_bad_body_raises_event_parse_error_on_json(body: dict[str, Any]) -> None:
    event = parse_event({**minimal(routeKey="chat"), **body})
    assert isinstance(event, MessageEvent)
    with pytest.raises(EventParseError) as caught:
        event.json()
    assert caught.value.field == "body"


def test_authorizer_event_requires_method_arn() -> None:
    raw = load_event("authorizer-request.json")
    del raw["methodArn"]
    with pytest.raises(EventParseError, match="methodArn"):
        parse_authorizer_event(raw)


def test_parse_event_accepts_an_authorizer_event_as_a_connect_event() -> None:
    event = parse_event(load_event("authorizer-request.json"))
    assert isinstance(event, ConnectEvent)


# --- fast paths: what the exact-type shortcuts hand to the generic checks -----------------


class _ReadOnlyMapping(Mapping[str, Any]):
    """A Mapping that is not a dict (as a caller might pass one)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class _DictSubclass(dict):  # type: ignore[type-arg]
    pass


class _StrSubclass(str):
    pass


def full(**ctx: Any) -> dict[str, Any]:
    """An event as AWS sends it (eventType and routeKey both there: the fast path)."""
    return {
        "requestContext": {
            "connectionId": "abc=",
            "eventType": "MESSAGE",
            "routeKey": "chat",
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "ua"},
            **ctx,
        },
        "body": '{"a": 1}',
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("ctx", "field"),
    [
        ({"connectionId": True}, "requestContext.connectionId"),
        ({"connectionId": ""}, "requestContext.connectionId"),
        ({"connectionId": None}, "requestContext.connectionId"),
        ({"routeKey": True}, "requestContext.routeKey"),
        ({"routeKey": 5}, "requestContext.routeKey"),
        ({"eventType": True}, "requestContext.eventType"),
        ({"eventType": ["MESSAGE"]}, "requestContext.eventType"),
        ({"eventType": {"MESSAGE": 1}}, "requestContext.eventType"),
        ({"eventType": "UPGRADE"}, "requestContext.eventType"),
        ({"eventType": "message"}, "requestContext.eventType"),
    ],
)
def test_fast_path_rejects_what_the_generic_checks_reject(ctx: dict[str, Any], field: str) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_event(full(**ctx))
    assert caught.value.field == field


def test_mistyped_route_key_is_still_rejected_when_event_type_picks_the_class() -> None:
    with pytest.raises(EventParseError) as caught:
        parse_event(full(routeKey=["chat"]))
    assert caught.value.field == "requestContext.routeKey"


@pytest.mark.parametrize(
    ("ctx", "prop", "field"),
    [
        ({"identity": {"sourceIp": True}}, "source_ip", "requestContext.identity.sourceIp"),
        ({"identity": {"userAgent": False}}, "user_agent", "requestContext.identity.userAgent"),
        ({"identity": {"sourceIp": 1}}, "source_ip", "requestContext.identity.sourceIp"),
        ({"identity": "x"}, "source_ip", "requestContext.identity"),
        ({"identity": []}, "user_agent", "requestContext.identity"),
        ({"stage": True}, "stage", "requestContext.stage"),
        (
            {"eventType": "DISCONNECT", "disconnectStatusCode": False},
            "status_code",
            "requestContext.disconnectStatusCode",
        ),
    ],
)
def test_bool_or_mistyped_value_on_the_fast_path_names_the_field(
    ctx: dict[str, Any], prop: str, field: str
) -> None:
    event = parse_event(full(**ctx))
    with pytest.raises(EventParseError) as caught:
        getattr(event, prop)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("identity", "source_ip", "user_agent"),
    [
        (None, None, None),
        ({}, None, None),
        ({"sourceIp": None, "userAgent": None}, None, None),
        ({"sourceIp": "192.0.2.9"}, "192.0.2.9", None),
        (_ReadOnlyMapping({"sourceIp": "192.0.2.9", "userAgent": "ua"}), "192.0.2.9", "ua"),
        (_DictSubclass(sourceIp="192.0.2.9"), "192.0.2.9", None),
        ({"sourceIp": _StrSubclass("192.0.2.9")}, "192.0.2.9", None),
    ],
)
def test_source_ip_and_user_agent_read_every_accepted_identity_shape(
    identity: Any, source_ip: str | None, user_agent: str | None
) -> None:
    raw = full()
    if identity is None:
        del raw["requestContext"]["identity"]
    else:
        raw["requestContext"]["identity"] = identity
    event = parse_event(raw)
    assert event.source_ip == source_ip
    assert event.user_agent == user_agent
    assert event.identity.source_ip == source_ip
    raw["requestContext"]["identity"] = None  # null reads as missing
    assert parse_event(raw).source_ip is None


@pytest.mark.parametrize(
    "wrap",
    [
        lambda raw: _ReadOnlyMapping(raw),
        lambda raw: _DictSubclass(raw),
        lambda raw: {**raw, "requestContext": _ReadOnlyMapping(raw["requestContext"])},
        lambda raw: {**raw, "requestContext": _DictSubclass(raw["requestContext"])},
    ],
)
def test_mappings_that_are_not_dicts_are_still_accepted(wrap: Any) -> None:
    raw = full()
    raw["requestContext"]["connectionId"] = _StrSubclass("abc=")
    raw["requestContext"]["routeKey"] = _StrSubclass("chat")
    event = parse_event(wrap(raw))
    assert type(event) is MessageEvent
    assert event.connection_id == "abc="
    assert event.route_key == "chat"
    assert event.source_ip == "192.0.2.1"
    assert event.json() == {"a": 1}


def test_non_dict_mapping_without_body_or_flag_reads_defaults() -> None:
    raw = full()
    del raw["body"], raw["isBase64Encoded"]
    event = parse_event(_ReadOnlyMapping(raw))
    assert isinstance(event, MessageEvent)
    assert event.body == ""
    assert event.is_base64_encoded is False
    with pytest.raises(EventParseError) as caught:
        event.json()
    assert caught.value.field == "body"


def test_views_are_read_only() -> None:
    event = parse_event(full())
    for name in ("connection_id", "route_key", "event_type", "source_ip", "identity"):
        with pytest.raises(AttributeError):
            setattr(event, name, "x")


def test_views_built_directly_read_like_parsed_ones() -> None:
    raw = full(eventType=None, routeKey=None)
    event = MessageEvent(raw, raw["requestContext"])
    assert event.connection_id == "abc="
    assert event.route_key == "$default"
    assert event.event_type == "MESSAGE"
    assert event.json() == {"a": 1}
    connect = ConnectEvent(load_event("connect.json"), load_event("connect.json")["requestContext"])
    assert connect.route_key == "$connect"
    assert connect.headers["host"]


@pytest.mark.parametrize(
    "body",
    [
        '{"a": 1}',
        '  {"a": [1, 2.5, null, true]}  \n',
        "\t[]\r\n",
        '"text"',
        "0",
        "",
        "   ",
        '{"a": 1} x',
        '{"a": 1}{"b": 2}',
        "\ufeff{}",
        '{"a": ',
        "[1,]",
        "NaN",
        '{"a": "\\ud800"}',
        "[" * 100_000,
    ],
)
def test_json_of_a_text_body_equals_json_loads_with_its_error_message(body: str) -> None:
    try:
        expected: Any = json.loads(body)
    except (ValueError, RecursionError) as exc:
        expected = f"body: not valid JSON: {exc}"
    event = parse_event({**full(), "body": body})
    assert isinstance(event, MessageEvent)
    try:
        got: Any = event.json()
    except EventParseError as exc:
        got = str(exc)
    if isinstance(expected, float):  # NaN
        assert got != got
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"isBase64Encoded": "yes"}, "isBase64Encoded", "expected bool"),
        ({"isBase64Encoded": 1}, "isBase64Encoded", "expected bool"),
        ({"body": 5}, "body", "expected str"),
        ({"body": 5, "isBase64Encoded": True}, "body", "expected str"),
        ({"body": "%%%", "isBase64Encoded": True}, "body", "cannot decode the body"),
        ({"body": "\u00e9t\u00e9", "isBase64Encoded": True}, "body", "cannot decode the body"),
        ({"body": None, "isBase64Encoded": None}, "body", "not valid JSON"),
        ({"body": base64.b64encode(b"{x").decode(), "isBase64Encoded": True}, "body", "JSON"),
    ],
)
def test_json_names_the_field_and_the_problem(
    fields: dict[str, Any], field: str, problem: str
) -> None:
    event = parse_event({**full(), **fields})
    assert isinstance(event, MessageEvent)
    with pytest.raises(EventParseError) as caught:
        event.json()
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_binary_json_decodes_once_and_keeps_the_bytes() -> None:
    payload = '{"bin": "\u00e9"}'.encode("utf-16")  # json.loads detects the encoding of bytes
    event = parse_event(
        {**full(), "body": base64.b64encode(payload).decode(), "isBase64Encoded": True}
    )
    assert isinstance(event, MessageEvent)
    assert event.json() == {"bin": "\u00e9"}
    assert event.data == payload
    assert event.data is event.data
    assert event.json() is event.json()


def test_data_first_then_json_of_a_binary_frame() -> None:
    event = parse_event(load_event("message-base64.json"))
    assert isinstance(event, MessageEvent)
    data = event.data
    assert event.json() == {"action": "ping", "bin": True}
    assert event.data is data


def test_importing_events_loads_neither_json_nor_base64() -> None:
    import subprocess
    import sys

    code = (
        "import sys; before = set(sys.modules); import lambda_runtime.events; "
        "print(sorted({'json', 'base64', 're', 'collections'} & (set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == "[]"


def test_authorizer_event_checks_its_route_key_on_access_only() -> None:
    raw = load_event("authorizer-request.json")
    raw["requestContext"]["routeKey"] = 5
    event = parse_authorizer_event(raw)
    assert event.connection_id == raw["requestContext"]["connectionId"]
    with pytest.raises(EventParseError) as caught:
        _ = event.route_key
    assert caught.value.field == "requestContext.routeKey"
    del raw["requestContext"]["routeKey"]
    assert parse_authorizer_event(raw).route_key == "$connect"


@pytest.mark.parametrize("body", ['{"a": 1}', " [1] ", "", "{", "[1] x"])
def test_json_without_the_cpython_scanner_reads_the_same(
    body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    from lambda_runtime import events

    fallback = (json.JSONDecoder().raw_decode, re.compile(r"[ \t\n\r]*").match, json.loads)
    monkeypatch.setattr(events, "_json_parts", fallback)
    try:
        expected: Any = json.loads(body)
    except ValueError:
        expected = EventParseError
    event = parse_event({**full(), "body": body})
    assert isinstance(event, MessageEvent)
    if expected is EventParseError:
        with pytest.raises(EventParseError, match="not valid JSON"):
            event.json()
    else:
        assert event.json() == expected


def _slot_values(obj: object) -> dict[str, Any]:
    names = {n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())}
    return {n: getattr(obj, n, "<unset>") for n in sorted(names)}


@pytest.mark.parametrize("name", ["connect.json", "disconnect.json", "message.json"])
def test_fast_path_builds_the_same_view_as_the_class_constructor(name: str) -> None:
    # parse_event's fast path sets each class's fields itself (it skips __init__ for speed):
    # a field added to a class's __init__ and forgotten there shows up here.
    from lambda_runtime.events import _parse_event

    raw = load_event(name)
    fast, slow = parse_event(raw), _parse_event(raw)
    assert type(fast) is type(slow)
    assert _slot_values(fast) == _slot_values(slow)

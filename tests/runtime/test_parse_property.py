"""Property: whatever JSON-like value arrives, only EventParseError escapes the parser and the
properties of the events it returns."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lambda_runtime import (
    AuthorizerEvent,
    ConnectEvent,
    DisconnectEvent,
    EventParseError,
    MessageEvent,
    WebSocketEvent,
    parse_authorizer_event,
    parse_event,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

CONTEXT_KEYS = [
    "connectionId",
    "routeKey",
    "eventType",
    "stage",
    "domainName",
    "apiId",
    "requestId",
    "extendedRequestId",
    "messageDirection",
    "connectedAt",
    "requestTimeEpoch",
    "identity",
    "authorizer",
    "messageId",
    "disconnectStatusCode",
    "disconnectReason",
]
EVENT_KEYS = [
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "stageVariables",
    "body",
    "isBase64Encoded",
    "methodArn",
    "type",
]


def interesting(key: str) -> st.SearchStrategy[Any]:
    """Plausible values mixed with arbitrary ones, so that parsing often succeeds."""
    plausible: dict[str, st.SearchStrategy[Any]] = {
        "connectionId": st.sampled_from(["abc=", "BFHPhfCWIAMCKlQ="]),
        "routeKey": st.sampled_from(["$connect", "$disconnect", "$default", "chat"]),
        "eventType": st.sampled_from(["CONNECT", "DISCONNECT", "MESSAGE"]),
        "connectedAt": st.integers(min_value=-(10**20), max_value=10**20),
        "identity": st.dictionaries(
            st.sampled_from(["sourceIp", "userAgent", "accountId", "user"]), json_scalars
        ),
        "authorizer": st.dictionaries(st.sampled_from(["principalId", "role"]), json_scalars),
        "headers": st.dictionaries(st.text(max_size=5), st.text(max_size=5) | json_scalars),
        "multiValueHeaders": st.dictionaries(
            st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3) | json_scalars
        ),
        "body": st.text(max_size=30) | st.sampled_from(['{"a": 1}', "eyJhIjogMX0=", "[]"]),
        "isBase64Encoded": st.booleans(),
        "methodArn": st.text(max_size=10),
    }
    return plausible.get(key, json_values) | json_values


requests = st.fixed_dictionaries(
    {},
    optional={
        "requestContext": st.fixed_dictionaries(
            {}, optional={k: interesting(k) for k in CONTEXT_KEYS}
        )
        | json_values,
        **{k: interesting(k) for k in EVENT_KEYS},
    },
)

# Mostly well-formed events whose other fields are arbitrary: these get past the parser and
# exercise the properties.
near_valid = st.fixed_dictionaries(
    {
        "requestContext": st.fixed_dictionaries(
            {
                "connectionId": st.just("abc="),
                "routeKey": st.sampled_from(["$connect", "$disconnect", "$default", "chat"]),
            },
            optional={k: interesting(k) for k in CONTEXT_KEYS[2:]},
        ),
        "methodArn": st.just("arn:aws:execute-api:us-east-1:1:a/b/$connect"),
    },
    optional={k: interesting(k) for k in EVENT_KEYS if k != "methodArn"},
)

PROPERTIES = [
    name
    for cls in (ConnectEvent, DisconnectEvent, MessageEvent, AuthorizerEvent)
    for name in dir(cls)
    if not name.startswith("_") and isinstance(getattr(cls, name), property)
]
IDENTITY_PROPERTIES = ["source_ip", "user_agent", "account_id", "user", "caller", "api_key"]


def touch_everything(event: WebSocketEvent) -> None:
    for name in PROPERTIES:
        if hasattr(type(event), name):
            with contextlib.suppress(EventParseError):
                getattr(event, name)
    for name in IDENTITY_PROPERTIES:
        with contextlib.suppress(EventParseError):
            getattr(event.identity, name)
    if isinstance(event, MessageEvent):
        with contextlib.suppress(EventParseError):
            event.json()
    repr(event)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, requests, near_valid))
def test_only_event_parse_error_escapes_parse_event(raw: Any) -> None:
    try:
        parsed = parse_event(raw)
    except EventParseError as exc:
        event(f"rejected: {exc.field}")
        return
    event(f"parsed: {type(parsed).__name__}")
    touch_everything(parsed)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, requests, near_valid))
def test_only_event_parse_error_escapes_parse_authorizer_event(raw: Any) -> None:
    try:
        parsed = parse_authorizer_event(raw)
    except EventParseError as exc:
        event(f"rejected: {exc.field}")
        return
    event("parsed")
    touch_everything(parsed)

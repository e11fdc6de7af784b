"""allow/deny: IAM policies for the exact $connect method ARN, context validation."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_runtime import (
    EventParseError,
    InvalidContextError,
    WebSocketApp,
    allow,
    deny,
    parse_authorizer_event,
)

from .conftest import load_event

METHOD_ARN = "arn:aws:execute-api:us-east-1:533568316194:c5jwxq709g/production/$connect"


def statement(response: dict[str, Any]) -> dict[str, Any]:
    (only,) = response["policyDocument"]["Statement"]
    result: dict[str, Any] = only
    return result


def test_allow_names_the_exact_method_arn_and_carries_context() -> None:
    event = parse_authorizer_event(load_event("authorizer-request.json"))
    response = allow(event, "user-42", {"role": "admin", "quota": 5, "ratio": 0.5, "beta": True})
    assert response == {
        "principalId": "user-42",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
            ],
        },
        "context": {"role": "admin", "quota": 5, "ratio": 0.5, "beta": True},
    }


def test_allow_accepts_the_raw_event_and_no_context() -> None:
    response = allow(load_event("authorizer-request.json"), "user-42")
    assert statement(response)["Resource"] == METHOD_ARN
    assert "context" not in response


def test_deny_refuses_the_same_arn() -> None:
    response = deny(load_event("authorizer-request.json"))
    assert statement(response) == {
        "Action": "execute-api:Invoke",
        "Effect": "Deny",
        "Resource": METHOD_ARN,
    }
    assert response["principalId"] == "anonymous"
    assert deny(load_event("authorizer-request.json"), "user-9")["principalId"] == "user-9"


@pytest.mark.parametrize(
    "context",
    [{"tags": ["a"]}, {"user": {"id": 1}}, {"missing": None}, {1: "x"}, {"b": b"x"}],
)
def test_context_values_must_be_str_number_or_bool(context: dict[Any, Any]) -> None:
    with pytest.raises(InvalidContextError) as caught:
        allow(load_event("authorizer-request.json"), "user-42", context)
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize("principal", ["", None, 42])
def test_principal_must_be_a_non_empty_string(principal: Any) -> None:
    with pytest.raises(ValueError, match="principal_id"):
        allow(load_event("authorizer-request.json"), principal)


def test_event_without_method_arn_is_refused() -> None:
    with pytest.raises(EventParseError, match="methodArn"):
        allow(load_event("connect.json"), "user-42")


def test_context_reaches_route_handlers_as_authorizer() -> None:
    # GIVEN the context an authorizer allowed with
    context: dict[str, str | int] = {"role": "admin", "quota": 5}
    response = allow(load_event("authorizer-request.json"), "user-42", context)
    # WHEN API Gateway passes it on to a route (principalId and integrationLatency added)
    raw = load_event("message.json")
    raw["requestContext"]["authorizer"] = {
        "principalId": response["principalId"],
        "integrationLatency": 12,
        **response["context"],
    }
    app = WebSocketApp()
    app.route("chat")(lambda event: {"who": event.principal_id, "ctx": event.authorizer})
    # THEN the handler sees the same principal and context
    body = app(raw, None)["body"]
    assert body == '{"who":"user-42","ctx":{"role":"admin","quota":5}}'

"""Authorizer policy evaluation without sockets."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_ws_api.local.exceptions import InvalidAuthorizerResponse
from cdk_ws_api.local.policy import (
    AuthDecision,
    evaluate,
    missing_identity_sources,
    requestcontext_authorizer,
)

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/dev/$connect"


def _response(*statements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "principalId": "user-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        **extra,
    }


def _statement(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    "resource",
    [
        ARN,
        "*",
        "arn:aws:execute-api:*:*:abcdefghij/*",
        "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/dev/*",
        "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/???/$connect",
        [ARN + "x", ARN],
    ],
)
def test_allow_matching_the_method_arn(resource: Any) -> None:
    assert evaluate(_response(_statement("Allow", resource)), ARN).allowed


@pytest.mark.parametrize(
    "resource",
    [
        ARN + "x",
        "arn:aws:execute-api:us-east-1:123456789012:otherapiid/dev/$connect",
        "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/prod/$connect",
        [],
    ],
)
def test_allow_on_another_arn_is_not_enough(resource: Any) -> None:
    assert not evaluate(_response(_statement("Allow", resource)), ARN).allowed


@pytest.mark.parametrize(
    "action", ["execute-api:Invoke", "execute-api:*", "*", "EXECUTE-API:invoke"]
)
def test_actions_that_cover_invoke(action: str) -> None:
    assert evaluate(_response(_statement("Allow", ARN, action)), ARN).allowed


def test_other_actions_do_not_allow() -> None:
    assert not evaluate(
        _response(_statement("Allow", ARN, "execute-api:ManageConnections")), ARN
    ).allowed


def test_explicit_deny_wins_over_allow() -> None:
    response = _response(_statement("Allow", "*"), _statement("Deny", ARN))
    assert not evaluate(response, ARN).allowed


def test_single_statement_object_is_accepted() -> None:
    response = {"principalId": "p", "policyDocument": {"Statement": _statement("Allow", ARN)}}
    assert evaluate(response, ARN).allowed


def test_context_values_become_strings() -> None:
    decision = evaluate(
        _response(_statement("Allow", ARN), context={"n": 7, "b": False, "s": "x", "z": None}),
        ARN,
    )
    assert decision == AuthDecision(True, "user-1", {"n": "7", "b": "false", "s": "x"})
    assert requestcontext_authorizer(decision) == {
        "n": "7",
        "b": "false",
        "s": "x",
        "principalId": "user-1",
    }


@pytest.mark.parametrize(
    "response",
    [
        None,
        "Allow",
        {"principalId": "p"},
        _response(_statement("Allow", ARN), context={"nested": {"a": 1}}),
        _response(_statement("Allow", ARN), context=["x"]),
    ],
)
def test_invalid_responses(response: Any) -> None:
    with pytest.raises(InvalidAuthorizerResponse):
        evaluate(response, ARN)


def test_missing_identity_sources() -> None:
    headers = [("Auth", "x"), ("Empty", "")]
    query = [("token", "t"), ("blank", "")]
    sources = (
        "route.request.header.auth",
        "route.request.querystring.token",
        "route.request.header.Empty",
        "route.request.querystring.blank",
        "route.request.querystring.absent",
        "stageVariables.v",
        "stageVariables.none",
        "context.requestId",
    )
    missing = missing_identity_sources(
        sources, headers=headers, query=query, stage_variables={"v": "1"}
    )
    assert missing == [
        "route.request.header.Empty",
        "route.request.querystring.blank",
        "route.request.querystring.absent",
        "stageVariables.none",
    ]

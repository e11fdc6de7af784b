"""Identity-policy evaluation (cdk_ws_api.local.iam.evaluate): AWS's documented rules."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_ws_api.local.iam.evaluate import (
    CompiledPolicy,
    evaluate,
    unsupported_conditions,
)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Chat-Connections"
OTHER = "arn:aws:dynamodb:us-east-1:123456789012:table/Other"


def policy(*statements: dict[str, Any], name: str = "P") -> CompiledPolicy:
    return CompiledPolicy(name, {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_allows_means_implicit_deny() -> None:
    decision = evaluate([policy(allow("dynamodb:GetItem", TABLE))], "dynamodb:PutItem", TABLE)
    assert not decision.allowed and not decision.explicit


def test_an_allow_on_the_exact_action_and_resource_allows() -> None:
    assert evaluate(
        [policy(allow(["dynamodb:PutItem"], [TABLE]))], "dynamodb:PutItem", TABLE
    ).allowed


def test_explicit_deny_wins_over_allow_in_another_policy() -> None:
    # GIVEN an Allow in one policy and a Deny of the same call in another (checked after it)
    policies = [
        policy(allow("dynamodb:*", "*"), name="Grants"),
        policy(
            {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": TABLE, "Sid": "NoPut"},
            name="Guardrail",
        ),
    ]
    decision = evaluate(policies, "dynamodb:PutItem", TABLE)
    assert not decision.allowed and decision.explicit
    assert (decision.policy, decision.sid) == ("Guardrail", "NoPut")
    # the Deny does not touch other actions
    assert evaluate(policies, "dynamodb:GetItem", TABLE).allowed


def test_action_wildcards_are_case_insensitive() -> None:
    granted = [policy(allow("DynamoDB:Get*", TABLE), allow("sqs:?endMessage"))]
    assert evaluate(granted, "dynamodb:GetItem", TABLE).allowed
    assert evaluate(granted, "sqs:SendMessage", "*").allowed
    assert not evaluate(granted, "dynamodb:PutItem", TABLE).allowed
    assert not evaluate(granted, "sqs:SendMessageBatch", "*").allowed  # ? is one character


def test_resource_wildcards_are_case_sensitive_and_anchored() -> None:
    granted = [policy(allow("dynamodb:Query", f"{TABLE}/index/*"))]
    assert evaluate(granted, "dynamodb:Query", f"{TABLE}/index/byGroup").allowed
    assert not evaluate(granted, "dynamodb:Query", TABLE).allowed
    assert not evaluate(granted, "dynamodb:Query", f"{TABLE.lower()}/index/byGroup").allowed


def test_not_action_allows_everything_else() -> None:
    granted = [policy({"Effect": "Allow", "NotAction": "dynamodb:*", "Resource": "*"})]
    assert evaluate(granted, "sqs:SendMessage", "*").allowed
    assert not evaluate(granted, "dynamodb:PutItem", TABLE).allowed


def test_not_resource_denies_everything_but_the_listed_resources() -> None:
    policies = [
        policy(allow("dynamodb:*")),
        policy({"Effect": "Deny", "Action": "dynamodb:*", "NotResource": [TABLE]}),
    ]
    assert evaluate(policies, "dynamodb:PutItem", TABLE).allowed
    assert evaluate(policies, "dynamodb:PutItem", OTHER).explicit


def test_a_single_statement_object_is_accepted() -> None:
    document = {"Statement": allow("execute-api:ManageConnections", "arn:aws:execute-api:*")}
    assert evaluate(
        [CompiledPolicy("P", document)],
        "execute-api:ManageConnections",
        "arn:aws:execute-api:us-east-1:1:abc/dev/POST/@connections/x",
    ).allowed


CONTEXT = {
    "aws:PrincipalAccount": "123456789012",
    "aws:SecureTransport": "true",
    "aws:TagKeys": ["team", "env"],
    "aws:MultiFactorAuthAge": "30",
    "aws:PrincipalArn": "arn:aws:iam::123456789012:role/Chat-Role",
}


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"StringEquals": {"aws:PrincipalAccount": "123456789012"}}, True),
        ({"StringEquals": {"aws:principalaccount": ["1", "123456789012"]}}, True),  # key case
        ({"StringEquals": {"aws:PrincipalAccount": "999"}}, False),
        ({"StringNotEquals": {"aws:PrincipalAccount": "999"}}, True),
        (
            {
                "StringEqualsIgnoreCase": {
                    "aws:PrincipalArn": "ARN:AWS:IAM::123456789012:ROLE/CHAT-ROLE"
                }
            },
            True,
        ),
        ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Chat-*"}}, True),
        ({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Chat-*"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}, True),
        ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Other"}}, False),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Other*"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, False),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, True),
        ({"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}, False),
        ({"Null": {"aws:SourceArn": "true"}}, True),  # absent key
        ({"Null": {"aws:PrincipalAccount": "true"}}, False),
        ({"StringEquals": {"aws:SourceArn": "arn:x"}}, False),  # absent key: no match
        ({"StringEqualsIfExists": {"aws:SourceArn": "arn:x"}}, True),  # ...unless IfExists
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": "env"}}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}, False),
        # every operator and every key of a Condition must hold
        (
            {
                "StringEquals": {"aws:PrincipalAccount": "123456789012"},
                "Bool": {"aws:SecureTransport": "false"},
            },
            False,
        ),
    ],
)
def test_condition_operators(condition: dict[str, Any], holds: bool) -> None:
    granted = [policy(allow("dynamodb:GetItem", TABLE, Condition=condition))]
    assert evaluate(granted, "dynamodb:GetItem", TABLE, CONTEXT).allowed is holds
    assert unsupported_conditions({"Statement": [{"Condition": condition}]}) == []


def test_unsupported_operators_are_listed_and_their_statement_never_applies() -> None:
    condition = {
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
    }
    document = {"Statement": [allow("dynamodb:GetItem", TABLE, Condition=condition)]}
    assert sorted(unsupported_conditions(document)) == ["DateGreaterThan", "IpAddress"]
    assert not evaluate([CompiledPolicy("P", document)], "dynamodb:GetItem", TABLE, CONTEXT).allowed


def test_an_unknown_resource_is_decided_on_the_action_alone() -> None:
    granted = [policy(allow("dynamodb:GetRecords", f"{TABLE}/stream/*"))]
    assert evaluate(granted, "dynamodb:GetRecords", None).allowed
    assert not evaluate(granted, "dynamodb:PutItem", None).allowed

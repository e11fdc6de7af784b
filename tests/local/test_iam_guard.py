"""Who calls, the decision and its cache, and AWS's denial message
(cdk_ws_api.local.iam.guard)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_ws_api.local.iam import guard as guard_module
from cdk_ws_api.local.iam.guard import Denial, Guard, access_key_of, construct_name
from cdk_ws_api.local.iam.model import Identity, Permissions

ACCOUNT = "123456789012"
API = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Chat-ConnectionTable1A2B3C4D"
KEY = "ASIAAAAAAAAAAAAAAAAA"


def identity(*statements: dict[str, Any]) -> Identity:
    return Identity(
        logical_id="ChatHandler6667856F",
        function="Chat-ChatHandler6667856F",
        role="Chat-ChatHandlerRole2B7E098F",
        account=ACCOUNT,
        access_key_id=KEY,
        policies=(("Policy1 (AWS::IAM::Policy)", {"Statement": list(statements)}),),
    )


def guard(*statements: dict[str, Any], mode: str = "enforce", **kwargs: Any) -> Guard:
    permissions = Permissions(
        {"ChatHandler6667856F": identity(*statements)},
        tables={"Chat-ConnectionTable1A2B3C4D": "ConnectionTable1A2B3C4D"},
    )
    return Guard(permissions, mode, **kwargs)


def authorization(key: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )


def test_access_key_of_reads_the_sigv4_credential() -> None:
    assert access_key_of(authorization(KEY)) == KEY
    assert access_key_of(None) is None
    assert access_key_of("Bearer token") is None
    assert access_key_of("AWS4-HMAC-SHA256 Credential=/x") is None


def test_implicit_denial_has_aws_message() -> None:
    denial = guard().check(KEY, "execute-api:ManageConnections", f"{API}/POST/@connections/c1=")
    assert denial is not None
    assert denial.message == (
        "User: arn:aws:sts::123456789012:assumed-role/Chat-ChatHandlerRole2B7E098F/"
        "Chat-ChatHandler6667856F is not authorized to perform: execute-api:ManageConnections "
        f"on resource: {API}/POST/@connections/c1= because no identity-based policy allows "
        "the execute-api:ManageConnections action"
    )


def test_explicit_denial_has_aws_message_and_names_the_statement() -> None:
    g = guard(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": TABLE, "Sid": "NoWrites"},
    )
    denial = g.check(KEY, "dynamodb:PutItem", TABLE)
    assert denial is not None
    assert denial.message.endswith(
        f"perform: dynamodb:PutItem on resource: {TABLE} with an explicit deny in an "
        "identity-based policy"
    )
    assert "remove or narrow the Deny statement (Sid NoWrites) of Policy1" in denial.log_line()


def test_log_lines_name_the_missing_grant() -> None:
    g = guard()
    tables = g.permissions.tables
    post = g.check(KEY, "execute-api:ManageConnections", f"{API}/POST/@connections/c1=")
    put = g.check(KEY, "dynamodb:PutItem", TABLE)
    query = g.check(KEY, "dynamodb:Query", f"{TABLE}/index/byGroup")
    send = g.check(KEY, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")
    other = g.check(KEY, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:1:stream/s")
    assert post and put and query and send and other
    assert post.log_line(tables=tables) == (
        f"IAM denied ChatHandler: execute-api:ManageConnections on {API}/POST/@connections/c1=: "
        "give ChatHandler `api.grant_manage_connections(ChatHandler)` (cdk-ws-api) or "
        "`stage.grant_management_api_access(ChatHandler)` (aws-cdk-lib) for this stage"
    )
    assert "give ChatHandler `ConnectionTable.grant_write_data(ChatHandler)`" in put.log_line(
        tables=tables
    )
    assert "`ConnectionTable.grant_read_data(ChatHandler)`" in query.log_line(tables=tables)
    assert "`queue.grant_send_messages(ChatHandler)`" in send.log_line()
    assert 'iam.PolicyStatement(actions=["kinesis:PutRecord"]' in other.log_line()
    assert post.log_line(allowed=True).startswith("IAM would deny (--iam warn: allowed)")


def test_a_grant_for_another_stage_is_pointed_out() -> None:
    g = guard(
        {
            "Effect": "Allow",
            "Action": "execute-api:ManageConnections",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/@connections/*",
        }
    )
    denial = g.check(KEY, "execute-api:ManageConnections", f"{API}/POST/@connections/c1=")
    assert denial is not None
    assert "its ManageConnections grant covers other stages or methods" in denial.log_line()


def test_construct_name_strips_the_cdk_hash_only() -> None:
    assert construct_name("ChatHandler6667856F") == "ChatHandler"
    assert construct_name("Handler") == "Handler"
    assert construct_name("ABCDEF12") == "ABCDEF12"  # nothing left without the "hash"
    assert construct_name("Chat6667856f") == "Chat6667856f"  # CDK's hashes are upper case


def test_unknown_keys_are_the_developer_and_never_denied() -> None:
    assert guard().check("AKIALOCALEMULATOR000", "dynamodb:PutItem", TABLE) is None
    assert guard().check(None, "dynamodb:PutItem", TABLE) is None


def test_warn_serves_the_call_and_reports_it() -> None:
    seen: list[tuple[Denial, bool]] = []
    g = guard(mode="warn", on_denial=lambda denial, allowed: seen.append((denial, allowed)))
    assert g.check(KEY, "dynamodb:PutItem", TABLE) is None
    assert g.check(KEY, "dynamodb:PutItem", TABLE) is None  # cached: still reported
    assert [(d.action, allowed) for d, allowed in seen] == [("dynamodb:PutItem", True)] * 2


def test_enforce_reports_with_allowed_false() -> None:
    seen: list[bool] = []
    g = guard(on_denial=lambda denial, allowed: seen.append(allowed))
    assert g.check(KEY, "dynamodb:PutItem", TABLE) is not None
    assert seen == [False]


def test_off_evaluates_nothing() -> None:
    g = guard(mode="off")
    assert not g.active
    assert g.check(KEY, "dynamodb:PutItem", TABLE) is None


def test_an_unknown_mode_is_rejected_naming_the_option() -> None:
    with pytest.raises(ValueError, match="--iam must be one of enforce, warn, off"):
        guard(mode="strict")


def test_decisions_are_cached_per_principal_action_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g = guard({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE})
    calls: list[tuple[str, str | None]] = []
    decide = g._decide

    def counting(key: str, action: str, resource: str | None) -> Denial | None:
        calls.append((action, resource))
        return decide(key, action, resource)

    monkeypatch.setattr(g, "_decide", counting)
    for _ in range(3):
        assert g.check(KEY, "dynamodb:GetItem", TABLE) is None
        assert g.check(KEY, "dynamodb:PutItem", TABLE) is not None
    assert calls == [("dynamodb:GetItem", TABLE), ("dynamodb:PutItem", TABLE)]


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard_module, "_CACHE_LIMIT", 50)
    g = guard()
    for index in range(500):  # a flood of distinct connection ids
        g.check(KEY, "execute-api:ManageConnections", f"{API}/POST/@connections/{index}")
        assert len(g._cache) <= 50

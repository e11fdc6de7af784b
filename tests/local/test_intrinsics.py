"""Intrinsic functions resolved to local values."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_ws_api.local.exceptions import IntrinsicError
from cdk_ws_api.local.intrinsics import Resolver, localize_urls

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "NoDefault": {"Type": "String"}},
    "Conditions": {
        "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
        "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
    },
    "Mappings": {"Sizes": {"dev": {"memory": "128"}}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Api": {"Type": "AWS::ApiGatewayV2::Api"},
        "Stage": {"Type": "AWS::ApiGatewayV2::Stage"},
        "Fn": {"Type": "AWS::Lambda::Function"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Thing": {"Type": "Custom::Thing"},
    },
}


@pytest.fixture
def resolver() -> Resolver:
    return Resolver(
        TEMPLATE,
        stack_name="S",
        region="eu-west-1",
        account="111122223333",
        physical_ids={"Table": "S-Table", "Api": "abcdefghij", "Stage": "dev", "Fn": "S-Fn"},
    )


def test_refs(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "Table"}) == "S-Table"
    assert resolver.resolve({"Ref": "Queue"}) == "S-Queue"
    assert resolver.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "111122223333"
    assert resolver.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert resolver.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert resolver.resolve({"Ref": "AWS::StackName"}) == "S"
    assert resolver.resolve({"Ref": "Env"}) == "dev"
    assert resolver.resolve([1, {"Ref": "AWS::NoValue"}, 2]) == [1, 2]
    assert resolver.resolve({"a": {"Ref": "AWS::NoValue"}, "b": 1}) == {"b": 1}


def test_get_att(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::GetAtt": ["Table", "Arn"]}) == (
        "arn:aws:dynamodb:eu-west-1:111122223333:table/S-Table"
    )
    assert resolver.resolve({"Fn::GetAtt": "Fn.Arn"}) == (
        "arn:aws:lambda:eu-west-1:111122223333:function:S-Fn"
    )
    assert resolver.resolve({"Fn::GetAtt": ["Table", "StreamArn"]}).startswith(
        "arn:aws:dynamodb:eu-west-1:111122223333:table/S-Table/stream/"
    )
    assert resolver.resolve({"Fn::GetAtt": ["Api", "ApiEndpoint"]}) == (
        "wss://abcdefghij.execute-api.eu-west-1.amazonaws.com"
    )
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == (
        "arn:aws:sqs:eu-west-1:111122223333:S-Queue"
    )


def test_join_sub_select_split(resolver: Resolver) -> None:
    # what WebSocketStage.callbackUrl synthesizes to
    callback = {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": "Api"},
                ".execute-api.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/",
                {"Ref": "Stage"},
            ],
        ]
    }
    url = resolver.resolve(callback)
    assert url == "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/dev"
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}/${Table}/${Table.Arn}/${!Literal}"}) == (
        "eu-west-1/S-Table/arn:aws:dynamodb:eu-west-1:111122223333:table/S-Table/${Literal}"
    )
    assert resolver.resolve({"Fn::Sub": ["${X}-${Fn}", {"X": {"Ref": "Env"}}]}) == "dev-S-Fn"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::Select": [0, {"Fn::GetAZs": ""}]}) == "eu-west-1a"
    assert resolver.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "memory"]}) == "128"


def test_conditions(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::If": ["IsDev", "yes", "no"]}) == "yes"
    assert resolver.resolve({"Fn::If": ["IsProd", "yes", "no"]}) == "no"
    assert resolver.resolve({"Fn::And": [{"Condition": "IsDev"}, True]}) is True
    assert resolver.resolve({"Fn::Or": [{"Condition": "IsProd"}, False]}) is False


def test_resolve_string(resolver: Resolver) -> None:
    assert resolver.resolve_string(True) == "true"
    assert resolver.resolve_string(5) == "5"
    with pytest.raises(IntrinsicError):
        resolver.resolve_string({"Fn::Split": [",", "a,b"]})


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::ImportValue": "Other-Export"},
        {"Ref": "Missing"},
        {"Ref": "NoDefault"},
        {"Fn::GetAtt": ["Thing", "Whatever"]},
        {"Fn::GetAtt": ["Missing", "Arn"]},
        {"Fn::If": ["NoSuchCondition", 1, 2]},
    ],
)
def test_unresolvable(resolver: Resolver, value: Any) -> None:
    with pytest.raises(IntrinsicError):
        resolver.resolve(value)


def test_localize_urls() -> None:
    domains = {"abcdefghij.execute-api.eu-west-1.amazonaws.com": "127.0.0.1:3001"}
    assert (
        localize_urls("https://abcdefghij.execute-api.eu-west-1.amazonaws.com/dev", domains)
        == "http://127.0.0.1:3001/dev"
    )
    assert localize_urls("wss://abcdefghij.execute-api.eu-west-1.amazonaws.com", domains) == (
        "ws://127.0.0.1:3001"
    )
    other = "https://zzzzzzzzzz.execute-api.eu-west-1.amazonaws.com/dev"
    assert localize_urls(other, domains) == other

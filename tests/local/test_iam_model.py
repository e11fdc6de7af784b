"""Each function's role and identity policies read from a template (cdk_ws_api.local.iam.model)
and the built-in AWS managed policies (cdk_ws_api.local.iam.managed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdk_ws_api.local.iam import managed as managed_module
from cdk_ws_api.local.iam.evaluate import CompiledPolicy, evaluate
from cdk_ws_api.local.iam.managed import BUILT_IN, managed_policy, moto_documents, policy_arn
from cdk_ws_api.local.iam.model import Permissions, access_key_id, read_permissions
from cdk_ws_api.local.intrinsics import Resolver

ACCOUNT, REGION = "123456789012", "eu-west-1"


def managed(path_name: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::aws:policy/{path_name}"]]}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "ManagedPolicyArns": [
                    managed("service-role/AWSLambdaBasicExecutionRole"),
                    managed("AmazonSQSFullAccess"),
                    managed("NotARealPolicy"),
                    {"Ref": "Customer"},
                ],
                "Policies": [
                    {
                        "PolicyName": "inline",
                        "PolicyDocument": doc(
                            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN}
                        ),
                    }
                ],
            },
        },
        "Attached": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "attached",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": doc(
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:Query",
                        "Resource": {"Fn::Join": ["", [TABLE_ARN, "/index/*"]]},
                    },
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": {"Fn::GetAtt": ["Unknown", "Arn"]},
                    },
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:Scan",
                        "Resource": "*",
                        "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}},
                    },
                ),
            },
        },
        "Customer": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": doc(
                    {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE_ARN}
                )
            },
        },
        "AlsoAttached": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": doc(
                    {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}
                ),
            },
        },
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}},
        },
        "Imported": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Role": "arn:aws:iam::123456789012:role/existing-role"},
        },
        "NoRole": {"Type": "AWS::Lambda::Function", "Properties": {}},
    }
}


@pytest.fixture(scope="module")
def permissions() -> Permissions:
    resolver = Resolver(
        TEMPLATE,
        stack_name="Chat",
        region=REGION,
        account=ACCOUNT,
        physical_ids={"Table": "Chat-Table", "Role": "Chat-Role"},
    )
    return read_permissions(
        TEMPLATE["Resources"],
        resolver,
        stack="Chat",
        account=ACCOUNT,
        functions={
            "Handler": ("Handler", "Chat-Handler"),
            "Imported": ("Imported", "Chat-Imported"),
            "NoRole": ("NoRole", "x"),
            # another stack's function is keyed Stack/LogicalId, read by its logical id
            "Other/Handler": ("Handler", "Other-Handler"),
        },
        tables={"Chat-Table": "Table"},
    )


def allowed(permissions: Permissions, logical_id: str, action: str, resource: str) -> bool:
    identity = permissions.identities[logical_id]
    compiled = [CompiledPolicy(name, document) for name, document in identity.policies]
    return evaluate(compiled, action, resource).allowed


TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Chat-Table"


def test_the_principal_is_the_assumed_execution_role(permissions: Permissions) -> None:
    identity = permissions.identities["Handler"]
    assert identity.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Chat-Role/Chat-Handler"
    assert identity.access_key_id == access_key_id("Chat", "Handler")


def test_every_kind_of_attached_policy_is_read(permissions: Permissions) -> None:
    names = [name for name, _ in permissions.identities["Handler"].policies]
    assert names == [
        "Role inline policy inline",
        "Attached (AWS::IAM::Policy)",
        "AlsoAttached (AWS::IAM::ManagedPolicy)",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
        "Customer (AWS::IAM::ManagedPolicy)",
    ]


def test_intrinsics_resolve_to_local_arns(permissions: Permissions) -> None:
    assert allowed(permissions, "Handler", "dynamodb:GetItem", TABLE)  # inline
    assert allowed(permissions, "Handler", "dynamodb:Query", f"{TABLE}/index/byRoom")  # attached
    assert allowed(permissions, "Handler", "dynamodb:PutItem", TABLE)  # customer managed
    assert allowed(permissions, "Handler", "sqs:SendMessage", "arn:aws:sqs:x:1:q")  # AWS managed
    assert allowed(permissions, "Handler", "logs:PutLogEvents", "arn:aws:logs:x:1:log-group:g")
    assert not allowed(permissions, "Handler", "dynamodb:UpdateItem", TABLE)
    assert not allowed(permissions, "Handler", "dynamodb:DeleteItem", TABLE)  # the Deny


def test_what_cannot_be_known_locally_is_reported(permissions: Permissions) -> None:
    text = "\n".join(permissions.warnings)
    assert "arn:aws:iam::aws:policy/NotARealPolicy of Role is unknown locally" in text
    assert (
        "Imported's role arn:aws:iam::123456789012:role/existing-role is not in the template"
        in text
    )
    assert "statement 1 of Attached (AWS::IAM::Policy) has no local value" in text
    assert "condition operator DateLessThan in Attached (AWS::IAM::Policy)" in text
    # each problem once, and nothing about functions without a Role property
    assert len(permissions.warnings) == len(set(permissions.warnings)) == 4
    assert "NoRole" not in permissions.identities


def test_functions_of_other_stacks_are_keyed_apart(permissions: Permissions) -> None:
    other = permissions.identities["Other/Handler"]
    assert other.logical_id == "Handler" and other.function == "Other-Handler"
    assert other.policies == permissions.identities["Handler"].policies
    assert other.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Chat-Role/Other-Handler"


def test_an_imported_role_grants_nothing(permissions: Permissions) -> None:
    identity = permissions.identities["Imported"]
    assert identity.role == "existing-role" and identity.policies == ()


def test_permissions_round_trip_through_json(permissions: Permissions) -> None:
    copy = Permissions.from_json(json.loads(json.dumps(permissions.to_json())))
    assert copy.identities == permissions.identities and copy.tables == permissions.tables


def test_access_keys_look_like_temporary_credentials_and_differ_per_function() -> None:
    key = access_key_id("Chat", "Handler")
    assert key.startswith("ASIA") and len(key) == 20 and key.isalnum() and key.isupper()
    assert key == access_key_id("Chat", "Handler") != access_key_id("Chat", "Other")


def test_built_in_managed_policies_are_moto_s_documents() -> None:
    data = json.loads(
        Path(managed_module.__file__).with_name("aws_managed_policies.json").read_text()
    )
    assert data == moto_documents()
    assert sorted(data) == sorted(BUILT_IN)


def test_managed_policies_are_found_in_any_partition() -> None:
    arn = "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    document = managed_policy(arn)
    assert document is not None
    actions = {
        a
        for s in document["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "ec2:CreateNetworkInterface" in actions
    assert managed_policy(policy_arn("AmazonDynamoDBFullAccess")) is not None
    assert managed_policy("arn:aws:iam::123456789012:policy/AmazonDynamoDBFullAccess") is None

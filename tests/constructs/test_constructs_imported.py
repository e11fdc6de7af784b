"""Functions imported by ARN or attributes (issue 12 §2): the grants are real, or the construct
refuses them with a ConstructValidationError that says what to pass instead."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match
from constructs_helpers import python_function, synth

from cdk_ws_api import ConstructValidationError, LambdaRequestAuthorizer, WebSocketApi
from cdk_ws_api.handlers import can_create_invoke_permission

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:existing"
ROLE_ARN = "arn:aws:iam::123456789012:role/existing-role"
ACCOUNT_ENV = Environment(account="123456789012", region="us-east-1")


def _imported_with_role(stack: Stack) -> lambda_.IFunction:
    return lambda_.Function.from_function_attributes(
        stack,
        "Fn",
        function_arn=FUNCTION_ARN,
        role=iam.Role.from_role_arn(stack, "Role", ROLE_ARN),
        same_environment=True,
    )


@pytest.mark.parametrize("env", [None, ACCOUNT_ENV], ids=["env-agnostic", "same-account"])
def test_function_imported_by_arn_is_rejected_with_what_to_pass(env: Environment | None) -> None:
    # GIVEN a route function from from_function_arn (no role: no IAM grant can be made)
    stack = Stack(App(), "ByArn", env=env)
    fn = lambda_.Function.from_function_arn(stack, "Fn", FUNCTION_ARN)
    # THEN the error names the prop and says what to pass
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(stack, "Api", default=fn)
    message = str(caught.value)
    assert "default.handler='ByArn/Fn'" in message
    assert "cannot get the IAM grants" in message
    assert "from_function_attributes(" in message and "same_environment=True" in message


def test_env_agnostic_import_without_same_environment_cannot_be_invoked() -> None:
    # GIVEN a role but no same_environment in an environment-agnostic stack
    stack = Stack(App(), "NoSameEnv")
    fn = lambda_.Function.from_function_attributes(
        stack, "Fn", function_arn=FUNCTION_ARN, role=iam.Role.from_role_arn(stack, "R", ROLE_ARN)
    )
    # THEN refused: CDK would silently create no AWS::Lambda::Permission
    with pytest.raises(
        ConstructValidationError, match=r"cannot add the permission for API Gateway to invoke"
    ):
        WebSocketApi(stack, "Api", default=fn)


def test_imported_function_with_role_gets_real_permission_and_grants_and_a_warning() -> None:
    # GIVEN from_function_attributes(role=..., same_environment=True)
    stack = Stack(App(), "Imported")
    fn = _imported_with_role(stack)
    api = WebSocketApi(stack, "Api", default=fn)
    template = synth(stack)
    # THEN API Gateway may invoke it
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"FunctionName": FUNCTION_ARN, "Principal": "apigateway.amazonaws.com"},
    )
    # AND its role gets the table and @connections statements
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["existing-role"],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Action": Match.array_with(["dynamodb:PutItem"])}),
                        Match.object_like({"Action": "execute-api:ManageConnections"}),
                    ]
                )
            },
        },
    )
    # AND the warning says exactly what it does not get
    Annotations.from_stack(stack).has_warning(
        "/Imported/Api",
        Match.string_like_regexp(
            "gets its IAM grants .* but not the environment variables .*WS_API_CONNECTION_TABLE"
            ".* nor the lambda_runtime layer"
        ),
    )
    assert "$default" in api.routes


def test_imported_authorizer_needs_invoke_permission_but_no_role() -> None:
    # GIVEN an authorizer imported by ARN into an environment-agnostic stack / THEN refused
    stack = Stack(App(), "Auth")
    fn = python_function(stack, "Handler")
    auth = lambda_.Function.from_function_arn(stack, "Auth", FUNCTION_ARN)
    with pytest.raises(ConstructValidationError, match=r"authorizer\.handler='Auth/Auth'"):
        WebSocketApi(stack, "Api", connect=fn, authorizer=LambdaRequestAuthorizer(handler=auth))
    # AND with same_environment=True (no role needed: it gets no grants) it is accepted
    ok = lambda_.Function.from_function_attributes(
        stack, "Ok", function_arn=FUNCTION_ARN, same_environment=True
    )
    api = WebSocketApi(stack, "Api2", connect=fn, authorizer=LambdaRequestAuthorizer(handler=ok))
    assert api.authorizer is not None


def test_can_create_invoke_permission_follows_aws_cdk_lib() -> None:
    # The one place reading aws-cdk-lib's protected canCreatePermissions: fails if it changes.
    agnostic = Stack(App(), "Agnostic")
    concrete = Stack(App(), "Concrete", env=ACCOUNT_ENV)
    assert can_create_invoke_permission(python_function(agnostic, "Own")) is True
    assert (
        can_create_invoke_permission(
            lambda_.Function.from_function_arn(agnostic, "ByArn", FUNCTION_ARN)
        )
        is False
    )
    assert (
        can_create_invoke_permission(
            lambda_.Function.from_function_arn(concrete, "SameAccount", FUNCTION_ARN)
        )
        is True
    )
    assert (
        can_create_invoke_permission(
            lambda_.Function.from_function_arn(
                concrete, "OtherAccount", "arn:aws:lambda:us-east-1:999999999999:function:x"
            )
        )
        is False
    )
    assert can_create_invoke_permission(_imported_with_role(agnostic)) is True

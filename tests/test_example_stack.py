"""The example chat stack (``app.py``): snapshot, cfn-lint, cdk-nag and its API surface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack, Validations
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

import app as example
from cdk_ws_api.testing import lint_template, template_snapshot

STACK_NAME = "CdkWsApiChat"


def _stack(outdir: Path) -> Stack:
    app = example.build_app(str(outdir))
    stack = app.node.find_child(STACK_NAME)
    assert isinstance(stack, Stack)
    return stack


@pytest.fixture(scope="module")
def chat_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    return _stack(tmp_path_factory.mktemp("chat"))


@pytest.fixture(scope="module")
def template(chat_stack: Stack) -> Template:
    return Template.from_stack(chat_stack)


def _resources(template: Template, type_: str) -> dict[str, Any]:
    return template.find_resources(type_)


def test_snapshot(chat_stack: Stack, snapshot: Any) -> None:
    # GIVEN the example stack WHEN it is synthesized THEN its normalised template is unchanged.
    # After an intended change: `make snapshot-update`, then review the diff.
    assert template_snapshot(chat_stack) == snapshot


def test_synthesis_is_deterministic(chat_stack: Stack, tmp_path: Path) -> None:
    # GIVEN a second, independent synthesis of the same app
    again = Template.from_stack(_stack(tmp_path)).to_json()
    # THEN the templates are identical, asset hashes included (no __pycache__, no timestamps)
    assert again == Template.from_stack(chat_stack).to_json()


def test_cfn_lint_finds_nothing(template: Template) -> None:
    assert lint_template(template.to_json()) == []


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(tmp_path: Path) -> None:
    # GIVEN the example app with the AwsSolutions pack as a validation plugin (cdk-nag 3)
    app = example.build_app(str(tmp_path))
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    # WHEN it is synthesized (a finding makes synth raise)
    app.synth()
    # THEN the report has no violation at all
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = [
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]
    assert violations == []


def test_chat_routes_and_selection_expression(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )
    route_keys = {
        r["Properties"]["RouteKey"]
        for r in _resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert route_keys == {"$connect", "$disconnect", "$default", "join", "send", "whoami", "ping"}


def test_two_way_routes_are_whoami_ping_and_default(template: Template) -> None:
    routes = _resources(template, "AWS::ApiGatewayV2::Route")
    responses = _resources(template, "AWS::ApiGatewayV2::RouteResponse")
    answered = {
        routes[r["Properties"]["RouteId"]["Ref"]]["Properties"]["RouteKey"]
        for r in responses.values()
    }
    assert answered == {"whoami", "ping", "$default"}


def test_ping_is_answered_by_api_gateway_without_a_function(template: Template) -> None:
    # GIVEN the ping route and the integration it targets
    ((_, ping),) = template.find_resources(
        "AWS::ApiGatewayV2::Route", {"Properties": {"RouteKey": "ping"}}
    ).items()
    integration_id = ping["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    integration = template.to_json()["Resources"][integration_id]["Properties"]
    # THEN it is a mock reporting 200, whose 2xx integration response is the pong template
    assert integration["IntegrationType"] == "MOCK"
    assert integration["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    responses = {
        r["Properties"]["IntegrationResponseKey"]: r["Properties"]
        for r in _resources(template, "AWS::ApiGatewayV2::IntegrationResponse").values()
        if r["Properties"]["IntegrationId"] == {"Ref": integration_id}
    }
    assert set(responses) == {"/2\\d\\d/", "$default"}
    pong = json.loads(
        responses["/2\\d\\d/"]["ResponseTemplates"]["$default"]
        .replace("$context.connectionId", "c=")
        .replace("$context.requestTime", "t")
    )
    assert pong == {"action": "pong", "connectionId": "c=", "requestTime": "t"}
    # no function serves it: the chat function's integrations are the only Lambda ones
    lambda_integrations = template.find_resources(
        "AWS::ApiGatewayV2::Integration", {"Properties": {"IntegrationType": "AWS_PROXY"}}
    )
    assert integration_id not in lambda_integrations
    assert len(lambda_integrations) == 6


def test_connect_is_authorized_by_the_token_query_parameter(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"AuthorizerType": "REQUEST", "IdentitySource": ["route.request.querystring.token"]},
    )
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        {"RouteKey": "$connect", "AuthorizationType": "CUSTOM", "AuthorizerId": Match.any_value()},
    )


def test_connection_table_groups_connections_by_room(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": "byGroup",
                        "KeySchema": Match.array_with(
                            [{"AttributeName": "groupId", "KeyType": "HASH"}]
                        ),
                    }
                )
            ],
        },
    )
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


def test_functions_write_only_to_their_own_log_groups(template: Template) -> None:
    # No AWS managed policy (AWSLambdaBasicExecutionRole would allow every log group).
    for role in _resources(template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"] or not any(
            "AWSLambdaBasicExecutionRole" in json.dumps(arn)
            for arn in role["Properties"]["ManagedPolicyArns"]
        )
    for function in _resources(template, "AWS::Lambda::Function").values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.14"
        assert "LoggingConfig" in properties

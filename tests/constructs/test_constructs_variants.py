"""Props that change the shape of the stack: each needs its own (small) synthesized stack."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match
from constructs_helpers import Built, python_function, synth

from cdk_ws_api import (
    ConnectionTable,
    ConnectionTableProps,
    IamAuthorizer,
    LambdaRequestAuthorizer,
    RouteOptions,
    StageOptions,
    TableSchema,
    WebSocketApi,
)
from lambda_runtime import env


def test_iam_authorizer_on_connect(build: Callable[..., Built]) -> None:
    # GIVEN authorizer=IamAuthorizer() and a $connect route
    stack = Stack(App(), "Iam")
    fn = python_function(stack, "Handler")
    api = WebSocketApi(stack, "Api", connect=fn, authorizer=IamAuthorizer())
    template = synth(stack)
    # THEN $connect uses AWS_IAM and no authorizer resource exists
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "AWS_IAM"}
    )
    template.resource_count_is("AWS::ApiGatewayV2::Authorizer", 0)
    assert api.authorizer is None


def test_lambda_authorizer_default_identity_source_and_route_options_form() -> None:
    # GIVEN the authorizer in the $connect RouteOptions, identity source left at its default
    stack = Stack(App(), "AuthDefault")
    fn = python_function(stack, "Handler")
    auth = python_function(stack, "Auth")
    WebSocketApi(
        stack,
        "Api",
        connect=RouteOptions(handler=fn, authorizer=LambdaRequestAuthorizer(handler=auth)),
    )
    template = synth(stack)
    # THEN the Authorization header is the identity source
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"IdentitySource": ["route.request.header.Authorization"], "AuthorizerType": "REQUEST"},
    )


def test_existing_itable_with_schema() -> None:
    # GIVEN an existing table with its own TTL attribute and group index
    stack = Stack(App(), "ExistingTable")
    fn = python_function(stack, "Handler")
    table = dynamodb.Table.from_table_name(stack, "Existing", "connections")
    api = WebSocketApi(
        stack,
        "Api",
        default=fn,
        existing_connection_table=table,
        existing_connection_table_schema=TableSchema(
            ttl_attribute="ttl", group_index_name="byRoom", group_attribute="room"
        ),
    )
    template = synth(stack)
    # THEN no table is created; the handler is pointed at the existing one and may use it
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    assert api.table is table and api.connection_table is None
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    env.CONNECTION_TABLE: "connections",
                    env.CONNECTION_TTL_ATTRIBUTE: "ttl",
                    env.CONNECTION_GROUP_INDEX: "byRoom",
                    env.CONNECTION_GROUP_ATTRIBUTE: "room",
                }
            }
        },
    )
    table_arn = stack.resolve(table.table_arn)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["dynamodb:PutItem", "dynamodb:Query"]),
                                "Resource": [
                                    table_arn,
                                    stack.resolve(f"{table.table_arn}/index/byRoom"),
                                ],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_existing_itable_defaults_to_contract_schema() -> None:
    stack = Stack(App(), "ExistingDefault")
    fn = python_function(stack, "Handler")
    table = dynamodb.Table.from_table_name(stack, "Existing", "connections")
    api = WebSocketApi(stack, "Api", default=fn, existing_connection_table=table)
    assert api.table_schema == TableSchema()
    assert env.CONNECTION_GROUP_INDEX not in api.handler_environment


def test_two_apis_in_one_stack_share_table_layer_and_account_role() -> None:
    # GIVEN two WebSocketApis in one stack sharing a ConnectionTable
    stack = Stack(App(), "TwoApis")
    table = ConnectionTable(stack, "Connections", ConnectionTableProps(group_index=True))
    first = WebSocketApi(
        stack, "First", default=python_function(stack, "A"), existing_connection_table=table
    )
    second = WebSocketApi(
        stack, "Second", default=python_function(stack, "B"), existing_connection_table=table
    )
    template = synth(stack)
    # THEN two APIs, one table, one layer and one account-level role
    template.resource_count_is("AWS::ApiGatewayV2::Api", 2)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    assert first.table_schema.group_index_name == "byGroup"
    assert first.cloud_watch_role is second.cloud_watch_role
    assert first.connection_table is table


def test_inside_stack_with_explicit_environment() -> None:
    # GIVEN a stack with a concrete account and region
    stack = Stack(App(), "WithEnv", env=Environment(account="123456789012", region="eu-west-1"))
    fn = python_function(stack, "Handler")
    api = WebSocketApi(stack, "Api", default=fn)
    template = synth(stack)
    # THEN ARNs use the concrete account and region
    arn = stack.resolve(
        stack.format_arn(
            service="execute-api",
            resource=api.api.api_id,
            resource_name="production/POST/@connections/*",
        )
    )
    assert "eu-west-1" in str(arn) and "123456789012" in str(arn)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "execute-api:ManageConnections",
                                "Resource": Match.array_with([arn]),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_cloud_watch_role_opt_out(build: Callable[..., Built]) -> None:
    # GIVEN cloud_watch_role=False / THEN no account setting and no role
    built = build("NoRole", cloud_watch_role=False)
    built.template.resource_count_is("AWS::ApiGateway::Account", 0)
    assert built.api.cloud_watch_role is None
    (stage,) = built.template.find_resources("AWS::ApiGatewayV2::Stage").values()
    assert all("Account" not in d for d in stage.get("DependsOn", []))


def test_runtime_layer_opt_out(build: Callable[..., Built]) -> None:
    # GIVEN attach_runtime_layer=False / THEN no layer anywhere
    built = build("NoLayer", attach_runtime_layer=False)
    built.template.resource_count_is("AWS::Lambda::LayerVersion", 0)
    built.template.has_resource_properties("AWS::Lambda::Function", {"Layers": Match.absent()})
    assert built.api.runtime_layer is None


def test_outputs_opt_out(build: Callable[..., Built]) -> None:
    built = build("NoOutputs", outputs=False)
    assert "Outputs" not in built.json or built.json["Outputs"] == {}


def test_access_logging_opt_out(build: Callable[..., Built]) -> None:
    # GIVEN StageOptions(access_logging=False) / THEN no log group, no access log settings
    built = build("NoLogs", stages=[StageOptions(access_logging=False)])
    built.template.resource_count_is("AWS::Logs::LogGroup", 0)
    built.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage", {"AccessLogSettings": Match.absent()}
    )
    assert built.api.access_log_groups == {}


def test_api_name(build: Callable[..., Built]) -> None:
    built = build("Named", api_name="chat")
    built.template.has_resource_properties("AWS::ApiGatewayV2::Api", {"Name": "chat"})


def test_api_key_selection_expression_from_authorizer(build: Callable[..., Built]) -> None:
    built = build(
        "KeyFromAuthorizer",
        api_key_selection_expression="$context.authorizer.usageIdentifierKey",
    )
    built.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ApiKeySelectionExpression": "$context.authorizer.usageIdentifierKey"},
    )


def test_connection_table_props(build: Callable[..., Built]) -> None:
    # GIVEN table props overriding every default, including the API's removal policy
    built = build(
        "TableProps",
        removal_policy=RemovalPolicy.DESTROY,
        connection_table=ConnectionTableProps(
            ttl_attribute="ttl",
            group_index=True,
            group_index_name="byRoom",
            group_attribute="room",
            removal_policy=RemovalPolicy.RETAIN,
            point_in_time_recovery=False,
            table_name="chat-connections",
        ),
    )
    built.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "TableName": "chat-connections",
                    "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
                    "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "byRoom"})],
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )
    built.template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    assert built.api.handler_environment[env.CONNECTION_GROUP_ATTRIBUTE] == "room"


def test_add_route_with_throttle_after_construction() -> None:
    # GIVEN a built API / WHEN add_route with a throttle
    stack = Stack(App(), "AddRoute")
    fn = python_function(stack, "Handler")
    api = WebSocketApi(stack, "Api", default=fn)
    route = api.add_route(
        "ping",
        RouteOptions(handler=fn, throttle=apigwv2.ThrottleSettings(rate_limit=2, burst_limit=3)),
    )
    template = synth(stack)
    # THEN the route exists, the stage throttles it and waits for it
    assert api.routes["ping"] is route
    (stage,) = template.find_resources("AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["RouteSettings"] == {
        "ping": {"ThrottlingRateLimit": 2, "ThrottlingBurstLimit": 3}
    }
    assert stack.get_logical_id(route.node.default_child) in stage["DependsOn"]  # type: ignore[arg-type]


def test_non_python_function_gets_environment_but_no_layer() -> None:
    stack = Stack(App(), "Node")
    fn = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.NODEJS_22_X,
        handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async () => ({});"),
    )
    api = WebSocketApi(stack, "Api", default=fn)
    template = synth(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Layers": Match.absent(),
            "Environment": {
                "Variables": Match.object_like({env.CONNECTION_TTL_ATTRIBUTE: "expiresAt"})
            },
        },
    )
    assert api.runtime_layer is not None


def test_connection_table_standalone() -> None:
    # GIVEN a ConnectionTable on its own / THEN its schema matches the runtime contract
    stack = Stack(App(), "Standalone")
    table = ConnectionTable(stack, "Connections")
    assert table.schema == TableSchema()
    assert table.schema.environment("t") == {
        env.CONNECTION_TABLE: "t",
        env.CONNECTION_TTL_ATTRIBUTE: env.DEFAULT_TTL_ATTRIBUTE,
    }
    template = synth(stack)
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})


@pytest.mark.parametrize("methods", [("POST",), ("GET", "DELETE")])
def test_grant_manage_connections_methods(methods: tuple[str, ...]) -> None:
    # GIVEN a function outside the API / WHEN granted some methods on every stage
    stack = Stack(App(), "Grant")
    api = WebSocketApi(
        stack,
        "Api",
        default=python_function(stack, "Handler"),
        stages=[StageOptions(), StageOptions(stage_name="dev")],
    )
    consumer = python_function(stack, "Consumer")
    grant = api.grant_manage_connections(consumer, methods=methods)
    template = synth(stack)
    # THEN exactly those stage/method pairs are allowed, and the grant says so
    assert grant.success
    expected = [
        stack.resolve(
            stack.format_arn(
                service="execute-api",
                resource=api.api.api_id,
                resource_name=f"{stage}/{method}/@connections/*",
            )
        )
        for stage in ("production", "dev")
        for method in methods
    ]
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [stack.resolve(consumer.role.role_name)],  # type: ignore[union-attr]
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "execute-api:ManageConnections",
                        "Effect": "Allow",
                        "Resource": expected[0] if len(expected) == 1 else expected,
                    }
                ]
            },
        },
    )


def test_execution_logging_level(build: Callable[..., Built]) -> None:
    # GIVEN StageOptions(execution_logging_level="ERROR") / THEN execution logs at ERROR
    built = build("ExecutionLogs", stages=[StageOptions(execution_logging_level="ERROR")])
    built.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"DefaultRouteSettings": Match.object_like({"LoggingLevel": "ERROR"})},
    )

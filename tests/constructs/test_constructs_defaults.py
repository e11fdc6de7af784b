"""One test per default of WebSocketApi (the ``minimal`` stack: only ``default=fn`` given)."""

from __future__ import annotations

import json

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match
from constructs_helpers import Built

from cdk_ws_api import ConnectionTable
from lambda_runtime import env


def test_api_is_websocket_with_default_route_selection_expression(minimal: Built) -> None:
    # GIVEN a WebSocketApi with no route_selection_expression
    # WHEN synthesized
    # THEN the API is a WEBSOCKET API selecting routes on $request.body.action
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )


def test_api_key_selection_expression_defaults_to_header(minimal: Built) -> None:
    # GIVEN no api_key_selection_expression / THEN the x-api-key header is used
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"ApiKeySelectionExpression": "$request.header.x-api-key"}
    )


def test_api_name_defaults_to_unique_name_from_path(minimal: Built) -> None:
    # GIVEN no api_name / THEN the name is derived from the stack and construct id
    (api,) = minimal.template.find_resources("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["Name"].startswith("Minimal-Api-")


def test_one_auto_deployed_stage_named_production(minimal: Built) -> None:
    # GIVEN no stages / THEN exactly one stage, "production", auto-deployed
    minimal.template.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage", {"StageName": "production", "AutoDeploy": True}
    )
    assert list(minimal.api.stages) == ["production"]
    assert minimal.api.default_stage is minimal.api.stages["production"]


def test_stage_default_throttle(minimal: Built) -> None:
    # GIVEN no throttle / THEN rate 500 req/s and burst 1000, no detailed metrics
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": 500,
                "ThrottlingBurstLimit": 1000,
                "DetailedMetricsEnabled": Match.absent(),
                "LoggingLevel": Match.absent(),
            },
            "RouteSettings": Match.absent(),
            "StageVariables": Match.absent(),
        },
    )


def test_access_logging_on_by_default_in_json(minimal: Built) -> None:
    # GIVEN default stage options
    # WHEN synthesized
    # THEN the stage logs to the construct's log group, one JSON object per line
    (stage,) = minimal.template.find_resources("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    log_group = minimal.api.access_log_groups["production"]
    assert settings["DestinationArn"] == minimal.resolve(log_group.log_group_arn)
    fields = json.loads(settings["Format"])
    for variable in (
        "$context.connectionId",
        "$context.routeKey",
        "$context.eventType",
        "$context.status",
        "$context.requestId",
        "$context.error.message",
        "$context.integration.error",
    ):
        assert variable in fields.values()


def test_access_log_group_retention_one_month_and_retained(minimal: Built) -> None:
    # GIVEN no access_log_retention / removal_policy / THEN 30 days, retained
    minimal.template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Retain"},
    )
    assert isinstance(minimal.api.access_log_groups["production"], logs.LogGroup)


def test_cloud_watch_role_created_and_set_on_account(minimal: Built) -> None:
    # GIVEN cloud_watch_role left at True
    # THEN an API Gateway role with the push-to-CloudWatch policy is the account's role
    template = minimal.template
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    role = minimal.api.cloud_watch_role
    assert isinstance(role, iam.Role)
    template.has_resource(
        "AWS::ApiGateway::Account",
        {
            "Properties": {"CloudWatchRoleArn": minimal.resolve(role.role_arn)},
            "DeletionPolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})
                ]
            },
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
                        ],
                    ]
                }
            ],
        },
    )


def test_stage_waits_for_account_role(minimal: Built) -> None:
    # THEN the stage depends on AWS::ApiGateway::Account (logging needs the role first)
    (stage,) = minimal.template.find_resources("AWS::ApiGatewayV2::Stage").values()
    (account_id,) = minimal.template.find_resources("AWS::ApiGateway::Account")
    assert account_id in stage["DependsOn"]


def test_connection_table_schema_and_settings(minimal: Built) -> None:
    # GIVEN no table props
    # THEN an on-demand table keyed by connectionId with PITR, TTL expiresAt, no GSI, retained
    minimal.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "connectionId", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                "GlobalSecondaryIndexes": Match.absent(),
            },
            "DeletionPolicy": "Retain",
        },
    )
    assert isinstance(minimal.api.connection_table, ConnectionTable)
    assert isinstance(minimal.api.table, dynamodb.Table)


def test_handler_environment_without_group_index_or_domain(minimal: Built) -> None:
    # THEN the handler gets the table and TTL names only
    minimal.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": {
                    env.CONNECTION_TABLE: minimal.resolve(minimal.api.table.table_name),
                    env.CONNECTION_TTL_ATTRIBUTE: "expiresAt",
                }
            }
        },
    )


def test_runtime_layer_attached_by_default(minimal: Built) -> None:
    # THEN one layer exists and the handler uses it
    minimal.template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    layer = minimal.api.runtime_layer
    assert isinstance(layer, lambda_.LayerVersion)
    minimal.template.has_resource_properties(
        "AWS::Lambda::Function", {"Layers": [minimal.resolve(layer.layer_version_arn)]}
    )
    minimal.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": Match.array_with(["python3.12", "python3.13"])},
    )


def test_outputs_urls_and_table_name(minimal: Built) -> None:
    # THEN the stage's wss:// and https:// URLs and the table name are outputs
    outputs = minimal.template.to_json()["Outputs"]
    values = [json.dumps(o["Value"]) for o in outputs.values()]
    assert any('"wss://"' in v and "/production" in v for v in values)
    assert any('"https://"' in v and "/production" in v for v in values)
    stage = minimal.api.default_stage
    minimal.template.has_output("*", {"Value": minimal.resolve(stage.url)})
    minimal.template.has_output("*", {"Value": minimal.resolve(stage.callback_url)})
    minimal.template.has_output("*", {"Value": minimal.resolve(minimal.api.table.table_name)})


def test_no_authorizer_usage_plan_or_domain_by_default(minimal: Built) -> None:
    # THEN routes are open and nothing optional is created
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "AuthorizationType": "NONE"}
    )
    for type_ in (
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::ApiKey",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::ApiGatewayV2::RouteResponse",
    ):
        minimal.template.resource_count_is(type_, 0)
    api = minimal.api
    assert (api.authorizer, api.usage_plan, api.api_key, api.domain_name) == (None,) * 4


def test_route_defaults_proxy_integration_without_timeout_or_api_key(minimal: Built) -> None:
    # GIVEN a route given as a bare function
    # THEN an AWS_PROXY integration with API Gateway's default timeout, no API key, one-way
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "TimeoutInMillis": Match.absent()},
    )
    minimal.template.has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        {"ApiKeyRequired": Match.absent(), "RouteResponseSelectionExpression": Match.absent()},
    )
    assert isinstance(minimal.api.routes["$default"], apigwv2.WebSocketRoute)

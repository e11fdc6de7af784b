"""One test per prop of WebSocketApi, on the shared ``full`` stack (every feature at once)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk.assertions import Match
from constructs_helpers import Built

from lambda_runtime import env


def _route(full: Built, key: str) -> Mapping[str, Any]:
    routes = full.template.find_resources(
        "AWS::ApiGatewayV2::Route", {"Properties": {"RouteKey": key}}
    )
    assert len(routes) == 1, f"route {key}: {routes}"
    return next(iter(routes.values()))


def _stage(full: Built, name: str) -> Mapping[str, Any]:
    stages = full.template.find_resources(
        "AWS::ApiGatewayV2::Stage", {"Properties": {"StageName": name}}
    )
    assert len(stages) == 1
    return next(iter(stages.values()))["Properties"]  # type: ignore[no-any-return]


def test_route_selection_expression(full: Built) -> None:
    # GIVEN route_selection_expression="$request.body.meta.action" / THEN it is used
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"RouteSelectionExpression": "$request.body.meta.action"}
    )


def test_description(full: Built) -> None:
    # GIVEN description="chat service" / THEN the API carries it
    full.template.has_resource_properties("AWS::ApiGatewayV2::Api", {"Description": "chat service"})


def test_every_route_is_created_with_a_lambda_proxy_integration(full: Built) -> None:
    # GIVEN connect/disconnect/default/routes and add_route("join")
    # THEN one route per key, each targeting its own AWS_PROXY integration
    keys = {"$connect", "$disconnect", "$default", "send", "whoami", "join"}
    assert set(full.api.routes) == keys
    for key in keys:
        route = _route(full, key)
        assert route["Properties"]["Target"]["Fn::Join"][1][0] == "integrations/"
        assert isinstance(full.api.routes[key], apigwv2.WebSocketRoute)
    full.template.resource_count_is("AWS::ApiGatewayV2::Integration", len(keys))
    full.template.all_resources_properties(
        "AWS::ApiGatewayV2::Integration", {"IntegrationType": "AWS_PROXY"}
    )


def test_handler_may_be_invoked_by_api_gateway_for_its_route(full: Built) -> None:
    # THEN each route's function has a lambda:InvokeFunction permission scoped to the route
    send_arn = full.resolve(full.functions["Send"].function_arn)
    full.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "FunctionName": send_arn,
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Join": ["", Match.array_with(["/*send"])]},
        },
    )


def test_integration_timeout(full: Built) -> None:
    # GIVEN send with integration_timeout=10 s / THEN TimeoutInMillis is 10000
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration", {"TimeoutInMillis": 10000}
    )


def test_api_key_required(full: Built) -> None:
    # GIVEN $connect with api_key_required=True / THEN only that route requires a key
    assert _route(full, "$connect")["Properties"]["ApiKeyRequired"] is True
    assert "ApiKeyRequired" not in _route(full, "send")["Properties"]


def test_return_response_creates_route_response(full: Built) -> None:
    # GIVEN $default and whoami with return_response=True
    # THEN both are two-way: a $default route response and a selection expression
    for key in ("$default", "whoami"):
        route = _route(full, key)
        assert route["Properties"]["RouteResponseSelectionExpression"] == "$default"
    full.template.resource_count_is("AWS::ApiGatewayV2::RouteResponse", 2)
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::RouteResponse", {"RouteResponseKey": "$default"}
    )
    assert "RouteResponseSelectionExpression" not in _route(full, "send")["Properties"]


def test_route_throttle_applies_to_every_stage(full: Built) -> None:
    # GIVEN send with throttle 5/10 and stage dev overriding it with 1/2
    # THEN production has send at 5/10 and dev at 1/2 (RouteSettings)
    assert _stage(full, "production")["RouteSettings"] == {
        "send": {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10}
    }
    assert _stage(full, "dev")["RouteSettings"] == {
        "send": {"ThrottlingRateLimit": 1, "ThrottlingBurstLimit": 2}
    }


def test_stage_depends_on_routes(full: Built) -> None:
    # THEN stages are created after the routes (RouteSettings need them to exist)
    stages = full.template.find_resources("AWS::ApiGatewayV2::Stage")
    route_ids = set(full.template.find_resources("AWS::ApiGatewayV2::Route"))
    for stage in stages.values():
        assert route_ids <= set(stage["DependsOn"])


def test_lambda_request_authorizer_on_connect(full: Built) -> None:
    # GIVEN authorizer=LambdaRequestAuthorizer(identity_source=[querystring token])
    # THEN a REQUEST authorizer reads the token and guards $connect only
    authorize_arn = full.resolve(full.functions["Authorize"].function_arn)
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "REQUEST",
            "IdentitySource": ["route.request.querystring.token"],
            "Name": "ConnectAuthorizer",
            "AuthorizerUri": {
                "Fn::Join": ["", Match.array_with([{"Fn::GetAtt": Match.any_value()}])]
            },
        },
    )
    assert full.api.authorizer is not None
    connect = _route(full, "$connect")["Properties"]
    assert connect["AuthorizationType"] == "CUSTOM"
    assert connect["AuthorizerId"] == full.resolve(full.api.authorizer.authorizer_id)
    assert _route(full, "send")["Properties"]["AuthorizationType"] == "NONE"
    full.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"FunctionName": authorize_arn, "Principal": "apigateway.amazonaws.com"},
    )


def test_authorizer_handler_gets_layer_but_no_table_access(full: Built) -> None:
    # THEN the authorizer can import lambda_runtime but has no WS_API_* variables
    fn = full.template.find_resources("AWS::Lambda::Function")[
        full.stack.get_logical_id(full.functions["Authorize"].node.default_child)  # type: ignore[arg-type]
    ]
    assert fn["Properties"]["Layers"] == [full.resolve(full.api.runtime_layer.layer_version_arn)]  # type: ignore[union-attr]
    assert "Environment" not in fn["Properties"]


def test_usage_plan_and_api_key(full: Built) -> None:
    # GIVEN usage_plan=UsagePlanOptions(...)
    # THEN a usage plan on both stages, an API key, and the key in the plan
    full.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "UsagePlanName": "chat-plan",
            "ApiStages": [
                {"ApiId": full.resolve(full.api.api.api_id), "Stage": "production"},
                {"ApiId": full.resolve(full.api.api.api_id), "Stage": "dev"},
            ],
            "Throttle": {"RateLimit": 50, "BurstLimit": 100},
            "Quota": {"Limit": 10000, "Period": "DAY"},
        },
    )
    full.template.has_resource_properties(
        "AWS::ApiGateway::ApiKey", {"Name": "chat-key", "Enabled": True}
    )
    assert full.api.usage_plan is not None and full.api.api_key is not None
    full.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlanKey",
        {
            "KeyId": full.resolve(full.api.api_key.key_id),
            "UsagePlanId": full.resolve(full.api.usage_plan.usage_plan_id),
            "KeyType": "API_KEY",
        },
    )


def test_stages(full: Built) -> None:
    # GIVEN two stages / THEN both exist, in order, the first is the default stage
    assert list(full.api.stages) == ["production", "dev"]
    assert full.api.default_stage.stage_name == "production"
    full.template.resource_count_is("AWS::ApiGatewayV2::Stage", 2)


def test_stage_throttle_and_description(full: Built) -> None:
    # GIVEN dev with throttle 10/20 and a description
    dev = _stage(full, "dev")
    assert dev["DefaultRouteSettings"] == {"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20}
    assert dev["Description"] == "development"
    assert dev["AutoDeploy"] is True


def test_stage_detailed_metrics_and_variables(full: Built) -> None:
    # GIVEN production with detailed_metrics=True and stage_variables={"env": "prod"}
    production = _stage(full, "production")
    assert production["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    assert production["StageVariables"] == {"env": "prod"}


def test_access_log_retention_and_removal_policy(full: Built) -> None:
    # GIVEN access_log_retention=ONE_WEEK and removal_policy=DESTROY
    # THEN the log groups keep 7 days and are deleted with the stack
    full.template.all_resources(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 7}, "DeletionPolicy": "Delete"},
    )
    full.template.resource_count_is("AWS::Logs::LogGroup", 2)
    assert set(full.api.access_log_groups) == {"production", "dev"}


def test_table_removal_policy_follows_api(full: Built) -> None:
    # GIVEN removal_policy=DESTROY and no table removal policy / THEN the table is deleted
    full.template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


def test_group_index(full: Built) -> None:
    # GIVEN connection_table=ConnectionTableProps(group_index=True)
    # THEN a keys-only GSI byGroup on groupId, and handlers know its names
    full.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byGroup",
                    "KeySchema": [{"AttributeName": "groupId", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ]
        },
    )
    assert full.api.table_schema.group_index_name == "byGroup"
    full.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        env.CONNECTION_GROUP_INDEX: "byGroup",
                        env.CONNECTION_GROUP_ATTRIBUTE: "groupId",
                    }
                )
            }
        },
    )


def test_every_route_handler_gets_environment_and_layer(full: Built) -> None:
    # THEN Connect, Shared (two routes), Fallback, Send and Join all have the variables + layer
    functions = full.template.find_resources("AWS::Lambda::Function")
    layer_arn = full.resolve(full.api.runtime_layer.layer_version_arn)  # type: ignore[union-attr]
    for name in ("Connect", "Shared", "Fallback", "Send", "Join"):
        props = functions[full.stack.get_logical_id(full.functions[name].node.default_child)][  # type: ignore[arg-type]
            "Properties"
        ]
        variables = props["Environment"]["Variables"]
        assert variables[env.CONNECTION_TABLE] == full.resolve(full.api.table.table_name), name
        assert variables[env.CONNECTION_TTL_ATTRIBUTE] == "expiresAt"
        assert props["Layers"] == [layer_arn], name


def test_custom_domain(full: Built) -> None:
    # GIVEN custom_domain=CustomDomainOptions("ws.example.com", cert, mapping_key="chat")
    # THEN a regional TLS 1.2 domain, mapped to the first stage under "chat"
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": "ws.example.com",
            "DomainNameConfigurations": [
                Match.object_like({"EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"})
            ],
        },
    )
    assert full.api.domain_name is not None
    full.template.has_resource_properties(
        "AWS::ApiGatewayV2::ApiMapping",
        {
            "ApiId": full.resolve(full.api.api.api_id),
            "ApiMappingKey": "chat",
            "Stage": "production",
            "DomainName": full.resolve(full.api.domain_name.name),
        },
    )


def test_custom_domain_sets_management_endpoint_and_urls(full: Built) -> None:
    # THEN handlers reach @connections through the domain, and the mapped stage's URLs follow it
    assert full.api.management_endpoint == "https://ws.example.com/chat"
    full.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {env.MANAGEMENT_ENDPOINT: "https://ws.example.com/chat"}
                )
            }
        },
    )
    outputs = full.template.to_json()["Outputs"]
    values = [o["Value"] for o in outputs.values()]
    assert "wss://ws.example.com/chat" in values
    assert "https://ws.example.com/chat" in values
    # the unmapped stage keeps its execute-api URL
    assert full.resolve(full.api.stages["dev"].url) in values
    assert full.api.urls["production"] == "wss://ws.example.com/chat"


def test_outputs_per_stage(full: Built) -> None:
    # THEN two URL outputs per stage plus the table name
    outputs = full.template.to_json()["Outputs"]
    assert len(outputs) == 2 * 2 + 1
    descriptions = sorted(o["Description"] for o in outputs.values())
    assert "wss:// URL of stage dev" in descriptions
    assert "https:// @connections callback URL of stage production" in descriptions


def test_access_log_format_is_single_line_json(full: Built) -> None:
    # THEN the access log format parses as JSON (API Gateway writes one object per line)
    production = _stage(full, "production")
    assert "\n" not in production["AccessLogSettings"]["Format"]
    assert (
        json.loads(production["AccessLogSettings"]["Format"])["requestId"] == "$context.requestId"
    )

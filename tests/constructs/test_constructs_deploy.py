"""What CloudFormation and API Gateway need on first deploy: the account role's dependency on an
API (aws-cdk #2194), stages after the authorizer's permission, a warning without the account
role, and an access-log format made only of documented WebSocket variables."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match
from constructs_helpers import Built, python_function, synth

from cdk_ws_api import LambdaRequestAuthorizer, StageOptions, WebSocketApi
from cdk_ws_api.stages import ACCESS_LOG_FORMAT

#: Every variable of "Configure logging for WebSocket APIs in API Gateway"
#: (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html),
#: as listed there. ``$context.authorizer.property`` stands for any key of the authorizer's
#: context map, so it is matched as a pattern below.
DOCUMENTED_WEBSOCKET_LOG_VARIABLES = frozenset(
    {
        "$context.apiId",
        "$context.authorize.error",
        "$context.authorize.latency",
        "$context.authorize.status",
        "$context.authorizer.error",
        "$context.authorizer.integrationLatency",
        "$context.authorizer.integrationStatus",
        "$context.authorizer.latency",
        "$context.authorizer.requestId",
        "$context.authorizer.status",
        "$context.authorizer.principalId",
        "$context.authenticate.error",
        "$context.authenticate.latency",
        "$context.authenticate.status",
        "$context.connectedAt",
        "$context.connectionId",
        "$context.domainName",
        "$context.error.message",
        "$context.error.messageString",
        "$context.error.responseType",
        "$context.error.validationErrorString",
        "$context.eventType",
        "$context.extendedRequestId",
        "$context.identity.accountId",
        "$context.identity.apiKey",
        "$context.identity.apiKeyId",
        "$context.identity.caller",
        "$context.identity.cognitoAuthenticationProvider",
        "$context.identity.sourceIp",
        "$context.identity.user",
        "$context.identity.userAgent",
        "$context.identity.userArn",
        "$context.integration.error",
        "$context.integration.integrationStatus",
        "$context.integration.latency",
        "$context.integration.requestId",
        "$context.integration.status",
        "$context.integrationLatency",
        "$context.messageId",
        "$context.requestId",
        "$context.requestTime",
        "$context.requestTimeEpoch",
        "$context.routeKey",
        "$context.stage",
        "$context.status",
        "$context.waf.error",
        "$context.waf.latency",
        "$context.waf.status",
    }
)
_VARIABLE = re.compile(r"\$context(?:\.[A-Za-z]+)+")


def test_access_log_format_uses_only_documented_websocket_variables() -> None:
    # GIVEN the access-log format / THEN every $context variable in it is documented
    used = _VARIABLE.findall(ACCESS_LOG_FORMAT)
    assert used, "the format names no variable"
    undocumented = [v for v in used if v not in DOCUMENTED_WEBSOCKET_LOG_VARIABLES]
    assert undocumented == []
    # AND every value of the JSON line is exactly one variable (nothing else to mistype)
    assert all(_VARIABLE.fullmatch(value) for value in json.loads(ACCESS_LOG_FORMAT).values())


def test_the_check_catches_an_undocumented_variable() -> None:
    # The check above would have caught the old format's $context.messageDirection.
    assert "$context.messageDirection" not in DOCUMENTED_WEBSOCKET_LOG_VARIABLES
    assert "$context.messageDirection" not in ACCESS_LOG_FORMAT


def test_account_depends_on_the_first_api_only(minimal: Built) -> None:
    # GIVEN the default stack / THEN AWS::ApiGateway::Account depends on the CfnApi itself
    (account,) = minimal.template.find_resources("AWS::ApiGateway::Account").values()
    api_id = minimal.stack.get_logical_id(minimal.api.api.node.default_child)  # type: ignore[arg-type]
    assert account["DependsOn"] == [api_id]


def test_account_depends_on_the_first_of_two_apis() -> None:
    stack = Stack(App(), "TwoApis")
    first = WebSocketApi(stack, "First", default=python_function(stack, "A"))
    WebSocketApi(stack, "Second", default=python_function(stack, "B"))
    template = synth(stack)
    (account,) = template.find_resources("AWS::ApiGateway::Account").values()
    assert account["DependsOn"] == [stack.get_logical_id(first.api.node.default_child)]  # type: ignore[arg-type]


def test_every_stage_depends_on_the_authorizer_permission(full: Built) -> None:
    # GIVEN a Lambda authorizer on $connect and two stages
    permissions = full.template.find_resources(
        "AWS::Lambda::Permission",
        {
            "Properties": {
                "SourceArn": {
                    "Fn::Join": ["", Match.array_with([Match.string_like_regexp("/authorizers/")])]
                }
            }
        },
    )
    (permission_id,) = permissions
    # THEN each stage waits for the permission that lets API Gateway call the authorizer
    stages = full.template.find_resources("AWS::ApiGatewayV2::Stage")
    assert len(stages) == 2
    for stage in stages.values():
        assert permission_id in stage["DependsOn"]


def test_stage_created_before_the_connect_route_also_waits_for_the_permission() -> None:
    # GIVEN add_route('$connect', ...) after the stages exist (authorizer from the props)
    stack = Stack(App(), "LateConnect")
    fn = python_function(stack, "Handler")
    auth = python_function(stack, "Auth")
    api = WebSocketApi(stack, "Api", default=fn, authorizer=LambdaRequestAuthorizer(handler=auth))
    api.add_route("$connect", fn)
    template = synth(stack)
    (permission_id,) = template.find_resources(
        "AWS::Lambda::Permission",
        {
            "Properties": {
                "FunctionName": {
                    "Fn::GetAtt": [stack.get_logical_id(auth.node.default_child), "Arn"]
                }
            }
        },  # type: ignore[arg-type]
    )
    (stage,) = template.find_resources("AWS::ApiGatewayV2::Stage").values()
    assert permission_id in stage["DependsOn"]


def test_no_cloud_watch_role_with_logging_stages_warns_with_cloudformation_error(
    build: Callable[..., Built],
) -> None:
    built = build("NoRoleLogs", cloud_watch_role=False)
    Annotations.from_stack(built.stack).has_warning(
        "/NoRoleLogs/Api",
        Match.string_like_regexp(
            r"account must already have an API Gateway CloudWatch role.*CloudWatch Logs role "
            r"ARN must be set in account settings to enable logging"
        ),
    )


def test_no_cloud_watch_role_without_logging_does_not_warn(build: Callable[..., Built]) -> None:
    built = build(
        "NoRoleNoLogs", cloud_watch_role=False, stages=[StageOptions(access_logging=False)]
    )
    Annotations.from_stack(built.stack).has_no_warning(
        "/NoRoleNoLogs/Api", Match.string_like_regexp("CloudWatch role")
    )


def test_execution_logging_alone_also_warns(build: Callable[..., Built]) -> None:
    built = build(
        "NoRoleExec",
        cloud_watch_role=False,
        stages=[StageOptions(access_logging=False, execution_logging_level="ERROR")],
    )
    Annotations.from_stack(built.stack).has_warning(
        "/NoRoleExec/Api", Match.string_like_regexp("stages \\['production'\\] write logs")
    )

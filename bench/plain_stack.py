"""The example chat stack of ``app.py`` written with plain aws-cdk-lib L2 constructs only.

The peer of benchmark 4 (synth overhead): the same two functions (log groups, roles), the
same routes (``$connect`` with a Lambda REQUEST authorizer, ``$disconnect``, ``$default`` and
``whoami`` with route responses, ``join``, ``send``), the connection table with its TTL and
``byGroup`` GSI, the ``production`` stage with throttling and JSON access logs, the account's
CloudWatch role, a layer holding ``lambda_runtime``, the same grants and outputs.

It imports nothing of this project on purpose, so its synthesis pays for aws-cdk-lib alone:
the function helper below repeats ``app.py``'s instead of importing ``app`` (which would load
``cdk_ws_api`` into the peer's process and bias the comparison).

``CDK_OUTDIR=out python -c "from bench.plain_stack import build_app; build_app().synth()"``
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

__all__ = ["PlainChatStack", "build_app"]

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ROOT / "handlers"
RUNTIME = ROOT / "lambda_runtime"
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".*"]
ACCESS_LOG_FIELDS = [
    "requestId",
    "extendedRequestId",
    "requestTime",
    "stage",
    "connectionId",
    "eventType",
    "routeKey",
    "messageDirection",
    "status",
]
DESTROY = cdk.RemovalPolicy.DESTROY


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogSettings:
    """``WebSocketStage(access_log_settings=...)`` wants an object with these two members."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, fmt: apigw.AccessLogFormat):
        self._destination = destination
        self._format = fmt

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


def _access_log_format() -> apigw.AccessLogFormat:
    fields = {name: f"$context.{name}" for name in ACCESS_LOG_FIELDS}
    fields |= {
        "sourceIp": "$context.identity.sourceIp",
        "errorMessage": "$context.error.message",
        "errorResponseType": "$context.error.responseType",
        "authorizerError": "$context.authorizer.error",
        "integrationStatus": "$context.integration.status",
        "integrationError": "$context.integration.error",
        "integrationLatency": "$context.integration.latency",
    }
    return apigw.AccessLogFormat.custom(json.dumps(fields, separators=(",", ":")))


class PlainChatStack(cdk.Stack):
    """``app.ChatStack`` without cdk_ws_api."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        code = lambda_.Code.from_asset(str(HANDLERS), exclude=ASSET_EXCLUDES)
        chat = self._function("ChatHandler", code, "chat.handler")
        authorizer = self._function("ConnectAuthorizer", code, "authorizer.handler")
        layer = lambda_.LayerVersion(
            self,
            "RuntimeLayer",
            code=lambda_.Code.from_asset(str(RUNTIME), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13, lambda_.Runtime.PYTHON_3_14],
            description="lambda_runtime",
        )
        chat.add_layers(layer)
        authorizer.add_layers(layer)

        table = dynamodb.Table(
            self,
            "ConnectionTable",
            partition_key=dynamodb.Attribute(
                name="connectionId", type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiresAt",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=DESTROY,
        )
        table.add_global_secondary_index(
            index_name="byGroup",
            partition_key=dynamodb.Attribute(name="groupId", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        for name, value in (
            ("WS_API_CONNECTION_TABLE", table.table_name),
            ("WS_API_CONNECTION_TTL_ATTRIBUTE", "expiresAt"),
            ("WS_API_CONNECTION_GROUP_INDEX", "byGroup"),
            ("WS_API_CONNECTION_GROUP_ATTRIBUTE", "groupId"),
        ):
            chat.add_environment(name, value)

        def route(key: str, **options: object) -> apigwv2.WebSocketRouteOptions:
            integration = integrations.WebSocketLambdaIntegration(f"{key}Integration", chat)
            return apigwv2.WebSocketRouteOptions(integration=integration, **options)  # type: ignore[arg-type]

        api = apigwv2.WebSocketApi(
            self,
            "ChatApi",
            api_name="chat",
            description="cdk-ws-api example chat service",
            route_selection_expression="$request.body.action",
            connect_route_options=route(
                "connect",
                authorizer=authorizers.WebSocketLambdaAuthorizer(
                    "ConnectAuthorizer",
                    authorizer,
                    identity_source=["route.request.querystring.token"],
                ),
            ),
            disconnect_route_options=route("disconnect"),
            default_route_options=route("default", return_response=True),
        )
        for key in ("join", "send"):
            api.add_route(key, integration=route(key).integration)
        api.add_route("whoami", integration=route("whoami").integration, return_response=True)

        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=DESTROY
        )
        stage = apigwv2.WebSocketStage(
            self,
            "production",
            web_socket_api=api,
            stage_name="production",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=500, burst_limit=1000),
            access_log_settings=AccessLogSettings(
                apigwv2.LogGroupLogDestination(access_logs), _access_log_format()
            ),
        )
        cloudwatch_role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        cloudwatch_role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(
            self, "CloudWatchRoleAccount", cloud_watch_role_arn=cloudwatch_role.role_arn
        )
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        stage.node.add_dependency(account)

        table.grant_read_write_data(chat)
        stage.grant_management_api_access(chat)
        cdk.CfnOutput(self, "WebSocketUrl", value=stage.url)
        cdk.CfnOutput(self, "CallbackUrl", value=stage.callback_url)
        cdk.CfnOutput(self, "ConnectionTableName", value=table.table_name)

    def _function(self, construct_id: str, code: lambda_.Code, handler: str) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=DESTROY,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id}",
        )
        log_group.grant(role, "logs:CreateLogStream", "logs:PutLogEvents")
        return lambda_.Function(
            self,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            code=code,
            handler=handler,
            memory_size=256,
            timeout=cdk.Duration.seconds(10),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )


def build_app(outdir: str | None = None) -> cdk.App:
    """The CDK app with the ``PlainChat`` stack (environment-agnostic)."""
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    PlainChatStack(app, "PlainChat", description="plain aws-cdk-lib WebSocket chat service")
    return app


if __name__ == "__main__":
    build_app().synth()

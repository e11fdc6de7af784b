"""Stage options, access logging and the account-level CloudWatch role.

Each stage is an ``aws-cdk-lib`` :class:`~aws_cdk.aws_apigatewayv2.WebSocketStage` with
auto-deploy; per-route throttling is written to the L1's ``RouteSettings`` (the L2 has no
prop for it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._nag import acknowledge
from .errors import ProblemCollector
from .routes import check_throttle

__all__ = [
    "ACCESS_LOG_FORMAT",
    "DEFAULT_STAGE_NAME",
    "EXECUTION_LOGGING_LEVELS",
    "MAX_STAGES",
    "AccountCloudWatchRole",
    "StageOptions",
    "check_stage_options",
    "default_stage_throttle",
]

#: Name of the one stage created when ``stages`` is not given (the seed's default).
DEFAULT_STAGE_NAME = "production"
#: API Gateway allows at most 10 stages per API.
MAX_STAGES = 10
_DEFAULT_RATE_LIMIT = 500.0
_DEFAULT_BURST_LIMIT = 1000


def default_stage_throttle() -> apigwv2.ThrottleSettings:
    """500 requests/s steady rate, bursts of 1,000 (the account limit is 10,000/5,000)."""
    return apigwv2.ThrottleSettings(
        rate_limit=_DEFAULT_RATE_LIMIT, burst_limit=_DEFAULT_BURST_LIMIT
    )


#: Access-log line (JSON, one object per line) written for every connect, message and
#: disconnect. Includes the fields needed to follow one connection and to see why it failed.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "stage": "$context.stage",
        "connectionId": "$context.connectionId",
        "eventType": "$context.eventType",
        "routeKey": "$context.routeKey",
        "messageDirection": "$context.messageDirection",
        "status": "$context.status",
        "sourceIp": "$context.identity.sourceIp",
        "errorMessage": "$context.error.message",
        "errorResponseType": "$context.error.responseType",
        "authorizerError": "$context.authorizer.error",
        "integrationStatus": "$context.integration.status",
        "integrationError": "$context.integration.error",
        "integrationLatency": "$context.integration.latency",
    },
    separators=(",", ":"),
)

_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True, kw_only=True)
class StageOptions:
    """One stage of the API (always auto-deployed).

    :param stage_name: 1-128 letters, digits, ``-`` or ``_``. Default: ``"production"``.
    :param throttle: default throttling of every route in the stage.
        Default: ``ThrottleSettings(rate_limit=500, burst_limit=1000)``.
    :param route_throttles: per-route throttling, by route key; overrides the route's
        ``RouteOptions.throttle``. Keys must be routes of the API (checked at synth).
        Default: - none.
    :param detailed_metrics: per-route CloudWatch metrics (billed). Default: ``False``.
    :param stage_variables: stage variables. Default: - none.
    :param access_logging: JSON access logs (:data:`ACCESS_LOG_FORMAT`) to a new log group.
        Default: ``True``.
    :param description: the stage's description. Default: - none.
    :param execution_logging_level: API Gateway execution logs (``"ERROR"`` or ``"INFO"``) in
        the ``API-Gateway-Execution-Logs_{apiId}/{stage}`` log group API Gateway creates (never
        expiring; needs the account CloudWatch role). Default: - off.
    """

    stage_name: str = DEFAULT_STAGE_NAME
    throttle: apigwv2.ThrottleSettings | None = field(default_factory=default_stage_throttle)
    route_throttles: Mapping[str, apigwv2.ThrottleSettings] = field(default_factory=dict)
    detailed_metrics: bool = False
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    access_logging: bool = True
    description: str | None = None
    execution_logging_level: str | None = None


#: Accepted ``StageOptions.execution_logging_level`` values.
EXECUTION_LOGGING_LEVELS = ("ERROR", "INFO")


def check_stage_options(problems: ProblemCollector, stages: list[StageOptions]) -> None:
    """Stage count (1-10), names (valid, unique) and throttle values."""
    if not stages:
        problems.add("stages", stages, "give at least one stage")
    if len(stages) > MAX_STAGES:
        problems.add(
            "stages",
            [s.stage_name for s in stages],
            f"an API has at most {MAX_STAGES} stages ({len(stages)} given)",
        )
    seen: set[str] = set()
    for index, stage in enumerate(stages):
        prop = f"stages[{index}]"
        name = stage.stage_name
        if not Token.is_unresolved(name):
            if not _STAGE_NAME.match(name):
                problems.add(
                    f"{prop}.stage_name",
                    name,
                    "a stage name is 1-128 letters, digits, '-' or '_'",
                )
            elif name in seen:
                problems.add(f"{prop}.stage_name", name, "stage names must be unique")
            seen.add(name)
        check_throttle(problems, f"{prop}.throttle", stage.throttle)
        level = stage.execution_logging_level
        if level is not None and level not in EXECUTION_LOGGING_LEVELS:
            problems.add(
                f"{prop}.execution_logging_level", level, "must be 'ERROR', 'INFO' or None (off)"
            )
        for key, throttle in stage.route_throttles.items():
            check_throttle(problems, f"{prop}.route_throttles[{key!r}]", throttle)


def throttle_route_setting(throttle: apigwv2.ThrottleSettings) -> dict[str, float]:
    """A ``RouteSettings`` entry of ``AWS::ApiGatewayV2::Stage`` for one throttle."""
    setting: dict[str, float] = {}
    if throttle.burst_limit is not None:
        setting["ThrottlingBurstLimit"] = throttle.burst_limit
    if throttle.rate_limit is not None:
        setting["ThrottlingRateLimit"] = throttle.rate_limit
    return setting


class AccountCloudWatchRole(Construct):
    """The IAM role API Gateway uses to write logs, set as the account's CloudWatch role.

    ``AWS::ApiGateway::Account`` is a per-account, per-region setting: deploying it replaces
    the role any other stack set, and every API Gateway API (REST or WebSocket) in the region
    uses it. Both resources are retained on stack deletion (as aws-cdk's ``RestApi`` does), so
    other APIs keep logging. Use :meth:`of` to share one per stack.
    """

    CONSTRUCT_ID = "CdkWsApiCloudWatchRole"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
            description="API Gateway account-level role for CloudWatch Logs (cdk-ws-api)",
        )
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        self.account.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role needs this AWS managed policy "
            "(the same one aws-cdk's RestApi uses): it covers every log group API Gateway "
            "creates for execution and access logs in the account.",
        )

    @classmethod
    def of(cls, scope: Construct) -> AccountCloudWatchRole:
        """The stack's shared instance, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if isinstance(existing, AccountCloudWatchRole):
            return existing
        return cls(stack, cls.CONSTRUCT_ID)

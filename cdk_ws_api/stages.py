"""Stage options and creation, and access logging.

Each stage is an ``aws-cdk-lib`` :class:`~aws_cdk.aws_apigatewayv2.WebSocketStage` with
auto-deploy; per-route throttling and the execution logging level are written to the L1
``CfnStage`` (the L2 has no props for them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import jsii
from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .account import AccountCloudWatchRole
from .errors import ProblemCollector
from .limits import (
    MAX_DESCRIPTION_LENGTH,
    check_length,
    check_stage_variables,
    check_throttle,
)
from .routes import RouteOptions

# AccountCloudWatchRole lives in account.py; still exported here, where it was first defined.
__all__ = [
    "ACCESS_LOG_FORMAT",
    "DEFAULT_STAGE_NAME",
    "EXECUTION_LOGGING_LEVELS",
    "MAX_STAGES",
    "AccountCloudWatchRole",
    "StageOptions",
    "apply_route_settings",
    "check_stage_options",
    "create_stage",
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
#: Only variables AWS lists for WebSocket access logs ("Configure logging for WebSocket APIs in
#: API Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html);
#: tests/constructs/test_constructs_logging.py checks it against that list.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "stage": "$context.stage",
        "connectionId": "$context.connectionId",
        "eventType": "$context.eventType",
        "routeKey": "$context.routeKey",
        "messageId": "$context.messageId",
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
    """Stage count (1-10), names (valid, unique), throttle values, stage variables and
    descriptions (limits in ``limits.py``)."""
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
        if not isinstance(name, str):
            problems.add(f"{prop}.stage_name", name, "a stage name is a string")
        elif not Token.is_unresolved(name):
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
        check_stage_variables(problems, f"{prop}.stage_variables", stage.stage_variables)
        check_length(
            problems,
            f"{prop}.description",
            stage.description,
            minimum=0,
            maximum=MAX_DESCRIPTION_LENGTH,
        )
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


def create_stage(
    scope: Construct,
    options: StageOptions,
    *,
    api: apigwv2.IWebSocketApi,
    access_log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> tuple[apigwv2.WebSocketStage, logs.LogGroup | None]:
    """Create one stage (id ``{name}-Stage``) and, with ``access_logging``, its access log group
    (id ``{name}-AccessLogs``) in ``scope``.

    Per-route throttling is not set here: call :func:`apply_route_settings` once the routes
    are known, and again after each new route.
    """
    name = options.stage_name
    log_group: logs.LogGroup | None = None
    access_log_settings: apigwv2.IAccessLogSettings | None = None
    if options.access_logging:
        log_group = logs.LogGroup(
            scope,
            f"{name}-AccessLogs",
            retention=access_log_retention,
            removal_policy=removal_policy,
        )
        access_log_settings = _AccessLogSettings(
            apigwv2.LogGroupLogDestination(log_group),
            apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        )
    stage = apigwv2.WebSocketStage(
        scope,
        f"{name}-Stage",
        web_socket_api=api,
        stage_name=name,
        auto_deploy=True,
        throttle=options.throttle,
        detailed_metrics_enabled=options.detailed_metrics or None,
        stage_variables=dict(options.stage_variables) or None,
        description=options.description,
        access_log_settings=access_log_settings,
    )
    if options.execution_logging_level is not None:
        _cfn_stage(stage).add_property_override(
            "DefaultRouteSettings.LoggingLevel", options.execution_logging_level
        )
    return stage, log_group


def apply_route_settings(
    stage: apigwv2.WebSocketStage,
    options: StageOptions,
    routes: Mapping[str, RouteOptions],
) -> None:
    """Write the stage's ``RouteSettings``: each route's throttle, overridden by the stage's
    ``route_throttles`` (entries for unknown routes are skipped; they fail at synth)."""
    settings: dict[str, dict[str, float]] = {}
    for key, route_options in routes.items():
        if route_options.throttle is not None:
            settings[key] = throttle_route_setting(route_options.throttle)
    for key, throttle in options.route_throttles.items():
        if key in routes:
            settings[key] = throttle_route_setting(throttle)
    _cfn_stage(stage).route_settings = settings or None


def _cfn_stage(stage: apigwv2.WebSocketStage) -> apigwv2.CfnStage:
    cfn_stage = stage.node.default_child
    assert isinstance(cfn_stage, apigwv2.CfnStage)
    return cfn_stage


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    # aws-cdk-lib declares IAccessLogSettings as an interface only: no struct or class builds one.
    def __init__(self, destination: apigwv2.IAccessLogDestination, fmt: apigw.AccessLogFormat):
        self._destination = destination
        self._format = fmt

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format

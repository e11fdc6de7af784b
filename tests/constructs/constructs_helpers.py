"""Shared builders for the construct tests (fixtures are in conftest.py).

One jsii process serves the whole session; synthesized stacks are built once per session and
shared (each synth costs ~0.5 s). Every template obtained through :func:`synth` is also run
through cfn-lint, so every template of the suite is linted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Acknowledgment, App, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_ws_api import (
    ConnectionTableProps,
    CustomDomainOptions,
    LambdaRequestAuthorizer,
    RouteOptions,
    StageOptions,
    UsagePlanOptions,
    WebSocketApi,
)
from cdk_ws_api.testing import lint_template

CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
)


def python_function(scope: Stack, id: str) -> lambda_.Function:
    """A small inline Python 3.12 function (no asset to stage)."""
    return lambda_.Function(
        scope,
        id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


def acknowledge_test_function(function: lambda_.IFunction) -> None:
    """cdk-nag: a test function pins Python 3.12 and has the basic execution role."""
    Validations.of(function).acknowledge(
        Acknowledgment(id="AwsSolutions-L1", reason="Test functions pin Python 3.12."),
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "service-role/AWSLambdaBasicExecutionRole]",
            reason="Test functions only need the basic execution role.",
        ),
    )


def nag_violations(app: App) -> list[Any]:
    """Synthesize ``app`` (with cdk-nag's plugin added) and return the report's violations."""
    assembly = app.synth()
    with open(f"{assembly.directory}/validation-report.json") as report_file:
        report = json.load(report_file)
    return [v for r in report.get("pluginReports", []) for v in r.get("violations", [])]


def new_stack(id: str = "Test") -> Stack:
    return Stack(App(), id)


def api_with_default(stack: Stack, fn: lambda_.Function, **props: Any) -> WebSocketApi:
    """``WebSocketApi(stack, "Api", default=fn, **props)``: the smallest API given ``props``."""
    props.setdefault("default", fn)
    return WebSocketApi(stack, "Api", **props)


# --- cfn-lint on every template ----------------------------------------------------------------

_LINTED: dict[str, list[str]] = {}


def cfn_lint(template: Mapping[str, Any]) -> list[str]:
    """cfn-lint findings of a template (``cdk_ws_api.testing.lint_template``), cached."""
    text = json.dumps(template, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()
    if key not in _LINTED:
        _LINTED[key] = lint_template(template)
    return _LINTED[key]


def synth(stack: Stack) -> Template:
    """Synthesize ``stack``, assert cfn-lint finds nothing, return the assertions Template."""
    template = Template.from_stack(stack)
    findings = cfn_lint(template.to_json())
    assert findings == [], "cfn-lint findings:\n" + "\n".join(findings)
    return template


# --- the shared stacks -------------------------------------------------------------------------


@dataclass
class Built:
    stack: Stack
    api: WebSocketApi
    template: Template
    functions: dict[str, lambda_.Function] = field(default_factory=dict)

    @property
    def json(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


def build_full(stack: Stack) -> tuple[WebSocketApi, dict[str, lambda_.Function]]:
    """Every feature at once (also the cdk-nag subject)."""
    fns = {
        name: python_function(stack, name)
        for name in ("Connect", "Shared", "Fallback", "Send", "Join", "Authorize", "Broadcaster")
    }
    api = WebSocketApi(
        stack,
        "Chat",
        description="chat service",
        route_selection_expression="$request.body.meta.action",
        connect=RouteOptions(handler=fns["Connect"], api_key_required=True),
        disconnect=fns["Shared"],
        default=RouteOptions(handler=fns["Fallback"], return_response=True),
        routes={
            "send": RouteOptions(
                handler=fns["Send"],
                integration_timeout=Duration.seconds(10),
                throttle=apigwv2.ThrottleSettings(rate_limit=5, burst_limit=10),
            ),
            "whoami": RouteOptions(handler=fns["Shared"], return_response=True),
        },
        authorizer=LambdaRequestAuthorizer(
            handler=fns["Authorize"], identity_source=["route.request.querystring.token"]
        ),
        usage_plan=UsagePlanOptions(
            usage_plan_name="chat-plan",
            api_key_name="chat-key",
            throttle=apigwv2.ThrottleSettings(rate_limit=50, burst_limit=100),
            quota=apigwv2.QuotaSettings(limit=10000, period=apigwv2.Period.DAY),
        ),
        stages=[
            StageOptions(detailed_metrics=True, stage_variables={"env": "prod"}),
            StageOptions(
                stage_name="dev",
                throttle=apigwv2.ThrottleSettings(rate_limit=10, burst_limit=20),
                route_throttles={"send": apigwv2.ThrottleSettings(rate_limit=1, burst_limit=2)},
                description="development",
            ),
        ],
        access_log_retention=logs.RetentionDays.ONE_WEEK,
        connection_table=ConnectionTableProps(group_index=True),
        removal_policy=RemovalPolicy.DESTROY,
        custom_domain=CustomDomainOptions(
            domain_name="ws.example.com",
            certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
            mapping_key="chat",
        ),
    )
    api.add_route("join", fns["Join"])
    api.grant_manage_connections(fns["Broadcaster"], stage="production", methods=("POST",))
    return api, fns

"""cdk-nag AwsSolutions on the full-featured stack: zero unacknowledged findings.

The constructs acknowledge, themselves, the findings they can justify:

* ``AwsSolutions-IAM5[Resource::...{apiId}/{stage}/{METHOD}/@connections/*]`` on every grantee:
  the wildcard stands for connection ids, only known at run time;
* ``AwsSolutions-APIG4`` on every route but ``$connect``: API Gateway authorizes WebSocket
  clients on ``$connect`` only;
* ``AwsSolutions-IAM4[...AmazonAPIGatewayPushToCloudWatchLogs]`` on the account CloudWatch role
  (the managed policy aws-cdk's RestApi uses too).

What is left are findings about the test's own Lambda functions, acknowledged below.
"""

from __future__ import annotations

import json
import os

from aws_cdk import Acknowledgment, App, Environment, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs_helpers import build_full, python_function

from cdk_ws_api import IamAuthorizer, WebSocketApi


def _acknowledge_test_function(function: lambda_.Function) -> None:
    """The findings about the tests' own inline functions (not caused by the constructs)."""
    Validations.of(function).acknowledge(
        Acknowledgment(
            id="AwsSolutions-L1",
            reason="Test functions pin Python 3.12, the runtime the project supports.",
        ),
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "service-role/AWSLambdaBasicExecutionRole]",
            reason="Test functions only need the basic execution role (CloudWatch Logs).",
        ),
    )


def _violations(assembly_directory: str) -> list[object]:
    with open(os.path.join(assembly_directory, "validation-report.json")) as report_file:
        report = json.load(report_file)
    return [v for r in report.get("pluginReports", []) for v in r.get("violations", [])]


def test_full_stack_has_no_unacknowledged_aws_solutions_findings() -> None:
    # GIVEN the full-featured stack under AwsSolutions checks
    app = App()
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    stack = Stack(app, "Nag")
    _, functions = build_full(stack)
    for function in functions.values():
        _acknowledge_test_function(function)
    # WHEN synthesized (a finding fails the synth with ValidationFailed)
    assembly = app.synth()
    # THEN the validation report lists no violation at all (errors or warnings)
    assert _violations(assembly.directory) == []


def test_acknowledgements_match_findings_in_a_stack_with_explicit_environment() -> None:
    # GIVEN a stack with a concrete account/region (ARNs render differently) and IAM auth
    app = App()
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    stack = Stack(app, "NagEnv", env=Environment(account="123456789012", region="eu-west-1"))
    function = python_function(stack, "Handler")
    _acknowledge_test_function(function)
    WebSocketApi(stack, "Api", connect=function, default=function, authorizer=IamAuthorizer())
    # WHEN synthesized / THEN no finding is left
    assembly = app.synth()
    assert _violations(assembly.directory) == []

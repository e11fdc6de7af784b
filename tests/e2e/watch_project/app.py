"""A project edited by the watch-mode tests: one echo route, code in handlers/."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import RouteOptions, WebSocketApi

app = cdk.App()
stack = cdk.Stack(app, "WatchStack")
echo = lambda_.Function(
    stack,
    "Echo",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="echo.handler",
    code=lambda_.Code.from_asset("handlers"),
    timeout=cdk.Duration.seconds(20),
)
WebSocketApi(stack, "Api", default=RouteOptions(handler=echo, return_response=True))
app.synth()

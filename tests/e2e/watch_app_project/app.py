"""A project whose own sources the app-reload tests edit (tests/e2e/test_watch_app.py):
they change ``STAGE``, add lines under the ``# more:`` markers, or break the app."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb  # noqa: F401 (tables the tests add)
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import (  # noqa: F401 (LambdaRequestAuthorizer: the tests add one)
    LambdaRequestAuthorizer,
    RouteOptions,
    StageOptions,
    WebSocketApi,
)

STAGE = "dev"

app = cdk.App()
stack = cdk.Stack(app, "WatchAppStack")


def function(name: str, handler: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler=handler,
        code=lambda_.Code.from_asset("handlers"),
        timeout=cdk.Duration.seconds(20),
    )


routes: dict[str, RouteOptions] = {}
# more: routes

WebSocketApi(
    stack,
    "Api",
    default=RouteOptions(handler=function("Echo", "echo.handler"), return_response=True),
    disconnect=RouteOptions(handler=function("Bye", "bye.handler")),
    routes=routes,
    stages=[StageOptions(stage_name=STAGE)],
    cloud_watch_role=False,
    # more: api
)
# more: resources
app.synth()

"""A plain aws-cdk-lib project (no cdk_ws_api construct) whose ``app.py`` the app-reload test
edits: a line goes under the ``# more: routes`` marker (tests/e2e/test_watch_app.py)."""

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

app = cdk.App()
stack = cdk.Stack(app, "WatchPlainStack")


def function(name: str, handler: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler=handler,
        code=lambda_.Code.from_asset("handlers"),
        timeout=cdk.Duration.seconds(20),
    )


api = apigw.WebSocketApi(
    stack,
    "Api",
    default_route_options=apigw.WebSocketRouteOptions(
        integration=integrations.WebSocketLambdaIntegration(
            "DefaultIntegration", function("Echo", "echo.handler")
        ),
        return_response=True,
    ),
)
apigw.WebSocketStage(stack, "Stage", web_socket_api=api, stage_name="dev", auto_deploy=True)
# more: routes
app.synth()

"""A user's own project: one stack, an echo API and a table of messages."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import RouteOptions, WebSocketApi

app = cdk.App()
stack = cdk.Stack(app, "EchoStack")
messages = dynamodb.Table(
    stack,
    "Messages",
    partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
    removal_policy=cdk.RemovalPolicy.DESTROY,
)
echo = lambda_.Function(
    stack,
    "Echo",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="echo.handler",
    code=lambda_.Code.from_asset("handlers"),
    timeout=cdk.Duration.seconds(20),
    environment={"MESSAGES": messages.table_name},
)
messages.grant_read_write_data(echo)
WebSocketApi(stack, "Api", default=RouteOptions(handler=echo, return_response=True))
app.synth()

"""A WebSocket API written in plain aws-cdk-lib L2 constructs, with boto3-only handlers.

The emulator must serve it unchanged: no ``cdk_ws_api`` construct, no ``lambda_runtime``.
Run as ``CDK_OUTDIR=DIR python stack_app.py``.

``PlainStack`` routes: ``$connect`` (Lambda REQUEST authorizer on ``?token=``), ``$disconnect``,
``echo`` (route response), ``post``/``manage`` (answers through ``@connections``, no route
response), ``crash`` (errors, exits, timeouts), ``$default`` (route response).
``NoDefaultStack``: one two-way ``ping`` route with inline code, no ``$default`` and no table
(so no moto server); ``{"action": "ping", "aws": SERVICE, "call": METHOD}`` makes that boto3
call and answers the error it got and the worker's pid.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_

HERE = Path(__file__).resolve().parent


class PlainStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        connections = dynamodb.Table(
            self,
            "Connections",
            partition_key=dynamodb.Attribute(
                name="connectionId", type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="ttl",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        connections.add_global_secondary_index(
            index_name="byRoom",
            partition_key=dynamodb.Attribute(name="room", type=dynamodb.AttributeType.STRING),
        )
        audit = dynamodb.Table(
            self,
            "Audit",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        layer = lambda_.LayerVersion(
            self,
            "Helpers",
            code=lambda_.Code.from_asset(str(HERE / "layer")),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
        )
        code = lambda_.Code.from_asset(str(HERE / "handlers"), exclude=["__pycache__"])

        def function(name: str, handler: str, timeout: int = 5) -> lambda_.Function:
            fn = lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=handler,
                code=code,
                layers=[layer],
                timeout=cdk.Duration.seconds(timeout),
                environment={"CONNECTIONS": connections.table_name, "AUDIT": audit.table_name},
            )
            connections.grant_read_write_data(fn)
            audit.grant_read_write_data(fn)
            return fn

        connect = function("Connect", "connect.handler")
        disconnect = function("Disconnect", "disconnect.handler")
        echo = function("Echo", "echo.handler")
        post = function("Post", "post.handler")
        crash = function("Crash", "crash.handler", timeout=2)
        default = function("Default", "echo.default")
        authorizer = function("Authorizer", "authorizer.handler")

        api = apigw.WebSocketApi(
            self,
            "PlainApi",
            api_name="plain",
            connect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("ConnectI", connect),
                authorizer=authorizers.WebSocketLambdaAuthorizer(
                    "TokenAuthorizer",
                    authorizer,
                    identity_source=["route.request.querystring.token"],
                ),
            ),
            disconnect_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DisconnectI", disconnect)
            ),
            default_route_options=apigw.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DefaultI", default),
                return_response=True,
            ),
        )
        api.add_route(
            "echo",
            integration=integrations.WebSocketLambdaIntegration("EchoI", echo),
            return_response=True,
        )
        api.add_route("post", integration=integrations.WebSocketLambdaIntegration("PostI", post))
        api.add_route(
            "manage", integration=integrations.WebSocketLambdaIntegration("ManageI", post)
        )
        api.add_route(
            "crash",
            integration=integrations.WebSocketLambdaIntegration("CrashI", crash),
            return_response=True,
        )
        stage = apigw.WebSocketStage(
            self, "DevStage", web_socket_api=api, stage_name="dev", auto_deploy=True
        )
        for fn in (connect, post, disconnect):
            fn.add_environment("CALLBACK_URL", stage.callback_url)
            stage.grant_management_api_access(fn)


class NoDefaultStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        ping = lambda_.Function(
            self,
            "Ping",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline(
                "import json, os\n"
                "def handler(event, context):\n"
                "    body = json.loads(event['body'])\n"
                "    if 'aws' in body:  # a boto3 call to a service the emulator lacks\n"
                "        import boto3\n"
                "        client = boto3.client(body['aws'])\n"
                "        try:\n"
                "            getattr(client, body['call'])(**body.get('args', {}))\n"
                "            error = None\n"
                "        except Exception as exc:\n"
                "            error = {'type': type(exc).__name__, 'text': str(exc)}\n"
                "        answer = {'error': error, 'pid': os.getpid()}\n"
                "        return {'statusCode': 200, 'body': json.dumps(answer)}\n"
                "    return {'statusCode': 200, 'body': json.dumps({'pong': event['body']})}\n"
            ),
        )
        api = apigw.WebSocketApi(self, "NoDefaultApi")
        api.add_route(
            "ping",
            integration=integrations.WebSocketLambdaIntegration("PingI", ping),
            return_response=True,
        )
        apigw.WebSocketStage(self, "Stage", web_socket_api=api, stage_name="v1", auto_deploy=True)


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    PlainStack(app, "PlainStack")
    NoDefaultStack(app, "NoDefaultStack")
    return app


if __name__ == "__main__":
    build_app().synth()

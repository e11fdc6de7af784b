"""A small WebSocket API for the hostile-client tests: inline handlers, no table (so no moto
server, nothing slow to start), every function printing what it got.

Run as ``CDK_OUTDIR=DIR python stack_app.py``. Routes of ``HostileStack`` (stage ``h``):

- ``$connect``: ``?status=N`` answers ``statusCode`` N (``0``, ``101``, ``600``...);
- ``$disconnect``: prints ``disconnect <id> <code> <reason>``;
- ``slow`` (no route response): prints ``slow <seq>``, sleeps ``seconds``;
- ``$default`` (route response): answers ``{"route": "$default", "size": len(body)}``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

CONNECT = """
def handler(event, context):
    query = event.get("queryStringParameters") or {}
    print("connect invoked", event["requestContext"]["connectionId"])
    if "status" in query:
        return {"statusCode": int(query["status"])}
    return {"statusCode": 200}
"""

DISCONNECT = """
def handler(event, context):
    ctx = event["requestContext"]
    print("disconnect", ctx["connectionId"], ctx["disconnectStatusCode"], ctx["disconnectReason"])
    return {"statusCode": 200}
"""

SLOW = """
import json, time
def handler(event, context):
    body = json.loads(event["body"])
    print("slow", body.get("seq"))
    time.sleep(float(body.get("seconds", 0)))
    return {"statusCode": 200}
"""

DEFAULT = """
import json
def handler(event, context):
    body = json.dumps({"route": "$default", "size": len(event.get("body") or "")})
    return {"statusCode": 200, "body": body}
"""


class HostileStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        def function(name: str, code: str, timeout: int = 10) -> lambda_.Function:
            return lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler="index.handler",
                code=lambda_.Code.from_inline(code),
                timeout=cdk.Duration.seconds(timeout),
            )

        def integration(name: str, fn: lambda_.Function) -> integrations.WebSocketLambdaIntegration:
            return integrations.WebSocketLambdaIntegration(name, fn)

        api = apigw.WebSocketApi(
            self,
            "HostileApi",
            connect_route_options=apigw.WebSocketRouteOptions(
                integration=integration("ConnectI", function("Connect", CONNECT))
            ),
            disconnect_route_options=apigw.WebSocketRouteOptions(
                integration=integration("DisconnectI", function("Disconnect", DISCONNECT))
            ),
            default_route_options=apigw.WebSocketRouteOptions(
                integration=integration("DefaultI", function("Default", DEFAULT)),
                return_response=True,
            ),
        )
        api.add_route("slow", integration=integration("SlowI", function("Slow", SLOW, 60)))
        apigw.WebSocketStage(self, "Stage", web_socket_api=api, stage_name="h", auto_deploy=True)


if __name__ == "__main__":
    app = cdk.App()
    HostileStack(app, "HostileStack")
    app.synth()

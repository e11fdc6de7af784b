"""A plain aws-cdk-lib WebSocket API whose functions differ only in their grants (issue 14).

Every route runs the same probe (inline code, ``lambda_runtime`` from the runtime layer):
``{"action": ROUTE, "do": ["post", "get", "store_put", "store_get", "invoke"]}`` makes those
calls (``post_to_connection`` / ``get_connection`` to its own connection with plain boto3,
``ConnectionStore().put(event)`` / ``.get(id)``, a Lambda ``Invoke`` of ``Target``) and
answers, as the route response, the error each one got (``null``: it worked), its function
name, connection id and API id.

Routes and their functions' grants (stage ``dev`` is served; ``other`` exists too):

- ``granted``: ``dev.grant_management_api_access`` + ``table.grant_read_write_data`` +
  ``target.grant_invoke``;
- ``nogrant``: the table grant only (no ``grantManageConnections``);
- ``otherstage``: ``other.grant_management_api_access`` + the table grant;
- ``getonly``: ``execute-api:ManageConnections`` on ``dev/GET/@connections/*`` only;
- ``notable``: the ``dev`` grant, no table grant;
- ``denied``: every grant, plus a ``Deny`` of ``dynamodb:PutItem`` on the table.

Run as ``CDK_OUTDIR=DIR python stack_app.py``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import RuntimeLayer

PROBE = """
import json, os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    from lambda_runtime import ConnectionStore
    ctx = event["requestContext"]
    api = boto3.client(
        "apigatewaymanagementapi", endpoint_url=f"https://{ctx['domainName']}/{ctx['stage']}"
    )
    calls = {
        "post": lambda: api.post_to_connection(ConnectionId=ctx["connectionId"], Data=b"posted"),
        "get": lambda: api.get_connection(ConnectionId=ctx["connectionId"]),
        "store_put": lambda: ConnectionStore().put(event),
        "store_get": lambda: ConnectionStore().get(ctx["connectionId"]),
        "invoke": lambda: boto3.client("lambda").invoke(
            FunctionName=os.environ["TARGET"], Payload=b"{}"
        ),
    }
    results = {}
    for name in json.loads(event["body"]).get("do", []):
        try:
            calls[name]()
            results[name] = None
        except ClientError as exc:
            results[name] = {
                "type": "ClientError",
                "code": exc.response["Error"]["Code"],
                "message": exc.response["Error"].get("Message"),
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"],
            }
        except Exception as exc:
            results[name] = {
                "type": type(exc).__name__,
                "code": getattr(exc, "code", None),
                "message": str(exc),
                "status": getattr(exc, "status", None),
            }
    answer = {
        "results": results,
        "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "connectionId": ctx["connectionId"],
        "apiId": ctx["apiId"],
    }
    return {"statusCode": 200, "body": json.dumps(answer)}
"""


class IamStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        table = dynamodb.Table(
            self,
            "Store",
            partition_key=dynamodb.Attribute(
                name="connectionId", type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        layer = RuntimeLayer.of(self)
        # Invoked through the Lambda Invoke API by the probes; behind no route.
        target = lambda_.Function(
            self,
            "Target",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
        )
        api = apigw.WebSocketApi(self, "IamApi")
        dev = apigw.WebSocketStage(
            self, "Dev", web_socket_api=api, stage_name="dev", auto_deploy=True
        )
        other = apigw.WebSocketStage(
            self, "Other", web_socket_api=api, stage_name="other", auto_deploy=True
        )

        def probe(name: str) -> lambda_.Function:
            fn = lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler="index.handler",
                code=lambda_.Code.from_inline(PROBE),
                layers=[layer],
                timeout=cdk.Duration.seconds(10),
                environment={
                    "WS_API_CONNECTION_TABLE": table.table_name,
                    "TARGET": target.function_name,
                },
            )
            api.add_route(
                name.lower(),
                integration=integrations.WebSocketLambdaIntegration(f"{name}I", fn),
                return_response=True,
            )
            return fn

        granted = probe("Granted")
        dev.grant_management_api_access(granted)
        table.grant_read_write_data(granted)
        target.grant_invoke(granted)

        nogrant = probe("NoGrant")
        table.grant_read_write_data(nogrant)

        otherstage = probe("OtherStage")
        other.grant_management_api_access(otherstage)
        table.grant_read_write_data(otherstage)

        def add_statement(fn: lambda_.Function, effect: iam.Effect, action: str, arn: str) -> None:
            fn.add_to_role_policy(
                iam.PolicyStatement(effect=effect, actions=[action], resources=[arn])
            )

        getonly = probe("GetOnly")
        get_arn = self.format_arn(
            service="execute-api", resource=api.api_id, resource_name="dev/GET/@connections/*"
        )
        add_statement(getonly, iam.Effect.ALLOW, "execute-api:ManageConnections", get_arn)
        table.grant_read_write_data(getonly)

        notable = probe("NoTable")
        dev.grant_management_api_access(notable)

        denied = probe("Denied")
        dev.grant_management_api_access(denied)
        table.grant_read_write_data(denied)
        add_statement(denied, iam.Effect.DENY, "dynamodb:PutItem", table.table_arn)


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    IamStack(app, "IamStack")
    return app


if __name__ == "__main__":
    build_app().synth()

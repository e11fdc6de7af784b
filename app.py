#!/usr/bin/env python3
"""The example stack: a chat service on an API Gateway WebSocket API, built with cdk-ws-api.

``cdk synth`` / ``cdk deploy`` run this file (see ``cdk.json``); ``make run`` serves it locally.

Routes (selection expression ``$request.body.action``), all but ``ping`` on one function,
``handlers/chat.py``; ``ping`` is answered by API Gateway itself (a ``MockIntegration``):

========== =========================================== ====================================
route      client sends                                answer
========== =========================================== ====================================
$connect   ``wss://…/production?token=demo-<user>``    REQUEST authorizer: no token → 401,
                                                       anything but ``demo-<user>`` → 403
join       ``{"action":"join","room":"r"}``            none (the connection joins room r)
send       ``{"action":"send","room":"r","text":"…"}`` every member of r receives
                                                       ``{"room","from","text"}``
whoami     ``{"action":"whoami"}``                     ``{"connectionId","user"}``
ping       ``{"action":"ping"}``                       ``{"action":"pong","connectionId",
                                                       "requestTime"}`` (no function runs)
$default   anything else                               the list of actions
========== =========================================== ====================================
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_ws_api import (
    ConnectionTableProps,
    LambdaRequestAuthorizer,
    MockIntegration,
    RouteOptions,
    StageOptions,
    WebSocketApi,
)

HANDLERS = Path(__file__).resolve().parent / "handlers"
#: Nothing that differs between machines may enter the asset hash.
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".*"]
#: The ``ping`` route's answer, a mapping template API Gateway evaluates per message.
PONG_TEMPLATE = (
    '{"action": "pong", "connectionId": "$context.connectionId", '
    '"requestTime": "$context.requestTime"}'
)


class ChatStack(cdk.Stack):
    """The chat service: a WebSocket API, its connection table (rooms as groups), two functions."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        code = lambda_.Code.from_asset(str(HANDLERS), exclude=ASSET_EXCLUDES)
        chat = self._function(
            "ChatHandler",
            code,
            handler="chat.handler",
            description="Chat routes: $connect, $disconnect, join, send, whoami, $default",
        )
        authorizer = self._function(
            "ConnectAuthorizer",
            code,
            handler="authorizer.handler",
            description="$connect authorizer: ?token=demo-<user>",
        )

        self.chat_api = WebSocketApi(
            self,
            "ChatApi",
            api_name="chat",
            description="cdk-ws-api example chat service",
            connect=chat,
            disconnect=chat,
            default=RouteOptions(handler=chat, return_response=True),
            routes={
                "join": chat,
                "send": chat,
                "whoami": RouteOptions(handler=chat, return_response=True),
                # Liveness check without a Lambda invocation: API Gateway answers it.
                "ping": RouteOptions(
                    integration=MockIntegration(PONG_TEMPLATE), return_response=True
                ),
            },
            authorizer=LambdaRequestAuthorizer(
                handler=authorizer,
                identity_source=["route.request.querystring.token"],
            ),
            stages=[StageOptions(stage_name="production")],
            connection_table=ConnectionTableProps(group_index=True),
            # An example is torn down often: do not leave its table and logs behind.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.chat_handler = chat
        self.authorizer_handler = authorizer

    def _function(
        self, construct_id: str, code: lambda_.Code, *, handler: str, description: str
    ) -> lambda_.Function:
        """A function with its own log group and a role that may write only to that group.

        The role gets no AWS managed policy (``AWSLambdaBasicExecutionRole`` would allow
        writing to every log group of the account); ``WebSocketApi`` adds the table and
        ``@connections`` permissions it needs.
        """
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id}",
        )
        log_group.grant(role, "logs:CreateLogStream", "logs:PutLogEvents")
        return lambda_.Function(
            self,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            code=code,
            handler=handler,
            description=description,
            memory_size=256,
            timeout=cdk.Duration.seconds(10),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )


def build_app(outdir: str | None = None) -> cdk.App:
    """The CDK app with the ``CdkWsApiChat`` stack (environment-agnostic)."""
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    ChatStack(app, "CdkWsApiChat", description="cdk-ws-api example: WebSocket chat service")
    return app


if __name__ == "__main__":
    build_app().synth()

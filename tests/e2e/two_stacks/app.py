"""Two stacks as users write them: a ``WebSocketApi`` in ``WsStack``; in ``NotifierStack`` a
notifier behind no route, granted ``grant_manage_connections``, that reads the connection table
and the callback URL through cross-stack references (``Fn::ImportValue``), a relay that invokes
the notifier through the Lambda API, and a function that fails on demand.

Run as ``CDK_OUTDIR=DIR python app.py``.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import RouteOptions, WebSocketApi

HERE = Path(__file__).resolve().parent


def _function(
    stack: cdk.Stack, name: str, handler: str, timeout: int = 20, **env: str
) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler=handler,
        code=lambda_.Code.from_asset(str(HERE / "handlers"), exclude=["__pycache__"]),
        # Generous: the first DynamoDB call starts moto, slow on a loaded machine.
        timeout=cdk.Duration.seconds(timeout),
        environment=env,
    )


app = cdk.App()
ws = cdk.Stack(app, "WsStack")
chat = _function(ws, "Chat", "chat.handler")
api = WebSocketApi(
    ws,
    "Api",
    connect=chat,
    disconnect=chat,
    routes={"whoami": RouteOptions(handler=chat, return_response=True)},
)

notifications = cdk.Stack(app, "NotifierStack")
notifier = _function(
    notifications,
    "Notifier",
    "notifier.handler",
    TABLE=api.table.table_name,
    CALLBACK=api.default_stage.callback_url,
)
api.grant_manage_connections(notifier)
api.table.grant_read_data(notifier)
relay = _function(notifications, "Relay", "relay.handler", NOTIFIER=notifier.function_name)
notifier.grant_invoke(relay)
_function(notifications, "Failing", "failing.handler", timeout=3)

app.synth()

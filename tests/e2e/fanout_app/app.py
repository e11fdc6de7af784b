"""The e2e app of the SQS fan-out: a chat whose clients join a room (``?room=``), and a
``publish`` route whose handler fans a message out to a room through ``BroadcastFanout``.

Short timeouts so that a redelivery comes quickly: the consumer's timeout is 10 s, the
visibility timeout 12 s, a message goes to the dead-letter queue after 2 receives. The rate is
4 posts/s shared by 2 consumers (one post per 0.5 s each), so that a message of 25 ids outlasts
the consumer's timeout. Run as ``CDK_OUTDIR=DIR python app.py``.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import BroadcastFanout, ConnectionTableProps, RouteOptions, WebSocketApi

HERE = Path(__file__).resolve().parent

app = cdk.App()
stack = cdk.Stack(app, "FanoutStack")
chat = lambda_.Function(
    stack,
    "Chat",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="chat.handler",
    code=lambda_.Code.from_asset(str(HERE / "handlers"), exclude=["__pycache__"]),
    # Generous: the first DynamoDB call starts moto, slow on a loaded machine.
    timeout=cdk.Duration.seconds(30),
)
api = WebSocketApi(
    stack,
    "Api",
    connect=chat,
    disconnect=chat,
    routes={"publish": RouteOptions(handler=chat, return_response=True)},
    connection_table=ConnectionTableProps(group_index=True),
)
fanout = BroadcastFanout(
    stack,
    "Fanout",
    api=api,
    rate=4,
    reserved_concurrency=2,
    timeout=cdk.Duration.seconds(10),
    visibility_timeout=cdk.Duration.seconds(12),
    max_receive_count=2,
)
fanout.grant_publish(chat)

app.synth()

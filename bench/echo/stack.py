"""The echo service as a cdk-ws-api stack, for the local emulator (benchmarks 3, 5 and 6).

Routes (selection ``$request.body.action``): ``$connect`` (accepts all), ``echo`` (no route
response: the handler posts back through ``@connections``), ``reply`` and ``whoami`` (route
responses); the serverless-offline service of benchmark 5 has the same routes.

``CDK_OUTDIR=out python bench/echo/stack.py``
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api import RouteOptions, StageOptions, WebSocketApi

HERE = Path(__file__).resolve().parent
STAGE = "bench"


def build_app() -> cdk.App:
    app = cdk.App()
    stack = cdk.Stack(app, "BenchEcho")
    code = lambda_.Code.from_asset(
        str(HERE), exclude=["__pycache__", "*.pyc", ".*", "stack.py", "__init__.py"]
    )

    def function(name: str) -> lambda_.Function:
        return lambda_.Function(
            stack,
            name.capitalize(),
            runtime=lambda_.Runtime.PYTHON_3_11,
            code=code,
            handler=f"handler.{name}",
            timeout=cdk.Duration.seconds(10),
        )

    WebSocketApi(
        stack,
        "EchoApi",
        api_name="bench-echo",
        connect=function("connect"),
        routes={
            "echo": function("echo"),
            "reply": RouteOptions(handler=function("reply"), return_response=True),
            "whoami": RouteOptions(handler=function("whoami"), return_response=True),
        },
        stages=[StageOptions(stage_name=STAGE)],
        removal_policy=cdk.RemovalPolicy.DESTROY,
        cloud_watch_role=False,
    )
    return app


if __name__ == "__main__":
    build_app().synth()

"""The echo handlers both emulators run (benchmarks 3, 5 and 6): plain boto3, no library.

- ``echo``: management-API echo, posts the body back through ``@connections``;
- ``reply``: two-way route, returns the body as the route response;
- ``whoami``: two-way route, returns ``{"connectionId": ...}``;
- ``connect``: ``$connect``, accepts every connection (serverless-offline refuses
  connections with 502 when there is no ``$connect`` route).

The ``@connections`` endpoint is ``ECHO_MANAGEMENT_ENDPOINT`` (serverless-offline) or
``WS_API_MANAGEMENT_ENDPOINT`` (set by the cdk-ws-api emulator). The client is created once
per process, as a Lambda function would.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

_client: Any = None


def _management() -> Any:
    global _client
    if _client is None:
        endpoint = (
            os.environ.get("ECHO_MANAGEMENT_ENDPOINT") or os.environ["WS_API_MANAGEMENT_ENDPOINT"]
        )
        _client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
        )
    return _client


def connect(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 200}


def echo(event: dict[str, Any], context: object) -> dict[str, Any]:
    connection_id = event["requestContext"]["connectionId"]
    _management().post_to_connection(ConnectionId=connection_id, Data=event["body"].encode())
    return {"statusCode": 200}


def reply(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 200, "body": event["body"]}


def whoami(event: dict[str, Any], context: object) -> dict[str, Any]:
    body = json.dumps({"connectionId": event["requestContext"]["connectionId"]})
    return {"statusCode": 200, "body": body}

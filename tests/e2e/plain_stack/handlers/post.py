"""``post``/``manage``: plain boto3 ``@connections`` calls, endpoint built like on AWS.

``{"action":"post","text":T}``: posts T back, endpoint ``https://{domainName}/{stage}``.
``{"action":"post","via":"env"}``: endpoint from ``CALLBACK_URL`` (the stage's callback URL).
``"via":"other-api"``: another API's endpoint (the emulator answers 403 locally).
``{"action":"manage","op":"get"|"delete"|"post","target":ID,"size":N}``: the given operation
on ``target`` (default: itself); the outcome (or AWS error code) is posted back.
The function also returns a body, which API Gateway must discard (no route response).
"""

from __future__ import annotations

import json
import os

import boto3
from botocore.exceptions import ClientError


def _client(event, via):
    ctx = event["requestContext"]
    if via == "env":
        endpoint = os.environ["CALLBACK_URL"]
    elif via == "other-api":
        endpoint = "https://otherapi00.execute-api.us-east-1.amazonaws.com/dev"
    else:
        endpoint = f"https://{ctx['domainName']}/{ctx['stage']}"
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)


def handler(event, context):
    ctx = event["requestContext"]
    body = json.loads(event["body"])
    client = _client(event, body.get("via"))
    me = ctx["connectionId"]
    if body.get("via") == "other-api":
        client, other = _client(event, None), client
        try:
            other.post_to_connection(ConnectionId=me, Data=b"lost")
            outcome = "sent"
        except ClientError as error:
            outcome = error.response["Error"]["Code"]
        client.post_to_connection(ConnectionId=me, Data=json.dumps({"other": outcome}).encode())
        return {"statusCode": 200}
    if ctx["routeKey"] == "post":
        text = body.get("text", "")
        client.post_to_connection(ConnectionId=me, Data=json.dumps({"posted": text}).encode())
        return {"statusCode": 200, "body": "must be discarded"}
    target = body.get("target", me)
    op = body.get("op")
    try:
        if op == "get":
            info = client.get_connection(ConnectionId=target)
            outcome = {
                "connectedAt": info["ConnectedAt"].isoformat(),
                "lastActiveAt": info["LastActiveAt"].isoformat(),
                "identity": info["Identity"],
            }
        elif op == "delete":
            client.delete_connection(ConnectionId=target)
            outcome = "deleted"
        else:
            client.post_to_connection(ConnectionId=target, Data=b"x" * int(body.get("size", 1)))
            outcome = "posted"
    except ClientError as error:
        outcome = {
            "error": error.response["Error"]["Code"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    if not (op == "delete" and target == me):
        client.post_to_connection(ConnectionId=me, Data=json.dumps({"manage": outcome}).encode())
    return {"statusCode": 200}

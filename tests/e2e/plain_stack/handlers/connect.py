"""$connect: records the connection; ``?reject=NNN`` answers that status, ``?protocol=P``
echoes ``Sec-WebSocket-Protocol``, ``?postself=1`` posts to itself (API Gateway: 410)."""

from __future__ import annotations

import json
import os
import time

import boto3
from plainhelpers import audit, table


def handler(event, context):
    ctx = event["requestContext"]
    query = event.get("queryStringParameters") or {}
    audit("connect#" + ctx["connectionId"], event=json.dumps(event))
    if "reject" in query:
        return {"statusCode": int(query["reject"])}
    table("CONNECTIONS").put_item(
        Item={
            "connectionId": ctx["connectionId"],
            "user": ctx.get("authorizer", {}).get("principalId", "?"),
            "ttl": int(time.time()) + 3600,
        }
    )
    if query.get("postself"):
        client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"])
        try:
            client.post_to_connection(ConnectionId=ctx["connectionId"], Data=b"too early")
            outcome = "sent"
        except client.exceptions.GoneException:
            outcome = "GoneException"
        audit("postself#" + ctx["connectionId"], outcome=outcome)
    print(f"connected {ctx['connectionId']}")
    response = {"statusCode": 200}
    if "protocol" in query:
        response["headers"] = {"Sec-WebSocket-Protocol": query["protocol"]}
    return response

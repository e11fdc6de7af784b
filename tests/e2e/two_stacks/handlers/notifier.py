"""Posts the event to every connection of the table (both named by cross-stack imports)."""

import json
import os

import boto3


def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE"])
    ids = sorted(item["connectionId"] for item in table.scan()["Items"])
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK"])
    for connection_id in ids:
        client.post_to_connection(ConnectionId=connection_id, Data=json.dumps(event).encode())
    print(f"notified {len(ids)} connection(s) via {os.environ['CALLBACK']}")
    return {"notified": ids, "clientContext": getattr(context, "client_context", None)}

"""SQS worker of the integrations e2e app: answers each queued message through ``@connections``.

The route's ``SqsIntegration`` (or the plain stack's ``WebSocketAwsIntegration``) sent the
client's message as the body with ``connectionId``, ``routeKey`` and ``requestId`` message
attributes. The worker posts ``{"worker": <message>, "routeKey", "requestId"}`` back to that
connection (endpoint: ``CALLBACK_URL``, the stage's callback URL). A message whose body has
``"fail": true`` is reported as a batch item failure (``ReportBatchItemFailures``), so it is
retried and, after ``maxReceiveCount``, moved to the dead-letter queue.
"""

from __future__ import annotations

import json
import os

import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"])
    failures = []
    for record in event["Records"]:
        attributes = record["messageAttributes"]
        message = json.loads(record["body"])
        if message.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        answer = {
            "worker": message,
            "routeKey": attributes["routeKey"]["stringValue"],
            "requestId": attributes["requestId"]["stringValue"],
        }
        try:
            client.post_to_connection(
                ConnectionId=attributes["connectionId"]["stringValue"],
                Data=json.dumps(answer).encode(),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "GoneException":
                failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}

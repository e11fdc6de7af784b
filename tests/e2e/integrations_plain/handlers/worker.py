"""SQS worker: answers each message's sender through @connections (boto3 only).

A body with ``"fail": true`` is reported as a batch item failure, so it comes back after the
visibility timeout and ends in the dead-letter queue after ``maxReceiveCount`` receives.
"""

import json
import os

import boto3


def handler(event, context):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["MANAGEMENT_ENDPOINT"])
    failures = []
    records = event["Records"]
    for record in records:
        message = json.loads(record["body"])
        if message.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        connection = record["messageAttributes"]["connectionId"]["stringValue"]
        answer = {
            "worker": message,
            "batch": len(records),
            "receiveCount": record["attributes"]["ApproximateReceiveCount"],
            "eventSource": record["eventSource"],
        }
        client.post_to_connection(ConnectionId=connection, Data=json.dumps(answer).encode())
    return {"batchItemFailures": failures}

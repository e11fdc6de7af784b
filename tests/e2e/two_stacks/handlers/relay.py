"""Invokes the notifier through the Lambda API (AWS_ENDPOINT_URL_LAMBDA keeps it local)."""

import json
import os

import boto3


def handler(event, context):
    answer = boto3.client("lambda").invoke(
        FunctionName=os.environ["NOTIFIER"], Payload=json.dumps({"relayed": event}).encode()
    )
    return {"status": answer["StatusCode"], "payload": json.loads(answer["Payload"].read())}

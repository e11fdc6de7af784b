import json
import os

import boto3


def handler(event, context):
    body = event.get("body") or ""
    if event["requestContext"]["eventType"] == "MESSAGE":
        table = boto3.resource("dynamodb").Table(os.environ["MESSAGES"])
        table.put_item(Item={"id": event["requestContext"]["messageId"], "body": body})
        print(f"stored {body}")
        return {"statusCode": 200, "body": json.dumps({"echo": body})}
    return {"statusCode": 200}

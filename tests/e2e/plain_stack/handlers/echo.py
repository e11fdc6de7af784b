"""``echo`` (two-way): returns the whole event; ``$default``: explains the routes."""

from __future__ import annotations

import json


def handler(event, context):
    return {
        "statusCode": 200,
        "body": json.dumps(
            {
                "event": event,
                "function": context.function_name,
                "remaining": context.get_remaining_time_in_millis(),
                "requestId": context.aws_request_id,
            }
        ),
    }


def default(event, context):
    return {"statusCode": 200, "body": "default route got: " + event["body"]}

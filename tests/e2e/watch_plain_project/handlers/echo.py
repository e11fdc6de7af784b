import json
import os


def handler(event, context):
    answer = {"route": event["requestContext"]["routeKey"], "body": event["body"]}
    if "GREETING" in os.environ:  # set by an edit of app.py (tests/e2e/test_watch_app.py)
        answer["greeting"] = os.environ["GREETING"]
    return {"statusCode": 200, "body": json.dumps(answer)}

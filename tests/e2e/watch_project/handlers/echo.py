import json
import time

VERSION = 1


def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    if body.get("sleep"):
        time.sleep(body["sleep"])
    return {"statusCode": 200, "body": json.dumps({"version": VERSION, "n": body.get("n")})}

"""``crash`` (two-way): ``mode`` raise | exit | sleep (past the 2 s timeout) | pause (``seconds``,
within the timeout) | ok; the answer carries the message's ``tag``."""

from __future__ import annotations

import os
import sys
import time

STARTED = time.time()  # to show the worker is warm (same value across invocations)


def handler(event, context):
    import json

    body = json.loads(event["body"])
    mode = body.get("mode")
    print(f"crash handler mode={mode}")
    if mode == "raise":
        raise ValueError("boom")
    if mode == "exit":
        sys.stdout.flush()
        os._exit(3)
    if mode == "sleep":
        time.sleep(10)
    if mode == "pause":
        time.sleep(float(body.get("seconds", 0.5)))
    answer = {"started": STARTED, "pid": os.getpid(), "tag": body.get("tag")}
    return {"statusCode": 200, "body": json.dumps(answer)}

"""Fails as the event asks: raise, time out, exit, or return what cannot be JSON."""

import os
import time


def handler(event, context):
    how = event.get("fail")
    print(f"failing: {how}")
    if how == "raise":
        raise ValueError("asked to fail")
    if how == "timeout":
        time.sleep(10)
    if how == "exit":
        os._exit(3)
    if how == "unserializable":
        return {"value": object()}
    return {"ok": True, "event": event}

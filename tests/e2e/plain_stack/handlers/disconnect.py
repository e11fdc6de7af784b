"""$disconnect: forgets the connection and audits the status code and reason."""

from __future__ import annotations

import json

from plainhelpers import audit, table


def handler(event, context):
    ctx = event["requestContext"]
    table("CONNECTIONS").delete_item(Key={"connectionId": ctx["connectionId"]})
    audit(
        "disconnect#" + ctx["connectionId"],
        code=ctx["disconnectStatusCode"],
        reason=ctx["disconnectReason"],
        authorizer=ctx.get("authorizer", {}),
        event=json.dumps(event),
    )
    return {"statusCode": 200}

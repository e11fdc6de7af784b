"""REQUEST authorizer: ``?token=allow-<user>`` allows, ``deny`` denies, ``crash`` raises,
``unauthorized`` raises ``Unauthorized``, ``wrongarn`` allows another method ARN."""

from __future__ import annotations

import json

from plainhelpers import audit


def _policy(effect: str, resource: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
    }


def handler(event, context):
    token = event["queryStringParameters"]["token"]
    print(f"authorizer invoked token={token}")
    audit("authorizer#" + event["requestContext"]["connectionId"], event=json.dumps(event))
    arn = event["methodArn"]
    if token.startswith("allow-"):
        user = token[len("allow-") :]
        return {
            "principalId": user,
            "policyDocument": _policy("Allow", arn),
            "context": {"user": user, "level": 7, "admin": True},
        }
    if token == "deny":
        return {"principalId": "x", "policyDocument": _policy("Deny", arn)}
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "wrongarn":
        return {"principalId": "x", "policyDocument": _policy("Allow", arn + "x")}
    raise RuntimeError("authorizer crashed")

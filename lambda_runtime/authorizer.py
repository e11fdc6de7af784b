"""Responses of a Lambda ``REQUEST`` authorizer on ``$connect``.

::

    def handler(raw, context):
        event = parse_authorizer_event(raw)
        user = check(event.query.get("token"))
        if user is None:
            return deny(event)                  # the client gets 403
        return allow(event, user.id, {"role": user.role})

The policy names the event's exact ``methodArn``: a WebSocket method ARN ends in
``/{stage}/$connect``, so a REST-style ``…/*/*`` resource would not match it. The context is
passed to the route handlers as ``event.authorizer`` and its principal as
``event.principal_id``. To answer 401 instead of 403, raise ``Exception("Unauthorized")``.
"""

from __future__ import annotations

from .events import AuthorizerEvent, parse_authorizer_event
from .exceptions import InvalidContextError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["allow", "deny"]


def _policy(
    event: AuthorizerEvent | Mapping[str, Any], principal_id: str, effect: str
) -> dict[str, Any]:
    parsed = event if isinstance(event, AuthorizerEvent) else parse_authorizer_event(event)
    if not isinstance(principal_id, str) or not principal_id:
        raise ValueError(f"principal_id must be a non-empty string, got {principal_id!r}")
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": parsed.method_arn,
                }
            ],
        },
    }


def allow(
    event: AuthorizerEvent | Mapping[str, Any],
    principal_id: str,
    context: Mapping[str, str | int | float | bool] | None = None,
) -> dict[str, Any]:
    """Let the client connect, as ``principal_id``, with ``context`` for the route handlers.

    Raises ``InvalidContextError`` when a context key is not a ``str`` or a value is not a
    ``str``, ``int``, ``float`` or ``bool`` (API Gateway refuses lists, dicts and null), and
    ``EventParseError`` when ``event`` has no ``methodArn``.
    """
    response = _policy(event, principal_id, "Allow")
    if context:
        checked: dict[str, str | int | float | bool] = {}
        for key, value in context.items():
            if not isinstance(key, str):
                raise InvalidContextError(f"context keys must be strings, got {key!r}")
            if not isinstance(value, (str, int, float, bool)):
                raise InvalidContextError(
                    f"context[{key!r}] is a {type(value).__name__}; API Gateway accepts only "
                    "str, int, float and bool values (serialise others to a string)"
                )
            checked[key] = value
        response["context"] = checked
    return response


def deny(
    event: AuthorizerEvent | Mapping[str, Any], principal_id: str = "anonymous"
) -> dict[str, Any]:
    """Refuse the connection: API Gateway answers the client's handshake with 403."""
    return _policy(event, principal_id, "Deny")

"""The example's ``$connect`` authorizer (Lambda REQUEST, identity source: query ``token``).

A token ``demo-<user>`` is allowed as ``<user>``; anything else is denied (API Gateway answers
403). A request without ``token`` never reaches this function: API Gateway answers 401 because
the identity source is missing. This is a demonstration scheme, not authentication: replace it
with a real token check (e.g. a JWT verified against your identity provider).
"""

from __future__ import annotations

import re
from typing import Any

from lambda_runtime import allow, deny, parse_authorizer_event

TOKEN = re.compile(r"demo-([A-Za-z0-9_.@-]{1,64})")


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    request = parse_authorizer_event(event)
    match = TOKEN.fullmatch(request.query.get("token", ""))
    if match is None:
        return deny(request)
    user = match.group(1)
    return allow(request, user, context={"user": user})

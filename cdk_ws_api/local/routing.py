"""Route selection, as API Gateway evaluates it on each incoming text message (pure).

The expression is ``$request.body.<path>`` (dotted JSON path, the default being
``$request.body.action``), or a template mixing literals with ``${request.body.<path>}``
parts. The body must be a JSON object; a non-JSON body (nested too deeply for the parser
counts as non-JSON: ``json`` raises ``RecursionError`` past ~1,000 levels, which must not
escape into the gateway), a missing key, a non-scalar value or a key that names no route
selects ``$default``. :func:`select_route` returns ``None`` when
even ``$default`` is missing: the gateway then answers API Gateway's ``Forbidden`` frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from lambda_runtime.env import CONNECT_ROUTE, DEFAULT_ROUTE, DISCONNECT_ROUTE

__all__ = ["CONNECT", "DEFAULT", "DISCONNECT", "evaluate_expression", "select_route"]

CONNECT, DISCONNECT, DEFAULT = CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE

_TEMPLATE_PART = re.compile(r"\$\{request\.body\.([^}]+)\}")
_PLAIN = re.compile(r"^\$request\.body\.(.+)$")


def _lookup(body: Any, path: str) -> str | None:
    value = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def evaluate_expression(expression: str, body: str) -> str | None:
    """The route key ``expression`` yields for ``body``, or ``None`` (→ ``$default``)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    plain = _PLAIN.match(expression.strip())
    if plain:
        return _lookup(parsed, plain.group(1))
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(parsed, match.group(1))
        if value is None:
            missing = True
            return ""
        return value

    key = _TEMPLATE_PART.sub(substitute, expression)
    return None if missing or key == expression else key


def select_route(expression: str, body: str, route_keys: Collection[str]) -> str | None:
    """The route a message goes to: the evaluated key when it names a route, else
    ``$default`` when it exists, else ``None``. ``$connect``/``$disconnect`` are never
    selected by a message."""
    key = evaluate_expression(expression, body)
    if key is not None and key in route_keys and key not in (CONNECT, DISCONNECT, DEFAULT):
        return key
    return DEFAULT if DEFAULT in route_keys else None

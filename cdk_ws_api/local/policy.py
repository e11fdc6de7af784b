"""Evaluation of a Lambda authorizer's answer, as API Gateway does on ``$connect`` (pure).

:func:`missing_identity_sources` decides the 401 that API Gateway answers *without* calling
the authorizer; :func:`evaluate` turns the function's output into an :class:`AuthDecision`:
an explicit ``Deny`` on the method ARN wins, otherwise an ``Allow`` statement whose
``Action`` covers ``execute-api:Invoke`` and whose ``Resource`` matches the exact method ARN
(``*`` and ``?`` wildcards) is required. The ``context`` may hold only strings, numbers and
booleans; like API Gateway, values reach later events as strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .exceptions import InvalidAuthorizerResponse

__all__ = [
    "AuthDecision",
    "evaluate",
    "missing_identity_sources",
    "requestcontext_authorizer",
]


@dataclass(frozen=True)
class AuthDecision:
    allowed: bool
    principal_id: str | None = None
    context: dict[str, str] = field(default_factory=dict)


def missing_identity_sources(
    sources: tuple[str, ...],
    *,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    stage_variables: Mapping[str, str],
) -> list[str]:
    """The identity sources absent (or empty) from the handshake request."""
    header_map = {name.lower(): value for name, value in headers}
    query_map = dict(query)
    missing = []
    for source in sources:
        value: str | None = None
        if source.startswith("route.request.header."):
            value = header_map.get(source[len("route.request.header.") :].lower())
        elif source.startswith("route.request.querystring."):
            value = query_map.get(source[len("route.request.querystring.") :])
        elif source.startswith("stageVariables."):
            value = stage_variables.get(source[len("stageVariables.") :])
        elif source.startswith("context."):
            value = "present"  # request context values always exist
        else:
            value = None
        if not value:
            missing.append(source)
    return missing


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    # IAM wildcards: '*' any run of characters, '?' one character, no character classes.
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value) is not None


def _action_covers(action: str) -> bool:
    # IAM action names are case-insensitive.
    return _matches(action.lower(), "execute-api:invoke")


def evaluate(response: Any, method_arn: str) -> AuthDecision:
    """Decide whether the authorizer output ``response`` allows ``method_arn``.

    Raises :class:`InvalidAuthorizerResponse` for output API Gateway rejects as a
    configuration error (not a dict, no ``policyDocument``, non-scalar context values).
    """
    if not isinstance(response, Mapping):
        raise InvalidAuthorizerResponse(f"authorizer returned {type(response).__name__}")
    policy = response.get("policyDocument")
    if not isinstance(policy, Mapping):
        raise InvalidAuthorizerResponse("authorizer response has no policyDocument")
    raw_context = response.get("context") or {}
    if not isinstance(raw_context, Mapping):
        raise InvalidAuthorizerResponse("authorizer context must be an object")
    context: dict[str, str] = {}
    for key, value in raw_context.items():
        if isinstance(value, bool):
            context[str(key)] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            context[str(key)] = str(value)
        elif value is None:
            continue
        else:
            raise InvalidAuthorizerResponse(
                f"authorizer context value {key!r} must be a string, number or boolean"
            )
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, Mapping):
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if not any(_action_covers(a) for a in actions):
            continue
        if not any(_matches(r, method_arn) for r in resources):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            return AuthDecision(False, _principal(response), context)
        if effect == "allow":
            allowed = True
    return AuthDecision(allowed, _principal(response), context)


def _principal(response: Mapping[str, Any]) -> str | None:
    principal = response.get("principalId")
    return None if principal is None else str(principal)


def requestcontext_authorizer(decision: AuthDecision) -> dict[str, Any]:
    """``requestContext.authorizer`` for every event of an authorized connection."""
    value: dict[str, Any] = dict(decision.context)
    if decision.principal_id is not None:
        value["principalId"] = decision.principal_id
    return value

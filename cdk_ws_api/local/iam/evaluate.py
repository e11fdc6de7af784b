"""Identity-policy evaluation as AWS documents it, for one principal (pure).

AWS's rule for a request inside one account with identity policies only: an explicit
``Deny`` in any statement that applies wins; otherwise a statement that applies with
``Allow`` is needed; otherwise the request is implicitly denied. A statement applies when
its ``Action`` (or ``NotAction``) covers the action, its ``Resource`` (or ``NotResource``)
covers the resource ARN, and every ``Condition`` holds.

- Actions compare case-insensitively, resources case-sensitively; ``*`` matches any run of
  characters and ``?`` one character (IAM has no character classes).
- Conditions: the ``String*``, ``Arn*``, ``Bool``, ``Null`` and ``Numeric*`` operators, each
  with ``...IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set prefixes: the operators
  CDK-generated policies use. Any other operator (``Date*``, ``IpAddress``, ``BinaryEquals``)
  is listed by :func:`unsupported_conditions` (the emulator reports it at start) and makes its
  statement not apply.
- Condition keys take their value from the request context the caller passes; a key that is
  absent there is absent, as AWS treats a key the request does not carry.

Statements are compiled once (:class:`CompiledPolicy`); :func:`evaluate` does no parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALLOWED",
    "CompiledPolicy",
    "Decision",
    "evaluate",
    "unsupported_conditions",
    "wildcard",
]

_STRING_OPS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
}
_NUMERIC_OPS = {
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
}
SUPPORTED_OPERATORS = frozenset(_STRING_OPS | _NUMERIC_OPS | {"Bool", "Null"})


def wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """The regex of an IAM wildcard pattern (``*`` any run, ``?`` one character)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


def unsupported_conditions(document: Mapping[str, Any]) -> list[str]:
    """The condition operators of ``document`` this module cannot evaluate."""
    found: list[str] = []
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, Mapping):
            continue
        for operator in statement.get("Condition") or {}:
            qualifier, base, _ = _split_operator(str(operator))
            if base not in SUPPORTED_OPERATORS or qualifier not in (
                None,
                "ForAnyValue",
                "ForAllValues",
            ):
                found.append(str(operator))
    return found


def _truthy(text: str) -> bool:
    return text.lower() == "true"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(base: str, actual: str, expected: str) -> bool:
    """One positive comparison (the ``Not`` operators are negated by the caller)."""
    if base in ("StringEquals", "ArnEquals"):
        return actual == expected if base == "StringEquals" else _arn_like(expected, actual)
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if base in ("StringLike", "ArnLike"):
        if base == "ArnLike":
            return _arn_like(expected, actual)
        return wildcard(expected).fullmatch(actual) is not None
    if base == "Bool":
        return _truthy(actual) == _truthy(expected)
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        return False
    return {
        "NumericEquals": left == right,
        "NumericLessThan": left < right,
        "NumericLessThanEquals": left <= right,
        "NumericGreaterThan": left > right,
        "NumericGreaterThanEquals": left >= right,
    }[base]


def _arn_like(pattern: str, arn: str) -> bool:
    # ArnLike/ArnEquals compare each of the six colon-separated parts with wildcards.
    want, have = pattern.split(":", 5), arn.split(":", 5)
    if len(want) != 6 or len(have) != 6:
        return False
    return all(wildcard(w).fullmatch(h) is not None for w, h in zip(want, have, strict=True))


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _condition_holds(
    operator: str, key: str, expected: list[str], context: Mapping[str, Any]
) -> bool:
    qualifier, base, if_exists = _split_operator(operator)
    if base not in SUPPORTED_OPERATORS:
        return False
    # Condition keys are case-insensitive.
    raw = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    if base == "Null":
        return (raw is None) == _truthy(expected[0] if expected else "true")
    if raw is None:
        return if_exists
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(raw)]
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)

    def one(value: str) -> bool:
        hit = any(_compare(positive, value, str(e)) for e in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    return one(values[0]) if len(values) == 1 else any(one(v) for v in values)


@dataclass(frozen=True)
class _Statement:
    effect_deny: bool
    sid: str | None
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...]
    not_resource: bool
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]

    def applies(self, action: str, resource: str | None, context: Mapping[str, Any]) -> bool:
        hit = any(p.fullmatch(action) for p in self.actions)
        if hit == self.not_action:
            return False
        if resource is not None:
            hit = any(p.fullmatch(resource) for p in self.resources)
            if hit == self.not_resource:
                return False
        return all(
            _condition_holds(op, key, list(values), context) for op, key, values in self.conditions
        )


class CompiledPolicy:
    """One policy document, statements compiled; ``name`` says where it came from."""

    def __init__(self, name: str, document: Mapping[str, Any]) -> None:
        self.name = name
        self.document = document
        self.statements: list[_Statement] = []
        for statement in _as_list(document.get("Statement")):
            if isinstance(statement, Mapping):
                self.statements.append(_compile(statement))


def _compile(statement: Mapping[str, Any]) -> _Statement:
    not_action = "NotAction" in statement
    not_resource = "NotResource" in statement
    actions = _as_list(statement.get("NotAction" if not_action else "Action"))
    resources = _as_list(statement.get("NotResource" if not_resource else "Resource"))
    conditions: list[tuple[str, str, tuple[str, ...]]] = []
    for operator, body in (statement.get("Condition") or {}).items():
        if isinstance(body, Mapping):
            for key, values in body.items():
                conditions.append(
                    (str(operator), str(key), tuple(str(v) for v in _as_list(values)))
                )
    return _Statement(
        effect_deny=str(statement.get("Effect", "")).lower() == "deny",
        sid=str(statement["Sid"]) if statement.get("Sid") else None,
        actions=tuple(wildcard(str(a), ignore_case=True) for a in actions),
        not_action=not_action,
        resources=tuple(wildcard(str(r)) for r in resources),
        not_resource=not_resource,
        conditions=tuple(conditions),
    )


@dataclass(frozen=True)
class Decision:
    """``allowed``; otherwise ``explicit`` tells an explicit ``Deny`` (named by ``policy`` and
    ``sid``) from the implicit denial of no ``Allow``."""

    allowed: bool
    explicit: bool = False
    policy: str | None = None
    sid: str | None = None


ALLOWED = Decision(True)
_IMPLICIT = Decision(False)


def evaluate(
    policies: Sequence[CompiledPolicy] | Iterable[CompiledPolicy],
    action: str,
    resource: str | None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide ``action`` on ``resource`` under ``policies`` (all of one principal).

    ``resource`` ``None`` means the caller cannot tell the resource (a request shape this
    emulator does not map to an ARN): only actions and conditions are evaluated then."""
    context = context or {}
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if statement.effect_deny:
                if statement.applies(action, resource, context):
                    return Decision(False, True, policy.name, statement.sid)
            elif not allowed and statement.applies(action, resource, context):
                allowed = True
    return ALLOWED if allowed else _IMPLICIT

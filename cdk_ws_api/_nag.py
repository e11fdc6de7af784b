"""cdk-nag acknowledgements the constructs can justify themselves (private helpers).

Acknowledgements are recorded with aws-cdk-lib's ``Validations.of(...).acknowledge`` (the
mechanism cdk-nag 3 reads); they cost nothing when cdk-nag is not used.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

__all__ = ["acknowledge", "nag_resource_string"]


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (e.g. ``AwsSolutions-APIG4``) on ``construct`` and below."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def nag_resource_string(scope: IConstruct, value: str) -> str:
    """Render a (tokenised) string the way cdk-nag prints it in granular finding ids.

    ``Ref`` becomes ``<LogicalId>`` (pseudo parameters ``<AWS::Region>``), ``Fn::GetAtt``
    becomes ``<LogicalId.Attr>``, ``Fn::ImportValue`` its export name, and ``Fn::Join`` is
    flattened.
    """
    return _render(Stack.of(scope).resolve(value))


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::ImportValue":  # a cross-stack reference: cdk-nag prints its name
            return _render(arg)
        if key == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if key == "Fn::Join":
            separator, parts = arg
            return str(separator).join(_render(p) for p in parts)
    return str(value)

"""Helpers for snapshot tests of stacks that use these constructs (e.g. with syrupy).

Example::

    from cdk_ws_api.testing import template_snapshot

    def test_stack_snapshot(snapshot):
        app = App()
        stack = ChatStack(app, "Chat")
        assert template_snapshot(stack) == snapshot

Update stored snapshots after an intended change with ``pytest --snapshot-update``.

:func:`lint_template` runs cfn-lint (a test dependency, imported on first use) on a template.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

__all__ = ["ASSET_HASH_PLACEHOLDER", "lint_template", "normalize_template", "template_snapshot"]

#: What every asset hash (64 hex digits) is replaced with.
ASSET_HASH_PLACEHOLDER = "[ASSET_HASH]"

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
_VOLATILE_RESOURCE_TYPES = {"AWS::CDK::Metadata"}


def normalize_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a CloudFormation template that is stable across machines and runs.

    Asset hashes (in S3 keys, asset paths, image tags) become :data:`ASSET_HASH_PLACEHOLDER`
    and ``AWS::CDK::Metadata`` resources (library versions) are dropped.
    """
    resources = {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") not in _VOLATILE_RESOURCE_TYPES
    }
    result = {**template, "Resources": resources} if "Resources" in template else dict(template)
    return _normalize(result)  # type: ignore[no-any-return]


def template_snapshot(stack: Stack) -> dict[str, Any]:
    """Synthesize ``stack`` and return its normalised template (see :func:`normalize_template`)."""
    return normalize_template(Template.from_stack(stack).to_json())


def _normalize(value: Any) -> Any:
    if isinstance(value, str):
        return _ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {_normalize(k): _normalize(v) for k, v in value.items()}
    return value


def lint_template(
    template: Mapping[str, Any], *, regions: tuple[str, ...] = ("us-east-1",)
) -> list[str]:
    """cfn-lint findings (errors, warnings and informational) of a synthesized template.

    Returns one ``"<rule> <message> (<path>)"`` line per finding; ``[]`` means clean. One
    finding is dropped as a false positive: W3005 on an ``AWS::Lambda::Function`` (or an
    ``AWS::StepFunctions::StateMachine``) that ``DependsOn`` its own role, which aws-cdk-lib's
    ``lambda.Function`` (``sfn.StateMachine``) always adds although ``Properties.Role``
    (``RoleArn``) already references the role (redundant, harmless, not fixable in user code).
    """
    runner = _cfn_lint_runner(regions)
    matches = runner.validate_template(json.loads(json.dumps(template)))
    return [
        f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})"
        for m in matches
        if not _is_function_role_dependency(m)
    ]


@functools.cache
def _cfn_lint_runner(regions: tuple[str, ...]) -> Any:
    import cfnlint.api  # type: ignore[import-untyped]

    return cfnlint.api.Runner(cfnlint.api.ConfigMixIn(regions=list(regions)))


def _is_function_role_dependency(match: Any) -> bool:
    # Lambda functions reference their role as Role, state machines as RoleArn.
    return bool(
        match.rule.id == "W3005"
        and ("/Properties/Role'" in match.message or "/Properties/RoleArn'" in match.message)
    )

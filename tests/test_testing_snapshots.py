"""template_snapshot's normalization (code hashes of versions, bootstrap qualifiers) and the
syrupy extension storing each template as sorted JSON in its own file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from cdk_ws_api.testing import (
    BOOTSTRAP_QUALIFIER_PLACEHOLDER,
    VERSION_HASH_PLACEHOLDER,
    TemplateSnapshotExtension,
    normalize_template,
    template_snapshot,
)


def _stack(code: str, qualifier: str | None = None) -> cdk.Stack:
    synthesizer = cdk.DefaultStackSynthesizer(qualifier=qualifier) if qualifier else None
    stack = cdk.Stack(cdk.App(), "Versioned", synthesizer=synthesizer)
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(code),
    )
    lambda_.Alias(stack, "Live", alias_name="live", version=function.current_version)
    return stack


def test_a_code_change_or_another_qualifier_leaves_the_snapshot_unchanged() -> None:
    first = _stack("def handler(e, c):\n    return 1\n")
    raw = json.dumps(cdk.assertions.Template.from_stack(first).to_json())
    assert "CurrentVersion" in raw and "hnb659fds" in raw  # what needs normalizing is there
    snapshot = template_snapshot(first)
    text = json.dumps(snapshot)
    assert f"FnCurrentVersion{VERSION_HASH_PLACEHOLDER}" in text
    assert f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER_PLACEHOLDER}/version" in text
    assert "hnb659fds" not in text
    other = _stack("def handler(e, c):\n    return 2\n", qualifier="myqual123")
    changed = template_snapshot(other)
    # Only the inline code itself differs: ids, references and names are stable.
    fn = "Fn9270CBC0"
    assert (
        changed["Resources"][fn]["Properties"]["Code"]
        != snapshot["Resources"][fn]["Properties"]["Code"]
    )
    changed["Resources"][fn]["Properties"]["Code"] = snapshot["Resources"][fn]["Properties"]["Code"]
    assert changed == snapshot


def test_qualifiers_in_asset_buckets_and_roles_are_normalized() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "F": {
                "Properties": {
                    "Code": {"S3Bucket": {"Fn::Sub": "cdk-abc123xyz-assets-${AWS::AccountId}"}},
                    "Role": "arn:aws:iam::1:role/cdk-abc123xyz-cfn-exec-role-1-us-east-1",
                    "Keep": "cdk-like-but-not-bootstrap",
                }
            }
        }
    }
    props = normalize_template(template)["Resources"]["F"]["Properties"]
    assert props["Code"]["S3Bucket"]["Fn::Sub"] == "cdk-[QUALIFIER]-assets-${AWS::AccountId}"
    assert props["Role"].endswith("role/cdk-[QUALIFIER]-cfn-exec-role-1-us-east-1")
    assert props["Keep"] == "cdk-like-but-not-bootstrap"


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    return snapshot.use_extension(TemplateSnapshotExtension)


def test_template_stored_as_sorted_json_one_file_per_snapshot(snapshot_json: Any) -> None:
    assert template_snapshot(_stack("def handler(e, c):\n    return 1\n")) == snapshot_json
    stored = (
        Path(__file__).parent
        / "__snapshots__"
        / "test_testing_snapshots"
        / "test_template_stored_as_sorted_json_one_file_per_snapshot.json"
    )
    text = stored.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert "Resources" in data

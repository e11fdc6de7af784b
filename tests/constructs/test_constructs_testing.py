"""cdk_ws_api.testing and the suite-wide checks (snapshot, cfn-lint helper, lazy import).

Snapshots: after an intended template change, run
``.venv/bin/python -m pytest tests/constructs --snapshot-update`` and review the diff of
``tests/constructs/__snapshots__/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from constructs_helpers import Built, cfn_lint

from cdk_ws_api.testing import ASSET_HASH_PLACEHOLDER, normalize_template, template_snapshot


def test_template_snapshot_normalises_asset_hashes(minimal: Built) -> None:
    # GIVEN a stack with an asset (the runtime layer)
    snapshot = template_snapshot(minimal.stack)
    # THEN its S3 key is a placeholder and no 64-hex hash is left
    (layer,) = [
        r for r in snapshot["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    assert layer["Properties"]["Content"]["S3Key"] == f"{ASSET_HASH_PLACEHOLDER}.zip"
    assert not any(
        len(word) == 64 and all(c in "0123456789abcdef" for c in word)
        for word in json.dumps(snapshot).replace('"', " ").replace(".", " ").split()
    )


def test_normalize_template_drops_cdk_metadata() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:x"}},
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Metadata": {"aws:asset:path": "asset." + "a" * 64},
            },
        }
    }
    assert normalize_template(template) == {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Metadata": {"aws:asset:path": f"asset.{ASSET_HASH_PLACEHOLDER}"},
            }
        }
    }


def test_full_stack_snapshot(full: Built, snapshot: Any) -> None:
    # GIVEN the full-featured stack / THEN its normalised template matches the stored snapshot
    assert template_snapshot(full.stack) == snapshot


def test_cfn_lint_helper_reports_findings() -> None:
    # GIVEN a template with an invalid property / THEN the lint helper reports it
    bad = {"Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"Nope": 1}}}}
    assert cfn_lint(bad)


def test_package_import_is_lazy() -> None:
    # GIVEN a fresh interpreter / WHEN cdk_ws_api is imported / THEN aws_cdk and jsii are not
    code = (
        "import sys, cdk_ws_api; "
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, 'eager'; "
        "assert 'WebSocketApi' in cdk_ws_api.__all__ and 'WebSocketApi' in dir(cdk_ws_api)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_raises() -> None:
    import cdk_ws_api

    try:
        cdk_ws_api.Nope  # noqa: B018
    except AttributeError as error:
        assert "Nope" in str(error)
    else:
        raise AssertionError("expected AttributeError")

"""The emulator and the CLI never load the CDK (jsii) or boto3 just by being imported."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import cdk_ws_api.cli
import cdk_ws_api.local.cli
import cdk_ws_api.local.emulator
import cdk_ws_api.local.worker_entry
cdk_ws_api.cli.build_parser()
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"aws_cdk", "jsii", "boto3", "botocore"})
print(",".join(loaded))
"""


def test_no_cdk_and_no_boto3_at_import() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == ""

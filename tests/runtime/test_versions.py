"""The runtime is tested on both ends of pyproject's boto3 range: the oldest pinned in
``constraints/botocore-oldest.txt`` (``make test`` runs tests/runtime in a venv with it), the
newest in ``.venv``. These tests keep the pin true to pyproject, and say which end ran."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import boto3
import botocore

ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "constraints" / "botocore-oldest.txt"


def pinned() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in PINS.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[name.strip()] = version.strip()
    return pins


def test_the_pinned_boto3_is_pyprojects_lower_bound() -> None:
    # GIVEN pyproject's boto3 range
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'"boto3>=([0-9.]+),<[0-9.]+"', text)
    assert match, "pyproject.toml's boto3 dependency is no longer a >=,< range"
    lower = match.group(1)
    # THEN the oldest pin is that bound (1.34 means 1.34.0), and botocore is boto3's own
    pins = pinned()
    assert pins["boto3"].split(".")[: len(lower.split("."))] == lower.split(".")
    assert all(part == "0" for part in pins["boto3"].split(".")[len(lower.split(".")) :])
    assert pins["botocore"] == pins["boto3"]  # boto3 1.x.y requires botocore 1.x.y


def test_the_expected_botocore_is_the_one_imported() -> None:
    # In the oldest venv, make sets CDK_WS_API_EXPECT_BOTOCORE: a venv that resolved another
    # version would silently test the wrong end of the range.
    expected = os.environ.get("CDK_WS_API_EXPECT_BOTOCORE")
    if expected is not None:
        assert botocore.__version__ == expected
        assert boto3.__version__ == pinned()["boto3"]
    else:  # the main venv: newer than the oldest pin
        version = tuple(int(p) for p in botocore.__version__.split(".")[:3])
        oldest = tuple(int(p) for p in pinned()["botocore"].split("."))
        assert version >= oldest, sys.version

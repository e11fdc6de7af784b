"""Small helpers of the end-to-end tests on top of the public ``cdk_ws_api.testing``: the
synthesis of the test apps, JSON frames, and the plain stack's tables."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cdk_ws_api.testing import LocalApi, serve

__all__ = [
    "PLAIN_STACK_APP",
    "ROOT",
    "audit",
    "recv_json",
    "serve_watched",
    "synth",
    "table_like",
]

ROOT = Path(__file__).resolve().parents[2]
PLAIN_STACK_APP = Path(__file__).resolve().parent / "plain_stack" / "stack_app.py"


@contextlib.contextmanager
def serve_watched(name: str, scratch: Path) -> Iterator[tuple[LocalApi, Path]]:
    """The test project ``tests/e2e/{name}`` copied into ``scratch`` (the tests edit the
    copy) and served with ``watch=True``, once its watch is in place: (api, project)."""
    project = scratch / "project"
    shutil.copytree(Path(__file__).resolve().parent / name, project)
    with serve(project, watch=True) as api:
        api.wait_for_log(r"^watching: ", timeout=30)
        yield api, project


def synth(app_file: Path, outdir: Path) -> Path:
    """Synthesize ``app_file`` into ``outdir`` (no CDK CLI) and return ``outdir``."""
    env = dict(
        os.environ, CDK_OUTDIR=str(outdir), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"
    )
    subprocess.run(
        [sys.executable, str(app_file)],
        env=env,
        cwd=str(app_file.parent),
        check=True,
        capture_output=True,
        timeout=180,
    )
    return outdir


def recv_json(ws: Any, timeout: float = 15) -> Any:
    message = ws.recv(timeout=timeout)
    assert isinstance(message, str), message
    return json.loads(message)


def table_like(api: LocalApi, prefix: str) -> Any:
    """The one table whose logical id starts with ``prefix``."""
    names = [t.name for t in api.app.tables if t.logical_id.startswith(prefix)]
    assert len(names) == 1, names
    return api.dynamodb.Table(names[0])


def audit(api: LocalApi, pk: str, timeout: float = 10) -> dict[str, Any]:
    """The plain stack's audit item ``pk``, waiting for the handler to write it."""
    table = table_like(api, "Audit")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = table.get_item(Key={"pk": pk}).get("Item")
        if item:
            return item  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"no audit item {pk}")

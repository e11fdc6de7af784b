"""``--watch`` on real files: a handler edited on disk runs on the next message while the
client stays connected; in-flight invocations finish on the old code; ignored folders don't
reload."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from cdk_ws_api.testing import LocalApi

pytestmark = pytest.mark.timeout(300)

HERE = Path(__file__).resolve().parent


#: The project the ``project``/``watched`` fixtures copy and serve (tests/e2e/conftest.py).
WATCH_PROJECT = "watch_project"


def _ask(ws: Any, **body: Any) -> dict[str, Any]:
    ws.send(json.dumps(body))
    return json.loads(ws.recv(timeout=30))  # type: ignore[no-any-return]


def _edit(project: Path, version: int) -> None:
    source = project / "handlers" / "echo.py"
    text = re.sub(r"VERSION = \d+", f"VERSION = {version}", source.read_text())
    source.write_text(text)


def _until_version(ws: Any, version: int, timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _ask(ws, n=0)["version"] == version:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"version {version} never answered")


def test_code_runs_from_its_source_folder(watched: LocalApi, project: Path) -> None:
    (spec,) = [s for s in watched.app.functions.values() if s.handler == "echo.handler"]
    assert spec.code_dir == (project / "handlers").resolve()  # staging disabled
    assert str(project / "handlers") in watched.log or str(project) in watched.log


def test_an_edited_handler_answers_on_the_same_connection(watched: LocalApi, project: Path) -> None:
    with watched.connect() as ws:
        assert _ask(ws, n=1)["version"] == 1
        _edit(project, 2)
        _until_version(ws, 2)
        _edit(project, 3)
        _until_version(ws, 3)
        assert _ask(ws, n=2) == {"version": 3, "n": 2}  # the same connection, never closed
    reloads = [line for line in watched.log.splitlines() if line.startswith("reload: ")]
    assert any(
        re.search(r"echo\.py changed -> 1 function\(s\) reloaded .* in \d+ ms", r) for r in reloads
    ), reloads


def test_in_flight_invocations_finish_on_the_old_code(watched: LocalApi, project: Path) -> None:
    with watched.connect() as slow, watched.connect() as fast:
        version = _ask(fast, n=0)["version"]
        slow.send(json.dumps({"sleep": 2, "n": "slow"}))
        time.sleep(0.5)  # it runs now
        _edit(project, version + 1)
        _until_version(fast, version + 1)
        assert json.loads(slow.recv(timeout=30)) == {"version": version, "n": "slow"}


def test_ignored_folders_do_not_reload(watched: LocalApi, project: Path) -> None:
    before = watched._emulator.watcher.reloads  # type: ignore[union-attr]
    cache = project / "handlers" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "echo.cpython-311.pyc").write_bytes(b"\0")
    (project / "handlers" / "notes.txt~").write_text("backup")
    time.sleep(1.5)
    assert watched._emulator.watcher.reloads == before  # type: ignore[union-attr]

"""Benchmark 10, the development loop: from saving a handler file to the first message answered
by the new code, with ``--watch`` (the connection stays open) against what users do without
it: stop the emulator, synthesize again, start it, reconnect (the peer), side by side in one
run on the same project (``tests/e2e/watch_project``, copied to a temporary directory).

Watch: ``EDITS`` edits (p50/p99 of save → first new answer, a message sent every 10 ms).
Restart: ``RESTARTS`` rounds of stop → ``serve()`` (synthesis included) → connect → answer.
Targets (issue 10): p50 ≤ 300 ms and ≥ 20x faster than the restart.

Run alone: ``python -m bench.reload``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .core import ROOT, Report, Row, main, percentile

__all__ = ["run"]

PROJECT = ROOT / "tests" / "e2e" / "watch_project"
EDITS = 20
RESTARTS = 3


def _edit(project: Path, version: int) -> None:
    source = project / "handlers" / "echo.py"
    source.write_text(re.sub(r"VERSION = \d+", f"VERSION = {version}", source.read_text()))


def _answer(ws: Any) -> int:
    ws.send(json.dumps({"n": 0}))
    return int(json.loads(ws.recv(timeout=30))["version"])


def _until(ws: Any, version: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _answer(ws) != version:
        if time.monotonic() > deadline:
            raise RuntimeError(f"version {version} never answered")
        time.sleep(0.01)


def _watch_rounds(project: Path, edits: int) -> list[float]:
    from cdk_ws_api.testing import serve

    times = []
    with serve(project, watch=True) as api, api.connect() as ws:
        api.wait_for_log(r"^watching: ", timeout=60)
        version = _answer(ws)
        for _ in range(edits):
            version += 1
            started = time.perf_counter()
            _edit(project, version)
            _until(ws, version)
            times.append((time.perf_counter() - started) * 1000)
            time.sleep(0.2)  # let the editor's save settle, as a person would
    return times


def _restart_rounds(project: Path, rounds: int) -> list[float]:
    from cdk_ws_api.testing import start

    times = []
    version = 1000
    api = start(project)
    try:
        for _ in range(rounds):
            version += 1
            started = time.perf_counter()
            _edit(project, version)
            api.close()  # stop
            api = start(project)  # re-synthesize and start
            with api.connect() as ws:  # reconnect
                _until(ws, version)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        api.close()
    return times


def run(quick: bool) -> Report:
    edits, restarts = (3, 1) if quick else (EDITS, RESTARTS)
    report = Report(
        name="reload",
        title="10. Development loop: save a handler → first answer by the new code",
        command="python -m bench.reload",
    )
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
        watch = _watch_rounds(project, edits)
        restart = _restart_rounds(project, restarts)
    p50, p99 = percentile(watch, 50), percentile(watch, 99)
    restart_p50 = percentile(restart, 50)
    report.rows += [
        Row(
            metric=f"--watch, p50 of {len(watch)} edits (vs restart p50)",
            ours=p50,
            peer=restart_p50,
            unit="ms",
            target="p50 ≤ 300 ms and ≥ 20x",
            met=p50 <= 300 and restart_p50 / p50 >= 20,
            higher_is_better=False,
            peer_name="stop + synth + start + reconnect",
        ),
        Row(
            metric=f"--watch, p99 of {len(watch)} edits (vs restart p50)",
            ours=p99,
            peer=restart_p50,
            unit="ms",
            higher_is_better=False,
            peer_name="stop + synth + start + reconnect",
        ),
    ]
    report.notes.append(
        f"watch: {', '.join(f'{t:.0f}' for t in watch)} ms; restart: "
        f"{', '.join(f'{t:.0f}' for t in restart)} ms ({len(restart)} rounds: each one "
        "synthesizes the app again)."
    )
    return report


if __name__ == "__main__":
    main(run, "bench.reload")

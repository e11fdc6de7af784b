"""Benchmark 7, the test suite: wall time of ``make test`` (ruff, mypy, pytest) on this
checkout, installed first (``make install``, not timed), with pytest's ``--durations=15``
listing the slowest tests.

There is no peer: the target (≤ 3 minutes) is the issue's own. ``--quick`` runs nothing
(the suite is the slowest benchmark and does not shrink).

Run alone: ``python -m bench.suite``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from .core import ROOT, Report, Row, main

__all__ = ["run"]

TARGET_SECONDS = 180.0


def _slowest(output: str, count: int = 15) -> list[str]:
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if "slowest" in line and "durations" in line:
            picked = []
            for entry in lines[index + 1 :]:
                if re.match(r"^\d+(\.\d+)?s ", entry):
                    picked.append(entry.strip())
                elif picked:
                    break
            return picked[:count]
    return []


def run(quick: bool) -> Report:
    report = Report(
        name="suite",
        title="7. Test suite (`make test`)",
        command="python -m bench.suite  (runs `make test PYTEST_ADDOPTS=--durations=15`)",
    )
    if quick:
        report.notes.append("Skipped in --quick.")
        return report
    env = dict(os.environ, PYTEST_ADDOPTS="--durations=15")
    # "On an installed checkout": the install step (pip, npm ci) is done first, untimed.
    subprocess.run(
        ["make", "install"], cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False
    )
    started = time.perf_counter()
    completed = subprocess.run(
        ["make", "test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    elapsed = time.perf_counter() - started
    output = completed.stdout + completed.stderr
    summary = next(
        (
            line.strip("= ")
            for line in reversed(output.splitlines())
            if re.search(r"\d+ (passed|failed|error)", line)
        ),
        "",
    )
    report.rows.append(
        Row(
            metric="`make test` wall time",
            ours=elapsed,
            peer=None,
            unit="s",
            higher_is_better=False,
            target="≤ 3 minutes",
            met=completed.returncode == 0 and elapsed <= TARGET_SECONDS,
        )
    )
    report.notes.append(f"exit status {completed.returncode}; pytest: {summary or '?'}")
    if completed.returncode != 0:
        report.notes.append("The suite failed: " + output[-1500:].replace("\n", " / "))
    slowest = _slowest(output)
    if slowest:
        report.notes.append("Slowest tests: " + "; ".join(f"`{s}`" for s in slowest))
    return report


if __name__ == "__main__":
    main(run, __name__)

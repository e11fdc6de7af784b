"""Benchmark 1, cold import: import the library and parse one event, in fresh interpreters.

Each sample is a new ``python -c`` process that imports ``json`` (the Lambda bootstrap has it)
and builds the event, then times ``make_X()`` (the library's import) plus one read of the
event (connection id, route key, body JSON, source IP) with ``time.perf_counter``. The
variants run round-robin so that machine noise hits them alike; medians are reported.
A bare interpreter (no import, no parse) gives the process-level baseline, and each child
reports whether boto3, botocore or pydantic ended up in ``sys.modules``.

Run alone: ``python -m bench.cold_import [--quick]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from .core import ROOT, Report, Row, main, median, python
from .fixtures import fixture_dir
from .peers import PYTHON_DIR, ensure_powertools

__all__ = ["run"]

VARIANTS = {
    "bare": None,
    "lambda_runtime": "make_ours",
    "powertools-parser": "make_parser",
    "powertools-dataclasses": "make_dataclasses",
}
HEAVY = ("boto3", "botocore", "pydantic")
CHILD = """
import json, sys, time
EVENT = json.loads({event!r})
import bench.readers as readers
factory = {factory!r}
before = len(sys.modules)
start = time.perf_counter()
if factory:
    getattr(readers, factory)()(EVENT)
elapsed = time.perf_counter() - start
print(json.dumps({{"ms": elapsed * 1000, "modules": len(sys.modules) - before,
    "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _sample(
    factory: str | None, event: str, env: dict[str, str]
) -> tuple[dict[str, object], float]:
    code = CHILD.format(event=event, factory=factory, heavy=HEAVY)
    started = time.perf_counter()
    completed = subprocess.run(
        [python(), "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    return json.loads(completed.stdout.strip().splitlines()[-1]), wall_ms


def run(quick: bool) -> Report:
    ensure_powertools()
    rounds = 5 if quick else 21
    event = (fixture_dir() / "message.json").read_text()
    # The same sys.path for every variant: the checkout, then the peers' directory.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(PYTHON_DIR)]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    inside: dict[str, list[float]] = {name: [] for name in VARIANTS}
    wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
    modules: dict[str, int] = {}
    heavy: dict[str, list[str]] = {}
    for factory in VARIANTS.values():  # one warm-up each: the .pyc files get written
        _sample(factory, event, env)
    for _ in range(rounds):
        for name, factory in VARIANTS.items():
            result, wall_ms = _sample(factory, event, env)
            inside[name].append(float(result["ms"]))  # type: ignore[arg-type]
            wall[name].append(wall_ms)
            modules[name] = int(result["modules"])  # type: ignore[call-overload]
            heavy[name] = list(result["heavy"])  # type: ignore[call-overload]

    ours = median(inside["lambda_runtime"])
    bare_wall = median(wall["bare"])
    report = Report(
        name="cold_import",
        title="1. Cold import + one parse (fresh interpreters)",
        command="python -m bench.cold_import",
    )
    for peer in ("powertools-parser", "powertools-dataclasses"):
        report.rows.append(
            Row(
                metric="import + parse one message event, in-process (median)",
                ours=ours,
                peer=median(inside[peer]),
                unit="ms",
                peer_name=peer,
                higher_is_better=False,
                target="≤ 5 ms over a bare interpreter",
                met=ours <= 5.0,
            )
        )
    for peer in ("powertools-parser", "powertools-dataclasses"):
        report.rows.append(
            Row(
                metric="whole process wall time over a bare `python -c` (median)",
                ours=median(wall["lambda_runtime"]) - bare_wall,
                peer=median(wall[peer]) - bare_wall,
                unit="ms",
                peer_name=peer,
                higher_is_better=False,
            )
        )
    report.rows.append(
        Row(
            metric="modules imported by import + parse",
            ours=modules["lambda_runtime"],
            peer=modules["powertools-parser"],
            unit="",
            peer_name="powertools-parser",
            higher_is_better=False,
        )
    )
    ours_heavy = heavy["lambda_runtime"]
    report.rows.append(
        Row(
            metric="boto3 / botocore / pydantic imported",
            ours=float(len(ours_heavy)),
            peer=float(len(heavy["powertools-parser"])),
            unit="of 3",
            peer_name="powertools-parser",
            higher_is_better=False,
            target="none imported",
            met=not ours_heavy,
        )
    )
    report.notes += [
        f"{rounds} fresh interpreters per variant, round-robin, after one warm-up each "
        "(bytecode cached, as in a deployed Lambda package).",
        f"bare interpreter: {bare_wall:.1f} ms wall (median); heavy modules imported: "
        + "; ".join(f"{n}: {', '.join(h) or 'none'}" for n, h in heavy.items() if n != "bare"),
        "Event: fixtures `message.json`; the read is connection id, route key, body JSON, "
        "source IP (`bench/readers.py`). `json` is imported before timing (Lambda's bootstrap "
        "has it).",
    ]
    ours_wall = median(wall["lambda_runtime"]) - bare_wall
    if ours_wall <= 0.5:
        report.notes.append(
            f"lambda_runtime's whole-process overhead ({ours_wall:+.3f} ms) is within the "
            "run-to-run noise of process start (a median of differences can come out "
            "negative); the in-process figure above is the precise one."
        )
    return report


if __name__ == "__main__":
    main(run, __name__)

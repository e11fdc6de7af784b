"""Benchmark 4, synth overhead: the example stack with cdk_ws_api vs plain aws-cdk-lib L2.

Ours is ``app.py``'s ``build_app``; the peer is :mod:`bench.plain_stack`, the same resources
written without cdk_ws_api (the resource types and counts of both templates are compared and
reported). Each sample is a fresh ``python -c`` process with ``CDK_OUTDIR`` set to a new
directory; ours and the peer alternate; one warm-up each is discarded. Reported: the whole
process wall time and, inside the process, import + build + synth.

Run alone: ``python -m bench.synth [--quick]``.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .core import PEERS, ROOT, Report, Row, main, median, python

__all__ = ["run"]

VARIANTS = {
    "cdk_ws_api (app.py)": ("app", "CdkWsApiChat"),
    "plain aws-cdk-lib L2": ("bench.plain_stack", "PlainChat"),
}
CHILD = """
import json, time
start = time.perf_counter()
from {module} import build_app
imported = time.perf_counter()
build_app().synth()
done = time.perf_counter()
print(json.dumps({{"import": imported - start, "build_synth": done - imported}}))
"""


def _sample(module: str, outdir: Path) -> tuple[float, dict[str, float]]:
    env = dict(
        os.environ, CDK_OUTDIR=str(outdir), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20"
    )
    started = time.perf_counter()
    completed = subprocess.run(
        [python(), "-c", CHILD.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"synth of {module} failed:\n{completed.stderr[-3000:]}")
    return wall, json.loads(completed.stdout.strip().splitlines()[-1])


def _resource_types(outdir: Path, stack: str) -> dict[str, int]:
    template = json.loads((outdir / f"{stack}.template.json").read_text())
    return dict(collections.Counter(r["Type"] for r in template["Resources"].values()))


def run(quick: bool) -> Report:
    rounds = 2 if quick else 5
    walls: dict[str, list[float]] = {name: [] for name in VARIANTS}
    insides: dict[str, list[float]] = {name: [] for name in VARIANTS}
    types: dict[str, dict[str, int]] = {}
    PEERS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="synth-", dir=PEERS) as scratch:
        for round_index in range(rounds + 1):  # round 0 is the warm-up
            for name, (module, stack) in VARIANTS.items():
                outdir = Path(scratch) / f"{stack}-{round_index}"
                wall, inside = _sample(module, outdir)
                types[name] = _resource_types(outdir, stack)
                shutil.rmtree(outdir, ignore_errors=True)
                if round_index:
                    walls[name].append(wall)
                    insides[name].append(inside["import"] + inside["build_synth"])
    ours, peer = VARIANTS
    report = Report(
        name="synth",
        title="4. Synth overhead (example stack, fresh processes, alternating)",
        command="python -m bench.synth",
    )
    ours_wall, peer_wall = median(walls[ours]), median(walls[peer])
    report.rows.append(
        Row(
            metric="synth, whole process wall time (median)",
            ours=ours_wall,
            peer=peer_wall,
            unit="s",
            peer_name=peer,
            higher_is_better=False,
            target="≤ 1.10x the plain stack's time",
            met=ours_wall <= 1.10 * peer_wall,
        )
    )
    report.rows.append(
        Row(
            metric="import + build + synth, in-process (median)",
            ours=median(insides[ours]),
            peer=median(insides[peer]),
            unit="s",
            peer_name=peer,
            higher_is_better=False,
        )
    )
    same = types[ours] == types[peer]
    report.notes += [
        f"{rounds} samples each after one discarded warm-up; "
        "`CDK_OUTDIR=<new dir> python -c 'from app import build_app; build_app().synth()'` vs "
        "the same with `bench.plain_stack`.",
        "Resource types and counts of the two templates: "
        + ("identical" if same else f"DIFFER: ours {types[ours]} vs plain {types[peer]}")
        + f" ({sum(types[ours].values())} resources).",
    ]
    return report


if __name__ == "__main__":
    main(run, __name__)

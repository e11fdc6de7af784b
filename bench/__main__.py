"""``python -m bench [--quick] [--only NAME,...]``: run every benchmark, each in its own
process (``python -m bench.NAME --json FILE``), and rewrite ``bench/RESULTS.md``.

With ``--quick`` (small counts, a smoke test) the results go to
``bench/.peers/RESULTS-quick.md`` instead, so the real figures are never overwritten by a
smoke test. A benchmark that fails or times out is reported as such; the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .core import BENCH, PEERS, ROOT, Report, fmt, python
from .machine import describe_machine

__all__ = ["BENCHMARKS", "main"]

#: Run order: the test suite last (it is the longest and needs the machine quiet too).
BENCHMARKS = (
    "cold_import",
    "parse",
    "broadcast",
    "synth",
    "local_vs_offline",
    "idle",
    "fanout",
    "console",
    "iam",
    "reload",
    "suite",
)
TIMEOUT_SECONDS = 2400


def _run_one(name: str, quick: bool, scratch: Path) -> Report:
    out = scratch / f"{name}.json"
    command = [python(), "-m", f"bench.{name}", "--json", str(out)]
    if quick:
        command.append("--quick")
    print(f"== {name} ...", flush=True)
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
        failure = None if completed.returncode == 0 else completed.stderr[-1500:]
    except subprocess.TimeoutExpired:
        failure = f"timed out after {TIMEOUT_SECONDS} s"
    seconds = time.monotonic() - started
    if failure is None and out.exists():
        report = Report.from_json(json.loads(out.read_text()))
    else:
        report = Report(
            name=name,
            title=name,
            command=f"python -m bench.{name}",
            error=(failure or "no report written").strip().replace("\n", " / "),
        )
        report.seconds = seconds
    print(f"   done in {seconds:.0f} s", flush=True)
    return report


def _summary(reports: list[Report]) -> list[str]:
    lines = [
        "| benchmark | target | ours | peer | ratio | met |",
        "|---|---|---|---|---|---|",
    ]
    for report in reports:
        if report.error:
            lines.append(f"| {report.title} | - | - | - | - | did not complete |")
        for row in report.rows:
            if row.met is None:
                continue
            ratio = row.ratio
            peer_unit = row.unit if row.peer is not None else ""
            lines.append(
                f"| {report.title.split(' (')[0]}: {row.metric} | {row.target} "
                f"| {fmt(row.ours)} {row.unit} | {fmt(row.peer)} {peer_unit} "
                f"| {fmt(ratio) + 'x' if ratio else '-'} | {'yes' if row.met else '**no**'} |"
            )
    return lines


def _analysis() -> list[str]:
    """``bench/ANALYSIS.md`` (the profiles behind the missed targets), when it exists: it is
    written by hand from ``python -m bench.profiles``, so it is dated and may trail the run."""
    path = BENCH / "ANALYSIS.md"
    return [path.read_text().rstrip(), ""] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke test)")
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {BENCHMARKS}")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = describe_machine()
    PEERS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reports-", dir=PEERS) as scratch:
        reports = [_run_one(name, args.quick, Path(scratch)) for name in names]
    command = "make bench  (= python -m bench" + (" --quick" if args.quick else "") + ")"
    if args.only:
        command = f"python -m bench --only {args.only}" + (" --quick" if args.quick else "")
    text = "\n".join(
        [
            "# Benchmarks: cdk-ws-api against its peers",
            "",
            "Every figure of ours is compared with a peer's figure measured in the same run on "
            "the same work; ratios are oriented so that > 1 is better for cdk-ws-api. "
            "Absolute times depend on this machine and are context, not claims.",
            "",
            f"Run: `{command}` from the repository root, started {started}.",
            "",
            "## Machine",
            "",
            *machine,
            "",
            "## Summary of the targets (issue 5)",
            "",
            *_summary(reports),
            "",
            *(report.markdown() + "\n" for report in reports),
            *_analysis(),
        ]
    )
    target = (PEERS / "RESULTS-quick.md") if args.quick else (BENCH / "RESULTS.md")
    target.write_text(text.rstrip() + "\n")
    print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""What every benchmark shares: the report it returns, statistics, the command line.

A benchmark module defines ``run(quick: bool) -> Report`` and ends with
``if __name__ == "__main__": main(run, __name__)``. Run alone it prints its table; run by
``python -m bench`` (``--json FILE``) it writes the report for ``RESULTS.md``.

Every figure of ours is compared with a peer's figure measured in the same run on the same
work. Targets are issue 5's; the few absolute ones (a cold-start budget, a delivery rate, the
suite's wall time) are evaluated and shown, never asserted, since they depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH",
    "PEERS",
    "ROOT",
    "Deadline",
    "Report",
    "Row",
    "fmt",
    "main",
    "median",
    "percentile",
    "python",
]

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / ".peers"


def python() -> str:
    """The interpreter of the project's virtualenv (the one running the benchmark)."""
    return sys.executable


@dataclass
class Row:
    """One compared figure. ``ratio`` is ours relative to the peer, oriented so that > 1 is
    better for us (``higher_is_better`` says which way the raw figures go)."""

    metric: str
    ours: float | None
    peer: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    higher_is_better: bool = True
    peer_name: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.peer is None or self.ours <= 0 or self.peer <= 0:
            return None  # no ratio of a zero or a negative (noise below a baseline)
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours


@dataclass
class Report:
    """A benchmark's outcome: its rows, free-form notes and the command that reproduces it."""

    name: str
    title: str
    command: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        rows = [Row(**row) for row in data.pop("rows", [])]
        return cls(rows=rows, **data)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", f"Command: `{self.command}`", ""]
        if self.error:
            lines += [f"**Did not complete:** {self.error}", ""]
        if self.rows:
            lines += [
                "| metric | ours | peer | peer figure | ratio (ours vs peer, >1 = better) "
                "| target | met |",
                "|---|---|---|---|---|---|---|",
            ]
            for row in self.rows:
                met = {True: "yes", False: "**no**", None: "-"}[row.met]
                ratio = row.ratio
                lines.append(
                    f"| {row.metric} | {fmt(row.ours)} {row.unit} | {row.peer_name or '-'} "
                    f"| {fmt(row.peer)} {row.unit if row.peer is not None else ''} "
                    f"| {fmt(ratio) + 'x' if ratio is not None else '-'} "
                    f"| {row.target or '-'} | {met} |"
                )
            lines.append("")
        lines += [f"- {note}" for note in self.notes]
        if self.notes:
            lines.append("")
        lines.append(f"_Benchmark wall time: {self.seconds:.0f} s._")
        return "\n".join(lines)


def fmt(value: float | None) -> str:
    """A figure with three significant digits (``-`` when absent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value == 0:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest-rank on the sorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


class Deadline:
    """A time budget: every loop of a benchmark checks it and stops by itself."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    @property
    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.end


def main(run: Callable[[bool], Report], module: str) -> None:
    """Command line of one benchmark: ``python -m bench.NAME [--quick] [--json FILE]``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke test)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE")
    args = parser.parse_args()
    started = time.monotonic()
    report = run(args.quick)
    report.seconds = time.monotonic() - started
    if args.quick:
        report.notes.append(
            "--quick: small counts, a smoke test; the figures are not the ones to quote."
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2))
    print(report.markdown())

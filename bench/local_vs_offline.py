"""Benchmark 5, the cdk-ws-api emulator vs serverless-offline on the same echo service.

Both serve ``bench/echo/handler.py`` (plain boto3) and are driven by the same client
process (``python -m bench.wsclient load``): (a) management-API echo, the handler posts the
message back through ``@connections``; (b) two-way route, the body comes back as the route
response. Each scenario: 20 concurrent clients x 100 messages after a warm-up, and 1 client
x 300, closed loop. The servers run one at a time, alternating which goes first (a fresh start
each round); figures are medians over rounds, the peak RSS of each process tree (the server
and every descendant, sampled every 0.2 s from ``/proc``) is the maximum over rounds.

Run alone: ``python -m bench.local_vs_offline [--quick]``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .core import ROOT, Report, Row, main, median, python
from .emulator import LocalEmulator
from .peers import ensure_serverless, package_version
from .proc import RssSampler
from .sls import ServerlessOffline

__all__ = ["run", "run_load"]

OURS, PEER = "cdk-ws-api local", "serverless-offline"


def run_load(url: str, action: str, clients: int, messages: int, warmup: int) -> dict[str, Any]:
    """Run the load client once against ``url``; returns its JSON result."""
    command = [
        python(),
        "-m",
        "bench.wsclient",
        "load",
        url,
        "--action",
        action,
        "--clients",
        str(clients),
        "--messages",
        str(messages),
        "--warmup",
        str(warmup),
        "--max-seconds",
        "240",
    ]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {"error": completed.stderr[-2000:] or "no output"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _scenarios(quick: bool) -> list[tuple[str, str, int, int]]:
    many, single = ((5, 20), 30) if quick else ((20, 100), 300)
    return [
        (f"(a) @connections echo, {many[0]} clients x {many[1]}", "echo", *many),
        (f"(b) route response, {many[0]} clients x {many[1]}", "reply", *many),
        (f"(a) @connections echo, 1 client x {single}", "echo", 1, single),
        (f"(b) route response, 1 client x {single}", "reply", 1, single),
    ]


def _one_round(
    start: Callable[[], AbstractContextManager[Any]],
    scenarios: list[tuple[str, str, int, int]],
    results: dict[str, list[dict[str, Any]]],
) -> tuple[int, int, int]:
    with start() as server, RssSampler(server.pid) as sampler:
        for label, action, clients, messages in scenarios:
            results.setdefault(label, []).append(
                run_load(server.websocket_url, action, clients, messages, warmup=5)
            )
    return sampler.peak_bytes, sampler.peak_processes, sampler.peak_pss


def _stat(runs: list[dict[str, Any]], key: str) -> float | None:
    # Runs with client errors still count (what was received, at the rate it came); the
    # errors are listed in the notes.
    values = [float(r[key]) for r in runs if key in r and r.get("received")]
    return median(values) if values else None


def run(quick: bool) -> Report:
    ensure_serverless()
    rounds = 1 if quick else 3
    scenarios = _scenarios(quick)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {OURS: {}, PEER: {}}
    peaks: dict[str, list[tuple[int, int, int]]] = {OURS: [], PEER: []}
    starters: dict[str, Callable[[], AbstractContextManager[Any]]] = {
        OURS: LocalEmulator,
        PEER: ServerlessOffline,
    }
    for round_index in range(rounds):
        order = list(starters.items())
        if round_index % 2:  # alternate which server goes first
            order.reverse()
        for side, start in order:
            peaks[side].append(_one_round(start, scenarios, results[side]))
    report = Report(
        name="local_vs_offline",
        title="5. Local emulator vs serverless-offline (same echo handler, same client)",
        command="python -m bench.local_vs_offline",
    )
    for label, *_ in scenarios:
        ours, peer = results[OURS][label], results[PEER][label]
        for key, metric, unit, higher, target in (
            ("rate", "msgs/s", "msgs/s", True, 5.0),
            ("p50_ms", "p50 latency", "ms", False, None),
            ("p99_ms", "p99 latency", "ms", False, 5.0),
        ):
            row = Row(
                metric=f"{label}: {metric}",
                ours=_stat(ours, key),
                peer=_stat(peer, key),
                unit=unit,
                peer_name=PEER,
                higher_is_better=higher,
            )
            if target is not None:
                row.target = f"≥ {target:g}x" if higher else f"≤ 1/{target:g} of the peer's"
                row.met = row.ratio is not None and row.ratio >= target
            report.rows.append(row)
    ours_peak = max(peaks[OURS])
    peer_peak = max(peaks[PEER])
    rss = Row(
        metric="peak RSS of the whole process tree",
        ours=ours_peak[0] / 2**20,
        peer=peer_peak[0] / 2**20,
        unit="MiB",
        peer_name=PEER,
        higher_is_better=False,
        target="≤ 1/10 of the peer's",
    )
    rss.met = rss.ratio is not None and rss.ratio >= 10
    report.rows.append(rss)
    report.rows.append(
        Row(
            metric="peak PSS of the whole process tree (shared pages split)",
            ours=max(p[2] for p in peaks[OURS]) / 2**20,
            peer=max(p[2] for p in peaks[PEER]) / 2**20,
            unit="MiB",
            peer_name=PEER,
            higher_is_better=False,
        )
    )
    errors = {
        f"{side} {label}": [r.get("errors") or r.get("error") for r in runs]
        for side, by_label in results.items()
        for label, runs in by_label.items()
        if any(r.get("errors") or r.get("error") for r in runs)
    }
    report.notes += [
        f"{rounds} round(s); each round starts the server afresh and runs every scenario "
        "(warm-up 5 messages per client first).",
        f"Processes in the tree at peak: {OURS} {ours_peak[1]}, {PEER} {peer_peak[1]} "
        "(the emulator's tree includes its moto DynamoDB server when it started one).",
        f"serverless {package_version('serverless')}, serverless-offline "
        f"{package_version('serverless-offline')}, "
        "`serverless offline start --noPrependStageInUrl` (see `bench/sls.py`).",
        "Client errors: " + (json.dumps(errors) if errors else "none"),
    ]
    return report


if __name__ == "__main__":
    main(run, __name__)

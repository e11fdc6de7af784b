"""Benchmark 5, the cdk-ws-api emulator vs serverless-offline on the same echo service.

Both serve ``bench/echo/handler.py`` (plain boto3) and are driven by the same client
process (``python -m bench.wsclient load``): (a) management-API echo, the handler posts the
message back through ``@connections``; (b) two-way route, the body comes back as the route
response. Each scenario: 20 concurrent clients x 100 messages after a warm-up, and 1 client
x 300, closed loop. The servers run one at a time, alternating which goes first (a fresh start
each round); figures are medians over rounds, the peak RSS of each process tree (the server
and every descendant, sampled every 0.2 s from ``/proc``) is the maximum over rounds.

Architect sandbox (``bench/arc.py``) is a second, reference peer: the issue's targets stay
against serverless-offline; its rows come after those and have no target. It runs only the
scenarios it can serve: (a), not (b), since sandbox never sends a route's response ``body``
back to the client (see ``bench/arc.py``). It starts a Python process per message, so its
load clients get a longer time cap, and it runs in the first round only.

Run alone: ``python -m bench.local_vs_offline [--quick]``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .arc import ArchitectSandbox
from .core import ROOT, Report, Row, main, median, python
from .emulator import LocalEmulator
from .peers import ensure_architect, ensure_serverless, package_version
from .proc import RssSampler
from .sls import ServerlessOffline

__all__ = ["client_errors", "run", "run_load"]

OURS, PEER, ARC = "cdk-ws-api local", "serverless-offline", "architect sandbox"
# The actions each server can serve (sandbox has no two-way routes: see bench/arc.py).
ACTIONS = {OURS: ("echo", "reply"), PEER: ("echo", "reply"), ARC: ("echo",)}
# The load client's own time cap per scenario: sandbox runs ~5 messages/s on 2 cores.
MAX_SECONDS = {OURS: 240.0, PEER: 240.0, ARC: 900.0}


def run_load(
    url: str, action: str, clients: int, messages: int, warmup: int, max_seconds: float = 240.0
) -> dict[str, Any]:
    """Run the load client once against ``url`` (for at most ``max_seconds``); returns its
    JSON result."""
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
        f"{max_seconds:g}",
    ]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=max_seconds + 60, check=False
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {"error": completed.stderr[-2000:] or "no output"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def client_errors(results: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, list[Any]]:
    """The load clients' errors by ``"{side} {label}"``, for the report's notes."""
    return {
        f"{side} {label}": [r.get("errors") or r.get("error") for r in runs]
        for side, by_label in results.items()
        for label, runs in by_label.items()
        if any(r.get("errors") or r.get("error") for r in runs)
    }


def _scenarios(quick: bool) -> list[tuple[str, str, int, int]]:
    many, single = ((5, 20), 30) if quick else ((20, 100), 300)
    return [
        (f"(a) @connections echo, {many[0]} clients x {many[1]}", "echo", *many),
        (f"(b) route response, {many[0]} clients x {many[1]}", "reply", *many),
        (f"(a) @connections echo, 1 client x {single}", "echo", 1, single),
        (f"(b) route response, 1 client x {single}", "reply", 1, single),
    ]


def _one_round(
    side: str,
    start: Callable[[], AbstractContextManager[Any]],
    scenarios: list[tuple[str, str, int, int]],
    results: dict[str, list[dict[str, Any]]],
) -> tuple[int, int, int]:
    with start() as server, RssSampler(server.pid) as sampler:
        for label, action, clients, messages in scenarios:
            if action not in ACTIONS[side]:
                continue
            results.setdefault(label, []).append(
                run_load(
                    server.websocket_url,
                    action,
                    clients,
                    messages,
                    warmup=5,
                    max_seconds=MAX_SECONDS[side],
                )
            )
    return sampler.peak_bytes, sampler.peak_processes, sampler.peak_pss


def _stat(runs: list[dict[str, Any]], key: str) -> float | None:
    # Runs with client errors still count (what was received, at the rate it came); the
    # errors are listed in the notes.
    values = [float(r[key]) for r in runs if key in r and r.get("received")]
    return median(values) if values else None


def run(quick: bool) -> Report:
    ensure_serverless()
    # Architect is a reference peer: if it cannot be installed or started, the issue's
    # comparison still runs and the report says why Architect's rows are missing.
    arc_failure: str | None = None
    try:
        ensure_architect()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        arc_failure = f"install failed: {exc}"
    rounds = 1 if quick else 3
    scenarios = _scenarios(quick)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {OURS: {}, PEER: {}, ARC: {}}
    peaks: dict[str, list[tuple[int, int, int]]] = {OURS: [], PEER: [], ARC: []}
    starters: dict[str, Callable[[], AbstractContextManager[Any]]] = {
        OURS: LocalEmulator,
        PEER: ServerlessOffline,
        ARC: ArchitectSandbox,
    }
    for round_index in range(rounds):
        order = list(starters.items())
        if round_index % 2:  # alternate which server goes first
            order.reverse()
        for side, start in order:
            if side != ARC:
                peaks[side].append(_one_round(side, start, scenarios, results[side]))
            elif arc_failure is None and round_index == 0:
                # One round only: at ~5 messages/s one round of the same scenarios takes ~7
                # minutes, and its figures are two orders of magnitude from the others.
                try:
                    peaks[side].append(_one_round(side, start, scenarios, results[side]))
                except (RuntimeError, OSError) as exc:
                    arc_failure = f"did not run: {exc}"
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
    if peaks[ARC]:
        _architect_rows(report, scenarios, results, peaks)
    arc_processes = max(peaks[ARC])[1] if peaks[ARC] else "-"
    errors = client_errors(results)
    report.notes += [
        f"{rounds} round(s); each round starts the server afresh and runs every scenario "
        "(warm-up 5 messages per client first).",
        f"Processes in the tree at peak: {OURS} {ours_peak[1]}, {PEER} {peer_peak[1]}, "
        f"{ARC} {arc_processes} "
        "(the emulator's tree includes its moto DynamoDB server when it started one).",
        f"serverless {package_version('serverless')}, serverless-offline "
        f"{package_version('serverless-offline')}, "
        "`serverless offline start --noPrependStageInUrl` (see `bench/sls.py`).",
        f"{ARC} (reference rows, no target, one round): Architect "
        f"{package_version('@architect/architect')}, sandbox "
        f"{package_version('@architect/sandbox')}, `arc sandbox --host 127.0.0.1` with "
        "`@aws runtime python3.11`, `timeout 30` (see `bench/arc.py`). It spawns a new "
        "`python3` for every invocation ($connect, each message, $disconnect: "
        "`invoke-lambda/exec/spawn.js`), so the handler imports boto3 and builds its client "
        "on every message; its `@connections` is `/_arc/ws/@connections/{id}` on its internal "
        "port (`arc/_ws/index.js`), which boto3 calls as it is.",
        f"{ARC}: no (b) route-response rows. Sandbox has no two-way routes: after a message's "
        "invocation it only sends `Internal server error` when the function failed or "
        "returned a status >= 400, never the returned `body` "
        "(`@architect/sandbox/src/http/register-websocket/connection.js`, `respondToError`); "
        "a `reply` message gets no answer.",
        *([f"{ARC} {arc_failure[:2000]}"] if arc_failure else []),
        "Client errors: " + (json.dumps(errors) if errors else "none"),
    ]
    return report


def _architect_rows(
    report: Report,
    scenarios: list[tuple[str, str, int, int]],
    results: dict[str, dict[str, list[dict[str, Any]]]],
    peaks: dict[str, list[tuple[int, int, int]]],
) -> None:
    """Reference rows against Architect sandbox (no target), after the issue's rows."""
    for label, action, *_ in scenarios:
        if action not in ACTIONS[ARC]:
            continue
        for key, metric, unit, higher in (
            ("rate", "msgs/s", "msgs/s", True),
            ("p50_ms", "p50 latency", "ms", False),
            ("p99_ms", "p99 latency", "ms", False),
        ):
            report.rows.append(
                Row(
                    metric=f"vs {ARC}, {label}: {metric}",
                    ours=_stat(results[OURS][label], key),
                    peer=_stat(results[ARC].get(label, []), key),
                    unit=unit,
                    peer_name=ARC,
                    higher_is_better=higher,
                )
            )
    for index, metric in ((0, "peak RSS"), (2, "peak PSS")):
        report.rows.append(
            Row(
                metric=f"vs {ARC}: {metric} of the whole process tree",
                ours=max(p[index] for p in peaks[OURS]) / 2**20,
                peer=max(p[index] for p in peaks[ARC]) / 2**20,
                unit="MiB",
                peer_name=ARC,
                higher_is_better=False,
            )
        )


if __name__ == "__main__":
    main(run, __name__)

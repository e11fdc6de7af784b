"""Benchmark 9, the cost of IAM enforcement: the ``@connections`` echo of benchmark 5 with
``--iam enforce`` against the same emulator with ``--iam off``, side by side in one run.

Each ``@connections`` call of the echo handler is checked against its role's policies under
``enforce`` (a SigV4 header scan and a cached decision per principal, action and connection
ARN); ``off`` checks nothing. Both serve ``bench/echo`` (whose handlers are granted
``execute-api:ManageConnections`` by the ``WebSocketApi`` construct, so no call is denied:
the run fails if one is) and are driven by the same load client
(``python -m bench.wsclient load``). Rounds alternate which mode goes first, each mode
starting afresh; figures are medians over rounds. Target: enforce ≥ 0.9x off in msgs/s.

Run alone: ``python -m bench.iam [--quick]``.
"""

from __future__ import annotations

from typing import Any

from .core import Report, Row, main, median
from .emulator import LocalEmulator
from .local_vs_offline import client_errors, run_load

__all__ = ["run"]

ENFORCE, OFF = "--iam enforce", "--iam off"


def _scenarios(quick: bool) -> list[tuple[str, int, int]]:
    many, single = ((5, 20), 30) if quick else ((20, 100), 300)
    return [
        (f"@connections echo, {many[0]} clients x {many[1]}", *many),
        (f"@connections echo, 1 client x {single}", 1, single),
    ]


def run(quick: bool) -> Report:
    rounds = 1 if quick else 5
    scenarios = _scenarios(quick)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {ENFORCE: {}, OFF: {}}
    denials: list[str] = []
    for round_index in range(rounds):
        order = [ENFORCE, OFF] if round_index % 2 == 0 else [OFF, ENFORCE]
        for mode in order:
            with LocalEmulator(extra_args=tuple(mode.split())) as emulator:
                for label, clients, messages in scenarios:
                    results[mode].setdefault(label, []).append(
                        run_load(emulator.websocket_url, "echo", clients, messages, warmup=5)
                    )
                assert emulator.server is not None
                denials += [line for line in emulator.server.lines if "IAM denied" in line]
    if denials:
        raise RuntimeError(f"the echo was denied under --iam enforce: {denials[:3]}")
    report = Report(
        name="iam",
        title="11. IAM enforcement overhead (@connections echo, --iam enforce vs --iam off)",
        command="python -m bench.iam",
    )
    for label, *_ in scenarios:
        for key, metric, unit, higher, target in (
            ("rate", "msgs/s", "msgs/s", True, 0.9),
            ("p50_ms", "p50 latency", "ms", False, None),
            ("p99_ms", "p99 latency", "ms", False, None),
        ):
            values = {
                mode: [float(r[key]) for r in results[mode][label] if r.get("received")]
                for mode in (ENFORCE, OFF)
            }
            row = Row(
                metric=f"{label}: {metric}",
                ours=median(values[ENFORCE]) if values[ENFORCE] else None,
                peer=median(values[OFF]) if values[OFF] else None,
                unit=unit,
                peer_name="same emulator, --iam off",
                higher_is_better=higher,
            )
            if target is not None:
                row.target = f"≥ {target:g}x"
                row.met = row.ratio is not None and row.ratio >= target
            report.rows.append(row)
    errors = client_errors(results)
    report.notes += [
        f"{rounds} round(s), alternating which mode starts first; each mode starts the "
        "emulator afresh per round (warm-up 5 messages per client first).",
        "'ours' is --iam enforce, 'peer' the same emulator with --iam off; no call was "
        "denied under enforce.",
        f"Client errors: {errors or 'none'}",
    ]
    return report


if __name__ == "__main__":
    main(run, __name__)

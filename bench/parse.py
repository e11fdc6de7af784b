"""Benchmark 2, parse throughput: events per second, parse + read what an app reads.

Every reader of :mod:`bench.readers` runs over the same events: the route-handler fixtures
that every parser accepts (the Powertools pydantic models reject some real, older event
shapes; those are listed in the notes and left out for everyone). Each repetition runs a
reader over the event list for a fixed time slice; readers alternate; the median of the
repetitions is reported.

Run alone: ``python -m bench.parse [--quick]``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .core import Report, Row, main, median
from .fixtures import route_events
from .peers import ensure_powertools

__all__ = ["run"]

PEERS = ("powertools-parser", "powertools-dataclasses")


def _accepted(reader: Any, events: dict[str, dict[str, Any]]) -> set[str]:
    ok = set()
    for name, event in events.items():
        try:
            reader(event)
        except Exception:  # a parser rejecting an event is a finding, not a crash
            continue
        ok.add(name)
    return ok


def _rate(reader: Any, events: list[dict[str, Any]], seconds: float) -> float:
    """Events per second over ``seconds`` of passes through ``events``."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for event in events:
            reader(event)
        done += len(events)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def run(quick: bool) -> Report:
    sys.path.insert(0, str(ensure_powertools()))
    from .readers import READERS

    readers = {name: factory() for name, factory in READERS.items()}
    events = route_events()
    accepted = {name: _accepted(reader, events) for name, reader in readers.items()}
    common = sorted(set.intersection(*accepted.values()))
    work = [events[name] for name in common]
    repetitions, slice_seconds = (3, 0.1) if quick else (9, 0.5)
    rates: dict[str, list[float]] = {name: [] for name in readers}
    for reader in readers.values():  # warm-up (pydantic builds its validators lazily)
        _rate(reader, work, 0.05)
    for _ in range(repetitions):
        for name, reader in readers.items():
            rates[name].append(_rate(reader, work, slice_seconds))
    ours = median(rates["lambda_runtime"])
    report = Report(
        name="parse",
        title="2. Parse throughput (parse + connection id, route key, body JSON, source IP)",
        command="python -m bench.parse",
    )
    targets = {"powertools-parser": 10.0, "powertools-dataclasses": 1.0}
    for peer in PEERS:
        peer_rate = median(rates[peer])
        report.rows.append(
            Row(
                metric="events/s (median)",
                ours=ours,
                peer=peer_rate,
                unit="events/s",
                peer_name=peer,
                target=f"≥ {targets[peer]:g}x",
                met=ours >= targets[peer] * peer_rate,
            )
        )
    report.rows.append(
        Row(
            metric="events/s vs plain dict access (reference, no target)",
            ours=ours,
            peer=median(rates["raw-dict"]),
            unit="events/s",
            peer_name="raw-dict",
        )
    )
    raw, parser = median(rates["raw-dict"]), median(rates["powertools-parser"])
    rejected = {name: sorted(set(events) - ok) for name, ok in accepted.items() if set(events) - ok}
    report.notes += [
        f"Events: {len(work)} fixtures accepted by every parser ({', '.join(common)}); "
        f"{repetitions} repetitions of {slice_seconds:g} s per reader, alternating.",
        "Rejected by a parser (left out for all): "
        + ("; ".join(f"{n}: {', '.join(files)}" for n, files in rejected.items()) or "none"),
        f"Ceiling: plain dict access (+ the same `json.loads` of the body) does this work "
        f"{raw / parser:.1f}x faster than the Powertools parser, so the ≥ 10x target leaves "
        f"lambda_runtime at most {raw / (10 * parser):.2f}x the cost of raw dict access "
        f"(it is at {raw / ours:.2f}x).",
        "Powertools parser: `parse(event, model)` with the WebSocket model picked by "
        "`eventType`; data classes: `APIGatewayWebSocketEvent` (see `bench/readers.py`).",
    ]
    return report


if __name__ == "__main__":
    main(run, __name__)

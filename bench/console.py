"""Benchmark 9: what a browser console following the log costs the message path.

The echo service (``bench/echo``) is served by emulators running at once: ``cdk-ws-api local
--no-console`` (no console at all: no bus subscriber, so no record is even built), the
default emulator with one console feed open and following the log, and the control below.
The follower is a separate process (``python -m bench.console follow URL``), as a browser
page is: it opens ``/_console/feed`` with the printed token and the emulator's ``Origin``, and
reads and parses every batch, counting the ``MESSAGE`` lines it receives, so it provably saw
the load.

The load is the client of benchmark 5 (``python -m bench.wsclient load``): bursts of 20
concurrent clients, ``@connections`` echo (100 messages each) and then the two-way route (250
each: it runs ~4x faster, and a burst under a second is mostly noise), sent to one emulator
at a time, many times. Only one emulator works at a time; the others idle. Pairing
neighbouring bursts keeps the sides under the same load from whatever else runs on the
machine; the figure is the median of the per-pair ratios (following / none, target ≥ 0.95x),
the rates shown are medians too.

The control: a third emulator, a second ``--no-console`` one, is measured exactly like the
console one (its bursts interleaved with the others, each of the three going first, second
and third equally often). Its ratio to the first is what this method reads when there is no
difference at all: a console whose ratio stays within the control's spread adds nothing the
method can resolve.

The run is split into sessions, each with fresh emulators (and a fresh follower): two
processes running the same code differ by up to ±10% in speed for the whole of their life
(measured with three ``--no-console`` emulators side by side: memory layout, their workers'
placement on the 2 cores, ...), and one burst of the same process differs from the next by
up to ±20% (the same gateway's CPU per message went from 277 to 450 µs over 14 bursts of one
run with nothing else changing, its garbage collections slowing with it: the container's
2 cores are shared with the host), a bias and a noise pairing bursts cannot remove. With one
pair of processes for the whole run the figure swung between 0.77x and 0.98x from one run to
the next with the same code. Twelve sessions (24 pairs, 8 minutes) were not enough either:
the control itself read 0.87x to 1.05x over three such runs, and the route response 0.84x
to 0.96x; the median over thirty sessions' pairs (60 pairs, ~19 minutes) is the default.

Throughput on a shared machine is noisy, so the report adds a steadier figure: the CPU time
the emulator's own process (the gateway, where the console runs; not its workers) spends per
message, from ``/proc/PID/stat`` around each burst, and the whole machine's.

Run alone: ``python -m bench.console [--quick]`` (``BENCH_CONSOLE_SESSIONS=N`` for N sessions
instead of 30).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .core import ROOT, Report, Row, main, median, python
from .emulator import LocalEmulator
from .local_vs_offline import run_load

__all__ = ["run"]

NONE, FOLLOWING = "no console (--no-console)", "one console following the log"
#: The control: a second ``--no-console`` emulator, measured exactly like the console one.
TWIN = "a second emulator with no console (control)"
SIDES = (NONE, FOLLOWING, TWIN)
#: The orders the sides are loaded in, one per round, in turn: each side goes first, second
#: and third equally often across the run.
ORDERS = tuple(itertools.permutations(SIDES))
TARGET = 0.95
#: (action, label, messages per client in a full run, in a --quick run).
ACTIONS = (
    ("echo", "(a) @connections echo", 100, 40),
    ("reply", "(b) route response", 250, 40),
)
CLIENTS, QUICK_CLIENTS = 20, 5
#: Sessions of a full run (~37 s each, ~19 min in all: twelve were not enough, see the module
#: docstring); ``BENCH_CONSOLE_SESSIONS=N`` runs N instead (a longer run narrows the spread
#: the control shows).
SESSIONS, SESSIONS_ENV = 30, "BENCH_CONSOLE_SESSIONS"
WARMUP = 5


@contextmanager
def _follower(console_url: str) -> Iterator[dict[str, Any]]:
    """A console page's feed in its own process; yields the dict its counts land in."""
    process = subprocess.Popen(
        [python(), "-m", "bench.console", "follow", console_url],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    counts: dict[str, Any] = {"pid": process.pid}
    try:
        if process.stdout.readline().strip() != "following":
            raise RuntimeError(f"the console follower did not start: {process.stderr.read()}")
        yield counts
    finally:
        out, err = process.communicate(timeout=60)  # closes its stdin: stop and report
        if process.returncode == 0 and out.strip():
            counts.update(json.loads(out.strip().splitlines()[-1]))
        else:
            counts["error"] = err[-1500:] or f"exit {process.returncode}"


def _console_url(server: LocalEmulator) -> str:
    assert server.server is not None
    found = re.search(r"Console:\s+(http\S+)", "\n".join(server.server.lines))
    if found is None:
        raise RuntimeError("no console URL in the emulator's banner")
    return found.group(1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds every process of the machine spent so far (``/proc/stat``, all cores,
    idle and iowait excluded): clients, emulators, workers and the follower together."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _session(
    pairs: int,
    clients: int,
    quick: bool,
    first: int,
    rates: dict[tuple[str, str], list[float]],
    cpu: dict[tuple[str, str], list[float]],
    ratios: dict[str, list[float]],
    counts: dict[str, int],
) -> None:
    """``pairs`` rounds of bursts per action on fresh emulators and a fresh follower;
    ``first`` is the index of the session's first round (the order rotates across them)."""
    with (
        LocalEmulator(extra_args=("--no-console",)) as none,
        LocalEmulator() as following,
        LocalEmulator(extra_args=("--no-console",)) as twin,
        _follower(_console_url(following)) as followed,
    ):
        servers = {NONE: none, FOLLOWING: following, TWIN: twin}
        for pair in range(first, first + pairs):
            for action, _, full, small in ACTIONS:
                messages = small if quick else full
                order = ORDERS[pair % len(ORDERS)]
                pair_rates = {}
                for side in order:
                    server = servers[side]
                    before = _cpu_seconds(server.pid)
                    follower_before = _cpu_seconds(followed["pid"])
                    machine_before = _machine_busy_seconds()
                    result = run_load(server.websocket_url, action, clients, messages, WARMUP)
                    spent = _cpu_seconds(server.pid) - before
                    machine = _machine_busy_seconds() - machine_before
                    pair_rates[side] = float(result["rate"])
                    rates.setdefault((side, action), []).append(pair_rates[side])
                    sent = clients * (messages + WARMUP)
                    cpu.setdefault((side, action), []).append(spent / sent * 1e6)
                    cpu.setdefault((side, f"{action}:machine"), []).append(machine / sent * 1e6)
                    if side == FOLLOWING:
                        follower = _cpu_seconds(followed["pid"]) - follower_before
                        cpu.setdefault((side, f"{action}:follower"), []).append(
                            follower / sent * 1e6
                        )
                ratios.setdefault(action, []).append(pair_rates[FOLLOWING] / pair_rates[NONE])
                ratios.setdefault(f"{action}:control", []).append(
                    pair_rates[TWIN] / pair_rates[NONE]
                )
    if "error" in followed:
        raise RuntimeError(f"the console follower failed: {followed['error']}")
    for key in ("messages", "batches", "dropped"):  # "pid" is the follower's, not a count
        counts[key] = counts.get(key, 0) + int(followed.get(key, 0))


def run(quick: bool) -> Report:
    sessions, pairs = (1, 2) if quick else (int(os.environ.get(SESSIONS_ENV, SESSIONS)), 2)
    clients = QUICK_CLIENTS if quick else CLIENTS
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    ratios: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for session in range(sessions):
        _session(pairs, clients, quick, session * pairs, rates, cpu, ratios, counts)
    report = Report(
        name="console",
        title="9. Browser console following the log vs no console (echo msgs/s, same run)",
        command="python -m bench.console",
    )
    total = sessions * pairs
    cores = os.cpu_count() or 1
    for action, label, full, small in ACTIONS:
        messages = small if quick else full
        paired = median(ratios[action])
        row = Row(
            metric=f"{label}, {clients} clients x {messages}: msgs/s, {FOLLOWING} vs {NONE}",
            ours=median(rates[(FOLLOWING, action)]),
            peer=median(rates[(NONE, action)]),
            unit="msgs/s",
            peer_name=NONE,
            target=f"≥ {TARGET:g}x (median of {total} paired ratios: {paired:.3f}x)",
        )
        row.met = paired >= TARGET
        report.rows.append(row)
        report.rows.append(
            Row(
                metric=f"{label}: the emulator process's CPU per message, {FOLLOWING} vs {NONE}",
                ours=median(cpu[(FOLLOWING, action)]),
                peer=median(cpu[(NONE, action)]),
                unit="µs",
                peer_name=NONE,
                higher_is_better=False,
            )
        )
        machine_none = median(cpu[(NONE, f"{action}:machine")])
        machine_following = median(cpu[(FOLLOWING, f"{action}:machine")])
        report.rows.append(
            Row(
                metric=f"{label}: the whole machine's CPU per message (clients, emulator, "
                f"workers and the follower; {cores} cores), {FOLLOWING} vs {NONE}",
                ours=machine_following,
                peer=machine_none,
                unit="µs",
                peer_name=NONE,
                higher_is_better=False,
            )
        )
        report.notes.append(
            f"{label}: the follower process's own CPU per message: "
            f"{median(cpu[(FOLLOWING, f'{action}:follower')]):.0f} µs (median). When the "
            f"{cores} cores are saturated, msgs/s can be at most the inverse ratio of the "
            f"machine's CPU per message: {machine_none / machine_following:.3f}x here."
        )
        control = ratios[f"{action}:control"]
        report.notes.append(
            f"{label}: the control (two emulators with no console, measured the same way: "
            f"{TWIN} / {NONE}): median of {total} paired ratios {median(control):.3f}x, "
            f"from {min(control):.2f} to {max(control):.2f}; the console's paired ratios: "
            f"from {min(ratios[action]):.2f} to {max(ratios[action]):.2f}."
        )
        by_session = [median(ratios[action][i : i + pairs]) for i in range(0, total, pairs)]
        report.notes.append(
            f"{label}: the paired ratios, in order: "
            + ", ".join(f"{r:.2f}" for r in ratios[action])
            + "; each session's median: "
            + ", ".join(f"{r:.3f}" for r in by_session)
            + "."
        )
    expected = (
        sessions
        * pairs
        * clients
        * sum((small if quick else full) + WARMUP for _, _, full, small in ACTIONS)
    )
    report.notes += [
        f"{sessions} sessions, each with fresh emulators and a fresh follower, of "
        f"{pairs} rounds of bursts per action; the three emulators up for the whole session, "
        "one loaded at a time, the order rotating. The ratio column is of the median rates; "
        "the target is judged on the median of the paired ratios (in the target column).",
        f"The followers received {counts.get('messages', 0):,} MESSAGE lines (the load sent "
        f"{expected:,} messages to the emulators they followed) in "
        f"{counts.get('batches', 0):,} batches; entries dropped: {counts.get('dropped', 0)}.",
    ]
    return report


# -- the follower process ---------------------------------------------------------------------


async def _follow(console_url: str) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    parts = urlsplit(console_url)
    feed = f"ws://{parts.netloc}/_console/feed?{parts.query}"
    counts = {"batches": 0, "entries": 0, "messages": 0, "dropped": 0}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wait_stdin() -> None:
        sys.stdin.read()  # EOF: the benchmark is done
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_stdin, daemon=True).start()
    async with connect(feed, origin=f"http://{parts.netloc}", max_size=None) as ws:  # type: ignore[arg-type]
        print("following", flush=True)

        async def read() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] != "batch":
                    continue
                counts["batches"] += 1
                counts["entries"] += len(message["items"])
                counts["dropped"] += message.get("dropped", 0)
                counts["messages"] += sum(
                    1
                    for item in message["items"]
                    if isinstance(item, list) and item[0] == "access" and item[1][0] == "MESSAGE"
                )

        reader = asyncio.ensure_future(read())
        await stop.wait()
        await asyncio.sleep(0.5)  # the last batch
        reader.cancel()
    return counts


if __name__ == "__main__":
    if sys.argv[1:2] == ["follow"]:
        print(json.dumps(asyncio.run(_follow(sys.argv[2]))), flush=True)
    else:
        main(run, "bench.console")

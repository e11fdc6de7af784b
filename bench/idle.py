"""Benchmark 6, idle connections: 10,000 concurrent idle WebSocket connections.

A client process (:mod:`bench.holder`, file limit raised) opens the connections, 20 at a
time (each runs ``$connect``); they then sit idle for a while; a random sample of 100, one
after the other, must still echo (``reply`` route response) and every connection must still
be open. The RSS of the server's whole process tree is read before the connections, while
they are held, and at its peak. The same is done with serverless-offline serving the same
service, as the peer.

Run alone: ``python -m bench.idle [--quick]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from .core import Report, Row, main
from .emulator import LocalEmulator
from .holder import Holder
from .proc import RssSampler, raise_file_limit, tree_rss
from .sls import ServerlessOffline

__all__ = ["run"]

OURS, PEER = "cdk-ws-api local", "serverless-offline"
MIB = 2**20
#: Connections opened at a time: serverless-offline starts one Python process per concurrent
#: $connect, and 200 at once on 2 cores time out every handshake (30 s): 20 lets it keep up.
PARALLEL = 20


def _hold(
    start: Callable[[], AbstractContextManager[Any]], clients: int, idle_seconds: float
) -> dict[str, Any]:
    with start() as server, RssSampler(server.pid, interval=0.5) as sampler:
        time.sleep(1.0)
        baseline, _ = tree_rss(server.pid)
        with Holder(
            server.websocket_url, clients=clients, parallel=PARALLEL, timeout=900
        ) as holder:
            time.sleep(idle_seconds)
            probe = holder.ask("probe 100", timeout=120)
            held, processes = tree_rss(server.pid)
            return {
                **{k: v for k, v in holder.opened.items() if k != "ids"},
                **probe,
                "baseline": baseline / MIB,
                "held": held / MIB,
                "processes": processes,
                "peak": max(sampler.peak_bytes, held) / MIB,
            }


def run(quick: bool) -> Report:
    raise_file_limit()
    clients, idle_seconds = (200, 2.0) if quick else (10_000, 15.0)
    results = {
        OURS: _hold(LocalEmulator, clients, idle_seconds),
        PEER: _hold(ServerlessOffline, clients, idle_seconds),
    }
    ours, peer = results[OURS], results[PEER]
    report = Report(
        name="idle",
        title=f"6. {clients:,} concurrent idle connections",
        command="python -m bench.idle",
    )
    held_all = ours["connected"] == clients and ours["open"] == clients
    report.rows += [
        Row(
            metric="connections held (open after the idle period)",
            ours=ours["open"],
            peer=peer["open"],
            unit="",
            peer_name=PEER,
            target=f"all {clients:,} held",
            met=held_all,
        ),
        Row(
            metric="sampled connections that still echo",
            ours=ours["echoed"],
            peer=peer["echoed"],
            unit=f"of {ours['probed']}",
            peer_name=PEER,
            target="all",
            met=ours["echoed"] == ours["probed"],
        ),
        Row(
            metric="RSS of the server's process tree while holding them",
            ours=ours["held"],
            peer=peer["held"],
            unit="MiB",
            peer_name=PEER,
            higher_is_better=False,
            target="≤ 500 MB",
            met=ours["held"] * MIB <= 500e6 and ours["peak"] * MIB <= 500e6,
        ),
        Row(
            metric="peak RSS of the process tree",
            ours=ours["peak"],
            peer=peer["peak"],
            unit="MiB",
            peer_name=PEER,
            higher_is_better=False,
        ),
        Row(
            metric="RSS added per held connection",
            ours=(ours["held"] - ours["baseline"]) * 1024 / max(ours["open"], 1),
            peer=(peer["held"] - peer["baseline"]) * 1024 / max(peer["open"], 1),
            unit="KiB",
            peer_name=PEER,
            higher_is_better=False,
        ),
        Row(
            metric=f"time to open them all ({PARALLEL} at a time, each runs $connect)",
            ours=ours["seconds"],
            peer=peer["seconds"],
            unit="s",
            peer_name=PEER,
            higher_is_better=False,
        ),
    ]
    report.notes += [
        f"Idle {idle_seconds:g} s before probing. Baseline RSS before connecting: "
        f"{OURS} {ours['baseline']:.0f} MiB, {PEER} {peer['baseline']:.0f} MiB; processes "
        f"while holding: {OURS} {ours['processes']}, {PEER} {peer['processes']}.",
        f"Connect failures: {OURS} {ours['failed']}, {PEER} {peer['failed']}.",
    ]
    return report


if __name__ == "__main__":
    main(run, __name__)

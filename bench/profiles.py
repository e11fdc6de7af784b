"""Where the time and memory go, for the targets ``RESULTS.md`` reports as missed.

``python -m bench.profiles parse``      cProfile of the lambda_runtime reader over the fixtures
``python -m bench.profiles broadcast``  CPU per delivered message: sender vs emulator tree,
                                        and cProfile of one boto3 ``post_to_connection``
``python -m bench.profiles rss``        RSS/PSS of every process of the emulator's tree
                                        after the benchmark-5 load
``python -m bench.profiles cpu``        CPU per message of each process kind of the emulator
                                        and of serverless-offline under the benchmark-5 load
``python -m bench.profiles broadcast-spy``  py-spy of the emulator and of the clients while
                                        ``Connections.broadcast`` sends to 1,000 clients
``python -m bench.profiles emulator``   py-spy (installed into ``bench/.peers/tools``) of the
                                        emulator's tree under the benchmark-5 load
``python -m bench.profiles endpoint-fallback``  cold cost of the last endpoint fallback (the
                                        partition's DNS suffix from botocore's data)

Each prints a plain-text report; none asserts anything. Loads are small and bounded.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .core import PEERS
from .proc import tree_pids

__all__ = ["main"]

TOOLS = PEERS / "tools"
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _cprofile(function: object, *args: object, lines: int = 18) -> str:
    profile = cProfile.Profile()
    profile.runcall(function, *args)  # type: ignore[arg-type]
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def profile_parse() -> None:
    import timeit

    from .fixtures import route_events
    from .peers import ensure_powertools
    from .prototype import make_prototype
    from .readers import make_ours, make_parser, make_raw

    events = list(route_events().values())
    read = make_ours()

    def loop() -> None:
        for _ in range(20_000):
            for event in events:
                read(event)

    print(f"lambda_runtime reader, 20,000 passes over {len(events)} events:")
    print(_cprofile(loop))
    sys.path.insert(0, str(ensure_powertools()))
    parser = make_parser()
    work = []
    for event in events:
        try:
            parser(event)
        except Exception:  # rejected by the pydantic models: left out, as in bench.parse
            continue
        work.append(event)
    readers = {
        "powertools-parser": parser,
        "lambda_runtime": read,
        "prototype (bench/prototype.py)": make_prototype(),
        "raw-dict": make_raw(),
    }
    rates = {}
    for name, reader in readers.items():

        def one_pass(reader: object = reader) -> None:
            for event in work:
                reader(event)  # type: ignore[operator]

        best = min(timeit.repeat(one_pass, number=2000, repeat=5))
        rates[name] = len(work) * 2000 / best
    print("events/s over the fixtures every parser accepts (best of 5):")
    for name, rate in rates.items():
        print(f"  {name:32s} {rate:10,.0f}  {rate / rates['powertools-parser']:5.1f}x the parser")


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def profile_broadcast(clients: int = 300) -> None:
    from .broadcast import FAKE_AWS, naive, ours
    from .emulator import LocalEmulator
    from .holder import Holder

    os.environ.update(FAKE_AWS)
    with (
        LocalEmulator() as emulator,
        Holder(emulator.websocket_url, clients=clients, ids=True) as holder,
    ):
        ids = holder.opened["ids"]
        emulator_pids = tree_pids(emulator.pid)

        def _prototype(endpoint: str) -> Callable[[list[str], bytes], None]:
            from .prototype_post import PrototypePoster

            poster = PrototypePoster(endpoint)

            def send(ids: list[str], payload: bytes) -> None:
                poster.broadcast(ids, payload)

            return send

        senders = (
            ("Connections.broadcast", ours),
            ("naive loop", naive),
            ("prototype, no botocore", _prototype),
        )
        for name, make in senders:
            send = make(emulator.management_url)
            tag = name.split()[0].strip(",.")
            send(ids, f"warm-{tag}".encode())
            holder.ask(f"count warm-{tag} {len(ids)} 30")
            cpu_before, own_before = _cpu_seconds(emulator_pids), time.process_time()
            started = time.monotonic()
            send(ids, f"go-{tag}".encode())
            counted = holder.ask(f"count go-{tag} {len(ids)} 30")
            wall = time.monotonic() - started
            sender = (time.process_time() - own_before) * 1000 / len(ids)
            server = (_cpu_seconds(emulator_pids) - cpu_before) * 1000 / len(ids)
            print(
                f"{name}: {counted['received']} received in {wall:.3f} s "
                f"({counted['received'] / wall:.0f}/s); CPU per message: sender {sender:.3f} ms, "
                f"emulator tree {server:.3f} ms"
            )
        from lambda_runtime import Connections

        client = Connections(emulator.management_url).client

        def posts() -> None:
            for connection_id in ids:
                client.post_to_connection(ConnectionId=connection_id, Data=b"x")

        print(f"\ncProfile of {len(ids)} sequential post_to_connection calls (boto3):")
        print(_cprofile(posts, lines=14))


def profile_rss() -> None:
    from .emulator import LocalEmulator
    from .local_vs_offline import run_load

    with LocalEmulator() as emulator:
        for action in ("echo", "reply"):
            result = run_load(emulator.websocket_url, action, 20, 50, 5)
            print(f"load {action}: {result.get('rate', 0):.0f} msgs/s")
        total_rss = total_pss = 0.0
        for pid in tree_pids(emulator.pid):
            try:
                rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE / 2**20
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                pss = next(int(x.split()[1]) for x in rollup if x.startswith("Pss:")) / 1024
                command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
            except (OSError, StopIteration):
                continue
            total_rss += rss
            total_pss += pss
            command = command.replace(sys.executable, "python").replace("\n", " ")[:80]
            print(f"{pid:>7}  RSS {rss:6.1f} MiB  PSS {pss:6.1f} MiB  {command}")
        print(f"total    RSS {total_rss:6.1f} MiB  PSS {total_pss:6.1f} MiB")


def profile_cpu(action: str) -> None:
    """CPU per message of each kind of process of a server's tree under the 20x100 load, and
    the share of the machine's cores they used: is the server CPU-bound or waiting?"""
    from .emulator import LocalEmulator
    from .local_vs_offline import run_load
    from .sls import ServerlessOffline

    for name, start in (
        ("cdk-ws-api local", LocalEmulator),
        ("serverless-offline", ServerlessOffline),
    ):
        with start() as server:
            run_load(server.websocket_url, action, 20, 10, 5)
            pids = tree_pids(server.pid)
            kinds: dict[str, list[int]] = {}
            for pid in pids:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_text()
                except OSError:
                    continue
                kind = (
                    "worker/handler"
                    if ("worker_entry" in command or "invoke.py" in command)
                    else (
                        "moto"
                        if "moto" in command
                        else ("server" if pid == server.pid else "other")
                    )
                )
                kinds.setdefault(kind, []).append(pid)
            before = {kind: _cpu_seconds(p) for kind, p in kinds.items()}
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            result = run_load(server.websocket_url, action, 20, 100, 0)
            wall = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            received = max(int(result.get("received", 0)), 1)
            client = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
            kinds_cpu = {"client script": client}
            print(f"{name}, {action} 20x100: {result.get('rate', 0):.0f} msgs/s")
            counts = {"client script": 1}
            for kind, kind_pids in kinds.items():
                kinds_cpu[kind] = _cpu_seconds(kind_pids) - before[kind]
                counts[kind] = len(kind_pids)
            for kind, used in kinds_cpu.items():
                print(
                    f"  {kind:15s} x{counts[kind]:3d}: {used * 1000 / received:6.3f} ms CPU/msg, "
                    f"{100 * used / wall / (os.cpu_count() or 1):5.1f}% of all cores"
                )


def _py_spy(pid: int, raw: Path) -> subprocess.Popen[bytes]:
    """Start py-spy (installed into ``bench/.peers/tools`` on first use) on a process tree."""
    spy = TOOLS / "bin" / "py-spy"
    if not spy.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(TOOLS), "py-spy"],
            check=True,
            timeout=300,
        )
    command = [str(spy), "record", "--pid", str(pid), "--subprocesses", "--rate", "500"]
    command += ["--format", "raw", "-o", str(raw), "--nonblocking"]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    return recorder


def profile_emulator(action: str = "reply") -> None:
    from .emulator import LocalEmulator
    from .local_vs_offline import run_load

    raw = PEERS / f"py-spy-{action}.txt"
    with LocalEmulator() as emulator:
        run_load(emulator.websocket_url, action, 20, 10, 5)
        recorder = _py_spy(emulator.pid, raw)
        result = run_load(emulator.websocket_url, action, 20, 100, 0)
        recorder.send_signal(2)
        recorder.wait(30)
    print(f"load {action} 20x100: {result.get('rate', 0):.0f} msgs/s; raw stacks: {raw}")
    from .spystacks import summarize

    print(summarize(raw.read_text()))


def profile_broadcast_receivers(clients: int = 1000, rounds: int = 8) -> None:
    """py-spy of the emulator's tree and of the clients' process while
    ``Connections.broadcast`` sends to ``clients`` connections ``rounds`` times."""
    from .broadcast import FAKE_AWS, ours
    from .emulator import LocalEmulator
    from .holder import Holder
    from .proc import raise_file_limit

    raise_file_limit()
    os.environ.update(FAKE_AWS)
    raws = {"emulator": PEERS / "py-spy-broadcast.txt", "clients": PEERS / "py-spy-clients.txt"}
    with (
        LocalEmulator() as emulator,
        Holder(emulator.websocket_url, clients=clients, ids=True) as holder,
    ):
        ids = holder.opened["ids"]
        send = ours(emulator.management_url)
        send(ids, b"warm")
        holder.ask(f"count warm {len(ids)} 30")
        recorders = [
            _py_spy(emulator.pid, raws["emulator"]),
            _py_spy(holder.process.pid, raws["clients"]),
        ]
        for index in range(rounds):
            send(ids, f"go-{index}".encode())
            holder.ask(f"count go-{index} {len(ids)} 30")
        for recorder in recorders:
            recorder.send_signal(2)
            recorder.wait(30)
    from .spystacks import summarize

    for name, raw in raws.items():
        print(f"{name} ({raw}):")
        print(summarize(raw.read_text()))


_FALLBACK_CHILD = """
import json, sys, time
fixtures = sys.argv[1]
usual = json.load(open(fixtures + "/connect.json"))  # an execute-api domain: no fallback
custom = json.load(open(fixtures + "/connect-custom-domain-authorizer.json"))
from lambda_runtime import Connections
Connections.for_event(usual)
start = time.perf_counter()
connections = Connections.for_event(custom)  # neither the variable nor an execute-api domain
fallback = (time.perf_counter() - start) * 1000
print(json.dumps({"fallback": fallback, "url": connections.endpoint_url,
                  "botocore": "botocore" in sys.modules}))
"""


def profile_endpoint_fallback(samples: int = 9) -> None:
    """Fresh interpreters: the cold cost of ``Connections.for_event`` taking its last fallback
    (the partition's DNS suffix read from botocore's data) over the same call on an event of
    an execute-api domain, and whether it imported botocore."""
    import json
    import statistics

    from .core import ROOT

    fixtures = ROOT / "tests" / "fixtures" / "aws-events"
    env = dict(os.environ, AWS_REGION="cn-north-1")
    env.pop("WS_API_MANAGEMENT_ENDPOINT", None)
    results = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _FALLBACK_CHILD, str(fixtures)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
        )
        for _ in range(samples)
    ]
    print(f"resolved: {results[0]['url']}")
    median = statistics.median(r["fallback"] for r in results)
    print(f"first fallback: median {median:.2f} ms over {samples} fresh processes")
    print(f"botocore imported: {sum(r['botocore'] for r in results)} of {samples}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profiles")
    parser.add_argument(
        "what",
        choices=[
            "parse",
            "broadcast",
            "broadcast-spy",
            "rss",
            "emulator",
            "cpu",
            "endpoint-fallback",
        ],
    )
    parser.add_argument("--action", default="reply", choices=["echo", "reply"])
    args = parser.parse_args()
    if args.what == "parse":
        profile_parse()
    elif args.what == "broadcast":
        profile_broadcast()
    elif args.what == "broadcast-spy":
        profile_broadcast_receivers()
    elif args.what == "rss":
        profile_rss()
    elif args.what == "cpu":
        profile_cpu(args.action)
    elif args.what == "endpoint-fallback":
        profile_endpoint_fallback()
    else:
        profile_emulator(args.action)


if __name__ == "__main__":
    main()

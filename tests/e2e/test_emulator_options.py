"""Stacks and options beyond the default run: no ``$default`` route, inline code, idle timeout
and maximum duration, ``--app`` synthesis, the CLI's errors, and clean shutdown."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import ROOT, audit, recv_json
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cdk_ws_api.testing import LocalApi, child_processes, run_local, serve

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def short_lived(plain_assembly: Path) -> Iterator[LocalApi]:
    with serve(
        plain_assembly,
        stack="PlainStack",
        idle_timeout=2.5,
        integration_timeout=1.2,
        max_duration=5.0,
    ) as emulator:
        # Warm the functions: cold starts (and moto's start, slow on a loaded machine) must not
        # count against the short timeouts below.
        for _ in range(40):
            try:
                with emulator.connect("token=allow-warm") as ws:
                    for action in ("echo", "crash"):
                        ws.send(json.dumps({"action": action}))
                        recv_json(ws)
                break
            except InvalidStatus:
                time.sleep(0.5)
        yield emulator


def test_no_default_route_answers_forbidden_frame(plain_assembly: Path) -> None:
    with serve(plain_assembly, stack="NoDefaultStack") as emulator, emulator.connect() as ws:
        assert emulator.ws_url.endswith("/v1")
        ws.send(json.dumps({"action": "ping", "n": 1}))  # inline (Code.ZipFile) function
        assert json.loads(recv_json(ws)["pong"]) == {"action": "ping", "n": 1}
        ws.send(json.dumps({"action": "unknown"}))
        error = recv_json(ws)
        assert error["message"] == "Forbidden"
        assert set(error) == {"message", "connectionId", "requestId"}
        ws.send("not json")
        assert recv_json(ws)["message"] == "Forbidden"
        ws.send(json.dumps({"action": "ping"}))  # still open
        assert "pong" in recv_json(ws)


def test_idle_connection_is_closed_with_1001(short_lived: LocalApi) -> None:
    with short_lived.connect("token=allow-idle") as ws:
        ws.send(json.dumps({"action": "echo"}))
        connection_id = recv_json(ws)["event"]["requestContext"]["connectionId"]
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert 2.3 < time.monotonic() - started < 4.9
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    item = audit(short_lived, f"disconnect#{connection_id}")
    assert item["code"] == 1001 and item["reason"] == "Going away"


def test_integration_timeout_answers_internal_server_error(short_lived: LocalApi) -> None:
    with short_lived.connect("token=allow-slow") as ws:
        started = time.monotonic()
        ws.send(json.dumps({"action": "crash", "mode": "sleep"}))  # sleeps past 1.2 s
        assert recv_json(ws)["message"] == "Internal server error"
        assert 1.1 < time.monotonic() - started < 1.9  # before the function's own 2 s timeout
        ws.send(json.dumps({"action": "echo"}))
        assert recv_json(ws)["event"]["requestContext"]["routeKey"] == "echo"


def test_active_connection_is_closed_at_maximum_duration(short_lived: LocalApi) -> None:
    started = time.monotonic()
    with short_lived.connect("token=allow-busy") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - started < 10:
                ws.send(json.dumps({"action": "echo"}))
                recv_json(ws)
                time.sleep(0.3)
        assert 4.5 < time.monotonic() - started < 9
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


def test_app_option_synthesizes_and_sigterm_disconnects_everyone(
    tmp_path: Path, plain_assembly: Path
) -> None:
    # Any command that writes an assembly to $CDK_OUTDIR is an app; copying the session's
    # assembly spares a second jsii start (the chat app test runs a real synthesis).
    app = f'cp -r {plain_assembly}/. "$CDK_OUTDIR"'
    emulator = run_local(
        ["--app", app, "--output", str(tmp_path / "out"), "--stack", "PlainStack"],
        timeout=180,
    )
    try:
        assert (tmp_path / "out" / "manifest.json").exists()
        with emulator.connect("token=allow-last") as ws:
            ws.send(json.dumps({"action": "echo"}))
            connection_id = recv_json(ws)["event"]["requestContext"]["connectionId"]
            assert emulator.stop() == 0
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
    finally:
        emulator.stop()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert f"DISCONNECT $disconnect      {connection_id} 200" in emulator.log
    assert emulator.log.rstrip().endswith("stopped")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cdk_ws_api", *args],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_help_and_errors(plain_assembly: Path, tmp_path: Path) -> None:
    help_text = _cli("local", "--help").stdout
    for option in ("--app", "--assembly", "--stack", "--stage", "--host", "--port"):
        assert option in help_text
    missing = _cli("local", "--assembly", str(plain_assembly), "--stack", "Nope", "--port", "0")
    assert missing.returncode == 2
    assert "no stack named 'Nope'" in missing.stderr and "PlainStack" in missing.stderr
    stage = _cli("local", "--assembly", str(plain_assembly), "--stage", "prod", "--port", "0")
    assert stage.returncode == 2 and "no stage 'prod'" in stage.stderr
    empty = _cli("local", "--assembly", str(tmp_path), "--port", "0")
    assert empty.returncode == 2 and "not a cloud assembly" in empty.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = _cli("local", "--assembly", str(plain_assembly), "--port", port)
    assert busy.returncode == 2 and "address already in use" in busy.stderr.lower()
    script = Path(sys.executable).with_name("cdk-ws-api")
    if script.exists():
        assert (
            "local"
            in subprocess.run(
                [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
            ).stdout
        )


def test_workers_and_moto_exit_when_the_emulator_is_killed(plain_assembly: Path) -> None:
    emulator = run_local(["--assembly", str(plain_assembly), "--stack", "PlainStack"])
    try:
        with emulator.connect("token=allow-kill") as ws:
            ws.send(json.dumps({"action": "echo"}))
            recv_json(ws)
            children = child_processes(emulator.process.pid)
            assert len(children) >= 4  # moto + authorizer, $connect and echo workers
            emulator.process.kill()  # no chance to clean up
            emulator.process.wait(10)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() and _running(pid) for pid in children):
            assert time.monotonic() < deadline, "children survived the emulator"
            time.sleep(0.1)
    finally:
        emulator.stop()


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_stack_without_tables_runs_no_moto_and_reaps_idle_workers(plain_assembly: Path) -> None:
    emulator = run_local(
        [
            "--assembly",
            str(plain_assembly),
            "--stack",
            "NoDefaultStack",
            "--worker-idle-timeout",
            "0.5",
            "--concurrent-messages",
        ]
    )
    try:
        assert emulator.dynamodb_url == "-"
        assert "no moto server" in "\n".join(emulator.lines)
        with emulator.connect() as ws:
            calls = [
                {"aws": "sts", "call": "get_caller_identity"},  # query protocol (XML)
                {"aws": "sqs", "call": "list_queues"},  # AWS JSON protocol
                {"aws": "s3", "call": "list_buckets"},  # REST-XML
                {"aws": "lambda", "call": "list_functions"},  # REST-JSON
            ]
            # Sent at once: two concurrent cold invocations start two workers.
            for call in calls:
                ws.send(json.dumps({"action": "ping", **call}))
            replies = [recv_json(ws) for _ in calls]
            for reply in replies:
                assert reply["error"]["type"] == "ClientError", reply
                assert "NotImplemented" in reply["error"]["text"], reply
                assert "does not emulate the AWS service" in reply["error"]["text"], reply
            workers = {reply["pid"] for reply in replies}
            assert len(workers) == 2
            children = child_processes(emulator.process.pid)
            assert workers <= children
            assert not any("moto" in _cmdline(pid) for pid in children)
            # Past the idle timeout one worker is stopped, the function's last stays warm.
            deadline = time.monotonic() + 10
            while len(workers & child_processes(emulator.process.pid)) > 1:
                assert time.monotonic() < deadline, "no idle worker was reaped"
                time.sleep(0.1)
            time.sleep(1.5)
            (warm,) = workers & child_processes(emulator.process.pid)
            ws.send(json.dumps({"action": "ping", "n": 2}))
            assert json.loads(recv_json(ws)["pong"]) == {"action": "ping", "n": 2}
            # A burst again: the warm worker plus a cold start of a new one.
            for call in calls[:2]:
                ws.send(json.dumps({"action": "ping", **call}))
            pids = {recv_json(ws)["pid"] for _ in calls[:2]}
            assert warm in pids and len(pids - workers) == 1
    finally:
        assert emulator.stop() == 0


def test_moto_starts_on_first_dynamodb_use_with_the_tables_ready(plain_assembly: Path) -> None:
    emulator = run_local(["--assembly", str(plain_assembly), "--stack", "PlainStack"])
    try:
        assert emulator.dynamodb_url.startswith("http://127.0.0.1:")
        time.sleep(0.5)
        children = child_processes(emulator.process.pid)
        assert not any("moto" in _cmdline(pid) for pid in children)  # nothing used it yet
        # The first call waits in the backlog while moto starts and creates the tables.
        names = [table.name for table in emulator.dynamodb.tables.all()]
        assert sorted(name.split("-", 1)[1][:5] for name in names) == ["Audit", "Conne"], names
        children = child_processes(emulator.process.pid)
        assert any("moto" in _cmdline(pid) for pid in children)
    finally:
        assert emulator.stop() == 0

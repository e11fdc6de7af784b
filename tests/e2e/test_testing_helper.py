"""cdk_ws_api.testing: the local API inside a pytest suite (context manager and fixture), its
errors, its clean shutdown, and a project outside the repository using the plugin."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from cdk_ws_api.local.exceptions import OptionError, SynthError
from cdk_ws_api.local.synth import synthesize
from cdk_ws_api.testing import LocalApi, LocalApiError, child_processes, run_local, serve

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def test_two_users_chat(local_api: LocalApi) -> None:
    # The README's complete test, verbatim: the plugin's fixture serves ./cdk.json's app.
    with (
        local_api.connect(query={"token": "demo-alice"}) as alice,
        local_api.connect(query={"token": "demo-bob"}) as bob,
    ):
        for ws in (alice, bob):
            ws.send(json.dumps({"action": "join", "room": "lobby"}))
            ws.send(json.dumps({"action": "whoami"}))  # answered once the join is done
            ws.recv(timeout=30)
        alice.send(json.dumps({"action": "send", "room": "lobby", "text": "hi"}))
        for ws in (alice, bob):
            assert json.loads(ws.recv(timeout=30)) == {
                "room": "lobby",
                "from": "alice",
                "text": "hi",
            }


@pytest.fixture(scope="module")
def two_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    out = tmp_path_factory.mktemp("two-stacks")
    assembly = synthesize(f"{sys.executable} app.py", out, cwd=HERE / "two_stacks")
    before = child_processes()
    with serve(assembly) as api:
        yield api
    # Workers and moto are gone once the block is left.
    assert child_processes() - before == set()


def test_urls_clients_and_captured_lines(two_stacks: LocalApi) -> None:
    api = two_stacks
    api.clear()
    assert api.ws_url.startswith("ws://127.0.0.1:") and api.ws_url.endswith("/production")
    assert api.management_url == api.ws_url.replace("ws://", "http://")
    with api.connect() as ws:
        ws.send(json.dumps({"action": "whoami"}))
        me = json.loads(ws.recv(timeout=30))["connectionId"]
        assert api.management_client().get_connection(ConnectionId=me)["Identity"]
        table = api.tables["ApiConnectionTableD7BBD474"]  # by logical id
        assert [i["connectionId"] for i in table.scan()["Items"]] == [me]
        result = api.invoke("Notifier", {"to": "all"})
        assert result.error is None and result.payload["notified"] == [me]
        assert json.loads(ws.recv(timeout=10)) == {"to": "all"}
        assert "notified 1 connection(s)" in result.log
    api.wait_for_log(r"DISCONNECT")
    assert any(line.startswith("CONNECT ") and me in line for line in api.access_log)
    assert any("@connections" in line for line in api.access_log)
    assert api.printed("Notifier") == [f"notified 1 connection(s) via {api.management_url}"]
    failed = api.invoke("Failing", {"fail": "raise"})
    assert failed.error == "Unhandled" and failed.payload["errorType"] == "ValueError"


def test_asyncio_client(two_stacks: LocalApi) -> None:
    async def scenario() -> str:
        async with two_stacks.aconnect() as ws:
            await ws.send(json.dumps({"action": "whoami"}))
            return str(json.loads(await asyncio.wait_for(ws.recv(), 30))["connectionId"])

    assert asyncio.run(scenario()).endswith("=")


def test_reset_closes_leaked_connections_and_empties_tables(two_stacks: LocalApi) -> None:
    api = two_stacks
    leaked = api.connect().__enter__()  # a test that forgets to close its client
    leaked.send(json.dumps({"action": "whoami"}))
    json.loads(leaked.recv(timeout=30))
    table = api.tables["ApiConnectionTableD7BBD474"]
    table.put_item(Item={"connectionId": "stale", "extra": "x"})
    assert table.scan()["Count"] == 2
    api.reset()
    with pytest.raises(ConnectionClosed) as closed:
        leaked.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert table.scan()["Count"] == 0
    assert api.access_log == [] and api.output == []


def test_bad_sources_and_options_raise_errors_naming_the_cause(tmp_path: Path) -> None:
    with pytest.raises(LocalApiError, match="neither a cloud assembly"), serve(tmp_path):
        pass
    with pytest.raises(LocalApiError, match="cannot serve 42"), serve(42):
        pass
    with (
        pytest.raises(OptionError, match="concurrency: must be >= 1"),
        serve(tmp_path, concurrency=0),
    ):
        pass
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    (broken / "app.py").write_text("raise RuntimeError('the app is broken here')\n")
    with pytest.raises(SynthError, match="the app is broken here"), serve(broken):
        pass


def test_port_in_use_is_named(two_stacks: LocalApi) -> None:
    port = int(two_stacks.endpoint_url.rsplit(":", 1)[1])
    assembly = two_stacks.app.functions["Chat26DEB33F"].code_dir.parent
    before = child_processes()
    with (
        pytest.raises(LocalApiError, match=rf"127.0.0.1:{port}.*in use"),
        serve(assembly, port=port),
    ):
        pass
    assert child_processes() - before == set()


def test_a_project_outside_the_repository_uses_the_plugin(tmp_path: Path) -> None:
    project = tmp_path / "my-project"
    shutil.copytree(HERE / "outside_project", project)
    with socket.socket() as probe:  # the suite's own tests may not use the repo at all
        probe.bind(("127.0.0.1", 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=str(project),
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout


def test_run_local_serves_a_real_process_and_stops_it_cleanly(hostile_assembly: Path) -> None:
    running = run_local(["--assembly", str(hostile_assembly)])
    try:
        assert running.ws_url.startswith("ws://127.0.0.1:")
        assert running.management_url.startswith("http://127.0.0.1:")
        assert running.dynamodb_url == "-"  # no table: no moto
        assert any(line.startswith("ready") for line in running.lines)
        assert "WebSocket URL:" in running.log
        with pytest.raises(LocalApiError, match="no DynamoDB table"):
            running.dynamodb  # noqa: B018 - the property raises
        client = running.management_client()
        with pytest.raises(client.exceptions.GoneException):
            client.get_connection(ConnectionId="nobody")
        running.wait_for_log(r"GET\s+@connections\s+nobody\s+410")
        with running.connect({"status": "200"}) as ws:
            ws.send("hello")
            assert json.loads(ws.recv(timeout=30)) == {"route": "$default", "size": 5}
        running.wait_for_log(r"\] connect invoked ")  # handler output, as the CLI prints it
        assert child_processes(running.process.pid)  # its warm workers
    finally:
        assert running.stop() == 0
    assert not child_processes(running.process.pid)


def test_run_local_failing_to_start_raises_with_the_output(tmp_path: Path) -> None:
    with pytest.raises(LocalApiError, match="did not start") as error:
        run_local(["--assembly", str(tmp_path / "missing")], timeout=60)
    assert "missing" in str(error.value)

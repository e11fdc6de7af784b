"""``--watch`` when the app's own sources change: ``app.py`` edited on disk is synthesized
again in the background and applied to the running emulator, while real clients stay
connected (issue 10, "The app's own sources change")."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cdk_ws_api.testing import LocalApi, serve

pytestmark = pytest.mark.timeout(600)

HERE = Path(__file__).resolve().parent
#: A synth here takes 6-15 s (more on a loaded machine); the reload line comes after it.
RELOAD_TIMEOUT = 180


#: The project the ``project``/``watched`` fixtures copy and serve (tests/e2e/conftest.py).
WATCH_PROJECT = "watch_app_project"


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "app.py"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _reloads(api: LocalApi) -> list[str]:
    return [line for line in api.log.splitlines() if line.startswith("reload: ")]


def _next_reload(api: LocalApi, before: int) -> str:
    """The line that ends the next app reload (applied or failed) after ``before`` lines."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        for line in _reloads(api)[before:]:
            if "-> app re-synthesized" in line or "-> re-synthesis failed" in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no app reload reported: {_reloads(api)[before:]}")


def _ask(ws: Any, **body: Any) -> dict[str, Any]:
    ws.send(json.dumps(body))
    return json.loads(ws.recv(timeout=30))  # type: ignore[no-any-return]


def test_a_new_route_and_function_answer_on_the_open_connection(
    watched: LocalApi, project: Path
) -> None:
    with watched.connect() as ws:
        assert _ask(ws, action="hello") == {"route": "$default", "body": '{"action": "hello"}'}
        before = len(_reloads(watched))
        _edit(
            project,
            "# more: routes\n",
            'routes["hello"] = RouteOptions(handler=function("Hello", "hello.handler"), '
            "return_response=True)\n# more: routes\n",
        )
        line = _next_reload(watched, before)
        assert line.startswith("reload: app.py changed -> app re-synthesized"), line
        assert "+route hello" in line and "+function" in line, line
        assert re.search(r"\(synth \d+\.\d s, applied in \d+ ms\)", line), line
        # The same connection, never closed: the next message takes the new route.
        assert _ask(ws, action="hello") == {"hello": "dev"}
        assert _ask(ws, action="other")["route"] == "$default"
    assert "hello" in watched.app.api.routes
    assert any(s.handler == "hello.handler" for s in watched.app.functions.values())


def test_a_broken_app_keeps_the_previous_version_serving(watched: LocalApi, project: Path) -> None:
    with watched.connect() as ws:
        before = len(_reloads(watched))
        _edit(project, "app.synth()\n", 'raise RuntimeError("boom from app.py")\napp.synth()\n')
        line = _next_reload(watched, before)
        assert line.startswith(
            "reload: app.py changed -> re-synthesis failed, still serving the previous version"
        ), line
        assert "boom from app.py" in watched.log  # the app's own error is printed
        # Still serving: the open connection answers, and a new one connects.
        assert _ask(ws, action="ping")["route"] == "$default"
        with watched.connect() as other:
            assert _ask(other, action="ping")["route"] == "$default"
        before = len(_reloads(watched))
        _edit(project, 'raise RuntimeError("boom from app.py")\n', "")  # fixed again
        line = _next_reload(watched, before)
        assert line.startswith("reload: app.py changed -> app re-synthesized"), line
        assert _ask(ws, action="ping")["route"] == "$default"


def test_a_new_table_is_created_and_the_old_items_stay(watched: LocalApi, project: Path) -> None:
    (connections,) = [t.logical_id for t in watched.app.tables]
    watched.tables[connections].put_item(Item={"connectionId": "kept-across-reloads"})
    before = len(_reloads(watched))
    _edit(
        project,
        "# more: resources\n",
        'dynamodb.Table(stack, "Notes", partition_key=dynamodb.Attribute(name="id", '
        "type=dynamodb.AttributeType.STRING))\n# more: resources\n",
    )
    line = _next_reload(watched, before)
    assert "+created in moto" in line, line
    notes = watched.tables["Notes"]
    notes.put_item(Item={"id": "n1", "text": "hello"})
    assert notes.get_item(Key={"id": "n1"})["Item"]["text"] == "hello"
    kept = watched.tables[connections].get_item(Key={"connectionId": "kept-across-reloads"})
    assert "Item" in kept, "an item of a table that existed before the reload was lost"


def test_an_added_authorizer_checks_new_connections_and_keeps_the_open_one(
    watched: LocalApi, project: Path
) -> None:
    with watched.connect() as ws:
        before = len(_reloads(watched))
        _edit(
            project,
            "    # more: api\n",
            '    connect=RouteOptions(handler=function("Hi", "hi.handler")),\n'
            "    authorizer=LambdaRequestAuthorizer(\n"
            '        handler=function("Auth", "auth.handler"),\n'
            '        identity_source=["route.request.querystring.token"],\n'
            "    ),\n    # more: api\n",
        )
        line = _next_reload(watched, before)
        assert "+route $connect" in line and "changed: authorizers" in line, line
        with pytest.raises(InvalidStatus) as refused, watched.connect():
            pass  # no token: API Gateway answers 401 before the authorizer
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as denied, watched.connect({"token": "bad"}):
            pass
        assert denied.value.response.status_code == 403
        with watched.connect({"token": "good"}) as allowed:
            assert _ask(allowed, action="ping")["route"] == "$default"
        # Connected before the authorizer existed: still open, still answered.
        assert _ask(ws, action="ping")["route"] == "$default"


def test_a_changed_environment_reaches_the_next_invocation(
    watched: LocalApi, project: Path
) -> None:
    with watched.connect({"token": "good"}) as ws:
        assert "greeting" not in _ask(ws, action="ping")
        before = len(_reloads(watched))
        _edit(
            project,
            "# more: resources\n",
            'stack.node.find_child("Echo").add_environment("GREETING", "hi")\n# more: resources\n',
        )
        line = _next_reload(watched, before)
        assert "~function WatchAppStack-Echo" in line, line
        assert _ask(ws, action="ping")["greeting"] == "hi"  # the same connection


def test_a_removed_stage_closes_its_connections_with_1001(watched: LocalApi, project: Path) -> None:
    with watched.connect({"token": "good"}) as ws:
        assert _ask(ws, action="hello") == {"hello": "dev"}  # answered: the connection is open
        before = len(_reloads(watched))
        _edit(project, 'STAGE = "dev"', 'STAGE = "prod"')
        line = _next_reload(watched, before)
        assert "stage dev removed: 1 connection(s) closed (1001), now serving stage prod" in line
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    # Its $disconnect ran (on the stage it connected to).
    watched.wait_for_log(r"\[.*Bye.*\] bye \S+ stage dev", timeout=30)
    # The new stage is served, the old one is gone.
    assert watched.ws_url.endswith("/prod")
    with watched.connect({"token": "good"}) as fresh:
        assert _ask(fresh, action="hello") == {"hello": "prod"}
    with pytest.raises(InvalidStatus) as refused, watched.connect(path="/dev"):
        pass
    assert refused.value.response.status_code == 403


def test_every_app_reload_is_one_line_with_what_changed(watched: LocalApi) -> None:
    applied = [r for r in _reloads(watched) if "-> app re-synthesized" in r]
    failed = [r for r in _reloads(watched) if "-> re-synthesis failed" in r]
    # The five edits that synthesize, the fix of the broken app, and the one failure.
    assert len(_reloads(watched)) == len(applied) + len(failed)  # one line per reload
    assert len(applied) == 6 and len(failed) == 1, "\n".join(_reloads(watched))
    assert watched._emulator.watcher is not None
    assert watched._emulator.watcher.app_reloads == 7
    assert watched._emulator.watcher.app_failures == 1


def test_the_cli_applies_an_edited_app_and_stops_cleanly(tmp_path: Path) -> None:
    # `cdk-ws-api local --watch` as `make run` starts it, in the project's directory.
    from cdk_ws_api.testing import run_local

    project = tmp_path / "cli-project"
    shutil.copytree(HERE / "watch_app_project", project)
    local = run_local(["--watch"], cwd=project, timeout=180)
    try:
        local.wait_for_log(r"^watching: ", timeout=60)
        with local.connect() as ws:
            assert _ask(ws, action="hello")["route"] == "$default"
            _edit(
                project,
                "# more: routes\n",
                'routes["hello"] = RouteOptions(handler=function("Hello", "hello.handler"), '
                "return_response=True)\n",
            )
            line = local.wait_for_log(r"^reload: .* -> app re-synthesized", timeout=RELOAD_TIMEOUT)
            assert "+route hello" in line, line
            assert _ask(ws, action="hello") == {"hello": "dev"}
        # Stopped in the middle of a synth (one that would take 2 min): the synth is killed,
        # not waited for.
        _edit(project, "app.synth()\n", "import time\ntime.sleep(120)\napp.synth()\n")
        deadline = time.monotonic() + 60
        while not _synths_in(project):  # the synth started
            assert time.monotonic() < deadline, "no synth started"
            time.sleep(0.05)
    finally:
        began = time.monotonic()
        status = local.stop()
    assert status == 0
    assert time.monotonic() - began < 30
    assert not _synths_in(project), "a synth outlived the emulator"


def _synths_in(project: Path) -> list[int]:
    """The app's synth processes in ``project`` (``python app.py``, its shell, jsii's node)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
                if Path(entry / "cwd").resolve() == project.resolve() and (
                    b"app.py" in command or b"jsii" in command
                ):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_plain_aws_cdk_lib_app_gets_its_new_route_live(tmp_path: Path) -> None:
    # No cdk_ws_api construct: an apigatewayv2 L2 WebSocketApi, a route added with add_route.
    project = tmp_path / "plain-project"
    shutil.copytree(HERE / "watch_plain_project", project)
    with serve(project, watch=True) as api:
        api.wait_for_log(r"^watching: ", timeout=30)
        with api.connect() as ws:
            assert _ask(ws, action="hello")["route"] == "$default"
            before = len(_reloads(api))
            _edit(
                project,
                "# more: routes\n",
                'api.add_route("hello", integration=integrations.WebSocketLambdaIntegration('
                '"HelloIntegration", function("Hello", "hello.handler")), return_response=True)\n',
            )
            line = _next_reload(api, before)
            assert "+route hello" in line, line
            assert _ask(ws, action="hello") == {"hello": "dev"}  # the same connection

"""The watcher's handling of the app's own sources on real files (watchfiles on a temporary
project): each change outside the functions' folders asks for one app reload, edits made
during a reload are taken by exactly one more, a failure is reported and watching goes on,
and a function's folder that appears with a reload is watched from then on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cdk_ws_api.local.specs import FunctionSpec
from cdk_ws_api.local.watch import Watcher
from cdk_ws_api.local.workers import WorkerPools

pytestmark = pytest.mark.timeout(120)


async def _until(condition: object, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition never met")
        await asyncio.sleep(0.02)


def test_edits_during_a_reload_are_one_more_and_failures_are_reported(tmp_path: Path) -> None:
    app_file = tmp_path / "app.py"
    app_file.write_text("v = 0\n")
    lines: list[str] = []
    calls: list[float] = []
    gate = asyncio.Event()

    async def reload_app() -> str:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            await gate.wait()  # the first reload is slow: a synth taking its time
            return "+route first"
        if len(calls) == 3:
            raise RuntimeError("synth failed: boom")
        return "no change"

    async def scenario() -> None:
        watcher = Watcher(
            dict, WorkerPools({}), project=tmp_path, report=lines.append, reload_app=reload_app
        )
        await watcher.start()
        try:
            app_file.write_text("v = 1\n")
            await _until(lambda: len(calls) == 1)
            for n in range(2, 6):  # four saves while the first reload runs
                app_file.write_text(f"v = {n}\n")
                await asyncio.sleep(0.15)
            gate.set()
            await _until(lambda: len(calls) == 2)
            await asyncio.sleep(1.0)
            assert len(calls) == 2  # the four saves were one more reload, not four
            (tmp_path / "cdk.json").write_text("{}")
            await _until(lambda: watcher.app_failures == 1)
            app_file.write_text("v = 9\n")
            await _until(lambda: len(calls) == 4)  # still watching after the failure
            await _until(lambda: sum("applied" in x for x in lines) == 3)
        finally:
            await watcher.stop()
        applied = [x for x in lines if "-> app re-synthesized and applied" in x]
        assert applied[0].startswith("reload: app.py changed -> app re-synthesized"), applied
        assert applied[0].endswith(": +route first")
        assert any(
            x == "reload: cdk.json changed -> re-synthesis failed, still serving the previous "
            "version: synth failed: boom"
            for x in lines
        ), lines
        assert watcher.app_reloads == 4

    asyncio.run(scenario())


def test_a_new_function_folder_is_watched_after_an_app_reload(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    outside.mkdir()
    functions: dict[str, FunctionSpec] = {}
    lines: list[str] = []

    async def reload_app() -> str:
        # The new version has a function whose code lives outside the project.
        functions["Fn"] = FunctionSpec("Fn", "stack-Fn", "h.handler", "python3.12", outside)
        return "+function stack-Fn"

    async def scenario() -> None:
        watcher = Watcher(
            lambda: functions,
            WorkerPools({}),
            project=project,
            report=lines.append,
            reload_app=reload_app,
        )
        await watcher.start()
        try:
            assert watcher.folders() == [project.resolve()]
            (project / "app.py").write_text("changed\n")
            await _until(lambda: watcher.app_reloads == 1)
            await asyncio.sleep(0.5)  # the watch restarts on the new folders
            (outside / "h.py").write_text("def handler(e, c): return 1\n")
            await _until(lambda: watcher.reloads == 1)
        finally:
            await watcher.stop()
        assert any("h.py changed -> 1 function(s) reloaded (stack-Fn)" in x for x in lines), lines

    asyncio.run(scenario())


def test_static_files_served_live_reload_nothing(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    calls: list[str] = []

    async def reload_app() -> str:
        calls.append("reload")
        return "no change"

    async def scenario() -> None:
        watcher = Watcher(
            dict,
            WorkerPools({}),
            project=tmp_path,
            report=lambda line: None,
            reload_app=reload_app,
            served_live=[web],
        )
        await watcher.start()
        try:
            (web / "index.html").write_text("<p>edited</p>")
            await asyncio.sleep(1.0)
            assert calls == []  # the page is read from disk on each request
            (tmp_path / "app.py").write_text("changed\n")
            await _until(lambda: calls == ["reload"])
        finally:
            await watcher.stop()

    asyncio.run(scenario())

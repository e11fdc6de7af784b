"""A pool's invocation logs and code replacement (watch mode's seam), on real worker processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cdk_ws_api.local.exceptions import FunctionError
from cdk_ws_api.local.specs import FunctionSpec
from cdk_ws_api.local.workers import WorkerPool, worker_environment

pytestmark = pytest.mark.timeout(90)


def _pool(code: Path, concurrency: int = 2) -> WorkerPool:
    spec = FunctionSpec("Fn", "local-fn", "app.handler", "python3.12", code, timeout=30)
    env = worker_environment(spec, region="us-east-1", overrides={})
    return WorkerPool(spec, env, concurrency=concurrency, on_output=lambda f, line: None)


def _write(code: Path, version: str) -> None:
    (code / "app.py").write_text(
        "import os, sys, time\n"
        f"VERSION = {version!r}\n"
        "def handler(event, context):\n"
        "    print('out', VERSION, event.get('n'))\n"
        "    print('err', VERSION, file=sys.stderr)\n"
        "    time.sleep(event.get('sleep', 0))\n"
        "    if event.get('raise'):\n"
        "        raise ValueError('boom')\n"
        "    return {'version': VERSION, 'pid': os.getpid()}\n"
    )


def test_logs_hold_exactly_the_invocations_lines(tmp_path: Path) -> None:
    _write(tmp_path, "v1")

    async def scenario() -> None:
        pool = _pool(tmp_path)
        try:
            for n in range(3):
                logs: list[str] = []
                await pool.invoke({"n": n}, logs=logs)
                assert sorted(logs) == sorted([f"out v1 {n}", "err v1"])
            logs = []
            with pytest.raises(FunctionError) as info:
                await pool.invoke({"raise": True, "n": 9}, logs=logs, request_id="rid-1")
            assert "out v1 9" in logs
            assert any("app.py" in frame for frame in info.value.stack_trace)
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_replace_lets_in_flight_finish_on_old_code_and_next_run_new(tmp_path: Path) -> None:
    _write(tmp_path, "v1")

    async def scenario() -> None:
        pool = _pool(tmp_path)
        try:
            # Two warm workers: one will be busy, the other idle.
            warm = await asyncio.gather(pool.invoke({"sleep": 0.3}), pool.invoke({"sleep": 0.3}))
            assert {w.result["version"] for w in warm} == {"v1"} and pool.size == 2
            in_flight = asyncio.ensure_future(pool.invoke({"sleep": 1.5}))
            await asyncio.sleep(0.5)  # it is running on a worker now
            _write(tmp_path, "v2")
            assert pool.replace() == 1  # the idle warm worker goes at once
            assert (await pool.invoke({})).result["version"] == "v2"
            old = (await in_flight).result
            assert old["version"] == "v1"  # finished on the code it started with
            # The old worker is not reused: every later invocation runs v2.
            for _ in range(3):
                assert (await pool.invoke({})).result["version"] == "v2"
            assert pool.size <= 2
        finally:
            await pool.close()

    asyncio.run(scenario())


async def _until_idle_worker(pool: WorkerPool, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while pool.size - pool.busy < 1:
        assert asyncio.get_running_loop().time() < deadline, "no worker was pre-warmed"
        await asyncio.sleep(0.02)


def test_replace_prewarms_the_new_code_before_any_invocation(tmp_path: Path) -> None:
    _write(tmp_path, "v1")

    async def scenario() -> None:
        pool = _pool(tmp_path)
        try:
            old_pid = (await pool.invoke({})).result["pid"]
            _write(tmp_path, "v2")
            pool.replace()
            assert pool.size == 0  # the old worker went; the new one is importing
            await _until_idle_worker(pool)  # started with no invocation asking for it
            (warm,) = pool._idle
            answer = (await pool.invoke({})).result
            assert answer == {"version": "v2", "pid": warm.pid} and warm.pid != old_pid
            assert pool.size == 1
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_an_invocation_during_the_prewarm_takes_the_prewarmed_worker(tmp_path: Path) -> None:
    _write(tmp_path, "v1")

    async def scenario() -> None:
        pool = _pool(tmp_path, concurrency=1)
        try:
            await pool.invoke({})
            _write(tmp_path, "v2")
            pool.replace()
            # Asked at once, while the new worker still imports: one process, not two.
            assert (await pool.invoke({})).result["version"] == "v2"
            assert pool.size == 1
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_unused_pool_is_not_prewarmed_and_a_broken_prewarm_reports_on_invoke(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "v1")

    async def scenario() -> None:
        pool = _pool(tmp_path)
        try:
            pool.replace()  # never invoked: nothing to keep warm
            await asyncio.sleep(0.5)
            assert pool.size == 0
            await pool.invoke({})
            (tmp_path / "app.py").write_text("def handler(event, context):\n    return (\n")
            pool.replace()
            await asyncio.sleep(1.0)
            assert pool.size == 0  # the pre-warm failed to import and was dropped
            with pytest.raises(FunctionError) as info:
                await pool.invoke({})
            assert info.value.error_type == "Runtime.ImportModuleError"
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_retire_waits_for_the_invocation_in_flight_then_stops_every_worker(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "v1")

    async def scenario() -> None:
        pool = _pool(tmp_path)
        slow = asyncio.ensure_future(pool.invoke({"sleep": 1.0, "n": 1}))
        await asyncio.sleep(0.5)  # it runs now
        assert pool.busy == 1
        await pool.retire()
        # The invocation finished on its worker instead of being killed with it.
        assert (await slow).result["version"] == "v1"
        assert pool.size == 0

    asyncio.run(scenario())

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

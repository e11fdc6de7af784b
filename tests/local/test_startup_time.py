"""A function's timeout is not charged with the emulator's own start-up of moto."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from cdk_ws_api.local.dynamodb import LocalDynamoDB
from cdk_ws_api.local.exceptions import FunctionTimeoutError
from cdk_ws_api.local.specs import FunctionSpec
from cdk_ws_api.local.startups import Startups
from cdk_ws_api.local.workers import WorkerPool, worker_environment

pytestmark = pytest.mark.timeout(120)

# boto3 and the client at import (Lambda's init phase), the first call in the handler.
HANDLER = """
import os, time
import boto3
CLIENT = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])

def handler(event, context):
    if event.get("warm"):
        return None
    tables = CLIENT.list_tables()["TableNames"]
    time.sleep(event.get("then_sleep", 0))
    return {"tables": tables}
"""


def _pool(tmp_path: Path, dynamodb: LocalDynamoDB) -> WorkerPool:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    spec = FunctionSpec(
        logical_id="Fn",
        name="Stack-Fn",
        handler="app.handler",
        runtime="python3.12",
        code_dir=code,
        layer_dirs=(),
        environment={},
        timeout=1,
    )
    env = worker_environment(
        spec,
        region="us-east-1",
        overrides=dynamodb.environment(),
        inherited={"PATH": os.environ["PATH"]},
    )
    return WorkerPool(spec, env, concurrency=2, on_output=lambda fn, line: None)


def test_first_dynamodb_call_waiting_for_a_slow_moto_start_does_not_time_out(
    tmp_path: Path,
) -> None:
    async def run() -> tuple[object, float]:
        dynamodb = LocalDynamoDB(region="us-east-1")
        dynamodb.boot_delay = 4  # a loaded machine: moto's start outlasts the 1 s timeout
        await dynamodb.open([])
        pool = _pool(tmp_path, dynamodb)
        try:
            await pool.invoke({"warm": True}, timeout=30)  # warm: its import is not the point
            assert not dynamodb.started
            started = time.monotonic()
            answer = await pool.invoke({})  # the function's own Timeout: 1 s
            return answer.result, time.monotonic() - started
        finally:
            await pool.close()
            await dynamodb.stop()

    result, waited = asyncio.run(run())
    assert result == {"tables": []}
    assert waited > 4  # it really waited for moto longer than its own timeout


def test_a_handler_still_times_out_on_its_own_time_after_moto_started(tmp_path: Path) -> None:
    async def run() -> None:
        dynamodb = LocalDynamoDB(region="us-east-1")
        dynamodb.boot_delay = 2
        await dynamodb.open([])
        pool = _pool(tmp_path, dynamodb)
        try:
            await pool.invoke({}, timeout=30)  # warm worker, moto started
            with pytest.raises(FunctionTimeoutError):
                await pool.invoke({"then_sleep": 30})
            assert (await pool.invoke({}, timeout=30)).result == {"tables": []}
        finally:
            await pool.close()
            await dynamodb.stop()

    asyncio.run(run())


def test_startups_overlap_counts_each_second_once(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([10.0, 14.0, 12.0, 13.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    startups = Startups()
    first = startups.begin()  # 10
    startups.end(first)  # 14
    second = startups.begin()  # 12: overlaps the first
    assert startups.running
    startups.end(second)  # 13
    assert not startups.running
    assert startups.within(0, 100) == 4  # 10..14, the overlap not counted twice
    assert startups.within(11, 12.5) == 1.5
    assert startups.within(14, 20) == 0
    assert startups.within(0, 10) == 0

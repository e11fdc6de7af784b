"""Warm worker processes running real handler code (subprocesses, no sockets to clients)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from cdk_ws_api.local.exceptions import FunctionError, FunctionTimeoutError, WorkerCrashedError
from cdk_ws_api.local.specs import FunctionSpec
from cdk_ws_api.local.workers import WorkerPool, worker_environment

pytestmark = pytest.mark.timeout(60)

HANDLER = """
import json, os, sys, time
import helper
STARTED = time.time()

def handler(event, context):
    mode = event.get("mode")
    print("stdout line", mode)
    print("stderr line", file=sys.stderr)
    if mode == "raise":
        raise KeyError("missing")
    if mode == "exit":
        os._exit(7)
    if mode == "sleep":
        time.sleep(event["seconds"])
    if mode == "unserializable":
        return {"x": object()}
    if mode == "botocore":
        before = "botocore" in sys.modules
        import botocore.handlers
        hooks = [
            entry[1]
            for entry in botocore.handlers.BUILTIN_HANDLERS
            if entry[0] == "before-send.apigatewaymanagementapi"
        ]
        move = hooks[0].cdk_ws_api_rewrite_url
        return {
            "before": before,
            "hooked": len(hooks),
            "moved": move("https://abc.execute-api.us-east-1.amazonaws.com/dev/@connections/a"),
            "kept": move("https://example.com/x"),
        }
    if mode == "noise":
        sys.stdout.write("\\x00\\x01 not json {" * 1000 + "\\n")
    return {
        "pid": os.getpid(),
        "started": STARTED,
        "helper": helper.VALUE,
        "events_module": __import__("events").__file__,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "CUSTOM", "AWS_REGION",
                                                "LAMBDA_TASK_ROOT", "SECRET_FROM_PARENT")},
        "cwd": os.getcwd(),
    }
"""


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    # a handler module named like an emulator module must shadow it, as on Lambda
    (code / "events.py").write_text("")
    layer = tmp_path / "layer" / "python"
    layer.mkdir(parents=True)
    (layer / "helper.py").write_text("VALUE = 'from layer'\n")
    return FunctionSpec(
        logical_id="Fn",
        name="Stack-Fn",
        handler="app.handler",
        runtime="python3.12",
        code_dir=code,
        layer_dirs=(layer,),
        environment={"CUSTOM": "yes", "AWS_REGION": "overridden?"},
        timeout=3,
    )


def _pool(spec: FunctionSpec, lines: list[tuple[str, str]], concurrency: int = 2) -> WorkerPool:
    env = worker_environment(
        spec,
        region="eu-central-1",
        overrides={},
        inherited={"PATH": os.environ["PATH"], "SECRET_FROM_PARENT": "leak"},
    )
    return WorkerPool(
        spec, env, concurrency=concurrency, on_output=lambda fn, line: lines.append((fn, line))
    )


def test_warm_worker_context_environment_and_output(spec: FunctionSpec) -> None:
    lines: list[tuple[str, str]] = []

    async def run() -> tuple[Any, Any]:
        pool = _pool(spec, lines)
        try:
            first = await pool.invoke({})
            second = await pool.invoke({"mode": "noise"})
            return first, second
        finally:
            await pool.close()

    first, second = asyncio.run(run())
    a, b = first.result, second.result
    assert a["pid"] == b["pid"] and a["started"] == b["started"]  # imported once, kept warm
    assert a["helper"] == "from layer"
    assert a["events_module"] == str(spec.code_dir / "events.py")
    assert a["request_id"] == first.request_id != second.request_id
    assert a["function_name"] == "Stack-Fn"
    assert 0 < a["remaining"] <= 3000
    assert a["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "Stack-Fn",
        "CUSTOM": "yes",
        "AWS_REGION": "eu-central-1",  # reserved: the function cannot override it
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "SECRET_FROM_PARENT": None,  # nothing leaks from the emulator's environment
    }
    assert a["cwd"] == str(spec.code_dir)
    assert ("Stack-Fn", "stdout line None") in lines
    assert ("Stack-Fn", "stderr line") in lines


def test_errors_timeouts_and_crashes(spec: FunctionSpec) -> None:
    lines: list[tuple[str, str]] = []

    async def run() -> None:
        pool = _pool(spec, lines)
        try:
            warm = (await pool.invoke({})).result["pid"]
            with pytest.raises(FunctionError) as error:
                await pool.invoke({"mode": "raise"})
            assert error.value.error_type == "KeyError"
            assert (await pool.invoke({})).result["pid"] == warm  # still warm after an error
            with pytest.raises(FunctionError) as marshal:
                await pool.invoke({"mode": "unserializable"})
            assert marshal.value.error_type == "Runtime.MarshalError"
            started = time.monotonic()
            with pytest.raises(FunctionTimeoutError):
                await pool.invoke({"mode": "sleep", "seconds": 30}, timeout=0.5)
            assert time.monotonic() - started < 3
            replaced = (await pool.invoke({})).result["pid"]
            assert replaced != warm
            with pytest.raises(WorkerCrashedError, match="code 7"):
                await pool.invoke({"mode": "exit"})
            assert (await pool.invoke({})).result["pid"] not in (warm, replaced)
            assert pool.size == 1
        finally:
            await pool.close()
        assert pool.size == 0

    asyncio.run(run())


def test_concurrency_limit(spec: FunctionSpec) -> None:
    async def run() -> list[Any]:
        pool = _pool(spec, [], concurrency=2)
        try:
            await asyncio.gather(pool.invoke({}), pool.invoke({}))  # two warm workers
            started = time.monotonic()
            results = await asyncio.gather(
                *(pool.invoke({"mode": "sleep", "seconds": 0.4}) for _ in range(4))
            )
            assert time.monotonic() - started >= 0.8  # 4 calls, 2 at a time
            assert pool.size == 2
            return results
        finally:
            await pool.close()

    results = asyncio.run(run())
    assert len({r.result["pid"] for r in results}) == 2


def test_import_error_is_reported(spec: FunctionSpec) -> None:
    (spec.code_dir / "app.py").write_text("import not_a_module\n")

    async def run() -> None:
        pool = _pool(spec, [])
        try:
            for _ in range(2):  # each call retries the import, like a failed Lambda init
                with pytest.raises(FunctionError) as error:
                    await pool.invoke({})
                assert error.value.error_type == "Runtime.ImportModuleError"
                assert "not_a_module" in error.value.error_message
        finally:
            await pool.close()

    asyncio.run(run())


def _reaping_pool(spec: FunctionSpec, idle_timeout: float, keep_warm: int) -> WorkerPool:
    env = worker_environment(spec, region="eu-central-1", overrides={}, inherited={})
    return WorkerPool(
        spec,
        env,
        concurrency=2,
        on_output=lambda fn, line: None,
        idle_timeout=idle_timeout,
        keep_warm=keep_warm,
    )


def test_idle_workers_are_reaped_but_the_last_stays_warm(spec: FunctionSpec) -> None:
    async def run() -> None:
        pool = _reaping_pool(spec, idle_timeout=0.3, keep_warm=1)
        try:
            first = await asyncio.gather(
                *(pool.invoke({"mode": "sleep", "seconds": 0.2}) for _ in range(2))
            )
            pids = {r.result["pid"] for r in first}
            assert len(pids) == 2 and pool.size == 2  # a burst: two warm workers
            deadline = time.monotonic() + 5
            while pool.size > 1:
                assert time.monotonic() < deadline, "the idle worker was not reaped"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # well past the idle timeout: the last one stays
            assert pool.size == 1
            again = await pool.invoke({})
            assert again.result["pid"] in pids  # still warm, no cold start
            await asyncio.sleep(0.2)
            for pid in pids - {again.result["pid"]}:  # the reaped process is gone
                assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
        finally:
            await pool.close()

    asyncio.run(run())


def test_reaped_function_cold_starts_and_busy_workers_are_never_reaped(
    spec: FunctionSpec,
) -> None:
    async def run() -> None:
        pool = _reaping_pool(spec, idle_timeout=0.2, keep_warm=0)
        try:
            # Busy for 5 idle timeouts: never reaped, its invocation completes normally.
            slow = await pool.invoke({"mode": "sleep", "seconds": 1.0})
            assert pool.size == 1
            deadline = time.monotonic() + 5
            while pool.size:
                assert time.monotonic() < deadline, "the idle worker was not reaped"
                await asyncio.sleep(0.05)
            cold = await pool.invoke({})  # a new worker: a cold start again
            assert cold.result["pid"] != slow.result["pid"]
            assert cold.result["started"] > slow.result["started"]
            # A reap pass while an invocation runs leaves the busy worker alone.
            task = asyncio.create_task(pool.invoke({"mode": "sleep", "seconds": 0.6}))
            await asyncio.sleep(0.4)
            assert pool.reap_idle(now=time.monotonic() + 3600) == 0
            assert (await task).result["pid"] == cold.result["pid"]
        finally:
            await pool.close()

    asyncio.run(run())


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "Z"
    except (OSError, IndexError):
        return True


def test_botocore_hook_is_added_only_when_the_handler_imports_botocore(
    spec: FunctionSpec,
) -> None:
    rewrites = '{"*": "http://127.0.0.1:9/-other-api-"}'
    env = worker_environment(
        spec,
        region="eu-central-1",
        overrides={"CDK_WS_API_LOCAL_REWRITES": rewrites},
        inherited={"PATH": os.environ["PATH"]},
    )

    async def run() -> Any:
        pool = WorkerPool(spec, env, concurrency=1, on_output=lambda fn, line: None)
        try:
            return (await pool.invoke({"mode": "botocore"})).result
        finally:
            await pool.close()

    # botocore was not imported by the worker itself, and the hook is there exactly once; it
    # tells where it moves a URL (lambda_runtime's broadcast follows it without botocore)
    assert asyncio.run(run()) == {
        "before": False,
        "hooked": 1,
        "moved": "http://127.0.0.1:9/-other-api-/dev/@connections/a",
        "kept": "https://example.com/x",
    }


def test_invocations_leave_no_cyclic_garbage(spec: FunctionSpec) -> None:
    # A reference cycle per invocation (the timeout watchdog's closures used to make one, with
    # the timeout scope and task they reached) is freed only by the garbage collector's passes,
    # which then cost the gateway ~16 µs a message. Everything must go by reference counting.
    import gc

    async def run() -> int:
        pool = _pool(spec, [])
        try:
            for _ in range(5):  # warm: the worker, its streams and the loop's own objects
                await pool.invoke({})
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                for _ in range(50):
                    await pool.invoke({})
                gc.collect()
                return len(gc.garbage)
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
        finally:
            await pool.close()

    # 50 invocations: ~15 objects each before the fix (746 measured); the bound leaves room for
    # an unrelated cycle elsewhere in the test process, never for one per invocation.
    assert asyncio.run(run()) < 50

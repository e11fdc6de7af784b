"""Warm Lambda worker processes, one pool per function.

Each worker is ``sys.executable worker_entry.py FD``: the function's code directory and layers
on ``PYTHONPATH``, its environment plus the Lambda variables, the handler imported once. A pool
runs at most ``concurrency`` invocations of its function at a time, one per worker, spawning
workers on demand and keeping them warm. A worker left idle for ``idle_timeout`` seconds is
stopped (``--worker-idle-timeout``, see :mod:`.options`), except the pool's last one, which
stays warm for the rest of the session: a burst (20 simultaneous ``$connect``) does not leave
``concurrency`` idle processes behind, and a function used once keeps answering without a cold
start. Only idle workers are ever stopped; a busy one is not in the idle list, and the next
invocation after a reap simply starts a new worker (a cold start, as on Lambda after its
execution environments are recycled). An invocation past the function's timeout kills its
worker (a new one is started on the next call), like Lambda's sandbox reset; a handler
exception leaves the worker warm. Worker stdout/stderr lines go to ``on_output`` with the
function name, so handler logs show up in the emulator's log.

Workers cannot outlive the emulator: each one exits on EOF of its control socket, and
:meth:`WorkerPools.close` kills the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from .bus import EventBus, InvocationRecord
from .exceptions import FunctionError, FunctionTimeoutError, InvocationError, WorkerCrashedError
from .specs import FunctionSpec
from .startups import STARTUPS
from .worker_entry import END_MARK, FUNCTION_ARN_ENV

__all__ = [
    "Invocation",
    "OutputSink",
    "Worker",
    "WorkerPool",
    "WorkerPools",
]

_T = TypeVar("_T")
_HEADER = struct.Struct(">I")
_ENTRY = str(Path(__file__).with_name("worker_entry.py"))
#: How long a worker may take to import its handler (Lambda's init phase limit is 10 s).
INIT_TIMEOUT = 10.0

OutputSink = Callable[[str, str], None]
"""``(function_name, line)`` for every line a handler writes to stdout or stderr."""

# Variables of the emulator's own environment a worker inherits; everything else (AWS
# profiles, credentials, endpoints) is withheld so handlers only ever reach local services.
_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "HOME")


@dataclass(frozen=True)
class Invocation:
    """The outcome of one successful invocation."""

    result: Any
    request_id: str
    duration_ms: float


if sys.version_info >= (3, 11):

    async def _within(awaitable: Awaitable[_T], timeout: float) -> _T:
        # asyncio.timeout, not wait_for: wait_for wraps the read in a new task, and this is
        # awaited once per invocation (3.11's TimeoutError is asyncio.TimeoutError).
        async with asyncio.timeout(timeout):
            return await awaitable

else:  # pragma: no cover - Python 3.10
    _within = asyncio.wait_for

#: ``await within(awaitable, seconds)``: a deadline without a task per call (the integration
#: timeout of every message uses it too).
within = _within


class _OwnTimeWatchdog:
    """Calls ``expire`` once ``timeout`` seconds of the caller's own time have passed: the
    time the emulator spent starting its own services meanwhile (moto, see :mod:`.startups`)
    is added to the deadline, so a handler is charged only with its own time, as on AWS.
    :meth:`disarm` stops it.

    An object, not closures: a closure that re-arms itself holds its own cell, and the timer
    handle holds the closure, a reference cycle per invocation that only the garbage collector
    could free (with everything the ``expire`` callback reaches: the timeout scope, its task).
    Here :meth:`disarm` cancels the handle (asyncio drops its callback) and drops ``expire``,
    so an invocation's objects are freed by reference counting as soon as it ends."""

    __slots__ = ("_expire", "_handle", "_loop", "_started", "_timeout")

    def __init__(self, timeout: float, expire: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = time.monotonic()
        self._timeout = timeout
        self._expire: Callable[[], None] | None = expire
        self._handle = self._loop.call_later(timeout, self._check)

    def _check(self) -> None:
        now = time.monotonic()
        remaining = self._started + self._timeout + STARTUPS.within(self._started, now) - now
        if remaining > 0 or STARTUPS.running:
            self._handle = self._loop.call_later(max(remaining, 0.05), self._check)
        elif self._expire is not None:
            self._expire()

    def disarm(self) -> None:
        self._handle.cancel()  # the latest re-armed handle
        self._expire = None


if sys.version_info >= (3, 11):

    async def _within_own_time(awaitable: Awaitable[_T], timeout: float) -> _T:
        """:func:`within`, excluding the emulator's own start-up time (see above)."""
        async with asyncio.timeout(None) as scope:
            watchdog = _OwnTimeWatchdog(timeout, partial(_expire_now, scope))
            try:
                return await awaitable
            finally:
                watchdog.disarm()

    def _expire_now(scope: asyncio.Timeout) -> None:
        scope.reschedule(asyncio.get_running_loop().time())

else:  # pragma: no cover - Python 3.10

    async def _within_own_time(awaitable: Awaitable[_T], timeout: float) -> _T:
        task = asyncio.ensure_future(awaitable)
        watchdog = _OwnTimeWatchdog(timeout, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():
                raise asyncio.TimeoutError from None
            raise
        finally:
            watchdog.disarm()


class Worker:
    """One warm process running one function's handler."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        on_output: OutputSink,
        generation: int = 0,
    ):
        self.spec = spec
        self._env = dict(env)
        self._on_output = on_output
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pumps: list[asyncio.Task[None]] = []
        #: ``time.monotonic()`` when the worker last went idle (set by its pool).
        self.idle_since = 0.0
        #: The pool's code generation this worker runs (see :meth:`WorkerPool.replace`).
        self.generation = generation
        #: Lines of the invocation in flight, when its output is collected; the end marks
        #: still to read (one per stream).
        self._capture: list[str] | None = None
        self._marks: asyncio.Queue[None] | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Spawn the process and wait for its handler import; raises :class:`FunctionError`
        (``Runtime.ImportModuleError``) or :class:`WorkerCrashedError` on failure."""
        parent, child = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                _ENTRY,
                str(child.fileno()),
                pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env,
                cwd=str(self.spec.code_dir),
                start_new_session=True,  # Ctrl-C in a terminal reaches the emulator only
            )
        finally:
            child.close()
        self._reader, self._writer = await asyncio.open_connection(sock=parent)
        assert self._process.stdout is not None and self._process.stderr is not None
        self._pumps = [
            asyncio.create_task(self._pump(self._process.stdout)),
            asyncio.create_task(self._pump(self._process.stderr)),
        ]
        try:
            ready = await asyncio.wait_for(self._receive(), INIT_TIMEOUT)
        except asyncio.TimeoutError:
            await self.kill()
            raise FunctionTimeoutError(
                f"{self.spec.name}: init did not finish in {INIT_TIMEOUT:.0f}s"
            ) from None
        if ready is None:
            await self.kill()
            raise WorkerCrashedError(f"{self.spec.name}: worker exited during init")
        if not ready.get("ready"):
            await self.kill()
            raise FunctionError(str(ready.get("errorType")), str(ready.get("errorMessage")))

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):  # a line over 64 KiB
                line = await stream.read(65536)
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            if text.startswith(END_MARK):
                if self._marks is not None:
                    self._marks.put_nowait(None)
                continue
            if self._capture is not None:
                self._capture.append(text)
            self._on_output(self.spec.name, text)

    async def _receive(self) -> dict[str, Any] | None:
        assert self._reader is not None
        try:
            header = await self._reader.readexactly(_HEADER.size)
            body = await self._reader.readexactly(_HEADER.unpack(header)[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        message: dict[str, Any] = json.loads(body)
        return message

    async def invoke(
        self,
        event_json: str,
        *,
        request_id: str,
        timeout: float,
        logs: list[str] | None = None,
        client_context: Any = None,
    ) -> Any:
        """Run the handler once on the event ``event_json`` (JSON text, encoded once by the
        pool); raises :class:`FunctionError`, :class:`FunctionTimeoutError` (the worker is
        then dead) or :class:`WorkerCrashedError`. ``logs`` receives the lines the
        invocation printed (all of them: the worker marks the end of its output)."""
        if logs is None:
            return await self._invoke(event_json, request_id, timeout, None, client_context)
        self._capture, self._marks = logs, asyncio.Queue()
        try:
            return await self._invoke(event_json, request_id, timeout, True, client_context)
        finally:
            if self.alive:
                with contextlib.suppress(asyncio.TimeoutError):
                    # One mark per stream; a worker dying now sends none, hence the bound.
                    await _within(self._both_marks(self._marks), 2)
            self._capture = self._marks = None

    @staticmethod
    async def _both_marks(marks: asyncio.Queue[None]) -> None:
        for _ in range(2):
            await marks.get()

    async def _invoke(
        self, event_json: str, request_id: str, timeout: float, mark: bool | None, context: Any
    ) -> Any:
        assert self._writer is not None
        deadline_ms = int((time.time() + timeout) * 1000)
        request: dict[str, Any] = {"request_id": request_id, "deadline_ms": deadline_ms}
        if mark:
            request["mark"] = True
        if context is not None:
            request["client_context"] = context
        # The event is spliced in as the text the pool encoded (and published): one encoding.
        body = '{"event":' + event_json + "," + json.dumps(request)[1:]
        try:
            self._writer.write(_HEADER.pack(len(body)) + body.encode())
            await self._writer.drain()
        except ConnectionError as exc:
            await self.kill()
            raise WorkerCrashedError(f"{self.spec.name}: worker is gone") from exc
        try:
            reply = await _within_own_time(self._receive(), timeout)
        except asyncio.TimeoutError:
            await self.kill()
            raise FunctionTimeoutError(
                f"{self.spec.name}: Task timed out after {timeout:.2f} seconds"
            ) from None
        if reply is None:
            code = await self._exit_code()
            raise WorkerCrashedError(f"{self.spec.name}: worker exited (code {code})")
        if not reply.get("ok"):
            raise FunctionError(
                str(reply.get("errorType")),
                str(reply.get("errorMessage")),
                list(reply.get("stackTrace") or []),
            )
        return reply.get("result")

    async def _exit_code(self) -> int | None:
        if self._process is None:
            return None
        try:
            return await asyncio.wait_for(self._process.wait(), 2)
        except asyncio.TimeoutError:
            await self.kill()
            return self._process.returncode

    async def kill(self) -> None:
        """Stop the process now (SIGKILL) and reap it; safe to call twice."""
        if self._writer is not None:
            self._writer.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        if self._process is not None:
            await self._process.wait()
        for pump in self._pumps:
            # Let the pumps drain what the handler printed before it died.
            try:
                await asyncio.wait_for(pump, 1)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pump.cancel()

    async def stop(self) -> None:
        """Close the control socket (the worker exits on EOF), then kill it if it lingers."""
        if self._writer is not None:
            self._writer.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._process.wait(), 2)
        await self.kill()


class WorkerPool:
    """Up to ``concurrency`` warm workers of one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        *,
        concurrency: int,
        on_output: OutputSink,
        idle_timeout: float | None = None,
        keep_warm: int = 1,
        bus: EventBus | None = None,
    ) -> None:
        self.spec = spec
        #: Every invocation (event, result or error) is published here (see :mod:`.bus`).
        self.bus = bus
        self.env = dict(env)
        self._on_output = on_output
        self._slots = asyncio.Semaphore(concurrency)
        #: Idle workers, least recently used first (invocations take the last one).
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._closed = False
        #: Seconds an idle worker is kept; ``None`` or ``0``: forever.
        self.idle_timeout = idle_timeout or None
        self.keep_warm = max(0, keep_warm)
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        #: Bumped by :meth:`replace`; workers of an older generation are not reused.
        self.generation = 0
        #: The replacement worker :meth:`replace` starts at once (pre-warm), while it imports.
        self._warming: asyncio.Task[None] | None = None

    @property
    def size(self) -> int:
        """Live worker processes (idle + busy)."""
        return len(self._idle) + len(self._busy)

    @property
    def busy(self) -> int:
        """Workers running an invocation now."""
        return len(self._busy)

    async def invoke(
        self,
        event: Any,
        *,
        timeout: float | None = None,
        request_id: str | None = None,
        logs: list[str] | None = None,
        client_context: Any = None,
    ) -> Invocation:
        """Invoke the function, waiting for a free slot first.

        ``request_id`` defaults to a new UUID; ``logs`` collects the lines this invocation
        printed; ``client_context`` becomes ``context.client_context``. Raises
        :class:`InvocationError` subclasses; the pool stays usable after any of them.
        """
        if self._closed:
            raise WorkerCrashedError(f"{self.spec.name}: the emulator is shutting down")
        limit = self.spec.timeout if timeout is None else timeout
        request_id = request_id or str(uuid.uuid4())
        # Encoded here, once: the worker gets this text, and so does the bus (a record holding
        # text, not the event's dicts, leaves nothing for the garbage collector to walk).
        event_json = json.dumps(event)
        call = (event_json, request_id, limit, logs, client_context)
        bus = self.bus
        if bus is None or not bus.active:
            return await self._invoke(*call)
        started, at = time.monotonic(), time.time()
        try:
            invocation = await self._invoke(*call)
        except InvocationError as error:
            duration = (time.monotonic() - started) * 1000
            record = InvocationRecord(
                self.spec.logical_id, request_id, event_json, None, str(error), duration, at
            )
            bus.publish(record)
            raise
        result, duration = invocation.result, invocation.duration_ms
        bus.publish(
            InvocationRecord(
                self.spec.logical_id, request_id, event_json, result, None, duration, at
            )
        )
        return invocation

    async def _invoke(
        self,
        event_json: str,
        request_id: str,
        limit: float,
        logs: list[str] | None,
        client_context: Any,
    ) -> Invocation:
        async with self._slots:
            started = time.monotonic()
            if not self._idle and self._warming is not None and not self._warming.done():
                # The new code's worker is importing already: waiting for it is never slower
                # than starting another one.
                await asyncio.wait([self._warming])
            worker = self._idle.pop() if self._idle else None
            if worker is None or not worker.alive:
                worker = Worker(self.spec, self.env, self._on_output, self.generation)
                self._busy.add(worker)
                try:
                    await worker.start()
                except BaseException:
                    self._busy.discard(worker)
                    raise
            else:
                self._busy.add(worker)
            keep = False
            try:
                result = await worker.invoke(
                    event_json,
                    request_id=request_id,
                    timeout=limit,
                    logs=logs,
                    client_context=client_context,
                )
                keep = True
            except FunctionError:
                keep = worker.alive
                raise
            finally:
                self._busy.discard(worker)
                # A worker of replaced code finishes its invocation, then goes.
                keep = keep and worker.generation == self.generation
                if keep and not self._closed:
                    worker.idle_since = time.monotonic()
                    self._idle.append(worker)
                    self._schedule_reap()
                elif worker.alive:
                    await worker.kill()
        return Invocation(result, request_id, (time.monotonic() - started) * 1000)

    def replace(
        self, spec: FunctionSpec | None = None, env: Mapping[str, str] | None = None
    ) -> int:
        """Run new code from the next invocation on: idle workers stop now, busy ones when
        their invocation returns (it finishes on the old code), and one worker of the new code
        starts now (:meth:`_prewarm`); ``spec``/``env`` replace the function's definition when
        given. Returns how many idle workers were stopped."""
        if spec is not None:
            self.spec = spec
        if env is not None:
            self.env = dict(env)
        self.generation += 1
        idle, self._idle = self._idle, []
        for worker in idle:
            self._stop_later(worker)
        if not self._closed and (idle or self._busy):
            self._prewarm()
        return len(idle)

    def _prewarm(self) -> None:
        """Start one worker of the current generation now, so that the first invocation
        after a reload finds it warm instead of paying the import. A pool that had no
        worker (never invoked) stays empty: nothing is started for a function not in use.
        An import error is not reported here: the next invocation starts a worker again and
        returns the error to its caller, as without the pre-warm."""
        if self._warming is not None:
            self._warming.cancel()
        worker = Worker(self.spec, self.env, self._on_output, self.generation)
        self._warming = asyncio.get_running_loop().create_task(self._warm(worker))

    async def _warm(self, worker: Worker) -> None:
        try:
            await worker.start()
        except asyncio.CancelledError:
            await worker.kill()
            raise
        except (InvocationError, OSError):
            return
        if self._closed or worker.generation != self.generation:
            await worker.kill()
            return
        worker.idle_since = time.monotonic()
        self._idle.append(worker)
        self._schedule_reap()

    def _stop_later(self, worker: Worker) -> None:
        task = asyncio.get_running_loop().create_task(worker.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    # -- idle reaping ------------------------------------------------------------------------

    def _schedule_reap(self) -> None:
        if self.idle_timeout is None or self._closed or self.size <= self.keep_warm:
            return
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_loop())

    async def _reap_loop(self) -> None:
        assert self.idle_timeout is not None
        interval = max(0.05, min(5.0, self.idle_timeout / 4))
        while not self._closed and self.size > self.keep_warm:
            await asyncio.sleep(interval)
            self.reap_idle()

    def reap_idle(self, now: float | None = None) -> int:
        """Stop the workers idle for ``idle_timeout`` or longer, keeping ``keep_warm`` live
        workers (busy ones count); returns how many were stopped. Synchronous on purpose:
        an invocation takes a worker out of the idle list before it awaits anything, so a
        busy worker can never be picked here."""
        if self.idle_timeout is None:
            return 0
        now = time.monotonic() if now is None else now
        reaped = 0
        # Least recently used first; stop at the first one still within its idle time.
        while (
            self._idle
            and self.size > self.keep_warm
            and now - self._idle[0].idle_since >= self.idle_timeout
        ):
            self._stop_later(self._idle.pop(0))
            reaped += 1
        return reaped

    async def retire(self) -> None:
        """Close once the invocations in flight have returned (bounded by the function's
        timeout): the function left the app (see :meth:`.emulator.Emulator.apply`)."""
        deadline = time.monotonic() + self.spec.timeout + 1
        while self._busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.close()

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        await asyncio.gather(*(w.stop() for w in workers), *self._stopping, return_exceptions=True)


def worker_environment(
    spec: FunctionSpec,
    *,
    region: str,
    overrides: Mapping[str, str],
    inherited: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of ``spec``'s workers: a clean base, Lambda's variables, the function's
    own (already localized) variables, then ``overrides`` (local endpoints, credentials)."""
    source = os.environ if inherited is None else inherited
    env = {name: source[name] for name in _INHERITED if name in source}
    python_path = [str(spec.code_dir), *(str(p) for p in spec.layer_dirs)]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
            "_HANDLER": spec.handler,
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            FUNCTION_ARN_ENV: spec.arn,
        }
    )
    env.update(spec.environment)
    env.update({"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
    env.update(overrides)
    return env


class WorkerPools:
    """The pools of all functions of the app, by logical id."""

    def __init__(self, pools: Mapping[str, WorkerPool]) -> None:
        self._pools = dict(pools)

    def get(self, logical_id: str) -> WorkerPool | None:
        return self._pools.get(logical_id)

    def __iter__(self) -> Iterator[WorkerPool]:
        return iter(list(self._pools.values()))

    def add(self, logical_id: str, pool: WorkerPool) -> None:
        self._pools[logical_id] = pool

    def remove(self, logical_id: str) -> WorkerPool | None:
        """Take ``logical_id``'s pool out (new invocations find no function); the caller
        closes it."""
        return self._pools.pop(logical_id, None)

    def ids(self) -> list[str]:
        """The logical ids of the functions with a pool."""
        return list(self._pools)

    @property
    def live_workers(self) -> int:
        return sum(pool.size for pool in self._pools.values())

    async def close(self) -> None:
        await asyncio.gather(*(pool.close() for pool in self._pools.values()))

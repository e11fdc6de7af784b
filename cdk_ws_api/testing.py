"""Test helpers for your own stacks: the local API inside your pytest suite, and snapshots.

**The local API** (:func:`serve`, the ``local_api`` fixture): serves a CDK app, a stack or a
cloud assembly with the local emulator on a free port, in a background thread of the test
process (its workers and moto are child processes, all stopped on exit)::

    from cdk_ws_api.testing import serve

    def test_chat():
        with serve(".") as api:  # the app of ./cdk.json (or an App, a Stack, an assembly)
            with api.connect(query={"token": "demo-alice"}) as alice:
                alice.send('{"action": "whoami"}')
                assert "connectionId" in alice.recv(timeout=10)

With the plugin (registered through the ``pytest11`` entry point, so installing
``cdk-ws-api[local]`` is enough) the session-wide ``local_api`` fixture serves the project
named by the ``cdk_ws_api_app`` ini option (a directory with ``cdk.json`` or a cloud
assembly; default: pytest's rootdir) and ``cdk_ws_api_stack``; after each test it closes the
connections left open and empties the tables (:meth:`LocalApi.reset`), and each test sees only
its own access-log lines and handler output.

**Snapshots** (:func:`template_snapshot`, :data:`TemplateSnapshotExtension`): normalized
templates, stable across machines, code changes that do not change resources and bootstrap
qualifiers; the syrupy extension stores each as sorted, indented JSON, one file per snapshot::

    @pytest.fixture
    def snapshot(snapshot):
        return snapshot.use_extension(TemplateSnapshotExtension)

    def test_stack_snapshot(snapshot):
        assert template_snapshot(ChatStack(App(), "Chat")) == snapshot

Update stored snapshots after an intended change with ``pytest --snapshot-update``.
:func:`lint_template` runs cfn-lint (a test dependency, imported on first use) on a template.

Importing this module loads neither aws-cdk-lib nor websockets nor boto3 (it is a pytest
plugin, loaded by every pytest run of an environment that has cdk-ws-api).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cdk_ws_api.local.exceptions import LocalEmulatorError

if TYPE_CHECKING:
    from aws_cdk import Stack

    from cdk_ws_api.local.emulator import Emulator
    from cdk_ws_api.local.invoke_cli import InvokeResult
    from cdk_ws_api.local.specs import LocalApp

__all__ = [
    "ASSET_HASH_PLACEHOLDER",
    "BOOTSTRAP_QUALIFIER_PLACEHOLDER",
    "VERSION_HASH_PLACEHOLDER",
    "LocalApi",
    "LocalApiError",
    "LocalProcess",
    "OutputLine",
    "TemplateSnapshotExtension",  # noqa: F822 - built on first access (module __getattr__)
    "child_processes",
    "is_running",
    "lint_template",
    "normalize_template",
    "run_local",
    "serve",
    "start",
    "template_snapshot",
]

#: What every asset hash (64 hex digits) is replaced with.
ASSET_HASH_PLACEHOLDER = "[ASSET_HASH]"
#: What the code hash ending a Lambda version's logical id (``FnCurrentVersion<hash>``) becomes.
VERSION_HASH_PLACEHOLDER = "[VERSION_HASH]"
#: What the bootstrap qualifier (``hnb659fds`` by default) in asset and role names becomes.
BOOTSTRAP_QUALIFIER_PLACEHOLDER = "[QUALIFIER]"

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# aws-cdk-lib names a function's version `${fn}CurrentVersion${8 hex}${32 hex of the code}`.
_VERSION_ID = re.compile(r"(CurrentVersion)[0-9A-F]{8}[0-9a-f]{32}")
# `cdk-{qualifier}-assets-…`, `cdk-{qualifier}-cfn-exec-role-…`, `/cdk-bootstrap/{q}/version`.
_QUALIFIER = re.compile(
    r"(cdk-)[a-z0-9]{1,10}(-(?:assets|container-assets|deploy-role|cfn-exec-role|"
    r"file-publishing-role|image-publishing-role|lookup-role)\b)"
)
_BOOTSTRAP_PARAMETER = re.compile(r"(/cdk-bootstrap/)[a-z0-9]{1,10}(/)")
_VOLATILE_RESOURCE_TYPES = {"AWS::CDK::Metadata"}


def normalize_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a CloudFormation template that is stable across machines and runs.

    Asset hashes (in S3 keys, asset paths, image tags) become :data:`ASSET_HASH_PLACEHOLDER`,
    the code hash of Lambda version logical ids (``…CurrentVersion<hash>``, wherever it is
    referenced) :data:`VERSION_HASH_PLACEHOLDER`, the bootstrap qualifier in asset buckets,
    roles and the ``BootstrapVersion`` parameter :data:`BOOTSTRAP_QUALIFIER_PLACEHOLDER`, and
    ``AWS::CDK::Metadata`` resources (library versions) are dropped.
    """
    resources = {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") not in _VOLATILE_RESOURCE_TYPES
    }
    result = {**template, "Resources": resources} if "Resources" in template else dict(template)
    return _normalize(result)  # type: ignore[no-any-return]


def template_snapshot(stack: Stack) -> dict[str, Any]:
    """Synthesize ``stack`` and return its normalised template (see :func:`normalize_template`)."""
    from aws_cdk.assertions import Template

    return normalize_template(Template.from_stack(stack).to_json())


def _normalize(value: Any) -> Any:
    if isinstance(value, str):
        value = _ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, value)
        value = _VERSION_ID.sub(rf"\1{VERSION_HASH_PLACEHOLDER}", value)
        value = _QUALIFIER.sub(rf"\1{BOOTSTRAP_QUALIFIER_PLACEHOLDER}\2", value)
        return _BOOTSTRAP_PARAMETER.sub(rf"\1{BOOTSTRAP_QUALIFIER_PLACEHOLDER}\2", value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dict):
        return {_normalize(k): _normalize(v) for k, v in value.items()}
    return value


def lint_template(
    template: Mapping[str, Any], *, regions: tuple[str, ...] = ("us-east-1",)
) -> list[str]:
    """cfn-lint findings (errors, warnings and informational) of a synthesized template.

    Returns one ``"<rule> <message> (<path>)"`` line per finding; ``[]`` means clean. One
    finding is dropped as a false positive: W3005 on an ``AWS::Lambda::Function`` (or an
    ``AWS::StepFunctions::StateMachine``) that ``DependsOn`` its own role, which aws-cdk-lib's
    ``lambda.Function`` (``sfn.StateMachine``) always adds although ``Properties.Role``
    (``RoleArn``) already references the role (redundant, harmless, not fixable in user code).
    """
    runner = _cfn_lint_runner(regions)
    matches = runner.validate_template(json.loads(json.dumps(template)))
    return [
        f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})"
        for m in matches
        if not _is_function_role_dependency(m)
    ]


@functools.cache
def _cfn_lint_runner(regions: tuple[str, ...]) -> Any:
    import cfnlint.api  # type: ignore[import-untyped]

    return cfnlint.api.Runner(cfnlint.api.ConfigMixIn(regions=list(regions)))


def _is_function_role_dependency(match: Any) -> bool:
    # Lambda functions reference their role as Role, state machines as RoleArn.
    return bool(
        match.rule.id == "W3005"
        and ("/Properties/Role'" in match.message or "/Properties/RoleArn'" in match.message)
    )


# -- the local API in tests ---------------------------------------------------------------


class LocalApiError(LocalEmulatorError):
    """The local API could not start: the port is taken, the source is neither an app, a stack
    nor an assembly, or the emulator failed. Synthesis and assembly errors keep their own
    types (``SynthError``, ``NoWebSocketApiError``...), all :class:`LocalEmulatorError`."""


class OutputLine(NamedTuple):
    """One line a handler printed (stdout or stderr)."""

    function: str
    line: str

    def __str__(self) -> str:
        return f"[{self.function}] {self.line}"


def child_processes(pid: int | None = None) -> set[int]:
    """The live descendant processes of ``pid`` (default: this process), from Linux's
    ``/proc``: what a test checks to prove nothing was left running."""
    root = os.getpid() if pid is None else pid
    found: set[int] = set()
    stack = [root]
    while stack:
        current = stack.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found and is_running(child):
                    found.add(child)
                    stack.append(child)
    return found


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux ``/proc``)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_for_line(lines: list[str], pattern: str, timeout: float) -> str:
    """The first of ``lines`` (appended to by another thread) matching ``pattern``."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        for line in list(lines):
            if regex.search(line):
                return line
        if time.monotonic() >= deadline:
            recent = "\n".join(lines[-20:])
            raise AssertionError(f"no log line matches {pattern!r}; recent:\n{recent}")
        time.sleep(0.05)


def _ws_connect(
    url: str, headers: Mapping[str, str] | None, open_timeout: float, kwargs: dict[str, Any]
) -> Any:
    from websockets.sync.client import connect

    return connect(
        url,
        additional_headers=dict(headers or {}),
        open_timeout=open_timeout,
        close_timeout=5,
        **kwargs,
    )


def _boto3_client(service: str, endpoint: str | None, region: str, config: Any = None) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=config,
    )


def _assembly_of(
    source: Any, options: Any, scratch: contextlib.ExitStack, cwd: Path
) -> tuple[Path, str | None, Path | None]:
    """(assembly directory, stack to serve, project directory when synthesized here) for
    what :func:`serve` was given."""
    from cdk_ws_api.local.exceptions import SynthError
    from cdk_ws_api.local.synth import assembly_for

    if source is None and (options.app or options.assembly):
        return assembly_for(options, scratch, cwd=cwd), options.stack, cwd
    if source is None:
        source = cwd
    if isinstance(source, (str, Path)):
        path = (cwd / source).resolve()
        if (path / "manifest.json").is_file():
            return path, options.stack, None
        if (path / "cdk.json").is_file():
            return assembly_for(options, scratch, cwd=path), options.stack, path
        raise LocalApiError(
            f"{path}: neither a cloud assembly (no manifest.json) nor a CDK project "
            "(no cdk.json); pass an App, a Stack, a project directory or an assembly"
        )
    synth = getattr(source, "synth", None)
    if callable(synth) and not hasattr(source, "artifact_id"):  # an App or a Stage
        try:
            return Path(synth().directory), options.stack, None
        except Exception as exc:
            raise SynthError(f"synthesizing {source!r} failed: {exc}") from exc
    if hasattr(source, "artifact_id") and hasattr(source, "node"):  # a Stack
        from aws_cdk import Stage

        try:
            directory = Stage.of(source).synth().directory  # type: ignore[union-attr]
        except Exception as exc:
            raise SynthError(f"synthesizing {source!r} failed: {exc}") from exc
        return Path(directory), str(source.artifact_id), None
    raise LocalApiError(
        f"cannot serve {source!r}: expected an aws_cdk.App or Stack, a project directory "
        "(cdk.json) or a cloud assembly directory"
    )


@dataclass
class _Captured:
    access_log: list[str] = field(default_factory=list)
    output: list[OutputLine] = field(default_factory=list)
    #: Both, in arrival order, as ``cdk-ws-api local`` prints them.
    lines: list[str] = field(default_factory=list)

    def access(self, line: str) -> None:
        self.access_log.append(line)
        self.lines.append(line)

    def printed(self, function: str, line: str) -> None:
        output = OutputLine(function, line)
        self.output.append(output)
        self.lines.append(str(output))


class _EmulatorLog(logging.Handler):
    """The emulator's warnings (``$connect failed: ...``, ``route x failed: ...``), logged in
    its own thread, into the captured lines: what ``cdk-ws-api local`` prints too."""

    def __init__(self, captured: _Captured, thread: threading.Thread) -> None:
        super().__init__(logging.WARNING)
        self._captured = captured
        self._thread = thread

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread.ident:
            self._captured.lines.append(record.getMessage())


class LocalApi:
    """A running local API (see :func:`serve`). Thread-safe for the test thread; the
    emulator runs in its own thread and event loop."""

    def __init__(
        self,
        emulator: Emulator,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        scratch: contextlib.ExitStack,
        captured: _Captured,
    ) -> None:
        self._emulator = emulator
        self._loop = loop
        self._thread = thread
        self._scratch = scratch
        self._captured = captured
        self._closed = False
        self._log_handler = _EmulatorLog(captured, thread)
        logging.getLogger("cdk_ws_api.local").addHandler(self._log_handler)

    @property
    def app(self) -> LocalApp:
        """What is served: routes, functions (by logical id), tables (see ``LocalApp``);
        under ``watch=True``, the version last re-synthesized and applied."""
        return self._emulator.app

    # -- where --------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT/{stage}``."""
        return self._emulator.websocket_url

    @property
    def management_url(self) -> str:
        """The ``@connections`` endpoint, ``http://127.0.0.1:PORT/{stage}``."""
        return self._emulator.management_url

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: the Lambda Invoke API."""
        return f"http://{self._emulator.gateway.domain_name}"

    @property
    def dynamodb_url(self) -> str | None:
        """The embedded DynamoDB's endpoint, ``None`` when the app has no table."""
        return self._emulator.dynamodb.endpoint

    # -- what happened ------------------------------------------------------------------

    @property
    def access_log(self) -> list[str]:
        """Access-log lines since the last :meth:`clear` / :meth:`reset` (each test's own
        with the ``local_api`` fixture): ``MESSAGE    send   <id> 200 3ms``."""
        return list(self._captured.access_log)

    @property
    def output(self) -> list[OutputLine]:
        """What the handlers printed since the last :meth:`clear` / :meth:`reset`."""
        return list(self._captured.output)

    @property
    def log(self) -> str:
        """Access-log lines and ``[function] line`` handler output since the last
        :meth:`clear`, in arrival order, one per line: what ``cdk-ws-api local`` prints."""
        return "\n".join(self._captured.lines)

    @property
    def banner(self) -> str:
        """What ``cdk-ws-api local`` prints at start: URLs, routes, functions, warnings."""
        from cdk_ws_api.local.cli import describe

        emulator = self._emulator
        return describe(
            self.app, emulator.websocket_url, emulator.management_url, emulator.dynamodb.endpoint
        )

    def printed(self, function: str | None = None) -> list[str]:
        """The lines printed by ``function`` (its name, logical id or construct path's last
        part), or by every function."""
        spec_names = {
            spec.name
            for key, spec in self.app.functions.items()
            if function in (None, spec.name, spec.logical_id, key)
            or spec.path.endswith(f"/{function}")
        }
        return [o.line for o in self._captured.output if o.function in spec_names]

    def wait_for_log(self, pattern: str, timeout: float = 15) -> str:
        """The first access-log or output line matching ``pattern`` (a regex), waiting up to
        ``timeout`` seconds for it (they arrive asynchronously)."""
        return _wait_for_line(self._captured.lines, pattern, timeout)

    def clear(self) -> None:
        """Forget the captured access-log lines and handler output."""
        self._captured.access_log.clear()
        self._captured.output.clear()
        self._captured.lines.clear()

    # -- clients ------------------------------------------------------------------------

    def _url(self, query: Mapping[str, str] | str | None, path: str | None) -> str:
        base = self.ws_url if path is None else f"ws://{self._emulator.gateway.domain_name}{path}"
        if not query:
            return base
        text = query if isinstance(query, str) else urllib.parse.urlencode(query)
        return f"{base}?{text}"

    def connect(
        self,
        query: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        path: str | None = None,
        open_timeout: float = 30,
        **kwargs: Any,
    ) -> Any:
        """A real WebSocket client (``websockets.sync.client.ClientConnection``) on the
        stage; use it as a context manager. ``query``/``headers`` reach ``$connect`` and its
        authorizer; ``path`` overrides ``/{stage}``; other arguments go to ``connect``."""
        return _ws_connect(self._url(query, path), headers, open_timeout, kwargs)

    def aconnect(
        self,
        query: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        path: str | None = None,
        open_timeout: float = 30,
        **kwargs: Any,
    ) -> Any:
        """The asyncio form of :meth:`connect`: ``async with api.aconnect() as ws``."""
        from websockets.asyncio.client import connect

        return connect(
            self._url(query, path),
            additional_headers=dict(headers or {}),
            open_timeout=open_timeout,
            close_timeout=5,
            **kwargs,
        )

    def _client(self, service: str, endpoint: str | None, config: Any = None) -> Any:
        return _boto3_client(service, endpoint, self.app.api.region, config)

    def management_client(self, config: Any = None) -> Any:
        """boto3 ``apigatewaymanagementapi`` on the stage's ``@connections`` endpoint;
        ``config``: a ``botocore.config.Config`` (retries, timeouts)."""
        return self._client("apigatewaymanagementapi", self.management_url, config)

    def lambda_client(self) -> Any:
        """boto3 ``lambda`` on the Invoke API."""
        return self._client("lambda", self.endpoint_url)

    @functools.cached_property
    def dynamodb(self) -> Any:
        """boto3 DynamoDB resource on the embedded DynamoDB (tables: :attr:`tables`)."""
        import boto3

        if self.dynamodb_url is None:
            raise LocalApiError("the app has no DynamoDB table, so no local DynamoDB runs")
        return boto3.resource(
            "dynamodb",
            endpoint_url=self.dynamodb_url,
            region_name=self.app.api.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    @property
    def tables(self) -> dict[str, Any]:
        """boto3 ``Table`` objects by logical id, by construct id (``Messages`` of
        ``Stack/Messages``) and construct path, when only one table has it, and by local
        name."""
        keys: dict[str, set[str]] = {}
        for spec in self.app.tables:
            for key in (spec.logical_id, spec.path, spec.path.partition("/")[2]):
                if key:
                    keys.setdefault(key, set()).add(spec.name)
        result = {spec.name: self.dynamodb.Table(spec.name) for spec in self.app.tables}
        for key, names in keys.items():
            if len(names) == 1:
                result.setdefault(key, self.dynamodb.Table(next(iter(names))))
        return result

    def invoke(
        self,
        function: str,
        event: Any = None,
        *,
        invocation_type: str = "RequestResponse",
    ) -> InvokeResult:
        """Invoke any function of the assembly through the Invoke API (name, ARN, logical id
        or construct path): ``result.payload``, ``result.error``, ``result.log``."""
        from cdk_ws_api.local.invoke_cli import invoke_function

        return invoke_function(
            self.endpoint_url,
            function,
            {} if event is None else event,
            region=self.app.api.region,
            invocation_type=invocation_type,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def _call(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def reset(self, *, timeout: float = 15) -> None:
        """Close every open connection (1001, their ``$disconnect`` runs), then empty every
        table and forget the captured lines: the next test starts from a clean API."""
        self._call(self._emulator.gateway.close_connections(timeout=timeout), timeout + 5)
        for spec in self.app.tables:
            table = self.dynamodb.Table(spec.name)
            names = {f"#k{i}": key for i, (key, _) in enumerate(spec.key_schema)}
            scan: dict[str, Any] = {
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
            with table.batch_writer() as batch:
                while True:
                    page = table.scan(**scan)
                    for item in page["Items"]:
                        batch.delete_item(Key=item)
                    if "LastEvaluatedKey" not in page:
                        break
                    scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self.clear()

    def close(self) -> None:
        """Stop everything (connections get 1001 and ``$disconnect``); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._emulator.stop(), 60)
        finally:
            logging.getLogger("cdk_ws_api.local").removeHandler(self._log_handler)
            _stop_loop(self._loop, self._thread)
            self._scratch.close()

    def __enter__(self) -> LocalApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _cancel_rest() -> None:
    current = asyncio.current_task()
    rest = [task for task in asyncio.all_tasks() if task is not current]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(_cancel_rest(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    if not thread.is_alive():
        loop.close()


def start(source: Any = None, *, cwd: str | Path | None = None, **options: Any) -> LocalApi:
    """Start serving ``source`` and return the :class:`LocalApi` (call ``close()``); prefer
    :func:`serve`, which closes it."""
    from cdk_ws_api.local.assembly import load_app
    from cdk_ws_api.local.cli import check_dependencies
    from cdk_ws_api.local.emulator import Emulator
    from cdk_ws_api.local.options import EmulatorOptions
    from cdk_ws_api.local.synth import Resynthesizer

    check_dependencies()
    config = EmulatorOptions.from_mapping({"port": 0, **options})
    here = Path.cwd() if cwd is None else Path(cwd)
    scratch = contextlib.ExitStack()
    try:
        assembly, stack, project = _assembly_of(source, config, scratch, here)
        app = load_app(assembly, stack=stack, stage=config.stage)
        captured = _Captured()
        emulator = Emulator(
            app,
            config,
            access_log=captured.access,
            on_output=captured.printed,
            project=project,
            report=captured.lines.append,
            resynthesizer=(
                Resynthesizer(config, project) if config.watch and project is not None else None
            ),
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="cdk-ws-api-local", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(120)
        except OSError as exc:
            _stop_loop(loop, thread)
            raise LocalApiError(
                f"cannot serve on {config.host}:{config.port}: {exc.strerror or exc}"
                + (" (the port is in use)" if exc.errno == 98 else "")
            ) from exc
        except BaseException:
            _stop_loop(loop, thread)
            raise
    except BaseException:
        scratch.close()
        raise
    return LocalApi(emulator, loop, thread, scratch, captured)


@contextlib.contextmanager
def serve(
    source: Any = None, *, cwd: str | Path | None = None, **options: Any
) -> Iterator[LocalApi]:
    """Serve ``source`` locally for the ``with`` block; yields a :class:`LocalApi`.

    ``source``: an ``aws_cdk.App`` (or ``Stage``), a ``Stack`` (served with the rest of its
    assembly), a directory holding ``cdk.json`` (its ``app`` is synthesized) or a cloud
    assembly; default: the project in ``cwd`` (default: the current directory), or the
    ``app=``/``assembly=`` option. ``options`` are :class:`~cdk_ws_api.local.options.
    EmulatorOptions` fields (``stack``, ``stage``, ``concurrency``, ``idle_timeout``...);
    ``port`` defaults to 0 (a free port). ``watch=True`` on a project directory is
    ``--watch``: an edited handler is reloaded, an edited app re-synthesized and applied
    (:attr:`LocalApi.app` and :attr:`LocalApi.ws_url` follow it; reload lines are in
    :attr:`LocalApi.log`). Raises :class:`LocalApiError` (port in use, bad source),
    ``SynthError`` (the app failed), ``OptionError`` or an ``AssemblyError``.
    """
    api = start(source, cwd=cwd, **options)
    try:
        yield api
    finally:
        api.close()


# -- the CLI as a real process ------------------------------------------------------------


class LocalProcess:
    """``cdk-ws-api local`` running as a real process (see :func:`run_local`), for what only a
    real process shows: its banner and output, its exit on SIGTERM, what a SIGKILL leaves
    behind, its memory. The process's combined stdout/stderr is read in a thread into
    :attr:`lines`; the clients are :class:`LocalApi`'s."""

    def __init__(self, process: subprocess.Popen[str], *, region: str = "us-east-1") -> None:
        #: The ``subprocess.Popen`` (``text=True``, stdout a pipe with stderr merged).
        self.process = process
        self.region = region
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._served = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ws_url = self.management_url = self.dynamodb_url = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line.rstrip("\n"))
            if line.startswith("ready"):
                self._served = True
                self._ready.set()
        self._ready.set()  # the output ended: it exited

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait for the ``ready`` line, then read the URLs from the banner; raises
        :class:`LocalApiError` with the output when the process exits or stalls first."""
        if not self._ready.wait(timeout) or not self._served or self.process.poll() is not None:
            raise LocalApiError("cdk-ws-api local did not start:\n" + self.log)
        urls = {}
        for name in ("WebSocket URL", "@connections URL", "DynamoDB endpoint"):
            found = re.search(rf"{name}:\s+(\S+)", self.log)
            if found is None:
                raise LocalApiError(f"no {name} in the banner:\n{self.log}")
            urls[name] = found.group(1)
        self.ws_url = urls["WebSocket URL"]
        self.management_url = urls["@connections URL"]
        self.dynamodb_url = urls["DynamoDB endpoint"]  # ``-`` without a table

    @property
    def lines(self) -> list[str]:
        """Every line the process printed so far (banner, access log, handler output)."""
        return list(self._lines)

    @property
    def log(self) -> str:
        """:attr:`lines`, one per line."""
        return "\n".join(self._lines)

    def wait_for_log(self, pattern: str, timeout: float = 15) -> str:
        """The first printed line matching ``pattern`` (a regex), waiting up to ``timeout``."""
        return _wait_for_line(self._lines, pattern, timeout)

    def connect(
        self,
        query: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        open_timeout: float = 30,
        **kwargs: Any,
    ) -> Any:
        """A real WebSocket client on the stage (as :meth:`LocalApi.connect`)."""
        text = query if isinstance(query, str) or not query else urllib.parse.urlencode(query)
        url = self.ws_url + (f"?{text}" if text else "")
        return _ws_connect(url, headers, open_timeout, kwargs)

    def management_client(self, config: Any = None) -> Any:
        """boto3 ``apigatewaymanagementapi`` on ``@connections`` (as :class:`LocalApi`'s)."""
        return _boto3_client("apigatewaymanagementapi", self.management_url, self.region, config)

    @functools.cached_property
    def dynamodb(self) -> Any:
        """boto3 DynamoDB resource on the process's embedded DynamoDB."""
        import boto3

        if not self.dynamodb_url.startswith("http"):
            raise LocalApiError("the app has no DynamoDB table, so no local DynamoDB runs")
        return boto3.resource(
            "dynamodb",
            endpoint_url=self.dynamodb_url,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait for the exit and return its code; raises :class:`LocalApiError` when
        the process ignores SIGTERM or leaves a descendant process running (those are killed)."""
        if self.process.poll() is not None:
            return self.process.returncode
        children = child_processes(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise LocalApiError("cdk-ws-api local ignored SIGTERM:\n" + self.log[-3000:]) from None
        self._reader.join(5)
        deadline = time.monotonic() + 5
        while any(is_running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [pid for pid in children if is_running(pid)]
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if survivors:
            raise LocalApiError(f"processes left running after shutdown: {survivors}")
        return code


def run_local(
    args: Sequence[str] = (),
    *,
    cwd: str | Path | None = None,
    timeout: float = 120,
    region: str = "us-east-1",
) -> LocalProcess:
    """Run ``python -m cdk_ws_api local ARGS --port 0`` (the CLI's flags, see
    ``cdk-ws-api local --help``) in ``cwd`` and wait until it serves; stop it with
    :meth:`LocalProcess.stop`. ``region`` is the one the clients use (the app's)."""
    command = [sys.executable, "-m", "cdk_ws_api", "local", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        cwd=None if cwd is None else str(cwd),
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = LocalProcess(process, region=region)
    try:
        running.wait_ready(timeout)
    except BaseException:
        process.kill()
        process.wait(10)
        raise
    return running


# -- pytest plugin (entry point ``pytest11``: cdk_ws_api = cdk_ws_api.testing) ---------------

try:
    import pytest as _pytest
except ImportError:  # pragma: no cover - used without pytest (template_snapshot in a script)
    _pytest = None  # type: ignore[assignment]

if _pytest is not None:

    def pytest_addoption(parser: Any) -> None:
        parser.addini(
            "cdk_ws_api_app",
            "what the local_api fixture serves: a directory with cdk.json or a cloud "
            "assembly, relative to the rootdir (default: the rootdir)",
            default="",
        )
        parser.addini(
            "cdk_ws_api_stack",
            "the stack local_api serves (default: the first with a WebSocket API)",
            default="",
        )

    @_pytest.fixture(scope="session")
    def local_api_session(pytestconfig: Any) -> Iterator[LocalApi]:
        """The project's API served for the whole session (see ``local_api``)."""
        root = Path(str(pytestconfig.rootpath))
        source = root / (pytestconfig.getini("cdk_ws_api_app") or ".")
        stack = pytestconfig.getini("cdk_ws_api_stack") or None
        with serve(source, cwd=root, stack=stack) as api:
            yield api

    @_pytest.fixture
    def local_api(local_api_session: LocalApi) -> Iterator[LocalApi]:
        """The session's local API with this test's captured lines only; afterwards open
        connections are closed and tables emptied (:meth:`LocalApi.reset`)."""
        local_api_session.clear()
        yield local_api_session
        local_api_session.reset()


def __getattr__(name: str) -> Any:
    # The syrupy extension is built on first use: syrupy is a test dependency only.
    if name == "TemplateSnapshotExtension":
        from syrupy.extensions.json import JSONSnapshotExtension

        class TemplateSnapshotExtension(JSONSnapshotExtension):  # type: ignore[misc]
            """Each snapshot in its own ``.json`` file, keys sorted, indented: a review diff
            shows the resources that changed."""

            def serialize(self, data: Any, **kwargs: Any) -> str:
                text = super().serialize(data, **kwargs)
                return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"

        globals()[name] = TemplateSnapshotExtension
        return TemplateSnapshotExtension
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

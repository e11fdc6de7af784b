"""The emulator as one object: embedded DynamoDB, worker pools and the gateway, started and
stopped together.

How handlers' boto3 reaches local services, with no code change:

- DynamoDB: ``AWS_ENDPOINT_URL_DYNAMODB`` → the embedded moto server (tables created from
  the template; ``Ref`` of a table resolves to its local name). Every other AWS service goes
  to moto too (``AWS_ENDPOINT_URL``), so nothing reaches the internet; credentials are local,
  one set per function standing for its execution role, whose policies are enforced in front
  of moto and of ``@connections`` (``--iam``, see :mod:`.iam`).
  moto (about 80 MiB) is used only when the template has a table, a queue, a bus, a state
  machine, a stream or an AWS integration, and started on the first connection to its
  endpoint (see :mod:`.dynamodb`). Without a table,
  ``AWS_ENDPOINT_URL`` is ``http://HOST:PORT/-no-local-service-`` on the emulator's own
  port, which answers every request there with a 501 ``NotImplemented`` error naming the
  service (JSON or XML, whichever the SDK's protocol parses), so a handler's boto3 call fails
  at once with a clear message and still nothing leaves the machine.
- ``@connections``: ``WS_API_MANAGEMENT_ENDPOINT`` and
  ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`` are ``http://HOST:PORT/{stage}``; environment
  values holding the API's AWS URLs (``https://{api}.execute-api.{region}.amazonaws.com/...``,
  ``wss://…``) are rewritten to ``http://HOST:PORT/...`` / ``ws://HOST:PORT``; and each worker
  registers a botocore hook that redirects ``apigatewaymanagementapi`` calls addressed to
  the API's AWS domain or to ``https://{domainName}`` (built from the event) to the local
  plain-HTTP endpoint; calls to any other ``*.amazonaws.com`` domain get a local 403
  ``ForbiddenException`` instead of leaving the machine.
- Lambda: ``AWS_ENDPOINT_URL_LAMBDA`` is ``http://HOST:PORT``, where :mod:`.invoke` serves
  the Invoke API for every function of the assembly (other stacks' too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from lambda_runtime.env import MANAGEMENT_ENDPOINT  # one wheel ships both packages

from .applied import AppliedChanges
from .assembly import LocalApp
from .bus import EventBus, OutputRecord
from .console import CONSOLE_PATH, Console, StaticFiles
from .dynamodb import FAKE_CREDENTIALS, LocalDynamoDB
from .event_sources import EventSources, SqsPoller
from .exceptions import LocalEmulatorError, OptionError
from .gateway import Gateway
from .httpparse import HttpRequest
from .iam.local import LocalIam
from .integrations import LocalAws
from .intrinsics import localize_urls
from .invoke import INVOKE_PREFIX, InvokeApi, find_function
from .management import HttpResponse, ManagementApi
from .management.urls import CONNECTIONS_SEGMENT
from .options import EmulatorOptions
from .registry import Registry
from .router import AccessLog, AccessLogger, HttpRouter, forbidden, json_response
from .specs import FunctionSpec
from .synth import Resynthesizer
from .unemulated import service_of, unemulated_service_response
from .watch import Watcher
from .worker_entry import REWRITES_ENV
from .workers import OutputSink, WorkerPool, WorkerPools, worker_environment

__all__ = ["NO_SERVICE_PREFIX", "OTHER_API_PREFIX", "Emulator", "EmulatorOptions"]

logger = logging.getLogger("cdk_ws_api.local")

#: Path prefix of ``@connections`` calls addressed to an API this emulator does not serve.
OTHER_API_PREFIX = "-other-api-"
#: ``AWS_ENDPOINT_URL`` path on the emulator's port when no moto server runs (no table).
NO_SERVICE_PREFIX = "-no-local-service-"


def _log_output(function: str, line: str) -> None:
    logger.info("[%s] %s", function, line)


def _default_access_log(line: str) -> None:
    logger.info("%s", line)


class Emulator:
    """``await start()`` then clients use :attr:`websocket_url` / :attr:`management_url`;
    ``await stop()`` runs ``$disconnect`` for open connections and stops every process.

    The one place the parts are put together: the connection registry, the ``@connections``
    API, the HTTP router and its planes, the WebSocket gateway, the worker pools and the
    embedded DynamoDB. Only ``options``' serving knobs are read here (``app``/``assembly``...
    are the caller's business: it passes the loaded ``app``).
    """

    def __init__(
        self,
        app: LocalApp,
        options: EmulatorOptions | None = None,
        *,
        access_log: AccessLog | None = None,
        on_output: OutputSink | None = None,
        project: Path | None = None,
        report: Callable[[str], None] | None = None,
        resynthesizer: Resynthesizer | None = None,
    ) -> None:
        self.app = app
        #: The app's directory, watched with the functions' folders under ``--watch``.
        self.project = project
        #: Re-synthesizes ``project`` when its own sources change under ``--watch`` (the
        #: emulator closes it on :meth:`stop`); ``None``: such changes are only reported.
        self.resynthesizer = resynthesizer
        self.watcher: Watcher | None = None
        self._report = report or (lambda line: logger.info("%s", line))
        self.options = options or EmulatorOptions()
        if access_log is None:
            access_log = (lambda line: None) if self.options.quiet else _default_access_log
        self._on_output = on_output or _log_output
        #: What the gateway, ``@connections`` and the workers publish (see :mod:`.bus`).
        self.bus = EventBus()
        #: Each function's calls checked against its role (``--iam``); denials are logged
        #: and published on the bus as :class:`~.iam.local.IamDenialRecord`.
        self.iam = LocalIam(
            app.permissions,
            mode=self.options.iam,
            region=app.api.region,
            account=app.api.account,
            api_id=app.api.api_id,
            bus=self.bus,
        )
        self.dynamodb = LocalDynamoDB(
            region=app.api.region, iam=self.iam.moto_config(), on_output=self.iam.moto_output
        )
        self._log = AccessLogger(access_log, self.bus)
        self.pools = WorkerPools({})
        self.registry = Registry()
        self.router = HttpRouter(fallback=self._stage_or_forbidden)
        self.gateway = Gateway(
            app,
            self.pools,
            self.registry,
            self.options,
            http=self.router.handle,
            access=self._log,
            bus=self.bus,
        )
        self.management = ManagementApi(self.registry, self.gateway, stages=(app.api.stage,))
        # Non-Lambda integrations and SQS event sources (see :mod:`.integrations`).
        self.aws = LocalAws(
            endpoint=lambda: self.dynamodb.endpoint,
            region=app.api.region,
            base_credentials=(
                FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                None,
            ),
        )
        self.gateway.integrations.use_local_aws(self.aws)
        hosts = self.options.http_integration_hosts
        self.gateway.integrations.allow_http_hosts(hosts)
        for host in sorted(hosts):
            app.warnings.append(
                f"HTTP integrations may call {host} (--allow-http-integration): requests "
                "leave this machine"
            )
        self.event_sources = EventSources([])
        #: Serializes :meth:`apply`; pools of removed functions closing in the background.
        self._applying = asyncio.Lock()
        self._closing_pools: set[asyncio.Future[None]] = set()
        self.router.mount(f"/*/{CONNECTIONS_SEGMENT}", self._connections_plane)
        self.router.mount(f"/{NO_SERVICE_PREFIX}", self._unemulated_plane)
        self.invoke_api = InvokeApi(
            lambda: self.app.functions,
            self.pools,
            self._log,
            region=app.api.region,
            account=app.api.account,
        )
        self.router.mount(INVOKE_PREFIX, self._invoke_plane)
        #: The browser console (``None`` with ``no_console``), on both planes.
        self.console: Console | None = None
        if not self.options.no_console:
            self.console = Console(self)
            self.router.mount(CONSOLE_PATH.rstrip("/"), self.console.handle_http)
            self.gateway.websocket_mounts.append(self.console)
        self._static: StaticFiles | None = None
        if self.options.static is not None:
            static_dir = Path(self.options.static)
            if not static_dir.is_dir():
                raise OptionError(f"static: {static_dir} is not a directory")
            self._static = StaticFiles(static_dir, mount="/")
            self.router.mount("/", self._static_plane)

    # -- the HTTP planes ---------------------------------------------------------------

    async def _connections_plane(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        started = time.monotonic()
        denied = self.iam.check_connections(request.method, parts, request.header("Authorization"))
        if denied is None:
            response = await self.management.handle(request.method, parts, request.body)
        else:
            status, headers, body = denied
            response = HttpResponse(status, body, headers)
        self._log(request.method, CONNECTIONS_SEGMENT, parts[-1], response.status, started)
        return response

    async def _invoke_plane(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        # lambda:InvokeFunction on the function's ARN, checked before the Invoke API runs.
        if len(parts) > 3 and request.method == "POST":
            started = time.monotonic()
            key = find_function(self.app.functions, parts[3])
            target = self.app.functions[key].arn if key is not None else parts[3]
            denied = self.iam.check_invoke(target, request.header("Authorization"))
            if denied is not None:
                status, headers, body = denied
                self._log(request.method, "(Invoke)", parts[3], status, started)
                return HttpResponse(status, body, headers)
        return await self.invoke_api.handle(request, parts)

    async def _unemulated_plane(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        started = time.monotonic()
        response = unemulated_service_response(request)
        self._log(request.method, "(AWS)", service_of(request), response.status, started)
        return response

    async def _static_plane(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        # "/" matches every path: the stage's own URL keeps API Gateway's answer.
        if parts[1:] in ([self.app.api.stage], [self.app.api.stage, ""]):
            return await self._stage_or_forbidden(request, parts)
        assert self._static is not None
        response = self._static.respond(request.method, request.path)
        return response if response is not None else await forbidden(request, parts)

    async def _stage_or_forbidden(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        # The stage's own URL without an upgrade: what API Gateway answers a plain GET there.
        if parts[1:] in ([self.app.api.stage], [self.app.api.stage, ""]):
            return json_response(426, {"message": "Upgrade Required"})
        return await forbidden(request, parts)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def websocket_url(self) -> str:
        return f"ws://{self.gateway.domain_name}/{self.app.api.stage}"

    @property
    def management_url(self) -> str:
        return f"http://{self.gateway.domain_name}/{self.app.api.stage}"

    @property
    def console_url(self) -> str | None:
        """The console's URL with this run's token (``None`` with ``no_console``)."""
        return self.console.url if self.console is not None else None

    @property
    def static_url(self) -> str | None:
        """Where ``static`` is served, if any."""
        return f"http://{self.gateway.domain_name}/" if self._static is not None else None

    async def start(self) -> None:
        if self.app.needs_moto:  # moto itself starts on first use
            await self.dynamodb.open(self.app.tables, self.app.resources)
        try:
            await self.gateway.start()
        except BaseException:
            await self.dynamodb.stop()
            raise
        if self.console is not None:
            self.console.start()
        # Workers need the bound port, so their pools are built once the socket is bound.
        for logical_id, env in self._environments(self.app).items():
            self.pools.add(logical_id, self._pool(self.app.functions[logical_id], env))
        self.event_sources = self._event_sources(self.app)
        self.event_sources.start()
        if self.options.watch:
            await self._start_watching()

    def _environments(self, app: LocalApp) -> dict[str, dict[str, str]]:
        """Each function's worker environment for ``app`` served on the bound port: local
        endpoints, the function's own credentials, and its variables' AWS URLs made local."""
        local = self.gateway.domain_name
        api = app.api
        domains = {api.aws_domain: local}
        rewrites = {
            host.lower(): f"http://{local}"
            for host in (
                api.aws_domain,
                local,
                f"localhost:{self.gateway.port}",
                f"127.0.0.1:{self.gateway.port}",
            )
        }
        # Any other API Gateway domain is not served here: its calls get a local 403.
        rewrites["*"] = f"http://{local}/{OTHER_API_PREFIX}"
        management_url = f"http://{local}/{api.stage}"
        overrides = {
            **self.dynamodb.environment(),
            MANAGEMENT_ENDPOINT: management_url,
            "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": management_url,
            # The Invoke API on this port: a function invoking another stays local.
            "AWS_ENDPOINT_URL_LAMBDA": f"http://{local}",
            REWRITES_ENV: json.dumps(rewrites),
        }
        if self.dynamodb.endpoint is None:
            # No moto: every AWS call is answered here with a clear error, never sent out.
            overrides["AWS_ENDPOINT_URL"] = f"http://{local}/{NO_SERVICE_PREFIX}"
        environments = {}
        for logical_id, spec in app.functions.items():
            # Each function's own credentials: they stand for its execution role.
            own = {**overrides, **self.iam.credentials(logical_id)}
            env = worker_environment(spec, region=api.region, overrides=own)
            for name, value in list(env.items()):
                if name not in own:
                    env[name] = localize_urls(value, domains)
            environments[logical_id] = env
        return environments

    def _pool(self, spec: FunctionSpec, env: dict[str, str]) -> WorkerPool:
        return WorkerPool(
            spec,
            env,
            concurrency=self.options.concurrency,
            on_output=self._output,
            idle_timeout=self.options.worker_idle_seconds,
            bus=self.bus,
        )

    def _event_sources(self, app: LocalApp) -> EventSources:
        return EventSources(
            [
                SqsPoller(mapping, self.aws, self._invoke_function, account=app.api.account)
                for mapping in app.event_sources
                if mapping.enabled
            ]
        )

    async def apply(self, app: LocalApp) -> AppliedChanges:
        """Serve ``app`` (the project re-synthesized under ``--watch``) in place of the
        current one, without a restart; returns what changed.

        - Routes, authorizers, models and stage variables take effect from the next
          handshake or message; open connections stay open.
        - The served stage gone (renamed or removed): its connections are closed with 1001
          "Going away" and their ``$disconnect`` runs on the old app; then ``app``'s stage is
          served (its first, or ``--stage`` when it still exists).
        - Functions: new ones get a pool, removed ones' pools close (after their invocations
          in flight), changed ones (code folder, handler, environment, timeout, role...) are
          replaced as a handler edit is: in-flight invocations finish on the old definition.
        - Tables, queues and other moto resources new in ``app`` are created; existing ones
          keep their items; ones ``app`` dropped stay in moto until the emulator stops.
        - IAM permissions are replaced here and in moto; SQS event sources restart when
          their mappings changed.

        Calls are serialized. When moto cannot create a new table, the rest of ``app`` is
        served and the reason is in the changes' ``errors``.
        """
        async with self._applying:
            return await self._apply(app)

    async def _apply(self, app: LocalApp) -> AppliedChanges:
        old = self.app
        changes = AppliedChanges.between(old, app)
        if app.api.stage != old.api.stage:
            # Closed on the old app, so their $disconnect is the one they connected with.
            changes.closed = await self.gateway.close_connections()
        self.iam.configure(
            app.permissions,
            mode=self.options.iam,
            region=app.api.region,
            account=app.api.account,
            api_id=app.api.api_id,
        )
        if app.needs_moto or self.dynamodb.endpoint is not None:
            try:
                changes.created = await self.dynamodb.add(app.tables, app.resources)
                await self.dynamodb.configure_iam(self.iam.moto_config())
            except (LocalEmulatorError, OSError, asyncio.TimeoutError) as exc:
                changes.errors.append(str(exc))  # the rest is applied all the same
        # New and changed pools first, then the routes that reach them, then the pools of
        # removed functions go: no message finds a route without its function.
        environments = self._environments(app)
        for logical_id, env in environments.items():
            spec = app.functions[logical_id]
            pool = self.pools.get(logical_id)
            if pool is None:
                self.pools.add(logical_id, self._pool(spec, env))
            elif pool.spec != spec or pool.env != env:
                pool.replace(spec, env)
                changes.replaced.append(spec.name)
        self.app = app
        self.gateway.use_app(app)
        self.management.stages = (app.api.stage,)
        for logical_id in self.pools.ids():
            if logical_id not in environments:
                removed = self.pools.remove(logical_id)
                if removed is not None:
                    retiring = asyncio.ensure_future(removed.retire())
                    self._closing_pools.add(retiring)
                    retiring.add_done_callback(self._closing_pools.discard)
        if app.event_sources != old.event_sources or changes.created:
            await self.event_sources.stop()
            self.event_sources = self._event_sources(app)
            self.event_sources.start()
        return changes

    async def _invoke_function(self, function: str, event: object) -> object:
        # Event sources invoke with the function's own timeout, not the integration's.
        pool = self.pools.get(function)
        if pool is None:
            raise LookupError(f"no local function {function}")
        return (await pool.invoke(event)).result

    def _output(self, function: str, line: str) -> None:
        self._on_output(function, line)
        if self.bus.active:
            self.bus.publish(OutputRecord(function, line, time.time()))

    async def _start_watching(self) -> None:
        self.watcher = Watcher(
            lambda: self.app.functions,
            self.pools,
            project=self.project,
            report=self._report,
            reload_app=self._reload_app if self.resynthesizer is not None else None,
            served_live=[self._static.root] if self._static is not None else [],
        )
        await self.watcher.start()
        self._report("watching: " + ", ".join(str(p) for p in self.watcher.folders()))

    async def _reload_app(self) -> str:
        """Re-synthesize the project (in a thread: it blocks for seconds) and :meth:`apply`
        it; returns the reload line's account of it."""
        assert self.resynthesizer is not None
        started = time.monotonic()
        app = await asyncio.to_thread(self.resynthesizer.load, self.app.api.stage)
        synthesized = time.monotonic()
        known = set(self.app.warnings)
        changes = await self.apply(app)
        applied_ms = (time.monotonic() - synthesized) * 1000
        for warning in app.warnings:
            if warning not in known:
                self._report(f"  WARNING: {warning}")
        return (
            f"{changes.describe()} (synth {synthesized - started:.1f} s, "
            f"applied in {applied_ms:.0f} ms)"
        )

    async def stop(self) -> None:
        if self.resynthesizer is not None:
            self.resynthesizer.close()  # a synth in progress is killed, not waited for
        if self.watcher is not None:
            await self.watcher.stop()
        await asyncio.gather(*self._closing_pools, return_exceptions=True)
        try:
            await self.event_sources.stop()
            if self.console is not None:
                await self.console.stop()
            await self.gateway.close()
            await self.invoke_api.close()
        finally:
            await self.pools.close()
            await self.dynamodb.stop()

"""``cdk-ws-api local``: serve a synthesized WebSocket API on localhost.

Prints the WebSocket URL, the ``@connections`` endpoint, the routes and the functions, then
one access-log line per event (kind, route, connection id, status, duration) and the
handlers' output prefixed with their function name. Ctrl-C or SIGTERM closes every
connection (``$disconnect`` runs), stops the workers and the moto server (started on first
use, only for a template with a DynamoDB table or something else moto serves), and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from . import options
from .assembly import LocalApp, load_app
from .exceptions import LocalEmulatorError, MissingDependencyError
from .intrinsics import localize_urls
from .options import EmulatorOptions
from .synth import Resynthesizer, assembly_for

__all__ = ["LOCAL_EXTRA", "add_arguments", "check_dependencies", "describe", "run"]

logger = logging.getLogger("cdk_ws_api.local")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``local`` on ``parser`` (one flag per :mod:`.options` entry)."""
    options.add_arguments(parser)


def describe(
    app: LocalApp,
    websocket_url: str,
    management_url: str,
    dynamodb_url: str | None = None,
    *,
    console_url: str | None = None,
    static_url: str | None = None,
) -> str:
    """The banner printed at start: URLs, routes, functions and warnings."""
    api = app.api
    lines = [
        f"cdk-ws-api local: stack {app.stack}, API {api.name} ({api.api_id}), stage {api.stage}",
        f"  WebSocket URL:        {websocket_url}",
        f"  @connections URL:     {management_url}",
        f"  Lambda Invoke API:    {management_url.rsplit('/', 1)[0]}  (every function below)",
        f"  DynamoDB endpoint:    {dynamodb_url or '- (no table: no moto server)'}",
        f"  Console:              {console_url or '- (--no-console)'}",
    ]
    if static_url:
        lines.append(f"  Static files:         {static_url}")
    lines += [
        f"  route selection:      {api.route_selection_expression}",
        "  routes:",
    ]
    for key, route in sorted(api.routes.items()):
        target = route.integration.describe() if route.integration else "(no integration)"
        extras = []
        if route.authorizer:
            extras.append(f"authorizer {api.authorizers[route.authorizer].name}")
        if route.return_response:
            extras.append("route response")
        suffix = f"  [{', '.join(extras)}]" if extras else ""
        lines.append(f"    {key:<16} -> {target}{suffix}")
    lines.append("  functions:")
    for logical_id, spec in sorted(app.functions.items()):
        lines.append(
            f"    {logical_id:<28} {spec.handler:<24} timeout {spec.timeout:g}s  {spec.code_dir}"
        )
    if app.tables:
        lines.append("  tables: " + ", ".join(t.name for t in app.tables))
    if app.resources:
        created = ", ".join(f"{r.service}:{r.name}" for r in app.resources)
        lines.append(f"  created in moto: {created}")
    for mapping in app.event_sources:
        lines.append(
            f"  event source: {mapping.queue.name} -> {mapping.function} (batch "
            f"{mapping.batch_size}, window {mapping.batch_window:g}s"
            f"{', ReportBatchItemFailures' if mapping.report_batch_item_failures else ''})"
        )
    if app.outputs:
        lines.append("  stack outputs (local values):")
        domains = {api.aws_domain: urlsplit(websocket_url).netloc}
        for name, value in sorted(app.outputs.items()):
            lines.append(f"    {name:<40} {localize_urls(value, domains)}")
    local = f"python{sys.version_info.major}.{sys.version_info.minor}"
    declared = sorted({spec.runtime for spec in app.functions.values()} - {local})
    if declared:
        lines.append(
            f"  note: functions declare {', '.join(declared)}; they run on this {local} "
            f"({sys.executable})"
        )
    for warning in app.warnings:
        lines.append(f"  WARNING: {warning}")
    return "\n".join(lines)


#: Packages of the ``local`` extra, by import name.
LOCAL_EXTRA = ("websockets", "moto", "flask", "werkzeug", "airspeed", "jsonpath_ng", "jsonschema")


def check_dependencies(names: tuple[str, ...] = LOCAL_EXTRA) -> None:
    """Raise :class:`MissingDependencyError` naming what to install when the emulator's
    packages are not importable (``pip install cdk-ws-api`` alone does not bring them)."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"the local emulator needs {', '.join(missing)}: pip install 'cdk-ws-api[local]'"
        )


def run(args: argparse.Namespace) -> int:
    """Run ``local`` until interrupted; returns the exit status."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    for noisy in ("websockets", "asyncio", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        check_dependencies()
        config = EmulatorOptions.from_namespace(args)
        with contextlib.ExitStack() as stack:
            assembly = assembly_for(config, stack, announce=lambda line: print(line, flush=True))
            app = load_app(assembly, stack=config.stack, stage=config.stage)
            return asyncio.run(_serve(app, config))
    except LocalEmulatorError as exc:
        print(f"cdk-ws-api local: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # typically: the port is taken
        print(f"cdk-ws-api local: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while synthesizing, before the signal handlers exist
        return 130


async def _serve(app: LocalApp, config: EmulatorOptions) -> int:
    # websockets and the servers are imported only when serving, not for --help or errors
    from .emulator import Emulator

    # Under --watch the app's own directory is watched too when the emulator synthesized it.
    project = Path.cwd() if config.watch and config.assembly is None else None
    emulator = Emulator(
        app,
        config,
        project=project,
        report=lambda line: print(line, flush=True),
        # Its own sources changing: synthesized again and applied (see .watch).
        resynthesizer=Resynthesizer(config, project) if project is not None else None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await emulator.start()
    try:
        banner = describe(
            app,
            emulator.websocket_url,
            emulator.management_url,
            emulator.dynamodb.endpoint,
            console_url=emulator.console_url,
            static_url=emulator.static_url,
        )
        print(banner, flush=True)
        print("ready (Ctrl-C to stop)", flush=True)
        await stop.wait()
        print("shutting down: closing connections", flush=True)
    finally:
        await emulator.stop()
    print("stopped", flush=True)
    return 0

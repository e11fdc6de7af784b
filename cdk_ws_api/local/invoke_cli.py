"""``cdk-ws-api local invoke NAME [--event FILE|-]``: invoke one function of the assembly.

Through a running emulator when one answers on ``--endpoint`` (default
``http://HOST:PORT`` of the ``local`` options: 127.0.0.1:3001), recognized by the Invoke
API's marker header; otherwise standalone: the app is synthesized (or ``--assembly`` read) and
served on a free port for this one call, then stopped. Either way the call is a real
``boto3`` ``lambda.invoke`` with ``LogType: Tail``, so what it prints is what Lambda returns:
the result (or the error payload) as JSON on stdout, the invocation's log (its last 4 KB, as
on Lambda) on stderr. Exit status: 0, 1 when the function failed, 2 when it could not be
invoked (unknown function, bad event file, no assembly...).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from .exceptions import LocalEmulatorError
from .options import EmulatorOptions, add_arguments

__all__ = ["InvokeError", "InvokeResult", "add_invoke_arguments", "invoke_function", "run_invoke"]


class InvokeError(LocalEmulatorError):
    """The function could not be invoked (not found, unreadable event, ...)."""


@dataclass(frozen=True)
class InvokeResult:
    """What ``lambda.invoke`` answered: ``error`` is ``X-Amz-Function-Error`` (``None`` on
    success), ``payload`` the decoded JSON result or error payload, ``log`` the Tail log."""

    status: int
    error: str | None
    payload: Any
    log: str
    request_id: str


def add_invoke_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="function name, ARN, logical id or construct path")
    parser.add_argument("--event", metavar="FILE", help="JSON event, '-' for stdin (default: {})")
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="a running emulator (default: http://HOST:PORT if one answers there, else standalone)",
    )
    # The local options may also follow the subcommand; SUPPRESS keeps the ones given
    # before it (argparse would otherwise overwrite them with defaults).
    add_arguments(parser, suppress_defaults=True)


def _read_event(source: str | None, stdin: TextIO) -> Any:
    if source is None:
        return {}
    try:
        text = stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise InvokeError(f"--event {source}: {exc}") from exc
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise InvokeError(f"--event {source}: not JSON ({exc})") from exc


def _answers(url: str) -> bool:
    """Whether a cdk-ws-api emulator serves ``url``: a ``DryRun`` of no function answers 404
    with the Invoke API's marker header."""
    import urllib.error
    import urllib.request

    from .invoke import INVOKE_PREFIX, LOCAL_MARKER

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1):
            pass
    except OSError:
        return False
    request = urllib.request.Request(
        f"{url.rstrip('/')}{INVOKE_PREFIX}/-probe-/invocations",
        data=b"{}",
        method="POST",
        headers={"X-Amz-Invocation-Type": "DryRun"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.headers.get(LOCAL_MARKER) is not None
    except urllib.error.HTTPError as error:
        return error.headers.get(LOCAL_MARKER) is not None
    except OSError:
        return False


def invoke_function(
    endpoint: str,
    name: str,
    event: Any,
    *,
    region: str = "us-east-1",
    invocation_type: str = "RequestResponse",
) -> InvokeResult:
    """``lambda.invoke`` of ``name`` at ``endpoint`` (``LogType: Tail``). Raises
    :class:`InvokeError` when the function could not be invoked (unknown, bad request)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, read_timeout=960),
    )
    try:
        answer = client.invoke(
            FunctionName=name,
            Payload=json.dumps(event).encode(),
            InvocationType=invocation_type,
            LogType="Tail" if invocation_type == "RequestResponse" else "None",
        )
    except ClientError as exc:
        error = exc.response["Error"]
        raise InvokeError(f"{error.get('Code')}: {error.get('Message')}") from exc
    except BotoCoreError as exc:
        raise InvokeError(f"{endpoint}: {exc}") from exc
    raw = answer["Payload"].read()
    return InvokeResult(
        status=answer["StatusCode"],
        error=answer.get("FunctionError"),
        payload=json.loads(raw) if raw else None,
        log=base64.b64decode(answer.get("LogResult", "")).decode(errors="replace"),
        request_id=answer["ResponseMetadata"].get("RequestId", ""),
    )


async def _standalone(config: EmulatorOptions, name: str, event: Any) -> InvokeResult:
    from .assembly import load_app
    from .emulator import Emulator
    from .synth import assembly_for

    with contextlib.ExitStack() as scratch:
        announce = (
            (lambda line: None)
            if config.quiet
            else (lambda line: print(line, file=sys.stderr, flush=True))
        )
        assembly = await asyncio.to_thread(assembly_for, config, scratch, announce=announce)
        app = load_app(assembly, stack=config.stack, stage=config.stage)
        # Handler output reaches the caller through the Tail log; nothing else is printed.
        emulator = Emulator(
            app, config.replace(port=0, quiet=True), on_output=lambda function, line: None
        )
        await emulator.start()
        try:
            endpoint = f"http://{emulator.gateway.domain_name}"
            return await asyncio.to_thread(
                invoke_function, endpoint, name, event, region=app.api.region
            )
        finally:
            await emulator.stop()


def run_invoke(args: argparse.Namespace, *, stdin: TextIO = sys.stdin) -> int:
    """Run ``local invoke``; returns the exit status."""
    try:
        config = EmulatorOptions.from_namespace(args)
        event = _read_event(args.event, stdin)
        endpoint = args.endpoint
        if endpoint is None:
            host = f"[{config.host}]" if ":" in config.host else config.host
            candidate = f"http://{host}:{config.port}"
            endpoint = candidate if config.port and _answers(candidate) else None
        elif not _answers(endpoint):
            raise InvokeError(f"--endpoint {endpoint}: no cdk-ws-api emulator answers there")
        if endpoint is not None:
            outcome = invoke_function(endpoint, args.name, event, region="us-east-1")
        else:
            outcome = asyncio.run(_standalone(config, args.name, event))
    except LocalEmulatorError as exc:
        print(f"cdk-ws-api local invoke: error: {exc}", file=sys.stderr)
        return 2
    if outcome.log:
        sys.stderr.write(outcome.log)
        sys.stderr.flush()
    print(json.dumps(outcome.payload, indent=2))
    return 1 if outcome.error else 0

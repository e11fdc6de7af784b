"""Cloud assembly (``cdk.out``) → the stack to serve.

:func:`list_stacks` walks ``manifest.json`` (top-level stacks and nested ``assembly-*``
stages); :func:`load_app` picks the stack (by ``--stack``, or the first one holding a
``WEBSOCKET`` ``AWS::ApiGatewayV2::Api``) and returns a :class:`LocalApp` built by
:mod:`.template`. Agnostic stacks get region ``us-east-1`` and account ``123456789012``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .exceptions import AssemblyError, NoWebSocketApiError, StackNotFoundError
from .specs import LocalApp, StackTemplate
from .template import read_stack, websocket_apis

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "LocalApp",
    "StackTemplate",
    "list_stacks",
    "load_app",
]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


def list_stacks(assembly_dir: str | Path) -> list[StackTemplate]:
    """Every CloudFormation stack of the assembly, nested stage assemblies included.

    Raises :class:`AssemblyError` when ``manifest.json`` is missing or unreadable.
    """
    return list(_walk(Path(assembly_dir)))


def _walk(directory: Path) -> Iterator[StackTemplate]:
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise AssemblyError(f"{directory} is not a cloud assembly: {exc}") from exc
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        kind = artifact.get("type")
        props = artifact.get("properties") or {}
        if kind == "aws:cloudformation:stack":
            template_path = directory / props["templateFile"]
            try:
                template = json.loads(template_path.read_text())
            except (OSError, ValueError) as exc:
                raise AssemblyError(f"cannot read {template_path}: {exc}") from exc
            region, account = _environment(artifact.get("environment", ""))
            yield StackTemplate(
                name=props.get("stackName") or artifact_id,
                artifact_id=artifact_id,
                display_name=artifact.get("displayName") or artifact_id,
                template=template,
                directory=directory,
                region=region,
                account=account,
            )
        elif kind == "cdk:cloud-assembly" and props.get("directoryName"):
            yield from _walk(directory / props["directoryName"])


def _environment(env: str) -> tuple[str, str]:
    # "aws://123456789012/eu-west-1", or "unknown-account"/"unknown-region" for agnostic stacks.
    account, region = DEFAULT_ACCOUNT, DEFAULT_REGION
    if env.startswith("aws://"):
        parts = env[len("aws://") :].split("/")
        if len(parts) == 2:
            if parts[0] and not parts[0].startswith("unknown"):
                account = parts[0]
            if parts[1] and not parts[1].startswith("unknown"):
                region = parts[1]
    return region, account


def load_app(
    assembly_dir: str | Path, *, stack: str | None = None, stage: str | None = None
) -> LocalApp:
    """Read the assembly and return what to serve.

    ``stack`` selects by stack name, artifact id or display path (``Stage/Stack``); by default
    the first stack holding a ``WEBSOCKET`` API. ``stage`` defaults to the API's first stage.
    Raises :class:`StackNotFoundError` or :class:`NoWebSocketApiError` with the choices found.
    """
    stacks = list_stacks(assembly_dir)
    if stack is not None:
        chosen = [s for s in stacks if stack in (s.name, s.artifact_id, s.display_name)]
        if not chosen:
            names = ", ".join(s.display_name for s in stacks) or "none"
            raise StackNotFoundError(f"no stack named {stack!r} (stacks: {names})")
    else:
        chosen = [s for s in stacks if websocket_apis(s.template)]
        if not chosen:
            names = ", ".join(s.display_name for s in stacks) or "none"
            raise NoWebSocketApiError(f"no stack declares a WEBSOCKET API (stacks: {names})")
    return read_stack(chosen[0], stage=stage)

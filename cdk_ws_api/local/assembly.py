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
from .template import read_exports, read_other_stack, read_stack, websocket_apis

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "LocalApp",
    "StackTemplate",
    "assembly_exports",
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


def assembly_exports(stacks: list[StackTemplate]) -> dict[str, str]:
    """Every ``Export.Name`` of the assembly → its local value. An export may be built from
    another stack's export, so passes repeat until nothing new resolves (at most one pass
    per stack)."""
    exports: dict[str, str] = {}
    for _ in range(len(stacks)):
        before = len(exports)
        for stack in stacks:
            exports.update(read_exports(stack, exports=exports))
        if len(exports) == before:
            break
    return exports


def load_app(
    assembly_dir: str | Path, *, stack: str | None = None, stage: str | None = None
) -> LocalApp:
    """Read the assembly and return what to serve.

    ``stack`` selects by stack name, artifact id or display path (``Stage/Stack``); by default
    the first stack holding a ``WEBSOCKET`` API. The other stacks' functions and tables are
    added to it (see the module's docstring). ``stage`` defaults to the API's first stage.
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
    served = chosen[0]
    exports = assembly_exports(stacks)
    app = read_stack(served, stage=stage, exports=exports)
    for other in stacks:
        # A stack with a WebSocket API of its own is another `--stack` to serve, not a
        # backend of this one: its functions and tables stay out.
        if other is served or websocket_apis(other.template):
            continue
        functions, tables, warnings, permissions = read_other_stack(other, exports=exports)
        app.functions.update(functions)
        app.tables.extend(tables)
        if app.permissions is not None:
            app.permissions.merge(permissions)
        app.warnings.extend(f"stack {other.display_name}: {w}" for w in warnings)
    return app

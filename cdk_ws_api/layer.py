"""The ``lambda_runtime`` Lambda layer, staged locally and deterministically (no Docker).

The layer's asset directory is ``python/lambda_runtime/`` holding the package's ``*.py`` files
and ``py.typed`` (never ``__pycache__`` or ``*.pyc``). Its asset hash is a SHA-256 of the
relative paths and contents of those files only, so it is the same on every run and machine
and changes exactly when the runtime's code changes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ._scope import stack_singleton

__all__ = [
    "COMPATIBLE_ARCHITECTURES",
    "COMPATIBLE_RUNTIMES",
    "MIN_PYTHON",
    "RuntimeLayer",
    "python_version",
    "runtime_package_dir",
    "stage_runtime_layer",
]

#: The oldest Python the runtime supports (``lambda_runtime`` uses 3.10 syntax and typing).
MIN_PYTHON = (3, 10)


def python_version(runtime: lambda_.Runtime) -> tuple[int, int] | None:
    """``(3, 12)`` for ``python3.12``; ``None`` for a runtime that is not CPython 3.x."""
    match = re.fullmatch(r"python3\.(\d+)", runtime.name)
    if runtime.family != lambda_.RuntimeFamily.PYTHON or match is None:
        return None
    return (3, int(match.group(1)))


def _compatible_runtimes() -> tuple[lambda_.Runtime, ...]:
    found = [
        runtime
        for runtime in lambda_.Runtime.ALL
        if (version := python_version(runtime)) is not None and version >= MIN_PYTHON
    ]
    return tuple(sorted(found, key=lambda r: python_version(r) or (0, 0)))


#: Every Python >= 3.10 runtime aws-cdk-lib knows (``lambda_.Runtime.ALL``), so a newer
#: aws-cdk-lib extends the list by itself. aws-cdk-lib refuses to add a layer to a function
#: whose runtime the layer does not list, so a hand-made ``Runtime("python3.NN")`` gets a
#: synth warning instead of the layer (see ``handlers.add_runtime_layer``).
COMPATIBLE_RUNTIMES: tuple[lambda_.Runtime, ...] = _compatible_runtimes()
#: The runtime is pure Python: the same files serve both architectures.
COMPATIBLE_ARCHITECTURES = (lambda_.Architecture.X86_64, lambda_.Architecture.ARM_64)


def runtime_package_dir() -> Path:
    """Where the ``lambda_runtime`` package lives (found without importing it)."""
    spec = importlib.util.find_spec("lambda_runtime")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lambda_runtime package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _layer_files(package_dir: Path) -> list[Path]:
    files = [
        path
        for path in package_dir.rglob("*")
        if path.is_file()
        and (path.suffix == ".py" or path.name == "py.typed")
        and "__pycache__" not in path.relative_to(package_dir).parts
    ]
    return sorted(files, key=lambda p: p.relative_to(package_dir).as_posix())


def _stage(package_dir: Path, fingerprint: str) -> Path:
    root = Path(tempfile.gettempdir()) / f"cdk-ws-api-layer-{fingerprint[:32]}"
    if root.is_dir():
        return root
    building = Path(tempfile.mkdtemp(prefix="cdk-ws-api-layer-build-"))
    for source in _layer_files(package_dir):
        target = building / "python" / "lambda_runtime" / source.relative_to(package_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    try:
        os.replace(building, root)
    except OSError:  # another process staged the same content first
        shutil.rmtree(building, ignore_errors=True)
    return root


def stage_runtime_layer(package_dir: Path | None = None) -> tuple[Path, str]:
    """Stage the layer directory; return it and its content hash (the asset hash)."""
    package_dir = (package_dir or runtime_package_dir()).resolve()
    digest = hashlib.sha256()
    for path in _layer_files(package_dir):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    fingerprint = digest.hexdigest()
    return _stage(package_dir, fingerprint), fingerprint


class RuntimeLayer(Construct):
    """A ``LayerVersion`` holding ``lambda_runtime``; one per stack via :meth:`of`.

    Attribute ``layer`` is the ``lambda_.LayerVersion``.
    """

    CONSTRUCT_ID = "CdkWsApiRuntimeLayer"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        directory, fingerprint = stage_runtime_layer()
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(directory), asset_hash=fingerprint, asset_hash_type=AssetHashType.CUSTOM
            ),
            compatible_runtimes=list(COMPATIBLE_RUNTIMES),
            compatible_architectures=list(COMPATIBLE_ARCHITECTURES),
            description="lambda_runtime for API Gateway WebSocket handlers (cdk-ws-api)",
        )

    @classmethod
    def of(cls, scope: Construct) -> lambda_.LayerVersion:
        """The stack's shared layer, created on first use."""
        return stack_singleton(cls, scope, cls.CONSTRUCT_ID).layer

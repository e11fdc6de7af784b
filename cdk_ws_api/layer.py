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
import shutil
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ._scope import stack_singleton

__all__ = ["COMPATIBLE_RUNTIMES", "RuntimeLayer", "runtime_package_dir", "stage_runtime_layer"]

#: Python runtimes the layer is declared compatible with.
COMPATIBLE_RUNTIMES = (
    lambda_.Runtime.PYTHON_3_10,
    lambda_.Runtime.PYTHON_3_11,
    lambda_.Runtime.PYTHON_3_12,
    lambda_.Runtime.PYTHON_3_13,
    lambda_.Runtime.PYTHON_3_14,
)


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
            description="lambda_runtime for API Gateway WebSocket handlers (cdk-ws-api)",
        )

    @classmethod
    def of(cls, scope: Construct) -> lambda_.LayerVersion:
        """The stack's shared layer, created on first use."""
        return stack_singleton(cls, scope, cls.CONSTRUCT_ID).layer

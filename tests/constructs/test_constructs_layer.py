"""The lambda_runtime layer: staged locally, deterministic, complete."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Stack
from constructs_helpers import python_function

from cdk_ws_api import WebSocketApi
from cdk_ws_api.layer import runtime_package_dir, stage_runtime_layer


def _layer_s3_key() -> str:
    app = App()
    stack = Stack(app, "Layer")
    WebSocketApi(stack, "Api", default=python_function(stack, "Handler"))
    template = app.synth().get_stack_by_name("Layer").template
    (layer,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    return layer["Properties"]["Content"]["S3Key"]  # type: ignore[no-any-return]


def test_two_synths_give_the_same_asset_hash() -> None:
    # GIVEN the same code / WHEN synthesized twice in separate apps / THEN the same asset
    first, second = _layer_s3_key(), _layer_s3_key()
    assert first == second
    assert first.endswith(".zip")


def test_layer_contains_every_runtime_module_under_python() -> None:
    # GIVEN the lambda_runtime package / WHEN staged
    directory, _ = stage_runtime_layer()
    package = runtime_package_dir()
    # THEN python/lambda_runtime holds each .py file and py.typed, byte for byte
    expected = sorted(p.name for p in package.glob("*.py"))
    if (package / "py.typed").exists():
        expected = sorted([*expected, "py.typed"])
    staged = directory / "python" / "lambda_runtime"
    assert sorted(p.name for p in staged.iterdir()) == expected
    for name in expected:
        assert (staged / name).read_bytes() == (package / name).read_bytes()


def test_layer_excludes_bytecode_and_hash_ignores_it(tmp_path: Path) -> None:
    # GIVEN a package with __pycache__ and .pyc files
    package = tmp_path / "lambda_runtime"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    (package / "py.typed").write_text("")
    (package / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    directory, digest = stage_runtime_layer(package)
    # WHEN bytecode changes / THEN the hash does not; it changes with the code
    (package / "stale.pyc").write_bytes(b"\1")
    assert stage_runtime_layer(package)[1] == digest
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    assert files == ["python/lambda_runtime/__init__.py", "python/lambda_runtime/py.typed"]
    (package / "__init__.py").write_text("x = 2\n")
    assert stage_runtime_layer(package)[1] != digest

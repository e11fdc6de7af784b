"""The lambda_runtime layer: staged locally, deterministic, complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template
from constructs_helpers import Built, python_function

from cdk_ws_api import WebSocketApi
from cdk_ws_api.layer import (
    COMPATIBLE_RUNTIMES,
    runtime_package_dir,
    stage_runtime_layer,
)


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


def _function(stack: Stack, id: str, runtime: lambda_.Runtime) -> lambda_.Function:
    return lambda_.Function(
        stack,
        id,
        runtime=runtime,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )


def test_layer_declares_both_architectures_and_every_python_from_3_10(minimal: Built) -> None:
    # THEN the layer serves x86_64 and arm64 (pure Python) and every Python >= 3.10 CDK knows
    (layer,) = minimal.template.find_resources("AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64", "arm64"]
    # (Runtime.ALL grows with every Runtime(...) made, so compare with the named constants)
    named = [
        getattr(lambda_.Runtime, f"PYTHON_3_{minor}").name
        for minor in range(10, 100)
        if hasattr(lambda_.Runtime, f"PYTHON_3_{minor}")
    ]
    assert layer["Properties"]["CompatibleRuntimes"] == named
    assert [r.name for r in COMPATIBLE_RUNTIMES] == named
    assert "python3.9" not in layer["Properties"]["CompatibleRuntimes"]


@pytest.mark.parametrize("runtime", COMPATIBLE_RUNTIMES, ids=lambda r: r.name)
def test_every_compatible_python_gets_the_layer(runtime: lambda_.Runtime) -> None:
    stack = Stack(App(), "Py")
    fn = _function(stack, "Fn", runtime)
    WebSocketApi(stack, "Api", default=fn)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"Runtime": runtime.name, "Layers": Match.any_value()}
    )


# (A hand-made Runtime("python3.NN") takes the same branch, but creating one adds it to
# lambda_.Runtime.ALL for the whole jsii process, and cdk-nag's AwsSolutions-L1 would then call
# every other Python function outdated: 3.9 stands for both.)
@pytest.mark.parametrize("runtime", [lambda_.Runtime.PYTHON_3_9], ids=["too-old"])
def test_python_function_without_the_layer_gets_a_warning(runtime: lambda_.Runtime) -> None:
    # GIVEN a Python runtime the layer cannot serve / THEN no layer, and a warning says why
    stack = Stack(App(), "OddPython")
    WebSocketApi(stack, "Api", default=_function(stack, "Fn", runtime))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {"Layers": Match.absent()})
    Annotations.from_stack(stack).has_warning(
        "/OddPython/Api",
        Match.string_like_regexp(f"runs {runtime.name}: the lambda_runtime layer is only for"),
    )


def test_non_python_function_gets_no_layer_and_no_warning() -> None:
    stack = Stack(App(), "Node")
    WebSocketApi(stack, "Api", default=_function(stack, "Fn", lambda_.Runtime.NODEJS_22_X))
    Annotations.from_stack(stack).has_no_warning("/Node/Api", Match.any_value())

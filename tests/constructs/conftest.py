"""Session fixtures of the construct tests: stacks are built and synthesized once and shared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from constructs_helpers import Built, build_full, new_stack, python_function, synth

from cdk_ws_api import WebSocketApi


@pytest.fixture(scope="session")
def full() -> Built:
    stack = new_stack("Full")
    api, fns = build_full(stack)
    return Built(stack, api, synth(stack), fns)


@pytest.fixture(scope="session")
def minimal() -> Built:
    """Every prop left at its default: one ``$default`` route."""
    stack = new_stack("Minimal")
    fn = python_function(stack, "Handler")
    api = WebSocketApi(stack, "Api", default=fn)
    return Built(stack, api, synth(stack), {"Handler": fn})


@pytest.fixture(scope="session")
def build() -> Callable[..., Built]:
    """Build and synth a one-API stack: ``build(default=fn_factory, **props)``."""

    def _build(stack_id: str = "Variant", **props: Any) -> Built:
        stack = new_stack(stack_id)
        fn = python_function(stack, "Handler")
        props.setdefault("default", fn)
        api = WebSocketApi(stack, "Api", **props)
        return Built(stack, api, synth(stack), {"Handler": fn})

    return _build


@pytest.fixture
def stack() -> Stack:
    """A fresh stack (id ``Validation``) for tests that expect construction to fail."""
    return Stack(App(), "Validation")


@pytest.fixture
def fn(stack: Stack) -> lambda_.Function:
    return python_function(stack, "Handler")

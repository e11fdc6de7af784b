"""Constructs shared by every ``WebSocketApi`` of a stack (private helper)."""

from __future__ import annotations

from typing import TypeVar

from aws_cdk import Stack
from constructs import Construct

__all__ = ["stack_singleton"]

_C = TypeVar("_C", bound=Construct)


def stack_singleton(cls: type[_C], scope: Construct, construct_id: str) -> _C:
    """The ``cls(stack, construct_id)`` of ``scope``'s stack, created on first use.

    Account- or stack-wide resources (the CloudWatch role, the runtime layer) must exist once
    however many APIs the stack has, so they live at the stack root under a fixed id.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if isinstance(existing, cls):
        return existing
    return cls(stack, construct_id)

"""How the Invoke API names functions (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_ws_api.local.invoke import find_function, split_function_name
from cdk_ws_api.local.specs import FunctionSpec


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("fn", ("fn", None)),
        ("fn:$LATEST", ("fn", "$LATEST")),
        ("123456789012:function:fn", ("fn", None)),
        ("123456789012:function:fn:prod", ("fn", "prod")),
        ("arn:aws:lambda:eu-west-1:123456789012:function:fn", ("fn", None)),
        ("arn:aws:lambda:eu-west-1:123456789012:function:fn:7", ("fn", "7")),
        ("Stack/Logical", ("Stack/Logical", None)),
    ],
)
def test_function_name_forms(reference: str, expected: tuple[str, str | None]) -> None:
    assert split_function_name(reference) == expected


def _spec(logical_id: str, name: str, path: str) -> FunctionSpec:
    return FunctionSpec(logical_id, name, "h.handler", "python3.12", Path("."), path=path)


FUNCTIONS = {
    "ChatA1": _spec("ChatA1", "Ws-ChatA1", "Ws/Chat"),
    "Other/ChatA1": _spec("ChatA1", "Other-ChatA1", "Other/Chat"),
    "Other/NotifierB2": _spec("NotifierB2", "Other-NotifierB2", "Other/Notifier"),
}


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("ChatA1", "ChatA1"),  # the served stack's logical id first
        ("Other/ChatA1", "Other/ChatA1"),
        ("Other-ChatA1", "Other/ChatA1"),
        ("arn:aws:lambda:us-east-1:1:function:Other-ChatA1:$LATEST", "Other/ChatA1"),
        ("NotifierB2", "Other/NotifierB2"),  # unique logical id of another stack
        ("Other/Notifier", "Other/NotifierB2"),
        ("Notifier", "Other/NotifierB2"),
        ("Chat", None),  # two stacks have a Chat: ambiguous
        ("Ws/Chat", "ChatA1"),
        ("nothing", None),
    ],
)
def test_find_function(reference: str, key: str | None) -> None:
    assert find_function(FUNCTIONS, reference) == key

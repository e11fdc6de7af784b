"""Route selection without sockets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdk_ws_api.local.routing import evaluate_expression, select_route

ROUTES = {"$connect", "$disconnect", "$default", "send", "join", "1", "true", "chat-v2"}
DEFAULT = "$request.body.action"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"action": "send"}', "send"),
        ('{"action": "join", "room": "r"}', "join"),
        ('{"action": "unknown"}', "$default"),
        ('{"other": "send"}', "$default"),
        ("not json", "$default"),
        ("", "$default"),
        ('["send"]', "$default"),
        ('"send"', "$default"),
        ('{"action": {"nested": 1}}', "$default"),
        ('{"action": 1}', "1"),
        ('{"action": true}', "true"),
        ('{"action": "$connect"}', "$default"),
        ('{"action": "$disconnect"}', "$default"),
    ],
)
def test_default_expression(body: str, expected: str) -> None:
    assert select_route(DEFAULT, body, ROUTES) == expected


def test_without_default_route_nothing_is_selected() -> None:
    routes = {"$connect", "send"}
    assert select_route(DEFAULT, '{"action": "send"}', routes) == "send"
    assert select_route(DEFAULT, '{"action": "nope"}', routes) is None
    assert select_route(DEFAULT, "garbage", routes) is None


def test_nested_path_and_template_expressions() -> None:
    assert evaluate_expression("$request.body.meta.type", '{"meta": {"type": "x"}}') == "x"
    assert evaluate_expression("$request.body.meta.type", '{"meta": "x"}') is None
    template = "${request.body.kind}-${request.body.version}"
    assert evaluate_expression(template, '{"kind": "chat", "version": "v2"}') == "chat-v2"
    assert evaluate_expression(template, '{"kind": "chat"}') is None
    assert select_route(template, '{"kind": "chat", "version": "v2"}', ROUTES) == "chat-v2"


@given(st.text())
def test_any_text_selects_a_declared_route(body: str) -> None:
    assert select_route(DEFAULT, body, ROUTES) in ROUTES - {"$connect", "$disconnect"}


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4))
def test_any_json_object_selects_a_declared_route_or_nothing(body: dict[str, object]) -> None:
    selected = select_route(DEFAULT, json.dumps(body), {"send"})
    assert selected in ("send", None)
    assert (selected == "send") == (body.get("action") == "send")

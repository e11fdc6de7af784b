"""``repr()`` of every runtime object never raises, whatever the event holds (issue 9, item 19).

A handler logs ``repr(event)`` when something goes wrong: a repr that raises there (a deeply
nested field, a caller's object with a broken ``__repr__``) would replace the real error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from lambda_runtime import (
    AuthorizerEvent,
    CaseInsensitiveMapping,
    ConnectEvent,
    MessageEvent,
    RequestIdentity,
    Response,
    parse_authorizer_event,
    parse_event,
)

from .conftest import load_event

# Far past the interpreter's recursion limit: the builtin repr of this raises RecursionError.
DEPTH = sys.getrecursionlimit() * 20


def deep_list() -> list[Any]:
    value: list[Any] = []
    for _ in range(DEPTH):
        value = [value]
    return value


def deep_dict() -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(DEPTH):
        value = {"k": value}
    return value


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("my repr is broken")


def test_the_values_used_here_do_break_the_builtin_repr() -> None:
    # GIVEN the hostile values; THEN the builtin repr fails on each (else this file tests nothing)
    for value in (deep_list(), deep_dict(), BrokenRepr()):
        with pytest.raises((RecursionError, RuntimeError)):
            repr(value)


def authorizer_event(**identity: Any) -> dict[str, Any]:
    raw = load_event("authorizer-request.json")
    raw["requestContext"]["identity"] = identity
    return raw


@pytest.mark.parametrize("hostile", [deep_list, deep_dict, BrokenRepr], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "where",
    ["routeKey", "identity", "headers", "queryStringParameters", "stageVariables"],
)
def test_authorizer_event_repr_never_raises(hostile: Callable[[], Any], where: str) -> None:
    # GIVEN an authorizer event with one hostile field
    raw = load_event("authorizer-request.json")
    if where in ("routeKey", "identity"):
        raw["requestContext"][where] = hostile() if where == "routeKey" else {"sourceIp": hostile()}
    else:
        raw[where] = {"x": hostile()}
    event = parse_authorizer_event(raw)
    assert isinstance(event, AuthorizerEvent)
    # WHEN/THEN the event, its identity and its headers all have a repr
    text = repr(event)
    assert text.startswith("AuthorizerEvent(") and raw["requestContext"]["connectionId"] in text
    assert repr(event.identity).startswith("RequestIdentity(")
    try:
        headers = event.headers
    except Exception:  # a hostile header value is refused on access: not this test's subject
        return
    assert repr(headers).startswith("CaseInsensitiveMapping(")


@pytest.mark.parametrize("hostile", [deep_list, deep_dict, BrokenRepr], ids=lambda f: f.__name__)
def test_request_identity_repr_never_raises(hostile: Callable[[], Any]) -> None:
    # GIVEN identities whose fields are deeply nested or unprintable
    identity = RequestIdentity({"sourceIp": "1.2.3.4", "user": hostile(), "caller": hostile()})
    # WHEN/THEN repr answers, still showing the printable field, and eliding the rest
    text = repr(identity)
    assert text.startswith("RequestIdentity(") and "'1.2.3.4'" in text
    assert "..." in text or "BrokenRepr instance at" in text


@pytest.mark.parametrize("hostile", [deep_list, deep_dict, BrokenRepr], ids=lambda f: f.__name__)
def test_route_event_repr_never_raises(hostile: Callable[[], Any]) -> None:
    # GIVEN a message event whose route key and identity are hostile (routeKey is checked only
    # when read, so the view exists)
    raw = load_event("message.json")
    raw["requestContext"]["identity"] = {"sourceIp": hostile()}
    event = parse_event(raw)
    assert isinstance(event, MessageEvent)
    event.request_context["routeKey"] = hostile()  # type: ignore[index]
    # WHEN/THEN
    assert repr(event).startswith("MessageEvent(route_key=")
    assert repr(event.identity).startswith("RequestIdentity(")


def test_a_mapping_that_cannot_be_read_still_has_a_repr() -> None:
    # GIVEN a context mapping of the caller's whose reads raise
    class Exploding(dict[str, Any]):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("no reads")

        def items(self) -> Any:
            raise RuntimeError("no reads")

    event = parse_event(load_event("connect.json"))
    assert isinstance(event, ConnectEvent)
    event._ctx = Exploding(connectionId="a", routeKey="$connect")  # as if a caller made it so
    identity = RequestIdentity(Exploding(sourceIp="1.2.3.4"))
    # WHEN/THEN
    assert repr(event) == "ConnectEvent(route_key=None, connection_id=None)"
    assert repr(identity).startswith("RequestIdentity(")


def test_deep_header_values_and_response_bodies_have_a_repr() -> None:
    headers = CaseInsensitiveMapping({"X-Deep": deep_list(), "Host": "example.com"})
    assert "'Host': 'example.com'" in repr(headers)
    response = Response(200, {"deep": deep_dict()}, headers={"X-Broken": BrokenRepr()})
    text = repr(response)
    assert text.startswith("Response(200, {'deep': {") and "<BrokenRepr instance at" in text


def test_repr_of_ordinary_values_is_unchanged() -> None:
    # the bounds only show on hostile input: a real event's repr is what it was
    event = parse_event(load_event("connect.json"))
    ctx = event.request_context
    assert repr(event) == (
        f"ConnectEvent(route_key={ctx['routeKey']!r}, connection_id={ctx['connectionId']!r})"
    )
    identity = dict(ctx["identity"])
    assert repr(event.identity) == f"RequestIdentity({identity!r})"
    assert repr(Response(201, "ok")) == "Response(201, 'ok', headers={})"

"""WebSocketApp: dispatch by route, what return values become, Reject, errors and logs."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import pytest

from lambda_runtime import (
    ConnectEvent,
    DisconnectEvent,
    EventParseError,
    MessageEvent,
    Reject,
    Response,
    Router,
    WebSocketApp,
)

from .conftest import load_event


class FakeContext:
    aws_request_id = "lambda-req-1"
    function_name = "chat"


CONTEXT = FakeContext()


def message(
    route_key: str = "chat", body: str = '{"action": "chat", "text": "hi"}'
) -> dict[str, Any]:
    raw = load_event("message.json")
    raw["requestContext"]["routeKey"] = route_key
    raw["body"] = body
    return raw


def test_each_lifecycle_route_gets_its_typed_event() -> None:
    # GIVEN an app with a function per route
    app = WebSocketApp()
    seen: list[Any] = []

    @app.connect
    def on_connect(event: ConnectEvent) -> None:
        seen.append(event)

    @app.disconnect
    def on_disconnect(event: DisconnectEvent) -> None:
        seen.append(event)

    @app.route("chat")
    def on_chat(event: MessageEvent) -> None:
        seen.append(event)

    # WHEN the real events arrive
    responses = [
        app(load_event("connect.json"), CONTEXT),
        app(load_event("disconnect.json"), CONTEXT),
        app(load_event("message.json"), CONTEXT),
    ]
    # THEN each function got its typed event and each answer is a plain 200
    assert [type(e) for e in seen] == [ConnectEvent, DisconnectEvent, MessageEvent]
    assert responses == [{"statusCode": 200}] * 3


def test_decorators_return_the_function_unchanged() -> None:
    app = WebSocketApp()

    def handler(event: MessageEvent) -> str:
        return "x"

    assert app.route("chat")(handler) is handler
    assert app.default(handler) is handler
    assert app.route_keys == ["$default", "chat"]


def test_unknown_message_route_goes_to_default() -> None:
    app = WebSocketApp()

    @app.default
    def fallback(event: MessageEvent) -> str:
        return f"default:{event.route_key}"

    assert app(message("nope"), CONTEXT) == {"statusCode": 200, "body": "default:nope"}


def test_unknown_route_without_default_is_a_400_and_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = WebSocketApp()
    response = app(message("nope"), CONTEXT)
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"message": "No handler for route 'nope'"}
    record = json.loads(capsys.readouterr().out)
    assert record["level"] == "WARNING"
    assert record["routeKey"] == "nope"


def test_connect_and_disconnect_without_functions_are_accepted() -> None:
    app = WebSocketApp()
    assert app(load_event("connect.json"), CONTEXT) == {"statusCode": 200}
    assert app(load_event("disconnect.json"), CONTEXT) == {"statusCode": 200}


def test_default_is_not_used_for_connect() -> None:
    app = WebSocketApp()
    app.default(lambda event: pytest.fail("default must not see $connect"))
    assert app(load_event("connect.json"), CONTEXT) == {"statusCode": 200}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, {"statusCode": 200}),
        ("pong", {"statusCode": 200, "body": "pong"}),
        ({"a": 1, "é": "ü"}, {"statusCode": 200, "body": '{"a":1,"é":"ü"}'}),
        ([1, 2], {"statusCode": 200, "body": "[1,2]"}),
        (42, {"statusCode": 200, "body": "42"}),
        (
            b"\x00\xff",
            {
                "statusCode": 200,
                "body": base64.b64encode(b"\x00\xff").decode(),
                "isBase64Encoded": True,
            },
        ),
        (Response(202), {"statusCode": 202}),
        ({"statusCode": 403}, {"statusCode": 403}),
        ({"statusCode": 201, "body": "made"}, {"statusCode": 201, "body": "made"}),
        ({"statusCode": "403"}, {"statusCode": 200, "body": '{"statusCode":"403"}'}),
        ({"statusCode": 1, "n": 2}, {"statusCode": 200, "body": '{"statusCode":1,"n":2}'}),
        (
            Response(200, {"ok": True}, headers={"Sec-WebSocket-Protocol": "chat.v1"}),
            {
                "statusCode": 200,
                "headers": {"Sec-WebSocket-Protocol": "chat.v1"},
                "body": '{"ok":true}',
            },
        ),
    ],
)
def test_return_values_map_to_route_responses(result: Any, expected: dict[str, Any]) -> None:
    app = WebSocketApp()
    app.route("chat")(lambda event: result)
    assert app(message(), CONTEXT) == expected


@pytest.mark.parametrize(
    ("status", "text"), [(401, "Unauthorized"), (403, "Forbidden"), (429, "Slow down")]
)
def test_reject_in_connect_refuses_with_status_and_message(status: int, text: str) -> None:
    app = WebSocketApp()

    @app.connect
    def on_connect(event: ConnectEvent) -> None:
        raise Reject(status, text)

    assert app(load_event("connect.json"), CONTEXT) == {"statusCode": status, "body": text}


@pytest.mark.parametrize("status", [200, 302, 600])
def test_reject_needs_an_error_status(status: int) -> None:
    with pytest.raises(ValueError, match="400-599"):
        Reject(status, "no")


def test_exception_is_logged_as_one_json_line_and_answered_500(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a route that fails
    app = WebSocketApp()

    @app.route("chat")
    def broken(event: MessageEvent) -> None:
        raise KeyError("secret-detail")

    # WHEN it is called
    response = app(message(), CONTEXT)
    # THEN the client gets a bare 500, without any detail
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "Internal server error"}
    assert "secret-detail" not in json.dumps(response)
    # AND the log has exactly one JSON line with the request's identifiers and the traceback
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    raw = message()["requestContext"]
    assert record["level"] == "ERROR"
    assert record["requestId"] == raw["requestId"]
    assert record["connectionId"] == raw["connectionId"]
    assert record["routeKey"] == "chat"
    assert record["lambdaRequestId"] == "lambda-req-1"
    assert record["exception"]["type"] == "builtins.KeyError"
    assert "secret-detail" in record["exception"]["traceback"]
    assert "in broken" in record["exception"]["traceback"]


def test_unserialisable_return_value_is_a_500(capsys: pytest.CaptureFixture[str]) -> None:
    app = WebSocketApp()
    app.route("chat")(lambda event: {"when": object()})
    assert app(message(), CONTEXT)["statusCode"] == 500
    assert "TypeError" in capsys.readouterr().out


def test_event_that_is_not_a_websocket_event_fails_the_invocation() -> None:
    app = WebSocketApp()
    with pytest.raises(EventParseError):
        app({"httpMethod": "GET"}, CONTEXT)


# --- the context argument ---------------------------------------------------------------


class Handlers:
    def one(self, event: Any) -> str:
        return "one"

    def two(self, event: Any, context: Any) -> str:
        return f"two:{context.aws_request_id}"

    def __call__(self, event: Any, context: Any) -> str:
        return f"call:{context.aws_request_id}"


def plain_one(event: Any) -> str:
    return "one"


def plain_two(event: Any, context: Any) -> str:
    return f"two:{context.aws_request_id}"


def star(*args: Any) -> str:
    return f"star:{len(args)}"


def with_default(event: Any, context: Any = None, extra: int = 0) -> str:
    return f"default:{context is not None}"


def two_with_prefix(prefix: str, event: Any, context: Any) -> str:
    return f"{prefix}:{context.aws_request_id}"


@functools.wraps(plain_two)
def wrapped(*args: Any) -> str:
    return plain_two(*args)


@pytest.mark.parametrize(
    ("func", "body"),
    [
        (plain_one, "one"),
        (plain_two, "two:lambda-req-1"),
        (Handlers().one, "one"),
        (Handlers().two, "two:lambda-req-1"),
        (Handlers(), "call:lambda-req-1"),
        (star, "star:2"),
        (with_default, "default:True"),
        (lambda event: "lambda", "lambda"),
        (functools.partial(two_with_prefix, "p"), "p:lambda-req-1"),
        (wrapped, "two:lambda-req-1"),
    ],
)
def test_context_is_passed_only_to_functions_that_take_it(func: Any, body: str) -> None:
    app = WebSocketApp()
    app.route("chat")(func)
    assert app(message(), CONTEXT) == {"statusCode": 200, "body": body}


def test_signature_is_inspected_once_at_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    import lambda_runtime.app as app_module

    calls: list[Any] = []
    real = app_module._takes_context

    def spy(func: Any) -> bool:
        calls.append(func)
        return real(func)

    monkeypatch.setattr(app_module, "_takes_context", spy)
    app = WebSocketApp()
    app.route("chat")(plain_two)
    for _ in range(3):
        app(message(), CONTEXT)
    assert calls == [plain_two]


# --- routers ----------------------------------------------------------------------------


def test_routers_from_several_modules_are_merged() -> None:
    # GIVEN routes declared on two routers
    rooms = Router()
    rooms.route("join")(lambda event: "joined")
    chat = Router()
    chat.route("chat")(lambda event: "chatted")
    chat.connect(lambda event: None)
    # WHEN the app includes them
    app = WebSocketApp()
    app.include_router(rooms)
    app.include_router(chat)
    # THEN it dispatches to both
    assert app.route_keys == ["$connect", "chat", "join"]
    assert app(message("join"), CONTEXT)["body"] == "joined"
    assert app(message("chat"), CONTEXT)["body"] == "chatted"


def test_a_route_key_registered_twice_is_refused() -> None:
    app = WebSocketApp()
    app.route("chat")(plain_one)
    with pytest.raises(ValueError, match="already has a function"):
        app.route("chat")(plain_two)
    other = Router()
    other.route("chat")(plain_two)
    with pytest.raises(ValueError, match="chat"):
        app.include_router(other)


@pytest.mark.parametrize("key", ["", None, 5])
def test_route_key_must_be_a_non_empty_string(key: Any) -> None:
    with pytest.raises(ValueError, match="route key"):
        WebSocketApp().route(key)(plain_one)


def test_non_callable_is_refused() -> None:
    with pytest.raises(TypeError, match="callable"):
        WebSocketApp().route("chat")("not a function")  # type: ignore[type-var]

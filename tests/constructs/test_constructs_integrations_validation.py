"""Impossible integration, model and parameter combinations: each raises
``ConstructValidationError`` naming the prop, the value and the rule (one test per rule)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs_helpers import python_function

from cdk_ws_api import (
    ConstructValidationError,
    EventBridgeIntegration,
    HttpIntegration,
    MockIntegration,
    RouteOptions,
    SqsIntegration,
    WebSocketApi,
)


@pytest.fixture
def stack() -> Stack:
    return Stack(App(), "IntegrationRules")


@pytest.fixture
def fn(stack: Stack) -> lambda_.Function:
    return python_function(stack, "Handler")


def _problem(caught: pytest.ExceptionInfo[ConstructValidationError]) -> tuple[str, Any, str]:
    (problem,) = caught.value.problems
    return problem.prop, problem.value, problem.rule


# --- routes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prop", "key"), [("connect", "$connect"), ("disconnect", "$disconnect")])
def test_request_model_on_connect_or_disconnect(
    stack: Stack, fn: lambda_.Function, prop: str, key: str
) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(stack, "Api", **{prop: RouteOptions(handler=fn, request_model={})})
    assert _problem(caught) == (
        f"{prop}.request_model",
        key,
        f"{key} carries no message to validate: request models apply to message routes",
    )


def test_response_template_on_a_one_way_route(stack: Stack) -> None:
    queue = sqs.Queue(stack, "Q")
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(
            stack,
            "Api",
            routes={"report": SqsIntegration(queue, response_template='{"ok": true}')},
        )
    prop, value, rule = _problem(caught)
    assert (prop, value) == ("routes['report'].integration.response_template", '{"ok": true}')
    assert "route 'report' is one-way" in rule


def test_mock_response_on_a_one_way_route(stack: Stack) -> None:
    with pytest.raises(ConstructValidationError, match=r"default\.integration\.response_template"):
        WebSocketApi(stack, "Api", default=MockIntegration({"pong": True}))


def test_mock_without_response_on_a_two_way_route(stack: Stack) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(
            stack, "Api", default=RouteOptions(integration=MockIntegration(), return_response=True)
        )
    prop, value, rule = _problem(caught)
    assert (prop, value) == ("default.integration.response", None)
    assert "two-way" in rule


@pytest.mark.parametrize("timeout", [Duration.millis(49), Duration.seconds(30)])
def test_helper_timeout_outside_50_ms_to_29_s(stack: Stack, timeout: Duration) -> None:
    queue = sqs.Queue(stack, "Q")
    with pytest.raises(ConstructValidationError) as caught:
        SqsIntegration(queue, timeout=timeout)
    assert _problem(caught) == (
        "timeout",
        f"{timeout.to_milliseconds()} ms",
        "the integration timeout must be between 50 milliseconds and 29 seconds",
    )
    assert caught.value.construct_path == "SqsIntegration('SqsIntegration')"


def test_integration_timeout_belongs_to_the_handler(stack: Stack) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(
            stack,
            "Api",
            default=RouteOptions(
                integration=MockIntegration(), integration_timeout=Duration.seconds(3)
            ),
        )
    prop, value, rule = _problem(caught)
    assert (prop, value) == ("default.integration_timeout", "3 seconds")
    assert "give an integration its own timeout" in rule


def test_fifo_queue_without_group_id(stack: Stack) -> None:
    queue = sqs.Queue(stack, "Q", fifo=True)
    with pytest.raises(ConstructValidationError) as caught:
        SqsIntegration(queue)
    prop, value, rule = _problem(caught)
    assert (prop, value) == ("message_group_id", None)
    assert "FIFO queue" in rule and "GROUP_BY_CONNECTION" in rule


@pytest.mark.parametrize("group", ["", "a b", "x" * 129, "a#b"])
def test_bad_literal_group_id(stack: Stack, group: str) -> None:
    queue = sqs.Queue(stack, "Q", fifo=True)
    with pytest.raises(ConstructValidationError, match="message_group_id="):
        SqsIntegration(queue, message_group_id=group)


def test_handler_and_integration_together(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(stack, "Api", default=RouteOptions(handler=fn, integration=MockIntegration()))
    assert _problem(caught) == (
        "default",
        "handler and integration",
        "a route has either a handler (Lambda function) or an integration",
    )


def test_route_without_handler_or_integration(stack: Stack) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(stack, "Api", default=RouteOptions())
    assert _problem(caught)[0] == "default"


def test_request_parameters_outside_connect(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(
            stack,
            "Api",
            routes={
                "send": RouteOptions(
                    handler=fn, request_parameters={"route.request.header.X": True}
                )
            },
        )
    assert _problem(caught) == (
        "routes['send'].request_parameters",
        "send",
        "request parameters exist on $connect only (messages have no headers or query)",
    )


@pytest.mark.parametrize(
    "name", ["token", "route.request.body.token", "route.request.querystring.", "method.x"]
)
def test_bad_request_parameter_name(stack: Stack, fn: lambda_.Function, name: str) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(
            stack, "Api", connect=RouteOptions(handler=fn, request_parameters={name: True})
        )
    prop, value, _ = _problem(caught)
    assert (prop, value) == ("connect.request_parameters", name)


def test_request_parameter_required_flag_is_a_bool(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match=r"True \(required\) or False"):
        WebSocketApi(
            stack,
            "Api",
            connect=RouteOptions(
                handler=fn,
                request_parameters={"route.request.querystring.token": "yes"},  # type: ignore[dict-item]
            ),
        )


def test_return_response_on_disconnect(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(stack, "Api", disconnect=RouteOptions(handler=fn, return_response=True))
    assert _problem(caught) == (
        "disconnect.return_response",
        True,
        "$disconnect cannot answer: the connection is already closed",
    )


def test_request_model_is_a_json_object(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match="a JSON Schema is a JSON object"):
        WebSocketApi(
            stack,
            "Api",
            routes={"send": RouteOptions(handler=fn, request_model=["type"])},  # type: ignore[arg-type]
        )


def test_request_model_is_json_serializable(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match="must be JSON-serializable"):
        WebSocketApi(
            stack,
            "Api",
            routes={"send": RouteOptions(handler=fn, request_model={"default": object()})},
        )


def test_request_model_in_another_json_schema_draft(stack: Stack, fn: lambda_.Function) -> None:
    draft_7 = "http://json-schema.org/draft-07/schema#"
    with pytest.raises(ConstructValidationError) as caught:
        WebSocketApi(
            stack,
            "Api",
            routes={"send": RouteOptions(handler=fn, request_model={"$schema": draft_7})},
        )
    prop, value, rule = _problem(caught)
    assert (prop, value) == ("routes['send'].request_model.$schema", draft_7)
    assert "draft 4" in rule


def test_request_model_and_request_models_together(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match="give request_model or request_models"):
        WebSocketApi(
            stack,
            "Api",
            routes={
                "send": RouteOptions(
                    handler=fn, request_model={}, request_models={"v1": {"type": "object"}}
                )
            },
        )


def test_add_route_applies_the_same_rules(stack: Stack, fn: lambda_.Function) -> None:
    api = WebSocketApi(stack, "Api", default=fn)
    with pytest.raises(ConstructValidationError, match=r"route_key\.integration\.response"):
        api.add_route("ping", RouteOptions(integration=MockIntegration(), return_response=True))
    assert "ping" not in api.routes


def test_model_selection_expression_is_not_empty(stack: Stack, fn: lambda_.Function) -> None:
    with pytest.raises(ConstructValidationError, match="model_selection_expression=''"):
        WebSocketApi(stack, "Api", default=fn, model_selection_expression="")


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "prop"),
    [
        ({"source": "aws.events"}, "source"),
        ({"source": 'my"app'}, "source"),
        ({"source": "$context.x"}, "source"),
        ({"source": ""}, "source"),
        ({"source": "app", "detail_type": "x" * 129}, "detail_type"),
    ],
)
def test_bad_eventbridge_source_or_detail_type(
    stack: Stack, props: dict[str, str], prop: str
) -> None:
    bus = events.EventBus(stack, "Bus")
    with pytest.raises(ConstructValidationError) as caught:
        EventBridgeIntegration(bus, **props)  # type: ignore[arg-type]
    assert caught.value.problems[0].prop == prop


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com/hook", "https:///path"])
def test_http_url_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ConstructValidationError) as caught:
        HttpIntegration(url)
    assert _problem(caught) == ("url", url, "an http:// or https:// URL with a host")


def test_http_method_is_an_http_method() -> None:
    with pytest.raises(ConstructValidationError, match="method='FETCH'"):
        HttpIntegration("https://example.com/", method="FETCH")


def test_http_proxy_maps_nothing() -> None:
    with pytest.raises(ConstructValidationError) as caught:
        HttpIntegration("https://example.com/", request_templates={"$default": "{}"})
    prop, _, rule = _problem(caught)
    assert prop == "request_templates" and "proxy=False" in rule


@pytest.mark.parametrize("status", [99, 600, "200", True])
def test_mock_status_code_is_an_http_status(status: Any) -> None:
    with pytest.raises(ConstructValidationError, match="status_code="):
        MockIntegration(status_code=status)


def test_mock_response_must_be_json_serializable() -> None:
    with pytest.raises(ConstructValidationError, match=r"response=.*not JSON-serializable"):
        MockIntegration({"when": object()})


def test_empty_request_templates(stack: Stack) -> None:
    queue = sqs.Queue(stack, "Q")
    with pytest.raises(ConstructValidationError, match="request_templates="):
        SqsIntegration(queue, request_templates={})

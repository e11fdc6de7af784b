"""Request validation (JSON Schema draft 4 through jsonschema) and model selection."""

from __future__ import annotations

import pytest

from cdk_ws_api.local.exceptions import RequestRejected
from cdk_ws_api.local.models import INVALID_BODY, select_model, validate_request
from cdk_ws_api.local.specs import ApiSpec, RouteSpec

SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["action", "address"],
    "properties": {
        "address": {"type": "string", "format": "email"},
        "n": {"maximum": 5, "exclusiveMaximum": True},
    },
}


def _api(**models: object) -> ApiSpec:
    return ApiSpec(
        logical_id="Api",
        name="Api",
        api_id="abcdefghij",
        stage="dev",
        stages=("dev",),
        route_selection_expression="$request.body.action",
        routes={},
        authorizers={},
        region="us-east-1",
        account="123456789012",
        models=dict(models),
    )


def _route(expression: str | None, models: dict[str, str]) -> RouteSpec:
    return RouteSpec("send", "Fn", model_selection_expression=expression, request_models=models)


def test_the_aws_documentation_example() -> None:
    # websocket-api-request-validation: {"action": "sendMessage", "messageType": "email"} is
    # refused; with an address it passes.
    api = _api(Email=SCHEMA)
    route = _route("$request.body.messageType", {"email": "Email"})
    with pytest.raises(RequestRejected) as info:
        validate_request(api, route, '{"action": "sendMessage", "messageType": "email"}')
    assert (info.value.status, info.value.message) == (400, INVALID_BODY)
    assert "'address' is a required property" in info.value.detail
    validate_request(
        api,
        route,
        '{"action": "sendMessage", "messageType": "email", "address": "mary_major@example.com"}',
    )


def test_draft_4_semantics() -> None:
    # draft 4's boolean exclusiveMaximum (a draft 6+ validator would reject the schema)
    api, route = _api(M=SCHEMA), _route("\\$default", {"$default": "M"})
    validate_request(api, route, '{"action": "a", "address": "x", "n": 4.9}')
    with pytest.raises(RequestRejected, match="n: 5 is greater than or equal"):
        validate_request(api, route, '{"action": "a", "address": "x", "n": 5}')


def test_selection_falls_back_to_default_then_fails() -> None:
    assert (
        select_model(_route("$request.body.kind", {"$default": "M"}), '{"kind": "x"}') == "$default"
    )
    with pytest.raises(RequestRejected, match="no request model for key 'x'"):
        select_model(_route("$request.body.kind", {"a": "M"}), '{"kind": "x"}')


def test_no_selection_expression_means_no_validation() -> None:
    # as on AWS: models alone do not validate
    assert select_model(_route(None, {"$default": "M"}), "anything") is None
    validate_request(_api(), _route(None, {"$default": "M"}), "not json")


def test_not_json_is_an_invalid_body() -> None:
    with pytest.raises(RequestRejected, match="not JSON"):
        validate_request(_api(M=SCHEMA), _route("\\$default", {"$default": "M"}), "{oops")

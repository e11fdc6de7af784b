"""Request validation of WebSocket routes (pure): JSON Schema draft 4 with ``jsonschema``.

A route validates a message only when it has a model selection expression, as on AWS. The
expression (``$request.body.type``, or the literal ``\\$default``) selects a key of the route's
``RequestModels``; a key naming no model falls back to ``$default``; with neither the message
fails. A body that is not JSON, or that the schema rejects, raises :class:`RequestRejected`
with AWS's frame message ``Invalid request body`` (status 400 in the access log) and the
validation error as the cause for the log line; no integration runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .exceptions import RequestRejected
from .routing import DEFAULT, evaluate_expression
from .specs import ApiSpec, RouteSpec

__all__ = ["INVALID_BODY", "select_model", "validate_request"]

#: The ``message`` of API Gateway's error frame for a body its model rejects.
INVALID_BODY = "Invalid request body"

_validators: dict[int, Any] = {}


def select_model(route: RouteSpec, body: str) -> str | None:
    """The model key for ``body``, ``None`` when the route does not validate; raises
    :class:`RequestRejected` when no key (not even ``$default``) applies."""
    expression = route.model_selection_expression
    if not expression or not route.request_models:
        return None
    literal = expression.replace("\\$", "$").strip()
    key = literal if literal in route.request_models else evaluate_expression(expression, body)
    if key in route.request_models:
        return key
    if DEFAULT in route.request_models:
        return DEFAULT
    raise RequestRejected(400, INVALID_BODY, f"no request model for key {key!r}")


def _validator(schema: Mapping[str, Any]) -> Any:
    from jsonschema import Draft4Validator  # only stacks with request models pay the import

    cached = _validators.get(id(schema))
    if cached is None or cached.schema is not schema:
        Draft4Validator.check_schema(schema)
        cached = _validators[id(schema)] = Draft4Validator(schema)
    return cached


def validate_request(api: ApiSpec, route: RouteSpec, body: str) -> None:
    """Raise :class:`RequestRejected` unless ``body`` satisfies the route's selected model."""
    key = select_model(route, body)
    if key is None:
        return
    name = route.request_models[key]
    schema = api.models.get(name)
    if schema is None:
        raise RequestRejected(400, INVALID_BODY, f"model {name!r} is not defined")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise RequestRejected(400, INVALID_BODY, f"not JSON: {exc}") from exc
    errors = sorted(_validator(schema).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        raise RequestRejected(400, INVALID_BODY, f"model {name}: {where}: {errors[0].message}")

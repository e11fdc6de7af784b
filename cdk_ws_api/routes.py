"""Route options, route creation and the rules for route keys, selection expressions,
throttles, timeouts, request models and request parameters.

A route is given to :class:`~cdk_ws_api.WebSocketApi` as a bare Lambda function (an
``IFunction``), a bare integration (any aws-cdk-lib ``WebSocketRouteIntegration``, such as the
helpers of :mod:`cdk_ws_api.integrations`) or :class:`RouteOptions`; all are turned into
:class:`RouteOptions` by :func:`to_route_options`, the single place the route defaults are
applied. :func:`create_route` is the one seam where a route gets its integration: the given
one, or a Lambda proxy integration for ``handler``; it never looks at the integration's kind.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from aws_cdk import Duration, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

from lambda_runtime.env import CONNECT_ROUTE, DEFAULT_ROUTE, DISCONNECT_ROUTE

from ._nag import acknowledge
from .authorizers import IamAuthorizer, LambdaRequestAuthorizer, to_route_authorizer
from .errors import ProblemCollector
from .integrations_base import (
    DEFAULT_TEMPLATE_KEY,
    MAX_INTEGRATION_TIMEOUT,
    MIN_INTEGRATION_TIMEOUT,
    SELECT_DEFAULT_TEMPLATE,
    ManagedIntegration,
    check_integration_timeout,
)
from .limits import check_throttle  # re-exported: the throttle rules live with the limits

__all__ = [
    "CONNECT",
    "DEFAULT",
    "DEFAULT_MODEL_SELECTION_EXPRESSION",
    "DEFAULT_ROUTE_SELECTION_EXPRESSION",
    "DISCONNECT",
    "MAX_INTEGRATION_TIMEOUT",
    "MIN_INTEGRATION_TIMEOUT",
    "PREDEFINED_ROUTE_KEYS",
    "RouteHandler",
    "RouteOptions",
    "check_model_selection_expression",
    "check_route_key",
    "check_route_selection_expression",
    "check_throttle",
    "create_route",
    "to_route_options",
]

CONNECT, DISCONNECT, DEFAULT = CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE
PREDEFINED_ROUTE_KEYS = (CONNECT, DISCONNECT, DEFAULT)

#: Default route selection expression of every API (the AWS console default).
DEFAULT_ROUTE_SELECTION_EXPRESSION = "$request.body.action"
#: Default model selection expression of the routes with a request model: always the
#: ``$default`` model (a route's ``request_models`` with other keys need another expression).
DEFAULT_MODEL_SELECTION_EXPRESSION = SELECT_DEFAULT_TEMPLATE
#: The JSON Schema draft API Gateway validates request models with.
JSON_SCHEMA_DRAFT_4 = "http://json-schema.org/draft-04/schema#"

_MAX_ROUTE_KEY_LENGTH = 128
_CUSTOM_ROUTE_KEY = re.compile(r"^[^\s$]\S*$")
_SELECTION_EXPRESSION = re.compile(r"^\$request\.body\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_ROUTE_REQUEST_PARAMETER = re.compile(r"^route\.request\.(header|querystring)\.[^\s.]\S*$")


@dataclass(frozen=True, kw_only=True)
class RouteOptions:
    """How one route is served: by a Lambda function (``handler``) or by any integration.

    :param handler: the Lambda function behind the route (a Lambda proxy integration). It gets
        the runtime layer, the connection-table environment variables and permissions (see
        :class:`~cdk_ws_api.WebSocketApi`). Give ``handler`` or ``integration``.
    :param integration: any aws-cdk-lib ``WebSocketRouteIntegration``: the helpers of
        :mod:`cdk_ws_api.integrations` (SQS, EventBridge, Step Functions, HTTP, mock), which
        make their role, templates and integration responses, or aws-cdk-lib's own
        (``WebSocketAwsIntegration``, ``WebSocketMockIntegration``, ...), used as given.
    :param integration_timeout: timeout of the ``handler``'s integration, between 50 ms and
        29 s (an ``integration`` has its own ``timeout``).
        Default: - API Gateway's default, 29 seconds.
    :param api_key_required: require an API key (see ``api_key_selection_expression`` and
        ``usage_plan`` on the API). Default: ``False``.
    :param return_response: two-way route: the handler's return value is sent back to the
        client (a ``$default`` route response is created). Default: ``False``.
    :param throttle: route-level throttling applied in every stage, unless the stage's
        ``route_throttles`` overrides it. Default: - the stage's default throttle.
    :param authorizer: only on ``$connect``; same as the API's ``authorizer`` prop (set one of
        the two). Default: - the API's ``authorizer``.
    :param request_model: a JSON Schema (draft 4; ``$schema`` is added when missing) every
        message of the route must match: API Gateway answers a non-matching message with its
        ``Bad request body`` error frame before any integration runs. The model gets the
        ``$default`` key (see the API's ``model_selection_expression``). Not on ``$connect``
        or ``$disconnect`` (they carry no message). Default: - no validation.
    :param request_models: several models by model selection key (the value the API's
        ``model_selection_expression`` evaluates to; ``$default`` is the fallback), instead of
        ``request_model``. Default: - none.
    :param request_parameters: on ``$connect`` only: request parameters by name
        (``route.request.querystring.<name>`` or ``route.request.header.<name>``) and whether
        each is required (API Gateway refuses a connection without a required one).
        Default: - none.
    """

    handler: lambda_.IFunction | None = None
    integration: apigwv2.WebSocketRouteIntegration | None = None
    integration_timeout: Duration | None = None
    api_key_required: bool = False
    return_response: bool = False
    throttle: apigwv2.ThrottleSettings | None = None
    authorizer: LambdaRequestAuthorizer | IamAuthorizer | None = None
    request_model: Mapping[str, Any] | None = None
    request_models: Mapping[str, Mapping[str, Any]] | None = None
    request_parameters: Mapping[str, bool] | None = None


#: What a route accepts: a function or an integration (all defaults), or full options.
RouteHandler = Union[  # noqa: UP007 (runtime alias, py3.10)
    lambda_.IFunction, apigwv2.WebSocketRouteIntegration, RouteOptions
]


def to_route_options(handler_or_options: RouteHandler) -> RouteOptions:
    """Normalise a route given as a bare function or integration into :class:`RouteOptions`."""
    if isinstance(handler_or_options, RouteOptions):
        return handler_or_options
    if isinstance(handler_or_options, apigwv2.WebSocketRouteIntegration):
        return RouteOptions(integration=handler_or_options)
    return RouteOptions(handler=handler_or_options)


def check_route_key(problems: ProblemCollector, prop: str, key: str) -> None:
    """``$connect``, ``$disconnect``, ``$default`` or a custom key (1-128 characters, no
    whitespace, not starting with ``$``, which API Gateway reserves)."""
    if Token.is_unresolved(key):
        return
    if key in PREDEFINED_ROUTE_KEYS:
        return
    if not (0 < len(key) <= _MAX_ROUTE_KEY_LENGTH) or not _CUSTOM_ROUTE_KEY.match(key):
        problems.add(
            prop,
            key,
            "a route key is $connect, $disconnect, $default or a custom key of 1-128 characters "
            "without whitespace that does not start with '$'",
        )


def check_route_selection_expression(problems: ProblemCollector, expression: str) -> None:
    """WebSocket APIs accept only ``$request.body.<path>`` (a dotted JSON path)."""
    if Token.is_unresolved(expression):
        return
    if not _SELECTION_EXPRESSION.match(expression):
        problems.add(
            "route_selection_expression",
            expression,
            "WebSocket APIs accept only '$request.body.<path>' (for example "
            f"'{DEFAULT_ROUTE_SELECTION_EXPRESSION}' or '$request.body.meta.type')",
        )


def check_model_selection_expression(problems: ProblemCollector, expression: str) -> None:
    """A selection expression (``$request.body.<path>``, ``${...}`` or a ``\\$``-escaped
    static key); only emptiness and whitespace can be told wrong before deploy."""
    if Token.is_unresolved(expression):
        return
    if not expression or re.search(r"\s", expression):
        problems.add(
            "model_selection_expression",
            expression,
            "a non-empty selection expression without whitespace, e.g. "
            f"'$request.body.version' or '{DEFAULT_MODEL_SELECTION_EXPRESSION}'",
        )


def check_route_options(
    problems: ProblemCollector, prop: str, options: RouteOptions, key: str | None = None
) -> None:
    """The rules of one route's options (``key``: its route key, when known)."""
    if (options.handler is None) == (options.integration is None):
        problems.add(
            prop,
            "handler and integration" if options.handler is not None else None,
            "a route has either a handler (Lambda function) or an integration",
        )
    if options.integration is not None and options.integration_timeout is not None:
        problems.add(
            f"{prop}.integration_timeout",
            options.integration_timeout.to_human_string(),
            "integration_timeout is the timeout of a handler's integration; "
            "give an integration its own timeout",
        )
    check_integration_timeout(problems, f"{prop}.integration_timeout", options.integration_timeout)
    check_throttle(problems, f"{prop}.throttle", options.throttle)
    _check_request_models(problems, prop, options, key)
    _check_request_parameters(problems, prop, options, key)
    if key == DISCONNECT and options.return_response:
        problems.add(
            f"{prop}.return_response",
            True,
            "$disconnect cannot answer: the connection is already closed",
        )
    if key is not None and isinstance(options.integration, ManagedIntegration):
        for problem in options.integration.route_problems(key, options.return_response):
            problems.add(f"{prop}.integration.{problem.prop}", problem.value, problem.rule)


def _check_request_models(
    problems: ProblemCollector, prop: str, options: RouteOptions, key: str | None
) -> None:
    models = _request_models(options)
    if options.request_model is not None and options.request_models is not None:
        problems.add(
            f"{prop}.request_models", "request_model", "give request_model or request_models"
        )
    if not models:
        if options.request_models is not None:
            problems.add(f"{prop}.request_models", {}, "give at least one model, or leave it out")
        return
    if key in (CONNECT, DISCONNECT):
        problems.add(
            f"{prop}.request_model",
            key,
            f"{key} carries no message to validate: request models apply to message routes",
        )
    for selection_key, schema in models.items():
        where = (
            f"{prop}.request_model"
            if options.request_model is not None
            else f"{prop}.request_models[{selection_key!r}]"
        )
        if not isinstance(selection_key, str) or not selection_key:
            problems.add(f"{prop}.request_models", selection_key, "keys are non-empty strings")
        if not isinstance(schema, Mapping):
            problems.add(where, schema, "a JSON Schema is a JSON object (a dict)")
            continue
        try:
            json.dumps(schema)
        except (TypeError, ValueError) as error:
            problems.add(where, schema, f"a JSON Schema must be JSON-serializable: {error}")
            continue
        declared = schema.get("$schema")
        if declared is not None and declared.rstrip("#") != JSON_SCHEMA_DRAFT_4.rstrip("#"):
            problems.add(
                f"{where}.$schema",
                declared,
                f"API Gateway validates with JSON Schema draft 4 ({JSON_SCHEMA_DRAFT_4})",
            )


def _check_request_parameters(
    problems: ProblemCollector, prop: str, options: RouteOptions, key: str | None
) -> None:
    parameters = options.request_parameters
    if parameters is None:
        return
    if key is not None and key != CONNECT:
        problems.add(
            f"{prop}.request_parameters",
            key,
            "request parameters exist on $connect only (messages have no headers or query)",
        )
    for name, required in parameters.items():
        if not _ROUTE_REQUEST_PARAMETER.match(name):
            problems.add(
                f"{prop}.request_parameters",
                name,
                "a parameter is 'route.request.querystring.<name>' or "
                "'route.request.header.<name>'",
            )
        if not isinstance(required, bool):
            problems.add(
                f"{prop}.request_parameters[{name!r}]", required, "True (required) or False"
            )


def _request_models(options: RouteOptions) -> dict[str, Any]:
    if options.request_model is not None:
        return {DEFAULT_TEMPLATE_KEY: options.request_model}
    return dict(options.request_models or {})


def create_route(
    api: apigwv2.WebSocketApi,
    key: str,
    options: RouteOptions,
    authorizer: LambdaRequestAuthorizer | IamAuthorizer | None,
    *,
    model_selection_expression: str = DEFAULT_MODEL_SELECTION_EXPRESSION,
) -> apigwv2.WebSocketRoute:
    """Create the route ``key`` under ``api`` (id ``{key}-Route``, ``/`` escaped as ``%2F``)
    with ``options.integration``, or a Lambda proxy integration to ``options.handler``; then
    its request models (``AWS::ApiGatewayV2::Model``, id ``{key}-Model[-{selection key}]``)
    and request parameters.

    ``authorizer`` is the one resolved for this route (only ever given for ``$connect``).
    Every other route gets cdk-nag's APIG4 acknowledged: it cannot have an authorizer.
    """
    # "/" is the construct path separator (constructs would rewrite it as "--"): escape it as
    # in a URL so that the id still shows the route key.
    escaped = key.replace("/", "%2F")
    integration = options.integration
    if integration is None:
        assert options.handler is not None  # check_route_options
        integration = integrations.WebSocketLambdaIntegration(
            f"{escaped}-Integration",
            options.handler,
            timeout=options.integration_timeout,
        )
    route = apigwv2.WebSocketRoute(
        api,
        f"{escaped}-Route",
        web_socket_api=api,
        route_key=key,
        integration=integration,
        authorizer=to_route_authorizer(authorizer),
        api_key_required=options.api_key_required or None,
        return_response=options.return_response or None,
    )
    _add_request_models(api, route, escaped, options, model_selection_expression)
    if options.request_parameters:
        cfn_route = route.node.default_child
        assert isinstance(cfn_route, apigwv2.CfnRoute)
        cfn_route.request_parameters = {
            name: {"Required": required} for name, required in options.request_parameters.items()
        }
    if key != CONNECT:
        acknowledge(
            route,
            "AwsSolutions-APIG4",
            "API Gateway authorizes WebSocket clients on $connect only; messages on "
            "other routes arrive on an already authorized connection.",
        )
    return route


def _add_request_models(
    api: apigwv2.WebSocketApi,
    route: apigwv2.WebSocketRoute,
    escaped_key: str,
    options: RouteOptions,
    model_selection_expression: str,
) -> None:
    models = _request_models(options)
    if not models:
        return
    cfn_route = route.node.default_child
    assert isinstance(cfn_route, apigwv2.CfnRoute)
    names: dict[str, str] = {}
    for selection_key, schema in models.items():
        suffix = "" if options.request_model is not None else f"-{selection_key}"
        name = _model_name(route.route_key, selection_key)
        model = apigwv2.CfnModel(
            api,
            f"{escaped_key}-Model{suffix}".replace("/", "%2F"),
            api_id=api.api_id,
            name=name,
            content_type="application/json",
            schema={"$schema": JSON_SCHEMA_DRAFT_4, **schema},
            description=f"Messages of route {route.route_key} ({selection_key})",
        )
        # RequestModels names the model: CloudFormation must create it before the route.
        cfn_route.node.add_dependency(model)
        names[selection_key] = name
    cfn_route.request_models = names
    cfn_route.model_selection_expression = model_selection_expression


def _model_name(route_key: str, selection_key: str) -> str:
    """A model name (alphanumeric, unique in the API) derived from the two keys."""
    readable = re.sub(r"[^A-Za-z0-9]", "", f"{route_key}{selection_key.title()}")[:48]
    digest = hashlib.sha256(f"{route_key}\0{selection_key}".encode()).hexdigest()[:8]
    return f"{readable or 'Route'}Model{digest}"

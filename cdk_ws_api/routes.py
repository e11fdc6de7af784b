"""Route options, route creation and the rules for route keys, selection expressions,
throttles and timeouts.

A route is given to :class:`~cdk_ws_api.WebSocketApi` either as a bare Lambda function (an
``IFunction``) or as :class:`RouteOptions`; both are turned into :class:`RouteOptions` by
:func:`to_route_options`, the single place the route defaults are applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from aws_cdk import Duration, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_

from ._nag import acknowledge
from .authorizers import IamAuthorizer, LambdaRequestAuthorizer, to_route_authorizer
from .errors import ProblemCollector

__all__ = [
    "CONNECT",
    "DEFAULT",
    "DEFAULT_ROUTE_SELECTION_EXPRESSION",
    "DISCONNECT",
    "MAX_INTEGRATION_TIMEOUT",
    "MIN_INTEGRATION_TIMEOUT",
    "PREDEFINED_ROUTE_KEYS",
    "RouteHandler",
    "RouteOptions",
    "check_route_key",
    "check_route_selection_expression",
    "check_throttle",
    "create_route",
    "to_route_options",
]

CONNECT = "$connect"
DISCONNECT = "$disconnect"
DEFAULT = "$default"
PREDEFINED_ROUTE_KEYS = (CONNECT, DISCONNECT, DEFAULT)

#: Default route selection expression of every API (the AWS console default).
DEFAULT_ROUTE_SELECTION_EXPRESSION = "$request.body.action"
#: API Gateway's integration timeout bounds for WebSocket APIs.
MIN_INTEGRATION_TIMEOUT = Duration.millis(50)
MAX_INTEGRATION_TIMEOUT = Duration.seconds(29)

_MAX_ROUTE_KEY_LENGTH = 128
_CUSTOM_ROUTE_KEY = re.compile(r"^[^\s$]\S*$")
_SELECTION_EXPRESSION = re.compile(r"^\$request\.body\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True, kw_only=True)
class RouteOptions:
    """How one route is served.

    :param handler: the Lambda function behind the route (a Lambda proxy integration). It gets
        the runtime layer, the connection-table environment variables and permissions (see
        :class:`~cdk_ws_api.WebSocketApi`).
    :param integration_timeout: integration timeout, between 50 ms and 29 s.
        Default: - API Gateway's default, 29 seconds.
    :param api_key_required: require an API key (see ``api_key_selection_expression`` and
        ``usage_plan`` on the API). Default: ``False``.
    :param return_response: two-way route: the handler's return value is sent back to the
        client (a ``$default`` route response is created). Default: ``False``.
    :param throttle: route-level throttling applied in every stage, unless the stage's
        ``route_throttles`` overrides it. Default: - the stage's default throttle.
    :param authorizer: only on ``$connect``; same as the API's ``authorizer`` prop (set one of
        the two). Default: - the API's ``authorizer``.
    """

    handler: lambda_.IFunction
    integration_timeout: Duration | None = None
    api_key_required: bool = False
    return_response: bool = False
    throttle: apigwv2.ThrottleSettings | None = None
    authorizer: LambdaRequestAuthorizer | IamAuthorizer | None = None


#: What a route accepts: a function (all defaults) or full options.
RouteHandler = Union[lambda_.IFunction, RouteOptions]  # noqa: UP007 (runtime alias, py3.10)


def to_route_options(handler_or_options: RouteHandler) -> RouteOptions:
    """Normalise a route given as a bare function into :class:`RouteOptions` with defaults."""
    if isinstance(handler_or_options, RouteOptions):
        return handler_or_options
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


def check_throttle(
    problems: ProblemCollector, prop: str, throttle: apigwv2.ThrottleSettings | None
) -> None:
    """``rate_limit`` is a number >= 0 (requests per second); ``burst_limit`` an integer >= 0."""
    if throttle is None:
        return
    rate, burst = throttle.rate_limit, throttle.burst_limit
    if rate is not None and not Token.is_unresolved(rate) and rate < 0:
        problems.add(f"{prop}.rate_limit", rate, "the rate limit must be a number >= 0")
    if burst is not None and not Token.is_unresolved(burst) and (burst < 0 or int(burst) != burst):
        problems.add(f"{prop}.burst_limit", burst, "the burst limit must be an integer >= 0")


def check_route_options(problems: ProblemCollector, prop: str, options: RouteOptions) -> None:
    """Timeout bounds and throttle values of one route."""
    timeout = options.integration_timeout
    if timeout is not None and not Token.is_unresolved(timeout.to_string()):
        millis = timeout.to_milliseconds()
        if not (
            MIN_INTEGRATION_TIMEOUT.to_milliseconds()
            <= millis
            <= MAX_INTEGRATION_TIMEOUT.to_milliseconds()
        ):
            problems.add(
                f"{prop}.integration_timeout",
                f"{millis} ms",
                "the integration timeout must be between 50 milliseconds and 29 seconds",
            )
    check_throttle(problems, f"{prop}.throttle", options.throttle)


def create_route(
    api: apigwv2.WebSocketApi,
    key: str,
    options: RouteOptions,
    authorizer: LambdaRequestAuthorizer | IamAuthorizer | None,
) -> apigwv2.WebSocketRoute:
    """Create the route ``key`` under ``api`` (id ``{key}-Route``, ``/`` escaped as ``%2F``)
    with a Lambda proxy integration to ``options.handler``.

    ``authorizer`` is the one resolved for this route (only ever given for ``$connect``).
    Every other route gets cdk-nag's APIG4 acknowledged: it cannot have an authorizer.
    """
    # "/" is the construct path separator (constructs would rewrite it as "--"): escape it as
    # in a URL so that the id still shows the route key.
    escaped = key.replace("/", "%2F")
    route = apigwv2.WebSocketRoute(
        api,
        f"{escaped}-Route",
        web_socket_api=api,
        route_key=key,
        integration=integrations.WebSocketLambdaIntegration(
            f"{escaped}-Integration",
            options.handler,
            timeout=options.integration_timeout,
        ),
        authorizer=to_route_authorizer(authorizer),
        api_key_required=options.api_key_required or None,
        return_response=options.return_response or None,
    )
    if key != CONNECT:
        acknowledge(
            route,
            "AwsSolutions-APIG4",
            "API Gateway authorizes WebSocket clients on $connect only; messages on "
            "other routes arrive on an already authorized connection.",
        )
    return route

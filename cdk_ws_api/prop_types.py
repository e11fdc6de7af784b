"""Type checks of ``WebSocketApi``'s props, run before anything reaches jsii.

A wrong type handed to aws-cdk-lib fails deep inside jsii or typeguard, with a message that
names neither the prop nor what to pass; these checks say both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .errors import ProblemCollector
from .routes import RouteOptions
from .stages import StageOptions

__all__ = ["check_prop_types", "check_route_handler_type", "is_function"]

_ROUTE_HANDLER = (
    "a lambda_.IFunction, a WebSocketRouteIntegration or "
    "RouteOptions(handler=... or integration=...)"
)


def is_function(value: Any) -> bool:
    """``value`` is a Lambda function construct (``Function``, imported, ``Alias``, ``Version``).

    jsii interfaces are not runtime-checkable protocols, so this checks for
    ``lambda_.FunctionBase`` or, for other ``IFunction`` implementations, a construct with a
    ``function_arn``.
    """
    return isinstance(value, lambda_.FunctionBase) or (
        isinstance(value, Construct) and hasattr(value, "function_arn")
    )


def check_route_handler_type(problems: ProblemCollector, prop: str, value: Any) -> bool:
    """``value`` is a function, an integration, or ``RouteOptions`` whose ``handler`` and
    ``integration`` have those types; False (and a problem) if not. (Giving exactly one of the
    two is ``routes.check_route_options``'s rule.)"""
    if isinstance(value, RouteOptions):
        ok = True
        if value.handler is not None and not is_function(value.handler):
            problems.add(f"{prop}.handler", value.handler, "must be a lambda_.IFunction")
            ok = False
        if value.integration is not None and not isinstance(
            value.integration, apigwv2.WebSocketRouteIntegration
        ):
            problems.add(
                f"{prop}.integration",
                value.integration,
                "must be an aws_apigatewayv2.WebSocketRouteIntegration",
            )
            ok = False
        return ok
    if not is_function(value) and not isinstance(value, apigwv2.WebSocketRouteIntegration):
        problems.add(prop, value, f"a route is {_ROUTE_HANDLER}")
        return False
    return True


def check_prop_types(
    problems: ProblemCollector,
    *,
    route_selection_expression: Any,
    connect: Any,
    disconnect: Any,
    default: Any,
    routes: Any,
    stages: Any,
) -> None:
    """The types of the props that decide the API's shape."""
    if not isinstance(route_selection_expression, str):
        problems.add(
            "route_selection_expression",
            route_selection_expression,
            "must be a string such as '$request.body.action'",
        )
    for prop, value in (("connect", connect), ("disconnect", disconnect), ("default", default)):
        if value is not None:
            check_route_handler_type(problems, prop, value)
    if routes is not None:
        if not isinstance(routes, Mapping):
            problems.add(
                "routes",
                routes,
                f"must be a mapping of route keys to {_ROUTE_HANDLER}, e.g. {{'send': fn}}",
            )
        else:
            for key, value in routes.items():
                if not isinstance(key, str):
                    problems.add("routes", key, "route keys are strings")
                check_route_handler_type(problems, f"routes[{key!r}]", value)
    if stages is not None:
        if isinstance(stages, (str, bytes, Mapping)) or not isinstance(stages, Sequence):
            problems.add("stages", stages, "must be a list of StageOptions, e.g. [StageOptions()]")
        else:
            for index, stage in enumerate(stages):
                if not isinstance(stage, StageOptions):
                    problems.add(f"stages[{index}]", stage, "must be a StageOptions")

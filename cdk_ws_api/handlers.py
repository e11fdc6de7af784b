"""What a :class:`~cdk_ws_api.WebSocketApi` gives the functions it serves, besides permissions
(see ``grants.py``): environment variables and the ``lambda_runtime`` layer.

Both are remembered in construct metadata on the function, so they survive across APIs and
constructs: ``cdk-ws-api:route-handler-of`` (the path of the API whose routes it serves; a
function can serve one API only, its environment variables would collide) and
``cdk-ws-api:runtime-layer`` (the path of a layer already added; added once per function).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from lambda_runtime import env

from .errors import ProblemCollector
from .layer import COMPATIBLE_RUNTIMES
from .table import TableSchema

__all__ = [
    "add_runtime_layer",
    "check_handler_free",
    "claim_handler",
    "handler_environment",
    "set_handler_environment",
]

_BOUND_METADATA = "cdk-ws-api:route-handler-of"
_LAYER_METADATA = "cdk-ws-api:runtime-layer"


def handler_environment(
    schema: TableSchema, table_name: str, management_endpoint: str | None
) -> dict[str, str]:
    """The variables of ``lambda_runtime.env`` for the API's handlers: the table's, plus
    ``WS_API_MANAGEMENT_ENDPOINT`` with a custom domain (without one,
    ``Connections.for_event`` derives the endpoint from the event)."""
    environment = schema.environment(table_name)
    if management_endpoint is not None:
        environment[env.MANAGEMENT_ENDPOINT] = management_endpoint
    return environment


def check_handler_free(
    problems: ProblemCollector, prop: str, handler: lambda_.IFunction, *, api_path: str
) -> None:
    """``handler`` must not serve routes of an API other than the one at ``api_path``."""
    for owner in _metadata(handler, _BOUND_METADATA):
        if owner != api_path:
            problems.add(
                prop,
                handler.node.path,
                f"this function already serves routes of {owner}; a function can "
                "serve one WebSocketApi (its environment variables would collide)",
            )


def claim_handler(handler: lambda_.IFunction, *, api_path: str) -> None:
    """Record that ``handler`` serves the API at ``api_path`` (see :func:`check_handler_free`)."""
    handler.node.add_metadata(_BOUND_METADATA, api_path)


def set_handler_environment(
    scope: Construct, handler: lambda_.IFunction, environment: Mapping[str, str]
) -> None:
    """Add ``environment`` to ``handler``; warn on ``scope`` when it cannot (imported
    functions have no ``add_environment``)."""
    add_environment = getattr(handler, "add_environment", None)
    if callable(add_environment):
        for name, value in environment.items():
            add_environment(name, value)
    else:
        Annotations.of(scope).add_warning_v2(
            "cdk-ws-api:imported-handler",
            f"{handler.node.path} is not a lambda_.Function: set its environment variables "
            f"({', '.join(environment)}) and the runtime layer yourself",
        )


def add_runtime_layer(handler: lambda_.IFunction, layer: lambda_.ILayerVersion) -> None:
    """Add ``layer`` to ``handler`` once, if it is a ``lambda_.Function`` on a Python runtime
    the layer supports; skip it silently otherwise."""
    runtime = getattr(handler, "runtime", None)
    add_layers = getattr(handler, "add_layers", None)
    compatible = {r.name for r in COMPATIBLE_RUNTIMES}
    if runtime is None or not callable(add_layers) or runtime.name not in compatible:
        return
    layer_path = layer.node.path
    if layer_path in _metadata(handler, _LAYER_METADATA):
        return
    handler.node.add_metadata(_LAYER_METADATA, layer_path)
    add_layers(layer)


def _metadata(construct: IConstruct, entry_type: str) -> list[Any]:
    """The data of ``construct``'s own metadata entries of ``entry_type``, oldest first."""
    return [entry.data for entry in construct.node.metadata if entry.type == entry_type]

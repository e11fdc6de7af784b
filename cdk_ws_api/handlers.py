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
from .layer import COMPATIBLE_RUNTIMES, MIN_PYTHON, python_version
from .table import TableSchema

__all__ = [
    "IMPORT_HINT",
    "PUBLISHER_METADATA",
    "add_runtime_layer",
    "can_create_invoke_permission",
    "check_handler_free",
    "check_imported_function",
    "claim_handler",
    "handler_environment",
    "set_handler_environment",
]

_BOUND_METADATA = "cdk-ws-api:route-handler-of"
_LAYER_METADATA = "cdk-ws-api:runtime-layer"
#: ``{api path}#{stage}`` of the API stage a publisher (``add_publisher``) publishes to.
PUBLISHER_METADATA = "cdk-ws-api:publisher-of"


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
    """``handler`` must not serve routes of, or publish to, an API other than the one at
    ``api_path``."""
    owners = _metadata(handler, _BOUND_METADATA) + [
        str(target).split("#")[0] for target in _metadata(handler, PUBLISHER_METADATA)
    ]
    for owner in dict.fromkeys(owners):
        if owner != api_path:
            problems.add(
                prop,
                handler.node.path,
                f"this function already serves routes of (or publishes to) {owner}; a "
                "function can serve one WebSocketApi (its environment variables would collide)",
            )


def claim_handler(handler: lambda_.IFunction, *, api_path: str) -> None:
    """Record that ``handler`` serves the API at ``api_path`` (see :func:`check_handler_free`)."""
    handler.node.add_metadata(_BOUND_METADATA, api_path)


def can_create_invoke_permission(function: lambda_.IFunction) -> bool:
    """Whether aws-cdk-lib will create the ``AWS::Lambda::Permission`` that lets API Gateway
    invoke ``function`` (``add_permission`` silently does nothing otherwise).

    Reads ``FunctionBase.canCreatePermissions`` (a protected member, ``_can_create_permissions``
    in Python): false for a function imported by ARN or name into an environment-agnostic stack
    or from another account, unless ``same_environment=True`` was given.
    tests/constructs/test_constructs_imported.py fails if aws-cdk-lib changes it.
    """
    if isinstance(function, lambda_.FunctionBase):
        return bool(function._can_create_permissions)
    return True


#: What to pass instead of ``from_function_arn`` (said by every error about imported functions).
IMPORT_HINT = (
    "import it with lambda_.Function.from_function_attributes(scope, id, function_arn=..., "
    "role=iam.Role.from_role_arn(scope, id, role_arn), same_environment=True)"
)


def check_imported_function(
    problems: ProblemCollector,
    prop: str,
    function: lambda_.IFunction,
    *,
    invoked_by_api: bool,
    needs_role: bool,
) -> None:
    """An imported function must let CDK make what it needs for real: the invoke permission
    (``invoked_by_api``) and IAM grants on its role (``needs_role``)."""
    if needs_role and function.role is None:
        problems.add(
            prop,
            function.node.path,
            "this function has no role CDK knows of, so it cannot get the IAM grants (the "
            f"connection table, @connections): {IMPORT_HINT}",
        )
    if invoked_by_api and not can_create_invoke_permission(function):
        problems.add(
            prop,
            function.node.path,
            "CDK cannot add the permission for API Gateway to invoke this function (it was "
            "imported without same_environment=True into a stack whose account is unknown or "
            f"different): {IMPORT_HINT}; a function of another account is not supported",
        )


def set_handler_environment(
    scope: Construct, handler: lambda_.IFunction, environment: Mapping[str, str]
) -> None:
    """Add ``environment`` to ``handler``; warn on ``scope`` when it cannot (imported
    functions, aliases and versions have no ``add_environment``)."""
    add_environment = getattr(handler, "add_environment", None)
    if callable(add_environment):
        for name, value in environment.items():
            add_environment(name, value)
    else:
        Annotations.of(scope).add_warning_v2(
            "cdk-ws-api:imported-handler",
            f"{handler.node.path} is not a lambda_.Function: it gets its IAM grants (on its "
            "role) and, for routes, the invoke permission, but not the environment variables "
            f"({', '.join(environment)}) nor the lambda_runtime layer: set them where the "
            "function is defined",
        )


def add_runtime_layer(
    scope: Construct, handler: lambda_.IFunction, layer: lambda_.ILayerVersion
) -> None:
    """Add ``layer`` to ``handler`` once, if it is a ``lambda_.Function`` on a Python >= 3.10
    runtime the layer lists. A Python function that cannot get it gets a warning on ``scope``;
    other runtimes (a Python layer is of no use to them) and imported functions (see
    :func:`set_handler_environment`) are skipped."""
    runtime = getattr(handler, "runtime", None)
    add_layers = getattr(handler, "add_layers", None)
    if runtime is None or not callable(add_layers) or python_version(runtime) is None:
        return
    layer_path = layer.node.path
    if layer_path in _metadata(handler, _LAYER_METADATA):
        return
    if runtime.name not in {r.name for r in COMPATIBLE_RUNTIMES}:
        Annotations.of(scope).add_warning_v2(
            "cdk-ws-api:runtime-layer-skipped",
            f"{handler.node.path} runs {runtime.name}: the lambda_runtime layer is only for "
            f"{', '.join(r.name for r in COMPATIBLE_RUNTIMES)} (Python >= "
            f"{'.'.join(map(str, MIN_PYTHON))} known to aws-cdk-lib), so it was not added; "
            "use one of those runtimes or bundle lambda_runtime with the function's code",
        )
        return
    handler.node.add_metadata(_LAYER_METADATA, layer_path)
    add_layers(layer)


def _metadata(construct: IConstruct, entry_type: str) -> list[Any]:
    """The data of ``construct``'s own metadata entries of ``entry_type``, oldest first."""
    return [entry.data for entry in construct.node.metadata if entry.type == entry_type]

"""Publishers: functions outside the API's routes that push to its clients (queue consumers,
schedules, stream processors, functions of other stacks).

``WebSocketApi.add_publisher`` gives such a function what a route handler gets from its event
and the construct, so that ``Connections()`` and ``ConnectionStore()`` work in it with no
argument: ``execute-api:ManageConnections`` on one stage's ``@connections``, the management
endpoint, the table variables and grant, and the runtime layer.

Across stacks every reference goes from the publisher's stack to the API's (the API id, the
table's name and ARN), never back, so CloudFormation sees no cycle; the layer is the
publisher's own stack's (a layer version shared through a cross-stack export would block
every update of the runtime: CloudFormation refuses to change an export in use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from lambda_runtime import env

from .errors import ProblemCollector
from .grants import check_grant, grant_manage_connections, grant_table_read, grant_table_read_write
from .handlers import (
    PUBLISHER_METADATA,
    add_runtime_layer,
    check_handler_free,
    check_imported_function,
    set_handler_environment,
)
from .layer import RuntimeLayer
from .prop_types import is_function

if TYPE_CHECKING:
    from .api import WebSocketApi

__all__ = ["PUBLISHER_METHODS", "TABLE_ACCESS", "Publisher", "TableAccess", "add_publisher"]

#: Default ``methods`` of a publisher: send only.
PUBLISHER_METHODS: tuple[str, ...] = ("POST",)
#: What ``table=`` accepts (``None``: no table variables and no table grant).
TABLE_ACCESS = ("read", "read_write")
TableAccess = Literal["read", "read_write"]


@dataclass(frozen=True)
class Publisher:
    """What :meth:`WebSocketApi.add_publisher` gave one function.

    :param function: the publisher.
    :param stage_name: the stage it publishes to.
    :param management_endpoint: its ``WS_API_MANAGEMENT_ENDPOINT``.
    :param environment: every variable set on it (names from ``lambda_runtime.env``).
    :param manage_connections: the ``execute-api:ManageConnections`` grant.
    :param table_grant: the connection-table grant (``None`` with ``table=None``).
    """

    function: lambda_.IFunction
    stage_name: str
    management_endpoint: str
    environment: dict[str, str]
    manage_connections: iam.Grant
    table_grant: iam.Grant | None


def add_publisher(
    api: WebSocketApi,
    function: Any,
    *,
    stage: Any,
    methods: Sequence[str],
    table: TableAccess | None,
) -> Publisher:
    """See :meth:`WebSocketApi.add_publisher` (props checked here, all problems at once)."""
    problems = ProblemCollector(api.node.path)
    stage_name = _stage_name(stage, api.default_stage.stage_name)
    if not is_function(function):
        problems.add("function", function, "must be a lambda_.IFunction")
        problems.raise_if_any()
    check_grant(problems, stage=stage_name, stage_names=list(api.stages), methods=methods)
    if table is not None and table not in TABLE_ACCESS:
        problems.add("table", table, "must be 'read', 'read_write' or None (no table access)")
    check_imported_function(problems, "function", function, invoked_by_api=False, needs_role=True)
    check_handler_free(problems, "function", function, api_path=api.node.path)
    _check_one_stage(problems, function, f"{api.node.path}#{stage_name}")
    problems.raise_if_any()

    function.node.add_metadata(PUBLISHER_METADATA, f"{api.node.path}#{stage_name}")
    endpoint = api.callback_urls[stage_name]
    environment = {env.MANAGEMENT_ENDPOINT: endpoint}
    table_grant: iam.Grant | None = None
    if table is not None:
        environment.update(api.table_schema.environment(api.table.table_name))
        grant_table = grant_table_read if table == "read" else grant_table_read_write
        table_grant = grant_table(function, api.table, api.table_schema)
    manage = grant_manage_connections(
        api, function, api_id=api.api.api_id, stages=[stage_name], methods=methods
    )
    set_handler_environment(api, function, environment)
    if api.runtime_layer is not None:
        add_runtime_layer(api, function, RuntimeLayer.of(function))
    return Publisher(function, stage_name, endpoint, environment, manage, table_grant)


def _stage_name(stage: Any, default: str) -> Any:
    if stage is None:
        return default
    stage_name = getattr(stage, "stage_name", None)
    return stage_name if isinstance(stage_name, str) else stage


def _check_one_stage(problems: ProblemCollector, function: lambda_.IFunction, target: str) -> None:
    """One ``WS_API_MANAGEMENT_ENDPOINT`` per function: one API stage per publisher."""
    for entry in function.node.metadata:
        if entry.type == PUBLISHER_METADATA and entry.data != target:
            problems.add(
                "function",
                function.node.path,
                f"this function already publishes to {entry.data}; a function publishes to one "
                "API stage (WS_API_MANAGEMENT_ENDPOINT holds one endpoint)",
            )

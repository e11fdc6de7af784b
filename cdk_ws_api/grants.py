"""The IAM grants of route handlers: ``execute-api:ManageConnections`` (the ``@connections``
management API) and read/write on the connection table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._nag import acknowledge, nag_resource_string
from .errors import ProblemCollector

if TYPE_CHECKING:
    from aws_cdk import aws_dynamodb as dynamodb

    from .table import TableSchema

__all__ = [
    "MANAGE_CONNECTIONS_METHODS",
    "TABLE_ACTIONS",
    "TABLE_READ_ACTIONS",
    "TABLE_WRITE_ACTIONS",
    "check_grant",
    "grant_manage_connections",
    "grant_table_read",
    "grant_table_read_write",
    "manage_connections_arn",
]

#: HTTP methods of the ``@connections`` API: POST (send), GET (info), DELETE (disconnect).
MANAGE_CONNECTIONS_METHODS: tuple[str, ...] = ("POST", "GET", "DELETE")


def manage_connections_arn(scope: Construct, api_id: str, stage: str, method: str) -> str:
    """``arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/@connections/*``."""
    return Stack.of(scope).format_arn(
        service="execute-api",
        resource=api_id,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        resource_name=f"{stage}/{method}/@connections/*",
    )


def check_grant(
    problems: ProblemCollector,
    *,
    stage: str | None,
    stage_names: Sequence[str],
    methods: Sequence[str],
) -> None:
    """``stage`` must be one of the API's stages; ``methods`` a non-empty subset of
    POST/GET/DELETE."""
    if stage is not None and not Token.is_unresolved(stage) and stage not in stage_names:
        problems.add("stage", stage, f"must be one of the API's stages {list(stage_names)}")
    if isinstance(methods, str):
        problems.add("methods", methods, "give a sequence of methods, e.g. ('POST',)")
        return
    if not methods:
        problems.add("methods", list(methods), "give at least one of POST, GET, DELETE")
    for method in methods:
        if method not in MANAGE_CONNECTIONS_METHODS:
            problems.add("methods", method, "the @connections API methods are POST, GET and DELETE")


def grant_manage_connections(
    scope: Construct,
    grantee: iam.IGrantable,
    *,
    api_id: str,
    stages: Iterable[str],
    methods: Iterable[str],
) -> iam.Grant:
    """Grant ``execute-api:ManageConnections`` on ``@connections/*`` for each stage and method.

    The ``@connections/*`` wildcard is required (connection ids are only known at run time),
    so the matching cdk-nag ``AwsSolutions-IAM5`` findings are acknowledged on the grantee.
    """
    pairs = [(stage, method) for stage in stages for method in dict.fromkeys(methods)]
    arns = [manage_connections_arn(scope, api_id, stage, method) for stage, method in pairs]
    grant = iam.Grant.add_to_principal(
        grantee=grantee, actions=["execute-api:ManageConnections"], resource_arns=arns
    )
    # A grantee in another stack reads the API id through a cross-stack export (the one CDK
    # creates for the reference anyway), which cdk-nag prints as the export's name:
    # acknowledge the ARNs as that stack shows them.
    nag_arns = arns
    if isinstance(grantee, Construct) and Stack.of(grantee) is not Stack.of(scope):
        exported_id = Stack.of(scope).export_value(api_id)
        nag_arns = [manage_connections_arn(scope, exported_id, s, m) for s, m in pairs]
    targets: list[IConstruct] = []
    for candidate in (grantee, grantee.grant_principal):
        if isinstance(candidate, Construct) and all(
            candidate.node.path != t.node.path for t in targets
        ):
            targets.append(candidate)
    for target in targets:
        for arn in nag_arns:
            acknowledge(
                target,
                f"AwsSolutions-IAM5[Resource::{nag_resource_string(scope, arn)}]",
                "execute-api:ManageConnections on '@connections/*' is scoped to one API, stage "
                "and method; the wildcard stands for the connection id, only known at run time.",
            )
    return grant


#: DynamoDB actions ``lambda_runtime.ConnectionStore`` calls to read: ``get`` (GetItem) and
#: ``ids`` (Scan, or Query on the group index). tests/constructs/test_constructs_iam.py derives
#: the store's calls from store.py, so these lists cannot drift from it.
TABLE_READ_ACTIONS: tuple[str, ...] = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
#: ... and to write: ``put`` (PutItem), ``delete`` (DeleteItem), ``delete_many``
#: (BatchWriteItem) and ``set_group`` (UpdateItem, with a condition: no ConditionCheckItem).
TABLE_WRITE_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
#: Everything the store calls: what every route handler gets on the table and its group index.
TABLE_ACTIONS: tuple[str, ...] = tuple(sorted(TABLE_READ_ACTIONS + TABLE_WRITE_ACTIONS))


def grant_table_read_write(
    grantee: iam.IGrantable, table: dynamodb.ITable, schema: TableSchema
) -> iam.Grant:
    """Grant :data:`TABLE_ACTIONS` on ``table`` and its group index (when ``schema`` names one),
    and encrypt/decrypt on the table's customer managed key, if any."""
    grant = _grant_table(grantee, table, schema, TABLE_ACTIONS)
    if table.encryption_key is not None:
        table.encryption_key.grant_encrypt_decrypt(grantee)
    return grant


def grant_table_read(
    grantee: iam.IGrantable, table: dynamodb.ITable, schema: TableSchema
) -> iam.Grant:
    """Grant :data:`TABLE_READ_ACTIONS` on ``table`` and its group index, and decrypt on the
    table's customer managed key, if any."""
    grant = _grant_table(grantee, table, schema, TABLE_READ_ACTIONS)
    if table.encryption_key is not None:
        table.encryption_key.grant_decrypt(grantee)
    return grant


def _grant_table(
    grantee: iam.IGrantable,
    table: dynamodb.ITable,
    schema: TableSchema,
    actions: tuple[str, ...],
) -> iam.Grant:
    resources = [table.table_arn]
    if schema.group_index_name is not None:
        resources.append(f"{table.table_arn}/index/{schema.group_index_name}")
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=list(actions), resource_arns=resources
    )

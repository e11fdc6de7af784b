"""``execute-api:ManageConnections`` ARNs and grants (the ``@connections`` management API)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import ArnFormat, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ._nag import acknowledge, nag_resource_string
from .errors import ProblemCollector

__all__ = [
    "MANAGE_CONNECTIONS_METHODS",
    "check_grant",
    "grant_manage_connections",
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
    arns = [
        manage_connections_arn(scope, api_id, stage, method)
        for stage in stages
        for method in dict.fromkeys(methods)
    ]
    grant = iam.Grant.add_to_principal(
        grantee=grantee, actions=["execute-api:ManageConnections"], resource_arns=arns
    )
    targets: list[IConstruct] = []
    for candidate in (grantee, grantee.grant_principal):
        if isinstance(candidate, Construct) and all(
            candidate.node.path != t.node.path for t in targets
        ):
            targets.append(candidate)
    for target in targets:
        for arn in arns:
            acknowledge(
                target,
                f"AwsSolutions-IAM5[Resource::{nag_resource_string(scope, arn)}]",
                "execute-api:ManageConnections on '@connections/*' is scoped to one API, stage "
                "and method; the wildcard stands for the connection id, only known at run time.",
            )
    return grant

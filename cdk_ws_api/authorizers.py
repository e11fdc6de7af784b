"""Authorization of the ``$connect`` route: a Lambda REQUEST authorizer, IAM, or none.

API Gateway evaluates authorization only when a WebSocket connection is opened, so an
authorizer can only be attached to ``$connect``; every later message runs on the already
authorized connection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Names, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from .errors import ProblemCollector
from .handlers import check_imported_function
from .limits import MAX_AUTHORIZER_NAME_LENGTH, check_length

__all__ = [
    "API_KEY_FROM_AUTHORIZER",
    "API_KEY_FROM_HEADER",
    "AUTHORIZER_ID",
    "DEFAULT_IDENTITY_SOURCE",
    "IamAuthorizer",
    "LambdaRequestAuthorizer",
    "UsagePlanOptions",
    "authorizer_permission",
    "check_api_key_selection_expression",
    "check_identity_sources",
    "check_lambda_authorizer",
    "to_route_authorizer",
]

#: Default identity source of a Lambda REQUEST authorizer (same as aws-cdk-lib's).
DEFAULT_IDENTITY_SOURCE: tuple[str, ...] = ("route.request.header.Authorization",)

_IDENTITY_SOURCE = re.compile(
    r"^(route\.request\.header\.[A-Za-z0-9!#$%&'*+.^_`|~-]+"
    r"|route\.request\.querystring\.[A-Za-z0-9._~-]+"
    r"|stageVariables\.[A-Za-z0-9_-]+"
    r"|context\.[A-Za-z0-9_.-]+)$"
)


@dataclass(frozen=True, kw_only=True)
class LambdaRequestAuthorizer:
    """A Lambda REQUEST authorizer on ``$connect``.

    API Gateway answers ``401`` without calling the function when an identity source is
    missing from the handshake; the function returns an IAM policy (Allow/Deny → ``403``).

    :param handler: the authorizer function. It gets the runtime layer (so it can use
        ``lambda_runtime.authorizer``) but no table access or environment variables.
    :param identity_source: where the identity is read from: ``route.request.header.<Name>``,
        ``route.request.querystring.<name>`` (also ``stageVariables.<name>`` and
        ``context.<name>``). Default: ``("route.request.header.Authorization",)``.
    :param authorizer_name: the authorizer's name in the API. Default: ``"ConnectAuthorizer"``.
    """

    handler: lambda_.IFunction
    identity_source: Sequence[str] = field(default=DEFAULT_IDENTITY_SOURCE)
    authorizer_name: str | None = None


@dataclass(frozen=True)
class IamAuthorizer:
    """IAM (SigV4) authorization on ``$connect``: callers need ``execute-api:Invoke``."""


#: Construct id of the authorizer L2 under the ``WebSocketApi`` L2 (also its default name).
AUTHORIZER_ID = "ConnectAuthorizer"


def check_identity_sources(problems: ProblemCollector, authorizer: LambdaRequestAuthorizer) -> None:
    """At least one source; each one of the forms API Gateway accepts for WebSocket APIs."""
    sources = list(authorizer.identity_source)
    if not sources:
        problems.add(
            "authorizer.identity_source",
            sources,
            "give at least one identity source, e.g. 'route.request.querystring.token'",
        )
    for source in sources:
        if Token.is_unresolved(source):
            continue
        if not _IDENTITY_SOURCE.match(source):
            problems.add(
                "authorizer.identity_source",
                source,
                "an identity source is 'route.request.header.<Name>' or "
                "'route.request.querystring.<name>' (or 'stageVariables.<name>', "
                "'context.<name>')",
            )


def check_lambda_authorizer(
    problems: ProblemCollector, prop: str, authorizer: LambdaRequestAuthorizer
) -> None:
    """Identity sources, the name's length, and a handler API Gateway can be allowed to call."""
    check_identity_sources(problems, authorizer)
    check_length(
        problems,
        f"{prop}.authorizer_name",
        authorizer.authorizer_name,
        minimum=1,
        maximum=MAX_AUTHORIZER_NAME_LENGTH,
    )
    check_imported_function(
        problems, f"{prop}.handler", authorizer.handler, invoked_by_api=True, needs_role=False
    )


def authorizer_permission(
    scope: Construct, authorizer: apigwv2.WebSocketAuthorizer
) -> IConstruct | None:
    """The ``AWS::Lambda::Permission`` aws-cdk-lib's ``WebSocketLambdaAuthorizer`` created for
    ``authorizer`` under ``scope`` (its id is ``{nodeUniqueId(authorizer)}-Permission``)."""
    return scope.node.try_find_child(f"{Names.node_unique_id(authorizer.node)}-Permission")


def to_route_authorizer(
    authorizer: LambdaRequestAuthorizer | IamAuthorizer | None,
) -> apigwv2.IWebSocketRouteAuthorizer | None:
    """The aws-cdk-lib authorizer object to hand to the ``$connect`` ``WebSocketRoute``."""
    if isinstance(authorizer, LambdaRequestAuthorizer):
        return authorizers.WebSocketLambdaAuthorizer(
            AUTHORIZER_ID,
            authorizer.handler,
            identity_source=list(authorizer.identity_source),
            authorizer_name=authorizer.authorizer_name or AUTHORIZER_ID,
        )
    if isinstance(authorizer, IamAuthorizer):
        return authorizers.WebSocketIamAuthorizer()
    return None


# --- API keys ---------------------------------------------------------------------------------

#: API key read from the ``x-api-key`` header of the handshake (API Gateway's default).
API_KEY_FROM_HEADER = "$request.header.x-api-key"
#: API key returned by the Lambda authorizer as ``usageIdentifierKey``.
API_KEY_FROM_AUTHORIZER = "$context.authorizer.usageIdentifierKey"
API_KEY_SELECTION_EXPRESSIONS = (API_KEY_FROM_HEADER, API_KEY_FROM_AUTHORIZER)


@dataclass(frozen=True, kw_only=True)
class UsagePlanOptions:
    """Create a usage plan (``AWS::ApiGateway::UsagePlan``) covering every stage of the API,
    an API key (``AWS::ApiGateway::ApiKey``, value generated by API Gateway) and their
    ``AWS::ApiGateway::UsagePlanKey``. Routes opt in with ``RouteOptions(api_key_required=True)``.

    :param usage_plan_name: Default: - generated by CloudFormation.
    :param api_key_name: Default: - generated by CloudFormation.
    :param throttle: the plan's per-key throttle. Default: - none (stage limits apply).
    :param quota: the plan's per-key request quota. Default: - none.
    """

    usage_plan_name: str | None = None
    api_key_name: str | None = None
    throttle: apigwv2.ThrottleSettings | None = None
    quota: apigwv2.QuotaSettings | None = None


def check_api_key_selection_expression(problems: ProblemCollector, expression: str) -> None:
    if Token.is_unresolved(expression) or expression in API_KEY_SELECTION_EXPRESSIONS:
        return
    problems.add(
        "api_key_selection_expression",
        expression,
        f"must be '{API_KEY_FROM_HEADER}' or '{API_KEY_FROM_AUTHORIZER}'",
    )

"""What a cloud assembly declares, as plain frozen data: the emulator's input.

:mod:`cdk_ws_api.local.assembly` builds these from templates; every other module reads them.
Nothing here does I/O, so tests build specs by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .iam.model import Permissions

__all__ = [
    "ApiSpec",
    "AuthorizerSpec",
    "AwsSpec",
    "EventSourceMappingSpec",
    "FunctionSpec",
    "GlobalIndexSpec",
    "HttpSpec",
    "IntegrationResponseSpec",
    "IntegrationSpec",
    "LambdaSpec",
    "LocalApp",
    "MockSpec",
    "QueueSpec",
    "ResourceSpec",
    "RouteSpec",
    "StackTemplate",
    "TableSpec",
    "UnsupportedSpec",
]


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Lambda::Function`` of the assembly (behind a route, an authorizer, or none:
    the Invoke API serves every one).

    ``environment`` is already resolved to local values; ``code_dir`` is the directory put first
    on the worker's ``PYTHONPATH`` and ``layer_dirs`` follow it (each layer's ``python/``).
    ``stack`` is the display name of the stack declaring it, ``path`` its construct path
    (``Stack/Notifier``, from ``aws:cdk:path``; empty when the app disabled path metadata).
    """

    logical_id: str
    name: str
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: tuple[Path, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    timeout: float = 3.0
    memory_mb: int = 128
    arn: str = ""
    stack: str = ""
    path: str = ""


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda ``REQUEST`` authorizer of the API.

    ``identity_sources`` are AWS expressions such as ``route.request.querystring.token`` or
    ``route.request.header.Auth``; when any is missing the handshake gets 401 without calling
    the function.
    """

    logical_id: str
    name: str
    function: str | None
    identity_sources: tuple[str, ...] = ()
    authorizer_type: str = "REQUEST"


@dataclass(frozen=True)
class IntegrationResponseSpec:
    """An ``AWS::ApiGatewayV2::IntegrationResponse``: ``key`` is its selection pattern
    (``$default``, ``/2\\d\\d/`` or a literal), matched against the integration response
    selection expression's value (the status code, or a Lambda error's message)."""

    key: str
    templates: Mapping[str, str] = field(default_factory=dict)
    template_selection_expression: str | None = None
    content_handling: str | None = None


@dataclass(frozen=True, kw_only=True)
class IntegrationSpec:
    """What every integration kind shares: the request side (templates and their selection,
    passthrough behaviour, parameter mapping), the integration responses and the timeout.
    One subclass per kind; each has one invoker in :mod:`.integrations`."""

    kind: ClassVar[str] = ""
    logical_id: str = ""
    request_templates: Mapping[str, str] = field(default_factory=dict)
    template_selection_expression: str | None = None
    #: ``WHEN_NO_MATCH`` (AWS's default), ``WHEN_NO_TEMPLATES`` or ``NEVER``.
    passthrough_behavior: str = "WHEN_NO_MATCH"
    #: ``integration.request.{header,querystring,path}.NAME`` → source expression.
    request_parameters: Mapping[str, str] = field(default_factory=dict)
    responses: tuple[IntegrationResponseSpec, ...] = ()
    response_selection_expression: str | None = None
    content_handling: str | None = None
    #: ``TimeoutInMillis`` in seconds; ``None``: the gateway's integration timeout (29 s).
    timeout: float | None = None

    def describe(self) -> str:
        """How the start-up listing shows it."""
        return self.kind


@dataclass(frozen=True, kw_only=True)
class LambdaSpec(IntegrationSpec):
    """A Lambda function: ``AWS_PROXY`` (``proxy``) or ``AWS`` with a Lambda invocation URI
    (its event is the request template's output)."""

    kind: ClassVar[str] = "AWS_PROXY"
    function: str | None = None
    proxy: bool = True

    def describe(self) -> str:
        target = self.function or "(function not emulated)"
        return f"{'AWS_PROXY' if self.proxy else 'AWS lambda'} {target}"


@dataclass(frozen=True, kw_only=True)
class MockSpec(IntegrationSpec):
    """``MOCK``: the request template's ``statusCode`` selects the integration response."""

    kind: ClassVar[str] = "MOCK"


@dataclass(frozen=True, kw_only=True)
class HttpSpec(IntegrationSpec):
    """``HTTP`` (templates apply) or ``HTTP_PROXY`` (``proxy``: the body passes through)."""

    kind: ClassVar[str] = "HTTP"
    url: str
    method: str = "POST"
    proxy: bool = False

    def describe(self) -> str:
        return f"{'HTTP_PROXY' if self.proxy else 'HTTP'} {self.method} {self.url}"


@dataclass(frozen=True, kw_only=True)
class AwsSpec(IntegrationSpec):
    """``AWS``: a service action (``arn:aws:apigateway:{region}:{service}:action/{Action}``)
    or path (``...:{service}:path/{path}``), called with ``credentials_arn``'s identity."""

    kind: ClassVar[str] = "AWS"
    service: str
    action: str | None = None
    path: str | None = None
    method: str = "POST"
    credentials_arn: str | None = None

    def describe(self) -> str:
        target = self.action or f"path/{self.path}"
        return f"AWS {self.service}:{target}"


@dataclass(frozen=True, kw_only=True)
class UnsupportedSpec(IntegrationSpec):
    """An integration the emulator cannot run (named at start); its route answers 500."""

    kind: ClassVar[str] = "UNSUPPORTED"
    integration_type: str = ""
    reason: str = ""

    def describe(self) -> str:
        return f"{self.integration_type or '-'} (not emulated: {self.reason})"


@dataclass(frozen=True)
class RouteSpec:
    """One route: its key, its integration, and whether the integration's answer is sent
    back (a route response).

    ``function`` is the Lambda function behind a Lambda integration (kept for the listing and
    for specs built by hand: ``RouteSpec("k", "Fn")`` means a Lambda proxy integration).
    ``request_models`` maps model selection keys to model names of :attr:`ApiSpec.models`.
    """

    key: str
    function: str | None
    integration_type: str = "AWS_PROXY"
    return_response: bool = False
    authorization_type: str = "NONE"
    authorizer: str | None = None
    api_key_required: bool = False
    integration: IntegrationSpec | None = None
    model_selection_expression: str | None = None
    request_models: Mapping[str, str] = field(default_factory=dict)
    #: Route ``RequestParameters`` marked ``Required`` (``route.request.querystring.x``).
    required_parameters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.integration is None and self.function is not None:
            object.__setattr__(self, "integration", LambdaSpec(function=self.function))


@dataclass(frozen=True)
class ApiSpec:
    """One ``WEBSOCKET`` API with the stage served locally.

    ``api_id`` is a stable 10-character id derived from the stack and logical id, used in
    events, method ARNs and the ``execute-api`` URLs that are redirected to the emulator.
    """

    logical_id: str
    name: str
    api_id: str
    stage: str
    stages: tuple[str, ...]
    route_selection_expression: str
    routes: dict[str, RouteSpec]
    authorizers: dict[str, AuthorizerSpec]
    region: str
    account: str
    stage_variables: dict[str, str] = field(default_factory=dict)
    #: ``AWS::ApiGatewayV2::Model`` name → JSON schema (draft 4).
    models: dict[str, Any] = field(default_factory=dict)

    def method_arn(self, route_key: str) -> str:
        """The ``execute-api`` ARN an authorizer's policy must allow for ``route_key``."""
        return (
            f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}/"
            f"{route_key}"
        )

    @property
    def aws_domain(self) -> str:
        """The domain this API would have on AWS (``{api_id}.execute-api.{region}...``)."""
        return f"{self.api_id}.execute-api.{self.region}.amazonaws.com"


@dataclass(frozen=True)
class GlobalIndexSpec:
    """A global secondary index: key schema and projection, as CloudFormation writes them."""

    name: str
    key_schema: tuple[tuple[str, str], ...]
    projection: dict[str, object]


@dataclass(frozen=True)
class TableSpec:
    """An ``AWS::DynamoDB::Table`` to create in the embedded moto server."""

    logical_id: str
    name: str
    key_schema: tuple[tuple[str, str], ...]
    attribute_definitions: tuple[tuple[str, str], ...]
    global_indexes: tuple[GlobalIndexSpec, ...] = ()
    local_indexes: tuple[GlobalIndexSpec, ...] = ()
    ttl_attribute: str | None = None
    stream_view_type: str | None = None
    #: Construct path (``Stack/Messages``, from ``aws:cdk:path``); empty without metadata.
    path: str = ""


@dataclass(frozen=True)
class ResourceSpec:
    """A resource an AWS integration or an event source needs in the embedded moto server:
    created there at start with one API call (``service``, ``operation``, ``params``), e.g.
    ``sqs`` ``CreateQueue``. ``arn`` is the resource's ARN in the template's account."""

    logical_id: str
    service: str
    operation: str
    params: Mapping[str, Any]
    arn: str = ""
    name: str = ""


@dataclass(frozen=True)
class QueueSpec:
    """An ``AWS::SQS::Queue``: its local name, URL path and the attributes the event source
    poller honours."""

    logical_id: str
    name: str
    arn: str
    visibility_timeout: int = 30
    fifo: bool = False


@dataclass(frozen=True)
class EventSourceMappingSpec:
    """An ``AWS::Lambda::EventSourceMapping`` from a queue of the template to a function."""

    logical_id: str
    function: str
    queue: QueueSpec
    batch_size: int = 10
    batch_window: float = 0.0
    report_batch_item_failures: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class StackTemplate:
    """One stack of the assembly: its template and the directory its asset paths are relative
    to."""

    name: str
    artifact_id: str
    display_name: str
    template: Mapping[str, Any]
    directory: Path
    region: str
    account: str


@dataclass
class LocalApp:
    """Everything the emulator serves from one stack."""

    stack: str
    api: ApiSpec
    functions: dict[str, FunctionSpec]
    tables: list[TableSpec]
    warnings: list[str] = field(default_factory=list)
    #: Queues, buses, state machines and streams created in moto (see :class:`ResourceSpec`).
    resources: list[ResourceSpec] = field(default_factory=list)
    event_sources: list[EventSourceMappingSpec] = field(default_factory=list)

    @property
    def needs_moto(self) -> bool:
        """Whether the embedded moto server has work: tables, resources created in it, AWS
        integrations or event sources polling it."""
        uses_aws = any(isinstance(r.integration, AwsSpec) for r in self.api.routes.values())
        return bool(self.tables or self.resources or self.event_sources or uses_aws)

    #: The stack's ``Outputs`` with intrinsics resolved (the API's URLs still AWS-shaped;
    #: :func:`.intrinsics.localize_urls` turns them into the local ones).
    outputs: dict[str, str] = field(default_factory=dict)
    #: Each function's execution role and identity policies (:mod:`.iam.model`); ``None``
    #: (an app built by hand) means no function has its own credentials: nothing is denied.
    permissions: Permissions | None = None

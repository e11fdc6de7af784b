"""What a cloud assembly declares, as plain frozen data: the emulator's input.

:mod:`cdk_ws_api.local.assembly` builds these from templates; every other module reads them.
Nothing here does I/O, so tests build specs by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ApiSpec",
    "AuthorizerSpec",
    "FunctionSpec",
    "GlobalIndexSpec",
    "LocalApp",
    "RouteSpec",
    "StackTemplate",
    "TableSpec",
]


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Lambda::Function`` that a route or an authorizer invokes.

    ``environment`` is already resolved to local values; ``code_dir`` is the directory put first
    on the worker's ``PYTHONPATH`` and ``layer_dirs`` follow it (each layer's ``python/``).
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
class RouteSpec:
    """One route: its key, the Lambda proxy function behind it (``None`` when the integration
    cannot be emulated) and whether the function's ``body`` is sent back (a route response)."""

    key: str
    function: str | None
    integration_type: str = "AWS_PROXY"
    return_response: bool = False
    authorization_type: str = "NONE"
    authorizer: str | None = None
    api_key_required: bool = False


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
    #: The stack's ``Outputs`` with intrinsics resolved (the API's URLs still AWS-shaped;
    #: :func:`.intrinsics.localize_urls` turns them into the local ones).
    outputs: dict[str, str] = field(default_factory=dict)

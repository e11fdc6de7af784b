"""CDK constructs for Amazon API Gateway WebSocket APIs.

Importing ``cdk_ws_api`` is cheap: the construct modules (and with them jsii and aws-cdk-lib)
load on first access of a public name, so ``cdk_ws_api.local`` (the emulator) and the CLI
never pay for them.

Public names: :class:`WebSocketApi` and its option types, :class:`ConnectionTable`,
:class:`RuntimeLayer`, :class:`ConstructValidationError`, :class:`BroadcastFanout` (the SQS
fan-out), and the integration helpers (:class:`SqsIntegration`,
:class:`EventBridgeIntegration`, :class:`StepFunctionsIntegration`, :class:`HttpIntegration`,
:class:`MockIntegration`; module ``integrations``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AccountCloudWatchRole",
    "BroadcastFanout",
    "ConnectionTable",
    "ConnectionTableProps",
    "ConstructValidationError",
    "CustomDomainOptions",
    "EventBridgeIntegration",
    "HttpIntegration",
    "IamAuthorizer",
    "LambdaRequestAuthorizer",
    "ManagedIntegration",
    "MockIntegration",
    "Problem",
    "Publisher",
    "RouteHandler",
    "RouteOptions",
    "RuntimeLayer",
    "SqsIntegration",
    "StageOptions",
    "StepFunctionsIntegration",
    "TableSchema",
    "UsagePlanOptions",
    "WebSocketApi",
]

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "AccountCloudWatchRole": "account",
    "BroadcastFanout": "fanout",
    "ConnectionTable": "table",
    "ConnectionTableProps": "table",
    "ConstructValidationError": "errors",
    "CustomDomainOptions": "domain",
    "EventBridgeIntegration": "integrations",
    "HttpIntegration": "integrations",
    "IamAuthorizer": "authorizers",
    "LambdaRequestAuthorizer": "authorizers",
    "ManagedIntegration": "integrations_base",
    "MockIntegration": "integrations",
    "Problem": "errors",
    "Publisher": "publishers",
    "RouteHandler": "routes",
    "RouteOptions": "routes",
    "RuntimeLayer": "layer",
    "SqsIntegration": "integrations",
    "StageOptions": "stages",
    "StepFunctionsIntegration": "integrations",
    "TableSchema": "table",
    "UsagePlanOptions": "authorizers",
    "WebSocketApi": "api",
}

if TYPE_CHECKING:
    from .account import AccountCloudWatchRole
    from .api import WebSocketApi
    from .authorizers import IamAuthorizer, LambdaRequestAuthorizer, UsagePlanOptions
    from .domain import CustomDomainOptions
    from .errors import ConstructValidationError, Problem
    from .fanout import BroadcastFanout
    from .integrations import (
        EventBridgeIntegration,
        HttpIntegration,
        MockIntegration,
        SqsIntegration,
        StepFunctionsIntegration,
    )
    from .integrations_base import ManagedIntegration
    from .layer import RuntimeLayer
    from .publishers import Publisher
    from .routes import RouteHandler, RouteOptions
    from .stages import StageOptions
    from .table import ConnectionTable, ConnectionTableProps, TableSchema


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

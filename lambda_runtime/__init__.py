"""lambda_runtime: typed events, route dispatch, the ``@connections`` API and the connection
store for AWS Lambda functions behind an API Gateway WebSocket API.

Importing the package costs almost nothing: each name below is loaded from its module on
first access, and boto3 only on the first management or store call.

::

    from lambda_runtime import Connections, MessageEvent, WebSocketApp

    app = WebSocketApp()

    @app.route("sendMessage")
    def send_message(event: MessageEvent) -> None:
        Connections.for_event(event).send(event.connection_id, event.json(), action="echo")

    handler = app
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .app import Reject, Response, Router, WebSocketApp
    from .authorizer import allow, deny
    from .connections import (
        MAX_PAYLOAD_BYTES,
        BroadcastResult,
        ConnectionInfo,
        Connections,
        encode_message,
        management_endpoint,
    )
    from .events import (
        AuthorizerEvent,
        CaseInsensitiveMapping,
        ConnectEvent,
        DisconnectEvent,
        MessageEvent,
        RequestIdentity,
        WebSocketEvent,
        parse_authorizer_event,
        parse_event,
    )
    from .exceptions import (
        ConfigurationError,
        ConnectionStoreError,
        EventParseError,
        FanoutError,
        ForbiddenError,
        GoneError,
        InvalidContextError,
        LimitExceededError,
        ManagementApiError,
        PayloadTooLargeError,
        WebSocketRuntimeError,
    )
    from .store import ConnectionStore

__version__ = "0.1.0"

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "AuthorizerEvent",
    "BroadcastResult",
    "CaseInsensitiveMapping",
    "ConfigurationError",
    "ConnectEvent",
    "ConnectionInfo",
    "ConnectionStore",
    "ConnectionStoreError",
    "Connections",
    "DisconnectEvent",
    "EventParseError",
    "FanoutError",
    "ForbiddenError",
    "GoneError",
    "InvalidContextError",
    "LimitExceededError",
    "ManagementApiError",
    "MessageEvent",
    "PayloadTooLargeError",
    "Reject",
    "RequestIdentity",
    "Response",
    "Router",
    "WebSocketApp",
    "WebSocketEvent",
    "WebSocketRuntimeError",
    "allow",
    "deny",
    "encode_message",
    "management_endpoint",
    "parse_authorizer_event",
    "parse_event",
]

_MODULES = {
    "app": ("Reject", "Response", "Router", "WebSocketApp"),
    "authorizer": ("allow", "deny"),
    "connections": (
        "MAX_PAYLOAD_BYTES",
        "BroadcastResult",
        "ConnectionInfo",
        "Connections",
        "encode_message",
        "management_endpoint",
    ),
    "events": (
        "AuthorizerEvent",
        "CaseInsensitiveMapping",
        "ConnectEvent",
        "DisconnectEvent",
        "MessageEvent",
        "RequestIdentity",
        "WebSocketEvent",
        "parse_authorizer_event",
        "parse_event",
    ),
    "exceptions": (
        "ConfigurationError",
        "ConnectionStoreError",
        "EventParseError",
        "FanoutError",
        "ForbiddenError",
        "GoneError",
        "InvalidContextError",
        "LimitExceededError",
        "ManagementApiError",
        "PayloadTooLargeError",
        "WebSocketRuntimeError",
    ),
    "store": ("ConnectionStore",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name is an error

    def __getattr__(name: str) -> object:
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        # __import__ rather than importlib: same effect, and ``-X importtime`` reports it.
        value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

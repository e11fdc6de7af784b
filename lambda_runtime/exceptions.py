"""Every exception ``lambda_runtime`` raises, under one root.

::

    WebSocketRuntimeError
    ├── EventParseError (also ValueError)     the event is not a WebSocket event / a field is wrong
    ├── ConfigurationError                    a table, endpoint or index cannot be resolved
    ├── InvalidContextError (also TypeError)  an authorizer context value is not str/number/bool
    ├── Reject                                raised by *your* ``$connect`` code to refuse a client
    ├── ConnectionStoreError                  DynamoDB refused a connection-store call
    ├── FanoutError                           SQS refused the messages of a fan-out publish
    └── ManagementApiError                    the ``@connections`` API answered with an error
        ├── GoneError             410  GoneException             the connection no longer exists
        ├── ForbiddenError        403  ForbiddenException        the caller may not manage it
        ├── PayloadTooLargeError  413  PayloadTooLargeException  data over 128 KiB (131072 bytes)
        └── LimitExceededError    429  LimitExceededException    throttled / client buffer full

Errors that come from AWS carry its error ``code`` (e.g. ``"GoneException"``) and HTTP
``status`` (e.g. ``410``); the original botocore exception, when there is one, is chained as
``__cause__``. ``management_error`` is the one code/status → class table: the boto3 path and
``broadcast``'s fast path both make their errors with it.
"""

from __future__ import annotations

__all__ = [
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
    "Reject",
    "WebSocketRuntimeError",
    "management_error",
]


class WebSocketRuntimeError(Exception):
    """Root of every exception raised by ``lambda_runtime``: catch this to catch them all."""


class EventParseError(WebSocketRuntimeError, ValueError):
    """Raised when an event is not an API Gateway WebSocket event, or one of its fields has the
    wrong type (also by ``MessageEvent.json()`` when the body is not valid JSON).

    ``field`` is the dotted path of the offending field (e.g. ``"requestContext.connectionId"``).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ConfigurationError(WebSocketRuntimeError):
    """Raised when a resource name or endpoint is neither given nor found in the environment
    (see ``lambda_runtime.env``): pass it explicitly or set the variable the message names."""


class InvalidContextError(WebSocketRuntimeError, TypeError):
    """Raised by ``authorizer.allow`` when a context key is not a string or a value is not a
    ``str``, ``int``, ``float`` or ``bool`` (API Gateway rejects anything else)."""


class Reject(WebSocketRuntimeError):
    """Raise in a ``@app.connect`` function to refuse the connection.

    ``WebSocketApp`` answers ``{"statusCode": status_code, "body": message}``, and API Gateway
    refuses the WebSocket handshake with that status. ``status_code`` must be 400-599.
    """

    def __init__(self, status_code: int = 403, message: str = "Forbidden") -> None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise TypeError(f"status_code must be an int, got {status_code!r}")
        if not 400 <= status_code <= 599:
            raise ValueError(
                f"status_code must be 400-599 to refuse a connection, got {status_code}"
            )
        super().__init__(status_code, message)
        self.status_code = status_code
        self.message = message

    def __str__(self) -> str:
        return f"{self.status_code} {self.message}"


class ConnectionStoreError(WebSocketRuntimeError):
    """Raised when DynamoDB refuses a ``ConnectionStore`` call (``code``/``status`` from AWS),
    or when ``delete_many`` still has unprocessed items after its retries (``unprocessed``)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        unprocessed: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.unprocessed = unprocessed or []


class FanoutError(WebSocketRuntimeError):
    """Raised by ``fanout.publish`` when SQS still refuses messages after its retries.

    ``tracking_id`` is the publish's; ``queued`` how many of its messages SQS had already
    accepted (those are delivered: a publish is not transactional), ``code`` SQS's error code.
    """

    def __init__(
        self, message: str, *, tracking_id: str, queued: int, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.tracking_id = tracking_id
        self.queued = queued
        self.code = code


class ManagementApiError(WebSocketRuntimeError):
    """Raised when the ``@connections`` API answers with an error not covered by a subclass
    (``status``/``code`` say which), or the request could not be sent (``status`` is None).

    ``connection_id`` is the connection the call was about (None for a whole broadcast).
    """

    #: AWS error code for this class (subclasses set it).
    default_code: str | None = None
    #: HTTP status for this class (subclasses set it).
    default_status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        connection_id: str | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.connection_id = connection_id
        self.code = code if code is not None else self.default_code
        self.status = status if status is not None else self.default_status

    def __str__(self) -> str:
        parts = [p for p in (str(self.status or ""), self.code or "", self.message) if p]
        text = " ".join(parts)
        return f"{text} (connection {self.connection_id})" if self.connection_id else text


class GoneError(ManagementApiError):
    """The connection no longer exists (410 ``GoneException``): forget its id."""

    default_code = "GoneException"
    default_status = 410


class ForbiddenError(ManagementApiError):
    """The caller may not manage connections of this API (403 ``ForbiddenException``): check the
    function's ``execute-api:ManageConnections`` permission and the endpoint's stage."""

    default_code = "ForbiddenException"
    default_status = 403


class PayloadTooLargeError(ManagementApiError):
    """The data is over 128 KiB (413 ``PayloadTooLargeException``). ``Connections`` raises it
    itself, before any network call, when the serialised data exceeds 131072 bytes."""

    default_code = "PayloadTooLargeException"
    default_status = 413


class LimitExceededError(ManagementApiError):
    """Too many requests, or the client's buffer is full (429 ``LimitExceededException``): retry
    later with backoff (``Connections.broadcast`` does this itself)."""

    default_code = "LimitExceededException"
    default_status = 429


_BY_CODE: dict[str, type[ManagementApiError]] = {
    cls.default_code: cls
    for cls in (GoneError, ForbiddenError, PayloadTooLargeError, LimitExceededError)
}
_BY_STATUS: dict[int, type[ManagementApiError]] = {
    cls.default_status: cls
    for cls in (GoneError, ForbiddenError, PayloadTooLargeError, LimitExceededError)
}


def management_error(
    message: object, *, code: object, status: object, connection_id: str | None
) -> ManagementApiError:
    """The typed error for an error answer of the ``@connections`` API: the class of its
    ``code`` (``"GoneException"`` → ``GoneError``...), else of its HTTP ``status``, else
    ``ManagementApiError``.

    Hostile values never raise here: a ``code`` that is not a non-empty string counts as none
    (the code is then the status, as text), a ``status`` that is not an int as none, and a
    ``message`` that is not a string is shown as its ``str()``."""
    number = status if isinstance(status, int) and not isinstance(status, bool) else None
    # No usable code: the status as text, as botocore's parsers do for a body without one.
    code_text = (
        code if isinstance(code, str) and code else (None if number is None else str(number))
    )
    cls = (
        (_BY_CODE.get(code_text) if code_text is not None else None)
        or (_BY_STATUS.get(number) if number is not None else None)
        or ManagementApiError
    )
    text = message if isinstance(message, str) else ("" if message is None else _text(message))
    return cls(text, connection_id=connection_id, code=code_text, status=number)


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a str() that raises, or RecursionError on a deeply nested value
        return f"<{type(value).__name__}>"

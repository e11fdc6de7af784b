"""Every error the local emulator raises on purpose.

::

    LocalEmulatorError
    ├── MissingDependencyError      the ``local`` extra (websockets, moto) is not installed
    ├── OptionError                 an emulator option has the wrong type or is out of range
    ├── SynthError                  the CDK app could not be synthesized
    ├── AssemblyError               the cloud assembly cannot be served
    │   ├── StackNotFoundError      --stack names no stack of the assembly
    │   └── NoWebSocketApiError     the chosen stack(s) hold no WEBSOCKET API / stage
    ├── IntrinsicError              an intrinsic function has no local value
    ├── InvocationError             a function invocation did not return a result
    │   ├── FunctionError           the handler raised (carries errorType / errorMessage)
    │   ├── FunctionTimeoutError    the function's timeout elapsed; the worker was killed
    │   ├── WorkerCrashedError      the worker process died (import error, os._exit, signal)
    │   ├── VtlError                a mapping template did not compile or evaluate
    │   └── IntegrationCallError    an HTTP or AWS integration call failed or timed out
    ├── DynamoDBError               the embedded moto server failed to start
    ├── HandshakeRejected           the ``$connect`` handshake is answered with an HTTP status
    ├── RequestRejected             API Gateway refuses a message before any integration runs
    ├── InvalidAuthorizerResponse   an authorizer's output API Gateway cannot use
    ├── HttpParseError              a request on the shared port that is not valid HTTP/1.1
    └── ManagementApiError          an ``@connections`` call failed (AWS code + HTTP status)
        ├── GoneException           410: unknown, closed or still-connecting connection
        ├── PayloadTooLargeException 413: ``Data`` over 128 KiB
        ├── ForbiddenException      403: path is not ``/{stage}/@connections/{id}`` of a stage
        └── BadRequestException     400: unsupported method or malformed request
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AssemblyError",
    "BadRequestException",
    "DynamoDBError",
    "ForbiddenException",
    "FunctionError",
    "FunctionTimeoutError",
    "GoneException",
    "HandshakeRejected",
    "HttpParseError",
    "IntegrationCallError",
    "IntrinsicError",
    "InvalidAuthorizerResponse",
    "InvocationError",
    "LocalEmulatorError",
    "ManagementApiError",
    "MissingDependencyError",
    "NoWebSocketApiError",
    "OptionError",
    "PayloadTooLargeException",
    "RequestRejected",
    "StackNotFoundError",
    "SynthError",
    "VtlError",
    "WorkerCrashedError",
]


class LocalEmulatorError(Exception):
    """Root of the emulator's errors; the CLI prints these without a traceback."""


class MissingDependencyError(LocalEmulatorError):
    """Raised before anything starts when a package of the ``local`` extra is missing."""


class OptionError(LocalEmulatorError, ValueError):
    """An :class:`~.options.EmulatorOptions` value of the wrong type or outside its limits;
    the message names the option and the rule."""


class SynthError(LocalEmulatorError):
    """Raised when ``--app`` exits non-zero or writes no ``manifest.json``."""


class AssemblyError(LocalEmulatorError):
    """Raised when the directory is not a cloud assembly or a template cannot be read."""


class StackNotFoundError(AssemblyError):
    """Raised when ``--stack`` matches no stack; the message lists the stacks found."""


class NoWebSocketApiError(AssemblyError):
    """Raised when the selected stacks declare no ``AWS::ApiGatewayV2::Api`` of protocol
    ``WEBSOCKET``, or the requested ``--stage`` does not exist."""


class IntrinsicError(LocalEmulatorError):
    """Raised when an intrinsic (``Fn::ImportValue``, an unknown ``Fn::GetAtt``...) cannot be
    given a local value. The assembly reader catches it per environment variable and warns."""


class InvocationError(LocalEmulatorError):
    """Raised when a function invocation produced no result; the gateway answers the client
    with API Gateway's ``Internal server error`` frame (or a 500 handshake on ``$connect``)."""


class FunctionError(InvocationError):
    """Raised when the handler raised an exception; ``error_type``/``error_message`` are the
    Lambda ``errorType``/``errorMessage`` (an authorizer raising ``Unauthorized`` → 401)."""

    def __init__(
        self, error_type: str, error_message: str, stack_trace: list[str] | None = None
    ) -> None:
        super().__init__(f"{error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        #: Lambda's ``stackTrace``: one ``  File "...", line N, in f\n    code\n`` per frame.
        self.stack_trace = stack_trace or []


class FunctionTimeoutError(InvocationError):
    """Raised when the function ran past its timeout; its worker has been killed."""


class WorkerCrashedError(InvocationError):
    """Raised when the worker process exited before answering (the next call gets a new one)."""


class VtlError(InvocationError):
    """Raised when a mapping template has a syntax error or fails while it is evaluated
    (a bad JSONPath, ``$util.parseJson`` of non-JSON): the client gets ``Internal server
    error`` and the log line names the cause."""


class IntegrationCallError(InvocationError):
    """Raised when an HTTP or AWS integration cannot be reached, times out, answers with a
    status no integration response selects, or is not allowed (``--allow-http-integration``)."""


class DynamoDBError(LocalEmulatorError):
    """Raised when the embedded moto server cannot be started or a table cannot be created."""


class HandshakeRejected(LocalEmulatorError):
    """Raised by the ``$connect`` flow: the handshake gets ``status`` and a
    ``{"message": message}`` body instead of 101 (401/403 from authorization, 500 on an
    integration error, or the ``statusCode`` a ``$connect`` handler answered)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


class RequestRejected(LocalEmulatorError):
    """Raised before an integration runs when API Gateway refuses the request itself: a body
    its request model rejects (400 ``Invalid request body``), no request template and
    passthrough ``NEVER`` (415 ``Unsupported Media Type``), a required route parameter
    missing (400 ``Bad Request``). ``status`` is for the access log (and the handshake on
    ``$connect``), ``message`` the error frame's; ``detail`` the cause for the log line."""

    def __init__(self, status: int, message: str, detail: str = "") -> None:
        super().__init__(f"{status} {message}{': ' + detail if detail else ''}")
        self.status = status
        self.message = message
        self.detail = detail


class InvalidAuthorizerResponse(LocalEmulatorError, ValueError):
    """Raised when an authorizer returns no ``policyDocument``, not an object, or a
    ``context`` with non-scalar values; the handshake is then refused with 403."""


class HttpParseError(LocalEmulatorError, ValueError):
    """Raised for bytes on the shared port that are not a supported HTTP/1.1 request;
    ``status`` is the HTTP answer (400, 413, 431, 501, 505), ``code`` the AWS error type sent
    as ``x-amzn-ErrorType`` when there is one (413: ``PayloadTooLargeException``);
    ``requests`` the requests the same bytes completed before the bad one (they are
    answered first, in order)."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.requests: list[Any] = []


class ManagementApiError(LocalEmulatorError):
    """An ``@connections`` error in AWS's wire format: ``code`` is the ``x-amzn-ErrorType``
    and the error shape name, ``status`` the HTTP status."""

    code = "InternalServerErrorException"
    status = 500

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message


class GoneException(ManagementApiError):
    """The connection id is unknown, closed, or still inside its ``$connect`` (as on AWS)."""

    code = "GoneException"
    status = 410


class PayloadTooLargeException(ManagementApiError):
    """``PostToConnection`` data is larger than 131,072 bytes."""

    code = "PayloadTooLargeException"
    status = 413


class ForbiddenException(ManagementApiError):
    """The path names no stage of the API, or is not an ``@connections`` path."""

    code = "ForbiddenException"
    status = 403


class BadRequestException(ManagementApiError):
    """The method is not GET, POST or DELETE, or the connection id is empty."""

    code = "BadRequestException"
    status = 400

"""The Lambda Invoke API on the emulator's port: every function of the assembly is invocable.

``POST /2015-03-31/functions/{FunctionName}/invocations`` as botocore's ``lambda`` model sends
it, so ``boto3.client("lambda", endpoint_url="http://127.0.0.1:3001").invoke(...)`` works, and
handlers get ``AWS_ENDPOINT_URL_LAMBDA`` so a function invoking another stays local.

- ``FunctionName``: the function's name, its ARN (full or partial ``ACCOUNT:function:NAME``,
  optionally ``:QUALIFIER``), its logical id (``Stack/LogicalId`` for another stack's), or
  its construct path (``NotifierStack/Notifier``, or ``Notifier`` alone); a logical id or a
  path without its stack matches when only one function has it. The region and
  account inside an ARN are not compared: locally there is one of each. Only ``$LATEST``
  exists; another qualifier is not found.
- ``X-Amz-Invocation-Type``: ``RequestResponse`` (200, the result as JSON), ``Event`` (202 at
  once; the invocation runs in the background, its failure is logged, not retried) or
  ``DryRun`` (204 when the function exists).
- ``X-Amz-Log-Type: Tail``: ``X-Amz-Log-Result`` is the base64 of the invocation's last 4 KB
  of log (``START``/``END``/``REPORT`` lines around what the handler printed), as on AWS.
- ``X-Amz-Client-Context``: base64 JSON, given to the handler as ``context.client_context``.
- A handler exception, a timeout or a crash answers 200 with ``X-Amz-Function-Error:
  Unhandled`` and Lambda's error payload (``errorType``/``errorMessage``/``stackTrace``;
  ``Sandbox.Timedout``, ``Runtime.ExitError``); an unknown function 404
  ``ResourceNotFoundException``; a payload that is not JSON 400
  ``InvalidRequestContentException``; one over 6 MB (256 KB for ``Event``) 413
  ``RequestTooLargeException``. Invocations beyond ``--concurrency`` wait for a worker instead
  of being throttled (429), so tests are not flaky.
- Other Lambda API operations answer 501 ``NotImplemented`` naming the operation.

Every answer has the header :data:`LOCAL_MARKER`, which ``cdk-ws-api local invoke`` uses to
recognize a running emulator.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .exceptions import FunctionError, FunctionTimeoutError, InvocationError
from .httpparse import HttpRequest
from .management import HttpResponse
from .router import AccessLogger, json_response
from .specs import FunctionSpec
from .workers import WorkerPool, WorkerPools

__all__ = [
    "INVOKE_PREFIX",
    "LOCAL_MARKER",
    "InvokeApi",
    "find_function",
    "split_function_name",
]

logger = logging.getLogger("cdk_ws_api.local")

#: Where botocore's ``lambda`` model puts the functions (API version 2015-03-31).
INVOKE_PREFIX = "/2015-03-31/functions"
#: Header on every Invoke API answer: what ``local invoke`` looks for on the port.
LOCAL_MARKER = "x-cdk-ws-api-local"
#: Lambda's payload quotas: synchronous 6 MB, asynchronous 256 KB.
SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
ASYNC_PAYLOAD_BYTES = 256 * 1024
#: ``LogType: Tail`` returns the last 4 KB of the invocation's log.
TAIL_BYTES = 4096

_INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


def split_function_name(reference: str) -> tuple[str, str | None]:
    """``(name, qualifier)`` of a ``FunctionName``: a name, ``NAME:QUALIFIER``, a partial ARN
    ``ACCOUNT:function:NAME[:QUALIFIER]`` or a full ARN."""
    parts = reference.split(":")
    if reference.startswith("arn:") and len(parts) >= 7 and parts[5] == "function":
        return parts[6], parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], parts[3] if len(parts) > 3 else None
    if len(parts) == 2:
        return parts[0], parts[1]
    return reference, None


def find_function(functions: Mapping[str, FunctionSpec], reference: str) -> str | None:
    """The key in ``functions`` of the function ``reference`` names (see the module's
    docstring for the accepted forms), or ``None``."""
    if reference in functions:  # a logical id of the served stack, or Stack/LogicalId
        return reference
    name, _ = split_function_name(reference)
    for key, spec in functions.items():
        if spec.name == name:
            return key
    for candidates in (
        [key for key, spec in functions.items() if spec.logical_id == reference],
        [key for key, spec in functions.items() if spec.path == reference],
        [key for key, spec in functions.items() if spec.path.partition("/")[2] == reference],
    ):
        if len(candidates) == 1:
            return candidates[0]
    return None


def _error(status: int, code: str, message: str) -> HttpResponse:
    # rest-json errors: botocore reads the code from x-amzn-ErrorType, the text from "message".
    return json_response(
        status,
        {"Type": "User", "message": message},
        {"x-amzn-ErrorType": code, LOCAL_MARKER: "1"},
    )


def _tail(request_id: str, spec: FunctionSpec, lines: list[str], duration_ms: float) -> str:
    log = (
        f"START RequestId: {request_id} Version: $LATEST\n"
        + "".join(f"{line}\n" for line in lines)
        + f"END RequestId: {request_id}\n"
        + f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {spec.memory_mb} MB\n"
    )
    return base64.b64encode(log.encode()[-TAIL_BYTES:]).decode()


def function_error_payload(error: InvocationError, request_id: str) -> dict[str, Any]:
    """Lambda's payload for an invocation that failed (what ``Payload`` holds when
    ``FunctionError`` is set)."""
    if isinstance(error, FunctionError):
        return {
            "errorMessage": error.error_message,
            "errorType": error.error_type,
            "requestId": request_id,
            "stackTrace": error.stack_trace,
        }
    if isinstance(error, FunctionTimeoutError):
        detail = str(error).split(": ", 1)[-1]
        return {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {detail}",
        }
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {error}",
    }


class InvokeApi:
    """The ``/2015-03-31/functions`` plane over the emulator's worker pools."""

    def __init__(
        self,
        functions: Callable[[], Mapping[str, FunctionSpec]],
        pools: WorkerPools,
        access: AccessLogger,
        *,
        region: str,
        account: str,
    ) -> None:
        #: Called per request: the emulator's functions change on reload.
        self._functions = functions
        self._pools = pools
        self._log = access
        self._region = region
        self._account = account
        self._background: set[asyncio.Task[None]] = set()

    async def handle(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        started = time.monotonic()
        response = await self._answer(request, parts)
        name = parts[3] if len(parts) > 3 else "-"
        self._log(request.method, "(Invoke)", name, response.status, started)
        return response

    async def close(self) -> None:
        """Wait for ``Event`` invocations still running (the pools bound them)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _answer(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        if request.method != "POST" or len(parts) != 5 or parts[4] != "invocations":
            operation = f"{request.method} {urlsplit(request.path).path}"
            return _error(
                501,
                "NotImplemented",
                "cdk-ws-api local does not emulate the AWS service 'lambda' except Invoke "
                f"(got {operation})",
            )
        reference = parts[3]
        name, qualifier = split_function_name(reference)
        query = parse_qs(urlsplit(request.path).query)
        qualifier = (query.get("Qualifier") or [qualifier])[0]
        key = find_function(self._functions(), reference)
        pool = self._pools.get(key) if key is not None else None
        if pool is None or qualifier not in (None, "$LATEST"):
            arn = f"arn:aws:lambda:{self._region}:{self._account}:function:{name}"
            if qualifier:
                arn += f":{qualifier}"
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        invocation_type = request.header("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type not in _INVOCATION_TYPES:
            return _error(
                400,
                "InvalidParameterValueException",
                f"X-Amz-Invocation-Type: {invocation_type!r} is not one of "
                f"{', '.join(_INVOCATION_TYPES)}",
            )
        limit = ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else SYNC_PAYLOAD_BYTES
        if len(request.body) > limit:
            return _error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the {invocation_type} "
                "invocation type",
            )
        try:
            event = json.loads(request.body) if request.body.strip() else {}
        except ValueError as exc:
            return _error(
                400,
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
            )
        try:
            client_context = _client_context(request.header("X-Amz-Client-Context"))
        except ValueError as exc:
            return _error(400, "InvalidRequestContentException", f"X-Amz-Client-Context: {exc}")
        if invocation_type == "DryRun":
            return HttpResponse(204, b"", {LOCAL_MARKER: "1"})
        if invocation_type == "Event":
            task = asyncio.ensure_future(self._in_background(pool, event, client_context))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return HttpResponse(202, b"", {LOCAL_MARKER: "1"})
        tail = (request.header("X-Amz-Log-Type") or "None") == "Tail"
        logs: list[str] | None = [] if tail else None
        request_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": "$LATEST",
            "x-amzn-RequestId": request_id,
            LOCAL_MARKER: "1",
        }
        started = time.monotonic()
        try:
            invocation = await pool.invoke(
                event, request_id=request_id, logs=logs, client_context=client_context
            )
            body: Any = invocation.result
        except InvocationError as error:
            body = function_error_payload(error, request_id)
            headers["X-Amz-Function-Error"] = "Unhandled"
        if logs is not None:
            duration = (time.monotonic() - started) * 1000
            headers["X-Amz-Log-Result"] = _tail(request_id, pool.spec, logs, duration)
        return HttpResponse(200, json.dumps(body).encode(), headers)

    async def _in_background(self, pool: WorkerPool, event: Any, client_context: Any) -> None:
        try:
            await pool.invoke(event, client_context=client_context)
        except InvocationError as error:
            logger.warning("[%s] Event invocation failed: %s", pool.spec.name, error)


def _client_context(header: str | None) -> Any:
    if not header:
        return None
    try:
        return json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64-encoded JSON ({exc})") from None

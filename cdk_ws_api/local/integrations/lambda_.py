"""Lambda integrations: ``AWS_PROXY`` (the event as API Gateway builds it, the function's
``statusCode``/``body``/``headers`` as the answer) and the custom ``AWS`` Lambda integration
(the request template's output is the event; the function's return value, as JSON, is the
integration response body; a function error selects integration responses by its
``errorMessage``, as with ``${integration.response.body.errorMessage}`` on AWS)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import FunctionError
from ..specs import LambdaSpec
from ..workers import Invocation
from .base import (
    BackendResponse,
    IntegrationOutcome,
    IntegrationRequest,
    MappedInvoker,
    MappedRequest,
)

__all__ = ["FunctionRunner", "LambdaCustomInvoker", "LambdaProxyInvoker", "reply_body", "status"]

FunctionRunner = Callable[[str | None, Any], Awaitable[Invocation]]
"""Invokes a function (logical id) with an event within the integration timeout; raises
:class:`~..exceptions.InvocationError`."""


def reply_body(result: Any) -> str | bytes | None:
    """What a Lambda proxy result sends back on a two-way route."""
    if isinstance(result, dict):
        body = result.get("body")
        if body is None:
            return None
        if result.get("isBase64Encoded") is True and isinstance(body, str):
            with contextlib.suppress(ValueError):
                return base64.b64decode(body, validate=True)  # sent as a binary frame
        return body if isinstance(body, str) else json.dumps(body)
    if result is None:
        return None
    return result if isinstance(result, str) else json.dumps(result)


def status(result: Any, default: int = 200) -> int:
    """A Lambda proxy result's ``statusCode`` (``default`` without a valid one)."""
    if isinstance(result, dict) and "statusCode" in result:
        with contextlib.suppress(TypeError, ValueError):
            return int(result["statusCode"])
    return default


class LambdaProxyInvoker:
    def __init__(self, spec: LambdaSpec, run: FunctionRunner) -> None:
        self.spec = spec
        self._run = run

    async def invoke(self, request: IntegrationRequest) -> IntegrationOutcome:
        invocation = await self._run(self.spec.function, request.event)
        result = invocation.result
        headers = result.get("headers") if isinstance(result, dict) else None
        return IntegrationOutcome(
            status(result),
            reply_body(result),
            {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        )


class LambdaCustomInvoker(MappedInvoker):
    def __init__(self, spec: LambdaSpec, run: FunctionRunner) -> None:
        super().__init__(spec)
        self.function = spec.function
        self._run = run

    async def call(self, request: IntegrationRequest, mapped: MappedRequest) -> BackendResponse:
        try:
            event: Any = json.loads(mapped.body)
        except ValueError:
            event = mapped.body
        try:
            invocation = await self._run(self.function, event)
        except FunctionError as error:
            body = json.dumps({"errorMessage": error.error_message, "errorType": error.error_type})
            return BackendResponse(200, body, selection=error.error_message)
        result = invocation.result
        body = result if isinstance(result, str) else json.dumps(result)
        return BackendResponse(200, body, selection="")

"""The invoker interface and the mapping pipeline every non-proxy integration shares.

An :class:`Invoker` turns one :class:`IntegrationRequest` (the event API Gateway built, the
raw body, the connection's handshake parameters) into an :class:`IntegrationOutcome`
(status, the reply for a route response, handshake headers). The gateway only ever calls
``invoke``; which kind runs is decided once, when the invoker is built for the route's spec.

:class:`MappedInvoker` is API Gateway's non-proxy pipeline (MOCK, HTTP, AWS, Lambda custom):

1. request template selection: the template selection expression (``\\$default``,
   ``$request.body.x`` or ``${request.body.x}``) picks a template, else ``$default``; with
   none, the passthrough behaviour decides (``WHEN_NO_MATCH`` passes the body through,
   ``WHEN_NO_TEMPLATES`` only when the integration has no template, ``NEVER`` → 415);
2. the template is evaluated (:mod:`..vtl`) and the request parameters mapped
   (``integration.request.header.X`` ← ``route.request.header.Y``,
   ``route.request.querystring.Y``, ``route.request.body.PATH``, ``context.a.b``,
   ``stageVariables.v`` or a ``'literal'``);
3. the kind's :meth:`MappedInvoker.call` reaches the backend;
4. the integration response is selected by the integration response selection expression
   (the status code, or a Lambda error's ``errorMessage``): a literal key first, then the
   ``/regex/`` keys, then ``$default``. None matching, or no integration response and a
   non-2xx status, is an integration failure (``Internal server error``, cause logged);
5. its response template (chosen by its template selection expression, else ``$default``)
   gives the reply; without one the backend's body is the reply. ``CONVERT_TO_BINARY``
   decodes a base64 reply into a binary frame.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..exceptions import IntegrationCallError, RequestRejected, VtlError
from ..routing import evaluate_expression
from ..specs import IntegrationResponseSpec, IntegrationSpec
from ..vtl import InputVariable, RequestParams, render

__all__ = [
    "BackendResponse",
    "IntegrationOutcome",
    "IntegrationRequest",
    "Invoker",
    "MappedInvoker",
    "run_blocking",
    "select_integration_response",
]

DEFAULT_KEY = "$default"

_T = TypeVar("_T")

#: Threads for the blocking HTTP calls of HTTP/AWS integrations and event source polls: their
#: own pool, so 29-second backends and 1-second long polls never queue behind each other in
#: asyncio's small default executor (cores + 4 threads).
_CALL_THREADS = 32
_executor: ThreadPoolExecutor | None = None


async def run_blocking(function: Callable[..., _T], *args: Any) -> _T:
    """Run a blocking call (bounded by its own socket timeout) off the event loop."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_CALL_THREADS, thread_name_prefix="cdk-ws-api-call")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(function, *args))


@dataclass
class IntegrationRequest:
    """One request to a route's integration."""

    event: dict[str, Any]
    body: str
    #: Handshake headers and query string (``$connect`` only; empty for messages).
    params: RequestParams
    stage_variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = self.event["requestContext"]
        return context


@dataclass(frozen=True)
class IntegrationOutcome:
    """``status`` for the access log and the handshake; ``reply`` is sent on two-way routes
    (``bytes``: a binary frame); ``headers`` answer a ``$connect`` handshake."""

    status: int
    reply: str | bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Invoker(Protocol):
    """What the gateway calls for a route, whatever the integration kind."""

    async def invoke(self, request: IntegrationRequest) -> IntegrationOutcome:
        """Raises :class:`~..exceptions.InvocationError` (→ ``Internal server error``) or
        :class:`~..exceptions.RequestRejected` (→ that error frame)."""
        ...


@dataclass(frozen=True)
class BackendResponse:
    """What a backend answered: ``selection`` is the value the integration response
    selection expression yields (by default the status code as text)."""

    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    selection: str | None = None


@dataclass(frozen=True)
class MappedRequest:
    """The request after templates and parameter mapping: what a backend receives."""

    body: str
    headers: dict[str, str]
    querystring: dict[str, str]
    path: dict[str, str]


def _unescape_literal(expression: str) -> str:
    return expression.replace("\\$", "$").strip()


def select_request_template(spec: IntegrationSpec, body: str) -> str | None:
    """The request template for ``body``; ``None``: pass the body through. Raises
    :class:`RequestRejected` (415) when the passthrough behaviour forbids it."""
    templates = spec.request_templates
    key = None
    expression = spec.template_selection_expression
    if expression:
        literal = _unescape_literal(expression)
        key = literal if literal in templates else evaluate_expression(expression, body)
    if key is not None and key in templates:
        return templates[key]
    if DEFAULT_KEY in templates:
        return templates[DEFAULT_KEY]
    behavior = (spec.passthrough_behavior or "WHEN_NO_MATCH").upper()
    if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
        raise RequestRejected(
            415, "Unsupported Media Type", f"no request template matches ({behavior})"
        )
    return None


def _parameter_value(source: str, request: IntegrationRequest) -> str | None:
    source = source.strip()
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    if source.startswith("route.request.header."):
        name = source.removeprefix("route.request.header.").lower()
        return next((v for k, v in request.params.header.items() if k.lower() == name), None)
    if source.startswith("route.request.querystring."):
        return request.params.querystring.get(source.removeprefix("route.request.querystring."))
    if source.startswith("route.request.body."):
        found = InputVariable(request.body).path("$." + source.removeprefix("route.request.body."))
        return None if found is None else str(found)
    if source.startswith("stageVariables."):
        return request.stage_variables.get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        value: Any = request.context
        for part in source.removeprefix("context.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None


def map_parameters(
    spec: IntegrationSpec, request: IntegrationRequest
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """``(headers, querystring, path)`` from the integration's request parameters; a source
    with no value is left out, as API Gateway does."""
    mapped: dict[str, dict[str, str]] = {"header": {}, "querystring": {}, "path": {}}
    for target, source in spec.request_parameters.items():
        parts = target.split(".", 3)
        if len(parts) != 4 or parts[:2] != ["integration", "request"] or parts[2] not in mapped:
            continue
        value = _parameter_value(str(source), request)
        if value is not None:
            mapped[parts[2]][parts[3]] = value
    return mapped["header"], mapped["querystring"], mapped["path"]


def _matches(key: str, value: str) -> bool:
    if len(key) >= 2 and key.startswith("/") and key.endswith("/"):
        try:
            return re.fullmatch(key[1:-1], value, re.S) is not None
        except re.error:
            return False
    return False


def select_integration_response(
    responses: tuple[IntegrationResponseSpec, ...], value: str
) -> IntegrationResponseSpec | None:
    """The integration response whose selection pattern matches ``value``: a literal key
    first, then ``/regex/`` keys in template order, then ``$default``."""
    for response in responses:
        if response.key == value:
            return response
    for response in responses:
        if _matches(response.key, value):
            return response
    return next((r for r in responses if r.key == DEFAULT_KEY), None)


def selection_value(expression: str | None, backend: BackendResponse) -> str:
    """What the integration response selection expression yields for ``backend``:
    ``${integration.response.statuscode}`` (the default, or the backend's own ``selection``
    when it has one, as Lambda errors do), ``${integration.response.body.PATH}`` (JSONPath in
    the body) or ``${integration.response.header.NAME}``; ``""`` when there is no value."""
    text = (expression or "").strip().removeprefix("${").removeprefix("$").removesuffix("}")
    if text.startswith("integration.response.body."):
        found = InputVariable(backend.body).path(
            "$." + text.removeprefix("integration.response.body.")
        )
        return "" if found is None else str(found)
    if text.startswith("integration.response.header."):
        name = text.removeprefix("integration.response.header.").lower()
        return next((v for k, v in backend.headers.items() if k.lower() == name), "")
    if backend.selection is not None and not text:
        return backend.selection
    return str(backend.status)


def _response_template(response: IntegrationResponseSpec, backend: BackendResponse) -> str | None:
    templates = response.templates
    if not templates:
        return None
    expression = response.template_selection_expression
    if expression:
        literal = _unescape_literal(expression)
        if literal in templates:
            return templates[literal]
        if "integration.response.statuscode" in expression and str(backend.status) in templates:
            return templates[str(backend.status)]
    if DEFAULT_KEY in templates:
        return templates[DEFAULT_KEY]
    return next(iter(templates.values())) if len(templates) == 1 else None


class MappedInvoker:
    """Base of the non-proxy invokers: subclasses implement :meth:`call`."""

    #: Whether templates apply (``HTTP_PROXY`` passes everything through).
    uses_templates = True

    def __init__(self, spec: IntegrationSpec) -> None:
        self.spec = spec

    async def call(self, request: IntegrationRequest, mapped: MappedRequest) -> BackendResponse:
        """Reach the backend; raise :class:`IntegrationCallError` when it cannot answer."""
        raise NotImplementedError

    async def render(self, template: str, request: IntegrationRequest, payload: str) -> str:
        # Off the event loop: a template looping over a huge range must not stall the
        # gateway; the integration timeout then answers the client.
        return await run_blocking(
            functools.partial(
                render,
                template,
                input=InputVariable(payload, request.params),
                context=request.context,
                stage_variables=request.stage_variables,
            )
        )

    async def map_request(self, request: IntegrationRequest) -> MappedRequest:
        headers, querystring, path = map_parameters(self.spec, request)
        body = request.body
        if self.uses_templates:
            template = select_request_template(self.spec, request.body)
            if template is not None:
                body = await self.render(template, request, request.body)
        return MappedRequest(body=body, headers=headers, querystring=querystring, path=path)

    async def invoke(self, request: IntegrationRequest) -> IntegrationOutcome:
        mapped = await self.map_request(request)
        backend = await self.call(request, mapped)
        if not self.uses_templates:  # a proxy: the backend's answer, whatever its status
            return IntegrationOutcome(backend.status, backend.body or None)
        selection = selection_value(self.spec.response_selection_expression, backend)
        if not self.spec.responses:
            if not 200 <= backend.status < 300:
                raise IntegrationCallError(
                    f"backend answered {backend.status} and the integration has no "
                    f"integration response: {backend.body[:500]}"
                )
            return IntegrationOutcome(backend.status, backend.body or None)
        response = select_integration_response(self.spec.responses, selection)
        if response is None:
            raise IntegrationCallError(
                f"no integration response matches {selection!r} (keys: "
                f"{', '.join(r.key for r in self.spec.responses)}): {backend.body[:500]}"
            )
        template = _response_template(response, backend)
        if template is None:
            reply = backend.body
        else:
            reply = await self.render(template, request, backend.body)
        if (response.content_handling or "").upper() == "CONVERT_TO_BINARY":
            try:
                return IntegrationOutcome(backend.status, base64.b64decode(reply, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise VtlError(f"CONVERT_TO_BINARY: the reply is not base64: {exc}") from exc
        return IntegrationOutcome(backend.status, reply or None)


def status_of(text: str, default: int = 200) -> int:
    """The ``statusCode`` of a MOCK request template's JSON output (``default`` without)."""
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        return default
    if isinstance(parsed, dict) and "statusCode" in parsed:
        try:
            return int(parsed["statusCode"])
        except (TypeError, ValueError):
            return default
    return default

"""One invoker per integration kind, behind one interface (:class:`~.base.Invoker`).

:func:`build_invoker` maps a route's :class:`~..specs.IntegrationSpec` to its invoker once;
the gateway then only calls ``invoke``. A new kind is a new spec class, a new invoker and one
entry in :data:`_BUILDERS`; nothing else changes.

===================  ==========================================  =================
spec                 invoker                                     module
===================  ==========================================  =================
``LambdaSpec``       :class:`LambdaProxyInvoker` (``AWS_PROXY``)  :mod:`.lambda_`
                     :class:`LambdaCustomInvoker` (``AWS``)
``MockSpec``         :class:`MockInvoker`                         :mod:`.mock`
``HttpSpec``         :class:`HttpInvoker` (``HTTP``/``_PROXY``)   :mod:`.http`
``AwsSpec``          :class:`AwsInvoker` (moto)                   :mod:`.aws`
``UnsupportedSpec``  :class:`UnsupportedInvoker` (always 500)     here
===================  ==========================================  =================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import InvocationError
from ..specs import AwsSpec, HttpSpec, IntegrationSpec, LambdaSpec, MockSpec, UnsupportedSpec
from .aws import SUPPORTED_ACTIONS, AwsInvoker, LocalAws
from .base import IntegrationOutcome, IntegrationRequest, Invoker
from .http import HttpInvoker, is_loopback
from .lambda_ import FunctionRunner, LambdaCustomInvoker, LambdaProxyInvoker
from .mock import MockInvoker

__all__ = [
    "SUPPORTED_ACTIONS",
    "IntegrationOutcome",
    "IntegrationRequest",
    "IntegrationServices",
    "Invoker",
    "LocalAws",
    "build_invoker",
    "is_loopback",
]


@dataclass
class IntegrationServices:
    """What invokers need from the emulator: the function runner, the local AWS endpoint,
    the HTTP hosts allowed besides loopback and the integration timeout."""

    run_function: FunctionRunner
    timeout: float = 29.0
    aws: LocalAws | None = None
    allowed_http_hosts: frozenset[str] = field(default_factory=frozenset)


class UnsupportedInvoker:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def invoke(self, request: IntegrationRequest) -> IntegrationOutcome:
        raise InvocationError(f"integration not emulated: {self.reason}")


def _lambda(spec: LambdaSpec, services: IntegrationServices) -> Invoker:
    if spec.proxy:
        return LambdaProxyInvoker(spec, services.run_function)
    return LambdaCustomInvoker(spec, services.run_function)


def _aws(spec: AwsSpec, services: IntegrationServices) -> Invoker:
    if services.aws is None:
        return UnsupportedInvoker("no local AWS endpoint (moto) for AWS integrations")
    return AwsInvoker(spec, services.aws, timeout=services.timeout)


_BUILDERS: dict[type[IntegrationSpec], Callable[[Any, IntegrationServices], Invoker]] = {
    LambdaSpec: _lambda,
    MockSpec: lambda spec, services: MockInvoker(spec),
    HttpSpec: lambda spec, services: HttpInvoker(
        spec, allowed_hosts=services.allowed_http_hosts, timeout=services.timeout
    ),
    AwsSpec: _aws,
    UnsupportedSpec: lambda spec, services: UnsupportedInvoker(spec.reason),
}


def build_invoker(spec: IntegrationSpec | None, services: IntegrationServices) -> Invoker:
    """The invoker of ``spec`` (``None``: a route without integration, which answers 500)."""
    if spec is None:
        return UnsupportedInvoker("the route has no integration")
    return _BUILDERS[type(spec)](spec, services)

"""``MOCK``: no backend. The request template's output only decides the status: its
``statusCode`` (200 without one) selects the integration response. The mock "answers" with
the client's own message, so the response template's ``$input`` is the request body (and a
mock without templates echoes it), which is what a mock ``ping`` or echo route relies on."""

from __future__ import annotations

from .base import BackendResponse, IntegrationRequest, MappedInvoker, MappedRequest, status_of

__all__ = ["MockInvoker"]


class MockInvoker(MappedInvoker):
    async def call(self, request: IntegrationRequest, mapped: MappedRequest) -> BackendResponse:
        return BackendResponse(status_of(mapped.body), request.body)

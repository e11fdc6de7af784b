"""``MOCK``: no backend. The request template's output stands for the backend's answer: its
``statusCode`` (200 without one) selects the integration response, and the response template
sees that output as ``$input`` (so a template can echo what the request template kept)."""

from __future__ import annotations

from .base import BackendResponse, IntegrationRequest, MappedInvoker, MappedRequest, status_of

__all__ = ["MockInvoker"]


class MockInvoker(MappedInvoker):
    async def call(self, request: IntegrationRequest, mapped: MappedRequest) -> BackendResponse:
        return BackendResponse(status_of(mapped.body), mapped.body)

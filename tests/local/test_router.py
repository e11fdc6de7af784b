"""The HTTP router in front of the non-WebSocket planes: prefixes, wildcards, fallback."""

from __future__ import annotations

import asyncio

import pytest

from cdk_ws_api.local.httpparse import HttpRequest
from cdk_ws_api.local.management import HttpResponse
from cdk_ws_api.local.router import HttpRouter


def _request(path: str) -> HttpRequest:
    return HttpRequest("GET", path, "HTTP/1.1", [], b"")


def _plane(name: str):  # type: ignore[no-untyped-def]
    async def handler(request: HttpRequest, parts: list[str]) -> HttpResponse:
        return HttpResponse(200, f"{name}:{'/'.join(parts)}".encode())

    return handler


def _answer(router: HttpRouter, path: str) -> str:
    return asyncio.run(router.handle(_request(path))).body.decode()


def test_longest_prefix_wins_and_wildcards_match_one_segment() -> None:
    router = HttpRouter()
    router.mount("/", _plane("static"))
    router.mount("/*/@connections", _plane("connections"))
    router.mount("/_console", _plane("console"))
    router.mount("/2015-03-31/functions", _plane("invoke"))
    assert _answer(router, "/dev/@connections/abc%3D") == "connections:/dev/@connections/abc="
    assert _answer(router, "/dev/%40connections/x").startswith("connections:")
    assert _answer(router, "/_console/app.js") == "console:/_console/app.js"
    assert _answer(router, "/2015-03-31/functions/f/invocations").startswith("invoke:")
    assert _answer(router, "/index.html?x=1") == "static:/index.html"
    assert _answer(router, "/dev") == "static:/dev"
    assert router.prefixes[-1] == "/"


def test_literal_segment_beats_wildcard_of_the_same_length() -> None:
    router = HttpRouter()
    router.mount("/*/x", _plane("wild"))
    router.mount("/a/x", _plane("literal"))
    assert _answer(router, "/a/x") == "literal:/a/x"
    assert _answer(router, "/b/x") == "wild:/b/x"


def test_unmatched_paths_get_the_fallback_403() -> None:
    router = HttpRouter()
    router.mount("/_console", _plane("console"))
    response = asyncio.run(router.handle(_request("/elsewhere")))
    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    # A prefix matches whole segments only.
    assert asyncio.run(router.handle(_request("/_consoleX"))).status == 403


def test_a_prefix_is_mounted_once_and_can_be_unmounted() -> None:
    router = HttpRouter()
    router.mount("/_console/", _plane("console"))
    with pytest.raises(ValueError, match="already mounted"):
        router.mount("/_console", _plane("other"))
    with pytest.raises(ValueError, match="must start with '/'"):
        router.mount("_console", _plane("other"))
    router.unmount("/_console")
    assert asyncio.run(router.handle(_request("/_console/"))).status == 403

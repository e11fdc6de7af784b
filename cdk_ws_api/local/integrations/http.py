"""``HTTP`` and ``HTTP_PROXY``: a request to the integration URL.

The method is the integration's; mapped ``integration.request.querystring.*`` parameters are
added to the URL's query, mapped headers sent (``Content-Type: application/json`` unless one
is mapped), ``integration.request.path.NAME`` fills ``{NAME}`` in the URL. The call is bounded
by the integration's timeout (29 s at most, as on AWS). Only loopback hosts (``localhost``,
``127.0.0.0/8``, ``::1``) are reached unless ``--allow-http-integration HOST`` names the host:
the emulator must not send a developer's test traffic to the internet by surprise (the start-up
warnings name every other host). ``HTTP_PROXY`` passes the client's body and the backend's
answer through unchanged, whatever its status.
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
from collections.abc import Collection
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..exceptions import IntegrationCallError
from ..specs import HttpSpec
from .base import (
    BackendResponse,
    IntegrationRequest,
    MappedInvoker,
    MappedRequest,
    run_blocking,
)

__all__ = ["HttpInvoker", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (no DNS lookup)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # API Gateway does not follow redirects for HTTP integrations: the 3xx is the answer.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def _send(
    method: str, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> BackendResponse:
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            text = response.read().decode(errors="replace")
            return BackendResponse(response.status, text, dict(response.headers.items()))
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        return BackendResponse(error.code, text, dict(error.headers.items()))
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise IntegrationCallError(f"{method} {url}: {error}") from error


class HttpInvoker(MappedInvoker):
    def __init__(self, spec: HttpSpec, *, allowed_hosts: Collection[str], timeout: float) -> None:
        super().__init__(spec)
        self.http = spec
        self.uses_templates = not spec.proxy
        self.allowed_hosts = {host.lower() for host in allowed_hosts}
        self.timeout = min(spec.timeout or timeout, timeout)

    def allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return is_loopback(host) or host in self.allowed_hosts

    async def call(self, request: IntegrationRequest, mapped: MappedRequest) -> BackendResponse:
        url = self.http.url
        for name, value in mapped.path.items():
            url = url.replace("{" + name + "}", value)
        if not self.allowed(url):
            raise IntegrationCallError(
                f"HTTP integration to {urlsplit(url).hostname} refused: only loopback hosts "
                "are called unless --allow-http-integration names the host"
            )
        if mapped.querystring:
            parts = urlsplit(url)
            query = "&".join(q for q in (parts.query, urlencode(mapped.querystring)) if q)
            url = urlunsplit(parts._replace(query=query))
        headers = dict(mapped.headers)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        return await run_blocking(
            _send, self.http.method.upper(), url, mapped.body.encode(), headers, self.timeout
        )

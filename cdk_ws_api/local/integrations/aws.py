"""``AWS`` integrations against the embedded moto server, called as API Gateway calls them.

The integration URI names the service and an action
(``arn:aws:apigateway:{region}:{service}:action/{Action}``) or a path
(``...:{service}:path/{path}``, e.g. SQS's ``path/{account}/{queue}``). The request template's
output is the request body, sent in the service's own protocol: JSON services (EventBridge,
Step Functions, DynamoDB, Kinesis) get ``X-Amz-Target`` and their JSON content type; SQS gets
the query protocol (``Action=`` in the query string for action URIs; the template's form body
for path URIs). Mapped ``integration.request.*`` parameters are added.

Each call is SigV4-signed (botocore's signer) with the credentials of the integration's
``CredentialsArn`` role, assumed through moto's STS once per role (``AssumeRole``, session
name ``apigateway``), so moto attributes the call to the role as AWS would; without a role the
emulator's fake credentials sign it. The answer's status code selects the integration
response (:mod:`.base`).

Supported actions (:data:`SUPPORTED_ACTIONS`): SQS ``SendMessage``, EventBridge ``PutEvents``,
Step Functions ``StartExecution`` and ``StartSyncExecution``, DynamoDB ``PutItem``,
``UpdateItem``, ``DeleteItem``, Kinesis ``PutRecord``. Other actions are named in the
start-up warnings and still sent to moto. moto has no ``StartSyncExecution``: it is run as
``StartExecution`` (moto executes the state machine) followed by ``DescribeExecution`` until
the execution ends, answered in ``StartSyncExecution``'s shape.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..exceptions import IntegrationCallError
from ..specs import AwsSpec
from .base import (
    BackendResponse,
    IntegrationRequest,
    MappedInvoker,
    MappedRequest,
    run_blocking,
)

__all__ = ["SUPPORTED_ACTIONS", "AwsInvoker", "LocalAws", "parse_integration_uri"]

#: Actions the emulator is known to run (the rest are warned about at start).
SUPPORTED_ACTIONS: dict[str, frozenset[str]] = {
    "sqs": frozenset({"SendMessage"}),
    "events": frozenset({"PutEvents"}),
    "states": frozenset({"StartExecution", "StartSyncExecution"}),
    "dynamodb": frozenset({"PutItem", "UpdateItem", "DeleteItem"}),
    "kinesis": frozenset({"PutRecord"}),
}

#: JSON-protocol services: target prefix and JSON version.
_JSON_SERVICES = {
    "events": ("AWSEvents", "1.1"),
    "states": ("AWSStepFunctions", "1.0"),
    "dynamodb": ("DynamoDB_20120810", "1.0"),
    "kinesis": ("Kinesis_20131202", "1.1"),
}

_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:[^:]*:(?P<service>[^:]+):(?P<kind>action|path)/(?P<rest>.+)$"
)

#: How often a StartSyncExecution polls DescribeExecution.
_SYNC_POLL = 0.05


def parse_integration_uri(uri: str) -> tuple[str, str | None, str | None] | None:
    """``(service, action, path)`` of an ``arn:aws:apigateway:...`` URI, or ``None``.
    A subdomain prefix (``sync-states``... as in ``{sub}.{service}``) is reduced to the
    service."""
    match = _URI.match(uri.strip())
    if match is None:
        return None
    service = match.group("service").split(".")[-1]
    if service == "sync-states":
        service = "states"
    if match.group("kind") == "action":
        return service, match.group("rest").split("&")[0], None
    return service, None, match.group("rest")


@dataclass
class _Credentials:
    access_key: str
    secret_key: str
    token: str | None


@dataclass
class LocalAws:
    """Signed calls to the embedded moto server. ``endpoint`` is read on each call (moto's
    endpoint is known once the emulator has bound it)."""

    endpoint: Callable[[], str | None]
    region: str
    base_credentials: tuple[str, str, str | None] = ("AKIALOCALEMULATOR000", "local", None)
    _roles: dict[str, _Credentials] = field(default_factory=dict)
    _lock: asyncio.Lock | None = None

    def _url(self, path: str = "/") -> str:
        endpoint = self.endpoint()
        if not endpoint:
            raise IntegrationCallError("no local AWS endpoint (moto) is running")
        return endpoint.rstrip("/") + path

    async def credentials(self, role_arn: str | None) -> _Credentials:
        """The role's credentials from moto's STS (cached), or the base credentials."""
        if not role_arn:
            return _Credentials(*self.base_credentials)
        if role_arn in self._roles:
            return self._roles[role_arn]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if role_arn not in self._roles:
                body = urlencode(
                    {
                        "Action": "AssumeRole",
                        "Version": "2011-06-15",
                        "RoleArn": role_arn,
                        "RoleSessionName": "apigateway",
                    }
                )
                answer = await self.send(
                    "sts",
                    "POST",
                    "/",
                    body,
                    {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                    _Credentials(*self.base_credentials),
                )
                found = {
                    name: re.search(rf"<{name}>([^<]*)</{name}>", answer.body)
                    for name in ("AccessKeyId", "SecretAccessKey", "SessionToken")
                }
                if answer.status != 200 or not found["AccessKeyId"]:
                    raise IntegrationCallError(
                        f"AssumeRole {role_arn} failed ({answer.status}): {answer.body[:300]}"
                    )
                self._roles[role_arn] = _Credentials(
                    *(match.group(1) if match else "" for match in found.values())
                )
        return self._roles[role_arn]

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        body: str,
        headers: dict[str, str],
        credentials: _Credentials,
        *,
        timeout: float = 29.0,
    ) -> BackendResponse:
        url = self._url(path)
        return await run_blocking(
            _signed_send, service, self.region, method, url, body, headers, credentials, timeout
        )


def _signed_send(
    service: str,
    region: str,
    method: str,
    url: str,
    body: str,
    headers: dict[str, str],
    credentials: _Credentials,
    timeout: float,
) -> BackendResponse:
    # botocore (a dependency of boto3) is imported only by stacks with AWS integrations.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body.encode(), headers=headers)
    signer = SigV4Auth(
        Credentials(credentials.access_key, credentials.secret_key, credentials.token),
        service,
        region,
    )
    signer.add_auth(request)
    prepared = request.prepare()
    outgoing = urllib.request.Request(
        prepared.url, data=prepared.body, method=method, headers=dict(prepared.headers.items())
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(outgoing, timeout=timeout) as response:
            text = response.read().decode(errors="replace")
            return BackendResponse(response.status, text, dict(response.headers.items()))
    except urllib.error.HTTPError as error:
        return BackendResponse(error.code, error.read().decode(errors="replace"))
    except (urllib.error.URLError, OSError) as error:
        raise IntegrationCallError(f"{service} call to {url} failed: {error}") from error


class AwsInvoker(MappedInvoker):
    def __init__(self, spec: AwsSpec, aws: LocalAws, *, timeout: float) -> None:
        super().__init__(spec)
        self.aws_spec = spec
        self.aws = aws
        self.timeout = min(spec.timeout or timeout, timeout)

    def _request(self, mapped: MappedRequest, action: str | None) -> tuple[str, dict[str, str]]:
        spec = self.aws_spec
        headers = dict(mapped.headers)
        query = dict(mapped.querystring)
        path = "/"
        if spec.path is not None:
            path = "/" + spec.path.lstrip("/")
        if spec.service in _JSON_SERVICES and action:
            prefix, version = _JSON_SERVICES[spec.service]
            headers.setdefault("X-Amz-Target", f"{prefix}.{action}")
            headers.setdefault("Content-Type", f"application/x-amz-json-{version}")
        elif action:
            query = {"Action": action, **query}
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if query:
            path += "?" + urlencode(query)
        return path, headers

    async def call(self, request: IntegrationRequest, mapped: MappedRequest) -> BackendResponse:
        spec = self.aws_spec
        credentials = await self.aws.credentials(spec.credentials_arn)
        if spec.service == "states" and spec.action == "StartSyncExecution":
            return await self._start_sync_execution(mapped, credentials)
        path, headers = self._request(mapped, spec.action)
        return await self.aws.send(
            spec.service,
            spec.method.upper(),
            path,
            mapped.body,
            headers,
            credentials,
            timeout=self.timeout,
        )

    async def _start_sync_execution(
        self, mapped: MappedRequest, credentials: _Credentials
    ) -> BackendResponse:
        deadline = time.monotonic() + self.timeout
        path, headers = self._request(mapped, "StartExecution")
        started = await self.aws.send(
            "states", "POST", path, mapped.body, headers, credentials, timeout=self.timeout
        )
        if started.status != 200:
            return started
        arn = json.loads(started.body)["executionArn"]
        describe_headers = {**headers, "X-Amz-Target": "AWSStepFunctions.DescribeExecution"}
        while True:
            described = await self.aws.send(
                "states",
                "POST",
                "/",
                json.dumps({"executionArn": arn}),
                describe_headers,
                credentials,
                timeout=self.timeout,
            )
            if described.status != 200:
                return described
            execution: dict[str, Any] = json.loads(described.body)
            if execution.get("status") != "RUNNING":
                break
            if time.monotonic() > deadline:
                execution["status"] = "TIMED_OUT"
                break
            await asyncio.sleep(_SYNC_POLL)
        keys = (
            "executionArn",
            "stateMachineArn",
            "name",
            "startDate",
            "stopDate",
            "status",
            "error",
            "cause",
            "input",
            "output",
        )
        answer = {key: execution[key] for key in keys if key in execution}
        return BackendResponse(
            200, json.dumps(answer), {"Content-Type": "application/x-amz-json-1.0"}
        )

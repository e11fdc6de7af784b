"""API Gateway's integration rules, driven without any socket: real handler code in real
worker processes, events and results checked at the :class:`Integrations` boundary."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from cdk_ws_api.local.events import EventSource
from cdk_ws_api.local.exceptions import HandshakeRejected
from cdk_ws_api.local.integration import Integrations
from cdk_ws_api.local.registry import Registry
from cdk_ws_api.local.specs import ApiSpec, AuthorizerSpec, FunctionSpec, RouteSpec
from cdk_ws_api.local.workers import WorkerPool, WorkerPools, worker_environment

pytestmark = pytest.mark.timeout(60)

CODE = """
import json, os, time

def _count(name):
    with open(os.environ["COUNTER"], "a") as f:
        f.write(name + "\\n")

def authorize(event, context):
    _count("authorizer")
    token = event["queryStringParameters"].get("token")
    arn = event["methodArn"]
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "crash":
        raise RuntimeError("boom")
    if token == "bad":
        return {"principalId": "x"}
    effect = "Allow" if token.startswith("allow") else "Deny"
    return {
        "principalId": "p-" + token,
        "policyDocument": {"Statement": [
            {"Effect": effect, "Action": "execute-api:Invoke", "Resource": arn}]},
        "context": {"token": token, "n": 1},
    }

def connect(event, context):
    _count("connect")
    query = event.get("queryStringParameters") or {}
    answer = {"statusCode": int(query.get("status", "200"))}
    if "protocol" in query:
        answer["headers"] = {"sec-websocket-protocol": query["protocol"]}
    return answer

def message(event, context):
    try:
        body = json.loads(event["body"])
    except ValueError:
        body = {}
    if body.get("sleep"):
        time.sleep(body["sleep"])
    if body.get("raise"):
        raise ValueError("bad message")
    if body.get("binary"):
        return {"statusCode": 200, "body": "AAEC", "isBase64Encoded": True}
    return {"statusCode": body.get("status", 200), "body": json.dumps(
        {"route": event["requestContext"]["routeKey"],
         "authorizer": event["requestContext"].get("authorizer")})}

def disconnect(event, context):
    _count("disconnect %s %s" % (event["requestContext"]["disconnectStatusCode"],
                                 event["requestContext"]["disconnectReason"]))
"""


def _api(*, default: bool = True) -> ApiSpec:
    routes = {
        "$connect": RouteSpec("$connect", "Connect", authorizer="Auth"),
        "$disconnect": RouteSpec("$disconnect", "Disconnect"),
        "two": RouteSpec("two", "Message", return_response=True),
        "one": RouteSpec("one", "Message"),
        "nowhere": RouteSpec("nowhere", None, integration_type="HTTP_PROXY"),
    }
    if default:
        routes["$default"] = RouteSpec("$default", "Message", return_response=True)
    return ApiSpec(
        logical_id="Api",
        name="api",
        api_id="abcdefghij",
        stage="dev",
        stages=("dev",),
        route_selection_expression="$request.body.action",
        routes=routes,
        authorizers={
            "Auth": AuthorizerSpec(
                "Auth", "auth", "Authorizer", ("route.request.querystring.token",)
            )
        },
        region="us-east-1",
        account="123456789012",
    )


Scenario = Callable[[Integrations, Registry, EventSource, Path], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario, *, default: bool = True, timeout: float = 5) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "handlers.py").write_text(CODE)
    counter = tmp_path / "calls.txt"
    counter.write_text("")
    api = _api(default=default)

    async def main() -> None:
        pools = WorkerPools({})
        for name, handler in (
            ("Authorizer", "authorize"),
            ("Connect", "connect"),
            ("Message", "message"),
            ("Disconnect", "disconnect"),
        ):
            spec = FunctionSpec(name, f"S-{name}", f"handlers.{handler}", "python3.12", code)
            env = worker_environment(
                spec,
                region="us-east-1",
                overrides={"COUNTER": str(counter)},
                inherited={"PATH": os.environ["PATH"]},
            )
            pools.add(name, WorkerPool(spec, env, concurrency=2, on_output=lambda fn, line: None))
        registry = Registry()
        integrations = Integrations(api, pools, timeout=timeout, now=registry.now)
        try:
            await scenario(integrations, registry, EventSource(api, "127.0.0.1:1"), counter)
        finally:
            await pools.close()

    asyncio.run(main())


def _calls(counter: Path) -> list[str]:
    return counter.read_text().split("\n")[:-1]


@pytest.mark.parametrize(
    ("query", "status", "authorizer_called"),
    [
        ([], 401, False),
        ([("token", "")], 401, False),
        ([("token", "unauthorized")], 401, True),
        ([("token", "deny")], 403, True),
        ([("token", "crash")], 403, True),
        ([("token", "bad")], 403, True),
    ],
)
def test_authorizer_rejections(
    tmp_path: Path, query: list[tuple[str, str]], status: int, authorizer_called: bool
) -> None:
    async def scenario(
        integrations: Integrations, registry: Registry, source: EventSource, counter: Path
    ) -> None:
        connection = registry.create(source_ip="127.0.0.1", query=query)
        with pytest.raises(HandshakeRejected) as rejected:
            await integrations.authorize(connection, source)
        assert rejected.value.status == status
        assert _calls(counter) == (["authorizer"] if authorizer_called else [])
        assert connection.authorizer is None

    _run(tmp_path, scenario)


def test_connect_messages_and_disconnect(tmp_path: Path) -> None:
    async def scenario(
        integrations: Integrations, registry: Registry, source: EventSource, counter: Path
    ) -> None:
        connection = registry.create(
            source_ip="127.0.0.1", query=[("token", "allow-1"), ("protocol", "v9")]
        )
        await integrations.authorize(connection, source)
        assert connection.authorizer is not None
        assert connection.authorizer["principalId"] == "p-allow-1"
        assert connection.authorizer["n"] == "1"
        outcome = await integrations.connect(connection, source)
        assert (outcome.status, outcome.subprotocol) == (200, "v9")
        registry.open(connection.connection_id)

        two = await integrations.message(connection, source, '{"action": "two"}')
        assert (two.route_key, two.status) == ("two", 200)
        assert json.loads(two.reply or "")["authorizer"]["token"] == "allow-1"
        one = await integrations.message(connection, source, '{"action": "one", "status": 202}')
        assert (one.route_key, one.status, one.reply) == ("one", 202, None)
        binary = await integrations.message(connection, source, '{"action": "two", "binary": 1}')
        assert binary.reply == b"\x00\x01\x02"
        fallback = await integrations.message(connection, source, "plain text")
        assert json.loads(fallback.reply or "")["route"] == "$default"

        failed = await integrations.message(connection, source, '{"action": "two", "raise": 1}')
        assert failed.status == 500
        frame = json.loads(failed.reply or "")
        assert frame["message"] == "Internal server error"
        assert frame["connectionId"] == connection.connection_id
        nowhere = await integrations.message(connection, source, '{"action": "nowhere"}')
        assert nowhere.status == 500

        assert await integrations.disconnect(connection, source, code=4000, reason="r") == 200
        assert _calls(counter) == ["authorizer", "connect", "disconnect 4000 r"]

    _run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("route", "headers", "query", "allowed"),
    [
        (RouteSpec("$connect", None, api_key_required=True), [], [], False),
        (RouteSpec("$connect", None, api_key_required=True), [("X-Api-Key", "k")], [], True),
        (RouteSpec("$connect", None, authorization_type="AWS_IAM"), [], [], False),
        (
            RouteSpec("$connect", None, authorization_type="AWS_IAM"),
            [("Authorization", "AWS4-HMAC-SHA256 Credential=x")],
            [],
            True,
        ),
        (
            RouteSpec("$connect", None, authorization_type="AWS_IAM"),
            [],
            [("X-Amz-Signature", "abc")],
            True,
        ),
    ],
)
def test_api_keys_and_iam_on_connect(
    tmp_path: Path,
    route: RouteSpec,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    allowed: bool,
) -> None:
    api = _api()
    api.routes["$connect"] = route
    integrations = Integrations(api, WorkerPools({}), timeout=1, now=lambda: 0)
    registry = Registry()
    connection = registry.create(source_ip="127.0.0.1", headers=headers, query=query)

    async def run() -> None:
        if allowed:
            await integrations.authorize(connection, EventSource(api, "h:1"))
        else:
            with pytest.raises(HandshakeRejected) as rejected:
                await integrations.authorize(connection, EventSource(api, "h:1"))
            assert rejected.value.status == 403

    asyncio.run(run())


def test_connect_status_rejects_the_handshake(tmp_path: Path) -> None:
    async def scenario(
        integrations: Integrations, registry: Registry, source: EventSource, counter: Path
    ) -> None:
        connection = registry.create(source_ip="127.0.0.1", query=[("status", "418")])
        with pytest.raises(HandshakeRejected) as rejected:
            await integrations.connect(connection, source)
        assert rejected.value.status == 418

    _run(tmp_path, scenario)


def test_no_default_route_answers_forbidden(tmp_path: Path) -> None:
    async def scenario(
        integrations: Integrations, registry: Registry, source: EventSource, counter: Path
    ) -> None:
        connection = registry.create(source_ip="127.0.0.1")
        outcome = await integrations.message(connection, source, '{"action": "nope"}')
        assert outcome.status == 403
        assert json.loads(outcome.reply or "")["message"] == "Forbidden"

    _run(tmp_path, scenario, default=False)


def test_integration_timeout(tmp_path: Path) -> None:
    async def scenario(
        integrations: Integrations, registry: Registry, source: EventSource, counter: Path
    ) -> None:
        connection = registry.create(source_ip="127.0.0.1")
        await integrations.message(connection, source, '{"action": "two"}')  # warm
        started = time.monotonic()
        outcome = await integrations.message(connection, source, '{"action": "two", "sleep": 2}')
        assert outcome.status == 500 and time.monotonic() - started < 1.5

    _run(tmp_path, scenario, timeout=0.5)

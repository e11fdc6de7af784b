"""The invokers behind the gateway's one interface, without sockets (except the HTTP
backend on loopback): request template selection and passthrough, parameter mapping,
integration response selection, MOCK, HTTP's host rule, AWS URIs, and how the template's
integrations become specs."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cdk_ws_api.local.exceptions import (
    FunctionError,
    IntegrationCallError,
    InvocationError,
    RequestRejected,
    VtlError,
)
from cdk_ws_api.local.integrations import (
    IntegrationRequest,
    IntegrationServices,
    build_invoker,
)
from cdk_ws_api.local.integrations.aws import parse_integration_uri
from cdk_ws_api.local.integrations.base import (
    BackendResponse,
    map_parameters,
    select_integration_response,
    select_request_template,
    selection_value,
)
from cdk_ws_api.local.specs import (
    HttpSpec,
    IntegrationResponseSpec,
    LambdaSpec,
    MockSpec,
    UnsupportedSpec,
)
from cdk_ws_api.local.vtl import RequestParams
from cdk_ws_api.local.workers import Invocation

CONTEXT = {"connectionId": "C1=", "routeKey": "r", "requestId": "R1=", "identity": {}}


def _request(body: str = "", **params: Any) -> IntegrationRequest:
    return IntegrationRequest(
        {"requestContext": dict(CONTEXT)},
        body,
        RequestParams(querystring=params.get("query"), header=params.get("header")),
        {"mode": "beta"},
    )


async def _no_function(function: str | None, event: Any) -> Invocation:
    raise AssertionError("no function expected")


def _invoke(spec: Any, request: IntegrationRequest, **services: Any) -> Any:
    built = build_invoker(spec, IntegrationServices(run_function=_no_function, **services))
    return asyncio.run(built.invoke(request))


# -- request side ------------------------------------------------------------------------


def test_request_template_selected_by_expression_then_default() -> None:
    spec = MockSpec(
        request_templates={"a": "A", "$default": "D"},
        template_selection_expression="${request.body.kind}",
    )
    assert select_request_template(spec, '{"kind": "a"}') == "A"
    assert select_request_template(spec, '{"kind": "zzz"}') == "D"
    assert select_request_template(spec, "not json") == "D"


@pytest.mark.parametrize(
    ("behavior", "templates", "passes"),
    [
        ("WHEN_NO_MATCH", {"x": "X"}, True),
        ("WHEN_NO_TEMPLATES", {}, True),
        ("WHEN_NO_TEMPLATES", {"x": "X"}, False),
        ("NEVER", {}, False),
    ],
)
def test_passthrough_behaviors(behavior: str, templates: dict[str, str], passes: bool) -> None:
    spec = MockSpec(
        request_templates=templates,
        template_selection_expression="$request.body.kind",
        passthrough_behavior=behavior,
    )
    if passes:
        assert select_request_template(spec, '{"kind": "other"}') is None
    else:
        with pytest.raises(RequestRejected) as info:
            select_request_template(spec, '{"kind": "other"}')
        assert (info.value.status, info.value.message) == (415, "Unsupported Media Type")


def test_parameter_mapping_sources() -> None:
    spec = MockSpec(
        request_parameters={
            "integration.request.header.X-Conn": "context.connectionId",
            "integration.request.header.X-Token": "route.request.header.token",
            "integration.request.querystring.room": "route.request.querystring.room",
            "integration.request.querystring.mode": "stageVariables.mode",
            "integration.request.path.id": "route.request.body.item.id",
            "integration.request.header.X-Static": "'fixed value'",
            "integration.request.header.X-None": "route.request.header.absent",
        }
    )
    request = _request('{"item": {"id": 7}}', query={"room": "r1"}, header={"Token": "t"})
    headers, query, path = map_parameters(spec, request)
    assert headers == {"X-Conn": "C1=", "X-Token": "t", "X-Static": "fixed value"}
    assert query == {"room": "r1", "mode": "beta"}
    assert path == {"id": "7"}


# -- response side -----------------------------------------------------------------------


def test_integration_response_selection_order() -> None:
    responses = (
        IntegrationResponseSpec("$default"),
        IntegrationResponseSpec("/4\\d\\d/"),
        IntegrationResponseSpec("404"),
    )
    assert select_integration_response(responses, "404").key == "404"  # type: ignore[union-attr]
    assert select_integration_response(responses, "400").key == "/4\\d\\d/"  # type: ignore[union-attr]
    assert select_integration_response(responses, "200").key == "$default"  # type: ignore[union-attr]
    assert select_integration_response(responses[1:], "200") is None


def test_mock_status_selects_the_response_and_its_template_sees_the_message() -> None:
    spec = MockSpec(
        request_templates={"$default": "{\"statusCode\": $input.path('$.code')}"},
        responses=(
            IntegrationResponseSpec("/2\\d\\d/", {"$default": "{\"ok\": $input.json('$.n')}"}),
            IntegrationResponseSpec("/4\\d\\d/", {"$default": '{"bad": "$context.connectionId"}'}),
        ),
    )
    ok = _invoke(spec, _request('{"code": 201, "n": 1}'))
    assert (ok.status, json.loads(ok.reply)) == (201, {"ok": 1})
    bad = _invoke(spec, _request('{"code": 404}'))
    assert (bad.status, json.loads(bad.reply)) == (404, {"bad": "C1="})
    with pytest.raises(IntegrationCallError, match="no integration response matches '500'"):
        _invoke(spec, _request('{"code": 500}'))


def test_mock_without_template_or_response_answers_the_body() -> None:
    outcome = _invoke(MockSpec(), _request('{"a": 1}'))
    assert (outcome.status, outcome.reply) == (200, '{"a": 1}')


def test_convert_to_binary_decodes_the_reply() -> None:
    spec = MockSpec(
        responses=(
            IntegrationResponseSpec(
                "$default", {"$default": "aGk="}, content_handling="CONVERT_TO_BINARY"
            ),
        )
    )
    assert _invoke(spec, _request("{}")).reply == b"hi"


def test_vtl_error_is_an_invocation_error() -> None:
    with pytest.raises(VtlError):
        _invoke(MockSpec(request_templates={"$default": "#foreach("}), _request("{}"))
    assert issubclass(VtlError, InvocationError)  # → "Internal server error"


def test_unsupported_and_missing_integrations_fail() -> None:
    with pytest.raises(InvocationError, match="VPC links"):
        _invoke(UnsupportedSpec(integration_type="HTTP", reason="VPC links"), _request())
    with pytest.raises(InvocationError, match="no integration"):
        _invoke(None, _request())


# -- Lambda --------------------------------------------------------------------------------


def test_lambda_custom_integration_event_result_and_error_selection() -> None:
    calls: list[Any] = []

    async def run(function: str | None, event: Any) -> Invocation:
        calls.append((function, event))
        if event.get("fail"):
            raise FunctionError("ValueError", "bad input")
        return Invocation({"sum": event["a"] + 1}, "id", 1.0)

    spec = LambdaSpec(
        function="Fn",
        proxy=False,
        request_templates={"$default": "{\"a\": $input.path('$.a'), \"fail\": $input.path('$.f')}"},
        responses=(
            IntegrationResponseSpec(
                "/bad.*/", {"$default": '{"error": "$input.path(\'$.errorMessage\')"}'}
            ),
            IntegrationResponseSpec("$default", {"$default": "{\"got\": $input.json('$.sum')}"}),
        ),
    )
    invoker = build_invoker(spec, IntegrationServices(run_function=run))
    ok = asyncio.run(invoker.invoke(_request('{"a": 1, "f": false}')))
    assert json.loads(ok.reply) == {"got": 2}  # type: ignore[arg-type]
    assert calls[0] == ("Fn", {"a": 1, "fail": False})
    failed = asyncio.run(invoker.invoke(_request('{"a": 1, "f": true}')))
    assert json.loads(failed.reply) == {"error": "bad input"}  # type: ignore[arg-type]


# -- HTTP ------------------------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(b"")

    def do_PUT(self) -> None:
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def _answer(self, body: bytes) -> None:
        answer = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": body.decode(),
                "type": self.headers.get("Content-Type"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_http_proxy_uses_the_integration_method(echo_url: str) -> None:
    outcome = _invoke(HttpSpec(url=f"{echo_url}/x?a=1", method="PUT", proxy=True), _request("hi"))
    assert json.loads(outcome.reply) == {
        "method": "PUT",
        "path": "/x?a=1",
        "body": "hi",
        "type": "application/json",
    }


def test_http_to_a_host_not_allowed_is_refused_before_any_request() -> None:
    spec = HttpSpec(url="http://api.example.test/x", proxy=True)
    with pytest.raises(IntegrationCallError, match="--allow-http-integration"):
        _invoke(spec, _request("{}"))
    invoker = build_invoker(
        spec,
        IntegrationServices(
            run_function=_no_function, allowed_http_hosts=frozenset({"api.example.test"})
        ),
    )
    assert invoker.allowed(spec.url)  # type: ignore[attr-defined]
    assert invoker.allowed("http://[::1]:8/") and invoker.allowed("http://localhost/")  # type: ignore[attr-defined]


def test_http_unreachable_backend_is_an_integration_error() -> None:
    with pytest.raises(IntegrationCallError, match=r"127\.0\.0\.1:9"):
        _invoke(HttpSpec(url="http://127.0.0.1:9/", proxy=True), _request("{}"), timeout=5)


# -- AWS URIs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("arn:aws:apigateway:us-east-1:sqs:path/123456789012/q", ("sqs", None, "123456789012/q")),
        ("arn:aws:apigateway:eu-west-1:events:action/PutEvents", ("events", "PutEvents", None)),
        (
            "arn:aws:apigateway:us-east-1:states:action/StartSyncExecution",
            ("states", "StartSyncExecution", None),
        ),
        (
            "arn:aws:apigateway:us-east-1:sync-states:action/StartSyncExecution",
            ("states", "StartSyncExecution", None),
        ),
        ("arn:aws:lambda:us-east-1:1:function:f", None),
    ],
)
def test_parse_integration_uri(uri: str, parsed: Any) -> None:
    assert parse_integration_uri(uri) == parsed


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        (None, "404"),
        ("${integration.response.statuscode}", "404"),
        ("${integration.response.body.error.code}", "E42"),
        ("${integration.response.header.X-Kind}", "teapot"),
        ("${integration.response.body.missing}", ""),
    ],
)
def test_integration_response_selection_expression(expression: str | None, value: str) -> None:
    backend = BackendResponse(404, '{"error": {"code": "E42"}}', {"x-kind": "teapot"})
    assert selection_value(expression, backend) == value


def test_allowed_http_hosts_reach_the_invokers_and_the_warnings() -> None:
    from cdk_ws_api.local.emulator import Emulator
    from cdk_ws_api.local.options import EmulatorOptions
    from cdk_ws_api.local.specs import ApiSpec, LocalApp, RouteSpec

    spec = HttpSpec(url="http://api.example.test/x", proxy=True)
    api = ApiSpec(
        logical_id="Api",
        name="Api",
        api_id="abcdefghij",
        stage="dev",
        stages=("dev",),
        route_selection_expression="$request.body.action",
        routes={"r": RouteSpec("r", None, integration=spec)},
        authorizers={},
        region="us-east-1",
        account="123456789012",
    )
    app = LocalApp(stack="S", api=api, functions={}, tables=[])
    options = EmulatorOptions(allow_http_integration="API.example.test, other.test")
    assert options.http_integration_hosts == {"api.example.test", "other.test"}
    emulator = Emulator(app, options)
    assert any("may call api.example.test" in w for w in app.warnings)
    invoker = emulator.gateway.integrations._invoker(api.routes["r"])
    assert invoker.allowed(spec.url)  # type: ignore[attr-defined]
    assert not app.needs_moto


def test_a_slow_template_does_not_stall_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A template that takes long to render (a huge #foreach) runs off the event loop: the loop
    # keeps serving meanwhile, and the caller's timeout (the integration timeout) answers.
    import threading

    from cdk_ws_api.local.integrations import base

    release = threading.Event()

    def slow_render(*args: Any, **kwargs: Any) -> str:
        # on the event loop, nothing could release it: the wait would time out
        if not release.wait(10):
            raise AssertionError("the render blocked the event loop")
        return "{}"

    monkeypatch.setattr(base, "render", slow_render)
    spec = MockSpec(request_templates={"$default": "#foreach($i in [1..100000000])#end"})
    invoker = build_invoker(spec, IntegrationServices(run_function=_no_function))

    async def scenario() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while ticks < 5:
                await asyncio.sleep(0.01)
                ticks += 1
            release.set()

        ticker = asyncio.create_task(tick())
        outcome = await asyncio.wait_for(invoker.invoke(_request("{}")), 60)
        await ticker
        assert outcome.reply == "{}"
        return ticks

    # the render was still blocked while the loop ticked five times; then it was released
    assert asyncio.run(scenario()) == 5


class _Sts(BaseHTTPRequestHandler):
    """Answers AssumeRole like STS and records who signed each request."""

    seen: list[tuple[str, str, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        credential = self.headers["Authorization"].split("Credential=")[1].split("/")
        type(self).seen.append((credential[0], credential[3], body))
        if "Action=AssumeRole" in body:
            answer = (
                b"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                b"<AccessKeyId>ASIAROLEKEY</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
                b"<SessionToken>t</SessionToken></Credentials></AssumeRoleResult>"
                b"</AssumeRoleResponse>"
            )
        else:
            answer = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


def test_aws_calls_are_signed_with_the_credentials_roles_identity() -> None:
    from cdk_ws_api.local.integrations import LocalAws
    from cdk_ws_api.local.specs import AwsSpec

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        aws = LocalAws(lambda: f"http://127.0.0.1:{server.server_port}", "us-east-1")
        spec = AwsSpec(
            service="events",
            action="PutEvents",
            credentials_arn="arn:aws:iam::123456789012:role/ws",
            request_templates={"$default": '{"Entries": []}'},
        )
        services = IntegrationServices(run_function=_no_function, aws=aws)
        invoker = build_invoker(spec, services)
        for _ in range(2):
            assert asyncio.run(invoker.invoke(_request("{}"))).reply == '{"ok": true}'
    finally:
        server.shutdown()
    (assume, *calls) = _Sts.seen
    # the role is assumed once, with the emulator's own credentials, through STS
    assert assume[:2] == ("AKIALOCALEMULATOR000", "sts")
    assert "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fws" in assume[2]
    # then every call is signed by the role's session, for the service
    assert [(key, service) for key, service, _ in calls] == [("ASIAROLEKEY", "events")] * 2

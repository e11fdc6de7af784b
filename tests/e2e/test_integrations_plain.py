"""End to end: every non-Lambda integration of a stack written with plain aws-cdk-lib
constructs (``integrations_plain/stack_app.py``), through a real ``cdk-ws-api local``
process, real WebSocket clients, a real HTTP backend on loopback and boto3 against the
embedded moto server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import recv_json, synth
from integration_helpers import Seen, ask, aws_client, serve_json
from websockets.exceptions import InvalidStatus

from cdk_ws_api.testing import LocalApi, serve

APP = Path(__file__).resolve().parent / "integrations_plain" / "stack_app.py"

pytestmark = pytest.mark.timeout(180)


def _answer(seen: Seen) -> tuple[int, Any]:
    return (418 if "teapot" in seen["body"] else 200), {"seen": seen}


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    with serve_json(_answer) as url:
        yield url


@pytest.fixture(scope="module")
def emulator(
    backend: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any
) -> Iterator[LocalApi]:
    monkeypatch_module.setenv("HTTP_BACKEND", backend)
    assembly = synth(APP, tmp_path_factory.mktemp("integrations-plain"))
    with serve(assembly) as api:
        yield api


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _output(emulator: LocalApi, name: str) -> str:
    match = re.search(rf"^\s+{name}\s.*$", emulator.banner, re.M)
    assert match, emulator.banner
    return match.group(0).split()[-1]


# -- start-up listing ------------------------------------------------------------------


def test_banner_lists_routes_with_their_integration_types(emulator: LocalApi) -> None:
    out = emulator.banner
    assert "$connect         -> MOCK" in out
    assert "report           -> AWS sqs:path/123456789012/" in out
    assert "event            -> AWS events:PutEvents  [route response]" in out
    assert "startsync        -> AWS states:StartSyncExecution" in out
    assert "http             -> HTTP_PROXY POST http://127.0.0.1:" in out
    assert "event source: IntegrationsPlainStack-Reports" in out
    assert "WARNING: route remote: HTTP integration to example.com is called only with" in out


# -- MOCK --------------------------------------------------------------------------------


def test_mock_connect_accepts_and_rejects_by_template(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        assert ask(ws, action="ping", payload=1)["pong"] is True
    with pytest.raises(InvalidStatus) as info:
        emulator.connect("deny=yes")
    assert info.value.response.status_code == 403


def test_mock_route_renders_context_stage_variables_and_payload(emulator: LocalApi) -> None:
    with emulator.connect(user_agent_header="mock-test") as ws:
        answer = ask(ws, action="ping", payload={"n": [1, 2], "s": "x"})
    assert answer["payload"] == {"n": [1, 2], "s": "x"}
    assert answer["routeKey"] == "ping" and answer["eventType"] == "MESSAGE"
    assert answer["stage"] == "dev" and answer["mode"] == "plain"
    assert answer["sourceIp"] == "127.0.0.1"
    assert answer["connectionId"].endswith("=")


def test_vtl_error_answers_internal_server_error_and_logs_the_cause(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="broken")
        assert answer["message"] == "Internal server error"
        assert set(answer) == {"message", "connectionId", "requestId"}
        # the connection is still usable
        assert ask(ws, action="ping", payload=2)["payload"] == 2
    emulator.wait_for_log(r"route broken failed: template syntax error")


# -- request models -------------------------------------------------------------------------


def test_request_model_rejects_with_aws_frame_before_the_integration(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        assert ask(ws, action="validated", text="short") == {"valid": True, "text": "short"}
        rejected = ask(ws, action="validated", text="x" * 21)
        assert rejected["message"] == "Invalid request body"
        assert set(rejected) == {"message", "connectionId", "requestId"}
        assert ask(ws, action="validated")["message"] == "Invalid request body"
    emulator.wait_for_log(r"route validated rejected the message: .*maxLength|too long")


# -- AWS integrations on moto -----------------------------------------------------------------


def test_sqs_route_reaches_the_worker_which_answers_through_connections(
    emulator: LocalApi,
) -> None:
    with emulator.connect() as ws:
        queued = ask(ws, action="report", text="hello")
        assert queued["queued"] is True and queued["requestId"]
        worked = recv_json(ws, timeout=30)
    assert worked["worker"] == {"action": "report", "text": "hello"}
    assert worked["eventSource"] == "aws:sqs" and worked["receiveCount"] == "1"


def test_sqs_batches_failures_and_redrive_to_the_dead_letter_queue(emulator: LocalApi) -> None:
    sqs = aws_client(emulator, "sqs")
    dead = sqs.get_queue_url(QueueName=_output(emulator, "DeadLetterQueue"))["QueueUrl"]
    with emulator.connect() as ws:
        for n in range(3):
            ws.send(json.dumps({"action": "report", "n": n}))
        ws.send(json.dumps({"action": "report", "fail": True, "n": 99}))
        answers = [recv_json(ws, timeout=30) for _ in range(7)]
    workers = [a for a in answers if "worker" in a]
    assert sorted(a["worker"]["n"] for a in workers) == [0, 1, 2]
    # the 1 s batching window gathered several messages into one invocation
    assert max(a["batch"] for a in workers) > 1
    deadline = time.monotonic() + 30
    bodies: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not bodies:
        got = sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=1).get("Messages", [])
        bodies = [json.loads(m["Body"]) for m in got]
    assert bodies == [{"action": "report", "fail": True, "n": 99}]


def test_failing_aws_call_answers_internal_server_error(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        ws.send(json.dumps({"action": "lost", "x": 1}))
        answer = recv_json(ws, timeout=30)
    assert answer["message"] == "Internal server error"
    emulator.wait_for_log(r"route lost failed: .*400")


def test_eventbridge_put_events(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="event", text="it's")
    assert answer["failed"] == 0 and answer["eventId"]


def test_step_functions_start_and_start_sync(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        started = ask(ws, action="start", input={"a": 1})
        synced = ask(ws, action="startsync", input={"name": "ada"})
    arn = started["executionArn"]
    assert ":execution:IntegrationsPlainStack-Standard" in arn
    described = aws_client(emulator, "stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(described["input"]) == {"a": 1}
    assert synced == {"status": "SUCCEEDED", "output": {"greeting": "ada"}}


def test_dynamodb_put_item_with_the_connection_id(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        assert ask(ws, action="put", text="stored text") == {"stored": True}
        connection = ask(ws, action="ping", payload=0)["connectionId"]
    table = _output(emulator, "ItemsTable")
    item = aws_client(emulator, "dynamodb").get_item(TableName=table, Key={"pk": {"S": connection}})
    assert item["Item"]["text"] == {"S": "stored text"}


def test_kinesis_put_record(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="kinesis", n=7)
    assert answer["shard"].startswith("shardId-")
    kinesis = aws_client(emulator, "kinesis")
    stream = _output(emulator, "StreamName")
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=answer["shard"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert {"action": "kinesis", "n": 7} in [json.loads(r["Data"]) for r in records]


# -- HTTP ------------------------------------------------------------------------------------


def test_http_proxy_passes_body_and_answer_through(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="http", n=1)
    seen = answer["seen"]
    assert seen["path"] == "/proxy" and seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"action": "http", "n": 1}


def test_http_with_templates_and_parameter_mapping(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="httpt", id="abc")
        connection = ask(ws, action="ping", payload=0)["connectionId"]
    seen = answer["fromBackend"]["seen"]
    assert seen["path"] == "/templated/abc?mode=plain"
    assert seen["headers"]["x-connection"] == connection
    assert seen["headers"]["x-static"] == "fixed"
    assert json.loads(seen["body"]) == {"wrapped": {"action": "httpt", "id": "abc"}}


def test_http_status_without_integration_response_is_internal_server_error(
    emulator: LocalApi,
) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="httpt", id="x", teapot=True)
    assert answer["message"] == "Internal server error"
    emulator.wait_for_log(r"route httpt failed: no integration response matches '418'")


def test_http_to_a_remote_host_is_refused_without_the_flag(emulator: LocalApi) -> None:
    with emulator.connect() as ws:
        answer = ask(ws, action="remote")
    assert answer["message"] == "Internal server error"
    emulator.wait_for_log(r"route remote failed: HTTP integration to example.com refused")

"""End to end: the stacks of ``integrations_app/`` (every integration helper of
``cdk_ws_api``, and the same ideas in plain aws-cdk-lib L2s) served by a real
``cdk-ws-api local`` process, with real WebSocket clients, a loopback HTTP backend and boto3
against the embedded moto server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import recv_json, synth
from integration_helpers import Seen, ask, aws_client, serve_json
from websockets.exceptions import InvalidStatus

from cdk_ws_api.testing import LocalApi, serve

APP = Path(__file__).resolve().parent / "integrations_app" / "app.py"

pytestmark = pytest.mark.timeout(180)


def _answer(seen: Seen) -> tuple[int, Any]:
    headers = seen["headers"]
    body = json.loads(seen["body"])
    return 200, {
        "path": seen["path"],
        "body": body,
        "connection": headers.get("x-connection-id"),
        "source": headers.get("x-source"),
    }


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with serve_json(_answer) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTEGRATIONS_HTTP_URL", f"{url}/")
        yield synth(APP, tmp_path_factory.mktemp("integrations-app"))


@pytest.fixture(scope="module")
def helpers(assembly: Path) -> Iterator[LocalApi]:
    with serve(assembly, stack="IntegrationsStack") as api:
        yield api


@pytest.fixture(scope="module")
def plain(assembly: Path) -> Iterator[LocalApi]:
    with serve(assembly, stack="PlainIntegrationsStack") as api:
        yield api


def _queue_url(emulator: LocalApi, prefix: str) -> str:
    urls = aws_client(emulator, "sqs").list_queues(QueueNamePrefix=prefix)["QueueUrls"]
    (url,) = [u for u in urls if "DeadLetters" not in u]
    return str(url)


def _receive(emulator: LocalApi, url: str, **extra: Any) -> list[dict[str, Any]]:
    sqs = aws_client(emulator, "sqs")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, **extra).get("Messages")
        if messages:
            return messages  # type: ignore[no-any-return]
    raise AssertionError(f"nothing arrived on {url}")


# -- every helper of cdk_ws_api.integrations ----------------------------------------------


def test_connect_requires_the_token_parameter(helpers: LocalApi) -> None:
    with pytest.raises(InvalidStatus) as info:
        helpers.connect()
    assert info.value.response.status_code == 400
    with helpers.connect("token=t") as ws:
        assert ask(ws, action="nope")["error"] == "unknown action"


def test_mock_routes_and_request_models(helpers: LocalApi) -> None:
    with helpers.connect("token=t") as ws:
        pong = ask(ws, action="ping")
        assert pong["action"] == "pong" and pong["connectionId"].endswith("=")
        assert ask(ws, action="greet", name="ada") == {"hello": "ada"}
        refused = ask(ws, action="greet")
    assert refused["message"] == "Invalid request body"
    assert refused["connectionId"] == pong["connectionId"]


def test_sqs_route_worker_answers_through_connections(helpers: LocalApi) -> None:
    with helpers.connect("token=t") as ws:
        ws.send(json.dumps({"action": "report", "text": "hi"}))
        answer = recv_json(ws, timeout=30)
    assert answer["worker"] == {"action": "report", "text": "hi"}
    assert answer["routeKey"] == "report" and answer["requestId"]


def test_fifo_sqs_route_groups_by_connection(helpers: LocalApi) -> None:
    with helpers.connect("token=t") as ws:
        queued = ask(ws, action="order", item=1)
        connection = ask(ws, action="ping")["connectionId"]
    assert queued["status"] == "queued" and queued["requestId"]
    (message,) = _receive(
        helpers, _queue_url(helpers, "IntegrationsStack-Orders"), AttributeNames=["All"]
    )
    assert json.loads(message["Body"]) == {"action": "order", "item": 1}
    assert message["Attributes"]["MessageGroupId"] == connection


def test_eventbridge_route_and_the_rule_delivering_to_a_queue(helpers: LocalApi) -> None:
    with helpers.connect("token=t") as ws:
        answer = ask(ws, action="event", text="hello")
    assert answer["eventId"] and answer["failedEntryCount"] == 0
    (message,) = _receive(helpers, _queue_url(helpers, "IntegrationsStack-EventsCopy"))
    event = json.loads(message["Body"])
    assert event["source"] == "cdk-ws-api.e2e" and event["detail-type"] == "chat message"


def test_step_functions_sync_and_async(helpers: LocalApi) -> None:
    with helpers.connect("token=t") as ws:
        connection = ask(ws, action="ping")["connectionId"]
        flow = ask(ws, action="flow", text="x")
        started = ask(ws, action="start", text="y")
    # the express machine's output, run by moto: {"echo": message, "connectionId"}
    assert flow == {"echo": {"action": "flow", "text": "x"}, "connectionId": connection}
    assert ":execution:" in started["executionArn"]


def test_http_routes(helpers: LocalApi) -> None:
    with helpers.connect("token=t") as ws:
        proxied = ask(ws, action="http", n=1)
        mapped = ask(ws, action="mapped", n=2)
        connection = ask(ws, action="ping")["connectionId"]
    assert proxied["path"] == "/" and proxied["body"] == {"action": "http", "n": 1}
    backend = mapped["backend"]
    assert backend["path"] == "/mapped" and backend["source"] == "cdk-ws-api"
    assert backend["connection"] == connection
    assert backend["body"]["wrapped"] == {"action": "mapped", "n": 2}


# -- plain aws-cdk-lib L2s ---------------------------------------------------------------------


def test_plain_l2_mock_and_sqs(plain: LocalApi) -> None:
    with plain.connect() as ws:
        pong = ask(ws, action="ping")
        assert pong["pong"] is True and pong["connectionId"].endswith("=")
        assert ask(ws, action="other") == {"error": "unknown action"}
        assert ask(ws, action="enqueue", n=3) == {"queued": True}
        worked = recv_json(ws, timeout=30)
    assert worked["worker"] == {"action": "enqueue", "n": 3}
    assert worked["routeKey"] == "enqueue"

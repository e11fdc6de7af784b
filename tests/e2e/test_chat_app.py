"""End to end on the example chat app (``app.py`` + ``handlers/``), served through
``cdk_ws_api.testing`` from the project directory the way ``make run``
serves it: ``cdk-ws-api local`` in the project directory, synthesizing the ``app`` of
``cdk.json``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_helpers import ROOT, recv_json
from websockets.exceptions import InvalidStatus

from cdk_ws_api.testing import LocalApi, serve
from lambda_runtime.env import DEFAULT_GROUP_ATTRIBUTE as GROUP_ATTRIBUTE

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    output = tmp_path_factory.mktemp("chat-cdk-out")
    # Under --iam enforce: every call the example's handlers make must be granted.
    with serve(ROOT, output=str(output), iam="enforce") as api:
        yield api
        assert "IAM denied" not in api.log, "the example stack's grants are incomplete"


def _connection_table(chat: LocalApi) -> Any:
    resource = chat.dynamodb
    return resource.Table(next(t.name for t in resource.tables.all() if "Connection" in t.name))


def _wait_members(chat: LocalApi, count: int) -> None:
    table = _connection_table(chat)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        items = table.scan()["Items"]
        if sum(1 for item in items if item.get(GROUP_ATTRIBUTE)) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"memberships not stored: {items}")


def _wait_quiet(ws: object) -> None:
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.7)  # type: ignore[attr-defined]


def test_chat_across_clients_and_rooms(chat: LocalApi) -> None:
    with (
        chat.connect("token=demo-alice") as alice,
        chat.connect("token=demo-bob") as bob,
        chat.connect("token=demo-carol") as carol,
    ):
        alice.send(json.dumps({"action": "whoami"}))
        me = recv_json(alice)
        assert me["user"] == "alice" and me["connectionId"].endswith("=")
        for ws, room in ((alice, "r1"), (bob, "r1"), (carol, "r2")):
            ws.send(json.dumps({"action": "join", "room": room}))
        # join is one-way and the three connections' messages run concurrently: wait until
        # the three memberships are stored before sending
        _wait_members(chat, 3)
        alice.send(json.dumps({"action": "send", "room": "r1", "text": "hi r1"}))
        expected = {"room": "r1", "from": "alice", "text": "hi r1"}
        assert recv_json(alice) == expected
        assert recv_json(bob) == expected
        carol.send(json.dumps({"action": "send", "room": "r2", "text": "alone"}))
        assert recv_json(carol) == {"room": "r2", "from": "carol", "text": "alone"}
        _wait_quiet(alice)
        _wait_quiet(bob)
        bob.close()
        alice.send(json.dumps({"action": "send", "room": "r1", "text": "still here?"}))
        assert recv_json(alice)["text"] == "still here?"


def test_ping_is_answered_by_its_mock_integration(chat: LocalApi) -> None:
    # No function runs: the MockIntegration's mapping template is evaluated by the emulator.
    with chat.connect("token=demo-alice") as ws:
        ws.send(json.dumps({"action": "whoami"}))
        me = recv_json(ws)
        ws.send(json.dumps({"action": "ping"}))
        pong = recv_json(ws)
    assert pong["action"] == "pong" and pong["connectionId"] == me["connectionId"]
    assert pong["requestTime"].endswith("+0000")
    assert "ping             -> MOCK  [route response]" in chat.banner


def test_default_route_explains_actions(chat: LocalApi) -> None:
    with chat.connect("token=demo-dave") as ws:
        ws.send("hello?")
        answer = recv_json(ws)
        assert {"join", "send", "whoami"} <= set(json.dumps(answer).replace('"', " ").split())


@pytest.mark.parametrize(("query", "status"), [("", 401), ("token=nope", 403)])
def test_chat_rejects_bad_tokens(chat: LocalApi, query: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        chat.connect(query)
    assert info.value.response.status_code == status


def test_chat_connection_records_are_cleaned_up(chat: LocalApi) -> None:
    with chat.connect("token=demo-erin") as ws:
        ws.send(json.dumps({"action": "whoami"}))
        connection_id = recv_json(ws)["connectionId"]
    client = chat.management_client()
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=connection_id)
    table = _connection_table(chat)
    # generous: a loaded 2-core CI machine can take seconds to run $disconnect
    deadline = time.monotonic() + 30
    while "Item" in table.get_item(Key={"connectionId": connection_id}):
        assert time.monotonic() < deadline, "$disconnect left the record:\n" + chat.log[-3000:]
        time.sleep(0.1)


def test_banner_shows_the_stack_outputs_with_local_values(chat: LocalApi) -> None:
    # The CfnOutputs of the stack, resolved and pointed at the emulator (what `make run` shows).
    banner = chat.banner
    assert re.search(r"WebSocketUrl\w*\s+ws://127\.0\.0\.1:\d+/production$", banner, re.M)
    assert re.search(r"CallbackUrl\w*\s+http://127\.0\.0\.1:\d+/production$", banner, re.M)
    assert re.search(r"ConnectionTableName\w*\s+CdkWsApiChat-\S+$", banner, re.M)


def test_join_then_send_on_one_connection_needs_no_wait(chat: LocalApi) -> None:
    # One connection's messages are handled in order: its join is stored before its send runs.
    with chat.connect("token=demo-frank") as ws:
        ws.send(json.dumps({"action": "join", "room": "solo"}))
        ws.send(json.dumps({"action": "send", "room": "solo", "text": "me first"}))
        assert recv_json(ws) == {"room": "solo", "from": "frank", "text": "me first"}

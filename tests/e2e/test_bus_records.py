"""What the emulator publishes on its event bus while a real client uses it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from cdk_ws_api.local.assembly import load_app
from cdk_ws_api.local.bus import (
    AccessRecord,
    ConnectionClosedRecord,
    ConnectionOpenedRecord,
    InvocationRecord,
)
from cdk_ws_api.local.emulator import Emulator, EmulatorOptions

pytestmark = pytest.mark.timeout(120)


async def _session(assembly: Path) -> tuple[list[Any], str]:
    app = load_app(assembly, stack="NoDefaultStack")
    emulator = Emulator(app, EmulatorOptions(port=0), access_log=lambda line: None)
    records: list[Any] = []
    emulator.bus.subscribe(records.append)
    await emulator.start()
    try:
        async with connect(emulator.websocket_url + "?room=a") as ws:
            await ws.send(json.dumps({"action": "ping", "n": 1}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert reply == {"pong": json.dumps({"action": "ping", "n": 1})}
            await ws.send("not json")  # no $default: the Forbidden frame, no invocation
            await asyncio.wait_for(ws.recv(), 30)
            connection_id = next(
                r.connection.connection_id for r in records if type(r) is ConnectionOpenedRecord
            )
        for _ in range(200):  # $disconnect runs after the close
            if any(type(r) is ConnectionClosedRecord for r in records):
                break
            await asyncio.sleep(0.05)
    finally:
        await emulator.stop()
    return records, connection_id


def test_access_connections_and_invocations_are_published(plain_assembly: Path) -> None:
    records, connection_id = asyncio.run(_session(plain_assembly))
    kinds = [type(r).__name__ for r in records]
    # GIVEN one connection sending one routed and one unroutable message
    opened = next(r for r in records if type(r) is ConnectionOpenedRecord)
    assert opened.connection.query == [("room", "a")]
    access = [r for r in records if type(r) is AccessRecord]
    assert [(a.kind, a.route, a.target, a.status) for a in access] == [
        ("CONNECT", "$connect", connection_id, 200),
        ("MESSAGE", "ping", connection_id, 200),
        ("MESSAGE", "$default", connection_id, 403),
    ]
    (invocation,) = [r for r in records if type(r) is InvocationRecord]
    assert invocation.function.startswith("Ping")
    assert invocation.event["requestContext"]["connectionId"] == connection_id
    assert invocation.event["requestContext"]["routeKey"] == "ping"
    # the event travels as the worker's JSON text: the record keeps no event object alive
    assert isinstance(invocation.event_json, str)
    assert [f for f in invocation if isinstance(f, (dict, list))] == [invocation.result]
    assert invocation.error is None
    assert json.loads(invocation.result["body"]) == {"pong": '{"action": "ping", "n": 1}'}
    # THEN the invocation is published before its access line, and the close last
    assert kinds.index("InvocationRecord") < kinds.index(
        "AccessRecord", 1 + kinds.index("AccessRecord")
    )
    closed = next(r for r in records if type(r) is ConnectionClosedRecord)
    assert (closed.connection_id, closed.code) == (connection_id, 1000)
    assert opened.connection.frames_in == 2 and opened.connection.frames_out == 2

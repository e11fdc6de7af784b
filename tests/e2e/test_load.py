"""Bounded load test on loopback: 1,000 concurrent connections, each exchanging a two-way
message and an ``@connections`` message; nothing lost, nothing leaked afterwards."""

from __future__ import annotations

import asyncio
import json
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import table_like
from websockets.asyncio.client import connect

from cdk_ws_api.testing import LocalApi, serve

CONNECTIONS = 1000
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def loaded(plain_assembly: Path) -> Iterator[LocalApi]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 8192))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the emulator runs in this process
    with serve(plain_assembly, stack="PlainStack") as api:
        yield api
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def _client(
    url: str, index: int, opened: asyncio.Semaphore, all_open: asyncio.Event, counter: list[int]
) -> str:
    async with opened:
        ws = await connect(f"{url}?token=allow-user{index}", open_timeout=120)
    counter[0] += 1
    if counter[0] == CONNECTIONS:
        all_open.set()
    try:
        await asyncio.wait_for(all_open.wait(), 120)  # every connection is open at once
        await ws.send(json.dumps({"action": "echo", "i": index}))
        await ws.send(json.dumps({"action": "post", "text": f"p{index}"}))
        got_echo = got_post = False
        connection_id = ""
        while not (got_echo and got_post):
            message = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if "posted" in message:
                assert message == {"posted": f"p{index}"}
                got_post = True
            else:
                event = message["event"]
                assert json.loads(event["body"])["i"] == index
                connection_id = event["requestContext"]["connectionId"]
                got_echo = True
        return connection_id
    finally:
        await ws.close()


async def _run(url: str) -> list[str]:
    opened = asyncio.Semaphore(200)
    all_open = asyncio.Event()
    counter = [0]
    return await asyncio.gather(
        *(_client(url, i, opened, all_open, counter) for i in range(CONNECTIONS))
    )


def test_thousand_concurrent_connections(loaded: LocalApi) -> None:
    started = time.monotonic()
    ids = asyncio.run(asyncio.wait_for(_run(loaded.ws_url), 180))
    elapsed = time.monotonic() - started
    assert len(set(ids)) == CONNECTIONS
    print(f"{CONNECTIONS} connections x 2 messages in {elapsed:.1f}s")

    table = table_like(loaded, "Connections")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        remaining = table.scan(Select="COUNT")["Count"]
        if remaining == 0:
            break
        time.sleep(0.5)
    assert remaining == 0, f"{remaining} connection records leaked"
    client = loaded.management_client()
    for connection_id in ids:
        with pytest.raises(client.exceptions.GoneException):
            client.get_connection(ConnectionId=connection_id)

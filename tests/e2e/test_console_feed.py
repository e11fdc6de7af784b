"""The console's feed and actions against a real emulator (in process) and real clients:
token, Origin, the snapshot, live entries, post/inspect/disconnect, table pages, the test
client, and a console client that stops reading (bounded, message path unaffected)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cdk_ws_api.local.assembly import load_app
from cdk_ws_api.local.bus import AccessRecord
from cdk_ws_api.local.console import hub
from cdk_ws_api.local.console.journal import expand_batch
from cdk_ws_api.local.emulator import Emulator, EmulatorOptions

pytestmark = pytest.mark.timeout(180)

WAIT = 30.0


def _run(assembly: Path, body: Callable[[Emulator], Awaitable[None]]) -> None:
    async def main() -> None:
        app = load_app(assembly, stack="PlainStack")
        emulator = Emulator(app, EmulatorOptions(port=0), access_log=lambda line: None)
        await emulator.start()
        try:
            # moto up before any handler calls it: its cold start on a loaded machine must
            # not eat the plain stack's 5-second authorizer budget
            await emulator.dynamodb.ensure_started()
            await body(emulator)
        finally:
            await emulator.stop()

    asyncio.run(main())


def _feed_url(emulator: Emulator, token: str | None) -> str:
    url = f"ws://{emulator.gateway.domain_name}/_console/feed"
    return url + (f"?token={token}" if token is not None else "")


def _origin(emulator: Emulator) -> str:
    return f"http://{emulator.gateway.domain_name}"


class Feed:
    """A console page's feed, read in the background: entries, stats and replies."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.snapshot: dict[str, Any] = {}
        self.log: list[dict[str, Any]] = []
        self.batches = 0
        self.items: list[dict[str, Any]] = []
        self.dropped = 0
        self.replies: dict[int, dict[str, Any]] = {}
        self._ids = 0
        self._task = asyncio.ensure_future(self._read())
        self._changed = asyncio.Event()

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._read_all()

    async def _read_all(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "snapshot":
                self.snapshot = message
                self.log = expand_batch(message)
            elif message["type"] == "batch":
                self.batches += "seq" in message  # the shared ones, not a page's own
                self.items.extend(expand_batch(message))
                self.dropped += message.get("dropped", 0)
            elif message["type"] == "reply":
                self.replies[message["id"]] = message
            self._changed.set()

    async def until(self, predicate: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)
        raise AssertionError(f"timed out waiting for {what}; items: {self.items[-20:]}")

    async def call(self, op: str, **params: Any) -> dict[str, Any]:
        self._ids += 1
        request_id = self._ids
        await self.ws.send(json.dumps({"id": request_id, "op": op, **params}))
        return await self.until(lambda: self.replies.get(request_id), f"the reply to {op}")  # type: ignore[no-any-return]

    def entries(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            item
            for item in self.items
            if item["kind"] == kind and all(item.get(k) == v for k, v in fields.items())
        ]


def _with_feed(assembly: Path, body: Callable[[Emulator, Feed], Awaitable[None]]) -> None:
    """Run ``body`` with an emulator of the plain stack and a console feed open on it."""

    async def with_feed(emulator: Emulator) -> None:
        url = _feed_url(emulator, emulator.console.token)  # type: ignore[union-attr]
        async with connect(url, origin=_origin(emulator), open_timeout=WAIT) as ws:  # type: ignore[arg-type]
            await body(emulator, Feed(ws))

    _run(assembly, with_feed)


def test_feed_refuses_no_token_a_wrong_token_and_a_foreign_origin(plain_assembly: Path) -> None:
    async def body(emulator: Emulator) -> None:
        token = emulator.console.token  # type: ignore[union-attr]
        for url, origin in (
            (_feed_url(emulator, None), _origin(emulator)),
            (_feed_url(emulator, "wrong"), _origin(emulator)),
            (_feed_url(emulator, token), "http://evil.example"),
            (_feed_url(emulator, token), "http://localhost:1"),
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, origin=origin, open_timeout=WAIT):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 403
        # the right token from the emulator's own origin, or from a non-browser client
        for origin in (_origin(emulator), None):
            async with connect(
                _feed_url(emulator, token),
                origin=origin,
                open_timeout=WAIT,  # type: ignore[arg-type]
            ) as ws:
                snapshot = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                assert snapshot["type"] == "snapshot"

    _run(plain_assembly, body)


def test_snapshot_live_entries_and_the_invocation_behind_a_line(plain_assembly: Path) -> None:
    async def body(emulator: Emulator, feed: Feed) -> None:
        await feed.until(lambda: feed.snapshot, "the snapshot")
        routes = {r["key"]: r for r in feed.snapshot["routes"]}
        assert routes["echo"]["twoWay"] is True and routes["post"]["twoWay"] is False
        assert routes["$connect"]["authorizer"] == "TokenAuthorizer"
        assert {f["id"][:4] for f in feed.snapshot["functions"]} >= {"Echo", "Conn"}
        assert {t["logicalId"][:5] for t in feed.snapshot["tables"]} == {"Conne", "Audit"}
        assert feed.snapshot["connections"] == {"count": 0, "items": []}

        async with connect(emulator.websocket_url + "?token=allow-ann") as client:
            opened = await feed.until(lambda: feed.entries("open"), "the open entry")
            connection_id = opened[0]["connectionId"]
            assert opened[0]["query"] == [["token", "allow-ann"]]
            assert opened[0]["authorizer"]["user"] == "ann"
            await client.send(json.dumps({"action": "echo", "n": 1}))
            await asyncio.wait_for(client.recv(), WAIT)
            (line,) = await feed.until(
                lambda: feed.entries("access", route="echo"), "the echo line"
            )
            assert (line["type"], line["connectionId"], line["status"]) == (
                "MESSAGE",
                connection_id,
                200,
            )
            (detail,) = (await feed.call("line", seq=line["seq"]))["result"]["invocations"]
            assert detail["event"]["requestContext"]["routeKey"] == "echo"
            assert json.loads(detail["event"]["body"]) == {"action": "echo", "n": 1}
            assert detail["result"]["statusCode"] == 200
            # CONNECT's line carries the authorizer's and $connect's invocations
            (connect_line,) = feed.entries("access", type="CONNECT")
            claimed = (await feed.call("line", seq=connect_line["seq"]))["result"]["invocations"]
            assert [i["event"].get("type") for i in claimed] == ["REQUEST", None]
            # the same invocation, by its id (the functions' view asks so)
            again = (await feed.call("invocation", invocationId=claimed[-1]["id"]))["result"]
            assert again["event"] == claimed[-1]["event"] and again["route"] == "$connect"
            output = feed.entries("output")
            assert any("authorizer invoked token=allow-ann" in o["line"] for o in output)
        closed = await feed.until(lambda: feed.entries("close"), "the close entry")
        assert (closed[0]["connectionId"], closed[0]["code"]) == (connection_id, 1000)
        missing = await feed.call("invocation", invocationId=10**9)
        assert missing["ok"] is False and "no longer kept" in missing["error"]
        gone = await feed.call("line", seq=10**9)
        assert gone["ok"] is False and "no longer kept" in gone["error"]

    _with_feed(plain_assembly, body)


def test_post_inspect_and_disconnect_from_the_console(plain_assembly: Path) -> None:
    async def body(emulator: Emulator, feed: Feed) -> None:
        async with connect(emulator.websocket_url + "?token=allow-bo") as client:
            opened = await feed.until(lambda: feed.entries("open"), "the open entry")
            connection_id = opened[0]["connectionId"]
            posted = await feed.call("post", connectionId=connection_id, data="from console")
            assert posted["result"]["status"] == 200
            assert await asyncio.wait_for(client.recv(), WAIT) == "from console"
            inspected = (await feed.call("inspect", connectionId=connection_id))["result"]
            assert inspected["status"] == 200
            assert inspected["body"]["identity"]["sourceIp"] == "127.0.0.1"
            gone = (await feed.call("post", connectionId="bm90aGVyZQ==", data="x"))["result"]
            assert gone["status"] == 410
            deleted = await feed.call("disconnect", connectionId=connection_id)
            assert deleted["result"]["status"] == 204
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(client.recv(), WAIT)
            assert client.close_code == 1000
        await feed.until(lambda: feed.entries("close"), "the close entry")
        lines = feed.entries("access", route="@connections (console)")
        assert [(x["type"], x["status"]) for x in lines][:4] == [
            ("POST", 200),
            ("GET", 200),
            ("POST", 410),
            ("DELETE", 204),
        ]
        unknown = await feed.call("bogus")
        assert unknown["ok"] is False and "unknown op" in unknown["error"]

    _with_feed(plain_assembly, body)


def test_table_pages_and_the_test_client(plain_assembly: Path) -> None:
    async def body(emulator: Emulator, feed: Feed) -> None:
        await feed.until(lambda: feed.snapshot, "the snapshot")
        table = next(t["name"] for t in feed.snapshot["tables"] if "Connections" in t["name"])
        # two test connections opened by the console, one with a header, one refused
        first = await feed.call("client.open", query="token=allow-t1", headers=[["X-Trace", "abc"]])
        first_id = first["result"]["clientId"]
        await feed.until(lambda: feed.entries("client", clientId=first_id, event="open"), "open")
        second = (await feed.call("client.open", query="token=allow-t2"))["result"]
        await feed.until(
            lambda: feed.entries("client", clientId=second["clientId"], event="open"), "open"
        )
        await feed.call("client.send", clientId=first_id, text='{"action":"echo"}')
        (frame,) = await feed.until(
            lambda: feed.entries("client", clientId=first_id, event="frame"), "the echo"
        )
        assert json.loads(frame["data"])["event"]["requestContext"]["routeKey"] == "echo"
        # the header reached $connect (browsers' WebSockets cannot send one)
        (opened,) = await feed.until(
            lambda: feed.entries("open", query=[["token", "allow-t1"]]),
            "the test connection's open entry",
        )
        (line,) = await feed.until(
            lambda: feed.entries("access", type="CONNECT", connectionId=opened["connectionId"]),
            "the test connection's CONNECT line",
        )
        claimed = (await feed.call("line", seq=line["seq"]))["result"]["invocations"]
        assert claimed[-1]["event"]["headers"]["X-Trace"] == "abc"
        refused = (await feed.call("client.open", query="token=deny"))["result"]
        (answer,) = await feed.until(
            lambda: feed.entries("client", clientId=refused["clientId"], event="refused"),
            "the refusal",
        )
        assert answer["status"] == 403
        # the table, one item a page
        page = (await feed.call("scan", table=table, limit=1))["result"]
        assert len(page["items"]) == 1 and page["nextKey"]
        rest = await feed.call("scan", table=table, limit=100, startKey=page["nextKey"])
        users = {i["user"] for i in page["items"] + rest["result"]["items"]}
        assert users == {"t1", "t2"}
        bad = await feed.call("scan", table="nope")
        assert bad["ok"] is False and "no table 'nope'" in bad["error"]
        await feed.call("client.close", clientId=first_id, code=1000)
        (closed,) = await feed.until(
            lambda: feed.entries("client", clientId=first_id, event="close"), "the close"
        )
        assert closed["code"] == 1000

    _with_feed(plain_assembly, body)


def test_two_pages_get_every_line_from_batches_encoded_once(
    plain_assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[str] = []
    real = hub._encode

    def counting(message: dict[str, Any]) -> str:
        if message.get("type") == "batch" and message.get("seq"):
            encoded.append(message["type"])
        return real(message)

    monkeypatch.setattr(hub, "_encode", counting)

    async def body(emulator: Emulator) -> None:
        console = emulator.console
        assert console is not None
        url = _feed_url(emulator, console.token)
        async with (
            connect(url, origin=_origin(emulator), open_timeout=WAIT) as one,  # type: ignore[arg-type]
            connect(url, origin=_origin(emulator), open_timeout=WAIT) as two,  # type: ignore[arg-type]
        ):
            feeds = [Feed(one), Feed(two)]
            for feed in feeds:
                await feed.until(lambda f=feed: f.snapshot, "the snapshot")
            while len(console._clients) < 2:
                await asyncio.sleep(0.05)
            for i in range(1200):  # more than one batch's worth (hub.PUMP_SLICE)
                emulator.bus.publish(AccessRecord("MESSAGE", "r", f"c{i}=", 200, 1.5, 2.0))
            for feed in feeds:
                await feed.until(
                    lambda f=feed: len(f.entries("access", route="r")) == 1200, "every line"
                )
                got = feed.entries("access", route="r")
                assert [e["connectionId"] for e in got] == [f"c{i}=" for i in range(1200)]
                assert [e["seq"] for e in got] == list(range(got[0]["seq"], got[0]["seq"] + 1200))
                assert (got[0]["ms"], got[0]["at"]) == (1.5, 2.0)
            # at most PUMP_SLICE records a batch, each encoded once for both pages
            assert feeds[0].batches == feeds[1].batches >= 1200 // hub.PUMP_SLICE + 1
            assert len(encoded) == feeds[0].batches

    _run(plain_assembly, body)


def test_a_console_that_stops_reading_stays_bounded_and_the_api_keeps_serving(
    plain_assembly: Path,
) -> None:
    async def body(emulator: Emulator) -> None:
        console = emulator.console
        assert console is not None
        # A raw client: completes the handshake, then never reads a byte.
        host, port = emulator.gateway.host, emulator.gateway.port
        stuck = socket.create_connection((host, port))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(
            (
                f"GET /_console/feed?token={console.token} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        try:
            while not console._clients:
                await asyncio.sleep(0.05)
            (client,) = console._clients
            bus = emulator.bus
            line = "x" * 200
            for burst in range(40):  # ~20x the queue's limit, in bursts the pump batches
                for i in range(1000):
                    bus.publish(AccessRecord("MESSAGE", line, f"c{burst}-{i}", 200, 1.0, 0.0))
                await asyncio.sleep(hub.FLUSH_SECONDS * 2)
                assert len(client.queue) <= hub.QUEUE_LIMIT
                assert len(console._inbox) <= hub.INBOX_LIMIT
            transport = client.websocket.transport
            assert transport.get_write_buffer_size() < 8 * 1024 * 1024
            assert client.queue.dropped > 0  # dropped, not kept
            # the API still answers while the console is stuck
            async with connect(emulator.websocket_url + "?token=allow-z") as api_client:
                await api_client.send(json.dumps({"action": "echo"}))
                reply = json.loads(await asyncio.wait_for(api_client.recv(), WAIT))
                assert reply["event"]["requestContext"]["routeKey"] == "echo"
        finally:
            stuck.close()

    _run(plain_assembly, body)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=WAIT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_page_its_assets_static_files_and_no_console(
    plain_assembly: Path, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<p>my client</p>")

    async def main() -> None:
        app = load_app(plain_assembly, stack="PlainStack")
        options = EmulatorOptions(port=0, static=str(tmp_path))
        emulator = Emulator(app, options, access_log=lambda line: None)
        await emulator.start()
        try:
            base = f"http://{emulator.gateway.domain_name}"
            assert emulator.console_url == f"{base}/_console/?token={emulator.console.token}"  # type: ignore[union-attr]
            answers = await asyncio.gather(
                *(
                    asyncio.to_thread(_get, url, headers)
                    for url, headers in (
                        (emulator.console_url, None),
                        (f"{base}/_console", None),
                        (f"{base}/_console/", None),
                        (f"{base}/_console/closecodes.js", None),
                        (emulator.console_url, {"Host": "evil.example"}),
                        (f"{base}/", None),
                        (f"{base}/nothing-here", None),
                        (f"{base}/dev", None),
                    )
                )
            )
            page, redirect, no_token, asset, rebound, static, missing, stage = answers
            assert page[0] == 200 and b"cdk-ws-api local console" in page[2]
            assert "frame-ancestors 'none'" in page[1]["Content-Security-Policy"]
            assert redirect[0] == 301 and redirect[1]["Location"] == "/_console/"
            assert no_token[0] == 403 and b"printed at start" in no_token[2]
            assert asset[0] == 200 and b"1009" in asset[2]
            assert rebound[0] == 403 and b"answers only on" in rebound[2]
            assert static[:1] == (200,) and static[2] == b"<p>my client</p>"
            assert missing[0] == 404
            assert stage[0] == 426  # the stage path is never shadowed by static files
        finally:
            await emulator.stop()
        off = Emulator(app, EmulatorOptions(port=0, no_console=True), access_log=lambda x: None)
        await off.start()
        try:
            assert off.console_url is None
            status, _, _ = await asyncio.to_thread(
                _get, f"http://{off.gateway.domain_name}/_console/closecodes.js"
            )
            assert status == 403  # nothing mounted: API Gateway's answer to unknown paths
            with pytest.raises(InvalidStatus):
                async with connect(f"ws://{off.gateway.domain_name}/_console/feed?token=x"):
                    pass
        finally:
            await off.stop()

    asyncio.run(main())


def test_static_dir_must_be_a_directory(plain_assembly: Path, tmp_path: Path) -> None:
    from cdk_ws_api.local.exceptions import OptionError

    app = load_app(plain_assembly, stack="PlainStack")
    with pytest.raises(OptionError, match=r"static: .*missing is not a directory"):
        Emulator(app, EmulatorOptions(port=0, static=str(tmp_path / "missing")))

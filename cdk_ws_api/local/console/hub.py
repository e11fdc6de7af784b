"""The console's server side: its page, its feed and its actions (thin I/O shell).

- ``GET /_console/?token=...`` serves the page (package data in ``static/``: HTML, CSS and
  plain JavaScript, no build step, nothing fetched from the network); without the token, or
  with a foreign ``Host``, a 403 page says what to open instead.
- ``/_console/feed?token=...`` is the page's WebSocket: a snapshot first (API, routes,
  functions, tables, connections, the recent log), then batches of entries pushed as they
  happen, and the answers to the page's requests (post / inspect / disconnect a connection,
  an invocation's event and result, a page of a table, the test client). See
  :mod:`.access` for the token, ``Origin`` and ``Host`` checks.

Cost on the message path: the bus subscriber only appends the record to a bounded inbox
(no copy, no encoding). A pump task wakes at most every ``FLUSH_SECONDS`` while records
arrive, hands the inbox to the :class:`.journal.Journal` (which keeps the records themselves)
and encodes the batch once, with one ``orjson.dumps``, for every page; each page has a bounded
:class:`.journal.FeedQueue` of encoded batches and a sender task writing one frame per batch.
The feed carries the log lines only; an invocation's event and result are encoded when a
page asks for them (a click), and the connections' and functions' counters are read from the
registry and the pools once every ``STATS_SECONDS``, not pushed per frame. A page that reads
slowly stalls only its sender: its queue drops the oldest batches past ``QUEUE_LIMIT``
entries and the next batch says how many entries were dropped, so the emulator's memory stays
bounded (websockets' own write buffer is bounded too).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..bus import AccessRecord
from ..httpparse import HttpRequest
from ..management import HttpResponse
from .access import ConsoleAccess, new_token
from .files import StaticFiles, text_response
from .journal import MAX_CLAIMED, ROW_FIELDS, FeedQueue, Journal, connection_view

__all__ = ["CONSOLE_PATH", "Console"]

logger = logging.getLogger("cdk_ws_api.local")

#: Where the console is served, outside every stage path.
CONSOLE_PATH = "/_console/"
FEED_PATH = CONSOLE_PATH + "feed"
STATIC_DIR = Path(__file__).with_name("static")

#: Seconds between two batches pushed to a page (also the pump's batching window): five
#: updates a second read as live, and each batch costs a wake-up and a frame.
FLUSH_SECONDS = 0.2
#: Seconds between two pushes of the connections' and workers' counters.
STATS_SECONDS = 1.0
#: Entries waiting for one slow page at most; older ones are dropped and counted.
QUEUE_LIMIT = 2000
#: Records waiting for the pump at most (a burst larger than this between two pumps drops).
INBOX_LIMIT = 20000
#: Records in one batch at most (a larger backlog is sent as several, with a yield to the
#: event loop between two).
PUMP_SLICE = 500
#: Pages open at once at most; more are refused with 503.
MAX_CLIENTS = 8
#: Test-client connections per page at most.
MAX_TEST_CLIENTS = 4
#: Connections listed at most (the count says how many there are).
MAX_LISTED_CONNECTIONS = 500
#: Items per table page at most.
MAX_SCAN_LIMIT = 100


def _encode(message: dict[str, Any]) -> str:
    """``message`` as compact JSON text. orjson, not the standard library: a batch of log
    lines is mostly numbers (status, duration, epoch time), which ``json`` formats at ~3 µs a
    line (measured on 25,000 distinct lines: 3.2 µs vs 0.19 µs), on the emulator's one event
    loop, for every line while a page follows. What orjson refuses (an integer beyond 64
    bits in a handler's result) is encoded by the standard library instead."""
    try:
        return orjson.dumps(message, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(message, separators=(",", ":"), default=str)


class _Client:
    __slots__ = ("queue", "ready", "stats", "test_clients", "websocket")

    def __init__(self, websocket: ServerConnection) -> None:
        self.websocket = websocket
        #: Encoded batches not sent yet, weighed by their entries.
        self.queue = FeedQueue(QUEUE_LIMIT)
        self.ready = asyncio.Event()
        #: The latest counters, encoded, replacing older ones (never queued, never piling up).
        self.stats: str | None = None
        self.test_clients: dict[int, Any] = {}

    def push(self, batch: str, entries: int) -> None:
        self.queue.push(batch, entries)
        self.ready.set()

    def push_own(self, entry: dict[str, Any]) -> None:
        """An entry for this page only (its test connections' events)."""
        self.push(_encode({"type": "batch", "items": [entry]}), 1)


class _FunctionNames(Mapping[str, str]):
    """The served app's function names by logical id, read live (the app changes under
    ``--watch``)."""

    def __init__(self, emulator: Any) -> None:
        self._emulator = emulator

    def __getitem__(self, logical_id: str) -> str:
        return str(self._emulator.app.functions[logical_id].name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._emulator.app.functions))

    def __len__(self) -> int:
        return len(self._emulator.app.functions)


class Console:
    """The console of one emulator (its ``app``, ``gateway``, ``pools``, ``dynamodb`` and
    ``bus``). Mount :meth:`handle_http` on the HTTP plane and :meth:`accept` /
    :meth:`serve` on the WebSocket plane, then ``start()``."""

    def __init__(self, emulator: Any, *, token: str | None = None) -> None:
        self.emulator = emulator
        self.token = token or new_token()
        self.files = StaticFiles(STATIC_DIR, mount=CONSOLE_PATH)
        self.journal = Journal(functions=_FunctionNames(emulator))
        self._inbox: deque[Any] = deque(maxlen=INBOX_LIMIT)
        self._wake = asyncio.Event()
        self._clients: set[_Client] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pump_task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._access: ConsoleAccess | None = None
        self._test_ids = 0
        self._inbox_dropped = 0

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def access(self) -> ConsoleAccess:
        if self._access is None:  # the port is known once the gateway is bound
            gateway = self.emulator.gateway
            self._access = ConsoleAccess(self.token, host=gateway.host, port=gateway.port)
        return self._access

    @property
    def url(self) -> str:
        """The URL to open (printed at start)."""
        return f"http://{self.emulator.gateway.domain_name}{CONSOLE_PATH}?token={self.token}"

    def start(self) -> None:
        self._unsubscribe = self.emulator.bus.subscribe(self._on_record)
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        closing = [c.websocket.close(1001, "the emulator is shutting down") for c in self._clients]
        if closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 5)
        tasks = [t for t in (self._pump_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- bus → journal → pages --------------------------------------------------------------

    def _on_record(self, record: Any) -> None:
        # On the message path: append and return (see the module docstring).
        if len(self._inbox) == INBOX_LIMIT:
            self._inbox_dropped += 1  # the deque drops the oldest itself
        self._inbox.append(record)
        if not self._wake.is_set():
            self._wake.set()

    async def _pump(self) -> None:
        last_stats = 0.0
        while True:
            if self._clients:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), STATS_SECONDS)
            else:
                await self._wake.wait()
            await asyncio.sleep(FLUSH_SECONDS)  # batch what arrives meanwhile
            self._wake.clear()
            if self._inbox_dropped:
                for client in self._clients:
                    client.queue.dropped += self._inbox_dropped
                self._inbox_dropped = 0
            inbox = self._inbox
            while inbox:
                batch, entries = self._take_batch()
                if batch is not None:
                    for client in self._clients:
                        client.push(batch, entries)
                if inbox:
                    await asyncio.sleep(0)  # a large backlog never holds the loop long
            now = time.monotonic()
            if self._clients and now - last_stats >= STATS_SECONDS:
                last_stats = now
                stats = _encode({"type": "stats", **self._stats()})
                for client in self._clients:
                    client.stats = stats
                    client.ready.set()

    def _take_batch(self) -> tuple[str | None, int]:
        """Up to ``PUMP_SLICE`` records from the inbox into the journal; their batch, encoded
        (``None`` with no page or no log line), and its number of entries."""
        inbox = self._inbox
        if len(inbox) <= PUMP_SLICE:
            records: list[Any] = list(inbox)
            inbox.clear()
        else:
            records = [inbox.popleft() for _ in range(PUMP_SLICE)]
        first, items = self.journal.add(records)
        if not items or not self._clients:
            return None, 0
        return _encode({"type": "batch", "seq": first, "items": items}), len(items)

    async def _sender(self, client: _Client) -> None:
        websocket = client.websocket
        while True:
            await client.ready.wait()
            client.ready.clear()
            batches, dropped = client.queue.take()
            stats, client.stats = client.stats, None
            if dropped:
                await websocket.send(_encode({"type": "batch", "items": [], "dropped": dropped}))
            for batch in batches:
                await websocket.send(batch)
            if stats is not None:
                await websocket.send(stats)

    # -- views ------------------------------------------------------------------------------

    def _connections(self) -> dict[str, Any]:
        from ..registry import ConnectionState

        live = [c for c in self.emulator.registry if c.state is ConnectionState.OPEN]
        return {
            "count": len(live),
            "items": [connection_view(c) for c in live[-MAX_LISTED_CONNECTIONS:]],
        }

    def _functions(self) -> list[dict[str, Any]]:
        functions = []
        recent_by_function = self.journal.recent_by_function()
        for logical_id, spec in sorted(self.emulator.app.functions.items()):
            pool = self.emulator.pools.get(logical_id)
            recent = recent_by_function.get(logical_id, [])
            functions.append(
                {
                    "id": logical_id,
                    "name": spec.name,
                    "handler": spec.handler,
                    "runtime": spec.runtime,
                    "timeout": spec.timeout,
                    "warm": pool.size if pool is not None else 0,
                    "busy": pool.busy if pool is not None else 0,
                    "recent": recent,
                }
            )
        return functions

    def _stats(self) -> dict[str, Any]:
        return {"connections": self._connections(), "functions": self._functions()}

    def _routes(self) -> list[dict[str, Any]]:
        api = self.emulator.app.api
        functions = self.emulator.app.functions
        routes = []
        for key, route in sorted(api.routes.items()):
            authorizer = api.authorizers.get(route.authorizer) if route.authorizer else None
            spec = functions.get(route.function or "")
            routes.append(
                {
                    "key": key,
                    "integration": route.integration_type,
                    "function": route.function,
                    "functionName": spec.name if spec is not None else None,
                    "authorizer": authorizer.name if authorizer is not None else None,
                    "authorizationType": route.authorization_type,
                    "apiKeyRequired": route.api_key_required,
                    "twoWay": route.return_response,
                }
            )
        return routes

    def snapshot(self) -> dict[str, Any]:
        emulator = self.emulator
        api = emulator.app.api
        tables = [
            {"name": t.name, "logicalId": t.logical_id, "keys": [list(k) for k in t.key_schema]}
            for t in emulator.app.tables
        ]
        log_seq, log = self.journal.recent()
        return {
            "type": "snapshot",
            "api": {
                "stack": emulator.app.stack,
                "name": api.name,
                "id": api.api_id,
                "stage": api.stage,
                "routeSelection": api.route_selection_expression,
                "websocketUrl": emulator.websocket_url,
                "managementUrl": emulator.management_url,
            },
            "rowFields": ROW_FIELDS,
            "routes": self._routes(),
            "tables": tables,
            "logSeq": log_seq,
            "log": log,
            **self._stats(),
        }

    # -- HTTP: the page and its assets --------------------------------------------------------

    async def handle_http(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        """The answer for a request under ``/_console`` (the router's plane handler)."""
        path = urlsplit(request.path).path
        if not path.startswith(CONSOLE_PATH):  # "/_console": the page is "/_console/"
            query = urlsplit(request.path).query
            location = CONSOLE_PATH + (f"?{query}" if query else "")
            return HttpResponse(301, b"", {"Location": location})
        page = path in (CONSOLE_PATH, CONSOLE_PATH + "index.html")
        refusal = self.access.refusal(
            request.path, host=request.header("Host"), origin=None, need_token=page
        )
        if refusal is not None:
            return _refusal_page(refusal)
        response = self.files.respond(request.method, request.path)
        if response is None:  # not under the mount: cannot happen past the check above
            return text_response(404, "Not Found")
        if page and response.status == 200:
            host = self.emulator.gateway.domain_name
            response.headers["Content-Security-Policy"] = (
                f"default-src 'self'; connect-src 'self' ws://{host}; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            )
            response.headers["Referrer-Policy"] = "no-referrer"  # keep the token in the tab
        return response

    # -- WebSocket: the feed ----------------------------------------------------------------

    def claims(self, path: str) -> bool:
        return urlsplit(path).path == FEED_PATH

    def accept(self, ws: ServerConnection, request: Request) -> Response | None:
        """The handshake answer for the feed: ``None`` accepts, else a 403/503 response."""
        refusal = self.access.refusal(
            request.path,
            host=request.headers.get("Host"),
            origin=request.headers.get("Origin"),
        )
        if refusal is not None:
            return ws.respond(403, refusal + "\n")
        if len(self._clients) >= MAX_CLIENTS:
            return ws.respond(503, f"at most {MAX_CLIENTS} console pages at once\n")
        return None

    async def serve(self, ws: ServerConnection) -> None:
        """Serve one page's feed until it closes."""
        client = _Client(ws)
        # Listed before the snapshot is sent, so that no batch pumped meanwhile is missed;
        # its sender starts once the snapshot is out.
        self._clients.add(client)
        sender = None
        try:
            await ws.send(_encode(self.snapshot()))
            sender = self._spawn(self._sender(client))
            async for message in ws:
                if isinstance(message, str):
                    self._spawn(self._answer(client, message))
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            if sender is not None:
                sender.cancel()
            for test_client in list(client.test_clients.values()):
                self._spawn(test_client.close())

    async def _answer(self, client: _Client, message: str) -> None:
        request_id = None
        try:
            request = json.loads(message)
            request_id = request.get("id")
            result = await self._perform(client, request)
            reply = {"type": "reply", "id": request_id, "ok": True, "result": result}
        except Exception as exc:  # every failure goes back to the page, plainly
            reply = {"type": "reply", "id": request_id, "ok": False, "error": str(exc)}
        with contextlib.suppress(ConnectionClosed):
            await client.websocket.send(_encode(reply))

    async def _perform(self, client: _Client, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if op in ("post", "inspect", "disconnect"):
            return await self._manage(op, str(request.get("connectionId", "")), request)
        if op == "line":
            claimed = self.journal.line(int(request.get("seq", 0)))
            if claimed is None:
                raise LookupError(
                    "that line is no longer kept (the console keeps the last "
                    f"{self.journal.history} lines and {self.journal.kept} invocations)"
                )
            return {"invocations": claimed, "max": MAX_CLAIMED}
        if op == "invocation":
            found = self.journal.invocation(int(request.get("invocationId", 0)))
            if found is None:
                raise LookupError(
                    f"that invocation is no longer kept (the console keeps the last "
                    f"{self.journal.kept})"
                )
            return found
        if op == "scan":
            return await self._scan(request)
        if op == "client.open":
            return await self._open_test_client(client, request)
        if op == "client.send":
            test = client.test_clients.get(int(request.get("clientId", 0)))
            if test is None:
                raise LookupError("no such test connection")
            await test.send(str(request.get("text", "")))
            return {"sent": True}
        if op == "client.close":
            test = client.test_clients.get(int(request.get("clientId", 0)))
            if test is None:
                raise LookupError("no such test connection")
            await test.close(int(request.get("code", 1000)))
            return {"closing": True}
        raise ValueError(f"unknown op {op!r}")

    async def _manage(self, op: str, connection_id: str, request: dict[str, Any]) -> Any:
        emulator = self.emulator
        method = {"post": "POST", "inspect": "GET", "disconnect": "DELETE"}[op]
        data = str(request.get("data", "")).encode() if op == "post" else b""
        started = time.monotonic()
        path = ["", emulator.app.api.stage, "@connections", connection_id]
        response = await emulator.management.handle(method, path, data)
        if emulator.bus.active:
            duration = (time.monotonic() - started) * 1000
            emulator.bus.publish(
                AccessRecord(
                    method,
                    "@connections (console)",
                    connection_id,
                    response.status,
                    duration,
                    time.time(),
                )
            )
        body: Any = response.body.decode(errors="replace")
        with contextlib.suppress(ValueError):
            body = json.loads(body) if body else None
        return {"status": response.status, "body": body}

    async def _scan(self, request: dict[str, Any]) -> dict[str, Any]:
        dynamodb = self.emulator.dynamodb
        name = str(request.get("table", ""))
        if name not in {t.name for t in self.emulator.app.tables}:
            raise LookupError(f"no table {name!r} in this stack")
        if dynamodb.endpoint is None:
            raise RuntimeError("the DynamoDB endpoint is not open")
        limit = max(1, min(int(request.get("limit", 25)), MAX_SCAN_LIMIT))
        start = request.get("startKey")
        return await asyncio.to_thread(_scan_page, dynamodb, name, limit, start)

    async def _open_test_client(self, client: _Client, request: dict[str, Any]) -> Any:
        if len(client.test_clients) >= MAX_TEST_CLIENTS:
            raise RuntimeError(f"at most {MAX_TEST_CLIENTS} test connections per console page")
        from .testclient import TestClient

        self._test_ids += 1
        client_id = self._test_ids
        headers = [(str(k), str(v)) for k, v in request.get("headers", []) if str(k).strip()]
        test = TestClient(
            client_id,
            self.emulator.websocket_url,
            query=str(request.get("query", "")),
            headers=headers,
            emit=client.push_own,
            forget=lambda: client.test_clients.pop(client_id, None),
        )
        client.test_clients[client_id] = test
        self._spawn(test.run())
        return {"clientId": client_id}


def _scan_page(dynamodb: Any, name: str, limit: int, start: Any) -> dict[str, Any]:
    # boto3 only here, on the first table view, in a thread: the emulator's process does not
    # import it otherwise (see the memory notes in cdk_ws_api/local/README.md).
    from boto3.dynamodb.types import TypeDeserializer

    arguments: dict[str, Any] = {"TableName": name, "Limit": limit}
    if start:
        arguments["ExclusiveStartKey"] = start
    page = dynamodb.client().scan(**arguments)
    deserialize = TypeDeserializer().deserialize
    items = [{k: deserialize(v) for k, v in item.items()} for item in page.get("Items", [])]
    return {
        "table": name,
        "items": json.loads(json.dumps(items, default=_plain)),
        "nextKey": page.get("LastEvaluatedKey"),
    }


def _plain(value: Any) -> Any:
    # DynamoDB numbers come back as Decimal, binaries as Binary, sets as set.
    if isinstance(value, set):
        return sorted(value, key=str)
    if hasattr(value, "value") and isinstance(value.value, bytes):
        return base64.b64encode(value.value).decode()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return int(value) if str(value).lstrip("-").isdigit() else float(value)


def _refusal_page(reason: str) -> HttpResponse:
    html = (
        "<!doctype html><meta charset=utf-8><title>cdk-ws-api console: refused</title>"
        "<h1>403: console refused</h1><p>"
        + reason.replace("&", "&amp;").replace("<", "&lt;")
        + "</p><p>Open the console URL that <code>cdk-ws-api local</code> printed at start "
        "(it carries this run's token).</p>"
    )
    return text_response(403, html, "text/html")

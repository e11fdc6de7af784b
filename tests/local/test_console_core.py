"""The console's pure parts: access checks, the journal (entries, pairing, bounds), the feed
queue and the static files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest

from cdk_ws_api.local.bus import (
    AccessRecord,
    ConnectionClosedRecord,
    ConnectionOpenedRecord,
    InvocationRecord,
    OutputRecord,
)
from cdk_ws_api.local.console.access import ConsoleAccess, new_token
from cdk_ws_api.local.console.files import StaticFiles
from cdk_ws_api.local.console.hub import _encode
from cdk_ws_api.local.console.journal import (
    MAX_CLAIMED,
    ROW_FIELDS,
    FeedQueue,
    Journal,
    expand_batch,
)
from cdk_ws_api.local.registry import Registry

HOST = "127.0.0.1:3001"


def test_tokens_are_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 20 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


@pytest.mark.parametrize(
    ("target", "host", "origin", "why"),
    [
        ("/_console/feed?token=s3cret", HOST, None, None),
        ("/_console/feed?token=s3cret", "localhost:3001", "http://localhost:3001", None),
        ("/_console/feed?token=s3cret", HOST, "http://127.0.0.1:3001", None),
        ("/_console/feed", HOST, None, "needs the token"),
        ("/_console/feed?token=", HOST, None, "wrong console token"),
        ("/_console/feed?token=s3cre", HOST, None, "wrong console token"),
        ("/_console/feed?other=s3cret", HOST, None, "needs the token"),
        ("/_console/feed?token=s3cret", HOST, "http://evil.example", "origin"),
        ("/_console/feed?token=s3cret", HOST, "http://127.0.0.1:3002", "origin"),
        ("/_console/feed?token=s3cret", HOST, "null", "origin"),
        ("/_console/feed?token=s3cret", "evil.example:3001", None, "answers only on"),
        ("/_console/feed?token=s3cret", None, None, "answers only on"),
    ],
)
def test_token_origin_and_host_checks(
    target: str, host: str | None, origin: str | None, why: str | None
) -> None:
    access = ConsoleAccess("s3cret", host="127.0.0.1", port=3001)
    refusal = access.refusal(target, host=host, origin=origin)
    if why is None:
        assert refusal is None
    else:
        assert refusal is not None and why in refusal


def test_assets_need_no_token_but_the_right_host() -> None:
    access = ConsoleAccess("s3cret", host="127.0.0.1", port=3001)
    assert access.refusal("/_console/console.js", host=HOST, origin=None, need_token=False) is None
    assert access.refusal("/_console/x.js", host="a.example:3001", origin=None, need_token=False)


def _invocation(connection_id: str, route: str, *, event_type: str = "MESSAGE") -> Any:
    event = {
        "requestContext": {
            "connectionId": connection_id,
            "routeKey": route,
            "eventType": event_type,
        },
        "body": "{}",
    }
    return InvocationRecord("Fn", "req-1", json.dumps(event), {"statusCode": 201}, None, 2.0, 1.0)


def _access(kind: str, route: str, target: str, status: int = 200) -> AccessRecord:
    return AccessRecord(kind, route, target, status, 3.0, 1.0)


def _add(journal: Journal, *records: Any) -> list[dict[str, Any]]:
    first, items = journal.add(records)
    return expand_batch({"seq": first, "items": json.loads(json.dumps(items))})


def test_the_row_fields_name_every_field_of_their_records() -> None:
    assert len(ROW_FIELDS["access"]) == len(AccessRecord._fields)
    assert len(ROW_FIELDS["output"]) == len(OutputRecord._fields)


def test_a_line_shows_the_invocations_of_its_connection_since_its_previous_line() -> None:
    journal = Journal(functions={"Fn": "Stack-Fn"})
    # invocations add no item: their line refers to them when a page asks
    assert _add(journal, _invocation("a=", "$connect", event_type="CONNECT")) == []
    _add(journal, _invocation("a=", "$connect", event_type="CONNECT"))
    _add(journal, _invocation("b=", "send"))
    (connect,) = _add(journal, _access("CONNECT", "$connect", "a="))
    assert (connect["kind"], connect["seq"], connect["type"], connect["status"]) == (
        "access",
        1,
        "CONNECT",
        200,
    )
    assert (connect["connectionId"], connect["ms"], connect["at"]) == ("a=", 3.0, 1.0)
    claimed = journal.line(connect["seq"])
    assert claimed is not None
    assert [i["event"]["requestContext"]["eventType"] for i in claimed] == ["CONNECT"] * 2
    # once claimed, never again: the next line of the connection gets only its own
    _add(journal, _invocation("a=", "send"))
    line, post = _add(
        journal, _access("MESSAGE", "send", "a="), _access("POST", "@connections", "b=")
    )
    (send,) = journal.line(line["seq"]) or []
    assert (send["route"], send["eventType"], send["status"]) == ("send", "MESSAGE", 201)
    assert send["functionName"] == "Stack-Fn" and send["result"] == {"statusCode": 201}
    # an @connections line never shows a connection's invocations
    assert journal.line(post["seq"]) == []
    # b='s invocation is still there for b='s line
    (b_line,) = _add(journal, _access("MESSAGE", "send", "b="))
    (b_send,) = journal.line(b_line["seq"]) or []
    assert b_send["connectionId"] == "b="
    assert journal.invocation(send["id"]) == send
    assert [e["seq"] for e in expand_batch(_recent(journal))] == [1, 2, 3, 4]


def _recent(journal: Journal) -> dict[str, Any]:
    seq, log = journal.recent()
    return {"logSeq": seq, "log": json.loads(json.dumps(log))}


def test_a_line_shows_at_most_the_last_few_invocations() -> None:
    journal = Journal()
    for n in range(MAX_CLAIMED + 5):
        _add(journal, _invocation("a=", f"r{n}"))
    (line,) = _add(journal, _access("MESSAGE", "r", "a="))
    claimed = journal.line(line["seq"]) or []
    assert [i["route"] for i in claimed] == [f"r{n}" for n in range(5, MAX_CLAIMED + 5)]


def test_adding_records_never_reads_encodes_or_copies_an_invocation() -> None:
    class Untouchable(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise AssertionError("read on the message path")

        get = __getitem__  # type: ignore[assignment]

        def __iter__(self) -> Any:
            raise AssertionError("copied or encoded on the message path")

        keys = items = values = __iter__

    journal = Journal()
    # Not JSON: decoding the event on the message path would raise.
    record = InvocationRecord("Fn", "r", "{not json", Untouchable(), None, 1.0, 1.0)
    for _ in range(1000):
        assert journal.add([record]) == (1, [])
    assert journal._invocations[-1] is record  # kept by reference


def test_errors_outputs_connections_and_foreign_records() -> None:
    journal = Journal()
    _add(
        journal,
        InvocationRecord("Fn", "r", '{"requestContext": {}}', None, "KeyError: x", 5.0, 1.0),
    )
    _add(journal, InvocationRecord("Fn", "r2", '"not a dict"', None, None, 5.0, 1.0))
    failed, odd = journal.recent_invocations("Fn")
    assert failed["status"] == "error" and failed["error"] == "KeyError: x"
    assert odd["status"] == 200 and odd["connectionId"] is None
    (output,) = _add(journal, OutputRecord("Fn", "hello", 2.0))
    assert (output["kind"], output["function"], output["line"], output["seq"]) == (
        "output",
        "Fn",
        "hello",
        1,
    )
    assert journal.line(output["seq"]) == []
    registry = Registry()
    connection = registry.create(source_ip="10.0.0.1", query=[("room", "a")])
    connection.frames_in, connection.frames_out = 3, 4
    (opened,) = _add(journal, ConnectionOpenedRecord(connection, 3.0))
    assert opened["kind"] == "open"
    assert (opened["sourceIp"], opened["query"], opened["framesIn"], opened["framesOut"]) == (
        "10.0.0.1",
        [["room", "a"]],
        3,
        4,
    )
    (closed,) = _add(journal, ConnectionClosedRecord(connection.connection_id, 1001, "Bye", 4.0))
    assert (closed["code"], closed["reason"]) == (1001, "Bye")

    class Denied(NamedTuple):  # what another publisher (IAM checks) may send
        action: str
        resource: object
        at: float

    (record,) = _add(journal, Denied("dynamodb:PutItem", object(), 5.0))
    assert (record["kind"], record["type"], record["at"], record["seq"]) == (
        "record",
        "Denied",
        5.0,
        2,
    )
    assert record["fields"]["action"] == "dynamodb:PutItem"
    assert isinstance(record["fields"]["resource"], str)
    # numbering goes on across batches; opens and closes are not numbered
    (later,) = _add(journal, _access("MESSAGE", "x", "c="))
    assert later["seq"] == 3


def test_the_journal_is_bounded_and_forgets_plainly() -> None:
    journal = Journal(history=10, invocations=5, per_function=3)
    for i in range(100):
        _add(journal, _invocation(f"c{i}=", "send"), _access("MESSAGE", "send", f"c{i}="))
        _add(journal, _invocation(f"orphan{i}=", "send"))  # never claimed
    seq, log = journal.recent()
    assert len(log) == 10 and seq == 91
    assert len(journal._invocations) == 5 == len(journal._positions)
    assert len(journal.recent_invocations("Fn")) == 3
    assert journal.invocation(1) is None  # forgotten
    assert journal.line(1) is None and journal.line(101) is None
    (last,) = journal.line(100) or []  # the newest line still finds its invocation
    assert last["connectionId"] == "c99="
    # the oldest line kept whose invocation is gone shows none, never another line's
    assert journal.line(91) == []


def test_feed_queue_drops_the_oldest_items_and_counts_their_entries() -> None:
    queue = FeedQueue(5)
    for i in range(5):
        queue.push(f"batch{i}", 2)
    assert len(queue) == 4  # batches 3 and 4: 4 entries
    items, dropped = queue.take()
    assert items == ["batch3", "batch4"] and dropped == 6
    assert queue.take() == ([], 0)
    queue.push("huge", 50)  # the newest is always kept
    assert queue.take() == (["huge"], 0)


def test_static_files_stay_inside_their_root(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "sub" / "app.js").write_text("let x = 1;")
    (tmp_path / "secret.txt").write_text("no")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    files = StaticFiles(root, mount="/")
    home = files.respond("GET", "/?x=1")
    assert home is not None and home.status == 200 and home.body == b"<h1>home</h1>"
    assert home.headers["Content-Type"] == "text/html; charset=utf-8"
    script = files.respond("GET", "/sub/app.js")
    assert script is not None and script.body == b"let x = 1;"
    assert "javascript" in script.headers["Content-Type"]
    for target in (
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/link",
        "/missing",
        "/%00",
    ):
        answer = files.respond("GET", target)
        assert answer is not None and answer.status == 404, target
    post = files.respond("POST", "/index.html")
    assert post is not None and post.status == 405
    mounted = StaticFiles(root, mount="/_console/")
    assert mounted.respond("GET", "/index.html") is None  # not under its mount
    page = mounted.respond("GET", "/_console/")
    assert page is not None and page.body == b"<h1>home</h1>"


def test_function_names_are_read_live_from_the_served_app() -> None:
    # Under --watch a re-synthesized app adds functions: their invocations are named too.
    from types import SimpleNamespace

    from cdk_ws_api.local.console.hub import _FunctionNames

    emulator = SimpleNamespace(app=SimpleNamespace(functions={}))
    names = _FunctionNames(emulator)
    assert dict(names) == {}
    emulator.app = SimpleNamespace(functions={"Fn": SimpleNamespace(name="Stack-Fn")})
    assert dict(names) == {"Fn": "Stack-Fn"} and len(names) == 1


def test_feed_items_are_encoded_natively_and_odd_values_still_encode() -> None:
    journal = Journal()
    first, items = journal.add(
        [
            _access("MESSAGE", "send", "a="),
            OutputRecord("Fn", "hi", 2.0),
            _access("POST", "-", "a="),
        ]
    )
    # The log lines are plain tuples: orjson encodes them with no per-line Python callback.
    encoded = orjson.dumps(items)
    assert json.loads(encoded) == [
        ["access", ["MESSAGE", "send", "a=", 200, 3.0, 1.0]],
        ["output", ["Fn", "hi", 2.0]],
        ["access", ["POST", "-", "a=", 200, 3.0, 1.0]],
    ]
    assert json.loads(_encode({"seq": first, "items": items})) == {
        "seq": 1,
        "items": json.loads(encoded),
    }
    # What orjson refuses (an integer beyond 64 bits) or does not know still encodes.
    assert json.loads(_encode({"big": 2**70, "odd": {1: object()}}))["big"] == 2**70
    assert json.loads(_encode({"keys": {1: "x"}})) == {"keys": {"1": "x"}}

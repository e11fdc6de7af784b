"""The console's pure parts: access checks, the journal (entries, pairing, bounds), the feed
queue and the static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

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
from cdk_ws_api.local.console.journal import FeedQueue, Journal, expand
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
    return InvocationRecord("Fn", "req-1", event, {"statusCode": 201}, None, 2.0, 1.0)


def test_access_lines_claim_the_invocations_of_their_connection() -> None:
    journal = Journal(functions={"Fn": "Stack-Fn"})
    # invocations push nothing themselves: their access line refers to them
    assert journal.add(_invocation("a=", "$connect", event_type="CONNECT")) is None
    journal.add(_invocation("a=", "$connect", event_type="CONNECT"))
    journal.add(_invocation("b=", "send"))
    auth, connect, other = journal.recent_invocations("Fn")
    assert other["connectionId"] == "b="
    line = expand(journal.add(AccessRecord("CONNECT", "$connect", "a=", 200, 3.0, 1.0)))
    assert line["invocations"] == [auth["seq"], connect["seq"]]
    assert (line["kind"], line["type"], line["status"], line["us"], line["t"]) == (
        "access",
        "CONNECT",
        200,
        3000,
        1000,
    )
    # claimed once: the next line of the same connection gets only its own
    journal.add(_invocation("a=", "send"))
    send = journal.recent_invocations("Fn")[-1]
    assert send["status"] == 201 and send["functionName"] == "Stack-Fn"
    assert (send["route"], send["eventType"]) == ("send", "MESSAGE")
    line = expand(journal.add(AccessRecord("MESSAGE", "send", "a=", 201, 3.0, 1.0)))
    assert line["invocations"] == [send["seq"]]
    # an @connections line never claims a connection's invocations
    post = expand(journal.add(AccessRecord("POST", "@connections", "b=", 200, 0.1, 1.0)))
    assert post["invocations"] == []
    detail = journal.invocation(send["seq"])
    assert detail is not None and detail["event"]["requestContext"]["routeKey"] == "send"
    assert detail["result"] == {"statusCode": 201}
    assert [expand(e)["kind"] for e in journal.recent()] == ["access", "access", "access"]


def test_errors_outputs_connections_and_foreign_records() -> None:
    journal = Journal()
    journal.add(InvocationRecord("Fn", "r", {"requestContext": {}}, None, "KeyError: x", 5.0, 1.0))
    journal.add(InvocationRecord("Fn", "r2", "not a dict", None, None, 5.0, 1.0))
    failed, odd = journal.recent_invocations("Fn")
    assert failed["status"] == "error" and failed["error"] == "KeyError: x"
    assert odd["status"] == 200 and odd["connectionId"] is None
    output = expand(journal.add(OutputRecord("Fn", "hello", 2.0)))
    assert (output["kind"], output["function"], output["line"]) == ("output", "Fn", "hello")
    registry = Registry()
    connection = registry.create(source_ip="10.0.0.1", query=[("room", "a")])
    connection.frames_in, connection.frames_out = 3, 4
    opened = journal.add(ConnectionOpenedRecord(connection, 3.0))
    assert opened is not None and opened["kind"] == "open"
    assert (opened["sourceIp"], opened["query"], opened["framesIn"], opened["framesOut"]) == (
        "10.0.0.1",
        [["room", "a"]],
        3,
        4,
    )
    closed = journal.add(ConnectionClosedRecord(connection.connection_id, 1001, "Going away", 4.0))
    assert closed is not None and (closed["code"], closed["reason"]) == (1001, "Going away")

    class Denied(NamedTuple):  # what another publisher (IAM checks) may send
        action: str
        resource: object
        at: float

    record = journal.add(Denied("dynamodb:PutItem", object(), 5.0))
    assert record is not None and record["type"] == "Denied" and record["t"] == 5000
    assert record["fields"]["action"] == "dynamodb:PutItem"
    assert isinstance(record["fields"]["resource"], str)


def test_the_journal_is_bounded() -> None:
    journal = Journal(history=10, invocations=5, per_function=3)
    for i in range(100):
        journal.add(_invocation(f"c{i}=", "send"))
        journal.add(AccessRecord("MESSAGE", "send", f"c{i}=", 200, 1.0, 1.0))
        journal.add(_invocation(f"orphan{i}=", "send"))  # never claimed
    assert len(journal.recent()) == 10
    assert len(journal._invocations) == 5
    assert len(journal.recent_invocations("Fn")) == 3
    assert journal.invocation(1) is None  # forgotten
    for i in range(2000):
        journal.add(_invocation(f"x{i}=", "send"))
    assert len(journal._unclaimed) <= 1000
    for _ in range(50):
        journal.add(_invocation("same=", "send"))
    assert len(journal._unclaimed["same="]) == 8


def test_feed_queue_drops_the_oldest_and_counts() -> None:
    queue = FeedQueue(3)
    for i in range(5):
        queue.push({"n": i})
    assert len(queue) == 3
    items, dropped = queue.take()
    assert [i["n"] for i in items] == [2, 3, 4] and dropped == 2
    assert queue.take() == ([], 0)


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

"""End to end on a stack written in plain aws-cdk-lib L2 constructs with boto3-only handlers.

Every test talks to a real ``cdk-ws-api local`` process through real ``websockets`` clients
and real boto3 clients; nothing in the emulator is replaced.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import audit, recv_json, table_like
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cdk_ws_api.testing import LocalApi, serve

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"
AWS_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")
CLF = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")

pytestmark = pytest.mark.timeout(120)


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def _expect_closed(ws: Any, timeout: float = 10) -> ConnectionClosed:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            ws.recv(timeout=timeout)
    return info.value


def _echo(ws: Any, **body: Any) -> dict[str, Any]:
    ws.send(json.dumps({"action": "echo", **body}))
    return recv_json(ws)  # type: ignore[no-any-return]


# -- events ------------------------------------------------------------------------------


def test_message_event_is_shaped_like_aws(plain: LocalApi) -> None:
    with plain.connect("token=allow-alice", user_agent_header="e2e-agent/1.0") as ws:
        first = _echo(ws, n=1)
        second = _echo(ws, n=2)
    event = first["event"]
    aws = _fixture("message.json")
    assert set(aws["requestContext"]) <= set(event["requestContext"])
    assert set(aws) <= set(event)
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "echo" and ctx["eventType"] == "MESSAGE"
    assert ctx["messageDirection"] == "IN" and ctx["stage"] == "dev"
    assert AWS_ID.match(ctx["connectionId"]) and AWS_ID.match(ctx["messageId"])
    assert AWS_ID.match(ctx["requestId"]) and CLF.match(ctx["requestTime"])
    assert ctx["domainName"] == plain.ws_url.split("/")[2]
    assert re.fullmatch(r"[0-9a-z]{10}", ctx["apiId"])
    assert ctx["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "e2e-agent/1.0"}
    assert ctx["connectedAt"] <= ctx["requestTimeEpoch"] <= time.time() * 1000
    assert json.loads(event["body"]) == {"action": "echo", "n": 1}
    assert event["isBase64Encoded"] is False
    assert "headers" not in event
    # connectedAt is stable, ids are per message
    ctx2 = second["event"]["requestContext"]
    assert ctx2["connectedAt"] == ctx["connectedAt"]
    assert ctx2["connectionId"] == ctx["connectionId"]
    assert ctx2["messageId"] != ctx["messageId"] and ctx2["requestId"] != ctx["requestId"]
    # authorizer output reaches every event, context values as strings
    assert ctx["authorizer"]["principalId"] == "alice"
    assert ctx["authorizer"]["user"] == "alice"
    assert ctx["authorizer"]["level"] == "7" and ctx["authorizer"]["admin"] == "true"
    # the Lambda context object
    assert first["function"] == "PlainStack-Echo11F3FB29"
    assert 0 < first["remaining"] <= 5000
    assert first["requestId"] != second["requestId"]


def test_connect_authorizer_and_disconnect_events(plain: LocalApi) -> None:
    with plain.connect("token=allow-bob&x=1&x=2", user_agent_header="agent") as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
        ws.close(4001, "bye now")
    connect = json.loads(audit(plain, f"connect#{connection_id}")["event"])
    aws = _fixture("connect.json")
    assert set(aws["requestContext"]) <= set(connect["requestContext"])
    assert connect["requestContext"]["eventType"] == "CONNECT"
    assert connect["requestContext"]["routeKey"] == "$connect"
    assert connect["queryStringParameters"] == {"token": "allow-bob", "x": "2"}
    assert connect["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert connect["headers"]["User-Agent"] == "agent"
    assert connect["multiValueHeaders"]["User-Agent"] == ["agent"]
    assert connect["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert connect["requestContext"]["authorizer"]["principalId"] == "bob"

    auth = json.loads(audit(plain, f"authorizer#{connection_id}")["event"])
    aws_auth = _fixture("authorizer-request.json")
    assert set(aws_auth) <= set(auth)
    api_id = connect["requestContext"]["apiId"]
    assert auth["type"] == "REQUEST"
    assert auth["methodArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/dev/$connect"
    assert "authorizer" not in auth["requestContext"]

    item = audit(plain, f"disconnect#{connection_id}")
    assert item["code"] == 4001 and item["reason"] == "bye now"
    assert item["authorizer"]["principalId"] == "bob"
    disconnect = json.loads(item["event"])
    aws_disconnect = _fixture("disconnect.json")
    assert set(aws_disconnect["requestContext"]) <= set(disconnect["requestContext"])
    assert set(aws_disconnect["headers"]) == set(disconnect["headers"])
    assert disconnect["requestContext"]["connectedAt"] == connect["requestContext"]["connectedAt"]
    # the connection record written by $connect was removed by $disconnect
    table = table_like(plain, "Connections")
    assert "Item" not in table.get_item(Key={"connectionId": connection_id})


def test_close_without_status_reports_1005(plain: LocalApi) -> None:
    with plain.connect("token=allow-carol") as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
        ws.close(None)  # type: ignore[arg-type]  # a close frame without a status code
    item = audit(plain, f"disconnect#{connection_id}")
    assert item["code"] == 1005
    assert item["reason"] == "Client-side close frame status not set"


# -- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps({"action": "nope"}), json.dumps({"other": 1}), json.dumps([1, 2])],
)
def test_unmatched_messages_go_to_default(plain: LocalApi, body: str) -> None:
    with plain.connect("token=allow-dan") as ws:
        ws.send(body)
        assert ws.recv(timeout=15) == f"default route got: {body}"


def test_body_discarded_without_route_response(plain: LocalApi) -> None:
    with plain.connect("token=allow-erin") as ws:
        ws.send(json.dumps({"action": "post", "text": "hello"}))
        assert recv_json(ws) == {"posted": "hello"}
        # the function also returned a body: API Gateway drops it on a one-way route
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.0)


def test_handler_posts_through_callback_url_from_environment(plain: LocalApi) -> None:
    with plain.connect("token=allow-fay") as ws:
        ws.send(json.dumps({"action": "post", "via": "env", "text": "via env"}))
        assert recv_json(ws) == {"posted": "via env"}


def test_calls_to_other_api_domains_stay_local(plain: LocalApi) -> None:
    with plain.connect("token=allow-gil") as ws:
        ws.send(json.dumps({"action": "manage", "via": "other-api"}))
        assert recv_json(ws) == {"other": "ForbiddenException"}


# -- $connect ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 401),
        ("token=", 401),
        ("token=unauthorized", 401),
        ("token=deny", 403),
        ("token=wrongarn", 403),
        ("token=crash", 403),
        ("token=allow-x&reject=429", 429),
        ("token=allow-x&reject=500", 500),
    ],
)
def test_handshake_rejections(plain: LocalApi, query: str, status: int) -> None:
    before = plain.log.count("authorizer invoked")
    with pytest.raises(InvalidStatus) as info:
        plain.connect(query)
    assert info.value.response.status_code == status
    if status == 401 and "unauthorized" not in query:
        time.sleep(0.3)
        assert plain.log.count("authorizer invoked") == before  # never called


def test_wrong_stage_path_is_forbidden(plain: LocalApi) -> None:
    from websockets.sync.client import connect

    url = plain.ws_url.rsplit("/", 1)[0] + "/prod?token=allow-x"
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=10)
    assert info.value.response.status_code == 403


def test_subprotocol_returned_by_connect_is_echoed(plain: LocalApi) -> None:
    with plain.connect("token=allow-gus&protocol=chat.v2", subprotocols=["chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"


def test_post_during_connect_is_gone(plain: LocalApi) -> None:
    with plain.connect("token=allow-hal&postself=1") as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
    assert audit(plain, f"postself#{connection_id}")["outcome"] == "GoneException"


# -- @connections from outside (real boto3) -----------------------------------------------


def test_management_api_with_boto3(plain: LocalApi) -> None:
    client = plain.management_client()
    with plain.connect("token=allow-ivy", user_agent_header="ivy-agent") as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
        assert "=" in connection_id  # sent URL-encoded by boto3
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"from": "outside"}')
        assert recv_json(ws) == {"from": "outside"}
        big = "y" * 100_000  # sent to the client in frames of 32 KiB at most
        client.post_to_connection(ConnectionId=connection_id, Data=big.encode())
        assert ws.recv(timeout=10) == big
        info = client.get_connection(ConnectionId=connection_id)
        assert isinstance(info["ConnectedAt"], datetime)
        assert info["LastActiveAt"] >= info["ConnectedAt"]
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "ivy-agent"}
        with pytest.raises(ClientError) as too_big:
            client.post_to_connection(ConnectionId=connection_id, Data=b"z" * 131073)
        assert too_big.value.response["Error"]["Code"] == "PayloadTooLargeException"
        assert too_big.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        client.post_to_connection(ConnectionId=connection_id, Data=b"z" * 131072)
        assert ws.recv(timeout=10) == "z" * 131072
        client.delete_connection(ConnectionId=connection_id)
        closed = _expect_closed(ws)
        assert closed.rcvd is not None and closed.rcvd.code == 1000
    item = audit(plain, f"disconnect#{connection_id}")
    assert item["code"] == 1000
    for call in (
        lambda: client.get_connection(ConnectionId=connection_id),
        lambda: client.post_to_connection(ConnectionId=connection_id, Data=b"late"),
        lambda: client.delete_connection(ConnectionId=connection_id),
        lambda: client.get_connection(ConnectionId="AAAAAAAAAAAAAAA="),
    ):
        with pytest.raises(client.exceptions.GoneException) as gone:
            call()
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_management_api_from_handlers(plain: LocalApi) -> None:
    with plain.connect("token=allow-jo") as first, plain.connect("token=allow-kim") as second:
        second_id = _echo(second)["event"]["requestContext"]["connectionId"]
        first.send(json.dumps({"action": "manage", "op": "get", "target": second_id}))
        outcome = recv_json(first)["manage"]
        assert outcome["identity"]["SourceIp"] == "127.0.0.1"
        first.send(json.dumps({"action": "manage", "op": "post", "target": second_id}))
        assert second.recv(timeout=10) == "x"
        assert recv_json(first) == {"manage": "posted"}
        first.send(json.dumps({"action": "manage", "op": "post", "size": 131073}))
        assert recv_json(first) == {"manage": {"error": "PayloadTooLargeException", "status": 413}}
        first.send(json.dumps({"action": "manage", "op": "delete", "target": second_id}))
        assert recv_json(first) == {"manage": "deleted"}
        _expect_closed(second)
        first.send(json.dumps({"action": "manage", "op": "get", "target": second_id}))
        assert recv_json(first) == {"manage": {"error": "GoneException", "status": 410}}


# -- failures --------------------------------------------------------------------------------


def _crash(ws: Any, mode: str) -> dict[str, Any]:
    ws.send(json.dumps({"action": "crash", "mode": mode}))
    return recv_json(ws, timeout=20)  # type: ignore[no-any-return]


def test_handler_errors_answer_internal_server_error_and_keep_the_connection(
    plain: LocalApi,
) -> None:
    with plain.connect("token=allow-lee") as ws:
        warm = _crash(ws, "ok")
        assert _crash(ws, "ok") == warm  # same warm worker: imported once
        for mode in ("raise", "exit"):
            error = _crash(ws, mode)
            assert error["message"] == "Internal server error"
            assert AWS_ID.match(error["connectionId"]) and AWS_ID.match(error["requestId"])
        after_exit = _crash(ws, "ok")
        assert after_exit["pid"] != warm["pid"]  # the crashed worker was replaced
        started = time.monotonic()
        assert _crash(ws, "sleep")["message"] == "Internal server error"
        assert 1.5 < time.monotonic() - started < 8  # the function's 2 s timeout
        assert _crash(ws, "ok")["pid"] not in (warm["pid"], after_exit["pid"])
        assert _echo(ws)["event"]["requestContext"]["routeKey"] == "echo"
    plain.wait_for_log(r"\[PlainStack-CrashF1E47A1F\] crash handler mode=raise")


# -- limits -----------------------------------------------------------------------------------


def _disconnect_code(emulator: LocalApi, ws: Any, connection_id: str) -> int:
    closed = _expect_closed(ws)
    assert closed.rcvd is not None
    item = audit(emulator, f"disconnect#{connection_id}")
    assert item["code"] == closed.rcvd.code
    return closed.rcvd.code


def test_frame_over_32_kib_closes_with_1009(plain: LocalApi) -> None:
    with plain.connect("token=allow-max", max_size=None) as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
        ws.send("a" * (32 * 1024 + 1))
        assert _disconnect_code(plain, ws, connection_id) == 1009


def test_message_up_to_128_kib_in_frames_is_accepted_and_over_closes_with_1009(
    plain: LocalApi,
) -> None:
    with plain.connect("token=allow-max", max_size=None) as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
        body = json.dumps({"action": "echo", "pad": "p" * 100_000})
        ws.send([body[i : i + 32 * 1024] for i in range(0, len(body), 32 * 1024)])
        assert json.loads(recv_json(ws)["event"]["body"])["pad"] == "p" * 100_000
        ws.send(["q" * 32 * 1024] * 5)  # 160 KiB in frames of 32 KiB
        assert _disconnect_code(plain, ws, connection_id) == 1009


def test_binary_frame_closes_with_1003(plain: LocalApi) -> None:
    with plain.connect("token=allow-bin") as ws:
        connection_id = _echo(ws)["event"]["requestContext"]["connectionId"]
        ws.send(b"\x00\x01binary")
        assert _disconnect_code(plain, ws, connection_id) == 1003


def _pause_then_ok(ws: Any) -> list[str]:
    # A slow message then a fast one on the same connection; the tags in answer order.
    ws.send(json.dumps({"action": "crash", "mode": "pause", "seconds": 0.8, "tag": "slow"}))
    ws.send(json.dumps({"action": "crash", "mode": "ok", "tag": "fast"}))
    return [recv_json(ws)["tag"], recv_json(ws)["tag"]]


def test_messages_of_one_connection_are_handled_in_order(plain: LocalApi) -> None:
    # GIVEN the default (ordered) emulator WHEN a slow message is followed by a fast one
    with plain.connect("token=allow-order") as ws:
        # THEN the fast one waits for the slow one: answers arrive in the order sent
        assert _pause_then_ok(ws) == ["slow", "fast"]


def test_concurrent_messages_option_lets_a_fast_message_overtake(plain_assembly: Path) -> None:
    # GIVEN --concurrent-messages (as AWS may behave)
    with (
        serve(plain_assembly, stack="PlainStack", concurrent_messages=True) as emulator,
        emulator.connect("token=allow-race") as ws,
    ):
        # warm two workers so neither message pays a cold start
        ws.send(json.dumps({"action": "crash", "mode": "pause", "seconds": 0.3}))
        ws.send(json.dumps({"action": "crash", "mode": "ok"}))
        recv_json(ws), recv_json(ws)
        # THEN the fast message is answered first
        assert _pause_then_ok(ws) == ["fast", "slow"]

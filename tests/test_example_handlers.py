"""The example chat app's handlers (``handlers/chat.py``, ``handlers/authorizer.py``), run
as Lambda runs them, against real servers on 127.0.0.1 through the real boto3.

- DynamoDB: a moto server hosting a connection table shaped as in ``docs/contracts.md``
  (partition key ``connectionId``, GSI ``byGroup`` on ``groupId``, TTL ``expiresAt``), named
  in the environment variables the construct sets.
- ``@connections``: the API Gateway stand-in of ``tests/runtime/apigw_stub.py``, reached via
  ``WS_API_MANAGEMENT_ENDPOINT`` (the events come through a custom domain, not an
  ``execute-api`` one, as they would through the construct's custom domain mapping). Ids not
  in ``stub.known`` answer 410 GoneException.

Each handler module is imported fresh per test with ``handlers/`` on ``sys.path``, as the
Lambda runtime imports ``chat.handler``: ``chat.py`` creates its ``ConnectionStore`` at import.
Events are the real fixtures of ``tests/fixtures/aws-events/`` with ids, bodies and the
authorizer context adjusted.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambda_runtime import _aws, env
from tests.runtime import conftest as runtime_conftest
from tests.runtime.apigw_stub import ApiGatewayStub

# The runtime tests' fixtures, reused rather than copied: their conftest only applies under
# tests/runtime/, so they are bound here, where pytest looks for this module's fixtures.
_isolated_aws_env = runtime_conftest._isolated_aws_env  # autouse: fake credentials, clean env
moto_url = runtime_conftest.moto_url  # the moto server (session)
_apigw_server = runtime_conftest._apigw_server  # the @connections stub (session)
apigw = runtime_conftest.apigw  # ... reset for each test
dynamodb = runtime_conftest.dynamodb  # a boto3 DynamoDB client of the moto server
connection_table = runtime_conftest.connection_table  # a fresh table with the byGroup GSI
load_event = runtime_conftest.load_event

HANDLERS = Path(__file__).resolve().parent.parent / "handlers"
MAX_ROOM_LENGTH = 128  # the limit handlers/chat.py documents
DOMAIN = "ws.example.com"  # a custom domain: the runtime must use WS_API_MANAGEMENT_ENDPOINT

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _module_clients() -> Iterator[None]:
    """boto3 clients made for this module only. The runtime caches them per endpoint (the
    ``AWS_ENDPOINT_URL_*`` variables included), and the endpoints here are the same for every
    test, so one set serves the module; creating them per test would cost ~0.1 s each."""
    _aws.clear_client_cache()
    yield
    _aws.clear_client_cache()


@pytest.fixture
def chat_table(connection_table: str, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The runtime tests' table (``byGroup`` GSI on ``groupId``) with TTL on ``expiresAt``
    enabled, and every variable the construct sets on the route handlers."""
    dynamodb.update_time_to_live(
        TableName=connection_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": env.DEFAULT_TTL_ATTRIBUTE},
    )
    monkeypatch.setenv(env.CONNECTION_TABLE, connection_table)
    monkeypatch.setenv(env.CONNECTION_TTL_ATTRIBUTE, env.DEFAULT_TTL_ATTRIBUTE)
    monkeypatch.setenv(env.CONNECTION_GROUP_INDEX, env.DEFAULT_GROUP_INDEX)
    monkeypatch.setenv(env.CONNECTION_GROUP_ATTRIBUTE, env.DEFAULT_GROUP_ATTRIBUTE)
    return connection_table


@pytest.fixture
def stub(apigw: ApiGatewayStub, monkeypatch: pytest.MonkeyPatch) -> ApiGatewayStub:
    """The @connections stub (no known connection, nothing recorded), as the endpoint the
    runtime resolves for events that came through a custom domain."""
    monkeypatch.setenv(env.MANAGEMENT_ENDPOINT, apigw.endpoint_url)
    return apigw


@pytest.fixture
def import_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ModuleType]]:
    """``import_handler("chat")``: the module freshly imported from ``handlers/`` as the
    Lambda runtime imports it (a top-level module); ``sys.modules`` is restored afterwards."""
    monkeypatch.syspath_prepend(str(HANDLERS))
    saved: dict[str, ModuleType | None] = {}

    def load(name: str) -> ModuleType:
        saved.setdefault(name, sys.modules.pop(name, None))
        module = importlib.import_module(name)
        assert Path(str(module.__file__)).resolve() == HANDLERS / f"{name}.py"
        return module

    try:
        yield load
    finally:
        for name, module in saved.items():
            sys.modules.pop(name, None)
            if module is not None:
                sys.modules[name] = module


@pytest.fixture
def chat(
    chat_table: str, stub: ApiGatewayStub, import_handler: Callable[[str], ModuleType]
) -> Handler:
    """``handlers/chat.py``'s Lambda handler, imported once the environment is set."""
    handler: Handler = import_handler("chat").handler
    return handler


@pytest.fixture
def authorizer(import_handler: Callable[[str], ModuleType]) -> Handler:
    handler: Handler = import_handler("authorizer").handler
    return handler


# --------------------------------------------------------------------------------------------
# Events and observations
# --------------------------------------------------------------------------------------------


def authorizer_context(user: str) -> dict[str, Any]:
    """``requestContext.authorizer`` after the example authorizer allowed ``demo-<user>``:
    API Gateway merges the principal, the context and the authorizer's latency."""
    return {"principalId": user, "integrationLatency": 23, "user": user}


def connect_event(connection_id: str, user: str) -> dict[str, Any]:
    raw = load_event("connect-custom-domain-authorizer.json")
    raw["queryStringParameters"] = {"token": f"demo-{user}"}
    raw["multiValueQueryStringParameters"] = {"token": [f"demo-{user}"]}
    ctx = raw["requestContext"]
    ctx["connectionId"] = connection_id
    ctx["authorizer"] = authorizer_context(user)
    ctx["requestId"] = ctx["extendedRequestId"] = f"req-connect-{connection_id}"
    assert ctx["domainName"] == DOMAIN
    return raw


def disconnect_event(connection_id: str, user: str) -> dict[str, Any]:
    raw = load_event("disconnect.json")
    ctx = raw["requestContext"]
    ctx["connectionId"] = connection_id
    ctx["domainName"] = DOMAIN
    ctx["authorizer"] = authorizer_context(user)
    raw["headers"]["Host"] = DOMAIN
    raw["multiValueHeaders"]["Host"] = [DOMAIN]
    return raw


_message_count = 0


def message_event(
    connection_id: str, user: str, body: str | dict[str, Any], *, route_key: str | None = None
) -> dict[str, Any]:
    """A message frame; ``route_key`` defaults to the body's ``action`` (the route selection
    expression ``$request.body.action``)."""
    global _message_count
    _message_count += 1
    if isinstance(body, dict):
        route_key = route_key or str(body["action"])
        body = json.dumps(body)
    assert route_key is not None
    raw = load_event("message-authorizer-context.json")
    raw["body"] = body
    ctx = raw["requestContext"]
    ctx["routeKey"] = route_key
    ctx["connectionId"] = connection_id
    ctx["authorizer"] = authorizer_context(user)
    ctx["messageId"] = f"msg-{_message_count}="
    ctx["requestId"] = ctx["extendedRequestId"] = f"req-{_message_count}="
    assert ctx["domainName"] == DOMAIN
    return raw


def connect(chat: Handler, stub: ApiGatewayStub, connection_id: str, user: str) -> None:
    """A client connects: API Gateway knows the connection, the handler stores it."""
    stub.known.add(connection_id)
    assert chat(connect_event(connection_id, user), None) == {"statusCode": 200}


def join(chat: Handler, connection_id: str, user: str, room: str) -> None:
    event = message_event(connection_id, user, {"action": "join", "room": room})
    assert chat(event, None) == {"statusCode": 200}


def posts(stub: ApiGatewayStub) -> list[tuple[str, Any]]:
    """Every message posted to @connections, as (connection id, decoded JSON body)."""
    assert {r.method for r in stub.requests} <= {"POST"}, stub.requests
    return [(r.connection_id, json.loads(r.body)) for r in stub.requests]


def table_items(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    """The raw DynamoDB items, by connection id."""
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["connectionId"]["S"]: item for item in items}


def group_members(dynamodb: Any, table: str, room: str) -> set[str]:
    """The ids the ``byGroup`` GSI lists for ``room``."""
    page = dynamodb.query(
        TableName=table,
        IndexName="byGroup",
        KeyConditionExpression="groupId = :g",
        ExpressionAttributeValues={":g": {"S": room}},
    )
    return {item["connectionId"]["S"] for item in page["Items"]}


# --------------------------------------------------------------------------------------------
# $connect / $disconnect
# --------------------------------------------------------------------------------------------


def test_connect_stores_the_connection_with_the_authorized_user(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    before = int(time.time())
    result = chat(connect_event("alice-1=", "alice"), None)
    after = int(time.time())

    assert result == {"statusCode": 200}
    item = table_items(dynamodb, chat_table)["alice-1="]
    expires = item.pop("expiresAt")
    assert item == {
        "connectionId": {"S": "alice-1="},
        "connectedAt": {"N": "1740993302123"},  # the event's requestContext.connectedAt (ms)
        "sourceIp": {"S": "198.51.100.7"},
        "principalId": {"S": "alice"},
        "user": {"S": "alice"},
    }
    # TTL: epoch seconds (N), in the future (2 hours: API Gateway's longest connection)
    assert set(expires) == {"N"}
    assert before + 7200 <= int(expires["N"]) <= after + 7200
    assert int(expires["N"]) > time.time()
    assert stub.requests == []  # $connect answers nothing through @connections


def test_connect_takes_the_user_from_the_authorizer_context(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    event = connect_event("c-1=", "alice")
    event["requestContext"]["authorizer"]["principalId"] = "principal-7"
    assert chat(event, None) == {"statusCode": 200}
    item = table_items(dynamodb, chat_table)["c-1="]
    assert item["user"] == {"S": "alice"}
    assert item["principalId"] == {"S": "principal-7"}


def test_disconnect_deletes_only_that_connection(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    connect(chat, stub, "alice-1=", "alice")
    connect(chat, stub, "bob-1=", "bob")
    join(chat, "alice-1=", "alice", "lobby")

    assert chat(disconnect_event("alice-1=", "alice"), None) == {"statusCode": 200}

    assert set(table_items(dynamodb, chat_table)) == {"bob-1="}
    assert group_members(dynamodb, chat_table, "lobby") == set()
    assert stub.requests == []


# --------------------------------------------------------------------------------------------
# join
# --------------------------------------------------------------------------------------------


def test_join_sets_the_group_and_leaves_the_previous_one(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    connect(chat, stub, "alice-1=", "alice")
    connect(chat, stub, "bob-1=", "bob")

    join(chat, "alice-1=", "alice", "lobby")
    items = table_items(dynamodb, chat_table)
    assert items["alice-1="]["groupId"] == {"S": "lobby"}
    assert "groupId" not in items["bob-1="]
    assert group_members(dynamodb, chat_table, "lobby") == {"alice-1="}

    join(chat, "alice-1=", "alice", "x" * MAX_ROOM_LENGTH)  # the longest room name allowed
    assert group_members(dynamodb, chat_table, "lobby") == set()
    assert group_members(dynamodb, chat_table, "x" * MAX_ROOM_LENGTH) == {"alice-1="}
    # the rest of the item is untouched
    item = table_items(dynamodb, chat_table)["alice-1="]
    assert item["user"] == {"S": "alice"}
    assert "expiresAt" in item
    assert stub.requests == []  # join answers nothing when it succeeds


# --------------------------------------------------------------------------------------------
# send
# --------------------------------------------------------------------------------------------


def test_send_delivers_to_every_room_member_once_and_to_nobody_else(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    for cid, user, room in [
        ("alice-1=", "alice", "lobby"),
        ("bob-1=", "bob", "lobby"),
        ("carol-1=", "carol", "lobby"),
        ("dave-1=", "dave", "kitchen"),
        ("eve-1=", "eve", None),
    ]:
        connect(chat, stub, cid, user)
        if room is not None:
            join(chat, cid, user, room)
    before = table_items(dynamodb, chat_table)

    event = message_event("bob-1=", "bob", {"action": "send", "room": "lobby", "text": "héllo ☃"})
    assert chat(event, None) == {"statusCode": 200}

    expected = {"room": "lobby", "from": "bob", "text": "héllo ☃"}
    delivered = posts(stub)
    assert Counter(cid for cid, _ in delivered) == {"alice-1=": 1, "bob-1=": 1, "carol-1=": 1}
    assert all(body == expected for _, body in delivered)
    assert table_items(dynamodb, chat_table) == before


def test_send_removes_a_gone_member_and_still_delivers_to_the_others(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    for cid, user in [("alice-1=", "alice"), ("bob-1=", "bob"), ("carol-1=", "carol")]:
        connect(chat, stub, cid, user)
        join(chat, cid, user, "lobby")
    connect(chat, stub, "dave-1=", "dave")
    # carol's client vanished without a $disconnect: API Gateway answers 410 GoneException
    stub.known.discard("carol-1=")

    event = message_event("alice-1=", "alice", {"action": "send", "room": "lobby", "text": "hi"})
    assert chat(event, None) == {"statusCode": 200}

    expected = {"room": "lobby", "from": "alice", "text": "hi"}
    delivered = posts(stub)
    assert sorted(cid for cid, _ in delivered) == ["alice-1=", "bob-1=", "carol-1="]
    assert dict(delivered) == {
        "alice-1=": expected,
        "bob-1=": expected,
        "carol-1=": expected,  # the attempt that was answered 410
    }
    assert set(table_items(dynamodb, chat_table)) == {"alice-1=", "bob-1=", "dave-1="}
    assert group_members(dynamodb, chat_table, "lobby") == {"alice-1=", "bob-1="}

    # the next message reaches the survivors only, without trying carol again
    stub.requests.clear()
    event = message_event("bob-1=", "bob", {"action": "send", "room": "lobby", "text": "yo"})
    assert chat(event, None) == {"statusCode": 200}
    assert sorted(cid for cid, _ in posts(stub)) == ["alice-1=", "bob-1="]


def test_send_to_an_empty_room_delivers_nothing(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    connect(chat, stub, "alice-1=", "alice")
    join(chat, "alice-1=", "alice", "lobby")
    event = message_event("alice-1=", "alice", {"action": "send", "room": "attic", "text": "hi"})
    assert chat(event, None) == {"statusCode": 200}
    assert stub.requests == []


# --------------------------------------------------------------------------------------------
# malformed join / send
# --------------------------------------------------------------------------------------------

TOO_LONG = "r" * (MAX_ROOM_LENGTH + 1)

MALFORMED: list[tuple[str, str, str]] = [
    # (route key, body, a word the error must name)
    ("join", "not json at all", "JSON"),
    ("join", '["join", "lobby"]', "JSON"),
    ("join", '{"action": "join"}', "room"),
    ("join", '{"action": "join", "room": ""}', "room"),
    ("join", '{"action": "join", "room": 7}', "room"),
    ("join", json.dumps({"action": "join", "room": TOO_LONG}), "room"),
    ("send", "{not json", "JSON"),
    ("send", '{"action": "send", "text": "hi"}', "room"),
    ("send", '{"action": "send", "room": "lobby"}', "text"),
    ("send", '{"action": "send", "room": "", "text": "hi"}', "room"),
    ("send", '{"action": "send", "room": "lobby", "text": ""}', "text"),
    ("send", '{"action": "send", "room": "lobby", "text": null}', "text"),
    ("send", json.dumps({"action": "send", "room": TOO_LONG, "text": "hi"}), "room"),
]


@pytest.mark.parametrize(
    ("route_key", "body", "names"),
    MALFORMED,
    ids=[f"{route}-{i}" for i, (route, _, _) in enumerate(MALFORMED)],
)
def test_a_malformed_request_is_answered_to_the_sender_only_and_changes_nothing(
    chat: Handler,
    stub: ApiGatewayStub,
    chat_table: str,
    dynamodb: Any,
    route_key: str,
    body: str,
    names: str,
) -> None:
    for cid, user in [("alice-1=", "alice"), ("bob-1=", "bob")]:
        connect(chat, stub, cid, user)
        join(chat, cid, user, "lobby")
    before = table_items(dynamodb, chat_table)

    result = chat(message_event("alice-1=", "alice", body, route_key=route_key), None)

    assert result == {"statusCode": 200}
    answered = posts(stub)
    assert [cid for cid, _ in answered] == ["alice-1="]
    answer = answered[0][1]
    assert set(answer) == {"error", "action"}
    assert answer["action"] == route_key
    assert isinstance(answer["error"], str)
    assert names in answer["error"]
    assert table_items(dynamodb, chat_table) == before


# --------------------------------------------------------------------------------------------
# whoami / $default
# --------------------------------------------------------------------------------------------


def test_whoami_answers_the_connection_and_user(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any
) -> None:
    connect(chat, stub, "alice-1=", "alice")
    before = table_items(dynamodb, chat_table)

    result = chat(message_event("alice-1=", "alice", {"action": "whoami"}), None)

    assert result["statusCode"] == 200
    assert set(result) <= {"statusCode", "body"}
    assert json.loads(result["body"]) == {"connectionId": "alice-1=", "user": "alice"}
    assert stub.requests == []  # a two-way route: answered through the route response
    assert table_items(dynamodb, chat_table) == before


@pytest.mark.parametrize(
    "body", ['{"action": "dance"}', '{"text": "no action"}', "plain text", '"join"']
)
def test_an_unknown_action_is_answered_with_the_action_list(
    chat: Handler, stub: ApiGatewayStub, chat_table: str, dynamodb: Any, body: str
) -> None:
    connect(chat, stub, "alice-1=", "alice")
    before = table_items(dynamodb, chat_table)

    result = chat(message_event("alice-1=", "alice", body, route_key="$default"), None)

    assert result["statusCode"] == 200
    answer = json.loads(result["body"])
    assert isinstance(answer["message"], str)
    assert answer["message"]
    actions = answer["actions"]
    assert set(actions) == {"join", "send", "whoami", "ping"}
    for name, example in actions.items():
        assert example["action"] == name
    assert set(actions["join"]) == {"action", "room"}
    assert set(actions["send"]) == {"action", "room", "text"}
    assert stub.requests == []
    assert table_items(dynamodb, chat_table) == before


# --------------------------------------------------------------------------------------------
# the $connect authorizer
# --------------------------------------------------------------------------------------------


def authorizer_event(fixture: str, token: str | None) -> dict[str, Any]:
    raw = load_event(fixture)
    query = dict(raw.get("queryStringParameters") or {})
    multi = dict(raw.get("multiValueQueryStringParameters") or {})
    query.pop("token", None)
    multi.pop("token", None)
    if token is not None:
        query["token"] = token
        multi["token"] = [token]
    raw["queryStringParameters"] = query
    raw["multiValueQueryStringParameters"] = multi
    return raw


AUTHORIZER_FIXTURES = ["authorizer-request.json", "authorizer-request-query.json"]


@pytest.mark.parametrize("fixture", AUTHORIZER_FIXTURES)
def test_the_authorizer_allows_a_demo_token_as_its_user(authorizer: Handler, fixture: str) -> None:
    event = authorizer_event(fixture, "demo-alice")
    method_arn = event["methodArn"]
    assert method_arn.endswith("/$connect")

    assert authorizer(event, None) == {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}
            ],
        },
        "context": {"user": "alice"},
    }


@pytest.mark.parametrize("fixture", AUTHORIZER_FIXTURES)
@pytest.mark.parametrize(
    "token", ["bad", "demo-", "demo", "Demo-alice", "xdemo-alice", "demo-al ice", "", None]
)
def test_the_authorizer_denies_any_other_token(
    authorizer: Handler, fixture: str, token: str | None
) -> None:
    event = authorizer_event(fixture, token)

    response = authorizer(event, None)

    statements = response["policyDocument"]["Statement"]
    assert statements == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]}
    ]
    assert "context" not in response


@pytest.mark.parametrize("query", [None, {}])
def test_the_authorizer_denies_a_request_without_a_query_string(
    authorizer: Handler, query: dict[str, str] | None
) -> None:
    event = load_event("authorizer-request.json")
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = query
    response = authorizer(event, None)
    assert [s["Effect"] for s in response["policyDocument"]["Statement"]] == ["Deny"]
    assert "context" not in response


# --------------------------------------------------------------------------------------------
# the whole conversation: authorizer → $connect → join → send → $disconnect
# --------------------------------------------------------------------------------------------


def test_a_conversation_through_both_handlers(
    chat: Handler,
    authorizer: Handler,
    stub: ApiGatewayStub,
    chat_table: str,
    dynamodb: Any,
) -> None:
    ids = {"alice": "A1=", "bob": "B2="}
    for user, cid in ids.items():
        policy = authorizer(authorizer_event("authorizer-request-query.json", f"demo-{user}"), None)
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        # API Gateway hands the principal and context to every route of the connection
        event = connect_event(cid, user)
        event["requestContext"]["authorizer"] = {
            "principalId": policy["principalId"],
            "integrationLatency": 40,
            **policy["context"],
        }
        stub.known.add(cid)
        assert chat(event, None) == {"statusCode": 200}
        join(chat, cid, user, "lobby")

    whoami = chat(message_event("B2=", "bob", {"action": "whoami"}), None)
    assert json.loads(whoami["body"]) == {"connectionId": "B2=", "user": "bob"}

    send = {"action": "send", "room": "lobby", "text": "hi bob"}
    assert chat(message_event("A1=", "alice", send), None) == {"statusCode": 200}
    assert sorted(posts(stub), key=lambda p: p[0]) == [
        ("A1=", {"room": "lobby", "from": "alice", "text": "hi bob"}),
        ("B2=", {"room": "lobby", "from": "alice", "text": "hi bob"}),
    ]

    stub.known.discard("B2=")
    assert chat(disconnect_event("B2=", "bob"), None) == {"statusCode": 200}
    assert set(table_items(dynamodb, chat_table)) == {"A1="}
    assert group_members(dynamodb, chat_table, "lobby") == {"A1="}
